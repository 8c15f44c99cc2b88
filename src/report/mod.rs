//! Reports: summaries rendered as the stable JSON layout and as a terminal table.
//!
//! The JSON layout (documented in README.md, "simulate --json") contains the layout of
//! SEMANTICS.md section 4 (`n_requests`, `n_failed`, `success_rate`, `total_cost_usd`,
//! `latency_s.overall.{p50,p90,p99}`, `latency_s.per_class.<class>`, `per_model.<model>.{cost_usd,
//! cost_share, requests_served, traffic_share}`) plus richer per-group tables. With several
//! replicates every number is the mean over replicates and `ci95` mirrors the layout with
//! `[low, high]` 95% confidence intervals (Student t). Keys are sorted, and nothing depends on the
//! clock, so the same inputs and seed give byte-identical JSON.

mod des;
mod table;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::metrics::{GroupStats, LatencySummary, Summary};

pub use des::{add_des, render_des_text};
pub use table::{Unit, render_text, with_unit};

/// Layout identifier written into every JSON report.
pub const SCHEMA: &str = "switchyard.simulate.v1";

/// What the report is about (inputs), for the header.
#[derive(Debug, Clone, Serialize)]
pub struct RunMeta {
    pub trace: String,
    pub catalog: String,
    pub policy: String,
    pub engine: String,
    pub seed: u64,
    pub skipped_rows: u64,
    pub sorted_on_load: bool,
    /// How latency quantiles were computed: `exact` (type 7) or `sketch` (within 2^-11).
    pub quantiles: String,
}

fn latency_json(l: &Option<LatencySummary>) -> Value {
    match l {
        None => Value::Null,
        Some(l) => json!({"p50": l.p50, "p90": l.p90, "p99": l.p99, "p999": l.p999, "mean": l.mean, "max": l.max}),
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// A request-level group (overall, class, origin).
fn request_group_json(g: &GroupStats, total: &GroupStats) -> Value {
    json!({
        "requests": g.requests,
        "served": g.served,
        "failed": g.failed,
        "timed_out": g.timed_out,
        "success_rate": ratio(g.served as f64, g.requests as f64),
        "fallback_rate": ratio(g.fallback as f64, g.requests as f64),
        "attempts": g.attempts,
        "cost_usd": g.cost_usd,
        "cost_per_1k_requests_usd": ratio(g.cost_usd * 1000.0, g.requests as f64),
        "traffic_share": ratio(g.requests as f64, total.requests as f64),
        "cost_share": ratio(g.cost_usd, total.cost_usd),
        "mean_quality": g.mean_quality(),
        "latency_s": latency_json(&g.latency_s),
    })
}

/// An attempt-level group (model, endpoint).
fn serving_group_json(g: &GroupStats, total: &GroupStats) -> Value {
    json!({
        "attempts": g.requests,
        "failed_attempts": g.failed,
        "fallback_attempts": g.fallback,
        "requests_served": g.served,
        "traffic_share": ratio(g.served as f64, total.served as f64),
        "cost_usd": g.cost_usd,
        "cost_share": ratio(g.cost_usd, total.cost_usd),
        "cost_per_1k_served_usd": ratio(g.cost_usd * 1000.0, g.served as f64),
        "mean_quality": g.mean_quality(),
        "latency_s": latency_json(&g.latency_s),
    })
}

/// One replicate's report.
fn replicate_json(s: &Summary) -> Value {
    let o = &s.overall;
    let groups = |list: &[(String, GroupStats)], f: fn(&GroupStats, &GroupStats) -> Value, skip_empty: bool| -> Value {
        let mut m = Map::new();
        for (name, g) in list {
            if skip_empty && g.requests == 0 {
                continue;
            }
            m.insert(name.clone(), f(g, o));
        }
        Value::Object(m)
    };
    let per_class_latency: Map<String, Value> =
        s.per_class.iter().map(|(c, g)| (c.clone(), latency_json(&g.latency_s))).collect();
    json!({
        "n_requests": s.n_requests,
        "n_served": o.served,
        "n_failed": o.failed,
        "n_timed_out": o.timed_out,
        "n_fallback_attempts": o.fallback,
        "success_rate": ratio(o.served as f64, s.n_requests as f64),
        "fallback_rate": ratio(o.fallback as f64, s.n_requests as f64),
        "total_cost_usd": o.cost_usd,
        "cost_per_1k_requests_usd": ratio(o.cost_usd * 1000.0, s.n_requests as f64),
        "mean_quality": o.mean_quality(),
        "latency_s": {"overall": latency_json(&o.latency_s), "per_class": per_class_latency},
        "per_class": groups(&s.per_class, request_group_json, false),
        "per_origin": groups(&s.per_origin, request_group_json, false),
        "per_model": groups(&s.per_model, serving_group_json, false),
        "per_endpoint": groups(&s.per_endpoint, serving_group_json, true),
    })
}

/// The full report over one or more replicates.
pub fn simulate_json(meta: &RunMeta, summaries: &[Summary]) -> Value {
    assert!(!summaries.is_empty(), "at least one replicate");
    let per_rep: Vec<Value> = summaries.iter().map(replicate_json).collect();
    let (mean, ci) = combine(&per_rep);
    let mut out = match mean {
        Value::Object(m) => m,
        _ => unreachable!("a replicate report is an object"),
    };
    out.insert("schema".into(), json!(SCHEMA));
    out.insert("switchyard_version".into(), json!(env!("CARGO_PKG_VERSION")));
    out.insert("inputs".into(), serde_json::to_value(meta).expect("plain data"));
    out.insert("replicates".into(), json!(summaries.len()));
    if summaries.len() > 1 {
        out.insert("ci95".into(), ci);
    }
    Value::Object(out)
}

/// Mean of replicate values and the half-width of its 95% Student t interval (0 for one value).
pub fn mean_ci95(xs: &[f64]) -> (f64, f64) {
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, t95(n - 1) * (var / n as f64).sqrt())
}

/// Two-sided 95% Student t quantile for `df` degrees of freedom.
pub fn t95(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        31..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}

/// Combine per-replicate values: numbers become their mean (and a `[low, high]` interval in the
/// mirror), objects are combined key by key, anything else is taken from the first replicate.
fn combine(values: &[Value]) -> (Value, Value) {
    match &values[0] {
        Value::Number(_) if values.iter().all(Value::is_number) => {
            let xs: Vec<f64> = values.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect();
            if xs.len() == 1 {
                return (values[0].clone(), Value::Null);
            }
            let (mean, half) = mean_ci95(&xs);
            let all_ints = values.iter().all(|v| v.is_u64());
            let mean_v = if all_ints && xs.iter().all(|x| *x == xs[0]) { values[0].clone() } else { json!(mean) };
            (mean_v, json!([mean - half, mean + half]))
        }
        Value::Object(first) => {
            let mut mean = Map::new();
            let mut ci = Map::new();
            for key in first.keys() {
                let column: Vec<Value> = values.iter().map(|v| v.get(key).cloned().unwrap_or(Value::Null)).collect();
                let (m, c) = combine(&column);
                mean.insert(key.clone(), m);
                if !c.is_null() {
                    ci.insert(key.clone(), c);
                }
            }
            (Value::Object(mean), if ci.is_empty() { Value::Null } else { Value::Object(ci) })
        }
        _ => (values[0].clone(), Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine_means_numbers_and_mirrors_intervals() {
        let a = json!({"x": 1.0, "n": {"y": 10}, "s": "k"});
        let b = json!({"x": 3.0, "n": {"y": 20}, "s": "k"});
        let (m, c) = combine(&[a, b]);
        assert_eq!(m["x"], json!(2.0));
        assert_eq!(m["n"]["y"], json!(15.0));
        assert_eq!(m["s"], json!("k"));
        let half = 12.706 * (2.0f64 / 2.0).sqrt();
        let lo = c["x"][0].as_f64().unwrap();
        assert!((lo - (2.0 - half)).abs() < 1e-12, "low {lo} vs {}", 2.0 - half);
    }
}
