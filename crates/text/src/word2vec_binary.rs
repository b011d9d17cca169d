//! word2vec binary format: a `count dim` text header line, then per word: the word's bytes, a
//! space, `dim` little-endian f32, and optionally a newline (the original tool writes one).

use std::io::{BufRead, Write};

use crate::error::{Result, TextError};
use crate::lines::Parsed;
use crate::load::{Format, LoadOptions, LoadReport};
use crate::vectors::WordVectors;
use crate::word2vec_text::{check_expected, read_header};

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
    let mut bytes = vec![0u8; dim * 4];
    let mut values = vec![0f32; dim];
    let mut word = Vec::new();
    for rec in 1..=n {
        let at = |msg: String| TextError::parse(name, rec + 1, format!("record {rec}: {msg}"));
        read_word(&mut reader, &mut word).map_err(at)?;
        reader
            .read_exact(&mut bytes)
            .map_err(|_| at("truncated vector (file ends early)".into()))?;
        for (v, b) in values.iter_mut().zip(bytes.chunks_exact(4)) {
            *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(at("NaN or infinite value".into()));
        }
        parsed.push(String::from_utf8_lossy(&word).into_owned(), &values);
    }
    WordVectors::from_parsed(parsed, Format::Word2VecBinary, name)
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
