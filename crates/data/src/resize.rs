//! Resizing RGB8 images with `fast_image_resize` (SIMD, runtime CPU dispatch): a separable
//! convolution with the bilinear (triangle) filter, antialiased when shrinking, the filter of
//! Pillow's `BILINEAR` and of `image`'s `FilterType::Triangle`. Integer arithmetic: no float
//! rounding call per byte.

use std::cell::RefCell;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

thread_local! {
    /// One resizer per thread: it keeps its scratch buffers and coefficients between images.
    static RESIZER: RefCell<Resizer> = RefCell::new(Resizer::new());
}

/// Resizes `img` to `w` x `h` (both positive) with the bilinear convolution.
///
/// Errors: a message when `fast_image_resize` refuses the sizes (a zero side).
pub(crate) fn resize_bilinear(img: &RgbImage, w: u32, h: u32) -> Result<RgbImage, String> {
    let src = ImageRef::new(img.width(), img.height(), img.as_raw(), PixelType::U8x3)
        .map_err(|e| format!("resize source {}x{}: {e}", img.width(), img.height()))?;
    let mut dst = Image::new(w, h, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    RESIZER
        .with(|r| r.borrow_mut().resize(&src, &mut dst, &options))
        .map_err(|e| format!("resize {}x{} to {w}x{h}: {e}", img.width(), img.height()))?;
    RgbImage::from_raw(w, h, dst.into_vec())
        .ok_or_else(|| format!("resize to {w}x{h}: the output buffer has the wrong size"))
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

    /// The same filter as `image`'s triangle resize (which computes in f32): equal up to the
    /// rounding of the integer arithmetic.
    #[test]
    fn matches_image_crate_triangle_closely() {
        for (sw, sh, w, h) in [(300, 300, 256, 256), (300, 200, 384, 256), (64, 48, 20, 15)] {
            let img = pattern(sw, sh);
            let ours = resize_bilinear(&img, w, h).unwrap();
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
        let out = resize_bilinear(&img, 16, 11).unwrap();
        assert!(out.pixels().all(|p| p.0 == [10, 200, 99]));
    }

    /// Known values from Pillow 13.0 (`Image.BILINEAR`, grey rows, every channel alike):
    /// ```python
    /// from PIL import Image
    /// def row(vals, w):
    ///     im = Image.frombytes("RGB", (len(vals), 1), bytes(v for v in vals for _ in range(3)))
    ///     return list(im.resize((w, 1), Image.BILINEAR).tobytes()[::3])
    /// row([0, 100, 200, 250], 2)      # [71, 207]
    /// row([0, 100, 200, 250, 30], 3)  # [43, 189, 124]
    /// ```
    #[test]
    fn matches_pillow_on_known_rows() {
        for (row, w, want) in [
            (vec![0u8, 100, 200, 250], 2, vec![71u8, 207]),
            (vec![0, 100, 200, 250, 30], 3, vec![43, 189, 124]),
        ] {
            let img = RgbImage::from_fn(row.len() as u32, 1, |x, _| {
                let v = row[x as usize];
                image::Rgb([v, v, v])
            });
            let out = resize_bilinear(&img, w, 1).unwrap();
            let got: Vec<u8> = out.pixels().map(|p| p.0[0]).collect();
            assert_eq!(got, want, "{row:?} to width {w}");
        }
    }
}
