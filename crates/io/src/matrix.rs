//! Embedding matrices on disk, of captions and of images alike: `<name>.npy` (`rows x cols`
//! f32, C order, readable by numpy's `np.load`) and `<name>.ids` beside it (one key per line,
//! UTF-8, row by row). Writes are atomic ([`crate::write_atomic_with`]).

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView2};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

/// Why a matrix or key file could not be written or read; each message names the file (and
/// the line of a key file), the cause is the `source()`.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    /// The file could not be opened, written or renamed into place.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The values given are not `rows x cols`.
    #[error("{}: shape mismatch: {message}", path.display())]
    Shape {
        /// The file being written.
        path: PathBuf,
        /// The shape asked for and the values given.
        message: String,
    },
    /// The file is not a 2-D f32 `.npy` matrix.
    #[error("{}: npy", path.display())]
    Npy {
        /// The file.
        path: PathBuf,
        /// What the `.npy` reader found.
        #[source]
        source: ndarray_npy::ReadNpyError,
    },
    /// A key holds a line break (a key file holds one key per line).
    #[error("{}: key {row} contains a line break: {key:?}", path.display())]
    KeyLineBreak {
        /// The key file being written.
        path: PathBuf,
        /// The key's row, from 0.
        row: usize,
        /// The key.
        key: String,
    },
    /// A line of a key file could not be read (not UTF-8, or the read failed).
    #[error("{}:{line}: read error", path.display())]
    KeyLine {
        /// The key file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
}

/// The `.ids` file beside a `.npy` file (same name, `.ids` extension).
pub fn ids_path(npy_path: &Path) -> PathBuf {
    npy_path.with_extension("ids")
}

/// Writes a `rows x cols` row-major f32 matrix as `.npy` at `path`.
///
/// # Errors
/// [`MatrixError::Shape`] when `data` does not hold `rows x cols` values;
/// [`MatrixError::Io`] when the file cannot be written.
pub fn write_matrix(
    path: &Path,
    rows: usize,
    cols: usize,
    data: &[f32],
) -> Result<(), MatrixError> {
    let view = ArrayView2::from_shape((rows, cols), data).map_err(|e| MatrixError::Shape {
        path: path.to_path_buf(),
        message: format!("{rows} x {cols} with {} values: {e}", data.len()),
    })?;
    crate::write_atomic_with(path, |w| view.write_npy(w).map_err(std::io::Error::other)).map_err(
        |source| MatrixError::Io {
            path: path.to_path_buf(),
            source,
        },
    )
}

/// Reads a 2-D f32 `.npy` file: (row-major values, rows, cols).
///
/// # Errors
/// [`MatrixError::Io`] when it cannot be opened; [`MatrixError::Npy`] when it is not a 2-D
/// f32 `.npy` file.
pub fn read_matrix(path: &Path) -> Result<(Vec<f32>, usize, usize), MatrixError> {
    let file = File::open(path).map_err(|source| MatrixError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let array =
        Array2::<f32>::read_npy(BufReader::new(file)).map_err(|source| MatrixError::Npy {
            path: path.to_path_buf(),
            source,
        })?;
    let (rows, cols) = array.dim();
    let standard = if array.is_standard_layout() {
        array
    } else {
        array.as_standard_layout().into_owned()
    };
    let (data, _) = standard.into_raw_vec_and_offset();
    Ok((data, rows, cols))
}

/// Writes one key per line.
///
/// # Errors
/// [`MatrixError::KeyLineBreak`] for a key with a line break (nothing is written);
/// [`MatrixError::Io`] when the file cannot be written.
pub fn write_ids(path: &Path, ids: &[String]) -> Result<(), MatrixError> {
    if let Some(row) = ids.iter().position(|k| k.contains(['\n', '\r'])) {
        return Err(MatrixError::KeyLineBreak {
            path: path.to_path_buf(),
            row,
            key: ids[row].clone(),
        });
    }
    crate::write_atomic_with(path, |w| {
        for k in ids {
            w.write_all(k.as_bytes())?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
    .map_err(|source| MatrixError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads one key per line.
///
/// # Errors
/// [`MatrixError::Io`] when it cannot be opened; [`MatrixError::KeyLine`] naming the line
/// that cannot be read.
pub fn read_ids(path: &Path) -> Result<Vec<String>, MatrixError> {
    let file = File::open(path).map_err(|source| MatrixError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut ids = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        ids.push(line.map_err(|source| MatrixError::KeyLine {
            path: path.to_path_buf(),
            line: i + 1,
            source,
        })?);
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
        let ids = ids_path(&m);
        assert_eq!(ids, dir.path().join("x.ids"));
        write_ids(&ids, &["a b".into(), "c".into()]).unwrap();
        assert_eq!(read_ids(&ids).unwrap(), ["a b", "c"]);
        assert!(write_ids(&ids, &["a\nb".into()]).is_err());
        assert_eq!(
            read_ids(&ids).unwrap(),
            ["a b", "c"],
            "a refused write keeps the file"
        );
    }

    #[test]
    fn errors_name_the_file_and_line_once() {
        let dir = tempfile::tempdir().unwrap();
        let ids = dir.path().join("bad.ids");
        std::fs::write(&ids, b"ok\n\xff\xfe\n").unwrap();
        let e = crate::error_chain(&read_ids(&ids).unwrap_err());
        assert!(
            e.starts_with(&format!("{}:2: read error: ", ids.display())),
            "{e}"
        );
        assert_eq!(e.matches("UTF-8").count(), 1, "{e}");
        let npy = dir.path().join("not.npy");
        std::fs::write(&npy, b"plain text").unwrap();
        let e = crate::error_chain(&read_matrix(&npy).unwrap_err());
        assert!(e.starts_with(&format!("{}: npy: ", npy.display())), "{e}");
        let missing = dir.path().join("missing.npy");
        let e = crate::error_chain(&read_matrix(&missing).unwrap_err());
        assert_eq!(e.matches("No such file").count(), 1, "{e}");
    }
}
