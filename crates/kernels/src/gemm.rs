//! Queries against rows as one matrix product (matrixmultiply's sgemm).

use crate::KernelError;

/// Rows per block for callers that split a matrix across threads: 512 rows of 300 floats
/// (600 KB) stay in a core's L2 cache while every query reads them, so the matrix is streamed
/// from memory once.
pub const BLOCK_ROWS: usize = 512;

/// `out[j * rows_len + i] = queries[j] . rows[i]`: every query (row-major `m x d`) against
/// every row (row-major `rows_len x d`), written query-major into `out` (`m x rows_len`).
///
/// One single-threaded sgemm call (AVX-512 or FMA micro-kernels chosen at run time by
/// matrixmultiply); parallelise by calling it on blocks of rows ([`BLOCK_ROWS`]). Each score
/// is summed in the same order whatever `m`, the block or its position, so scores of a row do
/// not depend on how the matrix was split. They can differ from [`crate::dot`]'s in the last
/// bits (another summation order).
///
/// Errors: [`KernelError::Shape`] when `d` is 0 or a length is not the product the shapes
/// give.
pub fn dot_block(
    queries: &[f32],
    rows: &[f32],
    d: usize,
    out: &mut [f32],
) -> Result<(), KernelError> {
    if d == 0 || queries.len() % d != 0 || rows.len() % d != 0 {
        return Err(KernelError::Shape {
            queries: queries.len(),
            rows: rows.len(),
            dim: d,
            out: out.len(),
        });
    }
    let (m, n) = (queries.len() / d, rows.len() / d);
    if out.len() != m * n {
        return Err(KernelError::Shape {
            queries: queries.len(),
            rows: rows.len(),
            dim: d,
            out: out.len(),
        });
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    let (di, ni) = (to_isize(d)?, to_isize(n)?);
    // Computed as out^T = rows (n x d) * queries^T (d x m), so matrixmultiply packs the rows
    // in its row panels (contiguous reads) rather than gathering them as columns.
    // SAFETY: A = rows is n x d with strides (d, 1); B = queries^T is d x m with strides
    // (1, d); C = out^T is n x m with strides (1, n) inside out's m x n. All three lengths were
    // checked above, so every element sgemm touches lies inside its slice; beta = 0 ignores
    // out's old values.
    unsafe {
        matrixmultiply::sgemm(
            n,
            d,
            m,
            1.0,
            rows.as_ptr(),
            di,
            1,
            queries.as_ptr(),
            1,
            di,
            0.0,
            out.as_mut_ptr(),
            1,
            ni,
        );
    }
    Ok(())
}

fn to_isize(x: usize) -> Result<isize, KernelError> {
    isize::try_from(x).map_err(|_| KernelError::TooLarge(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
    }

    #[test]
    fn block_matches_the_scalar_reference() {
        for (m, n, d) in [
            (1, 1, 1),
            (3, 7, 7),
            (24, 31, 300),
            (5, 1027, 31),
            (2, 40, 1027),
        ] {
            let (q, r) = (random(m * d, 1), random(n * d, 2));
            let mut out = vec![f32::NAN; m * n];
            dot_block(&q, &r, d, &mut out).unwrap();
            for j in 0..m {
                for i in 0..n {
                    let (a, b) = (&q[j * d..(j + 1) * d], &r[i * d..(i + 1) * d]);
                    let want: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
                    let mag: f64 = a
                        .iter()
                        .zip(b)
                        .map(|(x, y)| (*x as f64 * *y as f64).abs())
                        .sum();
                    let tol = (d as f64 + 1.0) * f32::EPSILON as f64 * mag;
                    let got = out[j * n + i] as f64;
                    assert!(
                        (got - want).abs() <= tol,
                        "m={m} n={n} d={d} ({j},{i}): {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_rows_scores_do_not_depend_on_the_split() {
        let (m, n, d) = (6, 1500, 300);
        let (q, r) = (random(m * d, 3), random(n * d, 4));
        let mut whole = vec![0.0; m * n];
        dot_block(&q, &r, d, &mut whole).unwrap();
        let mut start = 0;
        for len in [1, 511, 512, 476] {
            let mut part = vec![0.0; m * len];
            dot_block(&q, &r[start * d..(start + len) * d], d, &mut part).unwrap();
            for j in 0..m {
                assert_eq!(
                    part[j * len..(j + 1) * len],
                    whole[j * n + start..j * n + start + len]
                );
                let mut one = vec![0.0; len];
                dot_block(
                    &q[j * d..(j + 1) * d],
                    &r[start * d..(start + len) * d],
                    d,
                    &mut one,
                )
                .unwrap();
                assert_eq!(one, part[j * len..(j + 1) * len]);
            }
            start += len;
        }
        assert_eq!(start, n);
    }

    #[test]
    fn rejects_shapes_that_do_not_fit() {
        let mut out = vec![0.0; 4];
        assert!(dot_block(&[1.0; 6], &[1.0; 6], 3, &mut out).is_ok());
        assert!(dot_block(&[1.0; 6], &[1.0; 6], 0, &mut out).is_err());
        assert!(dot_block(&[1.0; 5], &[1.0; 6], 3, &mut out).is_err());
        let err = dot_block(&[1.0; 6], &[1.0; 6], 3, &mut out[..3]).unwrap_err();
        assert!(err.to_string().contains("output of 3"), "{err}");
        assert!(dot_block(&[], &[1.0; 6], 3, &mut []).is_ok());
    }
}
