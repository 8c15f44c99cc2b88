//! Importers: public LLM traces and gateway logs into the canonical [`Trace`].
//!
//! One [`Importer`] per format, one file each, each citing the public description it follows:
//!
//! | format | file | what it is |
//! |---|---|---|
//! | `azure` | [`azure`] | Azure LLM inference traces 2023/2024 (`TIMESTAMP, ContextTokens, GeneratedTokens`) |
//! | `burstgpt` | [`burstgpt`] | BurstGPT (`Timestamp, Model, Request tokens, ...`, with or without `Elapsed time`) |
//! | `mooncake` | [`mooncake`] | Mooncake JSONL (`timestamp` ms, `input_length`, `output_length`, `hash_ids`) |
//! | `otel` | [`otel`] | OpenTelemetry GenAI spans (OTLP JSON or flat span objects, JSON or NDJSON) |
//! | `litellm` | [`litellm`] | LiteLLM spend logs (CSV, JSON or NDJSON), fallbacks grouped by trace id |
//! | `llmperf` | [`llmperf`] | LLMPerf per-request results (`ttft_s`, `end_to_end_latency_s`, `error_code`) |
//!
//! An importer turns records into [`Request`]s and says, in an [`ImportReport`], which canonical
//! column came from which field, which fields of the input it did not carry over and why, and which
//! canonical columns the format cannot provide. [`build_trace`] turns the requests into a [`Trace`]
//! (interning names, sorting by time), so every importer ends in the same validated shape that
//! `trace::read` gives and everything downstream (simulate, calibrate, optimize) takes.
//!
//! Recorded status values are normalised to [`status::OK`], [`status::FAILED`],
//! [`status::RATE_LIMITED`] and [`status::TIMEOUT`].
//!
//! Deliberately absent: no printing, no guessing of a format from the contents; polars is not
//! needed here (record formats are read with `csv` and `serde_json`).

pub mod azure;
pub mod burstgpt;
pub mod litellm;
pub mod llmperf;
pub mod mooncake;
pub mod otel;

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use super::bytes::csv_error;
use super::read::TraceFormat;
use super::sort::sort_by_time;
use super::{DEFAULT_CLASS, Recorded, TextColumn, TextInterner, Trace, UNSPECIFIED_ORIGIN};
use crate::error::{Error, Place, Problem, Result};

/// Canonical recorded status values written by the importers.
pub mod status {
    pub const OK: &str = "ok";
    pub const FAILED: &str = "failed";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const TIMEOUT: &str = "timeout";
}

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Drop bad records (counted in [`Trace::skipped_rows`]) instead of failing.
    pub skip_bad_rows: bool,
    /// Spread requests that share a timestamp evenly over the gap to the next distinct timestamp
    /// (for traces whose clock is quantised, e.g. Mooncake's).
    pub spread_ties: bool,
}

/// One request as an importer produces it. `None` means "not known for this request".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub timestamp_s: f64,
    pub class: Option<String>,
    pub origin: Option<String>,
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub cached_input_tokens: Option<u32>,
    pub request_id: Option<String>,
    pub model: Option<String>,
    pub region: Option<String>,
    pub latency_s: Option<f64>,
    pub ttft_s: Option<f64>,
    pub status: Option<String>,
    pub cost_usd: Option<f64>,
}

/// Which optional canonical columns a format carries (a carried column may still have empty cells).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Carried {
    pub class: bool,
    pub origin: bool,
    pub cached_input_tokens: bool,
    pub request_id: bool,
    pub model: bool,
    pub region: bool,
    pub latency_s: bool,
    pub ttft_s: bool,
    pub status: bool,
    pub cost_usd: bool,
}

/// What an import did: counts, and what was and was not mapped.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    pub format: String,
    /// The public description of the format.
    pub format_url: String,
    pub source: String,
    /// Records read (CSV rows, JSON lines or objects, spans).
    pub records: usize,
    /// Requests in the trace (after grouping, skipping and dropping non-request records).
    pub requests: usize,
    /// Records dropped as bad with `--skip-bad-rows`.
    pub skipped_bad: usize,
    /// Canonical column, and the input field(s) it came from.
    pub mapped: Vec<(String, String)>,
    /// Input fields not carried into the trace, each with the reason.
    pub not_mapped: Vec<(String, String)>,
    /// Canonical columns this input cannot provide (defaults apply).
    pub missing: Vec<String>,
    /// Facts worth knowing about this input (failures kept, ties spread, groups merged, ...).
    pub notes: Vec<String>,
}

impl ImportReport {
    pub fn new(format: TraceFormat, path: &Path) -> ImportReport {
        ImportReport {
            format: format.name().to_string(),
            format_url: importer(format).map(|i| i.format_url()).unwrap_or_default().to_string(),
            source: path.display().to_string(),
            ..ImportReport::default()
        }
    }
    pub fn map(&mut self, canonical: &str, from: &str) {
        self.mapped.push((canonical.to_string(), from.to_string()));
    }
    pub fn skip(&mut self, field: &str, why: &str) {
        self.not_mapped.push((field.to_string(), why.to_string()));
    }
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The report as text, for the terminal.
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "imported {} ({}, {}): {} records -> {} requests",
            self.source, self.format, self.format_url, self.records, self.requests
        );
        if self.skipped_bad > 0 {
            out.push_str(&format!(", {} bad records skipped", self.skipped_bad));
        }
        out.push('\n');
        out.push_str("mapped:\n");
        for (canonical, from) in &self.mapped {
            out.push_str(&format!("  {canonical:<20} <- {from}\n"));
        }
        if !self.not_mapped.is_empty() {
            out.push_str("not mapped:\n");
            for (field, why) in &self.not_mapped {
                out.push_str(&format!("  {field:<20} {why}\n"));
            }
        }
        if !self.missing.is_empty() {
            out.push_str(&format!("not in this input (defaults apply): {}\n", self.missing.join(", ")));
        }
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        out
    }
}

/// The result of one importer: requests to build a trace from, or (for a format the table reader
/// already parses, on all threads) the trace itself.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    pub requests: Vec<Request>,
    pub carried: Carried,
    pub report: ImportReport,
    /// A finished trace; `requests` is then empty and ignored.
    pub ready: Option<Trace>,
}

/// One format. Implementations are stateless; [`importer`] hands out the one for a format.
pub trait Importer: Sync {
    /// The format's public description (a URL), cited in reports and the README.
    fn format_url(&self) -> &'static str;
    /// Read `path` into requests. Bad records are collected into one [`Error::Invalid`] (first ten
    /// named), or dropped and counted with `opts.skip_bad_rows`.
    fn import(&self, path: &Path, opts: &ImportOptions) -> Result<Imported>;
}

/// The importer for a format, or `None` for the plain table formats (csv, parquet, ndjson).
pub fn importer(format: TraceFormat) -> Option<&'static dyn Importer> {
    match format {
        TraceFormat::Azure => Some(&azure::Azure),
        TraceFormat::Burstgpt => Some(&burstgpt::BurstGpt),
        TraceFormat::Mooncake => Some(&mooncake::Mooncake),
        TraceFormat::Otel => Some(&otel::Otel),
        TraceFormat::Litellm => Some(&litellm::LiteLlm),
        TraceFormat::Llmperf => Some(&llmperf::LlmPerf),
        TraceFormat::Csv | TraceFormat::CsvGz | TraceFormat::Parquet | TraceFormat::Ndjson => None,
    }
}

impl TraceFormat {
    /// Whether this is an importer of a public trace or gateway log (see [`crate::trace::import`]), which
    /// can be read but not written. (Defined here, beside [`importer`], so that the table reader,
    /// where [`TraceFormat`] lives, does not depend on the importers.)
    pub fn is_import(self) -> bool {
        importer(self).is_some()
    }
}

/// Import `path` as `format` into a trace, with the report of what was mapped.
pub fn import(path: &Path, format: TraceFormat, opts: &ImportOptions) -> Result<(Trace, ImportReport)> {
    let Some(imp) = importer(format) else {
        return Err(Error::one(Problem::new(
            Place::file(path),
            format!("`{}` is a table format, not an importer", format.name()),
            format!(
                "every command reads a {} file as it is; to rewrite it as Parquet, run `{}`; or pick an importer: azure, burstgpt, mooncake, otel, litellm, llmperf",
                format.name(),
                super::read::convert_command(path, &super::ReadOptions { format: Some(format), ..Default::default() })
            ),
        )));
    };
    let mut imported = imp.import(path, opts)?;
    let n = imported.ready.as_ref().map_or(imported.requests.len(), Trace::len);
    if n == 0 {
        return Err(Error::one(Problem::new(
            Place::file(path),
            format!("holds no requests in the {} format ({} records read)", format.name(), imported.report.records),
            format!("check that the file is a {} export ({})", format.name(), imp.format_url()),
        )));
    }
    imported.report.requests = n;
    let mut trace = match imported.ready.take() {
        Some(t) => t,
        None => build_trace(path.display().to_string(), imported.requests, imported.carried),
    };
    if opts.spread_ties {
        let spread = spread_ties(&mut trace.timestamp_s);
        imported.report.note(format!("--spread-ties: spread {spread} requests that shared a timestamp"));
    }
    trace.source = path.display().to_string();
    trace.skipped_rows = imported.report.skipped_bad;
    Ok((trace, imported.report))
}

/// Spread runs of equal timestamps (ascending) evenly over the gap to the next distinct timestamp
/// (the last run over the previous gap), keeping their order. Returns how many requests moved.
pub fn spread_ties(timestamps: &mut [f64]) -> usize {
    let n = timestamps.len();
    let mut moved = 0;
    let mut i = 0;
    let mut last_gap = 0.0;
    while i < n {
        let t = timestamps[i];
        let mut j = i + 1;
        while j < n && timestamps[j] == t {
            j += 1;
        }
        let gap = if j < n { timestamps[j] - t } else { last_gap };
        let k = j - i;
        if k > 1 && gap > 0.0 {
            for (m, ts) in timestamps[i..j].iter_mut().enumerate().skip(1) {
                *ts = t + gap * m as f64 / k as f64;
                moved += 1;
            }
        }
        if j < n {
            last_gap = gap;
        }
        i = j;
    }
    moved
}

/// Build a [`Trace`] from requests: intern class and origin names (sorted), keep the carried
/// recorded columns, sort by time (stable).
pub fn build_trace(source: String, requests: Vec<Request>, carried: Carried) -> Trace {
    let names = |f: &dyn Fn(&Request) -> Option<&str>, default: &str| -> Vec<String> {
        let set: BTreeSet<&str> = requests.iter().map(|r| f(r).unwrap_or(default)).collect();
        set.into_iter().map(str::to_string).collect()
    };
    let class_names = names(&|r| r.class.as_deref(), DEFAULT_CLASS);
    let origin_names = names(&|r| r.origin.as_deref(), UNSPECIFIED_ORIGIN);
    let code = |names: &[String], n: &str| names.binary_search_by(|c| c.as_str().cmp(n)).unwrap_or(0) as u16;
    let n = requests.len();
    let text = |on: bool| on.then(|| (TextInterner::default(), Vec::with_capacity(n)));
    let (mut request_id, mut model, mut region, mut status) =
        (text(carried.request_id), text(carried.model), text(carried.region), text(carried.status));
    let mut recorded = Recorded {
        latency_s: column(carried.latency_s, n),
        ttft_s: column(carried.ttft_s, n),
        cost_usd: column(carried.cost_usd, n),
        ..Recorded::default()
    };
    let mut trace = Trace {
        source,
        class_names: class_names.clone(),
        origin_names: origin_names.clone(),
        cached_input_tokens: carried.cached_input_tokens.then(|| Vec::with_capacity(requests.len())),
        ..Trace::default()
    };
    for r in requests {
        trace.timestamp_s.push(r.timestamp_s + 0.0);
        trace.class.push(code(&class_names, r.class.as_deref().unwrap_or(DEFAULT_CLASS)));
        trace.origin.push(code(&origin_names, r.origin.as_deref().unwrap_or(UNSPECIFIED_ORIGIN)));
        trace.input_tokens.push(r.input_tokens);
        trace.output_tokens.push(r.output_tokens);
        if let Some(c) = &mut trace.cached_input_tokens {
            c.push(r.cached_input_tokens.unwrap_or(0).min(r.input_tokens));
        }
        push_text(&mut request_id, r.request_id.as_deref());
        push_text(&mut model, r.model.as_deref());
        push_text(&mut region, r.region.as_deref());
        push(&mut recorded.latency_s, r.latency_s);
        push(&mut recorded.ttft_s, r.ttft_s);
        push_text(&mut status, r.status.as_deref());
        push(&mut recorded.cost_usd, r.cost_usd);
    }
    let finish =
        |t: Option<(TextInterner, Vec<u32>)>| t.map(|(i, codes)| TextColumn { values: i.into_values(), codes });
    (recorded.request_id, recorded.model, recorded.region, recorded.status) =
        (finish(request_id), finish(model), finish(region), finish(status));
    trace.recorded = recorded;
    sort_by_time(&mut trace);
    trace
}

fn column<T>(on: bool, n: usize) -> Option<Vec<T>> {
    on.then(|| Vec::with_capacity(n))
}

fn push<T>(col: &mut Option<Vec<Option<T>>>, v: Option<T>) {
    if let Some(c) = col {
        c.push(v);
    }
}

fn push_text(col: &mut Option<(TextInterner, Vec<u32>)>, v: Option<&str>) {
    if let Some((interner, codes)) = col {
        codes.push(interner.code(v));
    }
}

// ---------------------------------------------------------------------------------------------
// What the importers share: bad-record collection, cell conversions, region names from hosts.

/// Bad records, collected: the first ten become problems, the rest are counted.
pub(crate) struct BadRecords<'a> {
    path: &'a Path,
    problems: Vec<Problem>,
    pub n_bad: usize,
}

/// Problems named before the rest are only counted.
pub(crate) const MAX_NAMED: usize = 10;

impl<'a> BadRecords<'a> {
    pub fn new(path: &'a Path) -> BadRecords<'a> {
        BadRecords { path, problems: Vec::new(), n_bad: 0 }
    }
    /// Record a bad record at `place` (row/line/field already set).
    pub fn bad(&mut self, place: Place, message: impl Into<String>, fix: impl Into<String>) {
        self.n_bad += 1;
        if self.problems.len() < MAX_NAMED {
            self.problems.push(Problem::new(place, message, fix));
        }
    }
    pub fn place(&self) -> Place {
        Place::file(self.path)
    }
    /// Count `n` more bad records without naming them (they come after the named ones).
    pub fn count_more(&mut self, n: usize) {
        self.n_bad += n;
    }
    /// `Ok(skipped)` when there were none or they may be skipped; else every named problem.
    pub fn finish(self, opts: &ImportOptions, records: usize) -> Result<usize> {
        if self.n_bad == 0 || opts.skip_bad_rows {
            return Ok(self.n_bad);
        }
        let mut problems = self.problems;
        if self.n_bad > problems.len() {
            problems.push(Problem::new(
                Place::file(self.path),
                format!(
                    "... and {} more bad records ({} of {records} are bad)",
                    self.n_bad - problems.len(),
                    self.n_bad
                ),
                "pass --skip-bad-rows to drop all bad records (they are counted in the report)",
            ));
        }
        Err(Error::Invalid(problems))
    }
}

/// The fix for a bad cell.
pub(crate) const FIX_ROW: &str =
    "correct or delete the record, or pass --skip-bad-rows to drop bad records (they are counted in the report)";

/// A whole number of tokens in text (`12`, `12.0`), or why not.
pub(crate) fn parse_tokens(s: &str) -> std::result::Result<u32, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("is empty; expected a whole number of tokens".into());
    }
    if let Ok(v) = t.parse::<u32>() {
        return Ok(v);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64 => Ok(v as u32),
        Ok(v) if v < 0.0 => Err(format!("`{t}` is negative; expected a whole number of tokens")),
        Ok(_) => Err(format!("`{t}` is not a whole number of tokens from 0 to 4294967295")),
        Err(_) => Err(format!("`{t}` is not a number; expected a whole number of tokens")),
    }
}

/// A finite non-negative number in text, or why not.
pub(crate) fn parse_seconds(s: &str) -> std::result::Result<f64, String> {
    let t = s.trim();
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v + 0.0),
        Ok(_) => Err(format!("`{t}` is not a finite non-negative number")),
        Err(_) if t.is_empty() => Err("is empty; expected a number".into()),
        Err(_) => Err(format!("`{t}` is not a number")),
    }
}

/// Unix seconds of a date-time in text (ISO 8601 with `T` or a space, optional fraction and
/// offset; UTC without an offset), or why not.
pub(crate) fn parse_datetime(s: &str) -> std::result::Result<f64, String> {
    let t = s.trim();
    super::datetime::utc_seconds(t).ok_or_else(|| {
        format!("`{t}` is not a date-time; expected e.g. 2024-06-10T12:34:56.789Z or 2023-11-16 18:15:46.6805900")
    })
}

/// Seconds from `start` to `end`, both Unix seconds, rounded to the microsecond: at today's dates an
/// f64 holds Unix time to about 0.24 µs, so the raw difference of two exact log times shows noise
/// (1.25 s as 1.2499998); no gateway logs finer than a microsecond.
pub(crate) fn duration_s(start: f64, end: f64) -> f64 {
    ((end - start) * 1e6).round() / 1e6
}

/// A cloud region named in a host name or URL (`bedrock-runtime.us-east-1.amazonaws.com` ->
/// `us-east-1`, `europe-west4-aiplatform.googleapis.com` -> `europe-west4`,
/// `myres.eastus2.inference.ai.azure.com` -> `eastus2`), else the host itself, else `None`.
pub(crate) fn region_of_host(address: &str) -> Option<String> {
    let host = address.trim();
    let host = host.split_once("://").map_or(host, |(_, rest)| rest);
    let host = host.split(['/', ':', '?']).next().unwrap_or("").to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    if let Some(l) = host.split(['.', '-']).find(|l| AZURE_REGIONS.contains(l)) {
        return Some(l.to_string());
    }
    for label in host.split('.') {
        // AWS style: letters-letters-digit (us-east-1, ap-southeast-2, eu-central-1).
        let parts: Vec<&str> = label.split('-').collect();
        for w in 0..parts.len().saturating_sub(2) {
            let (a, b, c) = (parts[w], parts[w + 1], parts[w + 2]);
            if a.len() == 2
                && a.chars().all(|ch| ch.is_ascii_lowercase())
                && b.chars().all(|ch| ch.is_ascii_lowercase())
                && !b.is_empty()
                && !c.is_empty()
                && c.chars().all(|ch| ch.is_ascii_digit())
            {
                return Some(format!("{a}-{b}-{c}"));
            }
        }
        // Google style: continent-direction+digit (us-central1, europe-west4, asia-northeast1).
        for w in 0..parts.len().saturating_sub(1) {
            let (a, b) = (parts[w], parts[w + 1]);
            if GCP_AREAS.contains(&a)
                && b.len() > 1
                && b.chars().last().is_some_and(|ch| ch.is_ascii_digit())
                && b.chars().next().is_some_and(|ch| ch.is_ascii_lowercase())
            {
                return Some(format!("{a}-{b}"));
            }
        }
    }
    Some(host)
}

const GCP_AREAS: [&str; 7] = ["us", "europe", "asia", "australia", "northamerica", "southamerica", "me"];

/// Azure region names as they appear in endpoint host names.
const AZURE_REGIONS: [&str; 30] = [
    "eastus",
    "eastus2",
    "westus",
    "westus2",
    "westus3",
    "centralus",
    "northcentralus",
    "southcentralus",
    "westcentralus",
    "canadaeast",
    "canadacentral",
    "brazilsouth",
    "northeurope",
    "westeurope",
    "uksouth",
    "ukwest",
    "francecentral",
    "germanywestcentral",
    "swedencentral",
    "switzerlandnorth",
    "norwayeast",
    "polandcentral",
    "italynorth",
    "spaincentral",
    "japaneast",
    "japanwest",
    "koreacentral",
    "australiaeast",
    "southindia",
    "southeastasia",
];

pub(crate) type CsvReader = csv::Reader<Box<dyn std::io::Read>>;

/// A CSV file (plain or gzip-compressed by extension) opened with its header row.
pub(crate) fn open_csv(path: &Path) -> Result<(CsvReader, Vec<String>)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let inner: Box<dyn std::io::Read> = if path.to_string_lossy().to_ascii_lowercase().ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file)))
    } else {
        Box::new(file)
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).buffer_capacity(1 << 20).from_reader(inner);
    let headers = reader.headers().map_err(|e| csv_error(path, e))?.iter().map(|h| h.trim().to_string()).collect();
    Ok((reader, headers))
}

/// Index of the first header matching one of `names`, ignoring case, spaces and punctuation.
pub(crate) fn find_column(headers: &[String], names: &[&str]) -> Option<usize> {
    let norm = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    names.iter().find_map(|want| headers.iter().position(|h| norm(h) == norm(want)))
}

/// The problem for a required column that the header lacks.
pub(crate) fn missing_column(path: &Path, format: &str, column: &str, headers: &[String]) -> Error {
    Error::one(Problem::new(
        Place::file(path).line(1).field(column),
        format!("has no `{column}` column (the header has: {})", headers.join(", ")),
        format!("is this file in the {format} layout? pass the right --format, or rename the column to `{column}`"),
    ))
}

/// A name made safe for a class: lower case, runs of non-alphanumerics as one `_`.
pub(crate) fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.trim().chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_found_in_host_names() {
        let check = |host: &str, want: &str| assert_eq!(region_of_host(host).as_deref(), Some(want), "{host}");
        check("bedrock-runtime.us-east-1.amazonaws.com", "us-east-1");
        check("https://bedrock-runtime.ap-southeast-2.amazonaws.com/model/x", "ap-southeast-2");
        check("europe-west4-aiplatform.googleapis.com", "europe-west4");
        check("https://us-central1-aiplatform.googleapis.com:443", "us-central1");
        check("https://myres.eastus2.inference.ai.azure.com", "eastus2");
        check("my-openai-swedencentral.openai.azure.com", "swedencentral");
        check("api.openai.com", "api.openai.com");
        assert_eq!(region_of_host("  "), None);
    }

    #[test]
    fn ties_are_spread_over_the_gap_to_the_next_timestamp() {
        let mut ts = [0.0, 0.0, 0.0, 3.0, 6.0, 6.0];
        let moved = spread_ties(&mut ts);
        assert_eq!(ts, [0.0, 1.0, 2.0, 3.0, 6.0, 7.5]);
        assert_eq!(moved, 3);
    }

    #[test]
    fn slugs_are_lower_case_with_single_underscores() {
        assert_eq!(slug("Conversation log"), "conversation_log");
        assert_eq!(slug("  API -- log "), "api_log");
    }

    #[test]
    fn token_cells_accept_whole_floats_only() {
        assert_eq!(parse_tokens("12"), Ok(12));
        assert_eq!(parse_tokens("12.0"), Ok(12));
        assert!(parse_tokens("1.5").unwrap_err().contains("whole"));
        assert!(parse_tokens("-3").unwrap_err().contains("negative"));
        assert!(parse_tokens("x").unwrap_err().contains("not a number"));
    }
}
