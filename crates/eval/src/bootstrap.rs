//! Paired bootstrap over queries: how sure a difference of two models' mAP is.
//!
//! Two models evaluated on the same queries give two AP values per query. The difference of
//! their mAPs is the mean of the per-query differences `d_q = a_q - b_q`; resampling the queries
//! with replacement (the queries are the sample, the images are fixed) and taking the percentiles
//! of the resampled means gives Efron's percentile interval (Efron and Tibshirani, *An
//! Introduction to the Bootstrap*, 1993, ch. 13; the test used for retrieval systems by Sakai,
//! *Evaluating evaluation metrics based on the bootstrap*, SIGIR 2006).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{EvalError, Result};

/// Resamples of [`PairedBootstrap::DEFAULT`]: enough for a stable 95% percentile interval
/// (Efron and Tibshirani recommend at least 1,000 for percentiles).
pub const DEFAULT_RESAMPLES: usize = 10_000;

/// Settings of a paired bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PairedBootstrap {
    /// Resamples of the queries.
    pub resamples: usize,
    /// Two-sided confidence of the interval, in (0, 1).
    pub confidence: f64,
    /// Seed of the resampling (the same seed gives the same interval).
    pub seed: u64,
}

impl PairedBootstrap {
    /// 10,000 resamples, 95%, seed 0.
    pub const DEFAULT: PairedBootstrap = PairedBootstrap {
        resamples: DEFAULT_RESAMPLES,
        confidence: 0.95,
        seed: 0,
    };
}

impl Default for PairedBootstrap {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The difference `mean(a) - mean(b)` over paired values and how sure it is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedDifference {
    /// Pairs (queries).
    pub n: usize,
    /// `mean(a) - mean(b)`.
    pub mean: f64,
    /// Lower end of the percentile interval.
    pub low: f64,
    /// Upper end of the percentile interval.
    pub high: f64,
    /// Share of resamples whose mean difference is `<= 0`: a one-sided bootstrap p-value for
    /// "a is better than b".
    pub share_not_above_zero: f64,
}

impl PairedDifference {
    /// True when the whole interval lies above zero.
    pub fn excludes_zero_above(&self) -> bool {
        self.low > 0.0
    }
}

impl PairedBootstrap {
    /// The paired difference of `a` and `b` (`a[q]`, `b[q]`: the two models' values for query
    /// `q`).
    ///
    /// # Errors
    /// [`EvalError::Invalid`] when the slices differ in length or are empty, a value is not
    /// finite, `resamples` is 0 or `confidence` is not in (0, 1).
    pub fn difference(&self, a: &[f64], b: &[f64]) -> Result<PairedDifference> {
        if a.len() != b.len() || a.is_empty() {
            return Err(EvalError::Invalid(format!(
                "a paired bootstrap needs two equally long, non-empty lists (got {} and {})",
                a.len(),
                b.len()
            )));
        }
        if self.resamples == 0 || !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(EvalError::Invalid(format!(
                "a paired bootstrap needs resamples >= 1 and 0 < confidence < 1 (got {} and {})",
                self.resamples, self.confidence
            )));
        }
        if let Some(q) = a.iter().chain(b).position(|v| !v.is_finite()) {
            return Err(EvalError::Invalid(format!(
                "value {} of a paired bootstrap is not finite",
                q % a.len()
            )));
        }
        let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        let n = d.len();
        let mean = d.iter().sum::<f64>() / n as f64;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut means: Vec<f64> = (0..self.resamples)
            .map(|_| (0..n).map(|_| d[rng.gen_range(0..n)]).sum::<f64>() / n as f64)
            .collect();
        means.sort_by(f64::total_cmp);
        let tail = (1.0 - self.confidence) / 2.0;
        let not_above = means.iter().filter(|&&m| m <= 0.0).count();
        Ok(PairedDifference {
            n,
            mean,
            low: percentile(&means, tail),
            high: percentile(&means, 1.0 - tail),
            share_not_above_zero: not_above as f64 / means.len() as f64,
        })
    }
}

/// The `p`-quantile of sorted values, linearly interpolated between the closest ranks (numpy's
/// default `linear` method).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let pos = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    // numpy.percentile([1, 2, 3, 4], [10, 50, 95]) = [1.3, 2.5, 3.85]
    #[test]
    fn percentile_as_numpy_linear() {
        let v = [1.0, 2.0, 3.0, 4.0];
        for (p, want) in [(0.10, 1.3), (0.50, 2.5), (0.95, 3.85)] {
            assert!((percentile(&v, p) - want).abs() < 1e-12, "{p}");
        }
    }

    #[test]
    fn constant_difference_gives_a_point_interval() {
        let a = [0.5, 0.7, 0.2, 0.9];
        let b: Vec<f64> = a.iter().map(|x| x - 0.05).collect();
        let d = PairedBootstrap::DEFAULT
            .difference(&a, &b)
            .expect("bootstrap");
        assert!((d.mean - 0.05).abs() < 1e-12);
        assert!((d.low - 0.05).abs() < 1e-12 && (d.high - 0.05).abs() < 1e-12);
        assert_eq!(d.share_not_above_zero, 0.0);
        assert!(d.excludes_zero_above());
    }

    // For n iid differences the percentile interval approaches mean +- 1.96 sd / sqrt(n): with
    // n = 400 differences alternating 0.3 and -0.1 (mean 0.1, population sd 0.2) the half-width
    // is 1.96 * 0.2 / 20 = 0.0196.
    #[test]
    fn interval_matches_the_normal_approximation() {
        let d: Vec<f64> = (0..400)
            .map(|i| if i % 2 == 0 { 0.3 } else { -0.1 })
            .collect();
        let zero = vec![0.0; 400];
        let r = PairedBootstrap::DEFAULT
            .difference(&d, &zero)
            .expect("bootstrap");
        assert!((r.mean - 0.1).abs() < 1e-12);
        assert!((r.low - (0.1 - 0.0196)).abs() < 0.002, "{r:?}");
        assert!((r.high - (0.1 + 0.0196)).abs() < 0.002, "{r:?}");
    }

    // A difference carried by one query out of ten is not sure: the interval reaches zero.
    #[test]
    fn one_lucky_query_is_not_a_win() {
        let mut a = vec![0.4; 10];
        a[3] = 0.9;
        let b = vec![0.4; 10];
        let r = PairedBootstrap::DEFAULT
            .difference(&a, &b)
            .expect("bootstrap");
        assert!((r.mean - 0.05).abs() < 1e-12);
        assert_eq!(r.low, 0.0, "{r:?}");
        assert!(!r.excludes_zero_above());
        // P(query 3 never drawn in 10 draws) = 0.9^10 = 0.349
        assert!((r.share_not_above_zero - 0.349).abs() < 0.02, "{r:?}");
    }

    #[test]
    fn bad_inputs_are_errors() {
        let b = PairedBootstrap::DEFAULT;
        assert!(b.difference(&[], &[]).is_err());
        assert!(b.difference(&[1.0], &[1.0, 2.0]).is_err());
        assert!(b.difference(&[f64::NAN], &[1.0]).is_err());
        let zero = PairedBootstrap {
            resamples: 0,
            ..PairedBootstrap::DEFAULT
        };
        assert!(zero.difference(&[1.0], &[0.0]).is_err());
    }

    #[test]
    fn same_seed_same_interval() {
        let a = [0.1, 0.5, 0.3, 0.8, 0.2];
        let b = [0.2, 0.4, 0.1, 0.6, 0.3];
        let r1 = PairedBootstrap::DEFAULT
            .difference(&a, &b)
            .expect("bootstrap");
        let r2 = PairedBootstrap::DEFAULT
            .difference(&a, &b)
            .expect("bootstrap");
        assert_eq!(r1, r2);
    }
}
