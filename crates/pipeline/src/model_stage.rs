//! One model end to end: train, embed the test split, index, evaluate, gallery.
use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use webly_data::GroundTruth;
use webly_eval::{EvalQuery, Report};
use webly_index::Manifest;

use crate::config::ModelRun;
use crate::context::Context;
use crate::embed_stage;
use crate::error::Result;
use crate::eval_stage::{self, Evaluation, Validator};
use crate::features_stage::{self, CacheSet};
use crate::index_stage;
use crate::layout::ModelLayout;
use crate::train_stage::{self, TrainOutcome, TrainOverrides};

/// What one model's stages produced.
pub struct ModelResult {
    /// The model's name in the run config.
    pub name: String,
    /// What training did (or that it was reused).
    pub train: TrainOutcome,
    /// The HNSW index's manifest (count, dimension, recall@k against exact search).
    pub manifest: Manifest,
    /// The reports against captions and ground truth.
    pub evaluation: Evaluation,
    /// The gallery page of the run's queries.
    pub gallery: PathBuf,
    /// Seconds spent in each stage.
    pub times: StageTimes,
    /// What the activation-cache stage did for each set (empty for models without a cache).
    pub features: Vec<webly_encoder::ExtractReport>,
}

/// Seconds spent in each stage (what `webly run` prints as its time split).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimes {
    /// Dataset generation or reading, text space and caption embeddings.
    pub data_text: f64,
    /// Decoding images and running frozen backbone stages into the activation cache.
    pub features: f64,
    /// The training loop (the head, and any unfrozen stages).
    pub train: f64,
    /// Embedding the test images.
    pub embed: f64,
    /// Building the HNSW index and measuring its recall.
    pub index: f64,
    /// Evaluation, reports and gallery.
    pub eval: f64,
}

impl StageTimes {
    /// The sum of every stage.
    pub fn total(&self) -> f64 {
        self.data_text + self.features + self.train + self.embed + self.index + self.eval
    }
}

impl std::ops::AddAssign for StageTimes {
    fn add_assign(&mut self, o: Self) {
        self.data_text += o.data_text;
        self.features += o.features;
        self.train += o.train;
        self.embed += o.embed;
        self.index += o.index;
        self.eval += o.eval;
    }
}

impl fmt::Display for StageTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "time: data + text {:.1} s | feature extraction {:.1} s | training {:.1} s | \
             embedding {:.1} s | indexing {:.1} s | evaluation {:.1} s | total {:.1} s",
            self.data_text,
            self.features,
            self.train,
            self.embed,
            self.index,
            self.eval,
            self.total()
        )
    }
}

/// Seconds since `t`, restarting it.
fn lap(t: &mut Instant) -> f64 {
    let s = t.elapsed().as_secs_f64();
    *t = Instant::now();
    s
}

impl fmt::Display for ModelResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.train)?;
        if let Some(r) = &self.manifest.recall {
            writeln!(
                f,
                "[{}] HNSW over {} images: recall@{} = {:.4} against exact search ({} queries, ef_search {})",
                self.name, self.manifest.count, r.k, r.recall, r.queries, r.ef_search
            )?;
            if let Some(w) = r.warning() {
                writeln!(f, "[{}] warning: {w}", self.name)?;
            }
        }
        writeln!(
            f,
            "[{}] reports: {}",
            self.name,
            self.evaluation.dir.display()
        )?;
        write!(f, "[{}] gallery: {}", self.name, self.gallery.display())
    }
}

impl ModelResult {
    /// The report against captions, and against the true content when known.
    pub fn reports(&self) -> (&Report, Option<&Report>) {
        (&self.evaluation.captions, self.evaluation.truth.as_ref())
    }
}

/// Trains (or reuses) a model, then embeds, indexes and evaluates it.
pub fn run_model(
    ctx: &Context,
    model: &ModelRun,
    overrides: &TrainOverrides,
    queries: &[EvalQuery],
) -> Result<ModelResult> {
    let mut times = StageTimes::default();
    let mut features = Vec::new();
    let mut t = Instant::now();
    let dim = ctx.text.embedder.dim();
    let cfg = train_stage::effective_config(ctx.cfg, model, dim, overrides)?;
    if !train_stage::is_trained(&cfg, &ctx.text)? {
        let data = train_stage::train_data(&ctx.data.dataset, &ctx.text)?;
        // What training would refuse (a batch larger than the captioned training images, ...)
        // is refused before the features are extracted, the slow stage.
        webly_encoder::check(&cfg, &data)?;
        let sets = [
            CacheSet {
                name: "train",
                images: &data.train_images,
                views: cfg.cache.views,
            },
            CacheSet {
                name: "val",
                images: &data.val_images,
                views: 1,
            },
        ];
        features.extend(features_stage::ensure(&cfg, &sets)?);
    }
    times.features += lap(&mut t);
    let train = train_outcome(ctx, model, overrides, queries)?;
    times.train += lap(&mut t);
    let paths = ModelLayout::at(train.dir.clone());
    if !embed_stage::is_embedded(ctx, &paths, &train.stamp, false)? {
        let test = features_stage::test_images(&ctx.data.dataset);
        let sets = [CacheSet {
            name: "test",
            images: &test,
            views: 1,
        }];
        features.extend(features_stage::ensure(&cfg, &sets)?);
    }
    times.features += lap(&mut t);
    let emb_path = embed_stage::ensure_embedded(ctx, &paths, &train.stamp)?;
    let emb = embed_stage::read_embeddings(&emb_path)?;
    times.embed += lap(&mut t);
    let manifest = index_stage::ensure_index(ctx, &paths, &train.stamp, &emb)?;
    times.index += lap(&mut t);
    let title = format!("webly {}", model.name);
    let truth = GroundTruth::load(&ctx.data.dataset.root)?;
    let evaluation = eval_stage::evaluate_model(
        &emb,
        &ctx.data.dataset,
        truth.as_ref(),
        queries,
        &paths,
        &title,
    )?;
    let gallery = paths.gallery();
    let hnsw = index_stage::open_index(ctx, &paths)?;
    let pages = eval_stage::gallery(
        &hnsw,
        &ctx.data.dataset,
        queries,
        ctx.cfg.eval.gallery_k,
        truth.as_ref(),
    );
    eval_stage::write_gallery_page(&gallery, &title, &pages)?;
    times.eval += lap(&mut t);
    Ok(ModelResult {
        name: model.name.clone(),
        train,
        manifest,
        evaluation,
        gallery,
        times,
        features,
    })
}

/// The training stage with per-epoch validation on the val split.
pub fn train_outcome(
    ctx: &Context,
    model: &ModelRun,
    overrides: &TrainOverrides,
    queries: &[EvalQuery],
) -> Result<TrainOutcome> {
    let dim = ctx.text.embedder.dim();
    let train = train_stage::effective_config(ctx.cfg, model, dim, overrides)?;
    let mut validator = Validator::new(&ctx.data.dataset, queries.to_vec());
    let outcome = train_stage::train_model(
        &train,
        &model.name,
        &ctx.data.dataset,
        &ctx.text,
        &mut validator,
    )?;
    crate::portable::write_portable(ctx, &outcome.dir)?;
    Ok(outcome)
}
