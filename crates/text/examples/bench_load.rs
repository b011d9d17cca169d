//! Load benchmark: parse time of a word-vector file vs. reload from the binary cache.
//!
//! `cargo run --release -p webly-text --example bench_load -- data/glove/glove.6B.50d.txt`
//! Prints `parse_s`, `cache_write_s` and `reload_s` (cache in a temporary folder, so the
//! source's own cache is neither used nor touched).

use std::path::PathBuf;
use std::time::Instant;

use webly_text::{CacheStatus, LoadOptions, WordVectors};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path: PathBuf = std::env::args()
        .nth(1)
        .ok_or("usage: bench_load <vectors file>")?
        .into();
    let cache_dir = tempfile::tempdir()?;
    let parse = LoadOptions {
        cache: false,
        progress: false,
        ..LoadOptions::default()
    };
    let cached = LoadOptions {
        cache: true,
        cache_dir: Some(cache_dir.path().to_path_buf()),
        ..parse.clone()
    };
    let t = Instant::now();
    let (v, report) = WordVectors::load(&path, &parse)?;
    let parse_s = t.elapsed().as_secs_f64();
    println!(
        "words={} dim={} duplicates={}",
        v.len(),
        v.dim(),
        report.duplicates
    );
    drop(v);

    let t = Instant::now();
    let (_, r) = WordVectors::load(&path, &cached)?;
    let write_s = t.elapsed().as_secs_f64();
    assert!(matches!(r.cache, CacheStatus::Written(_)), "{:?}", r.cache);

    let t = Instant::now();
    let (v, r) = WordVectors::load(&path, &cached)?;
    let reload_s = t.elapsed().as_secs_f64();
    assert!(matches!(r.cache, CacheStatus::Hit(_)), "{:?}", r.cache);
    let checksum: f64 = v.row(v.len() - 1).iter().map(|&x| f64::from(x)).sum();

    println!("parse_s={parse_s:.4}");
    println!("parse_plus_cache_write_s={write_s:.4}");
    println!("reload_s={reload_s:.4} (checksum verified, vectors memory-mapped; last row sum {checksum:.3})");
    println!("reload/parse={:.3}", reload_s / parse_s);
    Ok(())
}
