//! Axis scales: the value range of one axis, where its ticks go and how they read. No drawing here.
//!
//! plotters' own axes print ticks with `{:?}` (`0.30000000000000004`) and put a single tick on a log range
//! under 10x, so the chart draws its axes itself from a [`Scale`]: ticks are round numbers (1-2-5 steps on
//! a linear axis; 1-2-5 or 1..9 per decade on a log axis) and labels carry the unit named in the axis
//! label: `$1,250`, `$12.5k`, `$1.2M`, `0.5 s`.

/// What the numbers on an axis are, read from the unit in its label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    Dollars,
    Seconds,
    Plain,
}

impl Unit {
    /// "expected cost (USD per day)" or "cost ($)" is dollars, "p99 latency bound (s)" is seconds; anything
    /// else ("quality score", "latency (ms)") is a plain number, its unit left to the axis label.
    pub fn from_label(label: &str) -> Unit {
        let lower = label.to_lowercase();
        if lower.contains("usd") || lower.contains('$') {
            return Unit::Dollars;
        }
        let unit = match (lower.rfind('('), lower.rfind(')')) {
            (Some(open), Some(close)) if open < close => &lower[open + 1..close],
            _ => return Unit::Plain,
        };
        let first_word = unit.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
        if matches!(first_word, "s" | "sec" | "secs" | "second" | "seconds") { Unit::Seconds } else { Unit::Plain }
    }
}

/// One axis: its range, its ticks and how to print them.
#[derive(Debug, Clone)]
pub struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
    /// Labelled ticks with a gridline.
    major: Vec<f64>,
    /// Unlabelled faint gridlines (the 2..9 of each decade on a log axis).
    minor: Vec<f64>,
    unit: Unit,
    /// Dollars above $10k are printed in thousands or millions: (divisor, suffix).
    dollar_suffix: (f64, &'static str),
    /// Digits after the point; `None` on a log axis, where each tick gets as many as it needs.
    decimals: Option<usize>,
}

/// At most this many tick marks on one axis, whatever the range: a guard against degenerate input.
const MAX_TICKS: usize = 200;

impl Scale {
    /// A linear axis over `lo..hi` (widened if empty).
    pub fn linear(lo: f64, hi: f64, unit: Unit) -> Scale {
        let (lo, hi) = widen(lo, hi);
        Scale::linear_with_ticks(lo, hi, linear_ticks(lo, hi), unit)
    }

    /// A linear axis that starts at a labelled tick at or below `lo`, so a reader sees at once that an axis
    /// which does not start at zero does not.
    pub fn linear_from_tick(lo: f64, hi: f64, unit: Unit) -> Scale {
        let (lo, hi) = widen(lo, hi);
        let start = match nice_step(lo, hi) {
            Some(step) if lo.is_finite() => (lo / step).floor() * step,
            _ => lo,
        };
        Scale::linear_with_ticks(start, hi, linear_ticks(start, hi), unit)
    }

    fn linear_with_ticks(lo: f64, hi: f64, major: Vec<f64>, unit: Unit) -> Scale {
        let dollar_suffix = dollar_suffix(&major);
        let decimals = major.iter().map(|&v| decimals_for(v / dollar_suffix.0)).max().unwrap_or(0);
        // Whole dollars, or cents: "$0.10" rather than "$0.1".
        let cents = unit == Unit::Dollars && dollar_suffix.1.is_empty() && decimals == 1;
        let decimals = Some(if cents { 2 } else { decimals });
        Scale { lo, hi, log: false, major, minor: Vec::new(), unit, dollar_suffix, decimals }
    }

    /// A log axis over `lo..hi`; falls back to linear unless `0 < lo < hi`, both finite.
    pub fn log(lo: f64, hi: f64, unit: Unit) -> Scale {
        if !(lo > 0.0 && hi > lo && hi.is_finite()) {
            return Scale::linear(lo, hi, unit);
        }
        let (major, minor) = log_ticks(lo, hi);
        let dollar_suffix = dollar_suffix(&major);
        Scale { lo, hi, log: true, major, minor, unit, dollar_suffix, decimals: None }
    }

    pub fn is_log(&self) -> bool {
        self.log
    }

    pub fn major_ticks(&self) -> &[f64] {
        &self.major
    }

    pub fn minor_ticks(&self) -> &[f64] {
        &self.minor
    }

    /// The lower and upper ends of the axis.
    #[cfg(test)]
    pub fn ends(&self) -> (f64, f64) {
        (self.lo, self.hi)
    }

    /// Where `v` falls along the axis, 0 at `lo` and 1 at `hi` (outside 0..1 when `v` is outside the range).
    pub fn fraction(&self, v: f64) -> f64 {
        if self.log {
            (v.max(f64::MIN_POSITIVE).ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    /// `v` clamped into the axis range, for drawing intervals that reach past it.
    pub fn clamp(&self, v: f64) -> f64 {
        v.clamp(self.lo, self.hi)
    }

    /// A tick label: `$1,250`, `$12.5k`, `0.25 s`, `1,500`.
    pub fn label(&self, v: f64) -> String {
        let (divisor, suffix) = self.dollar_suffix;
        let scaled = if self.unit == Unit::Dollars { v / divisor } else { v };
        let decimals = self.decimals.unwrap_or_else(|| decimals_for(scaled));
        match self.unit {
            // "$0", not "$0k"; the minus before the dollar sign.
            Unit::Dollars if scaled == 0.0 && !suffix.is_empty() => "$0".to_string(),
            Unit::Dollars => match format_number(scaled, decimals).strip_prefix('-') {
                Some(magnitude) => format!("-${magnitude}{suffix}"),
                None => format!("${}{suffix}", format_number(scaled, decimals)),
            },
            Unit::Seconds => format!("{} s", format_number(scaled, decimals)),
            Unit::Plain => format_number(scaled, decimals),
        }
    }
}

/// A non-empty range around `lo..hi`.
fn widen(lo: f64, hi: f64) -> (f64, f64) {
    match (lo.is_finite() && hi.is_finite(), hi > lo) {
        (true, true) => (lo, hi),
        (true, false) => {
            let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            (lo - pad, lo + pad)
        }
        (false, _) => (0.0, 1.0),
    }
}

/// A round step (1, 2, 2.5 or 5 x 10^k) giving about six ticks over `lo..hi`.
fn nice_step(lo: f64, hi: f64) -> Option<f64> {
    let raw = (hi - lo) / 6.0;
    if !(raw.is_finite() && raw > 0.0) {
        return None;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|&s| s >= raw)
}

/// The multiples of the round step within `lo..hi`.
fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let Some(step) = nice_step(lo, hi) else {
        return vec![lo, hi];
    };
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last)
        .take(MAX_TICKS)
        // Multiplying (not accumulating) keeps 0.1 * 3 from becoming 0.30000000000000004 after rounding.
        .map(|k| round_to_step(k as f64 * step, step))
        .collect()
}

fn round_to_step(v: f64, step: f64) -> f64 {
    let digits = (-step.log10().floor() + 2.0).clamp(0.0, 15.0) as i32;
    let factor = 10f64.powi(digits);
    let r = (v * factor).round() / factor;
    if r == 0.0 { 0.0 } else { r }
}

/// Major and minor ticks for a log axis: the densest of 1..9, 1-2-3-5-7, 1-2-5 or 1 per decade that
/// gives at most ten labels; every n-th decade if even that is too many.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let first_decade = lo.log10().floor() as i32;
    let last_decade = hi.log10().ceil() as i32;
    let in_range = |v: &f64| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9);
    let decade_values = |mantissas: &[f64], every: usize| -> Vec<f64> {
        (first_decade..=last_decade)
            .filter(|k| (k - first_decade) as usize % every == 0)
            .flat_map(|k| mantissas.iter().map(move |m| round_sig(m * 10f64.powi(k))))
            .filter(in_range)
            .take(MAX_TICKS)
            .collect()
    };
    const SETS: [&[f64]; 4] =
        [&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], &[1.0, 2.0, 3.0, 5.0, 7.0], &[1.0, 2.0, 5.0], &[1.0]];
    let mut major = SETS.iter().map(|set| decade_values(set, 1)).find(|ticks| ticks.len() <= 10).unwrap_or_default();
    if major.is_empty() {
        let decades = (last_decade - first_decade).max(1) as usize;
        major = decade_values(&[1.0], decades.div_ceil(8));
    }
    let minor = if last_decade - first_decade <= 8 {
        decade_values(SETS[0], 1).into_iter().filter(|v| !major.contains(v)).collect()
    } else {
        Vec::new()
    };
    (major, minor)
}

/// `v` to 12 significant digits, so 3 x 10^-1 prints as 0.3.
fn round_sig(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let digits = 11 - v.abs().log10().floor() as i32;
    let factor = 10f64.powi(digits.clamp(-300, 300));
    (v * factor).round() / factor
}

/// Dollar ticks at or above $10k read as thousands, at or above $1M as millions.
fn dollar_suffix(ticks: &[f64]) -> (f64, &'static str) {
    let largest = ticks.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if largest >= 1e6 {
        (1e6, "M")
    } else if largest >= 1e4 {
        (1e3, "k")
    } else {
        (1.0, "")
    }
}

/// The fewest digits after the point (at most 6) that print `v` exactly enough.
fn decimals_for(v: f64) -> usize {
    (0..=6)
        .find(|&d| ((v * 10f64.powi(d as i32)).round() / 10f64.powi(d as i32) - v).abs() <= 1e-9 * v.abs().max(1e-6))
        .unwrap_or(6)
}

/// `1234.5` with 2 decimals is `1,234.50`.
fn format_number(v: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, v.abs());
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text.as_str(), None),
    };
    let mut grouped = String::new();
    for (i, digit) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let negative = v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0');
    let sign = if negative { "-" } else { "" };
    match frac_part {
        Some(frac) => format!("{sign}{grouped}.{frac}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(scale: &Scale) -> Vec<String> {
        scale.major_ticks().iter().map(|&v| scale.label(v)).collect()
    }

    #[test]
    fn units_come_from_the_axis_label() {
        let check = |label: &str, expected: Unit| assert_eq!(Unit::from_label(label), expected, "{label}");
        check("expected cost (USD per day)", Unit::Dollars);
        check("cost ($/day)", Unit::Dollars);
        check("p99 latency bound (s)", Unit::Seconds);
        check("latency (seconds)", Unit::Seconds);
        check("latency (ms)", Unit::Plain);
        check("quality score", Unit::Plain);
    }

    #[test]
    fn dollar_ticks_use_separators_and_suffixes() {
        assert_eq!(
            labels(&Scale::linear(1000.0, 4000.0, Unit::Dollars)),
            ["$1,000", "$1,500", "$2,000", "$2,500", "$3,000", "$3,500", "$4,000"]
        );
        assert_eq!(
            labels(&Scale::linear(20_000.0, 45_000.0, Unit::Dollars)),
            ["$20k", "$25k", "$30k", "$35k", "$40k", "$45k"]
        );
        assert_eq!(
            labels(&Scale::linear(1.1e6, 1.6e6, Unit::Dollars)),
            ["$1.1M", "$1.2M", "$1.3M", "$1.4M", "$1.5M", "$1.6M"]
        );
        assert_eq!(labels(&Scale::linear(0.0, 40_000.0, Unit::Dollars))[..2], ["$0", "$10k"]);
        assert_eq!(labels(&Scale::linear(0.0, 0.5, Unit::Dollars))[..3], ["$0.00", "$0.10", "$0.20"]);
        assert_eq!(labels(&Scale::linear(-2.0, 1.0, Unit::Dollars))[..2], ["-$2.00", "-$1.50"]);
    }

    #[test]
    fn linear_ticks_share_decimals_and_never_show_float_noise() {
        assert_eq!(
            labels(&Scale::linear(0.25, 1.5, Unit::Seconds)),
            ["0.25 s", "0.50 s", "0.75 s", "1.00 s", "1.25 s", "1.50 s"]
        );
        assert_eq!(labels(&Scale::linear(0.1, 0.7, Unit::Plain)), ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"]);
        assert_eq!(labels(&Scale::linear(0.0, 12_000.0, Unit::Plain))[..3], ["0", "2,000", "4,000"]);
    }

    #[test]
    fn an_axis_from_a_tick_labels_where_it_starts() {
        let scale = Scale::linear_from_tick(19_300.0, 61_000.0, Unit::Dollars);
        assert_eq!(scale.ends().0, 10_000.0);
        assert_eq!(labels(&scale)[0], "$10k");
        assert_eq!(Scale::linear_from_tick(0.4, 3.0, Unit::Plain).ends().0, 0.0);
    }

    #[test]
    fn log_ticks_are_round_in_every_decade() {
        let narrow = Scale::log(0.25, 2.0, Unit::Seconds);
        assert_eq!(labels(&narrow), ["0.3 s", "0.4 s", "0.5 s", "0.6 s", "0.7 s", "0.8 s", "0.9 s", "1 s", "2 s"]);
        let wide = Scale::log(0.2, 40.0, Unit::Seconds);
        assert_eq!(labels(&wide), ["0.2 s", "0.5 s", "1 s", "2 s", "5 s", "10 s", "20 s"]);
        assert!(wide.minor.contains(&3.0) && !wide.minor.contains(&2.0));
        let huge = Scale::log(1e-3, 1e9, Unit::Plain);
        assert!(huge.major_ticks().len() <= 10, "{:?}", huge.major_ticks());
    }

    #[test]
    fn degenerate_ranges_still_give_an_axis() {
        for (lo, hi) in [(5.0, 5.0), (0.0, 0.0), (f64::NAN, 1.0), (1.0, f64::INFINITY), (-1e308, 1e308)] {
            let scale = Scale::linear(lo, hi, Unit::Plain);
            let (start, end) = scale.ends();
            assert!(start < end && start.is_finite(), "{lo}..{hi} gave {start}..{end}");
        }
        assert!(!Scale::log(-1.0, 10.0, Unit::Plain).is_log(), "a log axis needs positive values");
    }
}
