//! glove.c: shuffled AdaGrad on the weighted least-squares objective, Hogwild over threads.
//!
//! Parameters: `2 * vocab` rows of `vector_size + 1` (vector then bias), word rows first, then
//! context rows; initialised to `(rand() - 0.5) / vector_size`, AdaGrad squared-gradient sums
//! to 1. Per record (i, j, x): `diff = w_i.c_j + b_i + b'_j - ln x`, `fdiff = f(x) diff` with
//! `f(x) = min(1, (x / x_max)^alpha)`, cost `0.5 fdiff diff`; gradients `eta fdiff c_j` (clipped
//! to `grad_clip`) scaled by `1/sqrt(gradsq)`, skipped when not finite, as glove.c does. The
//! bias updates also take `eta` (`eta fdiff / sqrt(gradsq)`), as GloVe 1.2 did; current glove.c
//! updates the biases with the raw `fdiff`. Measured on `tests/glove_train.rs`'s planted-topic
//! corpus (16 dimensions, 30 iterations, 2 threads): with the raw bias update the topic
//! neighbours fell from at least 95% to 56 of 336 (chance), in two runs, so webly keeps `eta`
//! on the biases. Threads
//! each take a contiguous slice of the shuffled records and update the shared parameters
//! without locks (relaxed atomics, the C code's Hogwild).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::cooccur::Cooc;
use super::{GloveConfig, TrainStats};

struct Params {
    w: Vec<AtomicU32>,
    gradsq: Vec<AtomicU32>,
    row: usize,
    vocab: usize,
}

fn ld(a: &[AtomicU32], i: usize) -> f32 {
    f32::from_bits(a[i].load(Ordering::Relaxed))
}

fn st(a: &[AtomicU32], i: usize, v: f32) {
    a[i].store(v.to_bits(), Ordering::Relaxed);
}

fn atomics(values: impl Iterator<Item = f32>) -> Vec<AtomicU32> {
    values.map(|v| AtomicU32::new(v.to_bits())).collect()
}

/// Trains and returns the saved vectors (`vocab x vector_size`, row-major).
pub(crate) fn train(
    cfg: &GloveConfig,
    vocab: usize,
    mut records: Vec<Cooc>,
    stats: &mut TrainStats,
) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let d = cfg.vector_size;
    let row = d + 1;
    let n = 2 * vocab * row;
    let p = Params {
        w: atomics((0..n).map(|_| (rng.gen::<f32>() - 0.5) / d as f32)),
        gradsq: atomics(std::iter::repeat_n(1.0, n)),
        row,
        vocab,
    };
    records.shuffle(&mut rng);
    let threads = rayon::current_num_threads().max(1);
    let slice = records.len().div_ceil(threads).max(1);
    let bar = crate::progress::count_bar(cfg.iter as u64, cfg.progress, "glove");
    for _ in 0..cfg.iter {
        let t0 = Instant::now();
        let total: f64 = records
            .par_chunks(slice)
            .map(|c| run_slice(cfg, &p, c))
            .sum();
        let cost = total / records.len().max(1) as f64;
        stats.costs.push(cost);
        stats.iter_seconds.push(t0.elapsed().as_secs_f64());
        bar.set_message(format!("cost {cost:.6}"));
        bar.inc(1);
    }
    bar.finish_and_clear();
    saved_vectors(cfg, &p)
}

/// One thread's pass over its records; returns the summed cost.
fn run_slice(cfg: &GloveConfig, p: &Params, records: &[Cooc]) -> f64 {
    let d = cfg.vector_size;
    let (mut w1, mut w2) = (vec![0f32; d + 1], vec![0f32; d + 1]);
    let (mut u1, mut u2) = (vec![0f32; d], vec![0f32; d]);
    let mut cost = 0.0f64;
    for r in records {
        let l1 = r.word as usize * p.row;
        let l2 = (r.context as usize + p.vocab) * p.row;
        for b in 0..=d {
            w1[b] = ld(&p.w, l1 + b);
            w2[b] = ld(&p.w, l2 + b);
        }
        let dot: f32 = w1[..d].iter().zip(&w2[..d]).map(|(a, b)| a * b).sum();
        let diff = dot + w1[d] + w2[d] - r.x.ln();
        let mut fdiff = if r.x > cfg.x_max {
            diff
        } else {
            (r.x / cfg.x_max).powf(cfg.alpha) * diff
        };
        if !diff.is_finite() || !fdiff.is_finite() {
            continue;
        }
        cost += 0.5 * f64::from(fdiff) * f64::from(diff);
        fdiff *= cfg.eta;
        let (mut sum1, mut sum2) = (0f32, 0f32);
        for b in 0..d {
            let t1 = (fdiff * w2[b]).clamp(-cfg.grad_clip, cfg.grad_clip);
            let t2 = (fdiff * w1[b]).clamp(-cfg.grad_clip, cfg.grad_clip);
            let (g1, g2) = (ld(&p.gradsq, l1 + b), ld(&p.gradsq, l2 + b));
            u1[b] = t1 / g1.sqrt();
            u2[b] = t2 / g2.sqrt();
            sum1 += u1[b];
            sum2 += u2[b];
            st(&p.gradsq, l1 + b, g1 + t1 * t1);
            st(&p.gradsq, l2 + b, g2 + t2 * t2);
        }
        if sum1.is_finite() && sum2.is_finite() {
            for b in 0..d {
                st(&p.w, l1 + b, w1[b] - u1[b]);
                st(&p.w, l2 + b, w2[b] - u2[b]);
            }
        }
        update_bias(p, l1 + d, w1[d], fdiff);
        update_bias(p, l2 + d, w2[d], fdiff);
    }
    cost
}

fn update_bias(p: &Params, at: usize, bias: f32, fdiff: f32) {
    let g = ld(&p.gradsq, at);
    let step = fdiff / g.sqrt();
    if step.is_finite() {
        st(&p.w, at, bias - step);
    }
    st(&p.gradsq, at, g + fdiff * fdiff);
}

/// `-model 2`: word + context vectors; `-model 1`: word vectors. Biases are not saved.
fn saved_vectors(cfg: &GloveConfig, p: &Params) -> Vec<f32> {
    let d = cfg.vector_size;
    let mut out = Vec::with_capacity(p.vocab * d);
    for i in 0..p.vocab {
        for b in 0..d {
            let word = ld(&p.w, i * p.row + b);
            let context = ld(&p.w, (i + p.vocab) * p.row + b);
            out.push(if cfg.model == 2 { word + context } else { word });
        }
    }
    out
}
