//! The tiled kernel against the `gemm` crate, by query count: what `TILED_QUERIES` in
//! `src/gemm.rs` was chosen from.
//!
//! `cargo run --release -p webly-kernels --example bench_tile`, with `B=1` to score one block
//! again and again (from cache) instead of 200 blocks in turn (from memory). One thread,
//! blocks of 1,024 x 300 rows (the exact scan's), best of 3; prints GFLOP/s of each and their
//! ratio. On a CPU without AVX-512VL both columns are gemm.

use std::time::Instant;

/// Rows of a block and their dimension (the exact scan's blocks, the evaluation's 300-d space).
const ROWS: usize = 1024;
const DIM: usize = 300;

/// Deterministic values in [-0.5, 0.5).
fn values(len: usize, step: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * step) % 1000) as f32 / 1000.0 - 0.5)
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let blocks: usize = std::env::var("B").map_or(Ok(200), |s| s.parse())?;
    let rows = values(ROWS * DIM * blocks, 104_729);
    let block = |b: usize| &rows[b * ROWS * DIM..(b + 1) * ROWS * DIM];
    println!(
        "queries  gemm GFLOP/s  webly GFLOP/s  webly / gemm  ({blocks} blocks of {ROWS} x {DIM})"
    );
    for m in [1usize, 2, 4, 8, 16, 24, 32, 48, 64, 100, 1000] {
        let q = values(m * DIM, 7919);
        let mut out = vec![0f32; m * ROWS];
        let calls = (200 * 24 / m).max(20);
        let flops = (2 * m * ROWS * DIM * calls) as f64;
        let (mut gemm_best, mut webly_best) = (0f64, 0f64);
        for _ in 0..3 {
            let t = Instant::now();
            for b in (0..calls).map(|c| c % blocks) {
                webly_kernels::dot_block_by_row_gemm(&q, block(b), DIM, &mut out)?;
            }
            gemm_best = gemm_best.max(flops / t.elapsed().as_secs_f64() / 1e9);
            let t = Instant::now();
            for b in (0..calls).map(|c| c % blocks) {
                webly_kernels::dot_block_by_row(&q, block(b), DIM, &mut out)?;
            }
            webly_best = webly_best.max(flops / t.elapsed().as_secs_f64() / 1e9);
        }
        println!(
            "{m:7}  {gemm_best:12.1}  {webly_best:13.1}  {:12.2}",
            webly_best / gemm_best
        );
    }
    Ok(())
}
