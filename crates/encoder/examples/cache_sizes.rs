//! Bytes per image and view of the activation cache, for each arch and freeze point:
//! `cargo run --release -p webly-encoder --example cache_sizes [CROP...]` (default 128 224).
//! Prints a markdown table (docs/guide.md's) with the cost of 1M images at 4 views.
use tch::Device;
use webly_encoder::{
    Arch, CacheConfig, CacheDtype, FeatureCache, Freeze, LoaderConfig, ModelConfig,
};

const MILLION: f64 = 1e6;
const VIEWS: f64 = 4.0;
const GB: f64 = 1e9;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let crops: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let crops = if crops.is_empty() {
        vec![128, 224]
    } else {
        crops
    };
    let tmp = tempfile::tempdir()?;
    let weights = tmp.path().join("random.safetensors");
    println!(
        "| arch | freeze | crop | cached activation | f16 bytes / view | 1M images x 4 views |"
    );
    println!("|---|---|---:|---|---:|---:|");
    let cases = [
        (Arch::EfficientNetLite0, Freeze::Backbone),
        (Arch::EfficientNetLite0, Freeze::AllButLast(1)),
        (Arch::EfficientNetLite0, Freeze::AllButLast(2)),
        (Arch::EfficientNetLite0, Freeze::AllButLast(6)),
        (Arch::ResNet18, Freeze::Backbone),
        (Arch::ResNet18, Freeze::AllButLast(1)),
        (Arch::ResNet18, Freeze::AllButLast(2)),
    ];
    for crop in crops {
        for (arch, freeze) in cases {
            let mut vs = tch::nn::VarStore::new(Device::Cpu);
            let model = ModelConfig {
                arch,
                freeze: Freeze::None,
                out_dim: 50,
                ..Default::default()
            };
            webly_encoder::Network::build(&mut vs, &model)?;
            vs.save(&weights)?;
            let model = ModelConfig {
                freeze,
                pretrained: Some(weights.clone()),
                ..model
            };
            let cache = CacheConfig {
                dtype: CacheDtype::F16,
                dir: Some(tmp.path().join("c")),
                ..Default::default()
            };
            let loader = LoaderConfig {
                resize: crop,
                crop,
                ..LoaderConfig::default()
            };
            let fc = FeatureCache::open(&model, &loader, &cache, tmp.path(), Device::Cpu)?
                .ok_or("cache applies")?;
            let m = fc.manifest();
            println!(
                "| {arch:?} | {freeze:?} | {crop} | {:?} | {} | {:.1} GB |",
                m.shape,
                m.bytes_per_view,
                m.bytes_per_view as f64 * MILLION * VIEWS / GB
            );
        }
    }
    Ok(())
}
