//! The vocabulary: words in storage order and a word -> row index.

use std::collections::HashMap;

/// Words in row order, with a lookup table. Duplicate words are never stored: the loaders keep
/// the first occurrence.
///
/// Queries and captions are cleaned before lookup (accents folded, fullwidth forms and case
/// normalised: [`crate::clean`]), so a vocabulary word that is not already in that form (`café`,
/// `Snow`, `ＳＮＯＷ`) could never be found. Each such word is also reachable by its folded form,
/// unless that form is a word of its own; among several words with one folded form the first
/// (the most frequent, in GloVe and word2vec files) is kept.
#[derive(Debug, Clone, Default)]
pub struct Vocab {
    words: Vec<String>,
    index: HashMap<String, usize>,
    folded: HashMap<String, usize>,
}

/// The form a cleaned query or caption token of `word` takes when it differs only by accents,
/// case or width: [`crate::normalize_unicode`]d and lowercased, and then ASCII letters and digits only
/// (words with other characters, such as `chi-town`, get no alias: `clean` would join them, a
/// rule of its own).
fn folded_form(word: &str) -> Option<String> {
    if word
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return None;
    }
    let f = crate::normalize_unicode(word).to_ascii_lowercase();
    let plain = !f.is_empty() && f.bytes().all(|b| b.is_ascii_alphanumeric());
    (plain && f != word).then_some(f)
}

/// The folded-form table of [`Vocab`].
fn folded_table(words: &[String], index: &HashMap<String, usize>) -> HashMap<String, usize> {
    let mut folded = HashMap::new();
    for (i, w) in words.iter().enumerate() {
        if let Some(f) = folded_form(w) {
            if !index.contains_key(&f) {
                folded.entry(f).or_insert(i);
            }
        }
    }
    folded
}

impl Vocab {
    /// Builds a vocabulary from distinct words. Returns `None` if a word repeats.
    pub fn new(words: Vec<String>) -> Option<Self> {
        let mut index = HashMap::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            if index.insert(w.clone(), i).is_some() {
                return None;
            }
        }
        let folded = folded_table(&words, &index);
        Some(Vocab {
            words,
            index,
            folded,
        })
    }

    pub(crate) fn from_parts(words: Vec<String>, index: HashMap<String, usize>) -> Self {
        let folded = folded_table(&words, &index);
        Vocab {
            words,
            index,
            folded,
        }
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True if there are no words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Row of `word`, if known: the word itself, else a word whose folded form it is (see
    /// [`Vocab`]).
    pub fn index(&self, word: &str) -> Option<usize> {
        self.index
            .get(word)
            .or_else(|| self.folded.get(word))
            .copied()
    }

    /// Words in row order.
    pub fn words(&self) -> &[String] {
        &self.words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_and_duplicates() {
        let v = Vocab::new(vec!["a".into(), "b".into()]).unwrap();
        assert_eq!(v.index("b"), Some(1));
        assert_eq!(v.index("c"), None);
        assert!(Vocab::new(vec!["a".into(), "a".into()]).is_none());
    }

    #[test]
    fn words_not_in_cleaned_form_are_found_by_it() {
        let words = ["café", "cafè", "Snow", "ＳＫＩ", "naïve", "naive", "ß"];
        let v = Vocab::new(words.iter().map(|w| w.to_string()).collect()).unwrap();
        // The first of café / cafè wins; the word itself is still found.
        assert_eq!(v.index("cafe"), Some(0));
        assert_eq!(v.index("cafè"), Some(1));
        assert_eq!(v.index("snow"), Some(2));
        assert_eq!(v.index("ski"), Some(3));
        // A folded form that is a word of its own stays that word.
        assert_eq!(v.index("naive"), Some(5));
        assert_eq!(v.index("ss"), Some(6));
        assert_eq!(v.index("caf"), None);
        // Every cleaned query token finds its word.
        for w in ["café", "ＳＫＩ", "Snow"] {
            let token = crate::clean(w).pop().unwrap();
            assert!(v.index(&token).is_some(), "{w} -> {token}");
        }
    }
}
