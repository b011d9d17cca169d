use std::path::PathBuf;

/// Everything that can go wrong in webly-index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("embeddings: {len} values is not {rows} rows x {dim} dims ({keys} keys)")]
    Shape {
        len: usize,
        rows: usize,
        dim: usize,
        keys: usize,
    },
    #[error("hnsw config: {0}")]
    Config(String),
    #[error("embeddings: dimension must be > 0")]
    ZeroDim,
    #[error("embeddings: row {row} (key {key:?}) has a NaN or infinite value")]
    NonFinite { row: usize, key: String },
    #[error("embeddings: row {row} (key {key:?}) is all zeros and cannot be normalised")]
    ZeroRow { row: usize, key: String },
    #[error("embeddings: key {key:?} at row {row} contains a line break")]
    BadKey { row: usize, key: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid manifest: {source}")]
    Manifest {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A query vector of another dimension than the vectors searched: the word space it came
    /// from is not the one the model was trained with.
    #[error("the query vector has dimension {found} but the searched vectors have {expected}: the word space is not the one the model was trained with")]
    QueryDim { found: usize, expected: usize },
    #[error("{path}: index has dimension {found}, expected {expected}")]
    DimMismatch {
        path: PathBuf,
        found: usize,
        expected: usize,
    },
    #[error("{path}: index was built with text fingerprint {found:?}, expected {expected:?} (rebuild the index)")]
    TextMismatch {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{path}: {what}")]
    Corrupt { path: PathBuf, what: String },
    /// A file of a saved index does not match the checksum its manifest recorded.
    #[error("{path} {what}")]
    Damaged { path: PathBuf, what: String },
    #[error("{path}: hnsw_rs: {message}")]
    Hnsw { path: PathBuf, message: String },
}

impl IndexError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IndexError::Io {
            path: path.into(),
            source,
        }
    }
}
