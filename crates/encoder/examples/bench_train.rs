//! Training throughput of the small CNN in webly (real PNG loading through the prefetch thread).
//!
//! `cargo run --release -p webly-encoder --example bench_train -- [IMAGES] [STEPS] [BATCH] [CROP] [THREADS]`
//! (defaults 512 200 64 64 2). Prints `webly_images_per_s=...` and `webly_data_wait=...`.
use image::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use webly_encoder::{
    train, LoaderConfig, Mining, ModelConfig, NoHooks, OptimizerKind, TrainConfig, TrainData,
};

const DIM: usize = 50;
/// Stored images are this much larger than the crop (the loader resizes and crops).
const RESIZE_MARGIN: u32 = 8;

fn arg(args: &[String], i: usize, default: usize) -> usize {
    args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (n, steps, batch, crop, threads) = (
        arg(&args, 0, 512),
        arg(&args, 1, 200),
        arg(&args, 2, 64),
        arg(&args, 3, 64),
        arg(&args, 4, 2),
    );
    let dir = tempfile::tempdir()?;
    let side = crop as u32 + RESIZE_MARGIN;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut images = Vec::new();
    let mut targets = Vec::new();
    for i in 0..n {
        let img = RgbImage::from_fn(side, side, |_, _| Rgb([rng.gen(), rng.gen(), rng.gen()]));
        let p = dir.path().join(format!("{i}.png"));
        img.save(&p)?;
        images.push(p);
        let t: Vec<f32> = (0..DIM).map(|_| rng.gen::<f32>() - 0.5).collect();
        let norm = t.iter().map(|x| x * x).sum::<f32>().sqrt();
        targets.extend(t.iter().map(|x| x / norm));
    }
    let cfg = TrainConfig {
        model: ModelConfig {
            out_dim: DIM as i64,
            ..Default::default()
        },
        optimizer: OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
        },
        mining: Mining::Hardest,
        batch_size: batch,
        epochs: 10_000,
        max_steps: Some(steps as u64),
        loader: LoaderConfig {
            resize: side,
            crop: crop as u32,
            ..LoaderConfig::default()
        },
        threads,
        out_dir: dir.path().join("run"),
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
    println!(
        "webly_steps={} loss {:.4} -> {:.4}",
        r.steps, r.first_loss, r.final_loss
    );
    println!("webly_images_per_s={:.1}", r.images_per_s);
    println!("webly_data_wait={:.4}", r.data_wait);
    Ok(())
}
