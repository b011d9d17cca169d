//! Ranking metrics over a full ranking, and their expectation under a random ranking.

use serde::{Deserialize, Serialize};

/// Metrics of one query over the whole ranked database.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RankMetrics {
    /// Number of relevant images (R).
    pub relevant: usize,
    /// Mean over relevant images of the precision at their rank.
    pub ap: f64,
    /// Share of relevant images among the first 5.
    pub p_at_5: f64,
    /// Share of relevant images among the first 10.
    pub p_at_10: f64,
    /// Precision at rank R.
    pub r_precision: f64,
}

/// Metrics of a ranking given each image's score and relevance, highest score first. `None`
/// when no image is relevant.
///
/// Images with equal scores form a tie, and no metric depends on the order of their indices:
/// - AP is scikit-learn's `average_precision_score`: Σ over distinct scores of
///   (recall increase) x (precision after the whole tie), so a tie counts as one threshold.
/// - P@k and R-precision are expectations over the orderings of a tie that straddles the cut
///   (McSherry and Najork, "Computing information retrieval performance measures efficiently
///   in the presence of tied scores", ECIR 2008): a tie of `g` images with `h` relevant, of
///   which `t` fall inside the cut, contributes `h t / g` hits.
///
/// Without ties these are the usual metrics of the ranking.
pub fn rank_metrics(scores: &[f32], relevant: &[bool]) -> Option<RankMetrics> {
    rank_metrics_with(scores, relevant, &mut RankScratch::default())
}

/// The buffers of [`rank_metrics_with`], kept between queries by one thread so that ranking
/// 150K images allocates (and page-faults) nothing after the first query.
#[derive(Debug, Default)]
pub struct RankScratch {
    /// Ranking positions of the relevant images, ascending, distinct.
    positions: Vec<u32>,
    /// Every image's key ([`descending_key`]), then sorted.
    all: Vec<u32>,
    /// The relevant images' keys, sorted.
    hits: Vec<u32>,
    buf: Vec<u32>,
}

/// [`rank_metrics`] with caller-owned buffers (one [`RankScratch`] per thread).
pub fn rank_metrics_with(
    scores: &[f32],
    relevant: &[bool],
    scratch: &mut RankScratch,
) -> Option<RankMetrics> {
    let positions: Vec<u32> = (0u32..)
        .zip(relevant)
        .filter(|(_, &rel)| rel)
        .map(|(p, _)| p)
        .collect();
    rank_metrics_of_parts(&[scores], &positions, scratch)
}

/// [`rank_metrics_with`] of the scores `parts` concatenated (blocks of images, in order), the
/// relevant images given by their positions in that concatenation (any order; repeats and
/// positions past the end are ignored).
///
/// The ranking is the ascending order of one `u32` key per image ([`descending_key`]: best
/// score first, equal keys exactly the scores `f32::total_cmp` calls equal). Only the keys are
/// sorted, not (key, image) pairs, and the relevant images' keys apart. Every metric needs only
/// the relevant ties: where each starts in the ranking and how long it is, two binary searches
/// of the sorted keys per distinct relevant score. A cut (5, 10, R) that falls between relevant
/// ties falls among images that are not relevant, which add no hit however they tie. The sums
/// run in rank order, so the values are those of a walk over every tie, bit for bit.
pub(crate) fn rank_metrics_of_parts(
    parts: &[&[f32]],
    relevant: &[u32],
    scratch: &mut RankScratch,
) -> Option<RankMetrics> {
    let RankScratch {
        positions,
        all,
        hits,
        buf,
    } = scratch;
    let n: usize = parts.iter().map(|p| p.len()).sum();
    positions.clear();
    positions.extend(relevant.iter().copied().filter(|&p| (p as usize) < n));
    radix_sort(positions, buf);
    positions.dedup();
    let r = positions.len();
    if r == 0 {
        return None;
    }
    all.clear();
    all.resize(n, 0);
    let mut at = 0;
    for part in parts {
        all[at..at + part.len()]
            .iter_mut()
            .zip(part.iter())
            .for_each(|(key, s)| *key = descending_key(*s));
        at += part.len();
    }
    hits.clear();
    hits.extend(positions.iter().map(|&p| all[p as usize]));
    radix_sort(all, buf);
    radix_sort(hits, buf);
    // The relevant ties in rank order: equal keys of `hits`, found in `all` by galloping on from
    // the previous one.
    let mut next_hit = 0;
    let mut passed = 0;
    let ties = std::iter::from_fn(|| {
        let &key = hits.get(next_hit)?;
        let tie_hits = hits[next_hit..].iter().take_while(|k| **k == key).count();
        next_hit += tie_hits;
        let start = passed + gallop(&all[passed..], |k| k < key);
        let end = start + gallop(&all[start..], |k| k == key);
        let tie = RelevantTie {
            before: start - passed,
            len: end - start,
            hits: tie_hits,
        };
        passed = end;
        Some(tie)
    });
    Some(metrics_of_relevant_ties(ties, r))
}

/// A run of equally scored images holding relevant ones, in rank order: the images ranked after
/// the previous such run and before it (`before`), its size, and its relevant images.
#[derive(Debug, Clone, Copy)]
struct RelevantTie {
    before: usize,
    len: usize,
    hits: usize,
}

/// Metrics from the relevant ties in rank order (`r` relevant images in all), in one pass; see
/// [`metrics_of_ties`] for the rules.
fn metrics_of_relevant_ties(ties: impl IntoIterator<Item = RelevantTie>, r: usize) -> RankMetrics {
    metrics_of_ties(
        ties.into_iter().flat_map(|t| {
            let gap = (t.before > 0).then_some(Tie {
                len: t.before,
                hits: 0,
            });
            gap.into_iter().chain(std::iter::once(Tie {
                len: t.len,
                hits: t.hits,
            }))
        }),
        r,
    )
}

/// The length of the prefix of `v` where `pred` holds (`pred` true then false along `v`), found
/// by galloping (exponential then binary search): O(log d) for a prefix of length `d`, so a walk
/// over the sorted keys costs little whether the relevant ties are near or far apart.
fn gallop(v: &[u32], pred: impl Fn(u32) -> bool) -> usize {
    let mut bound = 1;
    while bound <= v.len() && pred(v[bound - 1]) {
        bound *= 2;
    }
    let lo = bound / 2;
    let hi = bound.min(v.len() + 1) - 1;
    lo + v[lo..hi].partition_point(|&k| pred(k))
}

/// Bits per pass of [`radix_sort`]: 11 + 11 + 10 cover a `u32` in three passes, and a pass's
/// 2048 counters stay in the L1 cache.
const RADIX_BITS: u32 = 11;

/// Sorts `v` ascending: a least-significant-digit radix sort (3 passes of at most
/// [`RADIX_BITS`], all counted in one read, a pass skipped when all share its digit), O(n)
/// where a comparison sort of 150K images is O(n log n). `buf` is scratch space.
fn radix_sort(v: &mut Vec<u32>, buf: &mut Vec<u32>) {
    const PASSES: usize = 32usize.div_ceil(RADIX_BITS as usize);
    let buckets = 1usize << RADIX_BITS;
    let mask = (buckets - 1) as u32;
    let shift = |pass: usize| pass as u32 * RADIX_BITS;
    let mut counts = vec![[0usize; PASSES]; buckets];
    for x in v.iter() {
        for pass in 0..PASSES {
            counts[((x >> shift(pass)) & mask) as usize][pass] += 1;
        }
    }
    buf.clear();
    buf.resize(v.len(), 0);
    for pass in 0..PASSES {
        if counts.iter().any(|c| c[pass] == v.len()) {
            continue;
        }
        let mut starts = vec![0usize; buckets];
        let mut sum = 0;
        for (start, c) in starts.iter_mut().zip(&counts) {
            *start = sum;
            sum += c[pass];
        }
        for x in v.iter() {
            let b = ((x >> shift(pass)) & mask) as usize;
            buf[starts[b]] = *x;
            starts[b] += 1;
        }
        std::mem::swap(v, buf);
    }
}

/// A key whose ascending order is `f32::total_cmp`'s descending order (its definition: flip
/// the magnitude bits of negatives, then compare as signed integers), so equal keys are
/// exactly the scores `total_cmp` calls equal.
fn descending_key(s: f32) -> u32 {
    let bits = s.to_bits() as i32;
    let ordered = bits ^ (((bits >> 31) as u32) >> 1) as i32;
    !((ordered as u32) ^ 0x8000_0000)
}

/// A run of equally scored images in rank order: how many, and how many of them are relevant.
/// A run without relevant images may also span several scores: how it splits into ties
/// changes no metric.
#[derive(Debug, Clone, Copy)]
struct Tie {
    len: usize,
    hits: usize,
}

/// Metrics of relevance flags already in rank order, no ties (`r` = number of true flags).
#[cfg(test)]
fn metrics_of_ranked(flags: &[bool], r: usize) -> RankMetrics {
    let ties: Vec<Tie> = flags
        .iter()
        .map(|&f| Tie {
            len: 1,
            hits: usize::from(f),
        })
        .collect();
    metrics_of_ties(ties, r)
}

/// Metrics of ties in rank order (`r` = relevant images in all), in one pass. The ties may stop
/// once all `r` relevant images and the first `max(r, 10)` images are passed.
fn metrics_of_ties(ties: impl IntoIterator<Item = Tie>, r: usize) -> RankMetrics {
    let cuts = [5, 10, r];
    // Expected relevant images among the first k of each cut, over the orderings of each tie.
    let mut expected = [0.0f64; 3];
    let mut ap = 0.0;
    let (mut seen, mut hits) = (0usize, 0usize);
    for t in ties {
        for (e, &k) in expected.iter_mut().zip(&cuts) {
            if seen < k {
                let inside = (k - seen).min(t.len);
                *e += t.hits as f64 * inside as f64 / t.len as f64;
            }
        }
        seen += t.len;
        hits += t.hits;
        if t.hits > 0 {
            ap += t.hits as f64 * hits as f64 / seen as f64;
        }
    }
    RankMetrics {
        relevant: r,
        ap: ap / r as f64,
        p_at_5: expected[0] / 5.0,
        p_at_10: expected[1] / 10.0,
        r_precision: expected[2] / r as f64,
    }
}

/// Exact E\[AP\] for a uniformly random permutation of `n` images, `r` of them relevant.
///
/// AP = (1/R) Σ_j Σ_l [rank_l <= rank_j] / rank_j over relevant j, l. The R diagonal terms
/// give E[1/rank] = H_N/N each; each of the R(R-1) ordered pairs l != j gives
/// (1/N) Σ_m (m-1)/((N-1) m) = (N - H_N)/(N(N-1)). Hence
/// E\[AP\] = H_N/N + ((R-1)/(N-1)) (1 - H_N/N): 1 when R = N, H_N/N when R = 1.
/// (E\[P@k\] and E\[R-precision\] are simply R/N.)
pub fn expected_random_ap(r: usize, n: usize) -> f64 {
    if r == 0 || n == 0 {
        return 0.0;
    }
    if n == 1 {
        return 1.0;
    }
    let h_n: f64 = (1..=n).map(|m| 1.0 / m as f64).sum();
    let diag = h_n / n as f64;
    diag + (r - 1) as f64 / (n - 1) as f64 * (1.0 - diag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use rand::SeedableRng;

    #[test]
    fn radix_sort_matches_the_comparison_sort() {
        use rand::Rng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for (n, distinct) in [
            (0, 1),
            (1, 1),
            (5, 2),
            (1000, 3),
            (20_000, 1 << 20),
            (3000, u32::MAX),
        ] {
            let mut v: Vec<u32> = (0..n).map(|_| rng.gen_range(0..distinct)).collect();
            let mut want = v.clone();
            want.sort_unstable();
            radix_sort(&mut v, &mut Vec::new());
            assert_eq!(v, want, "n={n}");
        }
    }

    /// The metrics of a ranking sorted by comparison: every tie in rank order.
    fn metrics_by_sorting(scores: &[f32], relevant: &[bool]) -> Option<RankMetrics> {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let r = relevant.iter().filter(|&&f| f).count();
        let mut ties: Vec<Tie> = Vec::new();
        let mut last: Option<f32> = None;
        for i in order {
            let hit = usize::from(relevant[i]);
            match (last, ties.last_mut()) {
                (Some(l), Some(t)) if l.total_cmp(&scores[i]).is_eq() => {
                    t.len += 1;
                    t.hits += hit;
                }
                _ => ties.push(Tie { len: 1, hits: hit }),
            }
            last = Some(scores[i]);
        }
        (r > 0).then(|| metrics_of_ties(ties, r))
    }

    #[test]
    fn counting_bins_equals_sorting_the_ranking_bit_for_bit() {
        use rand::Rng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        // Few distinct scores (long ties), many, and a mix with signed zeros and infinities.
        let palettes: [&dyn Fn(&mut rand_chacha::ChaCha8Rng) -> f32; 3] = [
            &|g| g.gen_range(0..4) as f32 * 0.25,
            &|g| g.gen_range(-1.0..1.0),
            &|g| [0.0, -0.0, 0.5, f32::INFINITY, -3.0, 1e-40][g.gen_range(0..6)],
        ];
        for case in 0..600 {
            let n = rng.gen_range(1..400);
            let draw = palettes[case % 3];
            let scores: Vec<f32> = (0..n).map(|_| draw(&mut rng)).collect();
            let share = [0.01, 0.2, 0.9][case / 3 % 3];
            let relevant: Vec<bool> = (0..n).map(|_| rng.gen_bool(share)).collect();
            let want = metrics_by_sorting(&scores, &relevant);
            assert_eq!(rank_metrics(&scores, &relevant), want, "case {case}");
            // The same scores in blocks, the relevant positions repeated and out of range.
            let cut = rng.gen_range(0..=n);
            let mut positions: Vec<u32> = (0u32..)
                .zip(&relevant)
                .filter(|p| *p.1)
                .map(|p| p.0)
                .collect();
            positions.extend(positions.clone());
            positions.push(n as u32 + 3);
            positions.reverse();
            let parts = [&scores[..cut], &scores[cut..]];
            let got = rank_metrics_of_parts(&parts, &positions, &mut RankScratch::default());
            assert_eq!(got, want, "case {case} in parts at {cut}");
        }
    }

    #[test]
    fn gallop_finds_the_prefix_length() {
        for n in 0..70u32 {
            let v: Vec<u32> = (0..n).collect();
            for cut in 0..=n {
                assert_eq!(gallop(&v, |k| k < cut), cut as usize, "n={n} cut={cut}");
            }
        }
    }

    #[test]
    fn descending_key_orders_as_total_cmp_reversed() {
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
    fn matches_sklearn_average_precision() {
        // Python (scikit-learn 1.9.1):
        // from sklearn.metrics import average_precision_score
        // y = [1,0,1,1,0,0,1,0,0,0,1,0]
        // s = [.9,.85,.8,.7,.65,.6,.5,.45,.4,.3,.2,.1]
        // average_precision_score(y, s)  -> 0.6885281385281385
        let y = [1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0].map(|v| v == 1);
        let s = [
            0.9, 0.85, 0.8, 0.7, 0.65, 0.6, 0.5, 0.45, 0.4, 0.3, 0.2, 0.1,
        ];
        let m = rank_metrics(&s, &y).unwrap();
        assert!((m.ap - 0.6885281385281385).abs() < 1e-12, "{}", m.ap);
        assert_eq!(m.relevant, 5);
        assert!((m.p_at_5 - 0.6).abs() < 1e-12);
        assert!((m.p_at_10 - 0.4).abs() < 1e-12);
        assert!((m.r_precision - 0.6).abs() < 1e-12);
    }

    #[test]
    fn ranking_uses_scores_not_input_order() {
        // Python: average_precision_score([0,1,0,1], [0.1,0.9,0.3,0.2]) -> 0.8333333333333333
        let m = rank_metrics(&[0.1, 0.9, 0.3, 0.2], &[false, true, false, true]).unwrap();
        assert!((m.ap - 0.8333333333333333).abs() < 1e-12);
        assert!(rank_metrics(&[0.1, 0.2], &[false, false]).is_none());
    }

    #[test]
    fn tied_scores_match_sklearn_and_do_not_depend_on_order() {
        // Python (scikit-learn 1.9.1):
        // from sklearn.metrics import average_precision_score
        // y = [1,0,0,1,1,0,0,0,1,0]
        // s = [.9,.8,.8,.8,.8,.5,.5,.3,.3,.1]
        // average_precision_score(y, s)                  -> 0.6611111111111111
        // average_precision_score(y[::-1], s[::-1])      -> 0.6611111111111111
        // (the file-order tie break would give (1 + 2/4 + 3/5 + 4/9) / 4 = 0.6361 here)
        // P@5: the whole tie of four is inside: 3 hits -> 0.6; P@10 = 0.4;
        // R-precision (R = 4): 1 + 2 * 3/4 = 2.5 expected hits -> 0.625 (McSherry & Najork 2008).
        let y = [1, 0, 0, 1, 1, 0, 0, 0, 1, 0].map(|v| v == 1);
        let s = [0.9, 0.8, 0.8, 0.8, 0.8, 0.5, 0.5, 0.3, 0.3, 0.1];
        let m = rank_metrics(&s, &y).unwrap();
        assert!((m.ap - 0.6611111111111111).abs() < 1e-12, "{}", m.ap);
        assert!((m.p_at_5 - 0.6).abs() < 1e-12, "{}", m.p_at_5);
        assert!((m.p_at_10 - 0.4).abs() < 1e-12);
        assert!((m.r_precision - 0.625).abs() < 1e-12, "{}", m.r_precision);
        let (mut yr, mut sr) = (y, s);
        yr.reverse();
        sr.reverse();
        assert_eq!(rank_metrics(&sr, &yr).unwrap(), m);
    }

    #[test]
    fn tie_expectation_is_the_mean_over_all_orderings() {
        // Brute force: every ordering of a tie of 5 (2 relevant) after 3 ranked images.
        let s = [0.9f32, 0.8, 0.7, 0.5, 0.5, 0.5, 0.5, 0.5, 0.1];
        let y = [true, false, true, false, true, false, true, false, false];
        let m = rank_metrics(&s, &y).unwrap();
        let tie: Vec<bool> = y[3..8].to_vec();
        let mut sum = [0.0f64; 2];
        let mut count = 0.0;
        permute(&mut tie.clone(), 0, &mut |p| {
            let flags: Vec<bool> = y[..3].iter().chain(p).chain(&y[8..]).copied().collect();
            let exact = metrics_of_ranked(&flags, 4);
            sum[0] += exact.p_at_5;
            sum[1] += exact.r_precision;
            count += 1.0;
        });
        assert!((m.p_at_5 - sum[0] / count).abs() < 1e-12);
        assert!((m.r_precision - sum[1] / count).abs() < 1e-12);
    }

    fn permute(v: &mut Vec<bool>, at: usize, f: &mut dyn FnMut(&[bool])) {
        if at == v.len() {
            f(v);
            return;
        }
        for i in at..v.len() {
            v.swap(at, i);
            permute(v, at + 1, f);
            v.swap(at, i);
        }
    }

    #[test]
    fn random_ap_closed_form_edges() {
        assert!((expected_random_ap(4, 4) - 1.0).abs() < 1e-12);
        // R = 1, N = 3: E[1/rank] = (1 + 1/2 + 1/3) / 3
        assert!((expected_random_ap(1, 3) - 11.0 / 18.0).abs() < 1e-12);
    }

    #[test]
    fn random_ap_matches_monte_carlo() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for (r, n) in [(3usize, 20usize), (10, 50), (1, 30)] {
            let mut flags: Vec<bool> = (0..n).map(|i| i < r).collect();
            let trials = 40_000;
            let mean: f64 = (0..trials)
                .map(|_| {
                    flags.shuffle(&mut rng);
                    metrics_of_ranked(&flags, r).ap
                })
                .sum::<f64>()
                / trials as f64;
            let want = expected_random_ap(r, n);
            assert!(
                (mean - want).abs() < 0.004,
                "r={r} n={n}: mc {mean} vs {want}"
            );
        }
    }
}
