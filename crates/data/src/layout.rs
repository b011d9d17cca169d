//! The InstaCities1M folder layout: pairing images with captions, and assigning splits.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::caption::{read_caption, CaptionText};
use crate::error::DataError;
use crate::source::{DatasetFormat, DatasetSource};
use crate::split::{check_fractions, read_split_file, reference_counts, reference_split, Split};

/// The ten cities of InstaCities1M. A dataset may hold other city folders too.
pub const CITIES: [&str; 10] = [
    "london",
    "newyork",
    "sydney",
    "losangeles",
    "chicago",
    "melbourne",
    "miami",
    "toronto",
    "singapore",
    "sanfrancisco",
];

/// Image folder, relative to the dataset root.
pub const IMAGE_DIR: &str = "img_resized_1M/cities_instagram";
/// Caption folder, relative to the dataset root.
pub const CAPTION_DIR: &str = "captions_resized_1M/cities_instagram";
/// Image file extensions recognised (lowercase); the reference data only has `jpg`.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];
/// Caption file extension.
pub const CAPTION_EXTENSION: &str = "txt";

/// Where a dataset lives and how it is split.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatasetConfig {
    /// How the dataset is stored (see [`DatasetFormat`]). Default `instacities`; left out of
    /// the serialised form while it is the default, so fingerprints made before it still match.
    #[serde(skip_serializing_if = "DatasetFormat::is_default")]
    pub format: DatasetFormat,
    /// Dataset root: for `instacities` the folder holding `img_resized_1M/` and
    /// `captions_resized_1M/`; for the other formats the folder of images, tar shards or shard
    /// folders. Default `data/instacities`.
    pub root: PathBuf,
    /// Explicit split file (lines `split<TAB>key`; for `instacities` keys are `city/id`)
    /// overriding the split rule; items it does not list are left out (and counted). Default:
    /// none.
    pub split_file: Option<PathBuf>,
    /// Fraction that is test: for `instacities` the first of each city in listing order, for the
    /// other formats by the key-hash rule ([`crate::hash_split`]). Default 0.15.
    pub test_fraction: f64,
    /// Fraction that is val (after the test part). Default 0.05.
    pub val_fraction: f64,
    /// Captions longer than this many bytes are cut (on a char boundary). Default 8192
    /// (Instagram allows 2,200 characters).
    pub max_caption_bytes: usize,
    /// When set (`instacities` only), the keys of images without captions and captions without
    /// images are written here (lines `image_without_caption<TAB>city/id` / `caption_without_image<TAB>city/id`).
    pub unmatched_report: Option<PathBuf>,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        DatasetConfig {
            format: DatasetFormat::default(),
            root: PathBuf::from("data/instacities"),
            split_file: None,
            test_fraction: 0.15,
            val_fraction: 0.05,
            max_caption_bytes: 8192,
            unmatched_report: None,
        }
    }
}

/// One image with its caption.
#[derive(Clone, Debug)]
pub struct Item {
    /// `city/id`.
    pub key: String,
    pub city: String,
    /// The numeric id as a string (up to 19 digits; never parsed).
    pub id: String,
    /// Path of the image file.
    pub image: PathBuf,
    /// Raw caption text, lossily decoded, on one line.
    pub caption: String,
    pub split: Split,
}

/// What [`Dataset::open`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutReport {
    /// City folders found (images or captions); for the other formats, the distinct folder
    /// parts of the keys (`london` of `london/123`).
    pub cities: usize,
    pub images: usize,
    pub captions: usize,
    /// Images with a caption (each becomes an item unless a split file leaves it out).
    pub pairs: usize,
    pub images_without_caption: usize,
    pub captions_without_image: usize,
    /// Files in the city folders that are neither images nor captions.
    pub ignored_files: usize,
    pub empty_captions: usize,
    pub non_utf8_captions: usize,
    pub truncated_captions: usize,
    pub train: usize,
    pub val: usize,
    pub test: usize,
    /// Pairs that the split file does not list (left out of the dataset).
    pub not_in_split_file: usize,
    /// Keys of the split file that match no pair.
    pub split_file_unknown_keys: usize,
    /// Tar shards or shard folders read (`webdataset`, `img2dataset_files`).
    #[serde(default)]
    pub shards: usize,
    /// Shards cut short or damaged: the samples before the break are kept.
    #[serde(default)]
    pub broken_shards: usize,
    /// Images left out because an earlier image (or shard) had the same key.
    #[serde(default)]
    pub duplicate_keys: usize,
    /// Samples whose img2dataset `status` is not `success`.
    #[serde(default)]
    pub failed_status: usize,
    /// `.json` metadata members that are not a JSON object (ignored).
    #[serde(default)]
    pub bad_metadata: usize,
    /// Images without a caption kept in the test split to be searchable (`folder`).
    #[serde(default)]
    pub uncaptioned_indexed: usize,
}

impl fmt::Display for LayoutReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cities > 0 {
            write!(f, "{} cities, ", self.cities)?;
        }
        writeln!(
            f,
            "{} images, {} captions, {} pairs: train {} / val {} / test {}",
            self.images, self.captions, self.pairs, self.train, self.val, self.test
        )?;
        writeln!(
            f,
            "unmatched: {} images without caption, {} captions without image, {} other files",
            self.images_without_caption, self.captions_without_image, self.ignored_files
        )?;
        write!(
            f,
            "captions: {} empty, {} not UTF-8, {} truncated; split file: {} pairs not listed, {} unknown keys",
            self.empty_captions,
            self.non_utf8_captions,
            self.truncated_captions,
            self.not_in_split_file,
            self.split_file_unknown_keys
        )?;
        if self.shards > 0 || self.duplicate_keys + self.failed_status + self.bad_metadata > 0 {
            write!(
                f,
                "\nshards: {} read, {} broken; {} repeated keys, {} failed status, {} bad metadata",
                self.shards,
                self.broken_shards,
                self.duplicate_keys,
                self.failed_status,
                self.bad_metadata
            )?;
        }
        if self.uncaptioned_indexed > 0 {
            write!(
                f,
                "\n{} images without caption kept in the test split (searchable, not trained on)",
                self.uncaptioned_indexed
            )?;
        }
        Ok(())
    }
}

/// An opened dataset: items in a stable order (cities by name, then ids in string order).
#[derive(Clone, Debug)]
pub struct Dataset {
    pub root: PathBuf,
    pub items: Vec<Item>,
    pub report: LayoutReport,
}

/// Files of one city folder: id -> path.
type Listing = BTreeMap<String, PathBuf>;

/// The images and captions of one city, and the files that were neither.
#[derive(Default)]
struct CityFiles {
    images: Listing,
    captions: Listing,
    ignored: usize,
}

/// A matched image/caption pair before its caption is read.
struct Pair {
    city: String,
    id: String,
    image: PathBuf,
    caption: PathBuf,
    split: Option<Split>,
}

impl Dataset {
    /// Opens the dataset of `cfg` with the source of its `format` (see [`crate::DatasetSource`]).
    ///
    /// For `instacities`: lists the layout under `cfg.root`, pairs images with captions by city
    /// and id, reads the captions in parallel and assigns splits.
    ///
    /// Reference rule (no split file): per city, pairs sorted by id **string** order (byte order
    /// of the file name, not numeric order; the reference used the file listing order), the
    /// first `test_fraction` are test, the next `val_fraction` val, the rest train (see
    /// [`crate::reference_counts`]). Unmatched files and damaged captions are counted, never fatal.
    pub fn open(cfg: &DatasetConfig) -> Result<Dataset, DataError> {
        cfg.format.source().open(cfg)
    }

    /// The items of one split, in the dataset's stable order.
    pub fn split(&self, split: Split) -> Vec<&Item> {
        self.items.iter().filter(|i| i.split == split).collect()
    }
}

/// The InstaCities1M layout as a [`DatasetSource`] (`format = "instacities"`).
pub struct InstaCities;

impl DatasetSource for InstaCities {
    fn open(&self, cfg: &DatasetConfig) -> Result<Dataset, DataError> {
        check_fractions(cfg.test_fraction, cfg.val_fraction)?;
        if cfg.max_caption_bytes == 0 {
            return Err(DataError::Config(
                "max_caption_bytes must be positive".into(),
            ));
        }
        let cities = list_cities(&cfg.root)?;
        let mut report = LayoutReport {
            cities: cities.len(),
            ..LayoutReport::default()
        };
        let mut unmatched = Vec::new();
        let mut pairs = Vec::new();
        for (city, files) in &cities {
            pairs.extend(pair_city(city, files, &mut report, &mut unmatched));
        }
        assign_splits(cfg, &mut pairs, &mut report)?;
        let items = read_captions(pairs, cfg.max_caption_bytes, &mut report)?;
        if let Some(path) = &cfg.unmatched_report {
            write_atomic(path, unmatched.concat().as_bytes())?;
        }
        Ok(Dataset {
            root: cfg.root.clone(),
            items,
            report,
        })
    }
}

/// Lists every city folder under the image and caption folders.
fn list_cities(root: &Path) -> Result<BTreeMap<String, CityFiles>, DataError> {
    let image_root = root.join(IMAGE_DIR);
    let caption_root = root.join(CAPTION_DIR);
    if !image_root.is_dir() && !caption_root.is_dir() {
        return Err(DataError::Layout {
            path: root.to_path_buf(),
            message: format!("neither {IMAGE_DIR} nor {CAPTION_DIR} is a folder here"),
        });
    }
    let mut cities: BTreeMap<String, CityFiles> = BTreeMap::new();
    for city in subfolders(&image_root)? {
        let files = cities.entry(city.clone()).or_default();
        list_city(&image_root.join(&city), true, files)?;
    }
    for city in subfolders(&caption_root)? {
        let files = cities.entry(city.clone()).or_default();
        list_city(&caption_root.join(&city), false, files)?;
    }
    Ok(cities)
}

/// Names of the folders inside `dir` (none when `dir` is missing).
fn subfolders(dir: &Path) -> Result<Vec<String>, DataError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| DataError::read(dir, e))? {
        let entry = entry.map_err(|e| DataError::read(dir, e))?;
        if entry.path().is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Adds the image (or caption) files of one city folder to `files`.
fn list_city(dir: &Path, images: bool, files: &mut CityFiles) -> Result<(), DataError> {
    for entry in fs::read_dir(dir).map_err(|e| DataError::read(dir, e))? {
        let path = entry.map_err(|e| DataError::read(dir, e))?.path();
        match classify(&path) {
            Some((id, true)) if images => files.images.insert(id, path),
            Some((id, false)) if !images => files.captions.insert(id, path),
            _ => {
                files.ignored += 1;
                None
            }
        };
    }
    Ok(())
}

/// `(id, is_image)` for an image or caption file name; `None` for anything else.
fn classify(path: &Path) -> Option<(String, bool)> {
    if !path.is_file() {
        return None;
    }
    let id = path.file_stem()?.to_str()?.to_string();
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    if id.is_empty() || id.starts_with('.') {
        return None;
    }
    if IMAGE_EXTENSIONS.contains(&ext.as_str()) {
        Some((id, true))
    } else if ext == CAPTION_EXTENSION {
        Some((id, false))
    } else {
        None
    }
}

/// Pairs one city's images and captions by id; records the unmatched ones.
fn pair_city(
    city: &str,
    files: &CityFiles,
    report: &mut LayoutReport,
    unmatched: &mut Vec<String>,
) -> Vec<Pair> {
    report.images += files.images.len();
    report.captions += files.captions.len();
    report.ignored_files += files.ignored;
    for id in files.images.keys() {
        if !files.captions.contains_key(id) {
            report.images_without_caption += 1;
            unmatched.push(format!("image_without_caption\t{city}/{id}\n"));
        }
    }
    for id in files.captions.keys() {
        if !files.images.contains_key(id) {
            report.captions_without_image += 1;
            unmatched.push(format!("caption_without_image\t{city}/{id}\n"));
        }
    }
    let pairs: Vec<Pair> = files
        .images
        .iter()
        .filter_map(|(id, image)| {
            files.captions.get(id).map(|caption| Pair {
                city: city.to_string(),
                id: id.clone(),
                image: image.clone(),
                caption: caption.clone(),
                split: None,
            })
        })
        .collect();
    report.pairs += pairs.len();
    pairs
}

/// Sets each pair's split from the split file, or by the reference rule per city.
fn assign_splits(
    cfg: &DatasetConfig,
    pairs: &mut [Pair],
    report: &mut LayoutReport,
) -> Result<(), DataError> {
    match &cfg.split_file {
        Some(path) => {
            let mut listed = read_split_file(path)?;
            for pair in pairs.iter_mut() {
                pair.split = listed.remove(&format!("{}/{}", pair.city, pair.id));
            }
            report.not_in_split_file = pairs.iter().filter(|p| p.split.is_none()).count();
            report.split_file_unknown_keys = listed.len();
        }
        None => {
            let mut per_city: HashMap<&str, usize> = HashMap::new();
            for p in pairs.iter() {
                *per_city.entry(p.city.as_str()).or_default() += 1;
            }
            let counts: HashMap<String, (usize, usize)> = per_city
                .into_iter()
                .map(|(c, n)| {
                    (
                        c.to_string(),
                        reference_counts(n, cfg.test_fraction, cfg.val_fraction),
                    )
                })
                .collect();
            let mut position: HashMap<String, usize> = HashMap::new();
            for p in pairs.iter_mut() {
                let (n_test, n_val) = counts.get(&p.city).copied().unwrap_or_default();
                let pos = position.entry(p.city.clone()).or_default();
                p.split = Some(reference_split(*pos, n_test, n_val));
                *pos += 1;
            }
        }
    }
    Ok(())
}

/// Reads the captions of the pairs that have a split, in parallel, keeping the order.
fn read_captions(
    pairs: Vec<Pair>,
    max_bytes: usize,
    report: &mut LayoutReport,
) -> Result<Vec<Item>, DataError> {
    let pairs: Vec<(Pair, Split)> = pairs
        .into_iter()
        .filter_map(|p| p.split.map(|s| (p, s)))
        .collect();
    let bar = ProgressBar::new(pairs.len() as u64).with_style(progress_style());
    bar.set_message("captions");
    let read: Vec<(Item, CaptionText)> = pairs
        .into_par_iter()
        .map(|(p, split)| {
            let c = read_caption(&p.caption, max_bytes)?;
            bar.inc(1);
            Ok((make_item(p, split, c.text.clone()), c))
        })
        .collect::<Result<_, DataError>>()?;
    bar.finish_and_clear();
    Ok(read
        .into_iter()
        .map(|(item, c)| tally(item, &c, report))
        .collect())
}

fn make_item(p: Pair, split: Split, caption: String) -> Item {
    Item {
        key: format!("{}/{}", p.city, p.id),
        city: p.city,
        id: p.id,
        image: p.image,
        caption,
        split,
    }
}

/// Counts one item's caption repairs and split in the report.
fn tally(item: Item, c: &CaptionText, report: &mut LayoutReport) -> Item {
    report.empty_captions += usize::from(c.empty);
    report.non_utf8_captions += usize::from(c.non_utf8);
    report.truncated_captions += usize::from(c.truncated);
    match item.split {
        Split::Train => report.train += 1,
        Split::Val => report.val += 1,
        Split::Test => report.test += 1,
    }
    item
}

/// The progress bar style shared by the crate's long loops.
pub(crate) fn progress_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} [{elapsed_precise}, {per_sec}]")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_recognises_images_and_captions() {
        let dir = tempfile::tempdir().unwrap();
        let touch = |n: &str| {
            let p = dir.path().join(n);
            fs::write(&p, b"x").unwrap();
            p
        };
        assert_eq!(classify(&touch("123.jpg")), Some(("123".into(), true)));
        assert_eq!(classify(&touch("7.JPG")), Some(("7".into(), true)));
        assert_eq!(classify(&touch("123.txt")), Some(("123".into(), false)));
        assert_eq!(classify(&touch("notes.md")), None);
        assert_eq!(classify(&touch(".DS_Store")), None);
        assert_eq!(classify(dir.path()), None);
    }

    #[test]
    fn report_display_names_the_counts() {
        let r = LayoutReport {
            images_without_caption: 3,
            captions_without_image: 4,
            pairs: 10,
            ..LayoutReport::default()
        };
        let s = r.to_string();
        assert!(s.contains("10 pairs"), "{s}");
        assert!(
            s.contains("3 images without caption, 4 captions without image"),
            "{s}"
        );
    }

    #[test]
    fn missing_root_is_an_error_naming_it() {
        let cfg = DatasetConfig {
            root: PathBuf::from("/no/such/webly/root"),
            ..DatasetConfig::default()
        };
        let err = Dataset::open(&cfg).unwrap_err().to_string();
        assert!(err.contains("/no/such/webly/root"), "{err}");
    }

    #[test]
    fn config_defaults_and_unknown_fields() {
        let cfg: DatasetConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(cfg.test_fraction, 0.15);
        assert_eq!(cfg.val_fraction, 0.05);
        assert!(serde_json::from_str::<DatasetConfig>(r#"{"rooot": "x"}"#).is_err());
    }
}
