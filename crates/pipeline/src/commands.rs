//! One function per `webly` command; each returns something to print.
use std::fmt;
use std::path::{Path, PathBuf};

use webly_data::synth::{self, SynthConfig, SynthReport};
use webly_data::{load_batch, Crop, GroundTruth, Split};
use webly_encoder::{Encoder, SavedModel};
use webly_eval::{compare as compare_runs, GalleryHit};
use webly_index::{Exact, Search};
use webly_text::{LoadOptions, WordVectors};

use crate::config::RunConfig;
use crate::context::Context;
use crate::error::{PipelineError, Result};
use crate::eval_stage::{self, ModelPaths};
use crate::model_stage::{self, open_index};
use crate::queries;
use crate::text_stage::SPLITS;
use crate::train_stage::{model_dir, TrainOverrides};

/// `webly synth`: generates a dataset; `options` is a TOML file of [`SynthConfig`] fields.
pub fn synth(out: &Path, images: usize, seed: u64, options: Option<&Path>) -> Result<SynthReport> {
    let mut cfg: SynthConfig = match options {
        None => SynthConfig::default(),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(PipelineError::io("reading", p))?;
            toml::from_str(&text).map_err(|e| PipelineError::Config {
                path: p.to_path_buf(),
                message: e.to_string(),
            })?
        }
    };
    cfg.out = out.to_path_buf();
    cfg.images = images;
    cfg.seed = seed;
    Ok(synth::generate(&cfg)?)
}

/// `webly train`: trains one model of the run (with CLI overrides).
pub fn train(cfg: &RunConfig, model: Option<&str>, overrides: &TrainOverrides) -> Result<String> {
    let model = cfg.model(model)?;
    let ctx = Context::open(cfg)?;
    let queries = ctx.queries()?;
    Ok(model_stage::train_outcome(&ctx, model, overrides, &queries)?.to_string())
}

/// `webly embed`: a split's image embeddings as `.npy` + `.ids`.
pub fn embed(
    cfg: &RunConfig,
    model: Option<&str>,
    split: &str,
    out: Option<&Path>,
) -> Result<PathBuf> {
    let split: Split = split
        .parse()
        .map_err(|_| PipelineError::Invalid(format!("split {split:?}: use train, val or test")))?;
    let model = cfg.model(model)?;
    let ctx = Context::open(cfg)?;
    let paths = ModelPaths::new(model_dir(cfg, &model.name));
    let out = out.map_or_else(|| paths.embeddings(split), Path::to_path_buf);
    eval_stage::embed_split(&paths.dir, &ctx.data.dataset, split, &out)?;
    Ok(out)
}

/// `webly index`: (re)builds a model's index over its test embeddings.
pub fn index(cfg: &RunConfig, model: Option<&str>) -> Result<String> {
    let model = cfg.model(model)?;
    let ctx = Context::open(cfg)?;
    let paths = ModelPaths::new(model_dir(cfg, &model.name));
    let stamp = trained_stamp(&paths)?;
    check_space(&ctx, &paths.dir)?;
    let emb_path = model_stage::ensure_embedded(&ctx, &paths, &stamp)?;
    let emb = eval_stage::read_embeddings(&emb_path)?;
    let fp = model_stage::fingerprints(&ctx, &stamp)?;
    let m = eval_stage::build_index(&emb, &cfg.index, &paths.index(), &fp)?;
    let recall = m.recall.as_ref().map_or("not measured".into(), |r| {
        let warning = r
            .warning()
            .map_or(String::new(), |w| format!("\nwarning: {w}"));
        format!(
            "recall@{} {:.4} ({} queries){warning}",
            r.k, r.recall, r.queries
        )
    });
    Ok(format!(
        "indexed {} images of dimension {} in {}: {recall}",
        m.count,
        m.dim,
        paths.index().display()
    ))
}

fn trained_stamp(paths: &ModelPaths) -> Result<String> {
    crate::stamp::read(&paths.dir).ok_or_else(|| PipelineError::Missing {
        what: "a finished training",
        path: paths.dir.clone(),
        hint: "webly train".into(),
    })
}

/// `webly eval`: evaluates a trained model on the test split.
pub fn evaluate(cfg: &RunConfig, model: Option<&str>) -> Result<String> {
    let model = cfg.model(model)?;
    let ctx = Context::open(cfg)?;
    let paths = ModelPaths::new(model_dir(cfg, &model.name));
    let stamp = trained_stamp(&paths)?;
    check_space(&ctx, &paths.dir)?;
    let queries = ctx.queries()?;
    let emb = eval_stage::read_embeddings(&model_stage::ensure_embedded(&ctx, &paths, &stamp)?)?;
    let title = format!("webly {}", model.name);
    let truth = GroundTruth::load(&ctx.data.dataset.root)?;
    Ok(eval_stage::evaluate_model(
        &emb,
        &ctx.data.dataset,
        truth.as_ref(),
        &queries,
        &paths.eval(),
        &title,
    )?
    .to_string())
}

/// `webly eval --compare`: finished evaluations side by side. Each path is an evaluation folder
/// (with `report.json`), a model folder or a run folder (all its models).
pub fn compare(paths: &[PathBuf]) -> Result<String> {
    let mut dirs = Vec::new();
    for p in paths {
        dirs.extend(report_dirs(p));
    }
    if dirs.is_empty() {
        return Err(PipelineError::Invalid(
            "no report.json under the given folders".into(),
        ));
    }
    let refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    Ok(compare_runs(&refs)?.to_string())
}

fn report_dirs(p: &Path) -> Vec<PathBuf> {
    let candidates = [
        p.to_path_buf(),
        p.join("eval/captions"),
        p.join("eval/truth"),
    ];
    let mut found: Vec<PathBuf> = candidates
        .into_iter()
        .filter(|d| d.join(webly_eval::REPORT_JSON).exists())
        .collect();
    if found.is_empty() {
        if let Ok(entries) = std::fs::read_dir(p.join("models")) {
            let mut models: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            models.sort();
            for m in models {
                found.extend(report_dirs(&m));
            }
        }
    }
    found
}

/// What `webly query` searches with.
pub enum QueryInput {
    Text(String),
    Image(PathBuf),
}

/// The answer to a query.
pub struct QueryAnswer {
    pub query: String,
    pub hits: Vec<GalleryHit>,
    pub html: Option<PathBuf>,
}

impl fmt::Display for QueryAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.query)?;
        for (rank, h) in self.hits.iter().enumerate() {
            writeln!(
                f,
                "{:>3}. {:.4}  {}  {}",
                rank + 1,
                h.score,
                h.key,
                h.image_path.display()
            )?;
            writeln!(f, "      {}", h.caption)?;
        }
        if let Some(p) = &self.html {
            write!(f, "gallery: {}", p.display())?;
        }
        Ok(())
    }
}

/// `webly query`: the nearest test images to words (or to an image).
pub fn query(
    cfg: &RunConfig,
    model: Option<&str>,
    input: &QueryInput,
    k: usize,
    exact: bool,
    html: Option<&Path>,
) -> Result<QueryAnswer> {
    let model = cfg.model(model)?;
    let ctx = Context::open(cfg)?;
    let paths = ModelPaths::new(model_dir(cfg, &model.name));
    check_space(&ctx, &paths.dir)?;
    let (label, vector) = match input {
        QueryInput::Text(t) => (
            format!("query {t:?}"),
            queries::embed(&ctx.text.embedder, t)?,
        ),
        QueryInput::Image(p) => (
            format!("query image {}", p.display()),
            image_vector(&paths.dir, p)?,
        ),
    };
    let hits = if exact {
        let emb = eval_stage::read_embeddings(&paths.embeddings(Split::Test))?;
        let exact = Exact::new(emb);
        exact.check_query(&vector)?;
        exact.search(&vector, k)
    } else {
        let index = open_index(&ctx, &paths)?;
        index.check_query(&vector)?;
        index.search(&vector, k)
    };
    let items = eval_stage::item_lookup(&ctx.data.dataset);
    let truth = match input {
        QueryInput::Text(_) => GroundTruth::load(&ctx.data.dataset.root)?,
        QueryInput::Image(_) => None,
    };
    let query = eval_stage::to_gallery(&items, &label, hits, truth.as_ref());
    if let Some(path) = html {
        eval_stage::write_gallery_page(path, &label, std::slice::from_ref(&query))?;
    }
    Ok(QueryAnswer {
        query: label,
        hits: query.hits,
        html: html.map(Path::to_path_buf),
    })
}

/// The dimension a trained model embeds images in, from its `model.json` (no weights loaded).
fn model_dim(model_dir: &Path) -> Result<usize> {
    let path = model_dir.join(webly_encoder::MODEL);
    let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => PipelineError::Missing {
            what: "a trained model",
            path: path.clone(),
            hint: "webly train".into(),
        },
        _ => PipelineError::io("reading", &path)(e),
    })?;
    let saved: SavedModel = serde_json::from_slice(&bytes)
        .map_err(|e| PipelineError::Invalid(format!("{}: {e}", path.display())))?;
    usize::try_from(saved.model.out_dim)
        .map_err(|_| PipelineError::Invalid(format!("{}: negative out_dim", path.display())))
}

/// The one check, on every path that puts the run's word space and a trained model together,
/// that both have the same dimension ([`PipelineError::SpaceDim`]).
pub(crate) fn check_space(ctx: &Context, model_dir: &Path) -> Result<()> {
    let model_dim = model_dim(model_dir)?;
    let space_dim = ctx.text.embedder.dim();
    if space_dim == model_dim {
        return Ok(());
    }
    let cfg = &ctx.cfg.text;
    let space = match (&cfg.glove, &cfg.vectors) {
        (Some(_), _) => "GloVe trained on the captions".to_string(),
        (None, Some(p)) => p.display().to_string(),
        (None, None) => "none".to_string(),
    };
    Err(PipelineError::SpaceDim {
        space,
        space_dim,
        model: model_dir.to_path_buf(),
        model_dim,
    })
}

/// An image's embedding with a trained model.
fn image_vector(model_dir: &Path, image: &Path) -> Result<Vec<f32>> {
    let encoder = Encoder::load(model_dir)?;
    let loader = encoder.saved().loader.clone();
    let batch = load_batch(&[image.to_path_buf()], &loader, Crop::Center);
    if let Some(s) = batch.skipped.first() {
        // The reason names the file (and the limit, for an image over one).
        return Err(PipelineError::Invalid(format!(
            "cannot use the query image: {}",
            s.reason
        )));
    }
    Ok(encoder.embed_batch(&batch.data)?)
}

/// `webly tag`: the nearest words to an image's embedding.
pub fn tag(cfg: &RunConfig, model: Option<&str>, image: &Path, k: usize) -> Result<String> {
    let model = cfg.model(model)?;
    let ctx = Context::open(cfg)?;
    let dir = model_dir(cfg, &model.name);
    check_space(&ctx, &dir)?;
    let vector = image_vector(&dir, image)?;
    let vocabulary = caption_vocabulary(&ctx, TAG_MIN_COUNT);
    let words = ctx
        .text
        .embedder
        .vectors
        .nearest_among(&vector, k, &vocabulary);
    Ok(format_words(
        &format!(
            "nearest words to {} (among the {} words used at least {TAG_MIN_COUNT} times in training captions)",
            image.display(),
            vocabulary.len()
        ),
        &words,
    ))
}

/// A word must occur this often in the training captions to be offered as a tag: the whole
/// GloVe vocabulary (400K words, most of them rare names and web tokens) buries the concepts.
const TAG_MIN_COUNT: usize = 5;

/// The cleaned words of the training captions that occur at least `min_count` times.
fn caption_vocabulary(ctx: &Context, min_count: usize) -> Vec<String> {
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for item in ctx.data.dataset.split(Split::Train) {
        for w in webly_text::clean(&item.caption) {
            *counts.entry(w).or_default() += 1;
        }
    }
    let mut words: Vec<String> = counts
        .into_iter()
        .filter(|(_, c)| *c >= min_count)
        .map(|(w, _)| w)
        .collect();
    words.sort_unstable();
    words
}

fn format_words(title: &str, words: &[(String, f32)]) -> String {
    let mut s = format!("{title}\n");
    for (w, c) in words {
        s += &format!("  {c:.4}  {w}\n");
    }
    s
}

/// `webly text convert`: loads vectors (writing their cache), optionally writes GloVe text.
pub fn text_convert(path: &Path, glove_out: Option<&Path>) -> Result<String> {
    let (vectors, report) = WordVectors::load(path, &LoadOptions::default())?;
    let mut s = format!("{}: {report}", path.display());
    if let Some(out) = glove_out {
        vectors.write_glove_text(out)?;
        s += &format!("\nwrote {}", out.display());
    }
    Ok(s)
}

/// `webly text train`: the text stage of a run whose config has a [text.glove] table.
pub fn text_train(cfg: &RunConfig) -> Result<String> {
    if cfg.text.glove.is_none() {
        return Err(PipelineError::Invalid(
            "the run config has no [text.glove] table: nothing to train".into(),
        ));
    }
    text_embed(cfg)
}

/// `webly text embed`: the run's text stage (vectors, caption embeddings of every split).
pub fn text_embed(cfg: &RunConfig) -> Result<String> {
    let ctx = Context::open(cfg)?;
    let files: Vec<String> = SPLITS
        .iter()
        .map(|&s| ctx.text.captions_path(s).display().to_string())
        .collect();
    Ok(format!("caption embeddings: {}", files.join(", ")))
}

/// `webly text neighbors`: nearest words to a word or to a comma-separated vector.
pub fn text_neighbors(vectors: &Path, query: &str, k: usize) -> Result<String> {
    let (vectors, _) = WordVectors::load(vectors, &LoadOptions::default())?;
    let (target, exclude) = match parse_vector(query) {
        Some(v) => (v, vec![]),
        None => {
            let v = vectors.get(query).ok_or_else(|| {
                PipelineError::Invalid(format!("{query:?} is not in the vocabulary"))
            })?;
            (v.to_vec(), vec![query])
        }
    };
    if target.len() != vectors.dim() {
        return Err(PipelineError::Invalid(format!(
            "the vector has {} values, the space {}",
            target.len(),
            vectors.dim()
        )));
    }
    Ok(format_words(
        &format!("nearest words to {query}"),
        &vectors.nearest(&target, k, &exclude),
    ))
}

fn parse_vector(s: &str) -> Option<Vec<f32>> {
    if !s.contains(',') {
        return None;
    }
    s.split(',').map(|x| x.trim().parse::<f32>().ok()).collect()
}
