//! GloVe text format: one word per line followed by its D values, separated by spaces.
//! D is inferred from the first lines (see `lines::infer_dim`). Words may contain spaces (glove.840B.300d): the last D fields
//! are the vector and the rest of the line is the word.

use std::io::{BufRead, Write};
use std::path::Path;

use crate::atomic::write_atomic;
use crate::error::Result;
use crate::format::{Format, LoadOptions, LoadReport};
use crate::lines::{parse_lines, LineSource};
use crate::vectors::WordVectors;

/// Reads GloVe text from `reader`; `name` is used in error messages.
pub fn read_glove_text<R: BufRead>(
    reader: R,
    name: &str,
    opts: &LoadOptions,
) -> Result<(WordVectors, LoadReport)> {
    let src = LineSource {
        name,
        dim: opts.expected_dim,
        first_line: 1,
        block_bytes: opts.block_bytes,
    };
    let parsed = parse_lines(reader, &src)?;
    parsed.check_encoding(name, opts.non_utf8)?;
    parsed.into_vectors(Format::GloveText, name)
}

/// Writes `vectors` as GloVe text (shortest round-tripping decimal for each value).
pub fn write_glove_text_to<W: Write>(vectors: &WordVectors, w: &mut W) -> std::io::Result<()> {
    let mut line = String::new();
    for (i, word) in vectors.words().iter().enumerate() {
        line.clear();
        line.push_str(word);
        for v in vectors.row(i) {
            line.push(' ');
            line.push_str(&v.to_string());
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

impl WordVectors {
    /// Writes GloVe text format at `path`, atomically (temporary file, sync, rename).
    ///
    /// # Errors
    /// [`crate::TextError::Io`] naming `path` when it cannot be written.
    pub fn write_glove_text(&self, path: &Path) -> Result<()> {
        write_atomic(path, |w| write_glove_text_to(self, w))
    }
}
