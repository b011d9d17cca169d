//! Placing every score of a ranking among a few sorted keys through a table of cells (the
//! exact evaluation's ranking, `webly-eval`), AVX-512 chosen once at run time.

use crate::dot::{isa, Isa};

/// A slot [`CellTable::slots`] leaves to the caller: the score is not finite, or its cell holds
/// more than [`CELL_BOUNDS`] bounds.
pub const UNRESOLVED: u32 = u32::MAX;

/// Bounds of one cell compared without a branch ([`CellTable::slots`]).
pub const CELL_BOUNDS: usize = 2;

/// 2^23: a float in `[2^23, 2^24)` holds an integer in its low mantissa bits.
const ROUNDING: f32 = 8_388_608.0;

/// `!0x8000_0000`: the magnitude bits of an `f32`.
const MAGNITUDE: u32 = 0x7FFF_FFFF;

/// A key whose ascending order is `f32::total_cmp`'s descending order once `-0.0` is read as
/// `0.0` (`total_cmp`'s definition: flip the magnitude bits of negatives, then compare as signed
/// integers). Equal keys are the scores `==` calls equal (the two zeros are one tie, as in
/// scikit-learn), NaNs by their bits; the best score has the smallest key.
#[inline]
pub fn descending_key(s: f32) -> u32 {
    // Adding +0.0 turns -0.0 into 0.0 and leaves every other value (NaNs included) as it is.
    let bits = (s + 0.0).to_bits();
    let negative = ((bits as i32) >> 31) as u32;
    bits ^ (negative >> 1) ^ MAGNITUDE
}

/// The score of a [`descending_key`], bit for bit (`-0.0`'s key gives `0.0`).
#[inline]
pub fn score_of_key(key: u32) -> f32 {
    let ordered = key ^ MAGNITUDE;
    let negative = ((ordered as i32) >> 31) as u32;
    f32::from_bits(ordered ^ (negative >> 1))
}

/// The map from a score to its cell: the range from `best` down to `best - count / scale` cut
/// into `count` equal cells numbered from the best, with cell 0 for better scores and cell
/// `count + 1` for worse. Monotone: a better score never has a later cell (each step rounds
/// monotonically), so a score in an earlier cell than another is strictly better.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellMap {
    best: f32,
    scale: f32,
    last: f32,
}

impl CellMap {
    /// `count` cells from `best` down to `worst`; `None` unless both are finite, `best >
    /// worst` and `count` is in `1..=2^22`.
    pub fn new(best: f32, worst: f32, count: usize) -> Option<Self> {
        let range = best - worst;
        let fits = (1..=1 << 22).contains(&count);
        (range.is_finite() && range > 0.0 && fits).then(|| CellMap {
            best,
            scale: count as f32 / range,
            last: count as f32,
        })
    }

    /// Cells in all: `count + 2`.
    pub fn cells(&self) -> usize {
        self.last as usize + 2
    }

    /// The cell of a finite score `s`, in `0..=count + 1` (any for a non-finite one).
    #[inline]
    pub fn cell(&self, s: f32) -> u32 {
        // Rounded to the nearest integer by adding 2^23: monotone like any rounding.
        let v = ((self.best - s) * self.scale + 1.0)
            .max(0.0)
            .min(self.last + 1.0);
        (v + ROUNDING).to_bits() - ROUNDING.to_bits()
    }
}

/// The flag of a cell holding more than [`CELL_BOUNDS`] bounds, in a [`CellTable`] entry's
/// high half.
const SEVERAL: u32 = 1 << 31;

/// Where the ascending distinct `bounds` (keys, see [`descending_key`]) lie among the cells of
/// a [`CellMap`]: per cell, in one `u64`, the first bound from the cell on and (high half) how
/// many bounds lie in earlier cells, flagged when the cell holds more than [`CELL_BOUNDS`];
/// beside it the bound after that first one. A score then only compares the bounds of its own
/// cell (all below those of later cells) with what two gathers bring.
#[derive(Debug, Clone, Default)]
pub struct CellTable {
    map: Option<CellMap>,
    entries: Vec<u64>,
    seconds: Vec<u32>,
    counts: Vec<u32>,
}

impl CellTable {
    /// Fills the table for `map` and the ascending distinct `bounds` (no two equal), reusing
    /// its buffers.
    pub fn fill(&mut self, map: CellMap, bounds: &[u32]) {
        let cells = map.cells();
        let counts = &mut self.counts;
        counts.clear();
        counts.resize(cells + 1, 0);
        for &b in bounds {
            counts[map.cell(score_of_key(b)) as usize + 1] += 1;
        }
        for c in 1..counts.len() {
            counts[c] += counts[c - 1];
        }
        let bound = |i: u32| bounds.get(i as usize).copied().unwrap_or(u32::MAX);
        self.entries.clear();
        self.seconds.clear();
        for (c, &lo) in counts.iter().enumerate() {
            let hi = counts.get(c + 1).copied().unwrap_or(lo);
            let several = if hi - lo > CELL_BOUNDS as u32 {
                SEVERAL
            } else {
                0
            };
            self.entries
                .push(u64::from(bound(lo)) | u64::from(lo | several) << 32);
            self.seconds.push(bound(lo + 1));
        }
        self.map = Some(map);
    }

    /// The map the table was filled for (`None` before [`CellTable::fill`]).
    pub fn map(&self) -> Option<&CellMap> {
        self.map.as_ref()
    }

    /// The bounds of cell `c`: indices `lo..hi` into the bounds the table was filled with.
    pub fn range(&self, c: usize) -> (usize, usize) {
        let lo = |c: usize| self.counts.get(c).map_or(0, |&x| x as usize);
        (lo(c), lo(c + 1).max(lo(c)))
    }

    /// Sets `out[i]` to the slot of `scores[i]` among the bounds: `2j` when `j` bounds lie
    /// below its key and none equals it, `2j + 1` when bound `j` equals it, or [`UNRESOLVED`]
    /// when the score is not finite or its cell holds more than [`CELL_BOUNDS`] bounds (the
    /// caller then searches [`CellTable::range`]).
    ///
    /// Panics unless `scores` and `out` are equally long and the table was filled.
    pub fn slots(&self, scores: &[f32], out: &mut [u32]) {
        assert_eq!(scores.len(), out.len(), "one slot per score");
        let map = self.map.as_ref().expect("a filled cell table");
        #[cfg(target_arch = "x86_64")]
        if isa() == Isa::Avx512 {
            // SAFETY: avx512f was detected at run time; the table is filled (entries and
            // seconds hold map.cells() + 1 values, the kernel clamps its cells to them).
            let done = unsafe { x86::slots_avx512(scores, map, &self.entries, &self.seconds, out) };
            return self.portable(&scores[done..], &mut out[done..]);
        }
        self.portable(scores, out)
    }

    /// [`CellTable::slots`] one score at a time (the reference the AVX-512 kernel is tested
    /// against).
    pub(crate) fn portable(&self, scores: &[f32], out: &mut [u32]) {
        let map = self.map.as_ref().expect("a filled cell table");
        let last = self.entries.len() - 1;
        for (&s, o) in scores.iter().zip(out) {
            let c = (map.cell(s) as usize).min(last);
            let (entry, second) = (self.entries[c], self.seconds[c]);
            let (first, lo) = (entry as u32, (entry >> 32) as u32);
            *o = if !s.is_finite() || lo & SEVERAL != 0 {
                UNRESOLVED
            } else {
                let k = descending_key(s);
                let below = u32::from(first < k) + u32::from(second < k);
                let on = u32::from(first == k) + u32::from(second == k);
                2 * (lo + below) + on
            };
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{CellMap, MAGNITUDE, ROUNDING, SEVERAL, UNRESOLVED};

    /// Scores per AVX-512 step.
    const LANES: usize = 16;

    /// [`super::CellTable::portable`] sixteen scores at a time: keys and cells in registers,
    /// then three gathers (each cell's entry, in two halves of eight, and its second bound).
    /// Returns how many scores it placed (the rest are fewer than sixteen).
    ///
    /// # Safety
    /// `avx512f` must be available; `entries` and `seconds` equally long and not empty.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn slots_avx512(
        scores: &[f32],
        map: &CellMap,
        entries: &[u64],
        seconds: &[u32],
        out: &mut [u32],
    ) -> usize {
        let n = scores.len() / LANES * LANES;
        let last = _mm512_set1_epi32((entries.len().min(seconds.len()) - 1) as i32);
        let (one, two) = (_mm512_set1_epi32(1), _mm512_set1_epi32(2));
        let several = _mm512_set1_epi32(SEVERAL as i32);
        let magnitude = _mm512_set1_epi32(MAGNITUDE as i32);
        let infinity = _mm512_set1_epi32(f32::INFINITY.to_bits() as i32);
        let (best, scale) = (_mm512_set1_ps(map.best), _mm512_set1_ps(map.scale));
        let (zero, top) = (_mm512_setzero_ps(), _mm512_set1_ps(map.last + 1.0));
        let rounding = _mm512_set1_ps(ROUNDING);
        let rounding_bits = _mm512_set1_epi32(ROUNDING.to_bits() as i32);
        // Even dwords (the entries' low halves) and odd ones (high halves) of two registers.
        let evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let odds = _mm512_add_epi32(evens, one);
        let (pe, ps) = (
            entries.as_ptr() as *const i64,
            seconds.as_ptr() as *const i32,
        );
        for i in (0..n).step_by(LANES) {
            // SAFETY: i + 16 <= n <= the length of scores and out; every gathered index is
            // clamped to the tables' last entry.
            unsafe {
                // descending_key's +0.0 first: -0.0 is read as 0.0.
                let s = _mm512_add_ps(_mm512_loadu_ps(scores.as_ptr().add(i)), zero);
                let bits = _mm512_castps_si512(s);
                // descending_key: flip the magnitude bits of negatives, then all of them.
                let negative = _mm512_srai_epi32::<31>(bits);
                let k = _mm512_xor_si512(
                    _mm512_xor_si512(bits, _mm512_srli_epi32::<1>(negative)),
                    magnitude,
                );
                let finite = _mm512_cmplt_epu32_mask(_mm512_and_si512(bits, magnitude), infinity);
                // CellMap::cell, the same operations in the same order (max then min: a NaN
                // becomes 0 as f32::max makes it).
                let v = _mm512_add_ps(
                    _mm512_mul_ps(_mm512_sub_ps(best, s), scale),
                    _mm512_set1_ps(1.0),
                );
                let v = _mm512_min_ps(_mm512_max_ps(v, zero), top);
                let c = _mm512_sub_epi32(
                    _mm512_castps_si512(_mm512_add_ps(v, rounding)),
                    rounding_bits,
                );
                let c = _mm512_min_epu32(c, last);
                let low = _mm512_i32gather_epi64::<8>(_mm512_castsi512_si256(c), pe);
                let high = _mm512_i32gather_epi64::<8>(_mm512_extracti64x4_epi64::<1>(c), pe);
                let b0 = _mm512_permutex2var_epi32(low, evens, high);
                let lo_flag = _mm512_permutex2var_epi32(low, odds, high);
                let b1 = _mm512_i32gather_epi32::<4>(c, ps);
                let crowded = _mm512_test_epi32_mask(lo_flag, several);
                let lo = _mm512_andnot_si512(several, lo_flag);
                let mut slot = _mm512_slli_epi32::<1>(lo);
                slot = _mm512_mask_add_epi32(slot, _mm512_cmplt_epu32_mask(b0, k), slot, two);
                slot = _mm512_mask_add_epi32(slot, _mm512_cmplt_epu32_mask(b1, k), slot, two);
                slot = _mm512_mask_add_epi32(slot, _mm512_cmpeq_epi32_mask(b0, k), slot, one);
                slot = _mm512_mask_add_epi32(slot, _mm512_cmpeq_epi32_mask(b1, k), slot, one);
                let unresolved = crowded | !finite;
                slot =
                    _mm512_mask_mov_epi32(slot, unresolved, _mm512_set1_epi32(UNRESOLVED as i32));
                _mm512_storeu_si512(out.as_mut_ptr().add(i) as *mut _, slot);
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn descending_key_orders_as_total_cmp_reversed_and_inverts() {
        let v = [
            f32::NEG_INFINITY,
            -1.5,
            -1e-40,
            -0.0,
            0.0,
            1e-40,
            0.3,
            f32::from_bits(0.3f32.to_bits() + 1),
            2.0,
            f32::INFINITY,
            f32::NAN,
            -f32::NAN,
            f32::MAX,
            f32::MIN,
        ];
        for a in v {
            let a0 = a + 0.0;
            assert_eq!(score_of_key(descending_key(a)).to_bits(), a0.to_bits());
            for b in v {
                assert_eq!(
                    descending_key(a).cmp(&descending_key(b)),
                    (b + 0.0).total_cmp(&a0),
                    "{a} vs {b}"
                );
            }
        }
        assert_eq!(descending_key(-0.0), descending_key(0.0), "one tie");
        assert!(descending_key(1e-40) < descending_key(-0.0));
        assert!(descending_key(-0.0) < descending_key(-1e-40));
    }

    #[test]
    fn cells_are_monotone_in_the_score() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let map = CellMap::new(0.7, -0.3, 400).unwrap();
        let mut scores: Vec<f32> = (0..20_000).map(|_| rng.gen_range(-2.0..2.0)).collect();
        scores.extend([0.0, -0.0, 1e-40, -1e-40, 0.7, -0.3, f32::MAX, f32::MIN]);
        scores.sort_by(|a, b| b.total_cmp(a));
        let cells: Vec<u32> = scores.iter().map(|&s| map.cell(s)).collect();
        assert!(cells.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!((cells[0], *cells.last().unwrap()), (0, 401));
        assert_eq!(
            map.cell(0.7),
            1,
            "the best bound opens the first inner cell"
        );
        assert_eq!(map.cells(), 402);
        assert!(CellMap::new(0.5, 0.5, 10).is_none());
        assert!(CellMap::new(f32::INFINITY, 0.5, 10).is_none());
        assert!(CellMap::new(0.5, 0.1, 0).is_none());
    }

    /// Bounds taken from random scores (few and many per cell, ties, signed zeros), every
    /// score placed, against a binary search; the AVX-512 kernel lane for lane against the
    /// portable one.
    #[test]
    fn slots_match_a_binary_search() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for case in 0..60 {
            let n = rng.gen_range(1..400) + case;
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
            let mut bounds: Vec<u32> = scores
                .iter()
                .filter(|s| s.is_finite() && rng.gen_bool(0.2))
                .map(|&s| descending_key(s))
                .collect();
            bounds.sort_unstable();
            bounds.dedup();
            let (Some(&b), Some(&w)) = (bounds.first(), bounds.last()) else {
                continue;
            };
            let Some(map) = CellMap::new(score_of_key(b), score_of_key(w), rng.gen_range(1..50))
            else {
                continue;
            };
            let mut table = CellTable::default();
            table.fill(map, &bounds);
            let mut out = vec![0; scores.len()];
            table.slots(&scores, &mut out);
            let mut reference = vec![0; scores.len()];
            table.portable(&scores, &mut reference);
            assert_eq!(out, reference, "case {case}");
            for (&s, &slot) in scores.iter().zip(&out) {
                let (lo, hi) = table.range(map.cell(s) as usize);
                let k = descending_key(s);
                if !s.is_finite() || hi - lo > CELL_BOUNDS {
                    assert_eq!(slot, UNRESOLVED, "case {case} score {s}");
                    continue;
                }
                let j = bounds.partition_point(|&b| b < k);
                let want = 2 * j as u32 + u32::from(bounds.get(j) == Some(&k));
                assert_eq!(slot, want, "case {case} score {s}");
                assert!((lo..=hi).contains(&j), "the cell's range holds the slot");
            }
        }
    }
}
