//! The rows of each graph node, compactly: one `u32` per node for the common case of a node
//! with one row, a map for the few nodes that several rows share (identical vectors), and a
//! marker for a tombstone (a node whose rows were all removed).
//!
//! A `Vec<Vec<usize>>` held 56 bytes a node (the vector's 24 and a heap block of 32 for its one
//! row): a tenth of an opened index at a million rows of 50 dims. This holds 4.

use std::collections::HashMap;

use crate::{IndexError, Result};

/// Entry of a node without rows: a tombstone.
const NONE: u32 = u32::MAX;
/// Entry of a node with two or more rows, kept in [`NodeRows::shared`].
const SHARED: u32 = u32::MAX - 1;
/// Rows an index can hold: row ids stay below the two markers.
pub(crate) const MAX_ROWS: usize = SHARED as usize;

/// [`IndexError::Config`] unless `rows` rows fit the `u32` row ids of [`NodeRows`].
pub(crate) fn check_rows(rows: usize) -> Result<()> {
    match rows <= MAX_ROWS {
        true => Ok(()),
        false => Err(IndexError::Config(format!(
            "{rows} rows do not fit u32 row ids (at most {MAX_ROWS})"
        ))),
    }
}

/// The rows of each graph node, ascending: one, several (rows holding identical vectors), or
/// none (a tombstone). Row ids are `u32` below [`MAX_ROWS`] (callers check counts with
/// [`check_rows`] before adding rows).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NodeRows {
    /// Per node: its one row, [`SHARED`] (its rows are in `shared`) or [`NONE`].
    single: Vec<u32>,
    /// The rows (two or more, ascending) of each node marked [`SHARED`].
    shared: HashMap<u32, Vec<u32>>,
    /// Nodes without rows.
    tombstones: usize,
}

impl NodeRows {
    /// `nodes` nodes, all without rows (tombstones until rows are pushed).
    pub(crate) fn with_nodes(nodes: usize) -> Self {
        NodeRows {
            single: vec![NONE; nodes],
            shared: HashMap::new(),
            tombstones: nodes,
        }
    }

    /// Graph nodes, tombstones included.
    pub(crate) fn len(&self) -> usize {
        self.single.len()
    }

    /// Nodes without rows.
    pub(crate) fn tombstones(&self) -> usize {
        self.tombstones
    }

    /// The rows of `node`, ascending; empty for a tombstone or a node past the last.
    pub(crate) fn get(&self, node: usize) -> &[u32] {
        match self.single.get(node) {
            None | Some(&NONE) => &[],
            Some(&SHARED) => self.shared.get(&(node as u32)).map_or(&[], Vec::as_slice),
            Some(row) => std::slice::from_ref(row),
        }
    }

    /// True when `node` has no rows (a tombstone, or a node past the last).
    pub(crate) fn is_empty(&self, node: usize) -> bool {
        self.single.get(node).is_none_or(|&r| r == NONE)
    }

    /// The rows of every node, in node order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &[u32]> + '_ {
        (0..self.len()).map(|node| self.get(node))
    }

    /// Per node, whether it is a tombstone.
    pub(crate) fn dead(&self) -> Vec<bool> {
        self.single.iter().map(|&r| r == NONE).collect()
    }

    /// Appends a node without rows (a tombstone until [`NodeRows::push_row`]) and returns its
    /// id.
    pub(crate) fn push_node(&mut self) -> usize {
        self.single.push(NONE);
        self.tombstones += 1;
        self.single.len() - 1
    }

    /// Adds `row` (below [`MAX_ROWS`], not yet `node`'s) to `node`'s rows, keeping them
    /// ascending; a tombstone comes back to life. Panics when `node` is past the last.
    pub(crate) fn push_row(&mut self, node: usize, row: u32) {
        debug_assert!(row < SHARED, "row {row} collides with the markers");
        let entry = &mut self.single[node];
        match *entry {
            NONE => {
                *entry = row;
                self.tombstones -= 1;
            }
            SHARED => {
                let rows = self.shared.entry(node as u32).or_default();
                let at = rows.partition_point(|&r| r < row);
                rows.insert(at, row);
            }
            one => {
                *entry = SHARED;
                self.shared
                    .insert(node as u32, vec![one.min(row), one.max(row)]);
            }
        }
    }

    /// Removes the rows marked `gone` (indexed by row) and renumbers the others to `new_row`
    /// (indexed by old row; the order of the rows kept, so each node's stay ascending). A node
    /// left without rows becomes a tombstone.
    pub(crate) fn remove_rows(&mut self, gone: &[bool], new_row: &[u32]) {
        for (node, entry) in self.single.iter_mut().enumerate() {
            match *entry {
                NONE => {}
                SHARED => {
                    let key = node as u32;
                    let Some(rows) = self.shared.get_mut(&key) else {
                        continue;
                    };
                    rows.retain(|&r| !gone[r as usize]);
                    rows.iter_mut().for_each(|r| *r = new_row[*r as usize]);
                    match rows[..] {
                        [] => *entry = NONE,
                        [one] => *entry = one,
                        _ => continue,
                    }
                    self.shared.remove(&key);
                    if *entry == NONE {
                        self.tombstones += 1;
                    }
                }
                row if gone[row as usize] => {
                    *entry = NONE;
                    self.tombstones += 1;
                }
                row => *entry = new_row[row as usize],
            }
        }
    }

    /// Drops the tombstones; the other nodes keep their order and are renumbered from 0 (as
    /// [`crate::compact::compact`] renumbers the graph).
    pub(crate) fn retain_live(&mut self) {
        let mut shared = HashMap::with_capacity(self.shared.len());
        let mut next = 0;
        for node in 0..self.single.len() {
            let entry = self.single[node];
            if entry == NONE {
                continue;
            }
            if entry == SHARED {
                if let Some(rows) = self.shared.remove(&(node as u32)) {
                    shared.insert(next as u32, rows);
                }
            }
            self.single[next] = entry;
            next += 1;
        }
        self.single.truncate(next);
        self.single.shrink_to_fit();
        self.shared = shared;
        self.tombstones = 0;
    }

    /// The node of each of `rows` rows (the inverse; a row no node holds maps to node 0).
    pub(crate) fn row_nodes(&self, rows: usize) -> Vec<u32> {
        let mut out = vec![0u32; rows];
        for (node, node_rows) in self.iter().enumerate() {
            // Nodes are fewer than rows, and a graph's node ids are u32 (graph.u32).
            let node = u32::try_from(node).expect("node ids fit u32");
            node_rows.iter().for_each(|&r| out[r as usize] = node);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    /// `rows` as the table holds it, against the plain model, node by node.
    fn assert_same(rows: &NodeRows, model: &[Vec<u32>]) {
        assert_eq!(rows.len(), model.len());
        for (node, want) in model.iter().enumerate() {
            assert_eq!(rows.get(node), &want[..], "node {node}");
            assert_eq!(rows.is_empty(node), want.is_empty(), "node {node}");
        }
        let got: Vec<&[u32]> = rows.iter().collect();
        assert_eq!(got.len(), model.len());
        let dead: Vec<bool> = model.iter().map(Vec::is_empty).collect();
        assert_eq!(rows.dead(), dead);
        assert_eq!(rows.tombstones(), dead.iter().filter(|&&d| d).count());
        // Only nodes of two or more rows live in the map.
        let shared = model.iter().filter(|r| r.len() >= 2).count();
        assert_eq!(rows.shared.len(), shared);
        assert!(rows.get(model.len()).is_empty() && rows.is_empty(model.len()));
    }

    #[test]
    fn single_shared_removal_tombstone_and_compaction() {
        let mut rows = NodeRows::default();
        let (a, b) = (rows.push_node(), rows.push_node());
        assert_eq!((a, b, rows.tombstones()), (0, 1, 2));
        rows.push_row(a, 0);
        rows.push_row(b, 2);
        rows.push_row(b, 1);
        assert_eq!((rows.get(a), rows.get(b)), (&[0][..], &[1, 2][..]));
        assert_eq!((rows.tombstones(), rows.row_nodes(3)), (0, vec![0, 1, 1]));
        // Row 1 goes: node b is back to one row, out of the map; then row 0: a is a tombstone.
        rows.remove_rows(&[false, true, false], &[0, u32::MAX, 1]);
        assert_eq!((rows.get(a), rows.get(b)), (&[0][..], &[1][..]));
        assert!(rows.shared.is_empty());
        rows.remove_rows(&[true, false], &[u32::MAX, 0]);
        assert!(rows.is_empty(a) && rows.tombstones() == 1);
        assert_eq!(rows.get(b), &[0]);
        rows.retain_live();
        assert_eq!(
            (rows.len(), rows.get(0), rows.tombstones()),
            (1, &[0][..], 0)
        );
    }

    #[test]
    fn agrees_with_a_plain_table_on_random_operations() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut rows = NodeRows::default();
        let mut model: Vec<Vec<u32>> = Vec::new();
        let (mut count, mut most, mut tombstones) = (0u32, 0, 0);
        for step in 0..2_000 {
            match rng.gen_range(0..10) {
                // New rows: on a new node, an existing one or a tombstone.
                0..=5 => {
                    let node = match model.is_empty() || rng.gen_bool(0.5) {
                        true => {
                            model.push(Vec::new());
                            rows.push_node()
                        }
                        false => rng.gen_range(0..model.len()),
                    };
                    for _ in 0..rng.gen_range(1..4) {
                        model[node].push(count);
                        rows.push_row(node, count);
                        count += 1;
                    }
                }
                // Rows removed at random, the rest renumbered in their order.
                6..=8 => {
                    let gone: Vec<bool> = (0..count).map(|_| rng.gen_bool(0.2)).collect();
                    let mut new_row = vec![u32::MAX; count as usize];
                    let mut next = 0;
                    for (row, _) in gone.iter().enumerate().filter(|(_, &g)| !g) {
                        new_row[row] = next;
                        next += 1;
                    }
                    for node_rows in &mut model {
                        node_rows.retain(|&r| !gone[r as usize]);
                        node_rows.iter_mut().for_each(|r| *r = new_row[*r as usize]);
                    }
                    rows.remove_rows(&gone, &new_row);
                    count = next;
                }
                // Compaction: tombstones dropped, nodes renumbered.
                _ => {
                    model.retain(|r| !r.is_empty());
                    rows.retain_live();
                }
            }
            assert_same(&rows, &model);
            most = most.max(model.iter().map(Vec::len).max().unwrap_or(0));
            tombstones += rows.tombstones();
            let mut want = vec![0u32; count as usize];
            for (node, node_rows) in model.iter().enumerate() {
                node_rows
                    .iter()
                    .for_each(|&r| want[r as usize] = node as u32);
            }
            assert_eq!(rows.row_nodes(count as usize), want, "step {step}");
        }
        // The walk went through every kind of node.
        assert!(
            most >= 3 && tombstones > 0,
            "{most} rows at most, {tombstones} tombstones"
        );
    }

    #[test]
    fn row_counts_past_the_markers_are_a_config_error() {
        assert!(check_rows(0).is_ok() && check_rows(MAX_ROWS).is_ok());
        let err = check_rows(MAX_ROWS + 1).unwrap_err();
        assert!(matches!(err, IndexError::Config(_)), "{err}");
        assert!(err.to_string().contains("u32"), "{err}");
    }
}
