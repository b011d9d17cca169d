//! `webly suite`: one recipe judged over several data sets and seeds, against a baseline, with a
//! paired bootstrap over queries (`make real-photos`).
//!
//! Each set is a run config. The suite trains the judged model and the baseline once per seed
//! (as `<name>-seed<N>` models of that run, so they share its data, text and feature stages),
//! evaluates them, and compares them by ground-truth AP per query (caption relevance where a set
//! has no ground truth): per seed, and pooled (each query's AP averaged over the seeds, then
//! resampled over queries). The verdict of a set says whether the model's lead holds by the
//! suite's criteria.
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use webly_eval::{PairedBootstrap, PairedDifference, Report};

use crate::config::{ModelRun, RunConfig};
use crate::error::{PipelineError, Result};
use crate::fsio::write_atomic;
use crate::model_stage::ModelResult;

/// What a lead must be for a set's verdict to hold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Criteria {
    /// The model's mAP (mean over seeds) must exceed the baseline's by at least this much, and
    /// the pooled interval must lie above zero.
    pub min_lead: f64,
    /// At no seed may the model trail the baseline by more than this.
    pub max_seed_deficit: f64,
}

impl Default for Criteria {
    fn default() -> Self {
        // Issue 23's bar: a lead of 0.02 mAP that the bootstrap is sure of, no seed 0.02 behind.
        Self {
            min_lead: 0.02,
            max_seed_deficit: 0.02,
        }
    }
}

/// A suite: sets, seeds, the model judged and its baseline (`configs/real_photos_suite.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuiteConfig {
    /// The sets' run configs, relative to the working folder.
    pub sets: Vec<PathBuf>,
    /// Training seeds: every set trains each of the two models once per seed.
    pub seeds: Vec<u64>,
    /// The `[[models]]` name judged; every set's config must have it.
    pub model: String,
    /// The `[[models]]` name it is compared with.
    pub baseline: String,
    /// Where `suite.md` and `suite.json` are written.
    pub out_dir: PathBuf,
    /// The bar a set's verdict checks.
    pub criteria: Criteria,
    /// Resamples, confidence and seed of the paired bootstrap.
    pub bootstrap: PairedBootstrap,
}

impl Default for SuiteConfig {
    fn default() -> Self {
        Self {
            sets: Vec::new(),
            seeds: vec![1, 2, 3],
            model: "triplet".into(),
            baseline: "crossentropy".into(),
            out_dir: PathBuf::from("runs/suite"),
            criteria: Criteria::default(),
            bootstrap: PairedBootstrap::default(),
        }
    }
}

impl SuiteConfig {
    /// Reads a suite config; errors name the file.
    pub fn load(path: &Path) -> Result<SuiteConfig> {
        let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Io {
            what: "reading the suite config",
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |message: String| PipelineError::Config {
            path: path.to_path_buf(),
            message,
        };
        let cfg: SuiteConfig = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if cfg.sets.is_empty() || cfg.seeds.is_empty() {
            return Err(bad("a suite needs at least one set and one seed".into()));
        }
        if cfg.model == cfg.baseline {
            return Err(bad(format!("model and baseline are both {:?}", cfg.model)));
        }
        Ok(cfg)
    }
}

/// One seed of one set: both models' mAP and their paired difference.
#[derive(Debug, Clone, Serialize)]
pub struct SeedResult {
    /// The training seed.
    pub seed: u64,
    /// The judged model's mAP (All).
    pub model_map: f64,
    /// The baseline's mAP (All).
    pub baseline_map: f64,
    /// Model minus baseline, over queries.
    pub difference: PairedDifference,
}

/// One set of the suite.
#[derive(Debug, Clone, Serialize)]
pub struct SetResult {
    /// The set's name (its config file's stem).
    pub name: String,
    /// Its run folder.
    pub run_dir: PathBuf,
    /// `"ground truth"` or `"captions"`.
    pub relevance: String,
    /// Test images ranked.
    pub images: usize,
    /// Queries evaluated.
    pub queries: usize,
    /// Expected mAP of a random ranking.
    pub random_map: f64,
    /// One row per seed.
    pub seeds: Vec<SeedResult>,
    /// The model's mAP, mean over seeds.
    pub model_map: f64,
    /// The baseline's mAP, mean over seeds.
    pub baseline_map: f64,
    /// Pooled: each query's AP averaged over seeds, model minus baseline.
    pub pooled: PairedDifference,
    /// `model_map / random_map`.
    pub model_over_random: f64,
    /// Whether the lead holds by the suite's criteria.
    pub holds: bool,
}

/// The whole suite.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteReport {
    /// The judged model's name.
    pub model: String,
    /// The baseline's name.
    pub baseline: String,
    /// The bar the verdicts check.
    pub criteria: Criteria,
    /// One entry per set, in the config's order.
    pub sets: Vec<SetResult>,
    /// Mean over sets of the model's mAP.
    pub mean_model_map: f64,
    /// Mean over sets of the baseline's mAP.
    pub mean_baseline_map: f64,
    /// Mean over sets of (seed-mean model mAP / random mAP).
    pub mean_model_over_random: f64,
    /// Where the markdown table was written.
    pub table_path: PathBuf,
}

fn seed_name(model: &str, seed: u64) -> String {
    format!("{model}-seed{seed}")
}

/// The set's run config with the two models, once per seed, as `<name>-seed<N>`.
fn expand(cfg: &RunConfig, suite: &SuiteConfig, path: &Path) -> Result<RunConfig> {
    let find = |name: &str| {
        cfg.models
            .iter()
            .find(|m| m.name == name)
            .cloned()
            .ok_or_else(|| PipelineError::Config {
                path: path.to_path_buf(),
                message: format!("the suite needs a [[models]] named {name:?}"),
            })
    };
    let (model, baseline) = (find(&suite.model)?, find(&suite.baseline)?);
    let mut out = cfg.clone();
    out.models = suite
        .seeds
        .iter()
        .flat_map(|&seed| {
            [&model, &baseline].map(|m| {
                let mut train = m.train.clone();
                train.seed = seed;
                ModelRun {
                    name: seed_name(&m.name, seed),
                    train,
                }
            })
        })
        .collect();
    Ok(out)
}

/// The report a set is judged by: ground truth when the set has one, else captions.
fn judged(m: &ModelResult) -> (&Report, &'static str) {
    match &m.evaluation.truth {
        Some(t) => (t, "ground truth"),
        None => (&m.evaluation.captions, "captions"),
    }
}

fn aps(r: &Report) -> Vec<f64> {
    r.rows.iter().map(|q| q.ap).collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Runs one set and judges it.
fn run_set(path: &Path, suite: &SuiteConfig) -> Result<SetResult> {
    let cfg = expand(&RunConfig::load(path)?, suite, path)?;
    let summary = crate::run::run(&cfg)?;
    let by_name = |name: &str| {
        summary
            .models
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| {
                PipelineError::Mismatch(format!("{}: no result for {name}", path.display()))
            })
    };
    let mut seeds = Vec::new();
    let (mut model_q, mut base_q): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (Vec::new(), Vec::new());
    let mut first: Option<(&Report, &'static str)> = None;
    for &seed in &suite.seeds {
        let (m, relevance) = judged(by_name(&seed_name(&suite.model, seed))?);
        let (b, _) = judged(by_name(&seed_name(&suite.baseline, seed))?);
        let queries = |r: &Report| r.rows.iter().map(|q| q.query.clone()).collect::<Vec<_>>();
        if queries(m) != queries(b) {
            return Err(PipelineError::Mismatch(format!(
                "{}: the two models were evaluated on different queries",
                path.display()
            )));
        }
        let difference = suite
            .bootstrap
            .difference(&aps(m), &aps(b))
            .map_err(|e| PipelineError::Mismatch(format!("{}: {e}", path.display())))?;
        seeds.push(SeedResult {
            seed,
            model_map: mean(&aps(m)),
            baseline_map: mean(&aps(b)),
            difference,
        });
        model_q.push(aps(m));
        base_q.push(aps(b));
        first.get_or_insert((m, relevance));
    }
    let (report, relevance) = first.ok_or_else(|| PipelineError::Setting("no seed".into()))?;
    let per_query = |runs: &[Vec<f64>]| -> Vec<f64> {
        (0..runs[0].len())
            .map(|q| runs.iter().map(|r| r[q]).sum::<f64>() / runs.len() as f64)
            .collect()
    };
    let pooled = suite
        .bootstrap
        .difference(&per_query(&model_q), &per_query(&base_q))
        .map_err(|e| PipelineError::Mismatch(format!("{}: {e}", path.display())))?;
    let random_map = mean(&report.rows.iter().map(|q| q.random_ap).collect::<Vec<_>>());
    let model_map = mean(&seeds.iter().map(|s| s.model_map).collect::<Vec<_>>());
    let baseline_map = mean(&seeds.iter().map(|s| s.baseline_map).collect::<Vec<_>>());
    let c = suite.criteria;
    let holds = pooled.mean >= c.min_lead
        && pooled.excludes_zero_above()
        && seeds
            .iter()
            .all(|s| s.model_map - s.baseline_map >= -c.max_seed_deficit);
    Ok(SetResult {
        name: path.file_stem().map_or_else(
            || path.display().to_string(),
            |s| s.to_string_lossy().into(),
        ),
        run_dir: cfg.run_dir.clone(),
        relevance: relevance.into(),
        images: report.images,
        queries: report.rows.len(),
        random_map,
        seeds,
        model_map,
        baseline_map,
        pooled,
        model_over_random: model_map / random_map.max(f64::MIN_POSITIVE),
        holds,
    })
}

/// Runs every set of the suite (each set's stages are reused as `webly run` reuses them) and
/// writes `suite.md` and `suite.json` into `out_dir`.
///
/// # Errors
/// A set's config that cannot be read or lacks one of the two models, any stage's error, or a
/// report that cannot be written.
pub fn suite(cfg: &SuiteConfig) -> Result<SuiteReport> {
    let sets = cfg
        .sets
        .iter()
        .map(|p| run_set(p, cfg))
        .collect::<Result<Vec<_>>>()?;
    let over = |f: fn(&SetResult) -> f64| mean(&sets.iter().map(f).collect::<Vec<_>>());
    let mut report = SuiteReport {
        model: cfg.model.clone(),
        baseline: cfg.baseline.clone(),
        criteria: cfg.criteria,
        mean_model_map: over(|s| s.model_map),
        mean_baseline_map: over(|s| s.baseline_map),
        mean_model_over_random: over(|s| s.model_over_random),
        sets,
        table_path: cfg.out_dir.join("suite.md"),
    };
    std::fs::create_dir_all(&cfg.out_dir).map_err(|source| PipelineError::Io {
        what: "creating the suite's folder",
        path: cfg.out_dir.clone(),
        source,
    })?;
    write_atomic(&report.table_path, report.to_string().as_bytes())?;
    let json = serde_json::to_vec_pretty(&report).map_err(|source| PipelineError::Json {
        what: "suite.json".into(),
        source,
    })?;
    write_atomic(&cfg.out_dir.join("suite.json"), &json)?;
    report.table_path = cfg.out_dir.join("suite.md");
    Ok(report)
}

fn signed(x: f64) -> String {
    format!("{x:+.3}")
}

fn interval(d: &PairedDifference) -> String {
    format!("[{}, {}]", signed(d.low), signed(d.high))
}

impl fmt::Display for SuiteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (m, b) = (&self.model, &self.baseline);
        for s in &self.sets {
            writeln!(
                f,
                "## {} ({} test images, {} queries, relevance by {})\n",
                s.name, s.images, s.queries, s.relevance
            )?;
            writeln!(
                f,
                "| seed | {m} mAP | {b} mAP | difference | 95% interval |"
            )?;
            writeln!(f, "|---|---:|---:|---:|---|")?;
            for r in &s.seeds {
                writeln!(
                    f,
                    "| {} | {:.3} | {:.3} | {} | {} |",
                    r.seed,
                    r.model_map,
                    r.baseline_map,
                    signed(r.difference.mean),
                    interval(&r.difference)
                )?;
            }
            writeln!(
                f,
                "| **mean** | **{:.3}** | {:.3} | **{}** | {} |\n",
                s.model_map,
                s.baseline_map,
                signed(s.pooled.mean),
                interval(&s.pooled)
            )?;
            writeln!(
                f,
                "random ranking {:.3}; {m} {:.1}x random; lead holds (>= {} and interval above 0, \
                 no seed behind by more than {}): **{}**\n",
                s.random_map,
                s.model_over_random,
                self.criteria.min_lead,
                self.criteria.max_seed_deficit,
                if s.holds { "yes" } else { "no" }
            )?;
        }
        writeln!(f, "## Mean over {} sets\n", self.sets.len())?;
        writeln!(
            f,
            "| set | {m} mAP | {b} mAP | difference | 95% interval | {m} / random | holds |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---|---:|---|")?;
        for s in &self.sets {
            writeln!(
                f,
                "| {} | {:.3} | {:.3} | {} | {} | {:.1}x | {} |",
                s.name,
                s.model_map,
                s.baseline_map,
                signed(s.pooled.mean),
                interval(&s.pooled),
                s.model_over_random,
                if s.holds { "yes" } else { "no" }
            )?;
        }
        writeln!(
            f,
            "| **mean** | **{:.3}** | {:.3} | {} | | **{:.1}x** | {}/{} |",
            self.mean_model_map,
            self.mean_baseline_map,
            signed(self.mean_model_map - self.mean_baseline_map),
            self.mean_model_over_random,
            self.sets.iter().filter(|s| s.holds).count(),
            self.sets.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_config() -> RunConfig {
        toml::from_str(
            r#"
            run_dir = "runs/x"
            [data.dataset]
            root = "data/x"
            [text]
            vectors = "v.txt"
            [[models]]
            name = "triplet"
            [[models]]
            name = "crossentropy"
            [models.train]
            loss = { kind = "cross_entropy" }
            [[models]]
            name = "other"
            "#,
        )
        .expect("run config")
    }

    #[test]
    fn expand_trains_both_models_once_per_seed() {
        let suite = SuiteConfig {
            seeds: vec![1, 2],
            ..SuiteConfig::default()
        };
        let cfg = expand(&run_config(), &suite, Path::new("x.toml")).expect("expand");
        let names: Vec<(&str, u64)> = cfg
            .models
            .iter()
            .map(|m| (m.name.as_str(), m.train.seed))
            .collect();
        assert_eq!(
            names,
            [
                ("triplet-seed1", 1),
                ("crossentropy-seed1", 1),
                ("triplet-seed2", 2),
                ("crossentropy-seed2", 2)
            ]
        );
        assert_eq!(
            cfg.models[1].train.loss.kind,
            webly_encoder::LossKind::CrossEntropy,
            "each copy keeps its model's settings"
        );
    }

    #[test]
    fn a_missing_model_names_the_set() {
        let suite = SuiteConfig {
            baseline: "mse".into(),
            ..SuiteConfig::default()
        };
        let e = expand(&run_config(), &suite, Path::new("configs/set.toml"))
            .expect_err("no such model")
            .to_string();
        assert!(
            e.contains("configs/set.toml") && e.contains("\"mse\""),
            "{e}"
        );
    }

    #[test]
    fn suite_config_checks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("suite.toml");
        std::fs::write(&p, "sets = [\"a.toml\"]\nseeds = [1, 2, 3]\n").expect("write");
        let cfg = SuiteConfig::load(&p).expect("load");
        assert_eq!(cfg.model, "triplet");
        assert_eq!(cfg.criteria.min_lead, 0.02);
        std::fs::write(&p, "sets = []\n").expect("write");
        assert!(SuiteConfig::load(&p).is_err());
        std::fs::write(&p, "sets = [\"a.toml\"]\nmodel = \"x\"\nbaseline = \"x\"\n")
            .expect("write");
        assert!(SuiteConfig::load(&p).is_err());
        std::fs::write(&p, "sets = [\"a.toml\"]\nseed = [1]\n").expect("write");
        let e = SuiteConfig::load(&p).expect_err("typo").to_string();
        assert!(e.contains("suite.toml"), "{e}");
    }
}
