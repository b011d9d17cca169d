//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in `webly-data`. Each message names what was being read or
/// written (and the line, where there is one).
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or folder could not be read.
    #[error("cannot read {path}")]
    Read {
        /// What was being read.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A file or folder could not be written.
    #[error("cannot write {path}")]
    Write {
        /// What was being written.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A line of a text file (split file, ground truth) is malformed.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// The dataset root does not have the InstaCities1M layout.
    #[error("{path}: {message}")]
    Layout {
        /// The folder or file that does not fit.
        path: PathBuf,
        /// What was expected there.
        message: String,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An image could not be decoded or encoded.
    #[error("image {path}: {message}")]
    Image {
        /// The image file (or `<upload>`, or a tar member path).
        path: PathBuf,
        /// The decoder's reason, or the limit it is over.
        message: String,
    },
}

impl DataError {
    pub(crate) fn read(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Read {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Write {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn line(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        DataError::Line {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}
