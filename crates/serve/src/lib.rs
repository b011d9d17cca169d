//! `webly serve`: a search page and a JSON API over one trained model of a finished run.
//!
//! Everything a query needs is loaded once into a [`Searcher`] (text embedder, exact embeddings
//! and HNSW index of the test images, the encoder for image uploads, keys to image paths and
//! captions) and shared read-only by every request. The encoder runs on a blocking thread behind
//! the searcher's mutex (libtorch modules are not `Sync`).
//!
//! Routes (all answers JSON except the page and thumbnails; errors are
//! `{"error": "...", ...}` with a 4xx status, never a crash):
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the search page (self-contained: no CDN, works offline) |
//! | `GET /api/health` | `{"status": "ok", "model": ...}` |
//! | `GET /api/info` | index facts: size, dimension, model, text space, recall at build |
//! | `GET /api/search?q=WORDS&k=10&mode=hnsw` | text query (`mode` = `hnsw` or `exact`) |
//! | `GET /api/similar?key=KEY&k=10&mode=hnsw` | images like an indexed image |
//! | `POST /api/similar?k=10&mode=hnsw` | images like an uploaded one (multipart field `image`) |
//! | `GET /api/tags?key=KEY&k=10` | nearest caption words of an indexed image |
//! | `POST /api/tags?k=10` | nearest caption words of an uploaded image |
//! | `GET /thumb/KEY` | a JPEG thumbnail of an indexed image |
//! | `POST /knn-service` | clip-retrieval's query (clip-back's shapes: `ClipClient` works) |
//! | `POST /metadata` | clip-back's metadata of result ids |
//! | `GET /indices-list` | clip-back's index names: the model's |

#![deny(missing_docs)]
#![forbid(unsafe_code)]
mod api;
mod clip;
mod error;
mod keys;
mod page;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use tower_http::timeout::TimeoutLayer;
use webly_data::ImageLimits;
pub use webly_pipeline::Searcher;

pub use api::{parse_request, Asked};
pub use error::ServeError;

/// Default address: loopback only; another address only when given.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Room for the multipart framing around an upload, in bytes.
const MULTIPART_OVERHEAD: usize = 64 << 10;
/// Body limit of clip-back's `POST /metadata` (`max_k` ids and an index name), in bytes.
const METADATA_BODY_BYTES: usize = 64 << 10;

/// Limits and settings of the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// Uploaded images: encoded bytes and pixel count (the request body limit is `max_bytes`
    /// plus the multipart framing).
    pub image_limits: ImageLimits,
    /// Every request is answered within this many milliseconds, or gets 408.
    pub request_timeout_ms: u64,
    /// A connection whose request head (request line and headers) has not arrived this many
    /// milliseconds after the server started reading it is closed: slow clients (slowloris)
    /// cannot hold sockets. Idle keep-alive connections close after as long.
    pub header_timeout_ms: u64,
    /// Connections served at once; more wait in the listen queue until one closes.
    pub max_connections: usize,
    /// Largest `k` a query may ask for.
    pub max_k: usize,
    /// `k` when a query gives none.
    pub default_k: usize,
    /// Longest side of a thumbnail, in pixels.
    pub thumb_side: u32,
    /// Longest query text, in bytes.
    pub max_query_bytes: usize,
    /// Uploads decoded and embedded at once; 0 (the default) is one per core
    /// (`std::thread::available_parallelism`). The others wait for a turn within the request
    /// timeout: one that times out waiting gets 408 and costs no decoding. A decode cannot be
    /// stopped once started (a 64-scan bomb at 40 MP takes seconds of CPU), so without this
    /// bound every upload that timed out went on decoding after its 408, all at once (the soak
    /// test with 8 clients sending such bombs, 2 cores: 2.1 GB resident at the peak, and 17 s of
    /// CPU over the 30 s after the last answer; bounded: 0.8 GB, 1.8 s). Under such a flood the
    /// other uploads wait their turn too and may get 408; searches need no turn.
    pub upload_workers: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            image_limits: ImageLimits::default(),
            request_timeout_ms: 10_000,
            header_timeout_ms: 5_000,
            max_connections: 4096,
            max_k: 100,
            default_k: 12,
            thumb_side: 256,
            max_query_bytes: 1024,
            upload_workers: 0,
        }
    }
}

impl ServeConfig {
    /// Reads a TOML file of [`ServeConfig`] fields (the rest keep their defaults).
    pub fn load(path: &std::path::Path) -> Result<Self, ServeError> {
        let text = std::fs::read_to_string(path).map_err(|source| ServeError::Config {
            path: path.to_path_buf(),
            message: source.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| ServeError::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

/// What every request shares (read-only).
pub struct AppState {
    /// The model's search state, loaded once from the finished run.
    pub searcher: Searcher,
    /// Limits and timeouts of the server.
    pub config: ServeConfig,
    /// Turns to decode an upload ([`ServeConfig::upload_workers`] permits).
    pub upload_slots: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// The state of a server of `searcher` with `config`.
    pub fn new(searcher: Searcher, config: ServeConfig) -> Self {
        let workers = match config.upload_workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        AppState {
            searcher,
            config,
            upload_slots: Arc::new(tokio::sync::Semaphore::new(workers)),
        }
    }
}

/// The page and the API over `state`, with the body limit and the timeout on every request.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.config.image_limits.max_bytes + MULTIPART_OVERHEAD;
    let timeout = Duration::from_millis(state.config.request_timeout_ms);
    Router::new()
        .route("/", get(page::index))
        .route("/api/health", get(api::health))
        .route("/api/info", get(api::info))
        .route("/api/search", get(api::search))
        .route(
            "/api/similar",
            get(api::similar_key).post(api::similar_upload),
        )
        .route("/api/tags", get(api::tags_key).post(api::tags_upload))
        .route("/thumb/{*key}", get(api::thumb))
        .route("/indices-list", get(clip::indices_list))
        // At most max_k ids: a small body (parsed whole, a long list of ids would cost ~16 times
        // its bytes in memory).
        .route(
            "/metadata",
            post(clip::metadata_service).layer(DefaultBodyLimit::max(METADATA_BODY_BYTES)),
        )
        // An image comes in base64 (4 characters per 3 bytes) inside the JSON.
        .route(
            "/knn-service",
            post(clip::knn_service).layer(DefaultBodyLimit::max(
                state.config.image_limits.max_bytes.div_ceil(3) * 4 + MULTIPART_OVERHEAD,
            )),
        )
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .with_state(state)
}

/// Binds `addr` and serves until Ctrl-C or SIGTERM, then finishes the requests in flight.
/// Prints the address it listens on.
pub async fn serve(state: Arc<AppState>, addr: SocketAddr) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(ServeError::Serve)?;
    eprintln!("[serve] {} on http://{local}/", state.searcher.model());
    serve_on(listener, state, shutdown_signal()).await;
    eprintln!("[serve] stopped");
    Ok(())
}

/// Pause after an `accept` that failed for want of resources (file descriptors, memory), so
/// that a full table does not spin the loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves [`router`] on `listener` until `shutdown` resolves, then lets the requests in flight
/// finish. HTTP/1.1 over hyper, with what `axum::serve` lacks against slow clients: a request
/// head must arrive within [`ServeConfig::header_timeout_ms`] (hyper's `header_read_timeout`),
/// and at most [`ServeConfig::max_connections`] connections are served at once.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let slots = Arc::new(tokio::sync::Semaphore::new(
        state.config.max_connections.max(1),
    ));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(state.config.header_timeout_ms));
    let app = router(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break, // never closed
            },
            () = &mut shutdown => break,
        };
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(e) => {
                    eprintln!("[serve] accepting a connection: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small JSON answers: no Nagle delay.
        let _ = socket.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(socket), service));
        tokio::spawn(async move {
            // A client that leaves, or a head that did not arrive in time, ends the connection;
            // nothing to report.
            let _ = connection.await;
            drop(permit);
        });
    }
    graceful.shutdown().await;
}

/// Loads the searcher of `source` (a run's model, or a collection), then serves it on `addr`
/// (blocking: runs its own tokio runtime).
pub fn run(
    source: webly_pipeline::Source<'_>,
    addr: SocketAddr,
    config: ServeConfig,
) -> Result<(), ServeError> {
    let started = std::time::Instant::now();
    let searcher = Searcher::open_source(source)?;
    eprintln!(
        "[serve] loaded {} ({} images) in {:.1} s",
        searcher.model(),
        searcher.facts().size,
        started.elapsed().as_secs_f64()
    );
    let mut config = config;
    config.max_connections = open_files::fit_connections(config.max_connections);
    let state = Arc::new(AppState::new(searcher, config));
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Serve)?
        .block_on(serve(state, addr))
}

/// The process's open-file limit against [`ServeConfig::max_connections`]: a stalled socket holds
/// a descriptor, and the common soft limit (1,024) is below the default 4,096 connections.
mod open_files {
    /// Descriptors kept for what is not a connection: the index and model files, images read
    /// for thumbnails and uploads, the runtime's own (a generous allowance: webly serve holds
    /// about 15 when idle, `docs/benchmarks.md`'s soak test).
    pub(crate) const RESERVE: u64 = 256;

    /// How many of `wanted` connections fit under an open-file limit of `limit`, [`RESERVE`] kept.
    pub(crate) fn connections_under(wanted: usize, limit: u64) -> usize {
        let room = limit.saturating_sub(RESERVE).max(1);
        (wanted as u64).min(room) as usize
    }

    /// Raises the soft open-file limit towards the hard one, as far as `wanted` connections
    /// need (as Go's runtime and nginx's `worker_rlimit_nofile` do), and returns how many
    /// connections fit: `wanted`, or fewer with a warning when the hard limit is too low.
    #[cfg(unix)]
    pub(crate) fn fit_connections(wanted: usize) -> usize {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let need = wanted as u64 + RESERVE;
        let limit = getrlimit(Resource::Nofile);
        let mut soft = limit.current.unwrap_or(u64::MAX);
        if soft < need {
            let raised = limit.maximum.map_or(need, |hard| hard.min(need));
            let new = Rlimit {
                current: Some(raised),
                maximum: limit.maximum,
            };
            if setrlimit(Resource::Nofile, new).is_ok() {
                soft = raised;
            }
        }
        let fit = connections_under(wanted, soft);
        if fit < wanted {
            eprintln!(
                "[serve] the open-file limit ({soft}) leaves room for {fit} of max_connections = \
                 {wanted}: serving at most {fit} at once (raise `ulimit -n` for more)"
            );
        }
        fit
    }

    /// Elsewhere the limit is not the process's to read: `wanted` as it is.
    #[cfg(not(unix))]
    pub(crate) fn fit_connections(wanted: usize) -> usize {
        wanted
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn connections_keep_the_reserve_under_the_limit() {
            assert_eq!(connections_under(4096, 1024), 1024 - RESERVE as usize);
            assert_eq!(connections_under(4096, 20_000), 4096);
            assert_eq!(connections_under(4096, 10), 1, "never zero");
        }

        // From the common soft limit of 1,024 (lowering it needs no privilege), the soft limit
        // ends where the connections need it, or at the hard limit.
        #[cfg(unix)]
        #[test]
        fn the_soft_limit_is_raised_as_far_as_needed() {
            use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
            let before = getrlimit(Resource::Nofile);
            let hard = before.maximum.unwrap_or(u64::MAX);
            let low = Rlimit {
                current: Some(hard.min(1024)),
                maximum: before.maximum,
            };
            setrlimit(Resource::Nofile, low).expect("lower the soft limit");
            let wanted = 2_000;
            let fit = fit_connections(wanted);
            let soft = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
            setrlimit(Resource::Nofile, before).expect("restore the limit");
            assert!(
                soft >= hard.min(wanted as u64 + RESERVE),
                "soft {soft}, hard {hard}"
            );
            assert_eq!(fit, connections_under(wanted, soft));
        }
    }
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => eprintln!("[serve] Ctrl-C: shutting down"),
        () = term => eprintln!("[serve] SIGTERM: shutting down"),
    }
}
