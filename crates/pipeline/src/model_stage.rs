//! One model end to end: train, embed the test split, index, evaluate, gallery.
use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use webly_data::{GroundTruth, Split};
use webly_eval::{EvalQuery, Report};
use webly_index::{Expect, Fingerprints, Hnsw, Manifest};

use crate::config::ModelRun;
use crate::context::Context;
use crate::error::{PipelineError, Result};
use crate::eval_stage::{self, Evaluation, Validator};
use crate::features_stage::{self, CacheSet};
use crate::layout::ModelLayout;
use crate::stamp;
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
    if !is_embedded(ctx, &paths, &train.stamp, false)? {
        let test = features_stage::test_images(&ctx.data.dataset);
        let sets = [CacheSet {
            name: "test",
            images: &test,
            views: 1,
        }];
        features.extend(features_stage::ensure(&cfg, &sets)?);
    }
    times.features += lap(&mut t);
    let emb_path = ensure_embedded(ctx, &paths, &train.stamp)?;
    let emb = eval_stage::read_embeddings(&emb_path)?;
    times.embed += lap(&mut t);
    let manifest = ensure_index(ctx, &paths, &train.stamp, &emb)?;
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
    let hnsw = open_index(ctx, &paths)?;
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
    train_stage::train_model(
        &train,
        &model.name,
        &ctx.data.dataset,
        &ctx.text,
        &mut validator,
    )
}

/// Whether the test embeddings of the model with `train_stamp` are there for this dataset and
/// verify; `say_why` prints which file is damaged when they do not (once per stage run).
fn is_embedded(
    ctx: &Context,
    paths: &ModelLayout,
    train_stamp: &str,
    say_why: bool,
) -> Result<bool> {
    let dir = paths.embed_dir();
    let inputs = embed_stamp(ctx, train_stamp)?;
    let files = ModelLayout::embed_files(Split::Test);
    let files = files.each_ref().map(String::as_str);
    Ok(match say_why {
        true => stamp::is_fresh(&dir, &inputs, &files),
        false => stamp::check(&dir, &inputs, &files) == stamp::Check::Fresh,
    })
}

/// The test embeddings of a trained model.
///
/// Reused when the model and the dataset's content are unchanged: `webly eval` or `index` after
/// test images were edited embeds them again even though the model is not retrained.
pub fn ensure_embedded(ctx: &Context, paths: &ModelLayout, train_stamp: &str) -> Result<PathBuf> {
    let out = paths.embeddings(Split::Test);
    let dir = paths.embed_dir();
    let inputs = embed_stamp(ctx, train_stamp)?;
    if !is_embedded(ctx, paths, train_stamp, true)? {
        stamp::clear(&dir)?;
        let n = eval_stage::embed_split(paths.dir(), &ctx.data.dataset, Split::Test, &out)?;
        eprintln!("[embed] {n} test images -> {}", out.display());
        let files = ModelLayout::embed_files(Split::Test);
        stamp::write(&dir, &inputs, &files.each_ref().map(String::as_str))?;
    }
    Ok(out)
}

/// What the test embeddings depend on: the model and the dataset's content.
pub fn embed_stamp(ctx: &Context, train_stamp: &str) -> Result<String> {
    stamp::fingerprint(&(train_stamp, &ctx.data.stamp))
}

/// The index's fingerprints: of the embeddings it holds (model and data) and of the word space.
pub fn fingerprints(ctx: &Context, train_stamp: &str) -> Result<Fingerprints> {
    Ok(Fingerprints {
        model: embed_stamp(ctx, train_stamp)?,
        text: ctx.text.embedder.fingerprint(),
    })
}

/// The HNSW index of the test embeddings (rebuilt when the model or the index settings change).
fn ensure_index(
    ctx: &Context,
    paths: &ModelLayout,
    train_stamp: &str,
    emb: &webly_index::Embeddings,
) -> Result<Manifest> {
    let dir = paths.index_dir();
    let fp = fingerprints(ctx, train_stamp)?;
    match webly_index::verify(&dir) {
        Ok(m) => {
            let same_config = stamp::fingerprint(&m.config)? == stamp::fingerprint(&ctx.cfg.index)?;
            if m.model_fingerprint == fp.model && m.text_fingerprint == fp.text && same_config {
                return Ok(m);
            }
        }
        // Never built: nothing to say.
        Err(webly_index::IndexError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound
                && !dir.join(webly_index::MANIFEST_FILE).exists() => {}
        Err(e) => eprintln!("[index] {e}; rebuilding the index"),
    }
    eprintln!("[index] building HNSW over {} test images", emb.len());
    eval_stage::build_index(emb, &ctx.cfg.index, &dir, &fp)
}

/// Opens a model's saved index, refusing one built with another text space.
pub fn open_index(ctx: &Context, paths: &ModelLayout) -> Result<Hnsw> {
    let expect = Expect {
        dim: ctx.text.embedder.dim(),
        text_fingerprint: ctx.text.embedder.fingerprint(),
    };
    let dir = paths.index_dir();
    if !dir.join(webly_index::MANIFEST_FILE).exists() {
        return Err(PipelineError::Missing {
            what: "the HNSW index",
            path: dir,
            hint: "webly index".into(),
        });
    }
    Hnsw::open(&dir, &expect).map_err(|e| match e {
        webly_index::IndexError::Damaged { path, what } => PipelineError::Damaged {
            path,
            what,
            repair: "webly index".into(),
        },
        other => other.into(),
    })
}
