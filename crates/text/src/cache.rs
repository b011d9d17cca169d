//! The binary cache written beside a word-vector file so a reload memory-maps the vectors.
//!
//! Layout (all integers little-endian):
//!
//! | offset | field |
//! |---|---|
//! | 0 | magic `WEBLYWVC` |
//! | 8 | u32 version ([`VERSION`]), u32 reserved (0) |
//! | 16 | u64 source size in bytes, u64 source mtime (ns since the epoch) |
//! | 32 | u64 n words, u64 dim |
//! | 48 | u64 duplicates dropped, u64 duplicate examples stored |
//! | 64 | u64 words block length, u64 matrix offset |
//! | 80 | u64 words checksum, u64 matrix checksum, u32 format, zero padding to 128 |
//! | 128 | words block: per word (n words, then the examples) a u32 length and UTF-8 bytes |
//! | matrix offset (multiple of 64) | n x dim f32, row-major |
//!
//! The cache is stale when the source's size or mtime differ; corrupt when the magic, version,
//! lengths or checksums do not match. Either way it is rebuilt. Checksums are FNV-1a-style 64-bit
//! hashes (fast, not cryptographic).

use std::fs::{File, Metadata};
use std::io::Write;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use rayon::prelude::*;

use crate::atomic::write_atomic;
use crate::error::Result;
use crate::format::{CacheStatus, Format, LoadReport};
use crate::storage::{MmapMatrix, Storage};
use crate::vectors::WordVectors;
use crate::vocab::Vocab;

const MAGIC: &[u8; 8] = b"WEBLYWVC";
/// Cache format version; bump on any layout change.
pub const VERSION: u32 = 2;
const HEADER_BYTES: usize = 128;
const MATRIX_ALIGN: usize = 64;
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
/// Bytes hashed per parallel piece of the matrix checksum.
const CHECKSUM_PIECE: usize = 1 << 20;
/// Suffix of cache files.
pub const CACHE_SUFFIX: &str = "webly-cache";

pub(crate) enum CacheCheck {
    Hit(Box<(WordVectors, LoadReport)>),
    Missing,
    Invalid(String),
}

/// Where the cache of `source` lives: `<source>.webly-cache`, or in `dir` as
/// `<file name>.<hash of the full path>.webly-cache` so same-named sources do not collide.
pub fn cache_path(source: &Path, dir: Option<&Path>) -> PathBuf {
    let name = source.file_name().map_or_else(
        || "vectors".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    match dir {
        None => {
            let mut s = source.as_os_str().to_owned();
            s.push(format!(".{CACHE_SUFFIX}"));
            PathBuf::from(s)
        }
        Some(d) => {
            let full = std::fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf());
            let h = fnv(FNV_OFFSET, full.to_string_lossy().as_bytes());
            d.join(format!("{name}.{h:016x}.{CACHE_SUFFIX}"))
        }
    }
}

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
    }
    h
}

/// Hash of the matrix bytes: FNV over 8-byte words per 1 MiB piece (in parallel), then over the
/// piece hashes in order.
fn matrix_checksum(bytes: &[u8]) -> u64 {
    let pieces: Vec<u64> = bytes
        .par_chunks(CHECKSUM_PIECE)
        .map(|p| {
            let mut h = FNV_OFFSET;
            let mut words = p.chunks_exact(8);
            for w in &mut words {
                let v = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
                h = (h ^ v).wrapping_mul(FNV_PRIME);
            }
            fnv(h, words.remainder())
        })
        .collect();
    pieces
        .iter()
        .fold(FNV_OFFSET, |h, &p| (h ^ p).wrapping_mul(FNV_PRIME))
}

fn mtime_ns(meta: &Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}

fn format_code(f: Format) -> u32 {
    match f {
        Format::GloveText => 0,
        Format::Word2VecText => 1,
        Format::Word2VecBinary => 2,
    }
}

fn format_from(code: u32) -> Option<Format> {
    [
        Format::GloveText,
        Format::Word2VecText,
        Format::Word2VecBinary,
    ]
    .into_iter()
    .find(|&f| format_code(f) == code)
}

fn words_block(words: &[String], examples: &[String]) -> Vec<u8> {
    let mut block = Vec::new();
    for w in words.iter().chain(examples) {
        block.extend_from_slice(&(w.len() as u32).to_le_bytes());
        block.extend_from_slice(w.as_bytes());
    }
    block
}

/// Writes the cache of `v` (parsed from a source with metadata `source`) atomically.
pub(crate) fn write_cache(
    path: &Path,
    source: &Metadata,
    v: &WordVectors,
    report: &LoadReport,
) -> Result<()> {
    let block = words_block(v.words(), &report.duplicate_examples);
    let matrix_offset = (HEADER_BYTES + block.len()).next_multiple_of(MATRIX_ALIGN);
    let matrix: Vec<u8> = v
        .storage()
        .as_slice()
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let mut header = Vec::with_capacity(HEADER_BYTES);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    let fields = [
        source.len(),
        mtime_ns(source),
        v.len() as u64,
        v.dim() as u64,
        report.duplicates as u64,
        report.duplicate_examples.len() as u64,
        block.len() as u64,
        matrix_offset as u64,
        fnv(FNV_OFFSET, &block),
        matrix_checksum(&matrix),
    ];
    for f in fields {
        header.extend_from_slice(&f.to_le_bytes());
    }
    header.extend_from_slice(&format_code(report.format).to_le_bytes());
    header.resize(HEADER_BYTES, 0);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| crate::TextError::io(dir, e))?;
    }
    write_atomic(path, |w| {
        w.write_all(&header)?;
        w.write_all(&block)?;
        w.write_all(&vec![0u8; matrix_offset - HEADER_BYTES - block.len()])?;
        w.write_all(&matrix)
    })
}

struct Header {
    fields: [u64; 10],
    format: u32,
}

fn read_header(map: &[u8]) -> std::result::Result<Header, String> {
    if map.len() < HEADER_BYTES || &map[..8] != MAGIC {
        return Err("not a webly cache (bad magic or too short)".into());
    }
    let u32_at = |o: usize| u32::from_le_bytes([map[o], map[o + 1], map[o + 2], map[o + 3]]);
    let version = u32_at(8);
    if version != VERSION {
        return Err(format!("cache version {version}, expected {VERSION}"));
    }
    let mut fields = [0u64; 10];
    for (i, f) in fields.iter_mut().enumerate() {
        let o = 16 + 8 * i;
        let mut b = [0u8; 8];
        b.copy_from_slice(&map[o..o + 8]);
        *f = u64::from_le_bytes(b);
    }
    Ok(Header {
        fields,
        format: u32_at(96),
    })
}

/// Reads the cache at `path` if it exists and matches `source`.
pub(crate) fn read_cache(path: &Path, source: &Metadata, verify: bool) -> CacheCheck {
    let Ok(file) = File::open(path) else {
        return CacheCheck::Missing;
    };
    // SAFETY: the cache is only ever replaced by an atomic rename, never modified in place, so
    // the mapped bytes do not change under us.
    let map = match unsafe { Mmap::map(&file) } {
        Ok(m) => m,
        Err(e) => return CacheCheck::Invalid(format!("cannot map: {e}")),
    };
    match decode(map, source, verify) {
        Ok(hit) => CacheCheck::Hit(Box::new(hit)),
        Err(reason) => CacheCheck::Invalid(reason),
    }
}

fn decode(
    map: Mmap,
    source: &Metadata,
    verify: bool,
) -> std::result::Result<(WordVectors, LoadReport), String> {
    let h = read_header(&map)?;
    let [size, mtime, n, dim, dups, n_examples, block_len, matrix_offset, words_sum, matrix_sum] =
        h.fields.map(|f| f as usize);
    if size as u64 != source.len() || mtime as u64 != mtime_ns(source) {
        return Err("stale: the source file changed (size or mtime)".into());
    }
    let format = format_from(h.format).ok_or("unknown format code")?;
    let block_end = HEADER_BYTES
        .checked_add(block_len)
        .ok_or("bad words length")?;
    let matrix_len = n
        .checked_mul(dim)
        .and_then(|x| x.checked_mul(4))
        .ok_or("bad shape")?;
    if block_end > matrix_offset
        || matrix_offset % MATRIX_ALIGN != 0
        || matrix_offset.checked_add(matrix_len) != Some(map.len())
    {
        return Err("corrupt: lengths do not match the file size".into());
    }
    let block = &map[HEADER_BYTES..block_end];
    if verify
        && (fnv(FNV_OFFSET, block) as usize != words_sum
            || matrix_checksum(&map[matrix_offset..]) as usize != matrix_sum)
    {
        return Err("corrupt: checksum mismatch".into());
    }
    let count = n.checked_add(n_examples).ok_or("corrupt: bad word count")?;
    let mut words = decode_words(block, count)?;
    let examples = words.split_off(n);
    let vocab = Vocab::new(words).ok_or("corrupt: repeated word")?;
    let matrix = MmapMatrix::new(map, matrix_offset, n, dim).ok_or("corrupt: bad matrix")?;
    let v = WordVectors::from_vocab_storage(vocab, Storage::Mmap(matrix));
    let report = LoadReport {
        format,
        gzip: false,
        words: n,
        dim,
        duplicates: dups,
        duplicate_examples: examples,
        non_utf8_words: 0,
        cache: CacheStatus::Off,
        seconds: 0.0,
    };
    Ok((v, report))
}

fn decode_words(mut block: &[u8], count: usize) -> std::result::Result<Vec<String>, String> {
    // Each word takes at least its 4-byte length: the header's count (outside data) sizes
    // nothing beyond what the block can hold (found by webly-fuzz).
    let mut words = Vec::with_capacity(count.min(block.len() / 4));
    for _ in 0..count {
        if block.len() < 4 {
            return Err("corrupt: words block too short".into());
        }
        let len = u32::from_le_bytes([block[0], block[1], block[2], block[3]]) as usize;
        let bytes = block
            .get(4..4 + len)
            .ok_or("corrupt: words block too short")?;
        let w = std::str::from_utf8(bytes).map_err(|_| "corrupt: word is not UTF-8")?;
        words.push(w.to_string());
        block = &block[4 + len..];
    }
    if !block.is_empty() {
        return Err("corrupt: words block too long".into());
    }
    Ok(words)
}
