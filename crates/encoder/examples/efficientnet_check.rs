//! Top-5 ImageNet ids of photos with the ported EfficientNet-Lite0, and the inputs/logits as .npy
//! for `scripts/efficientnet_ref.py --inputs OUT/inputs.npy --rust-logits OUT/logits.npy`.
//!
//! `cargo run --release -p webly-encoder --example efficientnet_check -- WEIGHTS PADDING OUT IMAGE...`
//! (PADDING: symmetric | tf_same). Images: resize 256, center crop 224 (webly-data's loader).
use std::path::PathBuf;
use tch::{nn, Device, Kind, Tensor};
use webly_encoder::{Crop, EfficientNetLite, LiteVariant, LoaderConfig, Padding};

const RESIZE: u32 = 256;
const CROP: i64 = 224;
const TOP: i64 = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        return Err("usage: efficientnet_check WEIGHTS PADDING OUT IMAGE...".into());
    }
    let padding = match args[1].as_str() {
        "tf_same" => Padding::TfSame,
        _ => Padding::Symmetric,
    };
    let out = PathBuf::from(&args[2]);
    std::fs::create_dir_all(&out)?;
    let images: Vec<PathBuf> = args[3..].iter().map(PathBuf::from).collect();
    let mut vs = nn::VarStore::new(Device::Cpu);
    let net = EfficientNetLite::new(&vs.root(), LiteVariant::Lite0, padding);
    vs.load(&args[0])?;
    let cfg = LoaderConfig {
        resize: RESIZE,
        crop: CROP as u32,
        ..LoaderConfig::default()
    };
    let batch = webly_data::load_batch(&images, &cfg, Crop::Center);
    for s in &batch.skipped {
        eprintln!("skipped {}: {}", s.path.display(), s.reason);
    }
    let n = batch.loaded.len() as i64;
    let x = Tensor::from_slice(&batch.data).view([n, 3, CROP, CROP]);
    let logits = net.logits(&x);
    x.write_npy(out.join("inputs.npy"))?;
    logits.write_npy(out.join("logits.npy"))?;
    let (p, ids) = logits.softmax(1, Kind::Float).topk(TOP, 1, true, true);
    for (k, &i) in batch.loaded.iter().enumerate() {
        let ids = Vec::<i64>::try_from(ids.get(k as i64))?;
        let p = Vec::<f32>::try_from(p.get(k as i64))?;
        println!("{}: top-5 ids {ids:?} probs {p:.3?}", images[i].display());
    }
    Ok(())
}
