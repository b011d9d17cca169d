//! A trained encoder on disk (`model.json` + weights) and image embedding.
use crate::config::{DeviceChoice, ModelConfig};
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
    // Hidden when stderr is not a terminal (indicatif's default target).
    let bar = crate::train::progress_bar(true, images.len().div_ceil(batch) as u64, 0);
    bar.set_message("embedding images");
    for b in rx {
        bar.inc(1);
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
    bar.finish_and_clear();
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
        let mut saved: SavedModel = read_json(model_json)?;
        saved.model.pretrained = None;
        let mut vs = nn::VarStore::new(resolve_device(device)?);
        let net = Network::build(&mut vs, &saved.model)?;
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
