//! The HNSW parameters, shared by the index and its manifest (its own module, so neither
//! depends on the other for them).

use serde::{Deserialize, Serialize};

use crate::recall::RecallConfig;
use crate::{IndexError, Result};

/// hnsw_rs stores link counts in a byte and exits the process above 256.
const MAX_M: usize = 256;

/// HNSW parameters, with the paper's / hnswlib's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HnswConfig {
    /// Links per node and layer (`M`; hnsw_rs keeps 2M on layer 0). Paper default 16.
    pub m: usize,
    /// Candidate list size while inserting. hnswlib / paper default 200.
    pub ef_construction: usize,
    /// Candidate list size while searching (raised to k when smaller). 128 gives recall@10
    /// around 0.99 on clustered data; text queries sit off the image distribution, so sweep
    /// 200-500 on real queries before lowering it.
    pub ef_search: usize,
    /// Recall@k against brute force measured right after the build.
    pub recall: RecallConfig,
}

impl Default for HnswConfig {
    fn default() -> Self {
        HnswConfig {
            m: 16,
            ef_construction: 200,
            ef_search: 128,
            recall: RecallConfig::default(),
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
