//! Repricing recorded traffic: what the same requests would have cost at other prices.
//!
//! The prices file names a price per recorded model, or per `model@region` (which wins), and may
//! say `serve_as: KEY` to price every request as if one model had served it:
//!
//! ```yaml
//! prices:
//!   azure/gpt-4o-mini: {input_per_mtok: 0.15, output_per_mtok: 0.60}
//!   bedrock/anthropic.claude-3-haiku@us-west-2: {input_per_mtok: 0.25, output_per_mtok: 1.25}
//! serve_as: azure/gpt-4o-mini   # optional: "what if all of it had gone to this model"
//! ```
//!
//! Only successful requests are billed (as the engine bills). Cached input tokens, when the trace
//! records them, are priced at the cached rate. The recorded cost (`cost_usd`) is summed beside the
//! repriced one when present.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::catalog::Prices;
use crate::catalog::spec::PricesSpec;
use crate::error::{Error, Place, Problem, Problems, Result};
use crate::trace::Trace;

/// The prices file (serde shape).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepriceSpec {
    /// Prices by recorded model or `model@region`.
    pub prices: BTreeMap<String, PricesSpec>,
    /// Price every request at this key's prices.
    #[serde(default)]
    pub serve_as: Option<String>,
}

/// Validated prices.
#[derive(Debug, Clone, PartialEq)]
pub struct Repricing {
    pub prices: BTreeMap<String, Prices>,
    pub serve_as: Option<String>,
}

/// Load and validate a prices file.
pub fn load(path: &Path) -> Result<Repricing> {
    let spec: RepriceSpec = crate::yaml::read(path)?;
    let mut problems = Problems::default();
    let mut prices = BTreeMap::new();
    for (key, p) in &spec.prices {
        let cached = p.cached_input_per_mtok.unwrap_or(p.input_per_mtok);
        if [p.input_per_mtok, p.output_per_mtok, cached].iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
            problems.push(
                Place::file(path).field(format!("prices.{key}")),
                "prices must be non-negative dollars per million tokens",
                "e.g. `gpt-4o-mini: {input_per_mtok: 0.15, output_per_mtok: 0.6}`",
            );
            continue;
        }
        prices.insert(
            key.clone(),
            Prices {
                input_per_mtok: p.input_per_mtok,
                output_per_mtok: p.output_per_mtok,
                cached_input_per_mtok: cached,
            },
        );
    }
    if let Some(s) = &spec.serve_as
        && !prices.contains_key(s)
    {
        let names: Vec<String> = prices.keys().cloned().collect();
        problems.push(
            Place::file(path).field("serve_as"),
            format!("`{s}` has no entry under `prices`"),
            format!("name one of {}", crate::error::one_of(&names)),
        );
    }
    problems.finish()?;
    Ok(Repricing { prices, serve_as: spec.serve_as })
}

/// `simulate --reprice --json`: the recorded trace's cost per model at the new prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepriceReport {
    pub trace: String,
    pub prices: String,
    pub serve_as: Option<String>,
    pub models: Vec<RepriceRow>,
}

/// Costs per recorded model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RepriceRow {
    pub model: String,
    pub requests: usize,
    pub billed_requests: usize,
    /// Successful requests with no price for their model (not counted in `repriced_usd`).
    pub unpriced_requests: usize,
    pub recorded_usd: Option<f64>,
    pub repriced_usd: f64,
}

/// Reprice a recorded trace. Needs recorded `model` (and `status`, else every request counts as
/// served).
pub fn reprice(trace: &Trace, repricing: &Repricing) -> Result<Vec<RepriceRow>> {
    let r = &trace.recorded;
    let Some(models) = &r.model else {
        return Err(Error::one(Problem::new(
            Place::file(&trace.source).field("model"),
            "the trace has no recorded `model` column; repricing needs to know who served each request",
            "import a gateway log (--format litellm or otel), or --map your model column to `model`",
        )));
    };
    let mut rows: BTreeMap<String, RepriceRow> = BTreeMap::new();
    for i in 0..trace.len() {
        let model = models.get(i).unwrap_or("unknown").to_string();
        let ok = r
            .status
            .as_ref()
            .and_then(|s| s.get(i))
            .is_none_or(|s| matches!(s.trim().to_ascii_lowercase().as_str(), "" | "ok" | "success" | "200"));
        let row =
            rows.entry(model.clone()).or_insert_with(|| RepriceRow { model: model.clone(), ..RepriceRow::default() });
        row.requests += 1;
        if let Some(c) = r.cost_usd.as_ref().and_then(|c| c[i]) {
            *row.recorded_usd.get_or_insert(0.0) += c;
        }
        if !ok {
            continue;
        }
        row.billed_requests += 1;
        let endpoint = r.region.as_ref().and_then(|reg| reg.get(i)).map(|reg| format!("{model}@{reg}"));
        let price = match &repricing.serve_as {
            Some(key) => repricing.prices.get(key),
            None => endpoint.and_then(|e| repricing.prices.get(&e)).or_else(|| repricing.prices.get(&model)),
        };
        match price {
            Some(p) => {
                let cached = trace.cached_input_tokens.as_ref().map_or(0, |c| c[i]);
                row.repriced_usd += p.cost_usd(trace.input_tokens[i], cached, trace.output_tokens[i]);
            }
            None => row.unpriced_requests += 1,
        }
    }
    Ok(rows.into_values().collect())
}

/// The repricing as a terminal table with a total line.
pub fn render(rows: &[RepriceRow], serve_as: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(s) = serve_as {
        out.push_str(&format!("every request priced as served by `{s}`\n"));
    }
    out.push_str(&format!(
        "{:<40} {:>9} {:>9} {:>9} {:>14} {:>14} {:>8}\n",
        "recorded model", "requests", "billed", "unpriced", "recorded $", "repriced $", "change"
    ));
    let total = RepriceRow {
        model: "total".into(),
        requests: rows.iter().map(|r| r.requests).sum(),
        billed_requests: rows.iter().map(|r| r.billed_requests).sum(),
        unpriced_requests: rows.iter().map(|r| r.unpriced_requests).sum(),
        recorded_usd: rows.iter().filter_map(|r| r.recorded_usd).reduce(|a, b| a + b),
        repriced_usd: rows.iter().map(|r| r.repriced_usd).sum(),
    };
    for r in rows.iter().chain(std::iter::once(&total)) {
        let change = match r.recorded_usd {
            Some(rec) if rec > 0.0 => format!("{:+.1}%", 100.0 * (r.repriced_usd - rec) / rec),
            _ => "-".into(),
        };
        out.push_str(&format!(
            "{:<40} {:>9} {:>9} {:>9} {:>14} {:>14.6} {:>8}\n",
            r.model,
            r.requests,
            r.billed_requests,
            r.unpriced_requests,
            r.recorded_usd.map_or("-".to_string(), |v| format!("{v:.6}")),
            r.repriced_usd,
            change
        ));
    }
    out
}
