//! What every dataset source produces: the items (image, caption, split), the report of what
//! was found and skipped, and the configuration that says where a dataset lives, how it is
//! stored and how it is split. This module imports no other module of the crate but `split`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::split::Split;

/// How a dataset is stored (`[data.dataset] format` in a run config).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetFormat {
    /// InstaCities1M's layout; the reference split rule.
    #[default]
    Instacities,
    /// A folder of images with optional same-name `.txt` captions. Images without a caption are
    /// kept in the test split (embedded and searchable), never trained on.
    Folder,
    /// img2dataset's webdataset output: `*.tar` shards in the root folder.
    Webdataset,
    /// img2dataset's "files" output: one sub-folder of samples per shard.
    Img2datasetFiles,
}

impl DatasetFormat {
    /// True for the default (then left out of the serialised config, so fingerprints of runs
    /// made before formats existed still match).
    pub fn is_default(&self) -> bool {
        *self == DatasetFormat::default()
    }
}

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
    /// `city/id`; for the other formats the sample's key (`2024/trip/IMG_0001`, `000000003`),
    /// written `<shard>/<key>` (`00001/000000003`) when more than one shard holds that key, and
    /// with the bytes of a name that is not UTF-8 escaped as `\xNN` (`caf\xe9`).
    pub key: String,
    /// The city folder (for the other formats: the key's folder part).
    pub city: String,
    /// The numeric id as a string (up to 19 digits; never parsed).
    pub id: String,
    /// Path of the image file.
    pub image: PathBuf,
    /// Raw caption text, lossily decoded, on one line.
    pub caption: String,
    /// The split it was assigned.
    pub split: Split,
}

/// What [`Dataset::open`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutReport {
    /// How the dataset is stored: says what [`LayoutReport::cities`] counts when printed
    /// (cities, folders, or nothing for shards, which are counted in [`LayoutReport::shards`]).
    #[serde(default)]
    pub format: DatasetFormat,
    /// City folders found (images or captions); for the other formats, the distinct folder
    /// parts of the keys (`london` of `london/123`).
    pub cities: usize,
    /// Image files found.
    pub images: usize,
    /// Caption files (or metadata captions) found.
    pub captions: usize,
    /// Images with a caption (each becomes an item unless a split file leaves it out).
    pub pairs: usize,
    /// Images without a caption (not items, except in the `folder` format's test split).
    pub images_without_caption: usize,
    /// Captions without an image (never items).
    pub captions_without_image: usize,
    /// Files in the city folders that are neither images nor captions.
    pub ignored_files: usize,
    /// Captions with no text (kept, empty).
    pub empty_captions: usize,
    /// Captions that are not UTF-8 (kept, lossily decoded).
    pub non_utf8_captions: usize,
    /// Captions cut at `max_caption_bytes`.
    pub truncated_captions: usize,
    /// Items in the train split.
    pub train: usize,
    /// Items in the val split.
    pub val: usize,
    /// Items in the test split.
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
    /// Images left out because an earlier image had the same key (after keys that several
    /// shards hold were qualified by their shard: see [`LayoutReport::shared_keys`]).
    #[serde(default)]
    pub duplicate_keys: usize,
    /// Samples kept whose key another shard also holds: each is keyed `<shard>/<key>`
    /// (`webdataset`, `img2dataset_files`; webdataset's keys are unique only within a shard).
    #[serde(default)]
    pub shared_keys: usize,
    /// Member or file names that are not UTF-8: kept, their bytes escaped as `\xNN` in the key
    /// (`webdataset`, `img2dataset_files`). Members whose escaped key equals the key of a UTF-8
    /// name are left out and counted in `ignored_files`.
    #[serde(default)]
    pub non_utf8_names: usize,
    /// Samples whose img2dataset `status` is not `success` (skipped).
    #[serde(default)]
    pub failed_status: usize,
    /// The same samples by status (`failed_to_download`, `failed_to_resize`, ...): at most 8
    /// kinds by name, the rest under `other`; names are cut to 40 characters, control
    /// characters escaped (a shard's metadata is outside data: any string can be a status).
    #[serde(default)]
    pub failed_statuses: BTreeMap<String, usize>,
    /// `.json` metadata members that are not a JSON object (ignored).
    #[serde(default)]
    pub bad_metadata: usize,
    /// Images without a caption kept in the test split to be searchable (`folder`).
    #[serde(default)]
    pub uncaptioned_indexed: usize,
}

/// Most kinds of failed status that [`LayoutReport::failed_statuses`] names.
const MAX_STATUS_KINDS: usize = 8;
/// Most characters of a status kept in [`LayoutReport::failed_statuses`].
const MAX_STATUS_CHARS: usize = 40;

impl LayoutReport {
    /// Counts one sample skipped for its img2dataset `status` (see
    /// [`LayoutReport::failed_statuses`]).
    pub(crate) fn count_failed_status(&mut self, status: &str) {
        self.failed_status += 1;
        let mut name: String = status
            .chars()
            .take(MAX_STATUS_CHARS)
            .flat_map(|c| match c.is_control() {
                true => c.escape_default().collect::<Vec<_>>(),
                false => vec![c],
            })
            .collect();
        if !self.failed_statuses.contains_key(&name)
            && self.failed_statuses.len() >= MAX_STATUS_KINDS
        {
            name = "other".to_string();
        }
        *self.failed_statuses.entry(name).or_default() += 1;
    }
}

impl fmt::Display for LayoutReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What the source is made of: InstaCities' city folders, a photo folder's
        // sub-folders, or img2dataset's shards.
        match self.format {
            DatasetFormat::Instacities if self.cities > 0 => write!(f, "{} cities, ", self.cities)?,
            DatasetFormat::Folder if self.cities > 0 => write!(f, "{} folders, ", self.cities)?,
            DatasetFormat::Webdataset | DatasetFormat::Img2datasetFiles => {
                write!(f, "{} shards, ", self.shards)?
            }
            _ => {}
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
                "\nshards: {} read, {} broken; {} repeated keys, {} failed status",
                self.shards, self.broken_shards, self.duplicate_keys, self.failed_status,
            )?;
            if !self.failed_statuses.is_empty() {
                let kinds: Vec<String> = self
                    .failed_statuses
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect();
                write!(f, " ({})", kinds.join(", "))?;
            }
            write!(f, ", {} bad metadata", self.bad_metadata)?;
            if self.shared_keys > 0 {
                write!(
                    f,
                    "; {} keys held by several shards (kept as shard/key)",
                    self.shared_keys
                )?;
            }
            if self.non_utf8_names > 0 {
                write!(
                    f,
                    "; {} names not UTF-8 (kept, bytes escaped as \\xNN)",
                    self.non_utf8_names
                )?;
            }
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
    /// The dataset root it was opened from.
    pub root: PathBuf,
    /// Every item, in the stable order.
    pub items: Vec<Item>,
    /// What was found and skipped.
    pub report: LayoutReport,
}

impl Dataset {
    /// The items of one split, in the dataset's stable order.
    pub fn split(&self, split: Split) -> Vec<&Item> {
        self.items.iter().filter(|i| i.split == split).collect()
    }
}
