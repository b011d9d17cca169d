//! The clamped dot distance that the hnsw_rs builder ([`crate::HnswBuilder::HnswRs`]) uses, on the
//! workspace's dot kernel (webly's own builder and the flat search call [`dot`] directly).

use anndists::dist::Distance;

/// The workspace's dot product ([`webly_kernels::dot`]): AVX-512 or AVX2+FMA, chosen once.
pub use webly_kernels::dot;

/// `1 - a.b`, clamped at 0: the cosine distance for L2-normalised vectors.
///
/// anndists' `DistDot` asserts `1 - a.b >= 0`, which rounding breaks for a vector against
/// itself (`a.a` can be 1.0000001) and kills a parallel build holding duplicates; this one
/// clamps instead.
#[derive(Debug, Default, Clone, Copy)]
pub struct DotClamped;

impl Distance<f32> for DotClamped {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        (1.0 - dot(va, vb)).max(0.0)
    }
}

/// Asks the CPU to start loading the cache line at `at` (SSE's `prefetcht0`, part of every x86-64
/// CPU; a hint that never faults and changes no result).
#[inline(always)]
pub(crate) fn prefetch(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing architecturally and never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
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
