#![deny(missing_docs)]
//! webly-encoder: the image side of webly. A CNN (small demo CNN, ResNet-18 or a hand-ported
//! EfficientNet-Lite0, on tch / libtorch) plus a projection head maps images into the frozen
//! GloVe space; it is trained with ranking losses (triplet, pairwise) and online in-batch
//! negative mining, or with the reference's cross-entropy / MSE baselines.
//!
//! - [`train`]: a run folder with `model.json`, `last.safetensors`, `best.safetensors`,
//!   `state.json`, `metrics.csv`, `training.png`.
//! - [`Encoder`] / [`embed`]: load a run folder and embed images.
//! - [`loss`] and [`mining`]: the losses and negative mining, usable on their own.
//!
//! Run folder (all writes atomic: temporary sibling + rename):
//! - `model.json` ([`SavedModel`]): model config, output kind, loader config: enough to rebuild.
//! - `last.safetensors` / `best.safetensors`: every variable (BatchNorm statistics included), tch
//!   names (`cnn.0.conv.weight`, torchvision's for ResNet-18, the .pth's for EfficientNet, head
//!   `proj.*`). `best` = best validation mAP (latest epoch when there is no validation).
//! - `state.json` ([`State`]): next epoch / batch, global step, best mAP, the full config.
//! - `metrics.csv` ([`MetricsRow`]): `kind` (step|epoch), epoch, step, loss, lr, active, easy,
//!   semi_hard, hard, val_map, images_per_s, data_wait.
//! - `training.png`: loss per step and validation mAP per epoch.
mod batches;
/// The activation cache at a frozen backbone's freeze boundary.
pub mod cache;
mod config;
mod device;
mod embedding;
mod encoder;
mod error;
mod files;
/// The losses: triplet, pairwise ranking, cross-entropy, MSE.
pub mod loss;
mod metrics;
/// Negative mining within a batch and the easy / semi-hard / hard shares.
pub mod mining;
mod model;
mod nets;
/// Optimisers (SGD with momentum, Adam) and weight decay.
pub mod optim;
mod prefetch;
/// Progress displays of long loops (webly-io's, shared by every crate).
pub use webly_io::progress;

/// Whether a long loop shows a progress bar on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bar {
    /// Show a bar (a plain line every few seconds when stderr is not a terminal).
    Show,
    /// Stay quiet.
    Hide,
}

impl Bar {
    /// [`Bar::Show`] when `show` (a config's `progress` setting).
    pub fn when(show: bool) -> Self {
        match show {
            true => Bar::Show,
            false => Bar::Hide,
        }
    }
}
mod schedule;
mod seeds;
mod tensors;
mod train;

pub use cache::{ExtractReport, FeatureCache, FeatureSet};
pub use config::{
    Arch, CacheConfig, CacheDtype, ComputeKind, DeviceChoice, Distance, Freeze, HeadInit, HeadKind,
    Keep, LiteVariant, LossConfig, LossKind, Mining, ModelConfig, OptimizerKind, Padding, Schedule,
    TrainConfig, DEFAULT_CACHE_DIR, FALSE_NEGATIVE_SIMILARITY, NEGATIVE_TEMPERATURE,
};
pub use device::{resolve_device, set_threads};
pub use embedding::{ImageEmbeddings, KeyedEmbeddings, EMBED_BATCH};
pub use encoder::{embed, Encoder, SavedModel};
pub use error::EncoderError;
pub use files::{BEST, LAST, METRICS, MODEL, PLOT, STATE};
pub use metrics::{plot, read_metrics, MetricsRow, RowKind};
pub use model::{Network, OutputKind};
pub use nets::{EfficientNetLite, InputNorm, Phase};
pub use schedule::lr_at;
pub use train::{
    best_is_intact, can_resume, check, check_settings, member_dir, replot, train, NoHooks, State,
    TrainData, TrainHooks, TrainReport, CHECKPOINT_OPTIMIZER_PREFIX, CHECKPOINT_STATE,
};
pub use webly_data::{Crop, LoaderConfig};
