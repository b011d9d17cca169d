//! A trained encoder on disk (`model.json` + weights) and image embedding.
use crate::cache::{FeatureCache, FeatureSet};
use crate::config::{CacheConfig, DeviceChoice, ModelConfig};
use crate::device::resolve_device;
use crate::error::{torch, EncoderError};
use crate::files::{read_json, BEST, LAST, MODEL};
use crate::model::{Network, OutputKind};
use crate::prefetch::{self, Job};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tch::{nn, Device, Kind, Tensor};
use webly_data::{Crop, LoaderConfig, Skipped};

/// `model.json`: everything needed to rebuild the network without outside configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedModel {
    pub model: ModelConfig,
    pub output: OutputKind,
    /// The loader the network was trained with (crop = input side for [`Encoder::embed_batch`]).
    pub loader: LoaderConfig,
    /// The activation cache it trained from (folder resolved), when it did: embedding a set
    /// of images goes through the same cache.
    #[serde(default)]
    pub cache: Option<CacheConfig>,
}

/// Embeddings of a list of images: row `k` of `matrix` is image `loaded[k]` of the input list.
#[derive(Debug, Clone, Default)]
pub struct Embeddings {
    /// `loaded.len() * dim` values, L2-normalised rows when the model normalises.
    pub matrix: Vec<f32>,
    pub dim: usize,
    pub loaded: Vec<usize>,
    pub skipped: Vec<Skipped>,
}

/// Embedding rows with the key of each row: the keys are aligned with the rows once, where
/// the rows are made, and travel with them.
#[derive(Debug, Clone, Default)]
pub struct KeyedEmbeddings {
    /// `keys.len() * dim` values, row `k` belongs to `keys[k]`.
    pub matrix: Vec<f32>,
    pub dim: usize,
    pub keys: Vec<String>,
}

impl KeyedEmbeddings {
    /// The rows of `e` with their keys: row `k` is input image `e.loaded[k]`, whose key is
    /// `keys[e.loaded[k]]`.
    ///
    /// # Errors
    /// When a loaded index has no key or the matrix does not hold `loaded.len()` rows.
    pub fn new(e: Embeddings, keys: &[String]) -> Result<Self, EncoderError> {
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

/// Copies a `[n, d]` float tensor to a Vec.
pub(crate) fn to_vec(t: &Tensor) -> Result<Vec<f32>, EncoderError> {
    let flat = t
        .to_kind(Kind::Float)
        .to_device(Device::Cpu)
        .contiguous()
        .view([-1]);
    Vec::<f32>::try_from(&flat).map_err(torch("copying a tensor to host memory"))
}

/// A `[n, 3, side, side]` tensor from a CHW batch.
pub(crate) fn batch_tensor(
    data: &[f32],
    side: i64,
    device: Device,
) -> Result<Tensor, EncoderError> {
    let per = 3 * side * side;
    let len =
        i64::try_from(data.len()).map_err(|_| EncoderError::Data("batch too large".into()))?;
    if per == 0 || len % per != 0 {
        return Err(EncoderError::Data(format!(
            "a batch of {len} floats is not a whole number of 3x{side}x{side} images"
        )));
    }
    Ok(Tensor::from_slice(data)
        .view([len / per, 3, side, side])
        .to_device(device))
}

/// Embeds `images` with `net` (no grad, eval mode), loading them in the background.
pub(crate) fn embed_with(
    net: &Network,
    output: OutputKind,
    device: Device,
    images: &[PathBuf],
    loader: &LoaderConfig,
    batch: usize,
) -> Result<Embeddings, EncoderError> {
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
    let mut out = Embeddings {
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
        let e = tch::no_grad(|| net.embedding(&net.forward_raw(&x, false), output));
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
) -> Result<Embeddings, EncoderError> {
    let loaded = set.loaded();
    let mut out = Embeddings {
        dim: usize::try_from(net.config().out_dim).unwrap_or(0),
        loaded: loaded.clone(),
        skipped: set.skipped().to_vec(),
        ..Default::default()
    };
    for rows in loaded.chunks(batch.max(1)) {
        let x = set.batch(rows, &vec![0; rows.len()], device)?;
        let e = tch::no_grad(|| net.embedding(&net.forward_from_boundary(&x, false), output));
        out.matrix.extend(to_vec(&e)?);
    }
    Ok(out)
}

/// A trained encoder loaded from a run folder.
#[derive(Debug)]
pub struct Encoder {
    vs: nn::VarStore,
    net: Network,
    saved: SavedModel,
}

impl Encoder {
    /// Loads `dir/model.json` and `best.safetensors` (else `last.safetensors`), on CUDA when
    /// available.
    pub fn load(dir: &Path) -> Result<Self, EncoderError> {
        Self::load_on(dir, DeviceChoice::Auto)
    }

    /// As [`Encoder::load`], on the chosen device.
    pub fn load_on(dir: &Path, device: DeviceChoice) -> Result<Self, EncoderError> {
        let weights = [BEST, LAST]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.exists());
        let weights = weights.ok_or_else(|| {
            EncoderError::Config(format!("{} holds neither {BEST} nor {LAST}", dir.display()))
        })?;
        Self::load_weights(&dir.join(MODEL), &weights, device)
    }

    /// Loads a given `model.json` and weights file.
    pub fn load_weights(
        model_json: &Path,
        weights: &Path,
        device: DeviceChoice,
    ) -> Result<Self, EncoderError> {
        let saved: SavedModel = read_json(model_json)?;
        // Every variable comes from `weights`: nothing pretrained is loaded first.
        let model = ModelConfig {
            pretrained: None,
            ..saved.model.clone()
        };
        let mut vs = nn::VarStore::new(resolve_device(device)?);
        let net = Network::build(&mut vs, &model)?;
        vs.load(weights)
            .map_err(torch(format!("loading weights {}", weights.display())))?;
        Ok(Self { vs, net, saved })
    }

    /// What was loaded.
    pub fn saved(&self) -> &SavedModel {
        &self.saved
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        usize::try_from(self.saved.model.out_dim).unwrap_or(0)
    }

    /// Input side the network was trained at (`loader.crop`).
    pub fn crop(&self) -> u32 {
        self.saved.loader.crop
    }

    /// Embeds a CHW batch of `crop x crop` RGB 0..=255 images (as `webly_data::Batch::data`):
    /// `n * dim` values.
    pub fn embed_batch(&self, data: &[f32]) -> Result<Vec<f32>, EncoderError> {
        let x = batch_tensor(data, i64::from(self.crop()), self.vs.device())?;
        let e = tch::no_grad(|| {
            self.net
                .embedding(&self.net.forward_raw(&x, false), self.saved.output)
        });
        to_vec(&e)
    }

    /// Embeds a set of image files (centre crop) through the activation cache the model trained
    /// from, filling it for images not yet cached (`set` names the cache folder, e.g. `test`);
    /// without a cache, as [`Encoder::embed_paths`]. Rows equal the uncached embedding up to
    /// the cache's storage type.
    pub fn embed_set(
        &self,
        set: &str,
        images: &[PathBuf],
        batch: usize,
        progress: bool,
    ) -> Result<Embeddings, EncoderError> {
        let cache = match &self.saved.cache {
            Some(c) => FeatureCache::open(
                &self.saved.model,
                &self.saved.loader,
                c,
                Path::new("features"),
                self.vs.device(),
            )?,
            None => None,
        };
        let Some(cache) = cache else {
            return self.embed_paths(images, &self.saved.loader, batch);
        };
        let (features, _) = cache.ensure(set, images, 1, progress)?;
        embed_set(
            &self.net,
            self.saved.output,
            self.vs.device(),
            &features,
            batch,
        )
    }

    /// Embeds image files (center crop), `batch` at a time.
    pub fn embed_paths(
        &self,
        images: &[PathBuf],
        loader: &LoaderConfig,
        batch: usize,
    ) -> Result<Embeddings, EncoderError> {
        embed_with(
            &self.net,
            self.saved.output,
            self.vs.device(),
            images,
            loader,
            batch,
        )
    }
}

/// Loads the encoder in `model_dir` and embeds `images` with `loader` (center crop).
pub fn embed(
    model_dir: &Path,
    images: &[PathBuf],
    loader: &LoaderConfig,
    batch: usize,
) -> Result<Embeddings, EncoderError> {
    Encoder::load(model_dir)?.embed_paths(images, loader, batch)
}
