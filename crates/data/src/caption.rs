//! Reading one caption file: lossy UTF-8, one line, bounded length.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::DataError;

/// The UTF-8 byte-order mark, dropped from the start of a caption file.
const UTF8_BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// A caption as read, with what had to be repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CaptionText {
    pub text: String,
    pub empty: bool,
    pub non_utf8: bool,
    pub truncated: bool,
}

/// Reads at most `max_bytes` of caption text from `path`. Invalid UTF-8 is replaced by U+FFFD
/// (`non_utf8`), line breaks become spaces, and text longer than `max_bytes` is cut on a char
/// boundary (`truncated`); an empty or all-whitespace caption is flagged `empty`.
pub(crate) fn read_caption(path: &Path, max_bytes: usize) -> Result<CaptionText, DataError> {
    Ok(decode_caption(
        read_caption_bytes(path, max_bytes)?,
        max_bytes,
    ))
}

/// The first `max_bytes + 1` bytes of a caption file (what [`decode_caption`] takes).
pub(crate) fn read_caption_bytes(path: &Path, max_bytes: usize) -> Result<Vec<u8>, DataError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(max_bytes as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| DataError::read(path, e))?;
    Ok(bytes)
}

/// The pure part of [`read_caption`]: `bytes` holds at most `max_bytes + 1` bytes of the file.
pub(crate) fn decode_caption(mut bytes: Vec<u8>, max_bytes: usize) -> CaptionText {
    // A UTF-8 byte-order mark (Windows editors write one) is not part of the text.
    if bytes.starts_with(&UTF8_BOM) {
        bytes.drain(..UTF8_BOM.len());
    }
    let truncated = bytes.len() > max_bytes;
    bytes.truncate(max_bytes);
    if truncated {
        drop_incomplete_tail(&mut bytes);
    }
    let non_utf8 = std::str::from_utf8(&bytes).is_err();
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if text.len() > max_bytes {
        // Replacement characters can make the text longer than the bytes it came from.
        let cut = floor_char_boundary(&text, max_bytes);
        text.truncate(cut);
    }
    let text = one_line(&text);
    CaptionText {
        empty: text.is_empty(),
        text,
        non_utf8,
        truncated,
    }
}

/// Removes a multi-byte character cut in half by the truncation (not an encoding error).
fn drop_incomplete_tail(bytes: &mut Vec<u8>) {
    if let Err(e) = std::str::from_utf8(bytes) {
        if e.error_len().is_none() {
            bytes.truncate(e.valid_up_to());
        }
    }
}

/// The largest char boundary of `s` not above `index`.
fn floor_char_boundary(s: &str, index: usize) -> usize {
    (0..=index.min(s.len()))
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

/// Joins lines with single spaces and trims the ends.
fn one_line(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.contains(['\n', '\r']) {
        trimmed
            .split(['\n', '\r'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_caption_is_unchanged() {
        let c = decode_caption(b"Sunset at the #beach \xf0\x9f\x8c\x85\n".to_vec(), 100);
        assert_eq!(c.text, "Sunset at the #beach \u{1F305}");
        assert!(!c.empty && !c.non_utf8 && !c.truncated);
    }

    #[test]
    fn byte_order_mark_is_dropped() {
        let c = decode_caption(b"\xef\xbb\xbf#snow day".to_vec(), 100);
        assert_eq!(c.text, "#snow day");
        assert!(!c.non_utf8);
    }

    #[test]
    fn invalid_utf8_is_replaced_and_flagged() {
        let c = decode_caption(b"caf\xe9 #paris".to_vec(), 100);
        assert_eq!(c.text, "caf\u{FFFD} #paris");
        assert!(c.non_utf8 && !c.truncated);
    }

    #[test]
    fn long_caption_is_cut_on_a_char_boundary() {
        // "é" is two bytes; the limit of 4 falls inside the third one.
        let mut bytes = "ééé".as_bytes().to_vec();
        bytes.truncate(5);
        let c = decode_caption(bytes, 4);
        assert_eq!(c.text, "éé");
        assert!(c.truncated && !c.non_utf8);
        let c = decode_caption("abcdéfgh".as_bytes().to_vec(), 5);
        assert_eq!(c.text, "abcd");
        assert!(c.truncated && !c.non_utf8);
    }

    #[test]
    fn empty_and_multiline_captions() {
        assert!(decode_caption(b"  \n".to_vec(), 10).empty);
        assert!(decode_caption(Vec::new(), 10).empty);
        let c = decode_caption(b"one\r\ntwo\n\nthree".to_vec(), 100);
        assert_eq!(c.text, "one two three");
    }

    #[test]
    fn replacement_expansion_stays_within_the_limit() {
        let c = decode_caption(vec![0xff; 7], 6);
        assert!(c.text.len() <= 6 && c.non_utf8 && c.truncated);
    }
}
