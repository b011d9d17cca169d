//! `webly export`: image embeddings with their keys, captions and image paths as one parquet
//! file, the bulk-import input of vector databases: LanceDB (tested: `crates/serve/tests/lancedb.rs`
//! imports it and searches it), Milvus and Qdrant through its client (not tested).
//!
//! Columns, one row per image:
//!
//! | column | parquet type | arrow type (pyarrow, LanceDB) |
//! |---|---|---|
//! | `key` | `binary (STRING)` | `string` |
//! | `embedding` | `LIST` of `float`, or of `fixed_len_byte_array(2) (FLOAT16)` | `list<float>` / `list<halffloat>` |
//! | `caption` | `binary (STRING)` | `string` |
//! | `image_path` | `binary (STRING)` | `string` |
//!
//! Embeddings are unit-length rows, as the index holds them (dot product = cosine). The file's
//! key-value metadata records `webly.model`, `webly.model_fingerprint`, `webly.text_fingerprint`,
//! `webly.dim` and `webly.dtype`, so that files of two models or text spaces are told apart.
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use half::f16;
use parquet::data_type::FloatType;
use parquet::data_type::{ByteArray, ByteArrayType, FixedLenByteArray, FixedLenByteArrayType};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use serde::{Deserialize, Serialize};

use crate::error::{PipelineError, Result};

/// Rows per parquet row group: big enough for fast scans, small enough to stream.
pub const ROW_GROUP_ROWS: usize = 1 << 16;

/// Bytes of one float16 value.
const F16_BYTES: usize = 2;

/// The float type of the exported embeddings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportDtype {
    /// IEEE float32 (4 bytes per value).
    #[default]
    F32,
    /// IEEE float16 (2 bytes per value; round to nearest even; ~3 decimal digits).
    F16,
}

impl fmt::Display for ExportDtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExportDtype::F32 => "f32",
            ExportDtype::F16 => "f16",
        })
    }
}

impl FromStr for ExportDtype {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "f32" | "float32" => Ok(ExportDtype::F32),
            "f16" | "float16" => Ok(ExportDtype::F16),
            other => Err(format!("unknown dtype {other:?} (expected f32 or f16)")),
        }
    }
}

/// What is exported: `keys.len()` rows of `dim` floats each, row-major in `embeddings`.
pub struct ExportRows<'a> {
    /// The images' keys, one per row.
    pub keys: &'a [String],
    /// `keys.len() * dim` values.
    pub embeddings: &'a [f32],
    /// Values per embedding.
    pub dim: usize,
    /// Each row's caption (empty for images without one).
    pub captions: Vec<&'a str>,
    /// Each row's image path (a tar member path for webdataset shards).
    pub image_paths: Vec<String>,
}

/// Writes `rows` to `path` as parquet (atomically: a temporary file renamed into place), with
/// `metadata` as the file's key-value metadata.
///
/// # Errors
/// [`PipelineError::Mismatch`] when the row lengths disagree; [`PipelineError::Io`] naming `path`
/// when it cannot be written.
pub fn write_parquet(
    path: &Path,
    rows: &ExportRows<'_>,
    dtype: ExportDtype,
    metadata: &[(String, String)],
) -> Result<()> {
    let n = rows.keys.len();
    if rows.embeddings.len() != n * rows.dim
        || rows.captions.len() != n
        || rows.image_paths.len() != n
        || rows.dim == 0
    {
        return Err(PipelineError::Mismatch(format!(
            "export of {n} keys: {} embedding values of dimension {}, {} captions, {} paths",
            rows.embeddings.len(),
            rows.dim,
            rows.captions.len(),
            rows.image_paths.len()
        )));
    }
    let element = match dtype {
        ExportDtype::F32 => "required float element;",
        ExportDtype::F16 => "required fixed_len_byte_array(2) element (FLOAT16);",
    };
    let schema = format!(
        "message webly_embeddings {{
           required binary key (STRING);
           required group embedding (LIST) {{ repeated group list {{ {element} }} }}
           required binary caption (STRING);
           required binary image_path (STRING);
         }}"
    );
    let schema = Arc::new(parse_message_type(&schema).map_err(PipelineError::Parquet)?);
    let props = Arc::new(WriterProperties::builder().build());
    let write = |out: &mut std::io::BufWriter<&std::fs::File>| -> std::io::Result<()> {
        let mut w = SerializedFileWriter::new(out, schema.clone(), props.clone())
            .map_err(std::io::Error::other)?;
        for (k, v) in metadata {
            w.append_key_value_metadata(KeyValue::new(k.clone(), v.clone()));
        }
        for start in (0..n).step_by(ROW_GROUP_ROWS) {
            let end = (start + ROW_GROUP_ROWS).min(n);
            write_group(&mut w, rows, start..end, dtype).map_err(std::io::Error::other)?;
        }
        w.close().map_err(std::io::Error::other)?;
        Ok(())
    };
    webly_io::write_atomic_with(path, write).map_err(PipelineError::io("writing", path))
}

/// One row group: the four columns of rows `range`.
fn write_group<W: std::io::Write + Send>(
    w: &mut SerializedFileWriter<W>,
    rows: &ExportRows<'_>,
    range: std::ops::Range<usize>,
    dtype: ExportDtype,
) -> parquet::errors::Result<()> {
    let strings = |values: Vec<&str>| -> Vec<ByteArray> {
        values
            .into_iter()
            .map(|s| ByteArray::from(s.as_bytes().to_vec()))
            .collect()
    };
    let dim = rows.dim;
    let values = &rows.embeddings[range.start * dim..range.end * dim];
    // Every row holds `dim` present values: definition level 1 (the one repeated level), and
    // repetition level 0 opening each row, 1 continuing it.
    let def = vec![1i16; values.len()];
    let rep: Vec<i16> = (0..values.len()).map(|i| i16::from(i % dim != 0)).collect();
    let mut rg = w.next_row_group()?;
    let keys: Vec<&str> = rows.keys[range.clone()]
        .iter()
        .map(String::as_str)
        .collect();
    write_strings(&mut rg, &strings(keys))?;
    if let Some(mut col) = rg.next_column()? {
        match dtype {
            ExportDtype::F32 => {
                col.typed::<FloatType>()
                    .write_batch(values, Some(&def), Some(&rep))?;
            }
            ExportDtype::F16 => {
                let halves: Vec<FixedLenByteArray> = values
                    .iter()
                    .map(|&v| {
                        let b: [u8; F16_BYTES] = f16::from_f32(v).to_le_bytes();
                        FixedLenByteArray::from(b.to_vec())
                    })
                    .collect();
                col.typed::<FixedLenByteArrayType>().write_batch(
                    &halves,
                    Some(&def),
                    Some(&rep),
                )?;
            }
        }
        col.close()?;
    }
    write_strings(&mut rg, &strings(rows.captions[range.clone()].to_vec()))?;
    let paths: Vec<&str> = rows.image_paths[range].iter().map(String::as_str).collect();
    write_strings(&mut rg, &strings(paths))?;
    rg.close()?;
    Ok(())
}

fn write_strings<W: std::io::Write + Send>(
    rg: &mut parquet::file::writer::SerializedRowGroupWriter<'_, W>,
    values: &[ByteArray],
) -> parquet::errors::Result<()> {
    if let Some(mut col) = rg.next_column()? {
        col.typed::<ByteArrayType>()
            .write_batch(values, None, None)?;
        col.close()?;
    }
    Ok(())
}
