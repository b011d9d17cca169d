//! Feature extraction and head training from the activation cache, for `scripts/bench_extract.sh`.
//!
//! `bench_extract DIR [IMAGES] [CROP] [RESIZE]` (defaults 256 224 224): the first IMAGES JPEGs
//! under DIR (sorted) go through the ImageNet EfficientNet-Lite0 of `data/weights` with the
//! whole backbone frozen: decode, resize, centre crop, the frozen stages, f16 into a fresh
//! cache (after one untimed batch), once with f32 arithmetic (`webly_extract_images_per_s`) and once with bfloat16
//! (`webly_extract_bf16_images_per_s`); then a linear head trains from that cache for a few
//! epochs with the triplet loss (`webly_head_images_per_s`). libtorch's default threads plus
//! the loader's own, as `webly run` uses them. Prints `key=value` lines.
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::Device;
use webly_encoder::{
    train, Arch, CacheConfig, ComputeKind, FeatureCache, Freeze, LoaderConfig, Mining, ModelConfig,
    NoHooks, OptimizerKind, TrainConfig, TrainData,
};

const WEIGHTS: &str = "data/weights/efficientnet-lite0.safetensors";
/// Caption dimension of the head (GloVe 6B 50d, as the demo).
const DIM: usize = 50;
const HEAD_EPOCHS: usize = 20;
const BATCH: usize = 64;
/// Images extracted untimed before each timed extraction (one extraction batch).
const WARM_UP: usize = 32;

fn jpegs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            jpegs(&p, out);
        } else if p.extension().is_some_and(|x| x == "jpg") {
            out.push(p);
        }
    }
}

fn arg(args: &[String], i: usize, default: usize) -> usize {
    args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(
        args.first()
            .ok_or("usage: bench_extract DIR [IMAGES] [CROP] [RESIZE]")?,
    );
    let (n, crop, resize) = (arg(&args, 1, 256), arg(&args, 2, 224), arg(&args, 3, 224));
    let mut images = Vec::new();
    jpegs(&dir, &mut images);
    images.sort();
    images.truncate(n);
    if images.len() < n {
        return Err(format!("{} holds {} JPEGs, {n} wanted", dir.display(), images.len()).into());
    }
    let tmp = tempfile::tempdir()?;
    let loader = LoaderConfig {
        resize: resize as u32,
        crop: crop as u32,
        ..LoaderConfig::default()
    };
    let model = ModelConfig {
        arch: Arch::EfficientNetLite0,
        out_dim: DIM as i64,
        freeze: Freeze::Backbone,
        pretrained: Some(WEIGHTS.into()),
        ..Default::default()
    };
    println!("webly_threads={}", tch::get_num_threads());
    let mut cache = CacheConfig::default();
    for compute in [ComputeKind::F32, ComputeKind::Bf16] {
        cache = CacheConfig {
            views: 1,
            compute,
            dir: Some(tmp.path().join(format!("features-{compute:?}"))),
            ..Default::default()
        };
        let fc = FeatureCache::open(&model, &loader, &cache, tmp.path(), Device::Cpu)?
            .ok_or("the model should use the cache")?;
        // One batch first, untimed, into a cache of its own: oneDNN makes its kernels on the
        // first call, and the ONNX Runtime peer also runs one batch before its timing.
        let warm = CacheConfig {
            dir: Some(tmp.path().join(format!("warm-up-{compute:?}"))),
            ..cache.clone()
        };
        FeatureCache::open(&model, &loader, &warm, tmp.path(), Device::Cpu)?
            .ok_or("the model should use the cache")?
            .ensure(
                "warm-up",
                &images[..WARM_UP.min(images.len())],
                1,
                webly_encoder::Bar::Hide,
            )?;
        let t = Instant::now();
        let (_, report) = fc.ensure("bench", &images, 1, webly_encoder::Bar::Hide)?;
        let secs = t.elapsed().as_secs_f64();
        let key = match compute {
            ComputeKind::F32 | ComputeKind::Auto => "webly_extract_images_per_s",
            ComputeKind::Bf16 => "webly_extract_bf16_images_per_s",
        };
        println!("{key}={:.1}", images.len() as f64 / secs);
        println!("webly_bytes_per_image={}", fc.manifest().bytes_per_view);
        println!("webly_skipped={}", report.skipped);
    }

    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut targets = Vec::with_capacity(images.len() * DIM);
    for _ in 0..images.len() {
        let t: Vec<f32> = (0..DIM).map(|_| rng.gen::<f32>() - 0.5).collect();
        let norm = t.iter().map(|x| x * x).sum::<f32>().sqrt();
        targets.extend(t.iter().map(|x| x / norm));
    }
    let cfg = TrainConfig {
        model,
        optimizer: OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
        },
        mining: Mining::All {
            max_similarity: 0.9,
        },
        batch_size: BATCH,
        epochs: HEAD_EPOCHS,
        loader,
        cache: CacheConfig { views: 1, ..cache },
        out_dir: tmp.path().join("run"),
        checkpoint_every: u64::MAX,
        progress: false,
        plot: false,
        ..Default::default()
    };
    let data = TrainData {
        train_images: images,
        train_targets: targets,
        dim: DIM,
        ..Default::default()
    };
    let r = train(&cfg, &data, &mut NoHooks)?;
    println!("webly_head_images_per_s={:.1}", r.images_per_s);
    Ok(())
}
