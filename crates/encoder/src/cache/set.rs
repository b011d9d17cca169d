//! A cached set opened for reading: memory-mapped shards, gathered into batches.
use super::shard::{self, MappedShard, ShardIndex};
use super::CacheManifest;
use crate::config::CacheDtype;
use crate::error::{torch, EncoderError};
use std::path::Path;
use tch::{Device, Kind, Tensor};
use webly_data::Skipped;

/// The cached activations of a list of images (row `i` = image `i` of the list given to
/// [`super::FeatureCache::ensure`]), memory-mapped.
pub struct FeatureSet {
    shards: Vec<MappedShard>,
    shard_images: usize,
    views: usize,
    shape: Vec<i64>,
    dtype: CacheDtype,
    ok: Vec<bool>,
    skipped: Vec<Skipped>,
}

impl std::fmt::Debug for FeatureSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureSet")
            .field("images", &self.ok.len())
            .field("views", &self.views)
            .field("shape", &self.shape)
            .finish()
    }
}

impl FeatureSet {
    /// Maps every shard of `dir` (`indexes` in shard order, all complete).
    pub(crate) fn open(
        dir: &Path,
        indexes: Vec<ShardIndex>,
        shard_images: usize,
        views: usize,
        manifest: &CacheManifest,
    ) -> Result<Self, EncoderError> {
        let mut set = Self {
            shards: Vec::with_capacity(indexes.len()),
            shard_images,
            views,
            shape: manifest.shape.clone(),
            dtype: manifest.dtype,
            ok: Vec::new(),
            skipped: Vec::new(),
        };
        for (s, index) in indexes.into_iter().enumerate() {
            set.shards.push(MappedShard::open(dir, s, &index)?);
            for (r, path) in index.images.iter().enumerate() {
                if !index.ok[r] {
                    set.skipped.push(Skipped {
                        path: path.clone(),
                        reason: index.reasons.get(&r).cloned().unwrap_or_default(),
                    });
                }
            }
            set.ok.extend(index.ok);
        }
        Ok(set)
    }

    /// Number of images (loaded or not).
    pub fn len(&self) -> usize {
        self.ok.len()
    }

    /// True when the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.ok.is_empty()
    }

    /// Views per image.
    pub fn views(&self) -> usize {
        self.views
    }

    /// Shape of one view's activation.
    pub fn shape(&self) -> &[i64] {
        &self.shape
    }

    /// Rows whose image loaded, ascending.
    pub fn loaded(&self) -> Vec<usize> {
        (0..self.ok.len()).filter(|&i| self.ok[i]).collect()
    }

    /// Images that could not be loaded, with the reason.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// The activations of `rows` at `views` (one view per row), as a float tensor
    /// `[rows.len(), ...shape]` on `device`.
    ///
    /// # Errors
    /// A row or view out of range.
    pub fn batch(
        &self,
        rows: &[usize],
        views: &[usize],
        device: Device,
    ) -> Result<Tensor, EncoderError> {
        let per_view = self.shape.iter().product::<i64>() as usize * shard::elem_bytes(self.dtype);
        let mut bytes = Vec::with_capacity(rows.len() * per_view);
        for (&r, &v) in rows.iter().zip(views) {
            if r >= self.ok.len() || v >= self.views {
                return Err(EncoderError::Data(format!(
                    "cached row {r} view {v} out of range ({} rows, {} views)",
                    self.ok.len(),
                    self.views
                )));
            }
            let shard = &self.shards[r / self.shard_images];
            bytes.extend_from_slice(shard.view(r % self.shard_images, v, self.views));
        }
        let mut size = vec![rows.len() as i64];
        size.extend(&self.shape);
        let kind = match self.dtype {
            CacheDtype::F16 => Kind::Half,
            CacheDtype::F32 => Kind::Float,
        };
        let t = Tensor::f_from_data_size(&bytes, &size, kind)
            .map_err(torch("reading cached activations"))?;
        Ok(t.to_kind(Kind::Float).to_device(device))
    }
}
