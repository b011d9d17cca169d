//! A contact sheet: thumbnails of generated images with their captions and true concepts.

use std::io::Cursor;

use ab_glyph::{FontRef, PxScale};
use image::imageops::{overlay, resize, FilterType};
use image::{ImageFormat, Rgb, RgbImage};
use imageproc::drawing::draw_text_mut;

use super::sample::Sample;

/// Thumbnail side in pixels.
const THUMB: u32 = 160;
/// Columns of the grid.
const COLUMNS: u32 = 6;
/// Text lines under each thumbnail (caption lines, then one line of truth).
const CAPTION_LINES: usize = 4;
const TEXT_SIZE: f32 = 11.0;
const LINE_HEIGHT: u32 = 13;
/// Characters per text line (DejaVu Sans at 11 px averages about 6 px per character).
const LINE_CHARS: usize = 27;
const MARGIN: u32 = 6;

/// Renders `samples` as a PNG grid: each thumbnail with its caption (ASCII only, wrapped) in
/// black and its true concepts in green.
pub fn contact_sheet(samples: &[Sample]) -> Result<Vec<u8>, String> {
    let font = FontRef::try_from_slice(dejavu::sans::regular()).map_err(|e| e.to_string())?;
    let cell_w = THUMB + MARGIN;
    let cell_h = THUMB + MARGIN + LINE_HEIGHT * (CAPTION_LINES as u32 + 2);
    let rows = (samples.len() as u32).div_ceil(COLUMNS).max(1);
    let mut sheet = RgbImage::from_pixel(
        cell_w * COLUMNS + MARGIN,
        cell_h * rows + MARGIN,
        Rgb([255, 255, 255]),
    );
    for (i, s) in samples.iter().enumerate() {
        let (x, y) = (
            MARGIN + (i as u32 % COLUMNS) * cell_w,
            MARGIN + (i as u32 / COLUMNS) * cell_h,
        );
        let thumb = resize(&s.image, THUMB, THUMB, FilterType::Triangle);
        overlay(&mut sheet, &thumb, i64::from(x), i64::from(y));
        let mut ty = y + THUMB + 2;
        for line in wrap(&ascii(&s.caption), LINE_CHARS)
            .into_iter()
            .take(CAPTION_LINES)
        {
            draw_text_mut(
                &mut sheet,
                Rgb([20, 20, 20]),
                x as i32,
                ty as i32,
                PxScale::from(TEXT_SIZE),
                &font,
                &line,
            );
            ty += LINE_HEIGHT;
        }
        let truth = s.concepts.join(" ");
        for line in wrap(&truth, LINE_CHARS).into_iter().take(2) {
            let ty2 = y + THUMB + 2 + LINE_HEIGHT * CAPTION_LINES as u32;
            let ty2 = if ty2 > ty { ty2 } else { ty };
            draw_text_mut(
                &mut sheet,
                Rgb([0, 120, 40]),
                x as i32,
                ty2 as i32,
                PxScale::from(TEXT_SIZE),
                &font,
                &line,
            );
            ty = ty2 + LINE_HEIGHT;
        }
    }
    let mut png = Vec::new();
    sheet
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(png)
}

/// Keeps printable ASCII (the font has no emoji).
fn ascii(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .collect()
}

/// Greedy word wrap at `width` characters (longer words are cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let word: String = word.chars().take(width).collect();
        if !cur.is_empty() && cur.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_respects_width() {
        let lines = wrap("the quick brown fox jumps over the lazy dog", 10);
        assert!(lines.iter().all(|l| l.len() <= 10), "{lines:?}");
        assert_eq!(
            lines.join(" "),
            "the quick brown fox jumps over the lazy dog"
        );
        assert_eq!(wrap("", 5), Vec::<String>::new());
    }

    #[test]
    fn sheet_is_a_png_of_the_grid() {
        let s = Sample {
            city: "miami".into(),
            id: "1".into(),
            image: RgbImage::from_pixel(50, 50, Rgb([200, 0, 0])),
            caption: "#beach day 😍".into(),
            concepts: vec!["beach".into()],
        };
        let png = contact_sheet(&vec![s; 7]).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!(img.width(), (THUMB + MARGIN) * COLUMNS + MARGIN);
        assert_eq!(
            img.to_rgb8().get_pixel(MARGIN + 10, MARGIN + 10),
            &Rgb([200, 0, 0])
        );
    }
}
