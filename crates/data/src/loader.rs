//! Parallel image loading: decode, resize, crop, mirror, f32 CHW.

use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::resize::resize_bilinear;

/// JPEG start-of-image marker.
const JPEG_START: [u8; 2] = [0xFF, 0xD8];
/// Most scans (start-of-scan segments) a JPEG may have. A baseline JPEG has one; libjpeg's
/// standard progressive script has 10 (6 for greyscale) and mozjpeg's optimised scripts stay well
/// under 64. Each scan walks every block of the picture, so a file that repeats a tiny scan costs
/// `scans x pixels` of work from a few hundred KB (libjpeg-turbo's LJT-01-003; NVIDIA DALI caps
/// scans at 500). Measured with `webly tag` on 2 cores: a 64-scan bomb costs 1.6 s of CPU at 16
/// megapixels and 4.3 s at 40 (the default pixel limit), under the server's 10 s request
/// timeout; the 1,000-scan 16-megapixel one of issue 25 cost 75 s before this cap.
pub const MAX_JPEG_SCANS: usize = 64;
/// Probability of a horizontal mirror under [`Crop::Random`].
const MIRROR_PROBABILITY: f64 = 0.5;
/// The reduced-size inverse DCTs of JPEG, as denominators (1/8, 1/4, 1/2): libjpeg's
/// `scale_denom`, which Pillow's `Image.draft` uses. Largest first: the smallest decode whose
/// shorter side still reaches the target is taken.
const DCT_SCALE_DENOMINATORS: [u32; 3] = [8, 4, 2];

/// Version of the pixels this loader makes from a file. Bumped whenever the same file and
/// [`LoaderConfig`] give other pixels (a resize implementation, the DCT-scaled decode), so that
/// fingerprints built on the loader (activation caches, trainings) change with it.
/// 1: `image`'s decoders, own f32 triangle resize. 2: `fast_image_resize` bilinear, JPEGs
/// decoded at a reduced DCT scale when the target is at most half the source.
pub const PIXELS_VERSION: u32 = 2;

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
    Random {
        /// The batch's seed (each position draws its own stream from it).
        seed: u64,
    },
}

/// A file that could not be loaded, and why.
#[derive(Clone, Debug)]
pub struct Skipped {
    /// The file (or tar member path).
    pub path: PathBuf,
    /// Why it was skipped (the decoder's reason or the limit it is over; it names the file,
    /// unless the loader's configuration itself was refused).
    pub reason: String,
}

/// The reason, which names the file, or the file and then the reason when it does not.
impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.path.display().to_string();
        if self.reason.contains(&path) {
            f.write_str(&self.reason)
        } else {
            write!(f, "{path}: {}", self.reason)
        }
    }
}

/// A loaded batch: images that loaded, batch-major, each `3 x crop x crop` (CHW).
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// `loaded.len() * 3 * crop * crop` floats.
    pub data: Vec<f32>,
    /// Input positions that loaded, ascending; image `k` of `data` is `paths[loaded[k]]`.
    pub loaded: Vec<usize>,
    /// The inputs that did not load, with their reasons.
    pub skipped: Vec<Skipped>,
}

/// Loads `paths` in parallel (rayon). Bad files (empty, truncated, corrupt, not an image) are
/// skipped with a reason naming them; this never panics on file contents. Each image is written
/// by its own thread straight into its place in the batch.
pub fn load_batch(paths: &[PathBuf], cfg: &LoaderConfig, crop: Crop) -> Batch {
    if let Err(e) = cfg.validate() {
        return Batch {
            skipped: paths
                .iter()
                .map(|p| Skipped {
                    path: p.clone(),
                    reason: e.to_string(),
                })
                .collect(),
            ..Batch::default()
        };
    }
    let len = cfg.image_len();
    let mut data = vec![0f32; paths.len() * len];
    let errors: Vec<Option<String>> = data
        .par_chunks_mut(len)
        .zip(paths.par_iter())
        .enumerate()
        .map(|(pos, (out, path))| {
            load_image_into(path, cfg, crop, pos, out)
                .err()
                .map(|e| webly_io::error_chain(&e))
        })
        .collect();
    let mut batch = Batch::default();
    for (pos, (error, path)) in errors.into_iter().zip(paths).enumerate() {
        match error {
            None => {
                let at = batch.loaded.len();
                if at != pos {
                    data.copy_within(pos * len..(pos + 1) * len, at * len);
                }
                batch.loaded.push(pos);
            }
            Some(reason) => batch.skipped.push(Skipped {
                path: path.clone(),
                reason,
            }),
        }
    }
    data.truncate(batch.loaded.len() * len);
    batch.data = data;
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
    let mut out = vec![0f32; cfg.image_len()];
    load_image_into(path, cfg, crop, position, &mut out)?;
    Ok(out)
}

/// [`load_image`] into `out` (`3 * crop * crop` floats; `cfg` already validated).
fn load_image_into(
    path: &Path,
    cfg: &LoaderConfig,
    crop: Crop,
    position: usize,
    out: &mut [f32],
) -> Result<(), DataError> {
    let bytes = crate::source::read_image_bytes(path)?;
    decode_transform(&bytes, cfg, crop, position, out).map_err(|message| DataError::Image {
        path: path.to_path_buf(),
        message,
    })
}

/// The one bounded path from encoded bytes to `3 x crop x crop` floats in `out`, for files and
/// uploads alike: decode within `cfg.limits` (JPEGs at a reduced DCT scale when the target
/// allows it), refuse a resize over `limits.max_resized_pixels`, crop.
fn decode_transform(
    bytes: &[u8],
    cfg: &LoaderConfig,
    crop: Crop,
    position: usize,
    out: &mut [f32],
) -> Result<(), String> {
    let side = cfg.resize.max(cfg.crop);
    let rgb = decode_rgb(bytes, &cfg.limits, Some(side))?;
    let (w, h) = resized_size(rgb.dimensions(), side);
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
    transform_into(&rgb, cfg, crop, position, out)
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
        .map_err(|e| bad(format!("not a readable JPEG, PNG or WebP: {e}")))?;
    let max_pixels = limits.max_pixels.min(cfg.limits.max_pixels);
    if u64::from(w) * u64::from(h) > max_pixels {
        return Err(bad(format!(
            "{w}x{h} pixels, more than the limit of {max_pixels}"
        )));
    }
    let mut out = vec![0f32; cfg.image_len()];
    decode_transform(bytes, cfg, crop, 0, &mut out).map_err(bad)?;
    Ok(out)
}

/// Decodes an image file's bytes (JPEG, PNG or WebP, sniffed from the content, whatever the
/// file name says) to RGB8 as a viewer shows it: its EXIF orientation (all 8) applied. Declared
/// and decoded sizes are bounded by `limits`. Errors are reasons for a skip or a message.
pub fn decode_image(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, String> {
    decode_rgb(bytes, limits, None)
}

/// [`decode_image`]; with `min_side`, a JPEG may come out smaller than stored (a reduced DCT
/// scale, see [`DCT_SCALE_DENOMINATORS`]) but with its shorter side at least `min_side`.
pub(crate) fn decode_rgb(
    bytes: &[u8],
    limits: &DecodeLimits,
    min_side: Option<u32>,
) -> Result<RgbImage, String> {
    if bytes.is_empty() {
        return Err("empty file".into());
    }
    // A JPEG's own structure says where it ends: what follows the end marker (a Motion Photo's
    // video, a vendor trailer) is not decoded, and a file cut short is refused.
    let bytes = match bytes.starts_with(&JPEG_START) {
        true => &bytes[..jpeg_end(bytes)?],
        false => bytes,
    };
    // A decoder bug must not take the whole batch down: a panic becomes a skip reason.
    let decoded = std::panic::catch_unwind(|| decode_oriented(bytes, limits, min_side))
        .map_err(|_| "the decoder panicked on this file".to_string())?;
    let img = decoded?;
    if img.width() == 0 || img.height() == 0 {
        return Err("image has no pixels".into());
    }
    Ok(img.into_rgb8())
}

/// Decoding proper: the declared size checked first, the decoder bounded, orientation applied.
fn decode_oriented(
    bytes: &[u8],
    limits: &DecodeLimits,
    min_side: Option<u32>,
) -> Result<DynamicImage, String> {
    let reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let is_jpeg = reader.format() == Some(ImageFormat::Jpeg);
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
    // A broken EXIF block is not worth losing the picture over: no orientation then.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let scaled = match (is_jpeg, min_side) {
        (true, Some(side)) => decode_jpeg_scaled(bytes, (w, h), side, limits),
        _ => None,
    };
    let mut img = match scaled {
        Some(rgb) => DynamicImage::ImageRgb8(rgb),
        None => {
            let mut bounds = Limits::default();
            bounds.max_alloc = Some(limits.max_alloc_bytes);
            decoder.set_limits(bounds).map_err(|e| e.to_string())?;
            DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?
        }
    };
    img.apply_orientation(orientation);
    Ok(img)
}

/// The output size of the smallest reduced-DCT decode of a `w x h` JPEG whose shorter side is
/// still at least `side`; `None` when only the full size is (the target is over half the source).
fn dct_scaled_size((w, h): (u32, u32), side: u32) -> Option<(u16, u16)> {
    let d = DCT_SCALE_DENOMINATORS
        .into_iter()
        .find(|d| w.min(h).div_ceil(*d) >= side)?;
    Some((
        u16::try_from(w.div_ceil(d)).ok()?,
        u16::try_from(h.div_ceil(d)).ok()?,
    ))
}

/// Decodes a JPEG at a reduced DCT scale (`jpeg-decoder`'s scaled IDCT) when its shorter side
/// stays at least `side`. `None` (the caller decodes at full size) when no scale applies, for
/// pixel formats other than RGB and grey (CMYK), and when this decoder fails: the full-size
/// decoder then gives the verdict on a broken file.
fn decode_jpeg_scaled(
    bytes: &[u8],
    stored: (u32, u32),
    side: u32,
    limits: &DecodeLimits,
) -> Option<RgbImage> {
    let (rw, rh) = dct_scaled_size(stored, side)?;
    let mut decoder = jpeg_decoder::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_max_decoding_buffer_size(usize::try_from(limits.max_alloc_bytes).ok()?);
    decoder.read_info().ok()?;
    let (w, h) = decoder.scale(rw, rh).ok()?;
    if u32::from(w.min(h)) < side {
        return None;
    }
    let pixels = decoder.decode().ok()?;
    let (w, h) = (u32::from(w), u32::from(h));
    match decoder.info()?.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => RgbImage::from_raw(w, h, pixels),
        jpeg_decoder::PixelFormat::L8 => {
            let grey = image::GrayImage::from_raw(w, h, pixels)?;
            Some(DynamicImage::ImageLuma8(grey).into_rgb8())
        }
        _ => None,
    }
}

/// The length of the JPEG that starts `bytes`: up to and including its end-of-image marker
/// (`FF D9`), found by walking its segments (ITU T.81 B.1): a marker segment gives its length,
/// a scan's entropy-coded data runs to the next marker that is neither a stuffed `FF 00` nor a
/// restart marker `RSTn`. Bytes between segments that are not a marker are skipped, as libjpeg
/// skips them.
///
/// # Errors
/// A file that ends before its end marker (truncated: the decoder would pad it with grey), a
/// segment length that runs past the end, or more than [`MAX_JPEG_SCANS`] scans.
pub fn jpeg_end(bytes: &[u8]) -> Result<usize, String> {
    const TRUNCATED: &str = "truncated JPEG (no end-of-image marker)";
    const SOS: u8 = 0xDA;
    const EOI: u8 = 0xD9;
    let is_rst = |m: u8| (0xD0..=0xD7).contains(&m);
    let mut i = JPEG_START.len();
    let mut scans = 0usize;
    loop {
        // The next marker: `FF` (fill bytes `FF FF` allowed) then a code other than 00 and FF.
        while i < bytes.len() && bytes[i] != 0xFF {
            i += 1;
        }
        while i + 1 < bytes.len() && bytes[i + 1] == 0xFF {
            i += 1;
        }
        let Some(&code) = bytes.get(i + 1) else {
            return Err(TRUNCATED.into());
        };
        match code {
            EOI => return Ok(i + 2),
            0x00 => i += 2,
            m if is_rst(m) || m == 0x01 => i += 2,
            m => {
                let len = match bytes.get(i + 2..i + 4) {
                    Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])),
                    _ => return Err(TRUNCATED.into()),
                };
                i += 2 + len;
                if i > bytes.len() {
                    return Err(TRUNCATED.into());
                }
                if m == SOS {
                    scans += 1;
                    if scans > MAX_JPEG_SCANS {
                        return Err(format!(
                            "more than {MAX_JPEG_SCANS} scans in one JPEG (a scan bomb?)"
                        ));
                    }
                    // Entropy-coded data: up to the next FF that starts a real marker.
                    while i + 1 < bytes.len()
                        && !(bytes[i] == 0xFF && bytes[i + 1] != 0x00 && !is_rst(bytes[i + 1]))
                    {
                        i += 1;
                    }
                    if i + 1 >= bytes.len() {
                        return Err(TRUNCATED.into());
                    }
                }
            }
        }
    }
}

/// Resizes the shorter side, crops and (maybe) mirrors into CHW floats in `out`
/// (`3 * crop * crop`).
pub(crate) fn transform_into(
    rgb: &RgbImage,
    cfg: &LoaderConfig,
    crop: Crop,
    position: usize,
    out: &mut [f32],
) -> Result<(), String> {
    let side = cfg.resize.max(cfg.crop);
    let resized = resize_shorter(rgb, side)?;
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
    to_chw(&resized, x0, y0, c, mirror, out);
    Ok(())
}

/// Resizes so that the shorter side is `side` (no-op when it already is).
fn resize_shorter(rgb: &RgbImage, side: u32) -> Result<std::borrow::Cow<'_, RgbImage>, String> {
    let (w, h) = rgb.dimensions();
    if w.min(h) == side {
        return Ok(std::borrow::Cow::Borrowed(rgb));
    }
    let (nw, nh) = resized_size((w, h), side);
    Ok(std::borrow::Cow::Owned(resize_bilinear(rgb, nw, nh)?))
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

/// Copies the `c x c` window at `(x0, y0)` into planar RGB floats in `out` (`3 * c * c`),
/// mirrored if asked.
fn to_chw(img: &RgbImage, x0: u32, y0: u32, c: u32, mirror: bool, out: &mut [f32]) {
    let c = c as usize;
    let plane = c * c;
    let raw = img.as_raw();
    let stride = img.width() as usize * 3;
    let (red, rest) = out.split_at_mut(plane);
    let (green, blue) = rest.split_at_mut(plane);
    for y in 0..c {
        let row = &raw[(y0 as usize + y) * stride + x0 as usize * 3..][..c * 3];
        let at = y * c;
        let (r, g, b) = (
            &mut red[at..at + c],
            &mut green[at..at + c],
            &mut blue[at..at + c],
        );
        for (x, px) in row.chunks_exact(3).enumerate() {
            let ox = if mirror { c - 1 - x } else { x };
            r[ox] = f32::from(px[0]);
            g[ox] = f32::from(px[1]);
            b[ox] = f32::from(px[2]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transform(rgb: &RgbImage, cfg: &LoaderConfig, crop: Crop, position: usize) -> Vec<f32> {
        let mut out = vec![0f32; cfg.image_len()];
        transform_into(rgb, cfg, crop, position, &mut out).unwrap();
        out
    }

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
        let mut out = vec![0f32; 27];
        to_chw(&ramp(), 0, 0, 3, true, &mut out);
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
        let r = resize_shorter(&img, 150).unwrap();
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
        assert!(decode_rgb(b"", &l, None).is_err());
        assert!(decode_rgb(b"hello, not an image", &l, Some(8)).is_err());
        assert!(decode_rgb(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16], &l, Some(8)).is_err());
        // Garbage before a marker is skipped; a stuffed FF 00 or a restart marker inside a scan's
        // data does not end it; the end is counted past the end marker.
        let sos = [0xFF, 0xDA, 0, 2];
        let scan = [
            &sos[..],
            &[1, 0xFF, 0x00, 2, 0xFF, 0xD3, 3, 0xFF, 0xD9, 9, 9],
        ]
        .concat();
        assert_eq!(
            jpeg_end(&[&[0xFF, 0xD8, 7][..], &scan].concat()),
            Ok(3 + 4 + 9)
        );
        assert!(jpeg_end(&[0xFF, 0xD8, 1, 2, 0xFF, 0x00]).is_err());
        assert!(jpeg_end(&[0xFF, 0xD8, 0xFF, 0xE0, 0x40, 0x00, 1]).is_err());
        let bomb = [
            &[0xFF, 0xD8][..],
            &scan[..7].repeat(MAX_JPEG_SCANS + 1),
            &[0xFF, 0xD9],
        ]
        .concat();
        assert!(jpeg_end(&bomb).unwrap_err().contains("scans"));
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

    fn jpeg(img: &DynamicImage) -> Vec<u8> {
        let mut bytes = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut bytes), ImageFormat::Jpeg)
            .unwrap();
        bytes
    }

    #[test]
    fn dct_scale_is_the_smallest_that_keeps_the_shorter_side() {
        assert_eq!(dct_scaled_size((300, 300), 72), Some((75, 75)));
        assert_eq!(dct_scaled_size((300, 300), 128), Some((150, 150)));
        assert_eq!(dct_scaled_size((300, 300), 224), None);
        assert_eq!(dct_scaled_size((640, 480), 60), Some((80, 60)));
        assert_eq!(dct_scaled_size((641, 481), 61), Some((81, 61)));
        assert_eq!(dct_scaled_size((600_000, 16), 1), None);
    }

    #[test]
    fn jpegs_decode_at_a_reduced_scale_only_when_the_target_allows() {
        let l = DecodeLimits::default();
        let img = RgbImage::from_fn(256, 128, |x, y| image::Rgb([x as u8, y as u8, 90]));
        let bytes = jpeg(&DynamicImage::ImageRgb8(img.clone()));
        assert_eq!(
            decode_rgb(&bytes, &l, Some(24)).unwrap().dimensions(),
            (64, 32)
        );
        assert_eq!(
            decode_rgb(&bytes, &l, Some(64)).unwrap().dimensions(),
            (128, 64)
        );
        assert_eq!(
            decode_rgb(&bytes, &l, Some(65)).unwrap().dimensions(),
            (256, 128)
        );
        assert_eq!(
            decode_rgb(&bytes, &l, None).unwrap().dimensions(),
            (256, 128)
        );
        // The reduced decode is the full one, averaged: compare with a resize of the full one.
        let small = decode_rgb(&bytes, &l, Some(32)).unwrap();
        let full = resize_bilinear(&decode_rgb(&bytes, &l, None).unwrap(), 64, 32).unwrap();
        let diff: f64 = small
            .as_raw()
            .iter()
            .zip(full.as_raw())
            .map(|(a, b)| f64::from(a.abs_diff(*b)))
            .sum::<f64>()
            / small.as_raw().len() as f64;
        assert!(diff < 3.0, "mean abs diff {diff}");
        // Grey JPEGs come out as RGB with equal channels; PNGs are never reduced.
        let grey = DynamicImage::ImageLuma8(image::GrayImage::from_fn(64, 64, |x, _| {
            image::Luma([x as u8 * 3])
        }));
        let g = decode_rgb(&jpeg(&grey), &l, Some(16)).unwrap();
        assert_eq!(g.dimensions(), (16, 16));
        assert!(g.pixels().all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]));
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        assert_eq!(
            decode_rgb(&png, &l, Some(24)).unwrap().dimensions(),
            (256, 128)
        );
    }

    #[test]
    fn a_batch_with_holes_keeps_the_loaded_images_in_order() {
        let dir = std::env::temp_dir().join(format!("webly-loader-holes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = LoaderConfig {
            resize: 8,
            crop: 8,
            ..LoaderConfig::default()
        };
        let mut paths = Vec::new();
        for (i, v) in [10u8, 0, 60, 0, 200].into_iter().enumerate() {
            let p = dir.join(format!("{i}.png"));
            if v == 0 {
                std::fs::write(&p, b"broken").unwrap();
            } else {
                RgbImage::from_pixel(8, 8, image::Rgb([v, v, v]))
                    .save(&p)
                    .unwrap();
            }
            paths.push(p);
        }
        let batch = load_batch(&paths, &cfg, Crop::Center);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(batch.loaded, [0, 2, 4]);
        assert_eq!(batch.skipped.len(), 2);
        assert_eq!(batch.data.len(), 3 * cfg.image_len());
        let firsts: Vec<f32> = batch.data.chunks(cfg.image_len()).map(|c| c[0]).collect();
        assert_eq!(firsts, [10.0, 60.0, 200.0]);
        let bad = LoaderConfig { crop: 0, ..cfg };
        let none = load_batch(&paths[..1], &bad, Crop::Center);
        assert!(none.loaded.is_empty() && none.skipped.len() == 1);
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
