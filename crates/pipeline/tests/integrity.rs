//! Run folders that cannot lie (issue 13), on the smallest whole run (`fixtures/tiny_run.toml`):
//! every artifact kind damaged each way (truncated, a range zeroed, a byte flipped, deleted,
//! lines shuffled) gives a rebuild in `run` and, before that, an error in `query` naming the file
//! and the command that repairs it; a bad config leaves a finished run untouched; one writer per
//! run folder.
mod common;

use common::{fixtures, tiny_config};
use std::path::{Path, PathBuf};

use webly_pipeline::{query, run, QueryInput, RunConfig, SearchMode, Source};

fn snow(cfg: &RunConfig) -> Result<Vec<String>, String> {
    query(
        Source::run(cfg, None),
        &QueryInput::Text("snow".into()),
        5,
        SearchMode::Hnsw,
        None,
    )
    .map(|a| a.hits.into_iter().map(|h| h.key).collect())
    .map_err(|e| e.to_string())
}

type Edit = fn(&mut Vec<u8>);

/// The ways a file gets damaged.
const EDITS: [(&str, Edit); 4] = [
    ("truncated", |b| b.truncate(b.len() / 2)),
    ("range zeroed", |b| {
        let n = b.len();
        b[n / 3..(n / 3 + n / 8).max(n / 3 + 1)].fill(0)
    }),
    ("byte flipped", |b| {
        let n = b.len();
        b[n - 1 - n / 4] ^= 0x20
    }),
    ("lines shuffled", |b| {
        let text = String::from_utf8_lossy(b).into_owned();
        let mut lines: Vec<&str> = text.lines().collect();
        let last = lines.len() - 1;
        lines.swap(0, last);
        *b = (lines.join("\n") + "\n").into_bytes();
    }),
];

fn damage(path: &Path, edit: Edit) -> bool {
    let good = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut bad = good.clone();
    edit(&mut bad);
    std::fs::write(path, &bad).unwrap();
    bad != good
}

#[test]
fn damaged_artifacts_are_named_by_queries_and_rebuilt_by_run() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config(tmp.path());
    let first = run(&cfg).expect("the tiny run");
    assert!(first.models[0].train.report.is_some());
    let answer = snow(&cfg).expect("query");
    assert_eq!(answer.len(), 5);

    let model = cfg.run_dir.join("models/tiny");
    let manifest = &first.models[0].manifest;
    // (file, the command a query names to repair it, which damage applies)
    let cases: Vec<(PathBuf, &str, bool)> = vec![
        (
            model.join("index").join(&manifest.graph_file),
            "webly index",
            false,
        ),
        (
            model.join("index").join(&manifest.vectors_file),
            "webly index",
            false,
        ),
        (model.join("index/keys.txt"), "webly index", true),
        (model.join("index/nodes.txt"), "webly index", true),
        (model.join("embed/test.npy"), "webly index", false),
        (model.join("embed/test.ids"), "webly index", true),
        (model.join("best.safetensors"), "webly train", false),
        (model.join("model.json"), "webly train", false),
    ];
    for (i, (path, repair, text)) in cases.iter().enumerate() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // Every damage a query refuses; run rebuilds one of them (each in turn), and the
        // deletion, for the files that are cheap to remake.
        for (what, edit) in EDITS {
            if what == "lines shuffled" && !text {
                continue;
            }
            let backup = std::fs::read(path).unwrap();
            if !damage(path, edit) {
                continue;
            }
            let err = snow(&cfg).expect_err(&format!("query on {name} {what}"));
            assert!(
                err.contains(&name) && err.contains(repair),
                "{name} {what}: {err}"
            );
            std::fs::write(path, backup).unwrap();
        }
        let (what, edit) = EDITS[i % EDITS.len()];
        let what = if *text || what != "lines shuffled" {
            damage(path, edit);
            what
        } else {
            std::fs::remove_file(path).unwrap();
            "deleted"
        };
        let again = run(&cfg).unwrap_or_else(|e| panic!("run after {name} {what}: {e}"));
        let retrained = again.models[0].train.report.is_some();
        assert_eq!(
            retrained,
            *repair == "webly train",
            "{name} {what}: retrained {retrained}"
        );
        assert_eq!(snow(&cfg).expect("query after the rebuild").len(), 5);
    }

    // The text stage's caption embeddings: rebuilt, and the model kept.
    damage(&cfg.run_dir.join("text/captions_train.ids"), EDITS[3].1);
    let again = run(&cfg).expect("run after captions_train.ids shuffled");
    assert!(again.models[0].train.report.is_none());
    let ids = std::fs::read_to_string(cfg.run_dir.join("text/captions_train.ids")).unwrap();
    let mut sorted: Vec<&str> = ids.lines().collect();
    sorted.sort_unstable();
    assert_eq!(
        ids.lines().collect::<Vec<_>>(),
        sorted,
        "written again in order"
    );
}

#[test]
fn a_bad_config_is_refused_before_a_finished_stage_is_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg_path = tmp.path().join("run.toml");
    let text = std::fs::read_to_string(fixtures().join("tiny_run.toml"))
        .unwrap()
        .replace("batch_size = 16", "batch_size = 0");
    std::fs::write(&cfg_path, text).unwrap();
    let err = RunConfig::load(&cfg_path).unwrap_err().to_string();
    assert!(
        err.contains("batch_size 0") && err.contains("run.toml"),
        "{err}"
    );
    // An override is refused as early, before the finished model's stamp is read.
    let cfg = tiny_config(tmp.path());
    let overrides = webly_pipeline::TrainOverrides {
        batch_size: Some(0),
        ..Default::default()
    };
    let err = webly_pipeline::train(&cfg, None, &overrides)
        .unwrap_err()
        .to_string();
    assert!(err.contains("batch_size 0"), "{err}");
    assert!(!cfg.run_dir.exists(), "no stage touched the run folder");
    assert!(!cfg.data.dataset.root.exists(), "nor the dataset");
}

#[test]
fn one_writer_per_run_folder_and_readers_share_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config(tmp.path());
    let writer = webly_io::FolderLock::try_lock(&cfg.run_dir, webly_io::LockKind::Exclusive)
        .unwrap()
        .expect("free");
    // A second writer is refused, naming the holder.
    let err = run(&cfg)
        .err()
        .expect("a second writer refused")
        .to_string();
    assert!(
        err.contains(&format!("webly process {}", std::process::id())),
        "{err}"
    );
    // A reader too, while the writer writes.
    let err = snow(&cfg).expect_err("a reader beside a writer");
    assert!(err.contains("in use"), "{err}");
    drop(writer);
    // Readers share the folder and keep writers out.
    let r1 = webly_io::FolderLock::try_lock(&cfg.run_dir, webly_io::LockKind::Shared)
        .unwrap()
        .expect("free");
    let err = run(&cfg)
        .err()
        .expect("a writer beside a reader")
        .to_string();
    assert!(err.contains("a reader"), "{err}");
    drop(r1);
}

#[test]
fn a_resumed_training_never_vouches_for_a_damaged_best_model() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config(tmp.path());
    run(&cfg).expect("the tiny run");
    let best = cfg.run_dir.join("models/tiny/best.safetensors");
    damage(&best, EDITS[2].1);
    // `train --resume` finds nothing left to train: it checks best.safetensors against the
    // checksum taken when it was saved, and refuses rather than marking it finished.
    let resume = webly_pipeline::TrainOverrides {
        resume: true,
        ..Default::default()
    };
    let err = webly_pipeline::train(&cfg, None, &resume)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("best.safetensors") && err.contains("without --resume"),
        "{err}"
    );
    // Without --resume the damaged model is trained again from the start.
    let out = webly_pipeline::train(&cfg, None, &Default::default()).expect("retrained");
    assert!(out.report.is_some(), "trained again, not reused: {out}");
    assert_eq!(snow(&cfg).expect("query").len(), 5);
}

#[test]
fn a_dataset_whose_images_are_all_unreadable_is_an_error_naming_the_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config(tmp.path());
    webly_pipeline::text_train(&cfg).expect("data and text stages");
    let mut images = 0;
    for e in walk(&cfg.data.dataset.root) {
        if e.extension().is_some_and(|x| x == "jpg" || x == "png") {
            std::fs::write(&e, b"not an image").unwrap();
            images += 1;
        }
    }
    assert!(images >= 240, "{images} images");
    let err = run(&cfg).err().expect("nothing to learn from").to_string();
    eprintln!("{err}");
    assert!(
        err.contains("no step") || err.contains("could be loaded"),
        "{err}"
    );
    let model = cfg.run_dir.join("models/tiny");
    assert!(
        !model.join("stamp.json").exists(),
        "a training that learned nothing is not finished"
    );
}

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

#[test]
fn an_interrupted_training_resumes_only_from_a_checkpoint_it_can_resume_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config(tmp.path());
    run(&cfg).expect("the tiny run");
    let model = cfg.run_dir.join("models/tiny");
    // Unfinished (no stamp), with this webly's checkpoint: resumed.
    std::fs::remove_file(model.join("stamp.json")).unwrap();
    let again = run(&cfg).expect("resumed");
    let report = again.models[0].train.report.as_ref().expect("trained");
    assert!(report.resumed_from.is_some(), "not resumed");
    // Unfinished, with a checkpoint of an older webly (no optimizer state): from the start.
    std::fs::remove_file(model.join("stamp.json")).unwrap();
    let state = model.join("state.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    json.as_object_mut().unwrap().remove("checkpoint_format");
    std::fs::write(&state, json.to_string()).unwrap();
    let again = run(&cfg).expect("trained from the start");
    let report = again.models[0].train.report.as_ref().expect("trained");
    assert_eq!(report.resumed_from, None);
    assert!(report.steps > 0);
}

/// Stages see only what they depend on (issue 24): a test image edited in place is embedded and
/// indexed again without retraining; an edited training image retrains.
#[test]
fn an_edited_test_image_is_embedded_again_without_retraining() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config(tmp.path());
    run(&cfg).expect("the tiny run");
    let stamp = |stage: &str| {
        std::fs::read_to_string(cfg.run_dir.join(format!("models/tiny/{stage}/stamp.json")))
            .unwrap()
    };
    let embed = stamp("embed");
    let dataset = webly_data::Dataset::open(&cfg.data.dataset).unwrap();
    let flip = |image: &Path| {
        let mut bytes = std::fs::read(image).unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 0x55; // same size, other content
        std::fs::write(image, &bytes).unwrap();
    };
    flip(&dataset.split(webly_data::Split::Test)[0].image);
    let again = run(&cfg).expect("run after a test image changed");
    assert!(again.models[0].train.report.is_none(), "retrained");
    assert_ne!(
        stamp("embed"),
        embed,
        "the test images were not embedded again"
    );
    let manifest = |m: &webly_pipeline::RunSummary| m.models[0].manifest.model_fingerprint.clone();
    let first = manifest(&again);
    flip(&dataset.split(webly_data::Split::Train)[0].image);
    let third = run(&cfg).expect("run after a training image changed");
    assert!(third.models[0].train.report.is_some(), "not retrained");
    assert_ne!(manifest(&third), first);
}
