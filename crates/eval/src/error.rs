use std::path::PathBuf;

/// Everything that can go wrong in webly-eval.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {what}")]
    Query {
        path: PathBuf,
        line: usize,
        what: String,
    },
    #[error("images: {len} values is not {n} x {dim} ({keys} keys)")]
    Shape {
        len: usize,
        n: usize,
        dim: usize,
        keys: usize,
    },
    #[error("image {key:?} (row {row}) has a NaN or infinite value")]
    NonFinite { row: usize, key: String },
    #[error("query {query:?}: vector has {found} values, images have {dim}")]
    QueryDim {
        query: String,
        found: usize,
        dim: usize,
    },
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: csv: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("{path}: plot: {what}")]
    Plot { path: PathBuf, what: String },
    #[error("{path}: image: {source}")]
    Image {
        path: PathBuf,
        source: image::ImageError,
    },
}

impl EvalError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EvalError::Io {
            path: path.into(),
            source,
        }
    }
}
