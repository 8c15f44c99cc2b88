//! Progress bars on stderr, shown only on a terminal and never with --quiet.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub fn bar(len: u64, message: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {human_pos}/{human_len} ({per_sec}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(message.to_string());
    pb
}

/// A counter for work of unknown length (rows of a file being checked), same rules as [`bar`].
pub fn counter(message: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    pb.set_style(ProgressStyle::with_template("{msg:>12} {human_pos} rows ({per_sec})").expect("valid template"));
    pb.set_message(message.to_string());
    pb
}

/// What the command line shows of a library run ([`switchyard::run::Watch`]): a progress bar of
/// requests, and the `--timing` laps at the end of each phase.
pub struct Watching<'t> {
    bar: ProgressBar,
    timer: std::sync::Mutex<&'t mut super::commands::Timer>,
}

impl<'t> Watching<'t> {
    pub fn new(requests: u64, message: &str, quiet: bool, timer: &'t mut super::commands::Timer) -> Watching<'t> {
        Watching { bar: bar(requests, message, quiet), timer: std::sync::Mutex::new(timer) }
    }
}

impl switchyard::run::Watch for Watching<'_> {
    fn advance(&self, requests: u64) {
        self.bar.inc(requests);
    }
    fn phase(&self, name: &str) {
        self.timer.lock().unwrap_or_else(std::sync::PoisonError::into_inner).lap(name);
    }
}

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
