//! Small file helpers: atomic writes.
use std::io::Write;
use std::path::Path;

use crate::error::{PipelineError, Result};

/// Writes `bytes` to a temporary file beside `path`, then renames it into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(PipelineError::io("creating", dir))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(PipelineError::io("creating a temp file in", dir))?;
    tmp.write_all(bytes).map_err(PipelineError::io("writing", path))?;
    tmp.persist(path)
        .map_err(|e| PipelineError::io("renaming into", path)(e.error))?;
    Ok(())
}
