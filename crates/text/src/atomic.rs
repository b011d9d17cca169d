//! Atomic file writes: a temporary file in the target's folder, then a rename.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Result, TextError};

/// Writes `path` atomically: `body` fills a temporary file created in the same folder, which is
/// flushed, synced and renamed over `path` only if `body` succeeds.
pub(crate) fn write_atomic<F>(path: &Path, body: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<&File>) -> std::io::Result<()>,
{
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".webly-tmp-")
        .tempfile_in(dir)
        .map_err(|e| TextError::io(dir, e))?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
        body(&mut w).map_err(|e| TextError::io(path, e))?;
        w.flush().map_err(|e| TextError::io(path, e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| TextError::io(path, e))?;
    tmp.persist(path)
        .map_err(|e| TextError::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_body_leaves_no_file_and_keeps_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        write_atomic(&p, |w| w.write_all(b"old")).unwrap();
        let err = write_atomic(&p, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
