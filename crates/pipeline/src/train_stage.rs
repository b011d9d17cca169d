//! Stage 3: training one model of the run into `run_dir/models/<name>/`.
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use webly_data::{Dataset, Split};
use webly_encoder::{DeviceChoice, TrainConfig, TrainData, TrainHooks, TrainReport};

use crate::config::{ModelRun, RunConfig};
use crate::error::{PipelineError, Result};
use crate::stamp;
use crate::text_stage::TextSpace;
use crate::wording::count;

/// Command-line overrides of a model's training settings.
#[derive(Debug, Clone, Default)]
pub struct TrainOverrides {
    /// `--epochs`.
    pub epochs: Option<usize>,
    /// `--lr`.
    pub lr: Option<f64>,
    /// `--batch-size`.
    pub batch_size: Option<usize>,
    /// `--max-steps`: stop after this many optimiser steps.
    pub max_steps: Option<u64>,
    /// `--device`.
    pub device: Option<DeviceChoice>,
    /// `--threads`: libtorch's CPU threads.
    pub threads: Option<usize>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--resume`: continue from the model folder's last checkpoint.
    pub resume: bool,
}

impl TrainOverrides {
    fn apply(&self, cfg: &mut TrainConfig) -> Result<()> {
        if let Some(v) = self.epochs {
            cfg.epochs = v;
        }
        if let Some(v) = self.lr {
            cfg.lr = v;
        }
        if let Some(v) = self.batch_size {
            cfg.batch_size = v;
        }
        if let Some(v) = self.max_steps {
            cfg.max_steps = Some(v);
        }
        if let Some(v) = self.threads {
            cfg.threads = v;
        }
        if let Some(v) = self.seed {
            cfg.seed = v;
        }
        if let Some(d) = self.device {
            cfg.device = d;
        }
        cfg.resume |= self.resume;
        Ok(())
    }
}

/// Checks a model's settings with the command-line overrides applied, before any stage runs.
///
/// # Errors
/// A bad `--device`, or a setting [`webly_encoder::check_settings`] refuses.
pub fn check_overrides(model: &ModelRun, overrides: &TrainOverrides) -> Result<()> {
    let mut train = model.train.clone();
    overrides.apply(&mut train)?;
    Ok(webly_encoder::check_settings(&train)?)
}

/// The training settings a model of the run really uses.
pub fn effective_config(
    cfg: &RunConfig,
    model: &ModelRun,
    dim: usize,
    overrides: &TrainOverrides,
) -> Result<TrainConfig> {
    let mut train = model.train.clone();
    overrides.apply(&mut train)?;
    let layout = cfg.layout();
    train.out_dir = layout.model(&model.name)?.dir().to_path_buf();
    // One activation cache per run, shared by the models with the same frozen backbone.
    train.cache.dir.get_or_insert_with(|| layout.features_dir());
    train.model.out_dim = i64::try_from(dim)
        .map_err(|_| PipelineError::Setting(format!("text dimension {dim} too large")))?;
    // Command-line overrides are checked as the config's own values are, before any stage runs.
    webly_encoder::check_settings(&train)?;
    Ok(train)
}

/// What the training stage did.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The model's name in the run config.
    pub name: String,
    /// The model's folder.
    pub dir: PathBuf,
    /// `None` when an earlier training with the same inputs was reused.
    pub report: Option<TrainReport>,
    /// Fingerprint of the training's inputs (settings and text space).
    pub stamp: String,
}

impl fmt::Display for TrainOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.report {
            None => write!(
                f,
                "[{}] reused the trained model in {}",
                self.name,
                self.dir.display()
            ),
            Some(r) => write!(
                f,
                "[{}] {} epochs, {} steps, loss {:.4} -> {:.4}, best val mAP {}, {:.0} images/s \
                 on {}, {:.0}% of step time waiting for data, {} skipped{}; model in {}",
                self.name,
                r.epochs_done,
                r.steps,
                r.first_loss,
                r.final_loss,
                r.best_val_map.map_or("n/a".into(), |m| format!("{m:.4}")),
                r.images_per_s,
                r.device,
                100.0 * r.data_wait,
                count(r.skipped_images, "image"),
                if r.skipped_batches > 0 {
                    format!(
                        ", {} batches without a usable negative skipped",
                        r.skipped_batches
                    )
                } else {
                    String::new()
                },
                self.dir.display()
            ),
        }
    }
}

/// The fingerprint of a training: what changes the weights (not where they go, nor the bar).
fn train_inputs(train: &TrainConfig, text_stamp: &str) -> Result<String> {
    #[derive(Serialize)]
    struct Inputs<'a> {
        model: &'a webly_encoder::ModelConfig,
        loss: &'a webly_encoder::LossConfig,
        mining: &'a webly_encoder::Mining,
        optimizer: &'a webly_encoder::OptimizerKind,
        lr: f64,
        weight_decay: f64,
        schedule: &'a webly_encoder::Schedule,
        batch_size: usize,
        epochs: usize,
        max_steps: Option<u64>,
        seed: u64,
        loader: &'a webly_data::LoaderConfig,
        /// The loader's pixels for one config (see `webly_data::PIXELS_VERSION`).
        pixels: u32,
        grad_clip: Option<f64>,
        keep: webly_encoder::Keep,
        /// What the cache changes in training (not where it lives).
        cache: Option<(usize, webly_encoder::CacheDtype, u64)>,
        text: &'a str,
    }
    stamp::fingerprint(&Inputs {
        model: &train.model,
        loss: &train.loss,
        mining: &train.mining,
        optimizer: &train.optimizer,
        lr: train.lr,
        weight_decay: train.weight_decay,
        schedule: &train.schedule,
        batch_size: train.batch_size,
        epochs: train.epochs,
        max_steps: train.max_steps,
        seed: train.seed,
        loader: &train.loader,
        pixels: webly_data::PIXELS_VERSION,
        grad_clip: train.grad_clip,
        keep: train.keep,
        cache: webly_encoder::FeatureCache::applies(&train.model, &train.cache).then_some((
            train.cache.views,
            train.cache.dtype,
            train.cache.seed,
        )),
        text: text_stamp,
    })
}

/// Whether `train` already finished with these inputs (then [`train_model`] reuses it).
pub fn is_trained(train: &TrainConfig, text: &TextSpace) -> Result<bool> {
    let inputs = train_inputs(train, &text.stamp)?;
    // Silent: `train_model` says why a damaged training is trained again.
    Ok(!train.resume
        && stamp::check(&train.out_dir, &inputs, &TRAINED_FILES) == stamp::Check::Fresh)
}

/// The files of a finished training that its stamp vouches for: what [`Encoder::load`] reads.
///
/// [`Encoder::load`]: webly_encoder::Encoder::load
pub const TRAINED_FILES: [&str; 2] = [webly_encoder::BEST, webly_encoder::MODEL];

/// The stamp of the finished training in `dir` once its files verify (for the commands that
/// use a trained model: embed, index, eval, query, tag, serve).
pub fn verified_training(dir: &Path) -> Result<String> {
    stamp::verified(dir, &TRAINED_FILES, "a finished training", "webly train")
}

/// Trains a model unless the same training already finished; `hooks` validates each epoch.
pub fn train_model(
    train: &TrainConfig,
    name: &str,
    dataset: &Dataset,
    text: &TextSpace,
    hooks: &mut dyn TrainHooks,
) -> Result<TrainOutcome> {
    let dir = train.out_dir.clone();
    let inputs = train_inputs(train, &text.stamp)?;
    let check = stamp::check(&dir, &inputs, &TRAINED_FILES);
    if !train.resume && check == stamp::Check::Fresh {
        return Ok(TrainOutcome {
            name: name.into(),
            dir,
            report: None,
            stamp: inputs,
        });
    }
    let mut train = train.clone();
    // Settings and data are checked before the old stamp is touched.
    let data = train_data(dataset, text)?;
    webly_encoder::check(&train, &data)?;
    // An unfinished training with the same inputs resumes rather than starting over; a finished
    // one whose files were damaged since trains again from the start.
    match &check {
        stamp::Check::Damaged(d) => {
            eprintln!("[{name}] {d}: training again from the start");
        }
        _ if !webly_encoder::best_is_intact(&dir) && !train.resume => {
            eprintln!(
                "[{name}] {} differs from what its training saved: training again from the start",
                dir.join(webly_encoder::BEST).display()
            );
        }
        _ if !train.resume
            && same_inputs_started(&dir, &inputs)
            && !webly_encoder::can_resume(&dir) =>
        {
            eprintln!(
                "[{name}] the checkpoint in {} cannot be resumed exactly (written by an older \
                 webly, without the optimizer state): training from the start",
                dir.display()
            );
        }
        _ => train.resume |= same_inputs_started(&dir, &inputs),
    }
    stamp::clear(&dir)?;
    write_pending(&dir, &inputs)?;
    eprintln!(
        "[{name}] training on {} images ({} val) into {}",
        data.train_images.len(),
        data.val_images.len(),
        dir.display()
    );
    let report = webly_encoder::train(&train, &data, hooks)?;
    // Finished means valid: steps were taken and the saved model loads.
    if report.steps == 0 {
        return Err(PipelineError::Empty(format!(
            "[{name}] training ran no step ({} of {} training images skipped): nothing was \
             learned, so {} is not marked finished",
            report.skipped_images,
            data.train_images.len(),
            dir.display()
        )));
    }
    webly_encoder::Encoder::load(&dir)?;
    stamp::write(&dir, &inputs, &TRAINED_FILES)?;
    Ok(TrainOutcome {
        name: name.into(),
        dir,
        report: Some(report),
        stamp: inputs,
    })
}

const PENDING_FILE: &str = "pending-inputs";

fn write_pending(dir: &Path, inputs: &str) -> Result<()> {
    crate::fsio::write_atomic(&dir.join(PENDING_FILE), inputs.as_bytes())
}

fn same_inputs_started(dir: &Path, inputs: &str) -> bool {
    std::fs::read_to_string(dir.join(PENDING_FILE)).is_ok_and(|s| s == inputs)
}

/// Training images with their caption embeddings, and the validation images.
pub fn train_data(dataset: &Dataset, text: &TextSpace) -> Result<TrainData> {
    let captions = text.captions(Split::Train)?;
    let images: HashMap<&str, &Path> = dataset
        .items
        .iter()
        .map(|i| (i.key.as_str(), i.image.as_path()))
        .collect();
    let mut train_images = Vec::with_capacity(captions.keys.len());
    for key in &captions.keys {
        let path = images.get(key.as_str()).ok_or_else(|| {
            PipelineError::Mismatch(format!(
                "caption embedding {key} has no image in the dataset: rerun `webly text embed`"
            ))
        })?;
        train_images.push(path.to_path_buf());
    }
    let val = dataset.split(Split::Val);
    Ok(TrainData {
        train_images,
        train_targets: captions.matrix,
        dim: captions.dim,
        val_images: val.iter().map(|i| i.image.clone()).collect(),
        val_keys: val.iter().map(|i| i.key.clone()).collect(),
    })
}
