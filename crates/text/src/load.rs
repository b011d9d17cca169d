//! Loading word vectors from a file: gzip and format detection by content, the binary cache,
//! then the format module's reader. The formats own their reading and writing; this module only
//! detects and dispatches.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Instant;

use crate::cache::{self, CacheCheck};
use crate::error::{Result, TextError};
use crate::format::{CacheStatus, Format, LoadOptions, LoadReport, NonUtf8};
use crate::glove_text::read_glove_text;
use crate::vectors::WordVectors;
use crate::word2vec_binary::read_word2vec_binary;
use crate::word2vec_text::{check_expected, parse_header, read_word2vec_text};
use flate2::read::MultiGzDecoder;

/// Buffer of the file reader; also the sample used for format detection.
const READ_BUFFER_BYTES: usize = 1 << 20;
/// gzip's magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The UTF-8 byte-order mark, dropped from the start of a file as `utf-8-sig` readers do.
const UTF8_BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
/// The one-line summary of a load (`webly text` prints it).
impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let gz = if self.gzip { " (gzip)" } else { "" };
        write!(
            f,
            "{} words x {} ({:?}{gz}), ",
            self.words, self.dim, self.format
        )?;
        if self.non_utf8_words > 0 {
            write!(
                f,
                "{} words not UTF-8 read as Latin-1, ",
                self.non_utf8_words
            )?;
        }
        if self.duplicates > 0 {
            let ex: Vec<String> = self
                .duplicate_examples
                .iter()
                .map(|w| crate::lines::quote_str(w))
                .collect();
            let ex = ex.join(", ");
            write!(
                f,
                "{} duplicate words dropped (e.g. {ex}), ",
                self.duplicates
            )?;
        }
        let cache = match &self.cache {
            CacheStatus::Off => "no cache".to_string(),
            CacheStatus::Hit(p) => format!("cache hit {}", p.display()),
            CacheStatus::Written(p) => format!("cache written {}", p.display()),
            CacheStatus::Rebuilt(p, why) => format!("cache rebuilt {} ({why})", p.display()),
            CacheStatus::WriteFailed(p, why) => {
                format!("cache not written {} ({why})", p.display())
            }
        };
        write!(f, "{cache}, {:.2} s", self.seconds)
    }
}

impl WordVectors {
    /// Loads word vectors from `path` (GloVe text, word2vec text or binary, optionally gzip),
    /// using and maintaining the binary cache as `opts` says.
    pub fn load(path: &Path, opts: &LoadOptions) -> Result<(WordVectors, LoadReport)> {
        let t0 = Instant::now();
        let meta = std::fs::metadata(path).map_err(|e| TextError::io(path, e))?;
        let cache_path = (opts.cache && opts.non_utf8 == NonUtf8::Refuse)
            .then(|| cache::cache_path(path, opts.cache_dir.as_deref()));
        let mut stale = None;
        if let Some(cp) = &cache_path {
            match cache::read_cache(cp, &meta, opts.verify_cache) {
                CacheCheck::Hit(hit) => {
                    let (v, mut report) = *hit;
                    check_expected(&cp.display().to_string(), v.dim(), opts)?;
                    report.cache = CacheStatus::Hit(cp.clone());
                    report.seconds = t0.elapsed().as_secs_f64();
                    return Ok((v, report));
                }
                CacheCheck::Missing => {}
                CacheCheck::Invalid(reason) => stale = Some(reason),
            }
        }
        let (vectors, mut report) = parse_file(path, meta.len(), opts)?;
        report.cache = match cache_path {
            None => CacheStatus::Off,
            Some(cp) => match (cache::write_cache(&cp, &meta, &vectors, &report), stale) {
                (Err(e), _) => CacheStatus::WriteFailed(cp, webly_io::error_chain(&e)),
                (Ok(()), Some(reason)) => CacheStatus::Rebuilt(cp, reason),
                (Ok(()), None) => CacheStatus::Written(cp),
            },
        };
        report.seconds = t0.elapsed().as_secs_f64();
        Ok((vectors, report))
    }
}

fn parse_file(path: &Path, len: u64, opts: &LoadOptions) -> Result<(WordVectors, LoadReport)> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| TextError::io(path, e))?;
    let bar = crate::progress::bytes_bar(len, opts.progress, "parsing vectors");
    let mut raw = BufReader::with_capacity(READ_BUFFER_BYTES, bar.wrap_read(file));
    let gzip = raw
        .fill_buf()
        .map_err(|e| TextError::io(path, e))?
        .starts_with(&GZIP_MAGIC);
    let result = if gzip {
        let gz = BufReader::with_capacity(READ_BUFFER_BYTES, MultiGzDecoder::new(raw));
        read_any(gz, &name, opts)
    } else {
        read_any(raw, &name, opts)
    };
    bar.finish_and_clear();
    let (v, mut report) = result?;
    report.gzip = gzip;
    Ok((v, report))
}

/// Reads vectors from any reader, detecting the format unless `opts.format` is set. A UTF-8
/// byte-order mark at the start is dropped.
pub fn read_any<R: BufRead>(
    mut reader: R,
    name: &str,
    opts: &LoadOptions,
) -> Result<(WordVectors, LoadReport)> {
    skip_bom(&mut reader).map_err(|e| TextError::format(name, format!("read error: {e}")))?;
    let format = match opts.format {
        Some(f) => f,
        None => {
            let sample = reader
                .fill_buf()
                .map_err(|e| TextError::format(name, format!("read error: {e}")))?;
            detect_format(sample)
        }
    };
    match format {
        Format::GloveText => read_glove_text(reader, name, opts),
        Format::Word2VecText => read_word2vec_text(reader, name, opts),
        Format::Word2VecBinary => read_word2vec_binary(reader, name, opts),
    }
}

/// Consumes a UTF-8 byte-order mark at the reader's position, if there is one.
fn skip_bom<R: BufRead>(reader: &mut R) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(UTF8_BOM.len());
    while head.len() < UTF8_BOM.len() {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let want = (UTF8_BOM.len() - head.len()).min(buf.len());
        if buf[..want] != UTF8_BOM[head.len()..head.len() + want] {
            break;
        }
        head.extend_from_slice(&buf[..want]);
        reader.consume(want);
    }
    if !head.is_empty() && head.len() < UTF8_BOM.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the input starts with an incomplete byte-order mark",
        ));
    }
    Ok(())
}

/// Detects the format from the first bytes of the (decompressed) content: a `count dim` first
/// line means word2vec; then control bytes in what follows mean binary.
pub fn detect_format(sample: &[u8]) -> Format {
    let Some(nl) = sample.iter().position(|&b| b == b'\n') else {
        return Format::GloveText;
    };
    if parse_header(crate::lines::trim_end(&sample[..nl])).is_none() {
        return Format::GloveText;
    }
    let rest = &sample[nl + 1..];
    let binary = rest
        .iter()
        .take(4096)
        .any(|&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t'));
    if binary {
        Format::Word2VecBinary
    } else {
        Format::Word2VecText
    }
}
