#!/usr/bin/env bash
# Dataset sources: the same images as loose files (InstaCities layout) and as webdataset tar
# shards read in place: bash scripts/bench_sources.sh DIR [SHARDS_DIR]
# DIR is filled with 2000 generated 300x300 images when it holds none; SHARDS_DIR (default
# DIR-shards) receives the tar shards once. Prints both results and the ratios tar / files for
# opening the dataset (listing + captions), reading the image bytes, and decode + resize + crop.
# Both read from the page cache (each pass is warmed once): the ratios are the cost of the
# access pattern (one open per file against one seek per member), not of the disk.
set -euo pipefail
DIR=${1:?usage: bench_sources.sh DIR [SHARDS_DIR]}
SHARDS=${2:-${DIR%/}-shards}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release -q -p webly-data --example bench_sources
OUT=$(./target/release/examples/bench_sources "$DIR" "$SHARDS")
echo "$OUT"
field() { echo "$OUT" | awk -v who="$1" -v k="$2" '$1 == who { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) print a[2] } }'; }
for k in open_per_sec read_per_sec load_per_sec; do
  awk -v k="$k" -v t="$(field tar "$k")" -v f="$(field files "$k")" \
    'BEGIN { printf "ratio %s tar/files=%.2f (%.0f vs %.0f images/s)\n", k, t / f, t, f }'
done
