//! The searchable layout of a graph, whoever built it: per node one record holding its vector
//! and its layer-0 links (hnswlib's layout), upper layers as maps, and a best-first search with
//! a per-thread epoch-stamped visited list and prefetching. hnsw_rs keeps every link as its own
//! `Arc` behind a lock and tracks visits in a hashed set; searching this layout visits the same
//! graph at a fraction of the cost. Saved as `vectors.f32` and `graph.u32` (CSR links).

use std::cmp::Ordering;
use std::collections::HashMap;

use hnsw_rs::hnsw::Hnsw as Graph;

use crate::distance::{dot, prefetch};
use crate::DotClamped;

/// A row id with its distance (`1 - dot`), ordered by distance then id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cand(pub(crate) f32, pub(crate) u32);

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

/// Words of one cache line: records start on line boundaries.
const LINE_WORDS: usize = 16;
/// Rows whose vectors are being prefetched while one is scored. Prefetching all of an expanded
/// row's neighbours at once stalls on the core's miss buffers (a profile puts half the search
/// loop's time on the prefetch instruction); 3 to 8 ahead measured 10-20% faster on the
/// benchmark's 50K x 128 set.
pub(crate) const PREFETCH_AHEAD: usize = 8;
/// Records up to this size are taken to stay in a core's cache (L2 is 1-2 MiB on current x86
/// cores), so a search prefetches only the first line of a vector.
const CACHE_RESIDENT_BYTES: usize = 1 << 20;

/// The searchable layout of one graph: per node, one record of `stride` u32 words holding its
/// vector (`dim` f32, first, so it starts on a cache line), its layer-0 link count and up to
/// `room` links, padded to whole 64-byte lines; hnswlib's layout, so expanding a node reads its
/// links from the block its vector came from. Upper layers (few nodes) are maps by node.
#[derive(Debug, Clone, Default)]
pub(crate) struct FlatGraph {
    dim: usize,
    nodes: usize,
    /// Layer-0 links a record has room for (the largest degree).
    room: usize,
    /// Words per record.
    stride: usize,
    /// Word where record 0 starts (64-byte aligned in `data`).
    base: usize,
    /// Cache lines of a vector prefetched before it is scored: all of them when the records
    /// outgrow [`CACHE_RESIDENT_BYTES`], else the first (measured on the benchmark's 50K x 128
    /// set and the demo's 900 x 50: prefetching every line is 15-25% faster on the first, 4-5%
    /// slower on the second, which sits in cache).
    prefetch_lines: usize,
    data: Vec<u32>,
    /// Links on layers 1.. (few rows live there), `upper[layer - 1][row]`.
    pub(crate) upper: Vec<HashMap<u32, Vec<u32>>>,
    /// The node the search starts from (on the top layer); `None` for an empty graph.
    pub(crate) entry: Option<u32>,
}

impl FlatGraph {
    /// A graph of `nodes` rows of `dim` floats, each with room for `room` layer-0 links and none
    /// set yet, no upper layers and no entry point; `fill(node, out)` writes node's vector.
    pub(crate) fn with_vectors(
        nodes: usize,
        dim: usize,
        room: usize,
        mut fill: impl FnMut(usize, &mut [f32]),
    ) -> Self {
        let stride = (dim + 1 + room).div_ceil(LINE_WORDS) * LINE_WORDS;
        let mut data: Vec<u32> = Vec::with_capacity(nodes * stride + LINE_WORDS);
        let base = data
            .as_ptr()
            .align_offset(LINE_WORDS * 4)
            .min(LINE_WORDS - 1);
        advise_huge_pages(&data);
        data.resize(base + nodes * stride, 0);
        let mut graph = FlatGraph {
            dim,
            nodes,
            room,
            stride,
            base,
            prefetch_lines: 1,
            data,
            upper: Vec::new(),
            entry: None,
        };
        graph.set_prefetch_lines();
        for node in 0..nodes {
            let at = graph.base + node * stride;
            fill(
                node,
                bytemuck::cast_slice_mut(&mut graph.data[at..at + dim]),
            );
        }
        graph
    }

    /// Which records outgrow a core's cache, and so how many lines of a vector to prefetch.
    fn set_prefetch_lines(&mut self) {
        self.prefetch_lines = match self.nodes * self.stride * 4 > CACHE_RESIDENT_BYTES {
            true => self.dim.div_ceil(LINE_WORDS),
            false => 1,
        };
    }

    /// Makes room for at least `room` layer-0 links per record and `extra` more nodes without a
    /// move: the records are copied into a fresh, line-aligned allocation when the room grows
    /// (a graph read from disk or copied from hnsw_rs has room for its largest degree only) or
    /// the allocation is too small; the new one keeps a quarter more nodes in reserve, so that
    /// a series of small insertions copies the graph once (the reserve is address space, not
    /// resident memory, until it is written). Links and vectors are unchanged.
    pub(crate) fn reserve(&mut self, room: usize, extra: usize) {
        let room = room.max(self.room);
        let stride = (self.dim + 1 + room).div_ceil(LINE_WORDS) * LINE_WORDS;
        let need = self.nodes + extra;
        if stride == self.stride && self.base + need * stride <= self.data.capacity() {
            self.room = room;
            return;
        }
        let keep = need + need / 4;
        let mut data: Vec<u32> = Vec::with_capacity(keep * stride + LINE_WORDS);
        let base = data
            .as_ptr()
            .align_offset(LINE_WORDS * 4)
            .min(LINE_WORDS - 1);
        advise_huge_pages(&data);
        data.resize(base + self.nodes * stride, 0);
        let words = (self.dim + 1 + self.room).min(self.stride);
        for node in 0..self.nodes {
            let from = self.base + node * self.stride;
            let to = base + node * stride;
            data[to..to + words].copy_from_slice(&self.data[from..from + words]);
        }
        (self.data, self.base, self.stride, self.room) = (data, base, stride, room);
        self.set_prefetch_lines();
    }

    /// Appends `count` nodes without links; `fill(i, out)` writes the vector of the `i`-th new
    /// one. Calls [`FlatGraph::reserve`] first, so records stay line-aligned.
    pub(crate) fn push_nodes(&mut self, count: usize, mut fill: impl FnMut(usize, &mut [f32])) {
        self.reserve(self.room, count);
        let first = self.nodes;
        self.nodes += count;
        self.data.resize(self.base + self.nodes * self.stride, 0);
        for i in 0..count {
            let at = self.base + (first + i) * self.stride;
            fill(
                i,
                bytemuck::cast_slice_mut(&mut self.data[at..at + self.dim]),
            );
        }
        self.set_prefetch_lines();
    }

    /// Keeps the nodes whose `new_id` is not `u32::MAX`, renumbered to it (the kept nodes in
    /// their order: `new_id` rises over them from 0), records moved down in place. Links to
    /// dropped nodes are dropped (a caller repairs the lists first); the entry point must be kept.
    pub(crate) fn retain_nodes(&mut self, new_id: &[u32]) {
        let mut kept = 0;
        for old in 0..self.nodes {
            let id = new_id[old];
            if id == u32::MAX {
                continue;
            }
            debug_assert_eq!(id as usize, kept);
            let (from, to) = (
                self.base + old * self.stride,
                self.base + kept * self.stride,
            );
            if from != to {
                self.data.copy_within(from..from + self.stride, to);
            }
            let at = to + self.dim;
            let len = (self.data[at] as usize).min(self.room);
            let mut out = 0;
            for i in 0..len {
                let nb = new_id[self.data[at + 1 + i] as usize];
                if nb != u32::MAX {
                    self.data[at + 1 + out] = nb;
                    out += 1;
                }
            }
            self.data[at] = out as u32;
            kept += 1;
        }
        self.nodes = kept;
        self.data.truncate(self.base + kept * self.stride);
        for layer in &mut self.upper {
            *layer = layer
                .drain()
                .filter(|(node, _)| new_id[*node as usize] != u32::MAX)
                .map(|(node, links)| {
                    let links = links
                        .iter()
                        .map(|&nb| new_id[nb as usize])
                        .filter(|&nb| nb != u32::MAX)
                        .collect();
                    (new_id[node as usize], links)
                })
                .collect();
        }
        self.entry = self
            .entry
            .map(|e| new_id[e as usize])
            .filter(|&e| e != u32::MAX);
        self.set_prefetch_lines();
    }

    /// Each node's level: the highest upper layer it is on (0: layer 0 only).
    pub(crate) fn levels(&self) -> Vec<u8> {
        let mut levels = vec![0u8; self.nodes];
        for (l, layer) in self.upper.iter().enumerate() {
            for &node in layer.keys() {
                levels[node as usize] = levels[node as usize].max(l as u8 + 1);
            }
        }
        levels
    }

    /// Puts the upper layers into the form webly's builder keeps, which updates rely on: a node
    /// is on layers `1..=level` and no others, and its links on a layer point at nodes on it.
    /// A node's level is the highest layer where it has links (the entry point's: the top). A
    /// graph built by webly already has this form; hnsw_rs's copy has every node on every layer
    /// with empty lists above its level, which this drops (a search never moves through an
    /// empty list, so it finds the same nodes).
    pub(crate) fn normalize_upper(&mut self) {
        let top = self.upper.len();
        let mut level = vec![0usize; self.nodes];
        for (l, layer) in self.upper.iter().enumerate() {
            for (&node, links) in layer {
                if !links.is_empty() {
                    level[node as usize] = level[node as usize].max(l + 1);
                }
            }
        }
        if let Some(e) = self.entry {
            level[e as usize] = top;
        }
        for (l, layer) in self.upper.iter_mut().enumerate() {
            let on = |node: u32| level[node as usize] > l;
            let mut kept: HashMap<u32, Vec<u32>> = HashMap::new();
            for (node, links) in layer.drain() {
                if on(node) {
                    kept.insert(node, links.into_iter().filter(|&nb| on(nb)).collect());
                }
            }
            // A node on this layer that was missing from it gets an empty list.
            for (node, _) in level.iter().enumerate().filter(|(_, &lv)| lv > l) {
                kept.entry(node as u32).or_default();
            }
            *layer = kept;
        }
    }

    /// Sets `node`'s layer-0 links (at most the record's room; the rest are dropped).
    pub(crate) fn set_links0(&mut self, node: usize, links: &[u32]) {
        let links = &links[..links.len().min(self.room)];
        let at = self.base + node * self.stride + self.dim;
        self.data[at] = links.len() as u32;
        self.data[at + 1..at + 1 + links.len()].copy_from_slice(links);
    }

    /// Copies vectors and links out of an hnsw_rs graph whose data ids are rows `0..n`.
    pub(crate) fn from_graph(graph: &Graph<'_, f32, DotClamped>, n: usize, dim: usize) -> Self {
        let top = graph.get_max_level_observed() as usize;
        let mut lists0: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut upper: Vec<HashMap<u32, Vec<u32>>> = vec![HashMap::new(); top];
        let mut entry = None;
        let mut rows: Vec<Option<usize>> = vec![None; n];
        let points: Vec<_> = graph.get_point_indexation().into_iter().collect();
        for (at, point) in points.iter().enumerate() {
            let row = point.get_origin_id();
            if row >= n || point.get_v().len() != dim {
                continue;
            }
            rows[row] = Some(at);
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
        let room = lists0.iter().map(Vec::len).max().unwrap_or(0);
        let mut flat = FlatGraph::with_vectors(n, dim, room, |row, out| {
            if let Some(at) = rows[row] {
                out.copy_from_slice(points[at].get_v());
            }
        });
        for (row, list) in lists0.iter().enumerate() {
            flat.set_links0(row, list);
        }
        flat.upper = upper;
        flat.entry = entry;
        flat
    }

    /// Layer-0 links a node has room for.
    pub(crate) fn room(&self) -> usize {
        self.room
    }

    /// Row `row`'s vector.
    #[inline]
    pub(crate) fn vector(&self, row: u32) -> &[f32] {
        let at = self.base + row as usize * self.stride;
        bytemuck::cast_slice(&self.data[at..at + self.dim])
    }

    #[inline]
    fn dist(&self, q: &[f32], row: u32) -> f32 {
        1.0 - dot(q, self.vector(row))
    }

    /// Row `row`'s layer-0 links.
    #[inline]
    pub(crate) fn links0(&self, row: u32) -> &[u32] {
        let at = self.base + row as usize * self.stride + self.dim;
        let len = (self.data[at] as usize).min(self.room);
        &self.data[at + 1..at + 1 + len]
    }

    /// Up to `k` nearest rows as `(distance, row)`, best first (`ef` >= `k` candidates).
    pub(crate) fn search(&self, q: &[f32], k: usize, ef: usize) -> Vec<(f32, usize)> {
        self.search_live(q, k, ef, |_| true)
    }

    /// Up to `k` nearest nodes for which `live` holds, as [`FlatGraph::search`]: the first `k`
    /// live nodes of the beam. Nodes that are not live (tombstones) are still expanded, so they
    /// keep the graph connected, but never returned; when the beam holds fewer than `k` live
    /// nodes and was full, the search runs again with `ef` doubled (up to the node count), so
    /// tombstones never take the places of live neighbours. With every node live it is exactly
    /// [`FlatGraph::search`].
    pub(crate) fn search_live(
        &self,
        q: &[f32],
        k: usize,
        ef: usize,
        live: impl Fn(u32) -> bool,
    ) -> Vec<(f32, usize)> {
        let Some(mut ep) = self.entry else {
            return Vec::new();
        };
        let mut d_ep = self.dist(q, ep);
        for layer in self.upper.iter().rev() {
            (ep, d_ep) = self.greedy(q, layer, ep, d_ep);
        }
        let mut ef = ef.max(k);
        SPACE.with(|space| {
            let mut space = space.borrow_mut();
            loop {
                self.beam0(q, Cand(d_ep, ep), ef, &mut space);
                let found: Vec<(f32, usize)> = (space.pool.iter())
                    .filter(|(c, _)| live(c.1))
                    .take(k)
                    .map(|(c, _)| (c.0, c.1 as usize))
                    .collect();
                if found.len() >= k || space.pool.len() < ef || ef >= self.nodes {
                    return found;
                }
                ef = (ef * 2).min(self.nodes);
            }
        })
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

    /// Starts loading row `row`'s vector into cache, line by line (see [`prefetch`]).
    #[inline(always)]
    pub(crate) fn prefetch(&self, row: u32) {
        let v = self.vector(row);
        for line in (0..v.len()).step_by(LINE_WORDS).take(self.prefetch_lines) {
            prefetch(v[line..].as_ptr().cast());
        }
    }

    /// Starts loading the head of row `row`'s layer-0 links into cache.
    #[inline(always)]
    fn prefetch_links0(&self, row: u32) {
        let at = self.base + row as usize * self.stride + self.dim;
        prefetch(self.data[at..].as_ptr().cast());
    }

    /// Best-first beam search on layer 0 (Algorithm 2 of the HNSW paper) leaving the `ef`
    /// nearest rows seen in `space.pool`, nearest first. The unvisited neighbours of an expanded
    /// row are marked first, then scored while the vectors of the next few are prefetched, so
    /// their loads overlap.
    ///
    /// The paper's two heaps (candidates C, found W) are one sorted pool of at most `ef` rows
    /// with an expanded flag each: expanding the nearest unexpanded row of the pool until none is
    /// left visits what the heaps visit (a candidate the heaps would pop after W dropped it is
    /// farther than W's worst, which stops them), and for an `ef` of tens an insertion into a
    /// short sorted array costs less than two heap operations.
    fn beam0(&self, q: &[f32], start: Cand, ef: usize, space: &mut SearchSpace) {
        let epoch = space.start(self.nodes());
        let SearchSpace {
            visited,
            pool,
            batch,
            ..
        } = space;
        visited[start.1 as usize] = epoch;
        pool.push((start, false));
        let mut next = 0;
        while next < pool.len() {
            pool[next].1 = true;
            let c = pool[next].0;
            if let Some(&(after, _)) = pool.get(next + 1) {
                self.prefetch_links0(after.1);
            }
            // Branch-free: every neighbour is written, the count only moves past unseen ones
            // (whether a neighbour was seen is a coin toss the branch predictor loses).
            let links = self.links0(c.1);
            batch.resize(links.len(), 0);
            let mut fresh = 0;
            for &nb in links {
                let seen = std::mem::replace(&mut visited[nb as usize], epoch);
                batch[fresh] = nb;
                fresh += usize::from(seen != epoch);
            }
            batch.truncate(fresh);
            // Software pipelining: the vectors of the next PREFETCH_AHEAD rows are on their way
            // while one is scored.
            for &nb in batch.iter().take(PREFETCH_AHEAD) {
                self.prefetch(nb);
            }
            // The first unexpanded row after this expansion: the next one, or an insertion.
            let mut first = next + 1;
            for (i, &nb) in batch.iter().enumerate() {
                if let Some(&later) = batch.get(i + PREFETCH_AHEAD) {
                    self.prefetch(later);
                }
                let cand = Cand(self.dist(q, nb), nb);
                if pool.len() >= ef && pool.last().is_some_and(|w| cand >= w.0) {
                    continue;
                }
                let at = pool.partition_point(|p| p.0 < cand);
                if pool.len() >= ef {
                    pool.pop();
                }
                pool.insert(at, (cand, false));
                first = first.min(at);
            }
            next = first;
            while next < pool.len() && pool[next].1 {
                next += 1;
            }
        }
    }
}

/// One thread's reusable search state: no allocation and no clearing per query.
#[derive(Default)]
struct SearchSpace {
    /// `visited[row] == epoch` marks a row seen by the current search.
    visited: Vec<u32>,
    epoch: u32,
    /// The `ef` nearest rows seen, nearest first, each with whether it was expanded.
    pool: Vec<(Cand, bool)>,
    batch: Vec<u32>,
}

impl SearchSpace {
    /// Readies the space for a search over `nodes` rows and returns its epoch.
    fn start(&mut self, nodes: usize) -> u32 {
        if self.visited.len() < nodes {
            self.visited.resize(nodes, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.visited.fill(0);
            self.epoch = 1;
        }
        self.pool.clear();
        self.epoch
    }
}

thread_local! {
    /// The search state of this thread, shared by every graph it searches.
    static SPACE: std::cell::RefCell<SearchSpace> = std::cell::RefCell::new(SearchSpace::default());
}

/// Asks Linux to back `data`'s allocation with 2 MiB pages (transparent huge pages in `madvise`
/// mode) before it is touched: a search reads records at random, and with 4 KiB pages most of
/// those reads also miss the TLB. A hint: without it (or elsewhere) nothing changes but speed.
fn advise_huge_pages(data: &Vec<u32>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = data.as_ptr() as usize;
        let end = start + data.capacity() * 4;
        let (from, to) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
        if to > from {
            // SAFETY: [from, to) lies inside the vector's own allocation; MADV_HUGEPAGE changes
            // how the kernel backs those pages, never their contents.
            unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = data;
}

/// First word of a graph file ("WHG1" little-endian): what the file is and its layout version.
const GRAPH_MAGIC: u32 = u32::from_le_bytes(*b"WHG1");
/// Entry word of a graph without nodes.
const NO_ENTRY: u32 = u32::MAX;

impl FlatGraph {
    /// Graph nodes.
    pub(crate) fn nodes(&self) -> usize {
        self.nodes
    }

    /// The vectors as little-endian f32 bytes, row after row (`nodes x dim x 4` bytes): the
    /// layout of `numpy.fromfile(path, "<f4").reshape(nodes, dim)`.
    pub(crate) fn vector_bytes(&self) -> Vec<u8> {
        (0..self.nodes as u32)
            .flat_map(|row| self.vector(row).iter().flat_map(|v| v.to_le_bytes()))
            .collect()
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
        let mut end = 0u32;
        words.push(end);
        for row in 0..self.nodes as u32 {
            end += self.links0(row).len() as u32;
            words.push(end);
        }
        for row in 0..self.nodes as u32 {
            words.extend(self.links0(row));
        }
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
        let room = offsets0.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
        let mut flat = FlatGraph::with_vectors(nodes, dim, room as usize, |row, out| {
            let bytes = &vectors[row * dim * 4..(row + 1) * dim * 4];
            for (v, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        });
        for row in 0..nodes {
            let (a, b) = (offsets0[row] as usize, offsets0[row + 1] as usize);
            flat.set_links0(row, &links0[a..b]);
        }
        flat.upper = upper;
        flat.entry = entry;
        Ok(flat)
    }
}

#[cfg(test)]
mod tests {
    use super::Cand;
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

    /// The paper's Algorithm 2 with its two heaps, as the reference for the pool.
    fn two_heaps(g: &super::FlatGraph, q: &[f32], start: Cand, ef: usize) -> Vec<Cand> {
        use std::cmp::Reverse;
        use std::collections::{BinaryHeap, HashSet};
        let mut seen = HashSet::from([start.1]);
        let mut candidates = BinaryHeap::from([Reverse(start)]);
        let mut found = BinaryHeap::from([start]);
        while let Some(Reverse(c)) = candidates.pop() {
            if found.len() >= ef && found.peek().is_some_and(|w| c > *w) {
                break;
            }
            for &nb in g.links0(c.1) {
                if seen.insert(nb) {
                    let cand = Cand(g.dist(q, nb), nb);
                    if found.len() < ef || found.peek().is_some_and(|w| cand < *w) {
                        candidates.push(Reverse(cand));
                        found.push(cand);
                        if found.len() > ef {
                            found.pop();
                        }
                    }
                }
            }
        }
        found.into_sorted_vec()
    }

    #[test]
    fn the_pool_finds_what_the_papers_two_heaps_find() {
        let (emb, queries) = clustered_split(2_000, 50, 16, &SyntheticConfig::default());
        let hnsw = Hnsw::build(&emb, &HnswConfig::default()).unwrap();
        let g = &hnsw.flat;
        for q in queries.chunks(16) {
            let start = Cand(g.dist(q, 0), 0);
            for ef in [1, 10, 40, 200] {
                let want = two_heaps(g, q, start, ef);
                let got = super::SPACE.with(|space| {
                    let mut space = space.borrow_mut();
                    g.beam0(q, start, ef, &mut space);
                    space.pool.iter().map(|(c, _)| *c).collect::<Vec<_>>()
                });
                assert_eq!(got, want, "ef {ef}");
            }
        }
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
        let empty = FlatGraph::with_vectors(0, 8, 0, |_, _| {});
        let back = FlatGraph::from_bytes(&[], &empty.graph_bytes(), 0, 8).unwrap();
        assert_eq!(back.nodes(), 0);
    }
}
