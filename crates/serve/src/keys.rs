//! The image keys that clients send (`/thumb/KEY`, `?key=KEY`): checked in form, looked up in the
//! dataset, and resolved to a file that must lie inside the image store.
use std::path::{Path, PathBuf};

use webly_pipeline::Searcher;

/// Why a key cannot name an image in the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Empty, too long, absolute, with `..`, a separator other than one `/`, a backslash, a
    /// control character or a percent sign (an encoded separator).
    #[error("malformed key: {0}")]
    Malformed(&'static str),
    /// Well formed but not a dataset key.
    #[error("no image of the dataset has this key")]
    Unknown,
    /// A key of the index whose file is no longer there (deleted or moved since the index was
    /// made: a collection's `sync` takes it out).
    #[error(
        "the image's file is no longer there (deleted or moved since it was indexed; for a \
         collection, `webly collection sync` takes it out)"
    )]
    Gone,
    /// The file resolves (through a symlink) outside the image store.
    #[error("the key's file lies outside the image store")]
    OutsideStore,
}

/// Longest key accepted, in bytes (dataset keys are `city/id`).
pub const MAX_KEY_BYTES: usize = 256;

/// Checks a client-given key and returns the image file it names, never a path outside the
/// image store (the dataset root, or one of a collection's folders): the key must be a known key of plain form (`city/id`, no `..`, no
/// absolute path, no backslash or percent-encoding left after URL decoding), and its file,
/// with symlinks resolved, must lie under the store's resolved root.
pub fn resolve_key(searcher: &Searcher, key: &str) -> Result<PathBuf, KeyError> {
    check_key_form(key)?;
    let path = searcher.image_of(key).ok_or(KeyError::Unknown)?;
    let mut outside = KeyError::OutsideStore;
    for root in searcher.image_roots() {
        match inside_store(root, path) {
            Err(KeyError::OutsideStore) => {}
            Err(e) => outside = e,
            found => return found,
        }
    }
    Err(outside)
}

/// `path` with symlinks resolved, if it lies under `root` (also resolved); a file that does not
/// exist is [`KeyError::Gone`].
pub fn inside_store(root: &Path, path: &Path) -> Result<PathBuf, KeyError> {
    let root = root.canonicalize().map_err(|_| KeyError::OutsideStore)?;
    let real = path.canonicalize().map_err(|_| KeyError::Gone)?;
    if real.starts_with(&root) {
        Ok(real)
    } else {
        Err(KeyError::OutsideStore)
    }
}

/// The form checks of [`resolve_key`] alone.
pub fn check_key_form(key: &str) -> Result<(), KeyError> {
    if key.is_empty() {
        return Err(KeyError::Malformed("empty key"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(KeyError::Malformed("key longer than 256 bytes"));
    }
    if key.chars().any(|c| c.is_control() || c == '\\' || c == '%') {
        return Err(KeyError::Malformed(
            "control character, backslash or percent sign in the key",
        ));
    }
    if key.starts_with('/') || Path::new(key).is_absolute() {
        return Err(KeyError::Malformed("absolute path"));
    }
    if key.split('/').any(|part| matches!(part, "" | "." | "..")) {
        return Err(KeyError::Malformed("'..', '.' or an empty part in the key"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_forms() {
        assert_eq!(check_key_form("london/123"), Ok(()));
        for bad in [
            "",
            "../etc/passwd",
            "london/../../x",
            "/etc/passwd",
            "london\\..\\x",
            "london%2F..%2Fx",
            "london//x",
            "./london/1",
            "london/./1",
            "london/1/",
            "a\0b",
        ] {
            assert!(
                matches!(check_key_form(bad), Err(KeyError::Malformed(_))),
                "{bad:?} accepted"
            );
        }
        assert!(check_key_form(&"a".repeat(MAX_KEY_BYTES + 1)).is_err());
    }

    #[test]
    fn symlinks_out_of_the_store_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let store = tmp.path().join("store");
        std::fs::create_dir_all(store.join("london")).unwrap();
        let inside = store.join("london/1.jpg");
        std::fs::write(&inside, b"x").unwrap();
        let outside = tmp.path().join("secret.txt");
        std::fs::write(&outside, b"secret").unwrap();
        assert_eq!(
            inside_store(&store, &inside),
            Ok(inside.canonicalize().unwrap())
        );
        #[cfg(unix)]
        {
            let link = store.join("london/2.jpg");
            std::os::unix::fs::symlink(&outside, &link).unwrap();
            assert_eq!(inside_store(&store, &link), Err(KeyError::OutsideStore));
            let dir_link = store.join("paris");
            std::os::unix::fs::symlink(tmp.path(), &dir_link).unwrap();
            assert_eq!(
                inside_store(&store, &dir_link.join("secret.txt")),
                Err(KeyError::OutsideStore)
            );
        }
        assert_eq!(
            inside_store(&store, &store.join("london/none.jpg")),
            Err(KeyError::Gone)
        );
    }
}
