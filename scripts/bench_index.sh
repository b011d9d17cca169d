#!/usr/bin/env bash
# webly-index (hnsw_rs) against hnswlib on the same vectors, queries and ground truth, in one run.
# Usage: scripts/bench_index.sh [N] [DIM] [QUERIES]   (default 50000 128 1000)
# Needs the bench venv: python3 -m venv ~/.cache/webly/venv-bench &&
#   ~/.cache/webly/venv-bench/bin/pip install -r scripts/bench_requirements.txt
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50000}; DIM=${2:-128}; QUERIES=${3:-1000}
THREADS=${RAYON_NUM_THREADS:-$(nproc)}
PY=${WEBLY_BENCH_PY:-$HOME/.cache/webly/venv-bench/bin/python}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/webly-bench-index.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
RAYON_NUM_THREADS=$THREADS cargo run --release -q -p webly-index --example bench_index -- "$OUT" "$N" "$DIM" "$QUERIES" | grep -v '^ *$'
"$PY" scripts/bench_index.py "$OUT" "$THREADS"
"$PY" - "$OUT" <<'PYEOF'
import json, sys
out = sys.argv[1]
w, h = (json.load(open(f"{out}/{name}.json")) for name in ("webly", "hnswlib"))
def best(run, target):
    ok = [s for s in run["sweep"] if s["recall"] >= target]
    return max(ok, key=lambda s: s["qps"]) if ok else None
print(f"build: webly {w['build_s']:.2f} s, hnswlib {h['build_s']:.2f} s -> hnswlib is {w['build_s'] / h['build_s']:.2f}x faster")
for target in (0.95, 0.99):
    a, b = best(w, target), best(h, target)
    if a and b:
        print(f"recall@10 >= {target}: webly {a['qps']:.0f} q/s (ef={a['ef']}), hnswlib {b['qps']:.0f} q/s (ef={b['ef']}) -> ratio hnswlib/webly {b['qps'] / a['qps']:.2f}")
    ok = [s for s in w["sweep"] if s["hnsw_rs_recall"] >= target]
    if ok and b:
        r = max(ok, key=lambda s: s["hnsw_rs_qps"])
        print(f"    (hnsw_rs's own search: {r['hnsw_rs_qps']:.0f} q/s (ef={r['ef']}) -> ratio hnswlib/hnsw_rs {b['qps'] / r['hnsw_rs_qps']:.2f})")
    else:
        print(f"recall@10 >= {target}: not reached by {'webly' if not a else 'hnswlib'}")
PYEOF
