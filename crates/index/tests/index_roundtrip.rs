//! End to end: build, recall against brute force, save, reopen, same answers, refusals.

use webly_index::synthetic::{clustered_split, SyntheticConfig};
use webly_index::{recall_at_k, Exact, Expect, Fingerprints, Hnsw, HnswConfig, IndexError, Search};

const DIM: usize = 48;

fn fixture() -> (webly_index::Embeddings, Vec<f32>) {
    clustered_split(8_000, 200, DIM, &SyntheticConfig::default())
}

fn fingerprints() -> Fingerprints {
    Fingerprints {
        model: "cnn-abc".into(),
        text: "glove-123".into(),
    }
}

#[test]
fn hnsw_recall_against_brute_force_with_fixed_seed() {
    let (emb, queries) = fixture();
    let hnsw = Hnsw::build(&emb, &HnswConfig::default()).unwrap();
    let exact = Exact::new(emb);
    let recall = recall_at_k(&exact, &hnsw, &queries, 10);
    assert!(recall >= 0.95, "recall@10 {recall}");
    // hnsw_rs's own search over the same graph: the flat search must find as much.
    let reference: f64 = queries
        .chunks(DIM)
        .map(|q| {
            let want: Vec<usize> = exact.search(q, 10).iter().map(|h| h.index).collect();
            let got = hnsw.search_ef_hnsw_rs(q, 10, HnswConfig::default().ef_search);
            got.iter().filter(|h| want.contains(&h.index)).count() as f64 / 10.0
        })
        .sum::<f64>()
        / 200.0;
    assert!(
        reference >= 0.95 && recall >= reference - 0.01,
        "flat {recall} vs hnsw_rs {reference}"
    );
    let built = hnsw.recall().unwrap();
    assert!(
        built.recall >= 0.95 && built.k == 10 && built.queries == 200,
        "{built:?}"
    );
}

#[test]
fn save_open_gives_same_answers_and_refuses_mismatches() {
    let (emb, queries) = fixture();
    let mut hnsw = Hnsw::build(&emb, &HnswConfig::default()).unwrap();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("index");
    let saved = hnsw.save(&dir, &fingerprints()).unwrap();
    // Saving again replaces the folder atomically and leaves no temp folders behind.
    hnsw.save(&dir, &fingerprints()).unwrap();
    let entries: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);

    let expect = Expect {
        dim: DIM,
        text_fingerprint: "glove-123".into(),
    };
    let reopened = Hnsw::open(&dir, &expect).unwrap();
    assert_eq!(
        reopened.manifest().unwrap().hnsw_basename,
        saved.hnsw_basename
    );
    assert_eq!(reopened.keys(), hnsw.keys());
    for q in queries.chunks(DIM).take(50) {
        let (a, b) = (hnsw.search(q, 10), reopened.search(q, 10));
        assert_eq!(
            a.iter().map(|h| &h.key).collect::<Vec<_>>(),
            b.iter().map(|h| &h.key).collect::<Vec<_>>()
        );
    }

    let wrong_dim = Expect {
        dim: 400,
        ..expect.clone()
    };
    assert!(matches!(
        Hnsw::open(&dir, &wrong_dim),
        Err(IndexError::DimMismatch {
            found: DIM,
            expected: 400,
            ..
        })
    ));
    let wrong_text = Expect {
        text_fingerprint: "w2v".into(),
        ..expect.clone()
    };
    let err = Hnsw::open(&dir, &wrong_text).unwrap_err();
    assert!(
        err.to_string().contains("glove-123") && err.to_string().contains("w2v"),
        "{err}"
    );

    std::fs::remove_file(dir.join("keys.txt")).unwrap();
    let err = Hnsw::open(&dir, &expect).unwrap_err();
    assert!(err.to_string().contains("keys.txt"), "{err}");
}
