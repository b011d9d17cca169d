//! What the queries of one trained model need, loaded once: the text embedder, the test images'
//! exact embeddings and HNSW index, the encoder for image queries, the image store (keys to
//! paths and captions), the ground truth and the tag vocabulary. `webly query` and `webly tag`
//! open one per command; `webly serve` holds one for its lifetime and shares it between requests.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use webly_data::{load_batch, Crop, GroundTruth, ImageLimits, LoaderConfig, Split};
use webly_encoder::Encoder;
use webly_eval::{GalleryHit, GalleryQuery};
use webly_index::{Hit, Hnsw, Manifest, Search};
use webly_text::{Speller, TextEmbedder, WordWarning};

use crate::config::RunConfig;
use crate::context::Context;
use crate::error::{PipelineError, Result};
use crate::index_stage::open_index;
use crate::layout::ModelLayout;
use crate::portable::TAG_MIN_COUNT;

/// What a [`Searcher`] searches: the test images of a run's model, or a collection.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A model of a run config (`None`: its first model).
    Run {
        /// The run config.
        cfg: &'a RunConfig,
        /// The model's name in it.
        model: Option<&'a str>,
    },
    /// A collection folder (`webly collection create`).
    Collection(&'a Path),
}

impl<'a> Source<'a> {
    /// A model of a run config (`None`: its first model).
    pub fn run(cfg: &'a RunConfig, model: Option<&'a str>) -> Self {
        Source::Run { cfg, model }
    }
}

/// Exact search over every test embedding, or the HNSW index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Every test embedding compared (brute force).
    Exact,
    /// The HNSW index (approximate; its recall@k is measured when it is built).
    #[default]
    Hnsw,
}

/// One retrieved image, as scripts and the web page see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Found {
    /// The image's key (`city/id`, or the source's own key).
    pub key: String,
    /// Cosine similarity to the query, in [-1, 1].
    pub score: f32,
    /// The image's caption.
    pub caption: String,
    /// The image file (under the dataset root).
    pub image_path: PathBuf,
    /// Whether the ground truth says the image shows every query word (text queries on data
    /// with a ground truth only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relevant: Option<bool>,
}

/// The answer to a text query.
#[derive(Debug, Clone, Serialize)]
pub struct TextResults {
    /// The query as given.
    pub query: String,
    /// The cleaned words of the query, in order.
    pub tokens: Vec<String>,
    /// The cleaned words the text space does not know (skipped).
    pub unknown: Vec<String>,
    /// Words that cannot give good results (unknown, or rare in the text space), with the
    /// nearest frequent spellings ([`Speller`]).
    pub warnings: Vec<WordWarning>,
    /// Exact search or the HNSW index.
    pub mode: SearchMode,
    /// The nearest test images, best first.
    pub hits: Vec<Found>,
}

/// One of an image's nearest caption words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tag {
    /// A caption word.
    pub word: String,
    /// Cosine similarity between the word vector and the image embedding.
    pub score: f32,
}

/// Facts about the loaded model and index.
#[derive(Debug, Clone, Serialize)]
pub struct IndexFacts {
    /// The model's name in the run config.
    pub model: String,
    /// Its network (`small_cnn`, `resnet18`, `efficientnet_lite0`).
    pub arch: String,
    /// Indexed (test) images.
    pub size: usize,
    /// Dimension of the embeddings (the word space's).
    pub dimension: usize,
    /// The word vectors file (or "glove trained on captions").
    pub text_space: String,
    /// Words in the word space.
    pub text_words: usize,
    /// Fingerprint of the word space (the index is refused under another).
    pub text_fingerprint: String,
    /// Words offered as tags (used at least [`TAG_MIN_COUNT`] times in training captions).
    pub tag_vocabulary: usize,
    /// The index's manifest: HNSW settings and the recall measured at build time.
    pub index: Option<Manifest>,
}

/// Everything a query needs, in memory. Shareable between threads (`Sync`): the encoder, whose
/// libtorch module is not `Sync`, sits behind a mutex.
pub struct Searcher {
    model: String,
    embedder: TextEmbedder,
    /// The test images' index: its vectors serve both search modes (one copy of them).
    hnsw: Hnsw,
    /// Row of each indexed key in `hnsw`.
    rows: HashMap<String, usize>,
    encoder: Mutex<Encoder>,
    loader: LoaderConfig,
    items: HashMap<String, Entry>,
    /// Every image lies under one of these folders (the dataset root, or a collection's roots).
    image_roots: Vec<PathBuf>,
    truth: Option<GroundTruth>,
    vocabulary: Vec<String>,
    /// Warns of rare and unknown query words.
    speller: Speller,
    text_space: String,
    /// The run folder's shared lock, held while the searcher lives (a `serve` process); a
    /// collection's readers take none (see [`crate::collection::open`]).
    _lock: Option<webly_io::FolderLock>,
}

struct Entry {
    image: PathBuf,
    caption: String,
}

impl Searcher {
    /// Opens what a finished run wrote, running no stage (a reader of the run folder, beside
    /// other readers): the named model's training, the dataset and word space it used, then its
    /// encoder, test embeddings and index.
    ///
    /// # Errors
    /// Each names what is missing and the command that makes it: the trained model
    /// (`webly train`), the dataset or trained vectors (`webly text embed`), the embeddings or
    /// index (`webly index`); [`PipelineError::SpaceDim`] for a word space of another dimension.
    pub fn open(cfg: &RunConfig, model: Option<&str>) -> Result<Self> {
        let model = cfg.model(model)?;
        let paths = cfg.layout().model(&model.name)?;
        let (ctx, _) = Context::open_model(cfg, webly_io::LockKind::Shared, &paths)?;
        let files = ModelLayout::embed_files(Split::Test);
        crate::stamp::verified(
            &paths.embed_dir(),
            &files.each_ref().map(String::as_str),
            "the test embeddings",
            "webly index",
        )?;
        let hnsw = open_index(&ctx, &paths)?;
        let rows = hnsw
            .keys()
            .iter()
            .enumerate()
            .map(|(i, k)| (k.to_string(), i))
            .collect();
        let encoder = Encoder::load(paths.dir())?;
        let loader = encoder.saved().loader.clone();
        let train = ctx.data.dataset.split(Split::Train);
        let vocabulary = webly_text::caption_vocabulary(
            train.iter().map(|item| item.caption.as_str()),
            TAG_MIN_COUNT,
        );
        let truth = GroundTruth::load(&ctx.data.dataset.root)?;
        let text_space = match (&cfg.text.glove, &cfg.text.vectors) {
            (Some(_), _) => "glove trained on the training captions".to_string(),
            (None, Some(p)) => p.display().to_string(),
            (None, None) => "none".to_string(),
        };
        let image_roots = vec![ctx.data.dataset.root.clone()];
        let items = ctx
            .data
            .dataset
            .items
            .iter()
            .map(|i| {
                (
                    i.key.clone(),
                    Entry {
                        image: i.image.clone(),
                        caption: i.caption.clone(),
                    },
                )
            })
            .collect();
        let rare_rank = match cfg.text.glove {
            // Trained on the captions: ranked by caption count, the frequent ones are the tag
            // vocabulary.
            Some(_) => 0,
            None => webly_text::RARE_RANK,
        };
        let speller = Speller::new(&ctx.text.embedder.vectors, &vocabulary, rare_rank);
        let Context { text, lock, .. } = ctx;
        Ok(Searcher {
            model: model.name.clone(),
            embedder: text.embedder,
            hnsw,
            rows,
            encoder: Mutex::new(encoder),
            loader,
            items,
            image_roots,
            truth,
            vocabulary,
            speller,
            text_space,
            _lock: Some(lock),
        })
    }

    /// Opens a run's model or a collection (see [`Source`]).
    ///
    /// # Errors
    /// Those of [`Searcher::open`] and [`Searcher::open_collection`].
    pub fn open_source(source: Source<'_>) -> Result<Self> {
        match source {
            Source::Run { cfg, model } => Self::open(cfg, model),
            Source::Collection(dir) => Self::open_collection(dir),
        }
    }

    /// Opens a collection (a reader, beside other readers): its index, its model from the model
    /// folder alone, and the model's word space and tag words. No ground truth: hits carry no
    /// relevance.
    ///
    /// # Errors
    /// Those of [`crate::collection::open`]; the word space's (missing or replaced vectors file).
    pub fn open_collection(dir: &Path) -> Result<Self> {
        let c = crate::collection::open(dir)?;
        let embedder = c.model.embedder()?;
        let encoder = Encoder::load(&c.model.dir)?;
        let loader = encoder.saved().loader.clone();
        let rows = c
            .hnsw
            .keys()
            .iter()
            .enumerate()
            .map(|(i, k)| (k.to_string(), i))
            .collect();
        let items = c
            .files
            .into_iter()
            .map(|(key, image)| {
                let entry = Entry {
                    image,
                    caption: String::new(),
                };
                (key, entry)
            })
            .collect();
        let rare_rank = match c.model.text.trained_on_captions {
            true => 0,
            false => webly_text::RARE_RANK,
        };
        let speller = Speller::new(&embedder.vectors, &c.model.vocabulary, rare_rank);
        Ok(Searcher {
            model: c.model.name(),
            embedder,
            hnsw: c.hnsw,
            rows,
            encoder: Mutex::new(encoder),
            loader,
            items,
            image_roots: c.manifest.roots.iter().map(|r| r.path.clone()).collect(),
            truth: None,
            vocabulary: c.model.vocabulary.clone(),
            speller,
            text_space: c.model.text.vectors.display().to_string(),
            _lock: None,
        })
    }

    /// The `k` nearest test images to the query words. Unknown words are skipped and named; a
    /// query with no known word is an error (`TextError::NoKnownWord`).
    pub fn text(&self, query: &str, k: usize, mode: SearchMode) -> Result<TextResults> {
        let q = self.embedder.embed_query(query)?;
        let hits = self.found(self.search(&q.vector, k, mode), Some(&q.tokens));
        Ok(TextResults {
            query: query.to_string(),
            warnings: self.word_warnings(&q.tokens),
            tokens: q.tokens,
            unknown: q.unknown,
            mode,
            hits,
        })
    }

    /// The suggestions for `tokens` as one line for people (`"moutnain": did you mean mountain,
    /// mountains?` for each word that has some, joined by `; `); empty when none has any.
    pub fn suggestion_hints(&self, tokens: &[String]) -> String {
        self.word_warnings(tokens)
            .into_iter()
            .filter(|w| !w.suggestions.is_empty())
            .map(|w| format!("{:?}: did you mean {}?", w.word, w.suggestions.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Warnings for the cleaned query words that are unknown or rare (not among the model's
    /// training caption words), with suggestions.
    pub fn word_warnings(&self, tokens: &[String]) -> Vec<WordWarning> {
        self.speller.check(&self.embedder.vectors, tokens)
    }

    /// The `k` nearest test images to an image's embedding.
    pub fn similar_to_vector(&self, vector: &[f32], k: usize, mode: SearchMode) -> Vec<Found> {
        self.found(self.search(vector, k, mode), None)
    }

    /// The stored embedding of an indexed (test) image, if `key` is one.
    pub fn indexed_vector(&self, key: &str) -> Option<&[f32]> {
        let row = *self.rows.get(key)?;
        Some(self.hnsw.row_vector(row))
    }

    /// Row of an indexed (test) image in the index (`0..size`), if `key` is one: a stable
    /// integer id of the image for as long as the index is not changed.
    pub fn row_of(&self, key: &str) -> Option<usize> {
        self.rows.get(key).copied()
    }

    /// The key of row `row` of the index, if there is such a row.
    pub fn key_at(&self, row: usize) -> Option<&str> {
        self.hnsw.keys().get(row)
    }

    /// The embedding of a text query (the vector [`Searcher::text`] searches with): the
    /// weighted mean of its known words' vectors.
    ///
    /// # Errors
    /// `TextError::NoKnownWord` when no word of the query is in the text space.
    pub fn text_vector(&self, query: &str) -> Result<Vec<f32>> {
        Ok(self.embedder.embed_query(query)?.vector)
    }

    /// The embedding of an image file (loaded with the model's loader, center crop).
    pub fn embed_file(&self, path: &Path) -> Result<Vec<f32>> {
        let batch = load_batch(&[path.to_path_buf()], &self.loader, Crop::Center);
        if let Some(s) = batch.skipped.first() {
            return Err(PipelineError::Unreadable(s.to_string()));
        }
        self.embed_pixels(&batch.data)
    }

    /// The embedding of an encoded JPEG, PNG or WebP (an upload), within `limits`.
    pub fn embed_bytes(&self, bytes: &[u8], limits: &ImageLimits) -> Result<Vec<f32>> {
        let pixels = webly_data::load_image_bytes(bytes, &self.loader, Crop::Center, limits)
            .map_err(|e| {
                PipelineError::Unreadable(format!(
                    "cannot read the image: {}",
                    webly_io::error_chain(&e)
                ))
            })?;
        self.embed_pixels(&pixels)
    }

    fn embed_pixels(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        // A panic while the lock was held leaves the module itself intact: keep serving.
        let encoder = self
            .encoder
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(encoder.embed_batch(pixels)?)
    }

    /// The `k` caption words nearest to an image embedding (among the words used at least
    /// [`TAG_MIN_COUNT`] times in the training captions).
    pub fn tags(&self, vector: &[f32], k: usize) -> Vec<Tag> {
        self.embedder
            .vectors
            .nearest_among(vector, k, &self.vocabulary)
            .into_iter()
            .map(|(word, score)| Tag { word, score })
            .collect()
    }

    /// Size of the tag vocabulary.
    pub fn tag_vocabulary(&self) -> usize {
        self.vocabulary.len()
    }

    /// The image file of a dataset key, if the key is known.
    pub fn image_of(&self, key: &str) -> Option<&Path> {
        self.items.get(key).map(|e| e.image.as_path())
    }

    /// The caption of a dataset key, if the key is known.
    pub fn caption_of(&self, key: &str) -> Option<&str> {
        self.items.get(key).map(|e| e.caption.as_str())
    }

    /// The image store: every image path lies under one of these folders.
    pub fn image_roots(&self) -> &[PathBuf] {
        &self.image_roots
    }

    /// Facts about what is loaded.
    pub fn facts(&self) -> IndexFacts {
        let arch = self
            .encoder
            .lock()
            .map(|e| format!("{:?}", e.saved().model.arch))
            .unwrap_or_else(|e| format!("{:?}", e.into_inner().saved().model.arch));
        IndexFacts {
            model: self.model.clone(),
            arch,
            size: self.hnsw.len(),
            dimension: self.hnsw.dim(),
            text_space: self.text_space.clone(),
            text_words: self.embedder.vectors.len(),
            text_fingerprint: self.embedder.fingerprint(),
            tag_vocabulary: self.vocabulary.len(),
            index: self.hnsw.manifest().cloned(),
        }
    }

    /// The model's name in the run config.
    pub fn model(&self) -> &str {
        &self.model
    }

    fn search(&self, vector: &[f32], k: usize, mode: SearchMode) -> Vec<Hit> {
        match mode {
            SearchMode::Exact => self.hnsw.search_exact(vector, k),
            SearchMode::Hnsw => self.hnsw.search(vector, k),
        }
    }

    /// Hits with their files and captions; `words` (cleaned query words) are checked against the
    /// ground truth when there is one.
    fn found(&self, hits: Vec<Hit>, words: Option<&[String]>) -> Vec<Found> {
        hits.into_iter()
            .filter_map(|h| {
                let e = self.items.get(&h.key)?;
                let relevant = match (&self.truth, words) {
                    (Some(gt), Some(w)) => {
                        let refs: Vec<&str> = w.iter().map(String::as_str).collect();
                        Some(gt.has_all(&h.key, &refs))
                    }
                    _ => None,
                };
                Some(Found {
                    score: h.score,
                    caption: e.caption.clone(),
                    image_path: e.image.clone(),
                    relevant,
                    key: h.key,
                })
            })
            .collect()
    }
}

impl Found {
    /// As a gallery hit (for the HTML page).
    pub fn to_gallery_hit(&self) -> GalleryHit {
        GalleryHit {
            key: self.key.clone(),
            score: self.score,
            image_path: self.image_path.clone(),
            caption: self.caption.clone(),
            relevant: self.relevant,
        }
    }
}

/// A gallery section: `label` over `hits`.
pub fn gallery_query(label: &str, hits: &[Found]) -> GalleryQuery {
    GalleryQuery {
        query: label.to_string(),
        hits: hits.iter().map(Found::to_gallery_hit).collect(),
    }
}
