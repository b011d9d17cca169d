//! Caption and query embeddings in the word space.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clean::clean;
use crate::error::{Result, TextError};
use crate::vectors::{norm, WordVectors};
use webly_io::{ids_path, read_ids, read_matrix, write_ids, write_matrix};

/// Rows hashed into the fingerprint (evenly spaced over the vocabulary).
const FINGERPRINT_ROWS: usize = 64;
/// Hex characters of the fingerprint.
const FINGERPRINT_HEX: usize = 16;

/// Smooth inverse document frequencies, fitted on the training captions' token lists:
/// `idf(t) = ln((1 + N) / (1 + df(t))) + 1` (scikit-learn's `smooth_idf`), N documents,
/// `df(t)` documents holding `t`. A word never seen in fitting gets `ln(1 + N) + 1`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Idf {
    /// Documents fitted.
    pub n_docs: usize,
    /// Document frequency of each word.
    pub df: HashMap<String, usize>,
}

impl Idf {
    /// Counts document frequencies over token lists.
    pub fn fit<T: AsRef<[String]> + Sync>(docs: &[T]) -> Self {
        let df = docs
            .par_iter()
            .fold(HashMap::new, |mut m: HashMap<String, usize>, d| {
                let mut seen: Vec<&String> = d.as_ref().iter().collect();
                seen.sort();
                seen.dedup();
                for t in seen {
                    *m.entry(t.clone()).or_default() += 1;
                }
                m
            })
            .reduce(HashMap::new, merge_counts);
        Idf {
            n_docs: docs.len(),
            df,
        }
    }

    /// The idf of `word`.
    pub fn idf(&self, word: &str) -> f32 {
        let df = self.df.get(word).copied().unwrap_or(0);
        (((1 + self.n_docs) as f64 / (1 + df) as f64).ln() + 1.0) as f32
    }

    fn digest(&self) -> String {
        let mut entries: Vec<(&String, &usize)> = self.df.iter().collect();
        entries.sort();
        let mut h = Sha256::new();
        h.update(self.n_docs.to_le_bytes());
        for (w, c) in entries {
            h.update(w.as_bytes());
            h.update([0]);
            h.update(c.to_le_bytes());
        }
        hex::encode(h.finalize())
    }
}

fn merge_counts(
    mut a: HashMap<String, usize>,
    b: HashMap<String, usize>,
) -> HashMap<String, usize> {
    for (k, v) in b {
        *a.entry(k).or_default() += v;
    }
    a
}

/// How word vectors are combined.
#[derive(Debug, Clone, PartialEq)]
pub enum Weighting {
    /// Plain mean of the known words' vectors (a repeated word counts each time).
    Mean,
    /// Mean weighted by each occurrence's idf (so term frequency enters through repetition).
    TfIdf(Idf),
}

/// A query embedded in the word space.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryEmbedding {
    /// Unit-length vector.
    pub vector: Vec<f32>,
    /// The cleaned tokens.
    pub tokens: Vec<String>,
    /// Tokens not in the vocabulary (skipped; the caller may warn).
    pub unknown: Vec<String>,
}

/// Embedded captions: row `i` of `matrix` belongs to `keys[i]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaptionEmbeddings {
    /// Keys of the embedded captions, in input order.
    pub keys: Vec<String>,
    /// `keys.len() x dim`, row-major, unit-length rows.
    pub matrix: Vec<f32>,
    /// Dimension.
    pub dim: usize,
    /// Keys of captions with no known word (left out, never embedded as zeros).
    pub skipped: Vec<String>,
}

impl CaptionEmbeddings {
    /// Writes `<npy_path>` and the keys beside it (same name, `.ids` extension), atomically.
    pub fn write(&self, npy_path: &Path) -> Result<()> {
        write_matrix(npy_path, self.keys.len(), self.dim, &self.matrix)?;
        Ok(write_ids(&ids_path(npy_path), &self.keys)?)
    }

    /// Reads what [`CaptionEmbeddings::write`] wrote (`skipped` is not stored: empty).
    pub fn read(npy_path: &Path) -> Result<Self> {
        let (matrix, rows, dim) = read_matrix(npy_path)?;
        let ids = ids_path(npy_path);
        let keys = read_ids(&ids)?;
        if keys.len() != rows {
            return Err(TextError::Shape {
                what: ids.display().to_string(),
                msg: format!(
                    "{} keys for {rows} rows of {}",
                    keys.len(),
                    npy_path.display()
                ),
            });
        }
        Ok(CaptionEmbeddings {
            keys,
            matrix,
            dim,
            skipped: Vec::new(),
        })
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.matrix[i * self.dim..(i + 1) * self.dim]
    }
}

/// Embeds token lists, captions and queries with fixed word vectors.
#[derive(Debug)]
pub struct TextEmbedder {
    /// The word space.
    pub vectors: WordVectors,
    /// How word vectors are combined.
    pub weighting: Weighting,
}

impl TextEmbedder {
    /// A new embedder.
    pub fn new(vectors: WordVectors, weighting: Weighting) -> Self {
        TextEmbedder { vectors, weighting }
    }

    /// Dimension of the embeddings.
    pub fn dim(&self) -> usize {
        self.vectors.dim()
    }

    /// The (weighted) mean of the known tokens' vectors, L2-normalised; `None` if no token is
    /// known or the mean is the zero vector.
    pub fn embed_tokens(&self, tokens: &[String]) -> Option<Vec<f32>> {
        let mut sum = vec![0f32; self.dim()];
        let mut known = false;
        for t in tokens {
            let Some(v) = self.vectors.get(t) else {
                continue;
            };
            let w = match &self.weighting {
                Weighting::Mean => 1.0,
                Weighting::TfIdf(idf) => idf.idf(t),
            };
            sum.iter_mut().zip(v).for_each(|(s, x)| *s += w * x);
            known = true;
        }
        let n = norm(&sum);
        (known && n > 0.0).then(|| sum.into_iter().map(|x| x / n).collect())
    }

    /// Cleans and embeds each `(key, caption)` in parallel, keeping input order.
    pub fn embed_captions<I, K, T>(&self, items: I) -> CaptionEmbeddings
    where
        I: IntoParallelIterator<Item = (K, T)>,
        K: Into<String> + Send,
        T: AsRef<str> + Send,
    {
        let rows: Vec<(String, Option<Vec<f32>>)> = items
            .into_par_iter()
            .map(|(k, t)| (k.into(), self.embed_tokens(&clean(t.as_ref()))))
            .collect();
        let mut out = CaptionEmbeddings {
            dim: self.dim(),
            ..CaptionEmbeddings::default()
        };
        for (key, v) in rows {
            match v {
                Some(v) => {
                    out.keys.push(key);
                    out.matrix.extend_from_slice(&v);
                }
                None => out.skipped.push(key),
            }
        }
        out
    }

    /// Cleans and embeds a query. Error if no cleaned token is in the vocabulary.
    pub fn embed_query(&self, text: &str) -> Result<QueryEmbedding> {
        let tokens = clean(text);
        let unknown: Vec<String> = tokens
            .iter()
            .filter(|t| self.vectors.get(t).is_none())
            .cloned()
            .collect();
        match self.embed_tokens(&tokens) {
            Some(vector) => Ok(QueryEmbedding {
                vector,
                tokens,
                unknown,
            }),
            None => Err(TextError::NoKnownWord {
                query: text.to_string(),
                tokens,
            }),
        }
    }

    /// Identifies the text space: a hash of the dimension, vocabulary size, evenly spaced sample
    /// rows (word and values) and the weighting (with the idf table). Two embedders agree only
    /// if these agree.
    pub fn fingerprint(&self) -> String {
        let v = &self.vectors;
        let mut h = Sha256::new();
        h.update((v.dim() as u64).to_le_bytes());
        h.update((v.len() as u64).to_le_bytes());
        let step = (v.len() / FINGERPRINT_ROWS).max(1);
        for i in (0..v.len()).step_by(step).take(FINGERPRINT_ROWS) {
            h.update(v.words()[i].as_bytes());
            v.row(i).iter().for_each(|x| h.update(x.to_le_bytes()));
        }
        match &self.weighting {
            Weighting::Mean => h.update(b"mean"),
            Weighting::TfIdf(idf) => h.update(format!("tfidf:{}", idf.digest())),
        }
        hex::encode(h.finalize())[..FINGERPRINT_HEX].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedder(w: Weighting) -> TextEmbedder {
        let words = ["snow", "ski", "beach"].map(String::from).to_vec();
        let data = vec![1.0, 0.0, 0.0, 1.0, -1.0, 0.0];
        TextEmbedder::new(WordVectors::from_parts(words, data, 2).unwrap(), w)
    }

    #[test]
    fn mean_is_normalised_and_skips_unknown() {
        let e = embedder(Weighting::Mean);
        let q = e.embed_query("Snow and #ski xyzzy").unwrap();
        let s = 0.5f32.sqrt();
        assert!((q.vector[0] - s).abs() < 1e-6 && (q.vector[1] - s).abs() < 1e-6);
        assert_eq!(q.unknown, ["xyzzy"]);
        let err = e.embed_query("the xyzzy").unwrap_err().to_string();
        assert!(err.contains("the xyzzy"), "{err}");
        assert_eq!(e.embed_tokens(&["snow".into(), "beach".into()]), None);
    }

    #[test]
    fn tfidf_weights_rare_words_up() {
        let docs: Vec<Vec<String>> = vec![
            vec!["snow".into()],
            vec!["snow".into()],
            vec!["snow".into(), "ski".into()],
        ];
        let idf = Idf::fit(&docs);
        assert!((idf.idf("snow") - 1.0).abs() < 1e-6);
        assert!((idf.idf("ski") - ((4.0f32 / 2.0).ln() + 1.0)).abs() < 1e-6);
        let v = embedder(Weighting::TfIdf(idf))
            .embed_query("snow ski")
            .unwrap()
            .vector;
        assert!(v[1] > v[0]);
    }

    #[test]
    fn captions_skip_unknown_and_keep_order() {
        let e = embedder(Weighting::Mean);
        let items = vec![("a", "snow"), ("b", "zzz"), ("c", "ski ski")];
        let c = e.embed_captions(items);
        assert_eq!(c.keys, ["a", "c"]);
        assert_eq!(c.skipped, ["b"]);
        assert_eq!(c.matrix, [1.0, 0.0, 0.0, 1.0]);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("caps.npy");
        c.write(&p).unwrap();
        let back = CaptionEmbeddings::read(&p).unwrap();
        assert_eq!((back.keys, back.matrix, back.dim), (c.keys, c.matrix, 2));
    }

    #[test]
    fn fingerprint_depends_on_weighting_and_vectors() {
        let a = embedder(Weighting::Mean).fingerprint();
        assert_eq!(a, embedder(Weighting::Mean).fingerprint());
        assert_ne!(a, embedder(Weighting::TfIdf(Idf::default())).fingerprint());
        let words = ["snow", "ski", "beach"].map(String::from).to_vec();
        let other = WordVectors::from_parts(words, vec![1.0, 0.0, 0.0, 1.0, -1.0, 0.5], 2).unwrap();
        assert_ne!(a, TextEmbedder::new(other, Weighting::Mean).fingerprint());
    }
}
