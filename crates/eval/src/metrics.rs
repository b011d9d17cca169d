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
    let r = relevant.iter().filter(|x| **x).count();
    if r == 0 {
        return None;
    }
    // One u64 per image, sorted as plain integers (several times faster than sorting pairs
    // through a comparator): the high half orders scores best first as `f32::total_cmp` does,
    // the low half is the image's index.
    let mut order: Vec<u64> = scores
        .iter()
        .zip(0u32..)
        .map(|(s, i)| (u64::from(descending_key(*s)) << 32) | u64::from(i))
        .collect();
    sort_by_high_half(&mut order);
    let mut ties = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let key = order[start] >> 32;
        let len = order[start..]
            .iter()
            .take_while(|o| *o >> 32 == key)
            .count();
        let hits = order[start..start + len]
            .iter()
            .filter(|&&o| relevant[(o & u64::from(u32::MAX)) as usize])
            .count();
        ties.push(Tie { len, hits });
        start += len;
    }
    Some(metrics_of_ties(&ties, r))
}

/// Bits per pass of [`sort_by_high_half`]'s radix sort.
const RADIX_BITS: u32 = 8;

/// Sorts `v` ascending by the high 32 bits, stably: a least-significant-digit radix sort
/// (4 passes of [`RADIX_BITS`], a pass skipped when all share its digit), O(n) where a
/// comparison sort of 150K images is O(n log n). Given `v` in ascending order of its low
/// halves, the result is `v` sorted as plain integers.
fn sort_by_high_half(v: &mut Vec<u64>) {
    let buckets = 1usize << RADIX_BITS;
    let mask = (buckets - 1) as u64;
    let mut buf = vec![0u64; v.len()];
    for shift in (32..64).step_by(RADIX_BITS as usize) {
        let mut starts = vec![0usize; buckets];
        for x in v.iter() {
            starts[((x >> shift) & mask) as usize] += 1;
        }
        if starts.contains(&v.len()) {
            continue;
        }
        let mut sum = 0;
        for c in starts.iter_mut() {
            let count = *c;
            *c = sum;
            sum += count;
        }
        for x in v.iter() {
            let b = ((x >> shift) & mask) as usize;
            buf[starts[b]] = *x;
            starts[b] += 1;
        }
        std::mem::swap(v, &mut buf);
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
    metrics_of_ties(&ties, r)
}

/// Metrics of ties in rank order (`r` = relevant images in all).
fn metrics_of_ties(ties: &[Tie], r: usize) -> RankMetrics {
    let mut ap = 0.0;
    let (mut seen, mut hits) = (0usize, 0usize);
    for t in ties {
        seen += t.len;
        hits += t.hits;
        if t.hits > 0 {
            ap += t.hits as f64 * hits as f64 / seen as f64;
        }
    }
    let prec_at = |k: usize| expected_hits_at(ties, k) / k as f64;
    RankMetrics {
        relevant: r,
        ap: ap / r as f64,
        p_at_5: prec_at(5),
        p_at_10: prec_at(10),
        r_precision: prec_at(r),
    }
}

/// Expected relevant images among the first `k`, over the orderings of each tie.
fn expected_hits_at(ties: &[Tie], k: usize) -> f64 {
    let mut before = 0usize;
    let mut hits = 0.0;
    for t in ties {
        if before >= k {
            break;
        }
        let inside = (k - before).min(t.len);
        hits += t.hits as f64 * inside as f64 / t.len as f64;
        before += t.len;
    }
    hits
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
            let mut v: Vec<u64> = (0..n as u64)
                .map(|i| (u64::from(rng.gen_range(0..distinct)) << 32) | i)
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            sort_by_high_half(&mut v);
            assert_eq!(v, want, "n={n}");
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
