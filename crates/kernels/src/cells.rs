//! Placing every score of a ranking among a few sorted keys through a table of cells (the
//! exact evaluation's ranking, `webly-eval`), AVX-512 chosen once at run time.

use crate::dot::{isa, Isa};

/// A slot [`slots_of_scores`] leaves to the caller: the score is not finite, or its cell holds
/// more than [`CELL_BOUNDS`] bounds.
pub const UNRESOLVED: u32 = u32::MAX;

/// Bounds of one cell compared without a branch; `bounds` must end with this many
/// `u32::MAX` after the real ones.
pub const CELL_BOUNDS: usize = 2;

/// 2^23: a float in `[2^23, 2^24)` holds an integer in its low mantissa bits.
const ROUNDING: f32 = 8_388_608.0;

/// `!0x8000_0000`: the magnitude bits of an `f32`.
const MAGNITUDE: u32 = 0x7FFF_FFFF;

/// A key whose ascending order is `f32::total_cmp`'s descending order (its definition: flip
/// the magnitude bits of negatives, then compare as signed integers), so equal keys are
/// exactly the scores `total_cmp` calls equal, and the best score has the smallest key.
#[inline]
pub fn descending_key(s: f32) -> u32 {
    let bits = s.to_bits();
    let negative = ((bits as i32) >> 31) as u32;
    bits ^ (negative >> 1) ^ MAGNITUDE
}

/// The score of a [`descending_key`], bit for bit.
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

/// Sets `out[i]` to the slot of `scores[i]` among the ascending distinct `bounds` (keys, see
/// [`descending_key`]): `2j` when `j` bounds lie below its key and none equals it, `2j + 1`
/// when `bounds[j]` equals it, or [`UNRESOLVED`] when the score is not finite or its cell
/// holds more than [`CELL_BOUNDS`] bounds (the caller then searches).
///
/// `first[c]` counts the bounds in cells before `c` (`map.cells() + 1` entries), so a score
/// only compares the bounds of its own cell, all below those of later cells. `bounds` holds
/// the real bounds followed by [`CELL_BOUNDS`] `u32::MAX`. Given tables that break these rules
/// the slots are wrong but every read stays inside the slices (indices are clamped).
///
/// Panics unless `scores` and `out` are equally long, `first` has at least 2 entries and
/// `bounds` at least [`CELL_BOUNDS`].
pub fn slots_of_scores(
    scores: &[f32],
    map: &CellMap,
    first: &[u32],
    bounds: &[u32],
    out: &mut [u32],
) {
    assert_eq!(scores.len(), out.len(), "one slot per score");
    assert!(
        first.len() >= 2 && bounds.len() >= CELL_BOUNDS,
        "cell tables too short"
    );
    #[cfg(target_arch = "x86_64")]
    if isa() == Isa::Avx512 {
        // SAFETY: avx512f was detected at run time; shapes checked above.
        let done = unsafe { x86::slots_avx512(scores, map, first, bounds, out) };
        return portable(&scores[done..], map, first, bounds, &mut out[done..]);
    }
    portable(scores, map, first, bounds, out)
}

/// The slots one score at a time (the reference the AVX-512 kernel is tested against).
pub(crate) fn portable(
    scores: &[f32],
    map: &CellMap,
    first: &[u32],
    bounds: &[u32],
    out: &mut [u32],
) {
    let (last_cell, last_lo) = (first.len() - 2, bounds.len() - CELL_BOUNDS);
    for (&s, o) in scores.iter().zip(out) {
        let c = (map.cell(s) as usize).min(last_cell);
        let (lo, hi) = (first[c] as usize, first[c + 1] as usize);
        *o = if !s.is_finite() || hi.saturating_sub(lo) > CELL_BOUNDS {
            UNRESOLVED
        } else {
            let (k, lo) = (descending_key(s), lo.min(last_lo));
            let near = &bounds[lo..lo + CELL_BOUNDS];
            let below = near.iter().map(|&b| u32::from(b < k)).sum::<u32>();
            let on = near.iter().map(|&b| u32::from(b == k)).sum::<u32>();
            2 * (lo as u32 + below) + on
        };
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{CellMap, CELL_BOUNDS, MAGNITUDE, ROUNDING, UNRESOLVED};

    /// Scores per AVX-512 step.
    const LANES: usize = 16;

    /// [`super::portable`] sixteen scores at a time: keys and cells in registers, then four
    /// gathers (the cell's first bound, the next cell's, and the cell's two bounds). Returns
    /// how many scores it placed (the rest are fewer than sixteen).
    ///
    /// # Safety
    /// `avx512f` must be available; shapes as [`super::slots_of_scores`] checks them.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn slots_avx512(
        scores: &[f32],
        map: &CellMap,
        first: &[u32],
        bounds: &[u32],
        out: &mut [u32],
    ) -> usize {
        let n = scores.len() / LANES * LANES;
        let last_cell = _mm512_set1_epi32((first.len() - 2) as i32);
        let last_lo = _mm512_set1_epi32((bounds.len() - CELL_BOUNDS) as i32);
        let (one, two) = (_mm512_set1_epi32(1), _mm512_set1_epi32(2));
        let wide = _mm512_set1_epi32(CELL_BOUNDS as i32);
        let magnitude = _mm512_set1_epi32(MAGNITUDE as i32);
        let infinity = _mm512_set1_epi32(f32::INFINITY.to_bits() as i32);
        let (best, scale) = (_mm512_set1_ps(map.best), _mm512_set1_ps(map.scale));
        let (zero, top) = (_mm512_setzero_ps(), _mm512_set1_ps(map.last + 1.0));
        let rounding = _mm512_set1_ps(ROUNDING);
        let rounding_bits = _mm512_set1_epi32(ROUNDING.to_bits() as i32);
        let (pf, pb) = (first.as_ptr() as *const i32, bounds.as_ptr() as *const i32);
        for i in (0..n).step_by(LANES) {
            // SAFETY: i + 16 <= n <= the length of scores and out; every gathered index is
            // clamped to its table: cells to first.len() - 2 (+1 stays inside), lo to
            // bounds.len() - 2 (+1 stays inside).
            unsafe {
                let s = _mm512_loadu_ps(scores.as_ptr().add(i));
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
                let c = _mm512_min_epu32(c, last_cell);
                let lo = _mm512_i32gather_epi32::<4>(c, pf);
                let hi = _mm512_i32gather_epi32::<4>(_mm512_add_epi32(c, one), pf);
                let several = _mm512_cmpgt_epu32_mask(_mm512_sub_epi32(hi, lo), wide)
                    & _mm512_cmpgt_epu32_mask(hi, lo);
                let at = _mm512_min_epu32(lo, last_lo);
                let b0 = _mm512_i32gather_epi32::<4>(at, pb);
                let b1 = _mm512_i32gather_epi32::<4>(_mm512_add_epi32(at, one), pb);
                let mut slot = _mm512_slli_epi32::<1>(at);
                slot = _mm512_mask_add_epi32(slot, _mm512_cmplt_epu32_mask(b0, k), slot, two);
                slot = _mm512_mask_add_epi32(slot, _mm512_cmplt_epu32_mask(b1, k), slot, two);
                slot = _mm512_mask_add_epi32(slot, _mm512_cmpeq_epi32_mask(b0, k), slot, one);
                slot = _mm512_mask_add_epi32(slot, _mm512_cmpeq_epi32_mask(b1, k), slot, one);
                let unresolved = several | !finite;
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
            assert_eq!(score_of_key(descending_key(a)).to_bits(), a.to_bits());
            for b in v {
                assert_eq!(
                    descending_key(a).cmp(&descending_key(b)),
                    b.total_cmp(&a),
                    "{a} vs {b}"
                );
            }
        }
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
            let mut first = vec![0u32; map.cells() + 1];
            for &k in &bounds {
                first[map.cell(score_of_key(k)) as usize + 1] += 1;
            }
            for c in 1..first.len() {
                first[c] += first[c - 1];
            }
            let real = bounds.len();
            bounds.extend([u32::MAX; CELL_BOUNDS]);
            let mut out = vec![0; scores.len()];
            slots_of_scores(&scores, &map, &first, &bounds, &mut out);
            let mut reference = vec![0; scores.len()];
            portable(&scores, &map, &first, &bounds, &mut reference);
            assert_eq!(out, reference, "case {case}");
            for (&s, &slot) in scores.iter().zip(&out) {
                let c = map.cell(s) as usize;
                if !s.is_finite() || first[c + 1] - first[c] > CELL_BOUNDS as u32 {
                    assert_eq!(slot, UNRESOLVED, "case {case} score {s}");
                    continue;
                }
                let k = descending_key(s);
                let j = bounds[..real].partition_point(|&b| b < k);
                let want = 2 * j as u32 + u32::from(bounds[j] == k);
                assert_eq!(slot, want, "case {case} score {s}");
            }
        }
    }

    #[test]
    fn tables_that_break_the_rules_stay_in_bounds() {
        let map = CellMap::new(1.0, 0.0, 300).unwrap();
        let bounds = [5, u32::MAX, u32::MAX];
        let first = [0, 7, 9];
        let scores: Vec<f32> = (0..37).map(|i| i as f32 / 20.0 - 0.5).collect();
        let mut out = vec![0; 37];
        slots_of_scores(&scores, &map, &first, &bounds, &mut out);
        assert!(out.iter().all(|&s| s == UNRESOLVED || s < 8), "{out:?}");
    }
}
