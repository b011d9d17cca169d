#!/usr/bin/env python3
"""Builds one of webly's real-photo evaluation sets from the photographs a registry package ships.

Sets (one module each under scripts/photo_sets/, the shared machinery in photo_sets/common.py):
  tuxpaint    Debian's tuxpaint-stamps-default: photo stamps (cut-out objects) composited onto
              synthetic backgrounds                             -> data/real_photos
  scratch     Debian's scratch (Scratch 1.4's media library): cut-out photos of people, animals,
              things and vehicles composited onto the library's photographed scenes
                                                                -> data/real_photos_scratch
  stellarium  Debian's stellarium-data: photographs of deep-sky objects (galaxies, star clusters,
              nebulae), rotated and cropped                     -> data/real_photos_stellarium
  wallpapers  Debian's mate-backgrounds, plasma-workspace-wallpapers and lomiri-wallpapers-16.04:
              the wallpapers that are photographs (flowers, lakes, mountains, leaves, sky, ...),
              cropped and turned a little                       -> data/real_photos_wallpapers

Each set is an InstaCities1M-style dataset with noisy Instagram-like captions, the true labels
in ground_truth.tsv and a split BY OBJECT in split.tsv (see photo_sets/common.py). A second run
with the same inputs does nothing. scripts/real_photos_setup.sh fetches the packages and builds
every set.

Usage: real_photos.py [--set tuxpaint] --src DIR --out DIR [--variants N] [--seed 7]
       real_photos.py --stamps DIR --out data/real_photos     (tuxpaint; --stamps is --src)
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from photo_sets import SETS, common  # noqa: E402

SOURCE_HELP = {
    "tuxpaint": "usr/share/tuxpaint/stamps of the unpacked tuxpaint-stamps-default",
    "scratch": "usr/share/scratch/Media of the unpacked scratch package",
    "stellarium": "usr/share/stellarium/nebulae/default of the unpacked stellarium-data",
    "wallpapers": "the folder holding mate-backgrounds-1.26.0-1, "
                  "plasma-workspace-wallpapers-5.27.5-2 and lomiri-wallpapers-16.04-20.04.0-2, "
                  "each unpacked",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=SETS, default="tuxpaint", help="which set to build")
    ap.add_argument("--src", "--stamps", dest="src", type=Path, required=True,
                    help="the package's folder: " + "; ".join(
                        f"{k}: {v}" for k, v in SOURCE_HELP.items()))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--variants", type=int, default=None,
                    help="images per object (default: the set's own)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    module = importlib.import_module(f"photo_sets.{args.set}")
    variants = module.DEFAULT_VARIANTS if args.variants is None else args.variants
    if variants < 1:
        sys.exit("--variants must be at least 1")
    if not args.src.is_dir():
        sys.exit(f"{args.src}: no such folder (run scripts/real_photos_setup.sh)")
    common.run(module, args.src, args.out, variants, args.seed)


if __name__ == "__main__":
    main()
