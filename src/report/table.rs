//! The terminal rendering of a simulate report, from the typed report itself (so that what a
//! person reads and what a program reads are the same numbers).

use super::replicated::{Interval, Named, Number};
use super::simulate::{Latency, RequestGroup, ServingGroup, SimulateReport};

/// A whole number with thousands separators: `1,234,567`, `-1,000`.
pub fn thousands(n: u64) -> String {
    fmt_int(n as f64)
}

fn fmt_int(x: f64) -> String {
    let s = format!("{:.0}", x);
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{sign}{out}")
}

fn fmt_secs(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}

fn fmt_usd(x: f64) -> String {
    if x >= 1000.0 {
        fmt_int(x)
    } else if x >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

fn pct(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(x) if x > 0.0 && x < 0.0001 => format!("{:.4}%", x * 100.0),
        Some(x) => format!("{:.2}%", x * 100.0),
    }
}

/// A figure with the half-width of its 95% interval when the report has one, in `unit`.
fn with_ci(value: Number, interval: Option<Interval>, unit: Unit) -> String {
    with_unit(value.as_f64(), interval.map(|[low, high]| (high - low) / 2.0), unit)
}

fn quality(q: Option<Number>) -> String {
    q.map_or("-".into(), |q| format!("{:.3}", q.as_f64()))
}

/// The unit of a figure, which its value and the half-width of its interval both carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// US dollars: `$1.23`.
    Usd,
    /// Seconds, shown in ms below one second: `812 ms`, `1.40 s`.
    Seconds,
    /// A fraction shown as a percentage: `99.52%`.
    Fraction,
    /// A figure without a unit (a quality score): `0.812`.
    Score,
}

/// "value ± half" with the unit on both, the half to the value's precision or to its own first
/// significant digit, whichever is finer: `$1.23 ± $0.04`, `812 ms ± 9 ms`, `99.52% ± 0.04%`.
/// Without a half, the value alone.
pub fn with_unit(value: f64, half: Option<f64>, unit: Unit) -> String {
    // (scale, decimals, prefix, suffix) of the value; the half is shown on the same scale.
    let (scale, decimals, prefix, suffix) = match unit {
        Unit::Usd if value.abs() >= 1000.0 => (1.0, 0, "$", ""),
        Unit::Usd if value.abs() >= 1.0 => (1.0, 2, "$", ""),
        Unit::Usd => (1.0, 4, "$", ""),
        Unit::Seconds if value.abs() >= 1.0 => (1.0, secs_decimals(value), "", " s"),
        Unit::Seconds => (1000.0, secs_decimals(value * 1000.0), "", " ms"),
        Unit::Fraction if value > 0.0 && value < 1e-6 => (100.0, 6, "", "%"),
        Unit::Fraction if value > 0.0 && value < 1e-4 => (100.0, 4, "", "%"),
        Unit::Fraction => (100.0, 2, "", "%"),
        Unit::Score => (1.0, 3, "", ""),
    };
    let number = |x: f64, decimals: usize| {
        let text = format!("{:.decimals$}", x * scale);
        if unit == Unit::Usd && decimals == 0 { fmt_int(x) } else { text }
    };
    let shown = format!("{prefix}{}{suffix}", number(value, decimals));
    match half {
        Some(h) if h.is_finite() => {
            let scaled = (h * scale).abs();
            let first_digit = if scaled > 0.0 { (-scaled.log10().floor()).max(0.0) as usize } else { 0 };
            format!("{shown} ± {prefix}{}{suffix}", number(h.abs(), decimals.max(first_digit)))
        }
        _ => shown,
    }
}

/// Decimals for a time of `x` (seconds or milliseconds): three significant digits.
fn secs_decimals(x: f64) -> usize {
    match x.abs() {
        x if x >= 100.0 => 0,
        x if x >= 10.0 => 1,
        _ => 2,
    }
}

struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn render(&self) -> String {
        let n = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.len()).collect();
        for r in &self.rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: Vec<String>| -> String {
            let mut s = String::from(" ");
            for (i, c) in cells.iter().enumerate() {
                let pad = widths[i] - c.chars().count();
                if i == 0 {
                    s.push_str(c);
                    s.push_str(&" ".repeat(pad));
                } else {
                    s.push_str(&" ".repeat(pad + 2));
                    s.push_str(c);
                }
            }
            s.trim_end().to_string()
        };
        let mut out = line(self.header.iter().map(|h| h.to_string()).collect());
        out.push('\n');
        out.push_str(&format!(" {}\n", "-".repeat(widths.iter().sum::<usize>() + 2 * (n - 1))));
        for r in &self.rows {
            out.push_str(&line(r.clone()));
            out.push('\n');
        }
        out
    }
}

fn secs(l: &Option<Latency>, q: fn(&Latency) -> Number) -> String {
    fmt_secs(l.as_ref().map(|l| q(l).as_f64()))
}

fn request_rows(groups: &Named<RequestGroup>) -> Vec<Vec<String>> {
    groups
        .iter()
        .map(|(name, g)| {
            vec![
                name.to_string(),
                fmt_int(g.requests.as_f64()),
                pct(Some(g.traffic_share.as_f64())),
                pct(Some(g.success_rate.as_f64())),
                pct(Some(g.fallback_rate.as_f64())),
                fmt_usd(g.cost_usd.as_f64()),
                fmt_usd(g.cost_per_1k_requests_usd.as_f64()),
                quality(g.mean_quality),
                secs(&g.latency_s, |l| l.p50),
                secs(&g.latency_s, |l| l.p90),
                secs(&g.latency_s, |l| l.p99),
                secs(&g.latency_s, |l| l.p999),
            ]
        })
        .collect()
}

fn serving_rows(groups: &Named<ServingGroup>) -> Vec<Vec<String>> {
    groups
        .iter()
        .filter(|(_, g)| g.attempts.as_f64() > 0.0)
        .map(|(name, g)| {
            vec![
                name.to_string(),
                fmt_int(g.requests_served.as_f64()),
                pct(Some(g.traffic_share.as_f64())),
                fmt_int(g.attempts.as_f64()),
                fmt_int(g.failed_attempts.as_f64()),
                fmt_usd(g.cost_usd.as_f64()),
                pct(Some(g.cost_share.as_f64())),
                quality(g.mean_quality),
                secs(&g.latency_s, |l| l.p50),
                secs(&g.latency_s, |l| l.p99),
            ]
        })
        .collect()
}

/// Render a simulate report for a terminal.
pub fn render_text(report: &SimulateReport) -> String {
    let mut out = String::new();
    let inputs = &report.inputs;
    out.push_str(&format!(
        "trace {}  catalog {}  policy {}\nengine {}  seed {}  replicates {}\n",
        inputs.trace, inputs.catalog, inputs.policy, inputs.engine, inputs.seed, report.replicates
    ));
    out.push_str(&format!("bad rows skipped {}\n\n", fmt_int(inputs.skipped_rows as f64)));
    let f = &report.figures;
    let ci = report.ci95.as_ref().map(|c| &c.figures);
    out.push_str(&format!(
        "requests {}   served {} ({})   failed {}   fallback {}\n",
        fmt_int(f.n_requests.as_f64()),
        fmt_int(f.n_served.as_f64()),
        with_ci(f.success_rate, ci.and_then(|c| c.success_rate), Unit::Fraction),
        fmt_int(f.n_failed.as_f64()),
        with_ci(f.fallback_rate, ci.and_then(|c| c.fallback_rate), Unit::Fraction),
    ));
    out.push_str(&format!(
        "cost {} total, ${} per 1k requests   mean quality {}\n",
        with_ci(f.total_cost_usd, ci.and_then(|c| c.total_cost_usd), Unit::Usd),
        fmt_usd(f.cost_per_1k_requests_usd.as_f64()),
        quality(f.mean_quality),
    ));
    let overall_ci = ci.and_then(|c| c.latency_s.as_ref()).and_then(|l| l.overall.as_ref());
    let lat = |q: fn(&Latency) -> Number, qi: fn(&super::LatencyCi) -> Option<Interval>| match &f.latency_s.overall {
        None => "-".to_string(),
        Some(l) => with_ci(q(l), overall_ci.and_then(qi), Unit::Seconds),
    };
    out.push_str(&format!(
        "latency  p50 {}   p90 {}   p99 {}   p99.9 {}\n\n",
        lat(|l| l.p50, |c| c.p50),
        lat(|l| l.p90, |c| c.p90),
        lat(|l| l.p99, |c| c.p99),
        lat(|l| l.p999, |c| c.p999),
    ));
    let request_header = vec![
        "", "requests", "share", "success", "fallback", "cost $", "$/1k req", "quality", "p50 s", "p90 s", "p99 s",
        "p99.9 s",
    ];
    let serving_header =
        vec!["", "served", "share", "attempts", "failed", "cost $", "cost share", "quality", "p50 s", "p99 s"];
    let tables = [
        ("class", request_header.clone(), request_rows(&f.per_class)),
        ("origin", request_header, request_rows(&f.per_origin)),
        ("model", serving_header.clone(), serving_rows(&f.per_model)),
        ("endpoint", serving_header, serving_rows(&f.per_endpoint)),
    ];
    for (title, mut header, rows) in tables {
        if rows.is_empty() {
            continue;
        }
        header[0] = title;
        out.push_str(&Table { header, rows }.render());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_minus_carries_the_unit_of_its_value() {
        for (value, half, unit, want) in [
            (1.2345, Some(0.0412), Unit::Usd, "$1.23 ± $0.04"),
            (1.2345, Some(0.0041), Unit::Usd, "$1.23 ± $0.004"),
            (5330.2, Some(41.7), Unit::Usd, "$5,330 ± $42"),
            (0.8123, Some(0.0091), Unit::Seconds, "812 ms ± 9 ms"),
            (0.0812, Some(0.00043), Unit::Seconds, "81.2 ms ± 0.4 ms"),
            (1.402, Some(0.021), Unit::Seconds, "1.40 s ± 0.02 s"),
            (0.99523, Some(0.00041), Unit::Fraction, "99.52% ± 0.04%"),
            (0.812, Some(0.0042), Unit::Score, "0.812 ± 0.004"),
            (0.8123, None, Unit::Seconds, "812 ms"),
        ] {
            assert_eq!(with_unit(value, half, unit), want, "{value} ± {half:?} in {unit:?}");
        }
    }

    #[test]
    fn the_report_shows_intervals_in_the_unit_of_their_figure() {
        let report: SimulateReport = serde_json::from_value(serde_json::json!({
            "n_requests": 1000, "n_served": 995, "n_failed": 5, "n_timed_out": 0, "n_fallback_attempts": 10,
            "success_rate": 0.995, "fallback_rate": 0.01, "total_cost_usd": 1.2345,
            "cost_per_1k_requests_usd": 1.2345, "mean_quality": 0.8,
            "latency_s": {"overall": {"p50": 0.8123, "p90": 1.5, "p99": 4.0, "p999": 9.0, "mean": 1.0, "max": 20.0},
                          "per_class": {}},
            "per_class": {}, "per_origin": {}, "per_model": {}, "per_endpoint": {},
            "schema": "switchyard.simulate.v1", "switchyard_version": "0", "replicates": 5,
            "inputs": {"trace": "t", "catalog": "c", "policy": "p", "engine": "replay", "seed": 1,
                       "skipped_rows": 0, "sorted_on_load": false, "quantiles": "exact"},
            "ci95": {
                "success_rate": [0.9946, 0.9954], "fallback_rate": [0.009, 0.011],
                "total_cost_usd": [1.1945, 1.2745],
                "latency_s": {"overall": {"p50": [0.8032, 0.8214]}},
            },
        }))
        .expect("a report");
        let text = render_text(&report);
        for needle in
            ["99.50% ± 0.04%", "1.00% ± 0.10%", "cost $1.23 ± $0.04 total", "p50 812 ms ± 9 ms", "p90 1.50 s "]
        {
            assert!(text.contains(needle), "{needle:?} not in:\n{text}");
        }
    }
}
