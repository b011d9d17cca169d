//! A validated, re-normalised embedding matrix with one key per row.

use rayon::prelude::*;

use crate::{IndexError, Result};

/// Row-major `n x dim` L2-normalised vectors with their keys (e.g. `"city/id"`).
#[derive(Debug, Clone)]
pub struct Embeddings {
    data: Vec<f32>,
    dim: usize,
    keys: Vec<String>,
}

impl Embeddings {
    /// Takes a row-major `keys.len() x dim` matrix, checks the shape, rejects NaN/inf and
    /// all-zero rows (the error names the row's key), and re-normalises every row to unit length.
    ///
    /// # Errors
    /// [`IndexError::ZeroDim`], [`IndexError::Shape`] when `data.len() != keys.len() * dim`,
    /// [`IndexError::BadKey`] for a key with a line break, [`IndexError::NonFinite`] and
    /// [`IndexError::ZeroRow`] naming the first bad row.
    pub fn new(mut data: Vec<f32>, dim: usize, keys: Vec<String>) -> Result<Self> {
        check_shape(data.len(), dim, keys.len())?;
        check_keys(&keys)?;
        let bad = data
            .par_chunks_mut(dim)
            .enumerate()
            .find_map_first(|(row, v)| l2_normalize(v).err().map(|e| (row, e)));
        if let Some((row, zero)) = bad {
            let key = keys[row].clone();
            return Err(if zero {
                IndexError::ZeroRow { row, key }
            } else {
                IndexError::NonFinite { row, key }
            });
        }
        Ok(Embeddings { data, dim, keys })
    }

    /// Same as [`Embeddings::new`] (and its errors), copying a borrowed matrix.
    pub fn from_slice(data: &[f32], dim: usize, keys: Vec<String>) -> Result<Self> {
        Self::new(data.to_vec(), dim, keys)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Row `i` (panics when out of range).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The whole row-major matrix.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The row keys.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }
}

fn check_shape(len: usize, dim: usize, rows: usize) -> Result<()> {
    if dim == 0 {
        return Err(IndexError::ZeroDim);
    }
    if len != rows * dim {
        return Err(IndexError::Shape {
            len,
            rows: len / dim,
            dim,
            keys: rows,
        });
    }
    Ok(())
}

fn check_keys(keys: &[String]) -> Result<()> {
    match keys.iter().position(|k| k.contains(['\n', '\r'])) {
        Some(row) => Err(IndexError::BadKey {
            row,
            key: keys[row].clone(),
        }),
        None => Ok(()),
    }
}

/// Normalises in place; `Err(true)` for an all-zero row, `Err(false)` for a non-finite value.
pub(crate) fn l2_normalize(v: &mut [f32]) -> std::result::Result<(), bool> {
    if v.iter().any(|x| !x.is_finite()) {
        return Err(false);
    }
    let norm = v
        .iter()
        .map(|x| (*x as f64) * (*x as f64))
        .sum::<f64>()
        .sqrt();
    if norm == 0.0 {
        return Err(true);
    }
    let inv = (1.0 / norm) as f32;
    v.iter_mut().for_each(|x| *x *= inv);
    Ok(())
}

/// A unit-length copy of a query, or `None` when it is zero or not finite.
pub(crate) fn l2_normalized(q: &[f32]) -> Option<Vec<f32>> {
    let mut v = q.to_vec();
    l2_normalize(&mut v).ok().map(|_| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("city/{i}")).collect()
    }

    #[test]
    fn renormalises_rows() {
        let e = Embeddings::new(vec![3.0, 4.0, 0.0, 2.0], 2, keys(2)).unwrap();
        assert_eq!(e.row(0), &[0.6, 0.8]);
        assert_eq!(e.row(1), &[0.0, 1.0]);
    }

    #[test]
    fn rejects_nan_naming_the_key() {
        let err = Embeddings::new(vec![1.0, 0.0, f32::NAN, 1.0], 2, keys(2)).unwrap_err();
        assert!(err.to_string().contains("city/1"), "{err}");
        let err = Embeddings::new(vec![1.0, 0.0, 0.0, 0.0], 2, keys(2)).unwrap_err();
        assert!(matches!(err, IndexError::ZeroRow { row: 1, .. }), "{err}");
    }

    #[test]
    fn rejects_bad_shape_and_keys() {
        assert!(Embeddings::new(vec![1.0; 5], 2, keys(2)).is_err());
        assert!(Embeddings::new(vec![1.0; 4], 0, keys(2)).is_err());
        assert!(Embeddings::new(vec![1.0; 2], 2, vec!["a\nb".into()]).is_err());
    }
}
