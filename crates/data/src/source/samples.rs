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
}

/// What a member's name says it is.
pub(crate) enum Member {
    Image,
    Caption,
    Metadata,
    Other,
}

/// The webdataset key and kind of a member name: the key is the name up to the first `.` of
/// its last component (webdataset's rule: `a/b.c.jpg` has key `a/b` and extension `c.jpg`), the
/// kind comes from the extension after the last `.`. `None` for hidden or extension-less names,
/// and for names with a line break (keys are stored one per line).
pub(crate) fn split_name(name: &str) -> Option<(String, Member)> {
    if name.contains(['\n', '\r']) {
        return None;
    }
    let (dir, base) = match name.rsplit_once('/') {
        Some((d, b)) => (Some(d), b),
        None => (None, name),
    };
    let (stem, _) = base.split_once('.')?;
    if stem.is_empty() {
        return None;
    }
    let ext = base.rsplit('.').next()?.to_ascii_lowercase();
    let kind = if SOURCE_IMAGE_EXTENSIONS.contains(&ext.as_str()) {
        Member::Image
    } else if ext == TXT {
        Member::Caption
    } else if ext == JSON {
        Member::Metadata
    } else {
        Member::Other
    };
    let key = match dir.filter(|d| !d.is_empty()) {
        Some(d) => format!("{d}/{stem}"),
        None => stem.to_string(),
    };
    Some((key, kind))
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
}

/// Turns the samples of every shard into records, counting what is skipped: a failed status,
/// an image without a caption (unless `keep_uncaptioned`), a caption without an image.
/// `parquet_meta` fills in what a sample's own `.json` lacks.
pub(crate) fn into_records(
    shard: ShardSamples,
    parquet_meta: &BTreeMap<String, Meta>,
    max_caption_bytes: usize,
    report: &mut LayoutReport,
) -> Vec<Record> {
    report.shards += 1;
    report.ignored_files += shard.ignored;
    report.bad_metadata += shard.bad_metadata;
    report.broken_shards += usize::from(shard.broken.is_some());
    let mut records = Vec::with_capacity(shard.samples.len());
    for (key, s) in shard.samples {
        let meta = Meta::merge(s.meta, parquet_meta.get(&key));
        if meta.status.as_deref().is_some_and(|st| st != SUCCESS) {
            report.failed_status += 1;
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
        let k = |n: &str| split_name(n).map(|(k, m)| (k, matches!(m, Member::Image)));
        assert_eq!(k("000000001.jpg"), Some(("000000001".into(), true)));
        assert_eq!(k("a/b.c.JPG"), Some(("a/b".into(), true)));
        assert_eq!(k("london/12.txt"), Some(("london/12".into(), false)));
        assert_eq!(k(".hidden.jpg"), None);
        assert_eq!(k("README"), None);
        assert_eq!(k("two\nlines.jpg"), None);
        assert!(matches!(
            split_name("1.json").map(|x| x.1),
            Some(Member::Metadata)
        ));
        assert!(matches!(
            split_name("1.cls").map(|x| x.1),
            Some(Member::Other)
        ));
    }
}
