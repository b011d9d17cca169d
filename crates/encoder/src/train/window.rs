//! The metrics of a window of steps (a log window, an epoch, the whole run): sums of the step
//! results, turned into a `metrics.csv` row of means.
use crate::metrics::{MetricsRow, RowKind};
use crate::mining::TripletShares;
use crate::progress::{per_second, MIN_SECONDS};

/// Sums over a window of steps.
#[derive(Debug, Clone, Default)]
pub(super) struct Window {
    pub(super) steps: u64,
    pub(super) loss: f64,
    pub(super) active: f64,
    pub(super) shares: TripletShares,
    pub(super) images: usize,
    pub(super) time: f64,
    pub(super) wait: f64,
}

impl Window {
    pub(super) fn add(&mut self, s: &StepOut, wait: f64, time: f64) {
        self.steps += 1;
        self.loss += s.loss;
        self.active += s.active;
        self.shares.easy += s.shares.easy;
        self.shares.semi_hard += s.shares.semi_hard;
        self.shares.hard += s.shares.hard;
        self.images += s.images;
        self.time += time;
        self.wait += wait;
    }

    pub(super) fn row(
        &self,
        kind: RowKind,
        epoch: usize,
        step: u64,
        lr: f64,
        val_map: Option<f64>,
    ) -> MetricsRow {
        let n = self.steps.max(1) as f64;
        MetricsRow {
            kind,
            epoch,
            step,
            loss: self.loss / n,
            lr,
            active: self.active / n,
            easy: self.shares.easy / n,
            semi_hard: self.shares.semi_hard / n,
            hard: self.shares.hard / n,
            val_map,
            images_per_s: per_second(self.images as f64, self.time),
            data_wait: self.wait / self.time.max(MIN_SECONDS),
        }
    }
}

/// One step's results.
pub(super) struct StepOut {
    pub(super) loss: f64,
    pub(super) active: f64,
    pub(super) shares: TripletShares,
    pub(super) images: usize,
}
