//! BurstGPT traces of ChatGPT and GPT-4 traffic on Azure OpenAI, described at
//! <https://github.com/HPMLL/BurstGPT#data-schema>.
//!
//! Columns are found by name, so both layouts work: the original `Timestamp, Model, Request tokens,
//! Response tokens, Total tokens, Log Type`, and the later one with `Session ID` and `Elapsed time`
//! in the middle. `Timestamp` is whole seconds from midnight of the first day. A row with zero
//! response tokens is a failed request: it is kept, with status `failed` (never dropped silently),
//! so that calibration sees the failure rate. `Elapsed time` (submission to the complete response,
//! seconds) becomes the recorded latency. `Log Type` becomes the class (`conversation_log`,
//! `api_log`).

use std::path::Path;

use super::{
    BadRecords, Carried, FIX_ROW, ImportOptions, ImportReport, Imported, Importer, Request, find_column,
    missing_column, open_csv, parse_seconds, parse_tokens, slug, status,
};
use crate::error::Result;
use crate::trace::columns;
use crate::trace::read::TraceFormat;

pub struct BurstGpt;

impl Importer for BurstGpt {
    fn format_url(&self) -> &'static str {
        "https://github.com/HPMLL/BurstGPT#data-schema"
    }

    fn import(&self, path: &Path, opts: &ImportOptions) -> Result<Imported> {
        let (mut reader, headers) = open_csv(path)?;
        let need =
            |name: &str| find_column(&headers, &[name]).ok_or_else(|| missing_column(path, "BurstGPT", name, &headers));
        let (ts, input, output) = (need("Timestamp")?, need("Request tokens")?, need("Response tokens")?);
        let model = find_column(&headers, &["Model"]);
        let log_type = find_column(&headers, &["Log Type"]);
        let elapsed = find_column(&headers, &["Elapsed time"]);
        let total = find_column(&headers, &["Total tokens"]);
        let session = find_column(&headers, &["Session ID"]);

        let mut report = ImportReport::new(TraceFormat::Burstgpt, path);
        report.map(columns::TIMESTAMP_S, &format!("{} (seconds from midnight of day 0)", headers[ts]));
        report.map(columns::INPUT_TOKENS, &headers[input]);
        report.map(columns::OUTPUT_TOKENS, &headers[output]);
        report.map(columns::STATUS, &format!("{} (0 tokens: `failed`, else `ok`)", headers[output]));
        if let Some(m) = model {
            report.map(columns::MODEL, &headers[m]);
        }
        if let Some(l) = log_type {
            report.map(columns::CLASS, &format!("{} (as a slug, e.g. conversation_log)", headers[l]));
        }
        if let Some(e) = elapsed {
            report.map(columns::LATENCY_S, &format!("{} (seconds, submission to complete response)", headers[e]));
        }
        if let Some(t) = total {
            report.skip(&headers[t], "the sum of request and response tokens (checked, not stored)");
        }
        if let Some(s) = session {
            report.skip(&headers[s], "conversation id: the trace has no session column (requests stay independent)");
        }
        let used = [Some(ts), Some(input), Some(output), model, log_type, elapsed, total, session];
        for (i, h) in headers.iter().enumerate() {
            if !used.contains(&Some(i)) {
                report.skip(h, "not part of the BurstGPT layout");
            }
        }
        let mut missing = vec!["origin_region", "region", "ttft_s", "cost_usd"];
        if model.is_none() {
            missing.push("model");
        }
        if elapsed.is_none() {
            missing.push("latency_s");
        }
        report.missing = missing.into_iter().map(String::from).collect();

        let mut bad = BadRecords::new(path);
        let mut requests = Vec::new();
        let mut record = csv::StringRecord::new();
        let (mut row, mut failed, mut total_mismatch) = (0usize, 0usize, 0usize);
        while reader.read_record(&mut record).map_err(|e| super::csv_error(path, e))? {
            row += 1;
            let line = record.position().map_or(row + 1, |p| p.line() as usize);
            let cell = |i: usize| record.get(i).unwrap_or("");
            let parsed = parse_seconds(cell(ts)).map_err(|m| (ts, m)).and_then(|t| {
                let i = parse_tokens(cell(input)).map_err(|m| (input, m))?;
                let o = parse_tokens(cell(output)).map_err(|m| (output, m))?;
                let e = match elapsed.map(|e| (e, cell(e).trim())) {
                    Some((_, "")) | None => None,
                    Some((e, text)) => Some(parse_seconds(text).map_err(|m| (e, m))?),
                };
                Ok((t, i, o, e))
            });
            let (t, i, o, e) = match parsed {
                Ok(v) => v,
                Err((field, message)) => {
                    let place = bad.place().row(row).line(line).field(headers[field].clone());
                    bad.bad(place, message, FIX_ROW);
                    continue;
                }
            };
            if let Some(tot) = total
                && parse_tokens(cell(tot)).is_ok_and(|v| v as u64 != i as u64 + o as u64)
            {
                total_mismatch += 1;
            }
            let ok = o > 0;
            failed += usize::from(!ok);
            requests.push(Request {
                timestamp_s: t,
                class: log_type.map(|l| slug(cell(l))).filter(|s| !s.is_empty()),
                input_tokens: i,
                output_tokens: o,
                model: model.map(|m| cell(m).trim().to_string()).filter(|s| !s.is_empty()),
                latency_s: e,
                status: Some(if ok { status::OK } else { status::FAILED }.to_string()),
                ..Request::default()
            });
        }
        report.records = row;
        report.skipped_bad = bad.finish(opts, row)?;
        let share = 100.0 * failed as f64 / requests.len().max(1) as f64;
        report.note(format!(
            "{failed} requests with 0 response tokens ({share:.1}%) kept as failed requests (status `failed`)"
        ));
        if total_mismatch > 0 {
            report.note(format!("{total_mismatch} rows whose Total tokens is not Request + Response tokens"));
        }
        let carried = Carried {
            class: log_type.is_some(),
            model: model.is_some(),
            latency_s: elapsed.is_some(),
            status: true,
            ..Carried::default()
        };
        Ok(Imported { requests, carried, report, ready: None })
    }
}
