//! The simulate report as Rust types: one replicate's figures ([`Figures`], from a
//! [`Summary`]), replicates combined ([`Combine`]), and the whole report ([`SimulateReport`]) as
//! `simulate --json` writes it and as [`SimulateReport::load`] reads it back.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::des::DesFigures;
use super::replicated::{Combine, Named, Number};
use crate::error::Result;
use crate::figures;
use crate::metrics::{GroupStats, LatencySummary, Summary};
use crate::recorded::Kept;

/// Layout identifier written into every JSON report.
pub const SCHEMA: &str = "switchyard.simulate.v1";

/// What the report is about (inputs), for the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

figures! {
    /// Latency quantiles of served requests, in seconds.
    pub struct Latency / LatencyCi {
        pub p50: Number,
        pub p90: Number,
        pub p99: Number,
        pub p999: Number,
        pub mean: Number,
        pub max: Number,
    }
}

figures! {
    /// `latency_s`: overall and per class (`null` where nothing was served).
    pub struct LatencyTable / LatencyTableCi {
        pub overall: Option<Latency>,
        pub per_class: Named<Option<Latency>>,
    }
}

figures! {
    /// A request-level group (a class, an origin): what became of its requests.
    pub struct RequestGroup / RequestGroupCi {
        pub requests: Number,
        pub served: Number,
        pub failed: Number,
        pub timed_out: Number,
        pub success_rate: Number,
        pub fallback_rate: Number,
        pub attempts: Number,
        pub cost_usd: Number,
        pub cost_per_1k_requests_usd: Number,
        pub traffic_share: Number,
        pub cost_share: Number,
        pub mean_quality: Option<Number>,
        pub latency_s: Option<Latency>,
    }
}

figures! {
    /// An attempt-level group (a model, an endpoint): the attempts it took and what it served.
    pub struct ServingGroup / ServingGroupCi {
        pub attempts: Number,
        pub failed_attempts: Number,
        pub fallback_attempts: Number,
        pub requests_served: Number,
        pub traffic_share: Number,
        pub cost_usd: Number,
        pub cost_share: Number,
        pub cost_per_1k_served_usd: Number,
        pub mean_quality: Option<Number>,
        pub latency_s: Option<Latency>,
    }
}

figures! {
    /// One replicate's figures (SEMANTICS.md section 4 and more), or their means.
    pub struct Figures / FiguresCi {
        pub n_requests: Number,
        pub n_served: Number,
        pub n_failed: Number,
        pub n_timed_out: Number,
        pub n_fallback_attempts: Number,
        pub success_rate: Number,
        pub fallback_rate: Number,
        pub total_cost_usd: Number,
        pub cost_per_1k_requests_usd: Number,
        pub mean_quality: Option<Number>,
        pub latency_s: LatencyTable,
        pub per_class: Named<RequestGroup>,
        pub per_origin: Named<RequestGroup>,
        pub per_model: Named<ServingGroup>,
        pub per_endpoint: Named<ServingGroup>,
    }
}

fn ratio(a: f64, b: f64) -> Number {
    Number::Float(if b > 0.0 { a / b } else { 0.0 })
}

fn latency(l: &Option<LatencySummary>) -> Option<Latency> {
    l.as_ref().map(|l| Latency {
        p50: l.p50.into(),
        p90: l.p90.into(),
        p99: l.p99.into(),
        p999: l.p999.into(),
        mean: l.mean.into(),
        max: l.max.into(),
    })
}

impl RequestGroup {
    fn of(g: &GroupStats, total: &GroupStats) -> RequestGroup {
        RequestGroup {
            requests: g.requests.into(),
            served: g.served.into(),
            failed: g.failed.into(),
            timed_out: g.timed_out.into(),
            success_rate: ratio(g.served as f64, g.requests as f64),
            fallback_rate: ratio(g.fallback as f64, g.requests as f64),
            attempts: g.attempts.into(),
            cost_usd: g.cost_usd.into(),
            cost_per_1k_requests_usd: ratio(g.cost_usd * 1000.0, g.requests as f64),
            traffic_share: ratio(g.requests as f64, total.requests as f64),
            cost_share: ratio(g.cost_usd, total.cost_usd),
            mean_quality: g.mean_quality().map(Number::from),
            latency_s: latency(&g.latency_s),
        }
    }
}

impl ServingGroup {
    fn of(g: &GroupStats, total: &GroupStats) -> ServingGroup {
        ServingGroup {
            attempts: g.requests.into(),
            failed_attempts: g.failed.into(),
            fallback_attempts: g.fallback.into(),
            requests_served: g.served.into(),
            traffic_share: ratio(g.served as f64, total.served as f64),
            cost_usd: g.cost_usd.into(),
            cost_share: ratio(g.cost_usd, total.cost_usd),
            cost_per_1k_served_usd: ratio(g.cost_usd * 1000.0, g.served as f64),
            mean_quality: g.mean_quality().map(Number::from),
            latency_s: latency(&g.latency_s),
        }
    }
}

impl Figures {
    /// One replicate's figures. Endpoints that took no attempt are left out.
    pub fn of(s: &Summary) -> Figures {
        let o = &s.overall;
        let requests = |list: &[(String, GroupStats)]| -> Named<RequestGroup> {
            list.iter().map(|(n, g)| (n.clone(), RequestGroup::of(g, o))).collect()
        };
        let serving = |list: &[(String, GroupStats)], skip_empty: bool| -> Named<ServingGroup> {
            list.iter()
                .filter(|(_, g)| !(skip_empty && g.requests == 0))
                .map(|(n, g)| (n.clone(), ServingGroup::of(g, o)))
                .collect()
        };
        Figures {
            n_requests: s.n_requests.into(),
            n_served: o.served.into(),
            n_failed: o.failed.into(),
            n_timed_out: o.timed_out.into(),
            n_fallback_attempts: o.fallback.into(),
            success_rate: ratio(o.served as f64, s.n_requests as f64),
            fallback_rate: ratio(o.fallback as f64, s.n_requests as f64),
            total_cost_usd: o.cost_usd.into(),
            cost_per_1k_requests_usd: ratio(o.cost_usd * 1000.0, s.n_requests as f64),
            mean_quality: o.mean_quality().map(Number::from),
            latency_s: LatencyTable {
                overall: latency(&o.latency_s),
                per_class: s.per_class.iter().map(|(c, g)| (c.clone(), latency(&g.latency_s))).collect(),
            },
            per_class: requests(&s.per_class),
            per_origin: requests(&s.per_origin),
            per_model: serving(&s.per_model, false),
            per_endpoint: serving(&s.per_endpoint, true),
        }
    }
}

/// The intervals of a report with several replicates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ci95 {
    #[serde(flatten)]
    pub figures: FiguresCi,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub des: Option<<DesFigures as Combine>::Ci>,
}

/// A simulate report: the figures (means over replicates), the inputs, and with several
/// replicates their 95% intervals; the discrete-event engine's figures and the counterfactual's
/// counts when the run has them. Serialises to the `switchyard.simulate.v1` layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulateReport {
    #[serde(flatten)]
    pub figures: Figures,
    pub schema: String,
    pub switchyard_version: String,
    pub inputs: RunMeta,
    pub replicates: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci95: Option<Ci95>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub des: Option<DesFigures>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterfactual: Option<Kept>,
}

impl SimulateReport {
    /// The report of one or more replicates' summaries.
    pub fn new(meta: &RunMeta, summaries: &[Summary]) -> SimulateReport {
        let per_replicate: Vec<Figures> = summaries.iter().map(Figures::of).collect();
        let (figures, ci) = Figures::mean_of(&per_replicate);
        SimulateReport {
            figures,
            schema: SCHEMA.into(),
            switchyard_version: env!("CARGO_PKG_VERSION").into(),
            inputs: meta.clone(),
            replicates: summaries.len() as u32,
            ci95: (summaries.len() > 1).then(|| Ci95 { figures: ci.unwrap_or_default(), des: None }),
            des: None,
            counterfactual: None,
        }
    }

    /// The JSON text `simulate --json` writes (pretty, with a final newline).
    pub fn to_json(&self) -> String {
        super::json_text(self)
    }

    /// A report as `simulate --json` wrote it.
    pub fn load(path: &Path) -> Result<SimulateReport> {
        super::load_json(path, SCHEMA, "a simulate report", "switchyard simulate --json")
    }

    /// [`SimulateReport::load`] of text read from `path`.
    pub fn from_json(text: &str, path: &Path) -> Result<SimulateReport> {
        super::from_json_text(text, path, SCHEMA, "a simulate report", "switchyard simulate --json")
    }
}
