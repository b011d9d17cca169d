//! Writing a generated dataset: images, captions, ground truth, contact sheet.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::codecs::jpeg::JpegEncoder;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::caption::{write_caption, CaptionConfig};
use super::concept::{sample_scene, Concept, QUERY_PAIRS};
use super::render::render;
use super::sample::Sample;
use super::sheet::contact_sheet;
use webly_data::{CAPTION_DIR, CITIES, GROUND_TRUTH_FILE, IMAGE_DIR};

use crate::error::{write_atomic, write_atomic_unsynced, SynthError};

/// File name of the contact sheet, in `out`.
pub const CONTACT_SHEET_FILE: &str = "contact_sheet.png";
/// Smallest image side the scenes are drawn for.
const MIN_IMAGE_SIZE: u32 = 32;
/// Ids are `ID_BASE + index * ID_STRIDE + (hash % ID_STRIDE)`: 19 digits, unique, and
/// increasing with the index (like Instagram media ids, which grow with time).
const ID_BASE: u64 = 1_400_000_000_000_000_000;
const ID_STRIDE: u64 = 1_000_003;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SynthConfig {
    /// Output root (gets `img_resized_1M/`, `captions_resized_1M/`, `ground_truth.tsv`).
    /// Default `data/synth`.
    pub out: PathBuf,
    /// Number of images, spread round-robin over the 10 cities. Default 2000.
    pub images: usize,
    /// Seed: the same seed and options give byte-identical files. Default 42.
    pub seed: u64,
    /// Image side in pixels. Default 300 (InstaCities1M's size).
    pub image_size: u32,
    /// JPEG quality 1..=100. Default 90.
    pub jpeg_quality: u8,
    /// Concepts sampled per image: at least this many... Default 2.
    pub concepts_min: usize,
    /// ...and at most this many (setting and "food" may add one). Default 4.
    pub concepts_max: usize,
    /// Probability an image is built around one of the 12 two-word query pairs. Default 0.45.
    pub pair_rate: f64,
    /// Amplitude of the uniform pixel noise added to every channel. Default 6.
    pub pixel_noise: u8,
    /// Caption noise model.
    pub captions: CaptionConfig,
    /// Write `contact_sheet.png`. Default true.
    pub contact_sheet: bool,
    /// Images on the contact sheet (the first ones). Default 24.
    pub contact_sheet_images: usize,
    /// Replace an existing generated dataset in `out` (its two layout folders are removed
    /// first). Default false: a non-empty image folder is an error.
    pub overwrite: bool,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            out: PathBuf::from("data/synth"),
            images: 2000,
            seed: 42,
            image_size: 300,
            jpeg_quality: 90,
            concepts_min: 2,
            concepts_max: 4,
            pair_rate: 0.45,
            pixel_noise: 6,
            captions: CaptionConfig::default(),
            contact_sheet: true,
            contact_sheet_images: 24,
            overwrite: false,
        }
    }
}

impl SynthConfig {
    /// Checks ranges of every option.
    pub fn validate(&self) -> Result<(), SynthError> {
        let bad = |m: String| Err(SynthError::Config(m));
        if self.image_size < MIN_IMAGE_SIZE {
            return bad(format!(
                "image_size {} is below {MIN_IMAGE_SIZE}",
                self.image_size
            ));
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            return bad(format!(
                "jpeg_quality {} is not in 1..=100",
                self.jpeg_quality
            ));
        }
        if self.concepts_min == 0 || self.concepts_min > self.concepts_max {
            return bad(format!(
                "concepts_min {} / concepts_max {} must satisfy 1 <= min <= max",
                self.concepts_min, self.concepts_max
            ));
        }
        let mut rates = self.captions.rates().to_vec();
        rates.push(("pair_rate", self.pair_rate));
        for (name, r) in rates {
            if !(0.0..=1.0).contains(&r) {
                return bad(format!("{name} {r} is not a probability"));
            }
        }
        Ok(())
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SynthReport {
    /// The dataset root written.
    pub out: PathBuf,
    /// Images written.
    pub images: usize,
    /// Wall time of the generation, in seconds.
    pub seconds: f64,
    /// `images / seconds`.
    pub images_per_sec: f64,
    /// Images showing each concept.
    pub concept_counts: BTreeMap<String, usize>,
    /// Images showing both words of each two-word query ("yellow car").
    pub pair_counts: BTreeMap<String, usize>,
    /// The contact sheet written beside the dataset, if asked.
    pub contact_sheet: Option<PathBuf>,
}

impl fmt::Display for SynthReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "generated {} images in {} ({:.1} s, {:.0} images/s)",
            self.images,
            self.out.display(),
            self.seconds,
            self.images_per_sec
        )?;
        let pairs: Vec<String> = self
            .pair_counts
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        write!(f, "query pairs: {}", pairs.join(", "))
    }
}

/// The id of image `index` for `seed`.
fn image_id(seed: u64, index: usize) -> String {
    let mut h = seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    (ID_BASE + index as u64 * ID_STRIDE + h % ID_STRIDE).to_string()
}

/// Renders image `index` of the dataset described by `cfg` (deterministic for seed and index).
pub fn render_sample(cfg: &SynthConfig, index: usize) -> Sample {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(index as u64);
    let spec = sample_scene(&mut rng, cfg.concepts_min, cfg.concepts_max, cfg.pair_rate);
    let rendered = render(&spec, cfg.image_size, cfg.pixel_noise, &mut rng);
    let city = CITIES[index % CITIES.len()];
    let caption = write_caption(&rendered.concepts, city, &cfg.captions, &mut rng);
    Sample {
        city: city.to_string(),
        id: image_id(cfg.seed, index),
        image: rendered.image,
        caption,
        concepts: rendered
            .concepts
            .iter()
            .map(|c| c.name().to_string())
            .collect(),
    }
}

/// Generates `cfg.images` images in parallel into `cfg.out` (InstaCities1M layout plus
/// `ground_truth.tsv`, and `contact_sheet.png` when asked). Every file is written atomically.
pub fn generate(cfg: &SynthConfig) -> Result<SynthReport, SynthError> {
    cfg.validate()?;
    prepare_out(cfg)?;
    let start = Instant::now();
    let bar = webly_io::progress::rate_bar(cfg.images as u64, "generating");
    let rows: Vec<(String, Vec<String>)> = (0..cfg.images)
        .into_par_iter()
        .map(|i| {
            let row = write_sample(cfg, &render_sample(cfg, i));
            bar.inc(1);
            row
        })
        .collect::<Result<_, SynthError>>()?;
    bar.finish_and_clear();
    write_ground_truth(&cfg.out, &rows)?;
    let seconds = start.elapsed().as_secs_f64();
    let sheet = write_sheet(cfg)?;
    Ok(SynthReport {
        out: cfg.out.clone(),
        images: cfg.images,
        seconds,
        images_per_sec: webly_io::progress::per_second(cfg.images as f64, seconds),
        concept_counts: concept_counts(&rows),
        pair_counts: pair_counts(&rows),
        contact_sheet: sheet,
    })
}

/// Creates the city folders; refuses (or clears, with `overwrite`) an existing dataset.
fn prepare_out(cfg: &SynthConfig) -> Result<(), SynthError> {
    let images = cfg.out.join(IMAGE_DIR);
    let captions = cfg.out.join(CAPTION_DIR);
    let occupied = fs::read_dir(&images)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    if occupied && !cfg.overwrite {
        return Err(SynthError::Layout {
            path: images,
            message: "already holds data that this generator's settings did not make: replace it \
                      (`webly synth --overwrite`, or `overwrite = true` in the run config's \
                      [data.synth]), or remove [data.synth] from the run config to use the data \
                      as it is"
                .into(),
        });
    }
    for dir in [&images, &captions] {
        if occupied && dir.exists() {
            fs::remove_dir_all(dir).map_err(|e| SynthError::write(dir, e))?;
        }
        for city in CITIES {
            let d = dir.join(city);
            fs::create_dir_all(&d).map_err(|e| SynthError::write(&d, e))?;
        }
    }
    Ok(())
}

/// Writes one sample's JPEG and caption; returns its ground-truth row.
fn write_sample(cfg: &SynthConfig, s: &Sample) -> Result<(String, Vec<String>), SynthError> {
    let img_path = cfg
        .out
        .join(IMAGE_DIR)
        .join(&s.city)
        .join(format!("{}.jpg", s.id));
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(Cursor::new(&mut jpeg), cfg.jpeg_quality)
        .encode_image(&s.image)
        .map_err(|e| SynthError::Image {
            path: img_path.clone(),
            message: e.to_string(),
        })?;
    write_atomic_unsynced(&img_path, &jpeg)?;
    let cap_path = cfg
        .out
        .join(CAPTION_DIR)
        .join(&s.city)
        .join(format!("{}.txt", s.id));
    write_atomic_unsynced(&cap_path, format!("{}\n", s.caption).as_bytes())?;
    Ok((format!("{}/{}", s.city, s.id), s.concepts.clone()))
}

fn write_ground_truth(out: &Path, rows: &[(String, Vec<String>)]) -> Result<(), SynthError> {
    let text: String = rows
        .iter()
        .map(|(key, concepts)| format!("{key}\t{}\n", concepts.join(",")))
        .collect();
    write_atomic(&out.join(GROUND_TRUTH_FILE), text.as_bytes())
}

fn write_sheet(cfg: &SynthConfig) -> Result<Option<PathBuf>, SynthError> {
    if !cfg.contact_sheet || cfg.images == 0 {
        return Ok(None);
    }
    let n = cfg.contact_sheet_images.min(cfg.images);
    let samples: Vec<Sample> = (0..n)
        .into_par_iter()
        .map(|i| render_sample(cfg, i))
        .collect();
    let path = cfg.out.join(CONTACT_SHEET_FILE);
    let png = contact_sheet(&samples).map_err(|message| SynthError::Image {
        path: path.clone(),
        message,
    })?;
    write_atomic(&path, &png)?;
    Ok(Some(path))
}

fn concept_counts(rows: &[(String, Vec<String>)]) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> = Concept::ALL
        .iter()
        .map(|c| (c.name().to_string(), 0))
        .collect();
    for (_, concepts) in rows {
        for c in concepts {
            *counts.entry(c.clone()).or_default() += 1;
        }
    }
    counts
}

fn pair_counts(rows: &[(String, Vec<String>)]) -> BTreeMap<String, usize> {
    QUERY_PAIRS
        .iter()
        .map(|(a, b)| {
            let n = rows
                .iter()
                .filter(|(_, c)| c.iter().any(|x| x == a) && c.iter().any(|x| x == b))
                .count();
            (format!("{a} {b}"), n)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_19_digits_unique_and_increasing() {
        let ids: Vec<String> = (0..2000).map(|i| image_id(7, i)).collect();
        assert!(ids
            .iter()
            .all(|id| id.len() == 19 && id.bytes().all(|b| b.is_ascii_digit())));
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_ne!(image_id(7, 0), image_id(8, 0));
    }

    #[test]
    fn config_is_validated() {
        assert!(SynthConfig::default().validate().is_ok());
        let bad = SynthConfig {
            pair_rate: 1.5,
            ..SynthConfig::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("pair_rate"));
        let bad = SynthConfig {
            concepts_min: 5,
            ..SynthConfig::default()
        };
        assert!(bad.validate().is_err());
        let parsed: SynthConfig =
            serde_json::from_str(r#"{"images": 5, "captions": {"name_rate": 1.0}}"#).unwrap();
        assert_eq!(parsed.images, 5);
        assert_eq!(parsed.captions.name_rate, 1.0);
        assert_eq!(parsed.captions.synonym_rate, 0.3);
    }

    #[test]
    fn samples_are_deterministic() {
        let cfg = SynthConfig {
            image_size: 96,
            ..SynthConfig::default()
        };
        let (a, b) = (render_sample(&cfg, 5), render_sample(&cfg, 5));
        assert_eq!(a.image, b.image);
        assert_eq!(a.caption, b.caption);
        assert_ne!(render_sample(&cfg, 6).image, a.image);
    }
}
