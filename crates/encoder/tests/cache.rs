//! The activation cache at the freeze boundary: training from it, embedding through it, reuse,
//! invalidation of edited images, interrupted extraction and unreadable images.
mod common;

use common::{colour_map, config, data, generate, Problem, DIM};
use std::path::{Path, PathBuf};
use tch::{nn, Device};
use webly_encoder::{
    train, CacheConfig, CacheDtype, ComputeKind, Encoder, FeatureCache, Freeze, Network, NoHooks,
    TrainConfig,
};

/// Random ranking gives about 0.25 on 4 balanced colours.
const ABOVE_RANDOM: f64 = 0.6;

/// Saves a seeded small CNN's variables as the "pretrained" backbone of these tests.
fn backbone_weights(cfg: &TrainConfig, path: &Path) {
    tch::manual_seed(11);
    let mut vs = nn::VarStore::new(Device::Cpu);
    Network::build(&mut vs, &cfg.model).expect("build");
    vs.save(path).expect("save backbone");
}

/// A small CNN with frozen pretrained stages, trained from a cache under `dir` (f32 arithmetic,
/// so that the cache can be compared with the network to float rounding).
fn cached_config(dir: &Path, freeze: Freeze, dtype: CacheDtype) -> TrainConfig {
    let mut cfg = config(&dir.join("run"));
    let weights = dir.join("backbone.safetensors");
    if !weights.exists() {
        backbone_weights(&cfg, &weights);
    }
    cfg.model.pretrained = Some(weights);
    cfg.model.freeze = freeze;
    cfg.cache = CacheConfig {
        views: 3,
        dtype,
        compute: ComputeKind::F32,
        shard_images: 40,
        dir: Some(dir.join("features")),
        ..CacheConfig::default()
    };
    cfg
}

fn open(cfg: &TrainConfig) -> FeatureCache {
    FeatureCache::open(
        &cfg.model,
        &cfg.loader,
        &cfg.cache,
        Path::new("unused"),
        Device::Cpu,
    )
    .expect("open cache")
    .expect("the model has a frozen pretrained prefix")
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn trained(dir: &Path, set: &Problem, freeze: Freeze, dtype: CacheDtype) -> TrainConfig {
    let cfg = cached_config(dir, freeze, dtype);
    let report = train(&cfg, &data(set), &mut NoHooks).expect("train from the cache");
    assert_eq!(report.extraction.len(), 2, "train and val sets");
    assert!(report.final_loss < report.first_loss, "{report:?}");
    cfg
}

// The head learns from cached activations; the saved model embeds new images through the cache
// exactly as the whole network does from pixels (f32 cache: equal up to float reordering).
#[test]
fn training_from_the_cache_learns_and_embeds_like_the_network() {
    let dir = tempfile::tempdir().expect("tempdir");
    let train_set = generate(&dir.path().join("train"), 192, 21);
    let test_set = generate(&dir.path().join("test"), 64, 22);
    for (freeze, dtype, tolerance) in [
        (Freeze::Backbone, CacheDtype::F32, 1e-5),
        (Freeze::AllButLast(1), CacheDtype::F16, 2e-2),
    ] {
        let cfg = trained(dir.path(), &train_set, freeze, dtype);
        let enc = Encoder::load(&cfg.out_dir).expect("load");
        let via_cache = enc
            .embed_set("test", &test_set.images, 16, webly_encoder::Bar::Hide)
            .expect("embed through the cache");
        let direct = enc
            .embed_paths(&test_set.images, &cfg.loader, 16)
            .expect("embed from pixels");
        assert_eq!(via_cache.loaded, direct.loaded);
        let d = max_diff(&via_cache.matrix, &direct.matrix);
        assert!(d < tolerance, "{freeze:?} {dtype:?}: {d}");
        let m = colour_map(&via_cache.matrix, &via_cache.loaded, &test_set);
        assert!(m > ABOVE_RANDOM, "{freeze:?}: test mAP {m}");
        std::fs::remove_dir_all(&cfg.out_dir).expect("clean the run");
    }
}

// A second pass decodes nothing; an image edited in place re-extracts its shard only; a shard
// whose index is missing (a kill during its write), cut short or with a flipped byte is
// extracted again, the others are kept.
#[test]
fn reuse_edits_and_interrupted_shards() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = generate(&dir.path().join("train"), 100, 23);
    let cfg = cached_config(dir.path(), Freeze::Backbone, CacheDtype::F16);
    let cache = open(&cfg);
    let (first, r1) = cache
        .ensure("train", &set.images, 3, webly_encoder::Bar::Hide)
        .expect("extract");
    assert_eq!((r1.shards, r1.extracted_shards), (3, 3));
    assert_eq!(r1.decoded_views, 300);
    let before = first
        .batch(&[0, 55, 99], &[0, 1, 2], Device::Cpu)
        .expect("read");

    let (_, r2) = cache
        .ensure("train", &set.images, 3, webly_encoder::Bar::Hide)
        .expect("reuse");
    assert_eq!((r2.extracted_shards, r2.decoded_views), (0, 0));

    // Image 55 (shard 1) replaced by image 0's bytes: shard 1 only, and row 55 now equals row 0.
    std::fs::copy(&set.images[0], &set.images[55]).expect("edit in place");
    let (edited, r3) = cache
        .ensure("train", &set.images, 3, webly_encoder::Bar::Hide)
        .expect("edited");
    assert_eq!((r3.extracted_shards, r3.decoded_views), (1, 120));
    let a = edited.batch(&[0, 55], &[0, 0], Device::Cpu).expect("read");
    assert!(
        a.get(0).equal(&a.get(1)),
        "row 55 re-extracted from the new bytes"
    );
    let after = edited.batch(&[0, 99], &[0, 2], Device::Cpu).expect("read");
    assert!(after.get(0).equal(&before.get(0)) && after.get(1).equal(&before.get(2)));

    // A kill during shard 2's write: its index never landed.
    let shard_dir = cache.root().join("train-v3");
    std::fs::remove_file(shard_dir.join("shard-00002.json")).expect("drop the commit mark");
    std::fs::write(shard_dir.join("shard-00002.safetensors"), b"torn").expect("tear");
    let (_, r4) = cache
        .ensure("train", &set.images, 3, webly_encoder::Bar::Hide)
        .expect("resume");
    assert_eq!((r4.extracted_shards, r4.decoded_views), (1, 60));

    // A shard file cut short by a few bytes (its index intact) is extracted again too.
    let shard = shard_dir.join("shard-00000.safetensors");
    let bytes = std::fs::read(&shard).expect("read");
    std::fs::write(&shard, &bytes[..bytes.len() - 3]).expect("truncate");
    let (_, r5) = cache
        .ensure("train", &set.images, 3, webly_encoder::Bar::Hide)
        .expect("repair");
    assert_eq!((r5.extracted_shards, r5.decoded_views), (1, 120));

    // One flipped byte in the middle of shard 1's activations (same length): extracted again.
    let shard = shard_dir.join("shard-00001.safetensors");
    let mut bytes = std::fs::read(&shard).expect("read");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&shard, &bytes).expect("flip");
    let (_, r6) = cache
        .ensure("train", &set.images, 3, webly_encoder::Bar::Hide)
        .expect("repair");
    assert_eq!((r6.extracted_shards, r6.decoded_views), (1, 120));
}

// bfloat16 extraction: its own cache folder, recorded in the manifest, and activations within a
// few percent of f32's (bf16 keeps 8 significant bits; 5% is what PyTorch's own bf16 gives on
// EfficientNet-Lite0). Auto means f32 on CUDA; explicit kinds are kept.
#[test]
fn bf16_extraction_is_close_to_f32() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = generate(&dir.path().join("train"), 24, 27);
    let exact = cached_config(dir.path(), Freeze::Backbone, CacheDtype::F32);
    let mut fast = exact.clone();
    fast.cache.compute = ComputeKind::Bf16;
    let (a, b) = (open(&exact), open(&fast));
    assert_eq!(a.manifest().compute, ComputeKind::F32);
    assert_eq!(b.manifest().compute, ComputeKind::Bf16);
    assert_ne!(a.root(), b.root(), "another arithmetic, another cache");
    let rows: Vec<usize> = (0..set.images.len()).collect();
    let views = vec![0; rows.len()];
    let read = |c: &FeatureCache| {
        let (f, _) = c
            .ensure("train", &set.images, 1, webly_encoder::Bar::Hide)
            .expect("extract");
        f.batch(&rows, &views, Device::Cpu).expect("read")
    };
    let (x, y) = (read(&a), read(&b));
    let rel = (&x - &y).norm().double_value(&[]) / x.norm().double_value(&[]);
    assert!(rel > 0.0 && rel < 0.05, "bf16 relative error {rel}");
    assert_eq!(ComputeKind::Auto.resolve(Device::Cuda(0)), ComputeKind::F32);
    assert_eq!(ComputeKind::Bf16.resolve(Device::Cpu), ComputeKind::Bf16);
    assert_eq!(ComputeKind::F32.resolve(Device::Cpu), ComputeKind::F32);
}

// Views: 0 is the centre crop, 1 its mirror, 2.. random crops; the mirror of a mirrored image
// is the image, so view 1 of an image equals view 0 of its mirrored copy.
#[test]
fn view_one_is_the_mirror_of_view_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = generate(&dir.path().join("train"), 2, 24);
    let mirrored = dir.path().join("mirrored.png");
    image::open(&set.images[0])
        .expect("open")
        .fliph()
        .save(&mirrored)
        .expect("save");
    let cfg = cached_config(dir.path(), Freeze::Backbone, CacheDtype::F32);
    let cache = open(&cfg);
    let images = vec![set.images[0].clone(), mirrored];
    let (f, _) = cache
        .ensure("views", &images, 3, webly_encoder::Bar::Hide)
        .expect("extract");
    let x = f.batch(&[0, 1, 0], &[1, 0, 2], Device::Cpu).expect("read");
    let d = (x.get(0) - x.get(1)).abs().max().double_value(&[]);
    assert!(d < 1e-5, "mirror view differs by {d}");
    assert!(!x.get(0).equal(&x.get(2)), "a random crop is another view");
}

// Unreadable images are skipped, counted and left out of training; the rest trains.
#[test]
fn unreadable_images_are_skipped_not_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = generate(&dir.path().join("train"), 96, 25);
    let mut d = data(&set);
    for k in [3, 50] {
        let broken: PathBuf = dir.path().join(format!("broken{k}.jpg"));
        std::fs::write(&broken, b"not an image").expect("write");
        d.train_images[k] = broken;
    }
    let cfg = cached_config(dir.path(), Freeze::Backbone, CacheDtype::F16);
    let report = train(&cfg, &d, &mut NoHooks).expect("train");
    assert_eq!(report.skipped_images, 2);
    assert_eq!(report.extraction[0].skipped, 2);
    // 94 usable images, batch 32: 2 batches per epoch.
    assert_eq!(report.steps, 2 * cfg.epochs as u64);
    assert_eq!(d.dim, DIM);
}

/// Trains `members` heads (SGD, 2 epochs, 96 images) straight into `dir/run`, and again into
/// `dir/parts` stopped after `stop` steps and resumed; returns both configs and the resumed
/// run's report.
fn straight_and_resumed(
    dir: &Path,
    members: usize,
    stop: u64,
) -> (TrainConfig, TrainConfig, webly_encoder::TrainReport) {
    let set = generate(&dir.join("train"), 96, 26);
    let mut cfg = cached_config(dir, Freeze::Backbone, CacheDtype::F16);
    cfg.model.members = members;
    cfg.epochs = 2;
    cfg.optimizer = webly_encoder::OptimizerKind::Sgd {
        momentum: 0.0,
        nesterov: false,
    };
    cfg.lr = 0.05;
    train(&cfg, &data(&set), &mut NoHooks).expect("full");
    let mut part = cfg.clone();
    part.out_dir = dir.join("parts");
    part.max_steps = Some(stop);
    train(&part, &data(&set), &mut NoHooks).expect("first part");
    assert!(webly_encoder::can_resume(&part.out_dir));
    part.max_steps = None;
    part.resume = true;
    let r = train(&part, &data(&set), &mut NoHooks).expect("resumed");
    (cfg, part, r)
}

// Resuming a cached training continues exactly (same batches and drawn views).
#[test]
fn cached_training_resumes_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cfg, part, r) = straight_and_resumed(dir.path(), 1, 4);
    assert_eq!((r.resumed_from, r.steps), (Some(4), 6));
    let read = |p: &Path| {
        let mut v = tch::Tensor::read_safetensors(p).expect("read");
        // The run's state as JSON names its folder: not a weight.
        v.retain(|(n, _)| n != webly_encoder::CHECKPOINT_STATE);
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let (a, b) = (
        read(&cfg.out_dir.join(webly_encoder::LAST)),
        read(&part.out_dir.join(webly_encoder::LAST)),
    );
    for ((na, ta), (_, tb)) in a.iter().zip(&b) {
        let diff = (ta - tb).abs().max().double_value(&[]);
        assert!(diff < 1e-6, "{na}: {diff}");
    }
}

// `webly extract --part I/N`: two tasks side by side, each with its own cache handle, write
// their cache shards into one set folder; the whole set is then there (nothing extracted again)
// and holds what one extraction of everything holds.
#[test]
fn parts_side_by_side_fill_the_whole_cache() {
    use webly_data::ShardSpec;
    let dir = tempfile::tempdir().expect("tempdir");
    let set = generate(&dir.path().join("train"), 100, 29);
    let cfg = cached_config(dir.path(), Freeze::Backbone, CacheDtype::F32);
    let mut alone = cfg.clone();
    alone.cache.dir = Some(dir.path().join("features-alone"));
    let (whole, _) = open(&alone)
        .ensure("train", &set.images, 3, webly_encoder::Bar::Hide)
        .expect("one extraction");

    let reports: Vec<_> = std::thread::scope(|s| {
        let tasks: Vec<_> = (0..2)
            .map(|index| {
                let (cfg, images) = (&cfg, &set.images);
                s.spawn(move || {
                    open(cfg)
                        .ensure_part(
                            "train",
                            images,
                            3,
                            ShardSpec { index, count: 2 },
                            webly_encoder::Bar::Hide,
                        )
                        .expect("extract a part")
                })
            })
            .collect();
        tasks.into_iter().map(|t| t.join().expect("task")).collect()
    });
    // Shards of 40, 40 and 20 images: task 0 takes shards 0 and 2 (60 images), task 1 shard 1.
    let done: Vec<_> = reports
        .iter()
        .map(|r| (r.shards, r.extracted_shards, r.images))
        .collect();
    assert_eq!(done, [(2, 2, 60), (1, 1, 40)]);
    let again = open(&cfg)
        .ensure_part(
            "train",
            &set.images,
            3,
            ShardSpec { index: 1, count: 2 },
            webly_encoder::Bar::Hide,
        )
        .expect("a part again");
    assert_eq!((again.extracted_shards, again.decoded_views), (0, 0));

    let (merged, r) = open(&cfg)
        .ensure("train", &set.images, 3, webly_encoder::Bar::Hide)
        .expect("the whole set");
    assert_eq!((r.extracted_shards, r.decoded_views), (0, 0));
    let rows: Vec<usize> = (0..100).collect();
    let views: Vec<usize> = (0..100).map(|i| i % 3).collect();
    let a = merged
        .batch(&rows, &views, Device::Cpu)
        .expect("read parts");
    let b = whole.batch(&rows, &views, Device::Cpu).expect("read whole");
    assert!(
        a.equal(&b),
        "the parts' activations differ from one extraction's"
    );
}

/// The weights of a saved model by name, the run's state left out.
fn weights(path: &Path) -> Vec<(String, tch::Tensor)> {
    let mut v = tch::Tensor::read_safetensors(path).expect("read weights");
    v.retain(|(n, _)| n != webly_encoder::CHECKPOINT_STATE);
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn head_weight(path: &Path) -> tch::Tensor {
    weights(path)
        .into_iter()
        .find(|(n, _)| n == "proj.weight")
        .expect("proj.weight")
        .1
}

// `model.members = 3`: three one-head trainings in member-0..2 (member 0 is the one-head model
// of the same settings, the others drew other batches), gathered into one network whose
// embedding is the normalised mean of the members' embeddings.
#[test]
fn an_ensemble_of_heads_is_the_mean_of_its_members() {
    let dir = tempfile::tempdir().expect("tempdir");
    let train_set = generate(&dir.path().join("train"), 128, 27);
    let test_set = generate(&dir.path().join("test"), 48, 28);
    let mut cfg = cached_config(dir.path(), Freeze::Backbone, CacheDtype::F32);
    cfg.epochs = 3;
    let mut one = cfg.clone();
    one.out_dir = dir.path().join("one");
    train(&one, &data(&train_set), &mut NoHooks).expect("one head");
    cfg.model.members = 3;
    let report = train(&cfg, &data(&train_set), &mut NoHooks).expect("ensemble");
    assert_eq!(report.steps, 3 * 3 * (128 / 32), "{report:?}");

    let member = |k| webly_encoder::member_dir(&cfg.out_dir, k);
    let h0 = head_weight(&member(0).join(webly_encoder::BEST));
    let h1 = head_weight(&member(1).join(webly_encoder::BEST));
    let single = head_weight(&one.out_dir.join(webly_encoder::BEST));
    assert!(
        h0.equal(&single),
        "member 0 differs from the one-head model"
    );
    assert!(!h0.equal(&h1), "members 0 and 1 trained alike");
    for k in 0..3 {
        assert!(member(k).join(webly_encoder::BEST).is_file());
        assert!(
            !member(k).join(webly_encoder::LAST).exists(),
            "member {k}'s checkpoint kept"
        );
    }
    let saved = weights(&cfg.out_dir.join(webly_encoder::BEST));
    let names: Vec<&str> = saved.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"proj.2.weight") && !names.contains(&"proj.weight"));

    let embed = |d: &Path| {
        Encoder::load(d)
            .expect("load")
            .embed_set("test", &test_set.images, 16, webly_encoder::Bar::Hide)
            .expect("embed")
    };
    let ensemble = embed(&cfg.out_dir);
    let members: Vec<_> = (0..3).map(|k| embed(&member(k))).collect();
    let mut want = vec![0f32; ensemble.matrix.len()];
    for m in &members {
        assert_eq!(m.loaded, ensemble.loaded);
        for (w, x) in want.iter_mut().zip(&m.matrix) {
            *w += x / 3.0;
        }
    }
    for row in want.chunks_mut(ensemble.dim) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        row.iter_mut().for_each(|x| *x /= norm);
    }
    let d = max_diff(&ensemble.matrix, &want);
    assert!(d < 1e-5, "ensemble vs mean of members: {d}");
    let m = colour_map(&ensemble.matrix, &ensemble.loaded, &test_set);
    assert!(m > ABOVE_RANDOM, "ensemble test mAP {m}");
}

// An ensemble stopped part-way (max_steps: every member stops after 3 steps) and resumed ends
// with the heads of an uninterrupted one: each member resumed its own checkpoint.
#[test]
fn an_interrupted_ensemble_resumes_each_member() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cfg, part, r) = straight_and_resumed(dir.path(), 2, 3);
    assert_eq!(r.resumed_from, Some(3));
    assert_eq!(r.steps, 2 * 2 * (96 / 32));
    let heads = |d: &Path| -> Vec<(String, tch::Tensor)> {
        weights(&d.join(webly_encoder::BEST))
            .into_iter()
            .filter(|(n, _)| n.starts_with("proj."))
            .collect()
    };
    let (a, b) = (heads(&cfg.out_dir), heads(&part.out_dir));
    assert_eq!(a.len(), 4, "two members' weight and bias");
    for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        let diff = (ta - tb).abs().max().double_value(&[]);
        assert!(diff < 1e-6, "{na}: {diff}");
    }
}

// Members need one frozen pretrained backbone: a trainable one is refused before any file is
// written.
#[test]
fn an_ensemble_needs_a_frozen_backbone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = generate(&dir.path().join("train"), 64, 29);
    let mut cfg = cached_config(dir.path(), Freeze::AllButLast(1), CacheDtype::F32);
    cfg.model.members = 2;
    let err = train(&cfg, &data(&set), &mut NoHooks).expect_err("refused");
    assert!(err.to_string().contains("members = 2"), "{err}");
    assert!(!cfg.out_dir.exists(), "the refused run wrote its folder");
}
