#!/usr/bin/env bash
# webly-index against hnswlib on the same vectors, queries and ground truth, in one run: both
# webly builders (its own, the default, and hnsw_rs), each in a fresh process, searched flat.
# Part 1: clustered synthetic vectors. Part 2: the demo's image embeddings with its caption
# vectors as text queries (skipped when the demo run is missing; WEBLY_BENCH_DEMO_RUN names it).
# Usage: scripts/bench_index.sh [N] [DIM] [QUERIES]   (default 50000 128 1000)
# WEBLY_BENCH_BUILDERS: webly's builders run (default "webly hnsw_rs"; `make bench-scale` runs
# "webly" alone: hnsw_rs builds at a quarter of hnswlib's speed, too slow at a million rows).
# Needs the bench venv: python3 -m venv ~/.cache/webly/venv-bench &&
#   ~/.cache/webly/venv-bench/bin/pip install -r scripts/bench_requirements.txt
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50000}; DIM=${2:-128}; QUERIES=${3:-1000}
THREADS=${RAYON_NUM_THREADS:-$(nproc)}
PY=${WEBLY_BENCH_PY:-$HOME/.cache/webly/venv-bench/bin/python}
DEMO=${WEBLY_BENCH_DEMO_RUN:-runs/demo}
read -r -a BUILDERS <<<"${WEBLY_BENCH_BUILDERS:-webly hnsw_rs}"
OUT=$(mktemp -d "${TMPDIR:-/tmp}/webly-bench-index.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
cargo build --release -q -p webly-index --example bench_index
BIN=target/release/examples/bench_index

compare() {
"$PY" - "$1" "${BUILDERS[@]}" <<'PYEOF'
import json, sys
out = sys.argv[1]
h = json.load(open(f"{out}/hnswlib.json"))
def best(run, target):
    ok = [s for s in run["sweep"] if s["recall"] >= target]
    return max(ok, key=lambda s: s["qps"]) if ok else None
for name in sys.argv[2:]:
    w = json.load(open(f"{out}/{name}.json"))
    print(f"-- webly, {name} builder, against hnswlib")
    print(f"build: webly {w['build_s']:.2f} s, hnswlib {h['build_s']:.2f} s -> webly {h['build_s'] / w['build_s']:.2f}x hnswlib's speed; CPU time of all threads {w['build_cpu_s']:.2f} and {h['build_cpu_s']:.2f} s -> {h['build_cpu_s'] / w['build_cpu_s']:.2f}x")
    print(f"memory held after the build: webly {w['held_mib']:.1f} MiB, hnswlib {h['held_mib']:.1f} MiB -> webly {w['held_mib'] / max(h['held_mib'], 1e-9):.2f}x")
    print(f"memory of the saved index opened by a fresh process (what a query server holds): webly {w['opened_mib']:.1f} MiB, hnswlib {h['opened_mib']:.1f} MiB -> webly {w['opened_mib'] / max(h['opened_mib'], 1e-9):.2f}x (against hnswlib's held after its build, {h['held_mib']:.1f} MiB: {w['opened_mib'] / max(h['held_mib'], 1e-9):.2f}x)")
    print(f"memory peak during the build: webly {w['peak_mib']:.1f} MiB, hnswlib {h['peak_mib']:.1f} MiB -> webly {w['peak_mib'] / max(h['peak_mib'], 1e-9):.2f}x")
    for target in (0.95, 0.99):
        a, b = best(w, target), best(h, target)
        if a and b:
            print(f"recall@10 >= {target}: webly {a['qps']:.0f} q/s of CPU time (ef={a['ef']}), hnswlib {b['qps']:.0f} (ef={b['ef']}) -> webly {a['qps'] / b['qps']:.2f}x hnswlib; in wall time {a['wall_qps']:.0f} and {b['wall_qps']:.0f} -> {a['wall_qps'] / b['wall_qps']:.2f}x")
        else:
            print(f"recall@10 >= {target}: not reached by {'webly' if not a else 'hnswlib'}")
PYEOF
}

echo "-- clustered synthetic vectors, $N x $DIM, $QUERIES held-out queries"
# hnswlib runs between webly's two builders, next to the default one: the machine is shared and
# its load drifts over minutes.
RAYON_NUM_THREADS=$THREADS "$BIN" "$OUT/syn" "$N" "$DIM" "$QUERIES" "${BUILDERS[0]}" | grep -v '^ *$'
"$PY" scripts/bench_index.py "$OUT/syn" "$THREADS"
for b in "${BUILDERS[@]:1}"; do
    RAYON_NUM_THREADS=$THREADS "$BIN" "$OUT/syn" "$N" "$DIM" "$QUERIES" "$b" | grep -v '^ *$'
done
compare "$OUT/syn"

data="$DEMO/models/triplet/embed/test.npy"; text="$DEMO/text/captions_test.npy"
if [[ -f $data && -f $text ]]; then
    echo; echo "-- the demo's test image embeddings ($data) with its test captions as text queries ($text)"
    RAYON_NUM_THREADS=$THREADS "$BIN" --npy "$data" "$text" "$OUT/demo" "${BUILDERS[0]}" | grep -v '^ *$'
    "$PY" scripts/bench_index.py "$OUT/demo" "$THREADS"
    for b in "${BUILDERS[@]:1}"; do
        RAYON_NUM_THREADS=$THREADS "$BIN" --npy "$data" "$text" "$OUT/demo" "$b" | grep -v '^ *$'
    done
    compare "$OUT/demo"
else
    echo "(no demo run at $DEMO: \`make demo\` makes one; the demo part is skipped)"
fi
