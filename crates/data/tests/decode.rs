//! Images as the web has them (issue 10, kinds 3 and 4; issue 25, kinds 1 and 3): EXIF
//! orientation, WebP named .jpg, decompression and aspect-ratio bombs, Motion Photos (data after
//! the end marker), progressive scan bombs; and no panic on arbitrary bytes.

use std::io::Cursor;
use std::path::PathBuf;

use image::metadata::Orientation;
use image::{DynamicImage, RgbImage};
use webly_data::{
    decode_image, jpeg_end, load_batch, load_image, Crop, DecodeLimits, LoaderConfig,
    MAX_JPEG_SCANS,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/images")
        .join(name)
}

/// A 48 x 24 picture with four flat quadrants (red, green / blue, white): every one of the eight
/// orientations gives a different image, and flat areas survive JPEG.
fn upright() -> RgbImage {
    RgbImage::from_fn(48, 24, |x, y| {
        image::Rgb(match (x < 24, y < 12) {
            (true, true) => [255, 0, 0],
            (false, true) => [0, 255, 0],
            (true, false) => [0, 0, 255],
            (false, false) => [255, 255, 255],
        })
    })
}

/// JPEG bytes of `img` with an EXIF APP1 segment holding `orientation` (1-8), right after SOI.
fn jpeg_with_orientation(img: &RgbImage, orientation: u16) -> Vec<u8> {
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut jpeg), 95)
        .encode_image(img)
        .unwrap();
    // TIFF big-endian header, one IFD entry: tag 0x0112 (Orientation), SHORT, count 1.
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01".to_vec();
    tiff.extend(orientation.to_be_bytes());
    tiff.extend([0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend(tiff);
    let len = (app1.len() + 2) as u16;
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(len.to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

/// The stored (sensor) image whose display under `orientation` is `img`.
fn stored_as(img: &RgbImage, orientation: u8) -> RgbImage {
    // 6 and 8 (quarter turns) undo each other; the other six are their own inverse.
    let inverse = match orientation {
        6 => 8,
        8 => 6,
        o => o,
    };
    let mut d = DynamicImage::ImageRgb8(img.clone());
    d.apply_orientation(Orientation::from_exif(inverse).unwrap());
    d.into_rgb8()
}

fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

#[test]
fn all_eight_exif_orientations_are_applied() {
    let want = upright();
    let limits = DecodeLimits::default();
    for o in 1..=8u8 {
        let stored = stored_as(&want, o);
        let bytes = jpeg_with_orientation(&stored, u16::from(o));
        let got = decode_image(&bytes, &limits).unwrap();
        let diff = mean_abs_diff(&got, &want);
        assert!(diff < 4.0, "orientation {o}: mean abs diff {diff}");
        if o > 1 {
            // Without the tag the stored pixels differ from the upright picture.
            let raw = decode_image(&jpeg_with_orientation(&stored, 1), &limits).unwrap();
            assert!(
                raw.dimensions() != want.dimensions() || mean_abs_diff(&raw, &want) > 40.0,
                "orientation {o}"
            );
        }
    }
}

#[test]
fn the_loader_embeds_what_a_viewer_shows() {
    // The shared decode path of training, extraction, embedding and queries.
    let dir = tempfile::tempdir().unwrap();
    let tagged = dir.path().join("tagged_orient6.jpg");
    let plain = dir.path().join("upright.jpg");
    std::fs::write(&tagged, jpeg_with_orientation(&stored_as(&upright(), 6), 6)).unwrap();
    std::fs::write(&plain, jpeg_with_orientation(&upright(), 1)).unwrap();
    let cfg = LoaderConfig {
        resize: 24,
        crop: 24,
        ..LoaderConfig::default()
    };
    let batch = load_batch(&[tagged, plain], &cfg, Crop::Center);
    assert_eq!(batch.loaded, [0, 1], "{:?}", batch.skipped);
    let (a, b) = batch.data.split_at(cfg.image_len());
    let diff: f32 = a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32;
    assert!(diff < 4.0, "mean abs diff {diff}");
}

#[test]
fn webp_decodes_whatever_the_file_is_named() {
    // webp_named.jpg: a lossy WebP (VP8) as web servers send them, with a .jpg name.
    let cfg = LoaderConfig {
        resize: 64,
        crop: 64,
        ..LoaderConfig::default()
    };
    let px = load_image(&fixture("webp_named.jpg"), &cfg, Crop::Center, 0).unwrap();
    assert_eq!(px.len(), cfg.image_len());
    let spread = px
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    assert!(spread.1 - spread.0 > 50.0, "a flat image? {spread:?}");
    // Lossless WebP too.
    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(Cursor::new(&mut webp))
        .encode(upright().as_raw(), 48, 24, image::ExtendedColorType::Rgb8)
        .unwrap();
    let got = decode_image(&webp, &DecodeLimits::default()).unwrap();
    assert_eq!(got, upright());
}

#[test]
fn aspect_ratio_bomb_is_refused_quickly_with_its_reason() {
    // tall_1x400000.png: 1.6 KB; resizing its short side to 300 would make 300 x 120,000,000.
    let cfg = LoaderConfig::default();
    let e = load_image(&fixture("tall_1x400000.png"), &cfg, Crop::Center, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("tall_1x400000.png"), "{e}");
    assert!(e.contains("max_resized_pixels"), "{e}");
    // In a batch it is skipped with that reason, the others load.
    let batch = load_batch(
        &[fixture("tall_1x400000.png"), fixture("ok.png")],
        &cfg,
        Crop::Center,
    );
    assert_eq!(batch.loaded, [1]);
    assert!(batch.skipped[0].reason.contains("max_resized_pixels"));
}

/// CRC-32 (PNG's) of `bytes`.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[test]
fn decompression_bomb_is_refused_before_decoding() {
    // A PNG whose header declares 100,000 x 100,000 pixels (30 GB as RGB) over a tiny body.
    let mut png = Vec::new();
    DynamicImage::ImageRgb8(RgbImage::new(1, 1))
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    // IHDR data starts at byte 16 (8 signature + 4 length + 4 type); its CRC follows 13 bytes.
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let e = decode_image(&png, &DecodeLimits::default()).unwrap_err();
    assert!(
        e.contains("max_pixels") && e.contains("100000 x 100000"),
        "{e}"
    );
    // A limit below the image's size refuses an ordinary file too (the limit is the config's).
    let small = DecodeLimits {
        max_pixels: 100,
        ..DecodeLimits::default()
    };
    let ok = std::fs::read(fixture("ok.png")).unwrap();
    assert!(decode_image(&ok, &small)
        .unwrap_err()
        .contains("max_pixels"));
    assert!(decode_image(&ok, &DecodeLimits::default()).is_ok());
}

mod fuzz {
    //! The loader's decode never panics on arbitrary bytes (fixed budget, runs in CI).
    use proptest::prelude::*;
    use webly_data::{decode_image, DecodeLimits};

    /// Cases per property: 2 x 3,000 = 6,000 inputs.
    const CASES: u32 = 3_000;

    /// Arbitrary bytes behind each format's magic, so the decoders themselves are reached.
    fn with_magic() -> impl Strategy<Value = Vec<u8>> {
        let magic = prop_oneof![
            Just(b"\xFF\xD8\xFF\xE0".to_vec()),
            Just(b"\xFF\xD8\xFF\xE1\x00\x20Exif\x00\x00MM\x00\x2a".to_vec()),
            Just(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec()),
            Just(b"RIFF\x00\x01\x00\x00WEBPVP8 ".to_vec()),
            Just(b"RIFF\x00\x01\x00\x00WEBPVP8L".to_vec()),
        ];
        (
            magic,
            proptest::collection::vec(any::<u8>(), 0..400),
            any::<bool>(),
        )
            .prop_map(|(mut m, body, end)| {
                m.extend(body);
                if end {
                    m.extend([0xFF, 0xD9]);
                }
                m
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn decode_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_image(&bytes, &DecodeLimits::default());
        }

        #[test]
        fn decode_never_panics_behind_a_format_magic(bytes in with_magic()) {
            if let Ok(img) = decode_image(&bytes, &DecodeLimits::default()) {
                prop_assert!(img.width() > 0 && img.height() > 0);
            }
        }
    }
}

#[test]
fn a_reduced_dct_decode_still_applies_the_orientation() {
    // 192 x 96 quadrants, stored turned (orientation 6): a 24 px target decodes the JPEG at 1/4
    // scale (48 x 24 stored), and the picture must still come out upright, as the PNG does.
    let big = image::imageops::resize(&upright(), 192, 96, image::imageops::FilterType::Nearest);
    let dir = tempfile::tempdir().unwrap();
    let tagged = dir.path().join("turned.jpg");
    let png = dir.path().join("upright.png");
    std::fs::write(&tagged, jpeg_with_orientation(&stored_as(&big, 6), 6)).unwrap();
    big.save(&png).unwrap();
    let cfg = LoaderConfig {
        resize: 24,
        crop: 24,
        ..LoaderConfig::default()
    };
    let a = load_image(&tagged, &cfg, Crop::Center, 0).unwrap();
    let b = load_image(&png, &cfg, Crop::Center, 0).unwrap();
    let diff: f32 = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32;
    assert!(diff < 6.0, "mean abs diff {diff}");
}

// The fixtures of issue 25 were written with Pillow 11 (scripts' venv):
//   img = Image.new("RGB", (64, 48)); img.putpixel((x, y), (4 * x, 5 * y, 128)) for every pixel
//   img.save("progressive.jpg", "JPEG", progressive=True, quality=90)            # 6 scans
//   motion_photo.jpg = progressive.jpg + b"\0\0\0\x18ftypmp42" + 6,000 bytes + FF D8 FF D9 FF D9
//   scan_bomb.jpg: a grey 64 x 64 progressive JPEG whose last scan repeats 200 times
//     (../shared/cases/image-scan-bomb/make_scans.py 64 200)

// A phone Motion Photo appends a video after the JPEG's end marker: the picture decodes as the
// JPEG alone does, whatever the trailer holds (markers included) and however long it is.
#[test]
fn data_after_the_end_marker_is_ignored() {
    let jpeg = std::fs::read(fixture("progressive.jpg")).unwrap();
    let motion = std::fs::read(fixture("motion_photo.jpg")).unwrap();
    assert!(motion.starts_with(&jpeg) && motion.len() > jpeg.len() + 4096);
    assert_eq!(jpeg_end(&motion), Ok(jpeg.len()));
    let limits = DecodeLimits::default();
    let alone = decode_image(&jpeg, &limits).unwrap();
    assert_eq!(decode_image(&motion, &limits).unwrap(), alone);
    // A trailer of megabytes, as real Motion Photos have.
    let mut long = motion.clone();
    long.extend(std::iter::repeat_n(0xFFu8, 3 << 20));
    assert_eq!(decode_image(&long, &limits).unwrap(), alone);
    let cfg = LoaderConfig {
        resize: 32,
        crop: 32,
        ..LoaderConfig::default()
    };
    let batch = load_batch(&[fixture("motion_photo.jpg")], &cfg, Crop::Center);
    assert_eq!(batch.loaded, vec![0], "{:?}", batch.skipped);
}

// A file cut anywhere before its end marker is truncated, never padded with grey: inside a
// marker segment, inside the entropy-coded data of a scan, or right before the end marker.
#[test]
fn a_jpeg_cut_anywhere_is_truncated() {
    let jpeg = std::fs::read(fixture("progressive.jpg")).unwrap();
    for cut in [3, 20, jpeg.len() / 2, jpeg.len() - 2, jpeg.len() - 1] {
        let e = decode_image(&jpeg[..cut], &DecodeLimits::default()).unwrap_err();
        assert!(e.contains("truncated JPEG"), "cut at {cut}: {e}");
    }
    let e = decode_image(
        &std::fs::read(fixture("truncated.jpg")).unwrap(),
        &DecodeLimits::default(),
    );
    assert!(e.unwrap_err().contains("truncated JPEG"));
}

// A progressive JPEG may not repeat scans without bound: each scan walks every block, so 200
// scans of a flat picture are a small file and unbounded work (libjpeg-turbo's LJT-01-003).
// The bomb is refused before any decoding; an ordinary progressive file (6 scans) decodes.
#[test]
fn a_progressive_scan_bomb_is_refused_before_decoding() {
    let bomb = std::fs::read(fixture("scan_bomb.jpg")).unwrap();
    let e = decode_image(&bomb, &DecodeLimits::default()).unwrap_err();
    assert!(
        e.contains(&format!("more than {MAX_JPEG_SCANS} scans")),
        "{e}"
    );
    let cfg = LoaderConfig {
        resize: 32,
        crop: 32,
        ..LoaderConfig::default()
    };
    let batch = load_batch(&[fixture("scan_bomb.jpg")], &cfg, Crop::Center);
    assert!(batch.loaded.is_empty());
    assert!(
        batch.skipped[0].reason.contains("scans"),
        "{:?}",
        batch.skipped
    );
    assert!(decode_image(
        &std::fs::read(fixture("progressive.jpg")).unwrap(),
        &DecodeLimits::default()
    )
    .is_ok());
}
