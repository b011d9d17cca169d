//! word2vec binary format: a `count dim` text header line, then per word: the word's bytes, a
//! space, `dim` little-endian f32, and optionally a newline (the original tool writes one).

use std::io::{BufRead, Read, Write};

use crate::error::{Result, TextError};
use crate::format::{Format, LoadOptions, LoadReport};
use crate::lines::Parsed;
use crate::vectors::WordVectors;
use crate::word2vec_text::{check_count, check_expected, read_header};

/// Reads word2vec binary from `reader`; `name` is used in error messages (records are numbered
/// from 1 and reported as "line" 1 + record, the header being line 1).
pub fn read_word2vec_binary<R: BufRead>(
    mut reader: R,
    name: &str,
    opts: &LoadOptions,
) -> Result<(WordVectors, LoadReport)> {
    let (n, dim) = read_header(&mut reader, name)?;
    check_expected(name, dim, opts)?;
    let mut parsed = Parsed::new(dim);
    let mut rec = 0;
    let mut record = Record::new(dim);
    while has_more(&mut reader).map_err(|e| TextError::format(name, format!("read error: {e}")))? {
        rec += 1;
        let at = |msg: String| TextError::parse(name, rec + 1, format!("record {rec}: {msg}"));
        if rec > n {
            // Past the header's count: count what follows, so the message can say by how much.
            if record.read(&mut reader).is_err() {
                let msg = format!(
                    "header says {n} words, but more data follows record {n}: \
                     the count is too low or the file has trailing bytes"
                );
                return Err(TextError::format(name, msg));
            }
            continue;
        }
        record.read(&mut reader).map_err(at)?;
        if record.values.iter().any(|v| !v.is_finite()) {
            return Err(at("NaN or infinite value".into()));
        }
        let word = parsed.word(&record.word, rec + 1);
        parsed.push(word, &record.values);
    }
    check_count(name, n, rec)?;
    parsed.check_encoding(name, opts.non_utf8)?;
    parsed.into_vectors(Format::Word2VecBinary, name)
}

/// One binary record's word bytes and values. The buffers grow with the bytes actually read,
/// never to the header's `dim` up front: the header is outside data, and a claimed dimension
/// of 4294967296 must not allocate 16 GiB before the file is found short (found by webly-fuzz).
struct Record {
    dim: usize,
    word: Vec<u8>,
    bytes: Vec<u8>,
    values: Vec<f32>,
}

impl Record {
    fn new(dim: usize) -> Self {
        Record {
            dim,
            word: Vec::new(),
            bytes: Vec::new(),
            values: Vec::new(),
        }
    }

    fn read<R: BufRead>(&mut self, reader: &mut R) -> std::result::Result<(), String> {
        const TRUNCATED: &str = "truncated vector (file ends early)";
        read_word(reader, &mut self.word)?;
        let len = self.dim.checked_mul(4).ok_or(TRUNCATED)?;
        self.bytes.clear();
        reader
            .take(len as u64)
            .read_to_end(&mut self.bytes)
            .map_err(|e| format!("read error: {e}"))?;
        if self.bytes.len() != len {
            return Err(TRUNCATED.into());
        }
        self.values.clear();
        self.values.extend(
            self.bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        Ok(())
    }
}

/// Skips the newlines between records; true when another byte follows.
fn has_more<R: BufRead>(reader: &mut R) -> std::io::Result<bool> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        let ws = buf.iter().take_while(|&&b| b == b'\n').count();
        let all = ws == buf.len();
        reader.consume(ws);
        if !all {
            return Ok(true);
        }
    }
}

/// Reads the word up to its space, skipping the newline the previous record may end with.
fn read_word<R: BufRead>(reader: &mut R, word: &mut Vec<u8>) -> std::result::Result<(), String> {
    word.clear();
    reader
        .read_until(b' ', word)
        .map_err(|e| format!("read error: {e}"))?;
    if word.pop() != Some(b' ') {
        return Err("truncated word (file ends early)".into());
    }
    let start = word.iter().position(|&b| b != b'\n').unwrap_or(word.len());
    word.drain(..start);
    if word.is_empty() {
        return Err("empty word".into());
    }
    Ok(())
}

/// Writes `vectors` in word2vec binary format (with a newline after each vector).
pub fn write_word2vec_binary_to<W: Write>(vectors: &WordVectors, w: &mut W) -> std::io::Result<()> {
    writeln!(w, "{} {}", vectors.len(), vectors.dim())?;
    for (i, word) in vectors.words().iter().enumerate() {
        w.write_all(word.as_bytes())?;
        w.write_all(b" ")?;
        for v in vectors.row(i) {
            w.write_all(&v.to_le_bytes())?;
        }
        w.write_all(b"\n")?;
    }
    Ok(())
}

impl WordVectors {
    /// Writes word2vec binary format at `path`, atomically (temporary file, sync, rename).
    ///
    /// # Errors
    /// [`TextError::Io`] naming `path` when it cannot be written.
    pub fn write_word2vec_binary(&self, path: &std::path::Path) -> Result<()> {
        crate::atomic::write_atomic(path, |w| write_word2vec_binary_to(self, w))
    }
}
