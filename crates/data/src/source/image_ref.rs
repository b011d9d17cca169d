//! Where the bytes of one image are: a file, or a member of a tar shard read in place.
//!
//! A member is named by a path of the form `<shard>.tar#<offset>+<len>/<member name>`: the
//! shard file, the byte offset of the member's data in it and its length (both read once from
//! the tar headers when the shard is indexed), then the member's own name for messages. Such a
//! path travels through every stage as an ordinary `PathBuf` (feature caches, skip reports), and
//! [`read_image_bytes`] reads it with one positioned read, without unpacking the shard.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::DataError;

/// What separates the shard file from the member's position in a member path.
const MEMBER_MARK: &str = ".tar#";

/// A tar member as a path: `<shard>#<offset>+<len>/<name>` (`shard` ends in `.tar`).
pub(crate) fn member_path(shard: &Path, offset: u64, len: u64, name: &str) -> PathBuf {
    PathBuf::from(format!("{}#{offset}+{len}/{name}", shard.display()))
}

/// A member path taken apart: `(shard, offset, len)`; `None` for an ordinary file path.
pub(crate) fn parse_member(path: &Path) -> Option<(PathBuf, u64, u64)> {
    let s = path.to_str()?;
    let at = s.find(MEMBER_MARK)?;
    let shard = &s[..at + MEMBER_MARK.len() - 1];
    let rest = &s[at + MEMBER_MARK.len()..];
    let (position, _name) = rest.split_once('/')?;
    let (offset, len) = position.split_once('+')?;
    Some((
        PathBuf::from(shard),
        offset.parse().ok()?,
        len.parse().ok()?,
    ))
}

/// The file on disk that holds the image at `path`: the shard for a tar member, `path` itself
/// otherwise. Signatures of image content (size, mtime) are taken from this file.
pub fn image_container(path: &Path) -> PathBuf {
    parse_member(path).map_or_else(|| path.to_path_buf(), |(shard, _, _)| shard)
}

/// The encoded bytes of the image at `path` (a file, or a tar member path as produced by the
/// `webdataset` source: one open and one positioned read of exactly its length).
///
/// # Errors
/// [`DataError::Read`] naming `path` when the file cannot be read, or when a member lies past
/// the end of its shard (the shard was cut short after it was indexed).
pub fn read_image_bytes(path: &Path) -> Result<Vec<u8>, DataError> {
    let Some((shard, offset, len)) = parse_member(path) else {
        return std::fs::read(path).map_err(|e| DataError::read(path, e));
    };
    // One open and one positioned read of exactly the member (no stat, no end-of-file probe).
    let read = || -> std::io::Result<Vec<u8>> {
        let file = File::open(&shard)?;
        let too_big = || std::io::Error::other(format!("a member of {len} bytes"));
        let mut bytes = vec![0u8; usize::try_from(len).map_err(|_| too_big())?];
        read_exact_at(&file, &mut bytes, offset).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => std::io::Error::new(
                e.kind(),
                format!("the member's {len} bytes at offset {offset} lie past the shard's end"),
            ),
            _ => e,
        })?;
        Ok(bytes)
    };
    read().map_err(|e| DataError::read(path, e))
}

/// `pread` where there is one (a single system call), seek and read elsewhere.
#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(mut file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_paths_round_trip_and_files_pass_through() {
        let p = member_path(Path::new("/d/shards/00001.tar"), 1536, 20480, "a/0001.jpg");
        assert_eq!(
            p,
            PathBuf::from("/d/shards/00001.tar#1536+20480/a/0001.jpg")
        );
        assert_eq!(
            parse_member(&p),
            Some((PathBuf::from("/d/shards/00001.tar"), 1536, 20480))
        );
        assert_eq!(image_container(&p), PathBuf::from("/d/shards/00001.tar"));
        for plain in [
            "/d/x.jpg",
            "/d/x.tar",
            "/d/x.tar#12/a.jpg",
            "/d/x.tar#a+b/c.jpg",
        ] {
            assert_eq!(parse_member(Path::new(plain)), None, "{plain}");
            assert_eq!(image_container(Path::new(plain)), PathBuf::from(plain));
        }
    }

    #[test]
    fn a_member_is_read_in_place_and_one_past_the_end_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let shard = dir.path().join("s.tar");
        std::fs::write(&shard, b"0123456789").unwrap();
        let bytes = read_image_bytes(&member_path(&shard, 3, 4, "k.jpg")).unwrap();
        assert_eq!(bytes, b"3456");
        // As a user reads it: the member named, then (once) why.
        let e = webly_io::error_chain(
            &read_image_bytes(&member_path(&shard, 8, 4, "k.jpg")).unwrap_err(),
        );
        assert!(e.contains("s.tar#8+4/k.jpg"), "{e}");
        assert_eq!(e.matches("past the shard's end").count(), 1, "{e}");
    }
}
