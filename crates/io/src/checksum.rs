//! Content checksums of the files a manifest or stamp vouches for: xxh3-128 (xxhash-rust), fast
//! enough to verify a run folder's artifacts on every use (several GB/s), and recorded with the
//! file's size so that a truncated file is named as such.
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::Xxh3;

/// Names the algorithm in recorded checksums (`<kind>:<size>:<hex>`), so a later change of
/// algorithm is seen as a mismatch, never as damage-free.
pub const CHECKSUM_KIND: &str = "xxh3-128";

/// Read buffer of [`checksum`].
const READ_CHUNK: usize = 1 << 20;

/// The checksum of a file's content: `xxh3-128:<size in bytes>:<32 hex digits>`.
///
/// # Errors
/// Opening or reading `path`.
pub fn checksum(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Xxh3::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut size: u64 = 0;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok(format!("{CHECKSUM_KIND}:{size}:{:032x}", h.digest128()))
}

/// The checksums of `names` (relative to `dir`), keyed by name: what a manifest records.
///
/// # Errors
/// Reading any of the files (the error names none: callers add the folder).
pub fn checksums(dir: &Path, names: &[&str]) -> std::io::Result<BTreeMap<String, String>> {
    names
        .iter()
        .map(|n| Ok((n.to_string(), checksum(&dir.join(n))?)))
        .collect()
}

/// A file that does not hold what its manifest recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The damaged file (its folder joined with the manifest's name).
    pub path: PathBuf,
    /// What is wrong: missing, unreadable, or the recorded and actual checksums.
    pub what: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.path.display(), self.what)
    }
}

/// Checks every recorded file of `dir` against its checksum; the first that differs (missing,
/// unreadable, cut short or grown, or same size with other content) is returned. An empty
/// record is damage too: there is nothing to vouch for the folder. So is a recorded name that
/// is not a relative path inside `dir` (absolute, with `..` or `.`): a manifest vouches for its
/// own folder's files only, and such a name is never opened (`/dev/zero` would be read forever).
pub fn verify(dir: &Path, recorded: &BTreeMap<String, String>) -> Result<(), Damage> {
    if recorded.is_empty() {
        return Err(Damage {
            path: dir.to_path_buf(),
            what: "has no recorded checksums (written by an older webly, or edited)".into(),
        });
    }
    for (name, want) in recorded {
        let path = dir.join(name);
        let damage = |what: String| Damage {
            path: path.clone(),
            what,
        };
        let inside = Path::new(name)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside || name.is_empty() {
            return Err(Damage {
                path: dir.to_path_buf(),
                what: format!("records {name:?}, which is not a file name inside the folder"),
            });
        }
        let got = checksum(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => damage("is missing".into()),
            _ => damage(format!("cannot be read ({e})")),
        })?;
        if &got != want {
            let size = |s: &str| s.split(':').nth(1).map(str::to_string);
            let what = match (size(&got), size(want)) {
                (Some(g), Some(w)) if g != w => {
                    format!("holds {g} bytes, but {w} were written (cut short or edited)")
                }
                _ => "differs from its recorded checksum (edited or damaged)".into(),
            };
            return Err(damage(what));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_outside_the_folder_are_damage_and_never_opened() {
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("index");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(top.path().join("outside.bin"), b"not the folder's").unwrap();
        let outside = checksum(&top.path().join("outside.bin")).unwrap();
        for name in ["../outside.bin", "/dev/zero", "./a/../../outside.bin", ""] {
            let rec = BTreeMap::from([(name.to_string(), outside.clone())]);
            let d = verify(&dir, &rec).unwrap_err();
            assert_eq!(d.path, dir, "{name}");
            assert!(d.what.contains("not a file name inside"), "{name}: {d}");
        }
    }

    #[test]
    fn every_kind_of_damage_is_seen_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let body: Vec<u8> = (0..10_000u32).flat_map(|i| i.to_le_bytes()).collect();
        std::fs::write(dir.path().join("a.bin"), &body).unwrap();
        std::fs::write(dir.path().join("b.txt"), "one\ntwo\nthree\n").unwrap();
        let rec = checksums(dir.path(), &["a.bin", "b.txt"]).unwrap();
        verify(dir.path(), &rec).unwrap();

        let damaged = |edit: &dyn Fn(&mut Vec<u8>), file: &str| {
            let p = dir.path().join(file);
            let good = std::fs::read(&p).unwrap();
            let mut bad = good.clone();
            edit(&mut bad);
            std::fs::write(&p, &bad).unwrap();
            let err = verify(dir.path(), &rec).unwrap_err();
            std::fs::write(&p, &good).unwrap();
            verify(dir.path(), &rec).unwrap();
            assert_eq!(err.path, p);
            err.what
        };
        let cut = damaged(&|b| b.truncate(b.len() / 2), "a.bin");
        assert!(
            cut.contains("20000 bytes") && cut.contains("40000"),
            "{cut}"
        );
        let zeroed = damaged(&|b| b[100..200].fill(0), "a.bin");
        assert!(zeroed.contains("differs"), "{zeroed}");
        let flipped = damaged(&|b| b[7] ^= 1, "a.bin");
        assert!(flipped.contains("differs"), "{flipped}");
        let shuffled = damaged(&|b| *b = b"two\none\nthree\n".to_vec(), "b.txt");
        assert!(shuffled.contains("differs"), "{shuffled}");

        std::fs::remove_file(dir.path().join("b.txt")).unwrap();
        let gone = verify(dir.path(), &rec).unwrap_err();
        assert_eq!(gone.what, "is missing");
        assert!(verify(dir.path(), &BTreeMap::new()).is_err());
    }
}
