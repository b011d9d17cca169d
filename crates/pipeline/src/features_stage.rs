//! Stage 2b: the activation cache at the freeze boundary of a model's frozen pretrained
//! backbone (`run_dir/features/<fingerprint>/`, see `webly_encoder::cache`). It runs before
//! training (training and validation images) and before embedding (test images), so that the
//! time spent decoding images and running the frozen stages is measured on its own; training,
//! validation and embedding then open the same shards without decoding anything.
use std::path::PathBuf;

use webly_encoder::{resolve_device, ExtractReport, FeatureCache, TrainConfig};

use crate::error::Result;

/// One list of images to cache: its set name, the images in row order, the views per image.
pub struct CacheSet<'a> {
    /// The set's name (its folder in the cache: `train`, `val`, `test`).
    pub name: &'a str,
    /// The images, in row order.
    pub images: &'a [PathBuf],
    /// Views cached per image (the centre crop, its mirror, random crops).
    pub views: usize,
}

/// Fills (or reuses) the cache of each set for `train`'s model (its `cache.dir`, which
/// `train_stage::effective_config` sets to the run's features folder); nothing when the model
/// does not train from a cache. Prints one line per set.
pub fn ensure(train: &TrainConfig, sets: &[CacheSet<'_>]) -> Result<Vec<ExtractReport>> {
    let device = resolve_device(train.device)?;
    let Some(cache) = FeatureCache::open(
        &train.model,
        &train.loader,
        &train.cache,
        &train.cache_dir(),
        device,
    )?
    else {
        return Ok(Vec::new());
    };
    let mut reports = Vec::with_capacity(sets.len());
    for set in sets {
        let (_, report) = cache.ensure(
            set.name,
            set.images,
            set.views,
            webly_encoder::Bar::when(train.progress),
        )?;
        eprintln!("{report}");
        for s in &report.skipped_files {
            eprintln!("[features] skipped {}: {}", s.path.display(), s.reason);
        }
        reports.push(report);
    }
    Ok(reports)
}
