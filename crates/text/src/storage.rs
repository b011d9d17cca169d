//! Vector storage: an owned dense matrix or a memory-mapped cache file.

use memmap2::Mmap;

/// Row-major `n x dim` f32 matrix.
#[derive(Debug)]
pub enum Storage {
    /// Owned vectors (after parsing a text or binary file, or training).
    Dense {
        /// `n * dim` values, row-major.
        data: Vec<f32>,
        /// Columns.
        dim: usize,
    },
    /// Vectors read in place from a memory-mapped cache (not copied).
    Mmap(MmapMatrix),
}

/// A matrix inside a memory map, checked at construction for bounds and alignment.
#[derive(Debug)]
pub struct MmapMatrix {
    map: Mmap,
    offset: usize,
    rows: usize,
    dim: usize,
}

impl MmapMatrix {
    /// Wraps `rows x dim` little-endian f32 at `offset` of `map`. `None` if out of bounds,
    /// misaligned, or on a big-endian host.
    pub(crate) fn new(map: Mmap, offset: usize, rows: usize, dim: usize) -> Option<Self> {
        let bytes = rows.checked_mul(dim)?.checked_mul(4)?;
        let end = offset.checked_add(bytes)?;
        let aligned = (map.as_ptr() as usize + offset).is_multiple_of(std::mem::align_of::<f32>());
        if end > map.len() || !aligned || cfg!(target_endian = "big") {
            return None;
        }
        Some(MmapMatrix {
            map,
            offset,
            rows,
            dim,
        })
    }

    fn as_slice(&self) -> &[f32] {
        let bytes = &self.map[self.offset..self.offset + self.rows * self.dim * 4];
        // `new` checked bounds and alignment, so the cast cannot fail.
        bytemuck::cast_slice(bytes)
    }
}

impl Storage {
    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        match self {
            Storage::Dense { data, .. } => data,
            Storage::Mmap(m) => m.as_slice(),
        }
    }

    /// Columns.
    pub fn dim(&self) -> usize {
        match self {
            Storage::Dense { dim, .. } => *dim,
            Storage::Mmap(m) => m.dim,
        }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        match self.dim() {
            0 => 0,
            d => self.as_slice().len() / d,
        }
    }

    /// Row `i` (panics if out of range; callers index through the vocabulary).
    pub fn row(&self, i: usize) -> &[f32] {
        let d = self.dim();
        &self.as_slice()[i * d..(i + 1) * d]
    }

    /// True if the vectors are memory-mapped rather than owned.
    pub fn is_mmap(&self) -> bool {
        matches!(self, Storage::Mmap(_))
    }
}
