//! The miniature run every server test shares: `configs/ci.toml` made smaller still (fewer
//! images and epochs), kept under Cargo's target tmp folder so a second `cargo test` reuses every
//! stage (by their stamps) and only loads it. One [`AppState`] per test binary, loaded once.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use webly_data::ImageLimits;
use webly_pipeline::{RunConfig, Searcher};
use webly_serve::{serve_on, AppState, ServeConfig};

/// Images generated for the miniature (ci.toml has 1500).
const IMAGES: usize = 600;
/// Training epochs of the miniature (ci.toml has 8): the tests need a working model, not a
/// good one.
const EPOCHS: usize = 3;
/// Upload limits of the test server, small enough to test with small files.
pub const MAX_UPLOAD_BYTES: usize = 256 << 10;
pub const MAX_UPLOAD_PIXELS: u64 = 1_000_000;

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Cargo's target folder (test artifacts go under it).
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
}

/// The miniature's config (its run is made by [`state`] or [`built_miniature`]).
pub fn miniature_config() -> RunConfig {
    let mut cfg = RunConfig::load_under(&workspace(), Path::new("configs/ci.toml"))
        .expect("configs/ci.toml parses and its inputs exist");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-miniature");
    cfg.run_dir = dir.join("run");
    cfg.data.dataset.root = dir.join("data");
    if let Some(s) = cfg.data.synth.as_mut() {
        s.images = IMAGES;
    }
    for m in &mut cfg.models {
        m.train.epochs = EPOCHS;
    }
    cfg
}

/// The shared state: the miniature run (built on first use), loaded once.
pub fn state() -> Arc<AppState> {
    static STATE: OnceLock<Arc<AppState>> = OnceLock::new();
    Arc::clone(STATE.get_or_init(|| {
        let cfg = miniature_config();
        webly_pipeline::run(&cfg).expect("the miniature run builds");
        let searcher = Searcher::open(&cfg, None).expect("the miniature run loads");
        Arc::new(AppState::new(searcher, test_config()))
    }))
}

/// The test server's settings: small upload limits, the rest the defaults.
pub fn test_config() -> ServeConfig {
    ServeConfig {
        image_limits: ImageLimits {
            max_bytes: MAX_UPLOAD_BYTES,
            max_pixels: MAX_UPLOAD_PIXELS,
        },
        ..ServeConfig::default()
    }
}

/// Starts a server of its own with `config` over the miniature run (loaded again).
pub async fn start_with(config: ServeConfig) -> SocketAddr {
    start_state(config).await.0
}

/// [`start_with`], also giving the server's state (to hold its upload slots, say).
pub async fn start_state(config: ServeConfig) -> (SocketAddr, Arc<AppState>) {
    state(); // the miniature run exists
    let searcher = Searcher::open(&miniature_config(), None).expect("the miniature run loads");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("an ephemeral loopback port");
    let addr = listener.local_addr().expect("a local address");
    let state = Arc::new(AppState::new(searcher, config));
    tokio::spawn(serve_on(
        listener,
        Arc::clone(&state),
        std::future::pending(),
    ));
    (addr, state)
}

/// Starts the server on an ephemeral loopback port (on the calling test's runtime).
pub async fn start() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("an ephemeral loopback port");
    let addr = listener.local_addr().expect("a local address");
    tokio::spawn(serve_on(listener, state(), std::future::pending()));
    addr
}

/// Test images of the miniature copied into a folder, one with a very long name, made into a
/// collection (`webly collection create`) with the miniature's model; made afresh on each call.
pub fn collection() -> PathBuf {
    state(); // the miniature run exists
    let cfg = miniature_config();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-collection");
    let _ = std::fs::remove_dir_all(&dir);
    let photos = dir.join("photos");
    std::fs::create_dir_all(&photos).expect("photos folder");
    let dataset = webly_data::Dataset::open(&cfg.data.dataset).expect("the miniature's dataset");
    for (i, item) in dataset
        .split(webly_data::Split::Test)
        .iter()
        .take(40)
        .enumerate()
    {
        let name = match i {
            0 => format!("{}-{i}.jpg", "a-very-long-file-name-from-a-phone".repeat(4)),
            _ => format!("p{i}.jpg"),
        };
        std::fs::copy(&item.image, photos.join(name)).expect("copy an image");
    }
    let model = cfg.run_dir.join("models").join(&cfg.models[0].name);
    let coll = dir.join("collection");
    webly_pipeline::collection::create(&coll, &model, &[photos]).expect("the collection");
    coll
}

/// Starts a server over [`collection`] on an ephemeral loopback port.
pub async fn start_collection() -> SocketAddr {
    let coll = collection();
    let searcher = Searcher::open_collection(&coll).expect("the collection loads");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("an ephemeral loopback port");
    let addr = listener.local_addr().expect("a local address");
    let state = Arc::new(AppState::new(searcher, test_config()));
    tokio::spawn(serve_on(listener, state, std::future::pending()));
    addr
}

/// The miniature run, built on first use (by its stamps), without opening a searcher: for tests
/// that need the run folder's exclusive lock (`webly export`) before they read it.
pub fn built_miniature() -> RunConfig {
    let cfg = miniature_config();
    webly_pipeline::run(&cfg).expect("the miniature run builds");
    cfg
}

/// The python of a project venv (`name` under `${XDG_CACHE_HOME:-~/.cache}/webly/`, or the
/// folder in `$env_var`) that `script` makes (`make test` runs it). A venv that is missing or
/// unfinished (no stamp: the set-up failed, say with no package registry) fails the test,
/// naming the script.
pub fn venv_python(name: &str, env_var: &str, script: &str) -> PathBuf {
    let venv = std::env::var_os(env_var)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache")
                });
            cache.join("webly").join(name)
        });
    let python = venv.join("bin/python");
    assert!(
        python.exists() && venv.join(".requirements.sha").exists(),
        "the venv {} is missing or unfinished: run `bash {script}` (make test does; it needs \
         a package registry), then test again",
        venv.display()
    );
    python
}

/// Runs `python script args...` (a script of `scripts/`) and parses its standard output as JSON;
/// a failure panics with its standard error.
pub fn run_python(python: &Path, script: &str, args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = std::process::Command::new(python)
        .arg(workspace().join("scripts").join(script))
        .args(args)
        .output()
        .expect("python starts");
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
