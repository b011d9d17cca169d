//! Stage 1: the dataset (generated when the config asks for synthetic data), opened and split.
use std::path::Path;

use webly_data::synth::{self, SynthConfig};
use webly_data::Dataset;

use crate::config::RunConfig;
use crate::error::Result;
use crate::stamp;

/// The opened dataset and the fingerprint later stages build on.
pub struct DataStage {
    pub dataset: Dataset,
    pub stamp: String,
}

/// Generates the dataset if the config asks for it and it is not there yet, then opens it.
pub fn prepare(cfg: &RunConfig) -> Result<DataStage> {
    let root = &cfg.data.dataset.root;
    let synth_stamp = match &cfg.data.synth {
        Some(s) => Some(ensure_generated(s, root)?),
        None => None,
    };
    let dataset = Dataset::open(&cfg.data.dataset)?;
    eprintln!("[data] {}", dataset.report);
    let stamp = stamp::fingerprint(&(
        &cfg.data.dataset,
        synth_stamp,
        dataset.items.len(),
        dataset.items.first().map(|i| &i.key),
        dataset.items.last().map(|i| &i.key),
    ))?;
    Ok(DataStage { dataset, stamp })
}

/// Generates into `root` unless a generation with the same settings finished there.
fn ensure_generated(cfg: &SynthConfig, root: &Path) -> Result<String> {
    let mut cfg = cfg.clone();
    cfg.out = root.to_path_buf();
    cfg.overwrite = false;
    let inputs = stamp::fingerprint(&cfg)?;
    if stamp::is_fresh(root, &inputs) {
        eprintln!("[data] reusing the generated dataset in {}", root.display());
        return Ok(inputs);
    }
    // Replace only a generation webly stamped; anything else in `root` makes synth refuse.
    // A pending stamp marks the folder as webly's while it is written, so an interrupted
    // generation is replaced by the next run.
    cfg.overwrite = stamp::read(root).is_some();
    stamp::write(root, "pending")?;
    eprintln!(
        "[data] generating {} images into {}",
        cfg.images,
        root.display()
    );
    let report = synth::generate(&cfg)?;
    eprintln!("[data] {report}");
    stamp::write(root, &inputs)?;
    Ok(inputs)
}
