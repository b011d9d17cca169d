//! What most commands start from: the run config, its dataset and its text space.
use webly_eval::EvalQuery;

use crate::config::RunConfig;
use crate::data_stage::{self, DataStage};
use std::path::Path;

use webly_encoder::SavedModel;
use webly_io::{FolderLock, LockKind};

use crate::error::{PipelineError, Result};
use crate::layout::ModelLayout;
use crate::queries;
use crate::text_stage::{self, TextSpace};

/// The dataset and text space of a run (each reused when its inputs are unchanged), and the run
/// folder's lock, held as long as the context.
pub struct Context<'a> {
    /// The run config.
    pub cfg: &'a RunConfig,
    /// The opened dataset and its fingerprint.
    pub data: DataStage,
    /// The word space and where the caption embeddings are.
    pub text: TextSpace,
    /// The run folder's lock, released when the context is dropped.
    pub lock: FolderLock,
}

impl<'a> Context<'a> {
    /// Takes the run folder for writing (alone), then runs (or reuses) the data and text stages.
    ///
    /// # Errors
    /// [`PipelineError::Busy`] when another process holds the run folder, naming it.
    pub fn open(cfg: &'a RunConfig) -> Result<Self> {
        Self::open_as(cfg, LockKind::Exclusive)
    }

    /// Opens a finished run for one of its trained models: takes the lock, checks that the model
    /// finished training and verifies (before the dataset and word space are read), opens them
    /// generating and embedding nothing (for the commands that use a run's results: `query`, `tag`,
    /// `serve` and `embed --shard` read it beside each other, `eval` and `export` take it alone),
    /// and checks that the word space has the model's
    /// dimension. Returns the context and the training's stamp.
    ///
    /// # Errors
    /// [`PipelineError::Busy`]; [`PipelineError::Missing`] naming the model folder and
    /// `webly train` when the model is not trained; [`PipelineError::Missing`] or
    /// [`PipelineError::Mismatch`] when the dataset is not there or is not the one the config
    /// generates, or the run's trained GloVe vectors are missing, each naming the path and
    /// `webly text embed`;
    /// [`PipelineError::SpaceDim`].
    pub fn open_model(
        cfg: &'a RunConfig,
        kind: LockKind,
        model: &ModelLayout,
    ) -> Result<(Self, String)> {
        let lock = Self::lock(cfg, kind)?;
        let trained = crate::train_stage::verified_training(model.dir())?;
        let data = data_stage::open_existing(cfg)?;
        let text = text_stage::open_existing(cfg, &data.dataset)?;
        let ctx = Context {
            cfg,
            data,
            text,
            lock,
        };
        ctx.check_space(model.dir())?;
        Ok((ctx, trained))
    }

    /// Opens a run whose data and text stages are done, running neither (for `webly extract`,
    /// whose tasks read the run beside each other): the dataset and word space as
    /// [`Context::open_model`] opens them, and the caption embeddings' stage verified.
    ///
    /// # Errors
    /// As [`Context::open_model`] for the lock, the dataset and the word space;
    /// [`PipelineError::Missing`] or [`PipelineError::Damaged`] naming the text stage's folder
    /// and `webly text embed` when its caption embeddings are not there.
    pub fn open_prepared(cfg: &'a RunConfig, kind: LockKind) -> Result<Self> {
        let lock = Self::lock(cfg, kind)?;
        let data = data_stage::open_existing(cfg)?;
        let text = text_stage::open_existing(cfg, &data.dataset)?;
        text_stage::verify_captions(cfg)?;
        Ok(Context {
            cfg,
            data,
            text,
            lock,
        })
    }

    fn open_as(cfg: &'a RunConfig, kind: LockKind) -> Result<Self> {
        let lock = Self::lock(cfg, kind)?;
        let data = data_stage::prepare(cfg)?;
        let text = text_stage::prepare(cfg, &data.dataset, &data.stamp)?;
        Ok(Context {
            cfg,
            data,
            text,
            lock,
        })
    }

    /// Takes the run folder's lock; a writer first removes what a killed writer left.
    fn lock(cfg: &RunConfig, kind: LockKind) -> Result<FolderLock> {
        let lock = lock_run(&cfg.run_dir, kind)?;
        if kind == LockKind::Exclusive {
            // No other writer can be at work: temporary files here were left by a killed one.
            let removed = lock.remove_stale_temporaries().map_err(PipelineError::io(
                "removing temporary files under",
                &cfg.run_dir,
            ))?;
            if removed > 0 {
                eprintln!(
                    "[run] removed {removed} temporary files a killed webly left in {}",
                    cfg.run_dir.display()
                );
            }
        }
        Ok(lock)
    }

    /// The run's query sets, embedded.
    pub fn queries(&self) -> Result<Vec<EvalQuery>> {
        queries::load(self.cfg, &self.text.embedder)
    }
}

/// Takes the lock of a run folder without waiting.
///
/// # Errors
/// [`PipelineError::Busy`] naming the holder's process id when the lock is held against `kind`;
/// I/O errors creating the folder or its lock file.
pub fn lock_run(run_dir: &Path, kind: LockKind) -> Result<FolderLock> {
    let lock = FolderLock::try_lock(run_dir, kind)
        .map_err(PipelineError::io("locking the run folder", run_dir))?;
    lock.map_err(|holder| PipelineError::Busy {
        path: run_dir.to_path_buf(),
        holder: holder.map_or("a reader (webly query, tag or serve)".into(), |pid| {
            format!("webly process {pid}")
        }),
        wanted: match kind {
            LockKind::Exclusive => "write it",
            LockKind::Shared => "read it",
        },
    })
}

impl Context<'_> {
    /// The one check, on every path that puts the run's word space and a trained model together,
    /// that both have the same dimension ([`PipelineError::SpaceDim`]).
    pub(crate) fn check_space(&self, model_dir: &Path) -> Result<()> {
        let model_dim = model_dim(model_dir)?;
        let space_dim = self.text.embedder.dim();
        if space_dim == model_dim {
            return Ok(());
        }
        let cfg = &self.cfg.text;
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
    let saved: SavedModel =
        serde_json::from_slice(&bytes).map_err(|source| PipelineError::Json {
            what: path.display().to_string(),
            source,
        })?;
    usize::try_from(saved.model.out_dim)
        .map_err(|_| PipelineError::Mismatch(format!("{}: negative out_dim", path.display())))
}
