//! The InstaCities1M layout as a dataset source: pairing images with captions by city and id,
//! reading the captions in parallel, assigning splits by the reference rule.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::DatasetSource;
use crate::atomic::write_atomic;
use crate::caption::{read_caption, CaptionText};
use crate::dataset::{Dataset, DatasetConfig, Item, LayoutReport};
use crate::error::DataError;
use crate::layout::{CAPTION_DIR, CAPTION_EXTENSION, IMAGE_DIR, IMAGE_EXTENSIONS};
use crate::split::{check_fractions, read_split_file, reference_counts, reference_split, Split};

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
    let bar = webly_io::progress::rate_bar(pairs.len() as u64, "captions");
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
