//! Dataset-source benchmark: `bench_sources DIR SHARDS_DIR [RESIZE CROP]`.
//!
//! `DIR` holds an InstaCities-layout dataset (2000 generated images when empty, as for
//! `bench_data_load`); `SHARDS_DIR` receives the same samples packed as img2dataset webdataset
//! shards of 1,000 samples (`<key>.jpg`, `<key>.txt`), once. Then, each warmed once and timed on
//! all threads: opening the dataset (listing + captions: a folder walk vs streaming tar headers),
//! reading every image's bytes, and loading every image (decode + resize + crop), from loose
//! files and from tar members. Output lines are `key=value` pairs for `scripts/bench_sources.sh`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use webly_data::{
    load_batch, read_image_bytes, Crop, Dataset, DatasetConfig, DatasetFormat, LoaderConfig,
    CAPTION_DIR,
};
use webly_synth::{generate, SynthConfig};

/// Images per `load_batch` call.
const BATCH: usize = 128;
/// Images generated when `DIR` is empty.
const GENERATED: usize = 2000;
/// Samples per shard (img2dataset's default is 10,000; smaller here so that several shards are
/// read in parallel).
const PER_SHARD: usize = 1000;

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("error: {e}");
    std::process::exit(1)
}

fn open(root: &Path, format: DatasetFormat) -> Dataset {
    let cfg = DatasetConfig {
        root: root.to_path_buf(),
        format,
        ..DatasetConfig::default()
    };
    Dataset::open(&cfg).unwrap_or_else(|e| fail(e))
}

/// Packs the InstaCities dataset into tar shards (unless already there).
fn pack(ds: &Dataset, out: &Path) {
    if fs::read_dir(out).is_ok_and(|mut d| d.next().is_some()) {
        return;
    }
    fs::create_dir_all(out).unwrap_or_else(|e| fail(e));
    let captions = ds.root.join(CAPTION_DIR);
    for (s, chunk) in ds.items.chunks(PER_SHARD).enumerate() {
        let file = fs::File::create(out.join(format!("{s:05}.tar"))).unwrap_or_else(|e| fail(e));
        let mut b = tar::Builder::new(file);
        for item in chunk {
            let caption = captions.join(&item.city).join(format!("{}.txt", item.id));
            for (ext, path) in [("jpg", &item.image), ("txt", &caption)] {
                let bytes = fs::read(path).unwrap_or_else(|e| fail(e));
                let mut h = tar::Header::new_ustar();
                h.set_size(bytes.len() as u64);
                h.set_mode(0o644);
                let name = format!("{}.{ext}", item.key);
                b.append_data(&mut h, name, bytes.as_slice())
                    .unwrap_or_else(|e| fail(e));
            }
        }
        b.into_inner().unwrap_or_else(|e| fail(e));
    }
}

/// Seconds of `f`, run once to warm the page cache and then timed.
fn timed<T>(mut f: impl FnMut() -> T) -> (T, f64) {
    f();
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(shards)) = (args.first(), args.get(1)) else {
        eprintln!("usage: bench_sources DIR SHARDS_DIR [RESIZE CROP]");
        std::process::exit(2);
    };
    let (dir, shards) = (PathBuf::from(dir), PathBuf::from(shards));
    let num = |i: usize, d: u32| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let cfg = LoaderConfig {
        resize: num(2, 256),
        crop: num(3, 224),
        ..LoaderConfig::default()
    };
    if !dir.join(webly_data::IMAGE_DIR).is_dir() {
        let synth = SynthConfig {
            out: dir.clone(),
            images: GENERATED,
            contact_sheet: false,
            ..SynthConfig::default()
        };
        generate(&synth).unwrap_or_else(|e| fail(e));
    }
    let files = open(&dir, DatasetFormat::Instacities);
    pack(&files, &shards);
    let threads = rayon::current_num_threads();
    for (name, root, format) in [
        ("files", &dir, DatasetFormat::Instacities),
        ("tar", &shards, DatasetFormat::Webdataset),
    ] {
        let (ds, open_secs) = timed(|| open(root, format));
        let paths: Vec<PathBuf> = ds.items.iter().map(|i| i.image.clone()).collect();
        let n = paths.len();
        let (bytes, read_secs) = timed(|| {
            use rayon::prelude::*;
            paths
                .par_iter()
                .map(|p| read_image_bytes(p).map_or(0, |b| b.len()))
                .sum::<usize>()
        });
        let (loaded, load_secs) = timed(|| {
            paths
                .chunks(BATCH)
                .map(|c| load_batch(c, &cfg, Crop::Center).loaded.len())
                .sum::<usize>()
        });
        println!(
            "{name} threads={threads} images={n} loaded={loaded} bytes={bytes} \
             open_per_sec={:.1} read_per_sec={:.1} load_per_sec={:.1}",
            n as f64 / open_secs,
            n as f64 / read_secs,
            n as f64 / load_secs
        );
    }
}
