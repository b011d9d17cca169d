//! indicatif progress bars with the crate's styles.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn target(show: bool) -> ProgressDrawTarget {
    if show {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// A bar over `len` bytes.
pub(crate) fn bytes_bar(len: u64, show: bool, msg: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), target(show));
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style);
    }
    bar.set_message(msg);
    bar
}

/// A bar over `len` items.
pub(crate) fn count_bar(len: u64, show: bool, msg: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), target(show));
    if let Ok(style) = ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} {msg} ({eta})") {
        bar.set_style(style);
    }
    bar.set_prefix(msg);
    bar
}
