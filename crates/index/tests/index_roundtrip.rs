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
    assert_eq!(reopened.manifest().unwrap().graph_file, saved.graph_file);
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

/// Every file of a saved index, damaged each way a user or a crash can damage it: opening it
/// is an error naming the file, never a panic, an abort or a wrong answer from hnsw_rs.
#[test]
fn damaged_index_files_are_refused_before_hnsw_rs_reads_them() {
    let (emb, _) = clustered_split(600, 10, DIM, &SyntheticConfig::default());
    let mut hnsw = Hnsw::build(&emb, &HnswConfig::default()).unwrap();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("index");
    let m = hnsw.save(&dir, &fingerprints()).unwrap();
    let expect = Expect {
        dim: DIM,
        text_fingerprint: "glove-123".into(),
    };
    Hnsw::open(&dir, &expect).unwrap();
    assert_eq!(webly_index::verify(&dir).unwrap(), m);

    type Edit = fn(&mut Vec<u8>);
    let edits: [(&str, Edit); 5] = [
        ("truncated", |b| b.truncate(b.len() / 2)),
        ("range zeroed", |b| {
            let n = b.len();
            b[n / 3..n / 3 + n / 10 + 1].fill(0)
        }),
        ("byte flipped", |b| {
            let n = b.len();
            b[n / 2] ^= 0x40
        }),
        ("emptied", |b| b.clear()),
        ("lines shuffled", |b| {
            let text = String::from_utf8_lossy(b).into_owned();
            let mut lines: Vec<&str> = text.lines().collect();
            lines.swap(0, 1);
            *b = (lines.join("\n") + "\n").into_bytes();
        }),
    ];
    let files = [
        m.vectors_file.clone(),
        m.graph_file.clone(),
        "keys.txt".to_string(),
        "nodes.txt".to_string(),
    ];
    for file in &files {
        let path = dir.join(file);
        let good = std::fs::read(&path).unwrap();
        for (name, edit) in edits {
            if name == "lines shuffled" && !file.ends_with(".txt") {
                continue;
            }
            let mut bad = good.clone();
            edit(&mut bad);
            if bad == good {
                continue; // nodes.txt's first two lines may be equal
            }
            std::fs::write(&path, &bad).unwrap();
            let err = Hnsw::open(&dir, &expect).expect_err(&format!("{file} {name} opened"));
            assert!(
                matches!(err, IndexError::Damaged { .. }) && err.to_string().contains(file),
                "{file} {name}: {err}"
            );
        }
        std::fs::remove_file(&path).unwrap();
        let err = Hnsw::open(&dir, &expect).unwrap_err();
        assert!(err.to_string().contains("missing"), "{file} deleted: {err}");
        std::fs::write(&path, &good).unwrap();
        Hnsw::open(&dir, &expect).unwrap();
    }

    // The manifest: cut short or emptied it does not parse; a recorded checksum edited is seen.
    let manifest = dir.join("manifest.json");
    let good = std::fs::read_to_string(&manifest).unwrap();
    for bad in [&good[..good.len() / 2], ""] {
        std::fs::write(&manifest, bad).unwrap();
        let err = Hnsw::open(&dir, &expect).unwrap_err();
        assert!(err.to_string().contains("manifest.json"), "{err}");
    }
    let sum = &m.checksums["keys.txt"];
    let edited = good.replace(sum.as_str(), &sum.replace(':', ":1"));
    assert_ne!(edited, good);
    std::fs::write(&manifest, edited).unwrap();
    assert!(matches!(
        Hnsw::open(&dir, &expect),
        Err(IndexError::Damaged { .. })
    ));
    std::fs::remove_file(&manifest).unwrap();
    assert!(Hnsw::open(&dir, &expect).is_err());
}
