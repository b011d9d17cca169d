//! Stage 2: the frozen word space (loaded, or GloVe trained on the training captions) and the
//! caption embeddings of every split, as `.npy` + `.ids` files in `run_dir/text/`.
use std::path::{Path, PathBuf};

use webly_data::{Dataset, Split};
use webly_io::{ids_path, read_ids, read_matrix, write_ids, write_matrix};
use webly_text::{clean, train_glove, Idf, LoadOptions, TextEmbedder, Weighting, WordVectors};

use crate::config::{RunConfig, WeightingKind};
use crate::error::{PipelineError, Result};
use crate::layout::{RunLayout, TrainsGlove};
use crate::stamp;

/// The splits whose captions are embedded.
pub const SPLITS: [Split; 3] = [Split::Train, Split::Val, Split::Test];

/// The word space with its caption embedder, and where the caption embeddings are.
pub struct TextSpace {
    /// Embeds captions and queries into the word space.
    pub embedder: TextEmbedder,
    /// The text stage's folder.
    pub dir: PathBuf,
    /// Fingerprint of the text stage's inputs (what trained models depend on).
    pub stamp: String,
    layout: RunLayout,
}

/// Caption embeddings of one split: keys, then an `n x dim` row-major matrix.
pub struct CaptionMatrix {
    /// Keys of the captions embedded, one per row.
    pub keys: Vec<String>,
    /// `keys.len() x dim` values, row-major.
    pub matrix: Vec<f32>,
    /// The word space's dimension.
    pub dim: usize,
}

impl TextSpace {
    /// The `.npy` file of a split's caption embeddings (its `.ids` file is beside it).
    pub fn captions_path(&self, split: Split) -> PathBuf {
        self.layout.caption_embeddings(split)
    }

    /// Reads a split's caption embeddings back.
    pub fn captions(&self, split: Split) -> Result<CaptionMatrix> {
        let path = self.captions_path(split);
        let (matrix, rows, dim) = read_matrix(&path)?;
        let keys = read_ids(&ids_path(&path))?;
        if keys.len() != rows {
            return Err(PipelineError::Mismatch(format!(
                "{}: {rows} rows but {} ids beside it",
                path.display(),
                keys.len()
            )));
        }
        Ok(CaptionMatrix { keys, matrix, dim })
    }
}

/// The word space of a finished run, without running its text stage: the pretrained vectors
/// file, or the GloVe vectors the run trained; the caption weighting fitted on the training
/// captions. For the commands that read a run (no caption embeddings are written).
///
/// # Errors
/// [`PipelineError::Missing`] when the run trains GloVe and its vectors are not there; the
/// vectors file's own errors (naming it).
pub fn open_existing(cfg: &RunConfig, dataset: &Dataset) -> Result<TextSpace> {
    let layout = cfg.layout();
    let path = match (&cfg.text.glove, &cfg.text.vectors) {
        (Some(_), _) => {
            let trained = layout.trained_glove();
            if !trained.exists() {
                return Err(PipelineError::Missing {
                    what: "the GloVe vectors trained on the captions",
                    path: trained,
                    hint: crate::data_stage::MAKES_DATA_AND_TEXT.into(),
                });
            }
            trained
        }
        (None, Some(p)) => p.clone(),
        (None, None) => return Err(no_vectors()),
    };
    let train_tokens = train_tokens(dataset);
    let vectors = load_vectors(cfg, &path)?;
    Ok(TextSpace {
        embedder: TextEmbedder::new(vectors, weighting(cfg, &train_tokens)),
        dir: layout.text_dir(),
        stamp: stamp::read(&layout.text_dir()).unwrap_or_default(),
        layout,
    })
}

/// The word vectors file of a run: the pretrained file, or the GloVe vectors the run trains.
///
/// # Errors
/// [`PipelineError::Setting`] when `[text]` names neither.
pub fn vectors_file(cfg: &RunConfig) -> Result<PathBuf> {
    match (&cfg.text.glove, &cfg.text.vectors) {
        (Some(_), _) => Ok(cfg.layout().trained_glove()),
        (None, Some(p)) => Ok(p.clone()),
        (None, None) => Err(no_vectors()),
    }
}

fn no_vectors() -> PipelineError {
    PipelineError::Setting("[text] needs `vectors` or a [text.glove] table".into())
}

/// The cleaned words of each training caption.
fn train_tokens(dataset: &Dataset) -> Vec<Vec<String>> {
    dataset
        .split(Split::Train)
        .iter()
        .map(|item| clean(&item.caption))
        .collect()
}

/// The caption weighting of the config, fitted on the training captions.
fn weighting(cfg: &RunConfig, train_tokens: &[Vec<String>]) -> Weighting {
    match cfg.text.weighting {
        WeightingKind::Mean => Weighting::Mean,
        WeightingKind::TfIdf => Weighting::TfIdf(Idf::fit(train_tokens)),
    }
}

/// Builds (or reuses) the text space of a run.
pub fn prepare(cfg: &RunConfig, dataset: &Dataset, data_stamp: &str) -> Result<TextSpace> {
    let layout = cfg.layout();
    let dir = layout.text_dir();
    // The vectors file's content too: one replaced in place under the same name is seen.
    let vectors_file = match (&cfg.text.glove, &cfg.text.vectors) {
        (None, Some(p)) => vec![p.clone()],
        _ => Vec::new(),
    };
    let table = layout.vector_signatures();
    let vectors_sig = stamp::content_signature(&vectors_file, &table)?;
    let inputs = stamp::fingerprint(&(&cfg.text, data_stamp, vectors_sig))?;
    let outputs = output_files(cfg);
    let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let fresh = stamp::is_fresh(&dir, &inputs, &outputs);
    let train_tokens = train_tokens(dataset);
    let vectors = word_vectors(cfg, &layout, &train_tokens, fresh)?;
    let embedder = TextEmbedder::new(vectors, weighting(cfg, &train_tokens));
    let space = TextSpace {
        embedder,
        dir,
        stamp: inputs.clone(),
        layout,
    };
    if fresh {
        eprintln!(
            "[text] reusing caption embeddings in {}",
            space.dir.display()
        );
    } else {
        stamp::clear(&space.dir)?;
        embed_splits(&space, dataset)?;
        stamp::write(&space.dir, &inputs, &outputs)?;
    }
    Ok(space)
}

/// Checks that the text stage of a run finished and its caption embeddings verify.
///
/// # Errors
/// [`PipelineError::Missing`] without the stage's stamp, [`PipelineError::Damaged`] naming a
/// damaged file; both name `webly text embed`.
pub fn verify_captions(cfg: &RunConfig) -> Result<()> {
    let outputs = output_files(cfg);
    let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let dir = cfg.layout().text_dir();
    stamp::verified(
        &dir,
        &outputs,
        "the caption embeddings",
        crate::data_stage::MAKES_DATA_AND_TEXT,
    )
    .map(|_| ())
}

/// The files of the text stage (names in its folder): each split's caption embeddings, and
/// the GloVe vectors trained on the captions when the run trains them.
fn output_files(cfg: &RunConfig) -> Vec<String> {
    let glove = match cfg.text.glove {
        Some(_) => TrainsGlove::Yes,
        None => TrainsGlove::No,
    };
    RunLayout::text_files(&SPLITS, glove)
}

/// Pretrained vectors, or GloVe trained on the training captions (kept in the stage folder).
fn word_vectors(
    cfg: &RunConfig,
    layout: &RunLayout,
    train_tokens: &[Vec<String>],
    fresh: bool,
) -> Result<WordVectors> {
    let dir = layout.text_dir();
    let trained = layout.trained_glove();
    let path = match (&cfg.text.glove, &cfg.text.vectors) {
        (Some(glove), _) => {
            if !(fresh && trained.exists()) {
                eprintln!(
                    "[text] training GloVe on {} training captions",
                    train_tokens.len()
                );
                let (vectors, _stats) = train_glove(glove, train_tokens)?;
                std::fs::create_dir_all(&dir).map_err(PipelineError::io("creating", &dir))?;
                vectors.write_glove_text(&trained)?;
            }
            trained
        }
        (None, Some(path)) => path.clone(),
        (None, None) => return Err(no_vectors()),
    };
    load_vectors(cfg, &path)
}

/// Loads a vectors file with the config's `non_utf8` policy, printing what was read.
fn load_vectors(cfg: &RunConfig, path: &Path) -> Result<WordVectors> {
    let opts = LoadOptions {
        non_utf8: cfg.text.non_utf8,
        ..LoadOptions::default()
    };
    let (vectors, report) = WordVectors::load(path, &opts)?;
    eprintln!("[text] {}: {report}", path.display());
    Ok(vectors)
}

/// Embeds every split's captions; captions without a known word are reported and left out.
fn embed_splits(space: &TextSpace, dataset: &Dataset) -> Result<()> {
    for split in SPLITS {
        let items = dataset.split(split);
        let pairs: Vec<(String, String)> = items
            .iter()
            .map(|i| (i.key.clone(), i.caption.clone()))
            .collect();
        let emb = space.embedder.embed_captions(pairs);
        eprintln!(
            "[text] {split}: {} captions embedded, {} without a known word left out",
            emb.keys.len(),
            emb.skipped.len()
        );
        let path = space.captions_path(split);
        write_matrix(&path, emb.keys.len(), emb.dim, &emb.matrix)?;
        write_ids(&ids_path(&path), &emb.keys)?;
    }
    Ok(())
}
