//! One optimisation step: the forward pass, the negatives mined in the batch, the loss, the
//! backward pass and the optimiser update.
use super::window::StepOut;
use super::Run;
use crate::batches::Ready;
use crate::config::LossKind;
use crate::config::Mining;
use crate::error::EncoderError;
use crate::loss::{distance_matrix, TripletLoss};
use crate::mining::{
    mine_pairs, negative_weights, pair_shares, Direction, MiningInput, TripletShares,
};
use crate::model::OutputKind;
use crate::seeds::{stream_seed, Stream};
use crate::tensors::to_vec;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Kind, Tensor};

impl Run<'_> {
    /// Why a batch can have no usable negative, for messages.
    pub(super) fn no_negative_cause(&self) -> String {
        let limit = match self.cfg.mining {
            crate::config::Mining::GloveBand { max_similarity }
            | crate::config::Mining::All { max_similarity }
            | crate::config::Mining::Weighted { max_similarity, .. } => format!(
                "every other caption of the batch has cosine similarity above \
                 mining max_similarity = {max_similarity} to the anchor's caption (probable \
                 false negatives are dropped); raise max_similarity or the batch size"
            ),
            _ => "every caption of the batch is identical to the anchor's".into(),
        };
        format!(
            "{limit} ({} batches skipped so far)",
            self.state.skipped_batches
        )
    }

    /// One optimisation step; `None` when fewer than 2 images of the batch loaded or no
    /// negative was usable (counted in `skipped_batches`).
    pub(super) fn step(&mut self, batch: Ready, lr: f64) -> Result<Option<StepOut>, EncoderError> {
        let n = batch.items.len();
        if n < 2 {
            return Ok(None);
        }
        let targets = self.targets(&batch.items);
        self.opt.set_lr(lr);
        let raw = match self.features {
            Some(_) => self
                .net
                .forward_from_boundary(&batch.x, crate::nets::Phase::Train),
            None => self.net.forward_raw(&batch.x, crate::nets::Phase::Train),
        };
        let out = match self.cfg.loss.kind {
            LossKind::CrossEntropy => raw,
            _ => self.net.embedding(&raw, OutputKind::Direct),
        };
        let Some(Losses {
            per,
            weights,
            shares,
        }) = self.per_sample_loss(&out, &targets, batch.index)?
        else {
            self.state.skipped_batches += 1;
            return Ok(None);
        };
        let loss = match &weights {
            Some(w) => (&per * w).mean(Kind::Float),
            None => per.mean(Kind::Float),
        };
        let value = loss.double_value(&[]);
        if !value.is_finite() || value > self.cfg.max_loss {
            return Err(self.diverged(value));
        }
        self.opt.backward_step(&loss, self.cfg.grad_clip);
        let active = per
            .gt(0.0)
            .to_kind(Kind::Float)
            .mean(Kind::Float)
            .double_value(&[]);
        Ok(Some(StepOut {
            loss: value,
            active,
            shares,
            images: n,
        }))
    }

    pub(super) fn diverged(&self, loss: f64) -> EncoderError {
        EncoderError::Diverged {
            epoch: self.state.epoch,
            step: self.state.step + 1,
            loss,
            dir: self.cfg.out_dir.clone(),
        }
    }

    /// Targets `[k, dim]` of dataset items.
    pub(super) fn targets(&self, items: &[usize]) -> Tensor {
        let d = self.data.dim;
        let mut v = Vec::with_capacity(items.len() * d);
        for &i in items {
            v.extend_from_slice(&self.data.train_targets[i * d..(i + 1) * d]);
        }
        Tensor::from_slice(&v)
            .view([items.len() as i64, d as i64])
            .to_device(self.device)
    }

    /// Per-sample losses of the anchors that got a negative (all anchors for losses without);
    /// `None` when no anchor of the batch has a usable negative.
    pub(super) fn per_sample_loss(
        &self,
        out: &Tensor,
        targets: &Tensor,
        batch: usize,
    ) -> Result<Option<Losses>, EncoderError> {
        if !self.loss.needs_negatives() {
            return Ok(Some(Losses {
                per: self.loss.forward(out, targets, None),
                weights: None,
                shares: TripletShares::default(),
            }));
        }
        let n = out.size()[0] as usize;
        let it = to_vec(&distance_matrix(
            &out.detach(),
            targets,
            self.cfg.loss.distance,
        ))?;
        let tt = to_vec(&distance_matrix(
            targets,
            targets,
            crate::config::Distance::Cosine,
        ))?;
        let input = MiningInput {
            n,
            img_txt: &it,
            txt_txt: &tt,
            margin: self.cfg.loss.margin as f32,
        };
        let seed = stream_seed(
            self.cfg.seed,
            Stream::Mining,
            self.state.epoch as u64,
            batch as u64,
        );
        let pairs = mine_pairs(
            self.cfg.mining,
            &input,
            &mut ChaCha8Rng::seed_from_u64(seed),
        );
        let s = pair_shares(&input, &pairs);
        let (anchors, neg): (Vec<i64>, Vec<i64>) =
            pairs.iter().map(|&(i, j)| (i as i64, j as i64)).unzip();
        if anchors.is_empty() {
            return Ok(None);
        }
        let a = Tensor::from_slice(&anchors).to_device(self.device);
        let j = Tensor::from_slice(&neg).to_device(self.device);
        let (img, pos) = (out.index_select(0, &a), targets.index_select(0, &a));
        let weights = |direction| match self.cfg.mining {
            Mining::Weighted { temperature, .. } => Some(
                Tensor::from_slice(&negative_weights(&input, &pairs, temperature, direction))
                    .to_device(self.device),
            ),
            _ => None,
        };
        let per = self
            .loss
            .forward(&img, &pos, Some(&targets.index_select(0, &j)));
        let w = weights(Direction::ImageAnchored);
        if !(self.cfg.loss.text_anchored && self.cfg.loss.kind == LossKind::Triplet) {
            return Ok(Some(Losses {
                per,
                weights: w,
                shares: s,
            }));
        }
        let triplet = TripletLoss {
            margin: self.cfg.loss.margin,
            distance: self.cfg.loss.distance,
        };
        let back = triplet.text_anchored(&img, &pos, &out.index_select(0, &j));
        let weights = w
            .zip(weights(Direction::TextAnchored))
            .map(|(a, b)| Tensor::cat(&[a, b], 0));
        Ok(Some(Losses {
            per: Tensor::cat(&[per, back], 0),
            weights,
            shares: s,
        }))
    }
}

/// A batch's per-triplet losses, before weighting (what `active` counts).
pub(super) struct Losses {
    /// One loss per triplet (image-anchored, then caption-anchored).
    per: Tensor,
    /// [`Mining::Weighted`]'s weight of each, `None` for an unweighted mean.
    weights: Option<Tensor>,
    /// The classes of the mined triplets.
    shares: TripletShares,
}
