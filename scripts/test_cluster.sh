#!/usr/bin/env bash
# `make test-cluster`: the guide's Slurm recipe (scripts/slurm/submit.sh and its .sbatch files) on
# the single-node Slurm of scripts/setup_slurm.sh, on a miniature run of its own (configs/ci.toml
# with its data and run folder under a temporary folder): prepare, extract --part I/N as an
# array, run (training from that cache, which must extract nothing), embed --shard I/N as an
# array, merge. Passes when every job completed, the training reused every cache shard the array
# wrote, and the merged test.npy equals one process's `webly embed` (same keys in the same
# order, values within 1e-5, the tolerance of crates/pipeline/tests/sources_pipeline.rs).
# A failed job fails the test with its state and its log. Keeps the folder on failure
# (WEBLY_CLUSTER_KEEP=1: always). WEBLY_CLUSTER_TASKS: N (default 4); WEBLY_CLUSTER_TIMEOUT:
# seconds to wait for the jobs (default 1800).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { echo "[test-cluster] $*" >&2; }
t0=$SECONDS
bash scripts/setup_slurm.sh
log "set-up checked in $((SECONDS - t0)) s"
export WEBLY="$root/target/release/webly"
[[ -x "$WEBLY" ]] || { log "no $WEBLY: cargo build --release -p webly (make build)"; exit 1; }
n="${WEBLY_CLUSTER_TASKS:-4}"
timeout="${WEBLY_CLUSTER_TIMEOUT:-1800}"
# One node: any local folder is shared by its jobs. The jobs run as this user, from this folder.
work="$(mktemp -d "${TMPDIR:-/tmp}/webly-cluster.XXXXXX")"
keep="${WEBLY_CLUSTER_KEEP:-0}"
cleanup() { if [[ "$keep" == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
fail() {
  keep=1
  log "FAILED: $*"
  exit 1
}
# configs/ci.toml with absolute paths: its run and data under $work, the shared GloVe and weights.
cfg="$work/ci.toml"
sed -e "s|^run_dir = \".*\"|run_dir = \"$work/run\"|" \
  -e "s|^root = \"data/ci\"|root = \"$work/data\"|" \
  -e "s|\"data/glove/|\"$root/data/glove/|" \
  -e "s|\"data/weights/|\"$root/data/weights/|" configs/ci.toml > "$cfg"
grep -q "$work/run" "$cfg" && grep -q "$work/data" "$cfg" || fail "configs/ci.toml: run_dir or root not found"
out="$work/out"

t1=$SECONDS
read -r prepare extract train embed merge < <(scripts/slurm/submit.sh "$cfg" "$n" "$out")
jobs=("$prepare" "$extract" "$train" "$embed" "$merge")
log "submitted: prepare $prepare, extract $extract (array of $n), train $train, embed $embed (array of $n), merge $merge"

# Wait until none of them is queued or running (squeue lists the array's tasks by its id).
ids="$(IFS=,; echo "${jobs[*]}")"
# A job whose afterok can no longer be met (a task before it failed) is cancelled here, as
# SchedulerParameters=kill_invalid_depend would do (Slurm 22.05 left it pending all the same).
while [[ -n "$(squeue -h -j "$ids" -o %i 2>/dev/null)" ]]; do
  never="$(squeue -h -j "$ids" -t PD -o '%i %r' 2>/dev/null | awk '$2 == "DependencyNeverSatisfied" {print $1}')"
  if [[ -n "$never" ]]; then
    log "cancelling job(s) $(echo $never) (DependencyNeverSatisfied: a job before failed)"
    # shellcheck disable=SC2086  # a list of job ids
    scancel $never || true
  fi
  ((SECONDS - t1 < timeout)) || {
    squeue -j "$ids" >&2 || true
    scancel "${jobs[@]}" || true
    fail "the jobs did not finish in $timeout s"
  }
  sleep 2
done
log "the jobs left the queue after $((SECONDS - t1)) s"

# Every job and array task COMPLETED with exit code 0 (scontrol keeps them for MinJobAge).
field() { grep -oP "(^| )$1=\\K[^ ]*" | head -1 || true; } # one field of scontrol's -o line
bad=0
for job in "${jobs[@]}"; do
  while read -r line; do
    [[ -n "$line" ]] || continue
    id="$(field JobId <<< "$line")"
    name="$(field JobName <<< "$line")"
    task="$(field ArrayTaskId <<< "$line")"
    state="$(field JobState <<< "$line")"
    code="$(field ExitCode <<< "$line")"
    reason="$(field Reason <<< "$line")"
    stdout="$(field StdOut <<< "$line")"
    if [[ "$state" != COMPLETED || "$code" != 0:0 ]]; then
      bad=1
      log "job $id $name${task:+ task $task}: $state, exit code $code, reason $reason"
      if [[ -s "$stdout" ]]; then
        log "its log, $stdout:"
        tail -40 "$stdout" | sed 's/^/    /' >&2
      fi
    fi
  done < <(scontrol show job -o "$job" 2>/dev/null)
done
if [[ "$bad" == 1 ]]; then
  log "slurmd's log (last lines):"
  tail -10 /var/log/slurm/slurmd.log 2>/dev/null | sed 's/^/    /' >&2 || true
  fail "a job failed (logs in $out/logs)"
fi
log "every job completed"

# The training reused the array's cache: its log says 0 shards extracted for every set, and no
# shard of the sets the array wrote (train-v2, val-v1, test-v1) is newer than the array's logs.
# (embed --shard tasks extract their own work shard's test images into test-shard-I-of-N-v1/.)
grep -q "extracted now" "$out"/logs/webly-extract-*.out || fail "the extract tasks' logs say nothing of the cache"
train_log="$(ls "$out"/logs/webly-train-*.out)"
sets="$(grep -c '^\[features\] .* 0 of [0-9]* shards extracted' "$train_log" || true)"
((sets == 3)) || fail "the training extracted features itself ($train_log):
$(grep '^\[features\]' "$train_log")"
newest_extract="$(stat -c %Y "$out"/logs/webly-extract-*.out | sort -n | tail -1)"
shards="$(find "$work/run/features" -path '*-shard-*' -prune -o -name 'shard-*.safetensors' -print | wc -l)"
((shards > 0)) || fail "no cache shard under $work/run/features"
newer="$(find "$work/run/features" -path '*-shard-*' -prune -o -name 'shard-*.safetensors' \
  -newermt "@$((newest_extract + 1))" -print | wc -l)"
((newer == 0)) || fail "$newer cache shards were written after the extract array"
log "the training reused all $shards cache shards the array wrote"

# One process's embedding of the test split, compared with the merged shards.
"$WEBLY" embed --config "$cfg" --split test --out "$work/single.npy" >/dev/null
python3 - "$work/single.npy" "$out/test.npy" <<'EOF' || fail "the merged test.npy differs from one process's"
import ast, struct, sys
from array import array

def read_npy(path):
    with open(path, "rb") as f:
        assert f.read(6) == b"\x93NUMPY", path
        major = f.read(2)[0]
        size = struct.unpack("<H" if major == 1 else "<I", f.read(2 if major == 1 else 4))[0]
        header = ast.literal_eval(f.read(size).decode("latin1"))
        assert header["descr"] == "<f4" and not header["fortran_order"], header
        values = array("f")
        values.frombytes(f.read())
    ids = open(path[: -len(".npy")] + ".ids", encoding="utf-8").read().split("\n")
    return header["shape"], values, [k for k in ids if k]

(shape_a, a, keys_a), (shape_b, b, keys_b) = read_npy(sys.argv[1]), read_npy(sys.argv[2])
assert shape_a == shape_b, f"shapes {shape_a} and {shape_b}"
assert keys_a == keys_b, "keys differ"
assert len(keys_a) == shape_a[0], f"{len(keys_a)} keys for {shape_a[0]} rows"
worst = max(abs(x - y) for x, y in zip(a, b))
assert worst < 1e-5, f"values differ by {worst}"
print(f"[test-cluster] merged equals one process: {shape_a[0]} x {shape_a[1]}, "
      f"keys in the same order, largest difference {worst:.2e}", file=sys.stderr)
EOF
log "passed in $((SECONDS - t0)) s (jobs $((SECONDS - t1)) s)"
