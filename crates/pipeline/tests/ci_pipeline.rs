//! The miniature pipeline of `configs/ci.toml`, end to end on generated data: generate, text
//! space (the real GloVe 6B 50d from `make setup`), the ImageNet EfficientNet-Lite0's frozen
//! activations cached, a head trained from them with the triplet loss, embed, index, evaluate.
//! Asserts that retrieval beats random ranking by a clear factor, that every stage left its
//! files, that a second run reuses every stage and reports the same, and that retraining reuses
//! the activation cache except for the shard of an image edited in place.
use std::path::{Path, PathBuf};

use webly_pipeline::{
    compare, query, run, tag, text_embed, QueryInput, RunConfig, RunSummary, SearchMode, Source,
};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ci_config(tmp: &Path) -> RunConfig {
    let mut cfg = RunConfig::load_under(&workspace(), Path::new("configs/ci.toml"))
        .expect("configs/ci.toml parses and its inputs exist");
    cfg.run_dir = tmp.join("run");
    cfg.data.dataset.root = tmp.join("data");
    cfg
}

fn headline(summary: &RunSummary) -> (f64, f64, f64) {
    let m = &summary.models[0];
    let truth = m
        .evaluation
        .truth
        .as_ref()
        .expect("generated data has ground truth");
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
    assert!(
        caption_map > 2.0 * random,
        "caption mAP {caption_map:.4} vs random {random:.4}"
    );

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
    let recall = first.models[0]
        .manifest
        .recall
        .as_ref()
        .expect("recall measured");
    assert!(recall.recall >= 0.9, "HNSW recall@10 {}", recall.recall);

    // Second run: every stage reused (no training report), same numbers.
    let second = run(&cfg).expect("the pipeline reruns");
    assert!(
        second.models[0].train.report.is_none(),
        "training was not reused"
    );
    let again = headline(&second);
    assert!((again.0 - map).abs() < 1e-9, "{} vs {map}", again.0);

    queries_tags_and_comparisons(&cfg, tmp.path());
    retraining_reuses_the_cache(cfg);
}

/// Another training of the same backbone decodes no image; an image edited in place is
/// extracted again, with the rest of its shard only.
fn retraining_reuses_the_cache(mut cfg: RunConfig) {
    // The edits of `edited_inputs_are_seen` (a caption, a test image, a training image) are
    // taken in first: the shard of each edited image is extracted again.
    let settled = run(&cfg).expect("rerun after the edits");
    let f = &settled.models[0].features;
    let extracted = |set: &str| {
        f.iter()
            .filter(|r| r.set == set)
            .map(|r| r.extracted_shards)
            .sum::<usize>()
    };
    assert_eq!((extracted("train"), extracted("test")), (1, 1), "{f:?}");
    cfg.models[0].train.epochs += 1;
    let again = run(&cfg).expect("retrain");
    let f = &again.models[0].features;
    assert_eq!(f.len(), 3, "train, val and test sets: {f:?}");
    assert!(f.iter().all(|r| r.decoded_views == 0), "{f:?}");

    let dataset = webly_data::Dataset::open(&cfg.data.dataset).expect("dataset");
    let test = dataset.split(webly_data::Split::Test);
    std::fs::copy(&test[1].image, &test[0].image).expect("edit an image in place");
    cfg.models[0].train.epochs += 1;
    let edited = run(&cfg).expect("retrain after an edit");
    let f = &edited.models[0].features;
    let extracted: usize = f.iter().map(|r| r.extracted_shards).sum();
    assert_eq!(extracted, 1, "{f:?}");
}

/// The user-facing commands on the finished run.
fn queries_tags_and_comparisons(cfg: &RunConfig, tmp: &Path) {
    // Words: the index answers with k hits, best first, with paths and captions, and the HNSW
    // answer equals exact search on this small index; a gallery page is written.
    let html = tmp.join("q.html");
    let text = QueryInput::Text("snow ski".into());
    let hnsw = query(
        Source::run(cfg, None),
        &text,
        5,
        SearchMode::Hnsw,
        Some(&html),
    )
    .expect("query");
    let exact =
        query(Source::run(cfg, None), &text, 5, SearchMode::Exact, None).expect("exact query");
    assert_eq!(hnsw.hits.len(), 5);
    assert!(hnsw.hits.windows(2).all(|w| w[0].score >= w[1].score));
    let keys =
        |a: &webly_pipeline::QueryAnswer| a.hits.iter().map(|h| h.key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&hnsw), keys(&exact));
    assert!(hnsw.hits.iter().all(|h| h.image_path.exists()));
    let page = std::fs::read_to_string(&html).expect("gallery written");
    assert!(
        page.contains("data:image/jpeg;base64,"),
        "thumbnails embedded"
    );
    // Frames come from the query words against the ground truth, not from the page's label.
    let relevant = hnsw
        .hits
        .iter()
        .filter(|h| h.relevant == Some(true))
        .count();
    assert!(relevant > 0, "no snow+ski hit judged relevant");
    assert_eq!(page.matches("card yes").count(), relevant, "green frames");

    // A query with no known word is an error naming it; unknown words alone are skipped.
    let err = query(
        Source::run(cfg, None),
        &QueryInput::Text("qqxzv zzkwq".into()),
        5,
        SearchMode::Hnsw,
        None,
    )
    .expect_err("no known word is an error")
    .to_string();
    assert!(err.contains("qqxzv"), "{err}");
    assert!(query(
        Source::run(cfg, None),
        &QueryInput::Text("snow qqxzv".into()),
        3,
        SearchMode::Hnsw,
        None
    )
    .is_ok());

    // By image: a test image's own embedding finds that image first.
    let first = &hnsw.hits[0];
    let by_image = query(
        Source::run(cfg, None),
        &QueryInput::Image(first.image_path.clone()),
        3,
        SearchMode::Exact,
        None,
    )
    .expect("image query");
    assert_eq!(by_image.hits[0].key, first.key);
    let bad = tmp.join("broken.jpg");
    std::fs::write(&bad, b"not a jpeg").unwrap();
    let err = query(
        Source::run(cfg, None),
        &QueryInput::Image(bad.clone()),
        3,
        SearchMode::Exact,
        None,
    )
    .expect_err("unreadable image is an error")
    .to_string();
    assert!(err.contains("broken.jpg"), "{err}");

    // Image to words, and the comparison of finished runs.
    let words = tag(Source::run(cfg, None), &first.image_path, 5).expect("tag");
    assert_eq!(words.words.len(), 5, "{words}");
    assert!(words.words.windows(2).all(|w| w[0].score >= w[1].score));
    let table = compare(std::slice::from_ref(&cfg.run_dir)).expect("compare");
    let rows: Vec<&str> = table.runs.iter().map(|r| r.run.as_str()).collect();
    assert_eq!(
        rows,
        ["run: triplet (captions)", "run: triplet (truth)"],
        "{table}"
    );

    edited_inputs_are_seen(cfg);
    wrong_dimension_is_one_error_on_every_path(cfg, tmp, &first.image_path);
}

/// Stage reuse sees content: a caption or an image edited in place (same keys) reruns the text
/// stage; an unchanged tree reuses it without hashing its images again.
fn edited_inputs_are_seen(cfg: &RunConfig) {
    let text_stamp = || std::fs::read_to_string(cfg.run_dir.join("text/stamp.json")).unwrap();
    let before = text_stamp();
    text_embed(cfg).expect("text stage");
    assert_eq!(text_stamp(), before, "unchanged inputs: reused");
    let table = std::fs::read_to_string(cfg.run_dir.join("data/image_signatures.tsv")).unwrap();
    assert!(table.lines().count() > 1000, "every image signed");

    let captions = cfg
        .data
        .dataset
        .root
        .join("captions_resized_1M/cities_instagram/london");
    let caption = first_file(&captions);
    let text = std::fs::read_to_string(&caption).unwrap();
    std::fs::write(&caption, format!("{text} #snow #ski")).unwrap();
    text_embed(cfg).expect("text stage");
    let after_caption = text_stamp();
    assert_ne!(
        after_caption, before,
        "an edited caption reruns the text stage"
    );

    // A test image edited in place (same size, other content) is embedded and indexed again,
    // never trained on: the text stage, and so training, is reused; a training image reruns it.
    let dataset = webly_data::Dataset::open(&cfg.data.dataset).expect("dataset");
    let flip = |image: &Path| {
        let mut bytes = std::fs::read(image).unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 0x55;
        std::fs::write(image, &bytes).unwrap();
    };
    flip(&dataset.split(webly_data::Split::Test)[0].image);
    text_embed(cfg).expect("text stage");
    assert_eq!(
        text_stamp(),
        after_caption,
        "a test image is not trained on"
    );
    flip(&dataset.split(webly_data::Split::Train)[0].image);
    text_embed(cfg).expect("text stage");
    assert_ne!(
        text_stamp(),
        after_caption,
        "an edited training image reruns the stages after data"
    );
}

fn first_file(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.remove(0)
}

/// A word space of another dimension than the model's (3 vs 50): the same clear error from
/// exact search, HNSW, `tag` and `query --image`; never a panic or an empty answer.
fn wrong_dimension_is_one_error_on_every_path(cfg: &RunConfig, tmp: &Path, image: &Path) {
    // A copy: loading writes a cache beside the file.
    let vectors = tmp.join("vectors_3d.txt");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vectors_3d.txt");
    std::fs::copy(fixture, &vectors).unwrap();
    let mut cfg3 = cfg.clone();
    cfg3.text.vectors = Some(vectors);
    let snow = QueryInput::Text("snow".into());
    let by_image = QueryInput::Image(image.to_path_buf());
    let errors = [
        query(Source::run(&cfg3, None), &snow, 5, SearchMode::Exact, None).err(),
        query(Source::run(&cfg3, None), &snow, 5, SearchMode::Hnsw, None).err(),
        query(
            Source::run(&cfg3, None),
            &by_image,
            5,
            SearchMode::Exact,
            None,
        )
        .err(),
        query(
            Source::run(&cfg3, None),
            &by_image,
            5,
            SearchMode::Hnsw,
            None,
        )
        .err(),
        tag(Source::run(&cfg3, None), image, 5).err(),
    ];
    for e in errors {
        let e = e.expect("a wrong dimension is an error").to_string();
        assert!(
            e.contains("vectors_3d.txt")
                && e.contains("dimension 3")
                && e.contains("50 dimensions"),
            "{e}"
        );
    }
}
