//! `webly run`: every stage for every model, then the comparison table.
use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use webly_eval::Report;

use crate::config::RunConfig;
use crate::context::Context;
use crate::error::Result;
use crate::fsio::write_atomic;
use crate::model_stage::{run_model, ModelResult, StageTimes};
use crate::train_stage::TrainOverrides;

/// The outcome of a whole run.
pub struct RunSummary {
    /// Each model's results, in the config's order.
    pub models: Vec<ModelResult>,
    /// The comparison table (markdown): mAP and P@5 of each model beside random ranking.
    pub table: String,
    /// Where the table was written (`comparison.md` in the run folder).
    pub table_path: PathBuf,
    /// Seconds per stage, summed over the models.
    pub times: StageTimes,
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.models {
            writeln!(f, "{m}")?;
        }
        writeln!(f)?;
        writeln!(f, "{}", self.table)?;
        writeln!(f, "comparison written to {}", self.table_path.display())?;
        write!(f, "{}", self.times)
    }
}

/// Runs the whole pipeline of `cfg`.
pub fn run(cfg: &RunConfig) -> Result<RunSummary> {
    let t0 = Instant::now();
    let ctx = Context::open(cfg)?;
    let queries = ctx.queries()?;
    let mut times = StageTimes {
        data_text: t0.elapsed().as_secs_f64(),
        ..StageTimes::default()
    };
    let mut models = Vec::new();
    for model in &cfg.models {
        let m = run_model(&ctx, model, &TrainOverrides::default(), &queries)?;
        times += m.times;
        models.push(m);
    }
    let table = comparison(&models);
    let table_path = cfg.layout().comparison();
    write_atomic(&table_path, table.as_bytes())?;
    Ok(RunSummary {
        models,
        table,
        table_path,
        times,
    })
}

/// Picks one of a model's reports.
type ReportOf = fn(&ModelResult) -> Option<&Report>;

/// mAP and P@5 (All / Simple / Complex) of each model beside random ranking, for each relevance.
pub fn comparison(models: &[ModelResult]) -> String {
    let mut out = String::new();
    let kinds: [(&str, ReportOf); 2] = [
        (
            "captions (an image is relevant when its caption holds every query word)",
            |m| Some(&m.evaluation.captions),
        ),
        (
            "ground truth (an image is relevant when it really shows every query concept)",
            |m| m.evaluation.truth.as_ref(),
        ),
    ];
    for (title, pick) in kinds {
        let reports: Vec<(&str, &Report)> = models
            .iter()
            .filter_map(|m| pick(m).map(|r| (m.name.as_str(), r)))
            .collect();
        if let Some(table) = table(&reports) {
            out += &format!("Relevance by {title}\n\n{table}\n");
        }
    }
    out
}

const GROUPS: [&str; 3] = ["All", "Simple", "Complex"];

fn table(reports: &[(&str, &Report)]) -> Option<String> {
    let (_, first) = reports.first()?;
    let mut s = String::from(
        "| model | mAP All | mAP Simple | mAP Complex | P@5 All | P@5 Simple | P@5 Complex |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for (name, r) in reports {
        let map = GROUPS.map(|g| r.summary(g).map(|s| s.map));
        let p5 = GROUPS.map(|g| r.summary(g).map(|s| s.p_at_5));
        s += &row(name, &map, &p5);
    }
    let map = GROUPS.map(|g| first.summary(g).map(|s| s.random_map));
    let p5 = GROUPS.map(|g| first.summary(g).map(|s| s.random_p_at_5));
    s += &row("random ranking (expected)", &map, &p5);
    Some(s)
}

fn row(name: &str, map: &[Option<f64>; 3], p5: &[Option<f64>; 3]) -> String {
    let cell = |v: &Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.3}"));
    let cells: Vec<String> = map.iter().chain(p5).map(cell).collect();
    format!("| {name} | {} |\n", cells.join(" | "))
}
