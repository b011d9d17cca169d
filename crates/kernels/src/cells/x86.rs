//! The AVX-512 kernels of [`super::CellMap`] and [`super::CellTable`], chosen at run time by
//! their callers.

use std::arch::x86_64::*;

use super::{
    CellMap, CROWDED, LO_BITS, MAGNITUDE, PAST_FIRST, POSITIONS, ROUNDING, SLICES, UNRESOLVED,
};

/// Scores per AVX-512 step.
const LANES: usize = 16;

/// A [`CellMap`] in registers: [`CellMap::place`] sixteen scores at a time, with the same
/// operations in the same order (max then min: a NaN becomes 0 as `f32::max` makes it).
struct Placer {
    best: __m512,
    per_slice: __m512,
    zero: __m512,
    half: __m512,
    top_slice: __m512,
    scale: __m512,
    origin: __m512,
    top: __m512,
    first_cell: __m512i,
    positions: __m512,
    middle: __m512,
    rounding: __m512,
    rounding_bits: __m512i,
}

impl Placer {
    #[target_feature(enable = "avx512f")]
    fn new(map: &CellMap) -> Self {
        // SAFETY (the four loads): each array holds SLICES = 16 values.
        let (scale, origin, top, first_cell) = unsafe {
            (
                _mm512_loadu_ps(map.scale.as_ptr()),
                _mm512_loadu_ps(map.origin.as_ptr()),
                _mm512_loadu_ps(map.last.as_ptr()),
                _mm512_loadu_si512(map.first.as_ptr() as *const _),
            )
        };
        Placer {
            best: _mm512_set1_ps(map.best),
            per_slice: _mm512_set1_ps(map.per_slice),
            zero: _mm512_setzero_ps(),
            half: _mm512_set1_ps(0.5),
            top_slice: _mm512_set1_ps((SLICES - 1) as f32),
            scale,
            origin,
            top,
            first_cell,
            positions: _mm512_set1_ps(POSITIONS as f32),
            middle: _mm512_set1_ps((POSITIONS / 2) as f32),
            rounding: _mm512_set1_ps(ROUNDING),
            rounding_bits: _mm512_set1_epi32(ROUNDING.to_bits() as i32),
        }
    }

    /// The cells and the positions within them of sixteen scores: the slice, the cell
    /// within it, and the position within the cell.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn place(&self, s: __m512) -> (__m512i, __m512i) {
        let t = _mm512_sub_ps(self.best, s);
        let u = _mm512_sub_ps(_mm512_mul_ps(t, self.per_slice), self.half);
        let u = _mm512_min_ps(_mm512_max_ps(u, self.zero), self.top_slice);
        let slice = _mm512_sub_epi32(
            _mm512_castps_si512(_mm512_add_ps(u, self.rounding)),
            self.rounding_bits,
        );
        let v = _mm512_sub_ps(
            _mm512_mul_ps(t, _mm512_permutexvar_ps(slice, self.scale)),
            _mm512_permutexvar_ps(slice, self.origin),
        );
        let v = _mm512_min_ps(
            _mm512_max_ps(v, self.zero),
            _mm512_permutexvar_ps(slice, self.top),
        );
        let shifted = _mm512_add_ps(v, self.rounding);
        let within = _mm512_sub_ps(v, _mm512_sub_ps(shifted, self.rounding));
        let position = _mm512_add_ps(_mm512_mul_ps(within, self.positions), self.middle);
        let position = _mm512_sub_epi32(
            _mm512_castps_si512(_mm512_add_ps(position, self.rounding)),
            self.rounding_bits,
        );
        let cell = _mm512_add_epi32(
            _mm512_sub_epi32(_mm512_castps_si512(shifted), self.rounding_bits),
            _mm512_permutexvar_epi32(slice, self.first_cell),
        );
        (cell, position)
    }
}

/// [`super::CellMap::place`] of the scores of sixteen `keys` at a time ([`super::score_of_key`]
/// in registers): `places[i] = cell | position << 32`. Returns how many keys it placed (the
/// rest are fewer than sixteen).
///
/// # Safety
/// `avx512f` must be available; `places` as long as `keys`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn places_avx512(map: &CellMap, keys: &[u32], places: &mut [u64]) -> usize {
    let n = keys.len().min(places.len()) / LANES * LANES;
    let placer = Placer::new(map);
    let magnitude = _mm512_set1_epi32(MAGNITUDE as i32);
    for i in (0..n).step_by(LANES) {
        // SAFETY: i + 16 <= n <= the length of keys and places.
        unsafe {
            // score_of_key: flip the magnitude bits, then those of negatives back.
            let ordered = _mm512_xor_si512(
                _mm512_loadu_si512(keys.as_ptr().add(i) as *const _),
                magnitude,
            );
            let negative = _mm512_srai_epi32::<31>(ordered);
            let bits = _mm512_xor_si512(ordered, _mm512_srli_epi32::<1>(negative));
            let (cell, position) = placer.place(_mm512_castsi512_ps(bits));
            let low = _mm512_unpacklo_epi32(cell, position);
            let high = _mm512_unpackhi_epi32(cell, position);
            // unpack works within 128-bit lanes: lanes 0-1, 4-5, ... in `low`, 2-3, 6-7,
            // ... in `high`; put them back in order.
            let first =
                _mm512_permutex2var_epi64(low, _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11), high);
            let second =
                _mm512_permutex2var_epi64(low, _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15), high);
            let out = places.as_mut_ptr().add(i) as *mut __m512i;
            _mm512_storeu_si512(out, first);
            _mm512_storeu_si512(out.add(1), second);
        }
    }
    n
}

/// [`super::CellTable::portable`] sixteen scores at a time: keys, cells and positions in
/// registers, then each cell's entry in two gathers of eight. Returns how many scores it
/// placed (the rest are fewer than sixteen).
///
/// # Safety
/// `avx512f` must be available; `entries` not empty.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn slots_avx512(
    scores: &[f32],
    map: &CellMap,
    entries: &[u64],
    out: &mut [u32],
) -> usize {
    let n = scores.len() / LANES * LANES;
    let placer = Placer::new(map);
    let last = _mm512_set1_epi32((entries.len() - 1) as i32);
    let one = _mm512_set1_epi32(1);
    let magnitude = _mm512_set1_epi32(MAGNITUDE as i32);
    let infinity = _mm512_set1_epi32(f32::INFINITY.to_bits() as i32);
    let lo_mask = _mm512_set1_epi32((1 << LO_BITS) - 1);
    let crowded = _mm512_set1_epi32(CROWDED as i32);
    let past = _mm512_set1_epi32(PAST_FIRST as i32);
    let zero = _mm512_setzero_ps();
    // Even dwords (the entries' low halves) and odd ones (high halves) of two registers.
    let evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odds = _mm512_add_epi32(evens, one);
    let pe = entries.as_ptr() as *const i64;
    for i in (0..n).step_by(LANES) {
        // SAFETY: i + 16 <= n <= the length of scores and out; every gathered index is
        // clamped to the entries' last.
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
            let (c, position) = placer.place(s);
            let c = _mm512_min_epu32(c, last);
            let low = _mm512_i32gather_epi64::<8>(_mm512_castsi512_si256(c), pe);
            let high = _mm512_i32gather_epi64::<8>(_mm512_extracti64x4_epi64::<1>(c), pe);
            let first = _mm512_permutex2var_epi32(low, evens, high);
            let rest = _mm512_permutex2var_epi32(low, odds, high);
            let lo = _mm512_and_si512(rest, lo_mask);
            let second = _mm512_srli_epi32::<LO_BITS>(rest);
            let past_first = _mm512_cmplt_epu32_mask(first, k);
            let past_second = past_first & _mm512_cmpgt_epu32_mask(position, second);
            let further = past_first
                & (_mm512_cmpeq_epi32_mask(second, crowded)
                    | _mm512_cmpeq_epi32_mask(position, second));
            let mut slot = _mm512_mask_add_epi32(lo, past_first, lo, one);
            slot = _mm512_mask_add_epi32(slot, past_second, slot, one);
            slot = _mm512_slli_epi32::<1>(slot);
            slot = _mm512_mask_add_epi32(slot, _mm512_cmpeq_epi32_mask(first, k), slot, one);
            slot = _mm512_mask_or_epi32(slot, further, lo, past);
            slot = _mm512_mask_mov_epi32(slot, !finite, _mm512_set1_epi32(UNRESOLVED as i32));
            _mm512_storeu_si512(out.as_mut_ptr().add(i) as *mut _, slot);
        }
    }
    n
}
