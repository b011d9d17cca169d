//! Stage 6: evaluate one model's test embeddings (mAP, P@k, R-precision by captions and by ground
//! truth), its galleries, and the per-epoch validation hook of training.
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use webly_data::{Dataset, GroundTruth, Item, Split};
use webly_encoder::{KeyedEmbeddings, TrainHooks};
use webly_eval::{
    evaluate, write_gallery, CaptionRelevance, EvalQuery, GalleryHit, GalleryQuery, PlotConfig,
    Relevance, Report, TruthRelevance,
};
use webly_index::{Embeddings, Hit, Search};
use webly_text::clean;

use crate::error::{PipelineError, Result};
use crate::layout::{ModelLayout, ReportKind};

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
        .map_err(|e| webly_io::error_chain(&e))?;
        Ok(report.summary(ALL).map(|s| s.map))
    }
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
