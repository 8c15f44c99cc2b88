//! The catalog file as people write it (serde shapes). Validated once into [`super::Catalog`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::yaml::{OrderedMap, Spanned};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogSpec {
    /// Format version; 1.
    #[serde(default = "one")]
    pub version: u32,
    /// A name for reports.
    #[serde(default)]
    pub name: Option<String>,
    /// Free text: where the figures come from, what is an assumption.
    #[serde(default)]
    pub description: Option<String>,
    /// Round-trip time in seconds between an origin region and an endpoint region, added once to a
    /// successful request's latency. Given one way, it is used both ways; same region is 0.
    #[serde(default)]
    pub rtt_s: OrderedMap<OrderedMap<f64>>,
    #[serde(default)]
    pub rtt_source: Option<String>,
    pub models: Vec<ModelSpec>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub name: Spanned<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub family: Option<String>,
    /// e.g. standard, premium (low-latency), batch (discounted, slower).
    #[serde(default)]
    pub tier: Option<String>,
    #[serde(default)]
    pub ttft: Option<Spanned<LatencySpec>>,
    #[serde(default)]
    pub decode: Option<Spanned<DecodeSpec>>,
    /// Probability that one attempt succeeds.
    #[serde(default)]
    pub availability: Option<Spanned<f64>>,
    #[serde(default)]
    pub prices: Option<Spanned<PricesSpec>>,
    /// Quality per request class in [0, 1]; `default` applies to classes not listed.
    #[serde(default)]
    pub quality: BTreeMap<String, Spanned<f64>>,
    #[serde(default)]
    pub capabilities: CapabilitiesSpec,
    #[serde(default)]
    pub limits: Option<LimitsSpec>,
    /// The OpenAI-compatible base URL of every region of the model (a region's own `base_url`
    /// wins): what a client appends `/chat/completions` to. Only exports that call endpoints by
    /// URL read it (`portkey-oss`).
    #[serde(default)]
    pub base_url: Option<Spanned<String>>,
    /// Where each figure comes from, keyed by field (`ttft`, `prices`, `quality`, ...).
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    /// Regions the model is served in, in order; each may override the model's figures.
    pub regions: OrderedMap<RegionOverride>,
}

/// Per-region overrides of a model's figures. Empty (`{}`) means "as the model says".
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegionOverride {
    #[serde(default)]
    pub ttft: Option<Spanned<LatencySpec>>,
    /// Multiplies the model's time to first token (regional load, distance to the GPUs).
    #[serde(default)]
    pub ttft_scale: Option<Spanned<f64>>,
    #[serde(default)]
    pub decode: Option<Spanned<DecodeSpec>>,
    #[serde(default)]
    pub availability: Option<Spanned<f64>>,
    #[serde(default)]
    pub prices: Option<Spanned<PricesSpec>>,
    /// Multiplies every price (cheaper or dearer regions).
    #[serde(default)]
    pub price_scale: Option<Spanned<f64>>,
    #[serde(default)]
    pub limits: Option<LimitsSpec>,
    /// This endpoint's OpenAI-compatible base URL (see [`ModelSpec::base_url`]).
    #[serde(default)]
    pub base_url: Option<Spanned<String>>,
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LatencySpec {
    /// Give either `median_s` and `p99_s`, or `mu` and `sigma` (of the log).
    Lognormal(LognormalSpec),
    /// Always this many seconds.
    Fixed(f64),
    /// Quantile points `[probability, seconds]`, from probability 0 to 1, non-decreasing.
    Empirical(Vec<[f64; 2]>),
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LognormalSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mu: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DecodeSpec {
    /// Tokens per second.
    Constant(f64),
    /// Lognormal tokens per second: `median` and `sigma` of the log.
    Lognormal { median: f64, sigma: f64 },
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PricesSpec {
    /// Dollars per million input tokens.
    pub input_per_mtok: f64,
    /// Dollars per million output tokens.
    pub output_per_mtok: f64,
    /// Dollars per million input tokens served from the prompt cache; defaults to the input price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_per_mtok: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilitiesSpec {
    #[serde(default)]
    pub vision: bool,
    #[serde(default)]
    pub audio: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_context_tokens: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// Requests per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    /// Tokens (input + output) per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    /// Requests in flight at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u64>,
}
