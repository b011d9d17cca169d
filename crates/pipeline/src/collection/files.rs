//! What a collection folder holds on disk: `collection.json` (the manifest, written last: the
//! commit point of every change), and per change a generation folder `gen-<n>` with
//! `files.csv` (every image file seen, with its signature and state), `embeddings.npy` +
//! `embeddings.ids` (the indexed images' unit embeddings) and `index/` (the HNSW index).
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use webly_index::RecallReport;

use crate::error::{PipelineError, Result};

/// The manifest's file name in a collection folder.
pub const MANIFEST_FILE: &str = "collection.json";
/// The file table's name in a generation folder.
pub const FILES_FILE: &str = "files.csv";
/// The embeddings' name in a generation folder (the `.ids` file beside it).
pub const EMBEDDINGS_FILE: &str = "embeddings.npy";
/// The index folder's name in a generation folder.
pub const INDEX_DIR: &str = "index";
/// Embeddings of an unfinished change, kept so that the next command does not compute them again.
pub const PENDING_DIR: &str = "pending";
/// Layout version of a collection folder; other versions are refused.
pub const FORMAT_VERSION: u32 = 1;

/// `collection.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionManifest {
    /// Layout version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// The model folder, absolute (never written to).
    pub model: PathBuf,
    /// `portable::model_fingerprint` of the model the images were embedded with: another one
    /// (the model was retrained) makes the next change embed every image again.
    pub model_fingerprint: String,
    /// Fingerprint of the word space queries must come from.
    pub text_fingerprint: String,
    /// Embedding dimension.
    pub dim: usize,
    /// The image folders, in the order they were added.
    pub roots: Vec<Root>,
    /// The generation folder holding the current files (`gen-<generation>`).
    pub generation: u64,
    /// Indexed images.
    pub images: usize,
    /// Image files that could not be read (kept in `files.csv` with the reason; tried again
    /// when they change).
    pub skipped: usize,
    /// Files removed with `collection remove` (kept out until added again).
    pub excluded: usize,
    /// Deleted graph nodes not yet compacted away, as a share of the graph.
    pub deleted_share: f64,
    /// Recall@k of the index against exact search, measured after the last change.
    pub recall: Option<RecallReport>,
    /// What the last change did.
    pub last_change: Change,
    /// Seconds since the Unix epoch.
    pub created_unix: u64,
    /// Seconds since the Unix epoch.
    pub updated_unix: u64,
}

impl std::fmt::Display for CollectionManifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "model: {}", self.model.display())?;
        for r in &self.roots {
            writeln!(f, "folder {}: {}", r.name, r.path.display())?;
        }
        writeln!(
            f,
            "{} images indexed, {} unreadable, {} removed by you (generation {})",
            self.images, self.skipped, self.excluded, self.generation
        )?;
        if let Some(r) = &self.recall {
            writeln!(
                f,
                "index: recall@{} {:.4} against exact search ({} queries), {:.1}% deleted nodes",
                r.k,
                r.recall,
                r.queries,
                100.0 * self.deleted_share
            )?;
        }
        let c = &self.last_change;
        write!(
            f,
            "last change: {} ({} embedded, {} taken out, {} unreadable; {:.1} s embedding, {:.1} s index)",
            c.command, c.added, c.removed, c.skipped, c.embed_seconds, c.index_seconds
        )
    }
}

/// An image folder of a collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Root {
    /// Its short name: the first part of its images' keys (`name/relative/path.jpg`).
    pub name: String,
    /// The folder, absolute.
    pub path: PathBuf,
}

/// What one change did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// The command (`create`, `add`, `remove`, `sync`).
    pub command: String,
    /// Images embedded and inserted (new, or changed on disk).
    pub added: usize,
    /// Of those, images that replaced an older version of the same file.
    pub changed: usize,
    /// Images taken out of the index (deleted on disk, removed, or changed).
    pub removed: usize,
    /// Image files that could not be read in this change.
    pub skipped: usize,
    /// Embeddings reused from an interrupted change.
    pub resumed: usize,
    /// Whether every image was embedded again and the index built afresh (a new model).
    pub rebuilt: bool,
    /// Whether the graph was compacted (deleted nodes dropped).
    pub compacted: bool,
    /// Seconds embedding images.
    pub embed_seconds: f64,
    /// Seconds updating the index, measuring its recall and writing the files.
    pub index_seconds: f64,
}

/// The state of a file in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Embedded and indexed.
    Indexed,
    /// Could not be read: why.
    Skipped(String),
    /// Removed by the user.
    Excluded,
}

/// One image file seen under a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// `root name/relative path` (with `/`).
    pub key: String,
    /// The file's signature when it was last read.
    pub signature: Signature,
    /// Indexed, skipped or excluded.
    pub state: State,
}

/// A file's size and modification time: a file whose signature changed is read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Signature {
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i128,
}

#[derive(Serialize, Deserialize)]
struct Row {
    key: String,
    size: u64,
    mtime_ns: i128,
    state: String,
    reason: String,
}

/// Reads `files.csv`.
///
/// # Errors
/// I/O and CSV errors naming the file and its line.
pub fn read_files(path: &Path) -> Result<Vec<FileEntry>> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| csv_error(path, e))?;
    let mut out = Vec::new();
    for row in reader.deserialize::<Row>() {
        let row = row.map_err(|e| csv_error(path, e))?;
        let state = match row.state.as_str() {
            "indexed" => State::Indexed,
            "skipped" => State::Skipped(row.reason),
            "excluded" => State::Excluded,
            other => {
                return Err(PipelineError::Mismatch(format!(
                    "{}: unknown state {other:?} of {}",
                    path.display(),
                    row.key
                )))
            }
        };
        out.push(FileEntry {
            key: row.key,
            signature: Signature {
                size: row.size,
                mtime_ns: row.mtime_ns,
            },
            state,
        });
    }
    Ok(out)
}

/// Writes `files.csv` atomically.
///
/// # Errors
/// I/O errors naming the file.
pub fn write_files(path: &Path, files: &[FileEntry]) -> Result<()> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for f in files {
        let (state, reason) = match &f.state {
            State::Indexed => ("indexed", ""),
            State::Skipped(r) => ("skipped", r.as_str()),
            State::Excluded => ("excluded", ""),
        };
        writer
            .serialize(Row {
                key: f.key.clone(),
                size: f.signature.size,
                mtime_ns: f.signature.mtime_ns,
                state: state.into(),
                reason: reason.into(),
            })
            .map_err(|e| csv_error(path, e))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| PipelineError::io("writing", path)(e.into_error()))?;
    crate::fsio::write_atomic(path, &bytes)
}

fn csv_error(path: &Path, e: csv::Error) -> PipelineError {
    let line = e
        .position()
        .map_or(String::new(), |p| format!(" line {}", p.line()));
    PipelineError::Mismatch(format!("{}{line}: {e}", path.display()))
}

/// Reads `collection.json`.
///
/// # Errors
/// [`PipelineError::Missing`] when `dir` is not a collection; [`PipelineError::Json`];
/// [`PipelineError::Mismatch`] for another layout version.
pub fn read_manifest(dir: &Path) -> Result<CollectionManifest> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => PipelineError::Missing {
            what: "a collection",
            path: path.clone(),
            hint: "webly collection create".into(),
        },
        _ => PipelineError::io("reading", &path)(e),
    })?;
    let manifest: CollectionManifest =
        serde_json::from_slice(&bytes).map_err(|source| PipelineError::Json {
            what: path.display().to_string(),
            source,
        })?;
    if manifest.format_version != FORMAT_VERSION {
        return Err(PipelineError::Mismatch(format!(
            "{}: collection layout version {}, this webly reads {FORMAT_VERSION}: create it again",
            path.display(),
            manifest.format_version
        )));
    }
    Ok(manifest)
}

/// Writes `collection.json` atomically: the commit point of a change.
///
/// # Errors
/// I/O errors naming the file.
pub fn write_manifest(dir: &Path, manifest: &CollectionManifest) -> Result<()> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = serde_json::to_vec_pretty(manifest).map_err(|source| PipelineError::Json {
        what: path.display().to_string(),
        source,
    })?;
    crate::fsio::write_atomic(&path, &bytes)
}

/// The generation folder `gen-<n>` of `dir`.
pub fn generation_dir(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("gen-{generation}"))
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
