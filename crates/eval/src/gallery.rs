//! A self-contained HTML page of each query's top hits, thumbnails embedded as data URIs.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use base64::Engine;
use rayon::prelude::*;

use crate::{write_atomic, Result};

/// Longest side of an embedded thumbnail, in pixels.
const THUMB_SIDE: u32 = 128;
/// JPEG quality of the thumbnails.
const THUMB_QUALITY: u8 = 80;

/// One retrieved image.
#[derive(Debug, Clone, PartialEq)]
pub struct GalleryHit {
    /// The image key (`city/id`).
    pub key: String,
    /// Cosine similarity to the query.
    pub score: f32,
    /// The image file, thumbnailed into the page.
    pub image_path: PathBuf,
    /// Its caption, shown under it.
    pub caption: String,
    /// Shown as a green / red frame when known.
    pub relevant: Option<bool>,
}

/// A query and its hits, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct GalleryQuery {
    /// The query text.
    pub query: String,
    /// The retrieved images, best first.
    pub hits: Vec<GalleryHit>,
}

/// Writes the page atomically. An image that cannot be read becomes a note naming its path,
/// not an error: the page is for looking, not for scoring.
pub fn write_gallery(path: &Path, title: &str, queries: &[GalleryQuery]) -> Result<()> {
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\n<style>{STYLE}</style></head><body>\n<h1>{t}</h1>\n",
        t = escape(title)
    );
    for q in queries {
        html += &format!("<h2>{}</h2>\n<div class=\"row\">\n", escape(&q.query));
        let cards: Vec<String> = q
            .hits
            .par_iter()
            .enumerate()
            .map(|(i, h)| card(i + 1, h))
            .collect();
        html += &cards.concat();
        html += "</div>\n";
    }
    html += "</body></html>\n";
    write_atomic(path, html.as_bytes())
}

const STYLE: &str =
    "body{font-family:sans-serif;margin:1em}.row{display:flex;flex-wrap:wrap;gap:8px}\
.card{width:150px;font-size:11px;border:3px solid #ddd;padding:4px;overflow-wrap:anywhere}\
.yes{border-color:#3a3}.no{border-color:#c33}.cap{color:#444;max-height:6em;overflow:hidden}";

fn card(rank: usize, h: &GalleryHit) -> String {
    let class = match h.relevant {
        Some(true) => "card yes",
        Some(false) => "card no",
        None => "card",
    };
    let img = match thumbnail_data_uri(&h.image_path) {
        Some(uri) => format!("<img src=\"{uri}\" alt=\"{}\">", escape(&h.key)),
        None => format!(
            "<p>missing: {}</p>",
            escape(&h.image_path.display().to_string())
        ),
    };
    format!(
        "<div class=\"{class}\">{img}<div>#{rank} <b>{}</b> {:.4}</div><div class=\"cap\">{}</div></div>\n",
        escape(&h.key),
        h.score,
        escape(&h.caption)
    )
}

/// `data:image/jpeg;base64,...` of the image shrunk to fit `THUMB_SIDE`, or `None`. Decoded by
/// webly's one decoding path (orientation as a viewer shows it, WebP, bounded sizes).
fn thumbnail_data_uri(path: &Path) -> Option<String> {
    let bytes = webly_data::read_image_bytes(path).ok()?;
    let limits = webly_data::DecodeLimits::default();
    let full = image::DynamicImage::ImageRgb8(webly_data::decode_image(&bytes, &limits).ok()?);
    let thumb = full.thumbnail(THUMB_SIDE, THUMB_SIDE).to_rgb8();
    let mut jpeg = Vec::new();
    let enc =
        image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut jpeg), THUMB_QUALITY);
    thumb.write_with_encoder(enc).ok()?;
    Some(format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(jpeg)
    ))
}

/// Escapes text for HTML element content and quoted attributes.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_embeds_thumbnails() {
        let dir = tempfile::tempdir().unwrap();
        let img_path = dir.path().join("a.jpg");
        image::RgbImage::from_pixel(300, 200, image::Rgb([200, 10, 10]))
            .save(&img_path)
            .unwrap();
        let hit = |key: &str, p: &Path| GalleryHit {
            key: key.into(),
            score: 0.5,
            image_path: p.to_path_buf(),
            caption: "<script>alert(\"x\")</script> & #fun".into(),
            relevant: Some(true),
        };
        let q = GalleryQuery {
            query: "cake & <wine>".into(),
            hits: vec![
                hit("london/1", &img_path),
                hit("london/2", &dir.path().join("none.jpg")),
            ],
        };
        let out = dir.path().join("g.html");
        write_gallery(&out, "run \"A\"", &[q]).unwrap();
        let html = std::fs::read_to_string(&out).unwrap();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; #fun"));
        assert!(
            html.contains("<h2>cake &amp; &lt;wine&gt;</h2>") && html.contains("run &quot;A&quot;")
        );
        assert!(html.contains("missing: ") && html.contains("0.5000"));
        let b64 = html
            .split("data:image/jpeg;base64,")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let jpeg = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let thumb = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (128, 85));
    }
}
