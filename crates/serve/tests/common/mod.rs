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

fn miniature_config() -> RunConfig {
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
