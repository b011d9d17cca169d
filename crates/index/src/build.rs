//! webly's own parallel HNSW construction, writing the flat layout directly.
//!
//! The algorithm of the HNSW paper (Malkov & Yashunin, "Efficient and robust approximate nearest
//! neighbor search using Hierarchical Navigable Small World graphs", TPAMI 2018) as hnswlib
//! implements it:
//! - a random level per node, `floor(-ln(U) * mL)` with `mL = 1 / ln(M)` (paper section 4.1);
//! - insertion (Algorithm 1): greedy descent on the layers above the node's level (Algorithm 2
//!   with `ef = 1`), then on each of its layers a search with `ef_construction` (Algorithm 2),
//!   the neighbour-selection heuristic (Algorithm 4, without `extendCandidates` and
//!   `keepPrunedConnections`, as hnswlib) picking `M` links, and links back from each picked
//!   neighbour; a neighbour whose list is full shrinks it with the same heuristic;
//! - `2M` links per node on layer 0, `M` on the layers above (`Mmax0 = 2M`, section 4.2).
//!
//! Nodes are inserted in id order by every thread of the current rayon pool, each taking the
//! next id from a shared counter (hnswlib's `ParallelFor`); a node's link lists are rewritten
//! under its own lock. Each thread keeps one visited list (epoch-stamped, never cleared) and its
//! heaps for all its insertions. Built on one thread the graph is a pure function of the vectors,
//! `M`, `ef_construction` and the seed; a parallel build is not bit-reproducible (the insertion
//! interleaving decides which links exist), as with hnswlib.
//!
//! [`insert`] runs the same insertion for nodes appended to a built graph
//! ([`crate::Hnsw::insert`]), its levels continuing the seed's stream: inserting nodes that a
//! build would have inserted last gives them the levels that build would have drawn.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};

use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::HNSW_MAX_LAYER;
use crate::distance::{dot, prefetch};
use crate::flat::{Cand, FlatGraph, PREFETCH_AHEAD};

/// What the builder needs from [`crate::HnswConfig`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct BuildParams {
    /// Links per node on the layers above 0 (`M`); layer 0 keeps `2M`.
    pub m: usize,
    /// Candidate list size of the insertion searches.
    pub ef_construction: usize,
    /// Seed of the level draws (ChaCha8).
    pub seed: u64,
}

/// Builds the graph over the vectors of `flat` (unit rows, no links yet, room for `2M` layer-0
/// links per node: [`FlatGraph::with_vectors`]) and writes its links and entry point into it.
pub(crate) fn build(flat: FlatGraph, params: BuildParams) -> FlatGraph {
    let n = flat.nodes();
    if n == 0 {
        return flat;
    }
    let levels = draw_levels(n, params.m, params.seed);
    let links = Links::new(levels, params.m);
    let entry = Entry {
        node: 0,
        top: links.level[0] as usize,
    };
    run(flat, links, entry, 1, params, None)
}

/// Inserts nodes `first..` of `flat` (their vectors appended without links:
/// [`FlatGraph::push_nodes`]) into the graph that nodes `..first` form, with the algorithm of
/// [`build`]: levels drawn from the seed's stream where a build of `first` nodes left it
/// ([`draw_levels_at`]), the same insertion in parallel on the current rayon pool, then
/// [`link_unreached`]. The graph must be in the form [`FlatGraph::normalize_upper`] leaves, with
/// room for `2M` layer-0 links ([`FlatGraph::reserve`]). `dead[node]` marks tombstones: the
/// searches pass through them, but a new node links to them only when its search found nothing
/// else. On one thread the result is a pure function of the graph, the vectors and `params`.
pub(crate) fn insert(
    flat: FlatGraph,
    first: usize,
    params: BuildParams,
    dead: &[bool],
) -> FlatGraph {
    let n = flat.nodes();
    if first >= n {
        return flat;
    }
    let mut levels = flat.levels();
    levels[first..].copy_from_slice(&draw_levels_at(first, n - first, params.m, params.seed));
    let links = Links::new(levels, params.m);
    for node in 0..first as u32 {
        links.write(node, 0, flat.links0(node));
    }
    for (l, layer) in flat.upper.iter().enumerate() {
        for (&node, list) in layer {
            links.write(node, l + 1, list);
        }
    }
    let (entry, next) = match flat.entry {
        Some(node) if first > 0 => (
            Entry {
                node,
                top: flat.upper.len(),
            },
            first,
        ),
        _ => (
            Entry {
                node: first as u32,
                top: links.level[first] as usize,
            },
            first + 1,
        ),
    };
    run(flat, links, entry, next, params, Some(dead))
}

/// Inserts nodes `next..` into the graph held by `links` (whose entry point is `entry`) on
/// every thread of the current rayon pool, then writes every list and the entry point into
/// `flat` and links the nodes left unreachable.
fn run(
    mut flat: FlatGraph,
    links: Links,
    entry: Entry,
    next: usize,
    params: BuildParams,
    dead: Option<&[bool]>,
) -> FlatGraph {
    let n = flat.nodes();
    let (links, entry) = {
        let builder = ParallelBuilder {
            flat: &flat,
            links,
            entry: Mutex::new(entry),
            ef: params.ef_construction.max(1),
            dead,
        };
        let next = AtomicUsize::new(next);
        rayon::broadcast(|_| {
            let mut ws = Workspace::new(n);
            loop {
                let node = next.fetch_add(1, Relaxed);
                if node >= n {
                    break;
                }
                builder.insert(node as u32, &mut ws);
            }
        });
        (builder.links, builder.entry.into_inner())
    };
    let mut buf = Vec::new();
    for node in 0..n {
        links.read(node as u32, 0, &mut buf);
        flat.set_links0(node, &buf);
    }
    flat.upper = vec![HashMap::new(); entry.top];
    for node in 0..n as u32 {
        for layer in 1..=links.level[node as usize] as usize {
            links.read(node, layer, &mut buf);
            flat.upper[layer - 1].insert(node, buf.clone());
        }
    }
    flat.entry = Some(entry.node);
    link_unreached(&mut flat);
    flat
}

/// Gives every node that no chain of layer-0 links reaches from the entry point one link in,
/// from its nearest reached node with room: the heuristic can prune every link to a node (5
/// nodes of 3,000 clustered ones in the tests; hnswlib inserts the same way and can leave them too), and a
/// search could then never return it. Tried in order: the node's own links, their links, then
/// every reached node. Not in hnswlib; deterministic. Returns the nodes still unreached (none
/// unless every reached node's list is full).
pub(crate) fn link_unreached(flat: &mut FlatGraph) -> usize {
    let n = flat.nodes();
    let Some(entry) = flat.entry else {
        return 0;
    };
    let mut reached = vec![false; n];
    let mut stack = Vec::new();
    let mut reach = |flat: &FlatGraph, from: u32, reached: &mut Vec<bool>| {
        reached[from as usize] = true;
        stack.push(from);
        while let Some(row) = stack.pop() {
            for &nb in flat.links0(row) {
                if !std::mem::replace(&mut reached[nb as usize], true) {
                    stack.push(nb);
                }
            }
        }
    };
    reach(flat, entry, &mut reached);
    let mut left = 0;
    for u in 0..n as u32 {
        if reached[u as usize] {
            continue;
        }
        let v = flat.vector(u);
        let fits = |r: u32| reached[r as usize] && flat.links0(r).len() < flat.room();
        let one: Vec<u32> = flat.links0(u).to_vec();
        let two: Vec<u32> = one.iter().flat_map(|&r| flat.links0(r).to_vec()).collect();
        let nearest = |rows: &mut dyn Iterator<Item = u32>| {
            rows.filter(|&r| r != u && fits(r))
                .map(|r| Cand(1.0 - dot(v, flat.vector(r)), r))
                .min()
        };
        let from = nearest(&mut one.iter().copied())
            .or_else(|| nearest(&mut two.iter().copied()))
            .or_else(|| nearest(&mut (0..n as u32)));
        match from {
            Some(Cand(_, r)) => {
                let mut links = flat.links0(r).to_vec();
                links.push(u);
                flat.set_links0(r as usize, &links);
                reach(flat, u, &mut reached);
            }
            None => left += 1,
        }
    }
    left
}

/// Levels `floor(-ln(U) * mL)`, `mL = 1 / ln(M)`, `U` uniform in (0, 1] (paper section 4.1,
/// hnswlib's `getRandomLevel`), capped below [`HNSW_MAX_LAYER`].
fn draw_levels(n: usize, m: usize, seed: u64) -> Vec<u8> {
    draw_levels_at(0, n, m, seed)
}

/// The levels of nodes `first..first + n` as [`draw_levels`] of `first + n` nodes draws them:
/// the seed's stream continued from where `first` draws left it (each draw takes two words of
/// ChaCha8's output), without drawing the first ones.
fn draw_levels_at(first: usize, n: usize, m: usize, seed: u64) -> Vec<u8> {
    let ml = 1.0 / (m as f64).ln();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_word_pos(2 * first as u128);
    (0..n)
        .map(|_| {
            let u: f64 = 1.0 - rng.gen::<f64>(); // in (0, 1]
            ((-u.ln() * ml) as usize).min(HNSW_MAX_LAYER - 1) as u8
        })
        .collect()
}

/// The entry point and the highest layer, changed under this lock (hnswlib's `global`).
struct Entry {
    node: u32,
    top: usize,
}

/// Link lists of every node and layer in arrays of atomics, the first word of a list its length:
/// layer 0 with `1 + 2M` words per node at a fixed stride, the layers above with `1 + M` words
/// per layer from a per-node start.
///
/// Writers hold the node's lock. Readers (the insertion searches) read without it: every word is
/// a valid node id or a length no larger than the list's room, so a read racing a rewrite sees a
/// mix of old and new neighbours, which only changes which candidates that search looks at.
struct Links {
    words0: Vec<AtomicU32>,
    upper: Vec<AtomicU32>,
    /// First word of each node's upper-layer block in `upper`.
    start: Vec<usize>,
    level: Vec<u8>,
    locks: Vec<Mutex<()>>,
    m: usize,
    m0: usize,
}

impl Links {
    fn new(levels: Vec<u8>, m: usize) -> Self {
        let m0 = 2 * m;
        let mut start = Vec::with_capacity(levels.len());
        let mut at = 0usize;
        for &l in &levels {
            start.push(at);
            at += l as usize * (1 + m);
        }
        Links {
            words0: (0..levels.len() * (1 + m0))
                .map(|_| AtomicU32::new(0))
                .collect(),
            upper: (0..at).map(|_| AtomicU32::new(0)).collect(),
            start,
            locks: (0..levels.len()).map(|_| Mutex::new(())).collect(),
            level: levels,
            m,
            m0,
        }
    }

    /// Room of a list on `layer`.
    fn cap(&self, layer: usize) -> usize {
        if layer == 0 {
            self.m0
        } else {
            self.m
        }
    }

    /// The words of `node`'s list on `layer` (`layer <= level[node]`): length, then room.
    fn list(&self, node: u32, layer: usize) -> &[AtomicU32] {
        match layer {
            0 => {
                let at = node as usize * (1 + self.m0);
                &self.words0[at..at + 1 + self.m0]
            }
            l => {
                let at = self.start[node as usize] + (l - 1) * (1 + self.m);
                &self.upper[at..at + 1 + self.m]
            }
        }
    }

    /// Copies `node`'s list on `layer` into `out`.
    fn read(&self, node: u32, layer: usize, out: &mut Vec<u32>) {
        let list = self.list(node, layer);
        let len = (list[0].load(Relaxed) as usize).min(list.len() - 1);
        out.clear();
        out.extend(list[1..1 + len].iter().map(|w| w.load(Relaxed)));
    }

    /// Replaces `node`'s list on `layer` by `ids` (at most its room); the caller holds the lock.
    fn write(&self, node: u32, layer: usize, ids: &[u32]) {
        let list = self.list(node, layer);
        let ids = &ids[..ids.len().min(list.len() - 1)];
        for (w, &id) in list[1..].iter().zip(ids) {
            w.store(id, Relaxed);
        }
        list[0].store(ids.len() as u32, Relaxed);
    }

    /// Starts loading the head of `node`'s list on `layer` into cache (see [`prefetch`]).
    fn prefetch(&self, node: u32, layer: usize) {
        prefetch(self.list(node, layer).as_ptr().cast());
    }
}

/// One thread's reusable search state.
struct Workspace {
    /// `visited[node] == epoch` marks a node seen by the current search.
    visited: Vec<u32>,
    epoch: u32,
    candidates: BinaryHeap<Reverse<Cand>>,
    found: BinaryHeap<Cand>,
    /// The last search's result, nearest first.
    sorted: Vec<Cand>,
    selected: Vec<u32>,
    scratch: Vec<u32>,
    /// The unvisited neighbours of the node being expanded.
    batch: Vec<u32>,
    pool: Vec<Cand>,
    /// The live nodes of `sorted` (an insertion into a graph with tombstones).
    live: Vec<Cand>,
}

impl Workspace {
    fn new(n: usize) -> Self {
        Workspace {
            visited: vec![0; n],
            epoch: 0,
            candidates: BinaryHeap::new(),
            found: BinaryHeap::new(),
            sorted: Vec::new(),
            selected: Vec::new(),
            scratch: Vec::new(),
            batch: Vec::new(),
            pool: Vec::new(),
            live: Vec::new(),
        }
    }

    /// Starts a new search: every node unvisited.
    fn next_epoch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.visited.fill(0);
            self.epoch = 1;
        }
    }
}

struct ParallelBuilder<'a> {
    flat: &'a FlatGraph,
    links: Links,
    entry: Mutex<Entry>,
    ef: usize,
    /// Tombstones (an insertion into a graph with removed rows): never picked as new links
    /// while a search found a live node. `None` in a build.
    dead: Option<&'a [bool]>,
}

impl<'a> ParallelBuilder<'a> {
    /// Node 0 is the entry point, on its own top layer; the others are inserted in order.
    #[cfg(test)]
    fn new(flat: &'a FlatGraph, levels: Vec<u8>, p: BuildParams) -> Self {
        let top = levels[0] as usize;
        ParallelBuilder {
            flat,
            links: Links::new(levels, p.m),
            entry: Mutex::new(Entry { node: 0, top }),
            ef: p.ef_construction.max(1),
            dead: None,
        }
    }

    fn vector(&self, node: u32) -> &'a [f32] {
        self.flat.vector(node)
    }

    /// `1 - a.b`: the cosine distance of unit vectors.
    fn dist(&self, q: &[f32], node: u32) -> f32 {
        1.0 - dot(q, self.vector(node))
    }

    /// Algorithm 1 (INSERT) for `node`; the entry lock is held throughout when the node raises
    /// the top layer, as in hnswlib.
    fn insert(&self, node: u32, ws: &mut Workspace) {
        let level = self.links.level[node as usize] as usize;
        let mut raise = Some(self.entry.lock());
        let (mut ep, top) = raise.as_ref().map(|e| (e.node, e.top)).unwrap_or((0, 0));
        if level <= top {
            raise = None;
        }
        let q = self.vector(node);
        let mut d_ep = self.dist(q, ep);
        for layer in (level + 1..=top).rev() {
            (ep, d_ep) = self.greedy(q, ep, d_ep, layer, &mut ws.scratch);
        }
        for layer in (0..=level.min(top)).rev() {
            self.search_layer(q, Cand(d_ep, ep), layer, ws);
            match self.dead {
                None => self.select(&ws.sorted, self.links.m, &mut ws.selected),
                Some(dead) => {
                    ws.live.clear();
                    let live = ws.sorted.iter().filter(|c| !dead[c.1 as usize]);
                    ws.live.extend(live);
                    let found = if ws.live.is_empty() {
                        &ws.sorted
                    } else {
                        &ws.live
                    };
                    self.select(found, self.links.m, &mut ws.selected);
                }
            }
            self.connect(node, layer, ws);
            Cand(d_ep, ep) = ws.sorted[0];
        }
        if let Some(mut e) = raise {
            if level > e.top {
                (e.node, e.top) = (node, level);
            }
        }
    }

    /// Algorithm 2 with `ef = 1` on an upper layer: moves to a closer neighbour while there is
    /// one.
    fn greedy(
        &self,
        q: &[f32],
        mut ep: u32,
        mut d_ep: f32,
        layer: usize,
        buf: &mut Vec<u32>,
    ) -> (u32, f32) {
        loop {
            let mut moved = false;
            self.links.read(ep, layer, buf);
            for &nb in buf.iter() {
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

    /// Algorithm 2 (SEARCH-LAYER) with `ef_construction`: `ws.sorted` gets the nearest nodes
    /// found, nearest first.
    fn search_layer(&self, q: &[f32], start: Cand, layer: usize, ws: &mut Workspace) {
        ws.next_epoch();
        let epoch = ws.epoch;
        ws.visited[start.1 as usize] = epoch;
        ws.candidates.clear();
        ws.found.clear();
        ws.candidates.push(Reverse(start));
        ws.found.push(start);
        while let Some(Reverse(c)) = ws.candidates.pop() {
            if ws.found.peek().is_some_and(|w| c.0 > w.0) {
                break;
            }
            self.links.read(c.1, layer, &mut ws.scratch);
            if let Some(Reverse(next)) = ws.candidates.peek() {
                self.links.prefetch(next.1, layer);
            }
            // Branch-free, as the flat search: the count moves past unseen neighbours only.
            ws.batch.resize(ws.scratch.len(), 0);
            let mut fresh = 0;
            for &nb in &ws.scratch {
                let seen = std::mem::replace(&mut ws.visited[nb as usize], epoch);
                ws.batch[fresh] = nb;
                fresh += usize::from(seen != epoch);
            }
            ws.batch.truncate(fresh);
            for &nb in ws.batch.iter().take(PREFETCH_AHEAD) {
                self.flat.prefetch(nb);
            }
            for (i, &nb) in ws.batch.iter().enumerate() {
                if let Some(&later) = ws.batch.get(i + PREFETCH_AHEAD) {
                    self.flat.prefetch(later);
                }
                let d = self.dist(q, nb);
                if ws.found.len() < self.ef || ws.found.peek().is_some_and(|w| d < w.0) {
                    ws.candidates.push(Reverse(Cand(d, nb)));
                    ws.found.push(Cand(d, nb));
                    if ws.found.len() > self.ef {
                        ws.found.pop();
                    }
                }
            }
        }
        ws.sorted.clear();
        ws.sorted.extend(ws.found.drain());
        ws.sorted.sort_unstable();
    }

    /// Algorithm 4: [`select_neighbours`].
    fn select(&self, sorted: &[Cand], m: usize, out: &mut Vec<u32>) {
        select_neighbours(self.flat, sorted, m, out);
    }

    /// Links `node` to `ws.selected` on `layer` and each of them back to `node`, shrinking a
    /// full list with the heuristic (hnswlib's `mutuallyConnectNewElement`).
    fn connect(&self, node: u32, layer: usize, ws: &mut Workspace) {
        {
            let _own = self.links.locks[node as usize].lock();
            self.links.write(node, layer, &ws.selected);
        }
        let cap = self.links.cap(layer);
        for i in 0..ws.selected.len() {
            let nb = ws.selected[i];
            let _lock = self.links.locks[nb as usize].lock();
            self.links.read(nb, layer, &mut ws.scratch);
            if ws.scratch.contains(&node) {
                continue;
            }
            if ws.scratch.len() < cap {
                ws.scratch.push(node);
                self.links.write(nb, layer, &ws.scratch);
                continue;
            }
            let v = self.vector(nb);
            ws.pool.clear();
            ws.pool.push(Cand(self.dist(v, node), node));
            for &x in &ws.scratch {
                ws.pool.push(Cand(self.dist(v, x), x));
            }
            ws.pool.sort_unstable();
            let pool = std::mem::take(&mut ws.pool);
            self.select(&pool, cap, &mut ws.scratch);
            ws.pool = pool;
            self.links.write(nb, layer, &ws.scratch);
        }
    }
}

/// Algorithm 4 (SELECT-NEIGHBORS-HEURISTIC) as hnswlib's `getNeighborsByHeuristic2`: from
/// `sorted` (distances to the base, nearest first) keep a candidate unless a kept one is closer
/// to it than the base is, up to `m`; fewer than `m` candidates are all kept. The one selection
/// of the build, the insertion and the compaction's repair.
pub(crate) fn select_neighbours(flat: &FlatGraph, sorted: &[Cand], m: usize, out: &mut Vec<u32>) {
    out.clear();
    if sorted.len() < m {
        out.extend(sorted.iter().map(|c| c.1));
        return;
    }
    for c in sorted {
        if out.len() >= m {
            break;
        }
        let v = flat.vector(c.1);
        if out
            .iter()
            .all(|&kept| 1.0 - dot(v, flat.vector(kept)) >= c.0)
        {
            out.push(c.1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{clustered, clustered_split, SyntheticConfig};
    use crate::{recall_at_k, Embeddings, Exact, Hnsw, HnswBuilder as Which, HnswConfig, Search};

    fn config(builder: Which) -> HnswConfig {
        HnswConfig {
            builder,
            ..HnswConfig::default()
        }
    }

    /// The index built on a 1-thread rayon pool.
    fn build_on_one_thread(emb: &Embeddings, config: &HnswConfig) -> Hnsw {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        pool.install(|| Hnsw::build(emb, config).unwrap())
    }

    #[test]
    fn both_builders_reach_the_recall_of_hnsw_on_held_out_queries() {
        let (emb, queries) = clustered_split(5_000, 200, 32, &SyntheticConfig::default());
        let exact = Exact::new(emb.clone());
        for which in [Which::Webly, Which::HnswRs] {
            let mut hnsw = Hnsw::build(&emb, &config(which)).unwrap();
            let recall = recall_at_k(&exact, &hnsw, &queries, 10);
            assert!(recall >= 0.98, "{which:?}: recall@10 {recall}");
            // A narrow beam loses recall: the measure can fail.
            hnsw.set_ef_search(1);
            let narrow = recall_at_k(&exact, &hnsw, &queries, 10);
            assert!(narrow < recall, "{which:?}: {narrow} at ef 1");
        }
    }

    #[test]
    fn links_respect_the_room_and_layers_and_reach_every_node() {
        let emb = clustered(3_000, 16, &SyntheticConfig::default());
        let hnsw = Hnsw::build(&emb, &config(Which::Webly)).unwrap();
        let (flat, m) = (&hnsw.flat, hnsw.config.m);
        let entry = flat.entry.unwrap();
        // The entry point lives on the top layer; upper layers shrink going up.
        assert!(flat.upper.last().unwrap().contains_key(&entry));
        for (l, layer) in flat.upper.iter().enumerate() {
            for (&row, links) in layer {
                assert!(links.len() <= m && !links.contains(&row), "layer {}", l + 1);
                assert!(links.iter().all(|nb| layer.contains_key(nb)));
            }
        }
        let sizes: Vec<usize> = flat.upper.iter().map(|l| l.len()).collect();
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
        // About n / M nodes on layer 1 (levels drawn with mL = 1 / ln M).
        assert!((100..300).contains(&sizes[0]), "{sizes:?}");
        let mut seen = vec![false; flat.nodes()];
        let mut stack = vec![entry];
        seen[entry as usize] = true;
        while let Some(row) = stack.pop() {
            let links = flat.links0(row);
            assert!(links.len() <= 2 * m && !links.contains(&row));
            for &nb in links {
                if !std::mem::replace(&mut seen[nb as usize], true) {
                    stack.push(nb);
                }
            }
        }
        let lost = seen.iter().filter(|&&s| !s).count();
        assert_eq!(lost, 0, "rows unreachable on layer 0");
    }

    #[test]
    fn a_one_thread_build_is_reproducible_and_follows_the_seed() {
        let emb = clustered(1_500, 16, &SyntheticConfig::default());
        let a = build_on_one_thread(&emb, &config(Which::Webly));
        let b = build_on_one_thread(&emb, &config(Which::Webly));
        assert_eq!(a.flat.graph_bytes(), b.flat.graph_bytes());
        let other = HnswConfig {
            seed: 7,
            ..config(Which::Webly)
        };
        let c = build_on_one_thread(&emb, &other);
        assert_ne!(a.flat.graph_bytes(), c.flat.graph_bytes());
        assert_eq!(a.flat.vector_bytes(), c.flat.vector_bytes());
    }

    #[test]
    fn levels_follow_the_papers_distribution() {
        let levels = draw_levels(100_000, 16, 1);
        // P(level >= l) = M^-l.
        for (l, want) in [(1, 100_000.0 / 16.0), (2, 100_000.0 / 256.0)] {
            let got = levels.iter().filter(|&&x| x >= l).count() as f64;
            assert!(
                (got - want).abs() < 4.0 * want.sqrt() + 1.0,
                "level {l}: {got}"
            );
        }
        assert_eq!(levels, draw_levels(100_000, 16, 1));
        // An insertion's levels continue the stream where the build's stopped.
        for first in [0, 1, 7, 8, 99_000] {
            let rest = draw_levels_at(first, 100_000 - first, 16, 1);
            assert_eq!(rest, levels[first..], "from {first}");
        }
        assert_ne!(draw_levels_at(5, 1_000, 16, 1), levels[..1_000]);
    }

    #[test]
    fn degenerate_inputs_answer_like_exact_search() {
        let one = Embeddings::new(vec![0.3, 0.4], 2, vec!["a".into()]).unwrap();
        let few = clustered(5, 8, &SyntheticConfig::default()); // n < M
        let same =
            Embeddings::new(vec![1.0; 40], 4, (0..10).map(|i| i.to_string()).collect()).unwrap();
        for which in [Which::Webly, Which::HnswRs] {
            for emb in [&one, &few, &same] {
                let hnsw = Hnsw::build(emb, &config(which)).unwrap();
                let exact = Exact::new(emb.clone());
                for row in 0..emb.len() {
                    let q = emb.row(row);
                    let (got, want) = (hnsw.search(q, 20), exact.search(q, 20));
                    let rows = |h: &[crate::Hit]| h.iter().map(|x| x.index).collect::<Vec<_>>();
                    assert_eq!(rows(&got), rows(&want), "{which:?}, {} rows", emb.len());
                }
            }
            assert_eq!(Hnsw::build(&same, &config(which)).unwrap().nodes(), 1);
        }
    }

    #[test]
    fn the_heuristic_keeps_a_candidate_unless_a_kept_one_is_closer_to_it() {
        // Base at angle 0; candidates at 10, 20 and -30 degrees: 20 is nearer to 10 (10 degrees)
        // than to the base (20 degrees) and is dropped; -30 is on the other side and is kept.
        let at = |deg: f32| [deg.to_radians().cos(), deg.to_radians().sin()];
        let rows = [at(0.0), at(10.0), at(20.0), at(-30.0)];
        let flat = FlatGraph::with_vectors(4, 2, 4, |r, out| out.copy_from_slice(&rows[r]));
        let params = BuildParams {
            m: 2,
            ef_construction: 10,
            seed: 1,
        };
        let builder = ParallelBuilder::new(&flat, vec![0; 4], params);
        let base = flat.vector(0);
        let mut sorted: Vec<Cand> = (1..4).map(|r| Cand(builder.dist(base, r), r)).collect();
        sorted.sort_unstable();
        let mut out = Vec::new();
        builder.select(&sorted, 3, &mut out);
        assert_eq!(out, [1, 3]);
        // Fewer candidates than the room: all are kept, as hnswlib does.
        builder.select(&sorted, 4, &mut out);
        assert_eq!(out, [1, 2, 3]);
    }
}
