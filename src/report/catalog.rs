//! The catalog as `catalog show` presents it: one row per endpoint, as a terminal table and as
//! JSON (`catalog show --json`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::{Catalog, Endpoint};

/// One endpoint's row of `catalog show --json`.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogRow<'c> {
    pub endpoint: &'c str,
    pub model: &'c str,
    pub region: &'c str,
    pub provider: &'c str,
    pub family: &'c str,
    pub tier: &'c str,
    pub ttft_p50_s: f64,
    pub ttft_p99_s: f64,
    pub decode_tokens_per_s_p50: f64,
    pub availability: f64,
    pub price_input_per_mtok: f64,
    pub price_output_per_mtok: f64,
    pub price_cached_input_per_mtok: f64,
    pub vision: bool,
    pub audio: bool,
    pub max_context_tokens: Option<u64>,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub max_concurrency: Option<u64>,
    pub quality: &'c BTreeMap<String, f64>,
    pub quality_default: Option<f64>,
}

/// `catalog show --json`: the catalog's name and its endpoints.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogTable<'c> {
    pub catalog: &'c str,
    pub endpoints: Vec<CatalogRow<'c>>,
}

impl<'c> CatalogRow<'c> {
    pub fn new(e: &'c Endpoint) -> CatalogRow<'c> {
        CatalogRow {
            endpoint: &e.id,
            model: &e.model,
            region: &e.region,
            provider: &e.provider,
            family: &e.family,
            tier: &e.tier,
            ttft_p50_s: e.ttft.quantile(0.5),
            ttft_p99_s: e.ttft.quantile(0.99),
            decode_tokens_per_s_p50: e.decode.median_tokens_per_s(),
            availability: e.availability,
            price_input_per_mtok: e.prices.input_per_mtok,
            price_output_per_mtok: e.prices.output_per_mtok,
            price_cached_input_per_mtok: e.prices.cached_input_per_mtok,
            vision: e.capabilities.vision,
            audio: e.capabilities.audio,
            max_context_tokens: e.capabilities.max_context_tokens,
            rpm: e.limits.rpm,
            tpm: e.limits.tpm,
            max_concurrency: e.limits.max_concurrency,
            quality: &e.quality.per_class,
            quality_default: e.quality.default,
        }
    }
}

impl<'c> CatalogTable<'c> {
    pub fn new(catalog: &'c Catalog, name: &'c str) -> CatalogTable<'c> {
        CatalogTable { catalog: name, endpoints: catalog.endpoints.iter().map(CatalogRow::new).collect() }
    }
}

/// `catalog show` for a terminal.
pub fn render_catalog(cat: &Catalog, name: &str) -> String {
    let header =
        ["endpoint", "tier", "ttft p50", "ttft p99", "tok/s", "avail", "$in/M", "$out/M", "vision", "ctx", "rpm"];
    let rows: Vec<[String; 11]> = cat
        .endpoints
        .iter()
        .map(|e| {
            [
                e.id.clone(),
                e.tier.clone(),
                format!("{:.2}s", e.ttft.quantile(0.5)),
                format!("{:.2}s", e.ttft.quantile(0.99)),
                format!("{:.0}", e.decode.median_tokens_per_s()),
                format!("{:.2}%", e.availability * 100.0),
                format!("{:.4}", e.prices.input_per_mtok),
                format!("{:.2}", e.prices.output_per_mtok),
                if e.capabilities.vision { "yes".into() } else { "-".into() },
                e.capabilities.max_context_tokens.map_or("-".into(), |c| format!("{}k", c / 1000)),
                e.limits.rpm.map_or("-".into(), |r| r.to_string()),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let fmt = |cells: Vec<&str>| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| if i == 0 { format!("{c:<w$}", w = widths[i]) } else { format!("{c:>w$}", w = widths[i]) })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = format!(
        "{name}: {} endpoints, {} models, regions {}\n\n",
        cat.endpoints.len(),
        cat.models.len(),
        cat.regions.join(", ")
    );
    out.push_str(&fmt(header.to_vec()));
    out.push('\n');
    for r in &rows {
        out.push_str(&fmt(r.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}
