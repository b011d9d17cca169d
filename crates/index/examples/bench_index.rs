//! HNSW build time, memory and single-thread q/s per `ef`, on clustered low-rank vectors written
//! as .npy so `scripts/bench_index.py` (hnswlib) runs on the very same data and ground truth.
//!
//! Memory (Linux): resident bytes the index adds (after the build, over before it) and the peak
//! during the build (the kernel's high-water mark, reset through `/proc/self/clear_refs` just
//! before), the same measure as the hnswlib script's; and what the saved index costs once opened
//! by a fresh process (`bench_index --open DIR`, run by this example), which is what a query
//! server holds.
//!
//! `cargo run --release -p webly-index --example bench_index -- OUT_DIR [N] [DIM] [QUERIES]
//! [BUILDER]` writes OUT_DIR/{data,queries,truth}.npy and OUT_DIR/BUILDER.json (BUILDER:
//! `webly`, the default, or `hnsw_rs`: run it once per builder, each in a fresh process, so one
//! build's freed memory does not hide in the other's figures).
//!
//! `... --example bench_index -- --npy DATA.npy QUERIES.npy OUT_DIR [BUILDER]` does the same on
//! given f32 matrices (`n x dim` indexed rows, `m x dim` queries: the demo's image embeddings
//! and its caption vectors as text queries).
//!
//! Every query set is searched `ceil(MIN_QUERIES / m)` times per `ef` and round so a round lasts
//! long enough to time, in `ROUNDS` rounds of which the fastest counts; queries/s are counted in
//! the searching thread's CPU time (the machine is shared: time slices other processes take do
//! not count) and also reported in wall time. The hnswlib script does the same.

use std::path::PathBuf;
use std::time::Instant;

use anndists::dist::{DistDot, Distance};
use ndarray::Array2;
use ndarray_npy::{read_npy, write_npy};
use serde_json::json;
use webly_index::synthetic::{clustered_split, SyntheticConfig};
use webly_index::{
    DotClamped, Embeddings, Exact, Expect, Fingerprints, Hnsw, HnswBuilder, HnswConfig,
    RecallConfig,
};

/// The ef values swept (hnswlib's script sweeps the same).
const EFS: [usize; 13] = [10, 12, 16, 20, 24, 28, 32, 40, 48, 64, 96, 128, 200];
const K: usize = 10;
/// Queries timed per `ef` and round at least (the query set repeated); the hnswlib script uses
/// the same.
const MIN_QUERIES: usize = 10_000;
/// Rounds timed per `ef`; the fastest counts (the machine is shared: the best round is the one
/// least disturbed). The hnswlib script does the same.
const ROUNDS: usize = 3;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--open") {
        return open_and_report(PathBuf::from(args.get(1).ok_or("--open DIR")?), &args[2..]);
    }
    let (emb, queries, out, builder) = if args.first().map(String::as_str) == Some("--npy") {
        let usage = "usage: bench_index --npy DATA.npy QUERIES.npy OUT_DIR [BUILDER]";
        let data: Array2<f32> = read_npy(args.get(1).ok_or(usage)?)?;
        let queries: Array2<f32> = read_npy(args.get(2).ok_or(usage)?)?;
        let dim = data.ncols();
        let keys = (0..data.nrows()).map(|i| format!("row/{i}")).collect();
        let emb = Embeddings::new(data.iter().copied().collect(), dim, keys)?;
        let queries: Vec<f32> = queries
            .rows()
            .into_iter()
            .flat_map(|q| {
                let norm = q.dot(&q).sqrt().max(f32::MIN_POSITIVE);
                q.iter().map(move |x| x / norm).collect::<Vec<f32>>()
            })
            .collect();
        (
            emb,
            queries,
            PathBuf::from(args.get(3).ok_or(usage)?),
            args.get(4),
        )
    } else {
        let out = PathBuf::from(
            args.first()
                .ok_or("usage: bench_index OUT_DIR [N] [DIM] [QUERIES] [BUILDER]")?,
        );
        let n: usize = args.get(1).map_or(Ok(50_000), |s| s.parse())?;
        let dim: usize = args.get(2).map_or(Ok(128), |s| s.parse())?;
        let m: usize = args.get(3).map_or(Ok(1_000), |s| s.parse())?;
        let (emb, queries) = clustered_split(n, m, dim, &SyntheticConfig::default());
        (emb, queries, out, args.get(4))
    };
    let builder: HnswBuilder =
        serde_json::from_value(json!(builder.map_or("webly", |s| s.as_str())))?;
    let builder_name = serde_json::to_value(builder)?
        .as_str()
        .unwrap_or("webly")
        .to_string();
    let (n, dim) = (emb.len(), emb.dim());
    let m = queries.len() / dim;
    let reps = MIN_QUERIES.div_ceil(m.max(1));
    std::fs::create_dir_all(&out)?;

    let exact = Exact::new(emb.clone());
    let truth: Vec<i64> = exact
        .search_batch(&queries, K)?
        .iter()
        .flat_map(|h| h.iter().map(|x| x.index as i64))
        .collect();
    write_npy(
        out.join("data.npy"),
        &Array2::from_shape_vec((n, dim), emb.as_slice().to_vec())?,
    )?;
    write_npy(
        out.join("queries.npy"),
        &Array2::from_shape_vec((m, dim), queries.clone())?,
    )?;
    write_npy(
        out.join("truth.npy"),
        &Array2::from_shape_vec((m, K), truth.clone())?,
    )?;

    kernel_ratio(&emb);
    let start = Instant::now();
    let _ = exact.search_batch(&queries[..dim * m.min(200)], K)?;
    let exact_qps = m.min(200) as f64 / start.elapsed().as_secs_f64();
    println!(
        "exact brute force: {exact_qps:.0} q/s ({} threads)",
        rayon::current_num_threads()
    );

    let config = HnswConfig {
        recall: RecallConfig {
            queries: 0,
            ..Default::default()
        },
        builder,
        ..Default::default()
    };
    let before = status_kib("VmRSS:");
    reset_peak();
    let (start, cpu) = (Instant::now(), process_cpu_s());
    let mut hnsw = Hnsw::build(&emb, &config)?;
    let (build_s, build_cpu_s) = (start.elapsed().as_secs_f64(), process_cpu_s() - cpu);
    let held_mib = (status_kib("VmRSS:") - before) as f64 / 1024.0;
    let peak_mib = (status_kib("VmHWM:") - before) as f64 / 1024.0;
    println!(
        "webly-index ({builder_name} builder): {n} x {dim}, M={} efc={}, build {build_s:.2} s on \
         {} threads, memory {held_mib:.1} MiB held, {peak_mib:.1} MiB peak during the build",
        config.m,
        config.ef_construction,
        rayon::current_num_threads()
    );

    hnsw.save(&out.join("index"), &Fingerprints::default())?;
    let opened = std::process::Command::new(std::env::current_exe()?)
        .args([
            "--open".as_ref(),
            out.join("index").as_os_str(),
            dim.to_string().as_ref(),
        ])
        .output()?;
    let opened_mib: f64 = String::from_utf8_lossy(&opened.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("opened_mib="))
        .and_then(|v| v.parse().ok())
        .ok_or("the --open child printed no opened_mib")?;
    println!("webly-index ({builder_name} builder): the saved index opened by a fresh process holds {opened_mib:.1} MiB");

    let mut sweep = Vec::new();
    for ef in EFS {
        let mut found: Vec<Vec<usize>> = Vec::new();
        let (mut best_cpu, mut best_wall) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..ROUNDS {
            let (cpu, wall) = (thread_cpu_s(), Instant::now());
            for _ in 0..reps {
                found = queries
                    .chunks(dim)
                    .map(|q| hnsw.search_ef(q, K, ef).iter().map(|h| h.index).collect())
                    .collect();
            }
            best_cpu = best_cpu.min(thread_cpu_s() - cpu);
            best_wall = best_wall.min(wall.elapsed().as_secs_f64());
        }
        let (qps, wall_qps) = ((m * reps) as f64 / best_cpu, (m * reps) as f64 / best_wall);
        let recall = recall_of(&found, &truth, m);
        println!(
            "  ef={ef:<4} recall@10 {recall:.4} {qps:>8.0} q/s of CPU time, {wall_qps:>8.0} of wall \
             time (1 thread)"
        );
        sweep.push(json!({ "ef": ef, "recall": recall, "qps": qps, "wall_qps": wall_qps }));
    }
    let report = json!({ "engine": format!("webly-index ({builder_name} build, flat search)"), "builder": builder_name, "reps": reps, "n": n, "dim": dim, "queries": m, "build_s": build_s, "build_cpu_s": build_cpu_s, "held_mib": held_mib, "peak_mib": peak_mib, "opened_mib": opened_mib, "sweep": sweep });
    std::fs::write(
        out.join(format!("{builder_name}.json")),
        serde_json::to_vec_pretty(&report)?,
    )?;
    Ok(())
}

/// Distance kernel side by side: webly's `DotClamped` against anndists' `DistDot` (the kernel
/// hnsw_rs would use, default features), same pairs (no self pairs: `DistDot` asserts on them).
fn kernel_ratio(emb: &Embeddings) {
    let rows = emb.len().min(2_000);
    let time = |f: &dyn Fn(&[f32], &[f32]) -> f32| {
        let start = Instant::now();
        let mut acc = 0.0f32;
        for i in 0..rows {
            for j in (1..rows).step_by(7).filter(|&j| j != i) {
                acc += f(emb.row(i), emb.row(j));
            }
        }
        (start.elapsed().as_secs_f64(), acc)
    };
    let (ours, a) = time(&|x, y| DotClamped.eval(x, y));
    let (theirs, b) = time(&|x, y| DistDot.eval(x, y).max(0.0));
    println!("distance kernel: DotClamped {ours:.3} s, anndists DistDot {theirs:.3} s -> DotClamped {:.2}x faster (sums {a:.1} / {b:.1})", theirs / ours);
}

/// `--open DIR DIM`: the resident bytes that opening the saved index adds, as `opened_mib=`.
fn open_and_report(dir: PathBuf, rest: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let dim: usize = rest.first().ok_or("--open DIR DIM")?.parse()?;
    let before = status_kib("VmRSS:");
    let index = Hnsw::open(
        &dir,
        &Expect {
            dim,
            text_fingerprint: String::new(),
        },
    )?;
    let held = (status_kib("VmRSS:") - before) as f64 / 1024.0;
    println!("rows={}\nopened_mib={held:.1}", index.len());
    Ok(())
}

/// CPU time of the calling thread in seconds (Linux; elsewhere wall time since first call).
fn thread_cpu_s() -> f64 {
    #[cfg(target_os = "linux")]
    return clock_s(libc::CLOCK_THREAD_CPUTIME_ID);
    #[cfg(not(target_os = "linux"))]
    return wall_s();
}

/// CPU time of all threads of the process in seconds (Linux; elsewhere wall time since first
/// call).
fn process_cpu_s() -> f64 {
    #[cfg(target_os = "linux")]
    return clock_s(libc::CLOCK_PROCESS_CPUTIME_ID);
    #[cfg(not(target_os = "linux"))]
    return wall_s();
}

#[cfg(target_os = "linux")]
fn clock_s(clock: libc::clockid_t) -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux knows.
    match unsafe { libc::clock_gettime(clock, &mut ts) } {
        0 => ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9,
        _ => 0.0,
    }
}

#[cfg(not(target_os = "linux"))]
fn wall_s() -> f64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// A `/proc/self/status` field in KiB (0 where there is none: not Linux).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Resets the resident high-water mark (`VmHWM`) to the current resident size (Linux >= 4.0).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn recall_of(found: &[Vec<usize>], truth: &[i64], m: usize) -> f64 {
    let hits: usize = found
        .iter()
        .zip(truth.chunks(K))
        .map(|(f, t)| t.iter().filter(|x| f.contains(&(**x as usize))).count())
        .sum();
    hits as f64 / (m * K) as f64
}
