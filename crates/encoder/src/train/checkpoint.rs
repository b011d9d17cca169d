//! The checkpoint: `last.safetensors` holds the weights, the optimiser state under
//! [`CHECKPOINT_OPTIMIZER_PREFIX`] and the [`State`] as JSON bytes, written whole; resume reads it
//! back, and the end of a run checks `best.safetensors` against the checksum the state recorded.
use super::Run;
use crate::config::TrainConfig;
use crate::error::{io, torch, EncoderError};
use crate::files::{read_json, save_named, write_json, BEST, LAST, METRICS, STATE};
use crate::metrics::{read_metrics, write_metrics};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::{Device, Tensor};

pub(super) const OPTIMIZER_NOTE: &str =
    "the optimizer state (moments, momentum) is saved in last.safetensors and restored on resume";
/// Layout of `last.safetensors` (1: weights, optimizer state and run state in one file).
pub const CHECKPOINT_FORMAT: u32 = 1;
/// Name prefix of the optimiser state's tensors in a checkpoint.
pub const CHECKPOINT_OPTIMIZER_PREFIX: &str = "optimizer/";
/// Name of the checkpoint's tensor holding the [`State`] as JSON bytes (u8).
pub const CHECKPOINT_STATE: &str = "train_state/json";

/// `state.json`: where a run stands after its last checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// Epoch to continue in, and its next batch.
    pub epoch: usize,
    /// The next batch in `epoch` (0 at an epoch's start).
    pub batch: usize,
    /// Global steps done.
    pub step: u64,
    /// The run seed (every random draw derives from it: `crate::seeds`).
    pub seed: u64,
    /// Best validation mAP so far, `None` without validation.
    pub best_val_map: Option<f64>,
    /// The epoch of `best.safetensors` (0-based).
    pub best_epoch: Option<usize>,
    /// Training images that could not be loaded so far.
    pub skipped_images: usize,
    /// Batches skipped because no caption of the batch was a usable negative.
    #[serde(default)]
    pub skipped_batches: u64,
    /// A note for people reading `state.json`: where the optimiser state is.
    pub optimizer_note: String,
    /// The full training configuration of the run.
    pub config: TrainConfig,
    /// Layout of the checkpoint (0: weights only, before the optimizer state was saved).
    #[serde(default)]
    pub checkpoint_format: u32,
    /// Checksum of `best.safetensors` when it was written (`webly_io::checksum`): the end of a
    /// run (a resumed one too) checks the file still holds it.
    #[serde(default)]
    pub best_checksum: Option<String>,
}

/// Whether `out_dir` holds a checkpoint this webly can resume exactly (one written with the
/// optimizer state: [`State::checkpoint_format`] at least `CHECKPOINT_FORMAT`). A caller that
/// resumes on its own initiative (an interrupted `webly run`) starts over otherwise.
/// An ensemble's folder can when its first member can (each member resumes on its own).
pub fn can_resume(out_dir: &Path) -> bool {
    let first = super::member_dir(out_dir, 0);
    if !out_dir.join(LAST).is_file() && first.is_dir() {
        return can_resume(&first);
    }
    out_dir.join(LAST).is_file()
        && read_json::<State>(&out_dir.join(STATE))
            .is_ok_and(|s| s.checkpoint_format >= CHECKPOINT_FORMAT)
}

/// Whether the `best.safetensors` in `out_dir` still holds what the training there saved, by
/// the checksum its `state.json` recorded (true when nothing was recorded: no best yet, or a
/// state of an older webly). A resume that has nothing left to train would otherwise keep a
/// damaged best model.
pub fn best_is_intact(out_dir: &Path) -> bool {
    let Ok(state) = read_json::<State>(&out_dir.join(STATE)) else {
        return true;
    };
    match state.best_checksum {
        None => true,
        Some(want) => webly_io::checksum(&out_dir.join(BEST)).is_ok_and(|got| got == want),
    }
}

impl Run<'_> {
    /// Restores the last checkpoint when `resume` and one exists; returns its step.
    pub(super) fn resume(&mut self) -> Result<Option<u64>, EncoderError> {
        let (state_path, last) = (self.path(STATE), self.path(LAST));
        if !self.cfg.resume || !state_path.exists() || !last.exists() {
            return Ok(None);
        }
        let named = Tensor::read_safetensors(&last)
            .map_err(torch(format!("reading checkpoint {}", last.display())))?;
        let damaged = |what: String| {
            EncoderError::Data(format!(
                "cannot resume from {}: {what}; delete it to train from the start",
                last.display()
            ))
        };
        let state: State = match named.iter().find(|(n, _)| n == CHECKPOINT_STATE) {
            Some((_, t)) => {
                let bytes = Vec::<u8>::try_from(t).map_err(|e| damaged(e.to_string()))?;
                serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?
            }
            None => {
                return Err(damaged(
                    "written by an older webly, without the optimizer state an exact resume \
                     needs"
                        .into(),
                ))
            }
        };
        if state.config.model != self.cfg.model {
            return Err(EncoderError::Config(format!(
                "cannot resume {}: its model configuration differs from this one",
                last.display()
            )));
        }
        let by_name: std::collections::HashMap<&str, &Tensor> =
            named.iter().map(|(n, t)| (n.as_str(), t)).collect();
        for (name, mut var) in self.vs.variables() {
            let src = by_name
                .get(name.as_str())
                .ok_or_else(|| damaged(format!("no variable {name}")))?;
            if src.size() != var.size() {
                return Err(damaged(format!("{name} has another shape")));
            }
            tch::no_grad(|| var.copy_(src));
        }
        let opt_state: Vec<(String, Tensor)> = named
            .iter()
            .filter_map(|(n, t)| {
                n.strip_prefix(CHECKPOINT_OPTIMIZER_PREFIX)
                    .map(|n| (n.to_string(), t.shallow_clone()))
            })
            .collect();
        self.opt.restore(&opt_state).map_err(damaged)?;
        let step = state.step;
        self.rows = read_metrics(&self.path(METRICS))?;
        self.rows.retain(|r| r.step <= step);
        self.state = State {
            config: self.cfg.clone(),
            seed: self.cfg.seed,
            ..state
        };
        Ok(Some(step))
    }

    /// Checks that `best.safetensors` holds what was saved (a resumed run that has nothing left
    /// to train would otherwise vouch for a file damaged since).
    pub(super) fn check_best(&self) -> Result<(), EncoderError> {
        let best = self.path(BEST);
        let Some(want) = &self.state.best_checksum else {
            return Ok(());
        };
        let got = webly_io::checksum(&best).map_err(io("read", &best))?;
        if &got != want {
            return Err(EncoderError::Data(format!(
                "{} differs from what this training saved (damaged or edited since): train \
                 again without --resume",
                best.display()
            )));
        }
        Ok(())
    }

    /// Writes `last.safetensors`: the weights, the optimiser state and the [`State`], in one
    /// file renamed into place whole.
    pub(super) fn save_checkpoint(&self) -> Result<(), EncoderError> {
        let mut named: Vec<(String, Tensor)> = self
            .vs
            .variables()
            .into_iter()
            .map(|(n, t)| (n, t.to_device(Device::Cpu)))
            .collect();
        named.extend(self.opt.state().into_iter().map(|(n, t)| {
            (
                format!("{CHECKPOINT_OPTIMIZER_PREFIX}{n}"),
                t.to_device(Device::Cpu),
            )
        }));
        let json = serde_json::to_vec(&self.state).map_err(|source| EncoderError::Json {
            action: "encode",
            path: self.path(STATE),
            source,
        })?;
        named.push((CHECKPOINT_STATE.into(), Tensor::from_slice(&json)));
        named.sort_by(|a, b| a.0.cmp(&b.0));
        save_named(&named, &self.path(LAST))
    }

    /// Writes last.safetensors + state.json (+ metrics.csv), only from finite weights.
    pub(super) fn checkpoint(&mut self) -> Result<(), EncoderError> {
        let finite = self
            .vs
            .variables()
            .values()
            .all(|t| t.isfinite().all().int64_value(&[]) != 0);
        if !finite {
            return Err(self.diverged(f64::NAN));
        }
        self.save_checkpoint()?;
        write_json(&self.path(STATE), &self.state)?;
        write_metrics(&self.path(METRICS), &self.rows)
    }
}
