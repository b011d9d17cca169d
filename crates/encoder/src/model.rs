//! The image network: backbone + projection head, built in a var store, with freezing,
//! pretrained weights and the output transform.
use crate::config::{Arch, Freeze, HeadInit, HeadKind, LiteVariant, ModelConfig, SMALL_INIT_GAIN};
use crate::error::{torch, EncoderError};
use crate::nets::{efficientnet_lite, resnet18, small_cnn, under, Backbone, Phase};
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::Tensor;

/// Name of the projection head's variables.
const HEAD: &str = "proj";
/// Norm floor of the L2 normalisation.
const NORM_EPS: f64 = 1e-12;

/// How the head's raw output becomes the embedding used for retrieval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// The raw output, L2-normalised when `normalize_output` (ranking losses, MSE).
    #[default]
    Direct,
    /// Cross-entropy models: `sigmoid(raw)` minus its own mean over dimensions (this undoes the
    /// per-vector \[0,1\] scaling of the targets up to a scale), then L2-normalised.
    SigmoidCentred,
}

/// The projection head.
#[derive(Debug)]
enum Head {
    Linear(nn::Linear),
    Mlp(nn::Linear, nn::Linear),
}

/// The output layer's initialisation (hidden layers keep tch's default).
fn output_layer(init: HeadInit, fan_in: i64) -> nn::LinearConfig {
    match init {
        HeadInit::KaimingUniform => Default::default(),
        HeadInit::Small => nn::LinearConfig {
            ws_init: nn::Init::Randn {
                mean: 0.0,
                stdev: SMALL_INIT_GAIN / (fan_in as f64).sqrt(),
            },
            bs_init: Some(nn::Init::Const(0.0)),
            bias: true,
        },
    }
}

impl Head {
    fn new(p: nn::Path, kind: HeadKind, init: HeadInit, features: i64, out_dim: i64) -> Self {
        match kind {
            HeadKind::Linear => Head::Linear(nn::linear(
                p,
                features,
                out_dim,
                output_layer(init, features),
            )),
            HeadKind::Mlp { hidden } => Head::Mlp(
                nn::linear(&p / "fc1", features, hidden, Default::default()),
                nn::linear(&p / "fc2", hidden, out_dim, output_layer(init, hidden)),
            ),
        }
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        match self {
            Head::Linear(l) => xs.apply(l),
            Head::Mlp(a, b) => b.forward(&a.forward(xs).relu()),
        }
    }
}

/// Refuses an ensemble of no heads (`model.members` = 0).
pub(crate) fn check_member_count(members: usize) -> Result<(), EncoderError> {
    if members == 0 {
        return Err(EncoderError::Config(
            "model.members must be at least 1".into(),
        ));
    }
    Ok(())
}

/// L2-normalises each row.
pub(crate) fn l2_normalize(xs: &Tensor) -> Tensor {
    xs / xs.norm_scalaropt_dim(2, [1], true).clamp_min(NORM_EPS)
}

/// Backbone + head (or an ensemble of heads: [`ModelConfig::members`]). Build it with
/// [`Network::build`].
#[derive(Debug)]
pub struct Network {
    backbone: Backbone,
    /// One head (variables `proj.*`), or the ensemble's members (`proj.0.*`, `proj.1.*`, ...).
    heads: Vec<Head>,
    cfg: ModelConfig,
    frozen: usize,
}

impl Network {
    /// Creates the variables under `p` (no weights loaded, nothing frozen).
    pub fn new(p: &nn::Path, cfg: &ModelConfig) -> Result<Self, EncoderError> {
        if cfg.out_dim <= 0 {
            return Err(EncoderError::Config(format!(
                "model.out_dim must be > 0, got {}",
                cfg.out_dim
            )));
        }
        let backbone = match cfg.arch {
            Arch::SmallCnn => {
                if cfg.small_cnn_widths.is_empty() {
                    return Err(EncoderError::Config(
                        "model.small_cnn_widths is empty".into(),
                    ));
                }
                small_cnn(p, &cfg.small_cnn_widths)
            }
            Arch::ResNet18 => resnet18(p),
            Arch::EfficientNetLite0 => efficientnet_lite(p, LiteVariant::Lite0, cfg.padding),
            Arch::EfficientNetLite1 => efficientnet_lite(p, LiteVariant::Lite1, cfg.padding),
            Arch::EfficientNetLite2 => efficientnet_lite(p, LiteVariant::Lite2, cfg.padding),
        };
        let frozen = match cfg.freeze {
            Freeze::None => 0,
            Freeze::Backbone => backbone.stages.len(),
            Freeze::AllButLast(n) => backbone.stages.len().saturating_sub(n),
        };
        check_member_count(cfg.members)?;
        let head =
            |p: nn::Path| Head::new(p, cfg.head, cfg.head_init, backbone.features, cfg.out_dim);
        let heads = if cfg.members == 1 {
            vec![head(p / HEAD)]
        } else {
            (0..cfg.members).map(|k| head(p / HEAD / k)).collect()
        };
        Ok(Self {
            backbone,
            heads,
            cfg: cfg.clone(),
            frozen,
        })
    }

    /// Builds the network in `vs`, loads `cfg.pretrained` (backbone variables; the head stays
    /// fresh) and freezes the first stages (`requires_grad = false`, BatchNorm in eval mode).
    pub fn build(vs: &mut nn::VarStore, cfg: &ModelConfig) -> Result<Self, EncoderError> {
        let net = Self::new(&vs.root(), cfg)?;
        if let Some(path) = &cfg.pretrained {
            let missing = vs.load_partial(path).map_err(torch(format!(
                "loading pretrained weights {}",
                path.display()
            )))?;
            let backbone_missing: Vec<_> = missing.iter().filter(|n| !under(n, HEAD)).collect();
            if !backbone_missing.is_empty() {
                return Err(EncoderError::Config(format!(
                    "pretrained weights {} lack {} backbone variables, e.g. {}",
                    path.display(),
                    backbone_missing.len(),
                    backbone_missing[0]
                )));
            }
        }
        net.apply_freeze(vs);
        Ok(net)
    }

    /// Sets `requires_grad = false` on the variables of the frozen stages.
    fn apply_freeze(&self, vs: &nn::VarStore) {
        let prefixes: Vec<&String> = self.backbone.stages[..self.frozen]
            .iter()
            .flat_map(|s| s.prefixes.iter())
            .collect();
        for (name, t) in vs.variables() {
            if prefixes.iter().any(|p| under(&name, p)) {
                let _ = t.set_requires_grad(false);
            }
        }
    }

    /// Number of frozen backbone stages (of [`Network::stages`]).
    pub fn frozen_stages(&self) -> usize {
        self.frozen
    }

    /// Number of backbone stages.
    pub fn stages(&self) -> usize {
        self.backbone.stages.len()
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// The head's raw output `[n, members * out_dim]` (the members' outputs side by side) for a
    /// `[n, 3, h, w]` batch of 0..=255 RGB.
    pub fn forward_raw(&self, xs: &Tensor, phase: Phase) -> Tensor {
        self.forward_from_boundary(&self.boundary(xs), phase)
    }

    /// The activation at the freeze boundary (the output of the frozen stages, eval mode):
    /// `[n, c, h, w]`, or the pooled features `[n, features]` when the whole backbone is frozen.
    /// It does not depend on the training mode, so it can be computed once and cached.
    pub fn boundary(&self, xs: &Tensor) -> Tensor {
        self.backbone.prefix(xs, self.frozen)
    }

    /// The head's raw output `[n, members * out_dim]` from [`Network::boundary`] activations:
    /// the learnable stages (in `phase`), the pool and the head(s).
    pub fn forward_from_boundary(&self, boundary: &Tensor, phase: Phase) -> Tensor {
        let features = self.backbone.suffix(boundary, self.frozen, phase);
        match self.heads.as_slice() {
            [head] => head.forward(&features),
            heads => Tensor::cat(
                &heads
                    .iter()
                    .map(|h| h.forward(&features))
                    .collect::<Vec<_>>(),
                1,
            ),
        }
    }

    /// The embedding `[n, out_dim]` (retrieval space) of a raw output: one head's embedding,
    /// or the mean of the members' embeddings, L2-normalised as theirs are.
    pub fn embedding(&self, raw: &Tensor, output: OutputKind) -> Tensor {
        if self.heads.len() == 1 {
            return self.member_embedding(raw, output);
        }
        let members: Vec<Tensor> = raw
            .split(self.cfg.out_dim, 1)
            .iter()
            .map(|r| self.member_embedding(r, output))
            .collect();
        let mean = Tensor::stack(&members, 0).mean_dim(0i64, false, raw.kind());
        match output {
            OutputKind::Direct if !self.cfg.normalize_output => mean,
            _ => l2_normalize(&mean),
        }
    }

    /// One head's embedding of its raw output `[n, out_dim]`.
    fn member_embedding(&self, raw: &Tensor, output: OutputKind) -> Tensor {
        match output {
            OutputKind::Direct if self.cfg.normalize_output => l2_normalize(raw),
            OutputKind::Direct => raw.shallow_clone(),
            OutputKind::SigmoidCentred => {
                let s = raw.sigmoid();
                l2_normalize(&(&s - s.mean_dim(1i64, true, s.kind())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn cfg(freeze: Freeze) -> ModelConfig {
        ModelConfig {
            out_dim: 8,
            freeze,
            small_cnn_widths: vec![4, 8, 8],
            ..Default::default()
        }
    }

    #[test]
    fn output_is_unit_norm_and_shaped() {
        let mut vs = nn::VarStore::new(Device::Cpu);
        let net = Network::build(&mut vs, &cfg(Freeze::None)).expect("build");
        let x = Tensor::rand([3, 3, 32, 32], (Kind::Float, Device::Cpu)) * 255.0;
        let e = net.embedding(&net.forward_raw(&x, Phase::Eval), OutputKind::Direct);
        assert_eq!(e.size(), [3, 8]);
        let norms = e.norm_scalaropt_dim(2, [1], false);
        assert!((norms - 1.0).abs().max().double_value(&[]) < 1e-5);
    }

    // The head's output layer: N(0, (0.01 / sqrt(fan_in))^2) with a zero bias by default,
    // tch's Kaiming uniform U(-sqrt(6 / fan_in), sqrt(6 / fan_in)) on request. The small CNN's
    // last width is the fan-in (8 here; 8 x 8 = 64 weights).
    #[test]
    fn head_init_scales() {
        let stats = |init| {
            let mut vs = nn::VarStore::new(Device::Cpu);
            tch::manual_seed(0);
            let c = ModelConfig {
                head_init: init,
                out_dim: 256,
                small_cnn_widths: vec![4, 64],
                ..cfg(Freeze::None)
            };
            Network::build(&mut vs, &c).expect("build");
            let v = vs.variables();
            let w = &v["proj.weight"];
            let b = &v["proj.bias"];
            (
                w.std(true).double_value(&[]),
                w.abs().max().double_value(&[]),
                b.abs().max().double_value(&[]),
            )
        };
        let (std, _, bias) = stats(HeadInit::Small);
        let want = SMALL_INIT_GAIN / 64f64.sqrt();
        assert!((std / want - 1.0).abs() < 0.05, "std {std} want {want}");
        assert_eq!(bias, 0.0);
        let (std, max, bias) = stats(HeadInit::KaimingUniform);
        let bound = (6.0f64 / 64.0).sqrt();
        // a uniform on [-b, b] has std b / sqrt(3)
        assert!(
            (std / (bound / 3f64.sqrt()) - 1.0).abs() < 0.05,
            "std {std}"
        );
        assert!(
            max <= bound && max > 0.95 * bound,
            "max {max} bound {bound}"
        );
        assert!(bias > 0.0);
    }

    // Freezing all but the last block: only that block's and the head's variables get gradients,
    // and frozen BatchNorm statistics do not move in a training-mode forward.
    #[test]
    fn freeze_all_but_last() {
        let mut vs = nn::VarStore::new(Device::Cpu);
        let net = Network::build(&mut vs, &cfg(Freeze::AllButLast(1))).expect("build");
        assert_eq!(net.frozen_stages(), 2);
        let before = vs.variables()["cnn.0.bn.running_mean"].copy();
        let x = Tensor::rand([4, 3, 32, 32], (Kind::Float, Device::Cpu)) * 255.0;
        net.forward_raw(&x, Phase::Train)
            .sum(Kind::Float)
            .backward();
        for (name, t) in vs.variables() {
            let learns = under(&name, "cnn.2") || under(&name, HEAD);
            if name.contains("running") {
                continue;
            }
            assert_eq!(t.grad().defined(), learns, "{name}");
        }
        assert!(vs.variables()["cnn.0.bn.running_mean"].equal(&before));
        assert!(!vs.variables()["cnn.2.bn.running_mean"]
            .equal(&Tensor::zeros([8], (Kind::Float, Device::Cpu))));
    }
}
