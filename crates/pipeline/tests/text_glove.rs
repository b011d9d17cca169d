//! `webly text train`: GloVe trained on a generated dataset's training captions becomes the run's
//! text space (vectors file, caption embeddings of every split), and a rerun reuses it.
use std::path::Path;

use webly_pipeline::{text_train, RunConfig};

#[test]
fn glove_trained_on_captions_becomes_the_text_space_and_is_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg_path = tmp.path().join("run.toml");
    let text = format!(
        "run_dir = {run:?}\n[data.dataset]\nroot = {data:?}\n[data.synth]\nimages = 400\nseed = 5\ncontact_sheet = false\n\
         [text]\nweighting = \"mean\"\n[text.glove]\nvector_size = 16\niter = 15\nmin_count = 3\n[[models]]\nname = \"m\"\n",
        run = tmp.path().join("run"),
        data = tmp.path().join("data"),
    );
    std::fs::write(&cfg_path, text).unwrap();
    let cfg = RunConfig::load(&cfg_path).unwrap();

    text_train(&cfg).expect("text stage with GloVe training");
    let dir = tmp.path().join("run/text");
    let glove = dir.join("glove.txt");
    let vectors = std::fs::read_to_string(&glove).expect("trained vectors written");
    let snow = vectors
        .lines()
        .find(|l| l.starts_with("snow "))
        .expect("'snow' learned");
    assert_eq!(snow.split(' ').count(), 1 + 16, "16 dimensions: {snow}");
    let ids = std::fs::read_to_string(dir.join("captions_train.ids")).unwrap();
    assert!(
        ids.lines().count() > 250,
        "most of the 320 training captions embedded"
    );
    assert_npy_rows(&dir.join("captions_train.npy"), ids.lines().count());

    let before = std::fs::metadata(&glove).unwrap().modified().unwrap();
    text_train(&cfg).expect("rerun");
    let after = std::fs::metadata(&glove).unwrap().modified().unwrap();
    assert_eq!(
        before, after,
        "unchanged inputs: GloVe is not trained again"
    );
}

/// The `.npy` header's shape starts with the row count.
fn assert_npy_rows(path: &Path, rows: usize) {
    let bytes = std::fs::read(path).unwrap();
    let header = String::from_utf8_lossy(&bytes[..bytes.len().min(128)]).into_owned();
    assert!(
        header.contains(&format!("'shape': ({rows}, 16)")),
        "{header}"
    );
}
