#!/usr/bin/env bash
# webly-index kept up to date against a fresh build (issue 24, item 2): an index of N clustered
# vectors, then ROUNDS rounds of inserting BATCH new vectors, removing BATCH rows, compacting past
# DEFAULT_COMPACT_SHARE, measuring recall and saving it (crash-safe); then a fresh build of the
# final vectors and recall@10 of both on held-out queries. The bar: recall within 0.01 of the
# fresh build's and the rounds together cheaper than that build (exit status 1 when missed).
# WEBLY_BENCH_SHARES=1 also sweeps the share of removed rows: recall and queries/s with the
# tombstones and the compaction's cost, what DEFAULT_COMPACT_SHARE was chosen from (~5 min more).
# Usage: scripts/bench_incremental.sh [N] [DIM] [ROUNDS] [BATCH] [QUERIES]
#   (default 100000 128 10 1000 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}; DIM=${2:-128}; ROUNDS=${3:-10}; BATCH=${4:-1000}; QUERIES=${5:-1000}
THREADS=${RAYON_NUM_THREADS:-$(nproc)}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/webly-bench-incremental.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
cargo build --release -q -p webly-index --example bench_incremental
BIN=target/release/examples/bench_incremental
echo "-- clustered synthetic vectors, $N x $DIM, $ROUNDS rounds of +$BATCH / -$BATCH, $QUERIES held-out queries, $THREADS threads"
RAYON_NUM_THREADS=$THREADS "$BIN" "$OUT" "$N" "$DIM" "$ROUNDS" "$BATCH" "$QUERIES"
if [[ ${WEBLY_BENCH_SHARES:-0} == 1 ]]; then
    echo; echo "-- tombstones and compaction by share of removed rows, $N x $DIM"
    RAYON_NUM_THREADS=$THREADS "$BIN" --shares "$OUT" "$N" "$DIM" "$QUERIES"
fi
