//! The vocabulary: words in storage order and a word -> row index.

use std::collections::HashMap;

/// Words in row order, with a lookup table. Duplicate words are never stored: the loaders keep
/// the first occurrence.
#[derive(Debug, Clone, Default)]
pub struct Vocab {
    words: Vec<String>,
    index: HashMap<String, usize>,
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
        Some(Vocab { words, index })
    }

    pub(crate) fn from_parts(words: Vec<String>, index: HashMap<String, usize>) -> Self {
        Vocab { words, index }
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True if there are no words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Row of `word`, if known.
    pub fn index(&self, word: &str) -> Option<usize> {
        self.index.get(word).copied()
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
}
