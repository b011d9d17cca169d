//! Multi-file inputs ("bundles"): a folder's files packed as one tar, so a target that reads a
//! folder (an index, a stage's stamp and outputs, embedding shards) has one input file per
//! case. Mutation then works on one member's bytes, not on the tar framing.

use std::io::Read;
use std::path::{Component, Path};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::mutate::mutate;

/// A bundle's files: relative name and bytes, in tar order.
pub type Files = Vec<(String, Vec<u8>)>;

/// The files of a bundle; `None` when `bytes` is not a tar of plain relative files.
pub fn unpack(bytes: &[u8]) -> Option<Files> {
    let mut archive = tar::Archive::new(bytes);
    let mut files = Vec::new();
    for entry in archive.entries().ok()? {
        let mut entry = entry.ok()?;
        let name = entry.path().ok()?.to_str()?.to_string();
        if !is_plain(Path::new(&name)) {
            return None;
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).ok()?;
        files.push((name, data));
    }
    Some(files)
}

/// Packs files into a bundle (a deterministic tar: mode 0644, mtime 0).
pub fn pack(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        // Names come from unpack or from the seeds: plain and relative.
        if builder
            .append_data(&mut header, name, data.as_slice())
            .is_err()
        {
            continue;
        }
    }
    builder.into_inner().unwrap_or_default()
}

/// A name without root, `..` or `.` components, so it stays inside the folder it is written to.
fn is_plain(path: &Path) -> bool {
    path.components().all(|c| matches!(c, Component::Normal(_)))
        && path.components().next().is_some()
}

/// Writes the files of a bundle into `dir` (sub-folders created).
pub fn write_into(dir: &Path, files: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    for (name, data) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, data)?;
    }
    Ok(())
}

/// Mutates one member of a bundle (rarely drops or duplicates one instead); a bundle that does
/// not unpack is mutated as plain bytes.
pub fn mutate_bundle(
    data: &mut Vec<u8>,
    rng: &mut ChaCha8Rng,
    tokens: &[&[u8]],
    others: &[Vec<u8>],
    max_len: usize,
) {
    let Some(mut files) = unpack(data).filter(|f| !f.is_empty()) else {
        mutate(data, rng, tokens, others, max_len);
        return;
    };
    let i = rng.gen_range(0..files.len());
    match rng.gen_range(0..40) {
        0 => {
            files.remove(i);
        }
        1 => {
            let copy = files[i].clone();
            files.push(copy);
        }
        _ => {
            // Splices take parts of the same member in other bundles.
            let same: Vec<Vec<u8>> = others
                .iter()
                .filter_map(|o| unpack(o))
                .flat_map(|f| f.into_iter().filter(|(n, _)| *n == files[i].0))
                .map(|(_, d)| d)
                .collect();
            mutate(&mut files[i].1, rng, tokens, &same, max_len);
        }
    }
    *data = pack(&files);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_round_trip_and_refuse_escaping_names() {
        let files = vec![
            ("a.json".to_string(), b"{}".to_vec()),
            ("sub/b.bin".to_string(), vec![0, 1, 2]),
        ];
        assert_eq!(unpack(&pack(&files)), Some(files));
        assert!(!is_plain(Path::new("../x")));
        assert!(!is_plain(Path::new("/etc/x")));
        assert!(is_plain(Path::new("a/b")));
    }
}
