//! The training loop: prefetching, mining, optimiser, schedule, validation, checkpoints, resume.
//!
//! Resume (`cfg.resume` with `last.safetensors` in `out_dir`) restores: all variables
//! (BatchNorm statistics included), the optimiser's state (Adam's moments and step counts, SGD's
//! momentum buffers: [`crate::optim`]), the epoch / batch-in-epoch / global step, the best
//! validation mAP so far and the metrics rows up to that step. The data order continues exactly:
//! the epoch permutation, random crops and mining draws are derived from (seed, epoch, batch), so
//! no random generator has a position to save (the streams and their seeds: `crate::seeds`). A
//! checkpoint is one file, renamed into place whole: the weights, the optimiser state under
//! `optimizer/` and the [`State`] as JSON bytes (`state.json` beside it is a copy for people),
//! so a kill at any point leaves the previous checkpoint or the next one, never a mix, and a
//! resumed run ends where an uninterrupted one ends (`tests/train_e2e.rs`).
//!
//! With frozen pretrained stages ([`crate::cache`]), the frozen part's output is extracted once
//! into the run's activation cache and every epoch trains the rest from it.
//!
//! The parts: [`epoch`] (the loop over epochs and batches, validation, the best model),
//! [`step`] (one optimisation step with its negative mining), [`checkpoint`] (the checkpoint
//! and resume), [`window`] (the metrics of a window of steps) and [`check`] (settings and data
//! checked before a run starts).
mod check;
mod checkpoint;
mod epoch;
mod members;
mod step;
mod window;

pub use check::{check, check_settings};
pub use checkpoint::{
    best_is_intact, can_resume, State, CHECKPOINT_FORMAT, CHECKPOINT_OPTIMIZER_PREFIX,
    CHECKPOINT_STATE,
};
pub use members::member_dir;

use crate::cache::{ExtractReport, FeatureCache, FeatureSet};
use crate::config::{LossKind, TrainConfig};
use crate::device::{resolve_device, set_threads};
use crate::embedding::KeyedEmbeddings;
use crate::encoder::SavedModel;
use crate::error::{io, EncoderError};
use crate::files::{write_json, METRICS, MODEL, PLOT};
use crate::loss::{loss_from_config, Loss};
use crate::metrics::{plot, read_metrics, MetricsRow};
use crate::model::{Network, OutputKind};
use crate::optim::Optimizer;
use crate::schedule::lr_at;
use crate::Bar;
use checkpoint::OPTIMIZER_NOTE;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tch::{nn, Device};

/// The cache set names of the training and validation images.
const TRAIN_SET: &str = "train";
const VAL_SET: &str = "val";

/// Plain training data.
#[derive(Debug, Clone, Default)]
pub struct TrainData {
    /// The training images, in dataset order.
    pub train_images: Vec<PathBuf>,
    /// `train_images.len() * dim` values: the L2-normalised caption embedding of each image.
    pub train_targets: Vec<f32>,
    /// Dimension of the text space (the model's `out_dim`).
    pub dim: usize,
    /// The validation images (may be empty: no validation).
    pub val_images: Vec<PathBuf>,
    /// One key per validation image (passed back to the validation hook for loaded images).
    pub val_keys: Vec<String>,
}

/// Callbacks of a run.
pub trait TrainHooks {
    /// The validation mAP of the validation images that loaded (each row with its key), or
    /// `Ok(None)` when there is nothing to score.
    ///
    /// # Errors
    /// A message saying why validation failed: training stops with
    /// [`EncoderError::Validation`] (a failed validation never counts as an improvement).
    fn validate(&mut self, epoch: usize, rows: &KeyedEmbeddings) -> Result<Option<f64>, String>;
    /// Called with each epoch row once written.
    fn epoch_end(&mut self, _row: &MetricsRow) {}
    /// Called before each epoch's first batch, outside its timing (a benchmark empties the page
    /// cache of the activation cache's files here: `bench_train --cache`).
    fn epoch_start(&mut self, _epoch: usize) {}
}

/// No validation.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl TrainHooks for NoHooks {
    fn validate(&mut self, _: usize, _: &KeyedEmbeddings) -> Result<Option<f64>, String> {
        Ok(None)
    }
}

impl<F: FnMut(usize, &KeyedEmbeddings) -> Result<Option<f64>, String>> TrainHooks for F {
    fn validate(&mut self, epoch: usize, rows: &KeyedEmbeddings) -> Result<Option<f64>, String> {
        self(epoch, rows)
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// The run folder.
    pub out_dir: PathBuf,
    /// Whole epochs done (the last one included when it finished).
    pub epochs_done: usize,
    /// Global optimisation steps done.
    pub steps: u64,
    /// Mean loss of the last epoch (or of the steps run when stopped by `max_steps`).
    pub final_loss: f64,
    /// Mean loss of the first logged window, for comparison.
    pub first_loss: f64,
    /// Best validation mAP, `None` without validation.
    pub best_val_map: Option<f64>,
    /// The epoch `best.safetensors` is from (0-based).
    pub best_epoch: Option<usize>,
    /// Training images that could not be loaded (counted once per load attempt).
    pub skipped_images: usize,
    /// Training images per second (compute + data waits) over the run.
    pub images_per_s: f64,
    /// Share of step time spent waiting for the loader.
    pub data_wait: f64,
    /// Global step the run resumed from.
    pub resumed_from: Option<u64>,
    /// The device trained on (`Cpu`, `Cuda(0)`).
    pub device: String,
    /// Batches skipped because no caption of the batch was a usable negative.
    pub skipped_batches: u64,
    /// The activation cache sets used (empty when training decoded images).
    pub extraction: Vec<ExtractReport>,
    /// Seconds of the training loop (extraction excluded).
    pub train_seconds: f64,
}

/// The cached activations a run trains and validates from.
struct Features {
    train: Arc<FeatureSet>,
    val: FeatureSet,
    reports: Vec<ExtractReport>,
}

/// Fills (or reuses) the activation cache of the training and validation images when the model
/// has frozen pretrained stages; `None` when it trains from decoded images.
fn open_features(
    cfg: &TrainConfig,
    data: &TrainData,
    device: Device,
) -> Result<Option<Features>, EncoderError> {
    let default_dir = cfg.cache_dir();
    let Some(cache) =
        FeatureCache::open(&cfg.model, &cfg.loader, &cfg.cache, &default_dir, device)?
    else {
        return Ok(None);
    };
    let (train, t) = cache.ensure(
        TRAIN_SET,
        &data.train_images,
        cfg.cache.views,
        Bar::when(cfg.progress),
    )?;
    let (val, v) = cache.ensure(VAL_SET, &data.val_images, 1, Bar::when(cfg.progress))?;
    Ok(Some(Features {
        train: Arc::new(train),
        val,
        reports: vec![t, v],
    }))
}

/// Everything a run holds.
struct Run<'a> {
    cfg: &'a TrainConfig,
    data: &'a TrainData,
    device: Device,
    vs: nn::VarStore,
    net: Network,
    opt: Optimizer,
    loss: Box<dyn Loss>,
    output: OutputKind,
    state: State,
    rows: Vec<MetricsRow>,
    /// Training images that can be used (those that loaded, when cached), in dataset order.
    usable: Vec<usize>,
    features: Option<Features>,
    batches_per_epoch: usize,
    total_steps: u64,
}

/// Trains an encoder into `cfg.out_dir` (see the module docs for resume): one head, or with
/// `model.members > 1` an ensemble of heads, each trained alone in `member-<k>`
/// ([`member_dir`]) and gathered into one network.
pub fn train(
    cfg: &TrainConfig,
    data: &TrainData,
    hooks: &mut dyn TrainHooks,
) -> Result<TrainReport, EncoderError> {
    check(cfg, data)?;
    if cfg.model.members > 1 {
        return members::train(cfg, data, hooks);
    }
    train_one(cfg, data, hooks)
}

/// Trains a one-head encoder into `cfg.out_dir`.
fn train_one(
    cfg: &TrainConfig,
    data: &TrainData,
    hooks: &mut dyn TrainHooks,
) -> Result<TrainReport, EncoderError> {
    check(cfg, data)?;
    set_threads(cfg.threads);
    let device = resolve_device(cfg.device)?;
    std::fs::create_dir_all(&cfg.out_dir).map_err(io("create the run folder", &cfg.out_dir))?;
    let features = open_features(cfg, data, device)?;
    let mut run = Run::new(cfg, data, device, features)?;
    let resumed_from = run.resume()?;
    run.save_model_json()?;
    run.fit(hooks, resumed_from)
}

/// Builds the network with libtorch's global RNG seeded from `cfg.seed`, under a lock so that
/// concurrent runs in one process cannot interleave their draws: initial weights are a function
/// of the seed.
fn seeded_build(
    cfg: &TrainConfig,
    device: Device,
) -> Result<(nn::VarStore, Network), EncoderError> {
    static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = INIT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tch::manual_seed(i64::from_ne_bytes(cfg.seed.to_ne_bytes()));
    let mut vs = nn::VarStore::new(device);
    let net = Network::build(&mut vs, &cfg.model)?;
    Ok((vs, net))
}

fn optimizer(cfg: &TrainConfig, vs: &nn::VarStore) -> Result<Optimizer, EncoderError> {
    Ok(Optimizer::new(cfg.optimizer, vs, cfg.lr, cfg.weight_decay))
}

impl<'a> Run<'a> {
    fn new(
        cfg: &'a TrainConfig,
        data: &'a TrainData,
        device: Device,
        features: Option<Features>,
    ) -> Result<Self, EncoderError> {
        let (vs, net) = seeded_build(cfg, device)?;
        let opt = optimizer(cfg, &vs)?;
        let usable = match &features {
            Some(f) => f.train.loaded(),
            None => (0..data.train_images.len()).collect(),
        };
        if usable.len() < cfg.batch_size {
            let skipped = features.as_ref().map_or(&[][..], |f| f.train.skipped());
            return Err(EncoderError::Data(format!(
                "only {} of {} training images could be loaded, fewer than batch_size {}{}",
                usable.len(),
                data.train_images.len(),
                cfg.batch_size,
                skipped
                    .first()
                    .map_or(String::new(), |s| format!(" (e.g. {s})"))
            )));
        }
        let batches_per_epoch = usable.len() / cfg.batch_size;
        let all = (cfg.epochs * batches_per_epoch) as u64;
        let total_steps = cfg.max_steps.map_or(all, |m| m.min(all));
        let output = match cfg.loss.kind {
            LossKind::CrossEntropy => OutputKind::SigmoidCentred,
            _ => OutputKind::Direct,
        };
        Ok(Self {
            cfg,
            data,
            device,
            vs,
            net,
            opt,
            loss: loss_from_config(&cfg.loss),
            output,
            state: State {
                epoch: 0,
                batch: 0,
                step: 0,
                seed: cfg.seed,
                best_val_map: None,
                best_epoch: None,
                skipped_images: features.as_ref().map_or(0, |f| f.train.skipped().len()),
                skipped_batches: 0,
                optimizer_note: OPTIMIZER_NOTE.into(),
                config: cfg.clone(),
                best_checksum: None,
                checkpoint_format: CHECKPOINT_FORMAT,
            },
            rows: Vec::new(),
            usable,
            features,
            batches_per_epoch,
            total_steps,
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.cfg.out_dir.join(name)
    }

    fn save_model_json(&self) -> Result<(), EncoderError> {
        let saved = SavedModel {
            model: self.cfg.model.clone(),
            output: self.output,
            loader: self.cfg.loader.clone(),
            cache: self.features.as_ref().map(|_| self.cache_config()),
        };
        write_json(&self.path(MODEL), &saved)
    }

    /// The cache settings with the folder resolved (what `model.json` records for embedding).
    fn cache_config(&self) -> crate::config::CacheConfig {
        let mut c = self.cfg.cache.clone();
        c.dir.get_or_insert_with(|| self.cfg.cache_dir());
        c
    }

    fn lr(&self) -> f64 {
        lr_at(
            self.cfg.schedule,
            self.cfg.lr,
            self.state.step,
            self.total_steps,
        )
    }

    fn done(&self) -> bool {
        self.state.step >= self.total_steps
    }
}

/// Writes `metrics.csv` of a folder into a PNG again (e.g. after an interrupted run).
pub fn replot(out_dir: &Path) -> Result<(), EncoderError> {
    plot(&out_dir.join(PLOT), &read_metrics(&out_dir.join(METRICS))?)
}
