//! The scenario file as people write it (serde shapes). Validated once, against a catalog, into
//! [`super::Scenario`] by [`super::Scenario::from_spec`].
//!
//! ```yaml
//! version: 1
//! gateway:
//!   num_retries: 2            # LiteLLM num_retries / Portkey retry.attempts
//!   retry_backoff_s: 0.5      # first retry's delay, doubled per retry, capped by max_backoff_s
//!   max_backoff_s: 8
//!   honor_retry_after: true   # a 429's retry-after replaces the backoff
//!   cooldown: {allowed_fails: 3, window_s: 60, cooldown_s: 30}   # LiteLLM allowed_fails / cooldown_time
//! limits:
//!   rate_limits: true         # enforce the catalog's rpm/tpm (false: concurrency only)
//!   default: {max_concurrency: 64}
//!   endpoints: {deepseek-v4-flash@us-east-1: {rpm: 600, tpm: 2000000}}
//! availability:
//!   endpoints: {default: {mtbf_s: 86400, mttr_s: 300}}
//!   regions: {ap-southeast-1: {mtbf_s: 604800, mttr_s: 1800, degraded: {mtbf_s: 43200, mttr_s: 900, latency_x: 2}}}
//! incidents:
//!   - {region: ap-southeast-1, from: "03:00", to: "03:20", down: true}
//!   - {endpoint: deepseek-v4-flash@us-east-1, from: "14:00", for: 15m, latency_x: 3}
//!   - {endpoint: qwen3-32b@us-east-1, from: "12:00", to: "13:00", rate_limit_x: 0.5}
//! timeseries: {bin_s: 60}
//! ```
//!
//! Clock times (`"03:00"`, `"03:00:30"`) count from 00:00 UTC of the day of the trace's first
//! request; plain numbers are seconds on the trace's own clock; durations take `s`, `m` or `h`.

use serde::{Deserialize, Serialize};

use crate::yaml::{OrderedMap, Spanned};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    #[serde(default = "one")]
    pub version: u32,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub gateway: GatewaySpec,
    #[serde(default)]
    pub limits: LimitsOverrideSpec,
    #[serde(default)]
    pub availability: AvailabilitySpec,
    #[serde(default)]
    pub incidents: Vec<Spanned<IncidentSpec>>,
    #[serde(default)]
    pub timeseries: Option<TimeseriesSpec>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySpec {
    #[serde(default)]
    pub num_retries: Option<Spanned<u32>>,
    #[serde(default)]
    pub retry_backoff_s: Option<Spanned<f64>>,
    #[serde(default)]
    pub max_backoff_s: Option<Spanned<f64>>,
    #[serde(default)]
    pub honor_retry_after: Option<bool>,
    #[serde(default)]
    pub cooldown: Option<Spanned<CooldownSpec>>,
    /// How the primary is chosen among a rule's targets.
    #[serde(default)]
    pub strategy: Option<Spanned<Strategy>>,
    /// Window of the lowest-latency strategy's moving average, seconds (default 60).
    #[serde(default)]
    pub latency_window_s: Option<Spanned<f64>>,
    /// Hedged requests: if the first attempt has not answered after this many seconds, a second
    /// attempt goes to the first fallback; the first answer wins and both are billed.
    #[serde(default)]
    pub hedge_after_s: Option<Spanned<f64>>,
}

/// How the gateway picks the primary among a rule's targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// By the policy's weights (LiteLLM `simple-shuffle` with weights, Portkey `loadbalance`).
    #[default]
    Weighted,
    /// The target with the fewest attempts in service or queued (LiteLLM `least-busy`).
    LeastBusy,
    /// The target with the lowest mean attempt latency over the window; targets not yet measured
    /// first (LiteLLM `latency-based-routing`).
    LowestLatency,
    /// The cheapest target for the request whose rpm/tpm buckets have room, else the cheapest
    /// (OpenRouter's price sort; LiteLLM `usage-based-routing` keeps deployments under their limits).
    CheapestFirst,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CooldownSpec {
    pub allowed_fails: u32,
    #[serde(default)]
    pub window_s: Option<f64>,
    pub cooldown_s: f64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsOverrideSpec {
    #[serde(default)]
    pub rate_limits: Option<bool>,
    #[serde(default)]
    pub default: Option<crate::catalog::spec::LimitsSpec>,
    #[serde(default)]
    pub endpoints: OrderedMap<crate::catalog::spec::LimitsSpec>,
    /// Load-dependent slowdown: `[utilisation, multiplier]` points, utilisation from 0 to 1 (busy
    /// slots over max_concurrency when an attempt takes its slot), multiplying TTFT and decode time.
    #[serde(default)]
    pub slowdown: Option<Spanned<Vec<[f64; 2]>>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AvailabilitySpec {
    /// Keys: `default` or an endpoint id.
    #[serde(default)]
    pub endpoints: OrderedMap<Spanned<ProcessSpec>>,
    /// Keys: region names.
    #[serde(default)]
    pub regions: OrderedMap<Spanned<ProcessSpec>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    pub mtbf_s: f64,
    pub mttr_s: f64,
    #[serde(default)]
    pub degraded: Option<DegradedSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DegradedSpec {
    pub mtbf_s: f64,
    pub mttr_s: f64,
    pub latency_x: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum TimeValue {
    Seconds(f64),
    Text(String),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentSpec {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
    pub from: TimeValue,
    #[serde(default)]
    pub to: Option<TimeValue>,
    #[serde(default, rename = "for")]
    pub duration: Option<TimeValue>,
    #[serde(default)]
    pub down: Option<bool>,
    #[serde(default)]
    pub latency_x: Option<f64>,
    #[serde(default)]
    pub rate_limit_x: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimeseriesSpec {
    pub bin_s: f64,
}
