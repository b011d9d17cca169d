//! metrics.csv rows and the training plot.
use crate::error::EncoderError;
use crate::files::{write_atomic, write_by_path};
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a metrics.csv row sums up; written as `step` or `epoch` in the file's `kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowKind {
    /// Means over the window of `log_every` steps that ends at the row's step.
    Step,
    /// Means over the epoch, with the validation mAP.
    Epoch,
}

impl RowKind {
    /// The name in metrics.csv's `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Step => "step",
            RowKind::Epoch => "epoch",
        }
    }
}

/// A kind equals its metrics.csv name (`row.kind == "epoch"`).
impl PartialEq<&str> for RowKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One row of metrics.csv (see [`RowKind`] for what it sums up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    /// A step window's row or an epoch's.
    pub kind: RowKind,
    /// The epoch (0-based) the row belongs to.
    pub epoch: usize,
    /// Global step at the end of the window or epoch.
    pub step: u64,
    /// Mean loss per step.
    pub loss: f64,
    /// Learning rate at the end of the window (the schedule's value).
    pub lr: f64,
    /// Share of samples with a non-zero loss.
    pub active: f64,
    /// Share of mined triplets that are easy (negative farther than positive plus margin).
    pub easy: f64,
    /// Share of semi-hard triplets (negative farther than the positive, within the margin).
    pub semi_hard: f64,
    /// Share of hard triplets (negative nearer than the positive).
    pub hard: f64,
    /// Validation mAP, on epoch rows with validation.
    pub val_map: Option<f64>,
    /// Training images per second, compute and loader waits included.
    pub images_per_s: f64,
    /// Share of the step time spent waiting for the loader.
    pub data_wait: f64,
}

/// Reads metrics.csv (empty when it does not exist).
pub fn read_metrics(path: &Path) -> Result<Vec<MetricsRow>, EncoderError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let err = |source| EncoderError::Csv {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let mut r = csv::Reader::from_path(path).map_err(err)?;
    r.deserialize()
        .collect::<Result<Vec<MetricsRow>, _>>()
        .map_err(err)
}

/// Writes metrics.csv atomically.
pub fn write_metrics(path: &Path, rows: &[MetricsRow]) -> Result<(), EncoderError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.serialize(row).map_err(|source| EncoderError::Csv {
            action: "encode",
            path: path.to_path_buf(),
            source,
        })?;
    }
    let bytes = w.into_inner().map_err(|e| EncoderError::Io {
        action: "encode",
        path: path.to_path_buf(),
        source: e.into_error(),
    })?;
    write_atomic(path, &bytes)
}

const PLOT_SIZE: (u32, u32) = (1200, 480);
const FONT_SIZE: u32 = 20;
const CAPTION_SIZE: u32 = 26;
const MARGIN: u32 = 12;
const X_LABEL_AREA: u32 = 55;
const Y_LABEL_AREA: u32 = 90;

fn plot_err(path: &Path) -> impl Fn(String) -> EncoderError + '_ {
    move |message| EncoderError::Plot {
        path: path.to_path_buf(),
        message,
    }
}

/// Draws training loss per step (left) and validation mAP per epoch (right) into a PNG.
pub fn plot(path: &Path, rows: &[MetricsRow]) -> Result<(), EncoderError> {
    webly_io::plot_font();
    let e = plot_err(path);
    write_by_path(path, |tmp| {
        let root = BitMapBackend::new(tmp, PLOT_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
        let (left, right) = root.split_horizontally(PLOT_SIZE.0 / 2);
        let steps: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.kind == RowKind::Step && r.loss.is_finite())
            .map(|r| (r.step as f64, r.loss))
            .collect();
        let maps: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.kind == RowKind::Epoch)
            .filter_map(|r| r.val_map.map(|m| ((r.epoch + 1) as f64, m)))
            .collect();
        panel(&left, "training loss", "step", "loss", &steps, &BLUE).map_err(&e)?;
        panel(&right, "validation mAP", "epoch", "mAP", &maps, &RED).map_err(&e)?;
        root.present().map_err(|x| e(x.to_string()))
    })
}

fn range(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let lo = values.clone().fold(f64::INFINITY, f64::min);
    let hi = values.fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-6);
    (lo - pad, hi + pad)
}

fn panel(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[(f64, f64)],
    color: &RGBColor,
) -> Result<(), String> {
    let (x0, x1) = range(points.iter().map(|p| p.0));
    let (y0, y1) = range(points.iter().map(|p| p.1));
    let mut chart = ChartBuilder::on(area)
        .caption(title, (webly_io::PLOT_FONT, CAPTION_SIZE))
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|x| x.to_string())?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        // Steps and epochs are whole numbers.
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style((webly_io::PLOT_FONT, FONT_SIZE))
        .draw()
        .map_err(|x| x.to_string())?;
    chart
        .draw_series(LineSeries::new(points.iter().copied(), color))
        .map_err(|x| x.to_string())?;
    chart
        .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
        .map_err(|x| x.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: RowKind, epoch: usize, step: u64, loss: f64, val: Option<f64>) -> MetricsRow {
        MetricsRow {
            kind,
            epoch,
            step,
            loss,
            lr: 0.1,
            active: 0.5,
            easy: 0.5,
            semi_hard: 0.25,
            hard: 0.25,
            val_map: val,
            images_per_s: 100.0,
            data_wait: 0.01,
        }
    }

    #[test]
    fn csv_round_trip_and_plot() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rows = vec![
            row(RowKind::Step, 0, 1, 1.0, None),
            row(RowKind::Step, 0, 2, 0.8, None),
            row(RowKind::Epoch, 0, 2, 0.9, Some(0.3)),
            row(RowKind::Epoch, 1, 4, 0.5, Some(0.4)),
        ];
        let p = dir.path().join("metrics.csv");
        write_metrics(&p, &rows).expect("write");
        assert_eq!(read_metrics(&p).expect("read"), rows);
        let png = dir.path().join("plot.png");
        plot(&png, &rows).expect("plot");
        assert!(std::fs::metadata(&png).expect("png").len() > 1000);
    }
}
