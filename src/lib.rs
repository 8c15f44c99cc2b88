//! switchyard: replay LLM gateway traffic against a model-and-region catalog, offline.
//!
//! The data flow, one module per arrow:
//!
//! ```text
//! trace ──► (catalog + policy) ──► engine ──► metrics ──► report
//! ```
//!
//! * [`trace`] loads a request trace (CSV, CSV.gz, Parquet, NDJSON) or synthesizes one; it is the only
//!   module that knows polars.
//! * [`catalog`] describes endpoints (model x region): latency, availability, prices, quality, limits.
//! * [`policy`] validates routing rules against a catalog, then binds them to a trace's classes and
//!   origins as a [`policy::RoutingTable`].
//! * [`names`] resolves every name a user writes (endpoints, regions, classes, origins) against the
//!   catalog and the trace, with the closest names for a mistake and one rule for what is a typo.
//! * [`des`] is the discrete-event engine: capacity, queues, rate limits, outages, retries, cooldown.
//! * [`engine`] replays the trace through the routing table: no IO, no clock, deterministic by seed.
//! * [`metrics`] turns outcomes into summaries (exact quantiles, cost, shares, confidence intervals).
//! * [`report`] renders summaries as a terminal table and as the stable JSON layout.
//! * [`export`] writes a policy as the configuration real gateways load (LiteLLM, Portkey, Envoy AI
//!   Gateway, OpenRouter) or as switchyard's own policy YAML.
//! * [`chart`] draws cost-versus-latency or cost-versus-quality frontiers as PNG and SVG; it is the only
//!   module that knows plotters.
//! * [`trace::import`] reads public traces and gateway logs (Azure, BurstGPT, Mooncake, OpenTelemetry
//!   GenAI spans, LiteLLM spend logs, LLMPerf) into a [`trace::Trace`] with recorded outcomes.
//! * [`calibrate`] fits a catalog to a recorded trace (TTFT, decode speed, availability, 429 rate,
//!   outages) with a goodness-of-fit report; [`catalog::prices`] checks or fills prices from
//!   LiteLLM's price map.
//! * [`recorded`] answers what-ifs on recorded traffic: counterfactual replay and repricing.
//! * [`optimize`] finds the cheapest routing weights under latency, quality, success, capacity,
//!   residency and diversity targets (an LP; [`optimize::lp`] is the only module that knows good_lp).
//!
//! A whole pipeline, on the embedded default catalog:
//!
//! ```
//! use switchyard::{catalog::Catalog, engine, metrics, policy::Policy, trace::Trace, trace::Row};
//!
//! let catalog = Catalog::default_catalog();
//! let policy = Policy::from_yaml_str(
//!     "rules:\n  - name: all\n    targets: {deepseek-v4-flash@us-east-1: 1.0}\n    fallback: [qwen3-32b@us-east-1]\n",
//!     "inline.yaml".as_ref(),
//!     &catalog,
//! )
//! .unwrap();
//! let rows: Vec<Row> = (0..1000)
//!     .map(|i| Row { timestamp_s: i as f64, class: "chat", origin: Some("us-east-1"),
//!                    input_tokens: 800, output_tokens: 300 })
//!     .collect();
//! let trace = Trace::from_rows("example", &rows);
//! let table = policy.bind(&catalog, &trace).unwrap();
//! let outcomes = engine::replay(&catalog, &table, &trace, &engine::ReplayOptions::default());
//! let summary = metrics::summarize(&catalog, &table, &trace, &outcomes);
//! assert_eq!(summary.overall.requests, 1000);
//! ```

pub mod calibrate;
pub mod catalog;
pub mod chart;
pub mod compare;
pub mod des;
pub mod engine;
pub mod error;
pub mod export;
pub mod metrics;
pub mod names;
pub mod optimize;
pub mod output;
pub mod policy;
pub mod recorded;
pub mod report;
pub mod review;
pub mod run;
pub mod trace;
pub mod yaml;

pub use error::{Error, Result};
