//! Atomic writes (the shared `webly-io` implementation), with this crate's error.
use std::path::Path;

use crate::error::{PipelineError, Result};

/// Writes `bytes` to a temporary file beside `path`, then renames it into place.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    webly_io::write_atomic(path, bytes).map_err(PipelineError::io("writing", path))
}
