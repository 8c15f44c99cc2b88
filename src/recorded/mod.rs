//! What-ifs on recorded traffic: counterfactual replay and repricing.
//!
//! A recorded trace (imported gateway logs, or any trace with `model`, `region`, `latency_s` and
//! `status` columns) says where each request went and what happened. Two questions use that
//! directly:
//!
//! * [`counterfactual`]: under a new policy, a request whose new route starts at the endpoint it
//!   was actually served by (`model@region` of the catalog) keeps its recorded latency and outcome;
//!   only re-routed requests (or ones without a usable record) keep the outcome the engine sampled
//!   from the catalog. The counts of kept and sampled requests are reported.
//! * [`reprice`](mod@reprice): what the recorded traffic would have cost at other prices, or on
//!   another model, with no latency sampling at all.
//!
//! Deliberately absent: no IO (the CLI loads files), no sampling (the engine samples).

pub mod reprice;

use std::collections::HashMap;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::engine::{NOT_SERVED, Outcomes, Status};
use crate::trace::Trace;

/// How many requests kept their recorded outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Kept {
    /// Routed to the endpoint that served them in the recording: recorded latency and outcome.
    pub kept: usize,
    /// Routed elsewhere: outcome sampled from the catalog.
    pub sampled_rerouted: usize,
    /// No usable record (no model/region/latency, or an endpoint the catalog lacks): sampled.
    pub sampled_unrecorded: usize,
}

/// The catalog endpoint each request was recorded at, if the trace says and the catalog has it.
pub fn recorded_endpoints(catalog: &Catalog, trace: &Trace) -> Vec<Option<u16>> {
    let (Some(models), Some(regions)) = (&trace.recorded.model, &trace.recorded.region) else {
        return vec![None; trace.len()];
    };
    let mut cache: HashMap<(&str, &str), Option<u16>> = HashMap::new();
    (0..trace.len())
        .map(|i| {
            let (m, r) = (models.get(i)?, regions.get(i)?);
            *cache.entry((m, r)).or_insert_with(|| catalog.endpoint_index(&format!("{m}@{r}")).map(|e| e as u16))
        })
        .collect()
}

/// Replace the sampled outcome by the recorded one for every request whose primary under the new
/// policy is the endpoint it was recorded at, and that has a recorded latency.
pub fn counterfactual(catalog: &Catalog, trace: &Trace, outcomes: &mut Outcomes) -> Kept {
    let recorded = recorded_endpoints(catalog, trace);
    let latency = trace.recorded.latency_s.as_deref();
    let status = trace.recorded.status.as_ref();
    let mut kept = Kept::default();
    for (i, rec) in recorded.iter().enumerate() {
        let rec_latency = latency.and_then(|l| l[i]);
        let (Some(endpoint), Some(rec_latency)) = (*rec, rec_latency) else {
            kept.sampled_unrecorded += 1;
            continue;
        };
        if outcomes.primary[i] != endpoint {
            kept.sampled_rerouted += 1;
            continue;
        }
        let st = match status.and_then(|s| s.get(i)).map(|s| s.trim().to_ascii_lowercase()) {
            None => Status::Ok,
            Some(s) if matches!(s.as_str(), "" | "ok" | "success" | "200") => Status::Ok,
            Some(s) if s == "timeout" => Status::TimedOut,
            Some(_) => Status::Failed,
        };
        outcomes.status[i] = st;
        outcomes.served[i] = if st == Status::Ok { endpoint } else { NOT_SERVED };
        outcomes.attempts[i] = 1;
        outcomes.latency_s[i] = rec_latency;
        kept.kept += 1;
    }
    kept
}
