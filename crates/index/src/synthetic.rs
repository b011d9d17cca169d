//! Clustered, low-rank unit vectors with a fixed seed: "embedding-like" data for tests and the
//! benchmark (real embeddings sit near a low-dimensional subspace, in clumps).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::Embeddings;

/// How the synthetic vectors are drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Number of cluster centres.
    pub clusters: usize,
    /// Dimension of the subspace the centres and the in-cluster spread live in.
    pub rank: usize,
    /// Standard deviation of the in-cluster spread (the centres have 1).
    pub spread: f32,
    /// Standard deviation of the full-dimensional noise.
    pub noise: f32,
    /// Seed of the ChaCha8 generator.
    pub seed: u64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            clusters: 64,
            rank: 24,
            spread: 0.5,
            noise: 0.05,
            seed: 42,
        }
    }
}

/// `n` vectors of dimension `dim`, keys `syn/<row>`.
pub fn clustered(n: usize, dim: usize, cfg: &SyntheticConfig) -> Embeddings {
    let data = draw(n, dim, cfg);
    let keys = (0..n).map(|i| format!("syn/{i}")).collect();
    Embeddings::new(data, dim, keys).expect("synthetic vectors are finite and non-zero")
}

/// `n` indexed vectors plus `m` held-out queries (row-major `m x dim`) from the same clusters.
pub fn clustered_split(
    n: usize,
    m: usize,
    dim: usize,
    cfg: &SyntheticConfig,
) -> (Embeddings, Vec<f32>) {
    let all = clustered(n + m, dim, cfg);
    let (data, queries) = all.as_slice().split_at(n * dim);
    let keys = all.keys()[..n].to_vec();
    let emb = Embeddings::from_slice(data, dim, keys).expect("rows already validated");
    (emb, queries.to_vec())
}

fn draw(n: usize, dim: usize, cfg: &SyntheticConfig) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let rank = cfg.rank.max(1);
    let basis = gaussians(&mut rng, rank * dim, 1.0);
    let centres = gaussians(&mut rng, cfg.clusters.max(1) * rank, 1.0);
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = rng.gen_range(0..cfg.clusters.max(1));
        let mut z = centres[c * rank..(c + 1) * rank].to_vec();
        z.iter_mut()
            .for_each(|x| *x += cfg.spread * gaussian(&mut rng));
        for j in 0..dim {
            let proj: f32 = (0..rank).map(|r| z[r] * basis[r * dim + j]).sum();
            out.push(proj + cfg.noise * gaussian(&mut rng));
        }
    }
    out
}

fn gaussians(rng: &mut ChaCha8Rng, n: usize, sd: f32) -> Vec<f32> {
    (0..n).map(|_| sd * gaussian(rng)).collect()
}

/// Box-Muller standard normal.
fn gaussian(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f32 = rng.gen_range(f32::EPSILON..1.0);
    let u2: f32 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_deterministic_and_unit_length() {
        let a = clustered(50, 8, &SyntheticConfig::default());
        let b = clustered(50, 8, &SyntheticConfig::default());
        assert_eq!(a.as_slice(), b.as_slice());
        let norm: f32 = a.row(3).iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        let (e, q) = clustered_split(40, 10, 8, &SyntheticConfig::default());
        assert_eq!((e.len(), q.len()), (40, 80));
        assert_eq!(&q[..8], a.row(40));
    }
}
