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

/// First word of a graph file ("WHG1" little-endian): what the file is and its layout version.
const GRAPH_MAGIC: u32 = u32::from_le_bytes(*b"WHG1");
/// Entry word of a graph without nodes.
const NO_ENTRY: u32 = u32::MAX;

impl FlatGraph {
    /// Graph nodes.
    pub(crate) fn nodes(&self) -> usize {
        self.offsets0.len().saturating_sub(1)
    }

    /// The vectors as little-endian f32 bytes, row after row (`nodes x dim x 4` bytes): the
    /// layout of `numpy.fromfile(path, "<f4").reshape(nodes, dim)`.
    pub(crate) fn vector_bytes(&self) -> Vec<u8> {
        self.vectors.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// The links as little-endian u32 words: magic, nodes, dim, entry (`u32::MAX`: none),
    /// upper layers L; `nodes + 1` layer-0 offsets; the layer-0 links; then per upper layer its
    /// row count and, per row, `row, len, len links`.
    pub(crate) fn graph_bytes(&self) -> Vec<u8> {
        let mut words = vec![
            GRAPH_MAGIC,
            self.nodes() as u32,
            self.dim as u32,
            self.entry.unwrap_or(NO_ENTRY),
            self.upper.len() as u32,
        ];
        words.extend(&self.offsets0);
        words.extend(&self.links0);
        for layer in &self.upper {
            let mut rows: Vec<(&u32, &Vec<u32>)> = layer.iter().collect();
            rows.sort_unstable_by_key(|(r, _)| **r);
            words.push(rows.len() as u32);
            for (row, links) in rows {
                words.extend([*row, links.len() as u32]);
                words.extend(links);
            }
        }
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// Reads what [`FlatGraph::vector_bytes`] and [`FlatGraph::graph_bytes`] wrote, checking
    /// every count and link against `nodes` and `dim`: a mismatch is the reason as `Err`.
    pub(crate) fn from_bytes(
        vectors: &[u8],
        graph: &[u8],
        nodes: usize,
        dim: usize,
    ) -> Result<Self, String> {
        if vectors.len() != nodes * dim * 4 {
            return Err(format!(
                "vectors: {} bytes, {nodes} x {dim} f32 need {}",
                vectors.len(),
                nodes * dim * 4
            ));
        }
        let vectors = vectors
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if !graph.len().is_multiple_of(4) {
            return Err(format!("graph: {} bytes, not whole u32 words", graph.len()));
        }
        let words: Vec<u32> = graph
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let mut at = 0;
        let mut take = |len: usize, what: &str| -> Result<&[u32], String> {
            let part = words
                .get(at..at + len)
                .ok_or_else(|| format!("graph: cut short in {what}"))?;
            at += len;
            Ok(part)
        };
        let head = take(5, "the header")?;
        let (magic, n, d, entry, layers) = (head[0], head[1], head[2], head[3], head[4]);
        if magic != GRAPH_MAGIC || n as usize != nodes || d as usize != dim {
            return Err(format!(
                "graph: header says {n} nodes of dim {d} (magic {magic:#x}), expected {nodes} \
                 of dim {dim}"
            ));
        }
        let link = |id: u32| -> Result<u32, String> {
            match (id as usize) < nodes {
                true => Ok(id),
                false => Err(format!("graph: link to node {id} of {nodes}")),
            }
        };
        let entry = match entry {
            NO_ENTRY => None,
            e => Some(link(e)?),
        };
        let offsets0 = take(nodes + 1, "the offsets")?.to_vec();
        if offsets0.first() != Some(&0) || offsets0.windows(2).any(|w| w[0] > w[1]) {
            return Err("graph: layer-0 offsets do not rise from 0".into());
        }
        let links0 = take(offsets0[nodes] as usize, "the layer-0 links")?
            .iter()
            .map(|&id| link(id))
            .collect::<Result<Vec<u32>, String>>()?;
        let mut upper = Vec::with_capacity(layers as usize);
        for _ in 0..layers {
            let rows = take(1, "an upper layer")?[0];
            let mut layer = HashMap::with_capacity(rows as usize);
            for _ in 0..rows {
                let head = take(2, "an upper layer")?;
                let (row, len) = (link(head[0])?, head[1] as usize);
                let ids = take(len, "an upper layer")?
                    .iter()
                    .map(|&id| link(id))
                    .collect::<Result<Vec<u32>, String>>()?;
                layer.insert(row, ids);
            }
            upper.push(layer);
        }
        if at != words.len() {
            return Err(format!(
                "graph: {} words after the last layer",
                words.len() - at
            ));
        }
        if entry.is_none() && nodes > 0 {
            return Err("graph: nodes but no entry point".into());
        }
        Ok(FlatGraph {
            dim,
            vectors,
            offsets0,
            links0,
            upper,
            entry,
        })
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

    #[test]
    fn bytes_round_trip_and_damage_is_refused() {
        use super::FlatGraph;
        let (emb, _) = clustered_split(300, 8, 8, &SyntheticConfig::default());
        let hnsw = Hnsw::build(&emb, &HnswConfig::default()).unwrap();
        let (v, g) = (hnsw.flat.vector_bytes(), hnsw.flat.graph_bytes());
        let back = FlatGraph::from_bytes(&v, &g, 300, 8).unwrap();
        assert_eq!(back.graph_bytes(), g);
        assert_eq!(back.vector_bytes(), v);
        assert!(FlatGraph::from_bytes(&v, &g, 300, 4).is_err());
        assert!(FlatGraph::from_bytes(&v[4..], &g, 300, 8).is_err());
        assert!(FlatGraph::from_bytes(&v, &g[..g.len() - 4], 300, 8).is_err());
        let mut extra = g.clone();
        extra.extend([0, 0, 0, 0]);
        assert!(FlatGraph::from_bytes(&v, &extra, 300, 8).is_err());
        // A link past the last node (the first layer-0 link, after 5 + 301 words).
        let mut bad = g.clone();
        bad[306 * 4..307 * 4].copy_from_slice(&300u32.to_le_bytes());
        let e = FlatGraph::from_bytes(&v, &bad, 300, 8).unwrap_err();
        assert!(e.contains("node 300"), "{e}");
        let empty = FlatGraph {
            dim: 8,
            offsets0: vec![0],
            ..FlatGraph::default()
        };
        let back = FlatGraph::from_bytes(&[], &empty.graph_bytes(), 0, 8).unwrap();
        assert_eq!(back.nodes(), 0);
    }
}
