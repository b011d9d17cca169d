//! A tiny learnable image-text problem: coloured shapes on noisy backgrounds.
//!
//! Each image shows one filled shape (square or disc) in one of 4 colours at a random place.
//! Its caption embedding is `normalize(colour_vector + 0.5 * shape_vector)` with fixed random
//! unit vectors per colour and per shape, plus a little noise: the colour dominates.
#![allow(dead_code)]
use image::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use webly_encoder::{Arch, LoaderConfig, ModelConfig, OptimizerKind, TrainConfig, TrainData};

pub const DIM: usize = 16;
pub const SIDE: u32 = 40;
pub const CROP: u32 = 32;
pub const COLOURS: [[u8; 3]; 4] = [[220, 30, 30], [30, 200, 30], [30, 30, 220], [230, 220, 30]];
const SHAPE_WEIGHT: f32 = 0.5;
const NOISE: f32 = 0.1;

pub struct Problem {
    pub images: Vec<PathBuf>,
    pub colour: Vec<usize>,
    pub targets: Vec<f32>,
    pub colour_vecs: Vec<Vec<f32>>,
}

fn unit(v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.into_iter().map(|x| x / n).collect()
}

fn gaussian_vec(rng: &mut ChaCha8Rng) -> Vec<f32> {
    // Sum of uniforms: close enough to Gaussian for random directions.
    unit(
        (0..DIM)
            .map(|_| (0..4).map(|_| rng.gen::<f32>() - 0.5).sum())
            .collect(),
    )
}

fn draw(rng: &mut ChaCha8Rng, colour: [u8; 3], disc: bool) -> RgbImage {
    let mut img = RgbImage::from_fn(SIDE, SIDE, |_, _| {
        let g = rng.gen_range(90..160u8);
        Rgb([g, g, g])
    });
    let r = rng.gen_range(7..11i32);
    let cx = rng.gen_range(r..SIDE as i32 - r);
    let cy = rng.gen_range(r..SIDE as i32 - r);
    for y in (cy - r)..(cy + r) {
        for x in (cx - r)..(cx + r) {
            let inside = !disc || (x - cx).pow(2) + (y - cy).pow(2) <= r * r;
            if inside {
                img.put_pixel(x as u32, y as u32, Rgb(colour));
            }
        }
    }
    img
}

/// Writes `n` images into `dir` (seeded) with their targets.
pub fn generate(dir: &Path, n: usize, seed: u64) -> Problem {
    let mut vec_rng = ChaCha8Rng::seed_from_u64(1234);
    let colour_vecs: Vec<Vec<f32>> = (0..4).map(|_| gaussian_vec(&mut vec_rng)).collect();
    let shape_vecs: Vec<Vec<f32>> = (0..2).map(|_| gaussian_vec(&mut vec_rng)).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut p = Problem {
        images: Vec::new(),
        colour: Vec::new(),
        targets: Vec::new(),
        colour_vecs: colour_vecs.clone(),
    };
    std::fs::create_dir_all(dir).expect("create image dir");
    for i in 0..n {
        let c = rng.gen_range(0..4);
        let s = rng.gen_range(0..2);
        let path = dir.join(format!("{seed}-{i}.png"));
        draw(&mut rng, COLOURS[c], s == 1)
            .save(&path)
            .expect("write png");
        let t: Vec<f32> = (0..DIM)
            .map(|d| {
                colour_vecs[c][d]
                    + SHAPE_WEIGHT * shape_vecs[s][d]
                    + NOISE * (rng.gen::<f32>() - 0.5)
            })
            .collect();
        p.targets.extend(unit(t));
        p.images.push(path);
        p.colour.push(c);
    }
    p
}

/// A fast small-CNN configuration for these images.
pub fn config(out: &Path) -> TrainConfig {
    TrainConfig {
        model: ModelConfig {
            arch: Arch::SmallCnn,
            out_dim: DIM as i64,
            small_cnn_widths: vec![16, 32, 32],
            ..Default::default()
        },
        optimizer: OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
        },
        lr: 3e-3,
        weight_decay: 0.0,
        batch_size: 32,
        epochs: 6,
        seed: 7,
        loader: LoaderConfig {
            resize: SIDE,
            crop: CROP,
            ..LoaderConfig::default()
        },
        out_dir: out.to_path_buf(),
        checkpoint_every: 1000,
        log_every: 2,
        progress: false,
        plot: false,
        prefetch: 2,
        ..Default::default()
    }
}

pub fn data(train: &Problem) -> TrainData {
    TrainData {
        train_images: train.images.clone(),
        train_targets: train.targets.clone(),
        dim: DIM,
        val_images: Vec::new(),
        val_keys: Vec::new(),
    }
}

/// Mean over the 4 colour queries of the average precision of ranking the test images by
/// cosine to the colour vector (relevant: that colour). Random ranking gives about 0.25.
pub fn colour_map(matrix: &[f32], loaded: &[usize], test: &Problem) -> f64 {
    let mut total = 0.0;
    for (c, q) in test.colour_vecs.iter().enumerate() {
        let mut scored: Vec<(f32, bool)> = loaded
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let e = &matrix[k * DIM..(k + 1) * DIM];
                (
                    e.iter().zip(q).map(|(a, b)| a * b).sum(),
                    test.colour[i] == c,
                )
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (mut hits, mut ap) = (0.0, 0.0);
        for (rank, &(_, rel)) in scored.iter().enumerate() {
            if rel {
                hits += 1.0;
                ap += hits / (rank + 1) as f64;
            }
        }
        total += ap / hits.max(1.0);
    }
    total / test.colour_vecs.len() as f64
}
