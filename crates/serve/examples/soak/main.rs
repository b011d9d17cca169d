//! The soak test of `webly serve` against a server in its own process (`make bench`,
//! `scripts/bench_soak.sh`): the mix of [`driver`] for a bounded time, then a report of requests,
//! failures, p50/p99 per kind, stalled sockets, the server's memory and descriptors at start and
//! end, and its CPU time per scan bomb. Exits 1 when a good request failed, a request got a
//! status other than its kind's, a stalled socket stayed open past the header timeout, a search
//! took longer than a second beside the crowd, or the descriptors did not come back.
//!
//! ```sh
//! cargo run --release -p webly-serve --example soak -- --addr 127.0.0.1:18081 --pid PID \
//!     [--seconds 60] [--crowd 2000] [--wave 200] [--bomb-clients 1] [--queries eval/queries/simple.txt] \
//!     [--serve-config limits.toml]
//! ```
//! The server's limits are read from the same `--serve-config` file the server was given (the
//! defaults without one).
mod driver;

use std::path::Path;
use std::time::Duration;

use webly_serve::ServeConfig;

/// Raises this process's soft limit of open files to its hard limit: the crowd needs a
/// descriptor per stalled socket, over the common soft limit of 1,024.
fn raise_open_files() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let addr = value("--addr")
        .ok_or("usage: soak --addr HOST:PORT --pid PID [--seconds S] [--crowd N] [--wave N] [--queries FILE] [--serve-config FILE]")?
        .parse()?;
    let pid: u32 = value("--pid").ok_or("--pid is missing")?.parse()?;
    let seconds: f64 = value("--seconds").map_or(Ok(60.0), |s| s.parse())?;
    let crowd: usize = value("--crowd").map_or(Ok(2000), |s| s.parse())?;
    let wave: usize = value("--wave").map_or(Ok(200), |s| s.parse())?;
    let bomb_workers: usize = value("--bomb-clients").map_or(Ok(1), |s| s.parse())?;
    let queries_file = value("--queries").unwrap_or_else(|| "eval/queries/simple.txt".into());
    let config = match value("--serve-config") {
        Some(p) => ServeConfig::load(Path::new(&p))?,
        None => ServeConfig::default(),
    };
    let queries: Vec<String> = std::fs::read_to_string(&queries_file)
        .map_err(|e| format!("{queries_file}: {e}"))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    if queries.is_empty() {
        return Err(format!("{queries_file}: no queries").into());
    }
    raise_open_files();
    let plan = driver::Plan {
        addr,
        pid,
        duration: Duration::from_secs_f64(seconds),
        crowd,
        wave,
        header_timeout: Duration::from_millis(config.header_timeout_ms),
        request_timeout: Duration::from_millis(config.request_timeout_ms),
        max_upload_bytes: config.image_limits.max_bytes,
        max_upload_pixels: config.image_limits.max_pixels,
        search_workers: 2,
        search_pause: Duration::from_millis(1),
        bomb_workers,
        queries,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(driver::run(plan))?;
    print!("{}", report.render());
    let limit = report.plan.header_timeout.as_secs_f64() + 1.0;
    let mut problems = Vec::new();
    if report.failures() > 0 {
        problems.push(format!("{} requests failed", report.failures()));
    }
    let stalled = report.crowd.opened + report.waves.opened;
    let closed = report.crowd.closed + report.waves.closed;
    if closed < stalled {
        problems.push(format!("{} stalled sockets left open", stalled - closed));
    }
    if report.crowd.slowest().max(report.waves.slowest()) > limit {
        problems.push("a stalled socket closed later than the header timeout".into());
    }
    if report
        .crowd_searches
        .iter()
        .any(|(s, t)| *s != Some(200) || *t > driver::CROWD_SEARCH_LIMIT.as_secs_f64())
    {
        problems.push("a search beside the crowd failed or took over a second".into());
    }
    if report.fds_settled_after.is_none() {
        problems.push("the server's descriptors did not come back".into());
    }
    if problems.is_empty() {
        println!("soak: OK");
        Ok(())
    } else {
        println!("soak: FAILED: {}", problems.join("; "));
        std::process::exit(1);
    }
}
