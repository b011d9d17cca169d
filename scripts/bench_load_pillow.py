"""Pillow peer of `cargo run --release -p webly-data --example bench_data_load -- DIR`.

Same work per image: decode JPEG, convert to RGB, resize the shorter side to RESIZE with a
bilinear (triangle) filter, center crop CROP, float32 CHW array. Timed on 1 process and on
N processes (multiprocessing), after one warm-up pass. Prints `key=value` lines: `pillow` for
the plain decode, `pillow-draft` with `Image.draft` (libjpeg's reduced DCT scale, the largest
reduction whose size stays at least the target), which webly's loader also does.
Usage: python bench_load_pillow.py DIR [RESIZE CROP [PROCESSES]]
"""
import os
import sys
import time
from multiprocessing import Pool

import numpy as np
from PIL import Image

BATCH = 128


def load(path, resize, crop, draft):
    with Image.open(path) as im:
        side = max(resize, crop)
        if draft:
            w, h = im.size
            scale = side / min(w, h)
            im.draft("RGB", (round(w * scale), round(h * scale)))
        im = im.convert("RGB")
        w, h = im.size
        side = max(resize, crop)
        scale = side / min(w, h)
        nw, nh = max(side, round(w * scale)), max(side, round(h * scale))
        if (nw, nh) != (w, h):
            im = im.resize((nw, nh), Image.BILINEAR)
        x0, y0 = (nw - crop) // 2, (nh - crop) // 2
        im = im.crop((x0, y0, x0 + crop, y0 + crop))
        return np.asarray(im, dtype=np.float32).transpose(2, 0, 1).copy()


def load_chunk(args):
    paths, resize, crop, draft = args
    return np.stack([load(p, resize, crop, draft) for p in paths]).shape[0]


def jpegs(root):
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.join(d, f) for f in files if f.endswith(".jpg")]
    return sorted(out)


def main():
    root = sys.argv[1]
    resize = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    crop = int(sys.argv[3]) if len(sys.argv) > 3 else 224
    procs = int(sys.argv[4]) if len(sys.argv) > 4 else os.cpu_count()
    paths = jpegs(root)
    for draft in (False, True):
        name = "pillow-draft" if draft else "pillow"
        chunks = [(paths[i:i + BATCH], resize, crop, draft) for i in range(0, len(paths), BATCH)]
        for c in chunks:
            load_chunk(c)
        for n in (1, procs):
            start = time.perf_counter()
            if n == 1:
                done = sum(load_chunk(c) for c in chunks)
            else:
                with Pool(n) as pool:
                    done = sum(pool.map(load_chunk, chunks))
            secs = time.perf_counter() - start
            print(f"{name} threads={n} images={done} seconds={secs:.3f} "
                  f"images_per_sec={done / secs:.1f}")


if __name__ == "__main__":
    main()
