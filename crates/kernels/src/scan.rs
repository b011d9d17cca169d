//! The exact scan: every query against every row, by blocks of rows in parallel. Exact search
//! (webly-index) and exact evaluation (webly-eval) both score through it, each keeping what it
//! needs of a block.

use std::borrow::Cow;

use rayon::prelude::*;

use crate::gemm::{dot_block_by_row, BLOCK_ROWS};
use crate::KernelError;

/// Scores the row-major `queries` (`m x d`) against `n` rows, [`BLOCK_ROWS`] rows a block,
/// blocks in parallel (rayon), and returns what `keep` makes of each block, in block order.
///
/// `rows(b)` gives block `b`'s rows, row-major (rows `b * BLOCK_ROWS ..`, the last block
/// shorter): borrowed where the matrix is one slice, gathered where it is not. `keep(b, rows,
/// scores)` gets them with their scores by row (`len x m`: row `i`'s score for query `j` at
/// `i * m + j`, as [`dot_block_by_row`] writes them). A block is scored by one matrix product,
/// so it is read from memory once for all queries; the same rows and queries always give the
/// same scores, bit for bit.
///
/// # Errors
/// [`KernelError::Shape`] when `d` is 0, `queries` is not whole vectors, or a block `rows`
/// gives is not the whole rows the block holds.
pub fn scan_blocks<'r, T, R, K>(
    queries: &[f32],
    d: usize,
    n: usize,
    rows: R,
    keep: K,
) -> Result<Vec<T>, KernelError>
where
    T: Send,
    R: Fn(usize) -> Cow<'r, [f32]> + Sync,
    K: Fn(usize, &[f32], &[f32]) -> T + Sync,
{
    if d == 0 || !queries.len().is_multiple_of(d) {
        return Err(KernelError::Shape {
            queries: queries.len(),
            rows: n.saturating_mul(d),
            dim: d,
            out: 0,
        });
    }
    let m = queries.len() / d;
    (0..n.div_ceil(BLOCK_ROWS))
        .into_par_iter()
        .map(|b| {
            let block = rows(b);
            let len = (n - b * BLOCK_ROWS).min(BLOCK_ROWS);
            let mut scores = vec![0.0f32; m * len];
            if block.len() != len * d {
                return Err(KernelError::Shape {
                    queries: queries.len(),
                    rows: block.len(),
                    dim: d,
                    out: scores.len(),
                });
            }
            dot_block_by_row(queries, &block, d, &mut scores)?;
            Ok(keep(b, &block, &scores))
        })
        .collect()
}

/// Block `b` of a row-major matrix of `d`-wide rows, as [`scan_blocks`] asks for it.
pub fn block_of(matrix: &[f32], d: usize, b: usize) -> Cow<'_, [f32]> {
    let start = (b * BLOCK_ROWS * d).min(matrix.len());
    let end = (start + BLOCK_ROWS * d).min(matrix.len());
    Cow::Borrowed(&matrix[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn every_block_is_scored_as_one_product_in_order() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        // A partial last block and a dimension that leaves kernel tails.
        let (n, d, m) = (2 * BLOCK_ROWS + 5, 13, 3);
        let rows: Vec<f32> = (0..n * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let queries: Vec<f32> = (0..m * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let blocks = scan_blocks(
            &queries,
            d,
            n,
            |b| block_of(&rows, d, b),
            |b, block, scores| (b, block.len() / d, scores.to_vec()),
        )
        .unwrap();
        assert_eq!(
            blocks
                .iter()
                .map(|(b, len, _)| (*b, *len))
                .collect::<Vec<_>>(),
            vec![(0, BLOCK_ROWS), (1, BLOCK_ROWS), (2, 5)]
        );
        for (b, len, scores) in &blocks {
            let first = b * BLOCK_ROWS;
            let mut want = vec![0.0f32; len * m];
            dot_block_by_row(&queries, &rows[first * d..(first + len) * d], d, &mut want).unwrap();
            assert_eq!(scores, &want, "block {b}");
            // And the scores are the dot products, up to rounding.
            let i = len - 1;
            let exact: f32 = (0..d)
                .map(|x| queries[d + x] * rows[(first + i) * d + x])
                .sum();
            assert!((scores[i * m + 1] - exact).abs() < 1e-4, "block {b}");
        }
    }

    #[test]
    fn refuses_shapes_that_do_not_fit() {
        let rows = vec![0.0f32; 8];
        let bad_query = scan_blocks(&[1.0; 3], 2, 4, |b| block_of(&rows, 2, b), |_, _, _| ());
        assert!(matches!(bad_query, Err(KernelError::Shape { .. })));
        let short_block = scan_blocks(&[1.0; 2], 2, 5, |b| block_of(&rows, 2, b), |_, _, _| ());
        assert!(matches!(short_block, Err(KernelError::Shape { .. })));
        let empty = scan_blocks(&[1.0; 2], 2, 0, |b| block_of(&rows, 2, b), |_, _, _| ());
        assert!(empty.unwrap().is_empty());
    }
}
