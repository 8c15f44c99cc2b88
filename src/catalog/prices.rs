//! Prices from the ecosystem: LiteLLM's model price map (`model_prices_and_context_window.json`,
//! shipped in the `litellm` package as `litellm/model_prices_and_context_window_backup.json`; layout
//! at <https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json>).
//!
//! The map is one JSON object keyed by model name (`gpt-4o`, `azure/gpt-4o`,
//! `bedrock/anthropic.claude-3-haiku-20240307-v1:0`, ...), each entry with dollars per token
//! (`input_cost_per_token`, `output_cost_per_token`, `cache_read_input_token_cost`), context
//! (`max_input_tokens`, `max_tokens`), `litellm_provider` and `mode`. The `sample_spec` entry
//! documents the layout and is skipped.
//!
//! [`check`] compares a catalog's effective prices (per endpoint, after `price_scale`) with the map
//! and lists every endpoint as a match, a mismatch (relative difference above a tolerance), or not
//! found; [`fill`] writes the map's prices into a catalog file's models and regions that have none
//! (or zero, as `calibrate` writes them), or into all with `overwrite`. Model names are matched as
//! given by an alias, else exactly, else as `provider/model`, else by the last path segment of a key.
//!
//! Deliberately absent: no network; the file is read as given.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::Catalog;
use super::spec::{CatalogSpec, PricesSpec};
use crate::error::{Error, Place, Problem, Problems, Result};
use crate::yaml::unspanned;

/// One model's entry in the price map, in dollars per million tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceEntry {
    pub key: String,
    pub input_per_mtok: Option<f64>,
    pub output_per_mtok: Option<f64>,
    pub cached_input_per_mtok: Option<f64>,
    pub max_input_tokens: Option<u64>,
    pub provider: Option<String>,
}

/// The price map, by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceMap {
    pub source: String,
    pub entries: BTreeMap<String, PriceEntry>,
}

/// Read a LiteLLM price map. Non-numeric prices are problems naming the key and field.
pub fn load_price_map(path: &Path) -> Result<PriceMap> {
    let text = crate::error::read_text(path)?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        Error::one(Problem::new(
            Place::file(path).line(e.line()),
            format!("is not JSON: {e}"),
            "pass LiteLLM's model_prices_and_context_window.json (or the package's _backup.json copy)",
        ))
    })?;
    let Value::Object(map) = value else {
        return Err(Error::one(Problem::new(
            Place::file(path),
            "is not a JSON object keyed by model name",
            "pass LiteLLM's model_prices_and_context_window.json",
        )));
    };
    let mut problems = Problems::default();
    let mut entries = BTreeMap::new();
    for (key, entry) in map {
        if key == "sample_spec" {
            continue;
        }
        let Value::Object(fields) = entry else { continue };
        let mut per_mtok = |field: &str| -> Option<f64> {
            match fields.get(field) {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => match n.as_f64() {
                    Some(v) if v.is_finite() && v >= 0.0 => Some(v * 1e6),
                    _ => None,
                },
                Some(other) => {
                    problems.push(
                        Place::file(path).field(format!("{key}.{field}")),
                        format!("`{other}` is not a number of dollars per token"),
                        "fix the entry, or remove it from the file",
                    );
                    None
                }
            }
        };
        let input = per_mtok("input_cost_per_token");
        let output = per_mtok("output_cost_per_token");
        let cached = per_mtok("cache_read_input_token_cost");
        let max_input_tokens =
            fields.get("max_input_tokens").or_else(|| fields.get("max_tokens")).and_then(Value::as_u64);
        let provider = fields.get("litellm_provider").and_then(Value::as_str).map(str::to_string);
        entries.insert(
            key.clone(),
            PriceEntry {
                key,
                input_per_mtok: input,
                output_per_mtok: output,
                cached_input_per_mtok: cached,
                max_input_tokens,
                provider,
            },
        );
    }
    problems.finish()?;
    Ok(PriceMap { source: path.display().to_string(), entries })
}

impl PriceMap {
    /// The entry for a catalog model: the alias if given, else the name, else `provider/name`, else
    /// the first key (in sorted order) whose last `/` segment is the name.
    pub fn lookup(&self, model: &str, provider: Option<&str>, alias: Option<&str>) -> Option<&PriceEntry> {
        if let Some(a) = alias {
            return self.entries.get(a);
        }
        if let Some(e) = self.entries.get(model) {
            return Some(e);
        }
        if let Some(p) = provider
            && let Some(e) = self.entries.get(&format!("{p}/{model}"))
        {
            return Some(e);
        }
        self.entries.values().find(|e| e.key.rsplit('/').next() == Some(model))
    }
}

/// One line of the mismatch report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceCheck {
    pub endpoint: String,
    /// The price-map key used, if one was found.
    pub key: Option<String>,
    /// `input_per_mtok`, `output_per_mtok` or `cached_input_per_mtok`.
    pub field: String,
    pub catalog: f64,
    pub price_map: Option<f64>,
    /// (catalog - price map) / price map.
    pub relative_difference: Option<f64>,
    /// `match`, `mismatch`, `not in price map` or `no price in map`.
    pub status: String,
}

/// Compare every endpoint's prices with the map; `aliases` are (catalog model, map key).
pub fn check(catalog: &Catalog, map: &PriceMap, aliases: &[(String, String)], tolerance: f64) -> Vec<PriceCheck> {
    let mut out = Vec::new();
    for e in &catalog.endpoints {
        let alias = aliases.iter().find(|(m, _)| *m == e.model).map(|(_, k)| k.as_str());
        let provider = (!e.provider.is_empty()).then_some(e.provider.as_str());
        let entry = map.lookup(&e.model, provider, alias);
        let fields = [
            ("input_per_mtok", e.prices.input_per_mtok, entry.and_then(|x| x.input_per_mtok)),
            ("output_per_mtok", e.prices.output_per_mtok, entry.and_then(|x| x.output_per_mtok)),
            ("cached_input_per_mtok", e.prices.cached_input_per_mtok, entry.and_then(|x| x.cached_input_per_mtok)),
        ];
        for (field, ours, theirs) in fields {
            let rel = theirs.map(|t| {
                if t > 0.0 {
                    (ours - t) / t
                } else if ours == 0.0 {
                    0.0
                } else {
                    f64::INFINITY
                }
            });
            let status = match (entry, rel) {
                (None, _) => "not in price map",
                (Some(_), None) => "no price in map",
                (Some(_), Some(r)) if r.abs() <= tolerance => "match",
                _ => "mismatch",
            };
            out.push(PriceCheck {
                endpoint: e.id.clone(),
                key: entry.map(|x| x.key.clone()),
                field: field.to_string(),
                catalog: ours,
                price_map: theirs,
                relative_difference: rel,
                status: status.to_string(),
            });
        }
    }
    out
}

/// The report as a terminal table (mismatches and misses first, then a count of matches).
pub fn render_checks(checks: &[PriceCheck]) -> String {
    let mut out = format!(
        "{:<36} {:<22} {:<44} {:>10} {:>10} {:>8}  {}\n",
        "endpoint", "field", "price map key", "catalog", "map", "diff", "status"
    );
    let mut matches = 0;
    for c in checks {
        if c.status == "match" {
            matches += 1;
            continue;
        }
        out.push_str(&format!(
            "{:<36} {:<22} {:<44} {:>10.4} {:>10} {:>8}  {}\n",
            c.endpoint,
            c.field,
            c.key.as_deref().unwrap_or("-"),
            c.catalog,
            c.price_map.map_or("-".to_string(), |v| format!("{v:.4}")),
            c.relative_difference.map_or("-".to_string(), |r| format!("{:+.1}%", 100.0 * r)),
            c.status
        ));
    }
    out.push_str(&format!("{matches} of {} prices match the price map\n", checks.len()));
    out
}

/// Write the map's prices (and context windows) into a catalog file's models; returns one
/// sentence per change. Prices are filled where missing or all zero; with `overwrite`, everywhere.
pub fn fill(spec: &mut CatalogSpec, map: &PriceMap, aliases: &[(String, String)], overwrite: bool) -> Vec<String> {
    let mut changes = Vec::new();
    let empty = |p: &Option<crate::yaml::Spanned<PricesSpec>>| {
        p.as_ref().is_none_or(|p| p.value.input_per_mtok == 0.0 && p.value.output_per_mtok == 0.0)
    };
    for model in &mut spec.models {
        let name = model.name.value.clone();
        let alias = aliases.iter().find(|(m, _)| *m == name).map(|(_, k)| k.as_str());
        let Some(entry) = map.lookup(&name, model.provider.as_deref(), alias) else {
            changes.push(format!("{name}: not in the price map (pass --alias {name}=KEY)"));
            continue;
        };
        let (Some(input), Some(output)) = (entry.input_per_mtok, entry.output_per_mtok) else {
            changes.push(format!("{name}: `{}` has no input/output price", entry.key));
            continue;
        };
        let prices = PricesSpec {
            input_per_mtok: input,
            output_per_mtok: output,
            cached_input_per_mtok: entry.cached_input_per_mtok,
        };
        let source = format!("LiteLLM price map `{}` ({})", entry.key, map.source);
        if overwrite || empty(&model.prices) {
            model.prices = Some(unspanned(prices.clone()));
            model.sources.insert("prices".into(), source.clone());
            changes.push(format!("{name}: prices from `{}`: {input} in, {output} out per million tokens", entry.key));
        }
        for (region, over) in &mut model.regions.0 {
            if over.prices.is_some() && (overwrite || empty(&over.prices)) {
                over.prices = Some(unspanned(prices.clone()));
                over.sources.insert("prices".into(), source.clone());
                changes.push(format!("{name}@{}: prices from `{}`", region.value, entry.key));
            }
        }
        if model.capabilities.max_context_tokens.is_none()
            && let Some(ctx) = entry.max_input_tokens
        {
            model.capabilities.max_context_tokens = Some(ctx);
            changes.push(format!("{name}: context window {ctx} tokens from `{}`", entry.key));
        }
    }
    changes
}
