//! An ensemble of heads (`model.members = k > 1`): each member is an ordinary one-head training
//! in its own folder (`member-0`, `member-1`, ...) with its own seed, on the ensemble's
//! activation cache; then the members' heads are gathered into one network, saved as the
//! ensemble's `best.safetensors` with its `model.json`, and validated once.
//!
//! Each member resumes on its own (a finished member is not trained again), so an interrupted
//! ensemble continues with the member it was in; once the ensemble is saved with every member
//! finished, the members' checkpoints (`last.safetensors`, each with the whole frozen backbone)
//! are removed.
use super::{train_one, TrainData, TrainHooks, TrainReport, VAL_SET};
use crate::config::TrainConfig;
use crate::device::resolve_device;
use crate::embedding::{KeyedEmbeddings, EMBED_BATCH};
use crate::encoder::{Encoder, SavedModel};
use crate::error::{io, torch, EncoderError};
use crate::files::{read_json, save_weights, write_json, BEST, LAST, METRICS, MODEL, PLOT, STATE};
use crate::model::Network;
use crate::seeds::{stream_seed, Stream};
use crate::Bar;
use std::path::{Path, PathBuf};
use tch::{nn, Device, Tensor};

/// Prefix of the head's variables in a one-head network.
const HEAD_PREFIX: &str = "proj.";

/// The folder of member `k` (0-based) of the ensemble trained in `out_dir`.
pub fn member_dir(out_dir: &Path, k: usize) -> PathBuf {
    out_dir.join(format!("member-{k}"))
}

/// The seed of member `k`: the training's own seed for member 0 (so member 0 is the one-head
/// model of the same settings), a derived one for the others.
fn member_seed(seed: u64, k: usize) -> u64 {
    match k {
        0 => seed,
        k => stream_seed(seed, Stream::Member, k as u64, 0),
    }
}

/// Member `k`'s training: one head, its seed and folder, the ensemble's activation cache.
fn member_config(cfg: &TrainConfig, k: usize) -> TrainConfig {
    let mut m = cfg.clone();
    m.model.members = 1;
    m.seed = member_seed(cfg.seed, k);
    m.out_dir = member_dir(&cfg.out_dir, k);
    m.cache.dir = Some(cfg.cache_dir());
    m
}

/// Trains the members, gathers them and validates the ensemble (see the module docs).
pub(super) fn train(
    cfg: &TrainConfig,
    data: &TrainData,
    hooks: &mut dyn TrainHooks,
) -> Result<TrainReport, EncoderError> {
    let k = cfg.model.members;
    std::fs::create_dir_all(&cfg.out_dir).map_err(io("create the run folder", &cfg.out_dir))?;
    remove_stale(&cfg.out_dir, k)?;
    let mut reports = Vec::with_capacity(k);
    for m in 0..k {
        let dir = member_dir(&cfg.out_dir, m);
        eprintln!("[train] member-{m} ({} of {k}): {}", m + 1, dir.display());
        let report = train_one(&member_config(cfg, m), data, hooks)?;
        if let Some(step) = report.resumed_from {
            eprintln!("[train] member-{m} resumed its checkpoint at step {step}");
        }
        reports.push(report);
    }
    let device = resolve_device(cfg.device)?;
    let saved: SavedModel = read_json(&member_dir(&cfg.out_dir, 0).join(MODEL))?;
    let (vs, net) = gather(cfg, device)?;
    save_weights(&vs, &cfg.out_dir.join(BEST))?;
    let saved = SavedModel {
        model: cfg.model.clone(),
        ..saved
    };
    write_json(&cfg.out_dir.join(MODEL), &saved)?;
    let val_map = validate(cfg, data, Encoder::from_parts(vs, net, saved), hooks)?;
    if reports.iter().all(|r| r.epochs_done == cfg.epochs) {
        drop_checkpoints(&cfg.out_dir, k)?;
    }
    Ok(combine(cfg, reports, val_map))
}

/// Removes the members' checkpoints once the ensemble is saved and every member trained all its
/// epochs (not stopped by `max_steps`): each holds the whole frozen backbone again, and a
/// finished member has nothing left to resume. Their best weights,
/// metrics, plots and states stay, the record of each member's training.
fn drop_checkpoints(out_dir: &Path, k: usize) -> Result<(), EncoderError> {
    for m in 0..k {
        let last = member_dir(out_dir, m).join(LAST);
        if last.is_file() {
            std::fs::remove_file(&last).map_err(io("remove the member's checkpoint", &last))?;
        }
    }
    Ok(())
}

/// Removes what a one-head training or a larger ensemble left in `out_dir`: its checkpoint,
/// state, metrics and plot would describe another model, and members past `k` are not part of
/// this one.
fn remove_stale(out_dir: &Path, k: usize) -> Result<(), EncoderError> {
    for name in [LAST, STATE, METRICS, PLOT] {
        let p = out_dir.join(name);
        if p.is_file() {
            std::fs::remove_file(&p).map_err(io("remove the stale file", &p))?;
        }
    }
    let mut extra = k;
    while member_dir(out_dir, extra).is_dir() {
        let p = member_dir(out_dir, extra);
        std::fs::remove_dir_all(&p).map_err(io("remove the stale member", &p))?;
        eprintln!(
            "[train] removed {}: the ensemble has {k} members now",
            p.display()
        );
        extra += 1;
    }
    Ok(())
}

/// The ensemble's network: the pretrained frozen backbone (the one every member trained on)
/// and member `m`'s head, read from its `best.safetensors`, as `proj.{m}.*`.
fn gather(cfg: &TrainConfig, device: Device) -> Result<(nn::VarStore, Network), EncoderError> {
    let mut vs = nn::VarStore::new(device);
    let net = Network::build(&mut vs, &cfg.model)?;
    let vars = vs.variables();
    for m in 0..cfg.model.members {
        let file = member_dir(&cfg.out_dir, m).join(BEST);
        let named = Tensor::read_safetensors(&file).map_err(torch(format!(
            "reading the member's weights {}",
            file.display()
        )))?;
        let mut copied = 0;
        for (name, t) in &named {
            let Some(rest) = name.strip_prefix(HEAD_PREFIX) else {
                continue;
            };
            let target = format!("{HEAD_PREFIX}{m}.{rest}");
            let wrong = |what: &str| {
                EncoderError::Data(format!(
                    "{}: the head variable {name} {what} in the ensemble of {} members",
                    file.display(),
                    cfg.model.members
                ))
            };
            let mut v = vars
                .get(&target)
                .ok_or_else(|| wrong("has no place"))?
                .shallow_clone();
            if v.size() != t.size() {
                return Err(wrong("has another shape than its place"));
            }
            tch::no_grad(|| v.copy_(&t.to_device(device)));
            copied += 1;
        }
        let want = vars
            .keys()
            .filter(|n| n.starts_with(&format!("{HEAD_PREFIX}{m}.")))
            .count();
        if copied != want {
            return Err(EncoderError::Data(format!(
                "{} holds {copied} head variables, the ensemble's member needs {want}",
                file.display()
            )));
        }
    }
    Ok((vs, net))
}

/// The ensemble's validation mAP (`None` without validation images), embedded as the saved
/// model embeds (through the activation cache when the members trained from it).
fn validate(
    cfg: &TrainConfig,
    data: &TrainData,
    encoder: Encoder,
    hooks: &mut dyn TrainHooks,
) -> Result<Option<f64>, EncoderError> {
    if data.val_images.is_empty() {
        return Ok(None);
    }
    let e = encoder.embed_set(VAL_SET, &data.val_images, EMBED_BATCH, Bar::Hide)?;
    let epoch = cfg.epochs.saturating_sub(1);
    let rows = KeyedEmbeddings::new(e, &data.val_keys)?;
    hooks
        .validate(epoch, &rows)
        .map_err(|message| EncoderError::Validation { epoch, message })
}

/// One report for the ensemble: steps, images and time summed over the members, losses
/// averaged over the members that trained in this call (a member finished before has no loss
/// to give), the validation mAP the ensemble's own.
fn combine(cfg: &TrainConfig, reports: Vec<TrainReport>, val_map: Option<f64>) -> TrainReport {
    let trained: Vec<&TrainReport> = reports
        .iter()
        .filter(|r| r.first_loss.is_finite())
        .collect();
    let mean = |f: fn(&TrainReport) -> f64| match trained.len() {
        0 => f64::NAN,
        n => trained.iter().map(|r| f(r)).sum::<f64>() / n as f64,
    };
    let seconds: f64 = reports.iter().map(|r| r.train_seconds).sum();
    let images: f64 = reports
        .iter()
        .map(|r| r.images_per_s * r.train_seconds)
        .sum();
    let first = reports.first();
    TrainReport {
        out_dir: cfg.out_dir.clone(),
        epochs_done: reports.iter().map(|r| r.epochs_done).min().unwrap_or(0),
        steps: reports.iter().map(|r| r.steps).sum(),
        final_loss: mean(|r| r.final_loss),
        first_loss: mean(|r| r.first_loss),
        best_val_map: val_map,
        best_epoch: val_map.map(|_| cfg.epochs.saturating_sub(1)),
        skipped_images: first.map_or(0, |r| r.skipped_images),
        images_per_s: if seconds > 0.0 { images / seconds } else { 0.0 },
        data_wait: mean(|r| r.data_wait),
        resumed_from: reports.iter().find_map(|r| r.resumed_from),
        device: first.map_or_else(String::new, |r| r.device.clone()),
        skipped_batches: reports.iter().map(|r| r.skipped_batches).sum(),
        extraction: reports.into_iter().flat_map(|r| r.extraction).collect(),
        train_seconds: seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(steps: u64, first_loss: f64, final_loss: f64) -> TrainReport {
        TrainReport {
            out_dir: PathBuf::new(),
            epochs_done: 2,
            steps,
            final_loss,
            first_loss,
            best_val_map: None,
            best_epoch: None,
            skipped_images: 0,
            images_per_s: 100.0,
            data_wait: 0.1,
            resumed_from: None,
            device: "Cpu".into(),
            skipped_batches: 1,
            extraction: Vec::new(),
            train_seconds: 2.0,
        }
    }

    // A member finished before this call (no step run: no first loss, a final loss of 0) does
    // not enter the ensemble's losses; steps and batches add up over all members.
    #[test]
    fn combined_losses_leave_out_members_that_did_not_train() {
        let cfg = TrainConfig::default();
        let r = combine(
            &cfg,
            vec![
                report(6, f64::NAN, 0.0),
                report(6, 0.6, 0.2),
                report(6, 0.4, 0.1),
            ],
            Some(0.5),
        );
        assert!((r.first_loss - 0.5).abs() < 1e-12, "{}", r.first_loss);
        assert!((r.final_loss - 0.15).abs() < 1e-12, "{}", r.final_loss);
        assert_eq!((r.steps, r.skipped_batches), (18, 3));
        assert_eq!(r.best_val_map, Some(0.5));
        let none = combine(&cfg, vec![report(6, f64::NAN, 0.0)], None);
        assert!(none.first_loss.is_nan() && none.best_epoch.is_none());
    }
}
