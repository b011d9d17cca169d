//! cooccur.c: weighted co-occurrence counts within a memory bound.
//!
//! Captions are counted in shards (`shard_captions` each, in parallel) into hash maps, each
//! turned into a run sorted by (word, context). Runs are kept in memory until their total size
//! passes `memory_mb`; then they are merged and spilled to a temporary file. At the end all
//! spilled and in-memory runs are merged, summing equal pairs. Out-of-vocabulary tokens are
//! removed before windowing (as cooccur.c does), and windows stay inside one caption.

use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use rayon::prelude::*;

use super::vocab_count::VocabCount;
use super::GloveConfig;
use crate::error::{Result, TextError};

/// Bytes of one in-memory run entry (u64 pair key + f64 count).
const RUN_ENTRY_BYTES: usize = 16;

/// One co-occurrence: word row, context row, weighted count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cooc {
    /// Word rank.
    pub word: u32,
    /// Context word rank.
    pub context: u32,
    /// Weighted count.
    pub x: f32,
}

pub(crate) struct Counted {
    pub records: Vec<Cooc>,
    pub spills: usize,
}

type Run = Vec<(u64, f64)>;

pub(crate) fn count(
    cfg: &GloveConfig,
    corpus: &[Vec<String>],
    vocab: &VocabCount,
) -> Result<Counted> {
    let budget = cfg.memory_mb << 20;
    let batch = cfg.shard_captions * rayon::current_num_threads();
    let tmp = make_tempdir(cfg)?;
    let bar = crate::progress::count_bar(corpus.len() as u64, cfg.progress, "co-occurrences");
    let mut runs: Vec<Run> = Vec::new();
    let mut spills: Vec<PathBuf> = Vec::new();
    for captions in corpus.chunks(batch) {
        let new: Vec<Run> = captions
            .par_chunks(cfg.shard_captions)
            .map(|shard| count_shard(cfg, shard, vocab))
            .collect();
        runs.extend(new);
        if runs.iter().map(Vec::len).sum::<usize>() * RUN_ENTRY_BYTES >= budget.max(1) {
            let path = tmp.path().join(format!("run-{}.bin", spills.len()));
            spill(
                &path,
                merge(
                    std::mem::take(&mut runs)
                        .into_iter()
                        .map(mem_source)
                        .collect(),
                ),
            )?;
            spills.push(path);
        }
        bar.inc(captions.len() as u64);
    }
    bar.finish_and_clear();
    let mut sources: Vec<Source> = runs.into_iter().map(mem_source).collect();
    for p in &spills {
        sources.push(file_source(p)?);
    }
    let mut records = Vec::new();
    for item in merge(sources) {
        let (key, x) = item.map_err(|e| TextError::io(tmp.path(), e))?;
        let (word, context) = ((key >> 32) as u32, key as u32);
        records.push(Cooc {
            word,
            context,
            x: x as f32,
        });
    }
    Ok(Counted {
        records,
        spills: spills.len(),
    })
}

fn make_tempdir(cfg: &GloveConfig) -> Result<tempfile::TempDir> {
    let dir = cfg.temp_dir.clone().unwrap_or_else(std::env::temp_dir);
    tempfile::Builder::new()
        .prefix("webly-cooccur-")
        .tempdir_in(&dir)
        .map_err(|e| TextError::io(dir, e))
}

/// Counts one shard: for each in-vocabulary token, the `window_size` previous in-vocabulary
/// tokens of the same caption, weighted 1/distance (or 1), both orders if symmetric.
fn count_shard(cfg: &GloveConfig, shard: &[Vec<String>], vocab: &VocabCount) -> Run {
    let mut map: HashMap<u64, f64> = HashMap::new();
    let mut ids = Vec::new();
    for caption in shard {
        ids.clear();
        ids.extend(caption.iter().filter_map(|t| vocab.index.get(t).copied()));
        for (j, &w2) in ids.iter().enumerate() {
            let start = j.saturating_sub(cfg.window_size);
            for (k, &w1) in ids[start..j].iter().enumerate() {
                let distance = j - start - k;
                let weight = if cfg.distance_weighting {
                    1.0 / distance as f64
                } else {
                    1.0
                };
                *map.entry(key(w1, w2)).or_default() += weight;
                if cfg.symmetric {
                    *map.entry(key(w2, w1)).or_default() += weight;
                }
            }
        }
    }
    let mut run: Run = map.into_iter().collect();
    run.sort_unstable_by_key(|e| e.0);
    run
}

fn key(w: u32, c: u32) -> u64 {
    (u64::from(w) << 32) | u64::from(c)
}

type Source = Box<dyn Iterator<Item = std::io::Result<(u64, f64)>>>;

fn mem_source(run: Run) -> Source {
    Box::new(run.into_iter().map(Ok))
}

fn file_source(path: &PathBuf) -> Result<Source> {
    let f = File::open(path).map_err(|e| TextError::io(path, e))?;
    let mut r = BufReader::new(f);
    Ok(Box::new(std::iter::from_fn(move || {
        let mut b = [0u8; RUN_ENTRY_BYTES];
        match r.read_exact(&mut b) {
            Ok(()) => {
                let (k, x) = b.split_at(8);
                let k = u64::from_le_bytes(k.try_into().unwrap_or_default());
                let x = f64::from_le_bytes(x.try_into().unwrap_or_default());
                Some(Ok((k, x)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => None,
            Err(e) => Some(Err(e)),
        }
    })))
}

fn spill(path: &PathBuf, merged: impl Iterator<Item = std::io::Result<(u64, f64)>>) -> Result<()> {
    let f = File::create(path).map_err(|e| TextError::io(path, e))?;
    let mut w = BufWriter::new(f);
    for item in merged {
        let (k, x) = item.map_err(|e| TextError::io(path, e))?;
        w.write_all(&k.to_le_bytes())
            .and_then(|_| w.write_all(&x.to_le_bytes()))
            .map_err(|e| TextError::io(path, e))?;
    }
    w.flush().map_err(|e| TextError::io(path, e))
}

/// k-way merge of sorted sources, summing equal keys.
fn merge(mut sources: Vec<Source>) -> impl Iterator<Item = std::io::Result<(u64, f64)>> {
    let mut heap: BinaryHeap<std::cmp::Reverse<(u64, usize)>> = BinaryHeap::new();
    let mut heads: Vec<f64> = vec![0.0; sources.len()];
    let mut error: Option<std::io::Error> = None;
    for (i, s) in sources.iter_mut().enumerate() {
        match s.next() {
            Some(Ok((k, x))) => {
                heads[i] = x;
                heap.push(std::cmp::Reverse((k, i)));
            }
            Some(Err(e)) => error = Some(e),
            None => {}
        }
    }
    std::iter::from_fn(move || {
        if let Some(e) = error.take() {
            return Some(Err(e));
        }
        let std::cmp::Reverse((key, _)) = *heap.peek()?;
        let mut sum = 0.0;
        while let Some(&std::cmp::Reverse((k, i))) = heap.peek() {
            if k != key {
                break;
            }
            heap.pop();
            sum += heads[i];
            match sources[i].next() {
                Some(Ok((k2, x))) => {
                    heads[i] = x;
                    heap.push(std::cmp::Reverse((k2, i)));
                }
                Some(Err(e)) => return Some(Err(e)),
                None => {}
            }
        }
        Some(Ok((key, sum)))
    })
}

#[cfg(test)]
mod tests {
    use super::super::vocab_count;
    use super::*;

    fn corpus() -> Vec<Vec<String>> {
        ["a b c", "c a", "b zz b"]
            .iter()
            .map(|c| c.split(' ').map(String::from).collect())
            .collect()
    }

    fn as_map(records: &[Cooc], v: &VocabCount) -> HashMap<(String, String), f32> {
        records
            .iter()
            .map(|r| {
                let w = v.words[r.word as usize].clone();
                ((w, v.words[r.context as usize].clone()), r.x)
            })
            .collect()
    }

    #[test]
    fn counts_match_hand_computation_with_and_without_spilling() {
        let c = corpus();
        let v = vocab_count::count(&c, 1, 0);
        let cfg = GloveConfig {
            window_size: 2,
            shard_captions: 1,
            progress: false,
            ..GloveConfig::default()
        };
        let a = count(&cfg, &c, &v).unwrap();
        let spilled = GloveConfig {
            memory_mb: 0,
            ..cfg
        };
        let b = count(&spilled, &c, &v).unwrap();
        assert!(b.spills > 0);
        assert_eq!(a.records, b.records);
        let m = as_map(&a.records, &v);
        // "a b c": a-b 1, b-c 1, a-c 1/2; "c a": a-c 1 more. "b zz b": b-zz 1 twice, and b-b 1/2
        // added in both orders to the same cell, as cooccur.c does.
        assert_eq!(m[&("a".into(), "c".into())], 1.5);
        assert_eq!(m[&("c".into(), "a".into())], 1.5);
        assert_eq!(m[&("a".into(), "b".into())], 1.0);
        assert_eq!(m[&("b".into(), "b".into())], 1.0);
        assert_eq!(m[&("b".into(), "zz".into())], 2.0);
    }
}
