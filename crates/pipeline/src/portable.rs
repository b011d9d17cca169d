//! A model folder that travels: besides its weights (`best.safetensors`) and `model.json`
//! (architecture and preprocessing), training leaves `text_space.json` (which word space queries
//! come from, its fingerprint and the caption weighting) and `vocabulary.txt` (the words `tag`
//! draws from), so a collection can use the model from any working folder without the run's
//! config or dataset ([`PortableModel`]).
use std::path::{Path, PathBuf};

use webly_text::TextEmbedder;

use crate::context::Context;
use crate::error::{PipelineError, Result};
use crate::fsio::write_atomic;

/// `text_space.json` lives in webly-text (the Python package reads it without libtorch).
pub use webly_text::{TextSpaceFile, WeightingFile, TEXT_SPACE_FILE};

/// A word must occur this often in the training captions to be offered as a tag: the whole
/// GloVe vocabulary (400K words, most of them rare names and web tokens) buries the concepts.
pub const TAG_MIN_COUNT: usize = 5;

/// The tag vocabulary of a model (one word per line), in its folder.
pub const VOCABULARY_FILE: &str = "vocabulary.txt";

/// Writes (or refreshes) the portable files of a trained model in `model_dir`: the run's word
/// space and the training captions' words used at least [`TAG_MIN_COUNT`] times. Each file is
/// written atomically, and only when its content changes.
///
/// # Errors
/// I/O errors naming the file; a vectors path that cannot be made absolute.
pub fn write_portable(ctx: &Context, model_dir: &Path) -> Result<()> {
    let vectors = crate::text_stage::vectors_file(ctx.cfg)?;
    let vectors = std::path::absolute(&vectors)
        .map_err(PipelineError::io("resolving the vectors path", &vectors))?;
    let embedder = &ctx.text.embedder;
    let space = TextSpaceFile {
        vectors,
        non_utf8: ctx.cfg.text.non_utf8,
        dim: embedder.dim(),
        fingerprint: embedder.fingerprint(),
        weighting: WeightingFile::from(&embedder.weighting),
        trained_on_captions: ctx.cfg.text.glove.is_some(),
    };
    let json = serde_json::to_vec_pretty(&space).map_err(|source| PipelineError::Json {
        what: format!("the word space of {}", model_dir.display()),
        source,
    })?;
    let train = ctx.data.dataset.split(webly_data::Split::Train);
    let words = webly_text::caption_vocabulary(
        train.iter().map(|item| item.caption.as_str()),
        TAG_MIN_COUNT,
    );
    let mut vocabulary = words.join("\n");
    vocabulary.push('\n');
    for (name, bytes) in [
        (TEXT_SPACE_FILE, json),
        (VOCABULARY_FILE, vocabulary.into_bytes()),
    ] {
        let path = model_dir.join(name);
        if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            write_atomic(&path, &bytes)?;
        }
    }
    Ok(())
}

/// A finished model opened from its folder alone (any working folder): what a collection needs.
#[derive(Debug, Clone)]
pub struct PortableModel {
    /// The model folder, absolute.
    pub dir: PathBuf,
    /// Its word space.
    pub text: TextSpaceFile,
    /// Its tag words.
    pub vocabulary: Vec<String>,
    /// Content checksum of its weights and `model.json`: changes when the model is retrained.
    pub fingerprint: String,
}

impl PortableModel {
    /// Opens the model folder `dir`: a finished training (verified against its stamp) with its
    /// portable files.
    ///
    /// # Errors
    /// [`PipelineError::Missing`] naming the folder and `webly train` when it holds no finished
    /// training or lacks the portable files (trained before they existed: `webly train` with
    /// the same settings reuses the training and writes them); [`PipelineError::Damaged`];
    /// [`PipelineError::Json`] naming a damaged `text_space.json`.
    pub fn open(dir: &Path) -> Result<Self> {
        let dir = std::path::absolute(dir).map_err(PipelineError::io("resolving", dir))?;
        if dir.is_dir() && !dir.join(webly_encoder::MODEL).exists() {
            return Err(not_a_model_folder(&dir));
        }
        crate::train_stage::verified_training(&dir)?;
        let read = |name: &str| -> Result<Vec<u8>> {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => PipelineError::Missing {
                    what: "a file that training now writes beside the weights (the model was \
                           trained before; `webly train` reuses the finished training and adds it)",
                    path: path.clone(),
                    hint: format!(
                        "webly train --config ITS_RUN_CONFIG --model {}",
                        dir.file_name()
                            .map_or_else(|| "NAME".into(), |n| n.to_string_lossy().into_owned())
                    ),
                },
                _ => PipelineError::io("reading", &path)(e),
            })
        };
        let space_path = dir.join(TEXT_SPACE_FILE);
        let text: TextSpaceFile =
            serde_json::from_slice(&read(TEXT_SPACE_FILE)?).map_err(|source| {
                PipelineError::Json {
                    what: space_path.display().to_string(),
                    source,
                }
            })?;
        let vocabulary = String::from_utf8_lossy(&read(VOCABULARY_FILE)?)
            .lines()
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        let fingerprint = model_fingerprint(&dir)?;
        Ok(PortableModel {
            dir,
            text,
            vocabulary,
            fingerprint,
        })
    }

    /// Loads the word space and checks it is the one the model was trained with.
    ///
    /// # Errors
    /// The vectors file's own errors (naming it); [`PipelineError::Mismatch`] when its
    /// fingerprint is not the recorded one (the file was replaced).
    pub fn embedder(&self) -> Result<TextEmbedder> {
        let embedder = self.text.load_embedder()?;
        self.text
            .check(&embedder, &self.dir)
            .map_err(PipelineError::Mismatch)?;
        Ok(embedder)
    }

    /// The model's name: its folder's name.
    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned())
    }
}

/// A folder without `model.json`: the models under it, if it holds some (a run's `models/`).
fn not_a_model_folder(dir: &Path) -> PipelineError {
    let mut models: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().join(webly_encoder::MODEL).exists())
                .map(|e| e.path().display().to_string())
                .collect()
        })
        .unwrap_or_default();
    models.sort();
    let hint = match models.is_empty() {
        true => "give a trained model's folder, e.g. runs/demo/models/triplet".to_string(),
        false => format!("its model folders: {}", models.join(", ")),
    };
    PipelineError::Usage(format!(
        "{} is not a model folder (no {}): {hint}",
        dir.display(),
        webly_encoder::MODEL
    ))
}

/// Checksums of the files a trained model is loaded from (weights and `model.json`).
pub fn model_fingerprint(dir: &Path) -> Result<String> {
    let sums = webly_io::checksums(dir, &crate::train_stage::TRAINED_FILES)
        .map_err(PipelineError::io("checksumming the model in", dir))?;
    Ok(sums.into_values().collect::<Vec<_>>().join("+"))
}
