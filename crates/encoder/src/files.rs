//! The run folder's file names and this crate's atomic writes. Bytes go through
//! `webly_io::write_atomic`; files that a library writes by path (tch weights, plotters PNGs)
//! through `webly_io::write_atomic_path` (a temporary sibling that keeps the extension, which
//! tch picks the format from; synced, renamed, the folder synced).
use crate::error::{io, torch, EncoderError};
use serde::{de::DeserializeOwned, Serialize};
use std::path::Path;
use tch::nn::VarStore;
use webly_io::AtomicError;

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

/// Writes `path` atomically through `write`, which writes the temporary path it is given (see
/// `webly_io::write_atomic_path`); I/O failures around it name `path`.
pub(crate) fn write_by_path(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), EncoderError>,
) -> Result<(), EncoderError> {
    webly_io::write_atomic_path(path, write).map_err(|e| match e {
        AtomicError::Write(e) => e,
        AtomicError::Io(e) => io("write (temporary file, sync, rename)", path)(e),
    })
}

/// Writes bytes atomically (webly-io: temp file, sync, rename; the temp file removed on failure).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EncoderError> {
    webly_io::write_atomic(path, bytes).map_err(io("write", path))
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
    write_by_path(path, |tmp| {
        vs.save(tmp)
            .map_err(torch(format!("writing weights {}", tmp.display())))
    })
}

/// Saves named tensors (CPU) as safetensors atomically.
pub(crate) fn save_named(named: &[(String, tch::Tensor)], path: &Path) -> Result<(), EncoderError> {
    write_by_path(path, |tmp| {
        tch::Tensor::write_safetensors(named, tmp)
            .map_err(torch(format!("writing {}", tmp.display())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_weights_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vs = VarStore::new(tch::Device::Cpu);
        let _w = vs.root().zeros("w", &[4]);
        // The destination is a folder holding a file: the rename onto it fails (as a full
        // disk fails the write), after the temporary file was written.
        let path = dir.path().join(LAST);
        std::fs::create_dir(&path).expect("mkdir");
        std::fs::write(path.join("keep"), b"x").expect("write");
        assert!(save_weights(&vs, &path).is_err());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [LAST], "temporary file left behind");
        save_weights(&vs, &dir.path().join(BEST)).expect("a writable path still works");
        assert!(dir.path().join(BEST).is_file());
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
