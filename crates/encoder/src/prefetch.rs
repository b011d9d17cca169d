//! Background image loading: one thread calls `webly_data::load_batch` ahead of the compute
//! through a bounded channel, so a step never waits for images unless the loader is slower.
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use webly_data::{load_batch, Crop, LoaderConfig, Skipped};

/// A batch to load: its position and the dataset indices of its images.
pub(crate) struct Job {
    pub index: usize,
    pub items: Vec<usize>,
    pub crop: Crop,
}

/// A loaded batch: `items` are the dataset indices of the images that loaded (in `data` order).
pub(crate) struct Loaded {
    pub index: usize,
    pub items: Vec<usize>,
    pub data: Vec<f32>,
    pub skipped: Vec<Skipped>,
}

/// Decoding threads for `requested` (0 = auto, see `TrainConfig::loader_threads`).
pub(crate) fn loader_threads(requested: usize, device: tch::Device) -> usize {
    if requested > 0 {
        return requested;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if device.is_cuda() {
        return cores;
    }
    let torch = usize::try_from(tch::get_num_threads()).unwrap_or(cores);
    cores.saturating_sub(torch).max(1)
}

/// Loads `jobs` in order on a background thread (decoding on a rayon pool of `threads`), at
/// most `depth` batches ahead. The thread ends when every job is sent or the receiver is dropped.
pub(crate) fn spawn(
    paths: Arc<Vec<PathBuf>>,
    cfg: LoaderConfig,
    jobs: Vec<Job>,
    depth: usize,
    threads: usize,
) -> (Receiver<Loaded>, JoinHandle<()>) {
    let (tx, rx) = sync_channel(depth.max(1));
    let handle = std::thread::spawn(move || {
        // Without a pool of our own (cannot be built: resources) the global one is used.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .ok();
        for job in jobs {
            let batch_paths: Vec<PathBuf> = job.items.iter().map(|&i| paths[i].clone()).collect();
            let load = || load_batch(&batch_paths, &cfg, job.crop);
            let b = match &pool {
                Some(p) => p.install(load),
                None => load(),
            };
            let items = b.loaded.iter().map(|&k| job.items[k]).collect();
            let loaded = Loaded {
                index: job.index,
                items,
                data: b.data,
                skipped: b.skipped,
            };
            if tx.send(loaded).is_err() {
                return;
            }
        }
    });
    (rx, handle)
}

/// The seed mix, for the activation cache (whose views are not a training stream).
pub(crate) use crate::seeds::derive_seed;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_seeds_differ() {
        let s: std::collections::HashSet<u64> = (0..10)
            .flat_map(|a| (0..10).map(move |b| derive_seed(7, a, b)))
            .collect();
        assert_eq!(s.len(), 100);
        assert_eq!(derive_seed(7, 1, 2), derive_seed(7, 1, 2));
    }
}
