//! Loader benchmark: `bench_data_load DIR [RESIZE CROP]`.
//!
//! Loads every `.jpg` under `DIR` (decode + resize shorter side + center crop + f32 CHW), once
//! to warm the file cache, then timed on 1 thread and on all threads. If `DIR` holds no JPEG,
//! 2000 InstaCities-style 300x300 images are generated there first (generation speed printed).
//! Output lines are `key=value` pairs for `scripts/bench_data.sh`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use webly_data::{load_batch, Crop, LoaderConfig};
use webly_synth::{generate, SynthConfig};

/// Images per `load_batch` call (the reference's batch size was 120).
const BATCH: usize = 128;
/// Images generated when `DIR` is empty.
const GENERATED: usize = 2000;

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

fn run(paths: &[PathBuf], cfg: &LoaderConfig) -> (usize, f64) {
    let start = Instant::now();
    let mut loaded = 0;
    for chunk in paths.chunks(BATCH) {
        loaded += load_batch(chunk, cfg, Crop::Center).loaded.len();
    }
    (loaded, start.elapsed().as_secs_f64())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: bench_data_load DIR [RESIZE CROP]");
        std::process::exit(2);
    };
    let num = |i: usize, d: u32| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let cfg = LoaderConfig {
        resize: num(1, 256),
        crop: num(2, 224),
        ..LoaderConfig::default()
    };
    let mut paths = Vec::new();
    jpegs(&dir, &mut paths);
    if paths.is_empty() {
        let synth = SynthConfig {
            out: dir.clone(),
            images: GENERATED,
            contact_sheet: false,
            ..SynthConfig::default()
        };
        match generate(&synth) {
            Ok(r) => println!(
                "generate threads={} images={} seconds={:.3} images_per_sec={:.1}",
                rayon::current_num_threads(),
                r.images,
                r.seconds,
                r.images_per_sec
            ),
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
        jpegs(&dir, &mut paths);
    }
    paths.sort();
    run(&paths, &cfg);
    let all = rayon::current_num_threads();
    for threads in [1, all] {
        let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        };
        let (n, secs) = pool.install(|| run(&paths, &cfg));
        println!(
            "rust threads={threads} images={n} seconds={secs:.3} images_per_sec={:.1}",
            n as f64 / secs
        );
    }
}
