//! Generates an InstaCities-style dataset: `synth OUT [IMAGES] [SEED] [SIZE]`.

use std::path::PathBuf;

use webly_synth::{generate, SynthConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: synth OUT [IMAGES] [SEED] [SIZE]");
        std::process::exit(2);
    };
    let parse =
        |i: usize, default: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let cfg = SynthConfig {
        out: PathBuf::from(out),
        images: parse(1, 2000) as usize,
        seed: parse(2, 42),
        image_size: parse(3, 300) as u32,
        overwrite: true,
        ..SynthConfig::default()
    };
    match generate(&cfg) {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
