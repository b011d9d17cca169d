//! Stage 2b: the activation cache at the freeze boundary of a model's frozen pretrained
//! backbone (`run_dir/features/<fingerprint>/`, see `webly_encoder::cache`). It runs before
//! training (training and validation images) and before embedding (test images), so that the
//! time spent decoding images and running the frozen stages is measured on its own; training,
//! validation and embedding then open the same shards without decoding anything.
use std::fmt;
use std::path::PathBuf;

use webly_data::{ShardSpec, Split};
use webly_encoder::{resolve_device, ExtractReport, FeatureCache, TrainConfig};

use crate::config::RunConfig;
use crate::context::Context;
use crate::error::{PipelineError, Result};
use crate::train_stage::{self, TrainOverrides};

/// One list of images to cache: its set name, the images in row order, the views per image.
pub struct CacheSet<'a> {
    pub name: &'a str,
    pub images: &'a [PathBuf],
    pub views: usize,
}

/// Fills (or reuses) the cache of each set for `train`'s model; nothing when the model does not
/// train from a cache. Prints one line per set.
pub fn ensure(train: &TrainConfig, sets: &[CacheSet<'_>]) -> Result<Vec<ExtractReport>> {
    let device = resolve_device(train.device)?;
    let default_dir = train.out_dir.join("features");
    let Some(cache) = FeatureCache::open(
        &train.model,
        &train.loader,
        &train.cache,
        &default_dir,
        device,
    )?
    else {
        return Ok(Vec::new());
    };
    let mut reports = Vec::with_capacity(sets.len());
    for set in sets {
        let (_, report) = cache.ensure(set.name, set.images, set.views, train.progress)?;
        eprintln!("{report}");
        for s in &report.skipped_files {
            eprintln!("[features] skipped {}: {}", s.path.display(), s.reason);
        }
        reports.push(report);
    }
    Ok(reports)
}

/// What [`extract`] did: one report per set, for the whole cache or one task's part.
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
        for r in &self.reports {
            writeln!(f, "{r}")?;
        }
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
            "[{}] {whose}: {done} of its {shards} shards extracted now, the rest were there",
            self.model
        )
    }
}

/// `webly extract [--shard I/N]`: fills a model's activation cache for its training (with the
/// configured views), validation and test images without training anything: the whole cache,
/// or only the cache shards of work shard `part` ([`ShardSpec::takes`]: cache shard `s` of
/// each set when `s % N == I`). N tasks side by side, on one machine or on a cluster sharing
/// the run folder, fill the whole cache; `webly run` and `webly train` then extract nothing.
///
/// # Errors
/// [`PipelineError::Invalid`] when the model trains from no cache (no frozen pretrained
/// backbone); the data, text and cache errors of the stages.
pub fn extract(
    cfg: &RunConfig,
    model: Option<&str>,
    part: Option<ShardSpec>,
) -> Result<ExtractSummary> {
    let model = cfg.model(model)?;
    let ctx = Context::open_reader(cfg)?;
    let dim = ctx.text.embedder.dim();
    let train = train_stage::effective_config(cfg, model, dim, &TrainOverrides::default())?;
    if !FeatureCache::applies(&train.model, &train.cache) {
        return Err(PipelineError::Invalid(format!(
            "model {}: nothing to extract: only a pretrained backbone with frozen stages \
             (freeze = \"backbone\" or {{ all_but_last = N }}) trains from a feature cache",
            model.name
        )));
    }
    let data = train_stage::train_data(&ctx.data.dataset, &ctx.text)?;
    let test: Vec<PathBuf> = ctx
        .data
        .dataset
        .split(Split::Test)
        .iter()
        .map(|i| i.image.clone())
        .collect();
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
    let reports = match part {
        None => ensure(&train, &sets)?,
        Some(part) => ensure_part(&train, &sets, part)?,
    };
    Ok(ExtractSummary {
        model: model.name.clone(),
        part,
        reports,
    })
}

/// [`ensure`] for one task's part of each set (see [`extract`]).
fn ensure_part(
    train: &TrainConfig,
    sets: &[CacheSet<'_>],
    part: ShardSpec,
) -> Result<Vec<ExtractReport>> {
    let device = resolve_device(train.device)?;
    let default_dir = train.out_dir.join("features");
    let Some(cache) = FeatureCache::open(
        &train.model,
        &train.loader,
        &train.cache,
        &default_dir,
        device,
    )?
    else {
        return Ok(Vec::new());
    };
    let mut reports = Vec::with_capacity(sets.len());
    for set in sets {
        let report = cache.ensure_part(set.name, set.images, set.views, part, train.progress)?;
        for s in &report.skipped_files {
            eprintln!("[features] skipped {}: {}", s.path.display(), s.reason);
        }
        reports.push(report);
    }
    Ok(reports)
}
