//! Vector files as the web has them (issue 10, kind 1): byte-order marks, glove.840B tokens with
//! spaces on line 1, files that are not UTF-8, header counts off in either direction, huge
//! fields in error messages. Fixtures are small copies of the cases, committed here.

use std::path::PathBuf;

use webly_text::{read_any, LoadOptions, NonUtf8, WordVectors};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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

fn load(name: &str) -> WordVectors {
    WordVectors::load(&fixture(name), &no_cache())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .0
}

fn load_err(name: &str) -> String {
    WordVectors::load(&fixture(name), &no_cache())
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

#[test]
fn byte_order_mark_is_dropped_in_every_format() {
    // glove_bom.txt and w2v_bom.txt start with EF BB BF (cases/vectors-bom).
    for name in ["glove_bom.txt", "w2v_bom.txt"] {
        let v = load(name);
        assert_eq!(v.len(), 4, "{name}");
        assert_eq!(v.get("snow"), Some(&[0.9f32, 0.1, 0.0][..]), "{name}");
        assert!(v.words().iter().all(|w| !w.starts_with('\u{feff}')));
    }
    // word2vec binary with a mark, written here from the text file.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bom.bin");
    load("w2v_bom.txt").write_word2vec_binary(&bin).unwrap();
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend(std::fs::read(&bin).unwrap());
    let (v, _) = read_any(&bytes[..], "bom.bin", &no_cache()).unwrap();
    assert_eq!(v.get("snow"), Some(&[0.9f32, 0.1, 0.0][..]));
}

#[test]
fn spaced_token_on_the_first_line_does_not_set_the_dimension() {
    // Line 1 is ". . . 0.3 0.2 0.1" (glove.840B has such tokens): dimension 3, not 5.
    let v = load("spaced_first_word.txt");
    assert_eq!(v.dim(), 3);
    assert_eq!(v.words(), [". . .", ",", "snow"]);
    assert_eq!(v.get(". . ."), Some(&[0.3f32, 0.2, 0.1][..]));
}

#[test]
fn files_that_are_not_utf8_are_refused_or_kept_distinct_never_merged() {
    // café, cafè, cafë in Latin-1: three distinct words that lossy UTF-8 would merge.
    let e = load_err("latin1.w2v.txt");
    assert!(e.contains("latin1.w2v.txt"), "{e}");
    assert!(e.contains("not UTF-8") && e.contains("3 word"), "{e}");
    assert!(e.contains("line 2") && e.contains("caf\\xe9"), "{e}");
    let opts = LoadOptions {
        non_utf8: NonUtf8::Latin1,
        ..no_cache()
    };
    let (v, report) = WordVectors::load(&fixture("latin1.w2v.txt"), &opts).unwrap();
    assert_eq!(v.len(), 4);
    assert_eq!(report.duplicates, 0);
    assert_eq!(report.non_utf8_words, 3);
    for w in ["café", "cafè", "cafë", "snow"] {
        assert!(v.get(w).is_some(), "{w} missing: {:?}", v.words());
    }
    // The same policy in the binary format.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("latin1.bin");
    let mut bytes = b"2 1\ncaf\xe9 ".to_vec();
    bytes.extend(1f32.to_le_bytes());
    bytes.extend(b"\ncaf\xe8 ");
    bytes.extend(2f32.to_le_bytes());
    bytes.push(b'\n');
    std::fs::write(&bin, &bytes).unwrap();
    let e = WordVectors::load(&bin, &no_cache())
        .unwrap_err()
        .to_string();
    assert!(e.contains("not UTF-8") && e.contains("2 word"), "{e}");
    let (v, _) = WordVectors::load(&bin, &opts).unwrap();
    assert_eq!(v.len(), 2);
}

#[test]
fn header_count_off_either_way_is_one_policy_saying_which_way() {
    for (name, way) in [
        ("count_low.txt", "too low"),
        ("count_low.bin", "too low"),
        ("count_high.txt", "too high"),
        ("count_high.bin", "too high"),
    ] {
        let e = load_err(name);
        assert!(e.contains(name) && e.contains(way), "{name}: {e}");
        let found = if way == "too low" { 2 } else { 6 };
        assert!(e.contains(&format!("header says {found} words")), "{e}");
        assert!(e.contains("the file has 4"), "{name}: {e}");
    }
}

#[test]
fn error_messages_shorten_the_fields_they_quote() {
    // A binary file read as text (an old fastText .bin) gave a 15 KB message.
    let mut line = b"word ".to_vec();
    line.extend(std::iter::repeat_n(b'x', 15_000));
    line.extend(b" 0.5\nother 0.1 0.2\nthird 0.3 0.4\n");
    let e = read_any(&line[..], "big.txt", &no_cache())
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.len() < 300, "{} bytes: {e}", e.len());
    assert!(e.contains("big.txt:1:") && e.contains("15000 bytes"), "{e}");
    let nul = b"\x00\x01\x02 \x00 1\n".to_vec();
    let e = read_any(&nul[..], "ft.bin", &no_cache())
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.contains("binary content"), "{e}");
}

mod fuzz {
    //! No panic on arbitrary bytes, in every format (a fixed budget so it runs in CI).
    use proptest::prelude::*;

    use webly_text::{clean, detect_format, read_any, Format, LoadOptions};

    /// Cases per property: 4 properties x 10,000 = 40,000 inputs (each reader input is read in
    /// all four format modes), about a second in release.
    const CASES: u32 = 10_000;

    fn opts(format: Option<Format>) -> LoadOptions {
        LoadOptions {
            format,
            cache: false,
            progress: false,
            block_bytes: 64,
            ..LoadOptions::default()
        }
    }

    /// Bytes that look like vector files often enough to reach the parsers' inner paths.
    fn vectorish() -> impl Strategy<Value = Vec<u8>> {
        let token = prop_oneof![
            Just(b" ".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\t".to_vec()),
            Just(b"\xEF\xBB\xBF".to_vec()),
            Just(b"3 2\n".to_vec()),
            Just(b"0.5".to_vec()),
            Just(b"-1e3".to_vec()),
            Just(b"nan".to_vec()),
            Just(b"word".to_vec()),
            Just(b"caf\xe9".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..8),
        ];
        proptest::collection::vec(token, 0..40).prop_map(|t| t.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn readers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            for f in [None, Some(Format::GloveText), Some(Format::Word2VecText), Some(Format::Word2VecBinary)] {
                let _ = read_any(&bytes[..], "fuzz", &opts(f));
            }
            let _ = detect_format(&bytes);
        }

        #[test]
        fn readers_never_panic_on_vector_like_bytes(bytes in vectorish()) {
            for f in [None, Some(Format::GloveText), Some(Format::Word2VecText), Some(Format::Word2VecBinary)] {
                if let Ok((v, _)) = read_any(&bytes[..], "fuzz", &opts(f)) {
                    prop_assert!(v.dim() > 0 && !v.is_empty());
                }
            }
        }

        #[test]
        fn cleaner_never_panics_and_yields_ascii_tokens(text in any::<String>()) {
            for t in clean(&text) {
                prop_assert!(t.bytes().all(|b| b.is_ascii_lowercase()), "{t:?}");
                prop_assert!((2..=15).contains(&t.len()));
            }
        }

        #[test]
        fn cleaner_on_lossy_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = clean(&String::from_utf8_lossy(&bytes));
        }
    }
}
