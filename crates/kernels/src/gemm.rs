//! Queries against rows as one matrix product (the `gemm` crate).

use crate::KernelError;

/// Rows per block for callers that split a matrix across threads: 1,024 rows of 300 floats
/// (1.2 MB) stay in a core's L2 and L3 caches while every query reads them, so the matrix is
/// streamed from memory once. Measured on the exact evaluation of 24 queries x 150K x 300
/// (`scripts/bench_eval.sh`): 3% faster than 512 rows (half the products, each of which packs
/// the queries, and half the blocks to gather from), the same as 2,048.
pub const BLOCK_ROWS: usize = 1024;

/// Query counts that [`dot_block_by_row`] scores with the tiled kernel (`tile.rs`) where the
/// CPU has it; others go to `gemm`. Measured against gemm on blocks of 1,024 x 300 rows from
/// memory, one core of the development machine's EPYC (webly-kernels' `bench_tile` example):
/// 1.9x at 2-6 queries, 1.4-1.6x at 12-40 (1.63x at the evaluation's 24), 1.16x at 48, 1.05x
/// at 64 and level beyond (in cache 0.9-0.96x from 32 on); one query is a matrix-vector
/// product, where gemm's kernel is 1.5x faster.
pub(crate) const TILED_QUERIES: std::ops::RangeInclusive<usize> = 2..=48;

/// `out[j * rows_len + i] = queries[j] . rows[i]`: every query (row-major `m x d`) against
/// every row (row-major `rows_len x d`), written query-major into `out` (`m x rows_len`).
///
/// [`dot_block_by_row`], then transposed. One single-threaded call of the `gemm` crate;
/// parallelise by calling it on blocks of rows ([`BLOCK_ROWS`]).
///
/// Errors: [`KernelError::Shape`] when `d` is 0 or a length is not the product the shapes
/// give.
pub fn dot_block(
    queries: &[f32],
    rows: &[f32],
    d: usize,
    out: &mut [f32],
) -> Result<(), KernelError> {
    let (m, n) = check(queries, rows, d, out)?;
    if m <= 1 || n == 0 {
        // One query: by row and by query are the same layout.
        return dot_block_by_row(queries, rows, d, out);
    }
    let mut by_row = vec![0.0f32; m * n];
    dot_block_by_row(queries, rows, d, &mut by_row)?;
    for (i, scores) in by_row.chunks_exact(m).enumerate() {
        for (j, &s) in scores.iter().enumerate() {
            out[j * n + i] = s;
        }
    }
    Ok(())
}

/// `out[i * m + j] = queries[j] . rows[i]`: every query (row-major `m x d`) against every
/// row (row-major `rows_len x d`), written row-major into `out` (`rows_len x m`: one row's
/// scores side by side).
///
/// Single-threaded. 2 to 48 queries (`TILED_QUERIES`) go to webly's register-tiled kernel
/// where the CPU has AVX-512VL (`tile.rs`: each score summed in order, so it does not depend on
/// what is scored with it); other counts, and other CPUs, to one call of the `gemm` crate
/// (AVX-512 or AVX2+FMA micro-kernels chosen at run time), which in this layout reads the rows
/// where they lie and packs only the queries (the other layout copies every row into gemm's
/// panels first). The same inputs give the same scores on the same CPU, but gemm picks its
/// micro-kernels by shape, so there a score can differ in the last bits with the number of
/// queries or rows scored together; and either differs from [`crate::dot`]'s (other summation
/// orders).
///
/// Errors: [`KernelError::Shape`] when `d` is 0 or a length is not the product the shapes
/// give.
pub fn dot_block_by_row(
    queries: &[f32],
    rows: &[f32],
    d: usize,
    out: &mut [f32],
) -> Result<(), KernelError> {
    let (m, n) = check(queries, rows, d, out)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    if TILED_QUERIES.contains(&m) && crate::tile::available() {
        crate::tile::score(queries, rows, d, out);
        return Ok(());
    }
    dot_block_by_row_gemm(queries, rows, d, out)
}

/// [`dot_block_by_row`] by one call of the `gemm` crate whatever the query count and CPU: what
/// it does outside the tiled kernel's range, and the peer the kernel is measured against
/// (webly-kernels' `bench_tile` example).
///
/// Errors: [`KernelError::Shape`] when `d` is 0 or a length is not the product the shapes
/// give.
pub fn dot_block_by_row_gemm(
    queries: &[f32],
    rows: &[f32],
    d: usize,
    out: &mut [f32],
) -> Result<(), KernelError> {
    let (m, n) = check(queries, rows, d, out)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    let (di, mi) = (to_isize(d)?, to_isize(m)?);
    // SAFETY: dst = out^T is m x n with strides (row 1, column m), i.e. out is n x m row-major;
    // lhs = queries is m x d with strides (d, 1); rhs = rows^T is d x n with strides (row 1,
    // column d). check() verified all three lengths, so every element gemm touches lies inside
    // its slice; read_dst = false ignores out's old values (dst := 1 x queries x rows^T).
    unsafe {
        gemm::gemm(
            m,
            n,
            d,
            out.as_mut_ptr(),
            mi,
            1,
            false,
            queries.as_ptr(),
            1,
            di,
            rows.as_ptr(),
            di,
            1,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    Ok(())
}

/// `(m, n)`: the queries and rows in `queries` and `rows`, when `d > 0` divides both lengths
/// and `out` holds `m x n` values.
fn check(
    queries: &[f32],
    rows: &[f32],
    d: usize,
    out: &[f32],
) -> Result<(usize, usize), KernelError> {
    let shape = || KernelError::Shape {
        queries: queries.len(),
        rows: rows.len(),
        dim: d,
        out: out.len(),
    };
    if d == 0 || !queries.len().is_multiple_of(d) || !rows.len().is_multiple_of(d) {
        return Err(shape());
    }
    let (m, n) = (queries.len() / d, rows.len() / d);
    if out.len() != m * n {
        return Err(shape());
    }
    Ok((m, n))
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
            let mut by_row = vec![f32::NAN; m * n];
            dot_block_by_row(&q, &r, d, &mut by_row).unwrap();
            for (i, scores) in by_row.chunks(m).enumerate() {
                for (j, s) in scores.iter().enumerate() {
                    assert_eq!(s.to_bits(), out[j * n + i].to_bits(), "the same product");
                }
            }
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
