//! Recall of an approximate index against brute force.

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Embeddings, Search};

/// How build-time recall is measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecallConfig {
    /// Rows sampled as queries (0 skips the measurement).
    pub queries: usize,
    /// Neighbours compared (recall@k).
    pub k: usize,
    /// Seed of the row sample.
    pub seed: u64,
    /// Recall below this is reported as a warning ([`RecallReport::warning`]). Default 0.95:
    /// HNSW with the default parameters reaches about 0.99 on clustered data.
    pub floor: f64,
}

impl Default for RecallConfig {
    fn default() -> Self {
        RecallConfig {
            queries: 200,
            k: 10,
            seed: 42,
            floor: DEFAULT_RECALL_FLOOR,
        }
    }
}

/// Default of [`RecallConfig::floor`].
pub const DEFAULT_RECALL_FLOOR: f64 = 0.95;

fn default_floor() -> f64 {
    DEFAULT_RECALL_FLOOR
}

/// What the build measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecallReport {
    /// Neighbours compared (recall@k).
    pub k: usize,
    /// Rows sampled as queries.
    pub queries: usize,
    /// Seed of the row sample.
    pub seed: u64,
    /// `ef` the index searched with.
    pub ef_search: usize,
    /// Mean over queries of |approx top-k ∩ exact top-k| / k.
    pub recall: f64,
    /// The configured floor ([`RecallConfig::floor`]).
    #[serde(default = "default_floor")]
    pub floor: f64,
}

impl RecallReport {
    /// A warning when the measured recall is below the floor: search results then differ from
    /// exact search more than expected (many near-identical vectors, or too small `ef_search`).
    pub fn warning(&self) -> Option<String> {
        (self.recall < self.floor).then(|| {
            format!(
                "HNSW recall@{} is {:.4}, below the floor {:.2} ({} queries, ef_search {}): \
                 search results differ from exact search; raise ef_search or m, or use --exact",
                self.k, self.recall, self.floor, self.queries, self.ef_search
            )
        })
    }
}

/// Mean over the row-major `queries` of the share of `truth`'s top `k` that `approx` also
/// returns in its top `k`. Queries for which `truth` returns nothing are skipped; 1.0 when none
/// is left.
pub fn recall_at_k(
    truth: &dyn SyncSearch,
    approx: &dyn SyncSearch,
    queries: &[f32],
    k: usize,
) -> f64 {
    let d = truth.dim();
    let per_query: Vec<f64> = queries
        .par_chunks(d)
        .filter_map(|q| overlap(&truth.search(q, k), &approx.search(q, k)))
        .collect();
    match per_query.len() {
        0 => 1.0,
        n => per_query.iter().sum::<f64>() / n as f64,
    }
}

/// [`Search`] usable from several threads at once.
pub trait SyncSearch: Search + Sync {}
impl<T: Search + Sync> SyncSearch for T {}

fn overlap(truth: &[crate::Hit], got: &[crate::Hit]) -> Option<f64> {
    if truth.is_empty() {
        return None;
    }
    let found = truth
        .iter()
        .filter(|t| got.iter().any(|g| g.index == t.index))
        .count();
    Some(found as f64 / truth.len() as f64)
}

/// `count` distinct rows (fewer when there are fewer rows) chosen with `seed`, row-major.
pub fn sample_rows(emb: &Embeddings, count: usize, seed: u64) -> Vec<f32> {
    gather_sample(emb.len(), count, seed, |i| emb.row(i))
}

/// The rows [`sample_rows`] picks out of `n` rows, each given by `row`, row-major.
pub(crate) fn gather_sample<'a>(
    n: usize,
    count: usize,
    seed: u64,
    row: impl Fn(usize) -> &'a [f32],
) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let picked = sample(&mut rng, n, count.min(n));
    picked.iter().flat_map(|i| row(i).iter().copied()).collect()
}

pub(crate) fn measure_recall(
    truth: &dyn SyncSearch,
    approx: &dyn SyncSearch,
    cfg: &RecallConfig,
    ef_search: usize,
    emb: &Embeddings,
) -> Option<RecallReport> {
    if cfg.queries == 0 || emb.is_empty() {
        return None;
    }
    let queries = sample_rows(emb, cfg.queries, cfg.seed);
    Some(RecallReport {
        k: cfg.k,
        queries: queries.len() / emb.dim(),
        seed: cfg.seed,
        ef_search,
        recall: recall_at_k(truth, approx, &queries, cfg.k),
        floor: cfg.floor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Exact, Hit};

    /// Returns the exact answer with its best hit swapped for a fake row.
    struct Worse(Exact);
    impl Search for Worse {
        fn search(&self, q: &[f32], k: usize) -> Vec<Hit> {
            let mut h = self.0.search(q, k);
            h[0].index = usize::MAX;
            h
        }
        fn dim(&self) -> usize {
            self.0.dim()
        }
    }

    #[test]
    fn recall_counts_overlap() {
        let e = crate::synthetic::clustered(500, 8, &Default::default());
        let q = sample_rows(&e, 20, 1);
        assert_eq!(q.len(), 160);
        let exact = Exact::new(e);
        assert_eq!(recall_at_k(&exact, &exact, &q, 10), 1.0);
        let worse = Worse(exact.clone());
        assert!((recall_at_k(&exact, &worse, &q, 10) - 0.9).abs() < 1e-12);
        assert!((recall_at_k(&exact, &worse, &q, 4) - 0.75).abs() < 1e-12);
        let report = |recall| RecallReport {
            k: 10,
            queries: 20,
            seed: 1,
            ef_search: 16,
            recall,
            floor: 0.95,
        };
        assert!(report(0.96).warning().is_none());
        // A manifest reads back the recall it wrote, bit for bit (serde_json's default parser
        // read this one, seen in a test, one ulp high).
        let r = report(0.9935000000000003);
        let back: RecallReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.recall.to_bits(), r.recall.to_bits());
        assert!(report(0.79).warning().unwrap().contains("0.7900"));
    }
}
