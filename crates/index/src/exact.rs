//! Parallel brute-force search: the ground truth the HNSW index is measured against.

use rayon::prelude::*;

use crate::distance::dot;
use crate::embeddings::normalised_query;
use crate::search::{keep_top_k, to_hits};
use crate::{Embeddings, Hit, Search};

/// Rows scored per rayon task: large enough to amortise scheduling, small enough to balance.
const CHUNK_ROWS: usize = 4096;

/// Brute-force cosine search over all rows.
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
        let Some(q) = normalised_query(q).filter(|q| q.len() == d) else {
            return vec![0.0; self.emb.len()];
        };
        let mut out = vec![0.0f32; self.emb.len()];
        out.par_chunks_mut(CHUNK_ROWS)
            .zip(self.emb.as_slice().par_chunks(CHUNK_ROWS * d))
            .for_each(|(o, rows)| score_rows(&q, rows, o));
        out
    }

    /// The `k` best rows for each of the row-major `queries` (`m x dim`), in parallel over
    /// queries. [`IndexError::QueryDim`] when the length is not a multiple of the dimension.
    pub fn search_batch(&self, queries: &[f32], k: usize) -> crate::Result<Vec<Vec<Hit>>> {
        let d = self.dim();
        if queries.len() % d != 0 {
            return Err(crate::IndexError::QueryDim {
                found: queries.len(),
                expected: d,
            });
        }
        Ok(queries
            .par_chunks(d)
            .map(|q| match normalised_query(q) {
                Some(q) => to_hits(
                    top_k_rows(&self.emb, &q, 0, self.emb.len(), k),
                    self.emb.keys(),
                ),
                None => Vec::new(),
            })
            .collect())
    }
}

fn score_rows(q: &[f32], rows: &[f32], out: &mut [f32]) {
    for (o, row) in out.iter_mut().zip(rows.chunks_exact(q.len())) {
        *o = dot(q, row);
    }
}

/// Parallel over chunks of rows: each keeps its own top `k`, then they are merged.
fn search_parallel(emb: &Embeddings, q: &[f32], k: usize) -> Vec<Hit> {
    let Some(q) = normalised_query(q).filter(|q| q.len() == emb.dim()) else {
        return Vec::new();
    };
    let n = emb.len();
    let merged: Vec<(f32, usize)> = (0..n.div_ceil(CHUNK_ROWS))
        .into_par_iter()
        .flat_map_iter(|c| top_k_rows(emb, &q, c * CHUNK_ROWS, ((c + 1) * CHUNK_ROWS).min(n), k))
        .collect();
    to_hits(keep_top_k(merged, k), emb.keys())
}

/// Sequential top-k over rows `start..end` (query already normalised).
fn top_k_rows(
    emb: &Embeddings,
    q: &[f32],
    start: usize,
    end: usize,
    k: usize,
) -> Vec<(f32, usize)> {
    let cands = (start..end).map(|i| (dot(q, emb.row(i)), i)).collect();
    keep_top_k(cands, k)
}

impl Search for Exact {
    fn search(&self, q: &[f32], k: usize) -> Vec<Hit> {
        search_parallel(&self.emb, q, k)
    }

    fn dim(&self) -> usize {
        self.emb.dim()
    }
}

/// Brute force over borrowed embeddings (build-time recall without copying them).
pub(crate) struct ExactRef<'a>(pub(crate) &'a Embeddings);

impl Search for ExactRef<'_> {
    fn search(&self, q: &[f32], k: usize) -> Vec<Hit> {
        search_parallel(self.0, q, k)
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
}
