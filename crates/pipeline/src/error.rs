//! The pipeline's error: each library's error, plus what the pipeline itself checks.
use std::path::PathBuf;

/// Errors of the pipeline stages.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("run config {}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error("the run config has no [[models]]")]
    NoModel,
    #[error("no model named {name:?} in the run config (known: {})", known.join(", "))]
    UnknownModel { name: String, known: Vec<String> },
    #[error("{what}: {} is missing; run `{hint}` first", path.display())]
    Missing {
        what: &'static str,
        path: PathBuf,
        hint: String,
    },
    /// The run's word space and a trained model disagree on the dimension: every path that puts
    /// the two together (exact search, HNSW, `tag`, `query --image`, eval, index) says this.
    #[error("the word space ({space}) has dimension {space_dim}, but the model in {} embeds images in {model_dim} dimensions: use the word space the model was trained with, or train it again", model.display())]
    SpaceDim {
        space: String,
        space_dim: usize,
        model: PathBuf,
        model_dim: usize,
    },
    /// A stage's output does not hold what its stamp or manifest recorded.
    #[error("{} {what}; run `{repair}` to make it again", path.display())]
    Damaged {
        path: PathBuf,
        what: String,
        repair: String,
    },
    /// The run folder is locked by another webly (one writer, or readers without a writer).
    #[error("the run folder {} is in use by {holder} (a webly command writing it, or reading it while this one wants to write); cannot {wanted} until it ends", path.display())]
    Busy {
        path: PathBuf,
        holder: String,
        wanted: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Data(#[from] webly_data::DataError),
    #[error(transparent)]
    Text(#[from] webly_text::TextError),
    #[error(transparent)]
    Encoder(#[from] webly_encoder::EncoderError),
    #[error(transparent)]
    Index(#[from] webly_index::IndexError),
    #[error(transparent)]
    Eval(#[from] webly_eval::EvalError),
}

impl PipelineError {
    pub(crate) fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| PipelineError::Io { what, path, source }
    }
}

/// Result alias of the pipeline.
pub type Result<T, E = PipelineError> = std::result::Result<T, E>;
