//! LiteLLM proxy spend logs (the `LiteLLM_SpendLogs` table, as exported to CSV or returned as JSON
//! by `/spend/logs`), described at <https://docs.litellm.ai/docs/proxy/cost_tracking> and in the
//! table's schema, <https://github.com/BerriAI/litellm/blob/main/schema.prisma>.
//!
//! One row per attempt: `startTime`, `endTime`, `completionStartTime` (first token; equal to
//! `endTime` when not streaming), `model` (the deployment called), `model_group` (the name the
//! client asked for), `api_base`, `prompt_tokens`, `completion_tokens`, `spend` (dollars), `status`
//! (`success`/`failure`), `metadata` (JSON; its `error_information.error_code` tells a 429 from other
//! failures). A failed attempt and the fallback that followed share a trace id (`trace_id`,
//! `litellm_trace_id`, or the same key inside `metadata`); rows with one trace id become one
//! request: it arrives at the first attempt's start, ends with the last attempt, is served (or not)
//! by the last attempt, and costs the sum of all attempts' spend. The class is the requested
//! `model_group`, the model the deployment that answered, the region the one named in its
//! `api_base` host (e.g. `us-east-1`, `eastus2`), else the host.
//!
//! Accepted files: CSV (by extension `.csv` or `.csv.gz`), a JSON array (or `{"data": [...]}`), or
//! JSON lines.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::{
    BadRecords, Carried, FIX_ROW, ImportOptions, ImportReport, Imported, Importer, Request, open_csv, parse_datetime,
    region_of_host, status,
};
use crate::error::{Error, Place, Problem, Result};
use crate::trace::bytes::csv_error;
use crate::trace::columns;
use crate::trace::read::TraceFormat;

pub struct LiteLlm;

/// One attempt, parsed.
struct Attempt {
    row: usize,
    start: f64,
    end: f64,
    first_token: Option<f64>,
    model: Option<String>,
    group: Option<String>,
    region: Option<String>,
    input: u32,
    output: u32,
    spend: Option<f64>,
    status: &'static str,
    request_id: Option<String>,
}

const USED: [&str; 14] = [
    "startTime",
    "endTime",
    "completionStartTime",
    "model",
    "model_group",
    "api_base",
    "prompt_tokens",
    "completion_tokens",
    "spend",
    "status",
    "metadata",
    "request_id",
    "trace_id",
    "litellm_trace_id",
];

impl Importer for LiteLlm {
    fn format_url(&self) -> &'static str {
        "https://docs.litellm.ai/docs/proxy/cost_tracking"
    }

    fn import(&self, path: &Path, opts: &ImportOptions) -> Result<Imported> {
        let records = read_records(path)?;
        let mut report = ImportReport::new(TraceFormat::Litellm, path);
        report.records = records.len();
        let mut bad = BadRecords::new(path);
        let mut attempts: Vec<(String, Attempt)> = Vec::new();
        let mut fields: Vec<String> = Vec::new();
        for (k, (line, rec)) in records.iter().enumerate() {
            for key in rec.keys() {
                if !fields.contains(key) {
                    fields.push(key.clone());
                }
            }
            let place = |field: &str| Place::file(path).maybe_line(*line).row(k + 1).field(field);
            let metadata = match rec.get("metadata") {
                Some(Value::String(s)) if !s.trim().is_empty() => serde_json::from_str::<Value>(s).ok(),
                Some(v @ Value::Object(_)) => Some(v.clone()),
                _ => None,
            };
            let text = |key: &str| rec.get(key).and_then(text_of);
            let meta_text = |key: &str| metadata.as_ref().and_then(|m| m.get(key)).and_then(text_of);
            let parsed = (|| {
                let start = time(rec, "startTime")?.ok_or(("startTime", "is missing or empty".to_string()))?;
                let end = time(rec, "endTime")?.ok_or(("endTime", "is missing or empty".to_string()))?;
                if end < start {
                    return Err(("endTime", format!("is {:.6} s before startTime", start - end)));
                }
                let first_token = time(rec, "completionStartTime")?;
                let input = tokens(rec, "prompt_tokens")?;
                let output = tokens(rec, "completion_tokens")?;
                let spend = match rec.get("spend").and_then(text_of) {
                    None => None,
                    Some(s) => Some(
                        super::parse_seconds(&s).map_err(|m| ("spend", m.replace("number", "amount of dollars")))?,
                    ),
                };
                Ok((start, end, first_token, input, output, spend))
            })();
            let (start, end, first_token, input, output, spend) = match parsed {
                Ok(v) => v,
                Err((field, m)) => {
                    bad.bad(place(field), m, FIX_ROW);
                    continue;
                }
            };
            let raw_status = text("status").or_else(|| meta_text("status")).unwrap_or_else(|| "success".into());
            let error_code = metadata
                .as_ref()
                .and_then(|m| m.pointer("/error_information/error_code"))
                .and_then(text_of)
                .unwrap_or_default();
            let outcome = match raw_status.to_ascii_lowercase().as_str() {
                "success" | "ok" | "200" => status::OK,
                _ if error_code == "429" => status::RATE_LIMITED,
                _ if error_code == "408" || error_code == "504" => status::TIMEOUT,
                _ => status::FAILED,
            };
            let trace_id = text("trace_id")
                .or_else(|| text("litellm_trace_id"))
                .or_else(|| meta_text("trace_id"))
                .or_else(|| meta_text("litellm_trace_id"));
            let request_id = text("request_id");
            let key = trace_id.clone().or_else(|| request_id.clone()).unwrap_or_else(|| format!("row {}", k + 1));
            attempts.push((
                key,
                Attempt {
                    row: k,
                    start,
                    end,
                    first_token,
                    model: text("model"),
                    group: text("model_group"),
                    region: text("api_base").and_then(|a| region_of_host(&a)),
                    input,
                    output,
                    spend,
                    status: outcome,
                    request_id: trace_id.or(request_id),
                },
            ));
        }
        report.skipped_bad = bad.finish(opts, records.len())?;

        // Group attempts by trace id, in order of first appearance; attempts in start order.
        let mut groups: BTreeMap<String, Vec<Attempt>> = BTreeMap::new();
        for (key, a) in attempts {
            groups.entry(key).or_default().push(a);
        }
        let mut groups: Vec<Vec<Attempt>> = groups.into_values().collect();
        groups.sort_by_key(|g| g.iter().map(|a| a.row).min());
        let (mut fallbacks, mut any_spend, mut any_first_token) = (0usize, false, false);
        let requests: Vec<Request> = groups
            .into_iter()
            .map(|mut group| {
                group.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.row.cmp(&b.row)));
                fallbacks += group.len() - 1;
                let first = &group[0];
                let last = &group[group.len() - 1];
                let spend: Option<f64> = group.iter().filter_map(|a| a.spend).reduce(|x, y| x + y);
                any_spend |= spend.is_some();
                let ttft = last.first_token.filter(|&t| t >= first.start).map(|t| super::duration_s(first.start, t));
                any_first_token |= ttft.is_some();
                Request {
                    timestamp_s: first.start,
                    class: first.group.clone().or_else(|| first.model.clone()),
                    input_tokens: last.input,
                    output_tokens: last.output,
                    request_id: last.request_id.clone(),
                    model: last.model.clone(),
                    region: last.region.clone(),
                    latency_s: Some(super::duration_s(
                        first.start,
                        group.iter().map(|a| a.end).fold(f64::MIN, f64::max),
                    )),
                    ttft_s: if last.status == status::OK { ttft } else { None },
                    status: Some(last.status.to_string()),
                    cost_usd: spend,
                    ..Request::default()
                }
            })
            .collect();
        report.map(columns::TIMESTAMP_S, "startTime of the first attempt (Unix seconds)");
        report.map(columns::LATENCY_S, "endTime of the last attempt - startTime of the first");
        report.map(columns::TTFT_S, "completionStartTime of the serving attempt - startTime of the first");
        report.map(columns::INPUT_TOKENS, "prompt_tokens (last attempt)");
        report.map(columns::OUTPUT_TOKENS, "completion_tokens (last attempt)");
        report.map(columns::CLASS, "model_group (the name the client asked for)");
        report.map(columns::MODEL, "model (the deployment of the last attempt)");
        report.map(columns::REGION, "the region in api_base's host name, else the host");
        report.map(columns::STATUS, "status, with metadata.error_information.error_code (429: rate_limited)");
        report.map(columns::COST_USD, "spend, summed over the attempts");
        report.map(columns::REQUEST_ID, "trace id (trace_id, litellm_trace_id or in metadata), else request_id");
        for f in &fields {
            if !USED.contains(&f.as_str()) {
                report.skip(f, "no canonical column");
            }
        }
        report.missing = vec!["origin_region".to_string(), "cached_input_tokens".to_string()];
        if fallbacks > 0 {
            report.note(format!("{fallbacks} retry/fallback attempts grouped into their requests by trace id"));
        }
        let carried = Carried {
            class: true,
            request_id: true,
            model: true,
            region: true,
            latency_s: true,
            ttft_s: any_first_token,
            status: true,
            cost_usd: any_spend,
            ..Carried::default()
        };
        Ok(Imported { requests, carried, report, ready: None })
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A time field: a date-time string or Unix seconds; `None` when absent or empty.
fn time(rec: &Map<String, Value>, key: &'static str) -> std::result::Result<Option<f64>, (&'static str, String)> {
    match rec.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => parse_datetime(s).map(Some).map_err(|m| (key, m)),
        },
        Some(Value::Number(n)) => {
            n.as_f64().filter(|v| v.is_finite()).map(Some).ok_or((key, format!("`{n}` is not a time")))
        }
        Some(other) => Err((key, format!("`{other}` is not a date-time"))),
    }
}

/// A token count; absent or empty is 0 (failed attempts log no usage).
fn tokens(rec: &Map<String, Value>, key: &'static str) -> std::result::Result<u32, (&'static str, String)> {
    match rec.get(key).and_then(text_of) {
        None => Ok(0),
        Some(s) => super::parse_tokens(&s).map_err(|m| (key, m)),
    }
}

/// Every record with its 1-based line (CSV and JSON lines), as JSON objects.
/// A record with its 1-based line, when the file has lines.
type Record = (Option<usize>, Map<String, Value>);

fn read_records(path: &Path) -> Result<Vec<Record>> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".csv") || name.ends_with(".csv.gz") {
        let (mut reader, headers) = open_csv(path)?;
        let mut out = Vec::new();
        let mut record = csv::StringRecord::new();
        while reader.read_record(&mut record).map_err(|e| csv_error(path, e))? {
            let line = record.position().map(|p| p.line() as usize);
            let map: Map<String, Value> =
                headers.iter().zip(record.iter()).map(|(h, v)| (h.clone(), Value::String(v.to_string()))).collect();
            out.push((line, map));
        }
        return Ok(out);
    }
    let text = crate::error::read_text(path)?;
    let not_object = |line: Option<usize>, what: &str| {
        Error::one(Problem::new(
            Place::file(path).maybe_line(line),
            format!("{what} is not a spend-log object"),
            "export the spend logs as CSV, a JSON array of rows, or one JSON object per line",
        ))
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Object(m) => Ok((None, m)),
                _ => Err(not_object(None, &format!("element {}", i + 1))),
            })
            .collect(),
        Ok(Value::Object(mut m)) => match m.remove("data") {
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::Object(m) => Ok((None, m)),
                    _ => Err(not_object(None, "an element of `data`")),
                })
                .collect(),
            _ => Ok(vec![(Some(1), m)]),
        },
        Ok(_) => Err(not_object(None, "the file")),
        Err(_) => {
            let mut out = Vec::new();
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(Value::Object(m)) => out.push((Some(n + 1), m)),
                    Ok(_) => return Err(not_object(Some(n + 1), "the line")),
                    Err(e) => {
                        return Err(Error::one(Problem::new(
                            Place::file(path).line(n + 1),
                            format!("is not JSON: {e}"),
                            "export the spend logs as CSV, a JSON array of rows, or one JSON object per line",
                        )));
                    }
                }
            }
            Ok(out)
        }
    }
}
