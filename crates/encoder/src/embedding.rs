//! Image embeddings: the rows a network gives a list of images (decoded in the background, or
//! gathered from the activation cache), and the same rows keyed by image.
use crate::cache::FeatureSet;
use crate::error::EncoderError;
use crate::model::{Network, OutputKind};
use crate::prefetch::{self, Job};
use crate::tensors::{batch_tensor, to_vec};
use std::path::PathBuf;
use std::sync::Arc;
use tch::Device;
use webly_data::{Crop, LoaderConfig, Skipped};

/// Images per forward pass when embedding (validation images, a split for the index): large
/// enough to keep a CPU busy, small enough for any GPU at 224 px.
pub const EMBED_BATCH: usize = 64;

/// The embedding rows of a list of images, with which of them loaded: row `k` of `matrix` is
/// image `loaded[k]` of the input list; the images that failed to load are in `skipped`.
#[derive(Debug, Clone, Default)]
pub struct ImageEmbeddings {
    /// `loaded.len() * dim` values, L2-normalised rows when the model normalises.
    pub matrix: Vec<f32>,
    /// Values per row (the model's `out_dim`).
    pub dim: usize,
    /// Input positions of the rows, ascending.
    pub loaded: Vec<usize>,
    /// The images that could not be loaded, with the reason.
    pub skipped: Vec<Skipped>,
}

/// Embedding rows with the key of each row: the keys are aligned with the rows once, where
/// the rows are made, and travel with them.
#[derive(Debug, Clone, Default)]
pub struct KeyedEmbeddings {
    /// `keys.len() * dim` values, row `k` belongs to `keys[k]`.
    pub matrix: Vec<f32>,
    /// Values per row.
    pub dim: usize,
    /// The image key of each row.
    pub keys: Vec<String>,
}

impl KeyedEmbeddings {
    /// The rows of `e` with their keys: row `k` is input image `e.loaded[k]`, whose key is
    /// `keys[e.loaded[k]]`.
    ///
    /// # Errors
    /// When a loaded index has no key or the matrix does not hold `loaded.len()` rows.
    pub fn new(e: ImageEmbeddings, keys: &[String]) -> Result<Self, EncoderError> {
        let keys = e
            .loaded
            .iter()
            .map(|&i| keys.get(i).cloned())
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| {
                EncoderError::Data(format!(
                    "{} keys for embeddings of {} input images",
                    keys.len(),
                    e.loaded.iter().max().map_or(0, |m| m + 1)
                ))
            })?;
        if e.matrix.len() != keys.len() * e.dim {
            return Err(EncoderError::Data(format!(
                "{} values for {} rows of dimension {}",
                e.matrix.len(),
                keys.len(),
                e.dim
            )));
        }
        Ok(Self {
            matrix: e.matrix,
            dim: e.dim,
            keys,
        })
    }
}

/// Embeds `images` with `net` (no grad, eval mode), loading them in the background.
pub(crate) fn embed_with(
    net: &Network,
    output: OutputKind,
    device: Device,
    images: &[PathBuf],
    loader: &LoaderConfig,
    batch: usize,
) -> Result<ImageEmbeddings, EncoderError> {
    let batch = batch.max(1);
    let jobs = (0..images.len())
        .step_by(batch)
        .enumerate()
        .map(|(index, start)| Job {
            index,
            items: (start..(start + batch).min(images.len())).collect(),
            crop: Crop::Center,
        })
        .collect();
    let threads = prefetch::loader_threads(0, device);
    let (rx, handle) = prefetch::spawn(Arc::new(images.to_vec()), loader.clone(), jobs, 2, threads);
    let mut out = ImageEmbeddings {
        dim: usize::try_from(net.config().out_dim).unwrap_or(0),
        ..Default::default()
    };
    let mut bar = crate::progress::Progress::new(true, "embed", images.len() as u64, 0);
    for b in rx {
        bar.inc(
            (b.items.len() + b.skipped.len()) as u64,
            "images embedded".into(),
        );
        out.skipped.extend(b.skipped);
        if b.items.is_empty() {
            continue;
        }
        let x = batch_tensor(&b.data, i64::from(loader.crop), device)?;
        let e =
            tch::no_grad(|| net.embedding(&net.forward_raw(&x, crate::nets::Phase::Eval), output));
        out.matrix.extend(to_vec(&e)?);
        out.loaded.extend(b.items);
    }
    let _ = handle.join();
    bar.finish();
    Ok(out)
}

/// Embeds the images of a cached set (view 0, the centre crop) with `net`'s learnable part.
pub(crate) fn embed_set(
    net: &Network,
    output: OutputKind,
    device: Device,
    set: &FeatureSet,
    batch: usize,
) -> Result<ImageEmbeddings, EncoderError> {
    let loaded = set.loaded();
    let mut out = ImageEmbeddings {
        dim: usize::try_from(net.config().out_dim).unwrap_or(0),
        loaded: loaded.clone(),
        skipped: set.skipped().to_vec(),
        ..Default::default()
    };
    for rows in loaded.chunks(batch.max(1)) {
        let x = set.batch(rows, &vec![0; rows.len()], device)?;
        let e = tch::no_grad(|| {
            net.embedding(
                &net.forward_from_boundary(&x, crate::nets::Phase::Eval),
                output,
            )
        });
        out.matrix.extend(to_vec(&e)?);
    }
    Ok(out)
}
