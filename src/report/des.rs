//! The discrete-event engine's extra figures in the simulate report (`des`) and the terminal.

use super::replicated::{Combine, Named, Number};
use crate::chart;
use crate::des::{DesStats, TimeSeries};
use crate::figures;

figures! {
    /// Per endpoint: attempts, 429s, queueing, cooldowns and scripted downtime.
    pub struct EndpointDes / EndpointDesCi {
        pub attempts: Number,
        pub rate_limited_429: Number,
        pub attempts_that_waited: Number,
        pub mean_wait_s_per_attempt: Number,
        pub max_queue: Number,
        pub queue_timeouts: Number,
        pub cooldowns: Number,
        pub skipped_cooling: Number,
        pub down_s: Number,
        pub degraded_s: Number,
    }
}

figures! {
    /// Queue waits over all requests.
    pub struct QueueDes / QueueDesCi {
        pub requests_that_waited: Number,
        pub mean_wait_s_all: Number,
        pub max_wait_s: Number,
    }
}

figures! {
    /// The `des` object of a simulate report: what only the discrete-event engine sees.
    pub struct DesFigures / DesFiguresCi {
        pub events: Number,
        pub sim_start_s: Number,
        pub sim_end_s: Number,
        pub attempts: Number,
        pub rate_limited_429: Number,
        pub retries: Number,
        pub queue_timeouts: Number,
        pub cooldowns: Number,
        pub skipped_cooling: Number,
        pub max_in_flight: Number,
        pub hedges: Number,
        pub hedge_wins: Number,
        pub hedge_extra_cost_usd: Number,
        pub queue: QueueDes,
        /// Endpoints that took an attempt, skipped one cooling down, or had scripted downtime.
        pub per_endpoint: Named<EndpointDes>,
    }
}

impl DesFigures {
    /// One replicate's figures; `endpoint_ids` names the catalog's endpoints in order.
    pub fn of(stats: &DesStats, endpoint_ids: &[String], n_requests: u64) -> DesFigures {
        let per_endpoint = stats
            .per_endpoint
            .iter()
            .zip(endpoint_ids)
            .filter(|(e, _)| e.attempts > 0 || e.skipped_cooling > 0 || e.down_s > 0.0 || e.degraded_s > 0.0)
            .map(|(e, id)| {
                let figures = EndpointDes {
                    attempts: e.attempts.into(),
                    rate_limited_429: e.rate_limited.into(),
                    attempts_that_waited: e.waited.into(),
                    mean_wait_s_per_attempt: Number::Float(if e.attempts > 0 {
                        e.wait_s / e.attempts as f64
                    } else {
                        0.0
                    }),
                    max_queue: e.max_queue.into(),
                    queue_timeouts: e.queue_timeouts.into(),
                    cooldowns: e.cooldowns.into(),
                    skipped_cooling: e.skipped_cooling.into(),
                    down_s: e.down_s.into(),
                    degraded_s: e.degraded_s.into(),
                };
                (id.clone(), figures)
            })
            .collect();
        DesFigures {
            events: stats.events.into(),
            sim_start_s: stats.sim_start_s.into(),
            sim_end_s: stats.sim_end_s.into(),
            attempts: stats.attempts.into(),
            rate_limited_429: stats.rate_limited.into(),
            retries: stats.retries.into(),
            queue_timeouts: stats.queue_timeouts.into(),
            cooldowns: stats.cooldowns.into(),
            skipped_cooling: stats.skipped_cooling.into(),
            max_in_flight: stats.max_in_flight.into(),
            hedges: stats.hedges.into(),
            hedge_wins: stats.hedge_wins.into(),
            hedge_extra_cost_usd: stats.hedge_extra_cost_usd.into(),
            queue: QueueDes {
                requests_that_waited: stats.requests_that_waited.into(),
                mean_wait_s_all: Number::Float(if n_requests > 0 {
                    stats.wait_s_total / n_requests as f64
                } else {
                    0.0
                }),
                max_wait_s: stats.max_wait_s.into(),
            },
            per_endpoint,
        }
    }
}

impl super::SimulateReport {
    /// Add the discrete-event figures (means over replicates, and their intervals with several).
    pub fn with_des(mut self, stats: &[DesStats], endpoint_ids: &[String], n_requests: u64) -> Self {
        let per_replicate: Vec<DesFigures> =
            stats.iter().map(|s| DesFigures::of(s, endpoint_ids, n_requests)).collect();
        let (mean, ci) = DesFigures::mean_of(&per_replicate);
        self.des = Some(mean);
        if let Some(c) = &mut self.ci95 {
            c.des = ci;
        }
        self
    }
}

/// The `des` figures as a few terminal lines (empty without them).
pub fn render_des_text(report: &super::SimulateReport) -> String {
    let Some(d) = &report.des else { return String::new() };
    let n = |v: Number| v.as_f64();
    let mut out = format!(
        "discrete-event: {} events, {:.0} s simulated; attempts {}, 429s {}, retries {}, queue timeouts {}, cooldowns {} ({} attempts skipped)\n",
        n(d.events),
        n(d.sim_end_s) - n(d.sim_start_s),
        n(d.attempts),
        n(d.rate_limited_429),
        n(d.retries),
        n(d.queue_timeouts),
        n(d.cooldowns),
        n(d.skipped_cooling),
    );
    out.push_str(&format!(
        "queues: {} requests waited, mean wait {:.4} s over all requests, max wait {:.3} s, max in flight {}\n",
        n(d.queue.requests_that_waited),
        n(d.queue.mean_wait_s_all),
        n(d.queue.max_wait_s),
        n(d.max_in_flight),
    ));
    out
}

/// The first replicate's series as a three-panel timeline, hours from 00:00 of the first day.
pub fn des_timeline(
    s: &TimeSeries,
    stats: &DesStats,
    incidents: &[(String, f64, f64)],
    scenario: &str,
) -> chart::TimelineChart {
    let day0 = (stats.sim_start_s / 86400.0).floor() * 86400.0;
    let hour = |t: f64| (t - day0) / 3600.0;
    let mid = |b: usize| hour(s.start_s + (b as f64 + 0.5) * s.bin_s);
    let line = |name: &str, f: &dyn Fn(&crate::des::series::Bin) -> f64| chart::Line {
        name: name.to_string(),
        points: s.bins.iter().enumerate().map(|(b, bin)| (mid(b), f(bin))).collect(),
    };
    let per = if s.bin_s == 60.0 { "per minute".to_string() } else { format!("per {} s", s.bin_s) };
    chart::TimelineChart {
        title: format!("Discrete-event replay, scenario {scenario}"),
        subtitle: Some(format!("{} s bins; shaded: scripted incidents; requests counted when they finish", s.bin_s)),
        x_label: "time of day (h)".into(),
        panels: vec![
            chart::Panel {
                y_label: "latency (s)".into(),
                lines: vec![
                    line("p50", &|b| b.p50_s.unwrap_or(f64::NAN)),
                    line("p99", &|b| b.p99_s.unwrap_or(f64::NAN)),
                ],
            },
            chart::Panel {
                y_label: format!("requests {per}"),
                lines: vec![
                    line("served", &|b| b.served as f64),
                    line("failed", &|b| b.failed as f64),
                    line("429s", &|b| b.rate_limited as f64),
                ],
            },
            chart::Panel {
                y_label: "queued (mean)".into(),
                lines: vec![line("attempts waiting", &|b| b.queue_mean), line("in service", &|b| b.in_service_mean)],
            },
        ],
        shades: incidents
            .iter()
            .map(|(name, from, to)| chart::Shade { from: hour(*from), to: hour(*to), label: name.clone() })
            .collect(),
    }
}
