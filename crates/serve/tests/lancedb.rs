//! `webly export` into a real vector database: the miniature run's test split exported to
//! parquet, imported into LanceDB with the guide's snippet (scripts/lancedb_check.py, in the
//! venv of scripts/setup_lancedb.sh), and LanceDB's exact (unindexed, flat) search of the table
//! for caption vectors of test captions gives webly's exact top 10, key for key.
mod common;

use std::ffi::OsStr;

use webly_data::Split;
use webly_pipeline::{ExportDtype, SearchMode, Searcher};

/// Queries: caption vectors of test captions (rows spread over the index).
const QUERY_ROWS: [usize; 5] = [0, 7, 19, 31, 50];

#[test]
fn lancedb_exact_search_of_the_export_equals_webly_exact_search() {
    let python = common::venv_python(
        "venv-lancedb",
        "WEBLY_LANCEDB_VENV",
        "scripts/setup_lancedb.sh",
    );
    let cfg = common::built_miniature();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("lancedb");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a test folder");
    let parquet = dir.join("test.parquet");
    let exported = webly_pipeline::export(&cfg, None, Split::Test, &parquet, ExportDtype::F32)
        .expect("webly export");

    // After the export (which holds the run folder exclusively): webly's own exact search.
    let searcher = Searcher::open(&cfg, None).expect("the miniature run loads");
    assert_eq!(exported.rows, searcher.facts().size);
    let mut vectors = Vec::new();
    let mut expected = Vec::new();
    for row in QUERY_ROWS {
        let key = searcher.key_at(row).expect("a row of the index");
        let caption = searcher.caption_of(key).expect("a caption");
        let Ok(v) = searcher.text_vector(caption) else {
            continue; // a caption with no word of the text space
        };
        let hits = searcher.similar_to_vector(&v, 10, SearchMode::Exact);
        expected.push((caption.to_string(), hits));
        vectors.push(v);
    }
    assert!(vectors.len() >= 3, "too few captions with known words");
    let queries = dir.join("queries.json");
    std::fs::write(&queries, serde_json::to_string(&vectors).unwrap()).unwrap();

    let out = common::run_python(
        &python,
        "lancedb_check.py",
        &[
            parquet.as_os_str(),
            dir.join("db").as_os_str(),
            OsStr::new(&queries),
        ],
    );
    assert_eq!(out["rows"].as_u64(), Some(exported.rows as u64), "{out}");
    let schema = out["schema"].as_str().unwrap_or_default();
    assert!(
        schema.contains(&format!(
            "embedding: fixed_size_list<item: float>[{}]",
            exported.dim
        )),
        "{schema}"
    );
    for ((caption, hits), got) in expected.iter().zip(out["hits"].as_array().unwrap()) {
        let keys: Vec<&str> = got["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        let want: Vec<&str> = hits.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(keys, want, "{caption:?}: LanceDB against webly exact");
        // LanceDB's "dot" distance is 1 - dot product: the cosine of unit rows.
        for (d, h) in got["distances"].as_array().unwrap().iter().zip(hits) {
            let d = d.as_f64().unwrap();
            assert!(
                (1.0 - d - h.score as f64).abs() < 1e-5,
                "{caption:?}: {d} against {}",
                h.score
            );
        }
    }
    eprintln!(
        "LanceDB {}: {} rows, {} caption queries, top 10 as webly's exact search",
        out["lancedb"],
        out["rows"],
        expected.len()
    );
}
