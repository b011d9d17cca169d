//! Adam and SGD over a VarStore's trainable tensors, with their state (Adam's moments and step
//! count, SGD's momentum buffers) readable and restorable, so that a resumed training continues
//! exactly where it stopped. tch's optimisers keep that state inside libtorch, out of reach.
//!
//! The update rules are torch.optim's (PyTorch 2.x, single-tensor path), as `weight_decay`
//! means there: L2 added to the gradient (`grad + weight_decay * param`), not AdamW's decoupled
//! decay. `tests/optim_torch.rs` checks them step for step against torch.optim.
use std::collections::BTreeMap;

use tch::{nn::VarStore, Tensor};

use crate::config::OptimizerKind;

/// torch.optim.Adam's default epsilon (added to the bias-corrected RMS).
pub const ADAM_EPS: f64 = 1e-8;
/// torch.nn.utils.clip_grad_norm_'s guard against a zero norm.
const CLIP_EPS: f64 = 1e-6;

/// Prefixes of the state tensors in [`Optimizer::state`]'s names.
const EXP_AVG: &str = "adam.exp_avg.";
const EXP_AVG_SQ: &str = "adam.exp_avg_sq.";
const STEP: &str = "adam.step.";
const MOMENTUM: &str = "sgd.momentum_buffer.";

/// Per-parameter state.
#[derive(Debug)]
enum Slot {
    Adam {
        exp_avg: Tensor,
        exp_avg_sq: Tensor,
        step: i64,
    },
    Sgd {
        buf: Tensor,
    },
}

/// An optimiser over the trainable variables of a VarStore (those with `requires_grad`).
#[derive(Debug)]
pub struct Optimizer {
    kind: OptimizerKind,
    lr: f64,
    weight_decay: f64,
    /// Trainable variables by VarStore name (shallow clones: updates reach the store).
    params: BTreeMap<String, Tensor>,
    /// Created at a parameter's first update, as torch.optim creates it.
    slots: BTreeMap<String, Slot>,
}

impl Optimizer {
    /// An optimiser over `vs`'s variables that require gradients (frozen ones are left out).
    pub fn new(kind: OptimizerKind, vs: &VarStore, lr: f64, weight_decay: f64) -> Self {
        let params = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        Optimizer {
            kind,
            lr,
            weight_decay,
            params,
            slots: BTreeMap::new(),
        }
    }

    /// Sets the learning rate of the next steps.
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Clears the gradients, backpropagates `loss`, optionally clips the gradients' global L2
    /// norm to `clip` (torch.nn.utils.clip_grad_norm_), and updates the parameters.
    pub fn backward_step(&mut self, loss: &Tensor, clip: Option<f64>) {
        self.zero_grad();
        loss.backward();
        if let Some(max) = clip {
            self.clip_grad_norm(max);
        }
        self.step();
    }

    /// Zeroes the parameters' gradients.
    pub fn zero_grad(&mut self) {
        for p in self.params.values_mut() {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.detach_().zero_();
            }
        }
    }

    fn clip_grad_norm(&mut self, max: f64) {
        let grads: Vec<Tensor> = self
            .params
            .values()
            .map(Tensor::grad)
            .filter(Tensor::defined)
            .collect();
        if grads.is_empty() {
            return;
        }
        let norms: Vec<Tensor> = grads.iter().map(|g| g.norm()).collect();
        let total = Tensor::stack(&norms, 0).norm().double_value(&[]);
        let coef = (max / (total + CLIP_EPS)).min(1.0);
        tch::no_grad(|| {
            for mut g in grads {
                let _ = g.g_mul_scalar_(coef);
            }
        });
    }

    /// One update of every parameter that has a gradient (torch.optim's rules).
    pub fn step(&mut self) {
        let (lr, wd) = (self.lr, self.weight_decay);
        tch::no_grad(|| {
            for (name, p) in self.params.iter_mut() {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let g = if wd != 0.0 { &g + &*p * wd } else { g };
                let slot = self.slots.get_mut(name);
                match (self.kind, slot) {
                    (OptimizerKind::Adam { .. }, None) => {
                        let slot = Slot::Adam {
                            exp_avg: p.zeros_like(),
                            exp_avg_sq: p.zeros_like(),
                            step: 0,
                        };
                        self.slots.insert(name.clone(), slot);
                    }
                    (OptimizerKind::Sgd { momentum, .. }, None) if momentum != 0.0 => {
                        // torch: the first buffer is the gradient itself.
                        self.slots.insert(
                            name.clone(),
                            Slot::Sgd {
                                buf: g.detach().copy(),
                            },
                        );
                        let slot = self.slots.get_mut(name).map(|s| (s, true));
                        sgd(p, &g, lr, self.kind, slot);
                        continue;
                    }
                    (OptimizerKind::Sgd { .. }, slot) => {
                        sgd(p, &g, lr, self.kind, slot.map(|s| (s, false)));
                        continue;
                    }
                    _ => {}
                }
                if let (OptimizerKind::Adam { beta1, beta2 }, Some(slot)) =
                    (self.kind, self.slots.get_mut(name))
                {
                    adam(p, &g, lr, beta1, beta2, slot);
                }
            }
        });
    }

    /// The optimiser's state as named tensors (moments, momentum buffers, Adam's step counts as
    /// int64 scalars), for a checkpoint.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (name, slot) in &self.slots {
            match slot {
                Slot::Adam {
                    exp_avg,
                    exp_avg_sq,
                    step,
                } => {
                    out.push((format!("{EXP_AVG}{name}"), exp_avg.shallow_clone()));
                    out.push((format!("{EXP_AVG_SQ}{name}"), exp_avg_sq.shallow_clone()));
                    out.push((format!("{STEP}{name}"), Tensor::from(*step)));
                }
                Slot::Sgd { buf } => out.push((format!("{MOMENTUM}{name}"), buf.shallow_clone())),
            }
        }
        out
    }

    /// Restores a state written by [`Optimizer::state`]; names of other optimisers or of
    /// unknown parameters are errors (a checkpoint of another run).
    ///
    /// # Errors
    /// The first name that does not belong to this optimiser, or a shape that differs.
    pub fn restore(&mut self, named: &[(String, Tensor)]) -> Result<(), String> {
        let mut slots = BTreeMap::new();
        let device = self.params.values().next().map(Tensor::device);
        let get = |prefix: &str, name: &str| -> Option<Tensor> {
            named
                .iter()
                .find(|(n, _)| n.strip_prefix(prefix) == Some(name))
                .map(|(_, t)| match device {
                    Some(d) => t.to_device(d),
                    None => t.shallow_clone(),
                })
        };
        for (n, _) in named {
            let param = [EXP_AVG, EXP_AVG_SQ, STEP, MOMENTUM]
                .iter()
                .find_map(|p| n.strip_prefix(p))
                .ok_or_else(|| format!("{n}: not an optimizer state"))?;
            let Some(p) = self.params.get(param) else {
                return Err(format!("{n}: no trainable parameter {param}"));
            };
            if slots.contains_key(param) {
                continue;
            }
            let same = |t: &Tensor| t.size() == p.size();
            let slot = match self.kind {
                OptimizerKind::Adam { .. } => {
                    let (Some(m), Some(v), Some(s)) = (
                        get(EXP_AVG, param),
                        get(EXP_AVG_SQ, param),
                        get(STEP, param),
                    ) else {
                        return Err(format!("{param}: Adam state incomplete"));
                    };
                    if !same(&m) || !same(&v) {
                        return Err(format!("{param}: moments of another shape"));
                    }
                    Slot::Adam {
                        exp_avg: m,
                        exp_avg_sq: v,
                        step: s.int64_value(&[]),
                    }
                }
                OptimizerKind::Sgd { .. } => {
                    let buf =
                        get(MOMENTUM, param).ok_or_else(|| format!("{param}: not an SGD state"))?;
                    if !same(&buf) {
                        return Err(format!("{param}: momentum of another shape"));
                    }
                    Slot::Sgd { buf }
                }
            };
            slots.insert(param.to_string(), slot);
        }
        self.slots = slots;
        Ok(())
    }
}

/// torch.optim.Adam (amsgrad off) on one parameter; `g` has the weight decay added.
fn adam(p: &mut Tensor, g: &Tensor, lr: f64, beta1: f64, beta2: f64, slot: &mut Slot) {
    let Slot::Adam {
        exp_avg,
        exp_avg_sq,
        step,
    } = slot
    else {
        return;
    };
    *step += 1;
    let _ = exp_avg.lerp_(g, 1.0 - beta1);
    let _ = exp_avg_sq.g_mul_scalar_(beta2);
    let _ = exp_avg_sq.addcmul_(&(g * (1.0 - beta2)), g);
    let t = i32::try_from(*step).unwrap_or(i32::MAX);
    let bias1 = 1.0 - beta1.powi(t);
    let bias2 = 1.0 - beta2.powi(t);
    let denom = exp_avg_sq.sqrt() / bias2.sqrt() + ADAM_EPS;
    let _ = p.addcdiv_(&(&*exp_avg * (-lr / bias1)), &denom);
}

/// torch.optim.SGD (dampening 0) on one parameter; `slot` is the momentum buffer and whether
/// it was created by this step (then it already holds `g`).
fn sgd(p: &mut Tensor, g: &Tensor, lr: f64, kind: OptimizerKind, slot: Option<(&mut Slot, bool)>) {
    let OptimizerKind::Sgd { momentum, nesterov } = kind else {
        return;
    };
    let d = match slot {
        Some((Slot::Sgd { buf }, fresh)) if momentum != 0.0 => {
            if !fresh {
                let _ = buf.g_mul_scalar_(momentum);
                let _ = buf.g_add_(g);
            }
            if nesterov {
                g + &*buf * momentum
            } else {
                buf.shallow_clone()
            }
        }
        _ => g.shallow_clone(),
    };
    let _ = p.g_add_(&(d * (-lr)));
}
