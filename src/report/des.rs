//! The discrete-event engine's extra figures in the JSON report (`des`) and the terminal.

use serde_json::{Map, Value, json};

use crate::des::DesStats;

/// One replicate's `des` object.
fn replicate(stats: &DesStats, endpoint_ids: &[String], n_requests: u64) -> Value {
    let per_endpoint: Map<String, Value> = stats
        .per_endpoint
        .iter()
        .zip(endpoint_ids)
        .filter(|(e, _)| e.attempts > 0 || e.skipped_cooling > 0 || e.down_s > 0.0 || e.degraded_s > 0.0)
        .map(|(e, id)| {
            (
                id.clone(),
                json!({
                    "attempts": e.attempts,
                    "rate_limited_429": e.rate_limited,
                    "attempts_that_waited": e.waited,
                    "mean_wait_s_per_attempt": if e.attempts > 0 { e.wait_s / e.attempts as f64 } else { 0.0 },
                    "max_queue": e.max_queue,
                    "queue_timeouts": e.queue_timeouts,
                    "cooldowns": e.cooldowns,
                    "skipped_cooling": e.skipped_cooling,
                    "down_s": e.down_s,
                    "degraded_s": e.degraded_s,
                }),
            )
        })
        .collect();
    json!({
        "events": stats.events,
        "sim_start_s": stats.sim_start_s,
        "sim_end_s": stats.sim_end_s,
        "attempts": stats.attempts,
        "rate_limited_429": stats.rate_limited,
        "retries": stats.retries,
        "queue_timeouts": stats.queue_timeouts,
        "cooldowns": stats.cooldowns,
        "skipped_cooling": stats.skipped_cooling,
        "max_in_flight": stats.max_in_flight,
        "hedges": stats.hedges,
        "hedge_wins": stats.hedge_wins,
        "hedge_extra_cost_usd": stats.hedge_extra_cost_usd,
        "queue": {
            "requests_that_waited": stats.requests_that_waited,
            "mean_wait_s_all": if n_requests > 0 { stats.wait_s_total / n_requests as f64 } else { 0.0 },
            "max_wait_s": stats.max_wait_s,
        },
        "per_endpoint": per_endpoint,
    })
}

/// Add the `des` object (means over replicates, and `ci95.des` with several) to a simulate report.
pub fn add_des(report: &mut Value, stats: &[DesStats], endpoint_ids: &[String], n_requests: u64) {
    let per_rep: Vec<Value> = stats.iter().map(|s| replicate(s, endpoint_ids, n_requests)).collect();
    let (mean, ci) = super::combine(&per_rep);
    let Value::Object(out) = report else { return };
    out.insert("des".into(), mean);
    if !ci.is_null()
        && let Some(Value::Object(c)) = out.get_mut("ci95")
    {
        c.insert("des".into(), ci);
    }
}

/// The `des` figures as a few terminal lines.
pub fn render_des_text(report: &Value) -> String {
    let d = &report["des"];
    let n = |v: &Value| v.as_f64().unwrap_or(0.0);
    let mut out = format!(
        "discrete-event: {} events, {:.0} s simulated; attempts {}, 429s {}, retries {}, queue timeouts {}, cooldowns {} ({} attempts skipped)\n",
        n(&d["events"]),
        n(&d["sim_end_s"]) - n(&d["sim_start_s"]),
        n(&d["attempts"]),
        n(&d["rate_limited_429"]),
        n(&d["retries"]),
        n(&d["queue_timeouts"]),
        n(&d["cooldowns"]),
        n(&d["skipped_cooling"]),
    );
    out.push_str(&format!(
        "queues: {} requests waited, mean wait {:.4} s over all requests, max wait {:.3} s, max in flight {}\n",
        n(&d["queue"]["requests_that_waited"]),
        n(&d["queue"]["mean_wait_s_all"]),
        n(&d["queue"]["max_wait_s"]),
        n(&d["max_in_flight"]),
    ));
    out
}
