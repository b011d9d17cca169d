//! Exact evaluation of the 24 reference queries over 150K random images of dimension 300.
//!
//! `cargo run --release -p webly-eval --example bench_eval -- [N] [DIM] [OUT_DIR]`
//! prints the best of `REPEATS` times of `evaluate`, and of `cosine_scores` (the scan it
//! ranks: check, norm and score every image for every query); with OUT_DIR it also writes the
//! run files there. `scripts/bench_eval.sh` sets it beside numpy's matmul.

use std::path::Path;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use webly_eval::{cosine_scores, evaluate, EvalQuery, PlotConfig, QuerySet, TruthRelevance};

/// Timed runs; the best is reported (the machine is shared and noisy).
const REPEATS: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().map_or(Ok(150_000), |s| s.parse())?;
    let d: usize = args.get(1).map_or(Ok(300), |s| s.parse())?;
    let queries_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eval/queries");
    // The reference's two sets (the folder also holds other sets, e.g. the real-photo ones).
    let sets = ["simple.txt", "complex.txt"]
        .iter()
        .map(|f| QuerySet::load(&queries_dir.join(f)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let images: Vec<f32> = (0..n * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let keys: Vec<String> = (0..n).map(|i| format!("bench/{i}")).collect();
    let words: Vec<String> = sets
        .iter()
        .flat_map(|s| s.queries.iter())
        .flat_map(|q| q.split_whitespace())
        .map(String::from)
        .collect();
    let concepts: Vec<(String, Vec<String>)> = keys
        .iter()
        .map(|k| {
            let c = (0..3)
                .map(|_| words[rng.gen_range(0..words.len())].clone())
                .collect();
            (k.clone(), c)
        })
        .collect();
    let truth = TruthRelevance::new(concepts.iter().cloned());
    // The same relevance with its keys in another order: ids are then mapped to ranking
    // positions through a hash map once per evaluation, the general case.
    let shuffled = TruthRelevance::new(concepts.iter().rev().cloned());
    let queries: Vec<EvalQuery> = sets
        .iter()
        .flat_map(|s| s.queries.iter().map(move |q| (s.name.clone(), q.clone())))
        .map(|(set, text)| EvalQuery {
            text,
            set,
            vector: (0..d).map(|_| rng.gen_range(-1.0..1.0)).collect(),
        })
        .collect();
    let vectors: Vec<f32> = queries.iter().flat_map(|q| q.vector.clone()).collect();
    let mut best = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    let mut report = None;
    for _ in 0..REPEATS {
        let start = Instant::now();
        report = Some(evaluate(&images, n, d, &keys, &queries, &truth)?);
        best.0 = best.0.min(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let other = evaluate(&images, n, d, &keys, &queries, &shuffled)?;
        best.2 = best.2.min(start.elapsed().as_secs_f64());
        if Some(&other) != report.as_ref() {
            return Err("the relevance's key order changed the report".into());
        }
        let start = Instant::now();
        std::hint::black_box(cosine_scores(&images, n, d, &keys, &vectors)?);
        best.1 = best.1.min(start.elapsed().as_secs_f64());
    }
    let Some(report) = report else {
        return Ok(());
    };
    println!("{report}");
    println!(
        "bench_eval: {} queries x {n} images x {d} dims, {} threads, best of {REPEATS}: \
         evaluation {:.3} s ({:.3} s with the relevance's keys in another order), scoring only \
         {:.3} s",
        queries.len(),
        rayon::current_num_threads(),
        best.0,
        best.2,
        best.1
    );
    println!(
        "evaluation_s={:.4}\nevaluation_mapped_s={:.4}\nscoring_s={:.4}",
        best.0, best.2, best.1
    );
    if let Some(out) = args.get(2) {
        report.write_run(Path::new(out), &PlotConfig::default())?;
    }
    Ok(())
}
