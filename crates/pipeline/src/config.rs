//! The run configuration: one TOML file (see `configs/`) holding every stage's library config.
//!
//! Paths are relative to the directory webly is started from (the repository root for the
//! configs shipped in `configs/`). Every section has defaults, so a file gives only what differs;
//! unknown keys are errors.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use webly_data::DatasetConfig;
use webly_encoder::TrainConfig;
use webly_index::HnswConfig;
use webly_synth::SynthConfig;
use webly_text::GloveConfig;

use crate::error::PipelineError;
use crate::layout::RunLayout;

/// Everything a run needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Where the run's outputs go (text space, models, embeddings, indexes, reports).
    pub run_dir: PathBuf,
    /// The dataset and its generation.
    pub data: DataSection,
    /// The word space and caption embedding.
    pub text: TextSection,
    /// The models to train and compare, in order (`[[models]]` tables).
    pub models: Vec<ModelRun>,
    /// The HNSW index over the test images (and its recall check against exact search).
    pub index: HnswConfig,
    /// Query sets and the gallery.
    pub eval: EvalSection,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            run_dir: PathBuf::from("runs/default"),
            data: DataSection::default(),
            text: TextSection::default(),
            models: vec![ModelRun::default()],
            index: HnswConfig::default(),
            eval: EvalSection::default(),
        }
    }
}

/// The dataset, and how to generate it when it is synthetic.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSection {
    /// The InstaCities1M-layout folder (`dataset.root`), split rule or split file.
    pub dataset: DatasetConfig,
    /// When set, the dataset is generated into `dataset.root` (its `out` is ignored) unless a
    /// generation with the same settings is already there.
    pub synth: Option<SynthConfig>,
}

/// How the word space is obtained and captions are embedded.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TextSection {
    /// Pretrained word vectors (GloVe text, word2vec text/binary, gzipped or not). Ignored when
    /// `glove` is set.
    pub vectors: Option<PathBuf>,
    /// Train GloVe on the training captions with these settings instead (the reference's way).
    pub glove: Option<GloveConfig>,
    /// Caption embedding: the plain mean of word vectors or the tf-idf weighted mean.
    pub weighting: WeightingKind,
    /// Words of the vectors file that are not UTF-8: `"refuse"` the file (default) or read them
    /// as `"latin1"`.
    pub non_utf8: webly_text::NonUtf8,
}

impl Default for TextSection {
    fn default() -> Self {
        Self {
            vectors: Some(PathBuf::from("data/glove/glove.6B.50d.txt")),
            glove: None,
            weighting: WeightingKind::TfIdf,
            non_utf8: webly_text::NonUtf8::Refuse,
        }
    }
}

/// Caption embedding weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightingKind {
    /// The plain mean of the caption's known word vectors.
    Mean,
    /// The tf-idf weighted mean (idf fitted on the training captions).
    #[default]
    TfIdf,
}

/// One model of the comparison.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelRun {
    /// Its name in reports and its folder under `run_dir/models/`.
    pub name: String,
    /// Training settings; `out_dir` is replaced by `run_dir/models/<name>` and `model.out_dim`
    /// by the text space's dimension.
    pub train: TrainConfig,
}

impl Default for ModelRun {
    fn default() -> Self {
        Self {
            name: "triplet".into(),
            train: TrainConfig::default(),
        }
    }
}

/// Evaluation: query sets and outputs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalSection {
    /// Query set files (one query per line); the file stem names the group.
    pub queries: Vec<PathBuf>,
    /// Images per query in the HTML gallery.
    pub gallery_k: usize,
}

impl Default for EvalSection {
    fn default() -> Self {
        Self {
            queries: vec![
                PathBuf::from("eval/queries/simple.txt"),
                PathBuf::from("eval/queries/complex.txt"),
            ],
            gallery_k: 8,
        }
    }
}

impl RunConfig {
    /// Reads a TOML run config; errors name the file and the TOML error's position.
    pub fn load(path: &Path) -> Result<RunConfig, PipelineError> {
        let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Io {
            what: "reading the run config",
            path: path.to_path_buf(),
            source,
        })?;
        let cfg: RunConfig = toml::from_str(&text).map_err(|e| PipelineError::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    fn validate(&self, path: &Path) -> Result<(), PipelineError> {
        let bad = |message: String| PipelineError::Config {
            path: path.to_path_buf(),
            message,
        };
        if self.models.is_empty() {
            return Err(bad("no [[models]] to train".into()));
        }
        let mut names: Vec<&str> = self.models.iter().map(|m| m.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(bad(format!("two [[models]] are named {:?}", w[0])));
        }
        for m in &self.models {
            crate::layout::check_model_name(&m.name).map_err(bad)?;
        }
        if self.text.vectors.is_none() && self.text.glove.is_none() {
            return Err(bad("[text] needs `vectors` or a [text.glove] table".into()));
        }
        // Every setting is checked here, before any stage touches a file: a bad value in the
        // config of a finished run must not cost it its finished stages.
        for m in &self.models {
            webly_encoder::check_settings(&m.train)
                .map_err(|e| bad(format!("[[models]] {:?}: {e}", m.name)))?;
        }
        self.index
            .validate()
            .map_err(|e| bad(format!("[index]: {e}")))?;
        Ok(())
    }

    /// The shipped config at `path` (e.g. `configs/ci.toml`) with its relative input paths (word
    /// vectors, query sets, pretrained weights) taken from `root`, the folder the config's paths
    /// are written for: for tests and tools that run from another working directory.
    ///
    /// # Errors
    /// As [`RunConfig::load`], and [`PipelineError::Missing`] when the word vectors file is not
    /// under `root` (run `make setup`).
    pub fn load_under(root: &Path, path: &Path) -> Result<RunConfig, PipelineError> {
        let mut cfg = RunConfig::load(&root.join(path))?;
        cfg.text.vectors = cfg.text.vectors.map(|v| root.join(v));
        if let Some(v) = cfg.text.vectors.as_ref().filter(|v| !v.exists()) {
            return Err(PipelineError::Missing {
                what: "the word vectors",
                path: v.clone(),
                hint: "make setup".into(),
            });
        }
        cfg.eval.queries = cfg.eval.queries.iter().map(|q| root.join(q)).collect();
        for m in &mut cfg.models {
            let weights = m.train.model.pretrained.as_ref().map(|p| root.join(p));
            m.train.model.pretrained = weights;
        }
        Ok(cfg)
    }

    /// Where the run's stages write: the layout of `run_dir`.
    pub fn layout(&self) -> RunLayout {
        RunLayout::new(&self.run_dir)
    }

    /// The named model, or the first when `name` is `None`.
    pub fn model(&self, name: Option<&str>) -> Result<&ModelRun, PipelineError> {
        match name {
            None => self.models.first().ok_or(PipelineError::NoModel),
            Some(n) => self.models.iter().find(|m| m.name == n).ok_or_else(|| {
                PipelineError::UnknownModel {
                    name: n.to_string(),
                    known: self.models.iter().map(|m| m.name.clone()).collect(),
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RunConfig, PipelineError> {
        let dir = tempfile::tempdir().map_err(|source| PipelineError::Io {
            what: "tempdir",
            path: PathBuf::new(),
            source,
        })?;
        let path = dir.path().join("run.toml");
        std::fs::write(&path, text).map_err(|source| PipelineError::Io {
            what: "writing",
            path: path.clone(),
            source,
        })?;
        RunConfig::load(&path)
    }

    #[test]
    fn shipped_configs_parse() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        for name in ["demo.toml", "instacities1m.toml", "ci.toml"] {
            let cfg = RunConfig::load(&root.join(name));
            assert!(cfg.is_ok(), "{name}: {:?}", cfg.err());
        }
    }

    #[test]
    fn unknown_keys_and_duplicate_models_are_errors() {
        let e = parse("run_dir = 'x'\nbogus = 1\n").unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
        let e = parse("[[models]]\nname = 'a'\n[[models]]\nname = 'a'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("two [[models]]"), "{e}");
        let e = parse("[[models]]\nname = 'a/b'\n").unwrap_err().to_string();
        assert!(e.contains("letters"), "{e}");
    }

    #[test]
    fn dataset_formats_parse_and_a_bad_one_names_the_file() {
        let cfg = parse("[data.dataset]\nformat = 'webdataset'\nroot = 'shards'\n").unwrap();
        assert_eq!(
            cfg.data.dataset.format,
            webly_data::DatasetFormat::Webdataset
        );
        assert_eq!(
            RunConfig::default().data.dataset.format,
            webly_data::DatasetFormat::Instacities
        );
        let e = parse("[data.dataset]\nformat = 'tarballs'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("run.toml") && e.contains("tarballs"), "{e}");
        // The default format is not serialised: fingerprints of earlier runs still match.
        let json = serde_json::to_string(&RunConfig::default().data.dataset).unwrap();
        assert!(!json.contains("format"), "{json}");
        assert!(serde_json::to_string(&cfg.data.dataset)
            .unwrap()
            .contains(r#""format":"webdataset""#));
    }

    #[test]
    fn model_lookup_names_known_models() {
        let cfg = parse("[[models]]\nname = 'triplet'\n[[models]]\nname = 'ce'\n").unwrap();
        assert_eq!(cfg.model(None).unwrap().name, "triplet");
        assert_eq!(cfg.model(Some("ce")).unwrap().name, "ce");
        let e = cfg.model(Some("nope")).unwrap_err().to_string();
        assert!(e.contains("triplet") && e.contains("ce"), "{e}");
    }
}
