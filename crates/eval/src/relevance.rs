//! Which images count as relevant to a query.

use std::collections::HashMap;

/// Answers, for a query, the keys of the images relevant to it.
pub trait Relevance: Sync {
    /// Keys of the relevant images, in any order (keys outside the ranking are ignored). A
    /// query with no usable word has no relevant image.
    fn relevant_keys(&self, query: &str) -> Vec<&str>;

    /// Every key this relevance knows, in the order of the ids of [`Relevance::relevant_ids`];
    /// `None` (the default) when it answers by key only. With it, an evaluation maps keys to
    /// ranking positions once, not once per relevant image per query.
    fn known_keys(&self) -> Option<&[String]> {
        None
    }

    /// The relevant images as ids into [`Relevance::known_keys`] (empty by default).
    fn relevant_ids(&self, query: &str) -> Vec<u32> {
        let _ = query;
        Vec::new()
    }
}

/// Turns a caption or a query into tokens (`webly_text::clean` in the pipeline).
pub type Cleaner = fn(&str) -> Vec<String>;

/// Inverted index: word -> sorted ids of the keys whose word set holds it.
#[derive(Debug, Clone, Default)]
struct WordIndex {
    keys: Vec<String>,
    postings: HashMap<String, Vec<u32>>,
}

impl WordIndex {
    fn build(items: impl IntoIterator<Item = (String, Vec<String>)>) -> Self {
        let mut index = WordIndex::default();
        for (id, (key, mut words)) in (0u32..).zip(items) {
            words.sort_unstable();
            words.dedup();
            for w in words {
                index.postings.entry(w).or_default().push(id);
            }
            index.keys.push(key);
        }
        index
    }

    /// Keys holding every word (intersection of the posting lists).
    fn all_of(&self, words: &[String]) -> Vec<&str> {
        self.ids_of_all(words)
            .into_iter()
            .map(|id| self.keys[id as usize].as_str())
            .collect()
    }

    /// Ids (positions in `keys`) of the keys holding every word.
    fn ids_of_all(&self, words: &[String]) -> Vec<u32> {
        let mut lists: Vec<&[u32]> = Vec::with_capacity(words.len());
        for w in words {
            match self.postings.get(w) {
                Some(p) => lists.push(p),
                None => return Vec::new(),
            }
        }
        lists.sort_by_key(|l| l.len());
        let Some((first, rest)) = lists.split_first() else {
            return Vec::new();
        };
        let mut ids = first.to_vec();
        for list in rest {
            intersect(&mut ids, list);
        }
        ids
    }
}

/// A list this many times longer than the ids kept so far is searched (galloping) rather than
/// read whole.
const GALLOP_RATIO: usize = 16;

/// Keeps the ids (ascending, distinct) that `list` (ascending, distinct) holds too: for a
/// much longer `list` a binary search of what is left of it per id, else the ids marked in a
/// bit set and the list read once against it, without a branch on the data (the ids of two
/// captions' words pass each other unpredictably).
fn intersect(ids: &mut Vec<u32>, list: &[u32]) {
    if list.len() > GALLOP_RATIO * ids.len() {
        let mut at = 0;
        ids.retain(|&id| {
            at += list[at..].partition_point(|&x| x < id);
            list.get(at) == Some(&id)
        });
        return;
    }
    let Some(&max) = ids.last() else {
        return;
    };
    let mut marked = vec![0u64; max as usize / 64 + 1];
    for &id in ids.iter() {
        marked[id as usize / 64] |= 1 << (id % 64);
    }
    // The common ids are at most the ids: written over them, one slot spare for the write
    // that is not kept.
    let len = ids.len();
    ids.push(0);
    let mut kept = 0;
    for &x in list.iter().take_while(|&&x| x <= max) {
        ids[kept] = x;
        kept += ((marked[x as usize / 64] >> (x % 64)) & 1) as usize;
        if kept == len {
            break;
        }
    }
    ids.truncate(kept);
}

/// Relevant when the image's cleaned caption tokens contain every cleaned query word.
#[derive(Debug, Clone)]
pub struct CaptionRelevance {
    index: WordIndex,
    clean: Cleaner,
}

impl CaptionRelevance {
    /// Cleans captions and queries with `webly_text::clean` (the reference cleaning).
    pub fn new(captions: impl IntoIterator<Item = (String, String)>) -> Self {
        Self::with_cleaner(captions, webly_text::clean)
    }

    /// Cleans every `(key, caption)` with `clean`; queries are cleaned the same way.
    pub fn with_cleaner(
        captions: impl IntoIterator<Item = (String, String)>,
        clean: Cleaner,
    ) -> Self {
        Self::from_tokens(captions.into_iter().map(|(k, c)| (k, clean(&c))), clean)
    }

    /// Captions already cleaned into tokens; queries are cleaned with `clean`.
    pub fn from_tokens(
        tokens: impl IntoIterator<Item = (String, Vec<String>)>,
        clean: Cleaner,
    ) -> Self {
        CaptionRelevance {
            index: WordIndex::build(tokens),
            clean,
        }
    }
}

impl Relevance for CaptionRelevance {
    fn relevant_keys(&self, query: &str) -> Vec<&str> {
        self.index.all_of(&(self.clean)(query))
    }

    fn known_keys(&self) -> Option<&[String]> {
        Some(&self.index.keys)
    }

    fn relevant_ids(&self, query: &str) -> Vec<u32> {
        self.index.ids_of_all(&(self.clean)(query))
    }
}

/// Relevant when the image's true concepts (ground truth of generated data) contain every query
/// word; query words are split on whitespace and lowercased.
#[derive(Debug, Clone)]
pub struct TruthRelevance {
    index: WordIndex,
}

impl TruthRelevance {
    /// `key -> concepts` (concepts are lowercased).
    pub fn new(truth: impl IntoIterator<Item = (String, Vec<String>)>) -> Self {
        let lowered = truth
            .into_iter()
            .map(|(k, c)| (k, c.iter().map(|w| w.to_lowercase()).collect()));
        TruthRelevance {
            index: WordIndex::build(lowered),
        }
    }
}

impl TruthRelevance {
    fn words(query: &str) -> Vec<String> {
        query.split_whitespace().map(str::to_lowercase).collect()
    }
}

impl Relevance for TruthRelevance {
    fn relevant_keys(&self, query: &str) -> Vec<&str> {
        self.index.all_of(&Self::words(query))
    }

    fn known_keys(&self) -> Option<&[String]> {
        Some(&self.index.keys)
    }

    fn relevant_ids(&self, query: &str) -> Vec<u32> {
        self.index.ids_of_all(&Self::words(query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower_split(s: &str) -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 1 && *w != "the")
            .map(str::to_lowercase)
            .collect()
    }

    fn sorted(mut v: Vec<&str>) -> Vec<&str> {
        v.sort_unstable();
        v
    }

    #[test]
    fn intersection_by_bits_or_search_keeps_the_common_ids() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        for case in 0..200 {
            // Lists of like sizes (a bit set) and one far longer (searched), overlapping or not.
            let (a_len, b_len) = [(50, 60), (3, 2000), (0, 10), (40, 0), (900, 800)][case % 5];
            let draw = |rng: &mut rand_chacha::ChaCha8Rng, len: usize| {
                let mut v: Vec<u32> = (0..len).map(|_| rng.gen_range(0..3000)).collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            let (mut ids, list) = (draw(&mut rng, a_len), draw(&mut rng, b_len));
            // Every id held, the list running past the last of them.
            let mut ids = if case % 7 == 6 {
                list.iter()
                    .step_by(2)
                    .copied()
                    .take(list.len() / 3)
                    .collect()
            } else {
                std::mem::take(&mut ids)
            };
            let want: Vec<u32> = ids.iter().copied().filter(|id| list.contains(id)).collect();
            intersect(&mut ids, &list);
            assert_eq!(ids, want, "case {case}");
        }
    }

    #[test]
    fn caption_needs_every_query_word() {
        let rel = CaptionRelevance::with_cleaner(
            [
                ("a".to_string(), "Yellow #car in the city car".to_string()),
                ("b".to_string(), "a car".to_string()),
                ("c".to_string(), "yellow flowers".to_string()),
            ],
            lower_split,
        );
        assert_eq!(rel.relevant_keys("yellow car"), vec!["a"]);
        assert_eq!(sorted(rel.relevant_keys("Car")), vec!["a", "b"]);
        assert!(rel.relevant_keys("the").is_empty());
        assert!(rel.relevant_keys("car boat").is_empty());
    }

    #[test]
    fn default_cleaner_keeps_hashtag_words() {
        let rel = CaptionRelevance::new([
            ("a".to_string(), "Best #IceCream at the #beach!".to_string()),
            ("b".to_string(), "icecreamshop".to_string()),
        ]);
        assert_eq!(rel.relevant_keys("icecream beach"), vec!["a"]);
        assert_eq!(rel.relevant_keys("IceCream"), vec!["a"]);
    }

    #[test]
    fn tokens_and_truth() {
        let toks = [("c".to_string(), vec!["kid".to_string(), "dog".to_string()])];
        let rel = CaptionRelevance::from_tokens(toks, lower_split);
        assert_eq!(rel.relevant_keys("kid dog"), vec!["c"]);
        let truth = TruthRelevance::new([
            ("b".to_string(), vec!["Snow".to_string(), "ski".to_string()]),
            ("d".to_string(), vec!["snow".to_string()]),
        ]);
        assert_eq!(truth.relevant_keys("snow ski"), vec!["b"]);
        assert_eq!(sorted(truth.relevant_keys("SNOW")), vec!["b", "d"]);
        assert!(truth.relevant_keys("snow rain").is_empty());
    }
}
