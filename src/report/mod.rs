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

use std::path::Path;

use crate::error::{Error, Place, Problem, Result};

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
pub use table::{Unit, render_text, thousands, with_unit};

/// Read a report file whose `schema` must be `schema` ([`from_json_text`]).
pub fn load_json<T: serde::de::DeserializeOwned>(path: &Path, schema: &str, what: &str, made_by: &str) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?;
    from_json_text(&text, path, schema, what, made_by)
}

/// A report read back from its JSON text: the `schema` checked first (another file is named as
/// what it is not, e.g. "is not a simulate report"), then every field, with the line of the first
/// that does not read. `what` names the report ("a simulate report"), `made_by` the command
/// that writes one; `path` names the file in errors.
pub fn from_json_text<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
    schema: &str,
    what: &str,
    made_by: &str,
) -> Result<T> {
    let found = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("schema").and_then(|s| s.as_str()).map(str::to_string));
    if found.as_deref() != Some(schema) {
        let found = found.map_or("no `schema`".to_string(), |s| format!("schema `{s}`"));
        return Err(Error::one(Problem::new(
            Place::file(path).field("schema"),
            format!("is not {what} ({found}; expected `{schema}`)"),
            format!("give a file written by `{made_by}`"),
        )));
    }
    serde_json::from_str(text).map_err(|e| {
        Error::one(Problem::new(
            Place::file(path).line(e.line()),
            format!("does not read as {what}: {e}"),
            format!("give a file written by `{made_by}`, unedited"),
        ))
    })
}

/// A report's JSON file text: pretty, keys in declaration order, with a final newline.
pub fn json_text<T: serde::Serialize>(report: &T) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("a report is plain data");
    text.push('\n');
    text
}
