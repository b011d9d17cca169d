//! The crate's one error type, and its atomic writes.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while generating a dataset. Each message names the file or
/// folder (the cause, where there is one, is the `source()`).
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A file or folder could not be written.
    #[error("cannot write {path}")]
    Write {
        /// What was being written.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The output folder already holds data these settings did not make.
    #[error("{path}: {message}")]
    Layout {
        /// The folder.
        path: PathBuf,
        /// What is there, and how to replace it.
        message: String,
    },
    /// A [`crate::SynthConfig`] value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An image could not be encoded.
    #[error("image {path}: {message}")]
    Image {
        /// The image file (or the contact sheet).
        path: PathBuf,
        /// The encoder's reason.
        message: String,
    },
}

impl SynthError {
    pub(crate) fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SynthError::Write {
            path: path.into(),
            source,
        }
    }
}

/// Writes `bytes` to `path` atomically (temporary file in the same folder, then rename).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SynthError> {
    webly_io::write_atomic(path, bytes).map_err(|e| SynthError::write(path, e))
}

/// As [`write_atomic`], without a sync to disk: for generated files that can be regenerated.
pub(crate) fn write_atomic_unsynced(path: &Path, bytes: &[u8]) -> Result<(), SynthError> {
    webly_io::write_atomic_unsynced(path, bytes).map_err(|e| SynthError::write(path, e))
}
