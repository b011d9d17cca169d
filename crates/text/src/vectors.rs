//! `WordVectors`: a vocabulary plus its vector storage, with lookup and cosine neighbours. It
//! knows no file format: each format module reads and writes it.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::error::{Result, TextError};
use crate::storage::Storage;
use crate::vocab::Vocab;

/// Rows scored per rayon task in [`WordVectors::nearest`].
const NEAREST_CHUNK_ROWS: usize = 4096;

/// Word vectors: one row per vocabulary word.
#[derive(Debug)]
pub struct WordVectors {
    vocab: Vocab,
    storage: Storage,
    norms: OnceLock<Vec<f32>>,
}

impl WordVectors {
    /// Builds vectors from distinct `words` and a row-major `data` matrix of `dim` columns.
    pub fn from_parts(words: Vec<String>, data: Vec<f32>, dim: usize) -> Result<Self> {
        let what = || "word vectors".to_string();
        if dim == 0 || data.len() != words.len() * dim {
            let msg = format!("{} words x {dim} != {} values", words.len(), data.len());
            return Err(TextError::Shape { what: what(), msg });
        }
        let vocab = Vocab::new(words).ok_or_else(|| TextError::Shape {
            what: what(),
            msg: "a word repeats".into(),
        })?;
        Ok(Self::from_vocab_storage(
            vocab,
            Storage::Dense { data, dim },
        ))
    }

    pub(crate) fn from_vocab_storage(vocab: Vocab, storage: Storage) -> Self {
        WordVectors {
            vocab,
            storage,
            norms: OnceLock::new(),
        }
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.storage.dim()
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.vocab.len()
    }

    /// True if there are no words.
    pub fn is_empty(&self) -> bool {
        self.vocab.is_empty()
    }

    /// The vector of `word`, if known.
    pub fn get(&self, word: &str) -> Option<&[f32]> {
        self.vocab.index(word).map(|i| self.storage.row(i))
    }

    /// Row `i` (in `words()` order). Panics if `i >= len()`.
    pub fn row(&self, i: usize) -> &[f32] {
        self.storage.row(i)
    }

    /// Words in row order.
    pub fn words(&self) -> &[String] {
        self.vocab.words()
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// The storage (dense or memory-mapped).
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// L2 norm of every row, computed once in parallel.
    pub fn norms(&self) -> &[f32] {
        self.norms.get_or_init(|| {
            let d = self.dim();
            self.storage.as_slice().par_chunks(d).map(norm).collect()
        })
    }

    /// The `k` words with the highest cosine similarity to `vector`, best first, skipping words
    /// in `exclude` and zero vectors. Empty if `vector` has the wrong length or norm 0.
    pub fn nearest(&self, vector: &[f32], k: usize, exclude: &[&str]) -> Vec<(String, f32)> {
        let qn = norm(vector);
        if vector.len() != self.dim() || qn == 0.0 || k == 0 {
            return Vec::new();
        }
        let skip: Vec<usize> = exclude.iter().filter_map(|w| self.vocab.index(w)).collect();
        let norms = self.norms();
        let d = self.dim();
        let top = self
            .storage
            .as_slice()
            .par_chunks(d * NEAREST_CHUNK_ROWS)
            .enumerate()
            .map(|(c, rows)| {
                let mut heap = BinaryHeap::with_capacity(k + 1);
                for (j, row) in rows.chunks_exact(d).enumerate() {
                    let i = c * NEAREST_CHUNK_ROWS + j;
                    if norms[i] == 0.0 || skip.contains(&i) {
                        continue;
                    }
                    push_top(&mut heap, k, Scored(dot(row, vector) / (norms[i] * qn), i));
                }
                heap
            })
            .reduce(BinaryHeap::new, |mut a, b| {
                for s in b {
                    push_top(&mut a, k, s.0);
                }
                a
            });
        let mut best: Vec<Scored> = top.into_iter().map(|r| r.0).collect();
        best.sort_by(|a, b| b.cmp(a));
        best.into_iter()
            .map(|Scored(s, i)| (self.words()[i].clone(), s))
            .collect()
    }

    /// As [`WordVectors::nearest`], among the given words only (unknown ones skipped): e.g. the
    /// words of a caption corpus rather than a whole 400K vocabulary of rare tokens.
    pub fn nearest_among(&self, vector: &[f32], k: usize, among: &[String]) -> Vec<(String, f32)> {
        let qn = norm(vector);
        if vector.len() != self.dim() || qn == 0.0 {
            return Vec::new();
        }
        let norms = self.norms();
        let mut scored: Vec<Scored> = among
            .iter()
            .filter_map(|w| self.vocab.index(w))
            .filter(|&i| norms[i] > 0.0)
            .map(|i| Scored(dot(self.row(i), vector) / (norms[i] * qn), i))
            .collect();
        scored.sort_by(|a, b| b.cmp(a));
        scored.dedup_by_key(|s| s.1);
        scored
            .into_iter()
            .take(k)
            .map(|Scored(s, i)| (self.words()[i].clone(), s))
            .collect()
    }

    /// Neighbours of a known word (excluding itself); `None` if the word is unknown.
    pub fn nearest_to_word(&self, word: &str, k: usize) -> Option<Vec<(String, f32)>> {
        let v = self.get(word)?;
        Some(self.nearest(v, k, &[word]))
    }
}

/// A score and a row, ordered by score (ties: the lower row ranks higher).
#[derive(Debug, Clone, Copy)]
struct Scored(f32, usize);

impl PartialEq for Scored {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scored {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0).then_with(|| o.1.cmp(&self.1))
    }
}

/// Keeps the `k` largest in `heap`, stored as a max-heap of inverted order (a min-heap).
fn push_top(heap: &mut BinaryHeap<std::cmp::Reverse<Scored>>, k: usize, s: Scored) {
    if heap.len() < k {
        heap.push(std::cmp::Reverse(s));
    } else if heap.peek().is_some_and(|w| s > w.0) {
        heap.pop();
        heap.push(std::cmp::Reverse(s));
    }
}

/// The workspace's dot product and norm (AVX-512 or AVX2+FMA, chosen once per process).
pub(crate) use webly_kernels::{dot, norm};

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> WordVectors {
        let words = ["a", "b", "c", "z"].map(String::from).to_vec();
        let data = vec![1.0, 0.0, 0.9, 0.1, 0.0, 1.0, 0.0, 0.0];
        WordVectors::from_parts(words, data, 2).unwrap()
    }

    #[test]
    fn nearest_is_by_cosine_and_skips_excluded_and_zero_rows() {
        let v = toy();
        let n = v.nearest(&[2.0, 0.0], 3, &["a"]);
        let names: Vec<&str> = n.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(names, ["b", "c"]);
        assert!((n[0].1 - 0.9 / (0.82f32).sqrt()).abs() < 1e-6);
        assert!(v.nearest(&[1.0], 3, &[]).is_empty());
        assert_eq!(v.nearest_to_word("c", 1).unwrap()[0].0, "b");
    }

    #[test]
    fn nearest_among_ranks_only_the_given_known_words() {
        let v = toy();
        let among = ["c", "b", "unknown", "z", "b"].map(String::from);
        let n = v.nearest_among(&[2.0, 0.0], 5, &among);
        let names: Vec<&str> = n.iter().map(|(w, _)| w.as_str()).collect();
        // "a" is nearest overall but not offered; "z" is a zero row; "b" offered twice.
        assert_eq!(names, ["b", "c"]);
        assert_eq!(v.nearest_among(&[2.0, 0.0], 1, &among).len(), 1);
        assert!(v.nearest_among(&[0.0, 0.0], 3, &among).is_empty());
    }

    #[test]
    fn from_parts_checks_shape() {
        assert!(WordVectors::from_parts(vec!["a".into()], vec![1.0, 2.0, 3.0], 2).is_err());
        assert!(WordVectors::from_parts(vec!["a".into(), "a".into()], vec![1.0, 2.0], 1).is_err());
    }
}
