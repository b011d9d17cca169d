#!/usr/bin/env bash
# Exact evaluation (webly-eval) side by side with numpy's matmul in one run, same shape and
# threads: 24 queries x N images x DIM, best of 5 each; prints webly's speed over numpy's.
#   "scoring": webly-eval's cosine_scores (check, norm and score every image for every query:
#   the scan evaluate ranks), against numpy's `queries @ images.T` alone.
#   "evaluation": the whole evaluate (looks up each query's relevant images, scans, and places
#   every image of each query's ranking among the relevant scores: AP, P@k, R-precision), against
#   the same numpy matmul; "evaluation, keys mapped": the same with the relevance's keys in
#   another order than the ranking's (mapped through hash maps once).
# Usage: bash scripts/bench_eval.sh [N] [DIM]   (default 150000 300; threads: RAYON_NUM_THREADS
# or all cores)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
N=${1:-150000}; DIM=${2:-300}
THREADS=${RAYON_NUM_THREADS:-$(nproc)}
PY=${WEBLY_BENCH_PY:-${XDG_CACHE_HOME:-$HOME/.cache}/webly/venv-bench/bin/python}
cargo build -q --release -p webly-eval --example bench_eval
webly_out="$(cd crates/eval && RAYON_NUM_THREADS=$THREADS ../../target/release/examples/bench_eval "$N" "$DIM")"
grep '^bench_eval:' <<<"$webly_out"
numpy_out="$(OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS \
  "$PY" - "$N" "$DIM" <<'PY'
import sys, time
import numpy as np
n, d = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(1)
images = rng.uniform(-1, 1, (n, d)).astype(np.float32)
queries = rng.uniform(-1, 1, (24, d)).astype(np.float32)
best = min(
    (lambda t: (queries @ images.T, time.perf_counter() - t)[1])(time.perf_counter())
    for _ in range(5)
)
print(f"numpy {np.__version__}: queries @ images.T, best of 5: {best:.3f} s")
print(f"numpy_s={best:.4f}")
PY
)"
grep '^numpy ' <<<"$numpy_out"
numpy_s="$(sed -n 's/^numpy_s=//p' <<<"$numpy_out")"
scoring_s="$(sed -n 's/^scoring_s=//p' <<<"$webly_out")"
evaluation_s="$(sed -n 's/^evaluation_s=//p' <<<"$webly_out")"
mapped_s="$(sed -n 's/^evaluation_mapped_s=//p' <<<"$webly_out")"
awk -v np="$numpy_s" -v s="$scoring_s" -v e="$evaluation_s" -v m="$mapped_s" -v t="$THREADS" 'BEGIN {
  printf "%s threads: webly scoring %.3f s vs numpy matmul %.3f s -> webly %.2fx numpy\n", t, s, np, np / s
  printf "%s threads: webly whole evaluation %.3f s vs numpy matmul %.3f s -> webly %.2fx numpy\n", t, e, np, np / e
  printf "%s threads: webly whole evaluation, keys mapped %.3f s vs numpy matmul %.3f s -> webly %.2fx numpy\n", t, m, np, np / m
}'
