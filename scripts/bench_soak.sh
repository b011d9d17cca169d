#!/usr/bin/env bash
# `make bench`, soak section (issue 25): `webly serve` in its own process on loopback, under the
# soak driver (crates/serve/examples/soak) for WEBLY_SOAK_SECONDS (default 60): searches,
# similar-image lookups, good, broken, oversized, slow and stalled uploads, scan bombs, a crowd of
# WEBLY_SOAK_CROWD (default 2,000) stalled sockets, then waves of 200. Prints requests, failures,
# p50/p99 per kind, the server's RSS and file descriptors at start, peak and end, and its CPU time
# per scan bomb. Figures, not assertions on speed; fails if a request got a status other than its
# kind's, a stalled socket stayed open, a search beside the crowd took over a second, or the
# descriptors did not come back. Needs the demo run (`make demo`). Killed after 10 minutes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
config="${WEBLY_BENCH_CONFIG:-configs/demo.toml}"
seconds="${WEBLY_SOAK_SECONDS:-60}"
crowd="${WEBLY_SOAK_CROWD:-2000}"
port="${WEBLY_SOAK_PORT:-18081}"
# Optional: a --serve-config file for the server (the driver reads the same limits), and more
# clients sending the costly scan bomb at once (WEBLY_SOAK_BOMB_CLIENTS, default 1).
serve_config=()
[[ -n "${WEBLY_SOAK_SERVE_CONFIG:-}" ]] && serve_config=(--serve-config "$WEBLY_SOAK_SERVE_CONFIG")
log="$(mktemp)"
trap 'rm -f "$log"; [[ -n "${server:-}" ]] && kill "$server" 2>/dev/null || true' EXIT

# Two builds: `--example` would restrict a joint build to the example, leaving the binary stale.
cargo build --release -q -p webly
cargo build --release -q -p webly-serve --example soak
# The server gets the hard limit of open files as its soft limit (the crowd is 2,000 sockets).
(ulimit -n "$(ulimit -Hn)"; exec ./target/release/webly serve --config "$config" --addr "127.0.0.1:$port" "${serve_config[@]}") 2>"$log" &
server=$!
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.5
done
echo "webly serve (pid $server) on 127.0.0.1:$port, $config; mix of $seconds s, crowd of $crowd"
status=0
timeout 600 ./target/release/examples/soak --addr "127.0.0.1:$port" --pid "$server" \
  --seconds "$seconds" --crowd "$crowd" --bomb-clients "${WEBLY_SOAK_BOMB_CLIENTS:-1}" --queries eval/queries/simple.txt "${serve_config[@]}" || status=1
kill -TERM "$server"; wait "$server" || true; server=""
exit $status
