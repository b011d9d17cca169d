use std::path::PathBuf;

/// Everything that can go wrong in webly-index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The values of an embedding matrix do not make `keys` rows of `dim` values.
    #[error("embeddings: {len} values is not {rows} rows x {dim} dims ({keys} keys)")]
    Shape {
        /// Values given.
        len: usize,
        /// Rows the keys ask for.
        rows: usize,
        /// Values per row.
        dim: usize,
        /// Keys given.
        keys: usize,
    },
    /// HNSW parameters out of range ([`crate::HnswConfig::validate`]); the message names them.
    #[error("hnsw config: {0}")]
    Config(String),
    /// An embedding matrix of dimension 0.
    #[error("embeddings: dimension must be > 0")]
    ZeroDim,
    /// A row holding NaN or an infinity.
    #[error("embeddings: row {row} (key {key:?}) has a NaN or infinite value")]
    NonFinite {
        /// Row index, from 0.
        row: usize,
        /// The row's key.
        key: String,
    },
    /// A row of zeros, which has no direction to normalise.
    #[error("embeddings: row {row} (key {key:?}) is all zeros and cannot be normalised")]
    ZeroRow {
        /// Row index, from 0.
        row: usize,
        /// The row's key.
        key: String,
    },
    /// A key with a line break (`keys.txt` holds one key per line).
    #[error("embeddings: key {key:?} at row {row} contains a line break")]
    BadKey {
        /// Row index, from 0.
        row: usize,
        /// The key.
        key: String,
    },
    /// Reading or writing a file of an index folder failed.
    #[error("{path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// `manifest.json` is not valid JSON for a [`crate::Manifest`] (or could not be written).
    #[error("{path}: invalid manifest")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// The parser's message, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A query vector of another dimension than the vectors searched: the word space it came
    /// from is not the one the model was trained with.
    #[error("the query vector has dimension {found} but the searched vectors have {expected}: the word space is not the one the model was trained with")]
    QueryDim {
        /// The query's dimension.
        found: usize,
        /// The searched vectors' dimension.
        expected: usize,
    },
    /// An index folder built for vectors of another dimension than the caller's.
    #[error("{path}: index has dimension {found}, expected {expected}")]
    DimMismatch {
        /// The index folder.
        path: PathBuf,
        /// Dimension recorded in its manifest.
        found: usize,
        /// Dimension the caller expects ([`crate::Expect::dim`]).
        expected: usize,
    },
    /// An index folder built against another word space than the caller's.
    #[error("{path}: index was built with text fingerprint {found:?}, expected {expected:?} (rebuild the index)")]
    TextMismatch {
        /// The index folder.
        path: PathBuf,
        /// Fingerprint recorded in its manifest.
        found: String,
        /// Fingerprint the caller expects ([`crate::Expect::text_fingerprint`]).
        expected: String,
    },
    /// [`crate::Hnsw::insert`] given a row whose key the index already holds, or one key
    /// twice: keys name rows, so each may be indexed once (remove the old row first to replace
    /// it).
    #[error("insert: key {key:?} is already in the index (or given twice); remove it first to replace its row")]
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// [`crate::Hnsw::insert`] given vectors of another dimension than the index's.
    #[error("insert: the new vectors have dimension {found} but the index has {expected}")]
    InsertDim {
        /// The new vectors' dimension.
        found: usize,
        /// The index's dimension.
        expected: usize,
    },
    /// A file of an index folder whose content contradicts its manifest or itself (counts,
    /// links past the last node, an unknown format version).
    #[error("{path}: {what}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line or count where there is one.
        what: String,
    },
    /// A file of a saved index does not match the checksum its manifest recorded.
    #[error("{path} {what}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Missing, cut short or edited.
        what: String,
    },
}

impl IndexError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IndexError::Io {
            path: path.into(),
            source,
        }
    }
}
