"""hnswlib peer of `cargo run --release -p webly-index --example bench_index`.

Reads OUT_DIR/{data,queries,truth}.npy written by the Rust example, builds hnswlib with the same
M / ef_construction on the same number of threads, sweeps the same ef values single-threaded
(each query set repeated to at least MIN_QUERIES queries per round, the fastest of ROUNDS
rounds counting, in the searching thread's CPU time and in wall time, as the Rust side) and writes
OUT_DIR/hnswlib.json. The built index is also saved and opened by a fresh process, whose added
resident memory is reported beside webly's saved index opened the same way.
"""
import json
import os
import subprocess
import sys
import time

import hnswlib
import numpy as np

EFS = [10, 12, 16, 20, 24, 28, 32, 40, 48, 64, 96, 128, 200]
K = 10
# Queries timed per ef and round at least (the query set repeated), and rounds per ef of which
# the fastest counts, as the Rust example.
MIN_QUERIES = 10_000
ROUNDS = 3


def status_kib(field):
    """A /proc/self/status field in KiB (0 where there is none: not Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peak():
    """Resets VmHWM to the current resident size, as the Rust example does."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def open_and_report(path, dim):
    """`--open PATH DIM`: the resident KiB that loading a saved hnswlib index adds, printed as
    `opened_kib=` (numpy and hnswlib imported before, as a query server has them)."""
    before = status_kib("VmRSS:")
    index = hnswlib.Index(space="ip", dim=dim)
    index.load_index(path)
    print(f"rows={index.get_current_count()}\nopened_kib={status_kib('VmRSS:') - before}")


def opened_mib(index, out, dim):
    """Saves `index` and reports what a fresh process holds once it opened it (MiB)."""
    path = f"{out}/hnswlib.bin"
    index.save_index(path)
    try:
        child = subprocess.run([sys.executable, __file__, "--open", path, str(dim)],
                               check=True, capture_output=True, text=True).stdout
    finally:
        os.remove(path)
    return next(int(l.split("=")[1]) for l in child.splitlines() if l.startswith("opened_kib=")) / 1024


def main(out, threads):
    data = np.load(f"{out}/data.npy")
    queries = np.load(f"{out}/queries.npy")
    truth = np.load(f"{out}/truth.npy")
    n, dim = data.shape
    before = status_kib("VmRSS:")
    reset_peak()
    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(max_elements=n, ef_construction=200, M=16, random_seed=42)
    start, cpu = time.perf_counter(), time.process_time()
    index.add_items(data, np.arange(n), num_threads=threads)
    build_s, build_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    held_mib = (status_kib("VmRSS:") - before) / 1024
    peak_mib = (status_kib("VmHWM:") - before) / 1024
    print(f"hnswlib {hnswlib.__version__ if hasattr(hnswlib, '__version__') else ''}: {n} x {dim}, build {build_s:.2f} s on {threads} threads, memory {held_mib:.1f} MiB held, {peak_mib:.1f} MiB peak during the build")
    opened = opened_mib(index, out, dim)
    print(f"hnswlib: the saved index opened by a fresh process holds {opened:.1f} MiB")
    sweep = []
    for ef in EFS:
        index.set_ef(max(ef, K))
        reps = -(-MIN_QUERIES // len(queries))
        best_cpu, best_wall = float("inf"), float("inf")
        for _ in range(ROUNDS):
            cpu, wall = time.thread_time(), time.perf_counter()
            for _ in range(reps):
                labels, _ = index.knn_query(queries, k=K, num_threads=1)
            best_cpu = min(best_cpu, time.thread_time() - cpu)
            best_wall = min(best_wall, time.perf_counter() - wall)
        qps, wall_qps = reps * len(queries) / best_cpu, reps * len(queries) / best_wall
        recall = np.mean([len(set(l) & set(t)) / K for l, t in zip(labels, truth)])
        print(f"  ef={ef:<4} recall@10 {recall:.4} {qps:>8.0f} q/s of CPU time, {wall_qps:>8.0f} of wall time (1 thread)")
        sweep.append({"ef": ef, "recall": float(recall), "qps": qps, "wall_qps": wall_qps})
    with open(f"{out}/hnswlib.json", "w") as f:
        json.dump({"engine": "hnswlib", "n": n, "dim": dim, "build_s": build_s, "build_cpu_s": build_cpu_s, "held_mib": held_mib, "peak_mib": peak_mib, "opened_mib": opened, "sweep": sweep}, f, indent=1)


if __name__ == "__main__":
    if sys.argv[1] == "--open":
        open_and_report(sys.argv[2], int(sys.argv[3]))
        sys.exit(0)
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2)
