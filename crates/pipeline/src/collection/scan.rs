//! Finding the image files under a collection's roots, with their keys and signatures.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::files::{Root, Signature};
use crate::error::{PipelineError, Result};

/// File extensions taken as images (any case); the decoder still sniffs the content.
pub const IMAGE_EXTENSIONS: [&str; 4] = ["jpg", "jpeg", "png", "webp"];

/// Image files found, by key, and the files passed over (names that are not UTF-8).
#[derive(Debug, Default)]
pub struct Scan {
    /// `key -> (path, signature)`.
    pub found: BTreeMap<String, (PathBuf, Signature)>,
    /// Files whose names cannot be keys, with the reason.
    pub passed_over: Vec<String>,
}

/// The signature of a file now.
///
/// # Errors
/// I/O errors naming the file.
pub fn signature(path: &Path) -> Result<Signature> {
    let meta = std::fs::metadata(path).map_err(PipelineError::io("reading the size of", path))?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    Ok(Signature {
        size: meta.len(),
        mtime_ns,
    })
}

/// Whether `path` names an image file by its extension.
pub fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Every image file at or under `path` (a file or a folder inside `root`), hidden files and
/// folders left out, symlinked folders not followed (no cycles), into `scan`.
///
/// # Errors
/// A folder that cannot be read, naming it.
pub fn scan(root: &Root, path: &Path, scan: &mut Scan) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(PipelineError::io("reading", path))?;
    if meta.is_file() {
        if is_image(path) {
            add(root, path, scan)?;
        }
        return Ok(());
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(PipelineError::io("listing", &dir))?;
        for entry in entries {
            let entry = entry.map_err(PipelineError::io("listing", &dir))?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let p = entry.path();
            let kind = entry
                .file_type()
                .map_err(PipelineError::io("reading", &p))?;
            if kind.is_dir() {
                stack.push(p);
            } else if is_image(&p) && (kind.is_file() || p.is_file()) {
                add(root, &p, scan)?;
            }
        }
    }
    Ok(())
}

fn add(root: &Root, path: &Path, scan: &mut Scan) -> Result<()> {
    match key_of(root, path) {
        Some(key) => {
            // A file that vanished between listing and reading is simply not there.
            if let Ok(sig) = signature(path) {
                scan.found.insert(key, (path.to_path_buf(), sig));
            }
        }
        None => scan.passed_over.push(format!(
            "{}: the file name is not UTF-8 (rename it to index it)",
            path.display()
        )),
    }
    Ok(())
}

/// The key of a file under `root`: `name/relative/path` with `/`; `None` when the path is not
/// under the root or not UTF-8.
pub fn key_of(root: &Root, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(&root.path).ok()?;
    let mut key = root.name.clone();
    for part in rel.components() {
        key.push('/');
        key.push_str(part.as_os_str().to_str()?);
    }
    Some(key)
}

/// The file of a key, if it names one of `roots`.
pub fn path_of(roots: &[Root], key: &str) -> Option<PathBuf> {
    let (name, rel) = key.split_once('/')?;
    let root = roots.iter().find(|r| r.name == name)?;
    Some(
        rel.split('/')
            .fold(root.path.clone(), |p, part| p.join(part)),
    )
}

/// A name for a new root: its folder's name, made unique among `roots` (`photos`, `photos-2`).
pub fn root_name(roots: &[Root], path: &Path) -> String {
    let base: String = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".into())
        .chars()
        .map(|c| match c {
            '/' | '\\' | '%' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let base = match base.as_str() {
        "" | "." | ".." => "root".to_string(),
        _ => base,
    };
    let taken = |n: &str| roots.iter().any(|r| r.name == n);
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|i| format!("{base}-{i}"))
        .find(|n| !taken(n))
        .unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_names_are_unique() {
        let root = Root {
            name: "photos".into(),
            path: PathBuf::from("/data/photos"),
        };
        let key = key_of(&root, Path::new("/data/photos/2024/a b.jpg")).unwrap();
        assert_eq!(key, "photos/2024/a b.jpg");
        assert_eq!(
            path_of(std::slice::from_ref(&root), &key).unwrap(),
            PathBuf::from("/data/photos/2024/a b.jpg")
        );
        assert_eq!(key_of(&root, Path::new("/data/other/x.jpg")), None);
        assert_eq!(path_of(std::slice::from_ref(&root), "other/x.jpg"), None);
        let roots = vec![root];
        assert_eq!(root_name(&roots, Path::new("/mnt/photos")), "photos-2");
        assert_eq!(root_name(&roots, Path::new("/mnt/trip")), "trip");
        assert_eq!(root_name(&roots, Path::new("/")), "root");
    }

    #[test]
    fn scans_images_under_a_folder_leaving_hidden_and_other_files_out() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("p");
        std::fs::create_dir_all(base.join("sub")).unwrap();
        std::fs::create_dir_all(base.join(".thumbs")).unwrap();
        for f in ["a.jpg", "sub/b.PNG", "sub/c.txt", ".thumbs/d.jpg", ".e.jpg"] {
            std::fs::write(base.join(f), b"x").unwrap();
        }
        let root = Root {
            name: "p".into(),
            path: base.clone(),
        };
        let mut s = Scan::default();
        scan(&root, &base, &mut s).unwrap();
        let keys: Vec<&String> = s.found.keys().collect();
        assert_eq!(keys, ["p/a.jpg", "p/sub/b.PNG"]);
        assert_eq!(s.found["p/a.jpg"].1.size, 1);
        let missing = base.join("gone");
        let err = scan(&root, &missing, &mut s).unwrap_err().to_string();
        assert!(err.contains("gone"), "{err}");
    }
}
