//! The terminal rendering of a simulate report (from its JSON value, so that what a person reads and
//! what a program reads are the same numbers).

use serde_json::Value;

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_f64()
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

/// The value at `path` in `report`, with the half-width of its 95% interval when the report has
/// one (`ci95` mirrors the layout), in `unit` ("-" when the value is absent).
fn with_ci(report: &Value, path: &[&str], unit: Unit) -> String {
    let Some(value) = num(report, path) else { return "-".into() };
    let mut interval = report.get("ci95");
    for p in path {
        interval = interval.and_then(|c| c.get(p));
    }
    let half = interval.and_then(|c| Some((c.get(1)?.as_f64()? - c.get(0)?.as_f64()?) / 2.0));
    with_unit(value, half, unit)
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

fn group_rows(report: &Value, key: &str, serving: bool) -> Vec<Vec<String>> {
    let Some(Value::Object(groups)) = report.get(key) else { return Vec::new() };
    groups
        .iter()
        .filter(|(_, g)| !serving || num(g, &["attempts"]).unwrap_or(0.0) > 0.0)
        .map(|(name, g)| {
            let lat = |q: &str| num(g, &["latency_s", q]);
            let q = num(g, &["mean_quality"]).map_or("-".into(), |q| format!("{q:.3}"));
            if serving {
                vec![
                    name.clone(),
                    fmt_int(num(g, &["requests_served"]).unwrap_or(0.0)),
                    pct(num(g, &["traffic_share"])),
                    fmt_int(num(g, &["attempts"]).unwrap_or(0.0)),
                    fmt_int(num(g, &["failed_attempts"]).unwrap_or(0.0)),
                    fmt_usd(num(g, &["cost_usd"]).unwrap_or(0.0)),
                    pct(num(g, &["cost_share"])),
                    q,
                    fmt_secs(lat("p50")),
                    fmt_secs(lat("p99")),
                ]
            } else {
                vec![
                    name.clone(),
                    fmt_int(num(g, &["requests"]).unwrap_or(0.0)),
                    pct(num(g, &["traffic_share"])),
                    pct(num(g, &["success_rate"])),
                    pct(num(g, &["fallback_rate"])),
                    fmt_usd(num(g, &["cost_usd"]).unwrap_or(0.0)),
                    fmt_usd(num(g, &["cost_per_1k_requests_usd"]).unwrap_or(0.0)),
                    q,
                    fmt_secs(lat("p50")),
                    fmt_secs(lat("p90")),
                    fmt_secs(lat("p99")),
                    fmt_secs(lat("p999")),
                ]
            }
        })
        .collect()
}

/// Render a simulate report for a terminal.
pub fn render_text(report: &Value) -> String {
    let mut out = String::new();
    let inputs = &report["inputs"];
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    out.push_str(&format!(
        "trace {}  catalog {}  policy {}\nengine {}  seed {}  replicates {}\n",
        s(&inputs["trace"]),
        s(&inputs["catalog"]),
        s(&inputs["policy"]),
        s(&inputs["engine"]),
        inputs["seed"],
        report["replicates"]
    ));
    let skipped = num(inputs, &["skipped_rows"]).unwrap_or(0.0);
    out.push_str(&format!("bad rows skipped {}\n\n", fmt_int(skipped)));
    let n = num(report, &["n_requests"]).unwrap_or(0.0);
    out.push_str(&format!(
        "requests {}   served {} ({})   failed {}   fallback {}\n",
        fmt_int(n),
        fmt_int(num(report, &["n_served"]).unwrap_or(0.0)),
        with_ci(report, &["success_rate"], Unit::Fraction),
        fmt_int(num(report, &["n_failed"]).unwrap_or(0.0)),
        with_ci(report, &["fallback_rate"], Unit::Fraction),
    ));
    out.push_str(&format!(
        "cost {} total, ${} per 1k requests   mean quality {}\n",
        with_ci(report, &["total_cost_usd"], Unit::Usd),
        fmt_usd(num(report, &["cost_per_1k_requests_usd"]).unwrap_or(0.0)),
        num(report, &["mean_quality"]).map_or("-".into(), |q| format!("{q:.3}")),
    ));
    let lat = |q: &str| with_ci(report, &["latency_s", "overall", q], Unit::Seconds);
    out.push_str(&format!(
        "latency  p50 {}   p90 {}   p99 {}   p99.9 {}\n\n",
        lat("p50"),
        lat("p90"),
        lat("p99"),
        lat("p999")
    ));
    let request_header = vec![
        "", "requests", "share", "success", "fallback", "cost $", "$/1k req", "quality", "p50 s", "p90 s", "p99 s",
        "p99.9 s",
    ];
    let serving_header =
        vec!["", "served", "share", "attempts", "failed", "cost $", "cost share", "quality", "p50 s", "p99 s"];
    for (title, key, serving) in [
        ("class", "per_class", false),
        ("origin", "per_origin", false),
        ("model", "per_model", true),
        ("endpoint", "per_endpoint", true),
    ] {
        let mut header = if serving { serving_header.clone() } else { request_header.clone() };
        header[0] = title;
        let rows = group_rows(report, key, serving);
        if rows.is_empty() {
            continue;
        }
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
        let report = serde_json::json!({
            "inputs": {}, "n_requests": 1000, "n_served": 995, "n_failed": 5,
            "success_rate": 0.995, "fallback_rate": 0.01, "total_cost_usd": 1.2345,
            "cost_per_1k_requests_usd": 1.2345, "mean_quality": 0.8,
            "latency_s": {"overall": {"p50": 0.8123, "p90": 1.5, "p99": 4.0, "p999": 9.0}},
            "ci95": {
                "success_rate": [0.9946, 0.9954], "fallback_rate": [0.009, 0.011],
                "total_cost_usd": [1.1945, 1.2745],
                "latency_s": {"overall": {"p50": [0.8032, 0.8214]}},
            },
        });
        let text = render_text(&report);
        for needle in
            ["99.50% ± 0.04%", "1.00% ± 0.10%", "cost $1.23 ± $0.04 total", "p50 812 ms ± 9 ms", "p90 1.50 s "]
        {
            assert!(text.contains(needle), "{needle:?} not in:\n{text}");
        }
    }
}
