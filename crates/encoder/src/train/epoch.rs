//! The training loop: epochs of batches in the seed's order, the metrics rows, validation and
//! the best model at each epoch's end.
use super::window::Window;
use super::{Run, TrainHooks, TrainReport};
use crate::batches::{CachedBatches, ImageBatches, Ready};
use crate::config::Keep;
use crate::embedding::{embed_set, embed_with, KeyedEmbeddings, EMBED_BATCH};
use crate::error::{io, EncoderError};
use crate::files::{save_weights, BEST, METRICS, PLOT};
use crate::metrics::{plot, write_metrics, RowKind};
use crate::prefetch::{loader_threads, spawn, Job};
use crate::progress::{per_second, Progress, MIN_SECONDS};
use crate::seeds::{stream_seed, Stream};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use std::time::Instant;
use webly_data::Crop;

impl Run<'_> {
    pub(super) fn fit(
        mut self,
        hooks: &mut dyn TrainHooks,
        resumed_from: Option<u64>,
    ) -> Result<TrainReport, EncoderError> {
        let t0 = Instant::now();
        let mut bar = Progress::new(
            self.cfg.progress,
            "train",
            self.total_steps,
            self.state.step,
        );
        let mut total = Window::default();
        let mut first_loss = None;
        let mut last_window = Window::default();
        while self.state.epoch < self.cfg.epochs && !self.done() {
            let epoch = self.state.epoch;
            hooks.epoch_start(epoch);
            let w = self.run_epoch(&mut bar, &mut first_loss)?;
            total.images += w.images;
            total.time += w.time;
            total.wait += w.wait;
            last_window = w.clone();
            if self.state.batch < self.batches_per_epoch {
                // Stopped inside the epoch by max_steps.
                self.checkpoint()?;
                break;
            }
            self.end_epoch(epoch, &w, hooks)?;
            if let Some(r) = self.rows.last() {
                bar.println(format!(
                    "epoch {epoch}: loss {:.4}, active {:.2}, easy/semi-hard/hard {:.2}/{:.2}/{:.2}, val mAP {}, {:.0} img/s, data wait {:.1}%",
                    r.loss,
                    r.active,
                    r.easy,
                    r.semi_hard,
                    r.hard,
                    r.val_map.map_or("-".into(), |m| format!("{m:.4}")),
                    r.images_per_s,
                    100.0 * r.data_wait
                ));
            }
        }
        bar.finish();
        if self.state.skipped_batches > 0 {
            eprintln!(
                "[train] batches without a usable negative were skipped: {}",
                self.no_negative_cause()
            );
        }
        self.check_best()?;
        write_metrics(&self.path(METRICS), &self.rows)?;
        if self.cfg.plot {
            plot(&self.path(PLOT), &self.rows)?;
        }
        Ok(TrainReport {
            out_dir: self.cfg.out_dir.clone(),
            epochs_done: self.state.epoch,
            steps: self.state.step,
            final_loss: last_window.loss / last_window.steps.max(1) as f64,
            first_loss: first_loss.unwrap_or(f64::NAN),
            best_val_map: self.state.best_val_map,
            best_epoch: self.state.best_epoch,
            skipped_images: self.state.skipped_images,
            images_per_s: per_second(total.images as f64, total.time),
            data_wait: total.wait / total.time.max(MIN_SECONDS),
            resumed_from,
            device: format!("{:?}", self.device),
            skipped_batches: self.state.skipped_batches,
            extraction: self.features.map(|f| f.reports).unwrap_or_default(),
            train_seconds: t0.elapsed().as_secs_f64(),
        })
    }

    /// The remaining batches of the current epoch, in the seed's order.
    pub(super) fn jobs(&self) -> Vec<Job> {
        let epoch = self.state.epoch as u64;
        let mut order = self.usable.clone();
        let mut rng =
            ChaCha8Rng::seed_from_u64(stream_seed(self.cfg.seed, Stream::Permutation, epoch, 0));
        order.shuffle(&mut rng);
        let bs = self.cfg.batch_size;
        (self.state.batch..self.batches_per_epoch)
            .map(|b| Job {
                index: b,
                items: order[b * bs..(b + 1) * bs].to_vec(),
                crop: Crop::Random {
                    seed: stream_seed(self.cfg.seed, Stream::Crop, epoch, b as u64),
                },
            })
            .collect()
    }

    pub(super) fn run_epoch(
        &mut self,
        bar: &mut Progress,
        first_loss: &mut Option<f64>,
    ) -> Result<Window, EncoderError> {
        let mut batches = self.batches();
        let mut epoch_w = Window::default();
        let mut log_w = Window::default();
        // `time`: from the end of the previous step to the end of this one (logging and
        // checkpoints included); `wait`: only the time blocked on the loader.
        let mut t = Instant::now();
        let mut seen = 0usize;
        loop {
            let t_recv = Instant::now();
            let Some(batch) = batches.next() else { break };
            let batch = batch?;
            seen += 1;
            let wait = t_recv.elapsed().as_secs_f64();
            self.state.skipped_images += batch.skipped;
            let index = batch.index;
            let lr = self.lr();
            let out = self.step(batch, lr)?;
            let time = t.elapsed().as_secs_f64();
            t = Instant::now();
            self.state.batch = index + 1;
            let Some(out) = out else { continue };
            self.state.step += 1;
            epoch_w.add(&out, wait, time);
            log_w.add(&out, wait, time);
            bar.inc(
                1,
                format!(
                    "epoch {} loss {:.4} {:.0} img/s",
                    self.state.epoch,
                    out.loss,
                    per_second(out.images as f64, time)
                ),
            );
            if self.state.step.is_multiple_of(self.cfg.log_every) {
                first_loss.get_or_insert(log_w.loss / log_w.steps.max(1) as f64);
                let row = log_w.row(RowKind::Step, self.state.epoch, self.state.step, lr, None);
                self.rows.push(row);
                log_w = Window::default();
            }
            if self.state.step.is_multiple_of(self.cfg.checkpoint_every) {
                self.checkpoint()?;
            }
            if self.done() {
                break;
            }
        }
        drop(batches);
        if epoch_w.steps == 0 && seen > 0 {
            let cause = if self.state.skipped_batches > 0 {
                format!(
                    "no batch had a usable negative: {}",
                    self.no_negative_cause()
                )
            } else {
                format!(
                    "no batch had 2 loadable images ({} images skipped so far)",
                    self.state.skipped_images
                )
            };
            return Err(EncoderError::Data(format!(
                "epoch {} trained no step: {cause}",
                self.state.epoch
            )));
        }
        if first_loss.is_none() && log_w.steps > 0 {
            *first_loss = Some(log_w.loss / log_w.steps as f64);
        }
        Ok(epoch_w)
    }

    /// This epoch's remaining batches, decoded or gathered from the cache.
    pub(super) fn batches(&self) -> Box<dyn Iterator<Item = Result<Ready, EncoderError>>> {
        match &self.features {
            Some(f) => Box::new(CachedBatches {
                set: Arc::clone(&f.train),
                jobs: self.jobs().into_iter(),
                seed: self.cfg.seed,
                epoch: self.state.epoch as u64,
                device: self.device,
            }),
            None => {
                let threads = loader_threads(self.cfg.loader_threads, self.device);
                let loader = spawn(
                    Arc::new(self.data.train_images.clone()),
                    self.cfg.loader.clone(),
                    self.jobs(),
                    self.cfg.prefetch,
                    threads,
                );
                Box::new(ImageBatches::new(loader, self.cfg.loader.crop, self.device))
            }
        }
    }

    pub(super) fn end_epoch(
        &mut self,
        epoch: usize,
        w: &Window,
        hooks: &mut dyn TrainHooks,
    ) -> Result<(), EncoderError> {
        let val_map = self.validate(epoch, hooks)?;
        let improved = match (val_map, self.state.best_val_map) {
            _ if self.cfg.keep == Keep::Last => true,
            (Some(m), Some(b)) => m > b,
            (Some(_), None) => true,
            // Without validation images the latest epoch is kept as "best"; with them, an
            // epoch that could not be scored only fills an empty slot.
            (None, _) => self.data.val_images.is_empty() || self.state.best_epoch.is_none(),
        };
        let row = w.row(RowKind::Epoch, epoch, self.state.step, self.lr(), val_map);
        self.rows.push(row.clone());
        self.state.epoch = epoch + 1;
        self.state.batch = 0;
        if improved {
            if val_map.is_some() {
                self.state.best_val_map = val_map;
            }
            self.state.best_epoch = Some(epoch);
            let best = self.path(BEST);
            save_weights(&self.vs, &best)?;
            self.state.best_checksum =
                Some(webly_io::checksum(&best).map_err(io("checksum", &best))?);
        }
        self.checkpoint()?;
        hooks.epoch_end(&row);
        Ok(())
    }

    pub(super) fn validate(
        &self,
        epoch: usize,
        hooks: &mut dyn TrainHooks,
    ) -> Result<Option<f64>, EncoderError> {
        if self.data.val_images.is_empty() {
            return Ok(None);
        }
        let e = match &self.features {
            Some(f) => embed_set(&self.net, self.output, self.device, &f.val, EMBED_BATCH)?,
            None => embed_with(
                &self.net,
                self.output,
                self.device,
                &self.data.val_images,
                &self.cfg.loader,
                EMBED_BATCH,
            )?,
        };
        let rows = KeyedEmbeddings::new(e, &self.data.val_keys)?;
        hooks
            .validate(epoch, &rows)
            .map_err(|message| EncoderError::Validation { epoch, message })
    }
}
