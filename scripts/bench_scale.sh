#!/usr/bin/env bash
# `make bench-scale` (not part of `make bench`): the index, the evaluation and the activation
# cache at the sizes of InstaCities1M, each beside its peer where it has one, through the same
# benchmark scripts as `make bench` given other sizes:
#   1. HNSW, 1,000,000 x 50 clustered vectors, 1,000 held-out queries (ground truth by brute
#      force), against hnswlib: build time, memory of the saved index opened by a fresh process,
#      queries/s at recall@10 0.95 and 0.99 (scripts/bench_index.sh; webly's own builder only:
#      hnsw_rs builds at a quarter of hnswlib's speed, about an hour at this size);
#   2. the same at 500,000 x 128;
#   3. the index kept up to date at 1,000,000 x 50: 10 rounds of +1% / -1% against a fresh build
#      (scripts/bench_incremental.sh);
#   4. the exact evaluation of the 24 queries over 1,000,000 x 300 against numpy's matmul
#      (scripts/bench_eval.sh);
#   5. head training from an activation cache of 1,000,000 cached views (f16 safetensors shards,
#      memory-mapped, 2.56 GB), warm and cold page cache (bench_train --cache).
# Prints each part's wall time and the load average beside it, then a summary of every ratio.
# Generated data lives under data/bench-scale (git-ignored) and is deleted at the end
# (WEBLY_BENCH_SCALE_KEEP=1 keeps the activation cache for the next run).
# Sizes: WEBLY_SCALE_N (1000000, parts 1 and 3), WEBLY_SCALE_N128 (500000), WEBLY_SCALE_EVAL_N
# (1000000), WEBLY_SCALE_CACHE_N (1000000); smaller ones try the script out quickly.
# WEBLY_SCALE_PARTS picks parts (default "1 2 3 4 5").
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export WEBLY_BENCH_PYTHON="${WEBLY_BENCH_PYTHON:-${XDG_CACHE_HOME:-$HOME/.cache}/webly/venv-bench/bin/python}"
export WEBLY_BENCH_PY="$WEBLY_BENCH_PYTHON"
N=${WEBLY_SCALE_N:-1000000}
N128=${WEBLY_SCALE_N128:-500000}
EVAL_N=${WEBLY_SCALE_EVAL_N:-1000000}
CACHE_N=${WEBLY_SCALE_CACHE_N:-1000000}
PARTS=${WEBLY_SCALE_PARTS:-1 2 3 4 5}
data="$root/data/bench-scale"
logs="$data/logs"
mkdir -p "$logs"
# The benchmarks' own temporary folders (vectors, indexes) go under data/bench-scale too.
export TMPDIR="$data"
export WEBLY_BENCH_BUILDERS=webly WEBLY_BENCH_DEMO_RUN=none

# Built one package at a time, as each script builds its own (cargo unifies features across
# the packages of one command: built together, each script's own build would compile again).
echo "== building the benchmarks"
cargo build --release -q -p webly-index --example bench_index || exit 1
cargo build --release -q -p webly-index --example bench_incremental || exit 1
cargo build --release -q -p webly-eval --example bench_eval || exit 1
cargo build --release -q -p webly-encoder --example bench_train || exit 1

status=0
summary=()
load() { cut -d' ' -f1-3 /proc/loadavg; }
# part NUMBER TITLE COMMAND...: runs a part, logs it, times it.
part() {
  local num=$1 title=$2 start end rc load0
  shift 2
  [[ " $PARTS " == *" $num "* ]] || return 0
  printf '\n== %s. %s\n' "$num" "$title"
  load0="$(load)"
  echo "(load average at the start: $load0)"
  start=$(date +%s.%N)
  "$@" 2>&1 | tee "$logs/part$num.log"
  rc=${PIPESTATUS[0]}
  end=$(date +%s.%N)
  local took
  took=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
  printf -- '-- part %s took %d min %02d s (load average %s at the start, %s at the end)%s\n' \
    "$num" $((took / 60)) $((took % 60)) "$load0" "$(load)" "$([[ $rc == 0 ]] || echo ", exit status $rc")"
  summary+=("$num. $title: $((took / 60)) min $(printf %02d $((took % 60))) s, load $load0 -> $(load)")
  while IFS= read -r line; do summary+=("     $line"); done < <(grep -E -- '-> |ratio|bar' "$logs/part$num.log" | grep -v '^ *ef=')
  [[ $rc == 0 ]] || status=1
}

t0=$(date +%s)
part 1 "HNSW, $N x 50, webly's builder vs hnswlib" bash scripts/bench_index.sh "$N" 50 1000
part 2 "HNSW, $N128 x 128, webly's builder vs hnswlib" bash scripts/bench_index.sh "$N128" 128 1000
part 3 "index kept up to date, $N x 50: 10 rounds of +1% / -1% vs a fresh build" \
  bash scripts/bench_incremental.sh "$N" 50 10 $((N / 100)) 1000
part 4 "exact evaluation of 24 queries over $EVAL_N x 300 vs numpy matmul" \
  bash scripts/bench_eval.sh "$EVAL_N" 300
cache_part() {
  local out
  out="$(./target/release/examples/bench_train --cache "$data/cache" "$CACHE_N" 64 1)" || return 1
  echo "$out"
  awk -v w="$(sed -n 's/^cache_warm_images_per_s=//p' <<<"$out")" \
    -v c="$(sed -n 's/^cache_cold_images_per_s=//p' <<<"$out")" \
    'BEGIN { printf "cold page cache %.0f images/s vs warm %.0f -> cold %.2fx warm\n", c, w, c / w }'
}
part 5 "head training from $CACHE_N cached views (f16 safetensors shards, memory-mapped), warm and cold page cache" \
  cache_part
total=$(( $(date +%s) - t0 ))

[[ ${WEBLY_BENCH_SCALE_KEEP:-0} == 1 ]] || rm -rf "$data/cache"
printf '\n== summary (total %d min %02d s on %s cores; logs in %s)\n' $((total / 60)) $((total % 60)) "$(nproc)" "$logs"
printf '%s\n' "${summary[@]}"
exit $status
