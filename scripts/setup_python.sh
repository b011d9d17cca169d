#!/usr/bin/env bash
# The Python package `webly` (crates/python, PyO3) built by maturin into a venv of its own,
# shared by clones: ${XDG_CACHE_HOME:-~/.cache}/webly/venv-py (or $WEBLY_PY_VENV), with numpy,
# pytest and scikit-learn for its tests (scripts/python_requirements.txt). The requirements are
# installed once (a stamp); the package is rebuilt each run (cargo only recompiles what changed).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${WEBLY_PY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/webly/venv-py}"
req="$root/scripts/python_requirements.txt"
stamp="$venv/.requirements.sha"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "[setup-python] venv ready: $venv" >&2
else
  rm -f "$stamp"
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
  echo "$want" > "$stamp"
  echo "[setup-python] installed $(grep -c '==' "$req") packages into $venv" >&2
fi
# maturin develop: a release build of crates/python installed into the venv (no wheel kept).
cd "$root/crates/python"
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop --release -q
echo "[setup-python] webly $("$venv/bin/python" -c 'import webly; print(webly.__version__)') in $venv" >&2
