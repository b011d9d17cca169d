//! End-to-end: every format from files (plain and gzip), validation errors, the cache.

use std::io::Write;
use std::path::{Path, PathBuf};

use webly_text::{CacheStatus, Format, LoadOptions, WordVectors};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn no_cache() -> LoadOptions {
    LoadOptions {
        cache: false,
        progress: false,
        ..LoadOptions::default()
    }
}

fn load_err(name: &str) -> String {
    WordVectors::load(&fixture(name), &no_cache())
        .unwrap_err()
        .to_string()
}

fn gzip(src: &Path, dst: &Path) {
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(dst).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(src).unwrap()).unwrap();
    enc.finish().unwrap();
}

#[test]
fn glove_text_plain_and_gzip_by_content() {
    let (v, r) = WordVectors::load(&fixture("small.glove.txt"), &no_cache()).unwrap();
    assert_eq!(
        (v.len(), v.dim(), r.format, r.gzip),
        (4, 3, Format::GloveText, false)
    );
    assert_eq!(v.get("car").unwrap(), [-0.1, 2.5, 3.0]);
    assert_eq!(v.words()[1], "cat");
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("vectors.bin"); // extension says nothing
    gzip(&fixture("small.glove.txt"), &gz);
    let (g, r) = WordVectors::load(&gz, &no_cache()).unwrap();
    assert!(r.gzip);
    assert_eq!(g.storage().as_slice(), v.storage().as_slice());
}

#[test]
fn word2vec_text_duplicates_are_reported() {
    let (v, r) = WordVectors::load(&fixture("dup.w2v.txt"), &no_cache()).unwrap();
    assert_eq!(r.format, Format::Word2VecText);
    assert_eq!(
        (r.duplicates, r.duplicate_examples.clone()),
        (1, vec!["snow".to_string()])
    );
    assert_eq!(v.get("snow").unwrap(), [1.0, 0.0]);
}

#[test]
fn word2vec_binary_round_trip_and_gzip() {
    let (v, _) = WordVectors::load(&fixture("small.glove.txt"), &no_cache()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("v.w2v");
    v.write_word2vec_binary(&bin).unwrap();
    let (b, r) = WordVectors::load(&bin, &no_cache()).unwrap();
    assert_eq!(r.format, Format::Word2VecBinary);
    assert_eq!(
        (b.words(), b.storage().as_slice()),
        (v.words(), v.storage().as_slice())
    );
    let gz = dir.path().join("v.w2v.gz");
    gzip(&bin, &gz);
    let (g, r) = WordVectors::load(&gz, &no_cache()).unwrap();
    assert!(r.gzip && r.format == Format::Word2VecBinary);
    assert_eq!(g.get("dog"), v.get("dog"));
    // Truncated binary: the error names the record.
    let bytes = std::fs::read(&bin).unwrap();
    let cut = dir.path().join("cut.w2v");
    std::fs::write(&cut, &bytes[..bytes.len() - 7]).unwrap();
    let e = WordVectors::load(&cut, &no_cache())
        .unwrap_err()
        .to_string();
    assert!(e.contains("cut.w2v:5:") && e.contains("record 4"), "{e}");
}

#[test]
fn glove_text_write_round_trips() {
    let (v, _) = WordVectors::load(&fixture("small.glove.txt"), &no_cache()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    v.write_glove_text(&out).unwrap();
    let (w, _) = WordVectors::load(&out, &no_cache()).unwrap();
    assert_eq!(
        (w.words(), w.storage().as_slice()),
        (v.words(), v.storage().as_slice())
    );
}

#[test]
fn broken_files_name_file_and_line() {
    let cases = [
        ("bad_dim.txt:2:", "found only 3 fields"),
        ("nan.txt:2:", "NaN"),
        ("inf.txt:2:", "NaN or infinite"),
        ("truncated.txt:3:", "truncated line"),
        ("bad_number.txt:2:", "\"zero\""),
        ("w2v_short.txt:", "header says 5 words, the file has 2"),
    ];
    for (at, what) in cases {
        let file = at.split(':').next().unwrap();
        let e = load_err(file);
        assert!(e.contains(at) && e.contains(what), "{file}: {e}");
    }
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let e = WordVectors::load(&empty, &no_cache())
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty.txt") && e.contains("empty"), "{e}");
    let missing = WordVectors::load(&dir.path().join("nope.txt"), &no_cache());
    assert!(missing.unwrap_err().to_string().contains("nope.txt"));
}

#[test]
fn expected_dim_is_enforced() {
    let opts = LoadOptions {
        expected_dim: Some(4),
        ..no_cache()
    };
    let e = WordVectors::load(&fixture("small.glove.txt"), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("small.glove.txt:1:"), "{e}");
}

#[test]
fn cache_is_written_mapped_and_rebuilt_when_corrupt_or_stale() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("v.txt");
    std::fs::copy(fixture("small.glove.txt"), &src).unwrap();
    let opts = LoadOptions {
        progress: false,
        ..LoadOptions::default()
    };
    let (parsed, r) = WordVectors::load(&src, &opts).unwrap();
    let cache = webly_text::cache_path(&src, None);
    assert_eq!(r.cache, CacheStatus::Written(cache.clone()));
    let (hit, r) = WordVectors::load(&src, &opts).unwrap();
    assert_eq!(r.cache, CacheStatus::Hit(cache.clone()));
    assert!(hit.storage().is_mmap() && !parsed.storage().is_mmap());
    assert_eq!(
        (hit.words(), hit.storage().as_slice()),
        (parsed.words(), parsed.storage().as_slice())
    );

    // Flip one byte of the matrix: the checksum catches it.
    let mut bytes = std::fs::read(&cache).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x40;
    std::fs::write(&cache, &bytes).unwrap();
    let (_, r) = WordVectors::load(&src, &opts).unwrap();
    assert!(
        matches!(&r.cache, CacheStatus::Rebuilt(_, why) if why.contains("checksum")),
        "{r:?}"
    );
    // Truncated cache.
    std::fs::write(&cache, &bytes[..100]).unwrap();
    let (_, r) = WordVectors::load(&src, &opts).unwrap();
    assert!(matches!(&r.cache, CacheStatus::Rebuilt(..)), "{r:?}");
    // Changed source: stale.
    std::fs::write(&src, "x 1 2 3\n").unwrap();
    let (v, r) = WordVectors::load(&src, &opts).unwrap();
    assert!(
        matches!(&r.cache, CacheStatus::Rebuilt(_, why) if why.contains("stale")),
        "{r:?}"
    );
    assert_eq!(v.words(), ["x"]);
    let (_, r) = WordVectors::load(&src, &opts).unwrap();
    assert!(matches!(r.cache, CacheStatus::Hit(_)));
}

#[test]
fn cache_dir_and_unwritable_cache() {
    let dir = tempfile::tempdir().unwrap();
    let opts = LoadOptions {
        cache_dir: Some(dir.path().join("caches")),
        progress: false,
        ..LoadOptions::default()
    };
    let (_, r) = WordVectors::load(&fixture("small.glove.txt"), &opts).unwrap();
    let CacheStatus::Written(p) = r.cache else {
        panic!("{:?}", r.cache)
    };
    assert!(p.starts_with(dir.path().join("caches")));
    let (_, r) = WordVectors::load(&fixture("small.glove.txt"), &opts).unwrap();
    assert!(matches!(r.cache, CacheStatus::Hit(_)));
    // A cache folder that cannot be created: the load still works.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let opts = LoadOptions {
        cache_dir: Some(blocker.join("sub")),
        ..opts
    };
    let (v, r) = WordVectors::load(&fixture("small.glove.txt"), &opts).unwrap();
    assert!(matches!(r.cache, CacheStatus::WriteFailed(..)), "{r:?}");
    assert_eq!(v.len(), 4);
}
