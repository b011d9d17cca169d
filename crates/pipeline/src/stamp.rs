//! Stage reuse: a stage writes `stamp.json` holding a fingerprint of its inputs (its config and
//! the stamps of the stages it read) after its outputs; it is skipped when the stamp matches.
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{PipelineError, Result};

/// The file a finished stage leaves in its folder.
pub const STAMP_FILE: &str = "stamp.json";

/// A fingerprint of anything serialisable (its JSON form, hashed).
pub fn fingerprint<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let json = serde_json::to_vec(value)
        .map_err(|e| PipelineError::Invalid(format!("fingerprinting a config: {e}")))?;
    Ok(hex::encode(Sha256::digest(&json))[..16].to_string())
}

/// The stamp of a finished stage in `dir`, if any.
pub fn read(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(STAMP_FILE)).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value.get("inputs")?.as_str().map(str::to_string)
}

/// Whether `dir` holds a finished stage with these inputs.
pub fn is_fresh(dir: &Path, inputs: &str) -> bool {
    read(dir).as_deref() == Some(inputs)
}

/// Marks the stage in `dir` finished with these inputs (atomically).
pub fn write(dir: &Path, inputs: &str) -> Result<()> {
    let json = serde_json::json!({ "inputs": inputs });
    crate::fsio::write_atomic(&dir.join(STAMP_FILE), json.to_string().as_bytes())
}

/// Forgets a stage's stamp before it is rerun, so an interrupted rerun is never taken as done.
pub fn clear(dir: &Path) -> Result<()> {
    match std::fs::remove_file(dir.join(STAMP_FILE)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(PipelineError::io("removing the stamp in", dir)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_round_trip_and_change_detection() {
        let dir = tempfile::tempdir().unwrap();
        let a = fingerprint(&("cfg", 1)).unwrap();
        let b = fingerprint(&("cfg", 2)).unwrap();
        assert_ne!(a, b);
        assert!(!is_fresh(dir.path(), &a));
        write(dir.path(), &a).unwrap();
        assert!(is_fresh(dir.path(), &a));
        assert!(!is_fresh(dir.path(), &b));
        clear(dir.path()).unwrap();
        assert!(!is_fresh(dir.path(), &a));
        clear(dir.path()).unwrap();
    }
}
