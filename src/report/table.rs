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

/// "value ± half" when the report has a confidence interval for `path`.
fn with_ci(report: &Value, path: &[&str], shown: String) -> String {
    let mut cur = match report.get("ci95") {
        Some(c) => c,
        None => return shown,
    };
    for p in path {
        match cur.get(p) {
            Some(c) => cur = c,
            None => return shown,
        }
    }
    match (cur.get(0).and_then(Value::as_f64), cur.get(1).and_then(Value::as_f64)) {
        (Some(lo), Some(hi)) => format!("{shown} ± {}", fmt_sig((hi - lo) / 2.0)),
        _ => shown,
    }
}

fn fmt_sig(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
        format!("{x:.digits$}")
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
        with_ci(report, &["success_rate"], pct(num(report, &["success_rate"]))),
        fmt_int(num(report, &["n_failed"]).unwrap_or(0.0)),
        with_ci(report, &["fallback_rate"], pct(num(report, &["fallback_rate"]))),
    ));
    out.push_str(&format!(
        "cost ${} total, ${} per 1k requests   mean quality {}\n",
        with_ci(report, &["total_cost_usd"], fmt_usd(num(report, &["total_cost_usd"]).unwrap_or(0.0))),
        fmt_usd(num(report, &["cost_per_1k_requests_usd"]).unwrap_or(0.0)),
        num(report, &["mean_quality"]).map_or("-".into(), |q| format!("{q:.3}")),
    ));
    let lat =
        |q: &str| with_ci(report, &["latency_s", "overall", q], fmt_secs(num(report, &["latency_s", "overall", q])));
    out.push_str(&format!(
        "latency s  p50 {}   p90 {}   p99 {}   p99.9 {}\n\n",
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
