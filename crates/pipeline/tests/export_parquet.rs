//! `webly export`'s parquet read back by an independent reader: the parquet crate's record API
//! (row by row, schema-driven), not the column writer that wrote it. Float32 must come back
//! bit-exact, float16 as the nearest half, strings byte for byte, across several row groups.
use std::fs::File;
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, List};
use rand::{Rng, SeedableRng};
use webly_pipeline::export::{write_parquet, ExportDtype, ExportRows, ROW_GROUP_ROWS};

/// What a row reads back as.
#[derive(Debug, PartialEq)]
struct Row {
    key: String,
    embedding: Vec<f32>,
    caption: String,
    image_path: String,
}

fn floats(list: &List) -> Vec<f32> {
    list.elements()
        .iter()
        .map(|f| match f {
            Field::Float(v) => *v,
            Field::Float16(v) => v.to_f32(),
            other => panic!("not a float: {other:?}"),
        })
        .collect()
}

fn read_back(path: &Path) -> (Vec<Row>, Vec<(String, String)>, usize) {
    let reader = SerializedFileReader::new(File::open(path).unwrap()).unwrap();
    let meta = reader.metadata().file_metadata();
    let kv = meta
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|e| (e.key.clone(), e.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let groups = reader.num_row_groups();
    let rows = reader
        .get_row_iter(None)
        .unwrap()
        .map(|row| {
            let row = row.unwrap();
            let mut r = Row {
                key: String::new(),
                embedding: Vec::new(),
                caption: String::new(),
                image_path: String::new(),
            };
            for (name, field) in row.get_column_iter() {
                match (name.as_str(), field) {
                    ("key", Field::Str(s)) => r.key = s.clone(),
                    ("caption", Field::Str(s)) => r.caption = s.clone(),
                    ("image_path", Field::Str(s)) => r.image_path = s.clone(),
                    ("embedding", Field::ListInternal(l)) => r.embedding = floats(l),
                    other => panic!("unexpected column {other:?}"),
                }
            }
            r
        })
        .collect();
    (rows, kv, groups)
}

#[test]
fn exported_parquet_reads_back_equal_in_f32_and_f16() {
    let n = ROW_GROUP_ROWS + 77;
    let dim = 5;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let keys: Vec<String> = (0..n).map(|i| format!("city/{i:07}")).collect();
    let values: Vec<f32> = (0..n * dim).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let captions: Vec<String> = (0..n)
        .map(|i| match i % 3 {
            0 => String::new(),
            1 => format!("#snow ski {i} \u{1F3BF}"),
            _ => "caf\u{FFFD} au lait".to_string(),
        })
        .collect();
    let paths: Vec<String> = (0..n)
        .map(|i| format!("/data/shards/00000.tar#{}+100/{i:09}.jpg", 512 * i))
        .collect();
    let rows = ExportRows {
        keys: &keys,
        embeddings: &values,
        dim,
        captions: captions.iter().map(String::as_str).collect(),
        image_paths: paths.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    let meta = vec![("webly.model".to_string(), "triplet".to_string())];
    for dtype in [ExportDtype::F32, ExportDtype::F16] {
        let out = dir.path().join(format!("{dtype}.parquet"));
        write_parquet(&out, &rows, dtype, &meta).unwrap();
        let (back, kv, groups) = read_back(&out);
        assert_eq!(groups, 2, "{dtype}: rows are split into row groups");
        assert_eq!(kv, meta);
        assert_eq!(back.len(), n);
        for (i, r) in back.iter().enumerate() {
            let want: Vec<f32> = values[i * dim..(i + 1) * dim]
                .iter()
                .map(|&v| match dtype {
                    ExportDtype::F32 => v,
                    ExportDtype::F16 => half::f16::from_f32(v).to_f32(),
                })
                .collect();
            let expected = Row {
                key: keys[i].clone(),
                embedding: want,
                caption: captions[i].clone(),
                image_path: paths[i].clone(),
            };
            assert_eq!(r, &expected, "{dtype} row {i}");
        }
        // Half precision is a real rounding, not a truncation to zero.
        if dtype == ExportDtype::F16 {
            let worst = back
                .iter()
                .enumerate()
                .flat_map(|(i, r)| {
                    let v = &values[i * dim..(i + 1) * dim];
                    r.embedding.iter().zip(v).map(|(a, b)| (a - b).abs())
                })
                .fold(0f32, f32::max);
            assert!(worst > 0.0 && worst <= 1.0 / 2048.0, "{worst}");
        }
    }
}

#[test]
fn mismatched_rows_are_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.parquet");
    let keys = vec!["a".to_string(), "b".to_string()];
    let rows = ExportRows {
        keys: &keys,
        embeddings: &[0.0; 5],
        dim: 3,
        captions: vec!["x", "y"],
        image_paths: vec!["p".into(), "q".into()],
    };
    let e = write_parquet(&out, &rows, ExportDtype::F32, &[]).unwrap_err();
    assert!(e.to_string().contains("5 embedding values"), "{e}");
    assert!(!out.exists());
}
