//! The activation cache at the freeze boundary.
//!
//! When the first stages of a pretrained backbone are frozen, their output (the *boundary
//! activation*, [`Network::boundary`]) depends only on the image, the weights, the preprocessing
//! and the view, never on training. It is computed once per image and view and kept on disk; the
//! learnable rest (the unfrozen stages, the pool, the head) trains from it, so an epoch costs
//! the head, not the backbone.
//!
//! Layout under [`CacheConfig::dir`]:
//! - `<fingerprint>/manifest.json` ([`CacheManifest`](crate::cache::CacheManifest)): arch, padding, weights digest, frozen
//!   stages, loader, dtype, view seed, the activation's shape and bytes per view. The
//!   fingerprint hashes all of these, so any change is another folder and the models of a run
//!   that share a backbone (the triplet model and the cross-entropy baseline) share one cache.
//! - `<fingerprint>/<set>-v<views>/shard-NNNNN.safetensors`: tensor `features`,
//!   `[images, views, ...activation]`, F16 or F32, rows in the order of the image list (numpy
//!   and PyTorch read it with the `safetensors` package); `shard-NNNNN.json`: the image paths,
//!   their length and modification time, which of them loaded, the tensor file's checksum. The
//!   JSON is written after the tensor file, both by rename: a shard without it, whose images'
//!   signatures changed (an image edited in place) or whose tensor file no longer matches its
//!   checksum (cut short, zeroed, a flipped byte), is extracted again. A kill -9 loses at most
//!   the shard being written.
//! - Views: 0 the centre crop, 1 its mirror, 2.. random crops with a random mirror, seeded by
//!   ([`CacheConfig::seed`], shard, batch, view, position). Training samples one view per image
//!   per epoch; validation and test sets keep view 0.
mod set;
mod shard;

pub use set::FeatureSet;
pub use shard::Signature;

use crate::config::{Arch, CacheConfig, CacheDtype, ComputeKind, Freeze, ModelConfig, Padding};
use crate::error::{io, torch, EncoderError};
use crate::files::write_json;
use crate::model::Network;
use crate::prefetch::{self, derive_seed, Job};
use crate::progress::Progress;
use crate::tensors::batch_tensor;
use crate::Bar;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shard::ShardIndex;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};
use webly_data::{Crop, LoaderConfig, ShardSpec};

/// Version of the on-disk layout (part of the fingerprint).
const FORMAT_VERSION: u32 = 2;
/// Images decoded and forwarded at once during extraction.
const EXTRACT_BATCH: usize = 32;
/// Batches decoded ahead of the forward pass during extraction.
const EXTRACT_PREFETCH: usize = 3;
/// Seed stream of the random-crop views (disjoint from training's streams).
const STREAM_VIEWS: u64 = 0x5649_4557; // "VIEW"
/// Hex digits of the fingerprint that name a cache folder.
const FINGERPRINT_HEX: usize = 16;
/// The manifest of a cache folder.
pub const CACHE_MANIFEST: &str = "manifest.json";

/// `manifest.json` of a cache folder: what produced its activations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheManifest {
    /// Version of the cache's file layout; another version is extracted again.
    pub format: u32,
    /// The backbone's architecture.
    pub arch: Arch,
    /// The backbone's padding (EfficientNet).
    pub padding: Padding,
    /// The pretrained weights file and the SHA-256 of its bytes.
    pub weights: PathBuf,
    /// SHA-256 of the weights file's bytes, hex.
    pub weights_sha256: String,
    /// Backbone stages whose output is cached, of `stages`.
    pub frozen_stages: usize,
    /// Stages of the backbone in all.
    pub stages: usize,
    /// The loader settings that decoded and cropped the images.
    pub loader: LoaderConfig,
    /// [`webly_data::PIXELS_VERSION`] of the loader that decoded the images (0 before it was
    /// recorded): another version makes other pixels from the same file, so another cache.
    #[serde(default)]
    pub pixels: u32,
    /// The stored float type.
    pub dtype: CacheDtype,
    /// Arithmetic of the extraction as resolved on the machine that ran it (f32 or bf16).
    pub compute: ComputeKind,
    /// Seed of the random-crop views.
    pub seed: u64,
    /// Shape of one view's activation: `[features]` when the whole backbone is frozen, else
    /// `[channels, height, width]`.
    pub shape: Vec<i64>,
    /// Bytes stored per image and view.
    pub bytes_per_view: usize,
}

/// What [`FeatureCache::ensure`] did for one set of images.
#[derive(Debug, Clone, Default)]
pub struct ExtractReport {
    /// The set's name (its folder: `train`, `val`, `test`, a shard's stem).
    pub set: String,
    /// Images in the set.
    pub images: usize,
    /// Views cached per image.
    pub views: usize,
    /// Shards the set is stored in.
    pub shards: usize,
    /// Shards computed now (the rest were reused).
    pub extracted_shards: usize,
    /// Image views decoded and run through the frozen stages now.
    pub decoded_views: usize,
    /// Images that could not be loaded (left out of training and embedding).
    pub skipped: usize,
    /// Each image that could not be loaded, with the reason.
    pub skipped_files: Vec<webly_data::Skipped>,
    /// Wall-clock seconds the set took (reused shards included).
    pub seconds: f64,
    /// Bytes of activations the set holds.
    pub bytes: u64,
}

impl ExtractReport {
    /// Decoded views per second (0 when everything was reused).
    pub fn views_per_s(&self) -> f64 {
        self.decoded_views as f64 / self.seconds.max(1e-9)
    }
}

impl fmt::Display for ExtractReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[features] {}: {} images x {} views, {} of {} shards extracted ({} views decoded, \
             {:.0}/s), {} skipped, {:.1} MB, {:.1} s",
            self.set,
            self.images,
            self.views,
            self.extracted_shards,
            self.shards,
            self.decoded_views,
            self.views_per_s(),
            self.skipped,
            self.bytes as f64 / 1e6,
            self.seconds
        )
    }
}

/// The frozen part of a pretrained backbone, able to fill and open its cache.
pub struct FeatureCache {
    // The variables `net` runs on.
    _vs: nn::VarStore,
    net: Network,
    device: Device,
    loader: LoaderConfig,
    cfg: CacheConfig,
    root: PathBuf,
    manifest: CacheManifest,
}

impl fmt::Debug for FeatureCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeatureCache")
            .field("root", &self.root)
            .field("manifest", &self.manifest)
            .finish()
    }
}

/// SHA-256 of a file's bytes, hex.
fn file_sha256(path: &Path) -> Result<String, EncoderError> {
    let mut file = std::fs::File::open(path).map_err(io("open", path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io("read", path))?;
    Ok(hex::encode(hasher.finalize()))
}

impl FeatureCache {
    /// Whether a model trains from a cache: caching enabled, pretrained weights, frozen stages.
    pub fn applies(model: &ModelConfig, cache: &CacheConfig) -> bool {
        cache.enabled && model.pretrained.is_some() && model.freeze != Freeze::None
    }

    /// The cache of `model`'s frozen stages under `cache.dir` (else `default_dir`), or `None`
    /// when [`FeatureCache::applies`] is false. Builds the network with its pretrained weights
    /// and writes the manifest.
    ///
    /// # Errors
    /// An unreadable weights file, a weights file that lacks backbone variables, a bad config.
    pub fn open(
        model: &ModelConfig,
        loader: &LoaderConfig,
        cache: &CacheConfig,
        default_dir: &Path,
        device: Device,
    ) -> Result<Option<Self>, EncoderError> {
        let Some(weights) = model
            .pretrained
            .clone()
            .filter(|_| Self::applies(model, cache))
        else {
            return Ok(None);
        };
        if cache.views == 0 || cache.shard_images == 0 {
            return Err(EncoderError::Config(format!(
                "cache.views ({}) and cache.shard_images ({}) must be positive",
                cache.views, cache.shard_images
            )));
        }
        loader
            .validate()
            .map_err(|e| EncoderError::Config(e.to_string()))?;
        let mut vs = nn::VarStore::new(device);
        let net = Network::build(&mut vs, model)?;
        let compute = cache.compute.resolve(device);
        if compute == ComputeKind::Bf16 {
            vs.bfloat16();
        }
        let side = i64::from(loader.crop);
        let probe = Tensor::zeros([1, 3, side, side], (compute_kind(compute), device));
        let shape = tch::no_grad(|| net.boundary(&probe)).size()[1..].to_vec();
        let elems = shape.iter().product::<i64>() as usize;
        let manifest = CacheManifest {
            format: FORMAT_VERSION,
            arch: model.arch,
            padding: model.padding,
            weights_sha256: file_sha256(&weights)?,
            weights,
            frozen_stages: net.frozen_stages(),
            stages: net.stages(),
            loader: loader.clone(),
            pixels: webly_data::PIXELS_VERSION,
            dtype: cache.dtype,
            compute,
            seed: cache.seed,
            shape,
            bytes_per_view: elems * shard::elem_bytes(cache.dtype),
        };
        let dir = cache
            .dir
            .clone()
            .unwrap_or_else(|| default_dir.to_path_buf());
        let root = dir.join(fingerprint(&manifest));
        std::fs::create_dir_all(&root).map_err(io("create the cache folder", &root))?;
        write_json(&root.join(CACHE_MANIFEST), &manifest)?;
        Ok(Some(Self {
            _vs: vs,
            net,
            device,
            loader: loader.clone(),
            cfg: cache.clone(),
            root,
            manifest,
        }))
    }

    /// The folder of this backbone's cache.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// What produced the activations.
    pub fn manifest(&self) -> &CacheManifest {
        &self.manifest
    }

    /// Makes sure `images` have `views` cached views in set `set` (a folder name such as
    /// `train`), extracting only the shards that are missing or stale, and opens the set.
    /// Images that cannot be loaded are skipped and counted, never fatal.
    pub fn ensure(
        &self,
        set: &str,
        images: &[PathBuf],
        views: usize,
        bar: Bar,
    ) -> Result<(FeatureSet, ExtractReport), EncoderError> {
        let (dir, indexes, mut report) = self.fill(set, images, views, bar, None)?;
        let indexes: Vec<ShardIndex> = indexes.into_iter().flatten().collect();
        let set_files =
            FeatureSet::open(&dir, indexes, self.cfg.shard_images, views, &self.manifest)?;
        report.skipped = set_files.skipped().len();
        report.skipped_files = set_files.skipped().to_vec();
        Ok((set_files, report))
    }

    /// One task's part of [`FeatureCache::ensure`] (`webly extract --part I/N`): makes sure the
    /// cache shards `s` of the set with `part.takes(s)` are there (shard `s` holds images
    /// `s * shard_images..`), extracting the missing or stale ones, and leaves the others alone.
    /// Tasks side by side write distinct shard files into one set folder, each committed by its
    /// own rename, so when every part is done the whole set is, and [`FeatureCache::ensure`]
    /// extracts nothing. The report counts this part's shards, images and skipped images.
    pub fn ensure_part(
        &self,
        set: &str,
        images: &[PathBuf],
        views: usize,
        part: ShardSpec,
        bar: Bar,
    ) -> Result<ExtractReport, EncoderError> {
        let (_, indexes, mut report) = self.fill(set, images, views, bar, Some(part))?;
        let mine: Vec<&ShardIndex> = indexes.iter().flatten().collect();
        report.shards = mine.len();
        report.images = mine.iter().map(|i| i.images.len()).sum();
        report.bytes = (report.images * report.views * self.manifest.bytes_per_view) as u64;
        for index in mine {
            for (r, path) in index.images.iter().enumerate() {
                if !index.ok[r] {
                    report.skipped_files.push(webly_data::Skipped {
                        path: path.clone(),
                        reason: index.reasons.get(&r).cloned().unwrap_or_default(),
                    });
                }
            }
        }
        report.skipped = report.skipped_files.len();
        Ok(report)
    }

    /// Extracts the stale shards of a set (of `part` only, when given); returns the set folder,
    /// every shard's index (`None` for shards outside `part`) and a report without the skipped
    /// images.
    #[allow(clippy::type_complexity)]
    fn fill(
        &self,
        set: &str,
        images: &[PathBuf],
        views: usize,
        bar: Bar,
        part: Option<ShardSpec>,
    ) -> Result<(PathBuf, Vec<Option<ShardIndex>>, ExtractReport), EncoderError> {
        let t0 = Instant::now();
        let views = views.max(1);
        let dir = self.root.join(format!("{set}-v{views}"));
        std::fs::create_dir_all(&dir).map_err(io("create the cache folder", &dir))?;
        let per = self.cfg.shard_images;
        let ranges: Vec<std::ops::Range<usize>> = (0..images.len())
            .step_by(per)
            .map(|s| s..(s + per).min(images.len()))
            .collect();
        let wanted = |s: usize| part.is_none_or(|p| p.takes(s));
        let signatures: Vec<Option<Signature>> = images
            .par_iter()
            .enumerate()
            .map(|(i, p)| {
                if wanted(i / per) {
                    Signature::of(p)
                } else {
                    None
                }
            })
            .collect();
        let mut indexes: Vec<Option<ShardIndex>> = ranges
            .iter()
            .enumerate()
            .map(|(s, r)| {
                if !wanted(s) {
                    return None;
                }
                shard::valid_index(
                    &dir,
                    s,
                    &images[r.clone()],
                    &signatures[r.clone()],
                    views,
                    &self.manifest.shape,
                    self.cfg.dtype,
                )
            })
            .collect();
        let stale: Vec<usize> = (0..ranges.len())
            .filter(|&s| wanted(s) && indexes[s].is_none())
            .collect();
        let decoded_views = if stale.is_empty() {
            0
        } else {
            self.extract(
                &dir,
                images,
                &signatures,
                &ranges,
                &stale,
                views,
                bar,
                &mut indexes,
            )?
        };
        let report = ExtractReport {
            set: set.to_string(),
            images: images.len(),
            views,
            shards: ranges.len(),
            extracted_shards: stale.len(),
            decoded_views,
            skipped: 0,
            skipped_files: Vec::new(),
            seconds: t0.elapsed().as_secs_f64(),
            bytes: (images.len() * views * self.manifest.bytes_per_view) as u64,
        };
        Ok((dir, indexes, report))
    }

    /// Extracts the `stale` shards; returns the views decoded.
    #[allow(clippy::too_many_arguments)]
    fn extract(
        &self,
        dir: &Path,
        images: &[PathBuf],
        signatures: &[Option<Signature>],
        ranges: &[std::ops::Range<usize>],
        stale: &[usize],
        views: usize,
        bar: Bar,
        indexes: &mut [Option<ShardIndex>],
    ) -> Result<usize, EncoderError> {
        // Loaded views: the centre crop (its mirror is flipped from it) and the random ones.
        let loaded_views: Vec<usize> = std::iter::once(0).chain(2..views).collect();
        let mut jobs = Vec::new();
        let mut meta = Vec::new();
        for &s in stale {
            for (c, start) in ranges[s].clone().step_by(EXTRACT_BATCH).enumerate() {
                let items: Vec<usize> =
                    (start..(start + EXTRACT_BATCH).min(ranges[s].end)).collect();
                for &v in &loaded_views {
                    let crop = match v {
                        0 => Crop::Center,
                        _ => Crop::Random {
                            seed: derive_seed(
                                derive_seed(self.cfg.seed, STREAM_VIEWS, v as u64),
                                s as u64,
                                c as u64,
                            ),
                        },
                    };
                    meta.push((s, v));
                    jobs.push(Job {
                        index: jobs.len(),
                        items: items.clone(),
                        crop,
                    });
                }
            }
        }
        let mut remaining: HashMap<usize, usize> = HashMap::new();
        for &(s, _) in &meta {
            *remaining.entry(s).or_default() += 1;
        }
        let threads = prefetch::loader_threads(0, self.device);
        let (rx, handle) = prefetch::spawn(
            Arc::new(images.to_vec()),
            self.loader.clone(),
            jobs,
            EXTRACT_PREFETCH,
            threads,
        );
        let total = (stale.iter().map(|&s| ranges[s].len()).sum::<usize>() * views) as u64;
        let mut bar = Progress::new(bar == Bar::Show, "features", total, 0);
        let per_view = self.manifest.bytes_per_view;
        let mut buffers: HashMap<usize, ShardBuffer> = HashMap::new();
        let mut decoded = 0;
        for b in rx {
            let (s, v) = meta[b.index];
            let range = ranges[s].clone();
            let buf = buffers
                .entry(s)
                .or_insert_with(|| ShardBuffer::new(range.len(), views, per_view));
            for skipped in b.skipped {
                let row = images[range.clone()]
                    .iter()
                    .position(|p| *p == skipped.path);
                if let Some(row) = row {
                    buf.ok[row] = false;
                    buf.reasons.entry(row).or_insert(skipped.reason);
                }
            }
            if !b.items.is_empty() {
                let x = batch_tensor(&b.data, i64::from(self.loader.crop), self.device)?;
                let rows: Vec<usize> = b.items.iter().map(|&i| i - range.start).collect();
                self.store(buf, &x, &rows, v, per_view)?;
                if v == 0 && views > 1 {
                    self.store(buf, &x.flip([3]), &rows, 1, per_view)?;
                }
                let n = rows.len() * if v == 0 && views > 1 { 2 } else { 1 };
                decoded += n;
                bar.inc(
                    n as u64,
                    format!("{} views into {}", decoded, dir.display()),
                );
            }
            let left = remaining.entry(s).or_default();
            *left -= 1;
            if *left == 0 {
                let buf = buffers
                    .remove(&s)
                    .unwrap_or_else(|| ShardBuffer::new(0, views, 0));
                let index = ShardIndex {
                    images: images[range.clone()].to_vec(),
                    signatures: signatures[range].to_vec(),
                    ok: buf.ok,
                    reasons: buf.reasons,
                    views,
                    shape: self.manifest.shape.clone(),
                    dtype: self.cfg.dtype,
                    checksum: String::new(),
                };
                indexes[s] = Some(shard::write(dir, s, index, &buf.data)?);
            }
        }
        let _ = handle.join();
        bar.finish();
        if let Some(s) = stale.iter().find(|&&s| indexes[s].is_none()) {
            return Err(EncoderError::Data(format!(
                "extraction of cache shard {s} in {} did not finish",
                dir.display()
            )));
        }
        Ok(decoded)
    }

    /// Runs the frozen stages on `x` and copies each image's activation into `buf` at view `v`.
    fn store(
        &self,
        buf: &mut ShardBuffer,
        x: &Tensor,
        rows: &[usize],
        v: usize,
        per_view: usize,
    ) -> Result<(), EncoderError> {
        let kind = match self.cfg.dtype {
            CacheDtype::F16 => Kind::Half,
            CacheDtype::F32 => Kind::Float,
        };
        let x = x.to_kind(compute_kind(self.manifest.compute));
        let out = tch::no_grad(|| self.net.boundary(&x))
            .to_device(Device::Cpu)
            .to_kind(kind)
            .contiguous();
        let mut bytes = vec![0u8; rows.len() * per_view];
        out.f_copy_data_u8(
            &mut bytes,
            rows.len() * per_view / shard::elem_bytes(self.cfg.dtype),
        )
        .map_err(torch("copying cached activations to host memory"))?;
        for (k, &r) in rows.iter().enumerate() {
            let at = (r * buf.views + v) * per_view;
            buf.data[at..at + per_view].copy_from_slice(&bytes[k * per_view..(k + 1) * per_view]);
        }
        Ok(())
    }
}

/// The tensor kind of an extraction's arithmetic.
fn compute_kind(compute: ComputeKind) -> Kind {
    match compute {
        ComputeKind::Auto | ComputeKind::F32 => Kind::Float,
        ComputeKind::Bf16 => Kind::BFloat16,
    }
}

/// A shard being filled.
struct ShardBuffer {
    data: Vec<u8>,
    views: usize,
    ok: Vec<bool>,
    reasons: HashMap<usize, String>,
}

impl ShardBuffer {
    fn new(rows: usize, views: usize, per_view: usize) -> Self {
        Self {
            data: vec![0; rows * views * per_view],
            views,
            ok: vec![true; rows],
            reasons: HashMap::new(),
        }
    }
}

/// The folder name of a manifest: a hash of everything that determines the activations (not the
/// weights file's path, only its bytes).
fn fingerprint(m: &CacheManifest) -> String {
    let key = CacheManifest {
        weights: PathBuf::new(),
        ..m.clone()
    };
    let json = serde_json::to_vec(&key).unwrap_or_default();
    hex::encode(Sha256::digest(&json))[..FINGERPRINT_HEX].to_string()
}
