//! Atomic file writes (the shared `webly-io` implementation), with this crate's error.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use crate::error::{Result, TextError};

/// Writes `path` atomically: `body` fills a temporary file in the same folder, renamed over
/// `path` only if `body` succeeds.
pub(crate) fn write_atomic<F>(path: &Path, body: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<&File>) -> std::io::Result<()>,
{
    webly_io::write_atomic_with(path, body).map_err(|e| TextError::io(path, e))
}
