#!/bin/bash
# Behaviour unchanged between two commits: builds each, runs the same config on each (the HNSW
# index built on one thread, as a parallel build is not bit-reproducible) and compares the runs
# with scripts/same_behaviour.py: identical weights, embeddings, index and metrics, timestamps
# and throughputs excepted.
#   scripts/same_behaviour.sh BEFORE AFTER [CONFIG]     (default CONFIG: configs/demo.toml)
# Each commit is checked out as a git worktree under $WORK (default: a temporary folder); the
# data/ assets and the set-up's libtorch link come from this checkout (run `make setup` first).
# The generated data is made once, by BEFORE, and shared.
set -euo pipefail
before=${1:?usage: scripts/same_behaviour.sh BEFORE AFTER [CONFIG]}
after=${2:?usage: scripts/same_behaviour.sh BEFORE AFTER [CONFIG]}
config=${3:-configs/demo.toml}
root=$(git rev-parse --show-toplevel)
work=${WORK:-$(mktemp -d -t webly-same-XXXXXX)}
target=${CARGO_TARGET_DIR:-$work/target}
echo "[same] work folder $work"
for rev in "$before" "$after"; do
  sha=$(git -C "$root" rev-parse --short "$rev")
  tree="$work/$sha"
  if [[ ! -d "$tree" ]]; then
    git -C "$root" worktree add --detach "$tree" "$rev" >/dev/null
  fi
  ln -sfn "$root/.libtorch" "$tree/.libtorch"
  mkdir -p "$tree/data"
  for asset in glove weights; do ln -sfn "$root/data/$asset" "$tree/data/$asset"; done
  if [[ "$rev" != "$before" ]]; then
    # The same generated images for both runs.
    first="$work/$(git -C "$root" rev-parse --short "$before")"
    for d in "$first"/data/*; do
      [[ -e "$tree/data/$(basename "$d")" ]] || ln -sfn "$d" "$tree/data/$(basename "$d")"
    done
  fi
  echo "[same] $rev ($sha): build"
  (cd "$tree" && CARGO_TARGET_DIR="$target" cargo build --release -p webly --quiet)
  cp "$target/release/webly" "$work/webly-$sha"
  echo "[same] $rev ($sha): webly run --config $config (one rayon thread)"
  (cd "$tree" && RAYON_NUM_THREADS=1 "$work/webly-$sha" run --config "$config" >"$work/run-$sha.log" 2>&1) ||
    { echo "[same] $rev: the run failed, see $work/run-$sha.log"; exit 1; }
done
run_dir=$(sed -n 's/^run_dir *= *"\(.*\)"/\1/p' "$root/$config" | head -1)
python3 "$root/scripts/same_behaviour.py" \
  "$work/$(git -C "$root" rev-parse --short "$before")/$run_dir" \
  "$work/$(git -C "$root" rev-parse --short "$after")/$run_dir"
