//! A fast separable triangle (bilinear, antialiased when shrinking) resize for RGB8 images:
//! the same filter as `image`'s `FilterType::Triangle` and Pillow's `BILINEAR`, with the taps
//! computed once per row/column instead of per pixel.

use image::RgbImage;

/// Taps of one output sample: first source index and normalised weights.
struct Taps {
    start: usize,
    weights: Vec<f32>,
}

/// Triangle-filter taps mapping `src` samples onto `dst` samples.
fn taps(src: usize, dst: usize) -> Vec<Taps> {
    let scale = src as f32 / dst as f32;
    let support = scale.max(1.0);
    (0..dst)
        .map(|o| {
            let center = (o as f32 + 0.5) * scale;
            let lo = ((center - support).floor().max(0.0)) as usize;
            let hi = ((center + support).ceil() as usize).min(src);
            let mut weights: Vec<f32> = (lo..hi)
                .map(|i| (1.0 - ((i as f32 + 0.5 - center) / support).abs()).max(0.0))
                .collect();
            let sum: f32 = weights.iter().sum();
            if sum > 0.0 {
                weights.iter_mut().for_each(|w| *w /= sum);
            }
            Taps { start: lo, weights }
        })
        .collect()
}

/// Resizes `img` to `w` x `h` (both positive).
pub(crate) fn resize_triangle(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    let (sw, sh) = (img.width() as usize, img.height() as usize);
    let (w, h) = (w as usize, h as usize);
    let src = img.as_raw();
    let xt = taps(sw, w);
    let yt = taps(sh, h);
    // Horizontal pass: sh rows of w pixels, f32.
    let mut mid = vec![0f32; sh * w * 3];
    for y in 0..sh {
        let row = &src[y * sw * 3..(y + 1) * sw * 3];
        let out = &mut mid[y * w * 3..(y + 1) * w * 3];
        for (x, t) in xt.iter().enumerate() {
            let mut acc = [0f32; 3];
            for (k, wgt) in t.weights.iter().enumerate() {
                let p = &row[(t.start + k) * 3..(t.start + k) * 3 + 3];
                acc[0] += f32::from(p[0]) * wgt;
                acc[1] += f32::from(p[1]) * wgt;
                acc[2] += f32::from(p[2]) * wgt;
            }
            out[x * 3..x * 3 + 3].copy_from_slice(&acc);
        }
    }
    // Vertical pass, row by row so the inner loop runs over contiguous memory.
    let mut dst = vec![0u8; h * w * 3];
    let mut acc = vec![0f32; w * 3];
    for (y, t) in yt.iter().enumerate() {
        acc.iter_mut().for_each(|a| *a = 0.0);
        for (k, wgt) in t.weights.iter().enumerate() {
            let row = &mid[(t.start + k) * w * 3..(t.start + k + 1) * w * 3];
            for (a, v) in acc.iter_mut().zip(row) {
                *a += v * wgt;
            }
        }
        for (d, a) in dst[y * w * 3..(y + 1) * w * 3].iter_mut().zip(&acc) {
            *d = a.round().clamp(0.0, 255.0) as u8;
        }
    }
    // The buffer has exactly w * h * 3 bytes, so this cannot fail.
    RgbImage::from_raw(w as u32, h as u32, dst).unwrap_or_else(|| RgbImage::new(w as u32, h as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::imageops::{resize, FilterType};

    fn pattern(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (x * 7 % 256) as u8,
                (y * 5 % 256) as u8,
                ((x * y) % 251) as u8,
            ])
        })
    }

    #[test]
    fn matches_image_crate_triangle_closely() {
        for (sw, sh, w, h) in [(300, 300, 256, 256), (300, 200, 384, 256), (64, 48, 20, 15)] {
            let img = pattern(sw, sh);
            let ours = resize_triangle(&img, w, h);
            let theirs = resize(&img, w, h, FilterType::Triangle);
            let diff: Vec<i32> = ours
                .as_raw()
                .iter()
                .zip(theirs.as_raw())
                .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
                .collect();
            let mean = diff.iter().sum::<i32>() as f64 / diff.len() as f64;
            assert!(mean < 2.0, "{sw}x{sh}->{w}x{h}: mean abs diff {mean}");
        }
    }

    #[test]
    fn constant_image_stays_constant() {
        let img = RgbImage::from_pixel(37, 23, image::Rgb([10, 200, 99]));
        let out = resize_triangle(&img, 16, 11);
        assert!(out.pixels().all(|p| p.0 == [10, 200, 99]));
    }
}
