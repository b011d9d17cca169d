//! Relations any user checks, on the real Stanford GloVe 6B 50d (written by `make setup`).

use std::path::PathBuf;

use webly_text::{Idf, LoadOptions, TextEmbedder, Weighting, WordVectors};

fn glove() -> WordVectors {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/glove/glove.6B.50d.txt");
    assert!(
        path.exists(),
        "{} is missing: run `make setup` first (it downloads the GloVe 6B 50d vectors)",
        path.display()
    );
    let opts = LoadOptions {
        progress: false,
        ..LoadOptions::default()
    };
    let (v, report) = WordVectors::load(&path, &opts).unwrap();
    assert_eq!((report.words, report.dim), (400_000, 50), "{report:?}");
    v
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (n(a) * n(b))
}

#[test]
fn real_glove_relations() {
    let v = glove();
    let w = |s: &str| v.get(s).unwrap();
    assert!(cos(w("dog"), w("cat")) > cos(w("dog"), w("car")));
    assert!(cos(w("paris"), w("france")) > 0.7);
    assert!(cos(w("paris"), w("france")) > cos(w("paris"), w("japan")));
    let n: Vec<String> = v
        .nearest_to_word("france", 10)
        .unwrap()
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert!(n.iter().any(|x| x == "french" || x == "paris"), "{n:?}");

    let e = TextEmbedder::new(v, Weighting::Mean);
    let q = e.embed_query("Snow ski!").unwrap();
    assert_eq!(q.tokens, ["snow", "ski"]);
    assert!(q.unknown.is_empty());
    let near = e.vectors.nearest(&q.vector, 10, &[]);
    let ski = near.iter().find(|(w, _)| w == "ski");
    assert!(ski.is_some_and(|(_, c)| *c > 0.8), "{near:?}");

    let q = e.embed_query("snow xqzvwy").unwrap();
    assert_eq!(q.unknown, ["xqzvwy"]);
    assert!(e.embed_query("xqzvwy of the").is_err());

    let caps = e.embed_captions(vec![
        ("1", "#dog at the beach"),
        ("2", "🙂 !!"),
        ("3", "cat"),
    ]);
    assert_eq!(
        (caps.keys.clone(), caps.skipped.clone()),
        (vec!["1".into(), "3".into()], vec!["2".into()])
    );
    let idf = Idf::fit(&[vec!["dog".to_string()]]);
    assert_ne!(
        e.fingerprint(),
        TextEmbedder::new(glove(), Weighting::TfIdf(idf)).fingerprint()
    );
    assert_eq!(
        e.fingerprint(),
        TextEmbedder::new(glove(), Weighting::Mean).fingerprint()
    );
}
