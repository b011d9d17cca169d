#!/usr/bin/env bash
# `make bench`: every benchmark, each side by side with its peer in one run, printing ratios.
# The machine is noisy: compare the ratios, not the absolute rates.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export WEBLY_BENCH_PYTHON="${WEBLY_BENCH_PYTHON:-${XDG_CACHE_HOME:-$HOME/.cache}/webly/venv-bench/bin/python}"
export WEBLY_BENCH_PY="$WEBLY_BENCH_PYTHON"
images="${WEBLY_BENCH_IMAGES:-$root/data/bench-images}"
status=0
section() { printf '\n== %s\n' "$1"; }
section "text: GloVe 6B 50d parse and cached reload vs gensim"
bash scripts/bench_text.sh || status=1
section "data: decode + resize + crop vs Pillow"
bash scripts/bench_data.sh "$images" || status=1
section "data: the same images as tar shards (webdataset) vs loose files"
bash scripts/bench_sources.sh "$images" || status=1
section "index: webly (its own builder and hnsw_rs) vs hnswlib"
bash scripts/bench_index.sh || status=1
section "index: kept up to date (10 rounds of +1% / -1%, compaction, recall, save) vs a fresh build"
bash scripts/bench_incremental.sh || status=1
section "python: webly's package vs hnswlib (search) and scikit-learn (AP, mAP)"
bash scripts/bench_python.sh || status=1
section "eval: exact evaluation of 24 queries over 150K x 300 vs numpy matmul"
bash scripts/bench_eval.sh || status=1
section "encoder: training images/s vs PyTorch"
bash scripts/bench_train.sh || status=1
section "encoder: EfficientNet-Lite0 feature extraction vs PyTorch and ONNX Runtime, head training from the cache"
bash scripts/bench_extract.sh || status=1
section "serve: text queries over HTTP (wrk) vs in-process"
bash scripts/bench_serve.sh || status=1
section "serve: soak test (searches, uploads, scan bombs, 2,000 stalled sockets) for 60 s"
bash scripts/bench_soak.sh || status=1
exit $status
