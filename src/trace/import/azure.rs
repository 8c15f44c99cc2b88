//! Azure LLM inference traces: 2023 (Splitwise), 2024 (DynamoLLM, one week) and the 2025 multimodal
//! layout, described at <https://github.com/Azure/AzurePublicDataset/blob/master/AzureLLMInferenceDataset2023.md>
//! and `AzureLLMInferenceDataset2024.md` beside it.
//!
//! Columns, by name: `TIMESTAMP` (an absolute date-time without a zone, 100 ns ticks, e.g.
//! `2023-11-16 18:15:46.6805900`; the 2024 files may carry a `+00:00` offset), `ContextTokens`,
//! `GeneratedTokens`, and in the multimodal layout `NumImages`. The header is checked here; the rows
//! are read by the table reader (`trace::read`, all threads), with the three columns mapped to their
//! canonical names. Timestamps become Unix seconds (UTC),
//! so ticks are kept to f64's resolution at today's dates (about 0.24 µs). The file name gives the
//! class when it says `code` or `conv` (the two services of the 2023 and 2024 traces).

use std::path::Path;

use super::{Carried, ImportOptions, ImportReport, Imported, Importer, find_column, missing_column, open_csv};
use crate::error::Result;
use crate::trace::columns;
use crate::trace::read::{ReadOptions, TraceFormat, read};

pub struct Azure;

impl Importer for Azure {
    fn format_url(&self) -> &'static str {
        "https://github.com/Azure/AzurePublicDataset/blob/master/AzureLLMInferenceDataset2023.md"
    }

    fn import(&self, path: &Path, opts: &ImportOptions) -> Result<Imported> {
        let (_, headers) = open_csv(path)?;
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

        // The three columns are what the table reader parses on all threads (date-times included):
        // map them and let it read, validate and sort; bad cells are named the same way.
        let gz = path.to_string_lossy().to_ascii_lowercase().ends_with(".gz");
        let read_opts = ReadOptions {
            format: Some(if gz { TraceFormat::CsvGz } else { TraceFormat::Csv }),
            column_map: vec![
                (headers[ts].clone(), columns::TIMESTAMP_S.to_string()),
                (headers[input].clone(), columns::INPUT_TOKENS.to_string()),
                (headers[output].clone(), columns::OUTPUT_TOKENS.to_string()),
            ],
            skip_bad_rows: opts.skip_bad_rows,
            spread_ties: false,
        };
        let mut trace = read(path, &read_opts)?;
        if let Some(c) = class {
            trace.class_names = vec![c];
            trace.class.iter_mut().for_each(|code| *code = 0);
        }
        report.records = trace.len() + trace.skipped_rows;
        report.skipped_bad = trace.skipped_rows;
        Ok(Imported { carried: Carried::default(), report, ready: Some(trace), ..Imported::default() })
    }
}
