#!/usr/bin/env bash
# `make bench`, server section: text queries over HTTP on loopback with wrk (Debian's, installed
# by scripts/bench_setup.sh) at 1, 8 and 64 connections, beside the same queries answered
# in-process (crates/serve/examples/bench_queries.rs) as the ratio's peer: the server's overhead.
# Bounded: each load run lasts WEBLY_BENCH_SECONDS (default 10) and the whole script is killed
# after 10 minutes. Needs the demo run (`make demo`). Fails if any request fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
config="${WEBLY_BENCH_CONFIG:-configs/demo.toml}"
seconds="${WEBLY_BENCH_SECONDS:-10}"
k=10
port="${WEBLY_BENCH_PORT:-18080}"
command -v wrk >/dev/null || { echo "wrk is missing: run scripts/bench_setup.sh" >&2; exit 1; }
queries="$(mktemp)"; lua="$(mktemp --suffix=.lua)"
trap 'rm -f "$queries" "$lua"; [[ -n "${server:-}" ]] && kill "$server" 2>/dev/null || true' EXIT
grep -hv '^#' eval/queries/simple.txt eval/queries/complex.txt | sed '/^\s*$/d' > "$queries"
n=$(wc -l < "$queries")

# wrk request rotation over the queries, and a failure count (non-2xx answers or socket errors).
{
  echo "local paths = {}"
  while IFS= read -r q; do
    printf 'paths[#paths + 1] = "/api/search?k=%s&q=%s"\n' "$k" "$(printf '%s' "$q" | sed 's/ /+/g')"
  done < "$queries"
  cat <<'LUA'
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  local failed = e.connect + e.read + e.write + e.status + e.timeout
  io.write(string.format("RESULT %d %.1f %.3f %.3f %d\n", summary.requests,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, failed))
end
LUA
} > "$lua"

cargo build --release -q -p webly -p webly-serve --example bench_queries
./target/release/webly serve --config "$config" --addr "127.0.0.1:$port" 2>/tmp/webly-bench-serve.log &
server=$!
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat /tmp/webly-bench-serve.log >&2; exit 1; }
  sleep 0.5
done
curl -sf "http://127.0.0.1:$port/api/info" | head -c 300; echo

status=0
peer=$(timeout 600 ./target/release/examples/bench_queries "$config" "$queries" "$k" 20000)
peer_rps=$(awk '{print $5}' <<< "$peer")
echo "$n queries, k=$k, HNSW, $seconds s per run on loopback"
echo "$peer"
for c in 1 8 64; do
  threads=$(( c < 2 ? 1 : 2 ))
  out=$(timeout 120 wrk -t"$threads" -c"$c" -d"${seconds}s" --timeout 10s -s "$lua" "http://127.0.0.1:$port")
  read -r _ reqs rps p50 p99 failed < <(grep '^RESULT' <<< "$out")
  ratio=$(awk -v a="$rps" -v b="$peer_rps" 'BEGIN { printf "%.2f", a / b }')
  printf 'HTTP %2d connection(s): %9.0f requests/s  p50 %.3f ms  p99 %.3f ms  (%d requests, %d failed)  ratio to in-process %s\n' \
    "$c" "$rps" "$p50" "$p99" "$reqs" "$failed" "$ratio"
  [[ "$failed" == 0 ]] || status=1
done
kill -TERM "$server"; wait "$server" || true; server=""
exit $status
