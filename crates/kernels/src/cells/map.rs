//! The map from a score to its cell ([`CellMap`]): equal slices of the range, each cut into its
//! share of the cells, and a score's position within its cell.

#[cfg(target_arch = "x86_64")]
use super::x86;
use super::{score_of_key, POSITIONS, ROUNDING, SLICES};
use crate::dot::{isa, Isa};

/// Most cells a [`CellMap`] can hold (its capacity, not a choice: a caller picks how many it
/// asks for): with the one a slice it may add, a cell number fits the 20 bits
/// [`super::CellTable::build`] sorts it in.
pub const CELL_CAPACITY: usize = (1 << 20) - SLICES;

/// Bounds sampled by [`CellMap::new`] to share the cells among the slices.
const SAMPLE: usize = 4096;

/// The map from a score to its cell. The range from `best` down to `worst` is cut into
/// 16 equal slices, and each slice into its share of the cells, in proportion to the
/// bounds that fall in it: where the relevant scores crowd (the middle of a bell curve), the
/// cells are narrower, so that a cell seldom holds more than [`super::CELL_BOUNDS`] of them. Cells
/// are numbered from the best; scores better than `best` share the first cell, worse than
/// `worst` the last.
///
/// Monotone: a better score never has a later cell. The slice and the cell within it are each
/// a monotone rounding of a linear map, clamped to the slice's own run of cells, and the runs
/// follow each other. So a score in an earlier cell than another is strictly better.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellMap {
    pub(super) best: f32,
    /// Slices per unit of `best - s`.
    pub(super) per_slice: f32,
    /// Per slice: cells per unit of `best - s`, what is subtracted after, its last cell
    /// within the slice, and its first cell.
    pub(super) scale: [f32; SLICES],
    pub(super) origin: [f32; SLICES],
    pub(super) last: [f32; SLICES],
    pub(super) first: [u32; SLICES],
    cells: usize,
}

impl CellMap {
    /// About `count` cells from `best` down to `worst`, shared among the slices as the
    /// `bounds` (keys, [`super::descending_key`]; any order) fall in them, at least one a slice;
    /// `None` unless both scores are finite, `best > worst` and `count` is in
    /// `1..=`[`CELL_CAPACITY`].
    pub fn new(best: f32, worst: f32, count: usize, bounds: &[u32]) -> Option<Self> {
        let range = best - worst;
        let fits = (1..=CELL_CAPACITY).contains(&count);
        if !(range.is_finite() && range > 0.0 && fits) {
            return None;
        }
        let mut map = CellMap {
            best,
            per_slice: SLICES as f32 / range,
            scale: [0.0; SLICES],
            origin: [0.0; SLICES],
            last: [0.0; SLICES],
            first: [0; SLICES],
            cells: 0,
        };
        let mut weights = [0usize; SLICES];
        let step = bounds.len().div_ceil(SAMPLE).max(1);
        for &b in bounds.iter().step_by(step) {
            weights[map.slice(score_of_key(b))] += 1;
        }
        let total = weights.iter().sum::<usize>().max(1);
        for (i, &w) in weights.iter().enumerate() {
            let n = (count * w / total).max(1);
            // The local cell round((best - s) * per_slice * n - i * n - 0.5) runs from 0 to
            // n - 1 over the slice.
            map.scale[i] = map.per_slice * n as f32;
            map.origin[i] = (i * n) as f32 + 0.5;
            map.last[i] = (n - 1) as f32;
            map.first[i] = map.cells as u32;
            map.cells += n;
        }
        Some(map)
    }

    /// Cells in all.
    pub fn cells(&self) -> usize {
        self.cells
    }

    /// The slice of a score: `round(clamp((best - s) * per_slice - 0.5, 0, SLICES - 1))`.
    #[inline]
    fn slice(&self, s: f32) -> usize {
        let u = ((self.best - s) * self.per_slice - 0.5)
            .max(0.0)
            .min((SLICES - 1) as f32);
        rounded(u) as usize
    }

    /// The cell of a score, in `0..cells` (any cell for a non-finite one).
    #[inline]
    pub fn cell(&self, s: f32) -> u32 {
        self.place(s).0
    }

    /// `places[i] = cell | position << 32` of the score of `keys[i]` ([`CellMap::place`];
    /// AVX-512 where present).
    pub(super) fn places(&self, keys: &[u32], places: &mut [u64]) {
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if isa() == Isa::Avx512 {
            // SAFETY: avx512f was detected at run time.
            done = unsafe { x86::places_avx512(self, keys, places) };
        }
        for (&k, p) in keys[done..].iter().zip(&mut places[done..]) {
            let (cell, position) = self.place(score_of_key(k));
            *p = u64::from(cell) | u64::from(position) << 32;
        }
    }

    /// The cell of a score and its position within the cell, in `0..=POSITIONS`: monotone
    /// too, so within one cell a score at an earlier position is strictly better.
    #[inline]
    pub(super) fn place(&self, s: f32) -> (u32, u32) {
        let i = self.slice(s);
        let v = ((self.best - s) * self.scale[i] - self.origin[i])
            .max(0.0)
            .min(self.last[i]);
        // v - round(v), in [-0.5, 0.5] and exact: where v lies in its cell.
        let within = v - ((v + ROUNDING) - ROUNDING);
        let position = within * POSITIONS as f32 + (POSITIONS / 2) as f32;
        (self.first[i] + rounded(v), rounded(position))
    }
}

/// `v` (in `0..2^22`) rounded to the nearest integer by adding 2^23: monotone like any
/// rounding.
#[inline]
fn rounded(v: f32) -> u32 {
    (v + ROUNDING).to_bits() - ROUNDING.to_bits()
}

#[cfg(test)]
mod tests {
    use super::super::descending_key;
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn cells_are_monotone_in_the_score() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        // Bounds on a bell curve from 0.7 to -0.3: the middle slices get most cells.
        let mut bounds: Vec<u32> = (0..3000)
            .map(|_| (0..6).map(|_| rng.gen_range(-0.05f32..0.1)).sum::<f32>())
            .chain([0.7, -0.3])
            .map(descending_key)
            .collect();
        bounds.sort_unstable();
        bounds.dedup();
        let map = CellMap::new(0.7, -0.3, 400, &bounds).unwrap();
        let mut scores: Vec<f32> = (0..20_000).map(|_| rng.gen_range(-2.0..2.0)).collect();
        scores.extend([0.0, -0.0, 1e-40, -1e-40, 0.7, -0.3, f32::MAX, f32::MIN]);
        scores.sort_by(|a, b| b.total_cmp(a));
        let cells: Vec<u32> = scores.iter().map(|&s| map.cell(s)).collect();
        assert!(cells.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(cells[0], 0);
        assert_eq!(*cells.last().unwrap() as usize, map.cells() - 1);
        assert!(
            (400 - SLICES..=400 + SLICES).contains(&map.cells()),
            "{}",
            map.cells()
        );
        // Cells a slice: at least one each, and most where the bounds crowd (around 0.15),
        // far more than in the tail (0.65) or than an equal share.
        let per_slice: Vec<u32> = (0..SLICES).map(|i| map.last[i] as u32 + 1).collect();
        assert!(per_slice.iter().all(|&n| n >= 1));
        let (middle, tail) = (per_slice[map.slice(0.15)], per_slice[map.slice(0.65)]);
        assert!(middle >= 20 * tail, "{per_slice:?}");
        assert!(middle as usize >= 2 * 400 / SLICES, "{per_slice:?}");
        assert!(CellMap::new(0.5, 0.5, 10, &[]).is_none());
        assert!(CellMap::new(f32::INFINITY, 0.5, 10, &[]).is_none());
        assert!(CellMap::new(0.5, 0.1, 0, &[]).is_none());
        // No bounds: one cell a slice at least, still monotone.
        let bare = CellMap::new(0.5, 0.1, 40, &[]).unwrap();
        assert!(bare.cell(0.5) <= bare.cell(0.3) && bare.cell(0.3) <= bare.cell(0.1));
    }
}
