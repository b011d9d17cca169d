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
print(f"build: webly {w['build_s']:.2f} s, hnswlib {h['build_s']:.2f} s -> webly {h['build_s'] / w['build_s']:.2f}x hnswlib's speed")
print(f"memory held after the build: webly {w['held_mib']:.1f} MiB, hnswlib {h['held_mib']:.1f} MiB -> webly {w['held_mib'] / max(h['held_mib'], 1e-9):.2f}x")
print(f"memory of the saved index opened by a fresh process (what a query server holds): webly {w['opened_mib']:.1f} MiB, against hnswlib's held after its build {h['held_mib']:.1f} MiB -> webly {w['opened_mib'] / max(h['held_mib'], 1e-9):.2f}x")
print(f"memory peak during the build: webly {w['peak_mib']:.1f} MiB, hnswlib {h['peak_mib']:.1f} MiB -> webly {w['peak_mib'] / max(h['peak_mib'], 1e-9):.2f}x")
for target in (0.95, 0.99):
    a, b = best(w, target), best(h, target)
    if a and b:
        print(f"recall@10 >= {target}: webly {a['qps']:.0f} q/s (ef={a['ef']}), hnswlib {b['qps']:.0f} q/s (ef={b['ef']}) -> webly {a['qps'] / b['qps']:.2f}x hnswlib")
    else:
        print(f"recall@10 >= {target}: not reached by {'webly' if not a else 'hnswlib'}")
PYEOF
