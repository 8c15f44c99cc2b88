//! Azure LLM inference traces: 2023 (Splitwise), 2024 (DynamoLLM, one week) and the 2025 multimodal
//! layout, described at <https://github.com/Azure/AzurePublicDataset/blob/master/AzureLLMInferenceDataset2023.md>
//! and `AzureLLMInferenceDataset2024.md` beside it.
//!
//! Columns, by name: `TIMESTAMP` (an absolute date-time without a zone, 100 ns ticks, e.g.
//! `2023-11-16 18:15:46.6805900`; the 2024 files may carry a `+00:00` offset), `ContextTokens`,
//! `GeneratedTokens`, and in the multimodal layout `NumImages`. Timestamps become Unix seconds (UTC),
//! so ticks are kept to f64's resolution at today's dates (about 0.24 µs). The file name gives the
//! class when it says `code` or `conv` (the two services of the 2023 and 2024 traces).

use std::path::Path;

use super::{
    BadRecords, Carried, FIX_ROW, ImportOptions, ImportReport, Imported, Importer, Request, find_column,
    missing_column, open_csv, parse_datetime, parse_tokens,
};
use crate::error::Result;
use crate::trace::columns;
use crate::trace::read::TraceFormat;

pub struct Azure;

impl Importer for Azure {
    fn format_url(&self) -> &'static str {
        "https://github.com/Azure/AzurePublicDataset/blob/master/AzureLLMInferenceDataset2023.md"
    }

    fn import(&self, path: &Path, opts: &ImportOptions) -> Result<Imported> {
        let (mut reader, headers) = open_csv(path)?;
        let col =
            |name: &str| find_column(&headers, &[name]).ok_or_else(|| missing_column(path, "Azure", name, &headers));
        let (ts, input, output) = (col("TIMESTAMP")?, col("ContextTokens")?, col("GeneratedTokens")?);
        let mut report = ImportReport::new(TraceFormat::Azure, path);
        report.map(columns::TIMESTAMP_S, "TIMESTAMP (date-time, UTC, to Unix seconds)");
        report.map(columns::INPUT_TOKENS, &headers[input]);
        report.map(columns::OUTPUT_TOKENS, &headers[output]);
        let file_name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        let class = if file_name.contains("code") {
            Some("code".to_string())
        } else if file_name.contains("conv") {
            Some("conv".to_string())
        } else {
            None
        };
        match &class {
            Some(c) => report.map(columns::CLASS, &format!("the file name (`{c}` service)")),
            None => report.note("the file name says neither `code` nor `conv`: every request gets the default class"),
        }
        for (i, h) in headers.iter().enumerate() {
            if ![ts, input, output].contains(&i) {
                let why = if h.eq_ignore_ascii_case("NumImages") {
                    "images per request: switchyard prices and times text tokens only"
                } else {
                    "not part of the Azure trace layout"
                };
                report.skip(h, why);
            }
        }
        report.missing = ["origin_region", "model", "region", "latency_s", "ttft_s", "status", "cost_usd"]
            .map(String::from)
            .to_vec();

        let mut bad = BadRecords::new(path);
        let mut requests = Vec::new();
        let mut record = csv::StringRecord::new();
        let mut row = 0;
        while reader.read_record(&mut record).map_err(|e| super::csv_error(path, e))? {
            row += 1;
            let line = record.position().map_or(row + 1, |p| p.line() as usize);
            let cell = |i: usize| record.get(i).unwrap_or("");
            let parsed = parse_datetime(cell(ts)).map_err(|m| (ts, m)).and_then(|t| {
                let i = parse_tokens(cell(input)).map_err(|m| (input, m))?;
                let o = parse_tokens(cell(output)).map_err(|m| (output, m))?;
                Ok((t, i, o))
            });
            match parsed {
                Ok((t, i, o)) => requests.push(Request {
                    timestamp_s: t,
                    class: class.clone(),
                    input_tokens: i,
                    output_tokens: o,
                    ..Request::default()
                }),
                Err((field, message)) => {
                    let place = bad.place().row(row).line(line).field(headers[field].clone());
                    bad.bad(place, message, FIX_ROW);
                }
            }
        }
        report.records = row;
        report.skipped_bad = bad.finish(opts, row)?;
        Ok(Imported { requests, carried: Carried { class: class.is_some(), ..Carried::default() }, report })
    }
}
