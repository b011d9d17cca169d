//! Losses between image outputs and caption embeddings. Every loss returns per-sample values
//! `[n]` (the caller averages), so the share of active (non-zero) triplets can be logged.
use crate::config::{Distance, LossConfig, LossKind};
use tch::{Kind, Tensor};

/// Floor of norms and ranges (avoids dividing by zero on constant or zero vectors).
const EPS: f64 = 1e-12;

/// A loss on image outputs `img [n, d]`, positive caption embeddings `pos [n, d]` and optional
/// negative caption embeddings `neg [n, d]`; returns per-sample losses `[n]`.
pub trait Loss: Send {
    /// Per-sample losses `[n]` of image outputs `img [n, d]` against positive captions
    /// `pos [n, d]` and, for the ranking losses, negative captions `neg [n, d]`.
    fn forward(&self, img: &Tensor, pos: &Tensor, neg: Option<&Tensor>) -> Tensor;
    /// Whether `forward` uses `neg` (then the trainer mines negatives).
    fn needs_negatives(&self) -> bool;
}

/// Row-wise distance `[n]` between `a [n, d]` and `b [n, d]`.
pub fn distance(a: &Tensor, b: &Tensor, d: Distance) -> Tensor {
    match d {
        Distance::SquaredL2 => (a - b).square().sum_dim_intlist(1i64, false, Kind::Float),
        Distance::L2 => (a - b).norm_scalaropt_dim(2, [1], false),
        Distance::Cosine => 1.0 - cosine(a, b),
    }
}

fn cosine(a: &Tensor, b: &Tensor) -> Tensor {
    let dot = (a * b).sum_dim_intlist(1i64, false, Kind::Float);
    let na = a.norm_scalaropt_dim(2, [1], false).clamp_min(EPS);
    let nb = b.norm_scalaropt_dim(2, [1], false).clamp_min(EPS);
    dot / (na * nb)
}

/// All-pairs distance `[n, m]` between the rows of `a [n, d]` and `b [m, d]`.
pub fn distance_matrix(a: &Tensor, b: &Tensor, d: Distance) -> Tensor {
    match d {
        Distance::SquaredL2 | Distance::L2 => {
            let aa = a.square().sum_dim_intlist(1i64, true, Kind::Float);
            let bb = b
                .square()
                .sum_dim_intlist(1i64, true, Kind::Float)
                .transpose(0, 1);
            let sq = (aa + bb - a.matmul(&b.transpose(0, 1)) * 2.0).clamp_min(0.0);
            if d == Distance::L2 {
                sq.sqrt()
            } else {
                sq
            }
        }
        Distance::Cosine => {
            let an = a / a.norm_scalaropt_dim(2, [1], true).clamp_min(EPS);
            let bn = b / b.norm_scalaropt_dim(2, [1], true).clamp_min(EPS);
            1.0 - an.matmul(&bn.transpose(0, 1))
        }
    }
}

/// Triplet ranking loss `max(0, m + d(a,p) - d(a,n))` (without negatives: `max(0, m + d(a,p))`).
#[derive(Debug, Clone, Copy)]
pub struct TripletLoss {
    /// Margin `m`, in units of `distance`.
    pub margin: f64,
    /// The distance `d`.
    pub distance: Distance,
}

impl TripletLoss {
    /// The caption-anchored direction: `max(0, m + d(img, pos) - d(other_img, pos))`, the
    /// positive caption ranking its own image above another image.
    pub fn text_anchored(&self, img: &Tensor, pos: &Tensor, other_img: &Tensor) -> Tensor {
        let dp = distance(img, pos, self.distance);
        let dn = distance(other_img, pos, self.distance);
        (dp - dn + self.margin).clamp_min(0.0)
    }
}

impl Loss for TripletLoss {
    fn forward(&self, img: &Tensor, pos: &Tensor, neg: Option<&Tensor>) -> Tensor {
        let dp = distance(img, pos, self.distance);
        let dn = match neg {
            Some(n) => distance(img, n, self.distance),
            None => dp.zeros_like(),
        };
        (dp - dn + self.margin).clamp_min(0.0)
    }
    fn needs_negatives(&self) -> bool {
        true
    }
}

/// Pairwise (contrastive) ranking loss `d(a,p) + max(0, m - d(a,n))`.
#[derive(Debug, Clone, Copy)]
pub struct PairwiseLoss {
    /// Margin `m`, in units of `distance`.
    pub margin: f64,
    /// The distance `d`.
    pub distance: Distance,
}

impl Loss for PairwiseLoss {
    fn forward(&self, img: &Tensor, pos: &Tensor, neg: Option<&Tensor>) -> Tensor {
        let dp = distance(img, pos, self.distance);
        match neg {
            Some(n) => dp + (self.margin - distance(img, n, self.distance)).clamp_min(0.0),
            None => dp,
        }
    }
    fn needs_negatives(&self) -> bool {
        true
    }
}

/// Scales each row to [0, 1]: subtract the row's min, divide by the row's (new) max.
pub fn scale_unit_interval(t: &Tensor) -> Tensor {
    let shifted = t - t.amin([1], true);
    let range = shifted.amax([1], true).clamp_min(EPS);
    shifted / range
}

/// The reference's "cross-entropy" baseline: sigmoid cross-entropy between the raw output
/// (logits) and the caption embedding scaled to [0, 1] per vector, averaged over dimensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct CrossEntropyLoss;

impl Loss for CrossEntropyLoss {
    fn forward(&self, img: &Tensor, pos: &Tensor, _neg: Option<&Tensor>) -> Tensor {
        let t = scale_unit_interval(pos);
        // Stable form of -(t log s(x) + (1-t) log(1 - s(x))).
        let per_dim = img.clamp_min(0.0) - img * &t + (-img.abs()).exp().log1p();
        per_dim.mean_dim(1i64, false, Kind::Float)
    }
    fn needs_negatives(&self) -> bool {
        false
    }
}

/// Mean squared error to the caption embedding, averaged over dimensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct MseLoss;

impl Loss for MseLoss {
    fn forward(&self, img: &Tensor, pos: &Tensor, _neg: Option<&Tensor>) -> Tensor {
        (img - pos).square().mean_dim(1i64, false, Kind::Float)
    }
    fn needs_negatives(&self) -> bool {
        false
    }
}

/// The loss a config selects.
pub fn loss_from_config(cfg: &LossConfig) -> Box<dyn Loss> {
    match cfg.kind {
        LossKind::Triplet => Box::new(TripletLoss {
            margin: cfg.margin,
            distance: cfg.distance,
        }),
        LossKind::Pairwise => Box::new(PairwiseLoss {
            margin: cfg.margin,
            distance: cfg.distance,
        }),
        LossKind::CrossEntropy => Box::new(CrossEntropyLoss),
        LossKind::Mse => Box::new(MseLoss),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Reduction};

    const TOL: f64 = 1e-5;

    // Hand-made: pos = e1; img = e1 (d = 0), other image = e2 (squared L2 to e1 = 2).
    // Margin 0.5: max(0, 0.5 + 0 - 2) = 0. Swapped (img = e2, other = e1): 0.5 + 2 - 0 = 2.5.
    #[test]
    fn text_anchored_triplet_known_values() {
        let e1 = Tensor::from_slice(&[1.0f32, 0.0]).view([1, 2]);
        let e2 = Tensor::from_slice(&[0.0f32, 1.0]).view([1, 2]);
        let l = TripletLoss {
            margin: 0.5,
            distance: Distance::SquaredL2,
        };
        assert!(l.text_anchored(&e1, &e1, &e2).double_value(&[0]).abs() < TOL);
        assert!((l.text_anchored(&e2, &e1, &e1).double_value(&[0]) - 2.5).abs() < TOL);
    }

    fn rand(n: i64, d: i64) -> Tensor {
        Tensor::randn([n, d], (Kind::Float, Device::Cpu))
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).abs().max().double_value(&[])
    }

    // libtorch's triplet_margin_loss is max(0, m + ||a-p+eps|| - ||a-n+eps||) with p = 2:
    // our L2 variant must match it (eps 1e-6 in libtorch: tolerance 1e-4).
    #[test]
    fn triplet_l2_matches_libtorch() {
        tch::manual_seed(1);
        let (a, p, n) = (rand(64, 16), rand(64, 16), rand(64, 16));
        let ours = TripletLoss {
            margin: 1.5,
            distance: Distance::L2,
        }
        .forward(&a, &p, Some(&n));
        let theirs =
            Tensor::triplet_margin_loss(&a, &p, &n, 1.5, 2.0, 1e-6, false, Reduction::None);
        assert!(max_diff(&ours, &theirs) < 1e-4);
        assert!(
            ours.gt(0.0).any().int64_value(&[]) == 1 && ours.eq(0.0).any().int64_value(&[]) == 1
        );
    }

    // Squared L2 triplet = margin_ranking_loss(x1 = d(a,n), x2 = d(a,p), y = 1, m), since
    // margin_ranking_loss = max(0, -y (x1 - x2) + m) = max(0, m + d(a,p) - d(a,n)); the
    // distances are checked independently against libtorch's pairwise_distance squared.
    #[test]
    fn triplet_squared_l2_matches_margin_ranking() {
        tch::manual_seed(2);
        let (a, p, n) = (rand(64, 8), rand(64, 8), rand(64, 8));
        let dp = Tensor::pairwise_distance(&a, &p, 2.0, 0.0, false).square();
        let dn = Tensor::pairwise_distance(&a, &n, 2.0, 0.0, false).square();
        let y = Tensor::ones([64], (Kind::Float, Device::Cpu));
        let theirs = Tensor::margin_ranking_loss(&dn, &dp, &y, 4.0, Reduction::None);
        let ours = TripletLoss {
            margin: 4.0,
            distance: Distance::SquaredL2,
        }
        .forward(&a, &p, Some(&n));
        assert!(max_diff(&ours, &theirs) < 1e-3 * theirs.abs().max().double_value(&[]).max(1.0));
    }

    // Cosine triplet: max(0, m + (1-cos(a,p)) - (1-cos(a,n))) = margin_ranking(cos(a,p), cos(a,n), 1, m)
    // with libtorch's cosine_similarity.
    #[test]
    fn triplet_cosine_matches_margin_ranking() {
        tch::manual_seed(3);
        let (a, p, n) = (rand(64, 8), rand(64, 8), rand(64, 8));
        let cp = Tensor::cosine_similarity(&a, &p, 1, 1e-8);
        let cn = Tensor::cosine_similarity(&a, &n, 1, 1e-8);
        let y = Tensor::ones([64], (Kind::Float, Device::Cpu));
        let theirs = Tensor::margin_ranking_loss(&cp, &cn, &y, 0.3, Reduction::None);
        let ours = TripletLoss {
            margin: 0.3,
            distance: Distance::Cosine,
        }
        .forward(&a, &p, Some(&n));
        assert!(max_diff(&ours, &theirs) < TOL);
    }

    // cosine_embedding_loss: y = 1 -> 1 - cos(a,p) (our cosine distance); y = -1 ->
    // max(0, cos(a,n) - m'), and with d = 1 - cos, max(0, m - d) = max(0, cos - (1 - m)): m' = 1 - m.
    #[test]
    fn pairwise_cosine_matches_cosine_embedding_loss() {
        tch::manual_seed(4);
        let (a, p, n) = (rand(64, 8), rand(64, 8), rand(64, 8));
        let m = 1.2;
        let ones = Tensor::ones([64], (Kind::Float, Device::Cpu));
        let pos = Tensor::cosine_embedding_loss(&a, &p, &ones, 0.0, Reduction::None);
        let neg = Tensor::cosine_embedding_loss(&a, &n, &(-&ones), 1.0 - m, Reduction::None);
        let ours = PairwiseLoss {
            margin: m,
            distance: Distance::Cosine,
        }
        .forward(&a, &p, Some(&n));
        assert!(max_diff(&ours, &(pos + &neg)) < TOL);
        assert!(
            neg.eq(0.0).any().int64_value(&[]) == 1,
            "some negatives past the margin"
        );
    }

    // Our stable formula against libtorch's binary_cross_entropy_with_logits on the scaled target.
    #[test]
    fn cross_entropy_matches_libtorch() {
        tch::manual_seed(5);
        let (x, t) = (rand(32, 12) * 3.0, rand(32, 12));
        let ts = scale_unit_interval(&t);
        let theirs = x
            .binary_cross_entropy_with_logits::<Tensor>(&ts, None, None, Reduction::None)
            .mean_dim(1i64, false, Kind::Float);
        let ours = CrossEntropyLoss.forward(&x, &t, None);
        assert!(max_diff(&ours, &theirs) < TOL);
    }

    // [-2, 0, 2] -> subtract min -> [0, 2, 4] -> divide by max -> [0, 0.5, 1], per row.
    #[test]
    fn unit_interval_scaling_per_row() {
        let t = Tensor::from_slice(&[-2.0f32, 0.0, 2.0, 1.0, 3.0, 2.0]).view([2, 3]);
        let want = Tensor::from_slice(&[0.0f32, 0.5, 1.0, 0.0, 1.0, 0.5]).view([2, 3]);
        assert!(max_diff(&scale_unit_interval(&t), &want) < 1e-7);
    }

    #[test]
    fn mse_matches_libtorch() {
        tch::manual_seed(6);
        let (x, t) = (rand(16, 8), rand(16, 8));
        let ours = MseLoss.forward(&x, &t, None).mean(Kind::Float);
        let theirs = x.mse_loss(&t, Reduction::Mean);
        assert!(max_diff(&ours, &theirs) < TOL);
    }

    // The distance matrix agrees with the row-wise distance on every pair, and with cdist.
    #[test]
    fn distance_matrix_consistent() {
        tch::manual_seed(7);
        let (a, b) = (rand(5, 4), rand(6, 4));
        let l2 = distance_matrix(&a, &b, Distance::L2);
        assert!(max_diff(&l2, &Tensor::cdist(&a, &b, 2.0, None)) < 1e-4);
        for d in [Distance::SquaredL2, Distance::Cosine] {
            let m = distance_matrix(&a, &b, d);
            for j in 0..6 {
                let bj = b.get(j).unsqueeze(0).expand([5, 4], false);
                assert!(max_diff(&m.select(1, j), &distance(&a, &bj, d)) < 1e-4);
            }
        }
    }
}
