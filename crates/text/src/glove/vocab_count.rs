//! vocab_count.c: word counts, `max_vocab` most frequent kept, then `min_count` applied; words
//! sorted by count descending (ties: alphabetical, for determinism).

use std::collections::HashMap;

use rayon::prelude::*;

pub(crate) struct VocabCount {
    /// Words by rank (row order of the vectors).
    pub words: Vec<String>,
    /// Word -> rank.
    pub index: HashMap<String, u32>,
    /// All tokens in the corpus.
    pub tokens: usize,
}

pub(crate) fn count(corpus: &[Vec<String>], min_count: usize, max_vocab: usize) -> VocabCount {
    let counts = corpus
        .par_iter()
        .fold(HashMap::new, |mut m: HashMap<&str, usize>, caption| {
            for t in caption {
                *m.entry(t.as_str()).or_default() += 1;
            }
            m
        })
        .reduce(HashMap::new, |mut a, b| {
            for (k, v) in b {
                *a.entry(k).or_default() += v;
            }
            a
        });
    let tokens = counts.values().sum();
    let mut sorted: Vec<(&str, usize)> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    if max_vocab > 0 {
        sorted.truncate(max_vocab);
    }
    sorted.retain(|&(_, c)| c >= min_count);
    let words: Vec<String> = sorted.into_iter().map(|(w, _)| w.to_string()).collect();
    let index = words
        .iter()
        .enumerate()
        .map(|(i, w)| (w.clone(), i as u32))
        .collect();
    VocabCount {
        words,
        index,
        tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_count_and_filters() {
        let c: Vec<Vec<String>> = vec![
            "b a a c".split(' ').map(String::from).collect(),
            "a b d".split(' ').map(String::from).collect(),
        ];
        let v = count(&c, 2, 0);
        assert_eq!(v.words, ["a", "b"]);
        assert_eq!(v.tokens, 7);
        assert_eq!(count(&c, 1, 3).words, ["a", "b", "c"]);
    }
}
