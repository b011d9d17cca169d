//! End-to-end: train the small CNN on generated coloured shapes, embed held-out images, check
//! retrieval, checkpoints, resume, divergence and the saved encoder.
mod common;

use common::{colour_map, config, data, generate, CROP, DIM};
use tch::{nn, Tensor};
use webly_data::{load_batch, Crop, LoaderConfig};
use webly_encoder::{
    embed, train, Encoder, EncoderError, LossConfig, LossKind, Mining, NoHooks, OptimizerKind,
    BEST, LAST, METRICS, MODEL, PLOT, STATE,
};

/// Random ranking gives about 0.25 on 4 balanced colours.
const ABOVE_RANDOM: f64 = 0.6;

fn weights(path: &std::path::Path) -> Vec<(String, Tensor)> {
    let mut v = Tensor::read_safetensors(path).expect("read safetensors");
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn triplet_soft_negatives_learn_colours() {
    let dir = tempfile::tempdir().expect("tempdir");
    let train_set = generate(&dir.path().join("train"), 192, 1);
    let test_set = generate(&dir.path().join("test"), 64, 2);
    let mut cfg = config(&dir.path().join("run"));
    cfg.mining = Mining::Soft;
    cfg.plot = true;
    if let Some(keep) = std::env::var_os("WEBLY_KEEP_RUN") {
        cfg.out_dir = keep.into();
    }
    let mut d = data(&train_set);
    d.val_images = test_set.images.clone();
    d.val_keys = (0..64).map(|i| format!("k{i}")).collect();
    let mut seen = Vec::new();
    let mut hook = |epoch: usize, e: &webly_encoder::Embeddings, keys: &[String]| {
        assert_eq!(keys.len(), e.loaded.len());
        let m = colour_map(&e.matrix, &e.loaded, &test_set);
        seen.push((epoch, m));
        Some(m)
    };
    let report = train(&cfg, &d, &mut hook).expect("train");
    assert_eq!(report.epochs_done, 6);
    assert_eq!(report.steps, 36);
    assert!(report.final_loss < 0.6 * report.first_loss, "{report:?}");
    let best = report.best_val_map.expect("validated");
    eprintln!(
        "triplet: loss {:.4} -> {:.4}, val mAP per epoch {seen:?}",
        report.first_loss, report.final_loss
    );
    assert!(best > ABOVE_RANDOM, "best mAP {best}, per epoch {seen:?}");
    for f in [LAST, BEST, STATE, MODEL, METRICS, PLOT] {
        assert!(cfg.out_dir.join(f).exists(), "{f}");
    }
    let rows = webly_encoder::read_metrics(&cfg.out_dir.join(METRICS)).expect("metrics");
    assert_eq!(rows.iter().filter(|r| r.kind == "epoch").count(), 6);
    assert_eq!(rows.iter().filter(|r| r.kind == "step").count(), 18);
    let r = &rows[rows.len() - 1];
    assert!((r.easy + r.semi_hard + r.hard - 1.0).abs() < 1e-9 && r.val_map.is_some());

    // The saved encoder (best.safetensors) reproduces the best validation mAP, and embed_batch
    // on a batch loaded by hand equals embed on the paths.
    let e = embed(&cfg.out_dir, &test_set.images, &cfg.loader, 16).expect("embed");
    assert!((colour_map(&e.matrix, &e.loaded, &test_set) - best).abs() < 1e-6);
    let enc = Encoder::load(&cfg.out_dir).expect("load");
    assert_eq!((enc.dim(), enc.crop()), (DIM, CROP));
    let b = load_batch(&test_set.images[..5], &cfg.loader, Crop::Center);
    let direct = enc.embed_batch(&b.data).expect("embed_batch");
    let max = direct
        .iter()
        .zip(&e.matrix[..5 * DIM])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(max < 1e-5, "{max}");
}

#[test]
fn cross_entropy_baseline_learns_colours() {
    let dir = tempfile::tempdir().expect("tempdir");
    let train_set = generate(&dir.path().join("train"), 192, 3);
    let test_set = generate(&dir.path().join("test"), 64, 4);
    let mut cfg = config(&dir.path().join("run"));
    cfg.loss = LossConfig {
        kind: LossKind::CrossEntropy,
        ..Default::default()
    };
    // Two unreadable files among the 192 (all used each epoch: 6 batches of 32): skipped, their
    // targets dropped from their batches, counted 2 per epoch.
    let mut d = data(&train_set);
    for k in [5, 100] {
        let broken = dir.path().join(format!("broken{k}.png"));
        std::fs::write(&broken, b"not an image").expect("write");
        d.train_images[k] = broken;
    }
    let report = train(&cfg, &d, &mut NoHooks).expect("train");
    assert_eq!(report.skipped_images, 12);
    assert!(report.final_loss < report.first_loss, "{report:?}");
    let e = embed(&cfg.out_dir, &test_set.images, &cfg.loader, 32).expect("embed");
    let m = colour_map(&e.matrix, &e.loaded, &test_set);
    eprintln!(
        "cross-entropy: loss {:.4} -> {:.4}, test mAP {m:.3}",
        report.first_loss, report.final_loss
    );
    assert!(m > ABOVE_RANDOM, "CE mAP {m}");
}

// Stopping after 4 steps and resuming must end exactly where an uninterrupted run ends: same data
// order, crops and mining (derived from seed, epoch, batch). Plain SGD without momentum, so the
// optimiser has no state to lose on resume.
#[test]
fn resume_continues_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = generate(&dir.path().join("train"), 96, 5);
    let mut cfg = config(&dir.path().join("full"));
    cfg.epochs = 2;
    cfg.optimizer = OptimizerKind::Sgd {
        momentum: 0.0,
        nesterov: false,
    };
    cfg.lr = 0.05;
    cfg.mining = Mining::Random;
    train(&cfg, &data(&set), &mut NoHooks).expect("full run");

    let mut part = cfg.clone();
    part.out_dir = dir.path().join("parts");
    part.max_steps = Some(4);
    let r1 = train(&part, &data(&set), &mut NoHooks).expect("first part");
    assert_eq!(r1.steps, 4);
    part.max_steps = None;
    part.resume = true;
    let r2 = train(&part, &data(&set), &mut NoHooks).expect("resumed");
    assert_eq!((r2.resumed_from, r2.steps, r2.epochs_done), (Some(4), 6, 2));
    let (a, b) = (
        weights(&cfg.out_dir.join(LAST)),
        weights(&part.out_dir.join(LAST)),
    );
    assert_eq!(a.len(), b.len());
    for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        let diff = (ta - tb).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "{na}: {diff}");
    }
}

#[test]
fn absurd_learning_rate_stops_with_last_good_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = generate(&dir.path().join("train"), 64, 6);
    let mut cfg = config(&dir.path().join("run"));
    cfg.optimizer = OptimizerKind::Sgd {
        momentum: 0.9,
        nesterov: false,
    };
    cfg.lr = 1e9;
    cfg.loss = LossConfig {
        kind: LossKind::Mse,
        ..Default::default()
    };
    cfg.model.normalize_output = false;
    cfg.checkpoint_every = 1;
    cfg.epochs = 50;
    let err = train(&cfg, &data(&set), &mut NoHooks).expect_err("must diverge");
    assert!(matches!(err, EncoderError::Diverged { .. }), "{err}");
    // Whatever checkpoint exists is finite and loads.
    let last = cfg.out_dir.join(LAST);
    if last.exists() {
        for (name, t) in weights(&last) {
            assert!(t.isfinite().all().int64_value(&[]) == 1, "{name}");
        }
        let mut vs = nn::VarStore::new(tch::Device::Cpu);
        webly_encoder::Network::build(&mut vs, &cfg.model).expect("build");
        vs.load(&last).expect("checkpoint loads");
    }
}

#[test]
fn bad_configuration_is_rejected_early() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = generate(&dir.path().join("train"), 8, 9);
    let mut cfg = config(&dir.path().join("run"));
    cfg.loader = LoaderConfig {
        resize: 40,
        crop: 32,
        ..LoaderConfig::default()
    };
    let err = train(&cfg, &data(&set), &mut NoHooks).expect_err("batch larger than data");
    assert!(matches!(err, EncoderError::Config(_)), "{err}");
    cfg.batch_size = 4;
    cfg.model.out_dim = 7;
    assert!(matches!(
        train(&cfg, &data(&set), &mut NoHooks),
        Err(EncoderError::Config(_))
    ));
}
