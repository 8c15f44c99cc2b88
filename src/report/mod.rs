//! Reports: a run's summaries as typed, serialisable reports and as terminal tables.
//!
//! The simulate report ([`SimulateReport`], `switchyard.simulate.v1`, documented in
//! docs/formats/report.md) contains the layout of SEMANTICS.md section 4 (`n_requests`,
//! `n_failed`, `success_rate`, `total_cost_usd`, `latency_s.overall.{p50,p90,p99}`,
//! `latency_s.per_class.<class>`, `per_model.<model>.{cost_usd, cost_share, requests_served,
//! traffic_share}`) plus richer per-group tables. With several replicates every number is the mean
//! over replicates and `ci95` mirrors the layout with `[low, high]` 95% confidence intervals
//! (Student t), combined type by type ([`Combine`]). Nothing depends on the clock, so the same
//! inputs and seed give byte-identical JSON.

mod catalog;
mod des;
mod frontier;
mod recommendation;
mod replicated;
mod simulate;
mod table;

pub use catalog::{CatalogRow, CatalogTable, render_catalog};
pub use des::{
    DesFigures, DesFiguresCi, EndpointDes, EndpointDesCi, QueueDes, QueueDesCi, des_timeline, render_des_text,
};
pub use frontier::{Current, FRONTIER_SCHEMA, FrontierReport, frontier_charts};
pub use recommendation::{
    Candidates, Exported, OptimizeInputs, RecommendationReport, RouteWeight, VerificationEngine, render_recommendation,
};
pub use replicated::{Combine, Interval, Named, Number, mean_ci95, t95};
pub use simulate::{
    Ci95, Figures, FiguresCi, Latency, LatencyCi, LatencyTable, LatencyTableCi, RequestGroup, RequestGroupCi, RunMeta,
    SCHEMA, ServingGroup, ServingGroupCi, SimulateReport,
};
pub use table::{Unit, render_text, with_unit};

/// A report's JSON file text: pretty, keys in declaration order, with a final newline.
pub fn json_text<T: serde::Serialize>(report: &T) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("a report is plain data");
    text.push('\n');
    text
}
