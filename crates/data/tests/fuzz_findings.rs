//! Regression tests of webly-fuzz's findings in the dataset readers (inputs under
//! `tests/fixtures/fuzz/`).

use std::path::Path;

use webly_data::{Dataset, DatasetConfig, DatasetFormat};

/// Three `.parquet` files on which the parquet crate (60.1) panics (an unset dictionary decoder,
/// a bit reader past its slice, a negative column start): beside a valid shard, opening the
/// dataset is an error naming the file, not a panic through webly.
#[test]
fn parquet_files_that_panic_the_parquet_reader_are_errors_naming_the_file() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for name in [
        "parquet_dict_decoder_unset.parquet",
        "parquet_bit_reader_slice.parquet",
        "parquet_negative_column_start.parquet",
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            fixtures.join("shards/00000.tar"),
            dir.path().join("00000.tar"),
        )
        .unwrap();
        let parquet = dir.path().join("00000.parquet");
        std::fs::copy(fixtures.join("fuzz").join(name), &parquet).unwrap();
        let cfg = DatasetConfig {
            format: DatasetFormat::Webdataset,
            root: dir.path().to_path_buf(),
            ..DatasetConfig::default()
        };
        let e = Dataset::open(&cfg).unwrap_err().to_string();
        assert!(e.contains(&parquet.display().to_string()), "{name}: {e}");
        assert!(e.contains("parquet reader panicked"), "{name}: {e}");
    }
}
