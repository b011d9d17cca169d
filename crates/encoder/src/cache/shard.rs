//! One shard of a cached set: `shard-NNNNN.safetensors` (tensor `features`, `[n, views, ...]`)
//! and its index `shard-NNNNN.json`, written after the tensor file: the index is the shard's
//! commit mark.
use crate::config::CacheDtype;
use crate::error::{io, EncoderError};
use crate::files::{read_json, write_json};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// Name of the tensor inside each shard file.
pub(crate) const TENSOR: &str = "features";

/// What identifies an image file's content cheaply: its length and modification time. An image
/// edited in place changes one of them (a same-length edit within the file system's time
/// resolution is the known blind spot, as for make and cargo).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// Length in bytes.
    pub len: u64,
    /// Modification time in nanoseconds since the Unix epoch (0 when the file system has none).
    pub mtime_ns: u128,
}

impl Signature {
    /// The signature of `path`, or `None` when it cannot be read (the image is then reported as
    /// skipped at extraction). For a tar member, the signature of its shard.
    pub fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(webly_data::image_container(path)).ok()?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Some(Self {
            len: meta.len(),
            mtime_ns,
        })
    }
}

/// `shard-NNNNN.json`: the images of a shard, in row order, and which of them loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShardIndex {
    pub images: Vec<PathBuf>,
    pub signatures: Vec<Option<Signature>>,
    /// `ok[i]`: image `i` loaded; rows of images that did not are zeros.
    pub ok: Vec<bool>,
    /// Why each image that did not load was skipped, by row.
    pub reasons: HashMap<usize, String>,
    pub views: usize,
    /// Shape of one view's activation.
    pub shape: Vec<i64>,
    pub dtype: CacheDtype,
    /// The tensor file's content checksum as written (`webly_io::checksum`: xxh3-128 with the
    /// size), so that a file cut short, zeroed or with a flipped byte is extracted again.
    pub checksum: String,
}

/// The paths of shard `s` in `dir`.
pub(crate) fn paths(dir: &Path, s: usize) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("shard-{s:05}.safetensors")),
        dir.join(format!("shard-{s:05}.json")),
    )
}

/// Bytes of one element.
pub(crate) fn elem_bytes(dtype: CacheDtype) -> usize {
    match dtype {
        CacheDtype::F16 => 2,
        CacheDtype::F32 => 4,
    }
}

fn st_dtype(dtype: CacheDtype) -> safetensors::Dtype {
    match dtype {
        CacheDtype::F16 => safetensors::Dtype::F16,
        CacheDtype::F32 => safetensors::Dtype::F32,
    }
}

/// The index of shard `s` when it is complete and covers exactly `images` with `signatures`,
/// `views`, `shape` and `dtype`; `None` when it must be extracted (again).
pub(crate) fn valid_index(
    dir: &Path,
    s: usize,
    images: &[PathBuf],
    signatures: &[Option<Signature>],
    views: usize,
    shape: &[i64],
    dtype: CacheDtype,
) -> Option<ShardIndex> {
    let (tensor, index) = paths(dir, s);
    let idx: ShardIndex = read_json(&index).ok()?;
    let same = idx.images == images
        && idx.signatures == signatures
        && idx.views == views
        && idx.shape == shape
        && idx.dtype == dtype;
    (same && webly_io::checksum(&tensor).is_ok_and(|c| c == idx.checksum)).then_some(idx)
}

/// Writes shard `s`: the tensor file, then the index with the file's checksum (both atomically);
/// returns the index as written.
pub(crate) fn write(
    dir: &Path,
    s: usize,
    mut index: ShardIndex,
    data: &[u8],
) -> Result<ShardIndex, EncoderError> {
    let (tensor, index_path) = paths(dir, s);
    let mut shape = vec![index.images.len(), index.views];
    shape.extend(index.shape.iter().map(|&d| d as usize));
    let view = safetensors::tensor::TensorView::new(st_dtype(index.dtype), shape, data)
        .map_err(|e| EncoderError::Data(format!("shard {}: {e}", tensor.display())))?;
    let bytes = safetensors::serialize([(TENSOR, view)], None)
        .map_err(|e| EncoderError::Data(format!("shard {}: {e}", tensor.display())))?;
    webly_io::write_atomic(&tensor, &bytes).map_err(io("write", &tensor))?;
    index.checksum = webly_io::checksum(&tensor).map_err(io("read back", &tensor))?;
    write_json(&index_path, &index)?;
    Ok(index)
}

/// A memory-mapped shard: its bytes and where the tensor data start.
pub(crate) struct MappedShard {
    map: memmap2::Mmap,
    offset: usize,
    /// Bytes of one image's row (all its views).
    row_bytes: usize,
    rows: usize,
}

impl MappedShard {
    /// Maps `shard-NNNNN.safetensors` and checks its tensor against the index.
    pub(crate) fn open(dir: &Path, s: usize, index: &ShardIndex) -> Result<Self, EncoderError> {
        let (path, _) = paths(dir, s);
        let file = std::fs::File::open(&path).map_err(io("open", &path))?;
        // SAFETY: shard files are only ever replaced by rename, never written in place, so the
        // mapped bytes do not change under us.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io("map", &path))?;
        let bad = |m: String| EncoderError::Data(format!("cache shard {}: {m}", path.display()));
        let st = safetensors::SafeTensors::deserialize(&map).map_err(|e| bad(e.to_string()))?;
        let t = st.tensor(TENSOR).map_err(|e| bad(e.to_string()))?;
        let mut want = vec![index.images.len(), index.views];
        want.extend(index.shape.iter().map(|&d| d as usize));
        if t.shape() != want.as_slice() || t.dtype() != st_dtype(index.dtype) {
            return Err(bad(format!(
                "holds {:?} {:?}, its index says {want:?} {:?}",
                t.dtype(),
                t.shape(),
                index.dtype
            )));
        }
        let offset = t.data().as_ptr() as usize - map.as_ptr() as usize;
        let rows = index.images.len();
        let row_bytes = t.data().len() / rows.max(1);
        Ok(Self {
            map,
            offset,
            row_bytes,
            rows,
        })
    }

    /// The bytes of view `v` of row `r`.
    pub(crate) fn view(&self, r: usize, v: usize, views: usize) -> &[u8] {
        debug_assert!(r < self.rows && v < views);
        let per_view = self.row_bytes / views;
        let start = self.offset + r * self.row_bytes + v * per_view;
        &self.map[start..start + per_view]
    }
}
