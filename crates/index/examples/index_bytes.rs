//! Bytes per image of a saved HNSW index (all its files, manifest included), for docs/guide.md's
//! scale table: `cargo run --release -p webly-index --example index_bytes -- [N] [DIM]`.
//! Builds over N clustered vectors of DIM (defaults 20,000 x 50, the demo's GloVe dimension)
//! with the default config, saves into a temporary folder and prints `key=value` pairs.

use std::time::Instant;

use webly_index::synthetic::{clustered_split, SyntheticConfig};
use webly_index::{Fingerprints, Hnsw, HnswConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().map_or(Ok(20_000), |s| s.parse())?;
    let dim: usize = args.get(1).map_or(Ok(50), |s| s.parse())?;
    let (emb, _) = clustered_split(n, 0, dim, &SyntheticConfig::default());
    let start = Instant::now();
    let mut hnsw = Hnsw::build(&emb, &HnswConfig::default())?;
    let build = start.elapsed().as_secs_f64();
    let dir = std::env::temp_dir().join(format!("webly-index-bytes-{}", std::process::id()));
    let fp = Fingerprints {
        model: "m".into(),
        text: "t".into(),
    };
    hnsw.save(&dir, &fp)?;
    let mut bytes = 0u64;
    for entry in std::fs::read_dir(&dir)? {
        bytes += entry?.metadata()?.len();
    }
    std::fs::remove_dir_all(&dir)?;
    println!(
        "index n={n} dim={dim} bytes={bytes} bytes_per_image={:.1} build_seconds={build:.2} \
         inserts_per_sec={:.0}",
        bytes as f64 / n as f64,
        n as f64 / build
    );
    Ok(())
}
