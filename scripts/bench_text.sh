#!/usr/bin/env bash
# webly-text load benchmark, side by side with gensim in one run:
#   webly parse of a GloVe text file (no cache), webly cached reload, and gensim's
#   KeyedVectors.load_word2vec_format(path, binary=False, no_header=True); prints the ratio.
# Usage: bash scripts/bench_text.sh [vectors.txt]   (default data/glove/glove.6B.50d.txt)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
path="${1:-$root/data/glove/glove.6B.50d.txt}"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/webly/venv-bench"
[[ -f "$path" ]] || { echo "missing $path: run make setup" >&2; exit 1; }
if ! "$venv/bin/python" -c 'import gensim' 2>/dev/null; then
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$root/scripts/bench_requirements.txt"
fi
cd "$root"
cargo build -q --release -p webly-text --example bench_load
webly_out="$(./target/release/examples/bench_load "$path")"
echo "$webly_out"
gensim_s="$("$venv/bin/python" - "$path" <<'PY'
import sys, time
from gensim.models import KeyedVectors
t = time.perf_counter()
kv = KeyedVectors.load_word2vec_format(sys.argv[1], binary=False, no_header=True)
print(f"{time.perf_counter() - t:.4f}")
PY
)"
parse_s="$(sed -n 's/^parse_s=//p' <<<"$webly_out")"
reload_s="$(sed -n 's/^reload_s=\([0-9.]*\).*/\1/p' <<<"$webly_out")"
echo "gensim_s=$gensim_s"
awk -v g="$gensim_s" -v p="$parse_s" -v r="$reload_s" 'BEGIN {
  printf "gensim/webly_parse=%.1fx  gensim/webly_reload=%.1fx\n", g / p, g / r }'
