#!/usr/bin/env bash
# The Python peers of the benchmarks (Pillow, gensim, hnswlib, onnxruntime, torch's own training loop) in a
# venv of their own, shared by clones: ${XDG_CACHE_HOME:-~/.cache}/webly/venv-bench. Idempotent.
set -euo pipefail
# wrk (Debian) drives the server's load benchmark (scripts/bench_serve.sh).
if ! command -v wrk >/dev/null && command -v apt-get >/dev/null; then
  sudo=""; [[ "$(id -u)" == 0 ]] || sudo="sudo"
  $sudo apt-get install -y -qq wrk >/dev/null || echo "[bench-setup] could not install wrk" >&2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${WEBLY_BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/webly/venv-bench}"
req="$root/scripts/bench_requirements.txt"
stamp="$venv/.requirements.sha"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "[bench-setup] venv ready: $venv" >&2
  exit 0
fi
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
echo "$want" > "$stamp"
echo "[bench-setup] installed $(wc -l < "$req") packages into $venv" >&2
