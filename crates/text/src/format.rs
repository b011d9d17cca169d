//! The types every word-vector format shares: which [`Format`], how to load ([`LoadOptions`],
//! [`NonUtf8`]) and what a load did ([`LoadReport`], [`CacheStatus`]). This module imports
//! nothing else of the crate: the format readers and writers, the cache and the loader depend
//! on it, never the other way round.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What to do with words whose bytes are not UTF-8 (files written in Latin-1 or another 8-bit
/// encoding by old tools).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonUtf8 {
    /// Refuse the file, naming it and how many words are affected (default; as gensim and
    /// finalfusion do). Replacing bad bytes with U+FFFD would merge distinct words.
    #[default]
    Refuse,
    /// Decode such words as Latin-1: every byte is one character, so distinct words stay
    /// distinct. The report counts them. (Not cached: the cache holds strict loads only.)
    Latin1,
}

/// A word-vector file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// `word v1 .. vD` lines, no header (Stanford GloVe).
    GloveText,
    /// `count dim` header, then text lines.
    Word2VecText,
    /// `count dim` header, then binary records.
    Word2VecBinary,
}

/// How to load a word-vector file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadOptions {
    /// Format; `None` (default) detects it from the content.
    pub format: Option<Format>,
    /// Read and write the binary cache (default `true`).
    pub cache: bool,
    /// Folder for the cache; `None` (default): beside the source, as `<file>.webly-cache`.
    pub cache_dir: Option<PathBuf>,
    /// Check the cache's checksums on reload (default `true`; costs one pass over the mapped
    /// vectors, a few ms for 400k x 50).
    pub verify_cache: bool,
    /// Fail unless the vectors have this dimension (default `None`: any).
    pub expected_dim: Option<usize>,
    /// Bytes of text read per block before parsing it in parallel (default 32 MiB).
    pub block_bytes: usize,
    /// Show a progress bar while parsing (default `true`; hidden when stderr is not a terminal).
    pub progress: bool,
    /// Words that are not UTF-8 (default [`NonUtf8::Refuse`]).
    pub non_utf8: NonUtf8,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            format: None,
            cache: true,
            cache_dir: None,
            verify_cache: true,
            expected_dim: None,
            block_bytes: 32 << 20,
            progress: true,
            non_utf8: NonUtf8::Refuse,
        }
    }
}

/// What happened with the cache during a load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// Caching disabled, or reading from a reader rather than a file.
    Off,
    /// Loaded from this cache (vectors memory-mapped).
    Hit(PathBuf),
    /// No cache existed; parsed the source and wrote this one.
    Written(PathBuf),
    /// The cache was stale or corrupt (reason); parsed the source and rewrote it.
    Rebuilt(PathBuf, String),
    /// Parsed the source but could not write the cache (reason); the load still succeeded.
    WriteFailed(PathBuf, String),
}

/// Facts about a load.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    /// The source format.
    pub format: Format,
    /// Whether the source was gzip-compressed (`false` on a cache hit or a reader).
    pub gzip: bool,
    /// Words kept.
    pub words: usize,
    /// Vector dimension.
    pub dim: usize,
    /// Repeated words dropped (the first occurrence is kept).
    pub duplicates: usize,
    /// Up to [`crate::MAX_DUPLICATE_EXAMPLES`] of the dropped words.
    pub duplicate_examples: Vec<String>,
    /// Words that were not UTF-8 and were decoded as Latin-1 ([`NonUtf8::Latin1`]; a strict
    /// load refuses such files).
    pub non_utf8_words: usize,
    /// Cache outcome.
    pub cache: CacheStatus,
    /// Wall time of the load in seconds.
    pub seconds: f64,
}
