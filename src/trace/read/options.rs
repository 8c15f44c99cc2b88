//! What the caller asks of the reader: the file formats ([`TraceFormat`], a `clap::ValueEnum`, so
//! the command line's `--format` comes from this one list), the [`ReadOptions`], and the
//! `switchyard trace convert` command that a fix prints with the same options.

use std::path::Path;

/// File formats a trace can be read from (and written to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// Gzip-compressed CSV.
    CsvGz,
    /// Apache Parquet.
    Parquet,
    /// Newline-delimited JSON, one object per line.
    Ndjson,
    /// Azure LLM inference trace 2023/2024 (`TIMESTAMP, ContextTokens, GeneratedTokens`); importer.
    Azure,
    /// BurstGPT (`Timestamp, Model, Request tokens, Response tokens, ...`); importer.
    Burstgpt,
    /// Mooncake JSON lines (`timestamp` ms, `input_length`, `output_length`, `hash_ids`); importer.
    Mooncake,
    /// OpenTelemetry GenAI spans, OTLP/JSON or flat span objects; importer.
    Otel,
    /// LiteLLM proxy spend logs (CSV or JSON), fallbacks grouped by trace id; importer.
    Litellm,
    /// LLMPerf per-request results (JSON array); importer.
    Llmperf,
}

impl TraceFormat {
    /// The format named by a file's extension: `.csv`, `.csv.gz` (or `.gz`), `.parquet` (or `.pq`),
    /// `.ndjson` (or `.jsonl`); case-insensitive.
    pub fn from_path(path: &Path) -> Option<TraceFormat> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".gz") {
            Some(TraceFormat::CsvGz)
        } else if name.ends_with(".csv") {
            Some(TraceFormat::Csv)
        } else if name.ends_with(".parquet") || name.ends_with(".pq") {
            Some(TraceFormat::Parquet)
        } else if name.ends_with(".ndjson") || name.ends_with(".jsonl") {
            Some(TraceFormat::Ndjson)
        } else {
            None
        }
    }

    /// The name used on the command line (`--format`).
    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Csv => "csv",
            TraceFormat::CsvGz => "csv-gz",
            TraceFormat::Parquet => "parquet",
            TraceFormat::Ndjson => "ndjson",
            TraceFormat::Azure => "azure",
            TraceFormat::Burstgpt => "burstgpt",
            TraceFormat::Mooncake => "mooncake",
            TraceFormat::Otel => "otel",
            TraceFormat::Litellm => "litellm",
            TraceFormat::Llmperf => "llmperf",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            TraceFormat::Csv => "csv",
            TraceFormat::CsvGz => "csv.gz",
            TraceFormat::Parquet => "parquet",
            TraceFormat::Ndjson => "ndjson",
            TraceFormat::Azure | TraceFormat::Burstgpt | TraceFormat::Litellm => "csv",
            TraceFormat::Mooncake | TraceFormat::Otel => "jsonl",
            TraceFormat::Llmperf => "json",
        }
    }
}

/// How to read a trace file.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The format; `None` means "from the file's extension".
    pub format: Option<TraceFormat>,
    /// Column renames applied before validation: (name in the file, canonical name).
    pub column_map: Vec<(String, String)>,
    /// Drop rows with bad values (counted in [`Trace::skipped_rows`](crate::trace::Trace::skipped_rows)) instead of failing.
    pub skip_bad_rows: bool,
    /// Importers only: spread requests sharing a timestamp over the gap to the next one.
    pub spread_ties: bool,
}

/// The `switchyard trace convert` command that rewrites `path` as a Parquet trace in time order
/// (conversion sorts) beside it, reading it with the same options: a fix that runs as printed.
pub fn convert_command(path: &Path, opts: &ReadOptions) -> String {
    let name = path.file_name().map_or_else(|| "trace".into(), |n| n.to_string_lossy().into_owned());
    let stem = name.split('.').next().filter(|s| !s.is_empty()).unwrap_or("trace");
    let sorted = path.with_file_name(format!("{stem}-sorted.parquet"));
    let word = |text: &str| shlex::try_quote(text).map_or_else(|_| format!("'{text}'"), |q| q.into_owned());
    let mut command = format!("switchyard trace convert {}", word(&path.to_string_lossy()));
    if let Some(format) = opts.format {
        command.push_str(&format!(" --format {}", format.name()));
    }
    for (source, canonical) in &opts.column_map {
        command.push_str(&format!(" --map {}", word(&format!("{source}={canonical}"))));
    }
    if opts.skip_bad_rows {
        command.push_str(" --skip-bad-rows");
    }
    if opts.spread_ties {
        command.push_str(" --spread-ties");
    }
    command.push_str(&format!(" -o {}", word(&sorted.to_string_lossy())));
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extension() {
        let f = |p: &str| TraceFormat::from_path(Path::new(p));
        assert_eq!(f("a/t.csv"), Some(TraceFormat::Csv));
        assert_eq!(f("t.CSV.GZ"), Some(TraceFormat::CsvGz));
        assert_eq!(f("t.gz"), Some(TraceFormat::CsvGz));
        assert_eq!(f("t.parquet"), Some(TraceFormat::Parquet));
        assert_eq!(f("t.pq"), Some(TraceFormat::Parquet));
        assert_eq!(f("t.jsonl"), Some(TraceFormat::Ndjson));
        assert_eq!(f("t.ndjson"), Some(TraceFormat::Ndjson));
        assert_eq!(f("t.txt"), None);
    }
}
