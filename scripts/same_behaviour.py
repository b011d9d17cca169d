#!/usr/bin/env python3
"""Two finished runs of one config produced the same results: a refactor changed no behaviour.

Usage: python3 scripts/same_behaviour.py RUN_A RUN_B   (two run folders, e.g. runs/demo of two
commits; scripts/same_behaviour.sh makes them). For every model of the runs it compares:

- the weights (`best.safetensors`, `last.safetensors`): byte-identical;
- the test embeddings (`embed/test.npy`, `test.ids`) and the index's files (`vectors.f32`,
  `graph.u32`, `keys.txt`, `nodes.txt`): byte-identical (the index built on one thread: a parallel
  build is not bit-reproducible);
- the evaluation (`eval/*/report.json`, `report.csv`), the index's manifest, the training state
  and `metrics.csv`: equal once the fields that hold a time or a throughput are dropped
  (TIMING_FIELDS), and the index's fingerprint of its inputs (PATH_FIELDS: the dataset's
  absolute root is one of those inputs, and each commit runs in its own checkout).

Prints one line per difference and exits 1 when there is any. Python 3 standard library only.
"""
import csv
import hashlib
import json
import sys
from pathlib import Path

# Fields that differ from one run to the next by nature: wall-clock times and throughputs.
TIMING_FIELDS = {"created_unix", "images_per_s", "data_wait", "seconds", "elapsed_s", "wall_s"}
# Fields that name where the run is: fingerprints of inputs that hold absolute paths.
PATH_FIELDS = {"model_fingerprint"}
IGNORED_FIELDS = TIMING_FIELDS | PATH_FIELDS
BYTE_FILES = [
    "best.safetensors",
    "last.safetensors",
    "embed/test.npy",
    "embed/test.ids",
    "index/vectors.f32",
    "index/graph.u32",
    "index/keys.txt",
    "index/nodes.txt",
]
JSON_FILES = ["index/manifest.json", "state.json", "eval/truth/report.json", "eval/captions/report.json"]
CSV_FILES = ["metrics.csv", "eval/truth/report.csv", "eval/captions/report.csv"]


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def without_timing(value):
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in IGNORED_FIELDS}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def csv_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [{k: v for k, v in row.items() if k not in IGNORED_FIELDS} for row in csv.DictReader(f)]


def compare(a, b):
    diffs = []
    models_a = sorted(p.name for p in (a / "models").iterdir() if p.is_dir())
    models_b = sorted(p.name for p in (b / "models").iterdir() if p.is_dir())
    if models_a != models_b:
        diffs.append(f"models differ: {models_a} against {models_b}")
    for m in sorted(set(models_a) & set(models_b)):
        ma, mb = a / "models" / m, b / "models" / m
        for rel in BYTE_FILES + JSON_FILES + CSV_FILES:
            fa, fb = ma / rel, mb / rel
            if not fa.exists() or not fb.exists():
                if fa.exists() != fb.exists():
                    diffs.append(f"{m}/{rel}: present in one run only")
                continue
            if rel in BYTE_FILES:
                same = sha(fa) == sha(fb)
            elif rel in JSON_FILES:
                same = without_timing(json.loads(fa.read_text())) == without_timing(json.loads(fb.read_text()))
            else:
                same = csv_rows(fa) == csv_rows(fb)
            if not same:
                diffs.append(f"{m}/{rel}: differs")
    return diffs


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    a, b = Path(sys.argv[1]), Path(sys.argv[2])
    for run in (a, b):
        if not (run / "models").is_dir():
            print(f"{run}: not a finished run folder (no models/)", file=sys.stderr)
            return 2
    diffs = compare(a, b)
    for d in diffs:
        print(d)
    if not diffs:
        print(f"same behaviour: {a} and {b} hold identical weights, embeddings, index and metrics")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
