//! Exact and HNSW (hnsw_rs) search over L2-normalised embeddings, saved on disk with a manifest.
//!
//! - [`Embeddings`]: a validated, re-normalised row-major `n x d` matrix with one key per row.
//! - [`Exact`]: parallel brute force (the ground truth); [`Hnsw`]: an hnsw_rs graph built with
//!   the clamped dot distance [`DotClamped`], then kept and searched as a flat layout only
//!   (contiguous vectors, CSR links, bitset of visits: 3-4x hnsw_rs's own search at equal
//!   recall, one copy of the vectors). Both implement the tiny [`Search`] trait.
//! - [`Hnsw::save`] / [`Hnsw::open`]: a folder with that layout as plain files
//!   (`vectors.f32`, `graph.u32`), `keys.txt`, `nodes.txt` and `manifest.json`, written into a
//!   fresh temp folder and renamed into place; opening reads the files as they are.
//! - [`recall_at_k`]: recall of any [`Search`] against [`Exact`]; [`synthetic`] makes
//!   clustered low-rank test vectors with a fixed seed.

mod build;
mod config;
mod distance;
mod embeddings;
mod error;
mod exact;
mod flat;
mod hnsw;
mod manifest;
mod recall;
mod search;
mod store;
pub mod synthetic;

pub use config::{Builder, HnswConfig, DEFAULT_HNSW_SEED};
pub use distance::{dot, DotClamped};
pub use embeddings::Embeddings;
pub use error::IndexError;
pub use exact::Exact;
pub use hnsw::{Hnsw, HNSW_MAX_LAYER};
pub use manifest::{
    Expect, Fingerprints, Manifest, GRAPH_FILE, KEYS_FILE, MANIFEST_FILE, VECTORS_FILE,
};
pub use recall::{
    recall_at_k, sample_rows, RecallConfig, RecallReport, SyncSearch, DEFAULT_RECALL_FLOOR,
};
pub use search::{check_dim, Hit, Search};
pub use store::{read_manifest, verify};

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, IndexError>;
