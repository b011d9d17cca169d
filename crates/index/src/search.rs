//! The one trait both indexes implement, and its hit type.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::IndexError;

/// One search result: row index, its key, and the cosine similarity (dot product) to the query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// Row of the indexed matrix, from 0.
    pub index: usize,
    /// The row's key.
    pub key: String,
    /// Cosine similarity to the query (dot product of unit vectors), in [-1, 1] up to rounding.
    pub score: f32,
}

/// Nearest neighbours by cosine similarity.
///
/// The query is re-normalised; a zero or non-finite query returns no hits, and so does one of
/// another dimension than the index's: check outside vectors with [`Search::check_query`] first
/// to tell the user why. Hits are sorted by score, best first, ties by row index.
pub trait Search {
    /// The `k` best rows for `q`.
    fn search(&self, q: &[f32], k: usize) -> Vec<Hit>;
    /// The vector dimension the index expects.
    fn dim(&self) -> usize;
    /// [`IndexError::QueryDim`] unless `q` has the index's dimension.
    fn check_query(&self, q: &[f32]) -> Result<(), IndexError> {
        check_dim(q.len(), self.dim())
    }
}

/// [`IndexError::QueryDim`] unless a query of `found` values fits an index of `expected`.
pub fn check_dim(found: usize, expected: usize) -> Result<(), IndexError> {
    match found == expected {
        true => Ok(()),
        false => Err(IndexError::QueryDim { found, expected }),
    }
}

/// Best first: higher score, then lower index.
pub(crate) fn best_first(a: &(f32, usize), b: &(f32, usize)) -> Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// Keeps the `k` best of `cands`, sorted best first.
pub(crate) fn keep_top_k(mut cands: Vec<(f32, usize)>, k: usize) -> Vec<(f32, usize)> {
    if k == 0 {
        return Vec::new();
    }
    if cands.len() > k {
        cands.select_nth_unstable_by(k - 1, best_first);
        cands.truncate(k);
    }
    cands.sort_unstable_by(best_first);
    cands
}

/// The `k` best of `cands`, sorted best first, in a vector of their own (of at most `k`): what
/// [`keep_top_k`] keeps, with `cands` left as scratch for the next call. A scan that keeps the
/// best of every block for every query holds only these (`keep_top_k` on a block's candidates
/// kept the block's whole capacity: 16 KB per block and query, 16 GB for 1,000 queries over a
/// million rows).
pub(crate) fn top_k_of(cands: &mut [(f32, usize)], k: usize) -> Vec<(f32, usize)> {
    if k == 0 {
        return Vec::new();
    }
    let top = if cands.len() > k {
        cands.select_nth_unstable_by(k - 1, best_first);
        &cands[..k]
    } else {
        &cands[..]
    };
    let mut out = top.to_vec();
    out.sort_unstable_by(best_first);
    out
}

/// Hits of the rows `top` (`(score, row)`, in order), each with its key (`key(row)`).
pub(crate) fn to_hits<'a>(top: Vec<(f32, usize)>, key: impl Fn(usize) -> &'a str) -> Vec<Hit> {
    top.into_iter()
        .map(|(score, index)| Hit {
            index,
            key: key(index).to_string(),
            score,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_best_with_index_tie_break() {
        let c = vec![(0.5, 3), (0.9, 1), (0.5, 0), (0.1, 2)];
        assert_eq!(keep_top_k(c.clone(), 3), vec![(0.9, 1), (0.5, 0), (0.5, 3)]);
        assert_eq!(keep_top_k(c.clone(), 10).len(), 4);
        assert!(keep_top_k(c.clone(), 0).is_empty());
        for k in [0, 1, 3, 10] {
            let kept = top_k_of(&mut c.clone(), k);
            assert_eq!(kept, keep_top_k(c.clone(), k));
            assert!(kept.capacity() <= k);
        }
    }
}
