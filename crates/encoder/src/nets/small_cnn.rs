//! The small CPU demo CNN: conv3x3-BN-ReLU-maxpool blocks.
use super::{Backbone, InputNorm, Stage};
use tch::nn;

/// Pool size and stride of each block (halves the resolution).
const POOL: i64 = 2;
const KERNEL: i64 = 3;

/// One block: conv 3x3 (no bias) + BN + ReLU + 2x2 max-pool.
fn block(p: nn::Path, c_in: i64, c_out: i64) -> nn::FuncT<'static> {
    let conv_cfg = nn::ConvConfig {
        padding: KERNEL / 2,
        bias: false,
        ..Default::default()
    };
    let conv = nn::conv2d(&p / "conv", c_in, c_out, KERNEL, conv_cfg);
    let bn = nn::batch_norm2d(&p / "bn", c_out, Default::default());
    nn::func_t(move |xs, train| {
        xs.apply(&conv).apply_t(&bn, train).relu().max_pool2d(
            [POOL, POOL],
            [POOL, POOL],
            [0, 0],
            [1, 1],
            false,
        )
    })
}

/// The small CNN with the given block widths; variables `cnn.{i}.conv`, `cnn.{i}.bn`.
pub(crate) fn small_cnn(p: &nn::Path, widths: &[i64]) -> Backbone {
    let mut stages = Vec::with_capacity(widths.len());
    let mut c_in = 3;
    for (i, &w) in widths.iter().enumerate() {
        let prefix = format!("cnn.{i}");
        stages.push(Stage {
            prefixes: vec![prefix],
            module: block(p / "cnn" / i, c_in, w),
        });
        c_in = w;
    }
    Backbone {
        input: InputNorm::ImageNet,
        stages,
        features: c_in,
        eval_mirrored: None,
    }
}
