//! A plain folder of images with optional same-name `.txt` captions.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{check_config, finish, DatasetSource, Record, SOURCE_IMAGE_EXTENSIONS};
use crate::caption::read_caption;
use crate::dataset::{Dataset, DatasetConfig, LayoutReport};
use crate::error::DataError;

/// Caption extension beside an image.
const TXT: &str = "txt";

/// A folder of images at any depth (`trip/IMG_0001.jpg`), each with an optional caption of
/// the same name (`trip/IMG_0001.txt`). The key is the path below the root without its
/// extension (`trip/IMG_0001`). Captioned images are split by the key-hash rule; images without
/// a caption go to the test split with an empty caption: embedded and searchable, never trained
/// on (counted in `uncaptioned_indexed`). Hidden files and folders are skipped.
pub struct Folder;

/// The images and captions of the folder tree, by key.
#[derive(Default)]
struct Listing {
    images: BTreeMap<String, PathBuf>,
    captions: BTreeMap<String, PathBuf>,
    ignored: usize,
    duplicate_images: usize,
}

impl DatasetSource for Folder {
    fn open(&self, cfg: &DatasetConfig) -> Result<Dataset, DataError> {
        check_config(cfg)?;
        let mut listing = Listing::default();
        walk(&cfg.root, "", &mut listing)?;
        let mut report = LayoutReport {
            images: listing.images.len(),
            captions: listing.captions.len(),
            ignored_files: listing.ignored,
            duplicate_keys: listing.duplicate_images,
            ..LayoutReport::default()
        };
        report.captions_without_image = listing
            .captions
            .keys()
            .filter(|k| !listing.images.contains_key(*k))
            .count();
        let images: Vec<(String, PathBuf)> = listing.images.into_iter().collect();
        let records: Vec<Record> = images
            .into_par_iter()
            .map(|(key, image)| {
                let caption = match listing.captions.get(&key) {
                    Some(p) => Some(read_caption(p, cfg.max_caption_bytes)?),
                    None => None,
                };
                Ok(Record {
                    split_key: key.clone(),
                    key,
                    image,
                    caption,
                })
            })
            .collect::<Result<_, DataError>>()?;
        report.pairs = records.iter().filter(|r| r.caption.is_some()).count();
        report.images_without_caption = records.len() - report.pairs;
        finish(cfg, records, report)
    }
}

/// Lists `dir` (whose key prefix is `prefix`) and its sub-folders into `out`.
fn walk(dir: &Path, prefix: &str, out: &mut Listing) -> Result<(), DataError> {
    let mut entries: Vec<PathBuf> = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| DataError::read(dir, e))? {
        entries.push(entry.map_err(|e| DataError::read(dir, e))?.path());
    }
    entries.sort();
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            out.ignored += 1;
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        if name.contains(['\n', '\r']) {
            // Keys are written one per line (`.ids` files): a line break cannot be one.
            out.ignored += 1;
            continue;
        }
        if path.is_dir() {
            walk(&path, &format!("{prefix}{name}/"), out)?;
            continue;
        }
        let Some((stem, ext)) = name.rsplit_once('.').filter(|(s, _)| !s.is_empty()) else {
            out.ignored += 1;
            continue;
        };
        let key = format!("{prefix}{stem}");
        let ext = ext.to_ascii_lowercase();
        if SOURCE_IMAGE_EXTENSIONS.contains(&ext.as_str()) {
            match out.images.entry(key) {
                std::collections::btree_map::Entry::Occupied(_) => out.duplicate_images += 1,
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(path);
                }
            }
        } else if ext == TXT {
            out.captions.insert(key, path);
        } else {
            out.ignored += 1;
        }
    }
    Ok(())
}
