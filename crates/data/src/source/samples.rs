//! img2dataset samples: the members that share a key (`<key>.jpg`, `.txt`, `.json`), grouped.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::metadata::Meta;
use super::{Record, SOURCE_IMAGE_EXTENSIONS};
use crate::caption::decode_caption;
use crate::dataset::LayoutReport;

/// The caption extension of a sample.
const TXT: &str = "txt";
/// The metadata extension of a sample.
const JSON: &str = "json";
/// img2dataset's status of a sample that downloaded.
const SUCCESS: &str = "success";

/// One sample's members as found.
#[derive(Default)]
pub(crate) struct Sample {
    /// Path of the image (a file, or a tar member path).
    pub image: Option<PathBuf>,
    /// Up to `max_caption_bytes + 1` bytes of the `.txt` member.
    pub txt: Option<Vec<u8>>,
    pub meta: Option<Meta>,
    /// Whether the key came from names that are not UTF-8 (escaped by [`escape_name`]).
    pub escaped: bool,
}

impl Sample {
    /// An empty sample whose key is escaped (or not).
    fn with_escaped(escaped: bool) -> Sample {
        Sample {
            escaped,
            ..Sample::default()
        }
    }

    /// How many members were filed under it (image, caption, metadata).
    fn members(&self) -> usize {
        usize::from(self.image.is_some())
            + usize::from(self.txt.is_some())
            + usize::from(self.meta.is_some())
    }
}

/// What a member's name says it is.
pub(crate) enum Member {
    Image,
    Caption,
    Metadata,
    Other,
}

/// A name (tar member name or file name, as raw bytes) as a `String`, losslessly: a name that is
/// valid UTF-8 is kept as it is; in a name that is not, every byte that is not part of a valid
/// UTF-8 sequence is written `\xNN` (two lowercase hex digits, as Python's `backslashreplace`)
/// and every backslash `\\`. The second value says whether the name was escaped.
///
/// Why keep rather than skip: a shard written on a system with a legacy encoding (Latin-1
/// `caf\xe9.jpg`) holds ordinary samples, and webdataset itself keeps such names (Python's
/// `tarfile` decodes them with `surrogateescape`), so its members still group into one sample.
/// The escaped form is injective over escaped names (every backslash is doubled, so a single
/// `\x` always starts an escape, and the bytes can be read back); an escaped key that equals the
/// key of a UTF-8 name (a literal `caf\xe9.txt` beside `caf<E9>.jpg`) is caught when members are
/// filed ([`ShardSamples::file`]), so two different names never share a key.
pub(crate) fn escape_name(bytes: &[u8]) -> (String, bool) {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return (s.to_string(), false);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    (out, true)
}

/// The webdataset key and kind of a member name (raw bytes): the key is the name up to the
/// first `.` of its last component (webdataset's rule: `a/b.c.jpg` has key `a/b` and extension
/// `c.jpg`), escaped by [`escape_name`] when it is not UTF-8 (the second value says so); the
/// kind comes from the extension after the last `.`. `None` for hidden or extension-less names,
/// and for names with a line break (keys are stored one per line).
pub(crate) fn split_name(name: &[u8]) -> Option<(String, bool, Member)> {
    if name.iter().any(|&b| b == b'\n' || b == b'\r') {
        return None;
    }
    let (dir, base) = match name.iter().rposition(|&b| b == b'/') {
        Some(at) => (&name[..at], &name[at + 1..]),
        None => (&name[..0], name),
    };
    let first_dot = base.iter().position(|&b| b == b'.')?;
    let stem = &base[..first_dot];
    if stem.is_empty() {
        return None;
    }
    let last_dot = base.iter().rposition(|&b| b == b'.')?;
    let ext = base[last_dot + 1..].to_ascii_lowercase();
    let kind = match std::str::from_utf8(&ext) {
        Ok(e) if SOURCE_IMAGE_EXTENSIONS.contains(&e) => Member::Image,
        Ok(TXT) => Member::Caption,
        Ok(JSON) => Member::Metadata,
        _ => Member::Other,
    };
    let (key, escaped) = match dir.is_empty() {
        true => escape_name(stem),
        false => escape_name(&[dir, b"/", stem].concat()),
    };
    Some((key, escaped, kind))
}

/// A member filed under its sample's key (see [`ShardSamples::file`]).
pub(crate) struct Filed {
    /// The member's name, escaped when it is not UTF-8 (for member paths and messages).
    pub name: String,
    /// The sample's key within its shard.
    pub key: String,
    pub kind: Member,
}

/// The samples of one shard and what was wrong with it.
#[derive(Default)]
pub(crate) struct ShardSamples {
    pub samples: BTreeMap<String, Sample>,
    /// Members that are neither image, caption nor metadata (or a second image of one key).
    pub ignored: usize,
    /// Why the shard ended early (truncated or damaged), if it did.
    pub broken: Option<String>,
    pub bad_metadata: usize,
    /// Member names that are not UTF-8 (kept, their keys escaped by [`escape_name`]).
    pub non_utf8_names: usize,
    /// The first of them, escaped (named in the warning).
    pub first_non_utf8: Option<String>,
    /// Members left out because their escaped key equals the key of a UTF-8 name.
    pub name_collisions: usize,
    /// The first of them, escaped (named in the warning).
    pub first_collision: Option<String>,
}

impl ShardSamples {
    /// Files the member named `raw` (its bytes as stored): its printable name, key and kind,
    /// with its sample created. `None` (and counted) when the name is not a sample member's
    /// (counted in `ignored`), or when an escaped key meets the same key of a UTF-8 name: the
    /// UTF-8-named sample is kept, the escaped members are left out (`name_collisions`), whatever
    /// their order in the shard, so an image never takes a caption of another name.
    pub(crate) fn file(&mut self, raw: &[u8]) -> Option<Filed> {
        let (name, name_escaped) = escape_name(raw);
        if name_escaped {
            self.non_utf8_names += 1;
            self.first_non_utf8.get_or_insert_with(|| name.clone());
        }
        let Some((key, escaped, kind)) = split_name(raw) else {
            self.ignored += 1;
            return None;
        };
        match self.samples.get(&key).map(|s| (s.escaped, s.members())) {
            Some((true, members)) if !escaped => {
                self.samples.remove(&key);
                self.name_collisions += members;
                self.first_collision.get_or_insert_with(|| key.clone());
            }
            Some((false, _)) if escaped => {
                self.name_collisions += 1;
                self.first_collision.get_or_insert_with(|| name.clone());
                return None;
            }
            _ => {}
        }
        self.samples
            .entry(key.clone())
            .or_insert_with(|| Sample::with_escaped(escaped));
        Some(Filed { name, key, kind })
    }

    /// The warnings to print for this shard (non-UTF-8 names kept, names that collided).
    pub(crate) fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(first) = &self.first_non_utf8 {
            out.push(format!(
                "{} member names are not UTF-8 (first: {first}): kept, their bytes escaped as \
                 \\xNN in the keys",
                self.non_utf8_names
            ));
        }
        if let Some(first) = &self.first_collision {
            out.push(format!(
                "{} members left out: their escaped names give the key of a UTF-8 name \
                 (first: {first})",
                self.name_collisions
            ));
        }
        out
    }
}

/// Turns the samples of every shard into records, counting what is skipped: a failed status
/// (by its value), an image without a caption, a caption without an image. `parquet_meta`
/// fills in what a sample's own `.json` lacks. Keys are the shard's own (see
/// [`super::Record::split_key`]).
pub(crate) fn into_records(
    shard: ShardSamples,
    parquet_meta: &BTreeMap<String, Meta>,
    max_caption_bytes: usize,
    report: &mut LayoutReport,
) -> Vec<Record> {
    report.shards += 1;
    report.ignored_files += shard.ignored + shard.name_collisions;
    report.bad_metadata += shard.bad_metadata;
    report.non_utf8_names += shard.non_utf8_names;
    report.broken_shards += usize::from(shard.broken.is_some());
    let mut records = Vec::with_capacity(shard.samples.len());
    for (key, s) in shard.samples {
        let meta = Meta::merge(s.meta, parquet_meta.get(&key));
        if let Some(status) = meta.status.as_deref().filter(|st| *st != SUCCESS) {
            report.count_failed_status(status);
            continue;
        }
        let caption = match s.txt {
            Some(bytes) => Some(decode_caption(bytes, max_caption_bytes)),
            None => meta
                .caption
                .map(|c| decode_caption(c.into_bytes(), max_caption_bytes)),
        };
        report.captions += usize::from(caption.is_some());
        let Some(image) = s.image else {
            report.captions_without_image += usize::from(caption.is_some());
            continue;
        };
        report.images += 1;
        if caption.is_none() {
            report.images_without_caption += 1;
            continue;
        }
        report.pairs += 1;
        records.push(Record {
            split_key: key.clone(),
            key,
            image,
            caption,
        });
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_key_and_kind_like_webdataset() {
        let k = |n: &str| split_name(n.as_bytes()).map(|(k, _, m)| (k, matches!(m, Member::Image)));
        assert_eq!(k("000000001.jpg"), Some(("000000001".into(), true)));
        assert_eq!(k("a/b.c.JPG"), Some(("a/b".into(), true)));
        assert_eq!(k("london/12.txt"), Some(("london/12".into(), false)));
        assert_eq!(k(".hidden.jpg"), None);
        assert_eq!(k("README"), None);
        assert_eq!(k("two\nlines.jpg"), None);
        assert!(matches!(
            split_name(b"1.json").map(|x| x.2),
            Some(Member::Metadata)
        ));
        assert!(matches!(
            split_name(b"1.cls").map(|x| x.2),
            Some(Member::Other)
        ));
    }

    /// Reads an escaped name back to its bytes (the inverse of [`escape_name`] on escaped names).
    fn unescape(s: &str) -> Vec<u8> {
        let (mut out, b) = (Vec::new(), s.as_bytes());
        let mut i = 0;
        while i < b.len() {
            match (b[i], b.get(i + 1)) {
                (b'\\', Some(b'\\')) => (out.push(b'\\'), i += 2).1,
                (b'\\', Some(b'x')) => {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 4;
                }
                (c, _) => (out.push(c), i += 1).1,
            }
        }
        out
    }

    #[test]
    fn names_that_are_not_utf8_are_escaped_losslessly() {
        assert_eq!(
            escape_name(b"caf\xc3\xa9"),
            ("caf\u{e9}".to_string(), false)
        );
        assert_eq!(escape_name(b"a\\b"), ("a\\b".to_string(), false));
        assert_eq!(escape_name(b"caf\xe8"), ("caf\\xe8".to_string(), true));
        assert_eq!(escape_name(b"caf\xe9"), ("caf\\xe9".to_string(), true));
        assert_eq!(escape_name(b"\\\xff"), ("\\\\\\xff".to_string(), true));
        let (key, escaped, kind) = split_name(b"dir\xe9/caf\xe9.tar.JPG").unwrap();
        assert_eq!((key.as_str(), escaped), ("dir\\xe9/caf\\xe9", true));
        assert!(matches!(kind, Member::Image));
        // Only the extension is not UTF-8: the key is the plain stem, the member is "other".
        let (key, escaped, kind) = split_name(b"k.j\xffg").unwrap();
        assert_eq!((key.as_str(), escaped), ("k", false));
        assert!(matches!(kind, Member::Other));
    }

    proptest::proptest! {
        #[test]
        fn escaping_is_injective(a in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12)) {
            let (s, escaped) = escape_name(&a);
            if escaped {
                proptest::prop_assert_eq!(unescape(&s), a);
            } else {
                proptest::prop_assert_eq!(s.as_bytes(), &a[..]);
            }
        }
    }

    #[test]
    fn an_escaped_key_never_joins_the_sample_of_a_utf8_name() {
        for order in [
            [&b"x\xe9.txt"[..], b"x\\xe9.jpg"],
            [b"x\\xe9.jpg", b"x\xe9.txt"],
        ] {
            let mut shard = ShardSamples::default();
            for name in order {
                if let Some(f) = shard.file(name) {
                    let s = shard.samples.get_mut(&f.key).unwrap();
                    match f.kind {
                        Member::Image => s.image = Some(PathBuf::from(f.name)),
                        _ => s.txt = Some(Vec::new()),
                    }
                }
            }
            let s = &shard.samples["x\\xe9"];
            assert!(!s.escaped && s.image.is_some() && s.txt.is_none());
            let counts = (
                shard.name_collisions,
                shard.non_utf8_names,
                shard.samples.len(),
            );
            assert_eq!(counts, (1, 1, 1));
            assert_eq!(shard.warnings().len(), 2, "{:?}", shard.warnings());
        }
    }
}
