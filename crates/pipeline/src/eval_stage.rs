//! Stages 4-6 for one trained model: embed the test images, build the HNSW index, evaluate.
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use webly_data::{Dataset, GroundTruth, Item, Split};
use webly_encoder::{Encoder, KeyedEmbeddings, TrainHooks};
use webly_eval::{
    evaluate, write_gallery, CaptionRelevance, EvalQuery, GalleryHit, GalleryQuery, PlotConfig,
    Relevance, Report, TruthRelevance,
};
use webly_index::{Embeddings, Fingerprints, Hit, Hnsw, HnswConfig, Manifest, Search};
use webly_text::{clean, read_ids, read_matrix, write_ids, write_matrix};

use crate::error::{PipelineError, Result};
use crate::layout::{ModelLayout, ReportKind};
use crate::wording::count;

/// Images embedded per forward pass at evaluation time.
pub const EMBED_BATCH: usize = 64;
/// The group whose mAP validation reports (see `webly_eval::Summary::group`).
const ALL: &str = "All";

/// Per-epoch validation for the encoder: mAP of the run's queries over the val images, with
/// caption relevance (the val captions hold every query word).
pub struct Validator {
    queries: Vec<EvalQuery>,
    relevance: CaptionRelevance,
}

impl Validator {
    /// Validation over the val split of `dataset` with the run's embedded `queries`.
    pub fn new(dataset: &Dataset, queries: Vec<EvalQuery>) -> Self {
        let captions = dataset
            .split(Split::Val)
            .into_iter()
            .map(|i| (i.key.clone(), i.caption.clone()));
        Validator {
            queries,
            relevance: CaptionRelevance::with_cleaner(captions, clean),
        }
    }
}

impl TrainHooks for Validator {
    fn validate(
        &mut self,
        _epoch: usize,
        rows: &KeyedEmbeddings,
    ) -> std::result::Result<Option<f64>, String> {
        let report = evaluate(
            &rows.matrix,
            rows.keys.len(),
            rows.dim,
            &rows.keys,
            &self.queries,
            &self.relevance,
        )
        .map_err(|e| e.to_string())?;
        Ok(report.summary(ALL).map(|s| s.map))
    }
}

/// Embeds a split's images with the trained model into `out` (`.npy` + `.ids`).
pub fn embed_split(model_dir: &Path, dataset: &Dataset, split: Split, out: &Path) -> Result<usize> {
    let items = dataset.split(split);
    Ok(embed_items(model_dir, &items, &split.to_string(), out)?.0)
}

/// Embeds `items` (named `split` in messages) into `out` (`.npy` + `.ids`, in the items' order):
/// the rows written and the keys of the images that could not be read.
pub fn embed_items(
    model_dir: &Path,
    items: &[&Item],
    split: &str,
    out: &Path,
) -> Result<(usize, Vec<String>)> {
    let encoder = Encoder::load(model_dir)?;
    let paths: Vec<PathBuf> = items.iter().map(|i| i.image.clone()).collect();
    let emb = encoder.embed_set(split, &paths, EMBED_BATCH, webly_encoder::Bar::Show)?;
    for s in &emb.skipped {
        eprintln!("[embed] skipped {s}");
    }
    if !emb.skipped.is_empty() {
        eprintln!(
            "[embed] {split}: {} skipped",
            count(emb.skipped.len(), "unreadable image")
        );
    }
    let keys: Vec<String> = emb.loaded.iter().map(|&i| items[i].key.clone()).collect();
    if keys.is_empty() {
        return Err(PipelineError::Invalid(format!(
            "[embed] {split}: none of its {} images could be read{}: nothing to embed or index",
            items.len(),
            emb.skipped
                .first()
                .map_or(String::new(), |s| format!(" (e.g. {s})"))
        )));
    }
    write_matrix(out, keys.len(), emb.dim, &emb.matrix)?;
    write_ids(&out.with_extension("ids"), &keys)?;
    let mut skipped: Vec<String> = items.iter().map(|i| i.key.clone()).collect();
    let loaded: std::collections::HashSet<&String> = keys.iter().collect();
    skipped.retain(|k| !loaded.contains(k));
    Ok((keys.len(), skipped))
}

/// Reads embeddings written by [`embed_split`].
pub fn read_embeddings(path: &Path) -> Result<Embeddings> {
    let (matrix, _rows, dim) = read_matrix(path)?;
    let keys = read_ids(&path.with_extension("ids"))?;
    Ok(Embeddings::new(matrix, dim, keys)?)
}

/// Builds the HNSW index over `emb`, measures its recall against exact search, saves it.
pub fn build_index(
    emb: &Embeddings,
    cfg: &HnswConfig,
    dir: &Path,
    fingerprints: &Fingerprints,
) -> Result<Manifest> {
    let mut hnsw = Hnsw::build(emb, cfg)?;
    if hnsw.nodes() < hnsw.len() {
        eprintln!(
            "[index] {} rows hold {} distinct vectors: identical ones share a graph node",
            hnsw.len(),
            hnsw.nodes()
        );
    }
    // A recall below the floor is reported once, by the command's result (`Indexed`,
    // `ModelResult`), from the manifest.
    Ok(hnsw.save(dir, fingerprints)?)
}

/// The evaluation of one model: against captions, and against the true content when known.
#[derive(serde::Serialize)]
pub struct Evaluation {
    /// Relevance by captions: an image is relevant when its caption holds every query word.
    pub captions: Report,
    /// Relevance by ground truth, when the dataset has one.
    pub truth: Option<Report>,
    /// The model's evaluation folder (reports under `captions/` and `truth/`).
    pub dir: PathBuf,
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "relevance: the caption holds every query word")?;
        writeln!(f, "{}", self.captions.to_markdown())?;
        if let Some(t) = &self.truth {
            writeln!(
                f,
                "relevance: the image really shows every query concept (ground truth)"
            )?;
            writeln!(f, "{}", t.to_markdown())?;
        }
        write!(f, "reports in {}", self.dir.display())
    }
}

/// Exact evaluation over the test embeddings, reports written under the model's
/// `eval/{captions,truth}/` folders.
pub fn evaluate_model(
    emb: &Embeddings,
    dataset: &Dataset,
    truth: Option<&GroundTruth>,
    queries: &[EvalQuery],
    model: &ModelLayout,
    title: &str,
) -> Result<Evaluation> {
    let test = dataset.split(Split::Test);
    let captions = CaptionRelevance::with_cleaner(
        test.iter().map(|i| (i.key.clone(), i.caption.clone())),
        clean,
    );
    let caption_report = run_eval(
        emb,
        queries,
        &captions,
        &model.reports(ReportKind::Captions),
        title,
    )?;
    let truth_report = match truth {
        None => None,
        Some(gt) => {
            let truth = TruthRelevance::new(
                test.iter()
                    .filter_map(|i| gt.concepts(&i.key).map(|c| (i.key.clone(), c.to_vec()))),
            );
            Some(run_eval(
                emb,
                queries,
                &truth,
                &model.reports(ReportKind::Truth),
                title,
            )?)
        }
    };
    Ok(Evaluation {
        captions: caption_report,
        truth: truth_report,
        dir: model.eval_dir(),
    })
}

fn run_eval(
    emb: &Embeddings,
    queries: &[EvalQuery],
    relevance: &dyn Relevance,
    dir: &Path,
    title: &str,
) -> Result<Report> {
    let report = evaluate(
        emb.as_slice(),
        emb.len(),
        emb.dim(),
        emb.keys(),
        queries,
        relevance,
    )?;
    let plot = PlotConfig {
        title: format!("{title}: AP per query (blue simple, orange complex, tick random)"),
        ..PlotConfig::default()
    };
    report.write_run(dir, &plot)?;
    Ok(report)
}

/// The top `k` hits of each query from `index`, as a gallery with relevance frames.
pub fn gallery(
    index: &dyn Search,
    dataset: &Dataset,
    queries: &[EvalQuery],
    k: usize,
    truth: Option<&GroundTruth>,
) -> Vec<GalleryQuery> {
    let items = item_lookup(dataset);
    queries
        .iter()
        .map(|q| to_gallery(&items, &q.text, index.search(&q.vector, k), truth))
        .collect()
}

/// The dataset's items by key.
pub fn item_lookup(dataset: &Dataset) -> HashMap<&str, &Item> {
    dataset.items.iter().map(|i| (i.key.as_str(), i)).collect()
}

/// Hits of one query with their image paths and captions (and truth, when known).
pub fn to_gallery(
    items: &HashMap<&str, &Item>,
    query: &str,
    hits: Vec<Hit>,
    truth: Option<&GroundTruth>,
) -> GalleryQuery {
    let hits = hits
        .into_iter()
        .filter_map(|h| {
            let item = items.get(h.key.as_str())?;
            Some(GalleryHit {
                relevant: truth.map(|gt| truth_holds(gt, &h.key, query)),
                key: h.key,
                score: h.score,
                image_path: item.image.clone(),
                caption: item.caption.clone(),
            })
        })
        .collect();
    GalleryQuery {
        query: query.to_string(),
        hits,
    }
}

fn truth_holds(gt: &GroundTruth, key: &str, query: &str) -> bool {
    let words = clean(query);
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    gt.has_all(key, &refs)
}

/// Writes the gallery page.
pub fn write_gallery_page(path: &Path, title: &str, queries: &[GalleryQuery]) -> Result<()> {
    write_gallery(path, title, queries).map_err(PipelineError::from)
}
