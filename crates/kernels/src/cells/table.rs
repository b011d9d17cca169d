//! The table of a ranking's relevant keys among the cells of a [`CellMap`] ([`CellTable`]),
//! and the placing of every score through it.

#[cfg(target_arch = "x86_64")]
use super::x86;
use super::{
    descending_key, score_of_key, CellMap, CELL_BOUNDS, CROWDED, LO_BITS, ONE_BOUND, PAST_FIRST,
    POSITION_BITS, UNRESOLVED,
};
use crate::dot::{isa, Isa};

/// Most bounds a [`CellTable`] holds: their count before a cell fits the entry's 20 bits.
pub const MAX_BOUNDS: usize = (1 << LO_BITS) - 1;

/// Most keys of one cell for which [`CellTable::build`] finishes the keys ordered by cell with
/// an insertion sort (a key moves only within its cell, so at most this many places); with a
/// more crowded cell they are sorted by comparison.
const INSERTION_CELL: u32 = 32;

/// Where the ascending `bounds` (keys, see [`descending_key`]; repeats allowed) lie among the
/// cells of a [`CellMap`]. Per cell one `u64`: the first bound from the cell on (low 32 bits),
/// how many bounds lie in earlier cells (20 bits), and where in the cell its second bound
/// lies (12 bits: a position of the [`CellMap`], or a code for a cell of at most one bound, or
/// one for a cell of more than [`CELL_BOUNDS`]). A score then compares its key with the first
/// bound, and its position with the second's; only a score past the first bound of a crowded
/// cell, or at the second's very position, is left to its caller ([`PAST_FIRST`]). One gather
/// of eight bytes a score.
#[derive(Debug, Clone, Default)]
pub struct CellTable {
    map: Option<CellMap>,
    /// One per cell, and one more that counts all the bounds.
    entries: Vec<u64>,
    /// Scratch of [`CellTable::build`]: each key's cell and position, the keys before each
    /// cell, and the keys with their cells and positions (above the key's 32 bits, so that
    /// they sort as the keys).
    places: Vec<u64>,
    starts: Vec<u32>,
    sorted: Vec<u64>,
}

impl CellTable {
    /// Sorts `keys` (any order, repeats allowed, each a finite score's key, at most
    /// [`MAX_BOUNDS`] of them) ascending into `bounds` and fills the table for `map` with them,
    /// reusing its buffers.
    ///
    /// A counting sort by cell (keys of earlier cells are smaller: the map is monotone),
    /// finished by an insertion sort within the cells, or by a comparison sort when a cell
    /// holds more than 32 keys: O(keys + cells) unless the keys crowd a few
    /// cells. The per-cell counts of the sort are the table's.
    ///
    /// Panics when there are more than [`MAX_BOUNDS`] keys.
    pub fn build(&mut self, map: CellMap, keys: &[u32], bounds: &mut Vec<u32>) {
        assert!(keys.len() <= MAX_BOUNDS, "at most {MAX_BOUNDS} bounds");
        debug_assert!(keys.iter().all(|&k| score_of_key(k).is_finite()));
        let cells = map.cells();
        self.places.clear();
        self.places.resize(keys.len(), 0);
        map.places(keys, &mut self.places);
        // Keys of cell c counted at c + 2: after the running sums starts[c + 1] is where cell
        // c begins, and the scatter moves it on to where c ends, i.e. where c + 1 begins; so
        // then starts[c] is where cell c begins, for every c.
        let starts = &mut self.starts;
        starts.clear();
        starts.resize(cells + 2, 0);
        let mut crowded = 0;
        for &p in &self.places {
            let count = &mut starts[p as u32 as usize + 2];
            *count += 1;
            crowded = crowded.max(*count);
        }
        prefix_sum(starts);
        let sorted = &mut self.sorted;
        sorted.clear();
        sorted.resize(keys.len(), 0);
        for (&k, &p) in keys.iter().zip(&self.places) {
            let at = &mut starts[p as u32 as usize + 1];
            // cell (20 bits) | position (12) | key (32): ordered as the keys.
            sorted[*at as usize] = (p << 44) | (p >> 32) << 32 | u64::from(k);
            *at += 1;
        }
        starts.pop();
        if crowded <= INSERTION_CELL {
            insertion_sort(sorted);
        } else {
            sorted.sort_unstable();
        }
        bounds.clear();
        bounds.extend(sorted.iter().map(|&x| x as u32));
        // Per cell c: lo = starts[c] bounds lie in earlier cells, hi - lo in c itself. Two
        // sentinels (key u32::MAX) stand for the bounds past the last.
        sorted.extend([u64::MAX; CELL_BOUNDS]);
        let entry = |lo: u32, hi: u32| {
            let first = sorted[lo as usize] as u32;
            // Without a branch: the cells' counts follow no pattern.
            let count = hi - lo;
            let code = if count > CELL_BOUNDS as u32 {
                CROWDED
            } else {
                ONE_BOUND
            };
            let position = (sorted[lo as usize + 1] >> 32) as u32 & POSITION_BITS;
            let second = if count == CELL_BOUNDS as u32 {
                position
            } else {
                code
            };
            u64::from(first) | u64::from(lo) << 32 | u64::from(second) << (32 + LO_BITS)
        };
        let total = keys.len() as u32;
        self.entries.clear();
        self.entries
            .extend(starts.windows(2).map(|w| entry(w[0], w[1])));
        self.entries.push(entry(total, total));
        self.map = Some(map);
    }

    /// The bounds of cell `c`: indices `lo..hi` into the bounds the table was built with.
    pub fn range(&self, c: usize) -> (usize, usize) {
        let lo = |c: usize| self.entries.get(c).map_or(0, |&e| lo_of(e) as usize);
        (lo(c), lo(c + 1).max(lo(c)))
    }

    /// Sets `out[i]` to the slot of `scores[i]` among the bounds: `2j` when `j` bounds lie
    /// below its key and none equals it, `2j + 1` when bound `j` is the first to equal it;
    /// [`PAST_FIRST`]` | j` when it lies past bound `j`, the first of a cell holding more than
    /// [`CELL_BOUNDS`], or at the very position of its cell's second bound (the caller then
    /// compares the bounds from `j + 1` on); or [`UNRESOLVED`] when it is not finite.
    ///
    /// Panics unless `scores` and `out` are equally long and the table was built.
    pub fn slots(&self, scores: &[f32], out: &mut [u32]) {
        assert_eq!(scores.len(), out.len(), "one slot per score");
        let map = self.map.as_ref().expect("a built cell table");
        #[cfg(target_arch = "x86_64")]
        if isa() == Isa::Avx512 {
            // SAFETY: avx512f was detected at run time; the table is built (entries holds
            // map.cells() + 1 values, the kernel clamps its cells to them).
            let done = unsafe { x86::slots_avx512(scores, map, &self.entries, out) };
            return self.portable(&scores[done..], &mut out[done..]);
        }
        self.portable(scores, out)
    }

    /// [`CellTable::slots`] one score at a time (the reference the AVX-512 kernel is tested
    /// against).
    pub(crate) fn portable(&self, scores: &[f32], out: &mut [u32]) {
        let map = self.map.as_ref().expect("a built cell table");
        let last = self.entries.len() - 1;
        for (&s, o) in scores.iter().zip(out) {
            let (c, position) = map.place(s);
            let entry = self.entries[(c as usize).min(last)];
            let (first, lo, second) = (entry as u32, lo_of(entry), second_of(entry));
            let k = descending_key(s);
            let past_first = first < k;
            // Positions run to POSITIONS, so the codes above it are never passed or met.
            let past_second = past_first && position > second;
            let further = past_first && (second == CROWDED || position == second);
            *o = if !s.is_finite() {
                UNRESOLVED
            } else if further {
                PAST_FIRST | lo
            } else {
                2 * (lo + u32::from(past_first) + u32::from(past_second)) + u32::from(first == k)
            };
        }
    }
}

/// The count of bounds before an entry's cell.
fn lo_of(entry: u64) -> u32 {
    (entry >> 32) as u32 & ((1 << LO_BITS) - 1)
}

/// The position field of an entry: its cell's second bound's position, or a code.
fn second_of(entry: u64) -> u32 {
    (entry >> (32 + LO_BITS)) as u32
}

/// Running sums in place: `v[i]` becomes `v[0] + ... + v[i]`.
fn prefix_sum(v: &mut [u32]) {
    let mut sum = 0;
    for x in v {
        sum += *x;
        *x = sum;
    }
}

/// Sorts `v` ascending by insertion: fast when every value lies near its place.
fn insertion_sort<T: Ord + Copy>(v: &mut [T]) {
    for i in 1..v.len() {
        let x = v[i];
        let mut j = i;
        while j > 0 && v[j - 1] > x {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Builds a table of `keys` over about `count` cells, places every score, and checks each
    /// slot against a binary search, the AVX-512 kernel lane for lane against the portable
    /// one. Returns how many scores were placed without a search (`None` when the keys span
    /// no range).
    fn check_slots(scores: &[f32], keys: &[u32], count: usize, case: &str) -> Option<usize> {
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        let (b, w) = (*sorted.first()?, *sorted.last()?);
        let map = CellMap::new(score_of_key(b), score_of_key(w), count, keys)?;
        let (mut table, mut bounds) = (CellTable::default(), Vec::new());
        table.build(map, keys, &mut bounds);
        assert_eq!(bounds, sorted, "{case}: the keys sorted");
        let mut out = vec![0; scores.len()];
        table.slots(scores, &mut out);
        let mut reference = vec![0; scores.len()];
        table.portable(scores, &mut reference);
        assert_eq!(out, reference, "{case}");
        let mut resolved = 0;
        for (&s, &slot) in scores.iter().zip(&out) {
            let (lo, hi) = table.range(map.cell(s) as usize);
            let k = descending_key(s);
            // Past the cell's first bound, a crowded cell or a tie of positions with the
            // second bound is left to the search.
            let past_first = lo < hi && sorted[lo] < k;
            let position = |s: f32| map.place(s).1;
            let tied = hi - lo == 2 && position(s) == position(score_of_key(sorted[lo + 1]));
            if !s.is_finite() {
                assert_eq!(slot, UNRESOLVED, "{case}: score {s}");
                continue;
            }
            if past_first && (hi - lo > CELL_BOUNDS || tied) {
                assert_eq!(slot, PAST_FIRST | lo as u32, "{case}: score {s}");
                continue;
            }
            resolved += 1;
            let j = sorted.partition_point(|&b| b < k);
            let want = 2 * j as u32 + u32::from(sorted.get(j) == Some(&k));
            assert_eq!(slot, want, "{case}: score {s}");
            assert!((lo..=hi).contains(&j), "the cell's range holds the slot");
        }
        Some(resolved)
    }

    /// Keys taken from random scores (few and many per cell, cells crowded past the insertion
    /// sort, repeats, signed zeros, non-finite scores to place).
    #[test]
    fn slots_match_a_binary_search() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for case in 0..80 {
            let n = rng.gen_range(1..400) + 4 * case;
            let coarse = case % 3 == 0;
            let mut scores: Vec<f32> = (0..n)
                .map(|_| {
                    let s = rng.gen_range(-1.0f32..1.0);
                    if coarse {
                        (s * 8.0).round() / 8.0
                    } else {
                        s
                    }
                })
                .collect();
            if case % 4 == 1 {
                scores.extend([0.0, -0.0, f32::NAN, f32::INFINITY, -f32::NAN]);
            }
            let keys: Vec<u32> = scores
                .iter()
                .filter(|s| s.is_finite() && rng.gen_bool(0.3))
                .map(|&s| descending_key(s))
                .collect();
            // 1 to 3 cells crowd the keys (a comparison sort), up to 60 spread them.
            let count = rng.gen_range(1..60);
            let resolved = check_slots(&scores, &keys, count, &format!("case {case}"));
            if let (Some(resolved), true) = (resolved, count > 3 * keys.len()) {
                assert!(
                    resolved * 4 > scores.len() * 3,
                    "case {case}: {resolved} resolved"
                );
            }
        }
    }

    /// Two bounds in one cell (one cell a slice: 0.51 and 0.512 share the eighth), and every
    /// seventh float between and around them: each position of the cell is met, those just
    /// past and just short of the second bound's included.
    #[test]
    fn slots_around_a_second_bound_match_a_binary_search() {
        let keys: Vec<u32> = [0.9f32, 0.51, 0.512, 0.1].map(descending_key).to_vec();
        let mut scores = Vec::new();
        let mut s = 0.505f32;
        while s < 0.52 {
            scores.push(s);
            s = f32::from_bits(s.to_bits() + 7);
        }
        let map = CellMap::new(0.9, 0.1, 16, &keys).unwrap();
        assert_eq!(map.cell(0.51), map.cell(0.512), "one cell");
        let resolved = check_slots(&scores, &keys, 16, "two bounds").unwrap();
        assert!(
            resolved * 100 > scores.len() * 99,
            "{resolved} of {}",
            scores.len()
        );
    }

    #[test]
    fn insertion_sort_sorts() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
        for n in [0, 1, 2, 17, 300] {
            let mut v: Vec<u64> = (0..n).map(|_| rng.gen_range(0..50)).collect();
            let mut want = v.clone();
            want.sort_unstable();
            insertion_sort(&mut v);
            assert_eq!(v, want);
        }
    }
}
