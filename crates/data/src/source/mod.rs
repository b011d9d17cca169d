//! Dataset sources: the ways web data is stored on disk, behind one trait.
//!
//! - `instacities`: InstaCities1M's two folder trees (see [`crate::Dataset::open`]), split by the
//!   reference rule.
//! - `folder`: a plain folder of images (any depth) with optional same-name `.txt` captions.
//! - `webdataset`: img2dataset's tar shards (`00000.tar` holding `000000001.jpg`, `.txt`,
//!   `.json`), indexed by streaming the tar headers; images are read in place (one positioned read each).
//! - `img2dataset_files`: img2dataset's "files" layout (`00000/000000001.jpg`, `.txt`, `.json`).
//!
//! The last two use img2dataset's metadata where present: the `.json` beside each sample and
//! the `<shard>.parquet` beside each shard (columns `key`, `caption`, `status`, `width`,
//! `height`): a sample whose `status` is not `success` is skipped, and a sample without a `.txt`
//! takes the metadata's caption.
//!
//! Every source but `instacities` splits by the **key-hash rule** ([`hash_split`]): shard order
//! carries no meaning, so an item's split depends on its key alone, and adding or removing
//! shards never moves another item between splits. A key that several shards hold is shown as
//! `<shard>/<key>` for each of them; its split is still that of the shard's own key.

mod folder;
mod image_ref;
mod instacities;
mod metadata;
mod samples;
mod webdataset;

use std::collections::HashMap;

use crate::caption::CaptionText;
use crate::dataset::{Dataset, DatasetConfig, DatasetFormat, Item, LayoutReport};
use crate::error::DataError;
use crate::split::{check_fractions, read_split_keys, Split};

pub use folder::Folder;
pub(crate) use image_ref::member_path;
pub use image_ref::{image_container, read_image_bytes};
pub use instacities::InstaCities;
pub use webdataset::{Img2datasetFiles, Webdataset};

/// Image file extensions (lowercase) that the `folder`, `webdataset` and `img2dataset_files`
/// sources take as images; decoding sniffs the real format from the content.
pub const SOURCE_IMAGE_EXTENSIONS: [&str; 4] = ["jpg", "jpeg", "png", "webp"];

impl DatasetFormat {
    /// The source that reads this format.
    pub fn source(self) -> &'static dyn DatasetSource {
        match self {
            DatasetFormat::Instacities => &instacities::InstaCities,
            DatasetFormat::Folder => &folder::Folder,
            DatasetFormat::Webdataset => &webdataset::Webdataset,
            DatasetFormat::Img2datasetFiles => &webdataset::Img2datasetFiles,
        }
    }
}

/// A way of storing a dataset: opening it lists the images, reads their captions, assigns the
/// splits and counts everything skipped (never fatal for a bad member; fatal for a missing root
/// or a bad configuration).
pub trait DatasetSource: Sync {
    /// Opens the dataset at `cfg.root`: items in a stable order (by key), each with a split.
    fn open(&self, cfg: &DatasetConfig) -> Result<Dataset, DataError>;
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
        let mut dataset = cfg.format.source().open(cfg)?;
        dataset.report.format = cfg.format;
        Ok(dataset)
    }
}

/// The split of `key` under the key-hash rule used by every source but `instacities`:
/// `u = fmix64(fnv1a64(key as UTF-8)) / 2^64`, test when `u < test_fraction`, val when
/// `u < test_fraction + val_fraction`, train otherwise. `fnv1a64` is FNV-1a, 64-bit (offset
/// basis `0xcbf29ce484222325`, prime `0x100000001b3`); `fmix64` is MurmurHash3's 64-bit
/// finalizer (FNV-1a alone leaves the high bits of keys that differ in their last characters,
/// `000000001` / `000000002`, nearly equal). Deterministic across machines, shard orders and
/// dataset sizes; the fractions hold in expectation (binomial spread).
pub fn hash_split(key: &str, test_fraction: f64, val_fraction: f64) -> Split {
    let u = key_hash(key) as f64 / 2f64.powi(64);
    if u < test_fraction {
        Split::Test
    } else if u < test_fraction + val_fraction {
        Split::Val
    } else {
        Split::Train
    }
}

/// The 64-bit hash of a key that the split rule and work shards use:
/// `fmix64(fnv1a64(key as UTF-8))` (see [`hash_split`]).
pub fn key_hash(key: &str) -> u64 {
    fmix64(fnv1a64(key.as_bytes()))
}

/// FNV-1a, 64-bit.
fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET_BASIS, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// MurmurHash3's 64-bit finalizer (Appleby): every input bit reaches every output bit.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// One image a source found, with its caption when it has one.
pub(crate) struct Record {
    /// The item's key: unique in the dataset but for the rare repeats [`finish`] counts.
    pub key: String,
    /// The key the split is computed from: the sample's own key in its shard, before any
    /// qualification by shard (`000000003` of `00001/000000003`), so that adding or removing
    /// other shards never moves a sample between splits. Equal to `key` for other sources.
    pub split_key: String,
    pub image: std::path::PathBuf,
    pub caption: Option<CaptionText>,
}

/// Checks the settings every source shares.
pub(crate) fn check_config(cfg: &DatasetConfig) -> Result<(), DataError> {
    check_fractions(cfg.test_fraction, cfg.val_fraction)?;
    if cfg.max_caption_bytes == 0 {
        return Err(DataError::Config(
            "max_caption_bytes must be positive".into(),
        ));
    }
    if !cfg.root.is_dir() {
        return Err(DataError::Layout {
            path: cfg.root.clone(),
            message: "the dataset root is not a folder".into(),
        });
    }
    Ok(())
}

/// Turns records into a dataset: sorted by key (the first of a repeated key kept, the others
/// counted in `duplicate_keys` and taken out of `pairs` or `images_without_caption`, so the
/// report counts what is used), split by the split file (by `key`) or the key-hash rule (by
/// `split_key`); records without a caption go to the test split (`folder` only: the other
/// sources drop them before).
pub(crate) fn finish(
    cfg: &DatasetConfig,
    mut records: Vec<Record>,
    mut report: LayoutReport,
) -> Result<Dataset, DataError> {
    records.sort_by(|a, b| a.key.cmp(&b.key));
    let mut kept: Vec<Record> = Vec::with_capacity(records.len());
    for r in records {
        if kept.last().is_some_and(|last| last.key == r.key) {
            report.duplicate_keys += 1;
            match r.caption {
                Some(_) => report.pairs = report.pairs.saturating_sub(1),
                None => {
                    report.images_without_caption = report.images_without_caption.saturating_sub(1)
                }
            }
            continue;
        }
        kept.push(r);
    }
    let records = kept;
    let mut listed: Option<HashMap<String, Split>> = match &cfg.split_file {
        Some(path) => Some(read_split_keys(path)?),
        None => None,
    };
    let mut items = Vec::with_capacity(records.len());
    for r in records {
        let split = match (&mut listed, &r.caption) {
            (Some(listed), _) => match listed.remove(&r.key) {
                Some(s) => s,
                None => {
                    report.not_in_split_file += 1;
                    continue;
                }
            },
            (None, None) => Split::Test,
            (None, Some(_)) => hash_split(&r.split_key, cfg.test_fraction, cfg.val_fraction),
        };
        let caption = match r.caption {
            Some(c) => {
                report.empty_captions += usize::from(c.empty);
                report.non_utf8_captions += usize::from(c.non_utf8);
                report.truncated_captions += usize::from(c.truncated);
                c.text
            }
            None => {
                report.uncaptioned_indexed += 1;
                String::new()
            }
        };
        match split {
            Split::Train => report.train += 1,
            Split::Val => report.val += 1,
            Split::Test => report.test += 1,
        }
        let (city, id) = match r.key.rsplit_once('/') {
            Some((group, id)) => (group.to_string(), id.to_string()),
            None => (String::new(), r.key.clone()),
        };
        items.push(Item {
            key: r.key,
            city,
            id,
            image: r.image,
            caption,
            split,
        });
    }
    report.split_file_unknown_keys = listed.map_or(0, |l| l.len());
    let groups: std::collections::BTreeSet<&str> = items
        .iter()
        .map(|i| i.city.as_str())
        .filter(|c| !c.is_empty())
        .collect();
    report.cities = groups.len();
    Ok(Dataset {
        root: cfg.root.clone(),
        items,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        // From the FNV reference test suite (Fowler, Noll, Vo).
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn hash_split_is_stable_and_near_the_fractions() {
        let n = 20_000;
        let mut counts = HashMap::new();
        for i in 0..n {
            let key = format!("{i:09}");
            let s = hash_split(&key, 0.15, 0.05);
            assert_eq!(s, hash_split(&key, 0.15, 0.05));
            *counts.entry(s).or_insert(0usize) += 1;
        }
        let frac = |s| counts[&s] as f64 / n as f64;
        // Binomial standard deviation at n = 20000 is under 0.003; allow 4 of them.
        assert!((frac(Split::Test) - 0.15).abs() < 0.012, "{counts:?}");
        assert!((frac(Split::Val) - 0.05).abs() < 0.012, "{counts:?}");
        assert_eq!(hash_split("k", 0.0, 0.0), Split::Train);
        assert_eq!(hash_split("k", 1.0, 0.0), Split::Test);
    }

    #[test]
    fn formats_parse_by_their_documented_names() {
        for (name, f) in [
            ("instacities", DatasetFormat::Instacities),
            ("folder", DatasetFormat::Folder),
            ("webdataset", DatasetFormat::Webdataset),
            ("img2dataset_files", DatasetFormat::Img2datasetFiles),
        ] {
            let parsed: DatasetFormat = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(parsed, f);
        }
        assert!(serde_json::from_str::<DatasetFormat>("\"tar\"").is_err());
    }
}
