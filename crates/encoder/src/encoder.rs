//! A trained encoder on disk (`model.json` + weights) and image embedding.
use crate::cache::FeatureCache;
use crate::config::{CacheConfig, DeviceChoice, ModelConfig};
use crate::device::resolve_device;
use crate::embedding::{embed_set, embed_with, ImageEmbeddings};
use crate::error::{torch, EncoderError};
use crate::files::{read_json, BEST, LAST, MODEL};
use crate::model::{Network, OutputKind};
use crate::tensors::{batch_tensor, to_vec};
use crate::Bar;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::nn;
use webly_data::LoaderConfig;

/// `model.json`: everything needed to rebuild the network without outside configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedModel {
    /// The network: architecture, widths, head, output dimension.
    pub model: ModelConfig,
    /// How the raw output becomes an embedding (L2-normalised, or sigmoid-centred for the cross-entropy baseline).
    pub output: OutputKind,
    /// The loader the network was trained with (crop = input side for [`Encoder::embed_batch`]).
    pub loader: LoaderConfig,
    /// The activation cache it trained from (folder resolved), when it did: embedding a set
    /// of images goes through the same cache.
    #[serde(default)]
    pub cache: Option<CacheConfig>,
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

    /// An encoder of a network built in `vs` (the ensemble gathered after training).
    pub(crate) fn from_parts(vs: nn::VarStore, net: Network, saved: SavedModel) -> Self {
        Self { vs, net, saved }
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
            self.net.embedding(
                &self.net.forward_raw(&x, crate::nets::Phase::Eval),
                self.saved.output,
            )
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
        bar: Bar,
    ) -> Result<ImageEmbeddings, EncoderError> {
        let cache = match &self.saved.cache {
            Some(c) => FeatureCache::open(
                &self.saved.model,
                &self.saved.loader,
                c,
                Path::new(crate::config::DEFAULT_CACHE_DIR),
                self.vs.device(),
            )?,
            None => None,
        };
        let Some(cache) = cache else {
            return self.embed_paths(images, &self.saved.loader, batch);
        };
        let (features, _) = cache.ensure(set, images, 1, bar)?;
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
    ) -> Result<ImageEmbeddings, EncoderError> {
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
) -> Result<ImageEmbeddings, EncoderError> {
    Encoder::load(model_dir)?.embed_paths(images, loader, batch)
}
