//! Exact and HNSW search over L2-normalised embeddings, saved on disk with a manifest.
//!
//! - [`Embeddings`]: a validated, re-normalised row-major `n x d` matrix with one key per row.
//! - [`Exact`]: parallel brute force (the ground truth); [`Hnsw`]: an HNSW graph (Malkov &
//!   Yashunin 2018) with the cosine distance `1 - a.b`, built by webly's own parallel builder
//!   (the default) or by hnsw_rs with [`DotClamped`] ([`HnswBuilder`]), and kept and searched as a
//!   flat layout only (hnswlib's: per node its vector and its layer-0 links in one 64-byte
//!   aligned record; an epoch-stamped visited list per thread; one copy of the vectors). Both
//!   implement the tiny [`Search`] trait.
//! - [`Hnsw::save`] / [`Hnsw::open`]: a folder with that graph as plain files
//!   (`vectors.f32`, `graph.u32`), `keys.txt`, `nodes.txt` and `manifest.json`, written into a
//!   fresh temp folder and renamed into place; opening reads the files as they are.
//! - [`Hnsw::insert`], [`Hnsw::remove`], [`Hnsw::compact`]: an index that grows and shrinks
//!   without a rebuild (new rows inserted by the build's algorithm, removed ones left as
//!   tombstones that searches pass through but never return, until a compaction repairs the
//!   links around them: [`DEFAULT_COMPACT_SHARE`]); [`Hnsw::measure_recall`] measures again.
//! - [`Keys`]: an index's row keys ([`Hnsw::keys`]), all in one buffer.
//! - [`recall_at_k`]: recall of any [`Search`] against [`Exact`]; [`synthetic`] makes
//!   clustered low-rank test vectors with a fixed seed.

#![deny(missing_docs)]

mod build;
mod compact;
mod config;
mod distance;
mod embeddings;
mod error;
mod exact;
mod flat;
mod hnsw;
mod keys;
mod manifest;
mod node_rows;
mod recall;
mod search;
mod store;
pub mod synthetic;
mod update;

pub use config::{HnswBuilder, HnswConfig, DEFAULT_HNSW_SEED, HNSW_MAX_LAYER};
pub use distance::{dot, DotClamped};
pub use embeddings::Embeddings;
pub use error::IndexError;
pub use exact::Exact;
pub use hnsw::Hnsw;
pub use keys::{Keys, KeysIter};
pub use manifest::{
    Expect, Fingerprints, Manifest, GRAPH_FILE, KEYS_FILE, MANIFEST_FILE, VECTORS_FILE,
};
pub use recall::{
    recall_at_k, sample_rows, RecallConfig, RecallReport, SyncSearch, DEFAULT_RECALL_FLOOR,
};
pub use search::{check_dim, Hit, Search};
pub use store::{read_manifest, verify};
pub use update::DEFAULT_COMPACT_SHARE;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, IndexError>;
