#!/usr/bin/env bash
# Feature extraction into the activation cache: webly (tch, its own loader thread) against
# PyTorch (same libtorch 2.13.0 from the venv, Pillow in one DataLoader worker) and ONNX Runtime
# (the same network exported to ONNX, the same Pillow DataLoader; scripts/bench_extract_ort.py),
# the same EfficientNet-Lite0 on the same JPEGs with the default threads, in f32 (PyTorch's default
# NCHW layout against webly's channels-last) and in bfloat16 (both channels-last; ONNX Runtime's
# CPU provider has no bfloat16 convolution, so webly's bf16 is set against its f32, its fastest
# floating-point mode here); plus webly's head training images/s from the cache. Usage: scripts/bench_extract.sh [DIR] [IMAGES] [CROP] [RESIZE]
# (defaults data/bench-extract 256 224 224, the demo's recipe; a DIR without JPEGs is filled by
# `webly synth`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$root/data/bench-extract}" n="${2:-256}" crop="${3:-224}" resize="${4:-224}"
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
torch_bf16="$(PYTHONPATH="$pillow_path" "$py" scripts/bench_extract.py "$dir" "$n" "$crop" "$resize" bf16)"
onnx_dir="$(mktemp -d "${TMPDIR:-/tmp}/webly-bench-onnx.XXXXXX")"
trap 'rm -rf "$onnx_dir"' EXIT
# torch's exporter warns about constant folding on every export: its stderr is shown on failure only.
onnx="$(PYTHONPATH="$pillow_path" "$py" scripts/bench_extract_ort.py "$dir" "$n" "$crop" "$resize" \
  "$onnx_dir/lite0.onnx" 2>"$onnx_dir/stderr")" || { cat "$onnx_dir/stderr" >&2; exit 1; }
echo "$torch"
echo "$torch_bf16"
echo "$onnx"
ratio() { # LABEL PEER WEBLY_KEY PEER_KEY
  local w t
  w="$(sed -n "s/^$3=//p" <<<"$webly")"
  t="$(printf '%s\n%s\n%s\n' "$torch" "$torch_bf16" "$onnx" | sed -n "s/^$4=//p")"
  awk -v l="$1" -v p="$2" -v w="$w" -v t="$t" 'BEGIN { printf "ratio extraction %s webly/%s = %.3f (%.0f vs %.0f images/s)\n", l, p, w / t, w, t }'
}
ratio f32 pytorch webly_extract_images_per_s torch_extract_images_per_s
ratio bf16 pytorch webly_extract_bf16_images_per_s torch_extract_bf16_images_per_s
ratio f32 onnxruntime webly_extract_images_per_s ort_extract_images_per_s
ratio "bf16 (onnxruntime f32)" onnxruntime webly_extract_bf16_images_per_s ort_extract_images_per_s
