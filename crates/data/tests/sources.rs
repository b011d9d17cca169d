//! Dataset sources other than InstaCities: img2dataset tar shards (whole, truncated, with bad
//! members), its files layout with parquet metadata, and a plain photo folder.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::data_type::{ByteArray, ByteArrayType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use webly_data::{
    hash_split, image_container, load_batch, read_image_bytes, Crop, Dataset, DatasetConfig,
    DatasetFormat, LoaderConfig, Split,
};

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images");
    fs::read(p.join(name)).unwrap()
}

/// 8 x 8 crops: enough to tell a decoded image from a skipped one.
fn tiny_loader() -> LoaderConfig {
    LoaderConfig {
        resize: 8,
        crop: 8,
        ..LoaderConfig::default()
    }
}

fn config(root: &Path, format: DatasetFormat) -> DatasetConfig {
    DatasetConfig {
        format,
        root: root.to_path_buf(),
        max_caption_bytes: 64,
        ..DatasetConfig::default()
    }
}

/// Writes a tar of `members` (name, bytes) the way img2dataset does (plain ustar, in order).
fn write_tar(path: &Path, members: &[(&str, Vec<u8>)]) {
    let mut b = tar::Builder::new(fs::File::create(path).unwrap());
    for (name, bytes) in members {
        let mut h = tar::Header::new_ustar();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, bytes.as_slice()).unwrap();
    }
    b.into_inner().unwrap();
}

fn json(caption: Option<&str>, status: &str) -> Vec<u8> {
    serde_json::json!({"url": "http://example.invalid/x.jpg", "caption": caption,
        "status": status, "width": 16, "height": 16})
    .to_string()
    .into_bytes()
}

fn by_key(ds: &Dataset) -> BTreeMap<&str, &webly_data::Item> {
    ds.items.iter().map(|i| (i.key.as_str(), i)).collect()
}

#[test]
fn tar_shards_are_indexed_in_place_and_bad_members_counted() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let ok = fixture("ok.jpg");
    write_tar(
        &root.join("00000.tar"),
        &[
            ("000000001.jpg", ok.clone()),
            ("000000001.txt", b"a red #sunset".to_vec()),
            ("000000001.json", json(Some("a red #sunset"), "success")),
            // A corrupt image: indexed, then skipped by the loader.
            ("000000002.jpg", fixture("corrupt.jpg")),
            ("000000002.txt", b"broken picture".to_vec()),
            // An image without any caption: skipped and counted.
            ("000000003.jpg", ok.clone()),
            // A caption without an image.
            ("000000004.txt", b"lonely caption".to_vec()),
            // The caption only in the metadata.
            ("000000005.png", fixture("ok.png")),
            ("000000005.json", json(Some("from the json"), "success")),
            // A failed download that left members behind.
            ("000000006.jpg", ok.clone()),
            ("000000006.txt", b"x".to_vec()),
            ("000000006.json", json(None, "failed_to_download")),
            // Not UTF-8: repaired and counted.
            ("000000007.jpg", ok.clone()),
            ("000000007.txt", b"caf\xe9 #paris".to_vec()),
            ("000000007.cls", b"3".to_vec()),
            ("000000008.jpg", ok.clone()),
            ("000000008.txt", b"bad metadata".to_vec()),
            ("000000008.json", b"{not json".to_vec()),
        ],
    );
    // The second shard is cut inside its third image: the two samples before it are kept.
    let second = root.join("00001.tar");
    write_tar(
        &second,
        &[
            ("000000010.jpg", ok.clone()),
            ("000000010.txt", b"ten".to_vec()),
            ("000000011.jpg", ok.clone()),
            ("000000011.txt", b"eleven".to_vec()),
            ("000000012.txt", b"twelve".to_vec()),
            ("000000012.jpg", ok.clone()),
        ],
    );
    let full = fs::read(&second).unwrap();
    let cut = full.len() - 1024 - 512 - ok.len() / 2;
    fs::write(&second, &full[..cut]).unwrap();
    // A third shard repeats a key of the first: both kept, each keyed by its shard.
    write_tar(
        &root.join("00002.tar"),
        &[
            ("000000001.jpg", fixture("ok.png")),
            ("000000001.txt", b"repeated key".to_vec()),
        ],
    );
    // Not a shard: ignored.
    fs::write(root.join("notes.md"), "x").unwrap();

    let ds = Dataset::open(&config(root, DatasetFormat::Webdataset)).unwrap();
    let r = &ds.report;
    eprintln!("{r}");
    assert_eq!((r.shards, r.broken_shards, r.duplicate_keys), (3, 1, 0));
    assert_eq!(r.shared_keys, 2);
    assert_eq!((r.failed_status, r.bad_metadata), (1, 1));
    assert_eq!((r.images_without_caption, r.captions_without_image), (1, 2));
    assert_eq!((r.non_utf8_captions, r.ignored_files), (1, 1));
    let items = by_key(&ds);
    let keys: Vec<&str> = items.keys().copied().collect();
    assert_eq!(
        keys,
        [
            "00000/000000001",
            "000000002",
            "000000005",
            "000000007",
            "000000008",
            "000000010",
            "000000011",
            "00002/000000001",
        ]
    );
    assert_eq!(items["00000/000000001"].caption, "a red #sunset");
    assert_eq!(items["00002/000000001"].caption, "repeated key");
    assert_eq!(items["000000005"].caption, "from the json");
    assert_eq!(items["000000007"].caption, "caf\u{FFFD} #paris");
    for item in &ds.items {
        let own_key = item.key.rsplit('/').next().unwrap_or_default();
        assert_eq!(item.split, hash_split(own_key, 0.15, 0.05), "{}", item.key);
    }
    assert_eq!(r.pairs, r.train + r.val + r.test, "{r}");
    assert_eq!(r.pairs, ds.items.len(), "{r}");
    // Members are read in place, byte for byte, and the shard is their container.
    let first = &items["00000/000000001"].image;
    assert_eq!(read_image_bytes(first).unwrap(), ok);
    assert_eq!(image_container(first), root.join("00000.tar"));
    assert_eq!(
        read_image_bytes(&items["000000005"].image).unwrap(),
        fixture("ok.png")
    );
    assert_eq!(
        read_image_bytes(&items["00002/000000001"].image).unwrap(),
        fixture("ok.png")
    );
    // The loader decodes members like files, and skips the corrupt one naming its member.
    let paths: Vec<PathBuf> = ds.items.iter().map(|i| i.image.clone()).collect();
    let cfg = tiny_loader();
    let batch = load_batch(&paths, &cfg, Crop::Center);
    assert_eq!(batch.loaded.len(), paths.len() - 1);
    assert_eq!(batch.skipped.len(), 1);
    let skipped = batch.skipped[0].path.display().to_string();
    assert!(
        skipped.starts_with(&root.join("00000.tar#").display().to_string())
            && skipped.ends_with("/000000002.jpg"),
        "{skipped}"
    );
    let file = root.join("ok.jpg");
    fs::write(&file, &ok).unwrap();
    let from_file = load_batch(&[file], &cfg, Crop::Center);
    assert_eq!(from_file.data[..], batch.data[..cfg.image_len()]);
}

#[test]
fn a_shard_that_is_not_a_tar_or_is_empty_is_counted_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("00000.tar"), vec![0x41u8; 700]).unwrap();
    fs::write(dir.path().join("00001.tar"), b"").unwrap();
    write_tar(
        &dir.path().join("00002.tar"),
        &[
            ("a.jpg", fixture("ok.jpg")),
            ("a.txt", b"the one good sample".to_vec()),
        ],
    );
    let ds = Dataset::open(&config(dir.path(), DatasetFormat::Webdataset)).unwrap();
    assert_eq!(ds.items.len(), 1);
    assert_eq!(ds.report.shards, 3);
    assert_eq!(ds.report.broken_shards, 1, "{}", ds.report);
    let none = tempfile::tempdir().unwrap();
    let e = Dataset::open(&config(none.path(), DatasetFormat::Webdataset)).unwrap_err();
    assert!(e.to_string().contains("no .tar shards"), "{e}");
}

#[test]
fn compressed_shards_are_named_and_counted_not_silently_dropped() {
    let dir = tempfile::tempdir().unwrap();
    write_tar(
        &dir.path().join("00000.tar"),
        &[("a.jpg", fixture("ok.jpg")), ("a.txt", b"plain".to_vec())],
    );
    fs::write(dir.path().join("00001.tar.gz"), b"\x1f\x8b gzip bytes").unwrap();
    let ds = Dataset::open(&config(dir.path(), DatasetFormat::Webdataset)).unwrap();
    assert_eq!((ds.items.len(), ds.report.shards), (1, 1));
    assert_eq!(ds.report.ignored_files, 1, "{}", ds.report);
    let only = tempfile::tempdir().unwrap();
    fs::write(only.path().join("00000.tgz"), b"\x1f\x8b").unwrap();
    let e = Dataset::open(&config(only.path(), DatasetFormat::Webdataset)).unwrap_err();
    let e = e.to_string();
    assert!(e.contains("compressed") && e.contains("00000.tgz"), "{e}");
}

/// Writes img2dataset's per-shard parquet: `key`, `caption` (optional), `status`.
fn write_parquet(path: &Path, rows: &[(&str, Option<&str>, &str)]) {
    let schema = Arc::new(
        parse_message_type(
            "message schema { required binary key (STRING); optional binary caption (STRING);
             required binary status (STRING); }",
        )
        .unwrap(),
    );
    let props = Arc::new(WriterProperties::builder().build());
    let mut w = SerializedFileWriter::new(fs::File::create(path).unwrap(), schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let bytes = |s: &str| ByteArray::from(s.as_bytes().to_vec());
    let keys: Vec<ByteArray> = rows.iter().map(|r| bytes(r.0)).collect();
    let captions: Vec<ByteArray> = rows.iter().filter_map(|r| r.1.map(bytes)).collect();
    let defined: Vec<i16> = rows.iter().map(|r| i16::from(r.1.is_some())).collect();
    let status: Vec<ByteArray> = rows.iter().map(|r| bytes(r.2)).collect();
    for (values, levels) in [
        (keys, None),
        (captions, Some(defined.as_slice())),
        (status, None),
    ] {
        let mut col = rg.next_column().unwrap().unwrap();
        col.typed::<ByteArrayType>()
            .write_batch(&values, levels, None)
            .unwrap();
        col.close().unwrap();
    }
    rg.close().unwrap();
    w.close().unwrap();
}

#[test]
fn files_layout_reads_shard_folders_and_their_parquet_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let shard = dir.path().join("00000");
    fs::create_dir(&shard).unwrap();
    let ok = fixture("ok.jpg");
    fs::write(shard.join("000000001.jpg"), &ok).unwrap();
    fs::write(shard.join("000000001.txt"), "own caption").unwrap();
    fs::write(shard.join("000000002.jpg"), &ok).unwrap();
    fs::write(shard.join("000000003.jpg"), &ok).unwrap();
    fs::write(shard.join("000000004.jpg"), &ok).unwrap();
    write_parquet(
        &dir.path().join("00000.parquet"),
        &[
            ("000000001", Some("parquet caption"), "success"),
            ("000000002", Some("caption from parquet"), "success"),
            ("000000003", Some("resize failed"), "failed_to_resize"),
            ("000000004", None, "success"),
            ("000000009", None, "failed_to_download"),
        ],
    );
    let ds = Dataset::open(&config(dir.path(), DatasetFormat::Img2datasetFiles)).unwrap();
    let items = by_key(&ds);
    assert_eq!(
        items.keys().copied().collect::<Vec<_>>(),
        ["000000001", "000000002"]
    );
    assert_eq!(items["000000001"].caption, "own caption");
    assert_eq!(items["000000002"].caption, "caption from parquet");
    assert_eq!(items["000000002"].image, shard.join("000000002.jpg"));
    let r = &ds.report;
    assert_eq!(
        (r.shards, r.failed_status, r.images_without_caption),
        (1, 1, 1)
    );
    // A parquet file that is not parquet is an error naming it.
    fs::write(dir.path().join("00000.parquet"), "PAR1 no").unwrap();
    let e = Dataset::open(&config(dir.path(), DatasetFormat::Img2datasetFiles)).unwrap_err();
    assert!(e.to_string().contains("00000.parquet"), "{e}");
}

#[test]
fn a_photo_folder_is_indexed_whole_and_trained_on_its_captions() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("2024/trip")).unwrap();
    fs::create_dir_all(root.join(".thumbnails")).unwrap();
    let ok = fixture("ok.jpg");
    for i in 0..30 {
        fs::write(root.join(format!("2024/trip/IMG_{i:04}.JPG")), &ok).unwrap();
        if i % 3 != 0 {
            fs::write(
                root.join(format!("2024/trip/IMG_{i:04}.txt")),
                format!("beach day {i}"),
            )
            .unwrap();
        }
    }
    fs::write(root.join("cat.png"), fixture("ok.png")).unwrap();
    fs::write(root.join("cat.txt"), "my #cat").unwrap();
    fs::write(root.join("cat.jpg"), &ok).unwrap(); // same key as cat.png
    fs::write(root.join("orphan.txt"), "no image").unwrap();
    fs::write(root.join("notes.pdf"), "x").unwrap();
    fs::write(root.join(".thumbnails/x.jpg"), &ok).unwrap();
    let ds = Dataset::open(&config(root, DatasetFormat::Folder)).unwrap();
    let r = &ds.report;
    assert_eq!(ds.items.len(), 31, "{r}");
    assert_eq!((r.images, r.pairs, r.uncaptioned_indexed), (31, 21, 10));
    assert_eq!((r.captions_without_image, r.duplicate_keys), (1, 1));
    assert_eq!(r.ignored_files, 1);
    let items = by_key(&ds);
    assert_eq!(items["cat"].caption, "my #cat");
    assert!(items["cat"].image.ends_with("cat.jpg"));
    let uncaptioned = &items["2024/trip/IMG_0003"];
    assert_eq!(
        (uncaptioned.split, uncaptioned.caption.as_str()),
        (Split::Test, "")
    );
    let captioned = &items["2024/trip/IMG_0004"];
    assert_eq!(captioned.caption, "beach day 4");
    assert_eq!(
        captioned.split,
        hash_split("2024/trip/IMG_0004", 0.15, 0.05)
    );
    assert!(ds.split(Split::Train).iter().all(|i| !i.caption.is_empty()));
    assert!(!ds.split(Split::Train).is_empty());
}

#[test]
fn split_files_name_any_key_for_the_other_sources() {
    let dir = tempfile::tempdir().unwrap();
    let ok = fixture("ok.jpg");
    for k in ["a", "b", "c"] {
        fs::write(dir.path().join(format!("{k}.jpg")), &ok).unwrap();
        fs::write(dir.path().join(format!("{k}.txt")), k).unwrap();
    }
    let split = tempfile::NamedTempFile::new().unwrap();
    fs::write(split.path(), "test\ta\ntrain\tb\nval\tzzz\n").unwrap();
    let cfg = DatasetConfig {
        split_file: Some(split.path().to_path_buf()),
        ..config(dir.path(), DatasetFormat::Folder)
    };
    let ds = Dataset::open(&cfg).unwrap();
    let splits: Vec<(&str, Split)> = ds.items.iter().map(|i| (i.key.as_str(), i.split)).collect();
    assert_eq!(splits, [("a", Split::Test), ("b", Split::Train)]);
    assert_eq!(
        (
            ds.report.not_in_split_file,
            ds.report.split_file_unknown_keys
        ),
        (1, 1)
    );
    fs::write(split.path(), "test a\n").unwrap();
    let e = Dataset::open(&cfg).unwrap_err().to_string();
    assert!(e.contains(":1:"), "{e}");
}

#[test]
fn committed_broken_shards_are_read_up_to_the_break() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shards");
    let ds = Dataset::open(&config(&root, DatasetFormat::Webdataset)).unwrap();
    let r = &ds.report;
    let keys: Vec<&str> = ds.items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["000000001", "000000002", "000000010"], "{r}");
    assert_eq!((r.shards, r.broken_shards), (2, 1));
    assert_eq!((r.images_without_caption, r.captions_without_image), (1, 2));
    assert_eq!(ds.items[0].caption, "a #snow day");
    let paths: Vec<PathBuf> = ds.items.iter().map(|i| i.image.clone()).collect();
    let cfg = tiny_loader();
    let batch = load_batch(&paths, &cfg, Crop::Center);
    assert_eq!(batch.loaded, [0, 2]);
    assert!(batch.skipped[0].path.ends_with("000000002.jpg"));
}

/// The report's first line says what the source is made of: shards for img2dataset's
/// webdataset output, folders for a photo folder, never InstaCities' "cities".
#[test]
fn the_report_names_shards_or_folders_not_cities() {
    let dir = tempfile::tempdir().unwrap();
    let shards = dir.path().join("shards");
    fs::create_dir_all(&shards).unwrap();
    let ok = fixture("ok.jpg");
    for s in 0..2 {
        write_tar(
            &shards.join(format!("{s:05}.tar")),
            &[
                (&format!("{s:04}0001.jpg"), ok.clone()),
                (&format!("{s:04}0001.txt"), b"a red #sunset".to_vec()),
            ],
        );
    }
    let ds = Dataset::open(&config(&shards, DatasetFormat::Webdataset)).unwrap();
    let first = ds.report.to_string();
    let first = first.lines().next().unwrap_or_default();
    assert!(first.starts_with("2 shards, 2 images"), "{first}");
    assert!(!first.contains("cities"), "{first}");

    let photos = dir.path().join("photos");
    for sub in ["a", "b", "c"] {
        fs::create_dir_all(photos.join(sub)).unwrap();
        fs::write(photos.join(sub).join("x.jpg"), &ok).unwrap();
    }
    let ds = Dataset::open(&config(&photos, DatasetFormat::Folder)).unwrap();
    let first = ds.report.to_string();
    assert!(first.starts_with("3 folders, 3 images"), "{first}");
    assert!(!first.contains("cities"), "{first}");
}

/// Writes a tar whose member names are raw bytes (not necessarily UTF-8), as a shard written on
/// a system with a legacy encoding holds them.
fn write_tar_raw(path: &Path, members: &[(&[u8], Vec<u8>)]) {
    let mut b = tar::Builder::new(fs::File::create(path).unwrap());
    for (name, bytes) in members {
        let mut h = tar::Header::new_ustar();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, bytes.as_slice()).unwrap();
    }
    b.into_inner().unwrap();
}

/// Issue 25, kind 4: member names that are not UTF-8 (Latin-1 `caf\xe8.jpg`, `caf\xe9.jpg`,
/// `caf\xe9.txt`) once decoded lossily to one key `caf\u{FFFD}`, and an image took another
/// image's caption. Keys now keep the bytes (escaped `\xNN`): each image keeps its own caption
/// or none; and a name whose escaped key equals a UTF-8 name's key never joins that sample.
#[test]
fn non_utf8_member_names_keep_their_bytes_and_never_mispair() {
    let dir = tempfile::tempdir().unwrap();
    let (jpg, png) = (fixture("ok.jpg"), fixture("ok.png"));
    write_tar_raw(
        &dir.path().join("00000.tar"),
        &[
            (b"caf\xe8.jpg", jpg.clone()),
            (b"caf\xe9.jpg", png.clone()),
            (b"caf\xe9.txt", b"id241 skyline rain ski".to_vec()),
            (b"plain.jpg", jpg.clone()),
            (b"plain.txt", b"a plain name".to_vec()),
        ],
    );
    // A UTF-8 name that reads like an escape (`x\xe9`), beside the raw bytes it spells, in
    // both orders: the UTF-8-named member keeps the key; the other is left out and counted.
    write_tar_raw(
        &dir.path().join("00001.tar"),
        &[
            (b"x\\xe9.jpg", jpg.clone()),
            (b"x\xe9.txt", b"not the caption of x\\xe9".to_vec()),
            (b"y\xe9.jpg", png.clone()),
            (b"y\\xe9.txt", b"the caption of the literal name".to_vec()),
        ],
    );
    let ds = Dataset::open(&config(dir.path(), DatasetFormat::Webdataset)).unwrap();
    let r = &ds.report;
    let items = by_key(&ds);
    assert_eq!(
        items.keys().copied().collect::<Vec<_>>(),
        ["caf\\xe9", "plain"],
        "{r}"
    );
    let cafe = items["caf\\xe9"];
    assert_eq!(cafe.caption, "id241 skyline rain ski");
    assert_eq!(read_image_bytes(&cafe.image).unwrap(), png);
    assert!(cafe.image.to_string_lossy().ends_with("/caf\\xe9.jpg"));
    assert_eq!(read_image_bytes(&items["plain"].image).unwrap(), jpg);
    // `caf\xe8.jpg` and the literal `x\xe9.jpg` have no caption; the literal `y\xe9.txt` has
    // no image (the raw `y<E9>.jpg` was left out, as was the raw `x<E9>.txt`).
    assert_eq!(
        (r.images_without_caption, r.captions_without_image),
        (2, 1),
        "{r}"
    );
    assert_eq!((r.non_utf8_names, r.ignored_files), (5, 2), "{r}");
    assert_eq!((r.pairs, r.train + r.val + r.test), (2, 2), "{r}");
    assert!(r.to_string().contains("5 names not UTF-8"), "{r}");
}

/// The files layout with file names that are not UTF-8 (Unix file names are bytes): kept
/// under the same escaped keys as in a tar shard, each image with its own caption.
#[cfg(unix)]
#[test]
fn files_layout_keeps_non_utf8_file_names_apart() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let shard = dir.path().join("00000");
    fs::create_dir(&shard).unwrap();
    let name = |b: &[u8]| shard.join(std::ffi::OsStr::from_bytes(b));
    let (jpg, png) = (fixture("ok.jpg"), fixture("ok.png"));
    fs::write(name(b"caf\xe8.jpg"), &jpg).unwrap();
    fs::write(name(b"caf\xe9.jpg"), &png).unwrap();
    fs::write(name(b"caf\xe9.txt"), "id241 skyline rain ski").unwrap();
    let ds = Dataset::open(&config(dir.path(), DatasetFormat::Img2datasetFiles)).unwrap();
    let r = &ds.report;
    let items = by_key(&ds);
    assert_eq!(
        items.keys().copied().collect::<Vec<_>>(),
        ["caf\\xe9"],
        "{r}"
    );
    assert_eq!(items["caf\\xe9"].caption, "id241 skyline rain ski");
    assert_eq!(read_image_bytes(&items["caf\\xe9"].image).unwrap(), png);
    assert_eq!((r.images_without_caption, r.non_utf8_names), (1, 3), "{r}");
}

/// `count` samples keyed `000` ... (webdataset's keys are per shard), captioned by shard.
fn same_key_members(shard: usize, count: usize) -> Vec<(String, Vec<u8>)> {
    let image = match shard % 2 {
        0 => fixture("ok.jpg"),
        _ => fixture("ok.png"),
    };
    (0..count)
        .flat_map(|i| {
            [
                (format!("{i:03}.jpg"), image.clone()),
                (
                    format!("{i:03}.txt"),
                    format!("shard {shard} sample {i}").into_bytes(),
                ),
            ]
        })
        .collect()
}

fn write_same_key_shard(root: &Path, shard: usize, count: usize, format: DatasetFormat) {
    let members = same_key_members(shard, count);
    match format {
        DatasetFormat::Img2datasetFiles => {
            let dir = root.join(format!("{shard:05}"));
            fs::create_dir_all(&dir).unwrap();
            for (name, bytes) in &members {
                fs::write(dir.join(name), bytes).unwrap();
            }
        }
        _ => {
            let members: Vec<(&str, Vec<u8>)> = members
                .iter()
                .map(|(n, b)| (n.as_str(), b.clone()))
                .collect();
            write_tar(&root.join(format!("{shard:05}.tar")), &members);
        }
    }
}

/// `(key, caption, split)` of every item.
fn listing(ds: &Dataset) -> Vec<(String, String, Split)> {
    ds.items
        .iter()
        .map(|i| (i.key.clone(), i.caption.clone(), i.split))
        .collect()
}

/// Issue 25, kind 5: two shards with the same per-shard keys (`000` ... `019`). The second
/// shard's samples were dropped as repeated keys while the summary counted 40 pairs. Each
/// shard's samples are now kept, keyed `<shard>/<key>` where the key is shared, the summary
/// counts what is used, and no sample changes split when shards are added.
#[test]
fn shards_with_the_same_keys_keep_every_sample_and_splits_stay_when_shards_are_added() {
    for format in [DatasetFormat::Webdataset, DatasetFormat::Img2datasetFiles] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let open = || Dataset::open(&config(root, format)).unwrap();
        write_same_key_shard(root, 0, 20, format);
        let alone = open();
        assert_eq!(alone.items.len(), 20);
        assert_eq!(alone.items[3].key, "003");
        // The second shard on its own, to compare its splits with.
        let other = tempfile::tempdir().unwrap();
        write_same_key_shard(other.path(), 1, 20, format);
        let second_alone = Dataset::open(&config(other.path(), format)).unwrap();

        write_same_key_shard(root, 1, 20, format);
        let both = open();
        let r = &both.report;
        assert_eq!(both.items.len(), 40, "{format:?}: {r}");
        assert_eq!(
            (r.pairs, r.train + r.val + r.test, r.duplicate_keys),
            (40, 40, 0),
            "{format:?}: {r}"
        );
        assert_eq!(r.shared_keys, 40, "{r}");
        let items = by_key(&both);
        for (shard, single) in [(0, &alone), (1, &second_alone)] {
            for (key, caption, split) in listing(single) {
                let item = items[format!("{shard:05}/{key}").as_str()];
                // Its own caption and image, and the split it had in its shard alone.
                assert_eq!(item.caption, caption, "{format:?}");
                assert_eq!(item.split, split, "{format:?} {}", item.key);
                let image = read_image_bytes(&item.image).unwrap();
                let expected = if shard == 0 { "ok.jpg" } else { "ok.png" };
                assert_eq!(image, fixture(expected), "{format:?} {}", item.key);
            }
        }
        // A third shard that shares 20 of its 25 keys moves nothing: the keys already
        // qualified stay as they are, its own shared keys are qualified, the other 5 are not.
        write_same_key_shard(root, 2, 25, format);
        let three = open();
        let three_listing = listing(&three);
        for entry in listing(&both) {
            assert!(three_listing.contains(&entry), "{format:?}: {entry:?}");
        }
        let r = &three.report;
        assert_eq!(
            (three.items.len(), r.pairs, r.shared_keys),
            (65, 65, 60),
            "{r}"
        );
        let plain: Vec<&str> = three
            .items
            .iter()
            .filter(|i| !i.key.contains('/'))
            .map(|i| i.key.as_str())
            .collect();
        assert_eq!(plain, ["020", "021", "022", "023", "024"]);
        // Removing the first shard moves nothing either (captions name the sample).
        fs::remove_file(root.join("00000.tar")).ok();
        fs::remove_dir_all(root.join("00000")).ok();
        let captions_and_splits = |ds: &Dataset, shard: &str| -> Vec<(String, Split)> {
            ds.items
                .iter()
                .filter(|i| i.caption.starts_with(shard))
                .map(|i| (i.caption.clone(), i.split))
                .collect()
        };
        let without_first = open();
        assert_eq!(without_first.items.len(), 45);
        assert_eq!(
            captions_and_splits(&without_first, "shard 1 "),
            captions_and_splits(&second_alone, "shard 1 "),
            "{format:?}"
        );
        assert_eq!(
            captions_and_splits(&without_first, "shard 2 "),
            captions_and_splits(&three, "shard 2 "),
            "{format:?}"
        );
    }
}

/// img2dataset-style `.json` members as Python's `json.dump` writes them, with `NaN`,
/// `Infinity` and `-Infinity` among the values.
fn python_json(caption: Option<&str>, status: &str) -> Vec<u8> {
    let caption = caption.map_or("null".to_string(), |c| format!("{c:?}"));
    format!(
        r#"{{"url": "http://x/250.jpg", "caption": {caption}, "status": "{status}", "width": 48, "height": 48, "original_width": NaN, "original_height": Infinity, "similarity": -Infinity}}"#
    )
    .into_bytes()
}

/// Issue 25, kind 6: one `NaN` discarded the whole `.json`, so a failed download or resize was
/// trained on and a caption only in the JSON was lost. The fields are now read; a failed
/// status skips the sample and is counted by its value in the summary.
#[test]
fn json_metadata_with_nan_is_read_and_a_failed_status_is_honoured() {
    let ok = fixture("ok.jpg");
    let members: Vec<(&str, Vec<u8>)> = vec![
        // The caption only in the JSON.
        ("000000001.jpg", ok.clone()),
        (
            "000000001.json",
            python_json(Some("id250 pizza night"), "success"),
        ),
        ("000000002.jpg", ok.clone()),
        ("000000002.txt", b"id251 bike cake".to_vec()),
        (
            "000000002.json",
            python_json(Some("id251 bike cake"), "success"),
        ),
        // Failed: skipped, with the reason.
        ("000000003.jpg", ok.clone()),
        ("000000003.txt", b"id252 night umbrella".to_vec()),
        (
            "000000003.json",
            python_json(Some("id252"), "failed_to_resize"),
        ),
        ("000000004.jpg", ok.clone()),
        ("000000004.txt", b"id253 rain".to_vec()),
        ("000000004.json", python_json(None, "failed_to_download")),
        ("000000005.jpg", ok.clone()),
        ("000000005.txt", b"id254 snow".to_vec()),
        ("000000005.json", python_json(None, "failed_to_resize")),
    ];
    for format in [DatasetFormat::Webdataset, DatasetFormat::Img2datasetFiles] {
        let dir = tempfile::tempdir().unwrap();
        if format == DatasetFormat::Webdataset {
            write_tar(&dir.path().join("00000.tar"), &members);
        } else {
            let shard = dir.path().join("00000");
            fs::create_dir(&shard).unwrap();
            for (name, bytes) in &members {
                fs::write(shard.join(name), bytes).unwrap();
            }
        }
        let ds = Dataset::open(&config(dir.path(), format)).unwrap();
        let r = &ds.report;
        let items = by_key(&ds);
        assert_eq!(
            items.keys().copied().collect::<Vec<_>>(),
            ["000000001", "000000002"],
            "{format:?}: {r}"
        );
        assert_eq!(items["000000001"].caption, "id250 pizza night");
        assert_eq!((r.failed_status, r.bad_metadata, r.pairs), (3, 0, 2), "{r}");
        let failed: Vec<(&str, usize)> = r
            .failed_statuses
            .iter()
            .map(|(k, n)| (k.as_str(), *n))
            .collect();
        assert_eq!(failed, [("failed_to_download", 1), ("failed_to_resize", 2)]);
        assert!(
            r.to_string()
                .contains("3 failed status (failed_to_download 1, failed_to_resize 2)"),
            "{r}"
        );
    }
}
