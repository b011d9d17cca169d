//! PNG bar chart of per-query AP, with the random-ranking AP marked.

use std::path::Path;

use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::row::{Kind, QueryRow};
use crate::{write_atomic, EvalError, Result};

/// Size and look of the chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlotConfig {
    /// Chart width in pixels.
    pub width: u32,
    /// Height per query bar; the chart adds `margin_height` for title and axis.
    pub row_height: u32,
    /// Pixels added to the bars for the title and the axis.
    pub margin_height: u32,
    /// Label size in pixels (the title is 2 px larger).
    pub font_size: u32,
    /// The chart title.
    pub title: String,
}

impl Default for PlotConfig {
    fn default() -> Self {
        PlotConfig {
            width: 900,
            row_height: 24,
            margin_height: 110,
            font_size: 16,
            title: "AP per query (blue: simple, orange: complex, black tick: random)".into(),
        }
    }
}

/// Draws one horizontal bar per query (AP on 0..1) and writes the PNG atomically.
pub fn write_ap_chart(path: &Path, rows: &[QueryRow], cfg: &PlotConfig) -> Result<()> {
    webly_io::plot_font();
    let (w, h) = (
        cfg.width,
        cfg.margin_height + cfg.row_height * rows.len().max(1) as u32,
    );
    let mut buf = vec![0u8; (w * h * 3) as usize];
    draw(&mut buf, (w, h), rows, cfg).map_err(|what| EvalError::Plot {
        path: path.to_path_buf(),
        what,
    })?;
    let mut png = Vec::new();
    image::RgbImage::from_raw(w, h, buf)
        .ok_or_else(|| EvalError::Plot {
            path: path.to_path_buf(),
            what: "buffer size".into(),
        })?
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| EvalError::Image {
            path: path.to_path_buf(),
            source: e,
        })?;
    write_atomic(path, &png)
}

fn draw(
    buf: &mut [u8],
    size: (u32, u32),
    rows: &[QueryRow],
    cfg: &PlotConfig,
) -> std::result::Result<(), String> {
    let root = BitMapBackend::with_buffer(buf, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let n = rows.len().max(1) as i32;
    let mut chart = ChartBuilder::on(&root)
        .caption(&cfg.title, (webly_io::PLOT_FONT, cfg.font_size + 2))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(cfg.width / 5)
        .build_cartesian_2d(0f64..1f64, (0..n).into_segmented())
        .map_err(|e| e.to_string())?;
    let label = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => rows
            .get((n - 1 - *i) as usize)
            .map(|r| r.query.clone())
            .unwrap_or_default(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len().max(1))
        .y_label_formatter(&label)
        .x_desc("average precision")
        .label_style((webly_io::PLOT_FONT, cfg.font_size))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(
            rows.iter()
                .enumerate()
                .map(|(i, r)| bar(n - 1 - i as i32, r.ap, colour(r.kind))),
        )
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(
            rows.iter()
                .enumerate()
                .map(|(i, r)| tick(n - 1 - i as i32, r.random_ap)),
        )
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

fn colour(kind: Kind) -> ShapeStyle {
    match kind {
        Kind::Simple => RGBColor(66, 114, 196).filled(),
        Kind::Complex => RGBColor(237, 125, 49).filled(),
    }
}

/// Half-width of the random-AP tick, in AP units.
const TICK_HALF_WIDTH: f64 = 0.003;

/// A bar from 0 to `value` in row `i`, its segment inset a little.
fn bar(i: i32, value: f64, style: ShapeStyle) -> Rectangle<(f64, SegmentValue<i32>)> {
    span(i, 0.0, value.clamp(0.0, 1.0), style)
}

/// A thin black mark at `value` in row `i`.
fn tick(i: i32, value: f64) -> Rectangle<(f64, SegmentValue<i32>)> {
    let v = value.clamp(TICK_HALF_WIDTH, 1.0 - TICK_HALF_WIDTH);
    span(i, v - TICK_HALF_WIDTH, v + TICK_HALF_WIDTH, BLACK.filled())
}

fn span(i: i32, from: f64, to: f64, style: ShapeStyle) -> Rectangle<(f64, SegmentValue<i32>)> {
    let mut r = Rectangle::new(
        [
            (from, SegmentValue::Exact(i)),
            (to, SegmentValue::Exact(i + 1)),
        ],
        style,
    );
    r.set_margin(3, 3, 0, 0);
    r
}
