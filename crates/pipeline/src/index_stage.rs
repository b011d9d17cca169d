//! Stage 5: the HNSW index of a model's test embeddings: built (and its recall measured against
//! exact search), reused while its inputs are unchanged, opened for search.
use std::fmt;
use std::path::{Path, PathBuf};

use webly_index::{Embeddings, Expect, Fingerprints, Hnsw, HnswConfig, Manifest};
use webly_io::LockKind;

use crate::config::RunConfig;
use crate::context::Context;
use crate::embed_stage::{embed_stamp, ensure_embedded, read_embeddings};
use crate::error::{PipelineError, Result};
use crate::layout::ModelLayout;
use crate::stamp;

/// The index's fingerprints: of the embeddings it holds (model and data) and of the word space.
pub fn fingerprints(ctx: &Context, train_stamp: &str) -> Result<Fingerprints> {
    Ok(Fingerprints {
        model: embed_stamp(ctx, train_stamp)?,
        text: ctx.text.embedder.fingerprint(),
    })
}

/// The HNSW index of the test embeddings (rebuilt when the model or the index settings change).
pub fn ensure_index(
    ctx: &Context,
    paths: &ModelLayout,
    train_stamp: &str,
    emb: &webly_index::Embeddings,
) -> Result<Manifest> {
    let dir = paths.index_dir();
    let fp = fingerprints(ctx, train_stamp)?;
    match webly_index::verify(&dir) {
        Ok(m) => {
            let same_config = stamp::fingerprint(&m.config)? == stamp::fingerprint(&ctx.cfg.index)?;
            if m.model_fingerprint == fp.model && m.text_fingerprint == fp.text && same_config {
                return Ok(m);
            }
        }
        // Never built: nothing to say.
        Err(webly_index::IndexError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound
                && !dir.join(webly_index::MANIFEST_FILE).exists() => {}
        Err(e) => eprintln!(
            "[index] {}; rebuilding the index",
            webly_io::error_chain(&e)
        ),
    }
    eprintln!("[index] building HNSW over {} test images", emb.len());
    build_index(emb, &ctx.cfg.index, &dir, &fp)
}

/// Opens a model's saved index, refusing one built with another text space.
pub fn open_index(ctx: &Context, paths: &ModelLayout) -> Result<Hnsw> {
    let expect = Expect {
        dim: ctx.text.embedder.dim(),
        text_fingerprint: ctx.text.embedder.fingerprint(),
    };
    let dir = paths.index_dir();
    if !dir.join(webly_index::MANIFEST_FILE).exists() {
        return Err(PipelineError::Missing {
            what: "the HNSW index",
            path: dir,
            hint: "webly index".into(),
        });
    }
    Hnsw::open(&dir, &expect).map_err(|e| match e {
        webly_index::IndexError::Damaged { path, what } => PipelineError::Damaged {
            path,
            what,
            repair: "webly index".into(),
        },
        other => other.into(),
    })
}

/// Builds the HNSW index over `emb`, measures its recall against exact search, saves it.
pub fn build_index(
    emb: &Embeddings,
    cfg: &HnswConfig,
    dir: &Path,
    fingerprints: &Fingerprints,
) -> Result<Manifest> {
    let mut hnsw = Hnsw::build(emb, cfg)?;
    if hnsw.nodes() < hnsw.len() {
        eprintln!(
            "[index] {} rows hold {} distinct vectors: identical ones share a graph node",
            hnsw.len(),
            hnsw.nodes()
        );
    }
    // A recall below the floor is reported once, by the command's result (`Indexed`,
    // `ModelResult`), from the manifest.
    Ok(hnsw.save(dir, fingerprints)?)
}

/// What `webly index` built: the index's folder and manifest (count, dimension, recall).
#[derive(Debug, Clone)]
pub struct Indexed {
    /// The index's folder.
    pub dir: PathBuf,
    /// Its manifest, with the recall@k measured against exact search.
    pub manifest: Manifest,
}

impl fmt::Display for Indexed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.manifest;
        write!(
            f,
            "indexed {} images of dimension {} in {}: ",
            m.count,
            m.dim,
            self.dir.display()
        )?;
        match &m.recall {
            None => write!(f, "recall not measured"),
            Some(r) => {
                write!(f, "recall@{} {:.4} ({} queries)", r.k, r.recall, r.queries)?;
                match r.warning() {
                    Some(w) => write!(f, "\nwarning: {w}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// `webly index`: (re)builds a model's index over its test embeddings.
///
/// The run's data and text stages are opened as the run left them, never run again (see
/// `Context::open_model`): a word space of another dimension is refused before anything of the
/// run is written.
pub fn index(cfg: &RunConfig, model: Option<&str>) -> Result<Indexed> {
    let model = cfg.model(model)?;
    let paths = cfg.layout().model(&model.name)?;
    let (ctx, stamp) = Context::open_model(cfg, LockKind::Exclusive, &paths)?;
    let emb_path = ensure_embedded(&ctx, &paths, &stamp)?;
    let emb = read_embeddings(&emb_path)?;
    let fp = fingerprints(&ctx, &stamp)?;
    let dir = paths.index_dir();
    let manifest = build_index(&emb, &cfg.index, &dir, &fp)?;
    Ok(Indexed { dir, manifest })
}
