//! webly from Python: `import webly` (built with maturin, see `crates/python/pyproject.toml`).
//!
//! - `open_run` / `open_collection`: a finished model's test images or a collection, as a
//!   [`Searcher`] (query words embedded in the model's word space, exact or HNSW search,
//!   the embeddings as a numpy array).
//! - The ranking metrics of `webly-eval` with its tie rules: `rank_metrics`,
//!   `average_precision`, `precision_at_k`, `r_precision`, `mean_average_precision`.
//!
//! No libtorch: only webly-text, webly-index, webly-eval and webly-io. A run's model folder and
//! a collection are read from their files: the model's `text_space.json` through
//! [`webly_text::TextSpaceFile`] (the pipeline's own reader, moved to webly-text), a
//! collection's `collection.json` and `files.csv` from their documented formats (the few
//! fields a reader needs; the pipeline keeps the writer). Errors are `webly.WeblyError` with
//! the messages the command line prints.
#![deny(missing_docs)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde::Deserialize;
use webly_index::{Expect, Hit, Hnsw, Search};
use webly_io::{FolderLock, LockKind};
use webly_text::{TextEmbedder, TextSpaceFile, TEXT_SPACE_FILE};

create_exception!(
    webly,
    WeblyError,
    PyException,
    "Everything that goes wrong in webly: the message is the command line's, naming the file."
);

fn err(msg: impl Into<String>) -> PyErr {
    WeblyError::new_err(msg.into())
}

fn chain(e: &dyn std::error::Error) -> PyErr {
    err(webly_io::error_chain(e))
}

/// The pipeline's message for a file a command needs that is not there.
fn missing(what: &str, path: &Path, hint: &str) -> PyErr {
    err(format!(
        "{what}: {} is missing; run `{hint}` first",
        path.display()
    ))
}

/// Takes `dir` as a reader, as `webly query` does (refused while a webly command writes it).
fn read_lock(dir: &Path, holder: &str) -> PyResult<FolderLock> {
    let lock = FolderLock::try_lock(dir, LockKind::Shared).map_err(|e| {
        err(format!(
            "locking the folder {}: {}",
            dir.display(),
            webly_io::error_chain(&e)
        ))
    })?;
    lock.map_err(|pid| {
        let holder = pid.map_or(holder.to_string(), |pid| format!("webly process {pid}"));
        err(format!(
            "the folder {} is in use by {holder} (a webly command writing it, or reading it \
             while this one wants to write); cannot read it until it ends",
            dir.display()
        ))
    })
}

fn absolute(path: &Path) -> PyResult<PathBuf> {
    std::path::absolute(path).map_err(|e| err(format!("resolving {}: {}", path.display(), e)))
}

/// Where a hit's caption and file come from.
enum Store {
    /// A collection's file table: key -> file (collections have no captions: "").
    Files(HashMap<String, PathBuf>),
    /// A run's InstaCities-layout dataset root (captions and images found by key), or nothing.
    Dataset(Option<PathBuf>),
}

/// The image folder and caption folder of the InstaCities layout (webly-data's `IMAGE_DIR`,
/// `CAPTION_DIR`, `IMAGE_EXTENSIONS`).
const IMAGE_DIR: &str = "img_resized_1M/cities_instagram";
const CAPTION_DIR: &str = "captions_resized_1M/cities_instagram";
const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

impl Store {
    /// (caption, path) of a key; `None` for a key the store does not know (a collection's
    /// index holds no other keys; the command line drops such hits too).
    fn entry(&self, key: &str) -> Option<(Option<String>, Option<PathBuf>)> {
        match self {
            Store::Files(files) => files
                .get(key)
                .map(|p| (Some(String::new()), Some(p.clone()))),
            Store::Dataset(None) => Some((None, None)),
            Store::Dataset(Some(root)) => {
                let caption = std::fs::read(root.join(CAPTION_DIR).join(format!("{key}.txt")))
                    .ok()
                    .map(|b| String::from_utf8_lossy(&b).trim().to_string());
                let image = IMAGE_EXTENSIONS
                    .iter()
                    .map(|ext| root.join(IMAGE_DIR).join(format!("{key}.{ext}")))
                    .find(|p| p.is_file());
                Some((caption, image))
            }
        }
    }
}

/// A model's test images or a collection, opened for queries (`webly.open_run`,
/// `webly.open_collection`). Holds a run folder's read lock while it lives (a collection needs
/// none).
#[pyclass(module = "webly", frozen)]
pub struct Searcher {
    embedder: TextEmbedder,
    hnsw: Hnsw,
    store: Store,
    embeddings: PathBuf,
    kind: &'static str,
    path: PathBuf,
    _lock: Option<FolderLock>,
}

/// The model's word space from its folder, checked against the recorded fingerprint.
fn load_space(model_dir: &Path, hint: &str) -> PyResult<TextEmbedder> {
    let path = model_dir.join(TEXT_SPACE_FILE);
    let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => missing(
            "a file that training now writes beside the weights (the model was trained before; \
             `webly train` reuses the finished training and adds it)",
            &path,
            hint,
        ),
        _ => err(format!("reading {}: {e}", path.display())),
    })?;
    let space: TextSpaceFile =
        serde_json::from_slice(&bytes).map_err(|e| err(format!("{}: {e}", path.display())))?;
    let embedder = space.load_embedder().map_err(|e| chain(&e))?;
    space.check(&embedder, model_dir).map_err(err)?;
    Ok(embedder)
}

fn open_hnsw(dir: &Path, embedder: &TextEmbedder) -> PyResult<Hnsw> {
    if !dir.join(webly_index::MANIFEST_FILE).exists() {
        return Err(missing("the HNSW index", dir, "webly index"));
    }
    let expect = Expect {
        dim: embedder.dim(),
        text_fingerprint: embedder.fingerprint(),
    };
    Hnsw::open(dir, &expect).map_err(|e| chain(&e))
}

/// The fields of `collection.json` a reader needs (the pipeline's `CollectionManifest`).
#[derive(Deserialize)]
struct Manifest {
    format_version: u32,
    model: PathBuf,
    generation: u64,
    roots: Vec<Root>,
}

#[derive(Deserialize)]
struct Root {
    name: String,
    path: PathBuf,
}

/// `files.csv`'s columns a reader needs.
#[derive(Deserialize)]
struct FileRow {
    key: String,
    state: String,
}

/// The collection layout version this reader knows (the pipeline's `FORMAT_VERSION`).
const COLLECTION_FORMAT: u32 = 1;

/// Opens a run's model folder (`runs/NAME/models/MODEL`): its word space (`text_space.json`),
/// HNSW index (`index/`) and test embeddings (`embed/test.npy` + `.ids`). `dataset`: the run's
/// dataset root in the InstaCities layout, for captions and image paths (else they are None).
///
/// Raises WeblyError naming what is missing and the command that makes it.
#[pyfunction]
#[pyo3(signature = (model_dir, dataset=None))]
fn open_run(model_dir: PathBuf, dataset: Option<PathBuf>) -> PyResult<Searcher> {
    let dir = absolute(&model_dir)?;
    if !dir.is_dir() {
        return Err(missing("a trained model", &dir, "webly train"));
    }
    // The run folder's read lock, when the model sits in a run's `models/`.
    let lock = match dir.parent() {
        Some(models) if models.file_name().is_some_and(|n| n == "models") => Some(read_lock(
            models.parent().unwrap_or(models),
            "a reader (webly query, tag or serve)",
        )?),
        _ => None,
    };
    let embedder = load_space(&dir, "webly train --config ITS_RUN_CONFIG")?;
    let embeddings = dir.join("embed").join("test.npy");
    if !embeddings.exists() {
        return Err(missing("the test embeddings", &embeddings, "webly index"));
    }
    let hnsw = open_hnsw(&dir.join("index"), &embedder)?;
    let dataset = dataset.map(|d| absolute(&d)).transpose()?;
    if let Some(d) = &dataset {
        if !d.is_dir() {
            return Err(missing(
                "the dataset",
                d,
                "webly synth or your dataset's path",
            ));
        }
    }
    Ok(Searcher {
        embedder,
        hnsw,
        store: Store::Dataset(dataset),
        embeddings,
        kind: "run",
        path: dir,
        _lock: lock,
    })
}

/// Opens a collection folder (`webly collection create`): its index, file table and embeddings,
/// and its model's word space.
///
/// Raises WeblyError naming what is missing or in use.
#[pyfunction]
fn open_collection(path: PathBuf) -> PyResult<Searcher> {
    let dir = absolute(&path)?;
    let manifest_path = dir.join("collection.json");
    if !manifest_path.exists() {
        return Err(missing(
            "a collection",
            &manifest_path,
            "webly collection create",
        ));
    }
    // Readers of a collection take no lock: a change commits by replacing collection.json, so
    // the generation it names is whole (as `webly_pipeline::collection::open`).
    let bytes = std::fs::read(&manifest_path)
        .map_err(|e| err(format!("reading {}: {e}", manifest_path.display())))?;
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| err(format!("{}: {e}", manifest_path.display())))?;
    if manifest.format_version != COLLECTION_FORMAT {
        return Err(err(format!(
            "{}: collection layout version {}, this webly reads {COLLECTION_FORMAT}: create it again",
            manifest_path.display(),
            manifest.format_version
        )));
    }
    let embedder = load_space(&manifest.model, "webly train --config ITS_RUN_CONFIG")?;
    let generation = dir.join(format!("gen-{}", manifest.generation));
    let hnsw = open_hnsw(&generation.join("index"), &embedder)?;
    let files_path = generation.join("files.csv");
    let mut reader = csv::Reader::from_path(&files_path)
        .map_err(|e| err(format!("{}: {e}", files_path.display())))?;
    let mut files = HashMap::new();
    for row in reader.deserialize::<FileRow>() {
        let row = row.map_err(|e| err(format!("{}: {e}", files_path.display())))?;
        if row.state != "indexed" {
            continue;
        }
        // `root name/relative path`: the root's folder joined with the rest.
        let Some((name, rest)) = row.key.split_once('/') else {
            continue;
        };
        if let Some(root) = manifest.roots.iter().find(|r| r.name == name) {
            let path = rest
                .split('/')
                .fold(root.path.clone(), |p, part| p.join(part));
            files.insert(row.key, path);
        }
    }
    Ok(Searcher {
        embedder,
        hnsw,
        store: Store::Files(files),
        embeddings: generation.join("embeddings.npy"),
        kind: "collection",
        path: dir,
        _lock: None,
    })
}

/// A query: words, or a vector (a numpy array or a sequence of numbers).
fn query_vector(s: &Searcher, query: &Bound<'_, PyAny>) -> PyResult<Vec<f32>> {
    if let Ok(text) = query.extract::<String>() {
        return s.embed(&text);
    }
    let v: Vec<f32> = match query.extract::<PyReadonlyArray1<'_, f32>>() {
        Ok(a) => a
            .as_slice()
            .map(<[f32]>::to_vec)
            .unwrap_or_else(|_| a.to_vec().unwrap_or_default()),
        Err(_) => query.extract::<Vec<f32>>().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err("query: give words (str) or a vector of floats")
        })?,
    };
    webly_index::check_dim(v.len(), s.hnsw.dim()).map_err(|e| chain(&e))?;
    if !v.iter().all(|x| x.is_finite()) || v.iter().all(|&x| x == 0.0) {
        return Err(err("query vector: it must be finite and not all zero"));
    }
    Ok(v)
}

impl Searcher {
    fn embed(&self, text: &str) -> PyResult<Vec<f32>> {
        Ok(self
            .embedder
            .embed_query(text)
            .map_err(|e| chain(&e))?
            .vector)
    }
}

#[pymethods]
impl Searcher {
    /// Dimension of the embeddings (the word space's).
    #[getter]
    fn dim(&self) -> usize {
        self.hnsw.dim()
    }

    /// "run" or "collection".
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }

    /// The model folder (a run) or the collection folder, absolute.
    #[getter]
    fn path(&self) -> String {
        self.path.display().to_string()
    }

    /// The keys of the indexed images, by row.
    #[getter]
    fn keys(&self) -> Vec<String> {
        self.hnsw.keys().to_vec()
    }

    fn __len__(&self) -> usize {
        self.hnsw.len()
    }

    /// The HNSW search's default beam width, the index's `ef_search` (search's ef=None).
    #[getter]
    fn ef_search(&self) -> usize {
        self.hnsw.config().ef_search
    }

    fn __repr__(&self) -> String {
        format!(
            "<webly.Searcher {} {} ({} images, dim {})>",
            self.kind,
            self.path.display(),
            self.hnsw.len(),
            self.hnsw.dim()
        )
    }

    /// The query vector of `text` (the weighted mean of its known words' vectors), float32
    /// of shape (dim,). Raises WeblyError when no word is in the word space.
    fn embed_words<'py>(&self, py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyArray1<f32>>> {
        Ok(PyArray1::from_vec(py, self.embed(text)?))
    }

    /// The k nearest images to `query` (words, or a vector of dim floats), best first: a list
    /// of dicts {key, score, caption, path}. exact=True compares every image; otherwise the
    /// HNSW index answers (its recall measured at build time) with a beam of `ef` candidates:
    /// None is the index's own (`ef_search`, 128 unless its config said otherwise), a smaller
    /// one is faster and misses more, one below k counts as k.
    #[pyo3(signature = (query, k=10, exact=false, ef=None))]
    fn search<'py>(
        &self,
        py: Python<'py>,
        query: &Bound<'py, PyAny>,
        k: usize,
        exact: bool,
        ef: Option<usize>,
    ) -> PyResult<Bound<'py, PyList>> {
        if k == 0 {
            return Err(err("k must be at least 1"));
        }
        if exact && ef.is_some() {
            return Err(err("ef is the HNSW search's beam: exact=True takes none"));
        }
        if ef == Some(0) {
            return Err(err("ef must be at least 1"));
        }
        let v = query_vector(self, query)?;
        let hits: Vec<Hit> = py.detach(|| match (exact, ef) {
            (true, _) => self.hnsw.search_exact(&v, k),
            (false, Some(ef)) => self.hnsw.search_ef(&v, k, ef),
            (false, None) => self.hnsw.search(&v, k),
        });
        let out = PyList::empty(py);
        for h in hits {
            let Some((caption, path)) = self.store.entry(&h.key) else {
                continue;
            };
            let d = PyDict::new(py);
            d.set_item("key", &h.key)?;
            d.set_item("score", h.score)?;
            d.set_item("caption", caption)?;
            d.set_item("path", path.map(|p| p.display().to_string()))?;
            out.append(d)?;
        }
        Ok(out)
    }

    /// The stored embeddings (the test split of a run, a collection's indexed images) as a
    /// float32 array of shape (n, dim), and their keys in row order. The array owns the
    /// values read from the `.npy` file (handed over to numpy without a copy).
    fn embeddings<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Vec<String>)> {
        let (data, rows, cols) = webly_io::read_matrix(&self.embeddings).map_err(|e| chain(&e))?;
        let keys =
            webly_io::read_ids(&webly_io::ids_path(&self.embeddings)).map_err(|e| chain(&e))?;
        if keys.len() != rows {
            return Err(err(format!(
                "{}: {rows} rows but {} keys",
                self.embeddings.display(),
                keys.len()
            )));
        }
        let array = PyArray1::from_vec(py, data).reshape([rows, cols])?;
        Ok((array.into_any(), keys))
    }
}

/// Relevance flags as bools, with scores when given (same length).
fn flags_and_scores(
    relevant: Vec<bool>,
    scores: Option<Vec<f32>>,
) -> PyResult<(Vec<bool>, Option<Vec<f32>>)> {
    if let Some(s) = &scores {
        if s.len() != relevant.len() {
            return Err(err(format!(
                "{} scores but {} relevance flags",
                s.len(),
                relevant.len()
            )));
        }
    }
    Ok((relevant, scores))
}

/// The metrics of one ranking (webly-eval's RankMetrics), None when nothing is relevant.
fn metrics(
    relevant: Vec<bool>,
    scores: Option<Vec<f32>>,
    n_relevant: Option<usize>,
) -> PyResult<Option<webly_eval::RankMetrics>> {
    let (flags, scores) = flags_and_scores(relevant, scores)?;
    let hits = flags.iter().filter(|&&f| f).count();
    match scores {
        Some(s) => {
            if n_relevant.is_some_and(|n| n != hits) {
                return Err(err(
                    "n_relevant is for rankings cut short (flags in rank order, no scores)",
                ));
            }
            Ok(webly_eval::rank_metrics(&s, &flags))
        }
        None => {
            let r = n_relevant.unwrap_or(hits);
            if r < hits {
                return Err(err(format!(
                    "n_relevant {r} is below the {hits} relevant images in the ranking"
                )));
            }
            Ok((r > 0).then(|| webly_eval::ranked_metrics(&flags, r)))
        }
    }
}

/// All metrics of one ranking as webly's reports give them: a dict {relevant, ap, p_at_5,
/// p_at_10, r_precision}, or None when no image is relevant.
///
/// relevant: one flag per image. Without scores the flags are in rank order, best first,
/// without ties; n_relevant (default: the true flags) counts relevant images missing from a
/// ranking cut short. With scores (one per image, any order) the ranking is by score, highest
/// first, and equal scores form a tie: AP is scikit-learn's average_precision_score (a tie is
/// one threshold), P@k and R-precision the expectation over the tie's orderings.
#[pyfunction]
#[pyo3(signature = (relevant, scores=None, n_relevant=None))]
fn rank_metrics<'py>(
    py: Python<'py>,
    relevant: Vec<bool>,
    scores: Option<Vec<f32>>,
    n_relevant: Option<usize>,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let Some(m) = metrics(relevant, scores, n_relevant)? else {
        return Ok(None);
    };
    let d = PyDict::new(py);
    d.set_item("relevant", m.relevant)?;
    d.set_item("ap", m.ap)?;
    d.set_item("p_at_5", m.p_at_5)?;
    d.set_item("p_at_10", m.p_at_10)?;
    d.set_item("r_precision", m.r_precision)?;
    Ok(Some(d))
}

/// Average precision of one ranking (see rank_metrics for the arguments and the tie rule);
/// None when no image is relevant.
#[pyfunction]
#[pyo3(signature = (relevant, scores=None, n_relevant=None))]
fn average_precision(
    relevant: Vec<bool>,
    scores: Option<Vec<f32>>,
    n_relevant: Option<usize>,
) -> PyResult<Option<f64>> {
    Ok(metrics(relevant, scores, n_relevant)?.map(|m| m.ap))
}

/// R-precision (precision at rank R, R relevant images) of one ranking (see rank_metrics);
/// None when no image is relevant.
#[pyfunction]
#[pyo3(signature = (relevant, scores=None, n_relevant=None))]
fn r_precision(
    relevant: Vec<bool>,
    scores: Option<Vec<f32>>,
    n_relevant: Option<usize>,
) -> PyResult<Option<f64>> {
    Ok(metrics(relevant, scores, n_relevant)?.map(|m| m.r_precision))
}

/// Share of relevant images among the first k (k at least 1): flags in rank order, or with
/// scores the expectation over the orderings of a tie that straddles rank k.
#[pyfunction]
#[pyo3(signature = (relevant, k, scores=None))]
fn precision_at_k(relevant: Vec<bool>, k: usize, scores: Option<Vec<f32>>) -> PyResult<f64> {
    let (flags, scores) = flags_and_scores(relevant, scores)?;
    match scores {
        Some(s) => webly_eval::precision_at_k(&s, &flags, k).map_err(|e| chain(&e)),
        // Rank order without ties: every tie is one image, the rule's plain count.
        None if k > 0 => Ok(flags.iter().take(k).filter(|&&f| f).count() as f64 / k as f64),
        None => Err(err("precision at k: k must be at least 1")),
    }
}

/// Mean average precision over a query set, as webly's training validation computes it:
/// images (n x dim) and queries (m x dim) float32 arrays, relevant[j] the rows of images
/// relevant to query j; cosine scores (images normed, ties as in rank_metrics). Queries
/// without relevant images are left out; None when no query has one.
#[pyfunction]
fn mean_average_precision(
    py: Python<'_>,
    images: PyReadonlyArray2<'_, f32>,
    queries: PyReadonlyArray2<'_, f32>,
    relevant: Vec<Vec<usize>>,
) -> PyResult<Option<f64>> {
    let (n, d) = (images.shape()[0], images.shape()[1]);
    if queries.shape()[1] != d || queries.shape()[0] != relevant.len() {
        return Err(err(format!(
            "queries: {} x {} for {} relevance lists and images of dimension {d}",
            queries.shape()[0],
            queries.shape()[1],
            relevant.len()
        )));
    }
    let images = images.as_array().as_standard_layout().into_owned();
    let queries = queries.as_array().as_standard_layout().into_owned();
    let (images, _) = images.into_raw_vec_and_offset();
    let (queries, _) = queries.into_raw_vec_and_offset();
    py.detach(|| webly_eval::mean_average_precision(&images, n, d, &queries, &relevant))
        .map_err(|e| chain(&e))
}

/// webly from Python: open a run's model or a collection, embed query words, search by words or
/// by vector, read embeddings as numpy arrays; the ranking metrics with webly's tie rules.
#[pymodule]
fn webly(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("WeblyError", m.py().get_type::<WeblyError>())?;
    m.add_class::<Searcher>()?;
    m.add_function(wrap_pyfunction!(open_run, m)?)?;
    m.add_function(wrap_pyfunction!(open_collection, m)?)?;
    m.add_function(wrap_pyfunction!(rank_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(average_precision, m)?)?;
    m.add_function(wrap_pyfunction!(precision_at_k, m)?)?;
    m.add_function(wrap_pyfunction!(r_precision, m)?)?;
    m.add_function(wrap_pyfunction!(mean_average_precision, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
