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

/// A run of equally scored images in rank order (a tie): how many, and how many of them are
/// relevant; and how many images without relevant ones rank between the previous tie and it
/// (`before`: how they split into ties changes no metric).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tie {
    pub(crate) before: usize,
    pub(crate) len: usize,
    pub(crate) hits: usize,
}

/// Metrics of relevance flags already in rank order, without ties (each image its own rank),
/// `relevant` relevant images in all: at least the true flags, more when the ranking is cut
/// short (relevant images below it count as never retrieved). `relevant` 0 gives NaN metrics.
pub fn ranked_metrics(flags: &[bool], relevant: usize) -> RankMetrics {
    let ties: Vec<Tie> = flags
        .iter()
        .map(|&f| Tie {
            before: 0,
            len: 1,
            hits: usize::from(f),
        })
        .collect();
    metrics_of_ties(ties, relevant)
}

/// Precision at any cut `k` (at least 1) of the ranking of `scores`, highest first, with
/// [`crate::rank_metrics`]'s tie rule: a tie of `g` images with `h` relevant, of which `t` fall
/// inside the cut, counts `h t / g` hits (ties as [`webly_kernels::cells::descending_key`]
/// calls them). For `k` 5 and 10 this is [`RankMetrics::p_at_5`] and [`RankMetrics::p_at_10`].
///
/// # Errors
/// [`crate::EvalError::Invalid`] when the lengths differ or `k` is 0.
pub fn precision_at_k(scores: &[f32], relevant: &[bool], k: usize) -> crate::Result<f64> {
    if scores.len() != relevant.len() || k == 0 {
        return Err(crate::EvalError::Invalid(format!(
            "precision at k: {} scores, {} relevance flags, k {k} (the lengths must agree, k \
             at least 1)",
            scores.len(),
            relevant.len()
        )));
    }
    let key = |i: usize| webly_kernels::cells::descending_key(scores[i]);
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by_key(|&i| key(i));
    let (mut expected, mut seen) = (0.0f64, 0usize);
    for tie in order.chunk_by(|&a, &b| key(a) == key(b)) {
        if seen >= k {
            break;
        }
        let hits = tie.iter().filter(|&&i| relevant[i]).count();
        let inside = (k - seen).min(tie.len());
        expected += hits as f64 * inside as f64 / tie.len() as f64;
        seen += tie.len();
    }
    Ok(expected / k as f64)
}

/// Metrics of ties in rank order (`r` = relevant images in all), in one pass. The ties may stop
/// once all `r` relevant images and the first `max(r, 10)` images are passed. The images
/// `before` a tie add no hit, so they only move the rank on.
pub(crate) fn metrics_of_ties(ties: impl IntoIterator<Item = Tie>, r: usize) -> RankMetrics {
    let cuts = [5, 10, r];
    // Expected relevant images among the first k of each cut, over the orderings of each tie.
    let mut expected = [0.0f64; 3];
    let mut ap = 0.0;
    let (mut seen, mut hits) = (0usize, 0usize);
    for t in ties {
        seen += t.before;
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
    RandomRanking::new(n).ap(r)
}

/// Largest `n` whose harmonic number [`harmonic`] sums term by term.
const SUMMED_HARMONIC: usize = 4096;

/// The harmonic number H_n = 1 + 1/2 + ... + 1/n: summed up to [`SUMMED_HARMONIC`], beyond by
/// its Euler-Maclaurin expansion ln n + γ + 1/(2n) - 1/(12n²) + 1/(120n⁴), whose next term,
/// 1/(252n⁶), is below 1e-23 there (Knuth, The Art of Computer Programming 1, 1.2.7): as exact
/// as the f64 sum, without its n divisions (0.18 ms for 150K images, which every evaluation
/// waited for).
fn harmonic(n: usize) -> f64 {
    if n <= SUMMED_HARMONIC {
        return (1..=n).map(|m| 1.0 / m as f64).sum();
    }
    const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;
    let x = n as f64;
    let x2 = x * x;
    x.ln() + EULER_GAMMA + 1.0 / (2.0 * x) - 1.0 / (12.0 * x2) + 1.0 / (120.0 * x2 * x2)
}

/// A uniformly random ranking of `n` images, with the harmonic number H_N found once for the
/// expectations of every query ([`expected_random_ap`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RandomRanking {
    n: usize,
    h_n: f64,
}

impl RandomRanking {
    pub(crate) fn new(n: usize) -> Self {
        RandomRanking {
            n,
            h_n: harmonic(n),
        }
    }

    /// E\[P@k\] and E\[R-precision\] with `r` relevant images: `r / n`.
    pub(crate) fn p(&self, r: usize) -> f64 {
        r as f64 / self.n as f64
    }

    /// E\[AP\] with `r` relevant images ([`expected_random_ap`]).
    pub(crate) fn ap(&self, r: usize) -> f64 {
        let (n, h_n) = (self.n, self.h_n);
        if r == 0 || n == 0 {
            return 0.0;
        }
        if n == 1 {
            return 1.0;
        }
        let diag = h_n / n as f64;
        diag + (r - 1) as f64 / (n - 1) as f64 * (1.0 - diag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use rand::SeedableRng;

    /// The expansion against a compensated sum (Neumaier's: the plain f64 sum is off by 5e-14
    /// at a million terms, the expansion by less than 1e-15; H_1000000 = 14.3927267228657236...)
    /// just past where it takes over and up to a million.
    #[test]
    fn harmonic_expansion_matches_the_sum() {
        for n in [SUMMED_HARMONIC + 1, 10_000, 150_000, 1_000_000] {
            let (mut sum, mut lost) = (0.0f64, 0.0f64);
            for m in (1..=n).rev() {
                let term = 1.0 / m as f64;
                let t = sum + term;
                lost += if sum.abs() >= term {
                    (sum - t) + term
                } else {
                    (term - t) + sum
                };
                sum = t;
            }
            let (summed, expanded) = (sum + lost, harmonic(n));
            assert!(
                (expanded - summed).abs() <= 4.0 * f64::EPSILON * summed,
                "n={n}: {expanded} vs {summed}"
            );
        }
        assert!((harmonic(1_000_000) - 14.392_726_722_865_724).abs() < 4e-15);
        assert_eq!(harmonic(1), 1.0);
        assert_eq!(harmonic(3), 1.0 + 0.5 + 1.0 / 3.0);
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
                    ranked_metrics(&flags, r).ap
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
