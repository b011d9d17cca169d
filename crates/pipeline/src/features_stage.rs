//! Stage 2b: the activation cache at the freeze boundary of a model's frozen pretrained
//! backbone (`run_dir/features/<fingerprint>/`, see `webly_encoder::cache`). It runs before
//! training (training and validation images) and before embedding (test images), so that the
//! time spent decoding images and running the frozen stages is measured on its own; training,
//! validation and embedding then open the same shards without decoding anything.
use std::fmt;
use std::path::PathBuf;

use webly_data::{Dataset, ShardSpec, Split};
use webly_encoder::{resolve_device, ExtractReport, FeatureCache, TrainConfig};
use webly_io::LockKind;

use crate::config::RunConfig;
use crate::context::Context;
use crate::error::{PipelineError, Result};
use crate::train_stage::{self, TrainOverrides};

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
    fill(train, sets, None)
}

/// [`ensure`], or only work shard `part` of each set ([`FeatureCache::ensure_part`]).
fn fill(
    train: &TrainConfig,
    sets: &[CacheSet<'_>],
    part: Option<ShardSpec>,
) -> Result<Vec<ExtractReport>> {
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
    let bar = webly_encoder::Bar::when(train.progress);
    let mut reports = Vec::with_capacity(sets.len());
    for set in sets {
        let report = match part {
            None => cache.ensure(set.name, set.images, set.views, bar)?.1,
            Some(part) => cache.ensure_part(set.name, set.images, set.views, part, bar)?,
        };
        eprintln!("{report}");
        for s in &report.skipped_files {
            eprintln!("[features] skipped {s}");
        }
        reports.push(report);
    }
    Ok(reports)
}

/// The test split's images, in dataset order (the rows of the test cache set).
pub fn test_images(dataset: &Dataset) -> Vec<PathBuf> {
    dataset
        .split(Split::Test)
        .iter()
        .map(|i| i.image.clone())
        .collect()
}

/// What [`extract`] did: one report per set (each printed to stderr as it finishes), for the
/// whole cache or one task's part; it prints itself as one line.
#[derive(Debug, Clone)]
pub struct ExtractSummary {
    /// The model whose cache was filled.
    pub model: String,
    /// The task's part (`--shard I/N`), or `None` for the whole cache.
    pub part: Option<ShardSpec>,
    /// Training, validation and test images, in that order.
    pub reports: Vec<ExtractReport>,
}

impl fmt::Display for ExtractSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (done, shards): (usize, usize) = self
            .reports
            .iter()
            .fold((0, 0), |(d, s), r| (d + r.extracted_shards, s + r.shards));
        let whose = match self.part {
            Some(p) => format!("part {p} of the cache"),
            None => "the whole cache".to_string(),
        };
        write!(
            f,
            "[{}] {whose}: {done} of its {shards} shards extracted now, {} already there",
            self.model,
            shards - done
        )
    }
}

/// `webly extract [--part I/N]`: fills a model's activation cache for its training (with the
/// configured views), validation and test images without training anything: the whole cache,
/// or only the cache shards of work shard `part` ([`ShardSpec::takes`]: cache shard `s` of
/// each set when `s % N == I`). N tasks side by side, on one machine or on a cluster sharing
/// the run folder, fill the whole cache; `webly run` and `webly train` then extract nothing.
///
/// # Errors
/// [`PipelineError::Setting`] when the model trains from no cache (no frozen pretrained
/// backbone); the data, text and cache errors of the stages.
pub fn extract(
    cfg: &RunConfig,
    model: Option<&str>,
    part: Option<ShardSpec>,
) -> Result<ExtractSummary> {
    let model = cfg.model(model)?;
    // Tasks side by side read the run; each writes only its own cache shards.
    let ctx = Context::open_prepared(cfg, LockKind::Shared)?;
    let dim = ctx.text.embedder.dim();
    let train = train_stage::effective_config(cfg, model, dim, &TrainOverrides::default())?;
    if !FeatureCache::applies(&train.model, &train.cache) {
        return Err(PipelineError::Setting(format!(
            "model {}: nothing to extract: only a pretrained backbone with frozen stages \
             (freeze = \"backbone\" or {{ all_but_last = N }}) trains from a feature cache",
            model.name
        )));
    }
    let data = train_stage::train_data(&ctx.data.dataset, &ctx.text)?;
    let test = test_images(&ctx.data.dataset);
    let sets = [
        CacheSet {
            name: "train",
            images: &data.train_images,
            views: train.cache.views,
        },
        CacheSet {
            name: "val",
            images: &data.val_images,
            views: 1,
        },
        CacheSet {
            name: "test",
            images: &test,
            views: 1,
        },
    ];
    let reports = fill(&train, &sets, part)?;
    Ok(ExtractSummary {
        model: model.name.clone(),
        part,
        reports,
    })
}
