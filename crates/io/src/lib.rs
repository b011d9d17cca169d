//! webly's file plumbing, shared by every crate so that "nothing is lost" has one
//! implementation: a result is written to a temporary file in its destination folder, flushed,
//! synced and renamed into place, so readers see the old file or the whole new one, never a
//! torn one, and an interrupted write leaves the old file intact.
//!
//! It also owns what makes a run folder trustworthy: content [`checksum`]s that manifests and
//! stamps record for every file they vouch for (verified with [`verify`] before use), and the
//! run folder's advisory [`FolderLock`] (one writer, or any number of readers).
//!
//! Embedding matrices, of captions and of images alike, are stored as `.npy` with their keys in
//! `.ids` beside them ([`write_matrix`], [`read_matrix`], [`write_ids`], [`read_ids`]).
//!
//! Writers that take a path instead of bytes (tch weights, plotters PNGs, an index's folder) use
//! [`write_atomic_path`] (a temporary sibling that keeps the extension) and
//! [`write_dir_atomic`] (a temporary sibling folder).
//!
//! It also holds the two small helpers every crate's long loops and plots share: [`progress`]
//! (indicatif bars and plain periodic lines) and, with the `plot` feature, [`plot_font`].
//!
//! Errors are plain `std::io::Error`s (or [`AtomicError`] where the caller's writer has its own
//! error); each library maps them into its own error type with the path it was writing, whose
//! message names the path and whose `source()` is the cause, printed once by [`error_chain`].
#![deny(missing_docs)]
#![forbid(unsafe_code)]
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

mod checksum;
mod lock;
mod matrix;
#[cfg(feature = "plot")]
mod plot;
pub mod progress;

pub use checksum::{checksum, checksums, verify, Damage, CHECKSUM_KIND};
pub use lock::{is_temporary, FolderLock, LockKind, LOCK_FILE};
pub use matrix::{ids_path, read_ids, read_matrix, write_ids, write_matrix, MatrixError};
#[cfg(feature = "plot")]
pub use plot::{plot_font, PLOT_FONT};

/// Prefix of the temporary files (hidden, and recognisable if a crash leaves one behind).
pub const TEMP_PREFIX: &str = ".webly-tmp-";

/// Mode asked for new files before the umask applies (what `File::create` asks).
const CREATE_MODE: u32 = 0o666;

/// Mode asked for new folders before the umask applies (what `create_dir` asks).
const CREATE_DIR_MODE: u32 = 0o777;

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

/// Why an atomic write by path failed: the caller's writer (`Write`), or the temporary file,
/// sync or rename around it (`Io`).
#[derive(Debug)]
pub enum AtomicError<E> {
    /// The caller's writer failed; the temporary file was removed and `path` is untouched.
    Write(E),
    /// Creating the temporary file or folder, syncing it or renaming it into place failed.
    Io(std::io::Error),
}

impl<E: std::fmt::Display> std::fmt::Display for AtomicError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AtomicError::Write(e) => e.fmt(f),
            AtomicError::Io(e) => e.fmt(f),
        }
    }
}

/// Transparent: the message is the wrapped error's and so is the cause, so a chain printed
/// with `: ` between causes says each once.
impl<E: std::error::Error + 'static> std::error::Error for AtomicError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AtomicError::Write(e) => e.source(),
            AtomicError::Io(e) => e.source(),
        }
    }
}

/// An error and its causes on one line, `message: cause: cause`, as anyhow's `{:#}` prints
/// them. webly's error types print their own message only and keep what caused it as
/// [`std::error::Error::source`], so this is how a library error becomes text without losing
/// its cause (a skipped file's reason, a server's answer, a warning).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

impl<E> From<std::io::Error> for AtomicError<E> {
    fn from(e: std::io::Error) -> Self {
        AtomicError::Io(e)
    }
}

/// Writes `path` atomically through a library that writes by path (tch's `VarStore::save`,
/// plotters' `BitMapBackend`): `write` gets a hidden temporary sibling,
/// `.webly-tmp-<random>-<file name>`, which keeps `path`'s extension (tch and plotters pick the
/// format from it). On success the file is synced, renamed onto `path` and the folder synced;
/// on any failure the temporary file is removed and `path` is untouched. The folder is created
/// if missing.
///
/// # Errors
/// [`AtomicError::Write`] with `write`'s error; [`AtomicError::Io`] for the temporary file, the
/// sync or the rename.
pub fn write_atomic_path<T, E, F>(path: &Path, write: F) -> Result<T, AtomicError<E>>
where
    F: FnOnce(&Path) -> Result<T, E>,
{
    let dir = parent_of(path);
    std::fs::create_dir_all(dir)?;
    // Dropped without `persist` (a failed writer, sync or rename): the file is deleted.
    let tmp = temp_builder(&suffix_of(path), CREATE_MODE)
        .tempfile_in(dir)?
        .into_temp_path();
    let value = write(&tmp).map_err(AtomicError::Write)?;
    // The writer may have replaced the file the builder created: sync what the path names now.
    File::open(&tmp)?.sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)?;
    Ok(value)
}

/// Writes the folder `dir` atomically: `fill` gets a fresh, empty, hidden temporary folder
/// beside `dir` (`.webly-tmp-<random>-<name>`), whose files are synced and which then replaces
/// `dir` (an existing `dir` is first moved aside, then removed; if the second rename fails the
/// old folder is put back). On any failure the temporary folder is removed. Readers see the old
/// folder or the whole new one, except for the instant between the two renames, when `dir` is
/// missing (POSIX has no atomic exchange of two folders).
///
/// # Errors
/// [`AtomicError::Write`] with `fill`'s error; [`AtomicError::Io`] for the folders, the syncs
/// and the renames.
pub fn write_dir_atomic<T, E, F>(dir: &Path, fill: F) -> Result<T, AtomicError<E>>
where
    F: FnOnce(&Path) -> Result<T, E>,
{
    let parent = parent_of(dir);
    std::fs::create_dir_all(parent)?;
    let suffix = suffix_of(dir);
    // Removed with its content when dropped, unless kept below.
    let tmp = temp_builder(&suffix, CREATE_DIR_MODE).tempdir_in(parent)?;
    let value = fill(tmp.path()).map_err(AtomicError::Write)?;
    for entry in std::fs::read_dir(tmp.path())? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            File::open(entry.path())?.sync_all()?;
        }
    }
    sync_dir(tmp.path())?;
    if dir.exists() {
        let old = temp_builder(&format!("{suffix}.old"), CREATE_DIR_MODE)
            .tempdir_in(parent)?
            .keep();
        // `old` is an empty folder: renaming a folder onto an empty one replaces it.
        if let Err(e) = std::fs::rename(dir, &old) {
            let _ = std::fs::remove_dir(&old);
            return Err(e.into());
        }
        if let Err(e) = std::fs::rename(tmp.path(), dir) {
            let _ = std::fs::rename(&old, dir);
            return Err(e.into());
        }
        let _ = tmp.keep();
        sync_dir(parent)?;
        std::fs::remove_dir_all(&old)?;
    } else {
        std::fs::rename(tmp.path(), dir)?;
        let _ = tmp.keep();
        sync_dir(parent)?;
    }
    Ok(value)
}

fn write<F>(path: &Path, body: F, sync: bool) -> std::io::Result<()>
where
    F: FnOnce(&mut BufWriter<&File>) -> std::io::Result<()>,
{
    let dir = parent_of(path);
    std::fs::create_dir_all(dir)?;
    // Dropped without `persist` (a failed body, flush, sync or rename): the file is deleted.
    let tmp = temp_builder("", CREATE_MODE).tempfile_in(dir)?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
        body(&mut w)?;
        w.flush()?;
    }
    if sync {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    if sync {
        sync_dir(dir)?;
    }
    Ok(())
}

/// The folder holding `path` (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `-<file name>`: the temporary name ends like the destination, extension included.
fn suffix_of(path: &Path) -> String {
    path.file_name()
        .map(|n| format!("-{}", n.to_string_lossy()))
        .unwrap_or_default()
}

/// A tempfile builder for webly's hidden temporary names, asking `mode` (before the umask;
/// [`CREATE_MODE`] for files, [`CREATE_DIR_MODE`] for folders).
fn temp_builder(suffix: &str, mode: u32) -> tempfile::Builder<'_, '_> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX).suffix(suffix);
    #[cfg(unix)]
    {
        // tempfile creates 0600 files and 0700 folders; ask for what `File::create` and
        // `create_dir` ask, so the process umask decides the final mode of the output.
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    builder
}

/// Syncs a folder's entries (the rename that just happened in it) to disk. A no-op where
/// folders cannot be opened (Windows).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a message of its own and a cause kept as its source, as webly's are.
    #[derive(Debug)]
    struct Reading(std::io::Error);

    impl std::fmt::Display for Reading {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("reading x.npy")
        }
    }

    impl std::error::Error for Reading {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_chain_says_each_cause_once() {
        let e = Reading(std::io::Error::other("disk full"));
        assert_eq!(error_chain(&e), "reading x.npy: disk full");
        // Wrapped as the caller's writer error, or as the atomic write's own: still once.
        let wrapped: AtomicError<Reading> = AtomicError::Write(e);
        assert_eq!(error_chain(&wrapped), "reading x.npy: disk full");
        let io: AtomicError<Reading> = AtomicError::Io(std::io::Error::other("no space"));
        assert_eq!(error_chain(&io), "no space");
    }

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
    fn path_writer_keeps_the_extension_and_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/last.safetensors");
        let seen = write_atomic_path(&p, |tmp| {
            std::fs::write(tmp, b"weights")?;
            Ok::<_, std::io::Error>(tmp.to_path_buf())
        })
        .unwrap();
        assert_eq!(seen.parent(), p.parent());
        let name = seen.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(TEMP_PREFIX), "{name}");
        assert!(name.ends_with("-last.safetensors"), "{name}");
        assert_eq!(std::fs::read(&p).unwrap(), b"weights");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn failed_path_writer_or_rename_keeps_the_old_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plot.png");
        write_atomic(&p, b"old").unwrap();
        let err = write_atomic_path(&p, |tmp| {
            std::fs::write(tmp, b"partial").unwrap();
            Err::<(), _>("plotting failed")
        });
        assert!(matches!(err, Err(AtomicError::Write("plotting failed"))));
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        // The rename fails: the destination is a folder holding a file.
        let q = dir.path().join("busy.png");
        std::fs::create_dir(&q).unwrap();
        std::fs::write(q.join("keep"), b"x").unwrap();
        let err = write_atomic_path(&q, |tmp| std::fs::write(tmp, b"new"));
        assert!(matches!(err, Err(AtomicError::Io(_))));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn folder_writer_replaces_whole_folders_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("index");
        write_dir_atomic(&d, |tmp| std::fs::write(tmp.join("a"), b"1")).unwrap();
        write_dir_atomic(&d, |tmp| std::fs::write(tmp.join("b"), b"2")).unwrap();
        let names: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["b"], "the old folder's files are gone");
        let err = write_dir_atomic(&d, |tmp| {
            std::fs::write(tmp.join("c"), b"3").unwrap();
            Err::<(), _>("dump failed")
        });
        assert!(matches!(err, Err(AtomicError::Write("dump failed"))));
        assert!(d.join("b").is_file(), "a failed fill keeps the old folder");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp left"
        );
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
