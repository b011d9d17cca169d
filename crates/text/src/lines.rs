//! Parallel parsing of "word v1 .. vD" text lines, shared by the GloVe and word2vec text
//! readers. The input is read in blocks of whole lines; each block is split into line chunks
//! parsed with rayon; chunks are appended in order so line numbers and "first one wins" for
//! duplicate words are the same as a sequential parse.

use std::collections::HashMap;
use std::io::{BufRead, Read};

use rayon::prelude::*;

use crate::error::{Result, TextError};
use crate::format::{CacheStatus, Format, LoadReport, NonUtf8};
use crate::storage::Storage;
use crate::vectors::WordVectors;
use crate::vocab::Vocab;

/// How many duplicate words a load report lists by name (all are counted).
pub const MAX_DUPLICATE_EXAMPLES: usize = 20;

/// Smallest line chunk handed to one rayon task.
const MIN_CHUNK_BYTES: usize = 64 * 1024;
/// Non-empty lines looked at to infer the dimension of a file without a header.
const DIM_SAMPLE_LINES: usize = 32;
/// Characters of a field quoted in an error message (a binary file read as text can have one
/// "field" of many kilobytes).
pub(crate) const MAX_QUOTED_CHARS: usize = 40;

/// Parsed words and vectors, duplicates removed (first occurrence kept).
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub words: Vec<String>,
    pub index: HashMap<String, usize>,
    pub data: Vec<f32>,
    pub dim: usize,
    pub duplicates: usize,
    pub duplicate_examples: Vec<String>,
    /// Words whose bytes are not UTF-8 (decoded as Latin-1 under [`NonUtf8::Latin1`]).
    pub non_utf8: usize,
    /// 1-based line (or record) and quoted bytes of the first such word.
    pub first_non_utf8: Option<(usize, String)>,
}

impl Parsed {
    /// The vectors of a parse and the report of a load of `format` (no cache, no gzip yet).
    ///
    /// # Errors
    /// [`TextError::Format`] naming `name` when the file held no vectors.
    pub(crate) fn into_vectors(
        self,
        format: Format,
        name: &str,
    ) -> Result<(WordVectors, LoadReport)> {
        let p = self;
        if p.words.is_empty() {
            return Err(TextError::format(name, "no vectors in the file"));
        }
        let report = LoadReport {
            format,
            gzip: false,
            words: p.words.len(),
            dim: p.dim,
            duplicates: p.duplicates,
            duplicate_examples: p.duplicate_examples,
            non_utf8_words: p.non_utf8,
            cache: CacheStatus::Off,
            seconds: 0.0,
        };
        let vocab = Vocab::from_parts(p.words, p.index);
        let storage = Storage::Dense {
            data: p.data,
            dim: p.dim,
        };
        Ok((WordVectors::from_vocab_storage(vocab, storage), report))
    }

    pub(crate) fn new(dim: usize) -> Self {
        Parsed {
            dim,
            ..Parsed::default()
        }
    }

    /// Turns a word's bytes into a `String` under `policy`, counting words that are not UTF-8.
    /// Under [`NonUtf8::Refuse`] such a word is kept as a placeholder only until
    /// [`Parsed::check_encoding`] refuses the file; it never merges with another word because
    /// Latin-1 maps distinct bytes to distinct characters.
    pub(crate) fn word(&mut self, bytes: &[u8], line: usize) -> String {
        match std::str::from_utf8(bytes) {
            Ok(w) => w.to_string(),
            Err(_) => {
                self.non_utf8 += 1;
                if self.first_non_utf8.is_none() {
                    self.first_non_utf8 = Some((line, quote(bytes)));
                }
                latin1(bytes)
            }
        }
    }

    /// Refuses the file when words were not UTF-8 and `policy` is [`NonUtf8::Refuse`].
    pub(crate) fn check_encoding(&self, name: &str, policy: NonUtf8) -> Result<()> {
        match (&self.first_non_utf8, policy) {
            (Some((line, example)), NonUtf8::Refuse) => Err(TextError::format(
                name,
                format!(
                    "not UTF-8: {} word(s) are not valid UTF-8 (first at line {line}: {example}); \
                     the file is probably in an 8-bit encoding such as Latin-1: convert it to \
                     UTF-8 (iconv -f latin1 -t utf-8), or read it as Latin-1 \
                     (non_utf8 = \"latin1\" in the run config's [text])",
                    self.non_utf8
                ),
            )),
            _ => Ok(()),
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
    /// Word bytes with their 0-based line within the chunk.
    words: Vec<(Vec<u8>, usize)>,
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
            None => {
                let d =
                    infer_dim(&buf).map_err(|msg| TextError::parse(src.name, line_base, msg))?;
                parsed.insert(Parsed::new(d))
            }
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

/// Dimension of a file without a header, from its first [`DIM_SAMPLE_LINES`] non-empty lines:
/// the most common length of a line's numeric tail (the trailing fields that parse as numbers),
/// the one seen first on a tie. One line alone is not enough: a glove.840B word may hold spaces
/// (`. . .`) and a word may itself be a number (`1999 0.1 ...`), but not on most lines.
fn infer_dim(buf: &[u8]) -> std::result::Result<usize, String> {
    let mut counts: Vec<(usize, usize)> = Vec::new();
    let lines = buf
        .split(|&b| b == b'\n')
        .map(trim_end)
        .filter(|l| !l.is_empty())
        .take(DIM_SAMPLE_LINES);
    for line in lines {
        if line.contains(&0) {
            return Err(
                "binary content (NUL bytes) in a text vector file: not GloVe or \
                        word2vec text (a fastText .bin or another binary format?)"
                    .into(),
            );
        }
        let tail = numeric_tail(line);
        if tail == 0 {
            continue;
        }
        match counts.iter_mut().find(|(d, _)| *d == tail) {
            Some((_, n)) => *n += 1,
            None => counts.push((tail, 1)),
        }
    }
    // Stable: on a tie the length seen first wins (the first line's, as a one-line rule had it).
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    match counts.first() {
        Some(&(d, _)) if d > 0 => Ok(d),
        _ => {
            Err("no vector values on the first lines (need a word and at least one number)".into())
        }
    }
}

/// How many trailing fields of `line` parse as numbers (NaN included: the parse then names the
/// bad value), leaving at least one field (the word).
fn numeric_tail(line: &[u8]) -> usize {
    let fields: Vec<&[u8]> = line
        .split(|&b| is_sep(b))
        .filter(|f| !f.is_empty())
        .collect();
    fields
        .iter()
        .skip(1)
        .rev()
        .take_while(|f| std::str::from_utf8(f).is_ok_and(|t| t.parse::<f32>().is_ok()))
        .count()
}

fn parse_block(buf: &[u8], out: &mut Parsed, name: &str, line_base: usize) -> Result<usize> {
    let dim = out.dim;
    let chunks = split_chunks(buf);
    let results: Vec<std::result::Result<ChunkOut, (usize, String)>> =
        chunks.par_iter().map(|c| parse_chunk(c, dim)).collect();
    let mut base = line_base;
    for r in results {
        let chunk = r.map_err(|(line, msg)| TextError::parse(name, base + line, msg))?;
        for (i, (bytes, line)) in chunk.words.into_iter().enumerate() {
            let w = out.word(&bytes, base + line);
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
    let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
    // A line holding `dim` values is longer than `dim` bytes, so a chunk shorter than that holds
    // none: refused before the values buffer is sized by a dimension the data cannot have (a
    // word2vec header's `dim` comes from the file; found by webly-fuzz).
    if dim > chunk.len() {
        let lines = || body.split(|&b| b == b'\n').map(trim_end);
        return match lines().enumerate().find(|(_, l)| !l.is_empty()) {
            Some((i, line)) => {
                let fields = line.split(|&b| is_sep(b)).filter(|f| !f.is_empty());
                Err((i, too_few(dim, fields.count())))
            }
            None => Ok(ChunkOut {
                lines: lines().count(),
                ..out
            }),
        };
    }
    let mut values = vec![0f32; dim];
    for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
        out.lines = i + 1;
        let line = trim_end(raw);
        if line.is_empty() {
            continue;
        }
        let word = parse_line(line, &mut values).map_err(|m| (i, m))?;
        out.words.push((word.to_vec(), i));
        out.data.extend_from_slice(&values);
    }
    Ok(out)
}

/// Parses one line: the last `values.len()` fields are the vector, everything before them
/// (which may contain spaces, as in glove.840B.300d) is the word.
pub(crate) fn parse_line<'a>(
    line: &'a [u8],
    values: &mut [f32],
) -> std::result::Result<&'a [u8], String> {
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
    Ok(word)
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
    let bad = || format!("cannot parse {} as a number", quote(field));
    let text = std::str::from_utf8(field).map_err(|_| bad())?;
    let v: f32 = text.parse().map_err(|_| bad())?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("value {} is NaN or infinite", quote(field)))
    }
}

/// A field as an error message quotes it: `"..."` with escapes, at most [`MAX_QUOTED_CHARS`]
/// characters, and the total length when it was cut. Bytes that are not UTF-8 show as `\xNN`.
pub(crate) fn quote(bytes: &[u8]) -> String {
    let mut pieces: Vec<String> = Vec::new();
    for chunk in bytes.utf8_chunks() {
        pieces.extend(chunk.valid().chars().map(|c| c.escape_debug().to_string()));
        pieces.extend(chunk.invalid().iter().map(|b| format!("\\x{b:02x}")));
    }
    let cut = pieces.len() > MAX_QUOTED_CHARS;
    let head: String = pieces.into_iter().take(MAX_QUOTED_CHARS).collect();
    match cut {
        true => format!("\"{head}...\" ({} bytes)", bytes.len()),
        false => format!("\"{head}\""),
    }
}

/// [`quote`] for text.
pub(crate) fn quote_str(text: &str) -> String {
    quote(text.as_bytes())
}

/// Latin-1 decoding: byte `b` is the character with code point `b` (U+0000 to U+00FF), so
/// distinct bytes stay distinct words.
pub(crate) fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
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
