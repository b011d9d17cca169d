//! img2dataset's metadata: a sample's `.json` and a shard's `.parquet`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use serde::Deserialize;

use crate::error::DataError;

/// The fields of img2dataset's metadata that webly uses (others are ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct Meta {
    /// The sample's caption (when `.txt` is missing).
    #[serde(default)]
    pub caption: Option<String>,
    /// `success`, `failed_to_download`, `failed_to_resize`, ...
    #[serde(default)]
    pub status: Option<String>,
    /// Pixel size after img2dataset's resize (informational).
    #[serde(default)]
    pub width: Option<u64>,
    #[serde(default)]
    pub height: Option<u64>,
}

impl Meta {
    /// The sample's own metadata, completed field by field from the shard's parquet row.
    pub fn merge(own: Option<Meta>, shard: Option<&Meta>) -> Meta {
        let mut m = own.unwrap_or_default();
        if let Some(s) = shard {
            m.caption = m.caption.or_else(|| s.caption.clone());
            m.status = m.status.or_else(|| s.status.clone());
            m.width = m.width.or(s.width);
            m.height = m.height.or(s.height);
        }
        m
    }

    /// A `.json` member's metadata; `None` when it is not a JSON object of these fields.
    pub fn from_json(bytes: &[u8]) -> Option<Meta> {
        serde_json::from_slice(bytes).ok()
    }
}

/// The rows of a shard's `.parquet` by key (columns `key`, `caption`, `status`, `width`,
/// `height`; missing columns are `None`). No file is no metadata.
///
/// # Errors
/// [`DataError::Layout`] naming the file when it exists but is not readable parquet.
pub(crate) fn read_parquet_meta(path: &Path) -> Result<BTreeMap<String, Meta>, DataError> {
    if !path.is_file() {
        return Ok(BTreeMap::new());
    }
    let bad = |e: parquet::errors::ParquetError| DataError::Layout {
        path: path.to_path_buf(),
        message: format!("not readable as img2dataset parquet metadata: {e}"),
    };
    let file = File::open(path).map_err(|e| DataError::read(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(bad)?;
    let mut out = BTreeMap::new();
    for row in reader.get_row_iter(None).map_err(bad)? {
        let row = row.map_err(bad)?;
        let mut key = None;
        let mut m = Meta::default();
        for (name, field) in row.get_column_iter() {
            match (name.as_str(), field) {
                ("key", Field::Str(s)) => key = Some(s.clone()),
                ("caption", Field::Str(s)) => m.caption = Some(s.clone()),
                ("status", Field::Str(s)) => m.status = Some(s.clone()),
                ("width", f) => m.width = integer(f),
                ("height", f) => m.height = integer(f),
                _ => {}
            }
        }
        if let Some(k) = key {
            out.insert(k, m);
        }
    }
    Ok(out)
}

fn integer(f: &Field) -> Option<u64> {
    match *f {
        Field::Long(v) => u64::try_from(v).ok(),
        Field::Int(v) => u64::try_from(v).ok(),
        Field::ULong(v) => Some(v),
        Field::UInt(v) => Some(u64::from(v)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_metadata_reads_img2dataset_fields_and_ignores_the_rest() {
        let m = Meta::from_json(
            br#"{"url": "http://x", "key": "000000001", "caption": "a dog", "status": "success",
                "width": 256, "height": 192, "exif": "{}"}"#,
        )
        .unwrap();
        assert_eq!(m.caption.as_deref(), Some("a dog"));
        assert_eq!((m.width, m.height), (Some(256), Some(192)));
        assert!(Meta::from_json(b"not json").is_none());
        let shard = Meta {
            caption: Some("from parquet".into()),
            status: Some("success".into()),
            ..Meta::default()
        };
        let own = Meta {
            status: Some("failed_to_download".into()),
            ..Meta::default()
        };
        let m = Meta::merge(Some(own), Some(&shard));
        assert_eq!(m.status.as_deref(), Some("failed_to_download"));
        assert_eq!(m.caption.as_deref(), Some("from parquet"));
    }
}
