//! img2dataset's metadata: a sample's `.json` and a shard's `.parquet`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use serde_json::Value;

use crate::error::DataError;

/// The fields of img2dataset's metadata that webly uses (others are ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Meta {
    /// The sample's caption (when `.txt` is missing).
    pub caption: Option<String>,
    /// `success`, `failed_to_download`, `failed_to_resize`, ...
    pub status: Option<String>,
    /// Pixel size after img2dataset's resize (informational).
    pub width: Option<u64>,
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

    /// A `.json` member's metadata; `None` when it is not a JSON object.
    ///
    /// Read as img2dataset writes it, with Python's `json.dump`: the bare tokens `NaN`,
    /// `Infinity` and `-Infinity` (not JSON, but written for float columns such as
    /// `original_width` or `similarity` that have no value) are read as `null`, so one such
    /// value never hides the `status` or `caption` beside it. Each field is taken when it has
    /// the expected type and left `None` otherwise: `caption` and `status` strings, `width` and
    /// `height` non-negative integers (`48` or `48.0`); other fields are not looked at.
    pub fn from_json(bytes: &[u8]) -> Option<Meta> {
        let value: Value = serde_json::from_slice(&python_floats_as_null(bytes)).ok()?;
        let object = value.as_object()?;
        let text = |k: &str| object.get(k).and_then(Value::as_str).map(str::to_string);
        let size = |k: &str| {
            let v = object.get(k)?;
            v.as_u64().or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && (0.0..9.0e15).contains(f))
                    .map(|f| f as u64)
            })
        };
        Some(Meta {
            caption: text("caption"),
            status: text("status"),
            width: size("width"),
            height: size("height"),
        })
    }
}

/// `bytes` with each `NaN`, `Infinity` and `-Infinity` outside a string replaced by `null`
/// (Python's `json` module writes these for non-finite floats; RFC 8259 has no such values).
/// Text inside strings, escapes included, is left as it is; bytes without any are borrowed.
fn python_floats_as_null(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    const TOKENS: [&[u8]; 3] = [b"-Infinity", b"Infinity", b"NaN"];
    if !TOKENS
        .iter()
        .any(|t| bytes.windows(t.len()).any(|w| w == *t))
    {
        return std::borrow::Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if let Some(t) = TOKENS.iter().find(|t| bytes[i..].starts_with(t)) {
            out.extend_from_slice(b"null");
            i += t.len();
            continue;
        }
        out.push(b);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// The rows of a shard's `.parquet` by key (columns `key`, `caption`, `status`, `width`,
/// `height`; missing columns are `None`). No file is no metadata.
///
/// # Errors
/// [`DataError::Layout`] naming the file when it exists but is not readable parquet, also when
/// the parquet reader panics on it (it does on some damaged files: webly-fuzz found three).
pub(crate) fn read_parquet_meta(path: &Path) -> Result<BTreeMap<String, Meta>, DataError> {
    if !path.is_file() {
        return Ok(BTreeMap::new());
    }
    std::panic::catch_unwind(|| parquet_rows(path)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(DataError::Layout {
            path: path.to_path_buf(),
            message: format!(
                "not readable as img2dataset parquet metadata (the parquet reader panicked: {why})"
            ),
        })
    })
}

/// [`read_parquet_meta`] proper, on a file that exists.
fn parquet_rows(path: &Path) -> Result<BTreeMap<String, Meta>, DataError> {
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
        assert!(Meta::from_json(b"[1, 2]").is_none());
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

    /// Python's `json.dump` writes `NaN`, `Infinity` and `-Infinity` for non-finite floats:
    /// the fields beside them are still read, and the same words inside strings are kept.
    #[test]
    fn json_metadata_with_python_non_finite_floats_keeps_its_fields() {
        let m = Meta::from_json(
            br#"{"url": "http://x/NaN.jpg", "caption": "NaN and -Infinity \" NaN", "status":
                "failed_to_resize", "width": 48.0, "height": NaN, "original_width": NaN,
                "similarity": -Infinity, "aspect": Infinity, "list": [NaN, 1, Infinity]}"#,
        )
        .unwrap();
        assert_eq!(m.status.as_deref(), Some("failed_to_resize"));
        assert_eq!(m.caption.as_deref(), Some("NaN and -Infinity \" NaN"));
        assert_eq!((m.width, m.height), (Some(48), None));
        // A field of another type is left out, never the whole file.
        let m = Meta::from_json(br#"{"caption": 7, "status": "success", "width": -3}"#).unwrap();
        assert_eq!(
            (m.caption, m.status.as_deref(), m.width),
            (None, Some("success"), None)
        );
        // Broken JSON stays broken.
        assert!(Meta::from_json(b"{\"status\": NaNa}").is_none());
        assert!(Meta::from_json(b"{\"status\": \"success\", NaN}").is_none());
    }
}
