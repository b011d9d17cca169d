//! Embedding a change's images in chunks, each chunk kept in `pending/` as soon as it is done,
//! so that a killed change loses at most one chunk: the next command reuses every kept row whose
//! file still has the same signature (and model).
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use webly_encoder::Encoder;

use super::files::{Signature, PENDING_DIR};
use crate::embed_stage::EMBED_BATCH;
use crate::error::{PipelineError, Result};
use crate::portable::PortableModel;

/// Images embedded between two saves of `pending/` (a killed change loses at most these);
/// the environment variable [`CHUNK_ENV`] sets another number.
pub const CHUNK_IMAGES: usize = 256;
/// Environment variable with the number of images per saved chunk (default [`CHUNK_IMAGES`]).
pub const CHUNK_ENV: &str = "WEBLY_COLLECTION_CHUNK";

/// Images per chunk: [`CHUNK_ENV`] when it holds a positive number, else [`CHUNK_IMAGES`].
fn chunk_images() -> usize {
    std::env::var(CHUNK_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(CHUNK_IMAGES)
}

/// An image file to embed.
#[derive(Debug, Clone)]
pub struct Todo {
    /// Its key.
    pub key: String,
    /// Its file.
    pub path: PathBuf,
    /// Its signature, taken before it is read.
    pub signature: Signature,
}

/// An image that could not be read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Skip {
    /// Its key.
    pub key: String,
    /// Its signature when it was tried.
    pub signature: Signature,
    /// Why (names the file).
    pub reason: String,
}

/// What embedding a change's images gave.
#[derive(Debug, Default)]
pub struct Done {
    /// Embedded rows, `keys_signatures.len() x dim`.
    pub matrix: Vec<f32>,
    /// Key and signature of each row.
    pub keys_signatures: Vec<(String, Signature)>,
    /// Images that could not be read.
    pub skipped: Vec<Skip>,
    /// Rows reused from `pending/`.
    pub resumed: usize,
}

/// One saved chunk's description (`pending/chunk-<n>.json`, written after its `.npy`).
#[derive(Debug, Serialize, Deserialize)]
struct Chunk {
    model: String,
    rows: Vec<(String, Signature)>,
    skipped: Vec<Skip>,
}

/// Embeds `todo` with the model, reusing what an interrupted change left in `pending/`.
///
/// # Errors
/// The encoder's errors; I/O errors writing `pending/` (named).
pub fn embed(dir: &Path, model: &PortableModel, todo: &[Todo]) -> Result<Done> {
    let pending = dir.join(PENDING_DIR);
    let dim = model.text.dim;
    let mut kept = read_pending(&pending, &model.fingerprint, dim);
    let mut done = Done::default();
    let mut left = Vec::new();
    for t in todo {
        match kept.remove(&(t.key.clone(), t.signature)) {
            Some(Kept::Row(v)) => {
                done.matrix.extend_from_slice(&v);
                done.keys_signatures.push((t.key.clone(), t.signature));
                done.resumed += 1;
            }
            Some(Kept::Skip(s)) => {
                done.skipped.push(s);
                done.resumed += 1;
            }
            None => left.push(t),
        }
    }
    if left.is_empty() {
        return Ok(done);
    }
    std::fs::create_dir_all(&pending).map_err(PipelineError::io("creating", &pending))?;
    let encoder = Encoder::load(&model.dir)?;
    let loader = encoder.saved().loader.clone();
    let chunk_size = chunk_images();
    eprintln!(
        "[collection] embedding {} images ({} reused), saved every {chunk_size} to {}",
        left.len(),
        done.resumed,
        pending.display()
    );
    let first = next_chunk_number(&pending);
    for (n, chunk) in left.chunks(chunk_size).enumerate() {
        let paths: Vec<PathBuf> = chunk.iter().map(|t| t.path.clone()).collect();
        let emb = encoder.embed_paths(&paths, &loader, EMBED_BATCH)?;
        let mut saved = Chunk {
            model: model.fingerprint.clone(),
            rows: Vec::new(),
            skipped: Vec::new(),
        };
        let mut matrix = Vec::with_capacity(emb.loaded.len() * dim);
        for (row, &at) in emb.loaded.iter().enumerate() {
            let v = &emb.matrix[row * dim..(row + 1) * dim];
            let t = chunk[at];
            if v.iter().all(|x| x.is_finite()) && v.iter().any(|&x| x != 0.0) {
                matrix.extend_from_slice(v);
                saved.rows.push((t.key.clone(), t.signature));
            } else {
                saved.skipped.push(Skip {
                    key: t.key.clone(),
                    signature: t.signature,
                    reason: format!(
                        "{}: the model gave a zero or non-finite embedding",
                        t.path.display()
                    ),
                });
            }
        }
        for s in &emb.skipped {
            if let Some(t) = chunk.iter().find(|t| t.path == s.path) {
                saved.skipped.push(Skip {
                    key: t.key.clone(),
                    signature: t.signature,
                    reason: s.to_string(),
                });
            }
        }
        let name = format!("chunk-{}", first + n);
        let npy = pending.join(format!("{name}.npy"));
        webly_io::write_matrix(&npy, saved.rows.len(), dim, &matrix)?;
        let json = serde_json::to_vec(&saved).map_err(|source| PipelineError::Json {
            what: npy.display().to_string(),
            source,
        })?;
        crate::fsio::write_atomic(&pending.join(format!("{name}.json")), &json)?;
        done.matrix.extend_from_slice(&matrix);
        done.keys_signatures.extend(saved.rows);
        done.skipped.extend(saved.skipped);
    }
    Ok(done)
}

enum Kept {
    Row(Vec<f32>),
    Skip(Skip),
}

/// What `pending/` holds for this model, by key and signature; chunks that cannot be read are
/// ignored (embedded again).
fn read_pending(pending: &Path, model: &str, dim: usize) -> HashMap<(String, Signature), Kept> {
    let mut kept = HashMap::new();
    let Ok(entries) = std::fs::read_dir(pending) else {
        return kept;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(chunk) = serde_json::from_slice::<Chunk>(&bytes) else {
            continue;
        };
        if chunk.model != model {
            continue;
        }
        let Ok((matrix, rows, d)) = webly_io::read_matrix(&path.with_extension("npy")) else {
            continue;
        };
        if rows != chunk.rows.len() || (rows > 0 && d != dim) {
            continue;
        }
        for (i, (key, sig)) in chunk.rows.into_iter().enumerate() {
            kept.insert(
                (key, sig),
                Kept::Row(matrix[i * dim..(i + 1) * dim].to_vec()),
            );
        }
        for s in chunk.skipped {
            kept.insert((s.key.clone(), s.signature), Kept::Skip(s));
        }
    }
    kept
}

fn next_chunk_number(pending: &Path) -> usize {
    std::fs::read_dir(pending)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_prefix("chunk-")?
                        .split('.')
                        .next()?
                        .parse::<usize>()
                        .ok()
                })
                .max()
                .map_or(0, |m| m + 1)
        })
        .unwrap_or(0)
}
