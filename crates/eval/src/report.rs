//! The evaluation report: rows, group summaries, terminal table, md / csv / json files.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::row::{Kind, QueryRow};
use crate::{write_ap_chart, write_atomic, EvalError, PlotConfig, Result};

/// File name of the JSON report inside a run folder (read back by [`crate::compare`]).
pub const REPORT_JSON: &str = "report.json";

/// A query left out of the means because no image is relevant to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Excluded {
    /// The query text.
    pub query: String,
    /// The query file stem it comes from.
    pub set: String,
}

/// Means over a group of queries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// `All`, `Simple`, `Complex` or `set:<name>`.
    pub group: String,
    /// Queries in the group (excluded ones left out).
    pub queries: usize,
    /// Mean average precision over the group.
    pub map: f64,
    /// Mean precision at 5.
    pub p_at_5: f64,
    /// Mean precision at 10.
    pub p_at_10: f64,
    /// Mean R-precision.
    pub r_precision: f64,
    /// Expected mAP of a random ranking of the same images (the floor to compare with).
    pub random_map: f64,
    /// Expected P@5 of a random ranking.
    pub random_p_at_5: f64,
}

/// Everything [`crate::evaluate`] found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Images ranked for each query.
    pub images: usize,
    /// One row per evaluated query, in query order.
    pub rows: Vec<QueryRow>,
    /// Queries left out because no image is relevant to them.
    pub excluded: Vec<Excluded>,
    /// Means per group: All, Simple, Complex, then each query set.
    pub summaries: Vec<Summary>,
}

impl Report {
    pub(crate) fn new(images: usize, rows: Vec<QueryRow>, excluded: Vec<Excluded>) -> Self {
        let summaries = summarise(&rows);
        Report {
            images,
            rows,
            excluded,
            summaries,
        }
    }

    /// The summary of a group (`All`, `Simple`, `Complex`, `set:<name>`).
    pub fn summary(&self, group: &str) -> Option<&Summary> {
        self.summaries.iter().find(|s| s.group == group)
    }

    /// Writes `report.md`, `report.csv`, `report.json` and `ap.png` into `dir`, each atomically.
    pub fn write_run(&self, dir: &Path, plot: &PlotConfig) -> Result<()> {
        write_atomic(&dir.join("report.md"), self.to_markdown().as_bytes())?;
        write_atomic(
            &dir.join("report.csv"),
            &self.to_csv(&dir.join("report.csv"))?,
        )?;
        let json_path = dir.join(REPORT_JSON);
        let json = serde_json::to_vec_pretty(self).map_err(|e| EvalError::Json {
            path: json_path.clone(),
            source: e,
        })?;
        write_atomic(&json_path, &json)?;
        write_ap_chart(&dir.join("ap.png"), &self.rows, plot)
    }

    /// Markdown: the per-query table, then the summaries, then the excluded queries.
    pub fn to_markdown(&self) -> String {
        let mut s = format!("# Retrieval over {} images\n\n", self.images);
        s += "| query | set | kind | R | AP | P@5 | P@10 | R-prec | random AP | random P@5 |\n";
        s += "|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
        for r in &self.rows {
            s += &format!(
                "| {} | {} | {:?} | {} | {:.4} | {:.2} | {:.2} | {:.4} | {:.5} | {:.5} |\n",
                md(&r.query),
                md(&r.set),
                r.kind,
                r.relevant,
                r.ap,
                r.p_at_5,
                r.p_at_10,
                r.r_precision,
                r.random_ap,
                r.random_p_at_5
            );
        }
        s += "\n| group | queries | mAP | P@5 | P@10 | R-prec | random mAP | random P@5 |\n";
        s += "|---|---:|---:|---:|---:|---:|---:|---:|\n";
        for g in &self.summaries {
            s += &format!(
                "| {} | {} | {:.4} | {:.3} | {:.3} | {:.4} | {:.5} | {:.5} |\n",
                md(&g.group),
                g.queries,
                g.map,
                g.p_at_5,
                g.p_at_10,
                g.r_precision,
                g.random_map,
                g.random_p_at_5
            );
        }
        if !self.excluded.is_empty() {
            s += &format!("\nExcluded (no relevant image): {}\n", self.excluded_list());
        }
        s
    }

    fn to_csv(&self, path: &Path) -> Result<Vec<u8>> {
        let err = |e: csv::Error| EvalError::Csv {
            path: path.to_path_buf(),
            source: e,
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        for r in &self.rows {
            w.serialize(r).map_err(err)?;
        }
        w.into_inner().map_err(|e| err(e.into_error().into()))
    }

    fn excluded_list(&self) -> String {
        let names: Vec<String> = self
            .excluded
            .iter()
            .map(|e| format!("{} ({})", e.query, e.set))
            .collect();
        names.join(", ")
    }
}

/// Escapes `|` so a cell cannot break the markdown table.
fn md(s: &str) -> String {
    s.replace('|', "\\|")
}

fn summarise(rows: &[QueryRow]) -> Vec<Summary> {
    let mut groups: Vec<(String, Vec<&QueryRow>)> = vec![
        ("All".into(), rows.iter().collect()),
        (
            "Simple".into(),
            rows.iter().filter(|r| r.kind == Kind::Simple).collect(),
        ),
        (
            "Complex".into(),
            rows.iter().filter(|r| r.kind == Kind::Complex).collect(),
        ),
    ];
    let mut sets: Vec<&str> = rows.iter().map(|r| r.set.as_str()).collect();
    sets.sort_unstable();
    sets.dedup();
    for set in sets {
        let members: Vec<&QueryRow> = rows.iter().filter(|r| r.set == set).collect();
        let same = groups.iter().any(|(_, g)| {
            g.len() == members.len() && g.iter().zip(&members).all(|(a, b)| std::ptr::eq(*a, *b))
        });
        if !same {
            groups.push((format!("set:{set}"), members));
        }
    }
    groups
        .into_iter()
        .filter(|(_, g)| !g.is_empty())
        .map(|(name, g)| summary_of(name, &g))
        .collect()
}

fn summary_of(group: String, rows: &[&QueryRow]) -> Summary {
    let mean = |f: fn(&QueryRow) -> f64| rows.iter().map(|r| f(r)).sum::<f64>() / rows.len() as f64;
    Summary {
        group,
        queries: rows.len(),
        map: mean(|r| r.ap),
        p_at_5: mean(|r| r.p_at_5),
        p_at_10: mean(|r| r.p_at_10),
        r_precision: mean(|r| r.r_precision),
        random_map: mean(|r| r.random_ap),
        random_p_at_5: mean(|r| r.random_p_at_5),
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<20} {:<8} {:>7} {:>7} {:>5} {:>5} {:>7} {:>9}",
            "query", "set", "R", "AP", "P@5", "P@10", "R-prec", "rand AP"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<20} {:<8} {:>7} {:>7.4} {:>5.2} {:>5.2} {:>7.4} {:>9.5}",
                r.query, r.set, r.relevant, r.ap, r.p_at_5, r.p_at_10, r.r_precision, r.random_ap
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<16} {:>4} {:>7} {:>6} {:>6} {:>7} {:>9} {:>9}",
            "group", "n", "mAP", "P@5", "P@10", "R-prec", "rand mAP", "rand P@5"
        )?;
        for g in &self.summaries {
            writeln!(
                f,
                "{:<16} {:>4} {:>7.4} {:>6.3} {:>6.3} {:>7.4} {:>9.5} {:>9.5}",
                g.group,
                g.queries,
                g.map,
                g.p_at_5,
                g.p_at_10,
                g.r_precision,
                g.random_map,
                g.random_p_at_5
            )?;
        }
        if !self.excluded.is_empty() {
            writeln!(f, "excluded (no relevant image): {}", self.excluded_list())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn row(query: &str, set: &str, ap: f64) -> QueryRow {
        QueryRow {
            query: query.into(),
            set: set.into(),
            kind: Kind::of(query),
            relevant: 3,
            ap,
            p_at_5: ap,
            p_at_10: ap / 2.0,
            r_precision: ap,
            random_ap: 0.01,
            random_p_at_5: 0.001,
        }
    }

    #[test]
    fn summaries_by_kind_and_extra_sets() {
        let rows = vec![
            row("car", "simple", 0.5),
            row("yellow car", "complex", 0.1),
            row("dog", "mine", 0.3),
        ];
        let r = Report::new(100, rows, vec![]);
        let groups: Vec<&str> = r.summaries.iter().map(|s| s.group.as_str()).collect();
        // set "complex" equals the Complex group and is not repeated.
        assert_eq!(
            groups,
            vec!["All", "Simple", "Complex", "set:mine", "set:simple"]
        );
        assert!((r.summary("All").unwrap().map - 0.3).abs() < 1e-12);
        assert!((r.summary("Simple").unwrap().map - 0.4).abs() < 1e-12);
        assert!((r.summary("Complex").unwrap().p_at_10 - 0.05).abs() < 1e-12);
        let table = r.to_string();
        assert!(
            table.contains("yellow car") && table.contains("set:mine"),
            "{table}"
        );
    }

    #[test]
    fn writes_run_files() {
        let dir = tempfile::tempdir().unwrap();
        let r = Report::new(
            10,
            vec![row("a|b", "simple", 0.5)],
            vec![Excluded {
                query: "x".into(),
                set: "s".into(),
            }],
        );
        r.write_run(dir.path(), &PlotConfig::default()).unwrap();
        let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
        assert!(
            md.contains("a\\|b") && md.contains("Excluded (no relevant image): x (s)"),
            "{md}"
        );
        let csv = std::fs::read_to_string(dir.path().join("report.csv")).unwrap();
        assert!(csv.starts_with("query,set,kind,relevant,ap,"), "{csv}");
        let back: Report =
            serde_json::from_slice(&std::fs::read(dir.path().join(REPORT_JSON)).unwrap()).unwrap();
        assert_eq!(back, r);
        assert!(image::open(dir.path().join("ap.png")).is_ok());
    }
}
