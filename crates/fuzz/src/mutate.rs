//! Mutations of a seed: AFL-style havoc (bit flips, interesting bytes and integers, inserted,
//! deleted and copied runs, truncation, splices with other inputs) plus the text-aware ones
//! webly's formats call for (a number replaced by an edge-case number, a token of the target's
//! dictionary inserted). One to eight mutations are stacked per input.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Byte values at parsers' edges: zero, sign and top bits, line ends, separators, quotes.
const INTERESTING_BYTES: [u8; 14] = [
    0, 1, 0x7f, 0x80, 0xff, b'\n', b'\r', b' ', b'\t', b'0', b'-', b'"', b'\\', b'/',
];

/// Decimal edge cases replacing a number in text: zero, negatives, powers of two around the
/// integer widths, over-range values, non-finite and subnormal floats.
const INTERESTING_NUMBERS: [&[u8]; 22] = [
    b"0",
    b"-0",
    b"-1",
    b"1",
    b"255",
    b"65536",
    b"2147483647",
    b"2147483648",
    b"4294967296",
    b"9007199254740993",
    b"18446744073709551615",
    b"18446744073709551616",
    b"340282366920938463463374607431768211456",
    b"1e309",
    b"-1e309",
    b"1e-46",
    b"NaN",
    b"inf",
    b"-inf",
    b"0.5",
    b"1e38",
    b"",
];

/// Integers at the edges of the widths binary headers use (written little or big endian).
const INTERESTING_INTS: [u64; 14] = [
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    1 << 40,
    u64::MAX / 2,
    u64::MAX,
];

/// Mutates `data` in place with 1 to 8 stacked mutations; `tokens` is the target's dictionary
/// and `others` the inputs a splice may take a part of. The result is at most `max_len` bytes.
pub fn mutate(
    data: &mut Vec<u8>,
    rng: &mut ChaCha8Rng,
    tokens: &[&[u8]],
    others: &[Vec<u8>],
    max_len: usize,
) {
    let stacked = 1usize << rng.gen_range(0..4);
    for _ in 0..stacked {
        mutate_once(data, rng, tokens, others);
    }
    data.truncate(max_len);
}

fn mutate_once(data: &mut Vec<u8>, rng: &mut ChaCha8Rng, tokens: &[&[u8]], others: &[Vec<u8>]) {
    let len = data.len();
    let pos = |rng: &mut ChaCha8Rng| if len == 0 { 0 } else { rng.gen_range(0..len) };
    match rng.gen_range(0..12) {
        0 if len > 0 => {
            let i = pos(rng);
            data[i] ^= 1 << rng.gen_range(0..8);
        }
        1 if len > 0 => {
            let i = pos(rng);
            data[i] = INTERESTING_BYTES[rng.gen_range(0..INTERESTING_BYTES.len())];
        }
        2 if len > 0 => {
            let i = pos(rng);
            data[i] = rng.gen();
        }
        3 => {
            let at = rng.gen_range(0..=len);
            let n = 1usize << rng.gen_range(0..7);
            let byte = rng.gen::<u8>();
            let run: Vec<u8> = match rng.gen_bool(0.5) {
                true => (0..n).map(|_| rng.gen()).collect(),
                false => vec![byte; n],
            };
            data.splice(at..at, run);
        }
        4 if len > 0 => {
            let at = pos(rng);
            let span = 1usize << rng.gen_range(0..10);
            let n = rng.gen_range(1..=(len - at).min(span));
            data.drain(at..at + n);
        }
        5 if len > 0 => {
            let from = pos(rng);
            let span = 1usize << rng.gen_range(0..10);
            let n = rng.gen_range(1..=(len - from).min(span));
            let chunk = data[from..from + n].to_vec();
            let at = rng.gen_range(0..=len);
            match rng.gen_bool(0.5) {
                true => {
                    data.splice(at..at, chunk);
                }
                false => {
                    let end = (at + n).min(len);
                    data.splice(at..end, chunk);
                }
            }
        }
        6 if len > 0 => data.truncate(pos(rng)),
        7 if !others.is_empty() => {
            let other = &others[rng.gen_range(0..others.len())];
            let cut = rng.gen_range(0..=len);
            let from = rng.gen_range(0..=other.len());
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        8 if !tokens.is_empty() => {
            let token = tokens[rng.gen_range(0..tokens.len())];
            let at = rng.gen_range(0..=len);
            data.splice(at..at, token.iter().copied());
        }
        9 => replace_number(data, rng),
        10 if len > 0 => overwrite_int(data, rng),
        _ => {
            // A random line (or run up to a space) repeated: long lines, many records.
            let at = pos(rng);
            let end = data[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(len, |p| at + p + 1);
            let line = data[at..end].to_vec();
            let times = 1usize << rng.gen_range(0..6);
            for _ in 0..times {
                data.splice(end..end, line.iter().copied());
            }
        }
    }
}

/// Replaces the decimal number at or after a random position by an edge-case number.
fn replace_number(data: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    if data.is_empty() {
        return;
    }
    let start = rng.gen_range(0..data.len());
    // The first digit from `start`, wrapping around to the beginning.
    let after = data[start..].iter().position(u8::is_ascii_digit);
    let Some(mut a) = after
        .map(|p| start + p)
        .or_else(|| data.iter().position(u8::is_ascii_digit))
    else {
        return;
    };
    // Back to the number's start: digits, a point, a sign, an exponent after a digit.
    while a > 0
        && match data[a - 1] {
            b'0'..=b'9' | b'.' | b'-' | b'+' => true,
            b'e' | b'E' => a > 1 && data[a - 2].is_ascii_digit(),
            _ => false,
        }
    {
        a -= 1;
    }
    let mut b = a;
    while b < data.len() && matches!(data[b], b'0'..=b'9' | b'.' | b'e' | b'E' | b'-' | b'+') {
        b += 1;
    }
    let number = INTERESTING_NUMBERS[rng.gen_range(0..INTERESTING_NUMBERS.len())];
    data.splice(a..b, number.iter().copied());
}

/// Overwrites 1, 2, 4 or 8 bytes with an edge-case integer (either endianness), or adds a
/// small delta to what is there.
fn overwrite_int(data: &mut [u8], rng: &mut ChaCha8Rng) {
    let width = 1usize << rng.gen_range(0..4);
    if data.len() < width {
        return;
    }
    let at = rng.gen_range(0..=data.len() - width);
    let field = &mut data[at..at + width];
    let mut le = [0u8; 8];
    le[..width].copy_from_slice(field);
    let value = match rng.gen_bool(0.75) {
        true => INTERESTING_INTS[rng.gen_range(0..INTERESTING_INTS.len())],
        false => u64::from_le_bytes(le).wrapping_add(rng.gen_range(0..32u64).wrapping_sub(16)),
    };
    let bytes = match rng.gen_bool(0.5) {
        true => value.to_le_bytes(),
        false => (value << (8 * (8 - width) as u32 % 64)).to_be_bytes(),
    };
    field.copy_from_slice(&bytes[..width]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn mutations_change_inputs_and_respect_the_length_cap() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let seed = b"the 0.1 0.2\ncat 1 2\n".to_vec();
        let mut changed = 0;
        for _ in 0..200 {
            let mut m = seed.clone();
            mutate(&mut m, &mut rng, &[b"NaN"], &[b"x 1\n".to_vec()], 64);
            assert!(m.len() <= 64);
            changed += usize::from(m != seed);
        }
        assert!(changed > 150, "only {changed} of 200 mutants differ");
    }

    #[test]
    fn a_number_is_replaced_whole() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..50 {
            let mut m = b"dim -12.5e3 end".to_vec();
            replace_number(&mut m, &mut rng);
            let text = String::from_utf8_lossy(&m).into_owned();
            assert!(text.starts_with("dim ") && text.ends_with(" end"), "{text}");
            assert!(!text.contains("12.5"), "{text}");
        }
    }
}
