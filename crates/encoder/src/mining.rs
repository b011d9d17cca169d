//! Online negative mining inside a batch, as pure functions on distance matrices.
//!
//! Anchor `i` is image `i`; its positive is caption `i`. Inputs are two row-major `n x n`
//! matrices: `img_txt[i][j]` = distance (the loss's) between image `i`'s output and caption `j`'s
//! embedding, and `txt_txt[i][j]` = GloVe cosine distance between captions `i` and `j`.
//! Candidates for anchor `i` are the captions `j != i` that are not identical to caption `i`
//! (GloVe cosine distance <= [`IDENTICAL`](crate::mining::IDENTICAL): same words, same embedding): always excluded.
//! An anchor without any candidate gets `None` (it is left out of the loss).
use crate::config::Mining;
use rand::Rng;

/// Captions at most this GloVe cosine distance apart count as identical.
pub const IDENTICAL: f32 = 1e-6;

/// The distances mining looks at.
#[derive(Debug, Clone, Copy)]
pub struct MiningInput<'a> {
    /// Images (and captions) in the batch.
    pub n: usize,
    /// `n x n` row-major: `img_txt[i * n + j]` = distance between image `i`'s output and caption `j`.
    pub img_txt: &'a [f32],
    /// `n x n` row-major distances between the captions (GloVe cosine distance).
    pub txt_txt: &'a [f32],
    /// The loss's margin.
    pub margin: f32,
}

impl MiningInput<'_> {
    fn it(&self, i: usize, j: usize) -> f32 {
        self.img_txt[i * self.n + j]
    }
    fn tt(&self, i: usize, j: usize) -> f32 {
        self.txt_txt[i * self.n + j]
    }
    fn candidates(&self, i: usize) -> Vec<usize> {
        (0..self.n)
            .filter(|&j| j != i && self.tt(i, j) > IDENTICAL)
            .collect()
    }
}

/// Where a triplet falls, with `d_ap = img_txt[i][i]` and `d_an = img_txt[i][neg]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TripletClass {
    /// `d_an >= d_ap + m`: zero loss.
    Easy,
    /// `d_ap < d_an < d_ap + m`.
    SemiHard,
    /// `d_an <= d_ap`.
    Hard,
}

/// Classifies one triplet.
pub fn classify(d_ap: f32, d_an: f32, margin: f32) -> TripletClass {
    if d_an <= d_ap {
        TripletClass::Hard
    } else if d_an < d_ap + margin {
        TripletClass::SemiHard
    } else {
        TripletClass::Easy
    }
}

/// Shares of easy, semi-hard and hard triplets among the mined ones (`None`s not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TripletShares {
    /// Share with `d_an >= d_ap + margin` (zero loss).
    pub easy: f64,
    /// Share with `d_ap < d_an < d_ap + margin`.
    pub semi_hard: f64,
    /// Share with `d_an <= d_ap`.
    pub hard: f64,
    /// Number of triplets counted.
    pub count: usize,
}

/// Counts the classes of the mined triplets.
pub fn shares(input: &MiningInput, negatives: &[Option<usize>]) -> TripletShares {
    pair_shares(input, &as_pairs(negatives))
}

/// Counts the classes of `(anchor, negative)` triplets.
pub fn pair_shares(input: &MiningInput, pairs: &[(usize, usize)]) -> TripletShares {
    let mut s = TripletShares::default();
    for &(i, j) in pairs {
        match classify(input.it(i, i), input.it(i, j), input.margin) {
            TripletClass::Easy => s.easy += 1.0,
            TripletClass::SemiHard => s.semi_hard += 1.0,
            TripletClass::Hard => s.hard += 1.0,
        }
        s.count += 1;
    }
    if s.count > 0 {
        let c = s.count as f64;
        s.easy /= c;
        s.semi_hard /= c;
        s.hard /= c;
    }
    s
}

/// One negative per anchor (see the module docs and [`Mining`]).
pub fn mine<R: Rng>(strategy: Mining, input: &MiningInput, rng: &mut R) -> Vec<Option<usize>> {
    (0..input.n)
        .map(|i| {
            let c = input.candidates(i);
            if c.is_empty() {
                return None;
            }
            Some(match strategy {
                Mining::Random => c[rng.gen_range(0..c.len())],
                Mining::Hardest => hardest(input, i, &c),
                Mining::SemiHard => semi_hard(input, i, &c, rng),
                Mining::Soft => soft(input, i, &c, rng),
                Mining::GloveBand { max_similarity } => glove_band(input, i, &c, max_similarity),
                // One representative of the band; `mine_pairs` takes all of it.
                Mining::All { max_similarity } | Mining::Weighted { max_similarity, .. } => {
                    let band = within_band(input, i, &c, max_similarity);
                    let pool = if band.is_empty() { &c } else { &band };
                    pool[rng.gen_range(0..pool.len())]
                }
            })
        })
        .collect()
}

/// The `(anchor, negative)` triplets of a batch, grouped by anchor in anchor order: every one of
/// the band for [`Mining::All`] and [`Mining::Weighted`], one per anchor (see [`mine`]) for the
/// other strategies.
pub fn mine_pairs<R: Rng>(
    strategy: Mining,
    input: &MiningInput,
    rng: &mut R,
) -> Vec<(usize, usize)> {
    match strategy {
        Mining::All { max_similarity } | Mining::Weighted { max_similarity, .. } => (0..input.n)
            .flat_map(|i| {
                let c = input.candidates(i);
                within_band(input, i, &c, max_similarity)
                    .into_iter()
                    .map(move |j| (i, j))
            })
            .collect(),
        single => as_pairs(&mine(single, input, rng)),
    }
}

/// Which way a triplet ranks: the image anchors it (its caption against caption `j`), or the
/// caption does (its image against image `j`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Anchor image `i`, negative caption `j`: `d_an = img_txt[i][j]`.
    ImageAnchored,
    /// Anchor caption `i`, negative image `j`: `d_an = img_txt[j][i]`.
    TextAnchored,
}

/// The weights of [`Mining::Weighted`] for `pairs` (grouped by anchor, as [`mine_pairs`] gives
/// them): within each anchor's triplets, `softmax(-d_an / temperature)`; then all multiplied by
/// `pairs.len() / anchors`, so that the mean of the weighted per-triplet losses is the mean over
/// anchors of each anchor's weighted loss. The softmax subtracts the group's largest logit and
/// runs in f64, so any finite distance and temperature > 0 give finite weights.
pub fn negative_weights(
    input: &MiningInput,
    pairs: &[(usize, usize)],
    temperature: f32,
    direction: Direction,
) -> Vec<f32> {
    let d_an = |&(i, j): &(usize, usize)| match direction {
        Direction::ImageAnchored => input.it(i, j),
        Direction::TextAnchored => input.it(j, i),
    };
    let mut weights = Vec::with_capacity(pairs.len());
    let mut anchors = 0usize;
    for group in pairs.chunk_by(|a, b| a.0 == b.0) {
        anchors += 1;
        // In f64: a distance over the smallest f32 temperature stays finite.
        let logits: Vec<f64> = group
            .iter()
            .map(|p| -f64::from(d_an(p)) / f64::from(temperature))
            .collect();
        let top = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exp: Vec<f64> = logits.iter().map(|l| (l - top).exp()).collect();
        let sum: f64 = exp.iter().sum();
        weights.extend(exp.iter().map(|e| (e / sum) as f32));
    }
    let scale = pairs.len() as f32 / anchors.max(1) as f32;
    weights.iter_mut().for_each(|w| *w *= scale);
    weights
}

fn as_pairs(negatives: &[Option<usize>]) -> Vec<(usize, usize)> {
    negatives
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.map(|j| (i, j)))
        .collect()
}

/// The candidates whose caption's cosine similarity to the positive caption is at most `t`.
fn within_band(input: &MiningInput, i: usize, c: &[usize], t: f32) -> Vec<usize> {
    c.iter()
        .copied()
        .filter(|&j| 1.0 - input.tt(i, j) <= t)
        .collect()
}

/// The candidate closest to the image (largest loss, VSE++). `c` is not empty.
fn hardest(input: &MiningInput, i: usize, c: &[usize]) -> usize {
    *c.iter()
        .min_by(|&&a, &&b| input.it(i, a).total_cmp(&input.it(i, b)))
        .unwrap_or(&c[0])
}

/// Uniform among the semi-hard candidates (FaceNet). Fallback when there is none (TensorFlow's
/// `triplet_semihard_loss` rule): the closest candidate farther than the positive (an easy one),
/// and when every candidate is closer than the positive, the farthest of them (the least hard).
fn semi_hard<R: Rng>(input: &MiningInput, i: usize, c: &[usize], rng: &mut R) -> usize {
    let d_ap = input.it(i, i);
    let semi: Vec<usize> = c
        .iter()
        .copied()
        .filter(|&j| classify(d_ap, input.it(i, j), input.margin) == TripletClass::SemiHard)
        .collect();
    if !semi.is_empty() {
        return semi[rng.gen_range(0..semi.len())];
    }
    let farther = c.iter().copied().filter(|&j| input.it(i, j) > d_ap);
    let by_d = |&a: &usize, &b: &usize| input.it(i, a).total_cmp(&input.it(i, b));
    farther
        .min_by(by_d)
        .or_else(|| c.iter().copied().max_by(by_d))
        .unwrap_or(c[0])
}

/// The reference's soft negative: uniform among the candidates whose caption is farther from the
/// positive caption than the mean candidate distance. Fallback (all at the mean, e.g. two
/// candidates at equal distance): uniform among all candidates.
fn soft<R: Rng>(input: &MiningInput, i: usize, c: &[usize], rng: &mut R) -> usize {
    let mean = c.iter().map(|&j| input.tt(i, j)).sum::<f32>() / c.len() as f32;
    let far: Vec<usize> = c
        .iter()
        .copied()
        .filter(|&j| input.tt(i, j) > mean)
        .collect();
    let pool = if far.is_empty() { c } else { &far };
    pool[rng.gen_range(0..pool.len())]
}

/// Drops candidates whose caption has cosine similarity > `max_similarity` with the positive
/// caption (probable false negatives), then the hardest of the rest. Fallback when none is left:
/// the candidate whose caption is least similar to the positive caption.
fn glove_band(input: &MiningInput, i: usize, c: &[usize], max_similarity: f32) -> usize {
    let kept = within_band(input, i, c, max_similarity);
    if kept.is_empty() {
        return *c
            .iter()
            .max_by(|&&a, &&b| input.tt(i, a).total_cmp(&input.tt(i, b)))
            .unwrap_or(&c[0]);
    }
    hardest(input, i, &kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    // Anchor 0 (row 0) in a batch of 5, margin 0.5, d_ap = img_txt[0][0] = 1.0:
    //   caption 1: d = 0.2  -> hard (closer than the positive), the hardest
    //   caption 2: d = 1.2  -> semi-hard (inside 1.0 + 0.5)
    //   caption 3: d = 3.0  -> easy
    //   caption 4: d = 0.9  -> hard, but caption 4 is IDENTICAL to caption 0 (txt distance 0)
    // Text distances from caption 0: 1: 0.05 (similar text), 2: 0.6, 3: 0.9, 4: 0.0.
    const N: usize = 5;
    fn matrices() -> (Vec<f32>, Vec<f32>) {
        let mut it = vec![2.0f32; N * N];
        let mut tt = vec![0.5f32; N * N];
        for i in 0..N {
            it[i * N + i] = 0.5;
            tt[i * N + i] = 0.0;
        }
        it[..N].copy_from_slice(&[1.0, 0.2, 1.2, 3.0, 0.9]);
        tt[..N].copy_from_slice(&[0.0, 0.05, 0.6, 0.9, 0.0]);
        (it, tt)
    }

    fn input<'a>(it: &'a [f32], tt: &'a [f32]) -> MiningInput<'a> {
        MiningInput {
            n: N,
            img_txt: it,
            txt_txt: tt,
            margin: 0.5,
        }
    }

    fn picks(strategy: Mining, inp: &MiningInput) -> std::collections::BTreeSet<usize> {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        (0..200)
            .filter_map(|_| mine(strategy, inp, &mut rng)[0])
            .collect()
    }

    #[test]
    fn identical_captions_never_picked() {
        let (it, tt) = matrices();
        for s in [
            Mining::Random,
            Mining::Hardest,
            Mining::SemiHard,
            Mining::Soft,
        ] {
            assert!(!picks(s, &input(&it, &tt)).contains(&4), "{s:?}");
            assert!(!picks(s, &input(&it, &tt)).contains(&0), "{s:?}");
        }
        assert_eq!(picks(Mining::Random, &input(&it, &tt)), [1, 2, 3].into());
    }

    #[test]
    fn hardest_takes_closest_image_distance() {
        let (it, tt) = matrices();
        assert_eq!(picks(Mining::Hardest, &input(&it, &tt)), [1].into());
    }

    #[test]
    fn semi_hard_inside_margin_and_fallbacks() {
        let (mut it, tt) = matrices();
        assert_eq!(picks(Mining::SemiHard, &input(&it, &tt)), [2].into());
        // No semi-hard: the closest farther than the positive (3.0 over 5.0).
        it[2] = 5.0;
        assert_eq!(picks(Mining::SemiHard, &input(&it, &tt)), [3].into());
        // All closer than the positive: the farthest of them (0.8 over 0.2, 0.3).
        it[..4].copy_from_slice(&[1.0, 0.2, 0.3, 0.8]);
        assert_eq!(picks(Mining::SemiHard, &input(&it, &tt)), [3].into());
    }

    // Candidates' text distances 0.05, 0.6, 0.9: mean 0.5167, so soft picks only 2 and 3.
    #[test]
    fn soft_picks_uniformly_beyond_the_mean() {
        let (it, tt) = matrices();
        assert_eq!(picks(Mining::Soft, &input(&it, &tt)), [2, 3].into());
    }

    // Caption 1 has similarity 0.95 > 0.9: dropped; hardest of {2, 3} by image distance is 2.
    // With max_similarity 0.05 every candidate is dropped: fallback to the least similar, 3.
    #[test]
    fn all_takes_every_candidate_outside_the_band() {
        let (it, tt) = matrices();
        let inp = input(&it, &tt);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let pairs = mine_pairs(
            Mining::All {
                max_similarity: 0.9,
            },
            &inp,
            &mut rng,
        );
        let of_0: Vec<usize> = pairs.iter().filter(|p| p.0 == 0).map(|p| p.1).collect();
        // caption 1 (similarity 0.95) is a probable false negative, caption 4 is identical.
        assert_eq!(of_0, vec![2, 3]);
        // every other anchor: all 4 others (text distance 0.5, similarity 0.5).
        assert_eq!(pairs.len(), 2 + 4 * (N - 1));
        let single = mine_pairs(Mining::Hardest, &inp, &mut rng);
        assert_eq!(single.len(), N);
        assert!(single.contains(&(0, 1)));
    }

    // The default rule on a hand-made batch of 6, anchor 0. GloVe cosine distances from caption 0
    // (similarity = 1 - distance) and image-to-caption distances (d_ap = 1.0):
    //   caption 1: similarity 1.0 (same words)           d 0.1 (hard)  -> never (identical)
    //   caption 2: similarity 0.95 (a paraphrase)        d 0.3 (hard)  -> never (false negative)
    //   caption 3: similarity 0.90 (on the threshold)    d 0.8 (hard)  -> taken
    //   caption 4: similarity 0.40                       d 1.3 (semi)  -> taken
    //   caption 5: similarity -0.2                       d 3.5 (easy)  -> taken
    // Whatever the image distances (hard, semi-hard, easy), only the GloVe similarity decides;
    // anchor 1, whose every other caption is a paraphrase, gets no triplet at all.
    #[test]
    fn default_mining_drops_paraphrases_of_the_positive_by_glove_distance() {
        const M: usize = 6;
        let mut it = vec![2.0f32; M * M];
        let mut tt = vec![0.5f32; M * M];
        for i in 0..M {
            it[i * M + i] = 1.0;
            tt[i * M + i] = 0.0;
        }
        it[..M].copy_from_slice(&[1.0, 0.1, 0.3, 0.8, 1.3, 3.5]);
        tt[..M].copy_from_slice(&[0.0, 0.0, 0.05, 0.1, 0.6, 1.2]);
        for j in 1..M {
            tt[j * M] = tt[j]; // symmetric
        }
        for j in 2..M {
            tt[M + j] = 0.02; // captions 2-5 paraphrase caption 1
            tt[j * M + 1] = 0.02;
        }
        let inp = MiningInput {
            n: M,
            img_txt: &it,
            txt_txt: &tt,
            margin: 0.5,
        };
        assert_eq!(
            Mining::default(),
            Mining::Weighted {
                max_similarity: crate::config::FALSE_NEGATIVE_SIMILARITY,
                temperature: crate::config::NEGATIVE_TEMPERATURE,
            }
        );
        let pairs = mine_pairs(Mining::default(), &inp, &mut ChaCha8Rng::seed_from_u64(0));
        let of =
            |a: usize| -> Vec<usize> { pairs.iter().filter(|p| p.0 == a).map(|p| p.1).collect() };
        assert_eq!(of(0), vec![3, 4, 5]);
        assert_eq!(of(1), Vec::<usize>::new());
        // Anchor 2: caption 0 (similarity 0.95) and caption 1 (0.98) are dropped.
        assert_eq!(of(2), vec![3, 4, 5]);
        let s = pair_shares(&inp, &pairs[..3]);
        assert_eq!(
            (s.hard, s.semi_hard, s.easy),
            (1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0)
        );
    }

    // Anchor 0 has negatives 1 and 2, anchor 2 has negative 0 (3 triplets, 2 anchors: every
    // weight times 3 / 2). Image-to-caption distances, row i = image i:
    //   [[1.0, 0.8, 1.3], [2.0, 1.0, 2.0], [3.5, 2.0, 1.0]], temperature 0.5.
    // Image-anchored, anchor 0: d_an 0.8 and 1.3; text-anchored (caption 0 against images 1 and
    // 2): d_an = img_txt[1][0] = 2.0 and img_txt[2][0] = 3.5. In PyTorch:
    //   torch.softmax(-torch.tensor([0.8, 1.3]) / 0.5, 0) * 1.5  # [1.0966, 0.4034]
    //   torch.softmax(-torch.tensor([2.0, 3.5]) / 0.5, 0) * 1.5  # [1.4289, 0.0711]
    // A lone triplet weighs 1 * 1.5.
    #[test]
    fn weighted_negatives_favour_the_hard_ones_per_anchor() {
        let it = [1.0f32, 0.8, 1.3, 2.0, 1.0, 2.0, 3.5, 2.0, 1.0];
        let tt = [0.5f32; 9];
        let inp = MiningInput {
            n: 3,
            img_txt: &it,
            txt_txt: &tt,
            margin: 0.5,
        };
        let pairs = [(0, 1), (0, 2), (2, 0)];
        let close = |got: Vec<f32>, want: [f32; 3]| {
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-4, "{got:?} against {want:?}");
            }
        };
        close(
            negative_weights(&inp, &pairs, 0.5, Direction::ImageAnchored),
            [1.0966, 0.4034, 1.5],
        );
        close(
            negative_weights(&inp, &pairs, 0.5, Direction::TextAnchored),
            [1.4289, 0.0711, 1.5],
        );
        // A hot softmax shares the anchor's weight evenly (All's mean); a cold one gives it all
        // to the hardest negative.
        close(
            negative_weights(&inp, &pairs, 1e4, Direction::ImageAnchored),
            [0.75, 0.75, 1.5],
        );
        close(
            negative_weights(&inp, &pairs, 1e-3, Direction::ImageAnchored),
            [1.5, 0.0, 1.5],
        );
        // The smallest positive f32 temperature still gives finite weights.
        close(
            negative_weights(&inp, &pairs, f32::from_bits(1), Direction::ImageAnchored),
            [1.5, 0.0, 1.5],
        );
    }

    // Weighted takes the same negatives as All: the GloVe filter decides which captions may be
    // negatives, the weights only how much each counts.
    #[test]
    fn weighted_mining_takes_alls_triplets() {
        let (it, tt) = matrices();
        let inp = input(&it, &tt);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let all = mine_pairs(
            Mining::All {
                max_similarity: 0.9,
            },
            &inp,
            &mut rng,
        );
        let weighted = mine_pairs(
            Mining::Weighted {
                max_similarity: 0.9,
                temperature: 0.5,
            },
            &inp,
            &mut rng,
        );
        assert_eq!(all, weighted);
    }

    #[test]
    fn glove_band_drops_probable_false_negatives() {
        let (it, tt) = matrices();
        let band = |t| picks(Mining::GloveBand { max_similarity: t }, &input(&it, &tt));
        assert_eq!(band(0.9), [2].into());
        assert_eq!(band(0.99), [1].into());
        assert_eq!(band(0.05), [3].into());
    }

    #[test]
    fn no_candidate_gives_none_and_shares_count() {
        let it = vec![0.0f32, 1.0, 1.0, 0.0];
        let tt = vec![0.0f32; 4];
        let inp = MiningInput {
            n: 2,
            img_txt: &it,
            txt_txt: &tt,
            margin: 0.1,
        };
        assert_eq!(
            mine(Mining::Hardest, &inp, &mut ChaCha8Rng::seed_from_u64(0)),
            vec![None, None]
        );
        let (it, tt) = matrices();
        let inp = input(&it, &tt);
        let s = shares(&inp, &[Some(1), Some(0), None, Some(0), Some(1)]);
        // anchor 0 -> 1: hard; anchor 1 -> 0: d_ap 0.5, d_an 2.0: easy; 3 -> 0 easy; 4 -> 1 easy.
        assert_eq!(s.count, 4);
        assert_eq!((s.hard, s.semi_hard, s.easy), (0.25, 0.0, 0.75));
    }
}
