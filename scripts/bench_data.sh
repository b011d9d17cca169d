#!/usr/bin/env bash
# Loader benchmark, webly-data against Pillow on the same JPEGs: bash scripts/bench_data.sh DIR
# DIR is filled with 2000 generated 300x300 images when it holds no JPEG. Prints both results
# and the ratios (webly images/s over Pillow's, plain and with draft mode) on 1 thread and on
# all threads.
set -euo pipefail
DIR=${1:?usage: bench_data.sh DIR [RESIZE CROP]}
RESIZE=${2:-256}
CROP=${3:-224}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${WEBLY_BENCH_PYTHON:-$HOME/.cache/webly/venv-bench/bin/python}
cd "$ROOT"
cargo build --release -q -p webly-data --example bench_data_load
RUST=$(./target/release/examples/bench_data_load "$DIR" "$RESIZE" "$CROP")
PIL=$("$PY" scripts/bench_load_pillow.py "$DIR" "$RESIZE" "$CROP" "$(nproc)")
echo "$RUST"
echo "$PIL"
rate() { echo "$1" | awk -v who="$2" -v t="$3" '$1 == who { split($2, a, "="); if ((t == "1") == (a[2] == "1")) { split($5, r, "="); print r[2] } }' | tail -1; }
for peer in pillow pillow-draft; do
  for t in 1 all; do
    r=$(rate "$RUST" rust "$t"); p=$(rate "$PIL" "$peer" "$t")
    awk -v r="$r" -v p="$p" -v t="$t" -v peer="$peer" 'BEGIN { printf "ratio threads=%s webly/%s=%.2f (%.0f vs %.0f images/s)\n", t, peer, r / p, r, p }'
  done
done
