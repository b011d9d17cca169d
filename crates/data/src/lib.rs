#![deny(missing_docs)]
#![forbid(unsafe_code)]
//! InstaCities1M layout, splits and parallel image loading (webly-synth generates data in that
//! layout).
//!
//! - [`Dataset::open`] reads `img_resized_1M/cities_instagram/<city>/<id>.jpg` and
//!   `captions_resized_1M/cities_instagram/<city>/<id>.txt`, pairs them, and assigns the
//!   reference split (per city: first 15% test, next 5% val, rest train) or an explicit split file;
//!   or, by [`DatasetFormat`], a plain image folder or img2dataset's tar shards / files layout
//!   split by key ([`hash_split`]). Tar members are read in place ([`read_image_bytes`]).
//! - [`GroundTruth`] reads `<root>/ground_truth.tsv` (true concepts of generated images).
//! - [`load_batch`] decodes, resizes, crops and mirrors images into `f32` CHW batches in parallel.

mod atomic;
mod caption;
mod dataset;
mod error;
mod ground_truth;
mod layout;
mod loader;
mod resize;
mod source;
mod split;
mod work_shard;

pub use dataset::{Dataset, DatasetConfig, DatasetFormat, Item, LayoutReport};
pub use error::DataError;
pub use ground_truth::{GroundTruth, GROUND_TRUTH_FILE};
pub use layout::{CAPTION_DIR, CAPTION_EXTENSION, CITIES, IMAGE_DIR, IMAGE_EXTENSIONS};
pub use loader::{
    decode_image, jpeg_end, load_batch, load_image, load_image_bytes, Batch, Crop, DecodeLimits,
    ImageLimits, LoaderConfig, Skipped, MAX_JPEG_SCANS, PIXELS_VERSION,
};
pub use source::{
    hash_split, image_container, key_hash, read_image_bytes, DatasetSource, Folder,
    Img2datasetFiles, InstaCities, Webdataset, SOURCE_IMAGE_EXTENSIONS,
};
pub use split::{read_split_file, reference_counts, Split};
pub use work_shard::ShardSpec;
