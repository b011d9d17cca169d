//! A flat copy of the hnsw_rs graph for searching: contiguous vectors, CSR links on layer 0,
//! a bitset of visited rows. hnsw_rs keeps every link as its own `Arc` behind a lock and tracks
//! visits in a hashed set; searching this layout visits the same graph at a fraction of the cost.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};

use hnsw_rs::hnsw::Hnsw as Graph;

use crate::distance::dot;
use crate::DotClamped;

/// A row id with its distance (`1 - dot`), ordered by distance then id.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cand(f32, u32);

impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Cand {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// The searchable layout of one graph.
#[derive(Debug, Clone, Default)]
pub(crate) struct FlatGraph {
    dim: usize,
    /// Row-major vectors by row id.
    vectors: Vec<f32>,
    /// Layer-0 links of row `i`: `links0[offsets0[i]..offsets0[i + 1]]`.
    offsets0: Vec<u32>,
    links0: Vec<u32>,
    /// Links on layers 1.. (few rows live there), `upper[layer - 1][row]`.
    upper: Vec<HashMap<u32, Vec<u32>>>,
    entry: Option<u32>,
}

impl FlatGraph {
    /// Copies vectors and links out of an hnsw_rs graph whose data ids are rows `0..n`.
    pub(crate) fn from_graph(graph: &Graph<'_, f32, DotClamped>, n: usize, dim: usize) -> Self {
        let top = graph.get_max_level_observed() as usize;
        let mut vectors = vec![0.0f32; n * dim];
        let mut lists0: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut upper: Vec<HashMap<u32, Vec<u32>>> = vec![HashMap::new(); top];
        let mut entry = None;
        for point in graph.get_point_indexation() {
            let row = point.get_origin_id();
            if row >= n || point.get_v().len() != dim {
                continue;
            }
            vectors[row * dim..(row + 1) * dim].copy_from_slice(point.get_v());
            for (layer, nbs) in point.get_neighborhood_id().iter().enumerate() {
                let ids: Vec<u32> = nbs.iter().map(|nb| nb.get_origin_id() as u32).collect();
                match layer {
                    0 => lists0[row] = ids,
                    l if l <= top => {
                        upper[l - 1].insert(row as u32, ids);
                    }
                    _ => {}
                }
            }
            if point.get_point_id().0 as usize == top && entry.is_none() {
                entry = Some(row as u32);
            }
        }
        let mut offsets0 = Vec::with_capacity(n + 1);
        offsets0.push(0u32);
        for l in &lists0 {
            offsets0.push(offsets0[offsets0.len() - 1] + l.len() as u32);
        }
        let links0 = lists0.concat();
        FlatGraph {
            dim,
            vectors,
            offsets0,
            links0,
            upper,
            entry,
        }
    }

    fn dist(&self, q: &[f32], row: u32) -> f32 {
        let r = row as usize * self.dim;
        1.0 - dot(q, &self.vectors[r..r + self.dim])
    }

    fn links0(&self, row: u32) -> &[u32] {
        let r = row as usize;
        &self.links0[self.offsets0[r] as usize..self.offsets0[r + 1] as usize]
    }

    /// Up to `k` nearest rows as `(distance, row)`, best first (`ef` >= `k` candidates).
    pub(crate) fn search(&self, q: &[f32], k: usize, ef: usize) -> Vec<(f32, usize)> {
        let Some(mut ep) = self.entry else {
            return Vec::new();
        };
        let mut d_ep = self.dist(q, ep);
        for layer in self.upper.iter().rev() {
            (ep, d_ep) = self.greedy(q, layer, ep, d_ep);
        }
        let mut found = self.beam0(q, Cand(d_ep, ep), ef.max(k)).into_sorted_vec();
        found.truncate(k);
        found.into_iter().map(|c| (c.0, c.1 as usize)).collect()
    }

    /// Greedy descent on an upper layer.
    fn greedy(
        &self,
        q: &[f32],
        layer: &HashMap<u32, Vec<u32>>,
        mut ep: u32,
        mut d_ep: f32,
    ) -> (u32, f32) {
        loop {
            let mut moved = false;
            for &nb in layer.get(&ep).map_or(&[][..], |v| v.as_slice()) {
                let d = self.dist(q, nb);
                if d < d_ep {
                    (ep, d_ep, moved) = (nb, d, true);
                }
            }
            if !moved {
                return (ep, d_ep);
            }
        }
    }

    /// Best-first beam search on layer 0 keeping the `ef` nearest rows seen.
    fn beam0(&self, q: &[f32], start: Cand, ef: usize) -> BinaryHeap<Cand> {
        let mut visited = vec![0u64; self.offsets0.len().div_ceil(64)];
        let mut mark = |r: u32| {
            let (w, b) = (r as usize / 64, 1u64 << (r % 64));
            let fresh = visited[w] & b == 0;
            visited[w] |= b;
            fresh
        };
        mark(start.1);
        let mut candidates = BinaryHeap::from([Reverse(start)]);
        let mut best = BinaryHeap::from([start]);
        while let Some(Reverse(c)) = candidates.pop() {
            if best.len() >= ef && best.peek().is_some_and(|w| c.0 > w.0) {
                break;
            }
            for &nb in self.links0(c.1) {
                if !mark(nb) {
                    continue;
                }
                let d = self.dist(q, nb);
                if best.len() < ef || best.peek().is_some_and(|w| d < w.0) {
                    candidates.push(Reverse(Cand(d, nb)));
                    best.push(Cand(d, nb));
                    if best.len() > ef {
                        best.pop();
                    }
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use crate::synthetic::{clustered_split, SyntheticConfig};
    use crate::{Exact, Hnsw, HnswConfig, Search};

    #[test]
    fn wide_beam_finds_the_exact_neighbours() {
        let (emb, queries) = clustered_split(600, 16, 16, &SyntheticConfig::default());
        let hnsw = Hnsw::build(&emb, &HnswConfig::default()).unwrap();
        let exact = Exact::new(emb);
        for q in queries.chunks(16) {
            let want: Vec<usize> = exact.search(q, 10).iter().map(|h| h.index).collect();
            let got: Vec<usize> = hnsw.search_ef(q, 10, 600).iter().map(|h| h.index).collect();
            assert_eq!(got, want);
        }
        assert!(hnsw.search_ef(&queries[..16], 0, 10).is_empty());
    }
}
