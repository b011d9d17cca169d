//! Where each query's relevant images are in the ranking: the relevance's ids mapped to
//! ranking positions once per evaluation.

use std::collections::HashMap;
use std::hash::BuildHasher;

use rayon::prelude::*;

use crate::Relevance;

/// Ranking position of each key, in one hash map per thread's share of the keys (by hash), so
/// that the maps are filled in parallel. Hashed with foldhash (hashbrown's default hash),
/// several times faster than the standard SipHash on short keys; keys are not chosen by an
/// adversary.
struct KeyPositions<'a> {
    hasher: foldhash::fast::FixedState,
    shards: Vec<HashMap<&'a str, usize, foldhash::fast::FixedState>>,
}

impl<'a> KeyPositions<'a> {
    fn new(keys: &'a [String]) -> Self {
        let hasher = foldhash::fast::FixedState::default();
        let count = rayon::current_num_threads().max(1);
        let shards = (0..count)
            .into_par_iter()
            .map(|shard| {
                let mut map =
                    HashMap::with_capacity_and_hasher(keys.len() / count + 1, hasher.clone());
                for (i, k) in keys.iter().enumerate() {
                    if Self::shard_of(&hasher, k, count) == shard {
                        map.insert(k.as_str(), i);
                    }
                }
                map
            })
            .collect();
        KeyPositions { hasher, shards }
    }

    fn shard_of(hasher: &foldhash::fast::FixedState, key: &str, count: usize) -> usize {
        (hasher.hash_one(key) % count as u64) as usize
    }

    fn get(&self, key: &str) -> Option<usize> {
        let shard = Self::shard_of(&self.hasher, key, self.shards.len());
        self.shards[shard].get(key).copied()
    }
}

/// Whether the two key lists are equal: the same slice at once, else compared in parallel.
fn same_keys(a: &[String], b: &[String]) -> bool {
    std::ptr::eq(a, b) || (a.len() == b.len() && a.par_iter().zip(b).all(|(x, y)| x == y))
}

/// Where the relevant images of a query are in the ranking.
pub(crate) struct RelevantPositions<'a> {
    relevance: &'a dyn Relevance,
    n: usize,
    how: Lookup<'a>,
}

enum Lookup<'a> {
    /// The relevance's ids are the ranking's positions (the same keys in the same order).
    Identity,
    /// Ranking position of each of the relevance's ids (`u32::MAX`: not ranked), mapped once.
    Ids(Vec<u32>),
    /// Every relevant key looked up (a relevance without ids).
    Keys(KeyPositions<'a>),
}

impl<'a> RelevantPositions<'a> {
    pub(crate) fn new(keys: &'a [String], relevance: &'a dyn Relevance) -> Self {
        let how = match relevance.known_keys() {
            Some(known) if same_keys(known, keys) => Lookup::Identity,
            Some(known) => {
                let positions = KeyPositions::new(keys);
                Lookup::Ids(
                    known
                        .par_iter()
                        .map(|k| positions.get(k).map_or(u32::MAX, |p| p as u32))
                        .collect(),
                )
            }
            None => Lookup::Keys(KeyPositions::new(keys)),
        };
        RelevantPositions {
            relevance,
            n: keys.len(),
            how,
        }
    }

    /// The ranking positions of the images relevant to `query` (any order, possibly
    /// repeated), all below the ranking's length; the relevance's list is kept where it can be.
    pub(crate) fn of(&self, query: &str) -> Vec<u32> {
        match &self.how {
            Lookup::Identity => {
                let mut ids = self.relevance.relevant_ids(query);
                ids.retain(|&id| (id as usize) < self.n);
                ids
            }
            Lookup::Ids(map) => {
                let mut ids = self.relevance.relevant_ids(query);
                ids.retain_mut(|id| {
                    *id = map.get(*id as usize).copied().unwrap_or(u32::MAX);
                    *id != u32::MAX
                });
                ids
            }
            Lookup::Keys(positions) => self
                .relevance
                .relevant_keys(query)
                .into_iter()
                .filter_map(|k| positions.get(k))
                .map(|p| p as u32)
                .collect(),
        }
    }
}
