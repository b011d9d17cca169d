//! The one error type of webly-encoder.
use std::path::PathBuf;

/// Everything that can go wrong while building, training, saving or loading an encoder.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    /// A libtorch call failed (shapes, devices, a weights file libtorch could not read...).
    #[error("libtorch failed while {context}")]
    Torch {
        /// What was being done.
        context: String,
        /// libtorch's error.
        #[source]
        source: tch::TchError,
    },
    /// A file or folder could not be read or written.
    #[error("could not {action} {path}")]
    Io {
        /// What was being done (`read`, `write`, `create`...).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file (model.json, state.json) could not be read or written.
    #[error("could not {action} JSON {path}")]
    Json {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The JSON error (with its line and column).
        #[source]
        source: serde_json::Error,
    },
    /// The metrics CSV could not be read or written.
    #[error("could not {action} metrics CSV {path}")]
    Csv {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The CSV error (with its record).
        #[source]
        source: csv::Error,
    },
    /// The loss and metrics plot could not be drawn.
    #[error("could not draw the plot {path}: {message}")]
    Plot {
        /// The image file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A configuration that cannot work (checked before any work starts).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The training data does not fit together (lengths, dimensions).
    #[error("invalid training data: {0}")]
    Data(String),
    /// The loss became NaN/infinite or exceeded the configured limit.
    #[error("training diverged at epoch {epoch}, step {step}: loss {loss} (last good checkpoint kept in {dir})")]
    Diverged {
        /// The epoch.
        epoch: usize,
        /// The global step.
        step: u64,
        /// The loss at that step.
        loss: f64,
        /// The model folder, holding the last good checkpoint.
        dir: PathBuf,
    },
    /// The validation hook failed (training stops rather than count it as an improvement).
    #[error("validation after epoch {epoch} failed: {message}")]
    Validation {
        /// The epoch whose validation failed.
        epoch: usize,
        /// The hook's message.
        message: String,
    },
    /// CUDA was asked for but is not available.
    #[error("CUDA was requested but tch::Cuda::is_available() is false")]
    NoCuda,
}

/// Wraps a libtorch error with what was being done.
pub(crate) fn torch(context: impl Into<String>) -> impl FnOnce(tch::TchError) -> EncoderError {
    let context = context.into();
    move |source| EncoderError::Torch { context, source }
}

/// Wraps an I/O error with the action and the path.
pub(crate) fn io<'a>(
    action: &'static str,
    path: &'a std::path::Path,
) -> impl FnOnce(std::io::Error) -> EncoderError + 'a {
    move |source| EncoderError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
