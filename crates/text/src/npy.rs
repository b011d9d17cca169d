//! Matrix and key files: `<name>.npy` (N x D f32, C order, numpy-readable) and `<name>.ids`
//! (one key per line, UTF-8). Writes are atomic.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use ndarray::{Array2, ArrayView2};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

use crate::atomic::write_atomic;
use crate::error::{Result, TextError};

/// Writes a `rows x cols` row-major f32 matrix as `.npy` at `path`.
pub fn write_matrix(path: &Path, rows: usize, cols: usize, data: &[f32]) -> Result<()> {
    let view = ArrayView2::from_shape((rows, cols), data).map_err(|e| TextError::Shape {
        what: path.display().to_string(),
        msg: format!("{rows} x {cols} with {} values: {e}", data.len()),
    })?;
    write_atomic(path, |w| view.write_npy(w).map_err(std::io::Error::other))
}

/// Reads a 2-D f32 `.npy` file: (row-major values, rows, cols).
pub fn read_matrix(path: &Path) -> Result<(Vec<f32>, usize, usize)> {
    let file = File::open(path).map_err(|e| TextError::io(path, e))?;
    let array = Array2::<f32>::read_npy(BufReader::new(file))
        .map_err(|e| TextError::format(&path.display().to_string(), format!("npy: {e}")))?;
    let (rows, cols) = array.dim();
    let standard = if array.is_standard_layout() {
        array
    } else {
        array.as_standard_layout().into_owned()
    };
    let (data, _) = standard.into_raw_vec_and_offset();
    Ok((data, rows, cols))
}

/// Writes one key per line. Keys must not contain a newline.
pub fn write_ids(path: &Path, ids: &[String]) -> Result<()> {
    if let Some(bad) = ids.iter().position(|k| k.contains(['\n', '\r'])) {
        let msg = format!("key {bad} contains a line break: {:?}", ids[bad]);
        return Err(TextError::format(&path.display().to_string(), msg));
    }
    write_atomic(path, |w| {
        for k in ids {
            w.write_all(k.as_bytes())?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// Reads one key per line.
pub fn read_ids(path: &Path) -> Result<Vec<String>> {
    let file = File::open(path).map_err(|e| TextError::io(path, e))?;
    let mut ids = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| {
            TextError::parse(
                &path.display().to_string(),
                i + 1,
                format!("read error: {e}"),
            )
        })?;
        ids.push(line);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_and_ids_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("x.npy");
        write_matrix(&m, 2, 3, &[1., 2., 3., 4., 5., 6.]).unwrap();
        assert_eq!(
            read_matrix(&m).unwrap(),
            (vec![1., 2., 3., 4., 5., 6.], 2, 3)
        );
        assert!(write_matrix(&m, 2, 2, &[1.0]).is_err());
        let ids = dir.path().join("x.ids");
        write_ids(&ids, &["a b".into(), "c".into()]).unwrap();
        assert_eq!(read_ids(&ids).unwrap(), ["a b", "c"]);
        assert!(write_ids(&ids, &["a\nb".into()]).is_err());
    }
}
