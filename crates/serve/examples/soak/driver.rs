//! The soak driver of `webly serve` (issue 25): for a bounded time, on loopback, a mix of text
//! searches, similar-image lookups, uploads (good, truncated, oversized, over the body limit, a
//! refused scan bomb, the costliest scan bomb the limits let through, a slow upload that
//! completes and one that stalls) and slow clients (sockets that never finish their request
//! head), while the server process's resident memory and open file descriptors are sampled from
//! `/proc/<pid>`. Every request kind has the statuses it must get; anything else is a failure.
//!
//! Phases: a warm-up (one request of each kind, not counted), the crowd (`crowd` stalled sockets
//! at once, a search timed while they are open, then each socket's time until the server closed
//! it), the mix (`duration`), the scan bombs one at a time (the server's CPU time for each, from
//! `/proc/<pid>/stat`, until it is idle again), and the end (every client gone; the server's
//! memory and descriptors once its descriptors are back at their start level, or after the
//! header timeout and a margin).
//!
//! Shared by the example `soak` (`make bench`: `webly serve` in its own process) and the test
//! `crates/serve/tests/soak.rs` (`make test`: a short run against a server in the test's own
//! process).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What to run, against which server.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The server's address (loopback).
    pub addr: SocketAddr,
    /// The server's process, whose `/proc/<pid>` is sampled (the own process for a server in
    /// process).
    pub pid: u32,
    /// Length of the mix.
    pub duration: Duration,
    /// Stalled sockets opened at once in the crowd phase.
    pub crowd: usize,
    /// Stalled sockets per wave during the mix.
    pub wave: usize,
    /// The server's `header_timeout_ms`.
    pub header_timeout: Duration,
    /// The server's `request_timeout_ms`.
    pub request_timeout: Duration,
    /// The server's `image_limits.max_bytes`.
    pub max_upload_bytes: usize,
    /// The server's `image_limits.max_pixels`.
    pub max_upload_pixels: u64,
    /// Closed-loop search clients during the mix.
    pub search_workers: usize,
    /// Pause of each search client between two searches (pacing).
    pub search_pause: Duration,
    /// Clients that upload the costly scan bomb, each one after another with a pause.
    pub bomb_workers: usize,
    /// Query texts, taken in turn.
    pub queries: Vec<String>,
}

/// Scans and side of a refused scan bomb: issue 25's example (`make_scans.py 4000 1000`), past
/// `webly_data::MAX_JPEG_SCANS` (64). Uploads are given the largest side within the limits, up
/// to this.
pub const REFUSED_BOMB_SCANS: usize = 1000;
const REFUSED_BOMB_SIDE: u32 = 4000;
/// Scans of the costliest bomb the server takes: `webly_data::MAX_JPEG_SCANS`.
pub const COSTLY_BOMB_SCANS: usize = 64;
/// Stalled sockets and slow uploads send one byte this often (a slowloris client's pace).
const DRIP: Duration = Duration::from_millis(250);
/// Chunks a slow (but complete) upload is cut into; sent over a quarter of the request timeout.
const SLOW_UPLOAD_CHUNKS: u32 = 8;
/// How long after a 408 a stalled upload keeps dripping to see that the server closed it.
const AFTER_ANSWER: Duration = Duration::from_secs(2);
/// Margin over the header timeout before a stalled socket counts as left open: the server's
/// timer is checked when the socket is next polled, and the drip and the scheduler add delay.
const CLOSE_MARGIN: Duration = Duration::from_secs(2);
/// A search made while the crowd is open must answer within this (issue 25's bar).
pub const CROWD_SEARCH_LIMIT: Duration = Duration::from_secs(1);
/// Sampling period of memory and descriptors during the run.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);
/// The server counts as idle after a bomb when it used less than this share of one core over
/// [`IDLE_WINDOW`].
const IDLE_SHARE: f64 = 0.05;
const IDLE_WINDOW: Duration = Duration::from_millis(500);
/// Pauses between requests of the upload and similar-image clients, and between costly bombs.
const UPLOAD_PAUSE: Duration = Duration::from_millis(20);
const SIMILAR_PAUSE: Duration = Duration::from_millis(5);
const BOMB_PAUSE: Duration = Duration::from_secs(1);

/// The kinds of request and what each must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `GET /api/search?q=...`: 200.
    Search,
    /// `GET /api/similar?key=...`: 200.
    SimilarKey,
    /// A thumbnail of the index uploaded to `POST /api/similar`: 200.
    UploadGood,
    /// The same upload sent in chunks over a quarter of the request timeout: 200.
    UploadSlow,
    /// The first half of that JPEG: 400.
    UploadTruncated,
    /// Over `max_bytes`, within the body limit (`max_bytes` + the multipart framing): 413.
    UploadOversized,
    /// Twice `max_bytes`: 413, or the server closes the connection before the body is sent.
    UploadOverBody,
    /// A JPEG of [`REFUSED_BOMB_SCANS`] scans: 400, before decoding.
    BombRefused,
    /// A JPEG of [`COSTLY_BOMB_SCANS`] scans at the largest picture the limits allow: decoded,
    /// 200, or 408 if it took longer than the request timeout.
    BombCostly,
    /// An upload whose body drips a byte at a time past the request timeout: 408, and the
    /// connection then closed.
    UploadStalled,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 10] = [
        Kind::Search,
        Kind::SimilarKey,
        Kind::UploadGood,
        Kind::UploadSlow,
        Kind::UploadTruncated,
        Kind::UploadOversized,
        Kind::UploadOverBody,
        Kind::BombRefused,
        Kind::BombCostly,
        Kind::UploadStalled,
    ];

    /// The statuses this kind may get.
    pub fn expected(self) -> &'static [u16] {
        match self {
            Kind::Search | Kind::SimilarKey | Kind::UploadGood | Kind::UploadSlow => &[200],
            Kind::UploadTruncated | Kind::BombRefused => &[400],
            Kind::UploadOversized | Kind::UploadOverBody => &[413],
            Kind::BombCostly => &[200, 408],
            Kind::UploadStalled => &[408],
        }
    }

    /// A request the server must answer with its result (not a refusal).
    pub fn is_good(self) -> bool {
        matches!(
            self,
            Kind::Search | Kind::SimilarKey | Kind::UploadGood | Kind::UploadSlow
        )
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Search => "search",
            Kind::SimilarKey => "similar (key)",
            Kind::UploadGood => "upload: good JPEG",
            Kind::UploadSlow => "upload: slow, completes",
            Kind::UploadTruncated => "upload: truncated",
            Kind::UploadOversized => "upload: over max_bytes",
            Kind::UploadOverBody => "upload: over the body limit",
            Kind::BombRefused => "upload: scan bomb, refused",
            Kind::BombCostly => "upload: scan bomb, 64 scans",
            Kind::UploadStalled => "upload: stalls (408)",
        }
    }
}

/// How one request ended.
#[derive(Debug, Clone)]
enum Outcome {
    /// An HTTP status (and, for a stalled upload, whether the server then closed the socket).
    Status(u16),
    /// No answer: the connection failed or closed, with what the client saw.
    Failed(String),
}

/// Requests of one kind.
#[derive(Debug, Default, Clone)]
pub struct KindStats {
    /// Requests made.
    pub requests: usize,
    /// Statuses received, with their counts.
    pub statuses: BTreeMap<u16, usize>,
    /// Requests that got no status, or a status not in [`Kind::expected`].
    pub failed: usize,
    /// The first few failures, as text.
    pub failures: Vec<String>,
    /// Latencies in seconds (request sent to answer read).
    pub latencies: Vec<f64>,
}

impl KindStats {
    /// The `p`-quantile of the latencies in milliseconds (nearest rank), `None` without any.
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        let mut v = self.latencies.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len());
        Some(v[rank - 1] * 1e3)
    }
}

/// The server's memory and descriptors at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Resident memory (`VmRSS`), in bytes.
    pub rss: u64,
    /// Open file descriptors (entries of `/proc/<pid>/fd`).
    pub fds: usize,
}

/// Stalled sockets: opened, closed by the server, and when.
#[derive(Debug, Default, Clone)]
pub struct StalledStats {
    /// Sockets opened (connected).
    pub opened: usize,
    /// Sockets the server closed within the header timeout and [`CLOSE_MARGIN`].
    pub closed: usize,
    /// Seconds from each socket's connect to the server closing it.
    pub close_after: Vec<f64>,
    /// Connects that failed (the listen queue full, descriptors out).
    pub connect_failed: usize,
}

impl StalledStats {
    fn merge(&mut self, o: StalledStats) {
        self.opened += o.opened;
        self.closed += o.closed;
        self.close_after.extend(o.close_after);
        self.connect_failed += o.connect_failed;
    }

    /// The longest time the server took to close a socket, in seconds.
    pub fn slowest(&self) -> f64 {
        self.close_after.iter().copied().fold(0.0, f64::max)
    }
}

/// The server's CPU time for one scan bomb uploaded alone.
#[derive(Debug, Clone)]
pub struct BombCost {
    /// Which bomb.
    pub kind: Kind,
    /// Its picture and file.
    pub side: u32,
    pub scans: usize,
    pub bytes: usize,
    /// The answer and its latency.
    pub status: Option<u16>,
    pub latency: f64,
    /// Seconds of CPU (user + system) the server spent from the upload until it was idle again.
    pub cpu: f64,
}

/// Everything the run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Per request kind (warm-up and bomb phase excluded).
    pub kinds: BTreeMap<Kind, KindStats>,
    /// The crowd: stalled sockets opened at once.
    pub crowd: StalledStats,
    /// Searches made while the crowd was open: status and seconds.
    pub crowd_searches: Vec<(Option<u16>, f64)>,
    /// The waves of stalled sockets during the mix.
    pub waves: StalledStats,
    /// Memory and descriptors after the warm-up, at their peak, and at the end.
    pub start: Sample,
    pub peak: Sample,
    pub end: Sample,
    /// Seconds from the end of the mix until the descriptors were back at their start level
    /// (`None`: they were not, within the header timeout and a margin).
    pub fds_settled_after: Option<f64>,
    /// The scan bombs, each alone.
    pub bombs: Vec<BombCost>,
    /// The plan this ran.
    pub plan: Plan,
    /// Seconds the mix ran.
    pub mix_seconds: f64,
    /// Seconds until the server was idle after the mix, and its CPU seconds meanwhile: work on
    /// requests already answered (a decode outlives its 408).
    pub left_over: (f64, f64),
}

impl Report {
    /// Requests that failed, of kinds the server must answer with a result.
    pub fn good_failures(&self) -> usize {
        self.kinds
            .iter()
            .filter(|(k, _)| k.is_good())
            .map(|(_, s)| s.failed)
            .sum()
    }

    /// Requests that failed, of every kind.
    pub fn failures(&self) -> usize {
        self.kinds.values().map(|s| s.failed).sum()
    }

    /// The report as text: a table of request kinds, then the slow clients, the server's
    /// memory and descriptors, and the bombs.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let total: usize = self.kinds.values().map(|s| s.requests).sum();
        let _ = writeln!(
            out,
            "mix: {:.1} s, {} requests ({:.0}/s), {} failed ({} of them good requests)",
            self.mix_seconds,
            total,
            total as f64 / self.mix_seconds.max(1e-9),
            self.failures(),
            self.good_failures()
        );
        let _ = writeln!(
            out,
            "{:<30} {:>8} {:>7} {:>10} {:>10}  statuses",
            "kind", "requests", "failed", "p50 ms", "p99 ms"
        );
        for (kind, s) in &self.kinds {
            let pct = |p| s.percentile_ms(p).map_or("-".into(), |v| format!("{v:.2}"));
            let statuses: Vec<String> = s
                .statuses
                .iter()
                .map(|(code, n)| format!("{code} x{n}"))
                .collect();
            let _ = writeln!(
                out,
                "{:<30} {:>8} {:>7} {:>10} {:>10}  {}",
                kind.name(),
                s.requests,
                s.failed,
                pct(0.50),
                pct(0.99),
                statuses.join(", ")
            );
            for f in &s.failures {
                let _ = writeln!(out, "    failure: {f}");
            }
        }
        let ht = self.plan.header_timeout.as_secs_f64();
        let crowd_searches: Vec<String> = self
            .crowd_searches
            .iter()
            .map(|(s, t)| match s {
                Some(code) => format!("{code} in {:.1} ms", t * 1e3),
                None => format!("failed after {:.1} ms", t * 1e3),
            })
            .collect();
        let _ = writeln!(
            out,
            "crowd: {} stalled sockets open ({} connects failed); searches meanwhile: {}; \
             {} of them closed by the server, the slowest after {:.2} s (header timeout {:.1} s)",
            self.crowd.opened,
            self.crowd.connect_failed,
            crowd_searches.join(", "),
            self.crowd.closed,
            self.crowd.slowest(),
            ht
        );
        let _ = writeln!(
            out,
            "waves during the mix: {} stalled sockets, {} closed by the server, the slowest \
             after {:.2} s",
            self.waves.opened,
            self.waves.closed,
            self.waves.slowest()
        );
        let mib = |b: u64| b as f64 / f64::from(1u32 << 20);
        let _ = writeln!(
            out,
            "server: RSS {:.1} MiB at start, {:.1} at the peak, {:.1} at the end; file \
             descriptors {} at start, {} at the peak, {} at the end ({})",
            mib(self.start.rss),
            mib(self.peak.rss),
            mib(self.end.rss),
            self.start.fds,
            self.peak.fds,
            self.end.fds,
            match self.fds_settled_after {
                Some(s) => format!("back to the start level {s:.2} s after the mix"),
                None => "NOT back to the start level".into(),
            }
        );
        let _ = writeln!(
            out,
            "after the mix: the server idle after {:.1} s, {:.2} s of CPU meanwhile",
            self.left_over.0, self.left_over.1
        );
        for b in &self.bombs {
            let _ = writeln!(
                out,
                "{}: {} x {} px, {} scans, {} bytes: {} in {:.2} s, server CPU {:.2} s \
                 (request timeout {:.1} s)",
                b.kind.name(),
                b.side,
                b.side,
                b.scans,
                b.bytes,
                b.status.map_or("no answer".into(), |s| s.to_string()),
                b.latency,
                b.cpu,
                self.plan.request_timeout.as_secs_f64()
            );
        }
        out
    }
}

/// Resident memory and descriptors of `pid`, from `/proc/<pid>/status` and `/proc/<pid>/fd`.
pub fn sample(pid: u32) -> std::io::Result<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no VmRSS in /proc/{pid}/status")))?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))?.count();
    Ok(Sample {
        rss: rss_kib * 1024,
        fds,
    })
}

/// CPU seconds (user + system, every thread) of `pid`, from `/proc/<pid>/stat` (fields 14 and
/// 15, in clock ticks: proc(5)).
pub fn cpu_seconds(pid: u32) -> std::io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count after its end.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| std::io::Error::other(format!("unreadable /proc/{pid}/stat")))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ")": field 3 is index 0, so utime (14) and stime (15) are 11 and 12.
    let ticks = |i: usize| -> std::io::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("unreadable /proc/{pid}/stat")))
    };
    let hz = rustix::param::clock_ticks_per_second();
    Ok((ticks(11)? + ticks(12)?) as f64 / hz as f64)
}

/// A grey `side x side` progressive JPEG of `scans` scans, every one after the first two an AC
/// refinement of the whole picture: the scan bomb of issue 25
/// (`shared/cases/image-scan-bomb/make_scans.py` repeats Pillow's last refinement scan the
/// same way). A refinement scan of a flat picture is a few bytes (end-of-band runs of 32,767
/// blocks), yet the decoder walks every coefficient of every block to refine it (libjpeg-turbo's
/// LJT-01-003). The first two scans (DC, then AC 1-63) are `jpeg-encoder`'s progressive output.
pub fn scan_bomb(side: u32, scans: usize) -> Vec<u8> {
    let side16 = u16::try_from(side).expect("a JPEG side fits 16 bits");
    let pixels = vec![128u8; side as usize * side as usize];
    let mut jpeg = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, 90);
    enc.set_progressive_scans(2);
    enc.set_optimized_huffman_tables(true);
    enc.encode(&pixels, side16, side16, jpeg_encoder::ColorType::Luma)
        .expect("a flat picture encodes");
    let eoi = jpeg.len() - 2;
    assert_eq!(jpeg[eoi..], [0xFF, 0xD9], "the encoder ends with EOI");
    let component = frame_component(&jpeg).expect("a progressive frame header");
    // AC table 1: the end-of-band symbols EOB0..EOB14 (run class r in the high nibble, ITU T.81
    // G.1.2.2), 15 codes of 4 bits each, canonical: symbol i gets code i.
    let mut dht = vec![0xFF, 0xC4, 0, 34, 0x11];
    dht.extend((1..=16).map(|len| if len == 4 { 15 } else { 0 }));
    dht.extend((0..15u8).map(|r| r << 4));
    // One refinement scan: component, DC table 0 / AC table 1, Ss 1, Se 63, Ah 1, Al 0.
    let mut scan = vec![0xFF, 0xDA, 0, 8, 1, component, 0x01, 1, 63, 0x10];
    let blocks = u64::from(side.div_ceil(8)).pow(2);
    let mut bits = BitWriter::default();
    let mut left = blocks;
    while left > 0 {
        let run = left.min((1 << 15) - 1);
        let r = 63 - run.leading_zeros(); // floor(log2(run))
        bits.put(u64::from(r), 4);
        bits.put(run - (1 << r), r);
        left -= run;
    }
    scan.extend(bits.finish());
    let repeats = scans.saturating_sub(2);
    let mut out = Vec::with_capacity(jpeg.len() + dht.len() + repeats * scan.len());
    out.extend_from_slice(&jpeg[..eoi]);
    out.extend_from_slice(&dht);
    for _ in 0..repeats {
        out.extend_from_slice(&scan);
    }
    out.extend_from_slice(&jpeg[eoi..]);
    out
}

/// Entropy-coded bits, most significant first, with `FF` bytes stuffed (`FF 00`) and the last
/// byte padded with ones (ITU T.81 F.1.2.3).
#[derive(Default)]
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, value: u64, bits: u32) {
        for i in (0..bits).rev() {
            self.acc = (self.acc << 1) | ((value >> i) & 1);
            self.n += 1;
            if self.n == 8 {
                self.byte();
            }
        }
    }

    fn byte(&mut self) {
        let b = self.acc as u8;
        self.out.push(b);
        if b == 0xFF {
            self.out.push(0);
        }
        (self.acc, self.n) = (0, 0);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            let pad = 8 - self.n;
            self.put((1 << pad) - 1, pad);
        }
        self.out
    }
}

/// The id of the first component of a JPEG's progressive frame header (SOF2), walking the
/// marker segments before the first scan.
fn frame_component(j: &[u8]) -> Option<u8> {
    let mut i = 2;
    while i + 3 < j.len() && j[i] == 0xFF {
        let len = usize::from(u16::from_be_bytes([j[i + 2], j[i + 3]]));
        match j[i + 1] {
            0xC2 => return j.get(i + 10).copied(),
            0xDA => return None,
            _ => i += 2 + len,
        }
    }
    None
}

/// The side of the largest square picture within `max_pixels`.
fn largest_side(max_pixels: u64) -> u32 {
    let side = (max_pixels as f64).sqrt().floor() as u32;
    side.min(u32::from(u16::MAX))
}

/// What every client of the run shares.
struct Ctx {
    plan: Plan,
    http: reqwest::Client,
    keys: Vec<String>,
    good_jpeg: Vec<u8>,
    refused_bomb: Vec<u8>,
    costly_bomb: Vec<u8>,
    costly_side: u32,
    stats: Mutex<BTreeMap<Kind, KindStats>>,
}

impl Ctx {
    fn record(&self, kind: Kind, outcome: Outcome, latency: f64) {
        let mut all = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let s = all.entry(kind).or_default();
        s.requests += 1;
        s.latencies.push(latency);
        let failure = match outcome {
            Outcome::Status(code) => {
                *s.statuses.entry(code).or_default() += 1;
                (!kind.expected().contains(&code)).then(|| format!("status {code}"))
            }
            // Over the body limit the server may close the connection before the body is sent.
            Outcome::Failed(_) if kind == Kind::UploadOverBody => None,
            Outcome::Failed(why) => Some(why),
        };
        if let Some(f) = failure {
            s.failed += 1;
            if s.failures.len() < 5 {
                s.failures.push(f);
            }
        }
    }
}

/// The multipart body of an upload of `bytes` as the field `image`, and its boundary.
fn multipart(bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "soak-boundary-7d1f0c2b".to_string();
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; \
         filename=\"upload.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (boundary, body)
}

/// The status code of an HTTP/1.1 response head.
fn status_of(head: &[u8]) -> Option<u16> {
    std::str::from_utf8(head.get(9..12)?).ok()?.parse().ok()
}

/// Sends `request` and reads its answer whole: the status, or why there was none.
async fn exchange(request: reqwest::RequestBuilder, what: &str) -> (Outcome, f64) {
    let t = Instant::now();
    let outcome = match request.send().await {
        Ok(r) => {
            let code = r.status().as_u16();
            match r.bytes().await {
                Ok(_) => Outcome::Status(code),
                Err(e) => Outcome::Failed(format!("{what}: reading the answer: {e}")),
            }
        }
        Err(e) => Outcome::Failed(format!("{what}: {e}")),
    };
    (outcome, t.elapsed().as_secs_f64())
}

async fn get(ctx: &Ctx, path: &str) -> (Outcome, f64) {
    let url = format!("http://{}{path}", ctx.plan.addr);
    exchange(ctx.http.get(url), path).await
}

async fn upload(ctx: &Ctx, bytes: Vec<u8>) -> (Outcome, f64) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("upload.jpg");
    let form = reqwest::multipart::Form::new().part("image", part);
    let url = format!("http://{}/api/similar?k=5", ctx.plan.addr);
    exchange(ctx.http.post(url).multipart(form), "upload").await
}

/// An upload on a connection of its own, its body sent in `chunks` pieces `gap` apart (one byte
/// at a time when `chunks` is the body's length). Stops sending once the server answers; then,
/// when `watch_close`, keeps dripping for [`AFTER_ANSWER`] and fails unless the server closed
/// the connection.
async fn slow_upload(
    addr: SocketAddr,
    bytes: &[u8],
    chunks: usize,
    gap: Duration,
    watch_close: bool,
) -> (Outcome, f64) {
    let t = Instant::now();
    let (boundary, body) = multipart(bytes);
    let head = format!(
        "POST /api/similar?k=5 HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; \
         boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut s = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => return (Outcome::Failed(format!("connect: {e}")), 0.0),
    };
    if let Err(e) = s.write_all(head.as_bytes()).await {
        return (Outcome::Failed(format!("sending the head: {e}")), 0.0);
    }
    let piece = body.len().div_ceil(chunks.max(1)).max(1);
    let mut sent = 0;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let mut status = None;
    // Send the body piece by piece, reading whatever the server says meanwhile.
    while status.is_none() {
        if sent < body.len() {
            let end = (sent + piece).min(body.len());
            if let Err(e) = s.write_all(&body[sent..end]).await {
                return (
                    Outcome::Failed(format!("sending the body: {e}")),
                    t.elapsed().as_secs_f64(),
                );
            }
            sent = end;
        }
        let wait = if sent < body.len() {
            gap
        } else {
            Duration::from_secs(3600)
        };
        match tokio::time::timeout(wait, s.read(&mut buf)).await {
            Err(_) => {}
            Ok(Ok(0)) => {
                return (
                    Outcome::Failed("closed without an answer".into()),
                    t.elapsed().as_secs_f64(),
                )
            }
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                status = status_of(&answer);
            }
            Ok(Err(e)) => {
                return (
                    Outcome::Failed(format!("reading the answer: {e}")),
                    t.elapsed().as_secs_f64(),
                )
            }
        }
    }
    let latency = t.elapsed().as_secs_f64();
    let code = status.unwrap_or_default();
    if !watch_close {
        return (Outcome::Status(code), latency);
    }
    // Keep dripping: a server that waits for the rest of a body it will never use holds the
    // socket as long as the client likes.
    let closed_by = Instant::now() + AFTER_ANSWER;
    while Instant::now() < closed_by {
        if sent < body.len() {
            if s.write_all(&body[sent..sent + 1]).await.is_err() {
                return (Outcome::Status(code), latency);
            }
            sent += 1;
        }
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(gap, s.read(&mut buf)).await {
            return (Outcome::Status(code), latency);
        }
    }
    (
        Outcome::Failed(format!(
            "{code}, then the connection stayed open for {:.1} s while the client dripped",
            AFTER_ANSWER.as_secs_f64()
        )),
        latency,
    )
}

/// Opens `n` sockets that send part of a request head and then a byte every [`DRIP`], and
/// returns when the server has closed them all or the header timeout and [`CLOSE_MARGIN`] have
/// passed since the last one connected. `while_open` runs once all are connected.
async fn stalled_sockets<F, Fut, T>(
    addr: SocketAddr,
    n: usize,
    limit: Duration,
    while_open: F,
) -> (StalledStats, T)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut stats = StalledStats::default();
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        match TcpStream::connect(addr).await {
            Ok(mut s) => {
                let opened = Instant::now();
                if s.write_all(b"GET /api/search?q=snow HTTP/1.1\r\nX-Slow: ")
                    .await
                    .is_ok()
                {
                    sockets.push((s, opened));
                } else {
                    // Closed already (counted as closed at once).
                    stats.opened += 1;
                    stats.closed += 1;
                    stats.close_after.push(opened.elapsed().as_secs_f64());
                }
            }
            Err(_) => stats.connect_failed += 1,
        }
    }
    stats.opened += sockets.len();
    let deadline = Instant::now() + limit + CLOSE_MARGIN;
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|(mut s, opened)| {
            tokio::spawn(async move {
                let mut buf = [0u8; 512];
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    match tokio::time::timeout(DRIP.min(left), s.read(&mut buf)).await {
                        Err(_) => {
                            if s.write_all(b"a").await.is_err() {
                                return Some(opened.elapsed().as_secs_f64());
                            }
                        }
                        // Whatever the server wrote (a 408, say) is read on; the end counts.
                        Ok(Ok(n)) if n > 0 => {}
                        Ok(_) => return Some(opened.elapsed().as_secs_f64()),
                    }
                }
            })
        })
        .collect();
    let meanwhile = while_open().await;
    for t in tasks {
        if let Ok(Some(after)) = t.await {
            stats.closed += 1;
            stats.close_after.push(after);
        }
    }
    (stats, meanwhile)
}

/// Runs the plan: warm-up, crowd, mix, bombs, end. Fails only when the server cannot be reached
/// for the warm-up (every later failure is counted in the report).
pub async fn run(plan: Plan) -> Result<Report, String> {
    let http = reqwest::Client::builder()
        .timeout(plan.request_timeout * 3)
        .build()
        .map_err(|e| format!("an HTTP client: {e}"))?;
    let base = format!("http://{}", plan.addr);
    // Keys of indexed images from a search, and a thumbnail as the good upload.
    let mut keys = Vec::new();
    for q in plan.queries.iter().take(8) {
        let url = format!("{base}/api/search?k=5&q={}", q.replace(' ', "+"));
        let v: serde_json::Value = http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        for h in v["hits"].as_array().into_iter().flatten() {
            if let Some(k) = h["key"].as_str() {
                keys.push(k.to_string());
            }
        }
    }
    keys.sort();
    keys.dedup();
    let first = keys.first().ok_or("no search found any image")?;
    let good_jpeg = http
        .get(format!("{base}/thumb/{first}"))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("the thumbnail of {first}: {e}"))?
        .bytes()
        .await
        .map_err(|e| format!("the thumbnail of {first}: {e}"))?
        .to_vec();
    let costly_side = largest_side(plan.max_upload_pixels);
    let refused_side = REFUSED_BOMB_SIDE.min(costly_side);
    let ctx = Arc::new(Ctx {
        http: http.clone(),
        keys,
        refused_bomb: scan_bomb(refused_side, REFUSED_BOMB_SCANS),
        costly_bomb: scan_bomb(costly_side, COSTLY_BOMB_SCANS),
        costly_side,
        good_jpeg,
        plan: plan.clone(),
        stats: Mutex::new(BTreeMap::new()),
    });
    if ctx.costly_bomb.len() > plan.max_upload_bytes {
        return Err(format!(
            "the 64-scan bomb of {costly_side} px is {} bytes, over the upload limit",
            ctx.costly_bomb.len()
        ));
    }

    // Warm-up: one of each quick kind (first uploads load what the encoder needs).
    for _ in 0..2 {
        let _ = get(&ctx, "/api/search?q=snow&k=5").await;
        let _ = upload(&ctx, ctx.good_jpeg.clone()).await;
    }
    ctx.stats.lock().unwrap_or_else(|e| e.into_inner()).clear();
    let start = sample(plan.pid).map_err(|e| format!("sampling the server: {e}"))?;
    let peak = Arc::new(Mutex::new(start));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (peak, done, pid) = (Arc::clone(&peak), Arc::clone(&done), plan.pid);
        tokio::spawn(async move {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(s) = sample(pid) {
                    let mut p = peak.lock().unwrap_or_else(|e| e.into_inner());
                    p.rss = p.rss.max(s.rss);
                    p.fds = p.fds.max(s.fds);
                }
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
        })
    };

    // The crowd: stalled sockets at once, searches timed on fresh connections meanwhile.
    let (crowd, crowd_searches) = {
        let addr = plan.addr;
        stalled_sockets(addr, plan.crowd, plan.header_timeout, || async move {
            let fresh = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .timeout(plan.header_timeout * 2)
                .build();
            let mut out = Vec::new();
            if let Ok(fresh) = fresh {
                for q in ["snow", "red car", "bike"] {
                    let t = Instant::now();
                    let r = fresh
                        .get(format!(
                            "http://{addr}/api/search?k=5&q={}",
                            q.replace(' ', "+")
                        ))
                        .send()
                        .await;
                    out.push((
                        r.ok().map(|r| r.status().as_u16()),
                        t.elapsed().as_secs_f64(),
                    ));
                }
            }
            out
        })
        .await
    };

    // The mix.
    let mix_started = Instant::now();
    let until = mix_started + plan.duration;
    let mut tasks = Vec::new();
    for w in 0..plan.search_workers {
        let ctx = Arc::clone(&ctx);
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while Instant::now() < until {
                let q = &ctx.plan.queries[i % ctx.plan.queries.len()];
                let (o, t) =
                    get(&ctx, &format!("/api/search?k=10&q={}", q.replace(' ', "+"))).await;
                ctx.record(Kind::Search, o, t);
                i += ctx.plan.search_workers;
                tokio::time::sleep(ctx.plan.search_pause).await;
            }
        }));
    }
    {
        let ctx = Arc::clone(&ctx);
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while Instant::now() < until {
                let key = &ctx.keys[i % ctx.keys.len()];
                let (o, t) = get(&ctx, &format!("/api/similar?k=10&key={key}")).await;
                ctx.record(Kind::SimilarKey, o, t);
                i += 1;
                tokio::time::sleep(SIMILAR_PAUSE).await;
            }
        }));
    }
    {
        let ctx = Arc::clone(&ctx);
        tasks.push(tokio::spawn(async move {
            let cycle = [
                Kind::UploadGood,
                Kind::UploadTruncated,
                Kind::UploadGood,
                Kind::UploadOversized,
                Kind::UploadGood,
                Kind::BombRefused,
                Kind::UploadGood,
                Kind::UploadOverBody,
            ];
            let mut i = 0;
            while Instant::now() < until {
                let kind = cycle[i % cycle.len()];
                let max = ctx.plan.max_upload_bytes;
                let bytes = match kind {
                    Kind::UploadTruncated => ctx.good_jpeg[..ctx.good_jpeg.len() / 2].to_vec(),
                    Kind::UploadOversized => vec![0xAB; max + 1000],
                    Kind::UploadOverBody => vec![0xCD; 2 * max],
                    Kind::BombRefused => ctx.refused_bomb.clone(),
                    _ => ctx.good_jpeg.clone(),
                };
                let (o, t) = upload(&ctx, bytes).await;
                ctx.record(kind, o, t);
                i += 1;
                tokio::time::sleep(UPLOAD_PAUSE).await;
            }
        }));
    }
    {
        let ctx = Arc::clone(&ctx);
        tasks.push(tokio::spawn(async move {
            let mut slow_next = true;
            while Instant::now() < until {
                let (kind, o, t) = if slow_next {
                    let gap = ctx.plan.request_timeout / 4 / SLOW_UPLOAD_CHUNKS;
                    let chunks = SLOW_UPLOAD_CHUNKS as usize;
                    let (o, t) =
                        slow_upload(ctx.plan.addr, &ctx.good_jpeg, chunks, gap, false).await;
                    (Kind::UploadSlow, o, t)
                } else {
                    let n = ctx.good_jpeg.len();
                    let (o, t) = slow_upload(ctx.plan.addr, &ctx.good_jpeg, n, DRIP, true).await;
                    (Kind::UploadStalled, o, t)
                };
                ctx.record(kind, o, t);
                slow_next = !slow_next;
            }
        }));
    }
    for _ in 0..plan.bomb_workers {
        let ctx = Arc::clone(&ctx);
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                let (o, t) = upload(&ctx, ctx.costly_bomb.clone()).await;
                ctx.record(Kind::BombCostly, o, t);
                tokio::time::sleep(BOMB_PAUSE).await;
            }
        }));
    }
    let waves = {
        let (addr, n, limit) = (plan.addr, plan.wave, plan.header_timeout);
        tokio::spawn(async move {
            let mut all = StalledStats::default();
            while n > 0 && Instant::now() < until {
                let (s, ()) = stalled_sockets(addr, n, limit, || async {}).await;
                all.merge(s);
            }
            all
        })
    };
    for t in tasks {
        let _ = t.await;
    }
    let waves = waves.await.unwrap_or_default();
    let mix_seconds = mix_started.elapsed().as_secs_f64();

    // Work left over from the mix (uploads answered 408 still decoding): until the server is
    // idle.
    let (busy_from, cpu_from) = (Instant::now(), cpu_seconds(plan.pid).unwrap_or(f64::NAN));
    wait_idle(plan.pid, plan.request_timeout * 3).await;
    let left_over = (
        busy_from.elapsed().as_secs_f64(),
        cpu_seconds(plan.pid).unwrap_or(f64::NAN) - cpu_from,
    );

    // The bombs, each alone: the server's CPU from the upload until it is idle again.
    let mut bombs = Vec::new();
    for (kind, side, scans, bytes) in [
        (
            Kind::BombRefused,
            refused_side,
            REFUSED_BOMB_SCANS,
            &ctx.refused_bomb,
        ),
        (
            Kind::BombCostly,
            ctx.costly_side,
            COSTLY_BOMB_SCANS,
            &ctx.costly_bomb,
        ),
    ] {
        wait_idle(plan.pid, plan.request_timeout * 3).await;
        let before = cpu_seconds(plan.pid).unwrap_or(f64::NAN);
        let (o, latency) = upload(&ctx, bytes.clone()).await;
        wait_idle(plan.pid, plan.request_timeout * 3).await;
        let cpu = cpu_seconds(plan.pid).unwrap_or(f64::NAN) - before;
        bombs.push(BombCost {
            kind,
            side,
            scans,
            bytes: bytes.len(),
            status: match o {
                Outcome::Status(s) => Some(s),
                Outcome::Failed(_) => None,
            },
            latency,
            cpu,
        });
    }

    // The end: every client gone, then the descriptors back at their start level.
    let kinds = std::mem::take(&mut *ctx.stats.lock().unwrap_or_else(|e| e.into_inner()));
    drop(ctx);
    drop(http);
    let ended = Instant::now();
    let mut fds_settled_after = None;
    let mut end = sample(plan.pid).map_err(|e| format!("sampling the server: {e}"))?;
    while ended.elapsed() < plan.header_timeout + CLOSE_MARGIN {
        end = sample(plan.pid).map_err(|e| format!("sampling the server: {e}"))?;
        if end.fds <= start.fds {
            fds_settled_after = Some(ended.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = sampler.await;
    let peak = *peak.lock().unwrap_or_else(|e| e.into_inner());
    Ok(Report {
        kinds,
        crowd,
        crowd_searches,
        waves,
        start,
        peak,
        end,
        fds_settled_after,
        bombs,
        plan,
        mix_seconds,
        left_over,
    })
}

/// Waits until `pid` uses less than [`IDLE_SHARE`] of a core over [`IDLE_WINDOW`], or `limit`.
async fn wait_idle(pid: u32, limit: Duration) {
    let started = Instant::now();
    let mut last = cpu_seconds(pid).unwrap_or(0.0);
    while started.elapsed() < limit {
        tokio::time::sleep(IDLE_WINDOW).await;
        let now = cpu_seconds(pid).unwrap_or(0.0);
        if now - last < IDLE_SHARE * IDLE_WINDOW.as_secs_f64() {
            return;
        }
        last = now;
    }
}
