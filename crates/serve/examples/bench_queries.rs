//! The in-process peer of the load benchmark (`scripts/bench_serve.sh`): the same text queries
//! answered by the same [`Searcher`] with no HTTP in between, one after another on one thread,
//! each answer serialised to JSON as the server does. Prints queries/s and p50/p99 latency.
//!
//! `cargo run --release -p webly-serve --example bench_queries -- CONFIG QUERIES_FILE K COUNT`
use std::path::PathBuf;
use std::time::Instant;

use webly_pipeline::{RunConfig, SearchMode, Searcher};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, queries, k, count] = args.as_slice() else {
        return Err("usage: bench_queries CONFIG QUERIES_FILE K COUNT".into());
    };
    let cfg = RunConfig::load(&PathBuf::from(config))?;
    let searcher = Searcher::open(&cfg, None)?;
    let queries: Vec<String> = std::fs::read_to_string(queries)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let k: usize = k.parse()?;
    let count: usize = count.parse()?;
    if queries.is_empty() {
        return Err("no queries".into());
    }
    let mut latencies = Vec::with_capacity(count);
    let mut bytes = 0usize;
    let start = Instant::now();
    for i in 0..count {
        let t = Instant::now();
        let answer = searcher.text(&queries[i % queries.len()], k, SearchMode::Hnsw)?;
        bytes += serde_json::to_vec(&answer)?.len();
        latencies.push(t.elapsed().as_secs_f64());
    }
    let total = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize] * 1e3;
    println!(
        "in-process  1 thread : {:>9.0} queries/s  p50 {:.3} ms  p99 {:.3} ms  ({count} queries, {} bytes of JSON)",
        count as f64 / total,
        pct(0.50),
        pct(0.99),
        bytes
    );
    Ok(())
}
