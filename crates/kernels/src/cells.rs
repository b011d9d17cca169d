//! Placing every score of a ranking among a few sorted keys through a table of cells (the
//! exact evaluation's ranking, `webly-eval`), AVX-512 chosen once at run time.

use crate::dot::{isa, Isa};

/// A slot [`CellTable::slots`] leaves to the caller: the score is not finite.
pub const UNRESOLVED: u32 = u32::MAX;

/// The flag of a slot [`CellTable::slots`] leaves to the caller: `PAST_FIRST | j` says that
/// the score's key lies above bound `j`, the first of its cell, and is yet to be compared with
/// the bounds after it (those of a crowded cell, or the second when the score sits at its very
/// position: a relevant image itself, most often). No slot has this bit otherwise.
pub const PAST_FIRST: u32 = 1 << 31;

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

/// Slices of a [`CellMap`]'s range, each with its own share of the cells (one AVX-512
/// register holds a value per slice).
const SLICES: usize = 16;

/// Most cells a [`CellMap`] is asked for: with the one a slice it may add, a cell number fits
/// the 20 bits [`CellTable::build`] sorts it in.
pub const MAX_CELLS: usize = (1 << 20) - SLICES;

/// Bounds sampled by [`CellMap::new`] to share the cells among the slices.
const SAMPLE: usize = 4096;

/// The map from a score to its cell. The range from `best` down to `worst` is cut into
/// 16 equal slices, and each slice into its share of the cells, in proportion to the
/// bounds that fall in it: where the relevant scores crowd (the middle of a bell curve), the
/// cells are narrower, so that a cell seldom holds more than [`CELL_BOUNDS`] of them. Cells
/// are numbered from the best; scores better than `best` share the first cell, worse than
/// `worst` the last.
///
/// Monotone: a better score never has a later cell. The slice and the cell within it are each
/// a monotone rounding of a linear map, clamped to the slice's own run of cells, and the runs
/// follow each other. So a score in an earlier cell than another is strictly better.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellMap {
    best: f32,
    /// Slices per unit of `best - s`.
    per_slice: f32,
    /// Per slice: cells per unit of `best - s`, what is subtracted after, its last cell
    /// within the slice, and its first cell.
    scale: [f32; SLICES],
    origin: [f32; SLICES],
    last: [f32; SLICES],
    first: [u32; SLICES],
    cells: usize,
}

impl CellMap {
    /// About `count` cells from `best` down to `worst`, shared among the slices as the
    /// `bounds` (keys, [`descending_key`]; any order) fall in them, at least one a slice;
    /// `None` unless both scores are finite, `best > worst` and `count` is in
    /// `1..=`[`MAX_CELLS`].
    pub fn new(best: f32, worst: f32, count: usize, bounds: &[u32]) -> Option<Self> {
        let range = best - worst;
        let fits = (1..=MAX_CELLS).contains(&count);
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
    fn places(&self, keys: &[u32], places: &mut [u64]) {
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
    fn place(&self, s: f32) -> (u32, u32) {
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

/// The last position within a cell ([`CellMap`]'s `place`): positions fit the 12 bits a
/// [`CellTable`] entry gives them and stay below its two codes, [`ONE_BOUND`] and
/// [`CROWDED`].
const POSITIONS: u32 = 4092;

/// `v` (in `0..2^22`) rounded to the nearest integer by adding 2^23: monotone like any
/// rounding.
#[inline]
fn rounded(v: f32) -> u32 {
    (v + ROUNDING).to_bits() - ROUNDING.to_bits()
}

/// The code of a cell holding at most one bound, in an entry's position field.
const ONE_BOUND: u32 = 4094;

/// The code of a cell holding more than [`CELL_BOUNDS`] bounds, in an entry's position field.
const CROWDED: u32 = 4095;

/// The 12 bits of a position (or its codes) in a [`CellTable`] entry.
const POSITION_BITS: u32 = 0xFFF;

/// Bits of an entry that count the bounds before its cell.
const LO_BITS: u32 = 20;

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

    /// The map the table was built for (`None` before [`CellTable::build`]).
    pub fn map(&self) -> Option<&CellMap> {
        self.map.as_ref()
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

#[cfg(target_arch = "x86_64")]
mod x86 {
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
                let first = _mm512_permutex2var_epi64(
                    low,
                    _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11),
                    high,
                );
                let second = _mm512_permutex2var_epi64(
                    low,
                    _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15),
                    high,
                );
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
    /// seventh float between and around them: each position of the cell is met, those just past and just short of the second
    /// bound's included.
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
