//! `text_space.json`, the word space of a trained model as its folder records it: which vectors
//! file queries come from, its fingerprint and the caption weighting. Written by the pipeline's
//! training stage; read by collections, `webly serve` and the Python package, none of which needs
//! the run's config.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Idf, LoadOptions, NonUtf8, Result, TextEmbedder, Weighting, WordVectors};

/// The word space's file name in a model folder.
pub const TEXT_SPACE_FILE: &str = "text_space.json";

/// `text_space.json`: where the model's word space is and how captions and queries are
/// combined in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSpaceFile {
    /// The word vectors file, absolute (pretrained, or the GloVe vectors the run trained).
    pub vectors: PathBuf,
    /// How its non-UTF-8 words are read.
    pub non_utf8: NonUtf8,
    /// Dimension of the space.
    pub dim: usize,
    /// `TextEmbedder::fingerprint` of the space with its weighting: a vectors file that no
    /// longer matches is refused.
    pub fingerprint: String,
    /// The caption weighting (with the idf table fitted on the training captions).
    pub weighting: WeightingFile,
    /// Whether the vectors are GloVe trained on the training captions (ranked by caption count)
    /// rather than a pretrained file (ranked by corpus frequency).
    #[serde(default)]
    pub trained_on_captions: bool,
}

/// A [`Weighting`] as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightingFile {
    /// The plain mean.
    Mean,
    /// The tf-idf weighted mean.
    Tfidf(Idf),
}

impl From<&Weighting> for WeightingFile {
    fn from(w: &Weighting) -> Self {
        match w {
            Weighting::Mean => WeightingFile::Mean,
            Weighting::TfIdf(idf) => WeightingFile::Tfidf(idf.clone()),
        }
    }
}

impl From<WeightingFile> for Weighting {
    fn from(w: WeightingFile) -> Self {
        match w {
            WeightingFile::Mean => Weighting::Mean,
            WeightingFile::Tfidf(idf) => Weighting::TfIdf(idf),
        }
    }
}

impl TextSpaceFile {
    /// Loads the word space with its weighting, not yet checked against the recorded
    /// fingerprint ([`TextSpaceFile::check`]).
    ///
    /// # Errors
    /// The vectors file's own errors, naming it.
    pub fn load_embedder(&self) -> Result<TextEmbedder> {
        let opts = LoadOptions {
            non_utf8: self.non_utf8,
            ..LoadOptions::default()
        };
        let (vectors, _) = WordVectors::load(&self.vectors, &opts)?;
        Ok(TextEmbedder::new(vectors, self.weighting.clone().into()))
    }

    /// Checks that `embedder` is the word space the model in `model_dir` was trained with.
    ///
    /// # Errors
    /// The message naming both fingerprints when the vectors file was replaced.
    pub fn check(
        &self,
        embedder: &TextEmbedder,
        model_dir: &Path,
    ) -> std::result::Result<(), String> {
        let found = embedder.fingerprint();
        if found == self.fingerprint {
            return Ok(());
        }
        Err(format!(
            "{}: the word space has fingerprint {found}, but the model in {} was trained with {}: \
             the vectors file was replaced",
            self.vectors.display(),
            model_dir.display(),
            self.fingerprint
        ))
    }
}
