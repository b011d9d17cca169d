//! Stage 1: the dataset (generated when the config asks for synthetic data), opened and split.
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use webly_data::{image_container, Dataset, GROUND_TRUTH_FILE};
use webly_synth::{self as synth, SynthConfig};

use crate::config::RunConfig;
use crate::error::{PipelineError, Result};
use crate::stamp;

/// The opened dataset and the fingerprint later stages build on.
pub struct DataStage {
    /// The dataset, items in a stable order.
    pub dataset: Dataset,
    /// Fingerprint of the dataset's settings, captions and training images (what the text
    /// space and training depend on).
    pub stamp: String,
    /// Fingerprint of the files holding only test images (what the test embeddings and index
    /// depend on, beside [`DataStage::stamp`]).
    pub test_stamp: String,
}

/// Opens the dataset a finished run used, generating nothing: for the commands that read a run
/// (query, tag, eval, export, embed --shard, serve).
///
/// # Errors
/// [`PipelineError::Missing`] when the dataset folder is not there, and
/// [`PipelineError::Mismatch`] when a generated dataset is not the one `[data.synth]` describes
/// (generated with other settings, or unfinished), each naming the folder and the command that
/// makes it; the dataset's own errors.
pub fn open_existing(cfg: &RunConfig) -> Result<DataStage> {
    let root = &cfg.data.dataset.root;
    if !root.is_dir() {
        return Err(PipelineError::Missing {
            what: "the dataset",
            path: root.clone(),
            hint: MAKES_DATA_AND_TEXT.into(),
        });
    }
    let synth_stamp = match &cfg.data.synth {
        Some(s) => {
            let inputs = generation_inputs(s, root)?;
            if stamp::check(root, &inputs, &[]) != stamp::Check::Fresh {
                return Err(PipelineError::Mismatch(format!(
                    "{} does not hold the dataset the config's [data.synth] describes (made with \
                     other settings, or unfinished): run `{MAKES_DATA_AND_TEXT}` first",
                    root.display()
                )));
            }
            Some(inputs)
        }
        None => None,
    };
    let dataset = Dataset::open(&cfg.data.dataset)?;
    stamped(cfg, dataset, synth_stamp)
}

/// The command that makes a run's data and text stages (and nothing else).
pub const MAKES_DATA_AND_TEXT: &str = "webly text embed";

/// Generates the dataset if the config asks for it and it is not there yet, then opens it.
pub fn prepare(cfg: &RunConfig) -> Result<DataStage> {
    let root = &cfg.data.dataset.root;
    let synth_stamp = match &cfg.data.synth {
        Some(s) => Some(ensure_generated(s, root)?),
        None => None,
    };
    let dataset = Dataset::open(&cfg.data.dataset)?;
    eprintln!("[data] {}", dataset.report);
    stamped(cfg, dataset, synth_stamp)
}

/// The opened dataset with its fingerprints (see [`contents`]).
fn stamped(cfg: &RunConfig, dataset: Dataset, synth_stamp: Option<String>) -> Result<DataStage> {
    let (captions, trained, test_stamp) = contents(cfg, &dataset)?;
    let stamp = stamp::fingerprint(&(&cfg.data.dataset, synth_stamp, (captions, trained)))?;
    Ok(DataStage {
        dataset,
        stamp,
        test_stamp,
    })
}

/// What the dataset holds, so that an edited caption or image makes the stages that read it run
/// again: the captions' text (already read: hashed as read), a signature of the files that hold
/// the training and validation images with the ground truth and split file (what training
/// reads), and one of the files that hold only test images (what the test embeddings read: a
/// changed test image is embedded and indexed again, never retrained on). Signatures are size
/// and mtime, hashed where those are unreliable.
fn contents(cfg: &RunConfig, dataset: &Dataset) -> Result<(String, String, String)> {
    let mut h = Sha256::new();
    for item in &dataset.items {
        h.update(item.key.as_bytes());
        h.update([0]);
        h.update(format!("{:?}", item.split).as_bytes());
        h.update([0]);
        h.update(item.caption.as_bytes());
        h.update([b'\n']);
    }
    let captions = hex::encode(h.finalize())[..16].to_string();
    // The files that hold the images: each image file, or each tar shard once (its members
    // change only with it); a shard holding training and test images counts for training.
    let mut seen = std::collections::HashSet::new();
    let (test, trained): (Vec<_>, Vec<_>) = dataset
        .items
        .iter()
        .partition(|i| i.split == webly_data::Split::Test);
    let mut files: Vec<PathBuf> = trained
        .iter()
        .map(|i| image_container(&i.image))
        .filter(|f| seen.insert(f.clone()))
        .collect();
    files.push(dataset.root.join(GROUND_TRUTH_FILE));
    files.extend(cfg.data.dataset.split_file.clone());
    let test_files: Vec<PathBuf> = test
        .iter()
        .map(|i| image_container(&i.image))
        .filter(|f| seen.insert(f.clone()))
        .collect();
    let table = cfg.layout().image_signatures();
    let mut sigs = stamp::content_signatures(&[&files, &test_files], &table)?.into_iter();
    let (trained, test) = (
        sigs.next().unwrap_or_default(),
        sigs.next().unwrap_or_default(),
    );
    Ok((captions, trained, test))
}

/// The fingerprint of a generation into `root` (its stamp's inputs).
fn generation_inputs(cfg: &SynthConfig, root: &Path) -> Result<String> {
    let mut cfg = cfg.clone();
    cfg.out = root.to_path_buf();
    cfg.overwrite = false;
    stamp::fingerprint(&cfg)
}

/// Generates into `root` unless a generation with the same settings finished there.
fn ensure_generated(cfg: &SynthConfig, root: &Path) -> Result<String> {
    let mut cfg = cfg.clone();
    cfg.out = root.to_path_buf();
    cfg.overwrite = false;
    let inputs = generation_inputs(&cfg, root)?;
    if stamp::is_fresh(root, &inputs, &[]) {
        eprintln!("[data] reusing the generated dataset in {}", root.display());
        return Ok(inputs);
    }
    // Replace only a generation webly stamped; anything else in `root` makes synth refuse.
    // A pending stamp marks the folder as webly's while it is written, so an interrupted
    // generation is replaced by the next run.
    cfg.overwrite = stamp::read(root).is_some();
    stamp::write(root, "pending", &[])?;
    eprintln!(
        "[data] generating {} images into {}",
        cfg.images,
        root.display()
    );
    let report = synth::generate(&cfg)?;
    eprintln!("[data] {report}");
    stamp::write(root, &inputs, &[])?;
    Ok(inputs)
}
