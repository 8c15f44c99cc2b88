//! Command-line flags (clap derive). Every subcommand has its own `--help` with an example.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use switchyard::trace::TraceFormat;

use super::io::{Declared, OutputKind};
/// The most worker threads `--threads` (or RAYON_NUM_THREADS) may ask for: far more than any
/// machine has cores, far fewer than the thousands of thread stacks that exhaust memory.
pub const MAX_THREADS: u16 = 1024;

#[derive(Debug, Parser)]
#[command(
    name = "switchyard",
    version,
    about = "Replay LLM gateway traffic against a model-and-region catalog, offline.",
    long_about = "Replay recorded or synthetic LLM traffic against a catalog of model endpoints (latency, \
availability, prices, quality per region) and a routing policy, and see what the policy does to cost, \
tail latency, quality and failed requests before it ships.\n\nStart with `switchyard demo`.",
    after_help = concat!(
        "Examples:\n  switchyard demo\n  switchyard simulate --trace traces/sample.csv --policy policies/field-report.yaml\n  switchyard trace synth -o day.parquet\n  switchyard validate --policy my-policy.yaml --trace day.parquet\n\n",
        "Exit codes:\n  0  success\n  1  the run could not complete: a file could not be read or written, no routing meets the targets\n  2  bad input or usage: a flag, a file's contents, a name, an output that would overwrite an input\n\n",
        "Flags: an output file is -o/--output FILE (a JSON report --json FILE), an output folder --out DIR,\n  charts --chart DIR; outputs never overwrite inputs. See docs/cli.md."
    )
)]
pub struct Cli {
    /// Worker threads, 1 to 1024; 0 or absent: all cores (or RAYON_NUM_THREADS). Results do not
    /// depend on it.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=MAX_THREADS as i64))]
    pub threads: Option<u16>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Print how long each phase took (read, replay, metrics, write; for `trace` commands read,
    /// stats, write) to stderr.
    #[arg(long, global = true)]
    pub timing: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole pipeline on embedded inputs (needs no files): synthesize a day of traffic, replay
    /// the field-report policy, find the cheapest routing that meets policies/constraints.yaml,
    /// verify it by replay, export it for LiteLLM, Portkey, Envoy AI Gateway and OpenRouter, and
    /// draw the cost-latency and cost-quality frontiers, all under ./switchyard-demo/.
    #[command(
        after_help = "Writes: trace.parquet, policy.yaml (the field-report policy), report.json, requests.parquet,\n  constraints.yaml, optimize/{recommendation.json, policy.yaml, litellm-config.yaml, portkey-config.json,\n  envoy-aigatewayroute.yaml, openrouter-provider.json}, frontier/{frontier.csv, frontier.json,\n  frontier-cost-latency.png/.svg, frontier-cost-quality.png/.svg}, review.html (the recommendation against\n  the policy in production, one self-contained page)\n\nExample:\n  switchyard demo --requests 200000 --out /tmp/demo"
    )]
    Demo(DemoArgs),
    /// Replay a trace through a policy and report cost, latency, quality and failures.
    #[command(
        after_help = "Examples:\n  switchyard simulate --trace day.parquet --policy policy.yaml\n  switchyard simulate --trace ref/trace.csv --catalog policies/reference/catalog.yaml \\\n      --policy policies/reference/policy.yaml --seed 7 --replicates 5 --json result.json\n  switchyard simulate --trace big.parquet --policy policy.yaml --quantiles sketch\n  switchyard simulate --trace logs.csv --map prompt_tokens=input_tokens --map completion_tokens=output_tokens \\\n      --skip-bad-rows --policy policy.yaml --per-request requests.parquet\n  switchyard simulate --trace spend_logs.csv --format litellm --catalog calibrated.yaml --policy new.yaml --counterfactual\n  switchyard simulate --trace spend_logs.csv --format litellm --reprice tomorrow-prices.yaml"
    )]
    Simulate(SimulateArgs),
    /// Gate a routing change: run a baseline and a candidate policy on the same trace with the
    /// same random numbers, judge every figure's change against a guard, and exit 0 pass, 1 fail,
    /// 3 inconclusive or marginal.
    #[command(
        after_help = "Exit codes: 0 pass, 1 fail (or could not complete), 2 bad input, 3 inconclusive or marginal.\n\nExamples:\n  switchyard compare --trace day.parquet --baseline policy.yaml --candidate new-policy.yaml\n  switchyard compare --trace day.parquet --baseline policy.yaml --candidate new-policy.yaml \\\n      --guard guard.yaml --replicates 10 --json comparison.json --markdown comment.md\n  switchyard compare --trace day.parquet --baseline a.yaml --candidate b.yaml --engine des \\\n      --scenario policies/scenario-outage.yaml\n  switchyard compare --trace day.parquet --baseline a.yaml --candidate b.yaml --engine des \\\n      --scenario normal.yaml --scenario outage.yaml --chart compare-charts\n  switchyard compare --trace day.parquet --baseline policy.yaml --candidate policy.yaml \\\n      --candidate-catalog new-prices.yaml   # next month's prices\n  switchyard compare --baseline before.json --candidate after.json   # two saved simulate reports"
    )]
    Compare(CompareArgs),
    /// Write the review page from saved outputs: one self-contained HTML file with the verdict,
    /// provenance, the policy diff, service levels, cost, capacity and the frontiers. (To run the
    /// policies and write it in one step: `compare --html`.)
    #[command(after_help = "Examples:
  switchyard compare --trace day.parquet --baseline policy.yaml --candidate new.yaml --json c.json
  switchyard report --comparison c.json --baseline policy.yaml --candidate new.yaml --trace day.parquet \
      -o review.html
  switchyard report --recommendation opt/recommendation.json --frontier opt/frontier.json \
      --comparison c.json -o review.html")]
    Report(ReportArgs),
    /// Check a catalog, a policy and constraints (and optionally a trace) and report every problem at once.
    #[command(
        after_help = "Examples:\n  switchyard validate --catalog catalog.yaml --policy policy.yaml --trace day.parquet\n  switchyard validate --constraints policies/constraints.yaml --trace traces/sample.csv"
    )]
    Validate(ValidateArgs),
    /// Find the cheapest routing weights that meet latency, quality, success, capacity, residency
    /// and diversity targets; verify them by simulation; write the policy and gateway configs.
    #[command(
        after_help = "Examples:\n  switchyard optimize --trace day.parquet --constraints policies/constraints.yaml --out opt\n  switchyard optimize --trace day.parquet --constraints k.yaml --current policy.yaml \\\n      --export litellm,portkey,envoy,openrouter --dump-lp routing.lp --out opt"
    )]
    Optimize(OptimizeArgs),
    /// Sweep the latency bounds (or quality targets) and chart cost against them: one LP per point.
    #[command(
        after_help = "Examples:\n  switchyard frontier --trace day.parquet --constraints policies/constraints.yaml --out frontier\n  switchyard frontier --trace ref/trace.csv --catalog policies/reference/catalog.yaml \\\n      --constraints policies/reference/constraints.yaml --from 0.25 --to 2 --points 50 --out ref-frontier"
    )]
    Frontier(FrontierArgs),
    /// Fit a catalog to a recorded trace: TTFT, decode speed, availability, 429 rate and outage
    /// windows per (model, region), with a goodness-of-fit table.
    #[command(
        after_help = "Examples:\n  switchyard calibrate --trace recorded.parquet -o catalog.yaml\n  switchyard calibrate --trace spend_logs.csv --format litellm --method empirical --holdout \\\n      -o catalog.yaml --json fit.json --cdf cdf.csv --chart fit-charts"
    )]
    Calibrate(CalibrateArgs),
    /// Work with traces: synthesize, summarise, convert.
    #[command(subcommand)]
    Trace(TraceCommand),
    /// Work with catalogs: show endpoints, print the embedded default.
    #[command(subcommand)]
    Catalog(CatalogCommand),
}

#[derive(Debug, Args)]
pub struct TraceInput {
    /// Trace file: CSV, CSV.gz, Parquet or NDJSON (by extension, or --format).
    #[arg(long, value_name = "FILE")]
    pub trace: PathBuf,
    #[command(flatten)]
    pub read: ReadFlags,
}

#[derive(Debug, Args, Clone)]
pub struct ReadFlags {
    /// Trace format, when the extension does not tell; or an importer of a public trace or gateway
    /// log (azure, burstgpt, mooncake, otel, litellm, llmperf).
    #[arg(long, value_enum)]
    pub format: Option<TraceFormat>,
    /// Rename a column: SOURCE=CANONICAL (repeatable), e.g. --map prompt_tokens=input_tokens.
    #[arg(long = "map", value_name = "SRC=DST")]
    pub map: Vec<String>,
    /// Skip malformed rows (and count them in every report) instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Importers: spread requests that share a timestamp evenly over the gap to the next one
    /// (for quantised clocks, e.g. Mooncake).
    #[arg(long)]
    pub spread_ties: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub input: TraceInput,
    /// Catalog YAML (default: the embedded field-report catalog).
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// Policy YAML.
    #[arg(long, value_name = "FILE", required_unless_present = "reprice")]
    pub policy: Option<PathBuf>,
    /// Counterfactual replay of a recorded trace: requests the policy routes to the endpoint that
    /// served them in the recording keep their recorded latency and outcome; the rest are sampled.
    #[arg(long)]
    pub counterfactual: bool,
    /// Reprice the recorded trace with the prices in this YAML (per model or model@region, and
    /// optionally `serve_as: MODEL`); no policy and no sampling.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["policy", "counterfactual"])]
    pub reprice: Option<PathBuf>,
    /// Random seed; the same seed gives byte-identical results at any thread count.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Independent replications; with 2 or more every figure gets a 95% confidence interval.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub replicates: u32,
    /// Write the report as JSON (stable layout, see README).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write each request's route, attempts, latency, cost and outcome (Parquet, CSV or NDJSON by
    /// extension; first replicate).
    #[arg(long, value_name = "FILE")]
    pub per_request: Option<PathBuf>,
    /// Latency quantiles: `exact` (Hyndman-Fan type 7 over every served latency) or `sketch`
    /// (within 0.049% of exact, from mergeable histograms; keeps no per-request column: 10 bytes a
    /// request less memory). `--stream` always sketches.
    #[arg(long, value_enum, default_value_t = QuantileMethod::Exact)]
    pub quantiles: QuantileMethod,
    #[command(flatten)]
    pub des: DesFlags,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Trace file: CSV, CSV.gz, Parquet or NDJSON (by extension, or --format). Not with saved
    /// reports, which were run on their own traces.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadFlags,
    /// Catalog YAML (default: the embedded field-report catalog).
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// The candidate's catalog, when it differs (a price change, a new endpoint): the candidate
    /// policy binds to it, the baseline to --catalog. Same endpoints: still paired request by request.
    #[arg(long, value_name = "FILE")]
    pub candidate_catalog: Option<PathBuf>,
    /// The policy in production (YAML), or a saved report of it (`simulate --json`, .json).
    #[arg(long, value_name = "FILE", required_unless_present = "baseline_report")]
    pub baseline: Option<PathBuf>,
    /// The policy proposed (YAML), or a saved report of it (.json): two saved reports compare
    /// unpaired (Welch intervals from each report's ci95; wider than a paired run's).
    #[arg(long, value_name = "FILE", required_unless_present = "candidate_report")]
    pub candidate: Option<PathBuf>,
    /// A saved simulate report of the baseline (whatever its extension).
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    pub baseline_report: Option<PathBuf>,
    /// A saved simulate report of the candidate (whatever its extension).
    #[arg(long, value_name = "FILE", conflicts_with = "candidate")]
    pub candidate_report: Option<PathBuf>,
    /// Guard YAML: the allowed change per figure and class, which figures are critical, the pass
    /// and marginal scores (default: the embedded guard, `docs/compare.md`).
    #[arg(long, value_name = "FILE")]
    pub guard: Option<PathBuf>,
    /// Random seed (default 42); replicate r of both policies uses the same random numbers.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Paired replicates (default 5); every figure's change gets a 95% interval from their
    /// differences.
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub replicates: Option<u32>,
    /// Write the comparison as JSON (schema `switchyard.compare.v1`).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the verdict and what decided it as Markdown, for a pull-request comment.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write the review page: one self-contained HTML file (verdict, provenance, policy diff,
    /// service levels, cost, capacity, charts) to open in a browser or attach to a ticket.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Draw the one-glance chart into DIR: p99 per class and cost against p99, baseline beside
    /// candidate with 95% intervals (`compare.png` and `.svg`; one pair per scenario).
    #[arg(long, value_name = "DIR")]
    pub chart: Option<PathBuf>,
    /// Engine: `replay` (stateless) or `des` (discrete-event, with capacity and time).
    #[arg(long, value_enum, default_value_t = EngineKind::Replay)]
    pub engine: EngineKind,
    /// Scenario YAML for `--engine des`; repeatable (e.g. a normal day and a regional outage): both
    /// policies run under each, and the verdict is the worst of the scenarios'.
    #[arg(long, value_name = "FILE")]
    pub scenario: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The comparison `compare --json` wrote (one scenario or several).
    #[arg(long, value_name = "FILE")]
    pub comparison: Option<PathBuf>,
    /// A saved simulate report (`simulate --json`): once for one policy's figures; twice (baseline,
    /// then candidate) to compare them unpaired when there is no --comparison.
    #[arg(long, value_name = "FILE", num_args = 1, action = clap::ArgAction::Append)]
    pub simulate: Vec<PathBuf>,
    /// Guard YAML for a comparison of two --simulate reports (default: the embedded guard).
    #[arg(long, value_name = "FILE")]
    pub guard: Option<PathBuf>,
    /// The baseline policy (YAML), for the rule-by-rule diff.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// The candidate policy (YAML), for the rule-by-rule diff.
    #[arg(long, value_name = "FILE")]
    pub candidate: Option<PathBuf>,
    /// Catalog YAML the policies name (default: the embedded field-report catalog).
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// The trace the comparison ran on: hashed, its size and span shown, its cost projected to a month.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadFlags,
    /// `recommendation.json` of `optimize`: its verified constraints and shadow prices.
    #[arg(long, value_name = "FILE")]
    pub recommendation: Option<PathBuf>,
    /// `frontier.json` of `frontier`: cost against latency and quality, the two policies marked.
    #[arg(long, value_name = "FILE")]
    pub frontier: Option<PathBuf>,
    /// The fit `calibrate --json` wrote for the catalog: its table shows how far to trust it.
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
    /// The page to write (.html).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
}

/// How `simulate` computes latency quantiles (the library's type).
pub use switchyard::run::Quantiles as QuantileMethod;

/// Which engine `simulate` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EngineKind {
    /// Stateless Monte Carlo replay: no time, no capacity (fast; SEMANTICS.md section 3).
    #[default]
    Replay,
    /// Discrete-event: concurrency and FIFO queues, rpm/tpm limits, outages, retries, cooldown.
    Des,
}

/// Flags of the discrete-event engine (`--engine des`).
#[derive(Debug, Args, Clone, Default)]
pub struct DesFlags {
    /// Engine: `replay` (stateless) or `des` (discrete-event, with capacity and time).
    #[arg(long, value_enum, default_value_t = EngineKind::Replay)]
    pub engine: EngineKind,
    /// Scenario YAML for `--engine des`: gateway retries/cooldown, limits, outages, incidents (see README).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Set every endpoint's max concurrency to N (`--engine des`; like peer_simpy.py --concurrency).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub concurrency: Option<u64>,
    /// Write the per-minute time series (served, failed, 429s, queue, p50/p99, cost) to FILE (.csv or
    /// .parquet; repeatable; first replicate; `--engine des`).
    #[arg(long, value_name = "FILE")]
    pub timeseries: Vec<PathBuf>,
    /// Draw the time series (p50/p99 latency, served/failed/429s, queue) with incidents shaded as
    /// DIR/timeline.png and DIR/timeline.svg (folder created if missing; first replicate; `--engine des`).
    #[arg(long, value_name = "DIR")]
    pub chart: Option<PathBuf>,
    /// Read the trace in chunks and keep only the requests in flight (`--engine des`): memory stays
    /// bounded however long the trace. Parquet or unquoted CSV, in time order; read twice (checked
    /// first). Latency quantiles come from a sketch (within 0.05% of the exact ones); no
    /// --per-request.
    #[arg(long)]
    pub stream: bool,
    /// Rows per chunk with --stream (Parquet row groups are joined up to it).
    #[arg(long, value_name = "ROWS", default_value_t = 131_072, value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_rows: u64,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Catalog YAML (default: the embedded field-report catalog).
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// Policy YAML.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Constraints YAML (as `optimize --constraints` reads it).
    #[arg(long, value_name = "FILE")]
    pub constraints: Option<PathBuf>,
    /// Also check the policy and constraints against this trace: every class of it has a rule, and
    /// every class and origin they name occurs in it (a near miss of one that does is an error).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadFlags,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output folder (created if missing; a rerun replaces the demo's files in it and leaves others alone).
    #[arg(long, value_name = "DIR", default_value = "switchyard-demo")]
    pub out: PathBuf,
    /// Requests in the synthetic traffic: one day, or past 1,500,000 (what the default catalog's
    /// quotas carry in a day with room to spare) as many days as keep each day at or below that.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub requests: u64,
    /// Random seed of the synthetic day and the replays; the same seed gives the same files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Points on the demo's cost-latency frontier (one LP each).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub points: u32,
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub input: TraceInput,
    /// Output catalog YAML.
    #[arg(short, long = "output", alias = "out", value_name = "FILE")]
    pub output: PathBuf,
    /// Form of the fitted TTFT (and latency) written to the catalog.
    #[arg(long, value_enum, default_value = "lognormal")]
    pub method: FitMethodArg,
    /// Fit on every other request (in time order) and measure the fit on the others.
    #[arg(long)]
    pub holdout: bool,
    /// Consecutive failed requests that make an outage window.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub outage_min_run: usize,
    /// Also write the whole fit (parameters, goodness of fit, outages, warnings) as JSON.
    #[arg(long, alias = "report", value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write observed and fitted CDFs per endpoint and quantity as a table (.csv, .parquet).
    #[arg(long, value_name = "FILE")]
    pub cdf: Option<PathBuf>,
    /// Also draw fitted-versus-observed CDF charts (PNG and SVG, one per endpoint and quantity)
    /// into this folder (created if missing).
    #[arg(long, value_name = "DIR")]
    pub chart: Option<PathBuf>,
}

/// `--method` of `calibrate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FitMethodArg {
    /// Lognormal by maximum likelihood.
    Lognormal,
    /// Empirical quantiles (dense in the tail).
    Empirical,
}

#[derive(Debug, Subcommand)]
pub enum TraceCommand {
    /// Synthesize traffic from a YAML spec (or the built-in default) and write Parquet or CSV.
    #[command(
        after_help = "Examples:\n  switchyard trace synth -o day.parquet\n  switchyard trace synth --print-default-spec > spec.yaml\n  switchyard trace synth --spec spec.yaml --seed 7 -o day.csv"
    )]
    Synth {
        /// Spec YAML (default: built-in, see --print-default-spec).
        #[arg(long, value_name = "FILE")]
        spec: Option<PathBuf>,
        /// Random seed; the same spec and seed give the same trace.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output file (.parquet, .csv, .csv.gz or .ndjson).
        #[arg(
            short,
            long = "output",
            alias = "out",
            value_name = "FILE",
            required_unless_present = "print_default_spec"
        )]
        output: Option<PathBuf>,
        /// Print the built-in spec as YAML and exit.
        #[arg(long)]
        print_default_spec: bool,
    },
    /// Summarise a trace: rows, span, rates, burstiness, class and origin mix, token percentiles.
    #[command(after_help = "Example:\n  switchyard trace stats day.parquet --json stats.json")]
    Stats {
        /// Trace file.
        file: PathBuf,
        #[command(flatten)]
        read: ReadFlags,
        /// Also write the statistics as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Import a public trace or gateway log (Azure, BurstGPT, Mooncake, OpenTelemetry GenAI spans,
    /// LiteLLM spend logs, LLMPerf results) into a canonical trace, and say what was not mapped.
    #[command(
        after_help = "Examples:\n  switchyard trace import --format azure AzureLLMInferenceTrace_conv.csv -o azure.parquet\n  switchyard trace import --format litellm spend_logs.csv -o recorded.parquet --json import.json\n  switchyard trace import --format mooncake mooncake_trace.jsonl --spread-ties -o mooncake.parquet"
    )]
    Import {
        /// The file to import.
        file: PathBuf,
        /// The input format: an importer (files already in the canonical columns need no import:
        /// `trace convert` reads and writes them).
        #[arg(long, value_parser = importer_format())]
        format: TraceFormat,
        /// Drop bad records (counted in the report) instead of failing.
        #[arg(long)]
        skip_bad_rows: bool,
        /// Spread requests that share a timestamp evenly over the gap to the next one.
        #[arg(long)]
        spread_ties: bool,
        /// Output trace (.parquet, .csv, .csv.gz or .ndjson).
        #[arg(short, long = "output", alias = "out", value_name = "FILE")]
        output: PathBuf,
        /// Also write the import report (what was mapped, what was not) as JSON.
        #[arg(long, alias = "report", value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Convert a trace between formats (validating it on the way).
    #[command(after_help = "Example:\n  switchyard trace convert trace.csv -o trace.parquet")]
    Convert {
        file: PathBuf,
        #[command(flatten)]
        read: ReadFlags,
        /// Output file (.parquet, .csv, .csv.gz or .ndjson).
        #[arg(short, long = "output", alias = "out", value_name = "FILE")]
        output: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Show the endpoints of a catalog as a table (or JSON).
    #[command(
        after_help = "Examples:\n  switchyard catalog show\n  switchyard catalog show --catalog policies/reference/catalog.yaml --json"
    )]
    Show {
        /// Catalog YAML (default: the embedded field-report catalog).
        #[arg(long, value_name = "FILE")]
        catalog: Option<PathBuf>,
        /// Write the endpoints as JSON to FILE instead of the table (`--json` alone, or `--json -`:
        /// to standard output).
        #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
        json: Option<PathBuf>,
    },
    /// Check a catalog's prices against LiteLLM's model price map, or fill them in from it.
    #[command(
        after_help = "Examples:\n  switchyard catalog import-prices --prices model_prices_and_context_window.json --catalog catalog.yaml\n  switchyard catalog import-prices --prices prices.json --catalog calibrated.yaml --alias llama-2-70b=together_ai/meta-llama/Llama-2-70b-chat-hf \\\n      --fill -o priced.yaml --checks mismatches.csv"
    )]
    ImportPrices {
        /// LiteLLM's model_prices_and_context_window.json.
        #[arg(long, value_name = "FILE")]
        prices: PathBuf,
        /// Catalog YAML (default: the embedded field-report catalog).
        #[arg(long, value_name = "FILE")]
        catalog: Option<PathBuf>,
        /// Which price-map key a catalog model is: MODEL=KEY (repeatable).
        #[arg(long = "alias", value_name = "MODEL=KEY")]
        alias: Vec<String>,
        /// Relative difference still counted as a match.
        #[arg(long, default_value_t = 0.005)]
        tolerance: f64,
        /// Write the catalog with the map's prices filled in where it has none (or zero).
        #[arg(long, requires = "output")]
        fill: bool,
        /// With --fill: replace every price, not only missing ones.
        #[arg(long, requires = "fill")]
        overwrite: bool,
        /// Output catalog for --fill.
        #[arg(short, long = "output", alias = "out", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Also write the comparison, one row per endpoint and price (.csv, .parquet, .ndjson).
        #[arg(long, alias = "report", value_name = "FILE")]
        checks: Option<PathBuf>,
    },
    /// Print the embedded default catalog's YAML (with the source of every figure).
    #[command(after_help = "Example:\n  switchyard catalog default > my-catalog.yaml")]
    Default,
}

#[derive(Debug, Args)]
pub struct OptimizeInputs {
    #[command(flatten)]
    pub input: TraceInput,
    /// Catalog YAML (default: the embedded field-report catalog).
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// Constraints YAML: per-class latency/quality/success targets, residency, share caps, budget
    /// (see README "Constraints").
    #[arg(long, value_name = "FILE")]
    pub constraints: PathBuf,
    /// The policy in production today: marked on charts and compared with the recommendation.
    #[arg(long, value_name = "FILE")]
    pub current: Option<PathBuf>,
    /// Output folder (created if missing). A rerun replaces this command's files in it and
    /// removes those it does not write again; other files are left alone.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct OptimizeArgs {
    #[command(flatten)]
    pub inputs: OptimizeInputs,
    /// Gateway configs to write besides the native policy, separated by commas
    #[arg(long, value_name = "LIST", value_enum, value_delimiter = ',', ignore_case = true)]
    pub export: Vec<switchyard::export::Format>,
    /// Write the LP in CPLEX LP format, to check the optimum with any other solver.
    #[arg(long, value_name = "FILE")]
    pub dump_lp: Option<PathBuf>,
    /// Seed of the verification replay (different from the default simulate seed on purpose).
    #[arg(long, default_value_t = 1729)]
    pub seed: u64,
    /// Replicates of the verification replay (confidence intervals need 2 or more).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub replicates: u32,
    /// Tighten-and-re-solve rounds when the simulation misses a target by more than its interval.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Skip the verification replay.
    #[arg(long)]
    pub no_verify: bool,
    /// Engine of the verification: `replay`, or `des` to re-simulate with queues, rate limits and
    /// the scenario's outages and retries (a missed target tightens and re-solves, as with replay).
    #[arg(long, value_enum, default_value_t = EngineKind::Replay)]
    pub verify_engine: EngineKind,
    /// Scenario YAML for `--verify-engine des` (default: the catalog's limits, no outages).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<std::path::PathBuf>,
    /// Every endpoint's max concurrency for `--verify-engine des`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub concurrency: Option<u64>,
}

#[derive(Debug, Args)]
pub struct FrontierArgs {
    #[command(flatten)]
    pub inputs: OptimizeInputs,
    /// Smallest multiplier of every latency bound.
    #[arg(long, default_value_t = 0.25)]
    pub from: f64,
    /// Largest multiplier.
    #[arg(long, default_value_t = 2.0)]
    pub to: f64,
    /// Points (geometrically spaced multipliers), one LP each, solved in parallel.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub points: u32,
    /// The class whose bound is the x axis (default: the fleet bound, else the busiest class with one).
    #[arg(long, value_name = "CLASS")]
    pub class: Option<String>,
}

/// `trace import --format`: only the importers of [`TraceFormat`] (a file already in the
/// canonical columns is read as it is, by every command, and converted by `trace convert`).
fn importer_format() -> impl clap::builder::TypedValueParser<Value = TraceFormat> {
    use clap::ValueEnum;
    use clap::builder::TypedValueParser as _;
    let importers: Vec<clap::builder::PossibleValue> =
        TraceFormat::value_variants().iter().filter(|f| f.is_import()).filter_map(|f| f.to_possible_value()).collect();
    clap::builder::PossibleValuesParser::new(importers).try_map(|name| TraceFormat::from_str(&name, true))
}

impl Command {
    /// What the command reads and writes, by flag: the one declaration [`Declared::check`] checks
    /// before any work (no output over an input, every output writable, output folders staged).
    /// A new path flag is declared here (the test below fails until it is).
    pub fn io(&self) -> Declared {
        use OutputKind::{File, Folder, Table};
        match self {
            Command::Demo(a) => Declared::new("demo").output("--out", Folder { owns: super::owned::demo }, [&a.out]),
            Command::Simulate(a) => Declared::new("simulate")
                .input("--trace", &a.input.trace)
                .input("--catalog", a.catalog.as_ref())
                .input("--policy", a.policy.as_ref())
                .input("--reprice", a.reprice.as_ref())
                .input("--scenario", a.des.scenario.as_ref())
                .output("--json", File, &a.json)
                .output("--per-request", Table, &a.per_request)
                .output("--timeseries", Table, &a.des.timeseries)
                .output("--chart", Folder { owns: super::owned::timeline_chart }, &a.des.chart),
            Command::Compare(a) => Declared::new("compare")
                .input("--trace", a.trace.as_ref())
                .input("--catalog", a.catalog.as_ref())
                .input("--candidate-catalog", a.candidate_catalog.as_ref())
                .input("--baseline", a.baseline.as_ref())
                .input("--candidate", a.candidate.as_ref())
                .input("--baseline-report", a.baseline_report.as_ref())
                .input("--candidate-report", a.candidate_report.as_ref())
                .input("--guard", a.guard.as_ref())
                .inputs("--scenario", &a.scenario)
                .output("--json", File, &a.json)
                .output("--markdown", File, &a.markdown)
                .output("--html", File, &a.html)
                .output("--chart", Folder { owns: super::owned::compare_chart }, &a.chart),
            Command::Report(a) => Declared::new("report")
                .input("--comparison", a.comparison.as_ref())
                .inputs("--simulate", &a.simulate)
                .input("--guard", a.guard.as_ref())
                .input("--baseline", a.baseline.as_ref())
                .input("--candidate", a.candidate.as_ref())
                .input("--catalog", a.catalog.as_ref())
                .input("--trace", a.trace.as_ref())
                .input("--recommendation", a.recommendation.as_ref())
                .input("--frontier", a.frontier.as_ref())
                .input("--calibration", a.calibration.as_ref())
                .output("--output", File, [&a.output]),
            Command::Validate(a) => Declared::new("validate")
                .input("--catalog", a.catalog.as_ref())
                .input("--policy", a.policy.as_ref())
                .input("--constraints", a.constraints.as_ref())
                .input("--trace", a.trace.as_ref()),
            Command::Optimize(a) => optimize_inputs("optimize", &a.inputs, super::owned::optimize)
                .input("--scenario", a.scenario.as_ref())
                .output("--dump-lp", File, &a.dump_lp),
            Command::Frontier(a) => optimize_inputs("frontier", &a.inputs, super::owned::frontier),
            Command::Calibrate(a) => Declared::new("calibrate")
                .input("--trace", &a.input.trace)
                .output("--output", File, [&a.output])
                .output("--json", File, &a.json)
                .output("--cdf", Table, &a.cdf)
                .output("--chart", Folder { owns: super::owned::cdf_chart }, &a.chart),
            Command::Trace(TraceCommand::Synth { spec, output, .. }) => {
                Declared::new("trace synth").input("--spec", spec.as_ref()).output("--output", Table, output)
            }
            Command::Trace(TraceCommand::Stats { file, json, .. }) => {
                Declared::new("trace stats").input("FILE", file).output("--json", File, json)
            }
            Command::Trace(TraceCommand::Import { file, output, json, .. }) => Declared::new("trace import")
                .input("FILE", file)
                .output("--output", Table, [output])
                .output("--json", File, json),
            Command::Trace(TraceCommand::Convert { file, output, .. }) => {
                Declared::new("trace convert").input("FILE", file).output("--output", Table, [output])
            }
            Command::Catalog(CatalogCommand::Show { catalog, json }) => Declared::new("catalog show")
                .input("--catalog", catalog.as_ref())
                .output("--json", File, json.iter().filter(|p| p.as_os_str() != "-")),
            Command::Catalog(CatalogCommand::ImportPrices { prices, catalog, output, checks, .. }) => {
                Declared::new("catalog import-prices")
                    .input("--prices", prices)
                    .input("--catalog", catalog.as_ref())
                    .output("--output", File, output)
                    .output("--checks", Table, checks)
            }
            Command::Catalog(CatalogCommand::Default) => Declared::new("catalog default"),
        }
    }
}

fn optimize_inputs(command: &'static str, i: &OptimizeInputs, owns: fn(&str) -> bool) -> Declared {
    Declared::new(command)
        .input("--trace", &i.input.trace)
        .input("--catalog", i.catalog.as_ref())
        .input("--constraints", &i.constraints)
        .input("--current", i.current.as_ref())
        .output("--out", OutputKind::Folder { owns }, [&i.out])
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every flag or argument that takes a path is declared by `Command::io`: each is given a
    /// path of its own on a command line that otherwise has only the required arguments, and the
    /// declaration must name it.
    #[test]
    fn every_path_flag_is_declared_as_an_input_or_an_output() {
        let path_type = clap::builder::ValueParser::path_buf().type_id();
        let cli = Cli::command();
        let mut leaves: Vec<(Vec<String>, clap::Command)> = Vec::new();
        for sub in cli.get_subcommands() {
            if sub.has_subcommands() {
                for leaf in sub.get_subcommands() {
                    leaves.push((vec![sub.get_name().into(), leaf.get_name().into()], leaf.clone()));
                }
            } else {
                leaves.push((vec![sub.get_name().into()], sub.clone()));
            }
        }
        let mut checked = 0;
        for (names, leaf) in &leaves {
            let value_of = |arg: &clap::Arg, n: usize| -> String {
                if arg.get_value_parser().type_id() == path_type {
                    format!("/declared/{}/{n}.csv", arg.get_id())
                } else {
                    arg.get_possible_values().first().map_or("1".to_string(), |v| v.get_name().to_string())
                }
            };
            let push = |argv: &mut Vec<String>, arg: &clap::Arg, n: usize| {
                if arg.is_positional() {
                    argv.push(value_of(arg, n));
                } else {
                    argv.push(format!("--{}", arg.get_long().expect("a long name")));
                    argv.push(value_of(arg, n));
                }
            };
            let required: Vec<&clap::Arg> = leaf.get_arguments().filter(|a| a.is_required_set()).collect();
            for (n, arg) in leaf.get_arguments().enumerate() {
                if arg.get_value_parser().type_id() != path_type {
                    continue;
                }
                let mut argv = vec!["switchyard".to_string()];
                argv.extend(names.iter().cloned());
                for r in &required {
                    if r.get_id() != arg.get_id() {
                        push(&mut argv, r, 1000);
                    }
                }
                push(&mut argv, arg, n);
                // Arguments required only without another (simulate's --policy unless --reprice,
                // trace synth's --output unless --print-default-spec, compare's sides unless given
                // as reports).
                let (b, c) = (["--baseline", "/declared/base/b.yaml"], ["--candidate", "/declared/base/c.yaml"]);
                let both = [b[0], b[1], c[0], c[1]];
                let conditional = [
                    &[][..],
                    &["--policy", "/declared/base/policy.yaml"],
                    &["--output", "/declared/base/out.csv"],
                    &both,
                    &b,
                    &c,
                ];
                let cli = conditional
                    .iter()
                    .map(|extra| Cli::try_parse_from(argv.iter().map(String::as_str).chain(extra.iter().copied())))
                    .find(Result::is_ok)
                    .unwrap_or_else(|| Cli::try_parse_from(&argv))
                    .unwrap_or_else(|e| panic!("{argv:?} does not parse: {e}"));
                let wanted = PathBuf::from(value_of(arg, n));
                let declared = cli.command.io();
                assert!(
                    declared.paths().contains(&wanted.as_path()),
                    "`switchyard {}` does not declare {} (`{}`) in Command::io",
                    names.join(" "),
                    arg.get_id(),
                    wanted.display()
                );
                checked += 1;
            }
        }
        assert!(checked >= 40, "only {checked} path flags found: is the test still finding them?");
    }

    #[test]
    fn trace_import_lists_only_importers() {
        let cli = Cli::command();
        let import = cli.find_subcommand("trace").and_then(|t| t.find_subcommand("import")).unwrap();
        let format = import.get_arguments().find(|a| a.get_id() == "format").unwrap();
        let names: Vec<String> = format.get_possible_values().iter().map(|v| v.get_name().to_string()).collect();
        assert_eq!(names, ["azure", "burstgpt", "mooncake", "otel", "litellm", "llmperf"]);
    }
}
