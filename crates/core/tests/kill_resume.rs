//! kill -9 during training, again and again at different points after a checkpoint, then the
//! same command to the end: each run resumes from the last checkpoint (weights, optimiser
//! moments, run state: one file renamed whole) and the result equals a run never stopped, to
//! 1e-6 (issue 13). Also: a closed pipe ends `webly` quietly.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use safetensors::SafeTensors;

/// Steps between checkpoints of the miniature: several checkpoints per epoch, so the kill
/// lands between two of them.
const CHECKPOINT_EVERY: u64 = 2;
/// How long the killed run may take to write its first checkpoint.
const FIRST_CHECKPOINT_WAIT: Duration = Duration::from_secs(300);
/// Milliseconds after a new checkpoint at which each restarted run is killed.
const KILL_DELAYS_MS: [u64; 6] = [0, 25, 7, 60, 13, 40];
/// Largest difference allowed between a resumed run's weights and an uninterrupted run's.
const TOLERANCE: f64 = 1e-6;

fn webly() -> Command {
    Command::new(env!("CARGO_BIN_EXE_webly"))
}

/// A miniature run config (generated data shared by both runs, GloVe trained on its captions,
/// a two-block CNN, Adam), its run folder under `tmp/<name>`. One thread for GloVe and for
/// training: both runs must compute the same, so nothing may depend on thread scheduling.
fn config(tmp: &Path, name: &str) -> PathBuf {
    config_with_data(tmp, name, "data")
}

/// As [`config`], with the dataset generated into `tmp/<data>`.
fn config_with_data(tmp: &Path, name: &str, data: &str) -> PathBuf {
    let queries = tmp.join("queries.txt");
    std::fs::write(&queries, "snow\nbeach\n").unwrap();
    let text = format!(
        "run_dir = {run:?}\n\
         [data.dataset]\nroot = {data:?}\n\
         [data.synth]\nimages = 240\nseed = 7\ncontact_sheet = false\n\
         [text]\nweighting = \"mean\"\n\
         [text.glove]\nvector_size = 16\niter = 15\nmin_count = 2\nthreads = 1\n\
         [eval]\nqueries = [{queries:?}]\n\
         [[models]]\nname = \"tiny\"\n\
         [models.train]\nepochs = 12\nbatch_size = 16\nlr = 0.01\nweight_decay = 0.0001\n\
         optimizer = {{ adam = {{ beta1 = 0.9, beta2 = 0.999 }} }}\nseed = 1\nthreads = 1\n\
         checkpoint_every = {CHECKPOINT_EVERY}\nprogress = false\nplot = false\n\
         loader = {{ resize = 32, crop = 32 }}\n\
         model = {{ arch = \"small_cnn\", small_cnn_widths = [8, 16] }}\n",
        run = tmp.join(name),
        data = tmp.join(data),
    );
    let path = tmp.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The global step of the last checkpoint in a model folder (0 without one).
fn checkpoint_step(model: &Path) -> u64 {
    std::fs::read_to_string(model.join("state.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["step"].as_u64())
        .unwrap_or(0)
}

fn train(config: &Path) {
    let out = webly()
        .args(["train", "--config"])
        .arg(config)
        .output()
        .expect("webly runs");
    assert!(
        out.status.success(),
        "webly train: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Largest absolute difference between the float32 tensors of two safetensors files, which must
/// hold the same names (`train_state/json`, the run state naming its folder, left out).
fn largest_difference(a: &Path, b: &Path) -> f64 {
    let (ba, bb) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    let (ta, tb) = (
        SafeTensors::deserialize(&ba).unwrap(),
        SafeTensors::deserialize(&bb).unwrap(),
    );
    let mut names = ta.names();
    names.sort();
    let mut other = tb.names();
    other.sort();
    assert_eq!(names, other, "{} and {}", a.display(), b.display());
    let mut worst = 0.0f64;
    for name in names {
        let (x, y) = (ta.tensor(name).unwrap(), tb.tensor(name).unwrap());
        if x.dtype() != safetensors::Dtype::F32 {
            continue;
        }
        assert_eq!(x.shape(), y.shape(), "{name}");
        let floats = |d: &[u8]| -> Vec<f32> {
            d.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        for (p, q) in floats(x.data()).iter().zip(floats(y.data())) {
            worst = worst.max(f64::from((p - q).abs()));
        }
    }
    worst
}

#[test]
fn killed_during_training_and_resumed_ends_where_an_uninterrupted_run_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = config(tmp.path(), "whole");
    let killed = config(tmp.path(), "killed");
    train(&whole);

    let model = tmp.path().join("killed/models/tiny");
    let mut kills = Vec::new();
    for delay in KILL_DELAYS_MS {
        let before = checkpoint_step(&model);
        let mut child = webly()
            .args(["train", "--config"])
            .arg(&killed)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("webly starts");
        // Wait for a new checkpoint, then kill somewhere after it (maybe inside a write).
        let t0 = Instant::now();
        while checkpoint_step(&model) <= before && child.try_wait().unwrap().is_none() {
            assert!(
                t0.elapsed() < FIRST_CHECKPOINT_WAIT,
                "no checkpoint written"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_some() {
            break; // finished before this kill
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(
            !model.join("stamp.json").exists(),
            "a killed training is not finished"
        );
        kills.push(checkpoint_step(&model));
    }
    eprintln!(
        "killed {} times, last checkpoints at steps {kills:?}",
        kills.len()
    );
    assert!(kills.len() >= 3, "too few kills landed: {kills:?}");

    train(&killed);
    let left: Vec<_> = walk(&tmp.path().join("killed"))
        .into_iter()
        .filter(|p| webly_io_is_temporary(p))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    let whole_model = tmp.path().join("whole/models/tiny");
    for file in ["last.safetensors", "best.safetensors"] {
        let d = largest_difference(&whole_model.join(file), &model.join(file));
        eprintln!("{file}: largest difference after kill -9 and resume {d:e}");
        assert!(d <= TOLERANCE, "{file}: {d}");
    }
}

/// Where the torture test kills `webly run`: after the first line of a stage (or of any later
/// stage, once that one is done), plus a delay in ms. In stage order: data generation, GloVe
/// training, training (its start, then validation passes, which print `images embedded`), the
/// index build and the evaluation after it.
const STAGE_MARKERS: [&str; 5] = [
    "[data] generating",
    "[text] training GloVe",
    "training on",
    "images embedded",
    "[index] building",
];
const KILLS: [(usize, u64); 20] = [
    (0, 30),
    (0, 400),
    (0, 900),
    (1, 0),
    (1, 60),
    (1, 300),
    (2, 0),
    (2, 100),
    (2, 350),
    (3, 0),
    (3, 40),
    (3, 250),
    (3, 600),
    (3, 1200),
    (4, 0),
    (4, 5),
    (4, 15),
    (4, 40),
    (4, 100),
    (4, 250),
];
/// How long one restart may take to reach its kill point.
const RESTART_WAIT: Duration = Duration::from_secs(300);

/// After SQLite's crash tests: `webly run` killed at 20 points spread over every stage
/// ([`KILLS`]), each time restarted, then run to its end, equals an uninterrupted run: the same
/// weights, embeddings and comparison table, no temporary file left, and every stage verifies
/// (a query answers).
#[test]
fn a_run_killed_anywhere_and_rerun_ends_as_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = config_with_data(tmp.path(), "whole", "data_whole");
    let killed = config_with_data(tmp.path(), "killed", "data_killed");
    let log = tmp.path().join("stderr.log");
    let run = |cfg: &Path| {
        webly()
            .args(["run", "--config"])
            .arg(cfg)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("webly starts")
    };
    let t0 = Instant::now();
    assert!(run(&whole).wait().unwrap().success(), "uninterrupted run");
    let span = t0.elapsed();

    let mut killed_at = Vec::new();
    for (target, delay) in KILLS {
        let mut child = run(&killed);
        let t = Instant::now();
        let reached = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(k) = (target..STAGE_MARKERS.len())
                .rev()
                .find(|&k| text.contains(STAGE_MARKERS[k]))
            {
                break Some(k);
            }
            if child.try_wait().unwrap().is_some() {
                break None;
            }
            assert!(t.elapsed() < RESTART_WAIT, "no progress");
            std::thread::sleep(Duration::from_millis(1));
        };
        std::thread::sleep(Duration::from_millis(delay));
        if let Some(k) = reached.filter(|_| child.try_wait().unwrap().is_none()) {
            child.kill().unwrap();
            killed_at.push(format!("{} +{delay} ms", STAGE_MARKERS[k]));
        }
        child.wait().unwrap();
    }
    eprintln!(
        "{} of {} kills landed: {killed_at:#?}; uninterrupted run {span:?}",
        killed_at.len(),
        KILLS.len()
    );
    assert!(killed_at.len() >= KILLS.len() / 2, "{killed_at:?}");
    assert!(
        run(&killed).wait().unwrap().success(),
        "the run after the kills"
    );

    let (a, b) = (tmp.path().join("whole"), tmp.path().join("killed"));
    let model = "models/tiny";
    for file in ["last.safetensors", "best.safetensors"] {
        let d = largest_difference(&a.join(model).join(file), &b.join(model).join(file));
        eprintln!("{file}: largest difference {d:e}");
        assert!(d <= TOLERANCE, "{file}: {d}");
    }
    for file in [
        "models/tiny/embed/test.npy",
        "models/tiny/embed/test.ids",
        "models/tiny/index/keys.txt",
        "comparison.md",
    ] {
        assert_eq!(
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
            "{file}"
        );
    }
    let left: Vec<_> = walk(&b)
        .into_iter()
        .filter(|p| webly_io_is_temporary(p))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    let out = webly()
        .args(["query", "--config"])
        .arg(&killed)
        .args(["snow", "-k", "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_webly_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    // Enough neighbours to fill the pipe after the reader has gone.
    let vectors = tmp.path().join("v.txt");
    let words: String = (0..5000)
        .map(|i| format!("w{i} {} {} 0.5\n", i % 7, i % 11))
        .collect();
    std::fs::write(&vectors, words).unwrap();
    let mut child = webly()
        .args(["text", "neighbors", "--vectors"])
        .arg(&vectors)
        .args(["w1", "-k", "4999"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("webly starts");
    drop(child.stdout.take()); // the reader closes the pipe at once, as `head -1` soon does
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A temporary name of webly's: webly-io's prefix or the encoder's `.tmp-<pid>-`.
fn webly_io_is_temporary(p: &Path) -> bool {
    let name = p.file_name().unwrap_or_default().to_string_lossy();
    name.starts_with(".webly-tmp-") || name.starts_with(".tmp-")
}
