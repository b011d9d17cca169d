//! Opening hand-made layouts: pairing, unmatched files, damaged captions, split rule and files.

use std::fs;
use std::path::{Path, PathBuf};

use webly_data::{Dataset, DatasetConfig, Split, CAPTION_DIR, IMAGE_DIR};

fn fixture_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/layout")
}

fn config(root: &Path) -> DatasetConfig {
    DatasetConfig {
        root: root.to_path_buf(),
        max_caption_bytes: 64,
        ..DatasetConfig::default()
    }
}

fn keys(ds: &Dataset, split: Split) -> Vec<String> {
    ds.split(split).iter().map(|i| i.key.clone()).collect()
}

#[test]
fn fixture_layout_counts_everything_and_aborts_on_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("unmatched.tsv");
    let cfg = DatasetConfig {
        unmatched_report: Some(report_path.clone()),
        ..config(&fixture_root())
    };
    let ds = Dataset::open(&cfg).unwrap();
    let r = &ds.report;
    assert_eq!((r.cities, r.images, r.captions, r.pairs), (2, 6, 6, 5));
    assert_eq!(
        (
            r.images_without_caption,
            r.captions_without_image,
            r.ignored_files
        ),
        (1, 1, 1)
    );
    assert_eq!(
        (r.empty_captions, r.non_utf8_captions, r.truncated_captions),
        (1, 1, 1)
    );
    let text = r.to_string();
    assert!(
        text.contains("1 images without caption, 1 captions without image"),
        "{text}"
    );
    let unmatched = fs::read_to_string(&report_path).unwrap();
    assert!(
        unmatched.contains("image_without_caption\tlondon/3\n"),
        "{unmatched}"
    );
    assert!(
        unmatched.contains("caption_without_image\tlondon/4\n"),
        "{unmatched}"
    );

    let item = |key: &str| ds.items.iter().find(|i| i.key == key).unwrap();
    assert_eq!(item("london/100").caption, "Sunny #london day 😍");
    assert_eq!(item("london/2").caption, "caf\u{FFFD} au lait #coffee");
    assert_eq!(item("london/5").caption, "");
    assert!(
        item("london/6").caption.len() <= 64 && item("london/6").caption.starts_with("#long #long")
    );
    assert!(item("paris/7").image.ends_with("paris/7.png"));
    assert_eq!(item("paris/7").id, "7");

    // String order: "100" < "2" < "5" < "6"; 4 items give 1 test, 0 val, 3 train.
    assert_eq!(keys(&ds, Split::Test), ["london/100"]);
    assert_eq!(
        keys(&ds, Split::Train),
        ["london/2", "london/5", "london/6", "paris/7"]
    );
    assert!(keys(&ds, Split::Val).is_empty());
    assert_eq!((r.train, r.val, r.test), (4, 0, 1));
}

#[test]
fn split_file_overrides_the_rule() {
    let cfg = DatasetConfig {
        split_file: Some(fixture_root().join("split_ok.tsv")),
        ..config(&fixture_root())
    };
    let ds = Dataset::open(&cfg).unwrap();
    assert_eq!(keys(&ds, Split::Test), ["london/2"]);
    assert_eq!(keys(&ds, Split::Train), ["london/100"]);
    assert_eq!(keys(&ds, Split::Val), ["paris/7"]);
    assert_eq!(ds.report.not_in_split_file, 2);
    assert_eq!(ds.report.split_file_unknown_keys, 1);
}

#[test]
fn malformed_split_file_names_file_and_line() {
    let cfg = DatasetConfig {
        split_file: Some(fixture_root().join("split_bad.tsv")),
        ..config(&fixture_root())
    };
    let err = Dataset::open(&cfg).unwrap_err().to_string();
    assert!(err.contains("split_bad.tsv:2"), "{err}");
}

/// Writes `ids` as (empty) images with captions `caption <id>` for `city` under `root`.
fn make_city(root: &Path, city: &str, ids: &[String]) {
    let (img, cap) = (
        root.join(IMAGE_DIR).join(city),
        root.join(CAPTION_DIR).join(city),
    );
    fs::create_dir_all(&img).unwrap();
    fs::create_dir_all(&cap).unwrap();
    for id in ids {
        fs::write(img.join(format!("{id}.jpg")), b"").unwrap();
        fs::write(cap.join(format!("{id}.txt")), format!("caption {id}\n")).unwrap();
    }
}

#[test]
fn reference_rule_gives_15_5_80_in_id_string_order() {
    let dir = tempfile::tempdir().unwrap();
    // Ids of mixed lengths, so string order differs from numeric order.
    let ids: Vec<String> = (0..100u64)
        .map(|i| (i * 7919 % 1000 * 10u64.pow((i % 4) as u32)).to_string())
        .collect();
    let mut ids = ids;
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 100);
    let mut shuffled = ids.clone();
    shuffled.reverse();
    make_city(dir.path(), "sydney", &shuffled);
    let small: Vec<String> = (1..=20)
        .map(|i| format!("{}", 1_490_715_299_619_322_000u64 + i))
        .collect();
    make_city(dir.path(), "toronto", &small);
    let ds = Dataset::open(&config(dir.path())).unwrap();
    let city = |split: Split, c: &str| -> Vec<String> {
        ds.split(split)
            .iter()
            .filter(|i| i.city == c)
            .map(|i| i.id.clone())
            .collect()
    };
    assert_eq!(city(Split::Test, "sydney"), ids[..15]);
    assert_eq!(city(Split::Val, "sydney"), ids[15..20]);
    assert_eq!(city(Split::Train, "sydney"), ids[20..]);
    // 20 items: round(3.0) = 3 test, round(4.0) - 3 = 1 val, 16 train.
    assert_eq!(city(Split::Test, "toronto"), small[..3]);
    assert_eq!(city(Split::Val, "toronto"), small[3..4]);
    assert_eq!(city(Split::Train, "toronto").len(), 16);
    assert_eq!(
        (ds.report.test, ds.report.val, ds.report.train),
        (18, 6, 96)
    );
    let first = ds.items.iter().find(|i| i.city == "sydney").unwrap();
    assert_eq!(first.caption, format!("caption {}", ids[0]));
}

#[test]
fn bad_fractions_are_rejected() {
    let cfg = DatasetConfig {
        test_fraction: 0.9,
        val_fraction: 0.2,
        ..config(&fixture_root())
    };
    assert!(Dataset::open(&cfg).is_err());
}
