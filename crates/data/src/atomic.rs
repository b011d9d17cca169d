//! Atomic file writes (the shared `webly-io` implementation), with this crate's error.

use std::path::Path;

use crate::error::DataError;

/// Writes `bytes` to `path` atomically (temporary file in the same folder, then rename).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    webly_io::write_atomic(path, bytes).map_err(|e| DataError::write(path, e))
}
