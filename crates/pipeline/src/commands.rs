//! One function per `webly` command; each returns something to print.
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use webly_data::{GroundTruth, Split};
use webly_eval::{compare as compare_runs, Comparison};
use webly_synth::{self as synth, SynthConfig, SynthReport};
use webly_text::{LoadOptions, LoadReport, NonUtf8, WordVectors};

use crate::config::RunConfig;
use crate::context::Context;
use crate::embed_stage;
use crate::error::{PipelineError, Result};
use crate::eval_stage::{self, Evaluation};
use crate::export::{write_parquet, ExportDtype, ExportRows};
use crate::index_stage;
use crate::layout;
use crate::model_stage;
use crate::portable::TAG_MIN_COUNT;
use crate::searcher::{gallery_query, Found, SearchMode, Searcher, Source, Tag, TextResults};
use crate::text_stage::SPLITS;
use crate::train_stage::{TrainOutcome, TrainOverrides};
use webly_io::LockKind;

/// Flags of `webly synth` that override the settings it starts from.
#[derive(Debug, Clone, Default)]
pub struct SynthOverrides {
    /// Output folder (default: the config's `data.dataset.root`).
    pub out: Option<PathBuf>,
    /// Number of images to generate.
    pub images: Option<usize>,
    /// Random seed of the generation.
    pub seed: Option<u64>,
    /// Replace a dataset already in `out`.
    pub overwrite: bool,
}

/// `webly synth`: generates a dataset. Settings start from the run config's `[data.synth]` table
/// (output: its `data.dataset.root`), else from `options` (a TOML file of [`SynthConfig`]
/// fields), else the defaults; the flags override them.
pub fn synth(
    cfg: Option<&RunConfig>,
    options: Option<&Path>,
    flags: &SynthOverrides,
) -> Result<SynthReport> {
    let mut synth_cfg: SynthConfig = match (options, cfg) {
        (Some(p), _) => {
            let text = std::fs::read_to_string(p).map_err(PipelineError::io("reading", p))?;
            toml::from_str(&text).map_err(|e| PipelineError::Config {
                path: p.to_path_buf(),
                message: e.to_string(),
            })?
        }
        (None, Some(c)) => c.data.synth.clone().unwrap_or_default(),
        (None, None) => SynthConfig::default(),
    };
    synth_cfg.out = match (&flags.out, cfg) {
        (Some(out), _) => out.clone(),
        (None, Some(c)) => c.data.dataset.root.clone(),
        (None, None) => {
            return Err(PipelineError::Usage(
                "give the output folder (--out DIR) or a run config (--config FILE)".into(),
            ))
        }
    };
    if let Some(n) = flags.images {
        synth_cfg.images = n;
    }
    if let Some(seed) = flags.seed {
        synth_cfg.seed = seed;
    }
    synth_cfg.overwrite |= flags.overwrite;
    Ok(synth::generate(&synth_cfg)?)
}

/// `webly train`: trains one model of the run (with CLI overrides); `report` is `None` when the
/// same training had finished and was reused.
pub fn train(
    cfg: &RunConfig,
    model: Option<&str>,
    overrides: &TrainOverrides,
) -> Result<TrainOutcome> {
    let model = cfg.model(model)?;
    crate::train_stage::check_overrides(model, overrides)?;
    let ctx = Context::open(cfg)?;
    let queries = ctx.queries()?;
    model_stage::train_outcome(&ctx, model, overrides, &queries)
}

/// A file a command wrote (printed as `wrote PATH`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Written {
    /// The file: embeddings' `.npy` (the `.ids` beside it), or a shard's manifest.
    pub path: PathBuf,
}

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wrote {}", self.path.display())
    }
}

/// `webly embed`: a split's image embeddings as `.npy` + `.ids`.
///
/// The run's data and text stages are opened as the run left them, never run again (see
/// `Context::open_model`): a word space of another dimension is refused before anything of the
/// run is written.
pub fn embed(
    cfg: &RunConfig,
    model: Option<&str>,
    split: Split,
    out: Option<&Path>,
) -> Result<Written> {
    let model = cfg.model(model)?;
    let paths = cfg.layout().model(&model.name)?;
    let (ctx, _) = Context::open_model(cfg, LockKind::Exclusive, &paths)?;
    let out = out.map_or_else(|| paths.embeddings(split), Path::to_path_buf);
    if let Some(dir) = out.parent() {
        // Files written into the embed stage's folder are not the ones its stamp vouches for.
        crate::stamp::clear(dir)?;
    }
    embed_stage::embed_split(paths.dir(), &ctx.data.dataset, split, &out)?;
    Ok(Written { path: out })
}

/// What `webly export` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exported {
    /// Rows (embeddings) written.
    pub rows: usize,
    /// Values per embedding.
    pub dim: usize,
    /// The split exported (`None`: a collection's images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    /// The embeddings' float type.
    pub dtype: ExportDtype,
    /// The parquet file.
    pub path: PathBuf,
}

impl fmt::Display for Exported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exported {} {} embeddings of dimension {} ({}) to {}",
            self.rows,
            self.split
                .map_or_else(|| "collection".to_string(), |s| s.to_string()),
            self.dim,
            self.dtype,
            self.path.display()
        )
    }
}

/// Refuses an output file whose folder does not exist, naming the folder: a mistyped `--out`
/// must not leave new folders behind (as `cp` and `tar` refuse one).
fn check_out_folder(out: &Path) -> Result<()> {
    match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            Err(PipelineError::Usage(format!(
                "the folder of {} does not exist: {} (create it first)",
                out.display(),
                dir.display()
            )))
        }
        _ => Ok(()),
    }
}

/// `webly export`: a split's image embeddings with their keys, captions and image paths as a
/// parquet file (see [`crate::export`](mod@crate::export) for the columns and metadata). The test split reuses
/// the embed stage's output; other splits are embedded into the model's `export/` folder.
///
/// # Errors
/// Before any work: a folder of `out` that does not exist (named; never created), a model that
/// is not trained (naming its folder and `webly train`), a dataset or word space the run lacks
/// (see `Context::open_model`); the data and text stages are never run.
pub fn export(
    cfg: &RunConfig,
    model: Option<&str>,
    split: Split,
    out: &Path,
    dtype: ExportDtype,
) -> Result<Exported> {
    let model = cfg.model(model)?;
    check_out_folder(out)?;
    let paths = cfg.layout().model(&model.name)?;
    let (ctx, stamp) = Context::open_model(cfg, LockKind::Exclusive, &paths)?;
    let emb_path = if split == Split::Test {
        embed_stage::ensure_embedded(&ctx, &paths, &stamp)?
    } else {
        let path = paths.export_embeddings(split);
        embed_stage::embed_split(paths.dir(), &ctx.data.dataset, split, &path)?;
        path
    };
    let emb = embed_stage::read_embeddings(&emb_path)?;
    let items: std::collections::HashMap<&str, &webly_data::Item> = ctx
        .data
        .dataset
        .items
        .iter()
        .map(|i| (i.key.as_str(), i))
        .collect();
    let item = |k: &String| {
        items.get(k.as_str()).copied().ok_or_else(|| {
            PipelineError::Mismatch(format!(
                "{}: key {k} is not in the dataset (embed again)",
                emb_path.display()
            ))
        })
    };
    let found: Vec<&webly_data::Item> = emb.keys().iter().map(item).collect::<Result<_>>()?;
    let rows = ExportRows {
        keys: emb.keys(),
        embeddings: emb.as_slice(),
        dim: emb.dim(),
        captions: found.iter().map(|i| i.caption.as_str()).collect(),
        image_paths: found
            .iter()
            .map(|i| i.image.display().to_string())
            .collect(),
    };
    let fp = index_stage::fingerprints(&ctx, &stamp)?;
    let metadata = [
        ("webly.model", model.name.clone()),
        ("webly.model_fingerprint", fp.model),
        ("webly.text_fingerprint", fp.text),
        ("webly.dim", emb.dim().to_string()),
        ("webly.dtype", dtype.to_string()),
        ("webly.split", split.to_string()),
    ]
    .map(|(k, v)| (k.to_string(), v));
    write_parquet(out, &rows, dtype, &metadata)?;
    Ok(Exported {
        rows: emb.len(),
        dim: emb.dim(),
        split: Some(split),
        dtype,
        path: out.to_path_buf(),
    })
}

/// `webly export --collection DIR`: a collection's image embeddings (unit vectors, as indexed)
/// with their keys and image paths (captions empty) as a parquet file, the columns and metadata
/// of [`export`] (`webly.split` is `collection`).
///
/// # Errors
/// A folder of `out` that does not exist (named; never created); those of
/// [`crate::collection::open`].
pub fn export_collection(dir: &Path, out: &Path, dtype: ExportDtype) -> Result<Exported> {
    check_out_folder(out)?;
    let c = crate::collection::open(dir)?;
    // Owned copies: the parquet writer takes the keys as a slice of strings.
    let keys = c.hnsw.keys().to_vec();
    let dim = c.manifest.dim;
    let embeddings: Vec<f32> = (0..keys.len())
        .flat_map(|r| c.hnsw.row_vector(r).to_vec())
        .collect();
    let image_paths = keys
        .iter()
        .map(|k| {
            c.files
                .get(k)
                .map_or_else(String::new, |p| p.display().to_string())
        })
        .collect();
    let rows = ExportRows {
        keys: &keys,
        embeddings: &embeddings,
        dim,
        captions: vec![""; keys.len()],
        image_paths,
    };
    let metadata = [
        ("webly.model", c.model.name()),
        (
            "webly.model_fingerprint",
            c.manifest.model_fingerprint.clone(),
        ),
        (
            "webly.text_fingerprint",
            c.manifest.text_fingerprint.clone(),
        ),
        ("webly.dim", dim.to_string()),
        ("webly.dtype", dtype.to_string()),
        ("webly.split", "collection".to_string()),
    ]
    .map(|(k, v)| (k.to_string(), v));
    write_parquet(out, &rows, dtype, &metadata)?;
    Ok(Exported {
        rows: keys.len(),
        dim,
        split: None,
        dtype,
        path: out.to_path_buf(),
    })
}

/// `webly eval`: evaluates a trained model on the test split (`Display` for the terminal,
/// `Serialize` for `--json`).
///
/// The run's data and text stages are opened as the run left them, never run again: a missing
/// dataset or word space is an error naming it (see `Context::open_model`).
pub fn evaluate(cfg: &RunConfig, model: Option<&str>) -> Result<Evaluation> {
    let model = cfg.model(model)?;
    let paths = cfg.layout().model(&model.name)?;
    let (ctx, stamp) = Context::open_model(cfg, LockKind::Exclusive, &paths)?;
    let queries = ctx.queries()?;
    let emb = embed_stage::read_embeddings(&embed_stage::ensure_embedded(&ctx, &paths, &stamp)?)?;
    let title = format!("webly {}", model.name);
    let truth = GroundTruth::load(&ctx.data.dataset.root)?;
    eval_stage::evaluate_model(
        &emb,
        &ctx.data.dataset,
        truth.as_ref(),
        &queries,
        &paths,
        &title,
    )
}

/// `webly eval --compare`: finished evaluations side by side. Each path is an evaluation folder
/// (with `report.json`), a model folder or a run folder (all its models). Rows are named
/// `<run>: <model> (<relevance>)` (see `layout::report_label`), so rows of two runs never
/// look alike.
pub fn compare(paths: &[PathBuf]) -> Result<Comparison> {
    let mut dirs = Vec::new();
    for p in paths {
        dirs.extend(layout::report_dirs(p, webly_eval::REPORT_JSON));
    }
    if dirs.is_empty() {
        return Err(PipelineError::Usage(
            "no report.json under the given folders".into(),
        ));
    }
    let labels: Vec<String> = dirs.iter().map(|d| layout::report_label(d)).collect();
    let named: Vec<(&str, &Path)> = labels
        .iter()
        .map(String::as_str)
        .zip(dirs.iter().map(PathBuf::as_path))
        .collect();
    Ok(compare_runs(&named)?)
}

/// What `webly query` searches with.
pub enum QueryInput {
    /// Words (cleaned as captions are; unknown words are skipped).
    Text(String),
    /// An image file, embedded by the model.
    Image(PathBuf),
}

/// The answer to a query (printed as text, or as JSON with `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct QueryAnswer {
    /// The query words as given (text queries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The query image (image queries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<PathBuf>,
    /// The cleaned query words (text queries).
    pub tokens: Vec<String>,
    /// The query words the text space does not know (skipped).
    pub unknown: Vec<String>,
    /// Query words that cannot give good results (unknown or rare), with suggestions.
    pub warnings: Vec<webly_text::WordWarning>,
    /// Exact search or the HNSW index.
    pub mode: SearchMode,
    /// The nearest test images, best first (at most k).
    pub hits: Vec<Found>,
    /// The gallery page written (`--html`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<PathBuf>,
}

impl QueryAnswer {
    /// The answer to the words `text`.
    pub fn text(text: &str, results: TextResults) -> Self {
        QueryAnswer {
            query: Some(text.to_string()),
            image: None,
            tokens: results.tokens,
            unknown: results.unknown,
            warnings: results.warnings,
            mode: results.mode,
            hits: results.hits,
            html: None,
        }
    }

    /// The answer to the image `image`.
    pub fn image(image: &Path, mode: SearchMode, hits: Vec<Found>) -> Self {
        QueryAnswer {
            query: None,
            image: Some(image.to_path_buf()),
            tokens: Vec::new(),
            unknown: Vec::new(),
            warnings: Vec::new(),
            mode,
            hits,
            html: None,
        }
    }

    /// The line that says what was searched for: `query "words"` or `query image PATH`.
    pub fn header(&self) -> String {
        match (&self.query, &self.image) {
            (Some(t), _) => format!("query {t:?}"),
            (None, Some(p)) => format!("query image {}", p.display()),
            (None, None) => "query".to_string(),
        }
    }
}

impl fmt::Display for QueryAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.header())?;
        if !self.unknown.is_empty() {
            writeln!(f, "unknown words skipped: {}", self.unknown.join(", "))?;
        }
        for (rank, h) in self.hits.iter().enumerate() {
            writeln!(
                f,
                "{:>3}. {:.4}  {}  {}",
                rank + 1,
                h.score,
                h.key,
                h.image_path.display()
            )?;
            if !h.caption.is_empty() {
                writeln!(f, "      {}", h.caption)?;
            }
        }
        if let Some(p) = &self.html {
            write!(f, "gallery: {}", p.display())?;
        }
        Ok(())
    }
}

/// Refuses `k = 0` before any work: a search for no result answers nothing a user wants.
///
/// # Errors
/// [`PipelineError::Usage`] naming `-k` and what it counts.
fn check_k(k: usize, what: &str) -> Result<()> {
    match k {
        0 => Err(PipelineError::Usage(format!(
            "-k 0: ask for at least one {what}"
        ))),
        _ => Ok(()),
    }
}

/// `webly query`: the `k` nearest test images to words (or to an image), by `mode`. With
/// `html`, a gallery page whose frames say whether the ground truth shows every query word.
///
/// # Errors
/// `k = 0` ([`PipelineError::Usage`], before any work); a run without the trained model, its
/// embeddings, index, dataset or word space (each named); a query with no known word.
pub fn query(
    source: Source<'_>,
    input: &QueryInput,
    k: usize,
    mode: SearchMode,
    html: Option<&Path>,
) -> Result<QueryAnswer> {
    check_k(k, "image")?;
    let searcher = Searcher::open_source(source)?;
    let answer = match input {
        QueryInput::Text(t) => {
            let r = searcher
                .text(t, k, mode)
                .map_err(|e| with_suggestions(&searcher, e))?;
            // Unknown words are among the warnings (and on the answer's own line).
            for w in &r.warnings {
                eprintln!("[query] warning: {}", w.message);
            }
            QueryAnswer::text(t, r)
        }
        QueryInput::Image(p) => QueryAnswer::image(
            p,
            mode,
            searcher.similar_to_vector(&searcher.embed_file(p)?, k, mode),
        ),
    };
    if let Some(path) = html {
        let section = gallery_query(&answer.header(), &answer.hits);
        let title = format!("webly {}", searcher.model());
        eval_stage::write_gallery_page(path, &title, std::slice::from_ref(&section))?;
    }
    Ok(QueryAnswer {
        html: html.map(Path::to_path_buf),
        ..answer
    })
}

/// A query with no known word, with the nearest frequent spellings of its words appended
/// ("moutnain": did you mean mountain?); other errors as they are.
fn with_suggestions(searcher: &Searcher, e: PipelineError) -> PipelineError {
    let PipelineError::Text(webly_text::TextError::NoKnownWord { tokens, .. }) = &e else {
        return e;
    };
    let hints = searcher.suggestion_hints(tokens);
    match hints.is_empty() {
        true => e,
        false => PipelineError::Usage(format!("{}; {hints}", webly_io::error_chain(&e))),
    }
}

/// The answer of `webly tag` (printed as text, or as JSON with `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct TagAnswer {
    /// The image tagged.
    pub image: PathBuf,
    /// Words the tags are chosen from: used at least this often in the training captions.
    pub min_count: usize,
    /// Words in that vocabulary (the candidates).
    pub vocabulary: usize,
    /// The `k` nearest words, best first (cosine to the image embedding).
    pub words: Vec<Tag>,
}

impl fmt::Display for TagAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<(String, f32)> = self
            .words
            .iter()
            .map(|t| (t.word.clone(), t.score))
            .collect();
        write!(
            f,
            "{}",
            format_words(
                &format!(
                    "nearest words to {} (among the {} words used at least {} times in training captions)",
                    self.image.display(),
                    self.vocabulary,
                    self.min_count
                ),
                &words,
            )
            .trim_end()
        )
    }
}

/// `webly tag`: the `k` nearest caption words to an image's embedding.
///
/// # Errors
/// `k = 0` ([`PipelineError::Usage`], before any work); a run without the trained model,
/// dataset or word space (each named); an image that cannot be read (named).
pub fn tag(source: Source<'_>, image: &Path, k: usize) -> Result<TagAnswer> {
    check_k(k, "word")?;
    let searcher = Searcher::open_source(source)?;
    let vector = searcher.embed_file(image)?;
    Ok(TagAnswer {
        image: image.to_path_buf(),
        min_count: TAG_MIN_COUNT,
        vocabulary: searcher.tag_vocabulary(),
        words: searcher.tags(&vector, k),
    })
}

fn format_words(title: &str, words: &[(String, f32)]) -> String {
    let mut s = format!("{title}\n");
    for (w, c) in words {
        s += &format!("  {c:.4}  {w}\n");
    }
    s
}

/// What `webly text convert` read and wrote.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The vectors file read.
    pub vectors: PathBuf,
    /// What was read (words, dimension, format, cache use).
    pub report: LoadReport,
    /// The GloVe text file written, when asked for.
    pub glove_out: Option<PathBuf>,
}

impl fmt::Display for Converted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.vectors.display(), self.report)?;
        if let Some(out) = &self.glove_out {
            write!(f, "\nwrote {}", out.display())?;
        }
        Ok(())
    }
}

/// `webly text convert`: loads vectors (writing their cache), optionally writes GloVe text.
pub fn text_convert(path: &Path, glove_out: Option<&Path>) -> Result<Converted> {
    let (vectors, report) = WordVectors::load(path, &LoadOptions::default())?;
    if let Some(out) = glove_out {
        vectors.write_glove_text(out)?;
    }
    Ok(Converted {
        vectors: path.to_path_buf(),
        report,
        glove_out: glove_out.map(Path::to_path_buf),
    })
}

/// The caption embeddings the text stage left (`.npy` per split, `.ids` beside each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptionFiles {
    /// One `.npy` per split, train, val, test.
    pub files: Vec<PathBuf>,
}

impl fmt::Display for CaptionFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let files: Vec<String> = self.files.iter().map(|p| p.display().to_string()).collect();
        write!(f, "caption embeddings: {}", files.join(", "))
    }
}

/// `webly text train`: the text stage of a run whose config has a [text.glove] table.
pub fn text_train(cfg: &RunConfig) -> Result<CaptionFiles> {
    if cfg.text.glove.is_none() {
        return Err(PipelineError::Setting(
            "the run config has no [text.glove] table: nothing to train".into(),
        ));
    }
    text_embed(cfg)
}

/// `webly text embed`: the run's text stage (vectors, caption embeddings of every split).
pub fn text_embed(cfg: &RunConfig) -> Result<CaptionFiles> {
    let ctx = Context::open(cfg)?;
    let files = SPLITS.iter().map(|&s| ctx.text.captions_path(s)).collect();
    Ok(CaptionFiles { files })
}

/// Nearest words to a word or a vector (`webly text neighbors`), best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbours {
    /// The word or comma-separated vector asked about.
    pub query: String,
    /// `(word, cosine)`, best first.
    pub words: Vec<(String, f32)>,
}

impl fmt::Display for Neighbours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = format_words(&format!("nearest words to {}", self.query), &self.words);
        write!(f, "{}", s.trim_end())
    }
}

/// `webly text neighbors`' word space: `vectors` when given, else the config's `[text] vectors`;
/// the config's `[text] non_utf8` applies to either. `cfg` is `None` when `--vectors` is given
/// and no config file exists (the defaults apply); a config that exists but cannot be read is
/// the caller's error, never ignored.
///
/// # Errors
/// [`PipelineError::Config`] when neither names a vectors file (the config trains its own).
pub fn neighbour_space(
    cfg: Option<&RunConfig>,
    config_path: &Path,
    vectors: Option<PathBuf>,
) -> Result<(PathBuf, NonUtf8)> {
    let non_utf8 = cfg.map(|c| c.text.non_utf8).unwrap_or_default();
    let vectors = match vectors {
        Some(v) => v,
        None => cfg
            .and_then(|c| c.text.vectors.clone())
            .ok_or_else(|| PipelineError::Config {
                path: config_path.to_path_buf(),
                message: "it trains its word vectors: give --vectors".into(),
            })?,
    };
    Ok((vectors, non_utf8))
}

/// `webly text neighbors`: nearest words to a word or to a comma-separated vector, reading
/// `vectors` with the `non_utf8` policy of the run config's `[text]`.
pub fn text_neighbors(
    vectors: &Path,
    query: &str,
    k: usize,
    non_utf8: NonUtf8,
) -> Result<Neighbours> {
    let opts = LoadOptions {
        non_utf8,
        ..LoadOptions::default()
    };
    let (vectors, _) = WordVectors::load(vectors, &opts)?;
    let (target, exclude) = match parse_vector(query) {
        Some(v) => (v, vec![]),
        None => {
            let word = one_clean_word(query)?;
            let v = vectors.get(&word).ok_or_else(|| {
                PipelineError::Usage(format!(
                    "{query:?} (cleaned: {word:?}) is not in the vocabulary"
                ))
            })?;
            (v.to_vec(), vec![word])
        }
    };
    if target.len() != vectors.dim() {
        return Err(PipelineError::Usage(format!(
            "the vector has {} values, the space {}",
            target.len(),
            vectors.dim()
        )));
    }
    let exclude: Vec<&str> = exclude.iter().map(String::as_str).collect();
    Ok(Neighbours {
        query: query.to_string(),
        words: vectors.nearest(&target, k, &exclude),
    })
}

/// A word cleaned as queries are (`webly_text::clean`: lower case, punctuation and stop words
/// removed), so `Snow` finds `snow`.
fn one_clean_word(query: &str) -> Result<String> {
    let mut words = webly_text::clean(query);
    match words.len() {
        1 => Ok(words.remove(0)),
        0 => Err(PipelineError::Usage(format!(
            "{query:?} has no word left after cleaning (stop words and punctuation are removed)"
        ))),
        _ => Err(PipelineError::Usage(format!(
            "{query:?} is several words after cleaning ({}): give one word, or a vector",
            words.join(", ")
        ))),
    }
}

fn parse_vector(s: &str) -> Option<Vec<f32>> {
    if !s.contains(',') {
        return None;
    }
    s.split(',').map(|x| x.trim().parse::<f32>().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> RunConfig {
        let base = "run_dir = \"runs/x\"\n[data.dataset]\nroot = \"data/x\"\n[text]\n";
        toml::from_str(&format!("{base}{text}")).expect("config")
    }

    // --vectors wins; without it the config's [text] vectors; a config that trains its own
    // vectors and no --vectors is an error naming the config; non_utf8 always from the config.
    #[test]
    fn neighbour_space_takes_vectors_then_the_config() {
        let path = Path::new("configs/x.toml");
        let with = config("vectors = \"v.txt\"\nnon_utf8 = \"latin1\"");
        let given = Some(PathBuf::from("w.txt"));
        let (v, n) = neighbour_space(Some(&with), path, given.clone()).expect("given");
        assert_eq!((v, n), (PathBuf::from("w.txt"), NonUtf8::Latin1));
        let (v, _) = neighbour_space(Some(&with), path, None).expect("config's");
        assert_eq!(v, PathBuf::from("v.txt"));
        let (_, n) = neighbour_space(None, path, given).expect("no config");
        assert_eq!(n, NonUtf8::default());
        let mut trains = config("");
        trains.text.vectors = None; // a config built in code that only trains GloVe
        let e = neighbour_space(Some(&trains), path, None).expect_err("trains its own");
        assert!(e.to_string().contains("configs/x.toml"), "{e}");
        assert!(neighbour_space(None, path, None).is_err());
    }
}
