//! The HNSW parameters, shared by the index and its manifest (its own module, so neither
//! depends on the other for them).

use serde::{Deserialize, Serialize};

use crate::recall::RecallConfig;
use crate::{IndexError, Result};

/// Layers of a graph being built, by either builder (hnsw_rs's own dump only works with exactly
/// 16); 16 layers of M=16 hold far more than 10^9 points.
pub const HNSW_MAX_LAYER: usize = 16;

/// Largest `m`: hnsw_rs stores link counts in a byte and exits the process above 256 (kept for
/// both builders, so a config valid for one is valid for the other).
const MAX_M: usize = 256;

/// Which code builds the HNSW graph. Both write the same flat layout, so search, saving and
/// opening do not depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HnswBuilder {
    /// webly's own parallel builder (`crates/index/src/build.rs`: the HNSW paper's Algorithms
    /// 1, 2 and 4 as hnswlib implements them), writing the flat layout directly. The default:
    /// on 50K x 128 vectors and 2 threads it builds 4-6x faster than hnsw_rs (about hnswlib's
    /// speed) holding 45 MiB instead of 157, and its graph is searched at least as fast at
    /// equal recall (docs/benchmarks.md).
    #[default]
    Webly,
    /// hnsw_rs (the design's choice), whose graph is then copied into the flat layout.
    HnswRs,
}

/// HNSW parameters, with the paper's / hnswlib's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HnswConfig {
    /// Links per node and layer (`M`; both builders keep 2M on layer 0, the paper's `Mmax0`).
    /// Paper default 16.
    pub m: usize,
    /// Candidate list size while inserting. hnswlib / paper default 200.
    pub ef_construction: usize,
    /// Candidate list size while searching (raised to k when smaller). 128 gives recall@10
    /// around 0.99 on clustered data; text queries sit off the image distribution, so sweep
    /// 200-500 on real queries before lowering it.
    pub ef_search: usize,
    /// Recall@k against brute force measured right after the build.
    pub recall: RecallConfig,
    /// Which code builds the graph (`"webly"` or `"hnsw_rs"`).
    pub builder: HnswBuilder,
    /// Seed of the random node levels of the webly builder (hnsw_rs draws its own).
    pub seed: u64,
}

/// Default of [`HnswConfig::seed`] (the seed hnswlib's benchmark run uses too).
pub const DEFAULT_HNSW_SEED: u64 = 42;

impl Default for HnswConfig {
    fn default() -> Self {
        HnswConfig {
            m: 16,
            ef_construction: 200,
            ef_search: 128,
            recall: RecallConfig::default(),
            builder: HnswBuilder::default(),
            seed: DEFAULT_HNSW_SEED,
        }
    }
}

impl HnswConfig {
    /// Checks the settings before anything is built (what [`crate::Hnsw::build`] checks first).
    ///
    /// # Errors
    /// [`IndexError::Config`] unless 2 <= m <= 256 (hnsw_rs stores link counts in a byte),
    /// ef_construction > 0 and ef_search > 0.
    pub fn validate(&self) -> Result<()> {
        self.check()
    }

    pub(crate) fn check(&self) -> Result<()> {
        let ok = (2..=MAX_M).contains(&self.m) && self.ef_construction > 0 && self.ef_search > 0;
        match ok {
            true => Ok(()),
            false => Err(IndexError::Config(format!(
                "need 2 <= m <= {MAX_M}, ef_construction > 0 and ef_search > 0, got {self:?}"
            ))),
        }
    }
}
