//! Writing traces and generic tables as Parquet, CSV (also gzip) or NDJSON.
//!
//! [`write()`] stores a [`Trace`] so that [`super::read()`] gives back the same columns: timestamps
//! and recorded numbers are written at full precision (shortest round-trip decimal in text formats),
//! names as text, tokens as unsigned integers, recorded columns only when present. [`write_table`] lets
//! other modules write their own tables without knowing polars.
//!
//! Every file goes through [`crate::output::write_atomic`]: a failed write never leaves a partial
//! file. Deliberately absent: appending, partitioned output.

use std::path::Path;

use polars::prelude::{
    BooleanChunked, CsvWriter, DataFrame, Float64Chunked, IntoColumn, JsonFormat, JsonWriter, NewChunkedArray,
    ParquetCompression, ParquetWriter, SerWriter, StringChunked, UInt32Chunked, UInt64Chunked,
};

use super::read::TraceFormat;
use super::{TextColumn, Trace, columns};
use crate::error::{Error, Place, Problem, Result};
use crate::output::write_atomic;

/// Rows per Parquet row group: the reader decodes one column chunk per thread at a time, so this
/// bounds its memory (128K rows: reading the 10M reference trace peaks ~140 MB lower than with 1M,
/// at the same speed).
const ROW_GROUP: usize = 1 << 17;

/// Write a trace. `format` `None` means "from the file's extension".
pub fn write(trace: &Trace, path: &Path, format: Option<TraceFormat>) -> Result<()> {
    let format = match format.or_else(|| TraceFormat::from_path(path)) {
        Some(f) => f,
        None => return Err(unknown_extension(path)),
    };
    let mut df = trace_frame(trace).map_err(|message| Error::Format { path: path.into(), message })?;
    write_frame(&mut df, path, format)
}

/// A column of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    F64(Vec<f64>),
    OptF64(Vec<Option<f64>>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    /// Stored as unsigned 32-bit integers (this build of polars has no 8-bit type).
    U8(Vec<u8>),
    Bool(Vec<bool>),
    Str(Vec<String>),
    OptStr(Vec<Option<String>>),
}

impl ColumnData {
    pub fn len(&self) -> usize {
        match self {
            ColumnData::F64(v) => v.len(),
            ColumnData::OptF64(v) => v.len(),
            ColumnData::U32(v) => v.len(),
            ColumnData::U64(v) => v.len(),
            ColumnData::U8(v) => v.len(),
            ColumnData::Bool(v) => v.len(),
            ColumnData::Str(v) => v.len(),
            ColumnData::OptStr(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A generic output table: named columns of equal length, written in this order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<(String, ColumnData)>,
}

impl Table {
    pub fn new() -> Table {
        Table::default()
    }
    /// Append a column (builder style).
    pub fn with(mut self, name: impl Into<String>, data: ColumnData) -> Table {
        self.columns.push((name.into(), data));
        self
    }
}

/// Write a table; the format comes from the extension: `.parquet`/`.pq`, `.csv`, `.csv.gz`,
/// `.ndjson`/`.jsonl`.
pub fn write_table(table: &Table, path: &Path) -> Result<()> {
    let format = TraceFormat::from_path(path).ok_or_else(|| unknown_extension(path))?;
    let mut df = table_frame(table).map_err(|message| Error::Format { path: path.into(), message })?;
    write_frame(&mut df, path, format)
}

fn unknown_extension(path: &Path) -> Error {
    Error::one(Problem::new(
        Place::file(path),
        "cannot tell the output format from the file name",
        "end the file name in .parquet, .csv, .csv.gz or .ndjson",
    ))
}

fn table_frame(table: &Table) -> std::result::Result<DataFrame, String> {
    let height = table.columns.first().map_or(0, |(_, c)| c.len());
    let mut cols = Vec::with_capacity(table.columns.len());
    for (name, data) in &table.columns {
        if data.len() != height {
            return Err(format!("table column `{name}` has {} rows, but the first column has {height}", data.len()));
        }
        let name = name.as_str().into();
        let col = match data {
            ColumnData::F64(v) => Float64Chunked::from_slice(name, v).into_column(),
            ColumnData::OptF64(v) => Float64Chunked::from_slice_options(name, v).into_column(),
            ColumnData::U32(v) => UInt32Chunked::from_slice(name, v).into_column(),
            ColumnData::U64(v) => UInt64Chunked::from_slice(name, v).into_column(),
            ColumnData::U8(v) => UInt32Chunked::from_iter_values(name, v.iter().map(|&x| u32::from(x))).into_column(),
            ColumnData::Bool(v) => BooleanChunked::from_slice(name, v).into_column(),
            ColumnData::Str(v) => StringChunked::from_slice(name, v).into_column(),
            ColumnData::OptStr(v) => StringChunked::from_slice_options(name, v).into_column(),
        };
        cols.push(col);
    }
    DataFrame::new(height, cols).map_err(|e| e.to_string())
}

fn trace_frame(trace: &Trace) -> std::result::Result<DataFrame, String> {
    use columns::*;
    let n = trace.len();
    let names = |codes: &[u16], names: &[String], col: &str| {
        StringChunked::from_iter_values(col.into(), codes.iter().map(|&c| names[c as usize].as_str())).into_column()
    };
    let mut cols = vec![
        Float64Chunked::from_slice(TIMESTAMP_S.into(), &trace.timestamp_s).into_column(),
        names(&trace.class, &trace.class_names, CLASS),
    ];
    if trace.has_origin() {
        cols.push(names(&trace.origin, &trace.origin_names, ORIGIN_REGION));
    }
    cols.push(UInt32Chunked::from_slice(INPUT_TOKENS.into(), &trace.input_tokens).into_column());
    cols.push(UInt32Chunked::from_slice(OUTPUT_TOKENS.into(), &trace.output_tokens).into_column());
    if let Some(c) = &trace.cached_input_tokens {
        cols.push(UInt32Chunked::from_slice(CACHED_INPUT_TOKENS.into(), c).into_column());
    }
    let r = &trace.recorded;
    let text = |v: &Option<TextColumn>, col: &str| {
        v.as_ref().map(|v| StringChunked::from_iter_options(col.into(), v.iter()).into_column())
    };
    let num = |v: &Option<Vec<Option<f64>>>, col: &str| {
        v.as_ref().map(|v| Float64Chunked::from_slice_options(col.into(), v).into_column())
    };
    cols.extend(text(&r.request_id, REQUEST_ID));
    cols.extend(text(&r.model, MODEL));
    cols.extend(text(&r.region, REGION));
    cols.extend(num(&r.latency_s, LATENCY_S));
    cols.extend(num(&r.ttft_s, TTFT_S));
    cols.extend(text(&r.status, STATUS));
    cols.extend(num(&r.cost_usd, COST_USD));
    DataFrame::new(n, cols).map_err(|e| e.to_string())
}

fn write_frame(df: &mut DataFrame, path: &Path, format: TraceFormat) -> Result<()> {
    let mut failure: Option<String> = None;
    let result = write_atomic(path, |w| {
        let outcome = match format {
            TraceFormat::Csv => CsvWriter::new(&mut *w).include_header(true).finish(df),
            TraceFormat::CsvGz => {
                let mut gz = flate2::write::GzEncoder::new(&mut *w, flate2::Compression::default());
                let outcome = CsvWriter::new(&mut gz).include_header(true).finish(df);
                if outcome.is_ok() {
                    gz.finish()?;
                }
                outcome
            }
            TraceFormat::Parquet => ParquetWriter::new(&mut *w)
                .with_compression(ParquetCompression::Lz4Raw)
                .with_row_group_size(Some(ROW_GROUP))
                .finish(df)
                .map(|_| ()),
            TraceFormat::Ndjson => JsonWriter::new(&mut *w).with_json_format(JsonFormat::JsonLines).finish(df),
            other => Err(polars::prelude::PolarsError::ComputeError(
                format!("{} is an import format; write .parquet, .csv, .csv.gz or .ndjson", other.name()).into(),
            )),
        };
        outcome.map_err(|e| {
            let message = e.to_string();
            failure = Some(message.clone());
            std::io::Error::other(message)
        })?;
        w.flush()
    });
    result.map_err(|e| match failure {
        Some(message) => {
            Error::Format { path: path.into(), message: format!("cannot write as {}: {message}", format.name()) }
        }
        None => e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_must_have_equal_length() {
        let table = Table::new().with("a", ColumnData::F64(vec![1.0, 2.0])).with("b", ColumnData::U32(vec![1]));
        let dir = tempfile::tempdir().unwrap();
        let err = write_table(&table, &dir.path().join("t.csv")).unwrap_err().to_string();
        assert!(err.contains("`b` has 1 rows"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no file may be left behind");
    }

    #[test]
    fn table_csv_has_every_type() {
        let table = Table::new()
            .with("f", ColumnData::F64(vec![0.1, 1e-7]))
            .with("of", ColumnData::OptF64(vec![None, Some(2.5)]))
            .with("u", ColumnData::U32(vec![1, 2]))
            .with("u64", ColumnData::U64(vec![u64::MAX, 0]))
            .with("u8", ColumnData::U8(vec![255, 0]))
            .with("b", ColumnData::Bool(vec![true, false]))
            .with("s", ColumnData::Str(vec!["a,b".into(), "c".into()]))
            .with("os", ColumnData::OptStr(vec![Some("x".into()), None]));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        write_table(&table, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "f,of,u,u64,u8,b,s,os");
        // Floats: shortest decimal that reads back as the same double.
        let first: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(first[0].parse::<f64>().unwrap(), 0.1);
        assert_eq!(&first[1..5], &["", "1", "18446744073709551615", "255"]);
        assert!(lines[1].contains("\"a,b\""), "a comma in text must be quoted: {}", lines[1]);
        let second: Vec<&str> = lines[2].split(',').collect();
        assert_eq!(second[0].parse::<f64>().unwrap(), 1e-7);
        assert_eq!(second[1].parse::<f64>().unwrap(), 2.5);
    }
}
