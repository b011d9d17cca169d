//! Where training batches come from: decoded images (a background loader thread) or the
//! activation cache at the freeze boundary (gathered from memory-mapped shards).
use crate::cache::FeatureSet;
use crate::error::EncoderError;
use crate::prefetch::{Job, Loaded};
use crate::seeds::{stream_seed, Stream};
use crate::tensors::batch_tensor;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::thread::JoinHandle;
use tch::{Device, Tensor};

/// A batch ready for the network.
pub(crate) struct Ready {
    /// Position of the batch in its epoch.
    pub index: usize,
    /// Dataset indices of the rows of `x`.
    pub items: Vec<usize>,
    /// `[n, 3, crop, crop]` pixels, or `[n, ...]` boundary activations when cached.
    pub x: Tensor,
    /// Images of the batch that could not be loaded.
    pub skipped: usize,
}

/// Batches decoded by the prefetch thread; dropping it stops and joins the thread.
pub(crate) struct ImageBatches {
    rx: Option<Receiver<Loaded>>,
    handle: Option<JoinHandle<()>>,
    crop: i64,
    device: Device,
}

impl ImageBatches {
    pub(crate) fn new(
        (rx, handle): (Receiver<Loaded>, JoinHandle<()>),
        crop: u32,
        device: Device,
    ) -> Self {
        Self {
            rx: Some(rx),
            handle: Some(handle),
            crop: i64::from(crop),
            device,
        }
    }
}

impl Iterator for ImageBatches {
    type Item = Result<Ready, EncoderError>;

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.rx.as_ref()?.recv().ok()?;
        let skipped = b.skipped.len();
        let x = if b.items.is_empty() {
            Ok(Tensor::new())
        } else {
            batch_tensor(&b.data, self.crop, self.device)
        };
        Some(x.map(|x| Ready {
            index: b.index,
            items: b.items,
            x,
            skipped,
        }))
    }
}

impl Drop for ImageBatches {
    fn drop(&mut self) {
        self.rx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Batches gathered from a cached set: each image in one of its views, drawn per
/// (seed, epoch, image) so that a resumed run draws the same.
pub(crate) struct CachedBatches {
    pub set: Arc<FeatureSet>,
    pub jobs: std::vec::IntoIter<Job>,
    pub seed: u64,
    pub epoch: u64,
    pub device: Device,
}

impl Iterator for CachedBatches {
    type Item = Result<Ready, EncoderError>;

    fn next(&mut self) -> Option<Self::Item> {
        let job = self.jobs.next()?;
        let views = self.set.views() as u64;
        let chosen: Vec<usize> = job
            .items
            .iter()
            .map(|&i| {
                let draw = stream_seed(self.seed, Stream::ViewChoice, self.epoch, i as u64);
                (draw % views) as usize
            })
            .collect();
        Some(
            self.set
                .batch(&job.items, &chosen, self.device)
                .map(|x| Ready {
                    index: job.index,
                    items: job.items,
                    x,
                    skipped: 0,
                }),
        )
    }
}
