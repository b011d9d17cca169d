//! The HNSW index: built in parallel by webly's builder (`build.rs`) or hnsw_rs, searched flat.

use hnsw_rs::hnsw::Hnsw as Graph;

use crate::build::BuildParams;
use crate::config::{HnswBuilder, HnswConfig, HNSW_MAX_LAYER};
use crate::embeddings::l2_normalized;
use crate::exact::{search_one, ExactRef, Rows};
use crate::flat::FlatGraph;
use crate::node_rows::{check_rows, NodeRows};
use crate::recall::{measure_recall, RecallReport};
use crate::search::{keep_top_k, to_hits};
use crate::{DotClamped, Embeddings, Hit, Keys, Manifest, Result, Search};

/// An HNSW graph over unit vectors with row keys.
///
/// webly's builder writes the graph straight into the flat layout (`flat.rs`); hnsw_rs's graph
/// is copied into it and dropped ([`crate::HnswBuilder`]). Either way an index holds one copy of
/// its vectors and links. [`Hnsw::save`] writes that layout as two plain files and
/// [`Hnsw::open`] reads them back as they are.
///
/// Besides a node's record (its vector and layer-0 links, in whole 64-byte lines) and its upper
/// layers' links, a row costs its key's bytes and 9 bytes ([`Keys`]), its node (4 bytes) and
/// the node's row (4 bytes: one `u32` per node, a map only for nodes that rows share).
pub struct Hnsw {
    /// The graph, one node per distinct vector (see [`Hnsw::build`]), flat.
    pub(crate) flat: FlatGraph,
    /// The key of each row.
    pub(crate) keys: Keys,
    /// Rows of each graph node, ascending (several when rows hold identical vectors; none for
    /// a tombstone, a node whose rows were all removed: [`Hnsw::remove`], [`Hnsw::compact`]).
    pub(crate) node_rows: NodeRows,
    /// The graph node of each row (the inverse of `node_rows`).
    pub(crate) row_nodes: Vec<u32>,
    pub(crate) dim: usize,
    pub(crate) config: HnswConfig,
    pub(crate) recall: Option<RecallReport>,
    pub(crate) manifest: Option<Manifest>,
}

impl Hnsw {
    /// Builds the graph with parallel insertion on the current rayon pool (the builder of
    /// `config.builder`), then measures recall against brute force on `config.recall.queries`
    /// rows sampled with a fixed seed (skipped when 0). Built on one thread by webly's builder,
    /// the graph depends only on the vectors and `config`; parallel builds are not
    /// bit-reproducible (as with hnswlib).
    ///
    /// # Errors
    /// [`crate::IndexError::Config`] for parameters out of range ([`HnswConfig::validate`]) or
    /// more rows than `u32` row ids hold.
    ///
    /// Rows with bit-identical (normalised) vectors share one graph node that carries all their
    /// keys: web data holds reposts and placeholder pictures, and hundreds of copies of one point
    /// make HNSW's neighbour lists useless (every link of a copy points at another copy), so
    /// search would miss most of them and much else. A search expands each node it finds into its
    /// rows, so results stay those of exact search.
    pub fn build(emb: &Embeddings, config: &HnswConfig) -> Result<Self> {
        config.check()?;
        let node_rows = distinct_rows(emb)?;
        let flat = match config.builder {
            HnswBuilder::Webly => {
                let flat = FlatGraph::with_vectors(
                    node_rows.len(),
                    emb.dim(),
                    2 * config.m,
                    |node, out| out.copy_from_slice(emb.row(first_row_of(&node_rows, node))),
                );
                let params = BuildParams {
                    m: config.m,
                    ef_construction: config.ef_construction,
                    seed: config.seed,
                };
                crate::build::build(flat, params)
            }
            HnswBuilder::HnswRs => build_hnsw_rs(emb, &node_rows, config),
        };
        let mut keys = Keys::default();
        keys.extend(emb.keys());
        let mut index = Hnsw {
            flat,
            keys,
            row_nodes: node_rows.row_nodes(emb.len()),
            node_rows,
            dim: emb.dim(),
            config: config.clone(),
            recall: None,
            manifest: None,
        };
        index.recall = measure_recall(
            &ExactRef(emb),
            &index,
            &config.recall,
            index.config.ef_search,
            emb,
        );
        Ok(index)
    }

    /// Number of graph nodes: distinct vectors, tombstones included (nodes whose rows were all
    /// removed, kept until [`Hnsw::compact`]: [`Hnsw::deleted_share`]). Without removals at
    /// most [`Hnsw::len`].
    pub fn nodes(&self) -> usize {
        self.node_rows.len()
    }

    /// Search with an explicit `ef` (the benchmark's sweep), on the flat copy of the graph.
    /// Tombstones are passed through but never returned: the first `k` live nodes of the beam
    /// count, and the beam widens when it holds fewer ([`Hnsw::remove`]).
    pub fn search_ef(&self, q: &[f32], k: usize, ef: usize) -> Vec<Hit> {
        if self.node_rows.tombstones() == 0 {
            return self.search_with(q, k, |q| self.flat.search(q, k, ef.max(k)));
        }
        let live = |node: u32| !self.node_rows.is_empty(node as usize);
        self.search_with(q, k, |q| self.flat.search_live(q, k, ef.max(k), live))
    }

    fn search_with(
        &self,
        q: &[f32],
        k: usize,
        find: impl Fn(&[f32]) -> Vec<(f32, usize)>,
    ) -> Vec<Hit> {
        if q.len() != self.dim {
            return Vec::new();
        }
        let Some(q) = l2_normalized(q) else {
            return Vec::new();
        };
        if k == 0 || self.keys.is_empty() {
            return Vec::new();
        }
        let cands = find(&q)
            .into_iter()
            .flat_map(|(d, node)| {
                let rows = self.node_rows.get(node);
                rows.iter().map(move |&row| (1.0 - d, row as usize))
            })
            .collect();
        to_hits(keep_top_k(cands, k), |row| &self.keys[row])
    }

    /// The exact `k` nearest rows to `q` by brute force over the index's own vectors: the same
    /// hits and scores, bit for bit, as [`crate::Exact`] over the embeddings the index was built
    /// from (see there), without a second copy of them.
    pub fn search_exact(&self, q: &[f32], k: usize) -> Vec<Hit> {
        let rows = Rows::Index {
            flat: &self.flat,
            row_nodes: &self.row_nodes,
            keys: &self.keys,
            dim: self.dim,
        };
        search_one(rows, q, k)
    }

    /// Row `row`'s (unit) vector, as indexed; panics when out of range.
    pub fn row_vector(&self, row: usize) -> &[f32] {
        self.flat.vector(self.row_nodes[row])
    }

    /// Changes the `ef` used by [`Search::search`].
    pub fn set_ef_search(&mut self, ef: usize) {
        self.config.ef_search = ef.max(1);
    }

    /// Number of indexed rows (removed ones not counted).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Row keys, by row index.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The parameters it was built with (and the current `ef_search`).
    pub fn config(&self) -> &HnswConfig {
        &self.config
    }

    /// Recall measured at build time or by [`Hnsw::measure_recall`] (also kept in the
    /// manifest); `None` once the index changed after it ([`Hnsw::insert`], [`Hnsw::remove`],
    /// [`Hnsw::compact`]).
    pub fn recall(&self) -> Option<&RecallReport> {
        self.recall.as_ref()
    }

    /// The manifest it was opened from or last saved to.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }
}

impl Search for Hnsw {
    fn search(&self, q: &[f32], k: usize) -> Vec<Hit> {
        self.search_ef(q, k, self.config.ef_search)
    }

    fn dim(&self) -> usize {
        self.dim
    }
}

/// The graph built by hnsw_rs with parallel insertion, copied into the flat layout.
fn build_hnsw_rs(emb: &Embeddings, node_rows: &NodeRows, config: &HnswConfig) -> FlatGraph {
    let graph = Graph::new(
        config.m,
        node_rows.len().max(1),
        HNSW_MAX_LAYER,
        config.ef_construction,
        DotClamped,
    );
    let items: Vec<(&[f32], usize)> = (0..node_rows.len())
        .map(|node| (emb.row(first_row_of(node_rows, node)), node))
        .collect();
    graph.parallel_insert_slice(&items);
    FlatGraph::from_graph(&graph, node_rows.len(), emb.dim())
}

/// The first row of `node`, a node of [`distinct_rows`] (each has at least one).
pub(crate) fn first_row_of(groups: &NodeRows, node: usize) -> usize {
    groups.get(node)[0] as usize
}

/// Rows grouped by bit-identical vector, each group ascending, groups in order of first row.
///
/// # Errors
/// [`crate::IndexError::Config`] for more rows than `u32` row ids hold.
pub(crate) fn distinct_rows(emb: &Embeddings) -> Result<NodeRows> {
    check_rows(emb.len())?;
    let mut node_of: std::collections::HashMap<Vec<u32>, usize> =
        std::collections::HashMap::with_capacity(emb.len());
    let mut nodes = NodeRows::default();
    for (row, id) in (0..emb.len()).zip(0u32..) {
        let bits: Vec<u32> = emb.row(row).iter().map(|v| v.to_bits()).collect();
        let node = *node_of.entry(bits).or_insert_with(|| nodes.push_node());
        nodes.push_row(node, id);
    }
    Ok(nodes)
}

impl std::fmt::Debug for Hnsw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hnsw")
            .field("len", &self.keys.len())
            .field("nodes", &self.node_rows.len())
            .field("deleted", &self.node_rows.tombstones())
            .field("dim", &self.dim)
            .field("config", &self.config)
            .field("recall", &self.recall)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{clustered, SyntheticConfig};
    use crate::IndexError;

    #[test]
    fn config_fills_defaults_and_rejects_unknown_fields() {
        let c: HnswConfig = serde_json::from_str(r#"{"m": 8, "recall": {"k": 5}}"#).unwrap();
        assert_eq!((c.m, c.ef_construction, c.ef_search), (8, 200, 128));
        assert_eq!((c.recall.k, c.recall.queries), (5, 200));
        assert!(serde_json::from_str::<HnswConfig>(r#"{"M": 8}"#).is_err());
        assert_eq!((c.builder, c.seed), (HnswBuilder::Webly, 42));
        let c: HnswConfig = serde_json::from_str(r#"{"builder": "hnsw_rs"}"#).unwrap();
        assert_eq!(c.builder, HnswBuilder::HnswRs);
        assert!(serde_json::from_str::<HnswConfig>(r#"{"builder": "faiss"}"#).is_err());
    }

    #[test]
    fn rejects_bad_config() {
        let e = clustered(10, 4, &SyntheticConfig::default());
        let bad = HnswConfig {
            m: 300,
            ..Default::default()
        };
        assert!(matches!(Hnsw::build(&e, &bad), Err(IndexError::Config(_))));
    }

    #[test]
    fn duplicates_and_self_queries_do_not_panic() {
        // DistDot would panic here: 1 - a.a < 0 by rounding for duplicated unit vectors.
        let base = clustered(300, 32, &SyntheticConfig::default());
        let mut data = base.as_slice().to_vec();
        data.extend_from_slice(base.as_slice());
        let keys = (0..600).map(|i| format!("dup/{i}")).collect();
        let e = Embeddings::new(data, 32, keys).unwrap();
        for builder in [HnswBuilder::Webly, HnswBuilder::HnswRs] {
            let config = HnswConfig {
                builder,
                ..Default::default()
            };
            let h = Hnsw::build(&e, &config).unwrap();
            let hits = h.search(e.row(5), 2);
            assert!(hits.iter().all(|x| x.index % 300 == 5), "{hits:?}");
            assert!(hits[0].score > 0.999);
            assert!(h.recall().unwrap().recall > 0.9);
            assert_eq!(h.nodes(), 300);
        }
    }

    #[test]
    fn many_copies_of_one_vector_stay_as_found_as_exact_search() {
        // Half the rows are copies of one vector (a placeholder or a reposted photo).
        let base = clustered(400, 16, &SyntheticConfig::default());
        let mut data = base.as_slice().to_vec();
        let copy = base.row(0).to_vec();
        for row in (0..400).step_by(2) {
            data[row * 16..(row + 1) * 16].copy_from_slice(&copy);
        }
        let keys = (0..400).map(|i| format!("k{i}")).collect();
        let e = Embeddings::new(data, 16, keys).unwrap();
        for builder in [HnswBuilder::Webly, HnswBuilder::HnswRs] {
            let config = HnswConfig {
                builder,
                ..Default::default()
            };
            let h = Hnsw::build(&e, &config).unwrap();
            assert_eq!(h.nodes(), 201);
            let exact = crate::Exact::new(e.clone());
            // Every copy comes back for a query at the copy, as with exact search.
            let got = h.search(&copy, 250);
            let want = exact.search(&copy, 250);
            // The same rows in the same order; scores equal up to the kernels' summation order.
            let keys = |hits: &[crate::Hit]| hits.iter().map(|x| x.key.clone()).collect::<Vec<_>>();
            assert_eq!(keys(&got), keys(&want));
            for (g, w) in got.iter().zip(&want) {
                assert!((g.score - w.score).abs() < 1e-6, "{g:?} vs {w:?}");
            }
            assert_eq!(got.iter().filter(|x| x.score > 0.9999).count(), 200);
            let queries = crate::sample_rows(&e, 100, 3);
            let recall = crate::recall_at_k(&exact, &h, &queries, 10);
            assert!(recall > 0.99, "recall@10 {recall}");
            assert!(h.recall().unwrap().recall > 0.99);
        }
        let h = Hnsw::build(&e, &HnswConfig::default()).unwrap();
        // A query of another dimension finds nothing rather than panicking.
        assert!(h.search(&[1.0, 0.0], 3).is_empty());
        assert!(h.check_query(&[1.0, 0.0]).is_err());
    }

    #[test]
    fn exact_search_over_the_index_is_exact_search_over_its_rows() {
        // Two blocks of rows, a dimension that leaves kernel tails, and copies sharing a node.
        let (n, d) = (webly_kernels::BLOCK_ROWS + 300, 19);
        let base = clustered(n, d, &SyntheticConfig::default());
        let mut data = base.as_slice().to_vec();
        for row in (0..n).step_by(7) {
            data[row * d..(row + 1) * d].copy_from_slice(base.row(3));
        }
        let keys = (0..n).map(|i| format!("k{i}")).collect();
        let e = Embeddings::new(data, d, keys).unwrap();
        let exact = crate::Exact::new(e.clone());
        let dir = tempfile::tempdir().unwrap();
        let fp = crate::Fingerprints {
            model: "m".into(),
            text: "t".into(),
        };
        let expect = crate::Expect {
            dim: d,
            text_fingerprint: "t".into(),
        };
        let odd: Vec<f32> = (0..d).map(|i| i as f32 - 7.5).collect();
        for builder in [HnswBuilder::Webly, HnswBuilder::HnswRs] {
            let config = HnswConfig {
                builder,
                ..Default::default()
            };
            let mut built = Hnsw::build(&e, &config).unwrap();
            assert!(built.nodes() < n);
            let path = dir.path().join(format!("{builder:?}"));
            built.save(&path, &fp).unwrap();
            let opened = Hnsw::open(&path, &expect).unwrap();
            for h in [&built, &opened] {
                // The same hits, scores bit for bit, as exact search over the rows.
                for q in [e.row(3), e.row(100), e.row(n - 1), &odd] {
                    assert_eq!(h.search_exact(q, 60), exact.search(q, 60));
                }
                assert!(h.search_exact(&vec![0.0; d], 5).is_empty());
                assert!(h.search_exact(&[1.0, 0.0], 5).is_empty());
                for row in [0, 3, 7, webly_kernels::BLOCK_ROWS, n - 1] {
                    assert_eq!(h.row_vector(row), e.row(row), "row {row}");
                }
            }
        }
    }
}
