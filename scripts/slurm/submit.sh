#!/usr/bin/env bash
# webly's pipeline as five chained Slurm jobs: scripts/slurm/submit.sh CONFIG N OUT
#   prepare (data and text stages) -> extract --part I/N (array of N) -> run (training from the
#   cache) -> embed --shard I/N (array of N) -> merge into OUT/test.npy
# Each job starts only when the one before it finished well (afterok on the job id that
# `sbatch --parsable` printed; an array's id waits for all its tasks); a failed task cancels the
# rest (with SchedulerParameters=kill_invalid_depend, else they stay pending: scancel them).
# Logs: OUT/logs/<job name>-<job id>[_<task>].out. The run folder (the config's run_dir) and OUT
# must be on a file system that every node sees. Prints the five job ids.
# Environment: WEBLY, the webly binary (default: webly on PATH); SBATCH_EXTRA, more sbatch
# options for every job (e.g. "--partition=gpu --gres=gpu:1"). Resources per job are in the
# .sbatch files beside this script: one CPU per task, no GPU.
set -euo pipefail
[[ $# == 3 ]] || { echo "usage: $0 CONFIG N OUT" >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CONFIG="$1" OUT="$3" WEBLY="${WEBLY:-webly}"
n="$2"
mkdir -p "$OUT/logs" "$OUT/shards"
submit() {
  local id
  # shellcheck disable=SC2086  # SBATCH_EXTRA is a list of options
  id="$(sbatch --parsable --export=ALL ${SBATCH_EXTRA:-} "$@")"
  echo "${id%%;*}" # "id;cluster" on a multi-cluster set-up
}
one="$OUT/logs/%x-%j.out"
many="$OUT/logs/%x-%A_%a.out"
prepare=$(submit --job-name=webly-prepare --output="$one" "$here/prepare.sbatch")
extract=$(submit --job-name=webly-extract --output="$many" --array="0-$((n - 1))" \
  --dependency="afterok:$prepare" "$here/extract.sbatch")
train=$(submit --job-name=webly-train --output="$one" --dependency="afterok:$extract" \
  "$here/train.sbatch")
embed=$(submit --job-name=webly-embed --output="$many" --array="0-$((n - 1))" \
  --dependency="afterok:$train" "$here/embed.sbatch")
merge=$(submit --job-name=webly-merge --output="$one" --dependency="afterok:$embed" \
  "$here/merge.sbatch")
echo "$prepare $extract $train $embed $merge"
