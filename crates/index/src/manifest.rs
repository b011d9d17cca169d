//! `manifest.json`: what an index folder holds and what it was built from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{HnswConfig, RecallReport};

/// File name of the manifest inside an index folder.
pub const MANIFEST_FILE: &str = "manifest.json";
/// File with one row key per line, in row order.
pub const KEYS_FILE: &str = "keys.txt";
/// File with the graph node of each row, one number per line, in row order (rows with
/// identical vectors share a node; a tombstone, [`Manifest::deleted`], has no row).
pub const NODES_FILE: &str = "nodes.txt";
/// File with the graph nodes' vectors: little-endian f32, `nodes x dim`, row after row.
pub const VECTORS_FILE: &str = "vectors.f32";
/// File with the graph's links: little-endian u32 words (layout: `FlatGraph::graph_bytes`).
pub const GRAPH_FILE: &str = "graph.u32";
/// Version of the folder layout; bumped on incompatible changes (2: identical vectors share a
/// graph node, [`NODES_FILE`]; 3: the manifest records a checksum of every file; 4: the graph
/// as flat [`VECTORS_FILE`] and [`GRAPH_FILE`], not an hnsw_rs dump).
pub const FORMAT_VERSION: u32 = 4;
/// Distance recorded in the manifest.
pub const DISTANCE: &str = "DotClamped: 1 - dot(a, b) clamped at 0, unit vectors";

/// The description written beside the graph files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version of the folder (4 today: `FORMAT_VERSION` in manifest.rs); other versions are refused.
    pub format_version: u32,
    /// Values per vector.
    pub dim: usize,
    /// Rows (keys).
    pub count: usize,
    /// Graph nodes: distinct vectors, tombstones included.
    pub nodes: usize,
    /// Tombstones among the graph nodes: nodes whose rows were all removed
    /// ([`crate::Hnsw::remove`]), kept in the graph (searches pass through them) until
    /// [`crate::Hnsw::compact`]; no row of `nodes.txt` names them. Written only when not 0, so
    /// the manifest of an index without removals is as before (absent: 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub deleted: usize,
    /// The distance the graph was built with (`1 - a.b` of unit vectors, clamped at 0).
    pub distance: String,
    /// The parameters it was built with (the builder among them).
    pub config: HnswConfig,
    /// Identifies the image model that produced the vectors (caller-provided).
    pub model_fingerprint: String,
    /// Identifies the word space queries must come from (caller-provided).
    pub text_fingerprint: String,
    /// Seconds since the Unix epoch.
    pub created_unix: u64,
    /// Vectors file name ([`VECTORS_FILE`]), relative to the folder.
    pub vectors_file: String,
    /// Links file name ([`GRAPH_FILE`]), relative to the folder.
    pub graph_file: String,
    /// Keys file name, relative to the folder.
    pub keys_file: String,
    /// Row-to-node file name, relative to the folder.
    pub nodes_file: String,
    /// Recall measured at build time, if any.
    pub recall: Option<RecallReport>,
    /// Content checksum of every other file of the folder (`webly_io::checksum`), by file
    /// name: verified before any of them is read. (Absent from older manifests, whose format
    /// version is then refused.)
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The caller's identifiers of the models behind the vectors.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Fingerprints {
    /// Identifies the image model that produced the vectors.
    pub model: String,
    /// Identifies the word space that queries must come from.
    pub text: String,
}

/// What the caller needs from an index it opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expect {
    /// Values per vector the caller's queries have.
    pub dim: usize,
    /// The caller's word space ([`Fingerprints::text`] of the index it wants).
    pub text_fingerprint: String,
}
