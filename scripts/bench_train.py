#!/usr/bin/env python3
"""PyTorch side of scripts/bench_train.sh: the same small CNN (4 conv3x3-BN-ReLU-maxpool blocks,
32/64/128/256 channels, global average pool, linear to 50, L2-normalised), triplet loss (squared
L2, margin 0.2) with the hardest in-batch negative, Adam, on in-memory random batches (no data
loading: pure compute). Prints torch_images_per_s=..."""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

steps, batch, crop, threads = (int(a) for a in sys.argv[1:5])
torch.set_num_threads(threads)
torch.manual_seed(0)
DIM, WIDTHS, MARGIN = 50, (32, 64, 128, 256), 0.2
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        layers, c = [], 3
        for w in WIDTHS:
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
            c = w
        self.body = nn.Sequential(*layers)
        self.proj = nn.Linear(c, DIM)

    def forward(self, x):
        x = (x / 255.0 - MEAN) / STD
        return F.normalize(self.proj(self.body(x).mean((2, 3))), dim=1)


net = SmallCnn().train()
opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=2e-4)
x = torch.rand(batch, 3, crop, crop) * 255
t = F.normalize(torch.rand(batch, DIM) - 0.5, dim=1)
start = time.perf_counter()
for _ in range(steps):
    out = net(x)
    with torch.no_grad():
        d = torch.cdist(out, t) ** 2
        d.fill_diagonal_(float("inf"))
        neg = d.argmin(1)
    loss = F.relu(MARGIN + ((out - t) ** 2).sum(1) - ((out - t[neg]) ** 2).sum(1)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    _ = loss.item()
elapsed = time.perf_counter() - start
print(f"torch_images_per_s={steps * batch / elapsed:.1f}")
