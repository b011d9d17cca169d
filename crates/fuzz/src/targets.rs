//! The fuzz targets: one per reader of outside bytes, each calling webly's real public entry
//! point (through a file in the scratch folder where the reader takes a path). A target answers
//! `Ok(outcome)` for a value or a clean error, and `Err(finding)` when the answer breaks a
//! property that holds for every input: a clean error names the file it read, a loaded value is
//! consistent with itself, a request error is a 4xx. Options a reader takes (block sizes,
//! limits, whether a checksum is repaired after mutation) are drawn from a hash of the input,
//! so every finding replays from its input alone.

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use webly_data::{
    decode_image, load_image_bytes, read_image_bytes, Crop, Dataset, DatasetConfig, DatasetFormat,
    DecodeLimits, ImageLimits, LoaderConfig,
};
use webly_index::{Expect, Hnsw};
use webly_pipeline::stamp;
use webly_serve::{parse_request, ServeConfig};
use webly_text::{cache_path, LoadOptions, NonUtf8, WordVectors};

use crate::bundle::{unpack, write_into};

/// How a target's inputs are laid out, which decides how they are mutated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The bytes of one file or request.
    Bytes,
    /// A folder's files packed as a tar ([`crate::bundle`]); one member is mutated at a time.
    Bundle,
}

/// One fuzz target.
pub struct Target {
    /// Name (`make fuzz` and the corpus folder use it).
    pub name: &'static str,
    /// The webly reader it drives.
    pub reads: &'static str,
    /// How its inputs are laid out.
    pub layout: Layout,
    /// Dictionary of tokens the mutator inserts.
    pub tokens: &'static [&'static [u8]],
    /// Runs the reader on one input in an empty scratch folder.
    pub run: fn(&[u8], &Path) -> Result<String, String>,
}

/// Tokens for text formats: separators, edge-case numbers, non-UTF-8 and odd whitespace.
const TEXT_TOKENS: &[&[u8]] = &[
    b" ",
    b"\t",
    b"\n",
    b"\r\n",
    b"\xEF\xBB\xBF",
    b"\xFF",
    b"\xC3\xA9",
    b"\x00",
    b"\x0B",
    b"\xC2\xA0",
    b"NaN",
    b"-inf",
    b"1e400",
    b"0 0",
    b"3 2\n",
    b"100000000 300\n",
    b"18446744073709551615",
    b"\x1f\x8b",
];

/// Tokens for JSON: structure, edge-case values, paths that leave the folder or never end.
const JSON_TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b",",
    b":",
    b"null",
    b"NaN",
    b"-Infinity",
    b"1e999",
    b"-1",
    b"18446744073709551616",
    b"\\u0000",
    b"\\ud800",
    b"\"status\":\"success\"",
    b"\"caption\":",
    b"/dev/zero",
    b"../",
    b"/",
    b".",
];

/// Tokens for query strings and multipart bodies.
const HTTP_TOKENS: &[&[u8]] = &[
    b"&",
    b"=",
    b"%",
    b"%00",
    b"%2F",
    b"%2e%2e",
    b"%FF",
    b"+",
    b"q=",
    b"k=",
    b"key=",
    b"mode=",
    b"exact",
    b"\r\n",
    b"--B",
    b"--B--",
    b"Content-Disposition: form-data; name=\"image\"",
    b"; filename=\"a.jpg\"",
    b"Content-Type: image/jpeg",
    b"boundary=",
    b"../",
];

/// Tokens for binary formats: magic numbers of the containers webly meets.
const BINARY_TOKENS: &[&[u8]] = &[
    b"\xFF\xD8\xFF",
    b"\xFF\xD9",
    b"\xFF\xDA",
    b"\xFF\xC0",
    b"\xFF\xC2",
    b"\xFF\xE1",
    b"Exif\x00\x00",
    b"\x89PNG\r\n\x1a\n",
    b"IHDR",
    b"IDAT",
    b"IEND",
    b"RIFF",
    b"WEBPVP8 ",
    b"WEBPVP8L",
    b"VP8X",
    b"PAR1",
    b"ustar\x0000",
    b"././@LongLink",
    b"WEBLYWVC",
    b"\x00\x00\x00\x00",
    b"\xFF\xFF\xFF\xFF",
];

/// Every target, in the order `make fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "vectors_text",
        reads: "webly_text::WordVectors::load: GloVe text, word2vec text, gzip, BOM",
        layout: Layout::Bytes,
        tokens: TEXT_TOKENS,
        run: vectors_file,
    },
    Target {
        name: "word2vec_binary",
        reads: "webly_text::WordVectors::load: word2vec binary",
        layout: Layout::Bytes,
        tokens: BINARY_TOKENS,
        run: vectors_file,
    },
    Target {
        name: "text_cache",
        reads: "webly_text::WordVectors::load: the binary cache beside a valid source",
        layout: Layout::Bytes,
        tokens: BINARY_TOKENS,
        run: text_cache,
    },
    Target {
        name: "captions",
        reads: "webly_data::Dataset::open: caption files (folder and InstaCities layouts)",
        layout: Layout::Bytes,
        tokens: TEXT_TOKENS,
        run: captions,
    },
    Target {
        name: "tar_shard",
        reads: "webly_data::Dataset::open (webdataset) and read_image_bytes: a tar shard",
        layout: Layout::Bytes,
        tokens: BINARY_TOKENS,
        run: tar_shard,
    },
    Target {
        name: "parquet_meta",
        reads: "webly_data::Dataset::open (webdataset): a shard's parquet metadata",
        layout: Layout::Bytes,
        tokens: BINARY_TOKENS,
        run: parquet_meta,
    },
    Target {
        name: "img2dataset_json",
        reads: "webly_data::Dataset::open (img2dataset files): a sample's .json",
        layout: Layout::Bytes,
        tokens: JSON_TOKENS,
        run: img2dataset_json,
    },
    Target {
        name: "image",
        reads: "webly_data::decode_image and load_image_bytes: JPEG, PNG, WebP",
        layout: Layout::Bytes,
        tokens: BINARY_TOKENS,
        run: image,
    },
    Target {
        name: "stamps",
        reads: "webly_pipeline::stamp: stamp.json, its checksums, the signature table",
        layout: Layout::Bundle,
        tokens: JSON_TOKENS,
        run: stamps,
    },
    Target {
        name: "shard_merge",
        reads: "webly_pipeline::merge: shard manifests, .npy and .ids",
        layout: Layout::Bundle,
        tokens: JSON_TOKENS,
        run: shard_merge,
    },
    Target {
        name: "index",
        reads: "webly_index::Hnsw::open and a search: manifest.json, vectors, graph, keys, nodes",
        layout: Layout::Bundle,
        tokens: JSON_TOKENS,
        run: index,
    },
    Target {
        name: "http_query",
        reads: "webly_serve::parse_request: query strings",
        layout: Layout::Bytes,
        tokens: HTTP_TOKENS,
        run: http_query,
    },
    Target {
        name: "http_multipart",
        reads: "webly_serve::parse_request: multipart/form-data uploads",
        layout: Layout::Bytes,
        tokens: HTTP_TOKENS,
        run: http_multipart,
    },
];

/// The target called `name`.
pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// FNV-1a of the input: the reproducible choice of a target's options.
fn bits(input: &[u8]) -> u64 {
    input.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `Ok(outcome)` when a reader's error names a file or folder under `scratch` (what the
/// project's rule asks of every error on bad input), else the finding.
fn named(error: String, scratch: &Path) -> Result<String, String> {
    if error.contains(&scratch.display().to_string()) {
        Ok(format!("error: {error}"))
    } else {
        Err(format!("an error that names no file: {error}"))
    }
}

fn io(what: &str, e: std::io::Error) -> String {
    format!("harness: {what}: {e}")
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("creating a folder", e))?;
    }
    std::fs::write(path, bytes).map_err(|e| io("writing an input", e))
}

/// Loads vectors as `webly text` does (format and gzip detected, no cache).
fn vectors_file(input: &[u8], scratch: &Path) -> Result<String, String> {
    let b = bits(input);
    let path = scratch.join("vectors.txt");
    write(&path, input)?;
    let opts = LoadOptions {
        cache: false,
        progress: false,
        block_bytes: [64, 4096, 32 << 20][(b % 3) as usize],
        non_utf8: match b & 8 {
            0 => NonUtf8::Refuse,
            _ => NonUtf8::Latin1,
        },
        ..LoadOptions::default()
    };
    match WordVectors::load(&path, &opts) {
        Ok((v, report)) => {
            check_vectors(&v, report.words)?;
            Ok(format!("{:?} gzip {}", report.format, report.gzip))
        }
        Err(e) => named(webly_io::error_chain(&e), scratch),
    }
}

/// Every row of loaded vectors has the dimension and every word finds its own row.
fn check_vectors(v: &WordVectors, words: usize) -> Result<(), String> {
    if v.len() != words || v.words().len() != words || v.norms().len() != words {
        return Err(format!(
            "{} vectors, {} words, {} norms, report says {words}",
            v.len(),
            v.words().len(),
            v.norms().len()
        ));
    }
    for (i, w) in v.words().iter().enumerate() {
        if v.row(i).len() != v.dim() || v.get(w) != Some(v.row(i)) {
            return Err(format!("row {i} ({w:?}) is not the word's vector"));
        }
    }
    Ok(())
}

/// The valid source of the cache target (its cache seeds were written from it).
pub const CACHE_SOURCE: &str = "the 0.1 0.2 0.3\ncat 0.5 -0.25 1\ndog 1e-3 2 3\nsnow 4 5 6\n";
/// The source's modification time, so that a cache can record it.
const CACHE_SOURCE_MTIME: Duration = Duration::from_secs(1_700_000_000);

/// Writes [`CACHE_SOURCE`] with its fixed mtime; returns its path.
pub fn write_cache_source(dir: &Path) -> Result<PathBuf, String> {
    let source = dir.join("vectors.txt");
    write(&source, CACHE_SOURCE.as_bytes())?;
    let file = std::fs::File::options()
        .write(true)
        .open(&source)
        .map_err(|e| io("opening the source", e))?;
    file.set_modified(UNIX_EPOCH + CACHE_SOURCE_MTIME)
        .map_err(|e| io("setting the mtime", e))?;
    Ok(source)
}

/// A valid source with the input as its cache: the load must succeed whatever the cache holds
/// (a bad cache is rebuilt). Most inputs get the source's size and mtime written into the
/// cache header (bytes 16..32) so the stale check passes and the decoding is reached.
fn text_cache(input: &[u8], scratch: &Path) -> Result<String, String> {
    let b = bits(input);
    let source = write_cache_source(scratch)?;
    let mut cache = input.to_vec();
    if !b.is_multiple_of(8) && cache.len() >= 32 {
        let mtime = CACHE_SOURCE_MTIME.as_nanos() as u64;
        cache[16..24].copy_from_slice(&(CACHE_SOURCE.len() as u64).to_le_bytes());
        cache[24..32].copy_from_slice(&mtime.to_le_bytes());
    }
    write(&cache_path(&source, None), &cache)?;
    let opts = LoadOptions {
        progress: false,
        verify_cache: b & 16 == 0,
        ..LoadOptions::default()
    };
    let (v, report) = WordVectors::load(&source, &opts)
        .map_err(|e| format!("a valid source failed to load beside a bad cache: {e}"))?;
    check_vectors(&v, report.words)?;
    Ok(match report.cache {
        webly_text::CacheStatus::Rebuilt(_, why) => format!("rebuilt: {why}"),
        other => format!("{other:?}")
            .split('(')
            .next()
            .unwrap_or_default()
            .to_string(),
    })
}

/// Opens a dataset and checks what every item must be: a one-line caption within the limit.
fn open_dataset(cfg: &DatasetConfig, scratch: &Path) -> Result<Result<Dataset, String>, String> {
    match Dataset::open(cfg) {
        Ok(d) => {
            for item in &d.items {
                if item.caption.len() > cfg.max_caption_bytes || item.caption.contains(['\n', '\r'])
                {
                    return Err(format!(
                        "caption of {} is {} bytes (limit {}) or has a line break: {:?}",
                        item.key,
                        item.caption.len(),
                        cfg.max_caption_bytes,
                        item.caption
                    ));
                }
            }
            Ok(Ok(d))
        }
        Err(e) => named(webly_io::error_chain(&e), scratch).map(Err),
    }
}

/// What a dataset open found, as which counters are non-zero (so that the outcome signature,
/// which forgets numbers, still tells them apart).
fn dataset_outcome(d: &Dataset) -> String {
    let r = &d.report;
    let counters = [
        ("items", d.items.len()),
        ("pairs", r.pairs),
        ("empty", r.empty_captions),
        ("non-utf8", r.non_utf8_captions),
        ("truncated", r.truncated_captions),
        ("failed", r.failed_status),
        ("bad-meta", r.bad_metadata),
        ("broken", r.broken_shards),
        ("ignored", r.ignored_files),
        ("duplicates", r.duplicate_keys),
        ("non-utf8-names", r.non_utf8_names),
        ("no-caption", r.images_without_caption),
        ("no-image", r.captions_without_image),
    ];
    let found: Vec<&str> = counters
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, _)| *name)
        .collect();
    format!("dataset: {}", found.join(" "))
}

/// A small JPEG's bytes stand in for images that are listed but not decoded.
const IMAGE_STAND_IN: &[u8] = b"\xFF\xD8\xFF\xD9";

/// The input as the caption of one image, in a photo folder or in the InstaCities layout.
fn captions(input: &[u8], scratch: &Path) -> Result<String, String> {
    let b = bits(input);
    let root = scratch.join("data");
    let format = match b & 4 {
        0 => {
            write(&root.join("trip/a.jpg"), IMAGE_STAND_IN)?;
            write(&root.join("trip/a.txt"), input)?;
            DatasetFormat::Folder
        }
        _ => {
            let city = "london/1";
            write(
                &root.join(format!("{}/{city}.jpg", webly_data::IMAGE_DIR)),
                IMAGE_STAND_IN,
            )?;
            write(
                &root.join(format!("{}/{city}.txt", webly_data::CAPTION_DIR)),
                input,
            )?;
            DatasetFormat::Instacities
        }
    };
    let cfg = DatasetConfig {
        format,
        root,
        max_caption_bytes: [8, 64, 8192][(b % 3) as usize],
        ..DatasetConfig::default()
    };
    Ok(match open_dataset(&cfg, scratch)? {
        Ok(d) => dataset_outcome(&d),
        Err(e) => e,
    })
}

/// Opens the dataset of `format` at `root` with the default settings; its outcome.
fn open_outcome(format: DatasetFormat, root: PathBuf, scratch: &Path) -> Result<String, String> {
    let cfg = DatasetConfig {
        format,
        root,
        ..DatasetConfig::default()
    };
    Ok(match open_dataset(&cfg, scratch)? {
        Ok(d) => dataset_outcome(&d),
        Err(e) => e,
    })
}

/// The input as a webdataset shard; the images of the samples found are then read in place.
fn tar_shard(input: &[u8], scratch: &Path) -> Result<String, String> {
    let root = scratch.join("shards");
    write(&root.join("00000.tar"), input)?;
    let cfg = DatasetConfig {
        format: DatasetFormat::Webdataset,
        root,
        max_caption_bytes: [64, 8192][(bits(input) % 2) as usize],
        ..DatasetConfig::default()
    };
    match open_dataset(&cfg, scratch)? {
        Ok(d) => {
            let mut read = 0;
            for item in &d.items {
                match read_image_bytes(&item.image) {
                    Ok(_) => read += 1,
                    Err(e) => {
                        named(webly_io::error_chain(&e), scratch)?;
                    }
                }
            }
            Ok(format!("{}, {read} images read", dataset_outcome(&d)))
        }
        Err(e) => Ok(e),
    }
}

/// A valid shard of three samples (one without caption) whose metadata the input gives.
pub fn metadata_shard() -> Vec<u8> {
    crate::bundle::pack(&[
        ("000000000.jpg".into(), IMAGE_STAND_IN.to_vec()),
        ("000000001.jpg".into(), IMAGE_STAND_IN.to_vec()),
        ("000000001.txt".into(), b"a caption".to_vec()),
        ("000000002.jpg".into(), IMAGE_STAND_IN.to_vec()),
    ])
}

/// The input as the `.parquet` beside a valid shard.
fn parquet_meta(input: &[u8], scratch: &Path) -> Result<String, String> {
    let root = scratch.join("shards");
    write(&root.join("00000.tar"), &metadata_shard())?;
    write(&root.join("00000.parquet"), input)?;
    open_outcome(DatasetFormat::Webdataset, root, scratch)
}

/// The input as a sample's `.json` in img2dataset's files layout (no `.txt`: the caption
/// comes from the JSON), beside a sample with a caption.
fn img2dataset_json(input: &[u8], scratch: &Path) -> Result<String, String> {
    let root = scratch.join("files");
    write(&root.join("00000/000000000.jpg"), IMAGE_STAND_IN)?;
    write(&root.join("00000/000000000.json"), input)?;
    write(&root.join("00000/000000001.jpg"), IMAGE_STAND_IN)?;
    write(&root.join("00000/000000001.txt"), b"a dog")?;
    open_outcome(DatasetFormat::Img2datasetFiles, root, scratch)
}

/// The input as an image file (webly's bounded decoder) and as an upload (the query loader).
fn image(input: &[u8], _scratch: &Path) -> Result<String, String> {
    let limits = DecodeLimits::default();
    let decoded = match decode_image(input, &limits) {
        Ok(img) => {
            let pixels = u64::from(img.width()) * u64::from(img.height());
            if pixels > limits.max_pixels || pixels == 0 {
                return Err(format!(
                    "decoded {} x {}, outside 1..={} pixels",
                    img.width(),
                    img.height(),
                    limits.max_pixels
                ));
            }
            "decoded".to_string()
        }
        Err(e) => e,
    };
    let cfg = LoaderConfig::default();
    let loaded = match load_image_bytes(input, &cfg, Crop::Center, &ImageLimits::default()) {
        Ok(v) if v.len() != cfg.image_len() => {
            return Err(format!("{} floats, not {}", v.len(), cfg.image_len()))
        }
        Ok(_) => "loaded".to_string(),
        Err(e) => e.to_string(),
    };
    Ok(format!("{decoded} / {loaded}"))
}

/// Placeholder for the scratch folder in committed signature tables (their paths are absolute).
pub const DIR_PLACEHOLDER: &str = "@DIR@";

/// Rewrites the checksum map `field` of the JSON file `name` in `dir` with the checksums of the
/// files it names that lie in `dir`, so that mutations of those files reach their parsers.
fn repair_checksums(dir: &Path, name: &str, field: &str) {
    let path = dir.join(name);
    let Some(mut json) = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    else {
        return;
    };
    let Some(map) = json.get_mut(field).and_then(|f| f.as_object_mut()) else {
        return;
    };
    for (file, sum) in map.iter_mut() {
        let plain = Path::new(file)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if plain {
            if let Ok(s) = webly_io::checksum(&dir.join(file)) {
                *sum = serde_json::Value::String(s);
            }
        }
    }
    let _ = std::fs::write(&path, json.to_string());
}

/// Unpacks a bundle into `dir`; `None` when the input is not one.
fn unbundle(input: &[u8], dir: &Path) -> Result<Option<()>, String> {
    let Some(mut files) = unpack(input) else {
        return Ok(None);
    };
    for (_, data) in files.iter_mut() {
        let text = String::from_utf8_lossy(data);
        if text.contains(DIR_PLACEHOLDER) {
            *data = text
                .replace(DIR_PLACEHOLDER, &dir.display().to_string())
                .into_bytes();
        }
    }
    write_into(dir, &files).map_err(|e| io("unpacking", e))?;
    Ok(Some(()))
}

/// The outputs the stamp seeds record.
pub const STAMP_OUTPUTS: [&str; 2] = ["a.bin", "b.bin"];
/// The signature table of the stamp seeds.
pub const SIGNATURE_TABLE: &str = "signatures.tsv";

/// A stage folder: its stamp checked and verified as readers do, then the content signature
/// of its outputs with the bundle's signature table.
fn stamps(input: &[u8], scratch: &Path) -> Result<String, String> {
    let dir = scratch.join("stage");
    if unbundle(input, &dir)?.is_none() {
        return Ok("not a bundle".into());
    }
    if !bits(input).is_multiple_of(4) {
        repair_checksums(&dir, stamp::STAMP_FILE, "files");
    }
    let inputs = stamp::read(&dir).unwrap_or_default();
    let check = stamp::check(&dir, &inputs, &STAMP_OUTPUTS);
    let verified = match stamp::verified(&dir, &STAMP_OUTPUTS, "the stage", "webly run") {
        Ok(_) => "verified".to_string(),
        Err(e) => named(webly_io::error_chain(&e), scratch)?,
    };
    let files: Vec<PathBuf> = STAMP_OUTPUTS.iter().map(|n| dir.join(n)).collect();
    let signed = match stamp::content_signature(&files, &dir.join(SIGNATURE_TABLE)) {
        Ok(_) => "signed".to_string(),
        Err(e) => named(webly_io::error_chain(&e), scratch)?,
    };
    Ok(format!("{check:?} / {verified} / {signed}"))
}

/// A folder of embedding shards merged as `webly merge` does.
fn shard_merge(input: &[u8], scratch: &Path) -> Result<String, String> {
    let dir = scratch.join("shards");
    if unbundle(input, &dir)?.is_none() {
        return Ok("not a bundle".into());
    }
    let out = scratch.join("merged/test");
    match webly_pipeline::merge(&[dir], None, None, &out) {
        Ok(r) => Ok(format!("merged {} rows", r.rows)),
        Err(e) => named(webly_io::error_chain(&e), scratch),
    }
}

/// An index folder opened as `webly query` does, then searched once.
fn index(input: &[u8], scratch: &Path) -> Result<String, String> {
    let dir = scratch.join("index");
    if unbundle(input, &dir)?.is_none() {
        return Ok("not a bundle".into());
    }
    if !bits(input).is_multiple_of(4) {
        repair_checksums(&dir, webly_index::MANIFEST_FILE, "checksums");
    }
    let manifest: Option<serde_json::Value> = std::fs::read(dir.join(webly_index::MANIFEST_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let field = |k: &str| manifest.as_ref().and_then(|m| m.get(k).cloned());
    let expect = Expect {
        dim: field("dim")
            .and_then(|d| d.as_u64())
            .and_then(|d| usize::try_from(d).ok())
            .unwrap_or(0),
        text_fingerprint: field("text_fingerprint")
            .and_then(|t| t.as_str().map(str::to_string))
            .unwrap_or_default(),
    };
    match Hnsw::open(&dir, &expect) {
        Ok(h) => {
            if expect.dim == 0 || expect.dim > 1 << 16 {
                return Ok("opened".into());
            }
            let q = vec![(expect.dim as f32).sqrt().recip(); expect.dim];
            let hits = h.search_ef(&q, 5, 16);
            for hit in &hits {
                if h.keys().get(hit.index) != Some(hit.key.as_str()) || !hit.score.is_finite() {
                    return Err(format!("hit {hit:?} is not a row of the index"));
                }
            }
            Ok(format!("opened, {} hits", hits.len().min(5)))
        }
        Err(e) => named(webly_io::error_chain(&e), scratch),
    }
}

thread_local! {
    /// A runtime per thread for the async request parser.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread tokio runtime");
}

/// Server limits of the HTTP targets: the defaults, or a small upload limit (to reach 413).
fn serve_config(b: u64) -> ServeConfig {
    let mut config = ServeConfig::default();
    if b & 1 == 1 {
        config.image_limits.max_bytes = 64;
        config.max_query_bytes = 16;
    }
    config
}

/// Parses a request as the API does; a request error must be a 4xx, and what is accepted must
/// be within the limits.
fn parse(
    config: &ServeConfig,
    request: axum::http::Request<axum::body::Body>,
) -> Result<String, String> {
    match RUNTIME.with(|rt| rt.block_on(parse_request(config, request))) {
        Ok(asked) => {
            let over_query = asked
                .q
                .as_ref()
                .is_some_and(|q| q.len() > config.max_query_bytes);
            let over_upload = asked
                .upload
                .is_some_and(|n| n > config.image_limits.max_bytes);
            if !(1..=config.max_k).contains(&asked.k) || over_query || over_upload {
                return Err(format!("accepted over the limits: {asked:?}"));
            }
            Ok(format!(
                "ok q {} key {} upload {}",
                asked.q.is_some(),
                asked.key.is_some(),
                asked.upload.is_some()
            ))
        }
        Err((status, message)) if status.is_client_error() => Ok(format!("{status} {message}")),
        Err((status, message)) => Err(format!("status {status} for a client's request: {message}")),
    }
}

/// The input as the query string of `GET /api/search` (or of a `POST` without a body).
fn http_query(input: &[u8], _scratch: &Path) -> Result<String, String> {
    let b = bits(input);
    let mut uri = b"/api/search?".to_vec();
    uri.extend_from_slice(input);
    let Ok(uri) = axum::http::Uri::try_from(uri) else {
        return Ok("not a URI (the HTTP layer refuses it)".into());
    };
    let method = match b & 2 {
        0 => axum::http::Method::GET,
        _ => axum::http::Method::POST,
    };
    let Ok(request) = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .body(axum::body::Body::empty())
    else {
        return Ok("not a request".into());
    };
    parse(&serve_config(b), request)
}

/// The input as an upload: its first line is the `Content-Type` header, the rest the body.
fn http_multipart(input: &[u8], _scratch: &Path) -> Result<String, String> {
    let b = bits(input);
    let (content_type, body) = match input.iter().position(|&c| c == b'\n') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (input, &[][..]),
    };
    let Ok(content_type) = axum::http::HeaderValue::from_bytes(content_type) else {
        return Ok("not a header value (the HTTP layer refuses it)".into());
    };
    let Ok(request) = axum::http::Request::builder()
        .method(axum::http::Method::POST)
        .uri("/api/similar?k=3")
        .header(axum::http::header::CONTENT_TYPE, content_type)
        .body(axum::body::Body::from(body.to_vec()))
    else {
        return Ok("not a request".into());
    };
    parse(&serve_config(b), request)
}
