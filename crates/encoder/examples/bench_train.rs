//! Training throughput of the small CNN in webly (real PNG loading through the prefetch thread).
//!
//! `cargo run --release -p webly-encoder --example bench_train -- [IMAGES] [STEPS] [BATCH] [CROP] [THREADS]`
//! (defaults 512 200 64 64 2). Prints `webly_images_per_s=...` and `webly_data_wait=...`.
//!
//! `... --example bench_train -- --cache DIR [VIEWS] [BATCH] [THREADS]` (defaults 1000000 64 1):
//! head training read from an activation cache of VIEWS cached views (one per image) of
//! EfficientNet-Lite0 with the whole backbone frozen, in the real cache format (f16 safetensors
//! shards of 512 images, memory-mapped, with their JSON indexes and checksums) under DIR, written
//! once with generated activations (no images are decoded: the images named are never read, as
//! a cache that is complete never reads them). Then one epoch of the linear head with a warm page
//! cache (the cache's check has just read every shard), and one with a cold one: before its first
//! batch every shard file is dropped from the page cache with `posix_fadvise(DONTNEED)`, checked
//! with `mincore` (the pages the open set has mapped, its safetensors headers and the pages
//! the kernel maps around them, stay). Prints `cache_warm_images_per_s=`, `cache_cold_images_per_s=`, their data
//! waits and the resident shares.
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use webly_encoder::{
    train, Arch, CacheConfig, FeatureCache, Freeze, KeyedEmbeddings, LoaderConfig, Mining,
    ModelConfig, NoHooks, OptimizerKind, TrainConfig, TrainData, TrainHooks,
};

const DIM: usize = 50;
/// Stored images are this much larger than the crop (the loader resizes and crops).
const RESIZE_MARGIN: u32 = 8;

fn arg(args: &[String], i: usize, default: usize) -> usize {
    args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--cache") {
        return from_cache(&args[1..]);
    }
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

/// The pretrained weights whose fingerprint names the cache (`scripts/setup.sh` installs them).
const WEIGHTS: &str = "data/weights/efficientnet-lite0.safetensors";
/// The cache set that training reads (`train.rs`'s name for it), with one view per image.
const TRAIN_SET: &str = "train-v1";

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// `--cache DIR [VIEWS] [BATCH] [THREADS]`: see the module docs.
fn from_cache(args: &[String]) -> Res<()> {
    let dir = PathBuf::from(
        args.first()
            .ok_or("usage: bench_train --cache DIR [VIEWS] [BATCH] [THREADS]")?,
    );
    let (n, batch, threads) = (arg(args, 1, 1_000_000), arg(args, 2, 64), arg(args, 3, 1));
    let model = ModelConfig {
        arch: Arch::EfficientNetLite0,
        out_dim: DIM as i64,
        freeze: Freeze::Backbone,
        pretrained: Some(WEIGHTS.into()),
        ..Default::default()
    };
    let loader = LoaderConfig::default();
    let cache = CacheConfig {
        views: 1,
        dir: Some(dir.join("features")),
        ..Default::default()
    };
    let fc = FeatureCache::open(&model, &loader, &cache, &dir, tch::Device::Cpu)?
        .ok_or("the model should use the cache")?;
    let set = fc.root().join(TRAIN_SET);
    let images: Vec<PathBuf> = (0..n)
        .map(|i| dir.join(format!("images/{i:07}.jpg")))
        .collect();
    let t = Instant::now();
    let written = write_cache(&set, &images, cache.shard_images, fc.manifest())?;
    if written > 0 {
        println!(
            "cache: {written} shards of {} images written to {} in {:.1} s ({:.2} GB)",
            cache.shard_images,
            set.display(),
            t.elapsed().as_secs_f64(),
            (n * fc.manifest().bytes_per_view) as f64 / 1e9
        );
    }
    drop(fc);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut targets = Vec::with_capacity(n * DIM);
    for _ in 0..n {
        let t: Vec<f32> = (0..DIM).map(|_| rng.gen::<f32>() - 0.5).collect();
        let norm = t.iter().map(|x| x * x).sum::<f32>().sqrt();
        targets.extend(t.iter().map(|x| x / norm));
    }
    let data = TrainData {
        train_images: images,
        train_targets: targets,
        dim: DIM,
        ..Default::default()
    };
    let shards: Vec<PathBuf> = shard_files(&set, n.div_ceil(cache.shard_images));
    for (name, cold) in [("warm", false), ("cold", true)] {
        let out_dir = dir.join(format!("run-{name}"));
        let _ = std::fs::remove_dir_all(&out_dir);
        let cfg = TrainConfig {
            model: model.clone(),
            optimizer: OptimizerKind::Adam {
                beta1: 0.9,
                beta2: 0.999,
            },
            mining: Mining::All {
                max_similarity: 0.9,
            },
            batch_size: batch,
            epochs: 1,
            loader: loader.clone(),
            cache: cache.clone(),
            threads,
            out_dir: out_dir.clone(),
            checkpoint_every: u64::MAX,
            progress: false,
            plot: false,
            ..Default::default()
        };
        let mut hooks = PageCache {
            shards: &shards,
            evict: cold,
            resident: (f64::NAN, f64::NAN),
        };
        if cold {
            // Evicted once before the run too, while no shard is mapped: a file written in one
            // piece sits in large folios, and the open set's mapping of its header would pin
            // most of the file; read again by the cache's check, it comes back in readahead's
            // smaller folios, and the epoch's eviction leaves only the headers' pages.
            evict(&shards);
        }
        let t = Instant::now();
        let r = train(&cfg, &data, &mut hooks)?;
        let total_s = t.elapsed().as_secs_f64();
        let _ = std::fs::remove_dir_all(&out_dir);
        println!(
            "head training from {n} cached views, page cache {name}: {:.0} images/s ({:.1}% of \
             step time waiting for data), shards resident {:.1}% at the epoch's start{}; {total_s:.1} \
             s with the cache's check",
            r.images_per_s,
            100.0 * r.data_wait,
            100.0 * hooks.resident.1,
            if cold {
                format!(
                    " (posix_fadvise(DONTNEED) from {:.1}%)",
                    100.0 * hooks.resident.0
                )
            } else {
                String::new()
            }
        );
        println!("cache_{name}_images_per_s={:.1}", r.images_per_s);
        println!("cache_{name}_data_wait={:.4}", r.data_wait);
        println!("cache_{name}_resident={:.4}", hooks.resident.1);
    }
    Ok(())
}

/// The tensor files of a set's first `count` shards (`shard-NNNNN.safetensors`, as the cache
/// names them).
fn shard_files(set: &Path, count: usize) -> Vec<PathBuf> {
    (0..count)
        .map(|s| set.join(format!("shard-{s:05}.safetensors")))
        .collect()
}

/// Writes the shards of `set` that are missing, in the cache's format (the tensor file, then its
/// JSON index with the file's checksum), with generated f16 activations in [0.25, 1); returns the
/// shards written.
fn write_cache(
    set: &Path,
    images: &[PathBuf],
    per: usize,
    manifest: &webly_encoder::cache::CacheManifest,
) -> Res<usize> {
    std::fs::create_dir_all(set)?;
    let elems = manifest.bytes_per_view / 2;
    let mut written = 0;
    for (s, chunk) in images.chunks(per).enumerate() {
        let tensor = set.join(format!("shard-{s:05}.safetensors"));
        let index = set.join(format!("shard-{s:05}.json"));
        if index.exists() {
            continue;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(s as u64);
        let bytes: Vec<u8> = (0..chunk.len() * elems)
            .flat_map(|_| (0x3400u16 | (rng.gen::<u16>() & 0x07ff)).to_le_bytes())
            .collect();
        let mut shape = vec![chunk.len(), 1];
        shape.extend(manifest.shape.iter().map(|&d| d as usize));
        let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F16, shape, &bytes)?;
        std::fs::write(&tensor, safetensors::serialize([("features", view)], None)?)?;
        let json = serde_json::json!({
            "images": chunk,
            "signatures": vec![serde_json::Value::Null; chunk.len()],
            "ok": vec![true; chunk.len()],
            "reasons": {},
            "views": 1,
            "shape": manifest.shape,
            "dtype": manifest.dtype,
            "checksum": webly_io::checksum(&tensor)?,
        });
        std::fs::write(&index, serde_json::to_vec(&json)?)?;
        written += 1;
    }
    Ok(written)
}

/// Empties the page cache of the shard files before the epoch when `evict`, and records the
/// resident share before and after (`mincore`).
struct PageCache<'a> {
    shards: &'a [PathBuf],
    evict: bool,
    resident: (f64, f64),
}

impl TrainHooks for PageCache<'_> {
    fn validate(&mut self, _: usize, _: &KeyedEmbeddings) -> Result<Option<f64>, String> {
        Ok(None)
    }

    fn epoch_start(&mut self, _epoch: usize) {
        self.resident.0 = resident_share(self.shards);
        if self.evict {
            evict(self.shards);
        }
        self.resident.1 = resident_share(self.shards);
    }
}

/// Drops the files' pages from the page cache (`posix_fadvise(DONTNEED)`), but for those mapped
/// by a process.
fn evict(files: &[PathBuf]) {
    for path in files {
        if let Ok(f) = std::fs::File::open(path) {
            use std::os::fd::AsRawFd;
            // Dirty pages (a cache written moments ago) are not dropped: write them first.
            let _ = f.sync_data();
            // SAFETY: a valid open descriptor; the advice only drops clean cached pages.
            unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        }
    }
}

/// The share of the files' pages in the page cache (`mincore` over a fresh read-only map, which
/// faults nothing in).
fn resident_share(files: &[PathBuf]) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as usize;
    let (mut resident, mut total) = (0usize, 0usize);
    for path in files {
        let Ok(f) = std::fs::File::open(path) else {
            continue;
        };
        // SAFETY: read-only map of a file nobody writes while it is mapped; never dereferenced.
        let Ok(map) = (unsafe { memmap2::Mmap::map(&f) }) else {
            continue;
        };
        let pages = map.len().div_ceil(page);
        let mut vec = vec![0u8; pages];
        // SAFETY: `map` is a live mapping of `map.len()` bytes; `vec` holds one byte per page.
        if unsafe {
            libc::mincore(
                map.as_ptr() as *mut libc::c_void,
                map.len(),
                vec.as_mut_ptr(),
            )
        } == 0
        {
            resident += vec.iter().filter(|&&b| b & 1 == 1).count();
            total += pages;
        }
    }
    resident as f64 / total.max(1) as f64
}
