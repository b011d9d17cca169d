//! webly's file plumbing, shared by every crate so that "nothing is lost" has one
//! implementation: a result is written to a temporary file in its destination folder, flushed,
//! synced and renamed into place, so readers see the old file or the whole new one, never a
//! torn one, and an interrupted write leaves the old file intact.
//!
//! It also owns what makes a run folder trustworthy: content [`checksum`]s that manifests and
//! stamps record for every file they vouch for (verified with [`verify`] before use), and the
//! run folder's advisory [`FolderLock`] (one writer, or any number of readers).
//!
//! Errors are plain `std::io::Error`s; each library maps them into its own error type with the
//! path it was writing.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

mod checksum;
mod lock;

pub use checksum::{checksum, checksums, verify, Damage, CHECKSUM_KIND};
pub use lock::{is_temporary, FolderLock, LockKind, LOCK_FILE};

/// Prefix of the temporary files (hidden, and recognisable if a crash leaves one behind).
pub const TEMP_PREFIX: &str = ".webly-tmp-";

/// Mode asked for new files before the umask applies (what `File::create` asks).
#[cfg(unix)]
const CREATE_MODE: u32 = 0o666;

/// Writes `path` atomically: `body` fills a temporary file in the same folder (created if
/// missing), which replaces `path` only if `body` succeeds.
pub fn write_atomic_with<F>(path: &Path, body: F) -> std::io::Result<()>
where
    F: FnOnce(&mut BufWriter<&File>) -> std::io::Result<()>,
{
    write(path, body, true)
}

/// Writes `bytes` to `path` atomically (see [`write_atomic_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// As [`write_atomic`] but without syncing to disk first: still never torn for readers, for
/// bulk outputs that can be regenerated (a million generated images), where a sync per file
/// costs more than the write.
pub fn write_atomic_unsynced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write(path, |w| w.write_all(bytes), false)
}

fn write<F>(path: &Path, body: F, sync: bool) -> std::io::Result<()>
where
    F: FnOnce(&mut BufWriter<&File>) -> std::io::Result<()>,
{
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    #[cfg(unix)]
    {
        // tempfile creates 0600 files; ask for 0666 like `File::create`, so the process umask
        // decides the final mode of the output.
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(CREATE_MODE));
    }
    // Dropped without `persist` (a failed body, flush, sync or rename): the file is deleted.
    let tmp = builder.tempfile_in(dir)?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
        body(&mut w)?;
        w.flush()?;
    }
    if sync {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_body_keeps_the_old_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        write_atomic(&p, b"old").unwrap();
        let err = write_atomic_with(&p, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn outputs_get_the_umask_mode_not_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        write_atomic(&p, b"x").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        // What `File::create` gives under this process's umask.
        let q = dir.path().join("plain.txt");
        std::fs::File::create(&q).unwrap();
        let expected = std::fs::metadata(&q).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, expected, "{mode:o} vs {expected:o}");
        assert_ne!(mode, 0o600, "the umask of tests is never 0177");
    }

    #[test]
    fn creates_missing_folders_and_replaces_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/out.txt");
        write_atomic(&p, b"first version").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "second");
        assert_eq!(
            std::fs::read_dir(dir.path().join("a/b")).unwrap().count(),
            1
        );
        write_atomic_unsynced(&p, b"third").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "third");
        assert_eq!(
            std::fs::read_dir(dir.path().join("a/b")).unwrap().count(),
            1
        );
    }
}
