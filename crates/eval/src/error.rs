use std::path::PathBuf;

/// Everything that can go wrong in webly-eval.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Reading or writing a file failed.
    #[error("{path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line of a query file cannot be used.
    #[error("{path}:{line}: {what}")]
    Query {
        /// The query file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        what: String,
    },
    /// The image matrix does not hold `n x dim` values.
    #[error("images: {len} values is not {n} x {dim} ({keys} keys)")]
    Shape {
        /// Values given.
        len: usize,
        /// Images expected (one per key).
        n: usize,
        /// Dimension expected.
        dim: usize,
        /// Keys given.
        keys: usize,
    },
    /// An image embedding holds a NaN or an infinity (a diverged model).
    #[error("image {key:?} (row {row}) has a NaN or infinite value")]
    NonFinite {
        /// Its row in the matrix.
        row: usize,
        /// Its key.
        key: String,
    },
    /// A query vector and the image vectors differ in dimension.
    #[error("query {query:?}: vector has {found} values, images have {dim}")]
    QueryDim {
        /// The query text.
        query: String,
        /// Values of its vector.
        found: usize,
        /// Dimension of the images.
        dim: usize,
    },
    /// A JSON report cannot be read or written.
    #[error("{path}")]
    Json {
        /// The report file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A CSV report cannot be written.
    #[error("{path}: csv")]
    Csv {
        /// The report file.
        path: PathBuf,
        /// The CSV error.
        #[source]
        source: csv::Error,
    },
    /// The AP chart cannot be drawn.
    #[error("{path}: plot: {what}")]
    Plot {
        /// The chart file.
        path: PathBuf,
        /// What plotters said.
        what: String,
    },
    /// A gallery thumbnail cannot be made from an image.
    #[error("{path}: image")]
    Image {
        /// The image file.
        path: PathBuf,
        /// The decoding or encoding error.
        #[source]
        source: image::ImageError,
    },
    /// Arguments of a statistic that it cannot use (lengths, settings, non-finite values).
    #[error("{0}")]
    Invalid(String),
}

impl EvalError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EvalError::Io {
            path: path.into(),
            source,
        }
    }
}
