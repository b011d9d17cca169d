//! The run folder's layout: the one place that spells where each stage's files go under a run
//! config's `run_dir` ([`crate::RunConfig::layout`]). Every other module (and every library
//! crate) is handed paths from here. This module imports no other module of the crate but the
//! error.
//!
//! ```text
//! <run_dir>/
//!   comparison.md                    `webly run`'s table of every model
//!   data/image_signatures.tsv        signatures of the dataset's files (see stamp.rs)
//!   data/vector_signatures.tsv       signature of the word vectors file
//!   text/                            the text stage: captions_<split>.npy + .ids, glove.txt
//!   features/<fingerprint>/          activation caches of frozen backbones (webly_encoder)
//!   models/<name>/                   a trained model (webly_encoder's files)
//!     embed/<split>.npy + .ids       the embed stage
//!     export/<split>.npy + .ids      splits other than test embedded by `webly export`
//!     index/                         the HNSW index (webly_index's files)
//!     eval/{captions,truth}/         reports per relevance (webly_eval's files)
//!     eval/gallery.html              the gallery of the run's queries
//! ```
use std::path::{Path, PathBuf};

use webly_data::Split;

use crate::error::{PipelineError, Result};

/// Folder of the trained models, under the run folder.
const MODELS: &str = "models";
/// Folder of the text stage, under the run folder.
const TEXT: &str = "text";
/// Folder of the activation caches, under the run folder.
const FEATURES: &str = "features";
/// Folder of the signature tables, under the run folder.
const SIGNATURES: &str = "data";
/// Folder of the embed stage, under a model's folder.
const EMBED: &str = "embed";
/// Folder of `webly export`'s embeddings of splits other than test, under a model's folder.
const EXPORT: &str = "export";
/// Folder of the index, under a model's folder.
const INDEX: &str = "index";
/// Folder of the evaluation, under a model's folder.
const EVAL: &str = "eval";

/// Where every stage of one run writes (see the module docs for the tree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLayout {
    root: PathBuf,
}

impl RunLayout {
    /// The layout of the run folder `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        RunLayout { root: root.into() }
    }

    /// The run folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `comparison.md`: the table `webly run` writes.
    pub fn comparison(&self) -> PathBuf {
        self.root.join("comparison.md")
    }

    /// The table of the dataset files' signatures (see `stamp::content_signature`).
    pub fn image_signatures(&self) -> PathBuf {
        self.root.join(SIGNATURES).join("image_signatures.tsv")
    }

    /// The table of the word vectors file's signature.
    pub fn vector_signatures(&self) -> PathBuf {
        self.root.join(SIGNATURES).join("vector_signatures.tsv")
    }

    /// The text stage's folder.
    pub fn text_dir(&self) -> PathBuf {
        self.root.join(TEXT)
    }

    /// A split's caption embeddings (`.npy`; the `.ids` file is beside it).
    pub fn caption_embeddings(&self, split: Split) -> PathBuf {
        self.text_dir().join(caption_file(split, "npy"))
    }

    /// GloVe vectors trained on the training captions (runs with a `[text.glove]` table).
    pub fn trained_glove(&self) -> PathBuf {
        self.text_dir().join(TRAINED_GLOVE)
    }

    /// The files of the text stage, named inside [`RunLayout::text_dir`] (what its stamp
    /// vouches for): each split's caption embeddings, and the trained GloVe vectors when the
    /// run trains them.
    pub fn text_files(splits: &[Split], trains_glove: TrainsGlove) -> Vec<String> {
        let mut files: Vec<String> = splits
            .iter()
            .flat_map(|&s| [caption_file(s, "npy"), caption_file(s, "ids")])
            .collect();
        if trains_glove == TrainsGlove::Yes {
            files.push(TRAINED_GLOVE.to_string());
        }
        files
    }

    /// The activation caches' folder, shared by the models of the run.
    pub fn features_dir(&self) -> PathBuf {
        self.root.join(FEATURES)
    }

    /// The folder that holds every model's folder.
    pub fn models_dir(&self) -> PathBuf {
        self.root.join(MODELS)
    }

    /// The folder of the model `name`.
    ///
    /// # Errors
    /// [`PipelineError::Setting`] for a name that is not a plain folder name (see
    /// [`check_model_name`]): it could point outside the run folder.
    pub fn model(&self, name: &str) -> Result<ModelLayout> {
        check_model_name(name).map_err(PipelineError::Setting)?;
        Ok(ModelLayout {
            dir: self.models_dir().join(name),
        })
    }
}

/// Whether the text stage trains GloVe (and so keeps `glove.txt` among its files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainsGlove {
    /// The run trains GloVe on its captions.
    Yes,
    /// The run loads pretrained vectors.
    No,
}

/// GloVe vectors trained on the training captions, in the text folder.
const TRAINED_GLOVE: &str = "glove.txt";

fn caption_file(split: Split, ext: &str) -> String {
    format!("captions_{split}.{ext}")
}

/// A model name is a folder name under `models/`: letters, digits, `-` and `_` only, not empty.
///
/// # Errors
/// The message to show, naming the model.
pub fn check_model_name(name: &str) -> std::result::Result<(), String> {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    match plain {
        true => Ok(()),
        false => Err(format!(
            "model name {name:?}: use letters, digits, '-' and '_' only"
        )),
    }
}

/// Where one model's stages write: `<run_dir>/models/<name>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelLayout {
    dir: PathBuf,
}

/// The relevance a report judges by, each in its own folder under `eval/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// An image is relevant when its caption holds every query word.
    Captions,
    /// An image is relevant when the ground truth says it shows every query concept.
    Truth,
}

impl ReportKind {
    /// Both kinds, in the order reports are listed.
    pub const ALL: [ReportKind; 2] = [ReportKind::Captions, ReportKind::Truth];

    fn folder(self) -> &'static str {
        match self {
            ReportKind::Captions => "captions",
            ReportKind::Truth => "truth",
        }
    }
}

impl ModelLayout {
    /// The layout of a model folder given as is (a folder a user names, e.g. to compare it).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        ModelLayout { dir: dir.into() }
    }

    /// The model's folder: the trained model's own files (`webly_encoder`) and the stamp.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The embed stage's folder.
    pub fn embed_dir(&self) -> PathBuf {
        self.dir.join(EMBED)
    }

    /// A split's embeddings from the embed stage (`.npy`; the `.ids` file is beside it).
    pub fn embeddings(&self, split: Split) -> PathBuf {
        self.embed_dir().join(format!("{split}.npy"))
    }

    /// The embed stage's files, named inside [`ModelLayout::embed_dir`]: a split's `.npy` and
    /// `.ids`.
    pub fn embed_files(split: Split) -> [String; 2] {
        [format!("{split}.npy"), format!("{split}.ids")]
    }

    /// Where `webly export` embeds a split other than test (`.npy` + `.ids`).
    pub fn export_embeddings(&self, split: Split) -> PathBuf {
        self.dir.join(EXPORT).join(format!("{split}.npy"))
    }

    /// The HNSW index's folder.
    pub fn index_dir(&self) -> PathBuf {
        self.dir.join(INDEX)
    }

    /// The evaluation's folder.
    pub fn eval_dir(&self) -> PathBuf {
        self.dir.join(EVAL)
    }

    /// The folder of the reports judged by `kind`.
    pub fn reports(&self, kind: ReportKind) -> PathBuf {
        self.eval_dir().join(kind.folder())
    }

    /// The gallery page of the run's queries.
    pub fn gallery(&self) -> PathBuf {
        self.eval_dir().join("gallery.html")
    }
}

/// The report folders under `p` (holding `report_json`): `p` itself, a model folder's
/// `eval/{captions,truth}`, or those of every model of a run folder, models in name order.
pub fn report_dirs(p: &Path, report_json: &str) -> Vec<PathBuf> {
    let model = ModelLayout::at(p);
    let candidates = std::iter::once(p.to_path_buf())
        .chain(ReportKind::ALL.into_iter().map(|k| model.reports(k)));
    let mut found: Vec<PathBuf> = candidates
        .filter(|d| d.join(report_json).exists())
        .collect();
    if found.is_empty() {
        if let Ok(entries) = std::fs::read_dir(RunLayout::new(p).models_dir()) {
            let mut models: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            models.sort();
            for m in models {
                found.extend(report_dirs(&m, report_json));
            }
        }
    }
    found
}

/// The row name of a report folder in a comparison: `<run>: <model> (<relevance>)` for a run's
/// `models/<model>/eval/<relevance>` folder, `<model> (<relevance>)` for another
/// `<model>/eval/<relevance>` folder, else the folder's name.
pub fn report_label(dir: &Path) -> String {
    let names: Vec<String> = dir
        .components()
        .rev()
        .take(3)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let label = match names.as_slice() {
        [relevance, eval, model] if eval == EVAL => format!("{model} ({relevance})"),
        [last, ..] => return last.clone(),
        [] => return dir.display().to_string(),
    };
    match run_of_eval_dir(dir) {
        Some(run) => format!("{run}: {label}"),
        None => label,
    }
}

/// The run folder's name of a `<run>/models/<model>/eval/<relevance>` folder.
fn run_of_eval_dir(dir: &Path) -> Option<String> {
    let models = dir.ancestors().nth(3)?;
    if models.file_name()? != MODELS {
        return None;
    }
    let run = models.parent()?;
    run.canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| run.file_name().map(|n| n.to_string_lossy().into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_lies_under_the_run_root_and_round_trips() {
        let run = RunLayout::new("runs/demo");
        let m = run.model("triplet-2_b").expect("a plain name");
        let paths = [
            run.comparison(),
            run.image_signatures(),
            run.vector_signatures(),
            run.text_dir(),
            run.caption_embeddings(Split::Val),
            run.trained_glove(),
            run.features_dir(),
            m.dir().to_path_buf(),
            m.embeddings(Split::Test),
            m.export_embeddings(Split::Train),
            m.index_dir(),
            m.reports(ReportKind::Truth),
            m.gallery(),
        ];
        for p in &paths {
            assert!(p.starts_with(run.root()), "{}", p.display());
        }
        let mut unique = paths.to_vec();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), paths.len(), "two things share a path");
        assert_eq!(m.dir(), Path::new("runs/demo/models/triplet-2_b"));
        assert_eq!(
            m.embeddings(Split::Test),
            Path::new("runs/demo/models/triplet-2_b/embed/test.npy")
        );
        assert_eq!(
            run.caption_embeddings(Split::Val),
            Path::new("runs/demo/text/captions_val.npy")
        );
        // The stage files the stamps list are the ones the paths name.
        let text = RunLayout::text_files(&[Split::Val], TrainsGlove::Yes);
        assert_eq!(text, ["captions_val.npy", "captions_val.ids", "glove.txt"]);
        assert_eq!(
            run.text_dir().join(&text[0]),
            run.caption_embeddings(Split::Val)
        );
        assert_eq!(run.text_dir().join(&text[2]), run.trained_glove());
        let embed = ModelLayout::embed_files(Split::Test);
        assert_eq!(m.embed_dir().join(&embed[0]), m.embeddings(Split::Test));
        // A report folder's label names its run, model and relevance.
        assert_eq!(
            report_label(&m.reports(ReportKind::Captions)),
            "demo: triplet-2_b (captions)"
        );
        assert_eq!(
            report_label(Path::new("x/eval/truth")),
            "x (truth)",
            "not under models/: no run"
        );
        assert_eq!(report_label(Path::new("runs/other")), "other");
    }

    #[test]
    fn model_names_that_are_not_plain_folder_names_are_refused() {
        let run = RunLayout::new("runs/demo");
        for bad in ["", "..", "a/b", "../escape", "a b", "é", "a\\b", "/abs"] {
            let err = run.model(bad).expect_err(bad).to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }
}
