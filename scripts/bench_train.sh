#!/usr/bin/env bash
# Training images/s of the small CNN: webly (tch, real PNG loading through the prefetch thread)
# against PyTorch (same libtorch from the venv, same threads, in-memory batches), one run each.
# Usage: scripts/bench_train.sh [STEPS] [BATCH] [CROP] [THREADS]   (defaults 200 64 64 2)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
steps="${1:-200}" batch="${2:-64}" crop="${3:-64}" threads="${4:-2}"
py="${WEBLY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/webly/venv-torch-2.13.0}/bin/python"
images=$(( batch * 8 ))
cd "$root"
cargo build --release -p webly-encoder --example bench_train >&2
webly="$(./target/release/examples/bench_train "$images" "$steps" "$batch" "$crop" "$threads")"
echo "$webly"
torch="$("$py" scripts/bench_train.py "$steps" "$batch" "$crop" "$threads")"
echo "$torch"
w="$(sed -n 's/^webly_images_per_s=//p' <<<"$webly")"
t="$(sed -n 's/^torch_images_per_s=//p' <<<"$torch")"
wait_share="$(sed -n 's/^webly_data_wait=//p' <<<"$webly")"
awk -v w="$w" -v t="$t" -v d="$wait_share" \
  'BEGIN { printf "ratio webly/pytorch = %.3f; webly step time waiting for data = %.1f%%\n", w / t, 100 * d }'
