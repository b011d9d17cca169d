//! Row keys in one buffer: the text of `keys.txt` as it is, and where each key ends.
//!
//! A `Vec<String>` held 24 bytes a key plus a heap block of its own (32 bytes for the keys of
//! the benchmark, `syn/123456`): 56 bytes a row, a tenth of an opened index at a million rows of
//! 50 dims. This holds the key's bytes, its line break and one offset (8 bytes).

use std::fmt;
use std::iter::FusedIterator;
use std::ops::{Index, Range};

/// The keys of an index's rows, by row ([`crate::Hnsw::keys`]), in one buffer.
///
/// Reads like a slice of strings: [`Keys::len`], [`Keys::get`], `keys[row]`, [`Keys::iter`]
/// (and `for key in &keys`), [`Keys::to_vec`] for owned copies. Keys hold no line breaks
/// ([`crate::IndexError::BadKey`]); a key may be empty.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Keys {
    /// Every key followed by a line break, in row order: `keys.txt`'s text.
    text: String,
    /// Byte offset in `text` of each key's end (its line break); the next key starts one after.
    ends: Vec<usize>,
}

impl Keys {
    /// Number of keys (rows).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The key of row `row`, if there is such a row.
    pub fn get(&self, row: usize) -> Option<&str> {
        (row < self.len()).then(|| self.key(row))
    }

    /// The keys in row order.
    pub fn iter(&self) -> KeysIter<'_> {
        KeysIter {
            keys: self,
            rows: 0..self.len(),
        }
    }

    /// Owned copies of the keys, in row order.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }

    /// Row `row`'s key; panics when out of range, as a slice does.
    fn key(&self, row: usize) -> &str {
        let start = match row {
            0 => 0,
            _ => self.ends[row - 1] + 1,
        };
        &self.text[start..self.ends[row]]
    }

    /// The keys of `keys.txt`'s `text` (one per line, each ended by a line break; a last line
    /// without one is taken as a key too), kept as the buffer itself: no second copy.
    ///
    /// # Errors
    /// The line holding a carriage return, as a message: keys hold no line breaks, so no file
    /// [`crate::Hnsw::save`] wrote has one.
    pub(crate) fn from_text(mut text: String) -> Result<Self, String> {
        if let Some(at) = text.find('\r') {
            let line = text[..at].matches('\n').count() + 1;
            return Err(format!("line {line}: a carriage return inside a key"));
        }
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        let mut ends = Vec::with_capacity(text.matches('\n').count());
        ends.extend(text.match_indices('\n').map(|(at, _)| at));
        Ok(Keys { text, ends })
    }

    /// The keys as `keys.txt` holds them: each followed by a line break (empty without keys).
    pub(crate) fn as_text(&self) -> &str {
        &self.text
    }

    /// Appends `keys` (without line breaks: [`crate::Embeddings`] checked them) in their order.
    pub(crate) fn extend(&mut self, keys: &[String]) {
        self.text.reserve(keys.iter().map(|k| k.len() + 1).sum());
        self.ends.reserve(keys.len());
        for key in keys {
            debug_assert!(!key.contains(['\n', '\r']), "key {key:?}");
            self.text.push_str(key);
            self.ends.push(self.text.len());
            self.text.push('\n');
        }
    }

    /// Drops the keys of the rows marked `gone` (indexed by row); the others keep their order.
    pub(crate) fn remove_rows(&mut self, gone: &[bool]) {
        let kept = self.iter().zip(gone).filter(|(_, &g)| !g);
        let bytes = kept.clone().map(|(k, _)| k.len() + 1).sum();
        let mut keys = Keys {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(kept.clone().count()),
        };
        for (key, _) in kept {
            keys.text.push_str(key);
            keys.ends.push(keys.text.len());
            keys.text.push('\n');
        }
        *self = keys;
    }
}

impl Index<usize> for Keys {
    type Output = str;

    /// Row `row`'s key; panics when out of range, as a slice does.
    fn index(&self, row: usize) -> &str {
        self.key(row)
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<S: AsRef<str>> PartialEq<[S]> for Keys {
    /// The same keys in the same order.
    fn eq(&self, other: &[S]) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

impl<'a> IntoIterator for &'a Keys {
    type Item = &'a str;
    type IntoIter = KeysIter<'a>;

    fn into_iter(self) -> KeysIter<'a> {
        self.iter()
    }
}

/// The keys of a [`Keys`] in row order ([`Keys::iter`]).
#[derive(Debug, Clone)]
pub struct KeysIter<'a> {
    keys: &'a Keys,
    /// The rows not yet returned.
    rows: Range<usize>,
}

impl<'a> Iterator for KeysIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        self.rows.next().map(|row| self.keys.key(row))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.rows.size_hint()
    }

    fn nth(&mut self, n: usize) -> Option<&'a str> {
        self.rows.nth(n).map(|row| self.keys.key(row))
    }
}

impl DoubleEndedIterator for KeysIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.rows.next_back().map(|row| self.keys.key(row))
    }
}

impl ExactSizeIterator for KeysIter<'_> {}

impl FusedIterator for KeysIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> Keys {
        let mut keys = Keys::default();
        keys.extend(&list.iter().map(|k| k.to_string()).collect::<Vec<_>>());
        keys
    }

    #[test]
    fn reads_like_a_slice_of_strings() {
        let list = ["city/1", "", "zürich/Ω 2", "東京/3", ""];
        let k = keys(&list);
        assert_eq!((k.len(), k.is_empty()), (5, false));
        assert_eq!(k.to_vec(), list);
        assert_eq!(k, list[..]);
        assert_eq!(k.iter().collect::<Vec<_>>(), list);
        assert_eq!(k.iter().rev().collect::<Vec<_>>()[0], "");
        assert_eq!(k.iter().len(), 5);
        let mut it = k.iter();
        it.next();
        assert_eq!((it.len(), it.nth(1)), (4, Some("zürich/Ω 2")));
        assert_eq!((&k[2], &k[3], &k[1]), ("zürich/Ω 2", "東京/3", ""));
        assert_eq!(
            (k.get(3), k.get(4), k.get(5)),
            (Some("東京/3"), Some(""), None)
        );
        assert_eq!((&k).into_iter().count(), 5);
        assert_eq!(format!("{k:?}"), format!("{list:?}"));
        let empty = Keys::default();
        assert!(empty.is_empty() && empty.get(0).is_none() && empty.iter().next().is_none());
        assert_eq!(empty.as_text(), "");
    }

    #[test]
    #[should_panic]
    fn indexing_past_the_end_panics() {
        let _ = &keys(&["a"])[1];
    }

    #[test]
    fn round_trips_through_the_file_text() {
        for list in [
            &[][..],
            &[""][..],
            &["a", "", "b"][..],
            &["ä/1", "", ""][..],
        ] {
            let k = keys(list);
            let text = k.as_text().to_string();
            assert_eq!(
                text,
                list.iter().flat_map(|k| [*k, "\n"]).collect::<String>()
            );
            let back = Keys::from_text(text).unwrap();
            assert_eq!(back, k);
            assert_eq!(back.to_vec(), list);
        }
        // A last line without its line break is a key too (as `str::lines` reads it).
        let k = Keys::from_text("x\nyé".to_string()).unwrap();
        assert_eq!(
            (k.to_vec(), k.as_text()),
            (vec!["x".into(), "yé".into()], "x\nyé\n")
        );
        let err = Keys::from_text("a\nb\r\nc\n".to_string()).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn remove_rows_keeps_the_others_in_order() {
        let mut k = keys(&["a", "", "bé", "c", ""]);
        k.remove_rows(&[false, true, false, true, false]);
        assert_eq!(k.to_vec(), ["a", "bé", ""]);
        assert_eq!(k.as_text(), "a\nbé\n\n");
        k.extend(&["d".to_string(), "東".to_string()]);
        assert_eq!(k.to_vec(), ["a", "bé", "", "d", "東"]);
        k.remove_rows(&[true; 5]);
        assert!(k.is_empty() && k.as_text().is_empty());
        assert_eq!(k, Keys::default());
    }
}
