//! What a replay of user commands found (the smallest whole run, `fixtures/tiny_run.toml`):
//! the commands that read a run (query, tag, eval, export, index, embed) open what the run
//! wrote and never run its data or text stages again, refuse what they cannot answer before any
//! work, and say what they searched for.
mod common;

use common::tiny_config;

use webly_pipeline::{
    embed, evaluate, export, index, query, run, tag, ExportDtype, QueryInput, RunConfig,
    SearchMode, Source, Split,
};

fn snow() -> QueryInput {
    QueryInput::Text("snow".into())
}

#[test]
fn k_zero_is_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config(tmp.path());
    let err = query(Source::run(&cfg, None), &snow(), 0, SearchMode::Hnsw, None)
        .expect_err("k = 0 answers nothing")
        .to_string();
    assert!(
        err.contains("-k 0") && err.contains("at least one image"),
        "{err}"
    );
    let image = tmp.path().join("x.jpg");
    let err = tag(Source::run(&cfg, None), &image, 0)
        .expect_err("k = 0")
        .to_string();
    assert!(
        err.contains("-k 0") && err.contains("at least one word"),
        "{err}"
    );
    assert!(
        !cfg.run_dir.exists(),
        "refused before the run folder was touched"
    );
}

#[test]
fn reading_commands_refuse_a_run_without_a_model_before_any_stage() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config(tmp.path());
    let model_dir = cfg.run_dir.join("models/tiny");
    // A missing folder for --out is named and never created.
    let out = tmp.path().join("no/such/folder/test.parquet");
    let err = export(&cfg, None, Split::Test, &out, ExportDtype::F32)
        .expect_err("no folder for the output")
        .to_string();
    assert!(err.contains("no/such/folder"), "{err}");
    assert!(!tmp.path().join("no").exists(), "the folder was created");
    let out = tmp.path().join("test.parquet");
    let errors = [
        export(&cfg, None, Split::Test, &out, ExportDtype::F32).map(|_| ()),
        evaluate(&cfg, None).map(|_| ()),
        query(Source::run(&cfg, None), &snow(), 3, SearchMode::Hnsw, None).map(|_| ()),
        tag(Source::run(&cfg, None), &out, 3).map(|_| ()),
        embed(&cfg, None, Split::Test, Some(&out)).map(|_| ()),
    ];
    for e in errors {
        let e = e.expect_err("no trained model").to_string();
        assert!(
            e.contains(&model_dir.display().to_string()) && e.contains("webly train"),
            "{e}"
        );
    }
    assert!(
        !cfg.data.dataset.root.exists(),
        "the data stage ran (it generated the dataset) before the refusal"
    );
    assert!(!out.exists());
}

#[test]
fn reading_commands_open_what_the_run_wrote_and_name_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config(tmp.path());
    run(&cfg).expect("the tiny run");
    let text_dir = cfg.run_dir.join("text");
    let stamp = || std::fs::read_to_string(text_dir.join("stamp.json")).unwrap();
    let before = stamp();

    // `--json` says the query as given.
    let answer =
        query(Source::run(&cfg, None), &snow(), 3, SearchMode::Exact, None).expect("query");
    let json = serde_json::to_value(&answer).unwrap();
    assert_eq!(json["query"], "snow", "{json}");
    assert_eq!(answer.to_string().lines().next(), Some("query \"snow\""));
    let by_image = query(
        Source::run(&cfg, None),
        &QueryInput::Image(answer.hits[0].image_path.clone()),
        2,
        SearchMode::Exact,
        None,
    )
    .expect("image query");
    let json = serde_json::to_value(&by_image).unwrap();
    assert!(json.get("query").is_none(), "{json}");
    assert_eq!(
        json["image"],
        answer.hits[0].image_path.display().to_string()
    );

    let out = tmp.path().join("test.parquet");
    let done = export(&cfg, None, Split::Test, &out, ExportDtype::F32).expect("export");
    assert_eq!(
        (done.split, done.path.as_path()),
        (Some(Split::Test), out.as_path())
    );
    assert_eq!(done.rows, answer_rows(&cfg));
    evaluate(&cfg, None).expect("eval");
    index(&cfg, None).expect("index");
    assert_eq!(
        stamp(),
        before,
        "the text stage was left as the run wrote it"
    );

    // A word space of another dimension: refused by every reading command, index included,
    // before the run's caption embeddings are touched.
    let captions = text_dir.join("captions_test.npy");
    let embedded = std::fs::read(&captions).unwrap();
    let vectors = tmp.path().join("vectors_3d.txt");
    std::fs::write(&vectors, "snow 0.1 0.2 0.3\nski 0.3 0.2 0.1\n").unwrap();
    let mut other = cfg.clone();
    other.text.glove = None;
    other.text.vectors = Some(vectors);
    let elsewhere = tmp.path().join("test_3d.npy");
    for e in [
        index(&other, None).map(|_| ()),
        evaluate(&other, None).map(|_| ()),
        embed(&other, None, Split::Test, Some(&elsewhere)).map(|_| ()),
    ] {
        let e = e.expect_err("another dimension").to_string();
        assert!(e.contains("dimension 3"), "{e}");
    }
    assert!(
        std::fs::read(&captions).unwrap() == embedded,
        "the run's caption embeddings were rewritten"
    );
    assert!(!elsewhere.exists(), "embed wrote its output");
    assert_eq!(stamp(), before);

    // The run's trained vectors gone: named, with the command that makes them; not retrained.
    let glove = text_dir.join("glove.txt");
    std::fs::rename(&glove, tmp.path().join("glove.bak")).unwrap();
    for e in [
        query(Source::run(&cfg, None), &snow(), 3, SearchMode::Hnsw, None).map(|_| ()),
        evaluate(&cfg, None).map(|_| ()),
        index(&cfg, None).map(|_| ()),
    ] {
        let e = e.expect_err("no word space").to_string();
        assert!(
            e.contains(&glove.display().to_string()) && e.contains("webly text embed"),
            "{e}"
        );
    }
    assert!(!glove.exists(), "GloVe was trained again");
    std::fs::rename(tmp.path().join("glove.bak"), &glove).unwrap();

    // The dataset gone: named; not generated again.
    let root = &cfg.data.dataset.root;
    std::fs::rename(root, tmp.path().join("data.bak")).unwrap();
    for e in [
        query(Source::run(&cfg, None), &snow(), 3, SearchMode::Hnsw, None).map(|_| ()),
        export(&cfg, None, Split::Test, &out, ExportDtype::F16).map(|_| ()),
    ] {
        let e = e.expect_err("no dataset").to_string();
        assert!(e.contains(&root.display().to_string()), "{e}");
    }
    assert!(!root.exists(), "the dataset was generated again");
}

/// The test embeddings' rows of the run (the embed stage's `.ids`).
fn answer_rows(cfg: &RunConfig) -> usize {
    std::fs::read_to_string(cfg.run_dir.join("models/tiny/embed/test.ids"))
        .unwrap()
        .lines()
        .count()
}

// A photo folder with fewer captioned training images than the batch (a user's first try with
// the demo's batch of 64) is refused after the data and text stages, before any feature is
// extracted, naming the batch size and the number of images.
#[test]
fn a_batch_larger_than_the_training_images_is_refused_before_extraction() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = tiny_config(tmp.path());
    cfg.models[0].train.batch_size = 100_000;
    // A frozen pretrained backbone: the run would extract its features first.
    let weights = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/weights/efficientnet-lite0.safetensors");
    cfg.models[0].train.model = webly_encoder::ModelConfig {
        arch: webly_encoder::Arch::EfficientNetLite0,
        pretrained: Some(weights),
        freeze: webly_encoder::Freeze::Backbone,
        ..webly_encoder::ModelConfig::default()
    };
    let err = match run(&cfg) {
        Ok(_) => panic!("a batch larger than the training set was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("batch_size 100000"), "{err}");
    assert!(
        cfg.run_dir.join("text").exists() && !cfg.run_dir.join("features").exists(),
        "the text stage ran and no feature was extracted before the refusal"
    );
}
