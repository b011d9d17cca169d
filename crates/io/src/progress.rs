//! Progress displays shared by every crate's long loops, so each style is written once:
//!
//! - [`Progress`]: training, extraction, embedding. An indicatif bar on a terminal, plain
//!   periodic lines when nobody watches one (CI logs, `nohup`, pipes, where an indicatif bar
//!   draws nothing at all), nothing when hidden.
//! - [`bytes_bar`] and [`count_bar`]: plain indicatif bars over bytes read or items done, drawn
//!   on stderr or hidden.
//! - [`rate_bar`]: a bar with elapsed time and items per second (generating or reading a
//!   dataset), always drawn on stderr.
//!
//! Use [`PlainProgress`] directly as `if !stderr_is_terminal() { plain.tick(step, &message) }`
//! beside a bar; [`PlainProgress::tick`] prints at most one line per period,
//! [`PlainProgress::finish`] always prints.
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// The one progress display of long loops (training, extraction, embedding): an indicatif bar
/// on a terminal, periodic [`PlainProgress`] lines elsewhere, nothing when hidden.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    plain: Option<PlainProgress>,
    pos: u64,
    message: String,
}

impl Progress {
    /// Progress over `total` units named `what`, starting at `pos`; `show = false` hides it.
    pub fn new(show: bool, what: &str, total: u64, pos: u64) -> Self {
        let terminal = stderr_is_terminal();
        let bar = if show && terminal {
            let bar = ProgressBar::new(total);
            let style = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_position(pos);
            bar.set_message(what.to_string());
            bar
        } else {
            ProgressBar::hidden()
        };
        let plain =
            (show && !terminal).then(|| PlainProgress::new(what, total, PLAIN_PROGRESS_PERIOD));
        Self {
            bar,
            plain,
            pos,
            message: String::new(),
        }
    }

    /// Advances by `n` units, with a message for the bar and the plain lines.
    pub fn inc(&mut self, n: u64, message: String) {
        self.pos += n;
        self.bar.inc(n);
        if let Some(p) = &mut self.plain {
            p.tick(self.pos, &message);
        }
        self.bar.set_message(message.clone());
        self.message = message;
    }

    /// Prints a line above the bar (or as a plain line).
    pub fn println(&self, line: String) {
        if self.bar.is_hidden() {
            if self.plain.is_some() {
                eprintln!("{line}");
            }
        } else {
            self.bar.println(line);
        }
    }

    /// Clears the bar; plain output ends with a last line.
    pub fn finish(&mut self) {
        self.bar.finish_and_clear();
        if let Some(p) = &mut self.plain {
            p.finish(self.pos, &self.message);
        }
    }
}

/// The smallest duration, in seconds, that rates and shares divide by: a loop that took no
/// measurable time gives a large finite rate instead of infinity or NaN.
pub const MIN_SECONDS: f64 = 1e-9;

/// `count` per second over `seconds` (items per second, views per second), with `seconds`
/// floored at [`MIN_SECONDS`].
pub fn per_second(count: f64, seconds: f64) -> f64 {
    count / seconds.max(MIN_SECONDS)
}

/// Seconds between two plain progress lines by default.
pub const PLAIN_PROGRESS_PERIOD: Duration = Duration::from_secs(10);

/// Whether stderr is a terminal (where indicatif bars draw).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Periodic plain progress lines: `[what] 120/800 (15%) <message>, 34 s elapsed, about 3 min
/// left`.
#[derive(Debug, Clone)]
pub struct PlainProgress {
    what: String,
    total: u64,
    period: Duration,
    start: Instant,
    last: Option<Instant>,
}

impl PlainProgress {
    /// Progress over `total` units (steps, images) named `what`; a line at most every `period`.
    pub fn new(what: impl Into<String>, total: u64, period: Duration) -> Self {
        PlainProgress {
            what: what.into(),
            total,
            period,
            start: Instant::now(),
            last: None,
        }
    }

    /// Prints a line for position `pos` if the period has passed since the last one (the first
    /// call prints). Returns whether it printed.
    pub fn tick(&mut self, pos: u64, message: &str) -> bool {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < self.period)
        {
            return false;
        }
        self.last = Some(now);
        eprintln!(
            "{}",
            self.line(pos, message, now.duration_since(self.start))
        );
        true
    }

    /// Prints the final line whatever the period.
    pub fn finish(&mut self, pos: u64, message: &str) {
        self.last = None;
        self.tick(pos, message);
    }

    /// The line for `pos` after `elapsed`; the time left is extrapolated linearly.
    pub fn line(&self, pos: u64, message: &str, elapsed: Duration) -> String {
        let mut s = format!("[{}] {pos}/{}", self.what, self.total);
        if self.total > 0 {
            s += &format!(" ({:.0}%)", 100.0 * pos as f64 / self.total as f64);
        }
        if !message.is_empty() {
            s += &format!(" {message}");
        }
        let secs = elapsed.as_secs_f64();
        s += &format!(", {} elapsed", human(secs));
        if pos > 0 && pos < self.total {
            let left = secs * (self.total - pos) as f64 / pos as f64;
            s += &format!(", about {} left", human(left));
        }
        s
    }
}

fn human(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else if secs < 5400.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

fn target(show: bool) -> ProgressDrawTarget {
    if show {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// A bar over `len` bytes, labelled `msg`, with throughput and time left; hidden unless `show`.
pub fn bytes_bar(len: u64, show: bool, msg: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), target(show));
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style);
    }
    bar.set_message(msg);
    bar
}

/// A bar over `len` items, prefixed `msg`, with time left; hidden unless `show`.
pub fn count_bar(len: u64, show: bool, msg: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), target(show));
    if let Ok(style) = ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} {msg} ({eta})") {
        bar.set_style(style);
    }
    bar.set_prefix(msg);
    bar
}

/// A bar over `len` items labelled `msg`, with elapsed time and items per second, on stderr.
pub fn rate_bar(len: u64, msg: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len).with_style(rate_style());
    bar.set_message(msg);
    bar
}

/// The style of [`rate_bar`]: `{msg} {bar:40} {pos}/{len} [{elapsed_precise}, {per_sec}]`.
pub fn rate_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} [{elapsed_precise}, {per_sec}]")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_position_share_and_time_left() {
        let p = PlainProgress::new("train", 800, PLAIN_PROGRESS_PERIOD);
        let l = p.line(200, "epoch 1 loss 0.1234", Duration::from_secs(60));
        assert_eq!(
            l,
            "[train] 200/800 (25%) epoch 1 loss 0.1234, 60 s elapsed, about 3 min left"
        );
        let done = p.line(800, "", Duration::from_secs(7200));
        assert_eq!(done, "[train] 800/800 (100%), 2.0 h elapsed");
    }

    #[test]
    fn ticks_are_rate_limited_but_finish_always_prints() {
        let mut p = PlainProgress::new("embed", 10, Duration::from_secs(3600));
        assert!(p.tick(1, ""));
        assert!(!p.tick(2, ""), "within the period");
        p.finish(10, "done");
        assert!(p.last.is_some());
    }
}
