//! EfficientNet-Lite0, ported by hand (tch has no Lite variant).
//!
//! Lite = EfficientNet-B0 without squeeze-excitation, ReLU6 instead of swish, a fixed 32-channel
//! stem and 1280-channel head. BatchNorm eps 1e-3 (momentum 0.01 = TF's 0.99). Inputs
//! `(x - 127) / 128`. Variable names are those of `efficientnet-lite0-57934424.pth`
//! (`_conv_stem`, `_bn0`, `_blocks.N._expand_conv`, ..., `_conv_head`, `_bn1`, `_fc`).
//! Not ported: drop-connect and the dropout before `_fc` (training-time regularisers only).
use super::{Backbone, InputNorm, Phase, Stage};
use crate::config::Padding;
use tch::nn;
use tch::Tensor;

const BN_EPS: f64 = 1e-3;
const BN_MOMENTUM: f64 = 0.01;
const STEM_CHANNELS: i64 = 32;
const HEAD_CHANNELS: i64 = 1280;
const IMAGENET_CLASSES: i64 = 1000;

/// One stage of block arguments: repeats, kernel, stride, expansion, in, out (B0's
/// `r1_k3_s1_e1_i32_o16`, ...): 16 blocks in all.
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

/// EfficientNet-Lite0 without `_fc`: stem, 16 MBConv blocks, head conv (18 stages), 1280 features.
pub(crate) fn efficientnet_lite0(p: &nn::Path, padding: Padding) -> Backbone {
    let mut stages = vec![Stage {
        prefixes: vec!["_conv_stem".into(), "_bn0".into()],
        module: conv_bn_relu6(
            Conv::new(p / "_conv_stem", 3, STEM_CHANNELS, 3, 2, 1, padding),
            bn(p / "_bn0", STEM_CHANNELS),
        ),
    }];
    let mut index = 0usize;
    for a in &BLOCKS {
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
    let last = BLOCKS[BLOCKS.len() - 1].c_out;
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
pub struct EfficientNetLite0 {
    backbone: Backbone,
    fc: nn::Linear,
}

impl EfficientNetLite0 {
    /// Creates the variables under `p` (load the weights into the var store afterwards).
    pub fn new(p: &nn::Path, padding: Padding) -> Self {
        Self {
            backbone: efficientnet_lite0(p, padding),
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
        let net = EfficientNetLite0::new(&vs.root(), Padding::Symmetric);
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
}
