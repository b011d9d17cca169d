//! A few queries against many rows, register-tiled (AVX-512VL): the exact scan's product when
//! the queries are few (the evaluation's 24, a search's one), where a general matrix product
//! spends its registers on padding.
//!
//! The queries are packed `k`-major, 8 to a 256-bit register and up to [`PASS_QUERIES`] a pass;
//! each tile of [`TILE_ROWS`] rows keeps its `8 x 3` accumulators in registers while every
//! dimension is read once: one broadcast of a row's value feeds three fused multiply-adds, so
//! the loop is bound by the multiply-adds, not the loads. The next tile is prefetched while
//! this one is scored (a tile's rows are read as eight interleaved streams, which the
//! hardware prefetcher alone follows too late: without it the kernel ran at 63 GFLOP/s on one
//! core of the development machine's EPYC from memory, with it 97, gemm's `2 x 6` kernel 52;
//! 111 in cache).
//!
//! Every score is summed the same way, `fma(q[k], x[k], s)` for `k = 0, 1, ...` from 0, so a
//! score does not depend on which other queries or rows are scored with it, and the rows past
//! the last whole tile (scalar `mul_add`, the same rounding) get the bits a tile would give.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Rows scored together: their accumulators, with three registers of queries, fill 27 of the
/// 32 vector registers.
const TILE_ROWS: usize = 8;

/// Floats of one 256-bit register.
const LANES: usize = 8;

/// Registers of queries per row, at most.
const GROUPS: usize = 3;

/// Queries scored in one pass over the rows (three registers of eight).
pub(crate) const PASS_QUERIES: usize = GROUPS * LANES;

/// True when this CPU runs the tiled kernel (AVX-512F with the 256-bit forms of AVX-512VL:
/// 32 vector registers).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// `out[i * m + j] = queries[j] . rows[i]` (row-major `m x d` queries, `n x d` rows, `n x m`
/// out), summed as this module says. Shapes are the caller's to check (`d > 0`, whole rows and
/// queries, `out` of `n x m`).
///
/// Panics unless [`available`].
pub(crate) fn score(queries: &[f32], rows: &[f32], d: usize, out: &mut [f32]) {
    assert!(available(), "the tiled kernel needs AVX-512VL and FMA");
    let m = queries.len() / d;
    let mut packed = vec![0.0f32; d * PASS_QUERIES];
    for first in (0..m).step_by(PASS_QUERIES) {
        let width = (m - first).min(PASS_QUERIES);
        let groups = width.div_ceil(LANES);
        let lanes = groups * LANES;
        let packed = &mut packed[..d * lanes];
        packed.fill(0.0);
        for t in 0..width {
            let q = &queries[(first + t) * d..(first + t + 1) * d];
            for (k, &v) in q.iter().enumerate() {
                packed[k * lanes + t] = v;
            }
        }
        let pass = Pass {
            packed,
            rows,
            d,
            m,
            first,
            width,
        };
        #[cfg(target_arch = "x86_64")]
        // SAFETY: available() checked avx512f, avx512vl and fma; `pass` holds d x lanes packed
        // floats for `groups` registers, and the caller's shapes put every row and score read
        // or written inside `rows` and `out`.
        unsafe {
            match groups {
                1 => pass_avx512::<1>(&pass, out),
                2 => pass_avx512::<2>(&pass, out),
                _ => pass_avx512::<3>(&pass, out),
            }
        }
    }
}

/// One pass: up to [`PASS_QUERIES`] queries, `first..first + width` of `m`, against every row.
struct Pass<'a> {
    /// `packed[k * 8G + t]`: dimension `k` of query `first + t`, 0 past `width`.
    packed: &'a [f32],
    rows: &'a [f32],
    d: usize,
    m: usize,
    first: usize,
    width: usize,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,fma")]
unsafe fn pass_avx512<const G: usize>(p: &Pass, out: &mut [f32]) {
    let (d, m, first, width) = (p.d, p.m, p.first, p.width);
    let n = p.rows.len() / d;
    let tiles = n / TILE_ROWS;
    let lanes = G * LANES;
    assert!(p.packed.len() >= d * lanes && out.len() >= n * m && first + width <= m);
    let mut buf = [0.0f32; TILE_ROWS * PASS_QUERIES];
    for tile in 0..tiles {
        // SAFETY: the tile's rows lie inside `rows` (tiles * TILE_ROWS <= n); `next` is only
        // prefetched (never read), so it may point past the end (wrapping arithmetic).
        let r0 = unsafe { p.rows.as_ptr().add(tile * TILE_ROWS * d) };
        let next = r0.wrapping_add(TILE_ROWS * d);
        let mut acc = [[_mm256_setzero_ps(); G]; TILE_ROWS];
        let mut q = [_mm256_setzero_ps(); G];
        for k in 0..d {
            _mm_prefetch::<_MM_HINT_T0>(next.wrapping_add(k * TILE_ROWS) as *const i8);
            for (g, v) in q.iter_mut().enumerate() {
                // SAFETY: k * lanes + 8g + 8 <= d * lanes <= packed.len().
                *v = unsafe { _mm256_loadu_ps(p.packed.as_ptr().add(k * lanes + g * LANES)) };
            }
            for (r, acc) in acc.iter_mut().enumerate() {
                // SAFETY: row r of the tile, dimension k < d: inside `rows`.
                let x = unsafe { _mm256_broadcast_ss(&*r0.add(r * d + k)) };
                for (a, &v) in acc.iter_mut().zip(&q) {
                    *a = _mm256_fmadd_ps(v, x, *a);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (g, a) in acc.iter().enumerate() {
                // SAFETY: r * lanes + 8g + 8 <= TILE_ROWS * PASS_QUERIES.
                unsafe { _mm256_storeu_ps(buf.as_mut_ptr().add(r * lanes + g * LANES), *a) };
            }
            let i = tile * TILE_ROWS + r;
            out[i * m + first..i * m + first + width]
                .copy_from_slice(&buf[r * lanes..r * lanes + width]);
        }
    }
    for i in tiles * TILE_ROWS..n {
        let row = &p.rows[i * d..(i + 1) * d];
        for t in 0..width {
            let mut s = 0.0f32;
            for (k, &x) in row.iter().enumerate() {
                s = p.packed[k * lanes + t].mul_add(x, s);
            }
            out[i * m + first + t] = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
    }

    /// Each score summed in order from 0 by fused multiply-adds: what the tiles compute.
    fn in_order(q: &[f32], x: &[f32]) -> f32 {
        q.iter().zip(x).fold(0.0f32, |s, (&a, &b)| a.mul_add(b, s))
    }

    #[test]
    fn every_score_is_the_ordered_sum_whatever_is_scored_with_it() {
        if !available() {
            eprintln!("skipped: no AVX-512VL on this CPU");
            return;
        }
        // Query counts around the pass and register widths, row counts around the tile.
        for (m, n, d) in [
            (1, 1, 1),
            (1, 9, 300),
            (7, 8, 5),
            (8, 17, 31),
            (9, 16, 300),
            (24, 1027, 300),
            (25, 33, 50),
            (49, 15, 128),
            (64, 7, 3),
        ] {
            let (q, r) = (random(m * d, 1), random(n * d, 2));
            let mut out = vec![f32::NAN; m * n];
            score(&q, &r, d, &mut out);
            for i in 0..n {
                for j in 0..m {
                    let want = in_order(&q[j * d..(j + 1) * d], &r[i * d..(i + 1) * d]);
                    assert_eq!(
                        out[i * m + j].to_bits(),
                        want.to_bits(),
                        "m={m} n={n} d={d} row {i} query {j}"
                    );
                }
            }
        }
    }
}
