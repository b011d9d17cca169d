//! The generator end to end: layout round trip, determinism, truth matching the pixels.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use webly_data::{
    load_batch, Crop, Dataset, DatasetConfig, GroundTruth, LoaderConfig, Split, CITIES,
};
use webly_synth::{generate, render_sample, Sample, SynthConfig, CONTACT_SHEET_FILE};

fn small(out: &Path, images: usize) -> SynthConfig {
    SynthConfig {
        out: out.to_path_buf(),
        images,
        image_size: 128,
        contact_sheet_images: 12,
        ..SynthConfig::default()
    }
}

#[test]
fn generated_layout_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small(dir.path(), 200);
    let report = generate(&cfg).unwrap();
    assert_eq!(report.images, 200);
    assert!(
        report.pair_counts.values().all(|&n| n > 0),
        "{:?}",
        report.pair_counts
    );
    let sheet = image::open(dir.path().join(CONTACT_SHEET_FILE)).unwrap();
    assert!(sheet.width() > 500);

    let ds = Dataset::open(&DatasetConfig {
        root: dir.path().to_path_buf(),
        ..DatasetConfig::default()
    })
    .unwrap();
    let r = &ds.report;
    assert_eq!(
        (
            r.cities,
            r.pairs,
            r.images_without_caption,
            r.captions_without_image
        ),
        (10, 200, 0, 0)
    );
    assert_eq!(
        (r.empty_captions, r.non_utf8_captions, r.truncated_captions),
        (0, 0, 0)
    );
    // 20 per city: 3 test, 1 val, 16 train.
    assert_eq!((r.test, r.val, r.train), (30, 10, 160));

    let samples: BTreeMap<String, Sample> = (0..200)
        .map(|i| render_sample(&cfg, i))
        .map(|s| (format!("{}/{}", s.city, s.id), s))
        .collect();
    let gt = GroundTruth::load(dir.path()).unwrap().unwrap();
    assert_eq!(gt.len(), 200);
    for item in &ds.items {
        let s = &samples[&item.key];
        assert_eq!(item.caption, s.caption);
        assert_eq!(gt.concepts(&item.key).unwrap(), s.concepts.as_slice());
        assert!(CITIES.contains(&item.city.as_str()));
        assert_eq!(item.id.len(), 19);
    }
    let test: Vec<PathBuf> = ds
        .split(Split::Test)
        .iter()
        .map(|i| i.image.clone())
        .collect();
    let batch = load_batch(
        &test,
        &LoaderConfig {
            resize: 128,
            crop: 112,
            ..LoaderConfig::default()
        },
        Crop::Center,
    );
    assert_eq!(batch.loaded.len(), 30);
    assert!(batch.skipped.is_empty());
}

/// All files under `root`, relative path -> bytes.
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn same_seed_same_bytes_whatever_the_thread_count() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let three = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    one.install(|| generate(&small(a.path(), 40))).unwrap();
    three.install(|| generate(&small(b.path(), 40))).unwrap();
    let (ta, tb) = (tree(a.path()), tree(b.path()));
    assert_eq!(ta.len(), 40 * 2 + 2);
    assert!(ta == tb, "files differ between thread counts");
    generate(&SynthConfig {
        seed: 43,
        ..small(c.path(), 40)
    })
    .unwrap();
    assert_ne!(
        tree(c.path()).get(Path::new("ground_truth.tsv")),
        ta.get(Path::new("ground_truth.tsv"))
    );
}

#[test]
fn existing_output_needs_overwrite_and_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    generate(&small(dir.path(), 20)).unwrap();
    let err = generate(&small(dir.path(), 10)).unwrap_err().to_string();
    assert!(err.contains("overwrite"), "{err}");
    generate(&SynthConfig {
        overwrite: true,
        ..small(dir.path(), 10)
    })
    .unwrap();
    let ds = Dataset::open(&DatasetConfig {
        root: dir.path().to_path_buf(),
        ..DatasetConfig::default()
    })
    .unwrap();
    assert_eq!(ds.report.pairs, 10);
}

fn mean_brightness(s: &Sample) -> f64 {
    let raw = s.image.as_raw();
    raw.iter().map(|&v| f64::from(v)).sum::<f64>() / raw.len() as f64
}

/// Pixels of a saturated yellow hue (also when darkened at night).
fn yellow_pixels(s: &Sample) -> usize {
    s.image
        .pixels()
        .filter(|p| {
            let [r, g, b] = p.0.map(i32::from);
            g.min(r) > 2 * b + 30 && g * 10 >= r * 6 && g * 10 <= r * 11
        })
        .count()
}

#[test]
fn ground_truth_matches_the_pixels() {
    let cfg = SynthConfig {
        image_size: 128,
        ..SynthConfig::default()
    };
    let samples: Vec<Sample> = (0..600).map(|i| render_sample(&cfg, i)).collect();
    let has = |s: &Sample, c: &str| s.concepts.iter().any(|x| x == c);
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let outdoor =
        |s: &Sample| ["park", "beach", "snow"].iter().any(|c| has(s, c)) || has(s, "skyline");
    let night = mean(
        samples
            .iter()
            .filter(|s| has(s, "night"))
            .map(mean_brightness)
            .collect(),
    );
    let day: Vec<f64> = samples
        .iter()
        .filter(|s| outdoor(s) && !["night", "rain", "sunset"].iter().any(|c| has(s, c)))
        .map(mean_brightness)
        .collect();
    assert!(day.len() > 50);
    let day = mean(day);
    assert!(night < 0.55 * day, "night {night:.1} vs day {day:.1}");

    let (yellow, other): (Vec<&Sample>, Vec<&Sample>) =
        samples.iter().partition(|s| has(s, "yellow"));
    assert!(yellow.len() > 15);
    for s in &yellow {
        assert!(
            yellow_pixels(s) >= 15,
            "{:?} has {} yellow pixels",
            s.concepts,
            yellow_pixels(s)
        );
    }
    let my = mean(yellow.iter().map(|s| yellow_pixels(s) as f64).collect());
    let mo = mean(other.iter().map(|s| yellow_pixels(s) as f64).collect());
    assert!(my > 10.0 * mo.max(1.0), "yellow {my:.0} vs other {mo:.0}");

    // Beach scenes have sand at the bottom, snow scenes white ground.
    let bottom = |s: &Sample| {
        let (w, h) = s.image.dimensions();
        let p = s.image.get_pixel(w / 2, h - 3).0;
        (i32::from(p[0]), i32::from(p[2]))
    };
    for s in samples
        .iter()
        .filter(|s| has(s, "snow") && !has(s, "night") && !has(s, "sunset"))
    {
        let (r, b) = bottom(s);
        assert!(b > 150 && r > 150, "{:?}", s.concepts);
    }
}
