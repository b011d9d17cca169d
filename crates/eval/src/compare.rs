//! Several runs side by side, read back from their `report.json`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{EvalError, Report, Result, REPORT_JSON};

/// The groups compared, in column order.
const GROUPS: [&str; 3] = ["All", "Simple", "Complex"];

/// One run's headline numbers (mAP and P@5 per query group) for the comparison table; `None`
/// where the run has no such group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunHeadline {
    /// The run's name, as the caller gave it.
    pub run: String,
    /// The run folder.
    pub path: PathBuf,
    /// mAP for All, Simple, Complex.
    pub map: [Option<f64>; 3],
    /// P@5 for All, Simple, Complex.
    pub p_at_5: [Option<f64>; 3],
}

/// A table of runs (`Display` for the terminal, [`Comparison::to_markdown`] for files).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// One headline per run, in the order the folders were given.
    pub runs: Vec<RunHeadline>,
}

/// Reads `<dir>/report.json` for each `(name, dir)`, in order; rows keep the names given.
///
/// # Errors
/// [`EvalError::Io`] or [`EvalError::Json`] naming the `report.json` that could not be read.
pub fn compare(runs: &[(&str, &Path)]) -> Result<Comparison> {
    let runs = runs
        .iter()
        .map(|(name, p)| read_run(name, p))
        .collect::<Result<_>>()?;
    Ok(Comparison { runs })
}

fn read_run(name: &str, dir: &Path) -> Result<RunHeadline> {
    let path = dir.join(REPORT_JSON);
    let bytes = std::fs::read(&path).map_err(|e| EvalError::io(&path, e))?;
    let report: Report = serde_json::from_slice(&bytes).map_err(|e| EvalError::Json {
        path: path.clone(),
        source: e,
    })?;
    let pick = |f: fn(&crate::Summary) -> f64| GROUPS.map(|g| report.summary(g).map(f));
    Ok(RunHeadline {
        run: name.to_string(),
        path: dir.to_path_buf(),
        map: pick(|s| s.map),
        p_at_5: pick(|s| s.p_at_5),
    })
}

fn cell(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.4}"))
}

impl Comparison {
    /// A markdown table: run, mAP All/Simple/Complex, P@5 All/Simple/Complex.
    pub fn to_markdown(&self) -> String {
        let mut s = String::from(
            "| run | mAP All | mAP Simple | mAP Complex | P@5 All | P@5 Simple | P@5 Complex |\n",
        );
        s += "|---|---:|---:|---:|---:|---:|---:|\n";
        for r in &self.runs {
            let cells: Vec<String> = r.map.iter().chain(&r.p_at_5).map(|v| cell(*v)).collect();
            s += &format!(
                "| {} | {} |\n",
                r.run.replace('|', "\\|"),
                cells.join(" | ")
            );
        }
        s
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .runs
            .iter()
            .map(|r| r.run.len())
            .max()
            .unwrap_or(3)
            .max(3);
        writeln!(
            f,
            "{:<width$} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "run", "mAP all", "simple", "complex", "P@5 all", "simple", "complex"
        )?;
        for r in &self.runs {
            let cells: Vec<String> = r
                .map
                .iter()
                .chain(&r.p_at_5)
                .map(|v| format!("{:>8}", cell(*v)))
                .collect();
            writeln!(f, "{:<width$} {}", r.run, cells.join(" "))?;
        }
        Ok(())
    }
}
