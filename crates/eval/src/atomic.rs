//! Atomic file writes (the shared `webly-io` implementation), with this crate's error.

use std::path::Path;

use crate::{EvalError, Result};

/// Writes `bytes` to `path` through a temporary file in the same folder (created if needed),
/// renamed into place, so readers see the old file or the whole new one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    webly_io::write_atomic(path, bytes).map_err(|e| EvalError::io(path, e))
}
