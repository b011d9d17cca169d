//! The random streams of a training run and how their seeds are derived.
//!
//! Every random draw of training is a pure function of the run seed and a position, so a resumed
//! run draws what an uninterrupted one draws and no generator state is saved. Each stream first
//! derives its own key from the run seed and the stream's tag ([`Stream`]), then mixes the
//! position (epoch, batch, image) into that key:
//!
//! `stream_seed(seed, stream, a, b) = mix(mix(seed, STREAM_DOMAIN, tag(stream)), a, b)`
//!
//! where `mix` is [`derive_seed`] (the splitmix64 finaliser). Two streams therefore never share
//! a seed by construction: before this scheme, the crop seed of epoch 1 batch `b`,
//! `mix(seed, 1, b)`, was the permutation seed of epoch `b`, `mix(seed, 1, b)`; and streams
//! keyed by `seed ^ tag` made run seed `s` draw what run seed `s ^ tag` draws in another stream.
//! Now two draws of different streams coincide only through a 64-bit collision of the mix.

/// The random streams of a training run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// The order of the training images in an epoch (position: epoch).
    Permutation,
    /// The random crop and mirror of a decoded image (position: epoch, batch).
    Crop,
    /// The negatives drawn by mining (position: epoch, batch).
    Mining,
    /// Which cached view of an image a batch uses (position: epoch, image).
    ViewChoice,
    /// The seed of an ensemble's member after the first (position: member, 0).
    Member,
}

impl Stream {
    /// The stream's tag, mixed into its key. Fixed: changing one changes that stream's draws.
    fn tag(self) -> u64 {
        match self {
            Stream::Permutation => 1,
            Stream::Crop => 2,
            Stream::Mining => 3,
            Stream::ViewChoice => 4,
            Stream::Member => 5,
        }
    }
}

/// The first position of a stream key, `mix(seed, STREAM_DOMAIN, tag)`: far above any epoch or
/// batch index, so a key is not the seed of a position of another derivation (the ASCII bytes
/// of "STREAMS").
const STREAM_DOMAIN: u64 = 0x0053_5452_4541_4D53;

/// The seed of `stream` at position (`a`, `b`) of a run with seed `seed` (see the module docs).
pub(crate) fn stream_seed(seed: u64, stream: Stream, a: u64, b: u64) -> u64 {
    derive_seed(derive_seed(seed, STREAM_DOMAIN, stream.tag()), a, b)
}

/// A well-mixed 64-bit seed from a base seed and a position (splitmix64 finaliser).
pub(crate) fn derive_seed(seed: u64, a: u64, b: u64) -> u64 {
    let mut z = seed
        .wrapping_add(a.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(b.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const STREAMS: [Stream; 4] = [
        Stream::Permutation,
        Stream::Crop,
        Stream::Mining,
        Stream::ViewChoice,
    ];

    #[test]
    fn streams_never_share_a_seed() {
        // Every stream over the same small grid of positions: 4 x 20 x 20 distinct seeds.
        let seeds: HashSet<u64> = STREAMS
            .iter()
            .flat_map(|&s| (0..20).flat_map(move |a| (0..20).map(move |b| stream_seed(7, s, a, b))))
            .collect();
        assert_eq!(seeds.len(), STREAMS.len() * 20 * 20);
    }

    #[test]
    fn the_epoch_one_crop_seed_is_not_the_permutation_seed() {
        // The collision of the older scheme: crop (epoch 1, batch b) vs permutation (epoch b).
        for b in 0..50 {
            assert_ne!(
                stream_seed(7, Stream::Crop, 1, b),
                stream_seed(7, Stream::Permutation, b, 0)
            );
        }
    }

    #[test]
    fn run_seeds_do_not_alias_across_streams() {
        // With `seed ^ tag` keys, run seed 1's mining (1 ^ 2 = 3) drew run seed 3's draws of an
        // untagged stream; stream keys are mixed, not xored.
        let a: HashSet<u64> = (0..16)
            .flat_map(|seed| STREAMS.iter().map(move |&s| stream_seed(seed, s, 0, 0)))
            .collect();
        assert_eq!(a.len(), 16 * STREAMS.len());
    }

    #[test]
    fn seeds_are_pure_functions_of_seed_stream_and_position() {
        assert_eq!(
            stream_seed(7, Stream::Mining, 3, 9),
            stream_seed(7, Stream::Mining, 3, 9)
        );
        assert_ne!(
            stream_seed(7, Stream::Mining, 3, 9),
            stream_seed(8, Stream::Mining, 3, 9)
        );
    }
}
