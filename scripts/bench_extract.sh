#!/usr/bin/env bash
# Feature extraction into the activation cache: webly (tch, its own loader thread) against
# PyTorch (same libtorch 2.13.0 from the venv, Pillow in one DataLoader worker), the same
# EfficientNet-Lite0 on the same JPEGs with the default threads; plus webly's head training
# images/s from the cache. Usage: scripts/bench_extract.sh [DIR] [IMAGES] [CROP] [RESIZE]
# (defaults data/bench-extract 512 128 146; a DIR without JPEGs is filled by `webly synth`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$root/data/bench-extract}" n="${2:-512}" crop="${3:-128}" resize="${4:-146}"
py="${WEBLY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/webly/venv-torch-2.13.0}/bin/python"
cd "$root"
cargo build --release -q -p webly-encoder --example bench_extract >&2
if ! find "$dir" -name '*.jpg' -print -quit 2>/dev/null | grep -q .; then
  cargo build --release -q -p webly >&2
  ./target/release/webly synth --out "$dir" --images "$n" --seed 3 >&2
fi
webly="$(./target/release/examples/bench_extract "$dir" "$n" "$crop" "$resize")"
echo "$webly"
# torch from the build's venv, Pillow from the bench venv (scripts/bench_setup.sh), same Python.
bench_py="${WEBLY_BENCH_PYTHON:-${XDG_CACHE_HOME:-$HOME/.cache}/webly/venv-bench/bin/python}"
pillow_path="$("$bench_py" -c 'import PIL, os; print(os.path.dirname(os.path.dirname(PIL.__file__)))')"
torch="$(PYTHONPATH="$pillow_path" "$py" scripts/bench_extract.py "$dir" "$n" "$crop" "$resize")"
echo "$torch"
w="$(sed -n 's/^webly_extract_images_per_s=//p' <<<"$webly")"
t="$(sed -n 's/^torch_extract_images_per_s=//p' <<<"$torch")"
awk -v w="$w" -v t="$t" 'BEGIN { printf "ratio extraction webly/pytorch = %.3f (%.0f vs %.0f images/s)\n", w / t, w, t }'
