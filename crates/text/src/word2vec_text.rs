//! word2vec text format: a `count dim` header line, then GloVe-style lines.

use std::io::BufRead;

use crate::error::{Result, TextError};
use crate::format::{Format, LoadOptions, LoadReport};
use crate::lines::{parse_lines, LineSource};
use crate::vectors::WordVectors;

/// Parses a `count dim` header line.
pub(crate) fn parse_header(line: &[u8]) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(line).ok()?;
    let mut it = text.split_ascii_whitespace();
    let n = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    (it.next().is_none() && d > 0).then_some((n, d))
}

pub(crate) fn read_header<R: BufRead>(reader: &mut R, name: &str) -> Result<(usize, usize)> {
    let mut line = Vec::new();
    reader
        .read_until(b'\n', &mut line)
        .map_err(|e| TextError::format(name, format!("read error: {e}")))?;
    parse_header(crate::lines::trim_end(&line)).ok_or_else(|| {
        TextError::parse(
            name,
            1,
            "expected a word2vec header `count dim` (two integers)",
        )
    })
}

/// Reads word2vec text from `reader`; `name` is used in error messages.
pub fn read_word2vec_text<R: BufRead>(
    mut reader: R,
    name: &str,
    opts: &LoadOptions,
) -> Result<(WordVectors, LoadReport)> {
    let (n, dim) = read_header(&mut reader, name)?;
    check_expected(name, dim, opts)?;
    let src = LineSource {
        name,
        dim: Some(dim),
        first_line: 2,
        block_bytes: opts.block_bytes,
    };
    let parsed = parse_lines(reader, &src)?;
    let found = parsed.words.len() + parsed.duplicates;
    check_count(name, n, found)?;
    parsed.check_encoding(name, opts.non_utf8)?;
    parsed.into_vectors(Format::Word2VecText, name)
}

/// The one policy of both word2vec formats for a header count that does not match the records:
/// an error that says which way it is off (a too-high count means a truncated file; a too-low
/// one would silently drop the words after it).
pub(crate) fn check_count(name: &str, header: usize, found: usize) -> Result<()> {
    let msg = match found.cmp(&header) {
        std::cmp::Ordering::Equal => return Ok(()),
        std::cmp::Ordering::Less => format!(
            "header says {header} words, the file has {found}: the count is too high \
             (truncated file?)"
        ),
        std::cmp::Ordering::Greater => format!(
            "header says {header} words, the file has {found}: the count is too low \
             (words after the first {header} would be lost; fix the header)"
        ),
    };
    Err(TextError::format(name, msg))
}

pub(crate) fn check_expected(name: &str, dim: usize, opts: &LoadOptions) -> Result<()> {
    match opts.expected_dim {
        Some(e) if e != dim => Err(TextError::parse(
            name,
            1,
            format!("header dimension {dim}, expected {e}"),
        )),
        _ => Ok(()),
    }
}
