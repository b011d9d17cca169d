//! img2dataset output: webdataset tar shards, and the "files" layout.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::metadata::{read_parquet_meta, Meta};
use super::samples::{escape_name, into_records, Filed, Member, ShardSamples};
use super::{check_config, finish, member_path, DatasetSource, Record};
use crate::dataset::{Dataset, DatasetConfig, LayoutReport};
use crate::error::DataError;

/// Extension of a webdataset shard.
const TAR: &str = "tar";
/// Extension of img2dataset's per-shard metadata.
const PARQUET: &str = "parquet";
/// Most bytes of a `.json` member that are read (img2dataset's are well under 4 KiB).
const MAX_JSON_BYTES: u64 = 1 << 20;

/// `*.tar` shards in the dataset root (not in sub-folders), read in parallel, one stream per
/// shard: only the tar headers and the small `.txt` / `.json` members are read; images are
/// indexed by their offset and length and read in place later ([`super::read_image_bytes`]).
/// A shard cut short (or with a damaged header) keeps the samples before the break, is
/// counted in `broken_shards` and named on stderr.
///
/// Keys (both layouts): webdataset's rule on the member's name bytes; a name that is not UTF-8
/// is kept with those bytes escaped as `\xNN` (never decoded lossily, so two names never share
/// a key); a key that another shard also holds becomes `<shard>/<key>`, split by the shard's
/// own key (see [`crate::Item::key`]).
pub struct Webdataset;

/// img2dataset's "files" layout: one sub-folder of the root per shard (`00000/`), holding
/// `<key>.jpg`, `<key>.txt`, `<key>.json`, and `00000.parquet` beside it. Shards are listed in
/// parallel.
pub struct Img2datasetFiles;

/// Name endings of compressed tar shards, which are not read (img2dataset writes plain `.tar`;
/// a compressed shard cannot be read in place by offset).
const COMPRESSED_TAR: [&str; 5] = [".tar.gz", ".tgz", ".tar.zst", ".tar.bz2", ".tar.xz"];

impl DatasetSource for Webdataset {
    fn open(&self, cfg: &DatasetConfig) -> Result<Dataset, DataError> {
        check_config(cfg)?;
        let shards = list(&cfg.root, |p| {
            p.is_file() && p.extension().is_some_and(|e| e == TAR)
        })?;
        let compressed = list(&cfg.root, |p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_lowercase());
            p.is_file() && name.is_some_and(|n| COMPRESSED_TAR.iter().any(|c| n.ends_with(c)))
        })?;
        let advice = |n: usize, first: &Path| {
            format!(
                "{n} compressed shard(s) are not read (webly reads plain .tar shards in place, \
                 as img2dataset writes them; decompress them, e.g. gunzip): first {}",
                first.display()
            )
        };
        if shards.is_empty() {
            let mut message = "no .tar shards here (format = \"webdataset\")".to_string();
            if let Some(first) = compressed.first() {
                message = format!("{message}; {}", advice(compressed.len(), first));
            }
            return Err(DataError::Layout {
                path: cfg.root.clone(),
                message,
            });
        }
        let mut dataset = open_shards(cfg, &shards, Path::file_stem, |p| {
            scan_tar(p, cfg.max_caption_bytes)
        })?;
        if let Some(first) = compressed.first() {
            eprintln!("[data] warning: {}", advice(compressed.len(), first));
            dataset.report.ignored_files += compressed.len();
        }
        Ok(dataset)
    }
}

/// Longest part of a tar reader's message that is quoted: a file that is not a tar makes the
/// reader quote its bytes.
const MAX_TAR_MESSAGE: usize = 160;

/// A tar reader's error as a printable message: control and non-ASCII bytes escaped, cut at
/// [`MAX_TAR_MESSAGE`] characters.
fn printable(e: &std::io::Error) -> String {
    let text: String = e
        .to_string()
        .chars()
        .flat_map(|c| match c.is_ascii_graphic() || c == ' ' {
            true => vec![c],
            false => c.escape_default().collect(),
        })
        .collect();
    match text.char_indices().nth(MAX_TAR_MESSAGE) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

impl DatasetSource for Img2datasetFiles {
    fn open(&self, cfg: &DatasetConfig) -> Result<Dataset, DataError> {
        check_config(cfg)?;
        let shards = list(&cfg.root, Path::is_dir)?;
        if shards.is_empty() {
            return Err(DataError::Layout {
                path: cfg.root.clone(),
                message: "no shard folders here (format = \"img2dataset_files\")".into(),
            });
        }
        open_shards(cfg, &shards, Path::file_name, |p| {
            scan_folder(p, cfg.max_caption_bytes)
        })
    }
}

/// The entries of `root` that `keep` accepts, sorted by name (hidden ones left out).
fn list(root: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>, DataError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(root).map_err(|e| DataError::read(root, e))? {
        let path = entry.map_err(|e| DataError::read(root, e))?.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !hidden && keep(&path) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Scans every shard in parallel, reads its parquet metadata, qualifies the keys that more than
/// one shard holds ([`qualify_shared_keys`]), and splits the records. `shard_name` gives the name
/// that qualifies a shard's keys (`00001` of `00001.tar` or of the folder `00001/`).
fn open_shards(
    cfg: &DatasetConfig,
    shards: &[PathBuf],
    shard_name: fn(&Path) -> Option<&OsStr>,
    scan: impl Fn(&Path) -> Result<ShardSamples, DataError> + Sync,
) -> Result<Dataset, DataError> {
    let scanned: Vec<(ShardSamples, BTreeMap<String, Meta>)> = shards
        .par_iter()
        .map(|shard| {
            let samples = scan(shard)?;
            if let Some(why) = &samples.broken {
                eprintln!(
                    "[data] {}: {why}; the {} samples before it are kept",
                    shard.display(),
                    samples.samples.len()
                );
            }
            for warning in samples.warnings() {
                eprintln!("[data] warning: {}: {warning}", shard.display());
            }
            let meta = read_parquet_meta(&shard.with_extension(PARQUET))?;
            Ok((samples, meta))
        })
        .collect::<Result<_, DataError>>()?;
    let mut report = LayoutReport::default();
    let mut per_shard: Vec<(String, Vec<Record>)> = Vec::with_capacity(shards.len());
    for (shard, (samples, meta)) in shards.iter().zip(scanned) {
        let name = match shard_name(shard).and_then(os_name_bytes) {
            Some(bytes) => escape_name(&bytes).0,
            None => shard.display().to_string(),
        };
        let records = into_records(samples, &meta, cfg.max_caption_bytes, &mut report);
        per_shard.push((name, records));
    }
    report.shared_keys = qualify_shared_keys(&mut per_shard);
    let records = per_shard.into_iter().flat_map(|(_, r)| r).collect();
    finish(cfg, records, report)
}

/// Gives every record whose key another shard also holds the key `<shard>/<key>` (both or all
/// of them, whatever the shard order; `Record::split_key` keeps the shard's own key, so the
/// split of a sample never changes when shards are added or removed). Returns how many records
/// were qualified, and names the first on stderr.
///
/// Why: webdataset's keys are only unique within a shard (`__key__` with the shard's
/// `__url__`), and tools other than img2dataset number each shard from `000000000`. Keys that
/// are unique across the shards, as img2dataset's are (the shard number is their prefix), stay
/// as they are, so split files, ground truth and outputs keyed by them keep working.
fn qualify_shared_keys(per_shard: &mut [(String, Vec<Record>)]) -> usize {
    let mut holders: HashMap<&str, u32> = HashMap::new();
    for (_, records) in per_shard.iter() {
        for r in records {
            *holders.entry(r.key.as_str()).or_default() += 1;
        }
    }
    let shared: HashSet<String> = holders
        .into_iter()
        .filter(|&(_, n)| n > 1)
        .map(|(k, _)| k.to_string())
        .collect();
    if shared.is_empty() {
        return 0;
    }
    let mut first: Option<String> = None;
    let mut qualified = 0;
    for (shard, records) in per_shard.iter_mut() {
        for r in records.iter_mut().filter(|r| shared.contains(&r.key)) {
            r.key = format!("{shard}/{}", r.key);
            first.get_or_insert_with(|| r.key.clone());
            qualified += 1;
        }
    }
    if let Some(first) = first {
        eprintln!(
            "[data] warning: {qualified} samples share their key with a sample of another \
             shard: all kept, each keyed <shard>/<key> (first: {first})"
        );
    }
    qualified
}

/// The bytes of a file name (on Unix, exactly as stored); `None` for a name that has no byte
/// form (lone surrogates in a Windows name), which the caller counts as ignored.
fn os_name_bytes(name: &OsStr) -> Option<Cow<'_, [u8]>> {
    #[cfg(unix)]
    {
        Some(Cow::Borrowed(std::os::unix::ffi::OsStrExt::as_bytes(name)))
    }
    #[cfg(not(unix))]
    {
        name.to_str().map(|s| Cow::Borrowed(s.as_bytes()))
    }
}

/// Indexes one tar shard by streaming its headers (seeking over image data).
fn scan_tar(shard: &Path, max_caption_bytes: usize) -> Result<ShardSamples, DataError> {
    let file = File::open(shard).map_err(|e| DataError::read(shard, e))?;
    let size = file
        .metadata()
        .map_err(|e| DataError::read(shard, e))?
        .len();
    let mut archive = tar::Archive::new(BufReader::new(file));
    let mut out = ShardSamples::default();
    let entries = match archive.entries_with_seek() {
        Ok(e) => e,
        Err(e) => {
            out.broken = Some(format!("not a readable tar: {}", printable(&e)));
            return Ok(out);
        }
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let what = match out.samples.is_empty() && out.ignored == 0 {
                    true => "not a tar file (its first header does not read as one)",
                    false => "damaged or truncated tar",
                };
                out.broken = Some(format!("{what}: {}", printable(&e)));
                break;
            }
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        // The name's bytes as stored (a PAX `path` record included): never decoded lossily.
        let raw = entry.path_bytes().into_owned();
        let Some(Filed { name, key, kind }) = out.file(&raw) else {
            continue;
        };
        let (offset, len) = (entry.raw_file_position(), entry.size());
        if offset.checked_add(len).is_none_or(|end| end > size) {
            out.broken = Some(format!(
                "truncated tar: member {name} needs {len} bytes at offset {offset}, the file has {size}"
            ));
            break;
        }
        let Some(sample) = out.samples.get_mut(&key) else {
            continue;
        };
        let read_small = |entry: &mut dyn Read, limit: u64| -> Result<Vec<u8>, String> {
            let mut bytes = Vec::new();
            entry
                .take(limit)
                .read_to_end(&mut bytes)
                .map_err(|e| format!("damaged tar: member {name}: {e}"))?;
            Ok(bytes)
        };
        match kind {
            Member::Image if sample.image.is_none() => {
                sample.image = Some(member_path(shard, offset, len, &name));
            }
            Member::Caption if sample.txt.is_none() => {
                match read_small(&mut entry, max_caption_bytes as u64 + 1) {
                    Ok(b) => sample.txt = Some(b),
                    Err(why) => {
                        out.broken = Some(why);
                        break;
                    }
                }
            }
            Member::Metadata if sample.meta.is_none() => {
                match read_small(&mut entry, MAX_JSON_BYTES) {
                    Ok(b) => {
                        sample.meta = Meta::from_json(&b);
                        out.bad_metadata += usize::from(sample.meta.is_none());
                    }
                    Err(why) => {
                        out.broken = Some(why);
                        break;
                    }
                }
            }
            _ => out.ignored += 1,
        }
    }
    // A sample whose key only ever had ignored members is not a sample.
    out.samples
        .retain(|_, s| s.image.is_some() || s.txt.is_some() || s.meta.is_some());
    Ok(out)
}

/// Lists one shard folder of the files layout (one `read_dir`, no recursion).
fn scan_folder(dir: &Path, max_caption_bytes: usize) -> Result<ShardSamples, DataError> {
    let mut out = ShardSamples::default();
    for entry in fs::read_dir(dir).map_err(|e| DataError::read(dir, e))? {
        let path = entry.map_err(|e| DataError::read(dir, e))?.path();
        let Some(raw) = path.file_name().and_then(os_name_bytes) else {
            // Not representable as bytes (a name with lone surrogates, off Unix only).
            out.ignored += 1;
            continue;
        };
        if !path.is_file() {
            out.ignored += 1;
            continue;
        }
        let Some(Filed { key, kind, .. }) = out.file(&raw) else {
            continue;
        };
        let Some(sample) = out.samples.get_mut(&key) else {
            continue;
        };
        match kind {
            Member::Image if sample.image.is_none() => sample.image = Some(path),
            Member::Caption if sample.txt.is_none() => {
                let c = crate::caption::read_caption_bytes(&path, max_caption_bytes)?;
                sample.txt = Some(c);
            }
            Member::Metadata if sample.meta.is_none() => {
                let mut bytes = Vec::new();
                File::open(&path)
                    .and_then(|f| f.take(MAX_JSON_BYTES).read_to_end(&mut bytes))
                    .map_err(|e| DataError::read(&path, e))?;
                sample.meta = Meta::from_json(&bytes);
                out.bad_metadata += usize::from(sample.meta.is_none());
            }
            _ => out.ignored += 1,
        }
    }
    out.samples
        .retain(|_, s| s.image.is_some() || s.txt.is_some() || s.meta.is_some());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_errors_are_quoted_printably_and_briefly() {
        let raw: String = (0u8..=255).map(char::from).cycle().take(900).collect();
        let e = std::io::Error::other(format!("bad header: {raw}"));
        let m = printable(&e);
        assert!(m.starts_with("bad header: "), "{m}");
        assert!(m.chars().all(|c| c.is_ascii_graphic() || c == ' '), "{m}");
        assert!(
            m.ends_with("...") && m.len() < 4 * MAX_TAR_MESSAGE,
            "{}",
            m.len()
        );
        let short = std::io::Error::other("cut short");
        assert_eq!(printable(&short), "cut short");
    }
}
