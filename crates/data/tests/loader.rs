//! Loading committed fixtures, good and broken.

use std::path::PathBuf;

use webly_data::{load_batch, Crop, LoaderConfig};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/images")
        .join(name)
}

#[test]
fn bad_files_are_skipped_with_reasons_naming_them() {
    let names = [
        "ok.jpg",
        "empty.jpg",
        "truncated.jpg",
        "ok.png",
        "text.jpg",
        "corrupt.jpg",
        "missing.jpg",
    ];
    let paths: Vec<PathBuf> = names.iter().map(|n| fixture(n)).collect();
    let cfg = LoaderConfig {
        resize: 32,
        crop: 24,
        ..LoaderConfig::default()
    };
    let batch = load_batch(&paths, &cfg, Crop::Center);
    assert_eq!(batch.loaded, vec![0, 3]);
    assert_eq!(batch.data.len(), 2 * 3 * 24 * 24);
    assert_eq!(batch.skipped.len(), 5);
    for (s, name) in batch.skipped.iter().zip([
        "empty.jpg",
        "truncated.jpg",
        "text.jpg",
        "corrupt.jpg",
        "missing.jpg",
    ]) {
        assert!(s.path.ends_with(name), "{:?}", s.path);
        assert!(
            s.reason.contains(name),
            "reason does not name the file: {}",
            s.reason
        );
        // Printed, the file is named once.
        let shown = s.to_string();
        assert_eq!(shown.matches(name).count(), 1, "{shown}");
    }
    assert!(
        batch.skipped[0].reason.contains("empty"),
        "{}",
        batch.skipped[0].reason
    );
    assert!(batch.data.iter().all(|v| (0.0..=255.0).contains(v)));
}

#[test]
fn png_pixels_arrive_in_chw_order() {
    // ok.png is 30x40 with R = 8x, G = 6y, B = 90; no resize (shorter side 30), center crop 30.
    let cfg = LoaderConfig {
        resize: 30,
        crop: 30,
        ..LoaderConfig::default()
    };
    let batch = load_batch(&[fixture("ok.png")], &cfg, Crop::Center);
    assert_eq!(batch.loaded, vec![0]);
    let plane = 30 * 30;
    let y0 = 5; // (40 - 30) / 2
    for (x, y) in [(0usize, 0usize), (7, 3), (29, 29)] {
        let o = y * 30 + x;
        assert_eq!(batch.data[o], ((x * 8) % 256) as f32);
        assert_eq!(batch.data[plane + o], (((y + y0) * 6) % 256) as f32);
        assert_eq!(batch.data[2 * plane + o], 90.0);
    }
}

#[test]
fn random_crops_do_not_depend_on_the_thread_pool() {
    let paths: Vec<PathBuf> = (0..12).map(|_| fixture("ok.jpg")).collect();
    let cfg = LoaderConfig {
        resize: 40,
        crop: 20,
        ..LoaderConfig::default()
    };
    let crop = Crop::Random { seed: 11 };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let three = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let a = one.install(|| load_batch(&paths, &cfg, crop));
    let b = three.install(|| load_batch(&paths, &cfg, crop));
    assert_eq!(a.data, b.data);
    let image = |k: usize| &a.data[k * 3 * 400..(k + 1) * 3 * 400];
    let distinct = (1..12).filter(|&k| image(k) != image(0)).count();
    assert!(
        distinct >= 8,
        "random crops of one image barely differ: {distinct}"
    );
    let c = load_batch(&paths, &cfg, Crop::Random { seed: 12 });
    assert_ne!(a.data, c.data);
}

#[test]
fn invalid_config_skips_everything_without_panicking() {
    let batch = load_batch(
        &[fixture("ok.jpg")],
        &LoaderConfig {
            resize: 0,
            crop: 0,
            ..LoaderConfig::default()
        },
        Crop::Center,
    );
    assert!(batch.loaded.is_empty() && batch.data.is_empty());
    // The configuration's reason names no file: printed, the file comes first.
    assert!(
        batch.skipped[0].to_string().contains("ok.jpg: "),
        "{}",
        batch.skipped[0]
    );
    assert!(
        batch.skipped[0].reason.contains("crop"),
        "{}",
        batch.skipped[0].reason
    );
}
