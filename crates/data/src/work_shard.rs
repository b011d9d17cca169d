//! Work shards for a cluster (`--shard I/N`): which part of a job one task does. webly ships no
//! scheduler; each shard is one task of GNU parallel, a Slurm job array or a Kubernetes
//! indexed Job (see docs/guide.md, "Sharded work on a cluster").
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::source::key_hash;

/// Work shard `index` of `count` (`--shard I/N`, `0 <= I < N`).
///
/// Two rules, both deterministic and independent of the machine, so that every task computes
/// its own part of the same partition:
/// - by key ([`ShardSpec::holds`]): an item belongs to shard `key_hash(key) % N` (embedding
///   images, embedding captions);
/// - by position ([`ShardSpec::takes`]): the `s`-th unit of a list (a feature-cache shard of
///   512 images) belongs to shard `s % N`, so tasks write whole cache shards side by side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    /// This task's shard, `0..count`.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl ShardSpec {
    /// Whether the item of `key` belongs to this shard: `key_hash(key) % count == index`.
    pub fn holds(&self, key: &str) -> bool {
        key_hash(key) % self.count as u64 == self.index as u64
    }

    /// Whether the `position`-th unit of a list belongs to this shard: `position % count ==
    /// index`.
    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for ShardSpec {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let bad = || format!("shard {s:?}: expected I/N with 0 <= I < N (e.g. 0/4)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index >= count {
            return Err(bad());
        }
        Ok(ShardSpec { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_parse_and_partition_keys_and_positions() {
        assert_eq!(
            "1/4".parse::<ShardSpec>().unwrap(),
            ShardSpec { index: 1, count: 4 }
        );
        for bad in ["4/4", "1", "a/4", "1/0", "-1/4"] {
            assert!(bad.parse::<ShardSpec>().is_err(), "{bad}");
        }
        let keys: Vec<String> = (0..1000).map(|i| format!("city/{i}")).collect();
        let mut sizes = [0usize; 4];
        for k in &keys {
            let holders: Vec<usize> = (0..4)
                .filter(|&i| ShardSpec { index: i, count: 4 }.holds(k))
                .collect();
            assert_eq!(holders.len(), 1, "{k}");
            sizes[holders[0]] += 1;
        }
        assert!(sizes.iter().all(|&s| s > 200), "{sizes:?}");
        let takers = |p: usize| {
            (0..3)
                .filter(|&i| ShardSpec { index: i, count: 3 }.takes(p))
                .count()
        };
        assert!((0..20).all(|p| takers(p) == 1));
        assert!(ShardSpec { index: 2, count: 3 }.takes(5));
    }
}
