//! `webly run` unchanged on web data as it is stored today: the generated data packed into
//! img2dataset-style webdataset tar shards, and the same data as a plain photo folder. Both
//! must give the same items, splits and results (the tar members are read in place, byte for
//! byte), and retrieval must beat random ranking.
use std::fs;
use std::path::{Path, PathBuf};

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use webly_data::{Dataset, DatasetConfig, DatasetFormat, GROUND_TRUTH_FILE};
use webly_pipeline::{
    embed_captions_shard, embed_shard, export, merge_checked, run, ExportDtype, RunConfig,
    ShardSpec,
};
use webly_synth::{self as synth, SynthConfig};

/// A `.npy` matrix (f32, C order) and the keys of its `.ids`.
fn read_npy(path: &Path) -> (Vec<f32>, Vec<String>) {
    let m: ndarray::Array2<f32> = ndarray_npy::read_npy(path).expect("read npy");
    let ids = fs::read_to_string(path.with_extension("ids")).unwrap();
    (
        m.iter().copied().collect(),
        ids.lines().map(String::from).collect(),
    )
}

/// Shards the generated data is packed into.
const SHARDS: usize = 3;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The generated InstaCities layout's `(key, image bytes, caption bytes)`, in key order.
fn generated(root: &Path) -> Vec<(String, PathBuf, PathBuf)> {
    let cfg = SynthConfig {
        out: root.to_path_buf(),
        images: 700,
        seed: 5,
        contact_sheet: false,
        ..SynthConfig::default()
    };
    synth::generate(&cfg).expect("generate");
    let ds = Dataset::open(&DatasetConfig {
        root: root.to_path_buf(),
        ..DatasetConfig::default()
    })
    .expect("open the generated data");
    let caption_dir = root.join(webly_data::CAPTION_DIR);
    ds.items
        .iter()
        .map(|i| {
            let caption = caption_dir.join(&i.city).join(format!("{}.txt", i.id));
            (i.key.clone(), i.image.clone(), caption)
        })
        .collect()
}

/// Packs the samples round-robin into `SHARDS` tar shards (`<key>.jpg`, `<key>.txt`, `.json`).
fn pack_shards(samples: &[(String, PathBuf, PathBuf)], out: &Path) {
    fs::create_dir_all(out).unwrap();
    let mut builders: Vec<tar::Builder<fs::File>> = (0..SHARDS)
        .map(|s| tar::Builder::new(fs::File::create(out.join(format!("{s:05}.tar"))).unwrap()))
        .collect();
    for (n, (key, image, caption)) in samples.iter().enumerate() {
        let b = &mut builders[n % SHARDS];
        let caption = fs::read(caption).unwrap();
        let json = serde_json::json!({"key": key, "status": "success",
            "caption": String::from_utf8_lossy(&caption)})
        .to_string();
        for (ext, bytes) in [
            ("jpg", fs::read(image).unwrap()),
            ("txt", caption),
            ("json", json.into_bytes()),
        ] {
            let mut h = tar::Header::new_ustar();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, format!("{key}.{ext}"), bytes.as_slice())
                .unwrap();
        }
    }
    for b in builders {
        b.into_inner().unwrap();
    }
}

/// Copies the samples as a photo folder: `<city>/<id>.jpg` beside `<city>/<id>.txt`.
fn copy_folder(samples: &[(String, PathBuf, PathBuf)], out: &Path) {
    for (key, image, caption) in samples {
        let dest = out.join(format!("{key}.jpg"));
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::copy(image, &dest).unwrap();
        fs::copy(caption, out.join(format!("{key}.txt"))).unwrap();
    }
}

fn config(tmp: &Path, name: &str, format: DatasetFormat, root: &Path) -> RunConfig {
    let mut cfg = RunConfig::load_under(&workspace(), Path::new("configs/ci.toml"))
        .expect("configs/ci.toml parses and its inputs exist");
    cfg.run_dir = tmp.join(name);
    cfg.data.synth = None;
    cfg.data.dataset.root = root.to_path_buf();
    cfg.data.dataset.format = format;
    cfg.models[0].train.epochs = 4;
    cfg
}

#[test]
fn run_works_on_tar_shards_and_on_a_photo_folder_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let samples = generated(&tmp.path().join("generated"));
    let truth = tmp.path().join("generated").join(GROUND_TRUTH_FILE);
    let shards = tmp.path().join("shards");
    pack_shards(&samples, &shards);
    fs::copy(&truth, shards.join(GROUND_TRUTH_FILE)).unwrap();
    let photos = tmp.path().join("photos");
    copy_folder(&samples, &photos);
    fs::copy(&truth, photos.join(GROUND_TRUTH_FILE)).unwrap();

    let tar_cfg = config(tmp.path(), "run-tar", DatasetFormat::Webdataset, &shards);
    let tar_ds = Dataset::open(&tar_cfg.data.dataset).unwrap();
    assert_eq!(tar_ds.report.shards, SHARDS);
    assert_eq!(tar_ds.items.len(), samples.len(), "{}", tar_ds.report);
    let tar_run = run(&tar_cfg).expect("the pipeline runs on tar shards");
    eprintln!("{tar_run}");

    let folder_cfg = config(tmp.path(), "run-folder", DatasetFormat::Folder, &photos);
    let folder_ds = Dataset::open(&folder_cfg.data.dataset).unwrap();
    let splits = |ds: &Dataset| -> Vec<(String, String, webly_data::Split)> {
        ds.items
            .iter()
            .map(|i| (i.key.clone(), i.caption.clone(), i.split))
            .collect()
    };
    assert_eq!(splits(&tar_ds), splits(&folder_ds));
    let folder_run = run(&folder_cfg).expect("the pipeline runs on a photo folder");

    let headline = |s: &webly_pipeline::RunSummary| {
        let m = &s.models[0];
        let truth = m
            .evaluation
            .truth
            .as_ref()
            .expect("ground truth beside the data");
        let all = truth.summary("All").expect("an All group");
        (all.map, all.random_map)
    };
    let (map, random) = headline(&tar_run);
    assert!(
        map > 2.0 * random,
        "mAP {map:.4} on tar shards is not 2x random {random:.4}"
    );
    let (folder_map, _) = headline(&folder_run);
    assert!(
        (folder_map - map).abs() < 1e-6,
        "tar shards {map} vs the same images as files {folder_map}"
    );

    // Export: one parquet row per test embedding, in the embed stage's order, with the tar
    // member paths that read the images back.
    let out = tmp.path().join("test.parquet");
    let said = export(
        &tar_cfg,
        None,
        webly_pipeline::Split::Test,
        &out,
        ExportDtype::F16,
    )
    .expect("export");
    eprintln!("{said}");
    let ids = fs::read_to_string(tar_cfg.run_dir.join("models/triplet/embed/test.ids")).unwrap();
    let reader = SerializedFileReader::new(fs::File::open(&out).unwrap()).unwrap();
    let mut keys = Vec::new();
    for row in reader.get_row_iter(None).unwrap() {
        let row = row.unwrap();
        for (name, field) in row.get_column_iter() {
            match (name.as_str(), field) {
                ("key", Field::Str(k)) => keys.push(k.clone()),
                ("image_path", Field::Str(p)) if keys.len() == 1 => {
                    let bytes = webly_data::read_image_bytes(Path::new(p)).unwrap();
                    assert!(bytes.starts_with(&[0xFF, 0xD8]), "{p} is not a JPEG");
                }
                _ => {}
            }
        }
    }
    assert_eq!(keys, ids.lines().collect::<Vec<_>>());

    // Four work shards embedded side by side and merged equal one embedding of the split.
    let shard_dir = tmp.path().join("embed-shards");
    std::thread::scope(|s| {
        for i in 0..4 {
            let (cfg, dir) = (&tar_cfg, &shard_dir);
            s.spawn(move || {
                let spec = ShardSpec { index: i, count: 4 };
                embed_shard(cfg, None, webly_pipeline::Split::Test, spec, dir)
                    .expect("embed a shard")
            });
        }
    });
    let merged = tmp.path().join("merged.npy");
    let report = merge_checked(&tar_cfg, std::slice::from_ref(&shard_dir), None, &merged).unwrap();
    assert_eq!(report.shards, 4);
    let single = tar_cfg.run_dir.join("models/triplet/embed/test.npy");
    let (a, b) = (read_npy(&single), read_npy(&merged));
    assert_eq!(a.1, b.1, "keys");
    assert_eq!(a.0.len(), b.0.len());
    let worst =
        a.0.iter()
            .zip(&b.0)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
    assert!(worst < 1e-5, "merged shards differ from one run by {worst}");

    // Caption embedding in three work shards, merged per split, equals the text stage's files.
    let caption_dir = tmp.path().join("caption-shards");
    std::thread::scope(|s| {
        for i in 0..3 {
            let (cfg, dir) = (&tar_cfg, &caption_dir);
            s.spawn(move || {
                let spec = ShardSpec { index: i, count: 3 };
                embed_captions_shard(cfg, spec, dir).expect("embed a caption shard")
            });
        }
    });
    for split in ["train", "val", "test"] {
        // The folder holds every split's shards: --split picks one.
        let merged = tmp.path().join(format!("captions_{split}.npy"));
        let pick: webly_pipeline::Split = split.parse().unwrap();
        let folder = std::slice::from_ref(&caption_dir);
        let report =
            merge_checked(&tar_cfg, folder, Some(pick), &merged).expect("merge caption shards");
        assert_eq!(report.shards, 3);
        let stage = read_npy(&tar_cfg.run_dir.join(format!("text/captions_{split}.npy")));
        let shards = read_npy(&merged);
        let mut order: Vec<usize> = (0..stage.1.len()).collect();
        order.sort_by_key(|&i| stage.1[i].clone());
        let sorted_keys: Vec<String> = order.iter().map(|&i| stage.1[i].clone()).collect();
        assert_eq!(shards.1, sorted_keys, "{split} keys");
        let dim = stage.0.len() / stage.1.len().max(1);
        for (row, &i) in order.iter().enumerate() {
            assert_eq!(
                shards.0[row * dim..(row + 1) * dim],
                stage.0[i * dim..(i + 1) * dim],
                "{split} row of {}",
                stage.1[i]
            );
        }
    }
    // Caption shards and image shards are not one output.
    let mixed = [
        caption_dir.join("captions-test-shard-00000-of-00003.json"),
        shard_dir.clone(),
    ];
    let e = merge_checked(&tar_cfg, &mixed, None, &tmp.path().join("mixed.npy")).unwrap_err();
    assert!(e.to_string().contains("kind"), "{e}");

    // A rerun reuses every stage: the shards' signatures are stable.
    let again = run(&tar_cfg).expect("rerun");
    assert!(
        again.models[0].train.report.is_none(),
        "training was redone"
    );
}
