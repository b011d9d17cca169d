//! Stage 2: the frozen word space (loaded, or GloVe trained on the training captions) and the
//! caption embeddings of every split, as `.npy` + `.ids` files in `run_dir/text/`.
use std::path::{Path, PathBuf};

use webly_data::{Dataset, Split};
use webly_text::{
    clean, read_ids, read_matrix, train_glove, write_ids, write_matrix, Idf, LoadOptions,
    TextEmbedder, Weighting, WordVectors,
};

use crate::config::{RunConfig, WeightingKind};
use crate::error::{PipelineError, Result};
use crate::stamp;

/// The table of the vectors file's signature (see [`stamp::content_signature`]).
const VECTOR_SIGNATURES_FILE: &str = "data/vector_signatures.tsv";

/// The splits whose captions are embedded.
pub const SPLITS: [Split; 3] = [Split::Train, Split::Val, Split::Test];

/// The word space with its caption embedder, and where the caption embeddings are.
pub struct TextSpace {
    pub embedder: TextEmbedder,
    pub dir: PathBuf,
    pub stamp: String,
}

/// Caption embeddings of one split: keys, then an `n x dim` row-major matrix.
pub struct CaptionMatrix {
    pub keys: Vec<String>,
    pub matrix: Vec<f32>,
    pub dim: usize,
}

impl TextSpace {
    /// The folder of the text stage of a run.
    pub fn dir_of(cfg: &RunConfig) -> PathBuf {
        cfg.run_dir.join("text")
    }

    /// The `.npy` file of a split's caption embeddings (its `.ids` file is beside it).
    pub fn captions_path(&self, split: Split) -> PathBuf {
        self.dir.join(format!("captions_{split}.npy"))
    }

    /// Reads a split's caption embeddings back.
    pub fn captions(&self, split: Split) -> Result<CaptionMatrix> {
        let path = self.captions_path(split);
        let (matrix, rows, dim) = read_matrix(&path)?;
        let keys = read_ids(&path.with_extension("ids"))?;
        if keys.len() != rows {
            return Err(PipelineError::Invalid(format!(
                "{}: {rows} rows but {} ids beside it",
                path.display(),
                keys.len()
            )));
        }
        Ok(CaptionMatrix { keys, matrix, dim })
    }
}

/// Builds (or reuses) the text space of a run.
pub fn prepare(cfg: &RunConfig, dataset: &Dataset, data_stamp: &str) -> Result<TextSpace> {
    let (space, fresh) = space(cfg, dataset, data_stamp, false)?;
    if fresh {
        eprintln!(
            "[text] reusing caption embeddings in {}",
            space.dir.display()
        );
    } else {
        let outputs = output_files(cfg);
        let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
        stamp::clear(&space.dir)?;
        embed_splits(&space, dataset)?;
        stamp::write(&space.dir, &space.stamp, &outputs)?;
    }
    Ok(space)
}

/// The text space of a run without embedding any caption (`webly text embed --shard`): the
/// word vectors (GloVe trained on the captions only when the stage already trained them:
/// shard tasks never train), the weighting, and the stage's fingerprint.
///
/// # Errors
/// [`PipelineError::Missing`] when the run trains GloVe and the stage has not run yet.
pub fn embedder_only(cfg: &RunConfig, dataset: &Dataset, data_stamp: &str) -> Result<TextSpace> {
    if cfg.text.glove.is_some() {
        let dir = TextSpace::dir_of(cfg);
        let fresh = stamp::is_fresh(&dir, &inputs(cfg, data_stamp)?, &[TRAINED_GLOVE]);
        if !fresh {
            return Err(PipelineError::Missing {
                what: "GloVe vectors trained on this run's captions",
                path: dir.join(TRAINED_GLOVE),
                hint: "webly text train".into(),
            });
        }
    }
    Ok(space(cfg, dataset, data_stamp, true)?.0)
}

/// The fingerprint of the text stage's inputs: its config, the data, the vectors file's content.
fn inputs(cfg: &RunConfig, data_stamp: &str) -> Result<String> {
    // The vectors file's content too: one replaced in place under the same name is seen.
    let vectors_file = match (&cfg.text.glove, &cfg.text.vectors) {
        (None, Some(p)) => vec![p.clone()],
        _ => Vec::new(),
    };
    let table = cfg.run_dir.join(VECTOR_SIGNATURES_FILE);
    let vectors_sig = stamp::content_signature(&vectors_file, &table)?;
    stamp::fingerprint(&(&cfg.text, data_stamp, vectors_sig))
}

/// The embedder and stamp of the text stage, and whether its caption embeddings are fresh.
/// `glove_checked`: GloVe trained on the captions is known to be there for these inputs (never
/// trained again).
fn space(
    cfg: &RunConfig,
    dataset: &Dataset,
    data_stamp: &str,
    glove_checked: bool,
) -> Result<(TextSpace, bool)> {
    let dir = TextSpace::dir_of(cfg);
    let inputs = inputs(cfg, data_stamp)?;
    let outputs = output_files(cfg);
    let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let fresh = stamp::is_fresh(&dir, &inputs, &outputs);
    let train_tokens: Vec<Vec<String>> = dataset
        .split(Split::Train)
        .iter()
        .map(|item| clean(&item.caption))
        .collect();
    let vectors = word_vectors(cfg, &dir, &train_tokens, fresh || glove_checked)?;
    let weighting = match cfg.text.weighting {
        WeightingKind::Mean => Weighting::Mean,
        WeightingKind::TfIdf => Weighting::TfIdf(Idf::fit(&train_tokens)),
    };
    let embedder = TextEmbedder::new(vectors, weighting);
    let space = TextSpace {
        embedder,
        dir,
        stamp: inputs,
    };
    Ok((space, fresh))
}

/// The files of the text stage (names in its folder): each split's caption embeddings, and
/// the GloVe vectors trained on the captions when the run trains them.
fn output_files(cfg: &RunConfig) -> Vec<String> {
    let mut files: Vec<String> = SPLITS
        .iter()
        .flat_map(|s| [format!("captions_{s}.npy"), format!("captions_{s}.ids")])
        .collect();
    if cfg.text.glove.is_some() {
        files.push(TRAINED_GLOVE.to_string());
    }
    files
}

/// GloVe vectors trained on the training captions, in the stage folder.
const TRAINED_GLOVE: &str = "glove.txt";

/// Pretrained vectors, or GloVe trained on the training captions (kept in the stage folder).
fn word_vectors(
    cfg: &RunConfig,
    dir: &Path,
    train_tokens: &[Vec<String>],
    fresh: bool,
) -> Result<WordVectors> {
    let trained = dir.join(TRAINED_GLOVE);
    let path = match (&cfg.text.glove, &cfg.text.vectors) {
        (Some(glove), _) => {
            if !(fresh && trained.exists()) {
                eprintln!(
                    "[text] training GloVe on {} training captions",
                    train_tokens.len()
                );
                let (vectors, _stats) = train_glove(glove, train_tokens)?;
                std::fs::create_dir_all(dir).map_err(PipelineError::io("creating", dir))?;
                vectors.write_glove_text(&trained)?;
            }
            trained
        }
        (None, Some(path)) => path.clone(),
        (None, None) => {
            return Err(PipelineError::Invalid(
                "[text] needs `vectors` or a [text.glove] table".into(),
            ))
        }
    };
    let opts = LoadOptions {
        non_utf8: cfg.text.non_utf8,
        ..LoadOptions::default()
    };
    let (vectors, report) = WordVectors::load(&path, &opts)?;
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
        write_ids(&path.with_extension("ids"), &emb.keys)?;
    }
    Ok(())
}
