//! The dot product, with its instruction set chosen once per process.

use std::sync::OnceLock;

/// The instruction set the dot product runs on, detected once at first use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// 16-float registers with masked tails (x86-64 `avx512f`).
    Avx512,
    /// 8-float registers with fused multiply-add (x86-64 `avx2` and `fma`).
    Avx2Fma,
    /// Plain Rust in 8 independent lanes, which LLVM vectorises for the build's baseline.
    Portable,
}

type DotFn = fn(&[f32], &[f32]) -> f32;

static CHOSEN: OnceLock<(Isa, DotFn)> = OnceLock::new();

fn chosen() -> &'static (Isa, DotFn) {
    CHOSEN.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return (Isa::Avx512, x86::dot_avx512_entry as DotFn);
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return (Isa::Avx2Fma, x86::dot_avx2_entry as DotFn);
            }
        }
        (Isa::Portable, dot_portable as DotFn)
    })
}

/// The instruction set [`dot`] uses on this CPU.
pub fn isa() -> Isa {
    chosen().0
}

/// Dot product `sum a[i] * b[i]` over the common length of `a` and `b` (they are meant to be
/// equally long; a longer one's extra elements are ignored).
///
/// Four independent vector accumulators hide the add latency and are summed as a tree, so the
/// result can differ from a serial sum in the last bits; it is the same for the same inputs on
/// the same CPU. The instruction set is picked once per process ([`isa`]); release builds stay
/// portable (no `target-cpu=native` needed).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    (chosen().1)(&a[..n], &b[..n])
}

/// Euclidean norm `sqrt(a . a)`.
#[inline]
pub fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

/// Independent partial sums of the portable kernel.
const PORTABLE_LANES: usize = 8;

/// The portable kernel: `PORTABLE_LANES` partial sums over fixed chunks, so the loop
/// vectorises on any target; equal lengths assumed (callers cut them).
pub(crate) fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; PORTABLE_LANES];
    let (ca, cb) = (
        a.chunks_exact(PORTABLE_LANES),
        b.chunks_exact(PORTABLE_LANES),
    );
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for j in 0..PORTABLE_LANES {
            acc[j] += x[j] * y[j];
        }
    }
    let quads = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    ((quads[0] + quads[2]) + (quads[1] + quads[3])) + tail
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Floats in one AVX-512 register.
    const W512: usize = 16;
    /// Floats in one AVX register.
    const W256: usize = 8;
    /// Independent accumulators: enough to cover the 4-cycle FMA latency at 2 FMAs per cycle
    /// on current cores without spilling.
    const ACCS: usize = 4;

    pub(super) fn dot_avx512_entry(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: chosen only after `avx512f` was detected at run time; lengths are equal.
        unsafe { dot_avx512(a, b) }
    }

    pub(super) fn dot_avx2_entry(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: chosen only after `avx2` and `fma` were detected at run time.
        unsafe { dot_avx2(a, b) }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm512_setzero_ps(); ACCS];
        let mut i = 0;
        // SAFETY (all loads): every index read is < n, the length of both slices; the masked
        // load reads only the lanes below n.
        while i + ACCS * W512 <= n {
            for (j, s) in acc.iter_mut().enumerate() {
                let o = i + j * W512;
                *s = _mm512_fmadd_ps(
                    unsafe { _mm512_loadu_ps(pa.add(o)) },
                    unsafe { _mm512_loadu_ps(pb.add(o)) },
                    *s,
                );
            }
            i += ACCS * W512;
        }
        while i + W512 <= n {
            acc[0] = _mm512_fmadd_ps(
                unsafe { _mm512_loadu_ps(pa.add(i)) },
                unsafe { _mm512_loadu_ps(pb.add(i)) },
                acc[0],
            );
            i += W512;
        }
        if i < n {
            let mask: __mmask16 = (1u16 << (n - i)) - 1;
            acc[1] = _mm512_fmadd_ps(
                unsafe { _mm512_maskz_loadu_ps(mask, pa.add(i)) },
                unsafe { _mm512_maskz_loadu_ps(mask, pb.add(i)) },
                acc[1],
            );
        }
        let s = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        _mm512_reduce_add_ps(s)
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm256_setzero_ps(); ACCS];
        let mut i = 0;
        // SAFETY (all loads): every index read is < n, the length of both slices.
        while i + ACCS * W256 <= n {
            for (j, s) in acc.iter_mut().enumerate() {
                let o = i + j * W256;
                *s = _mm256_fmadd_ps(
                    unsafe { _mm256_loadu_ps(pa.add(o)) },
                    unsafe { _mm256_loadu_ps(pb.add(o)) },
                    *s,
                );
            }
            i += ACCS * W256;
        }
        while i + W256 <= n {
            acc[0] = _mm256_fmadd_ps(
                unsafe { _mm256_loadu_ps(pa.add(i)) },
                unsafe { _mm256_loadu_ps(pb.add(i)) },
                acc[0],
            );
            i += W256;
        }
        let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let half = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps::<1>(s));
        let quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
        let one = _mm_add_ss(quarter, _mm_shuffle_ps::<0b01>(quarter, quarter));
        let mut sum = _mm_cvtss_f32(one);
        for k in i..n {
            sum = a[k].mul_add(b[k], sum);
        }
        sum
    }

    /// The AVX2 kernel on its own, for tests on CPUs that also have AVX-512.
    #[cfg(test)]
    pub(super) fn dot_avx2_if_present(a: &[f32], b: &[f32]) -> Option<f32> {
        (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
            .then(|| dot_avx2_entry(a, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The scalar reference, in f64.
    fn reference(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    fn random(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
    }

    /// |error| bound of an f32 sum of n products of magnitude <= 1: n * eps * sum |a_i b_i|.
    fn bound(a: &[f32], b: &[f32]) -> f64 {
        let mag: f64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| (*x as f64 * *y as f64).abs())
            .sum();
        (a.len() as f64 + 1.0) * f32::EPSILON as f64 * mag + 1e-30
    }

    #[test]
    fn every_kernel_matches_the_scalar_reference_on_odd_lengths() {
        for n in [0, 1, 7, 15, 16, 17, 31, 63, 64, 65, 300, 1027] {
            let (a, b) = (random(n, n as u64), random(n, 1000 + n as u64));
            let want = reference(&a, &b);
            let tol = bound(&a, &b);
            let got = dot(&a, &b) as f64;
            assert!((got - want).abs() <= tol, "dot n={n}: {got} vs {want}");
            let got = dot_portable(&a, &b) as f64;
            assert!((got - want).abs() <= tol, "portable n={n}: {got} vs {want}");
            #[cfg(target_arch = "x86_64")]
            if let Some(got) = x86::dot_avx2_if_present(&a, &b) {
                let got = got as f64;
                assert!((got - want).abs() <= tol, "avx2 n={n}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn exact_on_small_integers_and_uses_the_common_length() {
        // Small integers are exact in f32 whatever the summation order.
        let a: Vec<f32> = (0..1027).map(|i| (i % 13) as f32 - 6.0).collect();
        let b: Vec<f32> = (0..1027).map(|i| (i % 7) as f32 - 3.0).collect();
        assert_eq!(dot(&a, &b) as f64, reference(&a, &b));
        assert_eq!(dot(&a[..5], &b), reference(&a[..5], &b[..5]) as f32);
        assert_eq!(norm(&[3.0, 4.0]), 5.0);
        assert_eq!(dot(&[], &[]), 0.0);
    }

    #[test]
    fn chosen_isa_matches_the_cpu() {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            assert_eq!(isa(), Isa::Avx512);
            return;
        }
        assert_ne!(isa(), Isa::Avx512);
    }
}
