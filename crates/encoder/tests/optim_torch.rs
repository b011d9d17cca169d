//! webly's Adam and SGD ([`webly_encoder::optim`]) against torch.optim, step for step: the same
//! parameters, loss and settings give the values PyTorch 2.13.0 printed, to 1e-6.
//!
//! The reference values come from this script (torch 2.13.0, CPU, float32), rounded to 8 digits:
//!
//! ```python
//! import torch
//! def run(make, steps=5, clip=None):
//!     w = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=torch.float32, requires_grad=True)
//!     b = torch.tensor([0.1, -0.2], dtype=torch.float32, requires_grad=True)
//!     x = torch.tensor([1.0, 2.0, -1.0], dtype=torch.float32)
//!     y = torch.tensor([0.3, -0.6], dtype=torch.float32)
//!     opt = make([w, b])
//!     for i in range(steps):
//!         opt.zero_grad()
//!         out = w @ (x * (i + 1)) + b
//!         loss = ((out - y) ** 2).sum() + (w ** 3).sum() * 0.01
//!         loss.backward()
//!         if clip is not None:
//!             torch.nn.utils.clip_grad_norm_([w, b], clip)
//!         opt.step()
//!     return [round(v, 8) for v in w.detach().flatten().tolist() + b.detach().tolist()]
//! print("adam", run(lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.9, 0.99), weight_decay=0.01)))
//! print("adam_clip", run(lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.9, 0.999), weight_decay=0.0), clip=1.0))
//! print("sgd", run(lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, weight_decay=0.001)))
//! print("sgd_nesterov", run(lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.8, nesterov=True, weight_decay=0.0)))
//! print("sgd_plain", run(lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.0, weight_decay=0.01)))
//! ```
use tch::{nn::VarStore, Device, Kind, Tensor};
use webly_encoder::optim::Optimizer;
use webly_encoder::OptimizerKind;

const STEPS: usize = 5;
/// Relative to the value (at least 1): a few float32 ulps, as the order of float32 operations
/// inside a kernel (fused multiply-add or not) may differ from PyTorch's.
/// Relative to the value (at least 1): a few float32 ulps, as the order of float32 operations
/// inside a kernel (fused multiply-add or not) may differ from PyTorch's, and the Nesterov case
/// grows (its gradients scale with the step) so those ulps grow with it.
const TOLERANCE: f64 = 1e-6;

fn params(vs: &VarStore) -> (Tensor, Tensor) {
    let w = Tensor::from_slice(&[0.5f32, -1.0, 2.0, 1.5, 0.25, -0.75]).view([2, 3]);
    let b = Tensor::from_slice(&[0.1f32, -0.2]);
    (vs.root().var_copy("w", &w), vs.root().var_copy("b", &b))
}

fn loss(w: &Tensor, b: &Tensor, i: usize) -> Tensor {
    let x = Tensor::from_slice(&[1.0f32, 2.0, -1.0]) * (i + 1) as f64;
    let y = Tensor::from_slice(&[0.3f32, -0.6]);
    let out = w.matmul(&x) + b;
    (out - y).pow_tensor_scalar(2).sum(Kind::Float) + w.pow_tensor_scalar(3).sum(Kind::Float) * 0.01
}

fn values(w: &Tensor, b: &Tensor) -> Vec<f64> {
    let t = Tensor::cat(&[w.flatten(0, -1), b.shallow_clone()], 0).to_kind(Kind::Double);
    Vec::<f64>::try_from(&t).expect("values")
}

/// Runs [`STEPS`] steps; at step `split`, when given, the optimiser is replaced by a new one
/// restoring the old one's state.
fn run(kind: OptimizerKind, lr: f64, wd: f64, clip: Option<f64>, split: Option<usize>) -> Vec<f64> {
    let vs = VarStore::new(Device::Cpu);
    let (w, b) = params(&vs);
    let mut opt = Optimizer::new(kind, &vs, lr, wd);
    for i in 0..STEPS {
        if split == Some(i) {
            // A checkpoint and a fresh optimiser restoring it: the run continues unchanged.
            let state: Vec<(String, Tensor)> = opt
                .state()
                .into_iter()
                .map(|(n, t)| (n, t.copy()))
                .collect();
            opt = Optimizer::new(kind, &vs, lr, wd);
            opt.restore(&state).expect("restore");
        }
        opt.backward_step(&loss(&w, &b, i), clip);
    }
    values(&w, &b)
}

fn assert_close(name: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() < TOLERANCE * w.abs().max(1.0),
            "{name}[{k}]: {g} vs torch {w}\n{got:?}"
        );
    }
}

/// Name, optimiser, learning rate, weight decay, gradient clip, torch's final values.
type Case = (&'static str, OptimizerKind, f64, f64, Option<f64>, [f64; 8]);

#[test]
fn adam_and_sgd_follow_torch_optim_step_for_step() {
    let adam = |beta1, beta2| OptimizerKind::Adam { beta1, beta2 };
    let sgd = |momentum, nesterov| OptimizerKind::Sgd { momentum, nesterov };
    let cases: [Case; 5] = [
        (
            "adam",
            adam(0.9, 0.99),
            0.05,
            0.01,
            None,
            [
                0.72681808,
                -0.77317941,
                1.77297628,
                1.27160597,
                0.0217375,
                -0.52175695,
                0.34468338,
                -0.44591859,
            ],
        ),
        (
            "adam_clip",
            adam(0.9, 0.999),
            0.05,
            0.0,
            Some(1.0),
            [
                0.75062901,
                -0.74936759,
                1.74942851,
                1.2500695,
                6.77e-06,
                -0.49999014,
                0.32396135,
                -0.42069727,
            ],
        ),
        (
            "sgd",
            sgd(0.9, false),
            0.01,
            0.001,
            None,
            [
                0.6181044,
                -0.76028645,
                1.86672115,
                1.39998162,
                0.06231268,
                -0.65803683,
                0.64151591,
                -0.6444962,
            ],
        ),
        (
            "sgd_nesterov",
            sgd(0.8, true),
            0.01,
            0.0,
            None,
            [
                2.29753923,
                2.59944296,
                0.18685053,
                0.06792121,
                -2.6016891,
                0.67398733,
                0.85667717,
                -0.81228518,
            ],
        ),
        (
            "sgd_plain",
            sgd(0.0, false),
            0.01,
            0.01,
            None,
            [
                1.12664878,
                0.25587782,
                1.36667156,
                0.99348605,
                -0.75720417,
                -0.24667829,
                0.39453688,
                -0.4392091,
            ],
        ),
    ];
    for (name, kind, lr, wd, clip, want) in cases {
        assert_close(name, &run(kind, lr, wd, clip, None), &want);
        // Saved after 2 steps and restored into a new optimiser: the same end, bit for bit.
        let whole = run(kind, lr, wd, clip, None);
        let resumed = run(kind, lr, wd, clip, Some(2));
        assert_eq!(whole, resumed, "{name}: restored state changes the run");
    }
}

#[test]
fn a_state_of_another_optimizer_or_parameter_is_refused() {
    let vs = VarStore::new(Device::Cpu);
    let (w, b) = params(&vs);
    let adam = OptimizerKind::Adam {
        beta1: 0.9,
        beta2: 0.999,
    };
    let mut opt = Optimizer::new(adam, &vs, 0.01, 0.0);
    opt.backward_step(&loss(&w, &b, 0), None);
    let state = opt.state();
    assert_eq!(state.len(), 6, "two moments and a step count per parameter");
    let sgd = OptimizerKind::Sgd {
        momentum: 0.9,
        nesterov: false,
    };
    assert!(Optimizer::new(sgd, &vs, 0.01, 0.0).restore(&state).is_err());
    let other = VarStore::new(Device::Cpu);
    let _ = other
        .root()
        .var_copy("v", &Tensor::zeros([2], (Kind::Float, Device::Cpu)));
    assert!(Optimizer::new(adam, &other, 0.01, 0.0)
        .restore(&state)
        .is_err());
}
