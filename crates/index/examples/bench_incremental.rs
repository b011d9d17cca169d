//! An index kept up to date against a fresh build (issue 24, item 2: "Incremental index"), on
//! clustered low-rank vectors with held-out queries.
//!
//! `cargo run --release -p webly-index --example bench_incremental -- OUT_DIR [N] [DIM]
//! [ROUNDS] [BATCH] [QUERIES]` (default 100000 128 10 1000 1000): builds an index of N vectors,
//! then ROUNDS rounds of: insert BATCH new vectors, remove BATCH rows picked at random among the
//! live ones, compact when [`DEFAULT_COMPACT_SHARE`] is passed, measure recall (the build's
//! measure: 200 rows as queries), save the index into OUT_DIR/index (the crash-safe `save`: a
//! fresh folder renamed into place). Then a fresh build of the final rows, and recall@10 of both
//! on the held-out queries against exact search over those rows. Writes
//! OUT_DIR/incremental.json and prints a table. The bar: recall within 0.01 of the
//! fresh build's and the rounds together cheaper than one fresh build; the exit status is 1
//! when either is missed.
//!
//! `... --example bench_incremental -- --shares OUT_DIR [N] [DIM] [QUERIES]`: how tombstones
//! cost search and what a compaction costs, by share of removed rows (what
//! [`DEFAULT_COMPACT_SHARE`] was chosen from): rows removed at random up to each share, then
//! recall@10 and single-thread queries/s with the tombstones, the compaction's time (of a copy
//! opened from disk), and recall and queries/s after it. Writes OUT_DIR/shares.json.
//!
//! Times are wall time and CPU time of all threads (the machine is shared: CPU time is the
//! steadier); queries/s are counted in the searching thread's CPU time, the best of 3 rounds.

use std::path::PathBuf;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use webly_index::synthetic::{clustered_split, SyntheticConfig};
use webly_index::{
    recall_at_k, Embeddings, Exact, Expect, Fingerprints, Hnsw, HnswConfig, Search,
    DEFAULT_COMPACT_SHARE,
};

const K: usize = 10;
/// A narrower beam than the default, where a worse graph shows more.
const NARROW_EF: usize = 16;
/// Queries timed per round at least (the query set repeated), as bench_index does.
const MIN_QUERIES: usize = 10_000;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--shares") {
        return shares(&args[1..]);
    }
    let usage = "usage: bench_incremental OUT_DIR [N] [DIM] [ROUNDS] [BATCH] [QUERIES]";
    let out = PathBuf::from(args.first().ok_or(usage)?);
    let arg = |i: usize, default: usize| args.get(i).map_or(Ok(default), |s| s.parse());
    let (n, dim, rounds, batch, m) = (
        arg(1, 100_000)?,
        arg(2, 128)?,
        arg(3, 10)?,
        arg(4, 1_000)?,
        arg(5, 1_000)?,
    );
    std::fs::create_dir_all(&out)?;
    let threads = rayon::current_num_threads();
    let (all, queries) = clustered_split(n + rounds * batch, m, dim, &SyntheticConfig::default());
    let config = HnswConfig::default();
    let fp = Fingerprints::default();

    let (start, cpu) = (Instant::now(), process_cpu_s());
    let mut index = Hnsw::build(&rows_of(&all, 0..n)?, &config)?;
    let (first_s, first_cpu) = (start.elapsed().as_secs_f64(), process_cpu_s() - cpu);
    println!(
        "initial build: {n} x {dim}, M={} efc={}, {first_s:.2} s on {threads} threads",
        config.m, config.ef_construction
    );
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut table = Vec::new();
    let (mut total_s, mut total_cpu) = (0.0, 0.0);
    println!(
        "round   rows   nodes  deleted  insert s  remove s  compact s  recall s  save s  round s  \
         recall@10 (200 rows)"
    );
    for round in 1..=rounds {
        let (round_start, round_cpu) = (Instant::now(), process_cpu_s());
        let fresh = rows_of(&all, n + (round - 1) * batch..n + round * batch)?;
        let t = Instant::now();
        index.insert(&fresh)?;
        let insert_s = t.elapsed().as_secs_f64();
        let mut keys = index.keys().to_vec();
        keys.shuffle(&mut rng);
        keys.truncate(batch);
        let t = Instant::now();
        index.remove(&keys);
        let remove_s = t.elapsed().as_secs_f64();
        let share = index.deleted_share();
        let t = Instant::now();
        let compacted = share > DEFAULT_COMPACT_SHARE;
        if compacted {
            index.compact();
        }
        let compact_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let recall = index.measure_recall().map_or(f64::NAN, |r| r.recall);
        let recall_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        index.save(&out.join("index"), &fp)?;
        let save_s = t.elapsed().as_secs_f64();
        let (round_s, cpu_s) = (
            round_start.elapsed().as_secs_f64(),
            process_cpu_s() - round_cpu,
        );
        total_s += round_s;
        total_cpu += cpu_s;
        println!(
            "{round:>5} {:>6} {:>7} {:>7.2}%  {insert_s:>8.3}  {remove_s:>8.3}  {:>9}  \
             {recall_s:>8.3}  {save_s:>6.3}  {round_s:>7.3}  {recall:.4}",
            index.len(),
            index.nodes(),
            100.0 * share,
            if compacted {
                format!("{compact_s:.3}")
            } else {
                "-".into()
            },
        );
        table.push(
            json!({"round": round, "rows": index.len(), "nodes": index.nodes(),
            "deleted_share_before_compact": share, "compacted": compacted, "insert_s": insert_s,
            "remove_s": remove_s, "compact_s": compact_s, "recall_s": recall_s, "save_s": save_s,
            "round_s": round_s, "round_cpu_s": cpu_s, "recall_200_rows": recall}),
        );
    }

    let last = live_rows(&index)?;
    let (start, cpu) = (Instant::now(), process_cpu_s());
    let mut fresh = Hnsw::build(&last, &config)?;
    let (fresh_s, fresh_cpu) = (start.elapsed().as_secs_f64(), process_cpu_s() - cpu);
    let exact = Exact::new(last);
    let recall = |h: &Hnsw| recall_at_k(&exact, h, &queries, K);
    let (inc, full) = (recall(&index), recall(&fresh));
    let (inc_qps, full_qps) = (qps(&index, &queries, dim), qps(&fresh, &queries, dim));
    index.set_ef_search(NARROW_EF);
    fresh.set_ef_search(NARROW_EF);
    let (inc_narrow, full_narrow) = (recall(&index), recall(&fresh));
    // Not part of the rounds (the share stayed below the default): what compacting the final
    // index would have cost.
    let share = index.deleted_share();
    let (start, cpu) = (Instant::now(), process_cpu_s());
    index.compact();
    let (compact_s, compact_cpu) = (start.elapsed().as_secs_f64(), process_cpu_s() - cpu);
    let compacted_narrow = recall(&index);
    index.set_ef_search(config.ef_search);
    let compacted = recall(&index);
    let ratio = total_s / fresh_s;
    let bar = (inc >= full - 0.01, total_s < fresh_s);
    println!(
        "fresh build of the final {} rows: {fresh_s:.2} s ({fresh_cpu:.2} s of CPU); the {rounds} \
         rounds: {total_s:.2} s ({total_cpu:.2} s of CPU) -> {ratio:.3} of a fresh build ({:.3} \
         in CPU time)",
        index.len(),
        total_cpu / fresh_cpu
    );
    println!(
        "recall@10 on {m} held-out queries, ef {}: incremental {inc:.4}, fresh build {full:.4} \
         ({:+.4}); at ef {NARROW_EF}: {inc_narrow:.4} and {full_narrow:.4} ({:+.4}); \
         queries/s at ef {} (1 thread): {inc_qps:.0} and {full_qps:.0}",
        config.ef_search,
        inc - full,
        inc_narrow - full_narrow,
        config.ef_search
    );
    println!(
        "compacting the final index ({:.2}% tombstones): {compact_s:.2} s ({compact_cpu:.2} s of \
         CPU, {:.3} of a fresh build's), recall@10 after it {compacted:.4}, at ef {NARROW_EF} \
         {compacted_narrow:.4}; the rounds and it: {:.3} of a fresh build",
        100.0 * share,
        compact_cpu / fresh_cpu,
        (total_s + compact_s) / fresh_s
    );
    println!(
        "bar: recall within 0.01 of the fresh build: {}; the rounds cheaper than a fresh build: {}",
        yes(bar.0),
        yes(bar.1)
    );
    let report = json!({"n": n, "dim": dim, "rounds": rounds, "batch": batch, "queries": m,
        "threads": threads, "compact_share": DEFAULT_COMPACT_SHARE, "initial_build_s": first_s,
        "initial_build_cpu_s": first_cpu, "rounds_table": table, "rounds_s": total_s,
        "rounds_cpu_s": total_cpu, "fresh_build_s": fresh_s, "fresh_build_cpu_s": fresh_cpu,
        "ratio": ratio, "ratio_cpu": total_cpu / fresh_cpu, "recall_incremental": inc,
        "recall_fresh": full, "recall_incremental_narrow": inc_narrow,
        "recall_fresh_narrow": full_narrow, "narrow_ef": NARROW_EF, "qps_incremental": inc_qps,
        "qps_fresh": full_qps, "final_share": share, "final_compact_s": compact_s,
        "final_compact_cpu_s": compact_cpu, "recall_after_final_compact": compacted,
        "recall_narrow_after_final_compact": compacted_narrow,
        "bar_recall": bar.0, "bar_cost": bar.1});
    std::fs::write(
        out.join("incremental.json"),
        serde_json::to_vec_pretty(&report)?,
    )?;
    if !(bar.0 && bar.1) {
        std::process::exit(1);
    }
    Ok(())
}

/// `--shares OUT_DIR [N] [DIM] [QUERIES]`: search with tombstones and the compaction's cost by
/// share of removed rows.
fn shares(args: &[String]) -> Res<()> {
    let usage = "usage: bench_incremental --shares OUT_DIR [N] [DIM] [QUERIES]";
    let out = PathBuf::from(args.first().ok_or(usage)?);
    let arg = |i: usize, default: usize| args.get(i).map_or(Ok(default), |s| s.parse());
    let (n, dim, m) = (arg(1, 100_000)?, arg(2, 128)?, arg(3, 1_000)?);
    std::fs::create_dir_all(&out)?;
    let (all, queries) = clustered_split(n, m, dim, &SyntheticConfig::default());
    let config = HnswConfig::default();
    let (start, cpu) = (Instant::now(), process_cpu_s());
    let mut index = Hnsw::build(&all, &config)?;
    let (build_s, build_cpu) = (start.elapsed().as_secs_f64(), process_cpu_s() - cpu);
    println!("build: {n} x {dim}, {build_s:.2} s ({build_cpu:.2} s of CPU)");
    println!(
        "share  recall@10 ef {ef} / {NARROW_EF}  q/s   | compact s (CPU s, of a build)  \
         recall@10 after  q/s after",
        ef = config.ef_search
    );
    let mut keys = all.keys().to_vec();
    keys.shuffle(&mut ChaCha8Rng::seed_from_u64(2));
    let (dir, fp) = (out.join("shares-index"), Fingerprints::default());
    let expect = Expect {
        dim,
        text_fingerprint: String::new(),
    };
    let mut rows = Vec::new();
    let mut removed = 0;
    for share in [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3] {
        let upto = (share * n as f64) as usize;
        index.remove(&keys[removed..upto]);
        removed = upto;
        let exact = Exact::new(live_rows(&index)?);
        let measure = |h: &mut Hnsw| {
            h.set_ef_search(NARROW_EF);
            let narrow = recall_at_k(&exact, h, &queries, K);
            h.set_ef_search(config.ef_search);
            (
                recall_at_k(&exact, h, &queries, K),
                narrow,
                qps(h, &queries, dim),
            )
        };
        let (recall, narrow, q) = measure(&mut index);
        index.save(&dir, &fp)?;
        let mut copy = Hnsw::open(&dir, &expect)?;
        let (start, cpu) = (Instant::now(), process_cpu_s());
        copy.compact();
        let (compact_s, compact_cpu) = (start.elapsed().as_secs_f64(), process_cpu_s() - cpu);
        let (after, after_narrow, after_q) = measure(&mut copy);
        println!(
            "{:>4.0}%  {recall:.4} / {narrow:.4}  {q:>6.0} | {compact_s:>6.2} ({compact_cpu:.2}, \
             {:.3})  {after:.4} / {after_narrow:.4}  {after_q:>6.0}",
            share * 100.0,
            compact_cpu / build_cpu
        );
        rows.push(
            json!({"share": share, "recall": recall, "recall_narrow": narrow, "qps": q,
            "compact_s": compact_s, "compact_cpu_s": compact_cpu,
            "compact_of_build_cpu": compact_cpu / build_cpu, "recall_after": after,
            "recall_narrow_after": after_narrow, "qps_after": after_q}),
        );
    }
    let report = json!({"n": n, "dim": dim, "queries": m, "narrow_ef": NARROW_EF,
        "build_s": build_s, "build_cpu_s": build_cpu, "threads": rayon::current_num_threads(),
        "shares": rows});
    std::fs::write(out.join("shares.json"), serde_json::to_vec_pretty(&report)?)?;
    Ok(())
}

/// The rows `rows` of `emb`, keys and all.
fn rows_of(emb: &Embeddings, rows: std::ops::Range<usize>) -> Res<Embeddings> {
    let data = emb.as_slice()[rows.start * emb.dim()..rows.end * emb.dim()].to_vec();
    Ok(Embeddings::new(data, emb.dim(), emb.keys()[rows].to_vec())?)
}

/// An index's live rows as embeddings (what a fresh build is given).
fn live_rows(h: &Hnsw) -> Res<Embeddings> {
    let data = (0..h.len())
        .flat_map(|r| h.row_vector(r).to_vec())
        .collect();
    Ok(Embeddings::new(data, h.dim(), h.keys().to_vec())?)
}

/// Queries/s of one thread at the index's `ef_search`, in its CPU time: the queries repeated to
/// at least [`MIN_QUERIES`] a round, the best of 3 rounds.
fn qps(h: &Hnsw, queries: &[f32], dim: usize) -> f64 {
    let m = queries.len() / dim;
    let reps = MIN_QUERIES.div_ceil(m.max(1));
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = thread_cpu_s();
        for _ in 0..reps {
            for q in queries.chunks(dim) {
                std::hint::black_box(h.search(q, K));
            }
        }
        best = best.min(thread_cpu_s() - start);
    }
    (m * reps) as f64 / best
}

fn yes(ok: bool) -> &'static str {
    match ok {
        true => "yes",
        false => "NO",
    }
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
