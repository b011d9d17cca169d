//! The scan of exact evaluation: every image scored against every query, one matrix product
//! per block of rows.

use rayon::prelude::*;

use webly_kernels::cells::descending_key;
use webly_kernels::{block_of, scan_blocks};

use crate::{EvalError, Result};

/// Image rows scored per task against every query ([`webly_kernels::BLOCK_ROWS`]): the block
/// stays in cache while it is checked, normed and multiplied by all queries, so the matrix is
/// read from memory once.
pub(crate) const BLOCK_ROWS: usize = webly_kernels::BLOCK_ROWS;

/// Rows of a block turned from row-major to query-major scores at a time (one cache line of
/// each query's scores).
const TILE: usize = 16;

/// `1 / |row|` (0 for an all-zero row), `None` when the row holds a non-finite value. One read
/// of the row: a NaN or infinity makes the squared norm non-finite, and only then (or on
/// overflow) are the values looked at one by one.
pub(crate) fn inverse_norm(row: &[f32]) -> Option<f32> {
    let squared = webly_kernels::dot(row, row);
    let norm = if squared.is_finite() {
        squared.sqrt()
    } else if row.iter().all(|x| x.is_finite()) {
        // Finite values whose squares overflow f32: norm them in f64.
        row.iter()
            .map(|x| *x as f64 * *x as f64)
            .sum::<f64>()
            .sqrt() as f32
    } else {
        return None;
    };
    Some(if norm > 0.0 { 1.0 / norm } else { 0.0 })
}

/// Query-major scores (`m x n`, query `j`'s at `j * n..(j + 1) * n`) of the row-major
/// `queries` (`m x d`) against every image row divided by its norm (0 for an all-zero row):
/// cosine up to the query's norm, which does not change the ranking. See [`score_blocks`].
pub(crate) fn score_matrix(
    images: &[f32],
    d: usize,
    keys: &[String],
    queries: &[f32],
) -> Result<Vec<f32>> {
    let blocks = score_blocks(images, d, keys, queries, &[])?;
    let n = keys.len();
    let mut scores = vec![0.0f32; blocks.queries * n];
    scores
        .par_chunks_mut(n.max(1))
        .enumerate()
        .for_each(|(j, row)| {
            let mut at = 0;
            for part in blocks.query(j) {
                row[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
        });
    Ok(scores)
}

/// Scores by blocks of [`BLOCK_ROWS`] images, each allocated and filled by the task that
/// scores it. [`crate::evaluate`] ranks straight from them, without gathering each query's scores
/// into one row.
pub(crate) struct ScoreBlocks {
    queries: usize,
    pub(crate) blocks: Vec<Block>,
}

/// One block's scores (`m x len`, query-major), and the keys ([`descending_key`]) of the
/// relevant images among its rows, query after query: query `j`'s at `ends[j]..ends[j + 1]`.
pub(crate) struct Block {
    scores: Vec<f32>,
    hits: Vec<u32>,
    ends: Vec<usize>,
}

impl Block {
    /// The keys of query `j`'s relevant images in this block (none when the scan was given no
    /// relevant images).
    pub(crate) fn hits_of(&self, j: usize) -> &[u32] {
        match (self.ends.get(j), self.ends.get(j + 1)) {
            (Some(&a), Some(&b)) => &self.hits[a..b],
            _ => &[],
        }
    }
}

impl ScoreBlocks {
    /// Query `j`'s scores, block after block: together the `n` images in order.
    pub(crate) fn query(&self, j: usize) -> Vec<&[f32]> {
        self.blocks
            .iter()
            .map(|b| {
                let len = b.scores.len() / self.queries;
                &b.scores[j * len..(j + 1) * len]
            })
            .collect()
    }
}

/// The scores of the row-major `queries` (`m x d`) against every image row divided by its norm
/// (0 for an all-zero row), and the keys of each query's `relevant` images (ascending distinct
/// positions; none at all, or one list per query), picked up while their block is in cache.
///
/// One pass over blocks of rows in parallel ([`scan_blocks`], the scan exact search uses too):
/// each block is scored against all queries in one matrix product, checked for non-finite
/// values and normed. [`EvalError::NonFinite`]
/// names the first bad row. Shapes are checked by the caller. The product sums in another
/// order than a per-row dot product, so scores can differ in the last bits and images within
/// rounding of each other can swap ranks (on the 150K x 300 benchmark AP moved by < 2e-8).
pub(crate) fn score_blocks(
    images: &[f32],
    d: usize,
    keys: &[String],
    queries: &[f32],
    relevant: &[Vec<u32>],
) -> Result<ScoreBlocks> {
    let m = queries.len() / d;
    let n = images.len() / d;
    let count = n.div_ceil(BLOCK_ROWS);
    // Where each query's relevant list crosses into each block.
    let cuts: Vec<Vec<usize>> = relevant
        .par_iter()
        .map(|list| block_cuts(list, count))
        .collect();
    let keep = |b: usize, rows: &[f32], by_row: &[f32]| -> std::result::Result<Block, usize> {
        let (start, len) = (b * BLOCK_ROWS, rows.len() / d);
        let mut scores = vec![0.0f32; m * len];
        let mut runs: Vec<&mut [f32]> = scores.chunks_mut(len.max(1)).collect();
        normed_by_query(rows, d, by_row, &mut runs).map_err(|i| start + i)?;
        let picked: usize = cuts.iter().map(|c| c[b + 1] - c[b]).sum();
        let (mut hits, mut ends) = (Vec::with_capacity(picked), Vec::with_capacity(m + 1));
        ends.push(0);
        for ((run, list), cut) in runs.iter().zip(relevant).zip(&cuts) {
            hits.extend(
                list[cut[b]..cut[b + 1]]
                    .iter()
                    .map(|&p| descending_key(run[p as usize - start])),
            );
            ends.push(hits.len());
        }
        Ok(Block { scores, hits, ends })
    };
    let blocks: Vec<std::result::Result<Block, usize>> =
        scan_blocks(queries, d, n, |b| block_of(images, d, b), keep)
            .expect("shapes checked by the caller");
    let mut ok = Vec::with_capacity(blocks.len());
    for block in blocks {
        match block {
            Ok(block) => ok.push(block),
            Err(row) => {
                return Err(EvalError::NonFinite {
                    row,
                    key: keys[row].clone(),
                })
            }
        }
    }
    Ok(ScoreBlocks {
        queries: m,
        blocks: ok,
    })
}

/// `cuts[b]`: how many of the ascending positions in `list` lie before block `b`, for the
/// `count` blocks of [`BLOCK_ROWS`] and one past them (`count + 1` values), in one read.
fn block_cuts(list: &[u32], count: usize) -> Vec<usize> {
    let mut cuts = Vec::with_capacity(count + 1);
    let mut i = 0;
    for b in 0..=count {
        let start = b * BLOCK_ROWS;
        while i < list.len() && (list[i] as usize) < start {
            i += 1;
        }
        cuts.push(i);
    }
    cuts
}

/// One block's scores by row (`by_row`, `len x m`, from [`scan_blocks`]) divided by each row's
/// norm, into `out` (one slice per query, one score per row); `Err(i)` for the block's first
/// non-finite row `i`.
fn normed_by_query(
    rows: &[f32],
    d: usize,
    by_row: &[f32],
    out: &mut [&mut [f32]],
) -> std::result::Result<(), usize> {
    let m = out.len();
    let mut inv = Vec::with_capacity(rows.len() / d);
    for (i, r) in rows.chunks_exact(d).enumerate() {
        inv.push(inverse_norm(r).ok_or(i)?);
    }
    // Normed and turned query-major by tiles of TILE rows, whose scores stay in the L1 cache
    // while every query's are written.
    for (t, (tile, inv)) in by_row
        .chunks(TILE * m.max(1))
        .zip(inv.chunks(TILE))
        .enumerate()
    {
        for (j, run) in out.iter_mut().enumerate() {
            let run = &mut run[t * TILE..t * TILE + inv.len()];
            for ((o, scores), inv) in run.iter_mut().zip(tile.chunks_exact(m)).zip(inv) {
                *o = scores[j] * inv;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_norm_rejects_non_finite_rows_only() {
        assert_eq!(inverse_norm(&[3.0, 4.0]), Some(0.2));
        assert_eq!(inverse_norm(&[0.0; 7]), Some(0.0));
        assert_eq!(inverse_norm(&[1.0, f32::NAN, 2.0]), None);
        assert_eq!(inverse_norm(&[f32::NEG_INFINITY, 0.0]), None);
        // Squares overflow f32 but the row is finite: normed in f64.
        let big = inverse_norm(&[3e30, 4e30]).unwrap();
        assert!((big as f64 * 5e30 - 1.0).abs() < 1e-6, "{big}");
    }
}
