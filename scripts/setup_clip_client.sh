#!/usr/bin/env bash
# clip-retrieval's ClipClient for the clip-back compatibility test (crates/serve/tests/clip.rs),
# in a venv of its own shared by clones: ${XDG_CACHE_HOME:-~/.cache}/webly/venv-clip (or
# $WEBLY_CLIP_VENV). Idempotent: a second run only checks its stamp.
#
# clip-retrieval is installed with --no-deps: its pinned dependencies (torch, open_clip, faiss,
# wandb, ...) serve clip-back and inference, not the client, whose module
# (clip_retrieval/clip_client.py) imports only requests and the standard library. The test loads
# that module from the installed package by its file, without the package's __init__ (which
# imports clip-back and torch).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${WEBLY_CLIP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/webly/venv-clip}"
req="$root/scripts/clip_client_requirements.txt"
clip="clip-retrieval==2.45.0"
stamp="$venv/.requirements.sha"
want="$( (cat "$req"; echo "$clip") | sha256sum | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "[setup-clip] venv ready: $venv" >&2
  exit 0
fi
rm -f "$stamp"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
"${pip[@]}" -r "$req"
"${pip[@]}" --no-deps "$clip"
echo "$want" > "$stamp"
echo "[setup-clip] installed $clip (--no-deps) and requests into $venv" >&2
