//! Frozen GloVe word space: caption cleaning, word-vector formats, GloVe training, caption and
//! query embeddings.
//!
//! - [`clean`]: the reference caption/query cleaning rule.
//! - [`WordVectors`] = [`Vocab`] + [`Storage`] (dense or memory-mapped), loaded by
//!   [`WordVectors::load`] from GloVe text, word2vec text or binary (gzip or not, detected by
//!   content), with a binary cache beside the source; one module per format, each reading from
//!   `BufRead`.
//! - [`train_glove`]: the Stanford GloVe tools (vocab_count, cooccur, shuffle, glove) in Rust.
//! - [`Speller`]: warnings for rare and unknown query words, with suggestions.
//! - [`TextSpaceFile`]: a trained model's `text_space.json` (its word space and weighting).
//! - [`TextEmbedder`]: caption and query embeddings (mean or tf-idf weighted), stored
//!   as `.npy`/`.ids` by `webly-io` (as image embeddings are).

#![deny(missing_docs)]
mod atomic;
mod cache;
mod clean;
mod embed;
mod error;
mod format;
mod glove;
mod glove_text;
mod lines;
mod load;
mod space_file;
mod spelling;
use webly_io::progress;
mod storage;
mod vectors;
mod vocab;
mod word2vec_binary;
mod word2vec_text;

pub use cache::{cache_path, CACHE_SUFFIX};
pub use clean::{
    caption_vocabulary, clean, is_stopword, normalize_unicode, EXTRA_STOPWORDS, LATIN_FOLDS,
    MAX_TOKEN_LEN, MIN_TOKEN_LEN, STOPWORDS,
};
pub use embed::{CaptionEmbeddings, Idf, QueryEmbedding, TextEmbedder, Weighting};
pub use error::{Result, TextError};
pub use format::{CacheStatus, Format, LoadOptions, LoadReport, NonUtf8};
pub use glove::{train_glove, Cooc, GloveConfig, TrainStats};
pub use glove_text::{read_glove_text, write_glove_text_to};
pub use lines::MAX_DUPLICATE_EXAMPLES;
pub use load::{detect_format, read_any};
pub use space_file::{TextSpaceFile, WeightingFile, TEXT_SPACE_FILE};
pub use spelling::{
    Speller, WarningKind, WordWarning, MAX_EDIT_DISTANCE, MAX_SUGGESTIONS, RARE_RANK,
};
pub use storage::Storage;
pub use vectors::WordVectors;
pub use vocab::Vocab;
pub use word2vec_binary::{read_word2vec_binary, write_word2vec_binary_to};
pub use word2vec_text::read_word2vec_text;
