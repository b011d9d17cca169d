"""PyTorch peer of `bench_extract` (crates/encoder/examples/bench_extract.rs).

The same work on the same images: Pillow decodes each JPEG, resizes the shorter side to RESIZE
(bilinear), centre-crops CROP; a DataLoader with one worker process prepares batches of 32 while
the main process runs the same EfficientNet-Lite0 (scripts/efficientnet_ref.py, ImageNet weights,
TF SAME padding) up to its pooled 1280 features in eval mode under no_grad, with torch's default
intra-op threads (as webly). Prints `torch_extract_images_per_s=...`. With COMPUTE `bf16` the
network and its input are bfloat16 in channels-last layout (what webly's `compute = "bf16"` runs)
and it prints `torch_extract_bf16_images_per_s=...`.
Usage: python bench_extract.py DIR [IMAGES CROP RESIZE [COMPUTE]]
"""
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from efficientnet_ref import model  # noqa: E402

BATCH = 32


def jpegs(root):
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.join(d, f) for f in files if f.endswith(".jpg")]
    return sorted(out)


class Images(torch.utils.data.Dataset):
    def __init__(self, paths, resize, crop):
        self.paths, self.resize, self.crop = paths, resize, crop

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as im:
            im = im.convert("RGB")
            w, h = im.size
            side = max(self.resize, self.crop)
            scale = side / min(w, h)
            nw, nh = max(side, round(w * scale)), max(side, round(h * scale))
            if (nw, nh) != (w, h):
                im = im.resize((nw, nh), Image.BILINEAR)
            x0, y0 = (nw - self.crop) // 2, (nh - self.crop) // 2
            im = im.crop((x0, y0, x0 + self.crop, y0 + self.crop))
            return torch.from_numpy(np.asarray(im, dtype=np.float32).transpose(2, 0, 1).copy())


def main():
    root = sys.argv[1]
    n, crop, resize = (int(a) for a in (sys.argv[2:5] + ["512", "128", "146"][len(sys.argv[2:5]):]))
    bf16 = sys.argv[5:6] == ["bf16"]
    paths = jpegs(root)[:n]
    net = model("tf_same")
    if bf16:
        net = net.to(memory_format=torch.channels_last).to(torch.bfloat16)
    loader = torch.utils.data.DataLoader(Images(paths, resize, crop), batch_size=BATCH,
                                         num_workers=1)
    with torch.no_grad():  # one batch untimed, as webly and the ONNX Runtime peer do
        x = torch.zeros(BATCH, 3, crop, crop)
        if bf16:
            x = x.contiguous(memory_format=torch.channels_last).to(torch.bfloat16)
        net.features(x)
    t = time.perf_counter()
    rows = 0
    with torch.no_grad():
        for x in loader:
            if bf16:
                x = x.contiguous(memory_format=torch.channels_last).to(torch.bfloat16)
            rows += net.features(x).shape[0]
    secs = time.perf_counter() - t
    print(f"torch_threads={torch.get_num_threads()}")
    key = "torch_extract_bf16_images_per_s" if bf16 else "torch_extract_images_per_s"
    print(f"{key}={rows / secs:.1f}")


if __name__ == "__main__":
    main()
