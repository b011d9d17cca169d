//! ResNet-18 as stages, with torchvision's variable names (so torchvision weights load and the
//! network equals `tch::vision::resnet::resnet18_no_final_layer`: see the test).
use super::{Backbone, InputNorm, Stage};
use tch::nn;

const STEM_CHANNELS: i64 = 64;
/// (channels, stride of the first block) of layer1..layer4; two basic blocks each.
const LAYERS: [(i64, i64); 4] = [(64, 1), (128, 2), (256, 2), (512, 2)];
const BLOCKS_PER_LAYER: usize = 2;

fn conv(p: nn::Path, c_in: i64, c_out: i64, k: i64, padding: i64, stride: i64) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding,
        bias: false,
        ..Default::default()
    };
    nn::conv2d(p, c_in, c_out, k, cfg)
}

fn stem(p: &nn::Path) -> nn::FuncT<'static> {
    let conv1 = conv(p / "conv1", 3, STEM_CHANNELS, 7, 3, 2);
    let bn1 = nn::batch_norm2d(p / "bn1", STEM_CHANNELS, Default::default());
    nn::func_t(move |xs, train| {
        xs.apply(&conv1).apply_t(&bn1, train).relu().max_pool2d(
            [3, 3],
            [2, 2],
            [1, 1],
            [1, 1],
            false,
        )
    })
}

fn basic_block(p: nn::Path, c_in: i64, c_out: i64, stride: i64) -> nn::FuncT<'static> {
    let conv1 = conv(&p / "conv1", c_in, c_out, 3, 1, stride);
    let bn1 = nn::batch_norm2d(&p / "bn1", c_out, Default::default());
    let conv2 = conv(&p / "conv2", c_out, c_out, 3, 1, 1);
    let bn2 = nn::batch_norm2d(&p / "bn2", c_out, Default::default());
    let down = (stride != 1 || c_in != c_out).then(|| {
        let d = &p / "downsample";
        (
            conv(&d / "0", c_in, c_out, 1, 0, stride),
            nn::batch_norm2d(&d / "1", c_out, Default::default()),
        )
    });
    nn::func_t(move |xs, train| {
        let ys = xs
            .apply(&conv1)
            .apply_t(&bn1, train)
            .relu()
            .apply(&conv2)
            .apply_t(&bn2, train);
        let skip = match &down {
            Some((c, bn)) => xs.apply(c).apply_t(bn, train),
            None => xs.shallow_clone(),
        };
        (skip + ys).relu()
    })
}

/// ResNet-18 without its final layer: stem + 8 basic blocks, 512 features.
pub(crate) fn resnet18(p: &nn::Path) -> Backbone {
    let mut stages = vec![Stage {
        prefixes: vec!["conv1".into(), "bn1".into()],
        module: stem(p),
    }];
    let mut c_in = STEM_CHANNELS;
    for (l, &(c_out, stride)) in LAYERS.iter().enumerate() {
        let layer = format!("layer{}", l + 1);
        for b in 0..BLOCKS_PER_LAYER {
            let s = if b == 0 { stride } else { 1 };
            stages.push(Stage {
                prefixes: vec![format!("{layer}.{b}")],
                module: basic_block(p / layer.as_str() / b, c_in, c_out, s),
            });
            c_in = c_out;
        }
    }
    Backbone {
        input: InputNorm::ImageNet,
        stages,
        features: c_in,
        eval_mirrored: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::Phase;
    use tch::{nn::ModuleT, Device, Kind, Tensor};

    // Our stage-wise ResNet-18 must compute exactly what tch's own resnet18_no_final_layer
    // computes with the same weights (names match, so VarStore::copy works): any wiring mistake
    // (skip, stride, pool) changes the output.
    #[test]
    fn equals_tch_resnet18() {
        tch::manual_seed(3);
        let vs_ours = nn::VarStore::new(Device::Cpu);
        let ours = resnet18(&vs_ours.root());
        // Non-trivial BN statistics, so eval mode is exercised.
        for (name, t) in vs_ours.variables() {
            if name.ends_with("running_mean") || name.ends_with("running_var") {
                tch::no_grad(|| {
                    let mut t = t;
                    t.copy_(&(Tensor::rand_like(&t) + 0.5));
                });
            }
        }
        let mut vs_tch = nn::VarStore::new(Device::Cpu);
        let theirs = tch::vision::resnet::resnet18_no_final_layer(&vs_tch.root());
        vs_tch.copy(&vs_ours).expect("same variable names");
        let x = Tensor::rand([2, 3, 64, 64], (Kind::Float, Device::Cpu)) * 255.0;
        for (train, phase) in [(false, Phase::Eval), (true, Phase::Train)] {
            let a = tch::no_grad(|| ours.forward(&x, phase, 0));
            // Feed tch's net the same normalised input ours computes internally.
            let xn = InputNorm::ImageNet.apply(&x);
            let b = tch::no_grad(|| theirs.forward_t(&xn, train));
            let diff = (a - b).abs().max().double_value(&[]);
            assert!(diff < 1e-4, "train={train}: max diff {diff}");
        }
    }
}
