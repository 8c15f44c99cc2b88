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
    timer: std::sync::Mutex<&'t mut Timer>,
}

impl<'t> Watching<'t> {
    pub fn new(requests: u64, message: &str, quiet: bool, timer: &'t mut Timer) -> Watching<'t> {
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

/// Phase timer for `--timing` (stderr only, so reports stay byte-identical). Each lap also
/// shows the page faults the phase took where the kernel reports them (Linux): on fresh
/// memory the kernel zeroes every 4 KiB page on first touch, which on the shared VMs can cost
/// more than the computation that writes it.
pub struct Timer {
    on: bool,
    last: std::time::Instant,
    start: std::time::Instant,
    last_faults: Option<u64>,
}

impl Timer {
    pub fn new(on: bool) -> Timer {
        let now = std::time::Instant::now();
        Timer { on, last: now, start: now, last_faults: if on { minor_faults() } else { None } }
    }
    pub fn lap(&mut self, phase: &str) {
        let now = std::time::Instant::now();
        if self.on {
            let faults = minor_faults();
            let shown = match (self.last_faults, faults) {
                (Some(a), Some(b)) => format!(", {} page faults", b.saturating_sub(a)),
                _ => String::new(),
            };
            eprintln!(
                "timing: {phase:<10} {:>8.3} s  (total {:.3} s{shown})",
                (now - self.last).as_secs_f64(),
                (now - self.start).as_secs_f64()
            );
            self.last_faults = faults;
        }
        self.last = now;
    }
}

/// The process's minor page faults so far (`/proc/self/stat` field 10), where there is one.
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from its end.
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(7)?.parse().ok()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::minor_faults;

    #[test]
    fn minor_faults_count_first_touches_of_fresh_memory() {
        let before = minor_faults().expect("/proc/self/stat has a minflt field on Linux");
        // 64 MiB written once: at least one fault per 2 MiB page (4 KiB pages give many more).
        let touched = std::hint::black_box(vec![1u8; 64 << 20]);
        let after = minor_faults().unwrap();
        assert!(after >= before + 32, "page faults {before} -> {after} after touching 64 MiB (expected >= 32 more)");
        drop(touched);
    }
}
