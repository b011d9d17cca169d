//! Parallel brute-force search: the ground truth the HNSW index is measured against.

use std::borrow::Cow;

use rayon::prelude::*;
use webly_kernels::{block_of, scan_blocks};

use crate::embeddings::l2_normalized;
use crate::flat::FlatGraph;
use crate::search::{keep_top_k, to_hits, top_k_of};
use crate::{Embeddings, Hit, Keys, Search};

/// Rows scored per rayon task against every query at once ([`webly_kernels::BLOCK_ROWS`]): the
/// block stays in cache while all queries read it, so the matrix is read from memory once.
const BLOCK_ROWS: usize = webly_kernels::BLOCK_ROWS;

/// Brute-force cosine search over all rows, as a matrix product (queries x rows) per block of
/// rows.
///
/// Scores are f32 sums in the matrix product's order: they can differ in the last bits from a
/// serial dot product, and between a query searched alone and in a batch (the product picks
/// its kernels by shape), so rows within rounding of each other can swap places. Rows whose
/// scores tie exactly are ranked by row index. [`Search::search`] and [`Exact::scores`] score
/// one query the same way.
#[derive(Debug, Clone)]
pub struct Exact {
    emb: Embeddings,
}

impl Exact {
    /// Wraps validated embeddings.
    pub fn new(emb: Embeddings) -> Self {
        Exact { emb }
    }

    /// The embeddings searched.
    pub fn embeddings(&self) -> &Embeddings {
        &self.emb
    }

    /// Cosine similarity of the (re-normalised) query to every row, in row order; all zeros for
    /// a zero or non-finite query, or one of another dimension (see [`Search::check_query`]).
    pub fn scores(&self, q: &[f32]) -> Vec<f32> {
        let d = self.dim();
        let Some(q) = l2_normalized(q).filter(|q| q.len() == d) else {
            return vec![0.0f32; self.emb.len()];
        };
        let rows = Rows::Matrix(&self.emb);
        // One query: scores by row are the scores in row order.
        scan_blocks(&q, d, rows.len(), |b| rows.block(b), |_, _, s| s.to_vec())
            .expect("one query against whole rows")
            .concat()
    }

    /// The `k` best rows for each of the row-major `queries` (`m x dim`): all queries are
    /// scored against each block of rows in one matrix product, blocks in parallel. A zero or
    /// non-finite query gets no hits. [`IndexError::QueryDim`] when the length is not a
    /// multiple of the dimension.
    ///
    /// [`IndexError::QueryDim`]: crate::IndexError::QueryDim
    pub fn search_batch(&self, queries: &[f32], k: usize) -> crate::Result<Vec<Vec<Hit>>> {
        let d = self.dim();
        if !queries.len().is_multiple_of(d) {
            return Err(crate::IndexError::QueryDim {
                found: queries.len(),
                expected: d,
            });
        }
        let normalised: Vec<Option<Vec<f32>>> = queries.chunks(d).map(l2_normalized).collect();
        let valid: Vec<f32> = normalised.iter().flatten().flatten().copied().collect();
        let mut tops = top_k_batch(Rows::Matrix(&self.emb), &valid, k).into_iter();
        Ok(normalised
            .iter()
            .map(|q| match q {
                Some(_) => to_hits(tops.next().unwrap_or_default(), |row| {
                    self.emb.keys()[row].as_str()
                }),
                None => Vec::new(),
            })
            .collect())
    }
}

/// The rows an exact scan reads: one matrix, or an index's own vectors gathered a block at a
/// time (so that a searcher holding an index needs no second copy of them). Both give the scan
/// the same blocks of the same values, so both score alike, bit for bit.
#[derive(Clone, Copy)]
pub(crate) enum Rows<'a> {
    /// A row-major matrix, read where it lies.
    Matrix(&'a Embeddings),
    /// The vectors of an index's graph nodes ([`crate::Hnsw`]), in row order.
    Index {
        /// The graph, holding one vector per node.
        flat: &'a FlatGraph,
        /// The node of each row.
        row_nodes: &'a [u32],
        /// The key of each row.
        keys: &'a Keys,
        /// Values per vector.
        dim: usize,
    },
}

impl<'a> Rows<'a> {
    fn len(self) -> usize {
        match self {
            Rows::Matrix(e) => e.len(),
            Rows::Index { keys, .. } => keys.len(),
        }
    }

    fn dim(self) -> usize {
        match self {
            Rows::Matrix(e) => e.dim(),
            Rows::Index { dim, .. } => dim,
        }
    }

    /// Row `row`'s key.
    fn key(self, row: usize) -> &'a str {
        match self {
            Rows::Matrix(e) => &e.keys()[row],
            Rows::Index { keys, .. } => &keys[row],
        }
    }

    /// Block `b` of [`BLOCK_ROWS`] rows, row-major.
    fn block(self, b: usize) -> Cow<'a, [f32]> {
        match self {
            Rows::Matrix(e) => block_of(e.as_slice(), e.dim(), b),
            Rows::Index {
                flat, row_nodes, ..
            } => {
                let start = (b * BLOCK_ROWS).min(row_nodes.len());
                let end = (start + BLOCK_ROWS).min(row_nodes.len());
                let vectors = row_nodes[start..end].iter().map(|&n| flat.vector(n));
                Cow::Owned(vectors.flatten().copied().collect())
            }
        }
    }
}

/// The `k` best rows for each normalised query of the row-major `queries` (`m x dim`), best
/// first: parallel over blocks of rows, each scored against all queries by one matrix product
/// ([`scan_blocks`]) and cut to its own top `k` per query, then merged.
pub(crate) fn top_k_batch(rows: Rows<'_>, queries: &[f32], k: usize) -> Vec<Vec<(f32, usize)>> {
    let d = rows.dim();
    let m = queries.len() / d;
    if m == 0 {
        return Vec::new();
    }
    let blocks = scan_blocks(
        queries,
        d,
        rows.len(),
        |b| rows.block(b),
        |b, _, by_row| {
            let first = b * BLOCK_ROWS;
            let mut scratch = Vec::with_capacity(by_row.len() / m);
            (0..m)
                .map(|j| {
                    let scores = by_row.iter().skip(j).step_by(m).copied();
                    scratch.clear();
                    scratch.extend(scores.zip(first..));
                    top_k_of(&mut scratch, k)
                })
                .collect::<Vec<_>>()
        },
    )
    .expect("whole queries against whole rows");
    blocks.into_par_iter().reduce(
        || vec![Vec::new(); m],
        |a, b| {
            a.into_iter()
                .zip(b)
                .map(|(mut x, y)| {
                    x.extend(y);
                    keep_top_k(x, k)
                })
                .collect()
        },
    )
}

/// The `k` best rows for one query, through the batch path (so both agree exactly).
pub(crate) fn search_one(rows: Rows<'_>, q: &[f32], k: usize) -> Vec<Hit> {
    let Some(q) = l2_normalized(q).filter(|q| q.len() == rows.dim()) else {
        return Vec::new();
    };
    let top = top_k_batch(rows, &q, k)
        .into_iter()
        .next()
        .unwrap_or_default();
    to_hits(top, |row| rows.key(row))
}

impl Search for Exact {
    fn search(&self, q: &[f32], k: usize) -> Vec<Hit> {
        search_one(Rows::Matrix(&self.emb), q, k)
    }

    fn dim(&self) -> usize {
        self.emb.dim()
    }
}

/// Brute force over borrowed embeddings (build-time recall without copying them).
pub(crate) struct ExactRef<'a>(pub(crate) &'a Embeddings);

impl Search for ExactRef<'_> {
    fn search(&self, q: &[f32], k: usize) -> Vec<Hit> {
        search_one(Rows::Matrix(self.0), q, k)
    }

    fn dim(&self) -> usize {
        self.0.dim()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(data: Vec<f32>, dim: usize) -> Exact {
        let keys = (0..data.len() / dim).map(|i| format!("k{i}")).collect();
        Exact::new(Embeddings::new(data, dim, keys).unwrap())
    }

    #[test]
    fn finds_best_rows_in_order() {
        let e = exact(vec![1.0, 0.0, 0.0, 1.0, 0.6, 0.8, -1.0, 0.0], 2);
        let hits = e.search(&[2.0, 0.0], 2);
        assert_eq!(hits.iter().map(|h| h.index).collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(hits[1].key, "k2");
        assert!((hits[1].score - 0.6).abs() < 1e-6);
        let s = e.scores(&[0.0, 3.0]);
        assert!((s[2] - 0.8).abs() < 1e-6 && (s[3] - 0.0).abs() < 1e-6);
        assert!(e.search(&[0.0, 0.0], 2).is_empty());
        // Another dimension: no panic, no hits, and a clear error from the check.
        assert!(e.search(&[1.0, 0.0, 0.0], 2).is_empty());
        assert_eq!(e.scores(&[1.0, 0.0, 0.0]), vec![0.0; 4]);
        let err = e.check_query(&[1.0, 0.0, 0.0]).unwrap_err().to_string();
        assert!(
            err.contains("dimension 3") && err.contains("have 2"),
            "{err}"
        );
        assert!(e.search_batch(&[1.0, 0.0, 0.0], 2).is_err());
    }

    #[test]
    fn parallel_search_agrees_with_batch_and_scores() {
        let data = crate::synthetic::clustered(10_000, 16, &Default::default());
        let e = Exact::new(data);
        let q: Vec<f32> = e.embeddings().row(17).to_vec();
        let hits = e.search(&q, 25);
        assert_eq!(hits[0].index, 17);
        assert_eq!(hits, e.search_batch(&q, 25).unwrap()[0]);
        let mut order: Vec<(f32, usize)> = e.scores(&q).into_iter().zip(0..).collect();
        order.sort_by(crate::search::best_first);
        let want: Vec<usize> = order[..25].iter().map(|p| p.1).collect();
        assert_eq!(hits.iter().map(|h| h.index).collect::<Vec<_>>(), want);
    }

    /// The naive scan: f64 dot of the normalised query with every row, best first.
    fn naive(emb: &Embeddings, q: &[f32]) -> Vec<(f64, usize)> {
        let q = l2_normalized(q).unwrap();
        let mut all: Vec<(f64, usize)> = (0..emb.len())
            .map(|i| {
                let s = emb
                    .row(i)
                    .iter()
                    .zip(&q)
                    .map(|(a, b)| *a as f64 * *b as f64);
                (s.sum(), i)
            })
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        all
    }

    #[test]
    fn batch_search_matches_the_naive_scan() {
        use rand::{Rng, SeedableRng};
        // Odd sizes: blocks of BLOCK_ROWS leave a partial one; dimension 37 leaves kernel tails.
        let (n, d, k) = (3 * BLOCK_ROWS + 77, 37, 20);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let data: Vec<f32> = (0..n * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let e = exact(data, d);
        let mut queries: Vec<f32> = (0..8 * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
        queries[3 * d..4 * d].fill(0.0); // a zero query: no hits, the others unaffected
        let batch = e.search_batch(&queries, k).unwrap();
        assert_eq!(batch.len(), 8);
        assert!(batch[3].is_empty());
        let alone: Vec<Vec<Hit>> = queries.chunks(d).map(|q| e.search(q, k)).collect();
        let mut swapped = 0;
        let pairs = batch.iter().chain(&alone).enumerate();
        for (j, hits) in pairs.map(|(j, h)| (j % 8, h)).filter(|(j, _)| *j != 3) {
            let q = &queries[j * d..(j + 1) * d];
            let want = naive(e.embeddings(), q);
            let exact_score = |i: usize| want.iter().find(|w| w.1 == i).unwrap().0;
            assert_eq!(hits.len(), k);
            for (p, h) in hits.iter().enumerate() {
                assert!(
                    (h.score as f64 - exact_score(h.index)).abs() < 1e-5,
                    "q{j} #{p}"
                );
                // Another row than the naive scan's only where the two nearly tie.
                if h.index != want[p].1 {
                    swapped += 1;
                    assert!((exact_score(h.index) - want[p].0).abs() < 1e-5, "q{j} #{p}");
                }
            }
            let s = e.scores(q);
            assert!(
                alone[j].iter().all(|h| s[h.index] == h.score),
                "q{j}: scores differ"
            );
        }
        // Random data has no near-ties among the best 20: batch and single rankings are the
        // naive ones.
        assert_eq!(swapped, 0);
    }
}
