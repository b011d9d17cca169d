//! End-to-end: train the small CNN on generated coloured shapes, embed held-out images, check
//! retrieval, checkpoints, resume, divergence and the saved encoder.
mod common;

use common::{colour_map, config, data, generate, CROP, DIM};
use tch::{nn, Tensor};
use webly_data::{load_batch, Crop, LoaderConfig};
use webly_encoder::{
    embed, train, Encoder, EncoderError, Keep, LossConfig, LossKind, Mining, NoHooks,
    OptimizerKind, BEST, LAST, METRICS, MODEL, PLOT, STATE,
};

/// Random ranking gives about 0.25 on 4 balanced colours.
const ABOVE_RANDOM: f64 = 0.6;

/// The tensors of a weights file or checkpoint (weights and optimiser state; not the run's
/// state as JSON, which names its folder).
fn weights(path: &std::path::Path) -> Vec<(String, Tensor)> {
    let mut v = Tensor::read_safetensors(path).expect("read safetensors");
    v.retain(|(n, _)| n != webly_encoder::CHECKPOINT_STATE);
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
    let mut hook = |epoch: usize, rows: &webly_encoder::KeyedEmbeddings| {
        // Keys come aligned with the rows: "k{i}" is row k's test image i.
        let loaded: Vec<usize> = rows
            .keys
            .iter()
            .map(|k| k[1..].parse().expect("key k<index>"))
            .collect();
        assert_eq!(loaded.len() * rows.dim, rows.matrix.len());
        let m = colour_map(&rows.matrix, &loaded, &test_set);
        seen.push((epoch, m));
        Ok(Some(m))
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

// `best.safetensors` holds the epoch of the highest validation mAP by default, the last epoch
// with `keep = last`, whatever validation says. The hook scores epochs 0.5, 0.9, 0.7, ... so
// the best is epoch 1 of 6.
#[test]
fn keep_chooses_best_validation_or_last_epoch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let train_set = generate(&dir.path().join("train"), 96, 5);
    let mut d = data(&train_set);
    d.val_images = train_set.images[..8].to_vec();
    d.val_keys = (0..8).map(|i| format!("k{i}")).collect();
    let mut kept = Vec::new();
    for keep in [Keep::BestVal, Keep::Last] {
        let mut cfg = config(&dir.path().join(format!("{keep:?}")));
        cfg.keep = keep;
        let mut hook = |epoch: usize, _: &webly_encoder::KeyedEmbeddings| {
            Ok(Some(if epoch == 1 {
                0.9
            } else {
                0.5 + 0.01 * epoch as f64
            }))
        };
        let report = train(&cfg, &d, &mut hook).expect("train");
        kept.push((report.best_epoch, report.best_val_map));
        let same_as_last = weights(&cfg.out_dir.join(BEST))
            .iter()
            .zip(
                weights(&cfg.out_dir.join(LAST))
                    .iter()
                    .filter(|(n, _)| !n.starts_with(webly_encoder::CHECKPOINT_OPTIMIZER_PREFIX)),
            )
            .all(|(a, b)| a.0 == b.0 && a.1.equal(&b.1));
        assert_eq!(same_as_last, keep == Keep::Last, "{keep:?}");
    }
    assert_eq!(kept, [(Some(1), Some(0.9)), (Some(5), Some(0.55))]);
}

// Stopping after 4 steps and resuming must end exactly where an uninterrupted run ends: same data
// order, crops and mining (derived from seed, epoch, batch), and the optimiser's state (Adam's
// moments, SGD's momentum) restored from the checkpoint.
#[test]
fn resume_continues_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = generate(&dir.path().join("train"), 96, 5);
    let optimizers = [
        OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
        },
        OptimizerKind::Sgd {
            momentum: 0.9,
            nesterov: false,
        },
    ];
    for (k, optimizer) in optimizers.into_iter().enumerate() {
        let mut cfg = config(&dir.path().join(format!("full{k}")));
        cfg.epochs = 2;
        cfg.optimizer = optimizer;
        cfg.lr = 0.01;
        cfg.weight_decay = 1e-4;
        cfg.mining = Mining::Random;
        train(&cfg, &data(&set), &mut NoHooks).expect("full run");

        let mut part = cfg.clone();
        part.out_dir = dir.path().join(format!("parts{k}"));
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
        assert!(
            a.iter().any(|(n, _)| n.starts_with("optimizer/")),
            "the checkpoint holds the optimizer state"
        );
        let mut worst = 0.0f64;
        for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
            assert_eq!(na, nb);
            let diff = (ta.to_kind(tch::Kind::Double) - tb.to_kind(tch::Kind::Double))
                .abs()
                .max()
                .double_value(&[]);
            worst = worst.max(diff);
            assert!(diff <= 1e-6, "{optimizer:?} {na}: {diff}");
        }
        eprintln!("{optimizer:?}: largest difference after resume {worst:e}");
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

// Validation rows carry their own keys: with an unreadable validation image the hook sees the
// keys of the images that loaded, in row order; a failing validation stops training with an
// error rather than counting as an improvement.
#[test]
fn validation_keys_stay_aligned_and_failures_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = generate(&dir.path().join("train"), 64, 10);
    let val = generate(&dir.path().join("val"), 6, 11);
    let mut cfg = config(&dir.path().join("run"));
    cfg.epochs = 1;
    let mut d = data(&set);
    d.val_images = val.images.clone();
    let broken = dir.path().join("unreadable.jpg");
    std::fs::write(&broken, b"not an image").expect("write");
    d.val_images[1] = broken;
    d.val_keys = (0..6).map(|i| format!("v{i}")).collect();
    let mut seen = Vec::new();
    let mut hook = |_: usize, rows: &webly_encoder::KeyedEmbeddings| {
        assert_eq!(rows.matrix.len(), rows.keys.len() * rows.dim);
        seen = rows.keys.clone();
        Ok(Some(0.5))
    };
    train(&cfg, &d, &mut hook).expect("train");
    assert_eq!(seen, ["v0", "v2", "v3", "v4", "v5"]);

    cfg.out_dir = dir.path().join("failing");
    let mut failing = |_: usize, _: &webly_encoder::KeyedEmbeddings| Err("no query".to_string());
    let err = train(&cfg, &d, &mut failing).expect_err("validation failed");
    assert!(
        matches!(&err, EncoderError::Validation { epoch: 0, message } if message == "no query"),
        "{err}"
    );
    assert!(
        !cfg.out_dir.join(BEST).exists(),
        "a failed validation saved a best model"
    );
}

// Captions pasted from one hashtag block are near-identical (cosine > max_similarity): a batch
// whose captions are all such probable false negatives has no usable negative. It is skipped and
// counted and the run goes on; when no batch at all is usable, the error names the limit.
#[test]
fn batches_without_a_usable_negative_are_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = generate(&dir.path().join("train"), 64, 12);
    let mut cfg = config(&dir.path().join("run"));
    cfg.epochs = 2;
    cfg.batch_size = 2;
    cfg.mining = Mining::All {
        max_similarity: 0.9,
    };
    // Two groups of near-identical captions: image i gets group (i % 2)'s caption, nudged.
    let mut d = data(&set);
    let group = |g: usize, i: usize| -> Vec<f32> {
        let mut v = vec![0.0f32; DIM];
        v[g] = 1.0;
        v[2 + i % (DIM - 2)] = 0.05;
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    };
    d.train_targets = (0..64).flat_map(|i| group(i % 2, i)).collect();
    let report = train(&cfg, &d, &mut NoHooks).expect("train goes on");
    assert!(report.skipped_batches > 0 && report.steps > 0, "{report:?}");
    assert_eq!(report.steps + report.skipped_batches, 64);

    cfg.out_dir = dir.path().join("all-near");
    d.train_targets = (0..64).flat_map(|i| group(0, i)).collect();
    let err = train(&cfg, &d, &mut NoHooks).expect_err("no usable negative anywhere");
    let msg = err.to_string();
    assert!(msg.contains("max_similarity = 0.9"), "{msg}");
}
