//! Atomic writes and the run folder's files. Bytes go through `webly_io::write_atomic`; files
//! that a library writes by path (tch weights, plotters PNGs) go to a temporary sibling with
//! webly-io's prefix and the same extension (tch picks the format from it), are synced, renamed.
use crate::error::{io, torch, EncoderError};
use serde::{de::DeserializeOwned, Serialize};
use std::path::{Path, PathBuf};
use tch::nn::VarStore;

/// The weights of the latest checkpoint.
pub const LAST: &str = "last.safetensors";
/// The weights with the best validation mAP.
pub const BEST: &str = "best.safetensors";
/// Training progress (see `checkpoint::State`).
pub const STATE: &str = "state.json";
/// What the network is (see `encoder::SavedModel`).
pub const MODEL: &str = "model.json";
/// Step and epoch rows.
pub const METRICS: &str = "metrics.csv";
/// Loss and validation mAP plot.
pub const PLOT: &str = "training.png";

/// A hidden temporary sibling of `path` that keeps its extension (tch picks the weights format
/// from the extension).
pub(crate) fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".tmp-{}-{name}", std::process::id()))
}

/// Renames `tmp` onto `path`.
pub(crate) fn commit(tmp: &Path, path: &Path) -> Result<(), EncoderError> {
    std::fs::rename(tmp, path).map_err(io("rename a temporary file onto", path))
}

/// Writes bytes atomically.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EncoderError> {
    let tmp = temp_sibling(path);
    std::fs::write(&tmp, bytes).map_err(io("write", &tmp))?;
    commit(&tmp, path)
}

/// Writes pretty JSON atomically.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), EncoderError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| EncoderError::Json {
        action: "encode",
        path: path.to_path_buf(),
        source,
    })?;
    write_atomic(path, &bytes)
}

/// Reads JSON.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, EncoderError> {
    let bytes = std::fs::read(path).map_err(io("read", path))?;
    serde_json::from_slice(&bytes).map_err(|source| EncoderError::Json {
        action: "parse",
        path: path.to_path_buf(),
        source,
    })
}

/// Saves all variables (BatchNorm statistics included) atomically.
pub(crate) fn save_weights(vs: &VarStore, path: &Path) -> Result<(), EncoderError> {
    let tmp = temp_sibling(path);
    vs.save(&tmp)
        .map_err(torch(format!("writing weights {}", tmp.display())))?;
    commit(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_keeps_extension_and_folder() {
        let t = temp_sibling(Path::new("/a/b/last.safetensors"));
        assert_eq!(t.parent(), Some(Path::new("/a/b")));
        assert!(t.to_string_lossy().ends_with("-last.safetensors"));
    }

    #[test]
    fn json_round_trip_atomic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.json");
        write_json(&p, &vec![1u32, 2, 3]).expect("write");
        let back: Vec<u32> = read_json(&p).expect("read");
        assert_eq!(back, [1, 2, 3]);
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("list").count(),
            1,
            "no temp file left"
        );
    }
}
