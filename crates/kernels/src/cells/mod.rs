//! Placing every score of a ranking among a few sorted keys through a table of cells, AVX-512
//! chosen once at run time: the keys (here), the map from a score to its cell ([`CellMap`]),
//! the table of the keys among the cells ([`CellTable`]) and the AVX-512 kernels of both
//! (`x86`). Its one user is the exact evaluation's ranking (`webly-eval`'s `ranking.rs`, which
//! picks how many cells to use); it lives here, as a module of its own, because its kernels are
//! `unsafe` SIMD and webly-eval forbids unsafe code.

mod map;
mod table;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use map::{CellMap, CELL_CAPACITY};
pub use table::{CellTable, MAX_BOUNDS};

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

/// Slices of a [`CellMap`]'s range, each with its own share of the cells (one AVX-512
/// register holds a value per slice).
const SLICES: usize = 16;

// A CellTable entry (u64): the cell's first bound (32 bits), the bounds before the cell
// (LO_BITS), and the position of its second bound in the cell or a code (12 bits).

/// Bits of an entry that count the bounds before its cell.
const LO_BITS: u32 = 20;

/// The 12 bits of a position (or its codes) in an entry.
const POSITION_BITS: u32 = 0xFFF;

/// The last position within a cell ([`CellMap`]'s `place`): positions fit an entry's 12 bits
/// and stay below its two codes, [`ONE_BOUND`] and [`CROWDED`].
const POSITIONS: u32 = 4092;

/// The code of a cell holding at most one bound, in an entry's position field.
const ONE_BOUND: u32 = 4094;

/// The code of a cell holding more than [`CELL_BOUNDS`] bounds, in an entry's position field.
const CROWDED: u32 = 4095;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
