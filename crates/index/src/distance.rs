//! The dot-product kernel and the clamped dot distance handed to hnsw_rs.

use anndists::dist::Distance;

/// Accumulator width of the portable kernel: 8 independent sums let LLVM keep two SSE (or one
/// AVX) register of partial sums without a loop-carried dependency on a single float.
const PORTABLE_LANES: usize = 8;
/// Accumulator width of the AVX2 kernel: four 8-float registers hide the add latency.
#[cfg(target_arch = "x86_64")]
const AVX2_LANES: usize = 32;

/// Dot product of two equally long slices.
///
/// Uses an AVX2 code path when the CPU has it (checked at run time, cached by std), else the
/// portable 8-wide kernel; both sum in the same lane order so results are deterministic on a
/// given machine.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `dot_avx2` only requires the avx2 target feature, detected just above.
        return unsafe { dot_avx2(a, b) };
    }
    dot_lanes::<PORTABLE_LANES>(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    dot_lanes::<AVX2_LANES>(a, b)
}

/// `LANES` independent partial sums over fixed-size chunks, so the loop auto-vectorises.
#[inline(always)]
fn dot_lanes<const LANES: usize>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..LANES {
            acc[j] += x[j] * y[j];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// `1 - a.b`, clamped at 0: the cosine distance for L2-normalised vectors.
///
/// anndists' `DistDot` asserts `1 - a.b >= 0`, which rounding breaks for a vector against
/// itself (`a.a` can be 1.0000001) and kills a parallel build holding duplicates; this one
/// clamps instead. hnsw_rs checks the distance of a reloaded dump by the type's last name
/// segment, so this type must keep its name (`DotClamped`) or old indexes stop loading.
#[derive(Debug, Default, Clone, Copy)]
pub struct DotClamped;

impl Distance<f32> for DotClamped {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        (1.0 - dot(va, vb)).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    #[test]
    fn dot_matches_naive_for_all_tail_lengths() {
        for n in 0..80 {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let want = naive(&a, &b);
            assert!((dot(&a, &b) as f64 - want).abs() < 1e-4, "n={n}");
            assert!((dot_lanes::<8>(&a, &b) as f64 - want).abs() < 1e-4, "n={n}");
        }
    }

    #[test]
    fn distance_is_clamped_at_zero_for_self() {
        let v = [0.6f32, 0.8, 0.01, 0.0]; // |v|^2 = 1.0001: what rounding does to unit vectors
        assert!(dot(&v, &v) > 1.0);
        assert_eq!(DotClamped.eval(&v, &v), 0.0);
        assert!((DotClamped.eval(&[1.0, 0.0], &[0.0, 1.0]) - 1.0).abs() < 1e-7);
    }
}
