//! The run folder's advisory lock (fs4: `flock(2)` on Unix, `LockFile` on Windows): one writer
//! (`webly run`, `train`, `embed`, `index`, `eval`) or any number of readers (`query`, `tag`,
//! `serve`). The writer records its process id in the lock file so that a refused command can
//! name the holder. The lock goes with the process: a killed writer never leaves a stale lock.
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

/// The lock file inside a locked folder.
pub const LOCK_FILE: &str = ".webly.lock";

/// Whether a holder writes the folder (alone) or reads it (alongside other readers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// A reader: any number may hold the folder together, while no writer does.
    Shared,
    /// The one writer: no reader or other writer holds the folder meanwhile.
    Exclusive,
}

/// A held lock on a folder, released when dropped.
#[derive(Debug)]
pub struct FolderLock {
    file: File,
    path: PathBuf,
    kind: LockKind,
}

impl FolderLock {
    /// Takes the lock of `dir` (created if missing) without waiting.
    ///
    /// Returns `Ok(Err(holder))` when another process holds a lock that conflicts, with the
    /// process id of the writer holding it (`None` when readers hold it).
    ///
    /// # Errors
    /// Creating the folder or the lock file, or a lock call failing otherwise than "held".
    pub fn try_lock(dir: &Path, kind: LockKind) -> std::io::Result<Result<Self, Option<u32>>> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(LOCK_FILE);
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let taken = match kind {
            LockKind::Shared => FileExt::try_lock_shared(&file)?,
            LockKind::Exclusive => FileExt::try_lock_exclusive(&file)?,
        };
        if !taken {
            return Ok(Err(holder(&path)));
        }
        if kind == LockKind::Exclusive {
            file.set_len(0)?;
            file.rewind()?;
            write!(file, "{}", std::process::id())?;
            file.flush()?;
        }
        Ok(Ok(FolderLock { file, path, kind }))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the temporary files and folders a killed writer left under the locked folder
    /// (see [`is_temporary`]); only an exclusive holder may, as no other writer can be at work.
    /// Returns how many entries were removed.
    ///
    /// # Errors
    /// Reading a folder or removing an entry; a shared lock is refused.
    pub fn remove_stale_temporaries(&self) -> std::io::Result<usize> {
        if self.kind != LockKind::Exclusive {
            return Err(std::io::Error::other(
                "only the run folder's writer may remove temporary files",
            ));
        }
        let root = self.path.parent().unwrap_or(Path::new("."));
        sweep(root)
    }
}

/// Whether a file or folder name is one of webly's temporary names: webly-io's
/// ([`crate::TEMP_PREFIX`]), the encoder's `.tmp-<pid>-<name>`, and an index folder's
/// `.<name>.tmp-<pid>-<ns>` / `.<name>.old-<pid>-<ns>`.
pub fn is_temporary(name: &str) -> bool {
    if name.starts_with(crate::TEMP_PREFIX) {
        return true;
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = name.strip_prefix(".tmp-") {
        return rest
            .split_once('-')
            .is_some_and(|(pid, n)| digits(pid) && !n.is_empty());
    }
    name.starts_with('.')
        && [".tmp-", ".old-"].iter().any(|tag| {
            name.rsplit_once(tag).is_some_and(|(_, ids)| {
                ids.split_once('-')
                    .is_some_and(|(pid, ns)| digits(pid) && digits(ns))
            })
        })
}

fn sweep(dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let kind = entry.file_type()?;
        if is_temporary(&name) {
            if kind.is_dir() {
                std::fs::remove_dir_all(entry.path())?;
            } else {
                std::fs::remove_file(entry.path())?;
            }
            removed += 1;
        } else if kind.is_dir() {
            removed += sweep(&entry.path())?;
        }
    }
    Ok(removed)
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        if self.kind == LockKind::Exclusive {
            // The writer leaves: its id no longer names a holder.
            let _ = self.file.set_len(0);
        }
        let _ = FileExt::unlock(&self.file);
    }
}

/// The process id recorded by the last writer of the lock file at `path`, while that process
/// lives (on Linux, where `/proc` tells; elsewhere the recorded id as is). A dead writer's id
/// means readers hold the lock: `None`.
fn holder(path: &Path) -> Option<u32> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    let proc_root = Path::new("/proc");
    if cfg!(target_os = "linux") && proc_root.is_dir() && !proc_root.join(pid.to_string()).exists()
    {
        return None;
    }
    Some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_writer_or_many_readers() {
        let dir = tempfile::tempdir().unwrap();
        let w = FolderLock::try_lock(dir.path(), LockKind::Exclusive)
            .unwrap()
            .expect("free");
        // flock locks belong to the open file: a second open in this process conflicts like
        // another process would.
        let second = FolderLock::try_lock(dir.path(), LockKind::Exclusive).unwrap();
        assert_eq!(second.unwrap_err(), Some(std::process::id()));
        let reader = FolderLock::try_lock(dir.path(), LockKind::Shared).unwrap();
        assert_eq!(reader.unwrap_err(), Some(std::process::id()));
        drop(w);
        let r1 = FolderLock::try_lock(dir.path(), LockKind::Shared)
            .unwrap()
            .expect("free for readers");
        let _r2 = FolderLock::try_lock(dir.path(), LockKind::Shared)
            .unwrap()
            .expect("readers share");
        // Held by readers: no writer to name.
        let refused = FolderLock::try_lock(dir.path(), LockKind::Exclusive).unwrap();
        assert_eq!(refused.unwrap_err(), None);
        assert_eq!(r1.path(), dir.path().join(LOCK_FILE));
        assert!(
            r1.remove_stale_temporaries().is_err(),
            "readers never sweep"
        );
    }

    #[test]
    fn a_writer_removes_what_killed_writers_left_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let left = [
            "models/m/.tmp-4242-last.safetensors",
            "text/.webly-tmp-AbC123",
            "models/m/.index.tmp-4242-1700000000000000000/hnsw.hnsw.data",
            "models/m/.index.old-17-99/keys.txt",
        ];
        let kept = [
            "models/m/last.safetensors",
            "models/m/index/keys.txt",
            "text/.tmp-notes",
            "text/captions.tmp-1-2",
            "features/.hidden",
        ];
        for f in left.iter().chain(&kept) {
            let p = d.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let w = FolderLock::try_lock(d, LockKind::Exclusive)
            .unwrap()
            .unwrap();
        assert_eq!(w.remove_stale_temporaries().unwrap(), 4);
        for f in left {
            let top = d.join(f.split('/').take(3).collect::<Vec<_>>().join("/"));
            assert!(!top.exists(), "{f} left");
        }
        for f in kept {
            assert!(d.join(f).exists(), "{f} removed");
        }
    }
}
