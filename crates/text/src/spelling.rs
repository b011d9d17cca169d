//! Query words that cannot give good results: words outside the word space's frequent
//! vocabulary (a misspelling that happens to be a rare word, a word of another language:
//! GloVe 6B is English, so "nieve" is in it but ranks 116,942nd) and unknown words, each with
//! the nearest frequent spellings as suggestions ("moutnain" -> "mountain").
//!
//! Frequency is the vocabulary's order: pretrained files (GloVe, word2vec, fastText) list words
//! by descending corpus frequency, and GloVe trained on the captions lists them by descending
//! caption count (`vocab_count`). Words the model's training captions use often
//! ([`Speller::new`]'s `exempt`) never warn, whatever their rank ("icecream" ranks 244,868th in
//! GloVe 6B but is a common hashtag of the captions).
use std::collections::HashSet;

use serde::Serialize;

use crate::WordVectors;

/// Ranks above this are rare for a pretrained space: the top quarter of GloVe 6B's 400,000
/// words keeps ordinary English ("mountain" ranks 1,612th, "skyscraper" 19,635th) and leaves out
/// names, web tokens and other languages' words.
pub const RARE_RANK: usize = 100_000;
/// Largest Damerau-Levenshtein distance of a suggestion (two typos: "moutnain", "moutain").
pub const MAX_EDIT_DISTANCE: usize = 2;
/// Suggestions given per word, nearest first (then most frequent).
pub const MAX_SUGGESTIONS: usize = 3;

/// Why a query word may spoil the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WarningKind {
    /// Not in the word space: skipped.
    Unknown,
    /// In the word space, but rare: its vector is poorly trained, and may mean something else.
    Rare,
}

/// A query word that cannot be good, with suggestions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WordWarning {
    /// The cleaned query word.
    pub word: String,
    /// Unknown or rare.
    pub kind: WarningKind,
    /// Its frequency rank in the word space (1 = most frequent), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
    /// Frequent words within [`MAX_EDIT_DISTANCE`] edits, nearest first.
    pub suggestions: Vec<String>,
    /// One line for people.
    pub message: String,
}

/// Checks query words against the frequent vocabulary; built once per loaded word space.
#[derive(Debug, Clone)]
pub struct Speller {
    /// Frequent words by length in characters: `(word, rank)`, most frequent first.
    by_len: Vec<Vec<(String, usize)>>,
    exempt: HashSet<String>,
    rare_rank: usize,
    vocabulary: usize,
}

impl Speller {
    /// Words ranked at most `rare_rank` in `vectors`, and the `exempt` words (the model's
    /// frequent caption words), are frequent; suggestions are drawn from the alphabetic ones.
    pub fn new(vectors: &WordVectors, exempt: &[String], rare_rank: usize) -> Self {
        let exempt: HashSet<String> = exempt.iter().cloned().collect();
        let mut by_len: Vec<Vec<(String, usize)>> = Vec::new();
        for (i, w) in vectors.words().iter().enumerate() {
            let rank = i + 1;
            if rank > rare_rank && !exempt.contains(w) {
                continue;
            }
            if !w.chars().all(char::is_alphabetic) {
                continue;
            }
            let len = w.chars().count();
            if by_len.len() <= len {
                by_len.resize(len + 1, Vec::new());
            }
            by_len[len].push((w.clone(), rank));
        }
        Speller {
            by_len,
            exempt,
            rare_rank,
            vocabulary: vectors.len(),
        }
    }

    /// A warning for each cleaned query word that is unknown, or rare and not exempt.
    pub fn check(&self, vectors: &WordVectors, tokens: &[String]) -> Vec<WordWarning> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for t in tokens {
            if !seen.insert(t) || self.exempt.contains(t) {
                continue;
            }
            let rank = vectors.vocab().index(t).map(|i| i + 1);
            let kind = match rank {
                None => WarningKind::Unknown,
                Some(r) if r > self.rare_rank => WarningKind::Rare,
                Some(_) => continue,
            };
            let suggestions = self.suggest(t);
            let hint = match suggestions.is_empty() {
                true => String::new(),
                false => format!("; did you mean {}?", suggestions.join(", ")),
            };
            let message = match (kind, rank) {
                (WarningKind::Rare, Some(r)) => format!(
                    "{t:?} is rare in the text space (rank {r} of {}) and results for it may be \
                     poor{hint}",
                    self.vocabulary
                ),
                _ => format!("{t:?} is not in the text space and was skipped{hint}"),
            };
            out.push(WordWarning {
                word: t.clone(),
                kind,
                rank,
                suggestions,
                message,
            });
        }
        out
    }

    /// Frequent words within [`MAX_EDIT_DISTANCE`] of `word` (itself excluded), nearest first,
    /// then most frequent.
    pub fn suggest(&self, word: &str) -> Vec<String> {
        let len = word.chars().count();
        let lo = len.saturating_sub(MAX_EDIT_DISTANCE);
        let hi = (len + MAX_EDIT_DISTANCE).min(self.by_len.len().saturating_sub(1));
        let mut found: Vec<(usize, usize, &str)> = Vec::new();
        for bucket in self.by_len.get(lo..=hi).unwrap_or(&[]) {
            for (w, rank) in bucket {
                if w == word {
                    continue;
                }
                let d = strsim::damerau_levenshtein(word, w);
                if d <= MAX_EDIT_DISTANCE {
                    found.push((d, *rank, w));
                }
            }
        }
        found.sort_unstable();
        found
            .into_iter()
            .take(MAX_SUGGESTIONS)
            .map(|(_, _, w)| w.to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(words: &[&str]) -> WordVectors {
        let data: Vec<f32> = (0..words.len() * 2).map(|i| 1.0 + i as f32).collect();
        WordVectors::from_parts(words.iter().map(|w| w.to_string()).collect(), data, 2).unwrap()
    }

    #[test]
    fn unknown_and_rare_words_warn_with_the_nearest_frequent_spellings() {
        // Ranks 1..: "mountain" frequent, "nieve" and "icecream" past the rare rank of 4.
        let v = space(&[
            "the", "mountain", "snow", "never", "nieve", "icecream", "montain",
        ]);
        let speller = Speller::new(&v, &["icecream".to_string()], 4);
        let tokens: Vec<String> = ["moutnain", "snow", "nieve", "icecream", "montain", "snow"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let w = speller.check(&v, &tokens);
        let kinds: Vec<(&str, WarningKind, Option<usize>)> = w
            .iter()
            .map(|x| (x.word.as_str(), x.kind, x.rank))
            .collect();
        assert_eq!(
            kinds,
            [
                ("moutnain", WarningKind::Unknown, None),
                ("nieve", WarningKind::Rare, Some(5)),
                ("montain", WarningKind::Rare, Some(7)),
            ]
        );
        // A transposition is one edit (Damerau): "mountain" first; rare words are never offered.
        assert_eq!(w[0].suggestions, ["mountain"]);
        assert_eq!(w[1].suggestions, ["never"]);
        assert_eq!(w[2].suggestions, ["mountain"]);
        assert!(
            w[0].message.contains("did you mean mountain?"),
            "{}",
            w[0].message
        );
        assert!(w[1].message.contains("rank 5 of 7"), "{}", w[1].message);
    }

    #[test]
    fn suggestions_are_nearest_then_most_frequent_and_at_most_three() {
        let v = space(&["cat", "bat", "car", "cut", "cot", "dog"]);
        let speller = Speller::new(&v, &[], RARE_RANK);
        // "cat" and "car" are one edit from "cap", "bat", "cut" and "cot" two ("dog" three):
        // nearest first, ties by rank, three at most.
        assert_eq!(speller.suggest("cap"), ["cat", "car", "bat"]);
        assert_eq!(speller.suggest("zzzzzzzz"), Vec::<String>::new());
        assert!(speller.check(&v, &["dog".to_string()]).is_empty());
    }
}
