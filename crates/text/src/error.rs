//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in webly-text. Messages name what was being read
/// (file and, for text formats, the 1-based line).
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// An I/O failure on a named file.
    #[error("{path}")]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Bad content at a given line of a text file (or record of a binary one).
    #[error("{source_name}:{line}: {msg}")]
    Parse {
        /// The file (or reader name) being parsed.
        source_name: String,
        /// 1-based line (record number for word2vec binary).
        line: usize,
        /// What was wrong.
        msg: String,
    },
    /// A file-level problem (bad header, empty file, unknown format).
    #[error("{source_name}: {msg}")]
    Format {
        /// The file (or reader name) being parsed.
        source_name: String,
        /// What was wrong.
        msg: String,
    },
    /// A configuration value out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A query with no word in the vocabulary.
    #[error("query {query:?} has no word in the vocabulary (cleaned tokens: {tokens:?})")]
    NoKnownWord {
        /// The query as given.
        query: String,
        /// Its cleaned tokens (possibly empty).
        tokens: Vec<String>,
    },
    /// A caption embedding matrix or its key file (`.npy`, `.ids`).
    #[error(transparent)]
    Matrix(#[from] webly_io::MatrixError),
    /// A matrix whose shape does not match what was expected.
    #[error("{what}: shape mismatch: {msg}")]
    Shape {
        /// What was being written or read.
        what: String,
        /// What was wrong.
        msg: String,
    },
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, TextError>;

impl TextError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TextError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn parse(source_name: &str, line: usize, msg: impl Into<String>) -> Self {
        TextError::Parse {
            source_name: source_name.to_string(),
            line,
            msg: msg.into(),
        }
    }

    pub(crate) fn format(source_name: &str, msg: impl Into<String>) -> Self {
        TextError::Format {
            source_name: source_name.to_string(),
            msg: msg.into(),
        }
    }
}
