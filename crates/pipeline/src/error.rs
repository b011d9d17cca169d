//! The pipeline's error: each library's error, plus what the pipeline itself checks.
use std::path::PathBuf;

/// Errors of the pipeline stages. Each message says what was being done and on what; a cause
/// (an I/O or JSON error) is the `source()`, not repeated in the message.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A file or folder could not be read or written.
    #[error("{what} {}", path.display())]
    Io {
        /// What was being done (`reading`, `writing`, `creating`...).
        what: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The run config is not valid TOML or holds a value that cannot work.
    #[error("run config {}: {message}", path.display())]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong (with the TOML error's line when there is one).
        message: String,
    },
    /// The run config has no model to train.
    #[error("the run config has no [[models]]")]
    NoModel,
    /// `--model NAME` names no model of the run config.
    #[error("no model named {name:?} in the run config (known: {})", known.join(", "))]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The run config's model names.
        known: Vec<String>,
    },
    /// A stage's output a command needs is not there.
    #[error("{what}: {} is missing; run `{hint}` first", path.display())]
    Missing {
        /// What is missing (`a finished training`, `the dataset`...).
        what: &'static str,
        /// Where it should be.
        path: PathBuf,
        /// The command that makes it.
        hint: String,
    },
    /// The run's word space and a trained model disagree on the dimension: every path that puts
    /// the two together (exact search, HNSW, `tag`, `query --image`, eval, index) says this.
    #[error("the word space ({space}) has dimension {space_dim}, but the model in {} embeds images in {model_dim} dimensions: use the word space the model was trained with, or train it again", model.display())]
    SpaceDim {
        /// The word space (its vectors file, or GloVe trained on the captions).
        space: String,
        /// Its dimension.
        space_dim: usize,
        /// The model's folder.
        model: PathBuf,
        /// The dimension the model embeds images in.
        model_dim: usize,
    },
    /// A stage's output does not hold what its stamp or manifest recorded.
    #[error("{} {what}; run `{repair}` to make it again", path.display())]
    Damaged {
        /// The damaged file.
        path: PathBuf,
        /// How it differs from what was recorded.
        what: String,
        /// The command that makes it again.
        repair: String,
    },
    /// The run folder is locked by another webly (one writer, or readers without a writer).
    #[error("the folder {} is in use by {holder} (a webly command writing it, or reading it while this one wants to write); cannot {wanted} until it ends", path.display())]
    Busy {
        /// The run folder.
        path: PathBuf,
        /// Who holds it (`webly process PID`, or a reader).
        holder: String,
        /// What this command wanted (`read it`, `write it`).
        wanted: &'static str,
    },
    /// A command's arguments or a query that cannot be used (`-k 0`, no `--out`, a word not in
    /// the vocabulary, no shard manifest among the inputs); the message names it.
    #[error("{0}")]
    Usage(String),
    /// An image given to embed (a file, an upload) that cannot be read; the message names it and
    /// says why.
    #[error("{0}")]
    Unreadable(String),
    /// The run config asks for what cannot be done (a text space with neither `vectors` nor
    /// `[text.glove]`, a model with nothing to extract, a model name that is not a plain
    /// folder name); the message names the setting.
    #[error("{0}")]
    Setting(String),
    /// Files that must agree do not, with each other or with the dataset (shard manifests and
    /// their matrices, an embedding matrix and its ids, caption embeddings and the images, the
    /// reports a suite compares, a model.json's dimension); the message names them.
    #[error("{0}")]
    Mismatch(String),
    /// Nothing to work with: a split none of whose images could be read, a training that ran no
    /// step; the message names the split or the model.
    #[error("{0}")]
    Empty(String),
    /// A JSON file of the run folder (a shard manifest, model.json, a report) that cannot be read
    /// or written, or a value that cannot be fingerprinted.
    #[error("{what}")]
    Json {
        /// The file (and what it should be), or what was being fingerprinted.
        what: String,
        /// The JSON error (with its line and column when reading).
        #[source]
        source: serde_json::Error,
    },
    /// The export's parquet schema was refused by the parquet library.
    #[error("parquet schema")]
    Parquet(#[source] parquet::errors::ParquetError),
    /// From the dataset.
    #[error(transparent)]
    Data(#[from] webly_data::DataError),
    /// From the generator of the demo's data (`[data.synth]`, `webly synth`).
    #[error(transparent)]
    Synth(#[from] webly_synth::SynthError),
    /// From an embedding matrix or its key file (`.npy`, `.ids`).
    #[error(transparent)]
    Matrix(#[from] webly_io::MatrixError),
    /// From the word vectors or caption embeddings.
    #[error(transparent)]
    Text(#[from] webly_text::TextError),
    /// From the image encoder (training, saving, loading, embedding).
    #[error(transparent)]
    Encoder(#[from] webly_encoder::EncoderError),
    /// From the index.
    #[error(transparent)]
    Index(#[from] webly_index::IndexError),
    /// From the evaluation.
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
