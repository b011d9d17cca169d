//! GloVe training on captions: a Rust port of the Stanford tools (Pennington et al. 2014):
//! `vocab_count` ([`vocab_count`]), `cooccur` ([`cooccur`]), `shuffle` and `glove` ([`train`]).
//!
//! Departures from the C tools, all documented where they happen: parameters are f32 (glove.c
//! uses double); the co-occurrence records are shuffled fully in memory with a seeded RNG
//! (shuffle.c shuffles in memory-sized blocks); no `<unk>` vector is appended to the output;
//! Hogwild updates go through relaxed atomics (no data race, same arithmetic); the bias updates
//! take the learning rate, as GloVe 1.2 did and current glove.c does not (measured in
//! [`train`]'s notes).

mod cooccur;
mod train;
mod vocab_count;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Result, TextError};
use crate::vectors::WordVectors;

pub use cooccur::Cooc;

/// GloVe settings, named as the reference tools' flags. Defaults are glove.c / cooccur.c /
/// vocab_count.c defaults except where noted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GloveConfig {
    /// Vector dimension (`-vector-size`, default 50 as glove.c; the webly paper used 400).
    pub vector_size: usize,
    /// Training iterations (`-iter`, default 25 as glove.c; the webly paper used 30).
    pub iter: usize,
    /// AdaGrad learning rate (`-eta`, default 0.05).
    pub eta: f32,
    /// Weighting cutoff (`-x-max`, default 100).
    pub x_max: f32,
    /// Weighting exponent (`-alpha`, default 0.75).
    pub alpha: f32,
    /// Gradient clipping (`-grad-clip`, default 100).
    pub grad_clip: f32,
    /// Context words on each side (`-window-size`; default 10 as the webly paper, cooccur.c: 15).
    pub window_size: usize,
    /// Count left and right context (`-symmetric`, default true).
    pub symmetric: bool,
    /// Weight a co-occurrence by 1/distance (`-distance-weighting`, default true).
    pub distance_weighting: bool,
    /// Drop words seen fewer times (`-min-count`; default 5 as the webly paper, vocab_count: 1).
    pub min_count: usize,
    /// Keep at most this many most frequent words; 0 = no limit (`-max-vocab`, default 0).
    pub max_vocab: usize,
    /// Saved vectors: 2 = word + context vectors (default, `-model 2`), 1 = word vectors only.
    pub model: u8,
    /// Worker threads; 0 = rayon's default (all cores). 1 with a fixed seed is deterministic.
    pub threads: usize,
    /// Seed of the initialisation and the shuffle (`-seed`, default 1).
    pub seed: u64,
    /// Bound in MiB on the co-occurrence counting buffers (`-memory`, default 1024): above it,
    /// sorted partial counts are spilled to temporary files and merged at the end. The final
    /// merged matrix (12 bytes per non-zero) is held in memory for training. 0 spills after
    /// every batch of shards (for tests).
    pub memory_mb: usize,
    /// Captions counted per parallel task (default 10000).
    pub shard_captions: usize,
    /// Folder of the spill files; `None` (default): the system temporary folder.
    pub temp_dir: Option<PathBuf>,
    /// Show progress bars (default true; hidden when stderr is not a terminal).
    pub progress: bool,
}

impl Default for GloveConfig {
    fn default() -> Self {
        GloveConfig {
            vector_size: 50,
            iter: 25,
            eta: 0.05,
            x_max: 100.0,
            alpha: 0.75,
            grad_clip: 100.0,
            window_size: 10,
            symmetric: true,
            distance_weighting: true,
            min_count: 5,
            max_vocab: 0,
            model: 2,
            threads: 0,
            seed: 1,
            memory_mb: 1024,
            shard_captions: 10_000,
            temp_dir: None,
            progress: true,
        }
    }
}

impl GloveConfig {
    fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(TextError::Config(format!("glove: {m}")));
        if self.vector_size == 0 || self.window_size == 0 || self.shard_captions == 0 {
            return bad("vector_size, window_size and shard_captions must be > 0");
        }
        if !(self.eta > 0.0 && self.x_max > 0.0 && self.alpha > 0.0 && self.grad_clip > 0.0) {
            return bad("eta, x_max, alpha and grad_clip must be > 0");
        }
        if !matches!(self.model, 1 | 2) {
            return bad("model must be 1 (word vectors) or 2 (word + context)");
        }
        Ok(())
    }
}

/// What training did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrainStats {
    /// Tokens in the corpus (all, before the vocabulary filter).
    pub tokens: usize,
    /// Vocabulary size after `min_count` / `max_vocab`.
    pub vocab_size: usize,
    /// Non-zero co-occurrence entries.
    pub cooccurrences: usize,
    /// Spill files written while counting.
    pub spills: usize,
    /// Seconds spent counting vocabulary and co-occurrences.
    pub count_seconds: f64,
    /// Mean weighted cost (0.5 f(x) (w.c + b + b' - log x)^2) of each iteration.
    pub costs: Vec<f64>,
    /// Seconds of each iteration.
    pub iter_seconds: Vec<f64>,
}

/// Trains GloVe on tokenised captions (each caption is its own context: windows do not cross
/// captions, as cooccur.c does not cross lines).
pub fn train_glove(cfg: &GloveConfig, corpus: &[Vec<String>]) -> Result<(WordVectors, TrainStats)> {
    cfg.validate()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .map_err(|e| TextError::Config(format!("glove: thread pool: {e}")))?;
    pool.install(|| run(cfg, corpus))
}

fn run(cfg: &GloveConfig, corpus: &[Vec<String>]) -> Result<(WordVectors, TrainStats)> {
    let t0 = std::time::Instant::now();
    let vocab = vocab_count::count(corpus, cfg.min_count, cfg.max_vocab);
    if vocab.words.is_empty() {
        return Err(TextError::Config(format!(
            "glove: no word occurs at least min_count = {} times",
            cfg.min_count
        )));
    }
    let counted = cooccur::count(cfg, corpus, &vocab)?;
    let mut stats = TrainStats {
        tokens: vocab.tokens,
        vocab_size: vocab.words.len(),
        cooccurrences: counted.records.len(),
        spills: counted.spills,
        count_seconds: t0.elapsed().as_secs_f64(),
        ..TrainStats::default()
    };
    let data = train::train(cfg, vocab.words.len(), counted.records, &mut stats);
    let v = WordVectors::from_parts(vocab.words, data, cfg.vector_size)?;
    Ok((v, stats))
}
