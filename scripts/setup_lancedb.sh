#!/usr/bin/env bash
# LanceDB and pyarrow for the export test (crates/serve/tests/lancedb.rs), in a venv of its own
# shared by clones: ${XDG_CACHE_HOME:-~/.cache}/webly/venv-lancedb (or $WEBLY_LANCEDB_VENV).
# Idempotent: a second run only checks its stamp.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${WEBLY_LANCEDB_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/webly/venv-lancedb}"
req="$root/scripts/lancedb_requirements.txt"
stamp="$venv/.requirements.sha"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "[setup-lancedb] venv ready: $venv" >&2
  exit 0
fi
rm -f "$stamp"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
echo "$want" > "$stamp"
echo "[setup-lancedb] installed $(grep -c '==' "$req") packages into $venv" >&2
