//! Parallel parsing of "word v1 .. vD" text lines, shared by the GloVe and word2vec text
//! readers. The input is read in blocks of whole lines; each block is split into line chunks
//! parsed with rayon; chunks are appended in order so line numbers and "first one wins" for
//! duplicate words are the same as a sequential parse.

use std::collections::HashMap;
use std::io::{BufRead, Read};

use rayon::prelude::*;

use crate::error::{Result, TextError};

/// How many duplicate words a load report lists by name (all are counted).
pub const MAX_DUPLICATE_EXAMPLES: usize = 20;

/// Smallest line chunk handed to one rayon task.
const MIN_CHUNK_BYTES: usize = 64 * 1024;

/// Parsed words and vectors, duplicates removed (first occurrence kept).
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub words: Vec<String>,
    pub index: HashMap<String, usize>,
    pub data: Vec<f32>,
    pub dim: usize,
    pub duplicates: usize,
    pub duplicate_examples: Vec<String>,
}

impl Parsed {
    pub(crate) fn new(dim: usize) -> Self {
        Parsed {
            dim,
            ..Parsed::default()
        }
    }

    /// Adds one row unless the word is already present.
    pub(crate) fn push(&mut self, word: String, values: &[f32]) {
        if self.index.contains_key(&word) {
            self.duplicates += 1;
            if self.duplicate_examples.len() < MAX_DUPLICATE_EXAMPLES {
                self.duplicate_examples.push(word);
            }
            return;
        }
        self.index.insert(word.clone(), self.words.len());
        self.words.push(word);
        self.data.extend_from_slice(values);
    }
}

/// Settings of one text parse.
pub(crate) struct LineSource<'a> {
    /// Name used in error messages (file path or reader name).
    pub name: &'a str,
    /// Expected values per line; `None`: taken from the first non-empty line (fields - 1).
    pub dim: Option<usize>,
    /// 1-based number of the first line handed to the parser.
    pub first_line: usize,
    /// Bytes read per block before it is parsed in parallel.
    pub block_bytes: usize,
}

struct ChunkOut {
    words: Vec<String>,
    data: Vec<f32>,
    lines: usize,
}

/// Parses every remaining line of `reader`.
pub(crate) fn parse_lines<R: BufRead>(mut reader: R, src: &LineSource) -> Result<Parsed> {
    let mut parsed: Option<Parsed> = src.dim.map(Parsed::new);
    let mut line_base = src.first_line;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read = read_block(&mut reader, &mut buf, src.block_bytes.max(1))
            .map_err(|e| TextError::format(src.name, format!("read error: {e}")))?;
        if read == 0 {
            break;
        }
        let out = match parsed.as_mut() {
            Some(p) => p,
            None => match first_line_dim(&buf) {
                Some(d) => parsed.insert(Parsed::new(d)),
                None => {
                    let msg =
                        "first line has no vector values (need a word and at least one number)";
                    return Err(TextError::parse(src.name, line_base, msg));
                }
            },
        };
        line_base = parse_block(&buf, out, src.name, line_base)?;
    }
    parsed.ok_or_else(|| TextError::format(src.name, "no vectors: empty input"))
}

/// Reads about `size` bytes, completed to the end of a line. Returns the bytes read.
fn read_block<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    size: usize,
) -> std::io::Result<usize> {
    reader.by_ref().take(size as u64).read_to_end(buf)?;
    if buf.last().is_some_and(|&b| b != b'\n') {
        reader.read_until(b'\n', buf)?;
    }
    Ok(buf.len())
}

/// Dimension from the first non-empty line: number of fields minus one (the word).
fn first_line_dim(buf: &[u8]) -> Option<usize> {
    let line = buf
        .split(|&b| b == b'\n')
        .map(trim_end)
        .find(|l| !l.is_empty())?;
    let fields = line.split(|&b| is_sep(b)).filter(|f| !f.is_empty()).count();
    fields.checked_sub(1).filter(|&d| d > 0)
}

fn parse_block(buf: &[u8], out: &mut Parsed, name: &str, line_base: usize) -> Result<usize> {
    let dim = out.dim;
    let chunks = split_chunks(buf);
    let results: Vec<std::result::Result<ChunkOut, (usize, String)>> =
        chunks.par_iter().map(|c| parse_chunk(c, dim)).collect();
    let mut base = line_base;
    for r in results {
        let chunk = r.map_err(|(line, msg)| TextError::parse(name, base + line, msg))?;
        for (i, w) in chunk.words.into_iter().enumerate() {
            out.push(w, &chunk.data[i * dim..(i + 1) * dim]);
        }
        base += chunk.lines;
    }
    Ok(base)
}

/// Splits at newlines into pieces sized for the rayon pool.
fn split_chunks(buf: &[u8]) -> Vec<&[u8]> {
    let target = (buf.len() / (rayon::current_num_threads() * 4)).max(MIN_CHUNK_BYTES);
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < buf.len() {
        let mut end = (start + target).min(buf.len());
        while end < buf.len() && buf[end - 1] != b'\n' {
            end += 1;
        }
        chunks.push(&buf[start..end]);
        start = end;
    }
    chunks
}

/// Parses a chunk of whole lines; an error carries the 0-based line within the chunk.
fn parse_chunk(chunk: &[u8], dim: usize) -> std::result::Result<ChunkOut, (usize, String)> {
    let mut out = ChunkOut {
        words: Vec::new(),
        data: Vec::with_capacity(chunk.len() / 8),
        lines: 0,
    };
    let mut values = vec![0f32; dim];
    let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
    for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
        out.lines = i + 1;
        let line = trim_end(raw);
        if line.is_empty() {
            continue;
        }
        let word = parse_line(line, &mut values).map_err(|m| (i, m))?;
        out.words.push(word);
        out.data.extend_from_slice(&values);
    }
    Ok(out)
}

/// Parses one line: the last `values.len()` fields are the vector, everything before them
/// (which may contain spaces, as in glove.840B.300d) is the word.
pub(crate) fn parse_line(line: &[u8], values: &mut [f32]) -> std::result::Result<String, String> {
    let dim = values.len();
    let mut end = line.len();
    for k in (0..dim).rev() {
        let start = line[..end]
            .iter()
            .rposition(|&b| is_sep(b))
            .map_or(0, |p| p + 1);
        if start == 0 {
            return Err(too_few(dim, dim - k));
        }
        values[k] = parse_value(&line[start..end])?;
        end = start;
        while end > 0 && is_sep(line[end - 1]) {
            end -= 1;
        }
    }
    let word = &line[..end];
    if word.is_empty() {
        return Err(too_few(dim, dim));
    }
    check_no_extra_values(word, dim)?;
    Ok(String::from_utf8_lossy(word).into_owned())
}

fn too_few(dim: usize, fields: usize) -> String {
    format!("expected a word and {dim} values, found only {fields} fields (truncated line?)")
}

/// A "word" made of a token followed by numbers means the line has too many values.
fn check_no_extra_values(word: &[u8], dim: usize) -> std::result::Result<(), String> {
    let mut pieces = word.split(|&b| is_sep(b)).filter(|p| !p.is_empty());
    pieces.next();
    let extra: Vec<&[u8]> = pieces.collect();
    if !extra.is_empty() && extra.iter().all(|p| parse_value(p).is_ok()) {
        return Err(format!(
            "expected {dim} values, found {} (inconsistent dimension)",
            dim + extra.len()
        ));
    }
    Ok(())
}

fn parse_value(field: &[u8]) -> std::result::Result<f32, String> {
    let text = std::str::from_utf8(field).map_err(|_| "value is not UTF-8".to_string())?;
    let v: f32 = text
        .parse()
        .map_err(|_| format!("cannot parse {text:?} as a number"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("value {text:?} is NaN or infinite"))
    }
}

fn is_sep(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

pub(crate) fn trim_end(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|&b| !b.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    &line[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, dim: Option<usize>) -> Result<Parsed> {
        let src = LineSource {
            name: "t.txt",
            dim,
            first_line: 1,
            block_bytes: 7,
        };
        parse_lines(text.as_bytes(), &src)
    }

    #[test]
    fn words_with_spaces_take_the_last_dim_fields() {
        let p = parse("a 1 2\n. . . 3 4\r\n\nb 5 6 \n", None).unwrap();
        assert_eq!(p.words, ["a", ". . .", "b"]);
        assert_eq!(p.data, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("a 1 2\nb 1 2\nc 1\n", None).unwrap_err().to_string();
        assert!(e.starts_with("t.txt:3:"), "{e}");
        let e = parse("a 1 2\nb 1 2 3\n", None).unwrap_err().to_string();
        assert!(e.contains("t.txt:2:") && e.contains("inconsistent"), "{e}");
        let e = parse("a 1 2\nb 1 nan\n", None).unwrap_err().to_string();
        assert!(e.contains("t.txt:2:") && e.contains("NaN"), "{e}");
        let e = parse("a 1 2\nb 1 x\n", None).unwrap_err().to_string();
        assert!(e.contains("t.txt:2:") && e.contains("\"x\""), "{e}");
    }

    #[test]
    fn duplicates_keep_the_first() {
        let p = parse("a 1\nb 2\na 3\n", None).unwrap();
        assert_eq!(p.words, ["a", "b"]);
        assert_eq!(p.data, [1.0, 2.0]);
        assert_eq!(
            (p.duplicates, p.duplicate_examples.clone()),
            (1, vec!["a".to_string()])
        );
    }
}
