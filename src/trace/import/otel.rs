//! OpenTelemetry GenAI spans, following the semantic conventions at
//! <https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/>, exported as JSON.
//!
//! Accepted shapes, one JSON value per file or per line (NDJSON), or a JSON array of them:
//! * OTLP/JSON, as the Collector's file exporter writes it
//!   (<https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding>):
//!   `{"resourceSpans": [{"resource": {"attributes": [...]}, "scopeSpans": [{"spans": [...]}]}]}`, with
//!   `startTimeUnixNano`, `endTimeUnixNano`, `attributes: [{"key", "value": {"stringValue" | "intValue" |
//!   "doubleValue"}}]` and `status.code` (2 or `STATUS_CODE_ERROR` is an error);
//! * flat span objects (the SDKs' console exporters): `start_time`/`end_time` as date-times,
//!   `attributes` as a plain object, `status.status_code` `ERROR`.
//!
//! Only spans with `gen_ai.*` attributes are requests; others (HTTP, database) are counted and
//! left out. Mapping: model from `gen_ai.response.model`, else `gen_ai.request.model`; tokens from
//! `gen_ai.usage.input_tokens`/`output_tokens` (or the older `prompt_tokens`/`completion_tokens`);
//! class from `gen_ai.operation.name`; region from `cloud.region` (span or resource), else the
//! region in `server.address`'s host name, else the host, else the provider
//! (`gen_ai.provider.name`, or its deprecated alias `gen_ai.system`); latency is end minus start;
//! time to first token from `gen_ai.server.time_to_first_token` when an instrumentation records it;
//! status from `error.type` (429 or a rate-limit error is `rate_limited`, a timeout `timeout`,
//! anything else `failed`), else the span status.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{
    BadRecords, Carried, FIX_ROW, ImportOptions, ImportReport, Imported, Importer, Request, parse_datetime,
    region_of_host, status,
};
use crate::error::{Error, Place, Problem, Result};
use crate::trace::columns;
use crate::trace::read::TraceFormat;

pub struct Otel;

/// One span, attributes flattened to scalars (resource attributes first, span attributes over them).
struct Span {
    /// 1-based line of the file it came from (NDJSON), if known.
    line: Option<usize>,
    span_id: Option<String>,
    start: Option<Value>,
    end: Option<Value>,
    /// Whether the start/end are Unix nanoseconds (OTLP) or date-times (flat).
    nanos: bool,
    error_status: bool,
    attrs: BTreeMap<String, Value>,
}

impl Importer for Otel {
    fn format_url(&self) -> &'static str {
        "https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/"
    }

    fn import(&self, path: &Path, opts: &ImportOptions) -> Result<Imported> {
        let text = crate::error::read_text(path)?;
        let spans = parse_spans(&text, path)?;
        let mut report = ImportReport::new(TraceFormat::Otel, path);
        report.records = spans.len();
        let mut bad = BadRecords::new(path);
        let mut requests = Vec::new();
        let (mut other_spans, mut no_usage, mut with_ttft) = (0usize, 0usize, 0usize);
        for (k, span) in spans.iter().enumerate() {
            if !span.attrs.keys().any(|key| key.starts_with("gen_ai.")) {
                other_spans += 1;
                continue;
            }
            let place = || Place::file(path).maybe_line(span.line).row(k + 1);
            let times = (|| {
                let start = time_of(span.start.as_ref(), span.nanos).map_err(|m| ("start", m))?;
                let end = time_of(span.end.as_ref(), span.nanos).map_err(|m| ("end", m))?;
                Ok::<_, (&str, String)>((start, end))
            })();
            let (start, end) = match times {
                Ok(v) => v,
                Err((which, m)) => {
                    let field = if span.nanos { format!("{which}TimeUnixNano") } else { format!("{which}_time") };
                    bad.bad(place().field(field), m, FIX_ROW);
                    continue;
                }
            };
            if end < start {
                bad.bad(
                    place().field(if span.nanos { "endTimeUnixNano" } else { "end_time" }),
                    format!("ends {:.6} s before it starts", start - end),
                    FIX_ROW,
                );
                continue;
            }
            let tokens = |keys: &[&'static str]| -> std::result::Result<Option<(u32, &'static str)>, (String, String)> {
                for key in keys {
                    if let Some(v) = span.attrs.get(*key) {
                        return whole(v).map(|n| Some((n, *key))).map_err(|m| (key.to_string(), m));
                    }
                }
                Ok(None)
            };
            let usage = tokens(&["gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"])
                .and_then(|i| Ok((i, tokens(&["gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"])?)));
            let (input, output) = match usage {
                Ok(v) => v,
                Err((field, m)) => {
                    bad.bad(place().field(field), m, FIX_ROW);
                    continue;
                }
            };
            if input.is_none() || output.is_none() {
                no_usage += 1;
            }
            let ttft = match span.attrs.get("gen_ai.server.time_to_first_token") {
                None => None,
                Some(v) => match v.as_f64().filter(|s| s.is_finite() && *s >= 0.0) {
                    Some(s) => {
                        with_ttft += 1;
                        Some(s)
                    }
                    None => {
                        bad.bad(
                            place().field("gen_ai.server.time_to_first_token"),
                            format!("`{v}` is not a non-negative number of seconds"),
                            FIX_ROW,
                        );
                        continue;
                    }
                },
            };
            let text = |key: &str| span.attrs.get(key).and_then(scalar_text).filter(|s| !s.is_empty());
            let model = text("gen_ai.response.model").or_else(|| text("gen_ai.request.model"));
            let provider = text("gen_ai.provider.name").or_else(|| text("gen_ai.system"));
            let region =
                text("cloud.region").or_else(|| text("server.address").and_then(|a| region_of_host(&a))).or(provider);
            let error_type = text("error.type");
            let http = span.attrs.get("http.response.status_code").and_then(|v| whole(v).ok());
            let outcome = match (&error_type, http) {
                (_, Some(429)) => status::RATE_LIMITED,
                (Some(e), _) => classify_error(e),
                (None, _) if span.error_status => status::FAILED,
                (None, _) => status::OK,
            };
            requests.push(Request {
                timestamp_s: start,
                class: text("gen_ai.operation.name"),
                input_tokens: input.map_or(0, |(n, _)| n),
                output_tokens: output.map_or(0, |(n, _)| n),
                request_id: text("gen_ai.response.id").or_else(|| span.span_id.clone()),
                model,
                region,
                latency_s: Some(super::duration_s(start, end)),
                ttft_s: ttft,
                status: Some(outcome.to_string()),
                ..Request::default()
            });
        }
        report.skipped_bad = bad.finish(opts, spans.len())?;
        report.map(columns::TIMESTAMP_S, "span start (Unix seconds)");
        report.map(columns::INPUT_TOKENS, "gen_ai.usage.input_tokens (or gen_ai.usage.prompt_tokens)");
        report.map(columns::OUTPUT_TOKENS, "gen_ai.usage.output_tokens (or gen_ai.usage.completion_tokens)");
        report.map(columns::CLASS, "gen_ai.operation.name");
        report.map(columns::MODEL, "gen_ai.response.model, else gen_ai.request.model");
        report.map(
            columns::REGION,
            "cloud.region, else the region in server.address, else the host, else gen_ai.provider.name (or gen_ai.system)",
        );
        report.map(columns::LATENCY_S, "span end - start");
        report.map(columns::STATUS, "error.type / http.response.status_code / span status");
        report.map(columns::REQUEST_ID, "gen_ai.response.id, else the span id");
        if with_ttft > 0 {
            report.map(columns::TTFT_S, "gen_ai.server.time_to_first_token");
        }
        report.skip(
            "gen_ai.request.* parameters",
            "sampling parameters (temperature, max_tokens) have no canonical column",
        );
        report.skip("gen_ai.input/output messages", "content is never imported");
        let mut missing = vec!["origin_region", "cost_usd"];
        if with_ttft == 0 {
            missing.push("ttft_s");
        }
        report.missing = missing.into_iter().map(String::from).collect();
        if other_spans > 0 {
            report.note(format!("{other_spans} spans without gen_ai.* attributes (HTTP, database, ...) left out"));
        }
        if no_usage > 0 {
            report
                .note(format!("{no_usage} GenAI spans without token usage (0 tokens recorded; usually failed calls)"));
        }
        let carried = Carried {
            class: true,
            request_id: true,
            model: true,
            region: true,
            latency_s: true,
            ttft_s: with_ttft > 0,
            status: true,
            ..Carried::default()
        };
        Ok(Imported { requests, carried, report, ready: None })
    }
}

/// `error.type` to a canonical status.
fn classify_error(error_type: &str) -> &'static str {
    let e = error_type.to_ascii_lowercase();
    if e == "429" || e.contains("ratelimit") || e.contains("rate_limit") || e.contains("too_many_requests") {
        status::RATE_LIMITED
    } else if e.contains("timeout") || e.contains("timed_out") || e == "408" || e == "504" {
        status::TIMEOUT
    } else {
        status::FAILED
    }
}

/// Every span in the file, in file order.
fn parse_spans(text: &str, path: &Path) -> Result<Vec<Span>> {
    let trimmed = text.trim_start();
    let mut spans = Vec::new();
    if trimmed.is_empty() {
        return Ok(spans);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value) => {
            // A one-line file has a line to name; a pretty-printed document does not.
            let line = (!text.trim().contains('\n')).then(|| text.lines().position(|l| !l.trim().is_empty())).flatten();
            collect(&value, line.map(|l| l + 1), &mut spans)
        }
        Err(whole_err) => {
            // Not one JSON value: NDJSON, one value per line.
            let mut parsed_any = false;
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(v) => {
                        parsed_any = true;
                        collect(&v, Some(n + 1), &mut spans);
                    }
                    Err(e) => {
                        let message = if parsed_any {
                            format!("is not JSON: {e}")
                        } else {
                            format!("is neither one JSON document ({whole_err}) nor JSON lines ({e})")
                        };
                        return Err(Error::one(Problem::new(
                            Place::file(path).line(n + 1),
                            message,
                            "export spans as OTLP/JSON (the Collector's file exporter) or one span object per line",
                        )));
                    }
                }
            }
        }
    }
    Ok(spans)
}

/// Spans in a JSON value: an OTLP export, a flat span, or an array of either.
fn collect(value: &Value, line: Option<usize>, out: &mut Vec<Span>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect(v, line, out)),
        Value::Object(map) if map.contains_key("resourceSpans") => {
            for rs in map["resourceSpans"].as_array().into_iter().flatten() {
                let mut resource = BTreeMap::new();
                otlp_attributes(rs.pointer("/resource/attributes"), &mut resource);
                let scopes = rs.get("scopeSpans").or_else(|| rs.get("instrumentationLibrarySpans"));
                for ss in scopes.and_then(Value::as_array).into_iter().flatten() {
                    for span in ss.get("spans").and_then(Value::as_array).into_iter().flatten() {
                        let mut attrs = resource.clone();
                        otlp_attributes(span.get("attributes"), &mut attrs);
                        let code = span.pointer("/status/code");
                        let error_status = code.is_some_and(|c| c == 2 || c == "STATUS_CODE_ERROR");
                        out.push(Span {
                            line,
                            span_id: span.get("spanId").and_then(scalar_text),
                            start: span.get("startTimeUnixNano").cloned(),
                            end: span.get("endTimeUnixNano").cloned(),
                            nanos: true,
                            error_status,
                            attrs,
                        });
                    }
                }
            }
        }
        Value::Object(map) => {
            let mut attrs = BTreeMap::new();
            if let Some(Value::Object(res)) = map.get("resource").and_then(|r| r.get("attributes")) {
                attrs.extend(res.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            match map.get("attributes") {
                Some(Value::Object(a)) => attrs.extend(a.iter().map(|(k, v)| (k.clone(), v.clone()))),
                Some(list @ Value::Array(_)) => otlp_attributes(Some(list), &mut attrs),
                _ => {}
            }
            let nanos = map.contains_key("startTimeUnixNano");
            let (start, end) = if nanos {
                (map.get("startTimeUnixNano").cloned(), map.get("endTimeUnixNano").cloned())
            } else {
                (
                    map.get("start_time").or_else(|| map.get("startTime")).cloned(),
                    map.get("end_time").or_else(|| map.get("endTime")).cloned(),
                )
            };
            let status = map.get("status");
            let error_status = status
                .and_then(|s| s.get("status_code").or_else(|| s.get("code")))
                .is_some_and(|c| c == "ERROR" || c == "STATUS_CODE_ERROR" || c == 2);
            let span_id = map
                .get("spanId")
                .or_else(|| map.get("span_id"))
                .or_else(|| map.get("context").and_then(|c| c.get("span_id")))
                .and_then(scalar_text);
            out.push(Span { line, span_id, start, end, nanos, error_status, attrs });
        }
        _ => {}
    }
}

/// OTLP's `[{"key": k, "value": {"stringValue": ...}}]` into plain scalars.
fn otlp_attributes(list: Option<&Value>, out: &mut BTreeMap<String, Value>) {
    for kv in list.and_then(Value::as_array).into_iter().flatten() {
        let (Some(key), Some(Value::Object(v))) = (kv.get("key").and_then(Value::as_str), kv.get("value")) else {
            continue;
        };
        let scalar = if let Some(s) = v.get("stringValue") {
            s.clone()
        } else if let Some(i) = v.get("intValue") {
            // OTLP/JSON writes 64-bit integers as strings.
            match i {
                Value::String(s) => s.parse::<i64>().map(Value::from).unwrap_or_else(|_| i.clone()),
                other => other.clone(),
            }
        } else if let Some(d) = v.get("doubleValue") {
            d.clone()
        } else if let Some(b) = v.get("boolValue") {
            b.clone()
        } else {
            continue;
        };
        out.insert(key.to_string(), scalar);
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A whole non-negative number of tokens from a JSON scalar.
fn whole(v: &Value) -> std::result::Result<u32, String> {
    match v {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u32::try_from(u).map_err(|_| format!("`{n}` is larger than 4294967295"))
            } else if n.as_f64().is_some_and(|v| v < 0.0) {
                Err(format!("`{n}` is negative; expected a whole number of tokens"))
            } else {
                Err(format!("`{n}` is not a whole non-negative number of tokens"))
            }
        }
        Value::String(s) => super::parse_tokens(s),
        other => Err(format!("`{other}` is not a number of tokens")),
    }
}

/// Seconds since the Unix epoch from a span time: nanoseconds (number or string) or a date-time.
fn time_of(v: Option<&Value>, nanos: bool) -> std::result::Result<f64, String> {
    let Some(v) = v else {
        return Err("is missing; every span needs a start and an end time".into());
    };
    if nanos {
        let n = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        // Whole seconds and the nanosecond remainder separately, so f64 keeps microseconds.
        n.map(|n| (n / 1_000_000_000) as f64 + (n % 1_000_000_000) as f64 * 1e-9)
            .ok_or_else(|| format!("`{v}` is not a whole number of nanoseconds since 1970"))
    } else {
        match v {
            Value::String(s) => parse_datetime(s),
            Value::Number(n) => n.as_f64().filter(|x| x.is_finite()).ok_or_else(|| format!("`{n}` is not a time")),
            other => Err(format!("`{other}` is not a date-time")),
        }
    }
}
