#!/usr/bin/env bash
# webly's Python package beside its Python peers (scripts/bench_python.py): search against
# hnswlib on the same vectors and queries (recall@10 >= 0.95, k 10, 1 thread), AP and mAP against
# scikit-learn (same values, speed). The package is built as a wheel by the maturin of
# scripts/setup_python.sh's venv (cargo reuses its build) and installed into the bench venv.
# The index: the demo run's (WEBLY_BENCH_DEMO_RUN, default runs/demo: `make demo` makes it), or
# a collection (WEBLY_BENCH_COLLECTION=DIR, e.g. made with `webly collection create DIR --model
# runs/demo/models/triplet data/demo/img_resized_1M`), with the demo's test captions as queries.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${WEBLY_BENCH_PY:-${XDG_CACHE_HOME:-$HOME/.cache}/webly/venv-bench/bin/python}
PYVENV=${WEBLY_PY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/webly/venv-py}
DEMO=${WEBLY_BENCH_DEMO_RUN:-runs/demo}
queries="$DEMO/text/captions_test.npy"
if [[ -n "${WEBLY_BENCH_COLLECTION:-}" ]]; then
  kind=collection; index="$WEBLY_BENCH_COLLECTION"
else
  kind=run; index="$DEMO/models/triplet"
fi
if [[ ! -f "$queries" || ! -e "$index" ]]; then
  echo "(no demo run at $DEMO: \`make demo\` makes one; the Python benchmark is skipped)"
  exit 0
fi
bash scripts/setup_python.sh
wheels=$(mktemp -d "${TMPDIR:-/tmp}/webly-wheel.XXXXXX")
trap 'rm -rf "$wheels"' EXIT
(cd crates/python && VIRTUAL_ENV="$PYVENV" PATH="$PYVENV/bin:$PATH" "$PYVENV/bin/maturin" build --release -q -o "$wheels")
"$PY" -m pip install --disable-pip-version-check -q --force-reinstall --no-deps "$wheels"/webly-*.whl
"$PY" scripts/bench_python.py "$kind" "$index" "$queries"
