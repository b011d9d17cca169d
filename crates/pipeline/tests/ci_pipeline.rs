//! The miniature pipeline of `configs/ci.toml`, end to end on generated data: generate, text
//! space (the real GloVe 6B 50d from `make setup`), train a small CNN with the triplet loss,
//! embed, index, evaluate. Asserts that retrieval beats random ranking by a clear factor, that
//! every stage left its files, and that a second run reuses every stage and reports the same.
use std::path::{Path, PathBuf};

use webly_pipeline::{run, RunConfig, RunSummary};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ci_config(tmp: &Path) -> RunConfig {
    let root = workspace();
    let mut cfg = RunConfig::load(&root.join("configs/ci.toml")).expect("configs/ci.toml parses");
    let glove = root.join("data/glove/glove.6B.50d.txt");
    assert!(glove.exists(), "{} is missing: run `make setup` first", glove.display());
    cfg.text.vectors = Some(glove);
    cfg.eval.queries = cfg.eval.queries.iter().map(|q| root.join(q)).collect();
    cfg.run_dir = tmp.join("run");
    cfg.data.dataset.root = tmp.join("data");
    cfg
}

fn headline(summary: &RunSummary) -> (f64, f64, f64) {
    let m = &summary.models[0];
    let truth = m.evaluation.truth.as_ref().expect("generated data has ground truth");
    let all = truth.summary("All").expect("an All group");
    let captions = m.evaluation.captions.summary("All").expect("an All group");
    (all.map, all.random_map, captions.map)
}

#[test]
fn miniature_pipeline_beats_random_and_reuses_its_stages() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = ci_config(tmp.path());

    let first = run(&cfg).expect("the pipeline runs");
    let (map, random, caption_map) = headline(&first);
    eprintln!("{first}");
    assert!(
        map > 3.0 * random,
        "triplet mAP {map:.4} (ground truth) is not 3x random {random:.4}"
    );
    assert!(caption_map > 2.0 * random, "caption mAP {caption_map:.4} vs random {random:.4}");

    let model = cfg.run_dir.join("models/triplet");
    for file in [
        "best.safetensors",
        "model.json",
        "state.json",
        "metrics.csv",
        "embed/test.npy",
        "embed/test.ids",
        "index/manifest.json",
        "eval/captions/report.json",
        "eval/truth/report.md",
        "eval/truth/ap.png",
        "eval/gallery.html",
    ] {
        assert!(model.join(file).exists(), "{file} missing");
    }
    let recall = first.models[0].manifest.recall.as_ref().expect("recall measured");
    assert!(recall.recall >= 0.9, "HNSW recall@10 {}", recall.recall);

    // Second run: every stage reused (no training report), same numbers.
    let second = run(&cfg).expect("the pipeline reruns");
    assert!(second.models[0].train.report.is_none(), "training was not reused");
    let again = headline(&second);
    assert!((again.0 - map).abs() < 1e-9, "{} vs {map}", again.0);
}
