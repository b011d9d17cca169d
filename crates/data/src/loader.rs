//! Parallel image loading: decode, resize, crop, mirror, f32 CHW.

use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::resize::resize_triangle;

/// JPEG start-of-image and end-of-image markers.
const JPEG_START: [u8; 2] = [0xFF, 0xD8];
const JPEG_END: [u8; 2] = [0xFF, 0xD9];
/// How far from the end of a JPEG file its end marker is looked for (trailing bytes allowed).
const JPEG_END_WINDOW: usize = 4096;
/// Probability of a horizontal mirror under [`Crop::Random`].
const MIRROR_PROBABILITY: f64 = 0.5;

/// How images are resized and cropped. Output pixels are RGB `f32` in `0..=255`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoaderConfig {
    /// The shorter side is first resized to this (aspect kept). If it is below `crop`, `crop` is
    /// used instead. Default 300 (the reference's image size: no resize at all).
    pub resize: u32,
    /// Side of the square crop that is output. Default 224 (the reference's crop).
    pub crop: u32,
    /// Bounds on decoding (defaults: [`DecodeLimits::default`]). Left out of the serialised form
    /// while they are the defaults, so configs and fingerprints written before them still match.
    #[serde(skip_serializing_if = "DecodeLimits::is_default")]
    pub limits: DecodeLimits,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        LoaderConfig {
            resize: 300,
            crop: 224,
            limits: DecodeLimits::default(),
        }
    }
}

/// Bounds that keep a hostile or broken image (a decompression bomb: a small file declaring a
/// huge canvas; an aspect-ratio bomb: a 1 x 400000 strip whose short side is resized up) from
/// costing unbounded memory or time. An image over a bound is an error naming the bound: a
/// dataset skips it with that reason, a query reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecodeLimits {
    /// Most pixels (width x height) an image may declare, checked before decoding and by the
    /// decoder. Default 64 Mpx (8192 x 8192; a 50 Mpx phone photo fits): 192 MB as RGB8.
    pub max_pixels: u64,
    /// Most bytes the decoder may allocate (`image::Limits::max_alloc`). Default 512 MiB.
    pub max_alloc_bytes: u64,
    /// Most pixels of the image after its shorter side is resized (before the crop). Default
    /// 4 Mpx: at a 300-pixel shorter side that allows a 44:1 panorama.
    pub max_resized_pixels: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_pixels: 64 << 20,
            max_alloc_bytes: 512 << 20,
            max_resized_pixels: 4 << 20,
        }
    }
}

impl DecodeLimits {
    /// True for the defaults (they are then not serialised).
    pub fn is_default(&self) -> bool {
        *self == DecodeLimits::default()
    }

    fn check(&self) -> Result<(), DataError> {
        if self.max_pixels == 0 || self.max_alloc_bytes == 0 || self.max_resized_pixels == 0 {
            return Err(DataError::Config(format!(
                "loader limits must be positive, got {self:?}"
            )));
        }
        Ok(())
    }
}

impl LoaderConfig {
    /// Checks that both sides and the limits are positive.
    pub fn validate(&self) -> Result<(), DataError> {
        if self.resize == 0 || self.crop == 0 {
            return Err(DataError::Config(format!(
                "loader resize ({}) and crop ({}) must be positive",
                self.resize, self.crop
            )));
        }
        self.limits.check()
    }

    /// Floats per loaded image: `3 * crop * crop`.
    pub fn image_len(&self) -> usize {
        3 * self.crop as usize * self.crop as usize
    }
}

/// The crop applied after resizing.
#[derive(Clone, Copy, Debug)]
pub enum Crop {
    /// Center crop (evaluation).
    Center,
    /// Random crop plus horizontal mirror with probability 0.5 (training). Deterministic per
    /// `(seed, position in the batch)`, whatever the thread order.
    Random { seed: u64 },
}

/// A file that could not be loaded, and why.
#[derive(Clone, Debug)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// A loaded batch: images that loaded, batch-major, each `3 x crop x crop` (CHW).
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// `loaded.len() * 3 * crop * crop` floats.
    pub data: Vec<f32>,
    /// Input positions that loaded, ascending; image `k` of `data` is `paths[loaded[k]]`.
    pub loaded: Vec<usize>,
    pub skipped: Vec<Skipped>,
}

/// Loads `paths` in parallel (rayon). Bad files (empty, truncated, corrupt, not an image) are
/// skipped with a reason naming them; this never panics on file contents.
pub fn load_batch(paths: &[PathBuf], cfg: &LoaderConfig, crop: Crop) -> Batch {
    let results: Vec<Result<Vec<f32>, DataError>> = paths
        .par_iter()
        .enumerate()
        .map(|(pos, path)| load_image(path, cfg, crop, pos))
        .collect();
    let mut batch = Batch {
        data: Vec::with_capacity(paths.len() * cfg.image_len()),
        ..Batch::default()
    };
    for (pos, (result, path)) in results.into_iter().zip(paths).enumerate() {
        match result {
            Ok(pixels) => {
                batch.data.extend_from_slice(&pixels);
                batch.loaded.push(pos);
            }
            Err(e) => batch.skipped.push(Skipped {
                path: path.clone(),
                reason: e.to_string(),
            }),
        }
    }
    batch
}

/// Loads one image as `3 x crop x crop` floats; `position` seeds [`Crop::Random`].
///
/// This is the one decoding path of webly (training, embedding, queries and `tag` all come
/// here): EXIF orientation applied, limits enforced, format sniffed from the content.
pub fn load_image(
    path: &Path,
    cfg: &LoaderConfig,
    crop: Crop,
    position: usize,
) -> Result<Vec<f32>, DataError> {
    cfg.validate()?;
    let image_error = |message| DataError::Image {
        path: path.to_path_buf(),
        message,
    };
    let bytes = crate::source::read_image_bytes(path)?;
    decode_transform(&bytes, cfg, crop, position).map_err(image_error)
}

/// The one bounded path from encoded bytes to `3 x crop x crop` floats, for files and uploads
/// alike: decode within `cfg.limits`, refuse a resize over `limits.max_resized_pixels`, crop.
fn decode_transform(
    bytes: &[u8],
    cfg: &LoaderConfig,
    crop: Crop,
    position: usize,
) -> Result<Vec<f32>, String> {
    let rgb = decode_rgb(bytes, &cfg.limits)?;
    let (w, h) = resized_size(rgb.dimensions(), cfg.resize.max(cfg.crop));
    let resized_pixels = u64::from(w) * u64::from(h);
    if resized_pixels > cfg.limits.max_resized_pixels {
        return Err(format!(
            "{} x {} pixels would be resized to {w} x {h} = {resized_pixels} pixels, over the \
             limit of {} (limits.max_resized_pixels; an extreme aspect ratio)",
            rgb.width(),
            rgb.height(),
            cfg.limits.max_resized_pixels
        ));
    }
    Ok(transform(&rgb, cfg, crop, position))
}

/// Bounds on an image that comes from outside (an upload): its encoded size and its pixel count,
/// checked from the header before any pixel is decoded.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageLimits {
    /// Largest encoded file, in bytes. Default 8 MiB.
    pub max_bytes: usize,
    /// Largest `width * height`. Default 40 megapixels (a 24 MP camera photo fits).
    pub max_pixels: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_bytes: 8 << 20,
            max_pixels: 40_000_000,
        }
    }
}

/// Loads an encoded image held in memory (an upload) as `3 x crop x crop` floats, refusing
/// (with the reason) bytes over `limits.max_bytes`, images over `limits.max_pixels` or the
/// loader's own `cfg.limits` (read from the header, before decoding) and anything
/// [`load_image`] would skip.
pub fn load_image_bytes(
    bytes: &[u8],
    cfg: &LoaderConfig,
    crop: Crop,
    limits: &ImageLimits,
) -> Result<Vec<f32>, DataError> {
    cfg.validate()?;
    let bad = |message: String| DataError::Image {
        path: PathBuf::from("<upload>"),
        message,
    };
    if bytes.len() > limits.max_bytes {
        return Err(bad(format!(
            "{} bytes, more than the limit of {}",
            bytes.len(),
            limits.max_bytes
        )));
    }
    let (w, h) = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| bad(e.to_string()))?
        .into_dimensions()
        .map_err(|e| bad(format!("not a readable JPEG or PNG: {e}")))?;
    let max_pixels = limits.max_pixels.min(cfg.limits.max_pixels);
    if u64::from(w) * u64::from(h) > max_pixels {
        return Err(bad(format!(
            "{w}x{h} pixels, more than the limit of {max_pixels}"
        )));
    }
    decode_transform(bytes, cfg, crop, 0).map_err(bad)
}

/// Decodes an image file's bytes (JPEG, PNG or WebP, sniffed from the content, whatever the
/// file name says) to RGB8 as a viewer shows it: its EXIF orientation (all 8) applied. Declared
/// and decoded sizes are bounded by `limits`. Errors are reasons for a skip or a message.
pub fn decode_image(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, String> {
    decode_rgb(bytes, limits)
}

pub(crate) fn decode_rgb(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, String> {
    if bytes.is_empty() {
        return Err("empty file".into());
    }
    if bytes.starts_with(&JPEG_START) && !has_jpeg_end(bytes) {
        return Err("truncated JPEG (no end-of-image marker)".into());
    }
    // A decoder bug must not take the whole batch down: a panic becomes a skip reason.
    let decoded = std::panic::catch_unwind(|| decode_oriented(bytes, limits))
        .map_err(|_| "the decoder panicked on this file".to_string())?;
    let img = decoded?;
    if img.width() == 0 || img.height() == 0 {
        return Err("image has no pixels".into());
    }
    Ok(img.into_rgb8())
}

/// Decoding proper: the declared size checked first, the decoder bounded, orientation applied.
fn decode_oriented(bytes: &[u8], limits: &DecodeLimits) -> Result<DynamicImage, String> {
    let reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let (w, h) = decoder.dimensions();
    let declared = u64::from(w) * u64::from(h);
    if declared > limits.max_pixels {
        return Err(format!(
            "declares {w} x {h} = {declared} pixels, over the limit of {} (limits.max_pixels; \
             a decompression bomb?)",
            limits.max_pixels
        ));
    }
    let mut bounds = Limits::default();
    bounds.max_alloc = Some(limits.max_alloc_bytes);
    decoder.set_limits(bounds).map_err(|e| e.to_string())?;
    // A broken EXIF block is not worth losing the picture over: no orientation then.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// Whether the JPEG end-of-image marker `FF D9` lies in the last [`JPEG_END_WINDOW`] bytes.
/// Inside entropy-coded data `FF` is always followed by `00` or a restart marker, so `FF D9`
/// only occurs as a real marker; the decoder itself pads truncated files with grey.
fn has_jpeg_end(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(JPEG_END_WINDOW)..];
    tail.windows(2).any(|w| w == JPEG_END)
}

/// Resizes the shorter side, crops and (maybe) mirrors into CHW floats.
pub(crate) fn transform(
    rgb: &RgbImage,
    cfg: &LoaderConfig,
    crop: Crop,
    position: usize,
) -> Vec<f32> {
    let side = cfg.resize.max(cfg.crop);
    let resized = resize_shorter(rgb, side);
    let (w, h) = resized.dimensions();
    let c = cfg.crop;
    let (x0, y0, mirror) = match crop {
        Crop::Center => ((w - c) / 2, (h - c) / 2, false),
        Crop::Random { seed } => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(position as u64);
            let x0 = rng.gen_range(0..=w - c);
            let y0 = rng.gen_range(0..=h - c);
            (x0, y0, rng.gen_bool(MIRROR_PROBABILITY))
        }
    };
    to_chw(&resized, x0, y0, c, mirror)
}

/// Resizes so that the shorter side is `side` (no-op when it already is).
fn resize_shorter(rgb: &RgbImage, side: u32) -> std::borrow::Cow<'_, RgbImage> {
    let (w, h) = rgb.dimensions();
    if w.min(h) == side {
        return std::borrow::Cow::Borrowed(rgb);
    }
    let (nw, nh) = resized_size((w, h), side);
    std::borrow::Cow::Owned(resize_triangle(rgb, nw, nh))
}

/// The size of a `w x h` image whose shorter side is resized to `side` (aspect kept).
fn resized_size((w, h): (u32, u32), side: u32) -> (u32, u32) {
    if w.min(h) == side {
        return (w, h);
    }
    let scale = f64::from(side) / f64::from(w.min(h).max(1));
    // `as` saturates: an absurd aspect ratio gives u32::MAX, which the limit then refuses.
    let nw = ((f64::from(w) * scale).round() as u32).max(side);
    let nh = ((f64::from(h) * scale).round() as u32).max(side);
    (nw, nh)
}

/// Copies the `c x c` window at `(x0, y0)` into planar RGB floats, mirrored if asked.
fn to_chw(img: &RgbImage, x0: u32, y0: u32, c: u32, mirror: bool) -> Vec<f32> {
    let c = c as usize;
    let plane = c * c;
    let mut out = vec![0f32; 3 * plane];
    let raw = img.as_raw();
    let stride = img.width() as usize * 3;
    for y in 0..c {
        let row = &raw[(y0 as usize + y) * stride + x0 as usize * 3..][..c * 3];
        for x in 0..c {
            let ox = if mirror { c - 1 - x } else { x };
            let px = &row[x * 3..x * 3 + 3];
            let o = y * c + ox;
            out[o] = f32::from(px[0]);
            out[plane + o] = f32::from(px[1]);
            out[2 * plane + o] = f32::from(px[2]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 6x4 image whose pixel (x, y) is (x, y, 7).
    fn ramp() -> RgbImage {
        RgbImage::from_fn(6, 4, |x, y| image::Rgb([x as u8, y as u8, 7]))
    }

    #[test]
    fn center_crop_takes_the_middle_in_chw() {
        let cfg = LoaderConfig {
            resize: 4,
            crop: 2,
            ..LoaderConfig::default()
        };
        let out = transform(&ramp(), &cfg, Crop::Center, 0);
        // x0 = (6-2)/2 = 2, y0 = 1.
        assert_eq!(out[..4], [2.0, 3.0, 2.0, 3.0]); // R = x
        assert_eq!(out[4..8], [1.0, 1.0, 2.0, 2.0]); // G = y
        assert_eq!(out[8..], [7.0; 4]);
    }

    #[test]
    fn mirror_reverses_rows() {
        let out = to_chw(&ramp(), 0, 0, 3, true);
        assert_eq!(out[..3], [2.0, 1.0, 0.0]);
    }

    #[test]
    fn random_crop_is_deterministic_per_seed_and_position() {
        let img = RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8, y as u8, 0]));
        let cfg = LoaderConfig {
            resize: 30,
            crop: 10,
            ..LoaderConfig::default()
        };
        let a = transform(&img, &cfg, Crop::Random { seed: 5 }, 3);
        assert_eq!(a, transform(&img, &cfg, Crop::Random { seed: 5 }, 3));
        let distinct: std::collections::HashSet<Vec<u32>> = (0..20)
            .map(|p| {
                transform(&img, &cfg, Crop::Random { seed: 5 }, p)
                    .iter()
                    .map(|v| *v as u32)
                    .collect()
            })
            .collect();
        assert!(distinct.len() > 10, "crops barely vary: {}", distinct.len());
    }

    #[test]
    fn resize_keeps_aspect_and_sets_shorter_side() {
        let img = RgbImage::new(400, 300);
        let r = resize_shorter(&img, 150);
        assert_eq!(r.dimensions(), (200, 150));
        let cfg = LoaderConfig {
            resize: 8,
            crop: 16,
            ..LoaderConfig::default()
        };
        assert_eq!(transform(&img, &cfg, Crop::Center, 0).len(), 3 * 16 * 16);
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        let l = DecodeLimits::default();
        assert!(decode_rgb(b"", &l).is_err());
        assert!(decode_rgb(b"hello, not an image", &l).is_err());
        assert!(decode_rgb(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16], &l).is_err());
        assert!(has_jpeg_end(&[0xFF, 0xD8, 1, 2, 0xFF, 0xD9, 0]));
        assert!(!has_jpeg_end(&[0xFF, 0xD8, 1, 2, 0xFF, 0x00]));
    }

    #[test]
    fn uploads_are_bounded_in_bytes_and_pixels() {
        let mut png = Vec::new();
        RgbImage::new(30, 20)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let cfg = LoaderConfig {
            resize: 8,
            crop: 8,
            ..LoaderConfig::default()
        };
        let ok = ImageLimits::default();
        assert_eq!(
            load_image_bytes(&png, &cfg, Crop::Center, &ok)
                .unwrap()
                .len(),
            3 * 8 * 8
        );
        let few_pixels = ImageLimits {
            max_pixels: 599,
            ..ImageLimits::default()
        };
        let e = load_image_bytes(&png, &cfg, Crop::Center, &few_pixels).unwrap_err();
        assert!(e.to_string().contains("30x20"), "{e}");
        let few_bytes = ImageLimits {
            max_bytes: png.len() - 1,
            ..ImageLimits::default()
        };
        assert!(load_image_bytes(&png, &cfg, Crop::Center, &few_bytes).is_err());
        assert!(load_image_bytes(b"not an image", &cfg, Crop::Center, &ok).is_err());
        // An aspect-ratio bomb (1 x 400000, few pixels, huge once its short side is resized)
        // is refused like a file, before any resize.
        let mut tall = Vec::new();
        RgbImage::new(1, 400_000)
            .write_to(
                &mut std::io::Cursor::new(&mut tall),
                image::ImageFormat::Png,
            )
            .unwrap();
        let e = load_image_bytes(&tall, &LoaderConfig::default(), Crop::Center, &ok).unwrap_err();
        assert!(e.to_string().contains("max_resized_pixels"), "{e}");
    }

    #[test]
    fn zero_sized_config_is_rejected() {
        let zero = LoaderConfig {
            resize: 0,
            crop: 0,
            ..LoaderConfig::default()
        };
        assert!(zero.validate().is_err());
        let mut no_pixels = LoaderConfig::default();
        no_pixels.limits.max_pixels = 0;
        assert!(no_pixels.validate().is_err());
        // Old configs (no limits) parse, and the defaults are not serialised.
        let old: LoaderConfig = serde_json::from_str(r#"{"resize": 256, "crop": 224}"#).unwrap();
        assert!(old.limits.is_default());
        assert_eq!(
            serde_json::to_string(&old).unwrap(),
            r#"{"resize":256,"crop":224}"#
        );
        assert!(LoaderConfig::default().validate().is_ok());
    }
}
