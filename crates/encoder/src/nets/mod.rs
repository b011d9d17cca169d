//! Backbones as a list of stages, so that freezing "all but the last N" is a stage count.
mod efficientnet;
mod resnet;
mod small_cnn;

pub(crate) use efficientnet::efficientnet_lite;
pub use efficientnet::EfficientNetLite;
pub(crate) use resnet::resnet18;
pub(crate) use small_cnn::small_cnn;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tch::nn::{FuncT, ModuleT};
use tch::Tensor;

/// How a backbone wants its 0..=255 RGB input scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputNorm {
    /// `(x/255 - mean) / std` with ImageNet's mean and std (torchvision models).
    ImageNet,
    /// `(x - 127) / 128` (EfficientNet-Lite, as its TF original).
    Lite,
}

/// ImageNet channel means and standard deviations (torchvision).
const IMAGENET_MEAN: [f64; 3] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [f64; 3] = [0.229, 0.224, 0.225];
/// EfficientNet-Lite's input centre and scale.
const LITE_CENTRE: f64 = 127.0;
const LITE_SCALE: f64 = 128.0;
const PIXEL_MAX: f64 = 255.0;

impl InputNorm {
    /// Scales a `[n, 3, h, w]` batch of 0..=255 values.
    pub fn apply(self, xs: &Tensor) -> Tensor {
        match self {
            InputNorm::ImageNet => {
                let opts = (xs.kind(), xs.device());
                let mean = Tensor::from_slice(&IMAGENET_MEAN)
                    .to_kind(opts.0)
                    .to_device(opts.1);
                let std = Tensor::from_slice(&IMAGENET_STD)
                    .to_kind(opts.0)
                    .to_device(opts.1);
                (xs / PIXEL_MAX - mean.view([1, 3, 1, 1])) / std.view([1, 3, 1, 1])
            }
            InputNorm::Lite => (xs - LITE_CENTRE) / LITE_SCALE,
        }
    }
}

/// One freezable unit of a backbone: its variable-name prefixes and its function.
pub(crate) struct Stage {
    pub prefixes: Vec<String>,
    pub module: FuncT<'static>,
}

/// A backbone: input scaling, stages, global average pool to `features` values.
pub(crate) struct Backbone {
    pub input: InputNorm,
    pub stages: Vec<Stage>,
    pub features: i64,
    /// Set when the stages evaluate in the mirrored frame: the image turned by 180 degrees
    /// (height and width reversed), as EfficientNet-Lite's TF SAME padding does without a
    /// padding pass (see `nets::efficientnet`). Evaluation then reverses the input and, when it
    /// ends before the pool, the activation it returns; the pool does not depend on the frame.
    pub eval_mirrored: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for Backbone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backbone")
            .field("input", &self.input)
            .field("stages", &self.stages.len())
            .field("features", &self.features)
            .field("eval_mirrored", &self.mirrored())
            .finish()
    }
}

/// Whether a forward pass trains (BatchNorm uses and updates batch statistics, dropout drops)
/// or evaluates (running statistics, no dropout): tch's `train` flag of `forward_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Training mode.
    Train,
    /// Evaluation mode.
    Eval,
}

impl Phase {
    /// tch's `train` flag.
    pub fn is_train(self) -> bool {
        self == Phase::Train
    }
}

impl Backbone {
    /// Features `[n, features]`; stage `i` runs in training mode only when `phase` is
    /// [`Phase::Train`] and `i >= frozen` (frozen stages keep BatchNorm in eval mode). Equals
    /// `suffix(&prefix(xs, frozen), frozen, phase)`.
    pub fn forward(&self, xs: &Tensor, phase: Phase, frozen: usize) -> Tensor {
        self.suffix(&self.prefix(xs, frozen), frozen, phase)
    }

    /// The activation at the freeze boundary: input scaling and the first `upto` stages in eval
    /// mode, `[n, c, h, w]`; when `upto` covers every stage, the pooled features `[n, features]`.
    pub fn prefix(&self, xs: &Tensor, upto: usize) -> Tensor {
        let mirrored = self.mirrored();
        let x = self.input.apply(xs);
        let mut x = channels_last(&if mirrored { turn(&x) } else { x });
        for stage in &self.stages[..upto.min(self.stages.len())] {
            x = stage.module.forward_t(&x, false);
        }
        if upto >= self.stages.len() {
            pool(&x)
        } else if mirrored {
            channels_last(&turn(&x))
        } else {
            x
        }
    }

    /// Whether evaluation runs in the mirrored frame (`eval_mirrored`).
    fn mirrored(&self) -> bool {
        self.eval_mirrored
            .as_ref()
            .is_some_and(|m| m.load(Ordering::Relaxed))
    }

    /// The rest after [`Backbone::prefix`]: stages `from..` (in `phase`) and the global average
    /// pool, `[n, features]`.
    pub fn suffix(&self, boundary: &Tensor, from: usize, phase: Phase) -> Tensor {
        if from >= self.stages.len() {
            return boundary.shallow_clone();
        }
        let mut x = if phase == Phase::Eval && self.mirrored() {
            channels_last(&turn(boundary))
        } else {
            boundary.shallow_clone()
        };
        for stage in &self.stages[from..] {
            x = stage.module.forward_t(&x, phase.is_train());
        }
        pool(&x)
    }
}

/// `[n, c, h, w]` turned by 180 degrees (height and width reversed): its own inverse.
fn turn(x: &Tensor) -> Tensor {
    x.flip([2, 3])
}

/// The same values in channels-last (NHWC) strides. libtorch's CPU convolutions (oneDNN) then
/// keep that layout from layer to layer, which runs EfficientNet-Lite0 1.3-2x faster than the
/// default NCHW (PyTorch's `channels_last` memory format; measured at 128 and 224 px on 2 cores,
/// `make bench`); the values equal NCHW's to float rounding.
fn channels_last(x: &Tensor) -> Tensor {
    if x.dim() == 4 {
        x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
    } else {
        x.shallow_clone()
    }
}

/// Global average pool `[n, c, h, w]` -> `[n, c]`.
fn pool(x: &Tensor) -> Tensor {
    x.adaptive_avg_pool2d([1, 1]).flat_view()
}

/// True when the variable `name` belongs under `prefix` (whole dotted components).
pub(crate) fn under(name: &str, prefix: &str) -> bool {
    name == prefix || (name.starts_with(prefix) && name[prefix.len()..].starts_with('.'))
}
