//! The training loop: prefetching, mining, optimiser, schedule, validation, checkpoints, resume.
//!
//! Resume (`cfg.resume` with `last.safetensors` in `out_dir`) restores: all variables
//! (BatchNorm statistics included), the optimiser's state (Adam's moments and step counts, SGD's
//! momentum buffers: [`crate::optim`]), the epoch / batch-in-epoch / global step, the best
//! validation mAP so far and the metrics rows up to that step. The data order continues exactly:
//! the epoch permutation, random crops and mining draws are derived from (seed, epoch, batch), so
//! no random generator has a position to save. A checkpoint is one file, renamed into place
//! whole: the weights, the optimiser state under `optimizer/` and the [`State`] as JSON bytes
//! (`state.json` beside it is a copy for people), so a kill at any point leaves the previous
//! checkpoint or the next one, never a mix, and a resumed run ends where an uninterrupted one
//! ends (`tests/train_e2e.rs`).
//!
//! With frozen pretrained stages ([`crate::cache`]), the frozen part's output is extracted once
//! into the run's activation cache and every epoch trains the rest from it.
use crate::batches::{CachedBatches, ImageBatches, Ready};
use crate::cache::{ExtractReport, FeatureCache, FeatureSet};
use crate::config::{LossKind, TrainConfig};
use crate::device::{resolve_device, set_threads};
use crate::embedding::{embed_set, embed_with, KeyedEmbeddings};
use crate::encoder::SavedModel;
use crate::error::{io, torch, EncoderError};
use crate::files::{save_named, save_weights, write_json, BEST, LAST, METRICS, MODEL, PLOT, STATE};
use crate::loss::{distance_matrix, loss_from_config, Loss, TripletLoss};
use crate::metrics::{plot, read_metrics, write_metrics, MetricsRow};
use crate::mining::{mine_pairs, pair_shares, MiningInput, TripletShares};
use crate::model::{Network, OutputKind};
use crate::optim::Optimizer;
use crate::prefetch::{derive_seed, loader_threads, spawn, Job};
use crate::progress::Progress;
use crate::schedule::lr_at;
use crate::tensors::to_vec;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};
use webly_data::Crop;

/// Streams of derived seeds (so permutation, crops and mining never share one).
const STREAM_PERMUTATION: u64 = 1;
const STREAM_MINING: u64 = 2;
/// Batch size for embedding the validation images.
const VAL_BATCH: usize = 64;
const OPTIMIZER_NOTE: &str =
    "the optimizer state (moments, momentum) is saved in last.safetensors and restored on resume";
/// Layout of `last.safetensors` (1: weights, optimizer state and run state in one file).
pub const CHECKPOINT_FORMAT: u32 = 1;
/// Name prefix of the optimiser state's tensors in a checkpoint.
pub const CHECKPOINT_OPTIMIZER_PREFIX: &str = "optimizer/";
/// Name of the checkpoint's tensor holding the [`State`] as JSON bytes (u8).
pub const CHECKPOINT_STATE: &str = "train_state/json";
/// The cache set names of the training and validation images.
const TRAIN_SET: &str = "train";
const VAL_SET: &str = "val";

/// Plain training data.
#[derive(Debug, Clone, Default)]
pub struct TrainData {
    pub train_images: Vec<PathBuf>,
    /// `train_images.len() * dim` values: the L2-normalised caption embedding of each image.
    pub train_targets: Vec<f32>,
    pub dim: usize,
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

/// `state.json`: where a run stands after its last checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// Epoch to continue in, and its next batch.
    pub epoch: usize,
    pub batch: usize,
    /// Global steps done.
    pub step: u64,
    pub seed: u64,
    pub best_val_map: Option<f64>,
    pub best_epoch: Option<usize>,
    pub skipped_images: usize,
    /// Batches skipped because no caption of the batch was a usable negative.
    #[serde(default)]
    pub skipped_batches: u64,
    pub optimizer_note: String,
    pub config: TrainConfig,
    /// Layout of the checkpoint (0: weights only, before the optimizer state was saved).
    #[serde(default)]
    pub checkpoint_format: u32,
    /// Checksum of `best.safetensors` when it was written (`webly_io::checksum`): the end of a
    /// run (a resumed one too) checks the file still holds it.
    #[serde(default)]
    pub best_checksum: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct TrainReport {
    pub out_dir: PathBuf,
    pub epochs_done: usize,
    pub steps: u64,
    /// Mean loss of the last epoch (or of the steps run when stopped by `max_steps`).
    pub final_loss: f64,
    /// Mean loss of the first logged window, for comparison.
    pub first_loss: f64,
    pub best_val_map: Option<f64>,
    pub best_epoch: Option<usize>,
    pub skipped_images: usize,
    /// Training images per second (compute + data waits) over the run.
    pub images_per_s: f64,
    /// Share of step time spent waiting for the loader.
    pub data_wait: f64,
    /// Global step the run resumed from.
    pub resumed_from: Option<u64>,
    pub device: String,
    /// Batches skipped because no caption of the batch was a usable negative.
    pub skipped_batches: u64,
    /// The activation cache sets used (empty when training decoded images).
    pub extraction: Vec<ExtractReport>,
    /// Seconds of the training loop (extraction excluded).
    pub train_seconds: f64,
}

/// Sums over a window of steps.
#[derive(Debug, Clone, Default)]
struct Window {
    steps: u64,
    loss: f64,
    active: f64,
    shares: TripletShares,
    images: usize,
    time: f64,
    wait: f64,
}

impl Window {
    fn add(&mut self, s: &StepOut, wait: f64, time: f64) {
        self.steps += 1;
        self.loss += s.loss;
        self.active += s.active;
        self.shares.easy += s.shares.easy;
        self.shares.semi_hard += s.shares.semi_hard;
        self.shares.hard += s.shares.hard;
        self.images += s.images;
        self.time += time;
        self.wait += wait;
    }

    fn row(
        &self,
        kind: &str,
        epoch: usize,
        step: u64,
        lr: f64,
        val_map: Option<f64>,
    ) -> MetricsRow {
        let n = self.steps.max(1) as f64;
        MetricsRow {
            kind: kind.into(),
            epoch,
            step,
            loss: self.loss / n,
            lr,
            active: self.active / n,
            easy: self.shares.easy / n,
            semi_hard: self.shares.semi_hard / n,
            hard: self.shares.hard / n,
            val_map,
            images_per_s: self.images as f64 / self.time.max(1e-9),
            data_wait: self.wait / self.time.max(1e-9),
        }
    }
}

/// One step's results.
struct StepOut {
    loss: f64,
    active: f64,
    shares: TripletShares,
    images: usize,
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
    let default_dir = cfg.out_dir.join("features");
    let Some(cache) =
        FeatureCache::open(&cfg.model, &cfg.loader, &cfg.cache, &default_dir, device)?
    else {
        return Ok(None);
    };
    let (train, t) = cache.ensure(TRAIN_SET, &data.train_images, cfg.cache.views, cfg.progress)?;
    let (val, v) = cache.ensure(VAL_SET, &data.val_images, 1, cfg.progress)?;
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

/// Trains an encoder into `cfg.out_dir` (see the module docs for resume).
pub fn train(
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

/// Whether `out_dir` holds a checkpoint this webly can resume exactly (one written with the
/// optimizer state: [`State::checkpoint_format`] at least [`CHECKPOINT_FORMAT`]). A caller that
/// resumes on its own initiative (an interrupted `webly run`) starts over otherwise.
pub fn can_resume(out_dir: &Path) -> bool {
    out_dir.join(LAST).is_file()
        && crate::files::read_json::<State>(&out_dir.join(STATE))
            .is_ok_and(|s| s.checkpoint_format >= CHECKPOINT_FORMAT)
}

/// Whether the `best.safetensors` in `out_dir` still holds what the training there saved, by
/// the checksum its `state.json` recorded (true when nothing was recorded: no best yet, or a
/// state of an older webly). A resume that has nothing left to train would otherwise keep a
/// damaged best model.
pub fn best_is_intact(out_dir: &Path) -> bool {
    let Ok(state) = crate::files::read_json::<State>(&out_dir.join(STATE)) else {
        return true;
    };
    match state.best_checksum {
        None => true,
        Some(want) => webly_io::checksum(&out_dir.join(BEST)).is_ok_and(|got| got == want),
    }
}

/// Checks the settings of a training that do not depend on its data, so that a caller can
/// refuse a bad config before it touches any file (a finished model's stamp included).
///
/// # Errors
/// [`EncoderError::Config`] naming the setting: batch_size below 2, a zero epochs, lr,
/// max_steps, checkpoint_every or log_every, or a bad loader setting.
pub fn check_settings(cfg: &TrainConfig) -> Result<(), EncoderError> {
    if cfg.batch_size < 2 {
        return Err(EncoderError::Config(format!(
            "batch_size {} must be at least 2 (an anchor needs a negative in its batch)",
            cfg.batch_size
        )));
    }
    if cfg.epochs == 0
        || cfg.lr.is_nan()
        || cfg.lr <= 0.0
        || cfg.checkpoint_every == 0
        || cfg.log_every == 0
        || cfg.max_steps == Some(0)
    {
        return Err(EncoderError::Config(
            "epochs, lr, max_steps, checkpoint_every and log_every must be positive".into(),
        ));
    }
    cfg.loader
        .validate()
        .map_err(|e| EncoderError::Config(e.to_string()))
}

/// Checks a training's settings ([`check_settings`]) and its data against each other.
///
/// # Errors
/// As [`check_settings`]; [`EncoderError::Data`] when targets, dimensions or validation keys
/// disagree; [`EncoderError::Config`] when there are fewer training images than batch_size.
pub fn check(cfg: &TrainConfig, data: &TrainData) -> Result<(), EncoderError> {
    check_settings(cfg)?;
    let n = data.train_images.len();
    if data.dim == 0 || data.train_targets.len() != n * data.dim {
        return Err(EncoderError::Data(format!(
            "{} targets for {n} images of dimension {}",
            data.train_targets.len(),
            data.dim
        )));
    }
    if i64::try_from(data.dim).ok() != Some(cfg.model.out_dim) {
        return Err(EncoderError::Config(format!(
            "model.out_dim {} differs from the text dimension {}",
            cfg.model.out_dim, data.dim
        )));
    }
    if data.val_keys.len() != data.val_images.len() {
        return Err(EncoderError::Data(format!(
            "{} validation keys for {} validation images",
            data.val_keys.len(),
            data.val_images.len()
        )));
    }
    if n < cfg.batch_size {
        return Err(EncoderError::Config(format!(
            "batch_size {} needs 2 <= batch_size <= number of training images ({n})",
            cfg.batch_size
        )));
    }
    Ok(())
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
                skipped.first().map_or(String::new(), |s| format!(
                    " (e.g. {}: {})",
                    s.path.display(),
                    s.reason
                ))
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

    /// Restores the last checkpoint when `resume` and one exists; returns its step.
    fn resume(&mut self) -> Result<Option<u64>, EncoderError> {
        let (state_path, last) = (self.path(STATE), self.path(LAST));
        if !self.cfg.resume || !state_path.exists() || !last.exists() {
            return Ok(None);
        }
        let named = Tensor::read_safetensors(&last)
            .map_err(torch(format!("reading checkpoint {}", last.display())))?;
        let damaged = |what: String| {
            EncoderError::Data(format!(
                "cannot resume from {}: {what}; delete it to train from the start",
                last.display()
            ))
        };
        let state: State = match named.iter().find(|(n, _)| n == CHECKPOINT_STATE) {
            Some((_, t)) => {
                let bytes = Vec::<u8>::try_from(t).map_err(|e| damaged(e.to_string()))?;
                serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?
            }
            None => {
                return Err(damaged(
                    "written by an older webly, without the optimizer state an exact resume \
                     needs"
                        .into(),
                ))
            }
        };
        if state.config.model != self.cfg.model {
            return Err(EncoderError::Config(format!(
                "cannot resume {}: its model configuration differs from this one",
                last.display()
            )));
        }
        let by_name: std::collections::HashMap<&str, &Tensor> =
            named.iter().map(|(n, t)| (n.as_str(), t)).collect();
        for (name, mut var) in self.vs.variables() {
            let src = by_name
                .get(name.as_str())
                .ok_or_else(|| damaged(format!("no variable {name}")))?;
            if src.size() != var.size() {
                return Err(damaged(format!("{name} has another shape")));
            }
            tch::no_grad(|| var.copy_(src));
        }
        let opt_state: Vec<(String, Tensor)> = named
            .iter()
            .filter_map(|(n, t)| {
                n.strip_prefix(CHECKPOINT_OPTIMIZER_PREFIX)
                    .map(|n| (n.to_string(), t.shallow_clone()))
            })
            .collect();
        self.opt.restore(&opt_state).map_err(damaged)?;
        let step = state.step;
        self.rows = read_metrics(&self.path(METRICS))?;
        self.rows.retain(|r| r.step <= step);
        self.state = State {
            config: self.cfg.clone(),
            seed: self.cfg.seed,
            ..state
        };
        Ok(Some(step))
    }

    /// Checks that `best.safetensors` holds what was saved (a resumed run that has nothing left
    /// to train would otherwise vouch for a file damaged since).
    fn check_best(&self) -> Result<(), EncoderError> {
        let best = self.path(BEST);
        let Some(want) = &self.state.best_checksum else {
            return Ok(());
        };
        let got = webly_io::checksum(&best).map_err(io("read", &best))?;
        if &got != want {
            return Err(EncoderError::Data(format!(
                "{} differs from what this training saved (damaged or edited since): train \
                 again without --resume",
                best.display()
            )));
        }
        Ok(())
    }

    /// Writes `last.safetensors`: the weights, the optimiser state and the [`State`], in one
    /// file renamed into place whole.
    fn save_checkpoint(&self) -> Result<(), EncoderError> {
        let mut named: Vec<(String, Tensor)> = self
            .vs
            .variables()
            .into_iter()
            .map(|(n, t)| (n, t.to_device(Device::Cpu)))
            .collect();
        named.extend(self.opt.state().into_iter().map(|(n, t)| {
            (
                format!("{CHECKPOINT_OPTIMIZER_PREFIX}{n}"),
                t.to_device(Device::Cpu),
            )
        }));
        let json = serde_json::to_vec(&self.state).map_err(|source| EncoderError::Json {
            action: "encode",
            path: self.path(STATE),
            source,
        })?;
        named.push((CHECKPOINT_STATE.into(), Tensor::from_slice(&json)));
        named.sort_by(|a, b| a.0.cmp(&b.0));
        save_named(&named, &self.path(LAST))
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
        c.dir
            .get_or_insert_with(|| self.cfg.out_dir.join("features"));
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

    fn fit(
        mut self,
        hooks: &mut dyn TrainHooks,
        resumed_from: Option<u64>,
    ) -> Result<TrainReport, EncoderError> {
        let t0 = Instant::now();
        let mut bar = Progress::new(
            self.cfg.progress,
            "train",
            self.total_steps,
            self.state.step,
        );
        let mut total = Window::default();
        let mut first_loss = None;
        let mut last_window = Window::default();
        while self.state.epoch < self.cfg.epochs && !self.done() {
            let epoch = self.state.epoch;
            let w = self.run_epoch(&mut bar, &mut first_loss)?;
            total.images += w.images;
            total.time += w.time;
            total.wait += w.wait;
            last_window = w.clone();
            if self.state.batch < self.batches_per_epoch {
                // Stopped inside the epoch by max_steps.
                self.checkpoint()?;
                break;
            }
            self.end_epoch(epoch, &w, hooks)?;
            if let Some(r) = self.rows.last() {
                bar.println(format!(
                    "epoch {epoch}: loss {:.4}, active {:.2}, easy/semi-hard/hard {:.2}/{:.2}/{:.2}, val mAP {}, {:.0} img/s, data wait {:.1}%",
                    r.loss,
                    r.active,
                    r.easy,
                    r.semi_hard,
                    r.hard,
                    r.val_map.map_or("-".into(), |m| format!("{m:.4}")),
                    r.images_per_s,
                    100.0 * r.data_wait
                ));
            }
        }
        bar.finish();
        if self.state.skipped_batches > 0 {
            eprintln!(
                "[train] batches without a usable negative were skipped: {}",
                self.no_negative_cause()
            );
        }
        self.check_best()?;
        write_metrics(&self.path(METRICS), &self.rows)?;
        if self.cfg.plot {
            plot(&self.path(PLOT), &self.rows)?;
        }
        Ok(TrainReport {
            out_dir: self.cfg.out_dir.clone(),
            epochs_done: self.state.epoch,
            steps: self.state.step,
            final_loss: last_window.loss / last_window.steps.max(1) as f64,
            first_loss: first_loss.unwrap_or(f64::NAN),
            best_val_map: self.state.best_val_map,
            best_epoch: self.state.best_epoch,
            skipped_images: self.state.skipped_images,
            images_per_s: total.images as f64 / total.time.max(1e-9),
            data_wait: total.wait / total.time.max(1e-9),
            resumed_from,
            device: format!("{:?}", self.device),
            skipped_batches: self.state.skipped_batches,
            extraction: self.features.map(|f| f.reports).unwrap_or_default(),
            train_seconds: t0.elapsed().as_secs_f64(),
        })
    }

    /// The remaining batches of the current epoch, in the seed's order.
    fn jobs(&self) -> Vec<Job> {
        let epoch = self.state.epoch as u64;
        let mut order = self.usable.clone();
        let mut rng =
            ChaCha8Rng::seed_from_u64(derive_seed(self.cfg.seed, STREAM_PERMUTATION, epoch));
        order.shuffle(&mut rng);
        let bs = self.cfg.batch_size;
        (self.state.batch..self.batches_per_epoch)
            .map(|b| Job {
                index: b,
                items: order[b * bs..(b + 1) * bs].to_vec(),
                crop: Crop::Random {
                    seed: derive_seed(self.cfg.seed, epoch, b as u64),
                },
            })
            .collect()
    }

    fn run_epoch(
        &mut self,
        bar: &mut Progress,
        first_loss: &mut Option<f64>,
    ) -> Result<Window, EncoderError> {
        let mut batches = self.batches();
        let mut epoch_w = Window::default();
        let mut log_w = Window::default();
        // `time`: from the end of the previous step to the end of this one (logging and
        // checkpoints included); `wait`: only the time blocked on the loader.
        let mut t = Instant::now();
        let mut seen = 0usize;
        loop {
            let t_recv = Instant::now();
            let Some(batch) = batches.next() else { break };
            let batch = batch?;
            seen += 1;
            let wait = t_recv.elapsed().as_secs_f64();
            self.state.skipped_images += batch.skipped;
            let index = batch.index;
            let lr = self.lr();
            let out = self.step(batch, lr)?;
            let time = t.elapsed().as_secs_f64();
            t = Instant::now();
            self.state.batch = index + 1;
            let Some(out) = out else { continue };
            self.state.step += 1;
            epoch_w.add(&out, wait, time);
            log_w.add(&out, wait, time);
            bar.inc(
                1,
                format!(
                    "epoch {} loss {:.4} {:.0} img/s",
                    self.state.epoch,
                    out.loss,
                    out.images as f64 / time.max(1e-9)
                ),
            );
            if self.state.step.is_multiple_of(self.cfg.log_every) {
                first_loss.get_or_insert(log_w.loss / log_w.steps.max(1) as f64);
                let row = log_w.row("step", self.state.epoch, self.state.step, lr, None);
                self.rows.push(row);
                log_w = Window::default();
            }
            if self.state.step.is_multiple_of(self.cfg.checkpoint_every) {
                self.checkpoint()?;
            }
            if self.done() {
                break;
            }
        }
        drop(batches);
        if epoch_w.steps == 0 && seen > 0 {
            let cause = if self.state.skipped_batches > 0 {
                format!(
                    "no batch had a usable negative: {}",
                    self.no_negative_cause()
                )
            } else {
                format!(
                    "no batch had 2 loadable images ({} images skipped so far)",
                    self.state.skipped_images
                )
            };
            return Err(EncoderError::Data(format!(
                "epoch {} trained no step: {cause}",
                self.state.epoch
            )));
        }
        if first_loss.is_none() && log_w.steps > 0 {
            *first_loss = Some(log_w.loss / log_w.steps as f64);
        }
        Ok(epoch_w)
    }

    /// This epoch's remaining batches, decoded or gathered from the cache.
    fn batches(&self) -> Box<dyn Iterator<Item = Result<Ready, EncoderError>>> {
        match &self.features {
            Some(f) => Box::new(CachedBatches {
                set: Arc::clone(&f.train),
                jobs: self.jobs().into_iter(),
                seed: self.cfg.seed,
                epoch: self.state.epoch as u64,
                device: self.device,
            }),
            None => {
                let threads = loader_threads(self.cfg.loader_threads, self.device);
                let loader = spawn(
                    Arc::new(self.data.train_images.clone()),
                    self.cfg.loader.clone(),
                    self.jobs(),
                    self.cfg.prefetch,
                    threads,
                );
                Box::new(ImageBatches::new(loader, self.cfg.loader.crop, self.device))
            }
        }
    }

    /// Why a batch can have no usable negative, for messages.
    fn no_negative_cause(&self) -> String {
        let limit = match self.cfg.mining {
            crate::config::Mining::GloveBand { max_similarity }
            | crate::config::Mining::All { max_similarity } => format!(
                "every other caption of the batch has cosine similarity above \
                 mining max_similarity = {max_similarity} to the anchor's caption (probable \
                 false negatives are dropped); raise max_similarity or the batch size"
            ),
            _ => "every caption of the batch is identical to the anchor's".into(),
        };
        format!(
            "{limit} ({} batches skipped so far)",
            self.state.skipped_batches
        )
    }

    /// One optimisation step; `None` when fewer than 2 images of the batch loaded or no
    /// negative was usable (counted in `skipped_batches`).
    fn step(&mut self, batch: Ready, lr: f64) -> Result<Option<StepOut>, EncoderError> {
        let n = batch.items.len();
        if n < 2 {
            return Ok(None);
        }
        let targets = self.targets(&batch.items);
        self.opt.set_lr(lr);
        let raw = match self.features {
            Some(_) => self.net.forward_from_boundary(&batch.x, true),
            None => self.net.forward_raw(&batch.x, true),
        };
        let out = match self.cfg.loss.kind {
            LossKind::CrossEntropy => raw,
            _ => self.net.embedding(&raw, OutputKind::Direct),
        };
        let Some((per, shares)) = self.per_sample_loss(&out, &targets, batch.index)? else {
            self.state.skipped_batches += 1;
            return Ok(None);
        };
        let loss = per.mean(Kind::Float);
        let value = loss.double_value(&[]);
        if !value.is_finite() || value > self.cfg.max_loss {
            return Err(self.diverged(value));
        }
        self.opt.backward_step(&loss, self.cfg.grad_clip);
        let active = per
            .gt(0.0)
            .to_kind(Kind::Float)
            .mean(Kind::Float)
            .double_value(&[]);
        Ok(Some(StepOut {
            loss: value,
            active,
            shares,
            images: n,
        }))
    }

    fn diverged(&self, loss: f64) -> EncoderError {
        EncoderError::Diverged {
            epoch: self.state.epoch,
            step: self.state.step + 1,
            loss,
            dir: self.cfg.out_dir.clone(),
        }
    }

    /// Targets `[k, dim]` of dataset items.
    fn targets(&self, items: &[usize]) -> Tensor {
        let d = self.data.dim;
        let mut v = Vec::with_capacity(items.len() * d);
        for &i in items {
            v.extend_from_slice(&self.data.train_targets[i * d..(i + 1) * d]);
        }
        Tensor::from_slice(&v)
            .view([items.len() as i64, d as i64])
            .to_device(self.device)
    }

    /// Per-sample losses of the anchors that got a negative (all anchors for losses without);
    /// `None` when no anchor of the batch has a usable negative.
    fn per_sample_loss(
        &self,
        out: &Tensor,
        targets: &Tensor,
        batch: usize,
    ) -> Result<Option<(Tensor, TripletShares)>, EncoderError> {
        if !self.loss.needs_negatives() {
            return Ok(Some((
                self.loss.forward(out, targets, None),
                TripletShares::default(),
            )));
        }
        let n = out.size()[0] as usize;
        let it = to_vec(&distance_matrix(
            &out.detach(),
            targets,
            self.cfg.loss.distance,
        ))?;
        let tt = to_vec(&distance_matrix(
            targets,
            targets,
            crate::config::Distance::Cosine,
        ))?;
        let input = MiningInput {
            n,
            img_txt: &it,
            txt_txt: &tt,
            margin: self.cfg.loss.margin as f32,
        };
        let seed = derive_seed(
            self.cfg.seed ^ STREAM_MINING,
            self.state.epoch as u64,
            batch as u64,
        );
        let pairs = mine_pairs(
            self.cfg.mining,
            &input,
            &mut ChaCha8Rng::seed_from_u64(seed),
        );
        let s = pair_shares(&input, &pairs);
        let (anchors, neg): (Vec<i64>, Vec<i64>) =
            pairs.iter().map(|&(i, j)| (i as i64, j as i64)).unzip();
        if anchors.is_empty() {
            return Ok(None);
        }
        let a = Tensor::from_slice(&anchors).to_device(self.device);
        let j = Tensor::from_slice(&neg).to_device(self.device);
        let (img, pos) = (out.index_select(0, &a), targets.index_select(0, &a));
        let per = self
            .loss
            .forward(&img, &pos, Some(&targets.index_select(0, &j)));
        if !(self.cfg.loss.text_anchored && self.cfg.loss.kind == LossKind::Triplet) {
            return Ok(Some((per, s)));
        }
        let triplet = TripletLoss {
            margin: self.cfg.loss.margin,
            distance: self.cfg.loss.distance,
        };
        let back = triplet.text_anchored(&img, &pos, &out.index_select(0, &j));
        Ok(Some((Tensor::cat(&[per, back], 0), s)))
    }

    /// Writes last.safetensors + state.json (+ metrics.csv), only from finite weights.
    fn checkpoint(&mut self) -> Result<(), EncoderError> {
        let finite = self
            .vs
            .variables()
            .values()
            .all(|t| t.isfinite().all().int64_value(&[]) != 0);
        if !finite {
            return Err(self.diverged(f64::NAN));
        }
        self.save_checkpoint()?;
        write_json(&self.path(STATE), &self.state)?;
        write_metrics(&self.path(METRICS), &self.rows)
    }

    fn end_epoch(
        &mut self,
        epoch: usize,
        w: &Window,
        hooks: &mut dyn TrainHooks,
    ) -> Result<(), EncoderError> {
        let val_map = self.validate(epoch, hooks)?;
        let improved = match (val_map, self.state.best_val_map) {
            (Some(m), Some(b)) => m > b,
            (Some(_), None) => true,
            // Without validation images the latest epoch is kept as "best"; with them, an
            // epoch that could not be scored only fills an empty slot.
            (None, _) => self.data.val_images.is_empty() || self.state.best_epoch.is_none(),
        };
        let row = w.row("epoch", epoch, self.state.step, self.lr(), val_map);
        self.rows.push(row.clone());
        self.state.epoch = epoch + 1;
        self.state.batch = 0;
        if improved {
            if val_map.is_some() {
                self.state.best_val_map = val_map;
            }
            self.state.best_epoch = Some(epoch);
            let best = self.path(BEST);
            save_weights(&self.vs, &best)?;
            self.state.best_checksum =
                Some(webly_io::checksum(&best).map_err(io("checksum", &best))?);
        }
        self.checkpoint()?;
        hooks.epoch_end(&row);
        Ok(())
    }

    fn validate(
        &self,
        epoch: usize,
        hooks: &mut dyn TrainHooks,
    ) -> Result<Option<f64>, EncoderError> {
        if self.data.val_images.is_empty() {
            return Ok(None);
        }
        let e = match &self.features {
            Some(f) => embed_set(&self.net, self.output, self.device, &f.val, VAL_BATCH)?,
            None => embed_with(
                &self.net,
                self.output,
                self.device,
                &self.data.val_images,
                &self.cfg.loader,
                VAL_BATCH,
            )?,
        };
        let rows = KeyedEmbeddings::new(e, &self.data.val_keys)?;
        hooks
            .validate(epoch, &rows)
            .map_err(|message| EncoderError::Validation { epoch, message })
    }
}

/// Writes `metrics.csv` of a folder into a PNG again (e.g. after an interrupted run).
pub fn replot(out_dir: &Path) -> Result<(), EncoderError> {
    plot(&out_dir.join(PLOT), &read_metrics(&out_dir.join(METRICS))?)
}
