//! What most commands start from: the run config, its dataset and its text space.
use webly_eval::EvalQuery;

use crate::config::RunConfig;
use crate::data_stage::{self, DataStage};
use crate::error::Result;
use crate::queries;
use crate::text_stage::{self, TextSpace};

/// The dataset and text space of a run (each reused when its inputs are unchanged).
pub struct Context<'a> {
    pub cfg: &'a RunConfig,
    pub data: DataStage,
    pub text: TextSpace,
}

impl<'a> Context<'a> {
    /// Runs (or reuses) the data and text stages.
    pub fn open(cfg: &'a RunConfig) -> Result<Self> {
        let data = data_stage::prepare(cfg)?;
        let text = text_stage::prepare(cfg, &data.dataset, &data.stamp)?;
        Ok(Context { cfg, data, text })
    }

    /// The run's query sets, embedded.
    pub fn queries(&self) -> Result<Vec<EvalQuery>> {
        queries::load(self.cfg, &self.text.embedder)
    }
}
