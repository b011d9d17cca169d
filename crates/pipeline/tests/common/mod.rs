//! What several test files share: the smallest whole run (`fixtures/tiny_run.toml`).
use std::path::{Path, PathBuf};

use webly_pipeline::RunConfig;

/// The committed fixtures folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `tiny_run.toml` with its run folder and dataset under `tmp`.
pub fn tiny_config(tmp: &Path) -> RunConfig {
    let mut cfg = RunConfig::load(&fixtures().join("tiny_run.toml")).expect("tiny_run.toml");
    cfg.run_dir = tmp.join("run");
    cfg.data.dataset.root = tmp.join("data");
    cfg.eval.queries = vec![fixtures().join("tiny_queries.txt")];
    cfg
}
