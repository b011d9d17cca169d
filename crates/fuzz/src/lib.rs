//! Fuzzing of every webly reader that takes outside bytes, on the stable toolchain.
//!
//! - [`targets`]: one target per reader (word-vector formats and cache, caption files, tar
//!   shards, parquet and JSON metadata, images, stamps, embedding shards, index folders, the
//!   HTTP API's query strings and uploads), each calling webly's public entry point.
//! - [`mutate`] and [`bundle`]: AFL-style mutations of committed valid seeds
//!   (`crates/fuzz/corpus/<target>/`, written by [`seeds`]); folder inputs are tar bundles.
//! - [`runner`]: runs inputs inside `catch_unwind`, keeps those with a new outcome, and reports
//!   findings (a panic, or an answer that breaks the target's property).
//!
//! The `webly-fuzz` binary (`make fuzz`) adds what a library cannot: a cap on live allocation
//! and a per-input time limit, each saving the input before the process ends. The test of this
//! crate runs every target over its seeds and a fixed number of seeded mutations.
#![deny(missing_docs)]

use std::path::PathBuf;

pub mod bundle;
pub mod mutate;
pub mod runner;
pub mod seeds;
pub mod targets;

pub use runner::{run_one, Finding, Fuzzer, Outcome, Stats};
pub use targets::{find, Layout, Target, TARGETS};

/// The committed seed corpora: `crates/fuzz/corpus/<target>/`.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus")
}
