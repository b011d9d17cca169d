//! Typed configuration: network, loss, mining, optimiser, schedule, training run.
//!
//! Every struct is `Default` + serde with `deny_unknown_fields`, so a TOML file may give any
//! subset of the fields and a typo is an error. Enums are written in snake_case
//! (`arch = "small_cnn"`, `freeze = { all_but_last = 2 }`, `schedule = { step = { every = 100000, gamma = 0.1 } }`).
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which image network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// A few conv-BN-ReLU blocks (see [`ModelConfig::small_cnn_widths`]): the CPU demo network.
    #[default]
    SmallCnn,
    /// torchvision's ResNet-18 layout (var names as torchvision, so its weights load).
    /// Written `resnet18` (the older `res_net18` still reads).
    #[serde(rename = "resnet18", alias = "res_net18")]
    ResNet18,
    /// EfficientNet-Lite0, ported by hand (keys as the `efficientnet-lite0-57934424.pth`).
    /// Written `efficientnet_lite0` (the older `efficient_net_lite0` still reads).
    #[serde(rename = "efficientnet_lite0", alias = "efficient_net_lite0")]
    EfficientNetLite0,
    /// EfficientNet-Lite1 (trained at 240 px; `efficientnet-lite1-77cc7160.pth`).
    #[serde(rename = "efficientnet_lite1")]
    EfficientNetLite1,
    /// EfficientNet-Lite2 (trained at 260 px; `efficientnet-lite2-9656183e.pth`).
    #[serde(rename = "efficientnet_lite2")]
    EfficientNetLite2,
}

/// The EfficientNet-Lite sizes webly has weights for (TF's `efficientnet_lite_params`; top-1
/// accuracies from the README of tensorflow/tpu's `models/official/efficientnet/lite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteVariant {
    /// Width 1.0, depth 1.0, 224 px: 4.7 M parameters, ImageNet top-1 75.1%.
    Lite0,
    /// Width 1.0, depth 1.1, 240 px: 5.4 M parameters, 76.7%.
    Lite1,
    /// Width 1.1, depth 1.2, 260 px: 6.1 M parameters, 77.6%.
    Lite2,
}

/// Which part of the backbone does not learn. Frozen stages also run BatchNorm in eval mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Freeze {
    /// Everything learns.
    #[default]
    None,
    /// The whole backbone is frozen; only the projection head learns.
    Backbone,
    /// Everything but the last N backbone stages is frozen (stages: small CNN blocks; ResNet stem
    /// and 8 basic blocks; EfficientNet stem, 16 MBConv blocks (21 for Lite1 and Lite2), head conv).
    AllButLast(usize),
}

/// The projection head from backbone features to the text space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HeadKind {
    /// One linear layer (the reference: last layer replaced by a 400-output layer).
    #[default]
    Linear,
    /// Linear, ReLU, linear.
    Mlp {
        /// Width of the hidden layer.
        hidden: i64,
    },
}

/// Initial weights of the projection head's last layer (the one that outputs the embedding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HeadInit {
    /// Weights from `N(0, (0.01 / sqrt(fan_in))^2)`, bias 0: the head starts at (almost) zero
    /// and every direction of its output is learned from the captions, none left from a random
    /// projection. On frozen ImageNet features it gave both losses their best mAP on the
    /// real-photo suite (docs/results.md); the usual practice for linear probes (a zero-initialised
    /// classifier), kept off exact zero so that an L2-normalised output has a gradient.
    #[default]
    Small,
    /// tch's default for linear layers: Kaiming uniform for ReLU, `U(-sqrt(6 / fan_in),
    /// sqrt(6 / fan_in))`, about 2.4 times PyTorch's `nn.Linear` default. The recipe before
    /// issue 23.
    KaimingUniform,
}

/// Standard deviation of [`HeadInit::Small`], times `1 / sqrt(fan_in)`.
pub const SMALL_INIT_GAIN: f64 = 0.01;

/// Padding of EfficientNet's convolutions. The weights' key names (`_conv_stem`, `_blocks.N.
/// _expand_conv`) are those of lukemelas' EfficientNet-PyTorch, whose converted TF weights use
/// static TF "SAME" padding; on real photos both paddings classify right, TF SAME slightly more
/// confidently: the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// k/2 on every side (RangiLyu's EfficientNet-Lite port).
    Symmetric,
    /// TensorFlow "SAME": the extra pixel of an odd total goes right/bottom.
    #[default]
    TfSame,
}

/// The image network: backbone, head, output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// The network (see [`Arch`]).
    pub arch: Arch,
    /// Output dimension: the text (GloVe) dimension.
    pub out_dim: i64,
    /// L2-normalise the output (ranking losses and retrieval by cosine).
    pub normalize_output: bool,
    /// Which backbone stages are frozen (see [`Freeze`]).
    pub freeze: Freeze,
    /// Backbone weights (safetensors or .ot, names as the arch's); the head is always fresh.
    pub pretrained: Option<PathBuf>,
    /// The head on the pooled features (see [`HeadKind`]).
    pub head: HeadKind,
    /// Initial weights of the head's output layer (see [`HeadInit`]).
    pub head_init: HeadInit,
    /// Channels of the small CNN's conv blocks (each block halves the resolution).
    pub small_cnn_widths: Vec<i64>,
    /// EfficientNet padding (see [`Padding`]).
    pub padding: Padding,
    /// Heads in the ensemble (>= 1; default 1). With `members = k > 1` the network holds `k`
    /// heads on the same frozen backbone, each trained alone with its own seed (its own order
    /// of the images, drawn views and mining draws; member 0 uses the training's seed), and
    /// the embedding is the L2-normalised mean of the `k` heads' embeddings. It needs
    /// `freeze = "backbone"` and `pretrained` weights, so that every member sees the same
    /// features. Why: the triplet head's result moves with the order of its batches; the
    /// mean of several orders is steadier and better on every set of the real-photo suite
    /// (docs/results.md, "An ensemble of heads").
    pub members: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            arch: Arch::SmallCnn,
            out_dim: 400,
            normalize_output: true,
            freeze: Freeze::None,
            pretrained: None,
            head: HeadKind::Linear,
            head_init: HeadInit::Small,
            small_cnn_widths: vec![32, 64, 128, 256],
            padding: Padding::TfSame,
            members: 1,
        }
    }
}

/// Distance used by the ranking losses and by mining on image-text pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Distance {
    /// `||a-b||^2` (the reference).
    #[default]
    SquaredL2,
    /// `||a-b||` (libtorch's `triplet_margin_loss` with p = 2).
    L2,
    /// `1 - cos(a, b)` (VSE++).
    Cosine,
}

/// Which loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// `max(0, m + d(a,p) - d(a,n))`.
    #[default]
    Triplet,
    /// `d(a,p) + max(0, m - d(a,n))`: positives pulled to 0, negatives pushed past the margin.
    Pairwise,
    /// Sigmoid cross-entropy to the caption embedding scaled to \[0,1\] per vector.
    CrossEntropy,
    /// Mean squared error to the caption embedding.
    Mse,
}

/// Loss settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossConfig {
    /// The loss (see [`LossKind`]).
    pub kind: LossKind,
    /// The distance the ranking losses compare (see [`Distance`]).
    pub distance: Distance,
    /// Margin of the ranking losses, in units of `distance`.
    pub margin: f64,
    /// Triplet loss only: also rank images for each caption, `max(0, m + d(f(i), t_i) -
    /// d(f(j), t_i))` over the same mined pairs (anchor = the caption, negative = the other
    /// image), as VSE++'s second direction. Text-to-image search is that direction; the text
    /// side still does not learn. Default false (the reference: image anchors only).
    pub text_anchored: bool,
}

impl Default for LossConfig {
    fn default() -> Self {
        // 0.2: VSE++'s margin; unit vectors have squared L2 in [0, 4] and cosine distance in [0, 2].
        Self {
            kind: LossKind::Triplet,
            distance: Distance::SquaredL2,
            margin: 0.2,
            text_anchored: false,
        }
    }
}

/// Online negative mining inside a batch (see `mining`).
///
/// The default is [`Mining::Weighted`] with [`FALSE_NEGATIVE_SIMILARITY`] and
/// [`NEGATIVE_TEMPERATURE`]: every caption of the batch whose GloVe cosine similarity to the
/// positive caption is at most 0.9, the harder ones weighted more. Chosen on the real-photo suite
/// (issue 23, `docs/results.md`): over three sets and seeds 1-3 it beat the plain mean over the
/// same negatives ([`Mining::All`]), semi-hard, hardest, the reference's soft negative and the
/// GloVe band; the filter drops the paraphrases of the positive caption (on web data, other
/// captions of the same thing: false negatives).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mining {
    /// A uniformly random other caption.
    Random,
    /// The caption with the largest loss (VSE++).
    Hardest,
    /// Farther than the positive but inside the margin (FaceNet).
    SemiHard,
    /// Uniform among captions farther from the positive caption than the batch mean (reference).
    Soft,
    /// Drop captions with cosine similarity > `max_similarity` to the positive caption, then the
    /// hardest of the rest.
    GloveBand {
        /// Cosine similarity above which a caption counts as a paraphrase of the positive.
        max_similarity: f32,
    },
    /// Every other caption of the batch whose cosine similarity to the positive caption is at
    /// most `max_similarity` (probable false negatives dropped), each its own triplet; the loss
    /// is their mean (VSE0's sum of hinges, normalised). Averaging over many negatives pushes the
    /// image along its caption minus the typical caption, which a single negative only samples.
    All {
        /// Cosine similarity above which a caption counts as a paraphrase of the positive.
        max_similarity: f32,
    },
    /// The triplets of [`Mining::All`], each anchor's weighted by a softmax over its negatives
    /// of `-d_an / temperature` (held constant in the backward pass), so that the negatives
    /// closest to the anchor count most and the easy ones still a little; every anchor weighs
    /// the same in the loss (`mining::negative_weights`). A large temperature is
    /// [`Mining::All`]'s mean, a small one the hardest negative (VSE++).
    Weighted {
        /// Cosine similarity above which a caption counts as a paraphrase of the positive.
        max_similarity: f32,
        /// Softmax temperature, in units of the loss's distance (> 0).
        temperature: f32,
    },
}

/// GloVe cosine similarity to the positive caption above which [`Mining::default`] takes a
/// caption for a paraphrase (a probable false negative) and never uses it as a negative.
pub const FALSE_NEGATIVE_SIMILARITY: f32 = 0.9;

/// Softmax temperature of [`Mining::default`]'s weights, in squared L2 distance between unit
/// vectors (0..=4): chosen on the real-photo suite among 0.2, 0.3 and 0.5 (1 was worse on the
/// scratch set and the demo; `docs/results.md`).
pub const NEGATIVE_TEMPERATURE: f32 = 0.5;

impl Default for Mining {
    fn default() -> Self {
        Self::Weighted {
            max_similarity: FALSE_NEGATIVE_SIMILARITY,
            temperature: NEGATIVE_TEMPERATURE,
        }
    }
}

/// Optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Stochastic gradient descent with momentum (PyTorch's `torch.optim.SGD` update).
    Sgd {
        /// Momentum factor (the reference: 0.9).
        momentum: f64,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// Adam (Kingma and Ba, 2015).
    Adam {
        /// Decay of the first-moment estimate.
        beta1: f64,
        /// Decay of the second-moment estimate.
        beta2: f64,
    },
}

impl Default for OptimizerKind {
    fn default() -> Self {
        // The reference: SGD, momentum 0.9.
        Self::Sgd {
            momentum: 0.9,
            nesterov: false,
        }
    }
}

/// Learning-rate schedule over global steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// The base learning rate throughout.
    #[default]
    Constant,
    /// `lr * gamma^(step / every)` (the reference: x0.1 every 100K iterations).
    Step {
        /// Steps between two decays.
        every: u64,
        /// The factor of each decay.
        gamma: f64,
    },
    /// Cosine from `lr` to `min_lr` over the whole run.
    Cosine {
        /// The learning rate at the last step.
        min_lr: f64,
    },
}

/// Storage type of cached activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CacheDtype {
    /// IEEE half precision: half the bytes; EfficientNet's activations (ReLU6, BatchNorm
    /// outputs) lose nothing measurable in retrieval (docs/guide.md, "The activation cache").
    #[default]
    F16,
    /// Single precision: bit-exact with the uncached network.
    F32,
}

/// Arithmetic of the frozen stages during extraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ComputeKind {
    /// bfloat16 on a CPU with BF16 instructions (x86-64 AVX-512 BF16, which every AMX CPU also
    /// has; aarch64 BF16), f32 elsewhere and on CUDA. The cache's manifest records which ran.
    #[default]
    Auto,
    /// Single precision: the activations equal the uncached network's to float rounding.
    F32,
    /// bfloat16 weights and activations through oneDNN: on a CPU with BF16 instructions
    /// 2.2-2.5x faster than f32 with decoding included, 3-4x for the network alone
    /// (EfficientNet-Lite0, 128-224 px, 2 cores, `make bench`); about 5% relative error in the
    /// pooled features, no measurable loss in retrieval (docs/guide.md, "The activation cache").
    /// Emulated, hence slow, on CPUs without them.
    Bf16,
}

impl ComputeKind {
    /// What [`ComputeKind::Auto`] means on `device`; the explicit kinds stay as they are.
    pub fn resolve(self, device: tch::Device) -> ComputeKind {
        match self {
            ComputeKind::Auto if device == tch::Device::Cpu && cpu_has_bf16() => ComputeKind::Bf16,
            ComputeKind::Auto => ComputeKind::F32,
            explicit => explicit,
        }
    }
}

/// True when the CPU has native bfloat16 dot products (what oneDNN's BF16 kernels need).
fn cpu_has_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("bf16")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// The activation cache at the freeze boundary (see `webly_encoder::cache`).
///
/// When the model has frozen backbone stages and pretrained weights, the frozen part's output
/// is computed once per image and view and the learnable rest trains from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// Train from cached activations when the model allows it. Default true.
    pub enabled: bool,
    /// Views cached per training image (>= 1): 0 the centre crop, 1 its mirror, 2.. random
    /// crops with a random mirror. Each epoch samples one view per image. Default 4.
    pub views: usize,
    /// Storage type. Default f16.
    pub dtype: CacheDtype,
    /// Arithmetic of the extraction. Default auto (bf16 where the CPU has it).
    pub compute: ComputeKind,
    /// Images per shard file: the unit that an interruption can lose. Default 512.
    pub shard_images: usize,
    /// Seed of the random-crop views. Not the training seed, so models that train with other
    /// seeds share one cache.
    pub seed: u64,
    /// Folder holding caches, one sub-folder per backbone fingerprint. `None`: `<out_dir>/features`
    /// (the pipeline sets `<run_dir>/features`, shared by the run's models).
    pub dir: Option<PathBuf>,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            views: 4,
            dtype: CacheDtype::F16,
            compute: ComputeKind::Auto,
            shard_images: 512,
            seed: 0,
            dir: None,
        }
    }
}

/// Where the network runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DeviceChoice {
    /// CUDA when `tch::Cuda::is_available()`, else CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// The first CUDA device (an error when there is none).
    Cuda,
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;

    /// `auto`, `cpu`, or `cuda` (also `gpu`), as the command line gives them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda),
            other => Err(format!(
                "unknown device {other:?} (expected cpu, cuda or auto)"
            )),
        }
    }
}

/// One training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// The image network.
    pub model: ModelConfig,
    /// The loss.
    pub loss: LossConfig,
    /// How negatives are chosen within a batch.
    pub mining: Mining,
    /// The optimiser and its constants.
    pub optimizer: OptimizerKind,
    /// Base learning rate.
    pub lr: f64,
    /// L2 weight decay (0: none).
    pub weight_decay: f64,
    /// Learning-rate schedule over the steps.
    pub schedule: Schedule,
    /// Images per step.
    pub batch_size: usize,
    /// Passes over the training images.
    pub epochs: usize,
    /// Stop after this many global steps (benchmarks, smoke runs); `None`: all epochs.
    pub max_steps: Option<u64>,
    /// Seed of initialisation, shuffling, crops and mining (see `seeds.rs` for the streams).
    pub seed: u64,
    /// Image decoding, resizing and cropping.
    pub loader: webly_data::LoaderConfig,
    /// The activation cache at the freeze boundary.
    pub cache: CacheConfig,
    /// cpu, cuda or auto.
    pub device: DeviceChoice,
    /// libtorch intra-op threads (`tch::set_num_threads`); 0 leaves libtorch's default.
    pub threads: usize,
    /// Batches loaded ahead by the background thread.
    pub prefetch: usize,
    /// Image-decoding threads of the loader (its own rayon pool). 0 = auto: on CPU the cores
    /// libtorch does not use (at least 1: decoding threads competing with libtorch's cost a third
    /// of the throughput on 2 cores), on CUDA every core.
    pub loader_threads: usize,
    /// Where the model, checkpoints, metrics and plot are written.
    pub out_dir: PathBuf,
    /// Write `last.safetensors` + `state.json` every N steps (and at each epoch end).
    pub checkpoint_every: u64,
    /// Write a step row to metrics.csv every N steps.
    pub log_every: u64,
    /// Continue from `out_dir/state.json` + `last.safetensors` when they exist.
    pub resume: bool,
    /// A step loss above this (or NaN/inf) stops training with [`crate::EncoderError::Diverged`].
    pub max_loss: f64,
    /// Clip the gradient norm to this value (`None`: no clipping).
    pub grad_clip: Option<f64>,
    /// Which epoch's weights `best.safetensors` keeps (see [`Keep`]).
    pub keep: Keep,
    /// Show an indicatif progress bar.
    pub progress: bool,
    /// Draw `training.png` at the end.
    pub plot: bool,
}

/// Which epoch's weights a training keeps as `best.safetensors` (the weights every later stage
/// reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// The epoch with the highest validation mAP (by captions); the last epoch when there are no
    /// validation images.
    #[default]
    BestVal,
    /// The last epoch: the end of the schedule. On small validation splits (60-160 images in the
    /// real-photo suite) the best-by-validation epoch is mostly noise; a short cosine schedule
    /// that ends where it should is the better pick (issue 23, `docs/results.md`).
    Last,
}

/// The activation caches' folder under `out_dir` when [`CacheConfig::dir`] is not set.
pub const DEFAULT_CACHE_DIR: &str = "features";

impl TrainConfig {
    /// The activation caches' folder: [`CacheConfig::dir`], else `<out_dir>/features`.
    pub fn cache_dir(&self) -> PathBuf {
        self.cache
            .dir
            .clone()
            .unwrap_or_else(|| self.out_dir.join(DEFAULT_CACHE_DIR))
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        // The reference trains with SGD lr 0.001, momentum 0.9, wd 2e-4, batch 120.
        Self {
            model: ModelConfig::default(),
            loss: LossConfig::default(),
            mining: Mining::default(),
            optimizer: OptimizerKind::default(),
            lr: 1e-3,
            weight_decay: 2e-4,
            schedule: Schedule::Constant,
            batch_size: 120,
            epochs: 10,
            max_steps: None,
            seed: 0,
            loader: webly_data::LoaderConfig::default(),
            cache: CacheConfig::default(),
            device: DeviceChoice::Auto,
            threads: 0,
            prefetch: 4,
            loader_threads: 0,
            out_dir: PathBuf::from("runs/encoder"),
            checkpoint_every: 500,
            log_every: 10,
            resume: false,
            max_loss: 1e4,
            grad_clip: None,
            keep: Keep::default(),
            progress: true,
            plot: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_subset_and_typos() {
        let cfg: TrainConfig = toml::from_str(
            r#"
            lr = 0.01
            mining = { glove_band = { max_similarity = 0.8 } }
            schedule = { step = { every = 100000, gamma = 0.1 } }
            optimizer = { adam = { beta1 = 0.9, beta2 = 0.99 } }
            [model]
            arch = "efficient_net_lite0"
            freeze = { all_but_last = 2 }
            head = { mlp = { hidden = 512 } }
            [loss]
            kind = "cross_entropy"
            "#,
        )
        .expect("parse");
        assert_eq!(cfg.lr, 0.01);
        assert_eq!(cfg.model.arch, Arch::EfficientNetLite0);
        assert_eq!(cfg.model.freeze, Freeze::AllButLast(2));
        assert_eq!(cfg.model.out_dim, 400, "defaults fill the rest");
        assert_eq!(
            cfg.mining,
            Mining::GloveBand {
                max_similarity: 0.8
            }
        );
        assert_eq!(cfg.loss.kind, LossKind::CrossEntropy);
        assert!(toml::from_str::<TrainConfig>("learning_rate = 0.1").is_err());
        let back: TrainConfig =
            toml::from_str(&toml::to_string(&cfg).expect("write")).expect("reparse");
        assert_eq!(back.model, cfg.model);
    }

    #[test]
    fn arch_names_as_users_write_them_and_the_old_spellings() {
        for (name, arch) in [
            ("small_cnn", Arch::SmallCnn),
            ("resnet18", Arch::ResNet18),
            ("res_net18", Arch::ResNet18),
            ("efficientnet_lite0", Arch::EfficientNetLite0),
            ("efficient_net_lite0", Arch::EfficientNetLite0),
            ("efficientnet_lite1", Arch::EfficientNetLite1),
            ("efficientnet_lite2", Arch::EfficientNetLite2),
        ] {
            let cfg: TrainConfig =
                toml::from_str(&format!("[model]\narch = {name:?}\n")).expect(name);
            assert_eq!(cfg.model.arch, arch, "{name}");
        }
        let written = toml::to_string(&TrainConfig {
            model: ModelConfig {
                arch: Arch::ResNet18,
                ..ModelConfig::default()
            },
            ..TrainConfig::default()
        })
        .expect("write");
        assert!(written.contains("arch = \"resnet18\""), "{written}");
    }
}
