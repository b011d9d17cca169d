//! The short soak test of the server (issue 25; the long one is `make bench`'s
//! `scripts/bench_soak.sh`): a few seconds of the soak driver's mix (searches, similar-image
//! lookups, good, truncated, oversized, slow and stalled uploads, scan bombs, waves of stalled
//! sockets) against a server in this test's own process, over the miniature run, with short
//! timeouts. Asserts behaviour, not speed: every request got its kind's status, every stalled
//! socket was closed by the server, the descriptors came back to their start level once the
//! clients were gone, and resident memory grew by less than a generous cap.
mod common;

#[path = "../examples/soak/driver.rs"]
mod driver;

use std::time::Duration;

use webly_serve::ServeConfig;

/// Short timeouts keep the run to seconds: stalled sockets are closed after
/// `HEADER_TIMEOUT_MS`, stalled uploads answered 408 after `REQUEST_TIMEOUT_MS`.
const HEADER_TIMEOUT_MS: u64 = 1_000;
const REQUEST_TIMEOUT_MS: u64 = 2_000;
/// Length of the mix: a stalled upload (408 after the request timeout) fits in it.
const MIX: Duration = Duration::from_secs(4);
/// Stalled sockets in the crowd and per wave.
const CROWD: usize = 300;
const WAVE: usize = 50;
/// Resident memory may grow by at most this over the run (a leak of a decoded upload per
/// request would pass it within the run's few hundred uploads); not a measure of anything.
const RSS_GROWTH_CAP: u64 = 512 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_soak_answers_every_request_and_leaks_no_descriptor() {
    let config = ServeConfig {
        header_timeout_ms: HEADER_TIMEOUT_MS,
        request_timeout_ms: REQUEST_TIMEOUT_MS,
        ..common::test_config()
    };
    let addr = common::start_with(config.clone()).await;
    let queries = ["snow", "bike park", "red car", "rain", "skyline", "cake"];
    let plan = driver::Plan {
        addr,
        pid: std::process::id(),
        duration: MIX,
        crowd: CROWD,
        wave: WAVE,
        header_timeout: Duration::from_millis(HEADER_TIMEOUT_MS),
        request_timeout: Duration::from_millis(REQUEST_TIMEOUT_MS),
        max_upload_bytes: config.image_limits.max_bytes,
        max_upload_pixels: config.image_limits.max_pixels,
        search_workers: 2,
        search_pause: Duration::from_millis(2),
        bomb_workers: 1,
        queries: queries.iter().map(|q| q.to_string()).collect(),
    };
    let report = driver::run(plan).await.expect("the soak runs");
    let text = report.render();
    eprintln!("{text}");

    for kind in driver::Kind::ALL {
        let s = report.kinds.get(&kind);
        assert!(
            s.is_some_and(|s| s.requests > 0),
            "no {kind:?} request was made\n{text}"
        );
    }
    assert_eq!(report.failures(), 0, "{text}");
    assert_eq!(report.crowd.connect_failed, 0, "{text}");
    assert_eq!(report.crowd.closed, CROWD, "{text}");
    assert_eq!(report.waves.closed, report.waves.opened, "{text}");
    assert!(
        report.crowd_searches.iter().all(|(s, _)| *s == Some(200)),
        "{text}"
    );
    for b in &report.bombs {
        assert!(
            b.status.is_some_and(|s| b.kind.expected().contains(&s)),
            "{text}"
        );
    }
    assert!(
        report.fds_settled_after.is_some() && report.end.fds <= report.start.fds,
        "descriptors did not come back to their start level\n{text}"
    );
    assert!(
        report.end.rss < report.start.rss + RSS_GROWTH_CAP,
        "resident memory grew past the cap\n{text}"
    );
}
