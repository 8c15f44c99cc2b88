//! Loading a trace file in a table format into a [`Trace`]: CSV (also gzip-compressed), Parquet and
//! NDJSON. [`crate::trace::read()`] also reads the importers' formats, through
//! [`crate::trace::import`]; this reader never calls the importers (Azure's calls this reader).
//!
//! Every format goes through the same steps: resolve the file's column names to the canonical ones
//! (after `--map` renames; a name that differs from a canonical one only by case, spaces or
//! punctuation is read as it, with a note in [`Trace::notices`], and an unread column that looks
//! like a misspelt one gets a warning there), convert each row, validate it, intern class and
//! origin names, and sort by time if needed. Every bad cell becomes a [`Problem`] naming the file, the 1-based data row (and for
//! CSV the line), the column, the value and what was expected; the first ten bad rows are reported
//! together. With [`ReadOptions::skip_bad_rows`] they are dropped and counted instead.
//!
//! Two paths, one set of rules:
//!
//! * **CSV fast path** (plain and gzip): a streaming parser of its own, in blocks (never the whole
//!   file at once) on all threads, overlapping reading, parsing and merging. Rows of plain values
//!   take a one-pass route (numbers parsed while scanning, class/origin names hashed straight to
//!   codes); any other row goes through the general per-cell code, which also names what is wrong
//!   with exact row and line numbers. A 10M-row trace costs little more memory than the [`Trace`].
//!   (polars' CSV reader would first build string columns: several times the memory, and slower.)
//! * **Parquet**: only the used columns are read, one column chunk (one column of one row group) at a
//!   time per thread, decoded by polars' Parquet decoder and converted straight into its rows of the
//!   final columns, which are allocated once at the file's row count; each decoded chunk is freed as
//!   soon as it is converted. Numbers of the types [`crate::trace::write::write()`] stores (f64
//!   timestamps, u32 tokens) are copied as they are; class and origin names are coded once per distinct 16-byte
//!   Arrow view, which for a dictionary-encoded column (as Parquet writers store names) means once
//!   per dictionary entry per chunk, not once per row. Other types (integers, floats of another
//!   width, text, date-times) go through the same per-cell conversions as CSV.
//! * **polars path**: NDJSON, and CSV files the fast parser does not take (any file with a `"` quote,
//!   whose quoted fields may hide commas and newlines).
//!
//! Both paths share the per-cell conversions (`cells.rs`), so a value is accepted or rejected the
//! same way in every format.
//!
//! One job per file, in the order a row travels:
//!
//! * `options.rs`: [`TraceFormat`], [`ReadOptions`], and the `trace convert` command a fix prints.
//! * `columns.rs`: the canonical columns, `--map`, and which file column feeds each (its layout).
//! * `cells.rs`: one cell to a value, or why not; a CSV row's values before the row is accepted.
//! * `dict.rs`: class and origin names to codes, per chunk and for the whole file.
//! * `builder.rs`: converted chunks merged in file order into a trace, bad rows reported.
//! * `csv_fast.rs`: the CSV fast path (streamed, or memory-mapped for a plain file).
//! * `frame.rs`: polars frames (CSV the fast path does not take, NDJSON) and typed columns.
//! * `ndjson.rs`: NDJSON lines checked, then read by polars.
//! * `parquet.rs`: Parquet, one column chunk at a time.
//! * `groups.rs`: Parquet row groups handed to a consumer as they are decoded ([`ParquetGroups`]).
//! * `chunked.rs`: a file read a bounded chunk at a time, for `--stream`.
//! * `guard.rs`: polars' errors and panics as problems naming the file.
//!
//! Shared with the importers, outside this folder: number parsing and line splitting of bytes
//! (`trace/bytes.rs`), date-times (`trace/datetime.rs`) and the stable sort (`trace/sort.rs`).
//! polars is used in `frame.rs`, `ndjson.rs`, `parquet.rs`, `groups.rs` and `guard.rs` only.
//!
//! Deliberately absent: no printing (the caller warns about sorting and skipped rows), no
//! guessing of separators or units.

mod builder;
mod cells;
mod chunked;
mod columns;
mod csv_fast;
mod dict;
mod frame;
mod groups;
mod guard;
mod ndjson;
mod options;
mod parquet;

use std::path::Path;

pub(crate) use builder::RawChunk;
pub(crate) use chunked::ChunkReader;
use columns::check_map;
pub use columns::{CANONICAL_COLUMNS, parse_column_map};
use csv_fast::read_csv;
pub use groups::{GroupRows, ParquetGroups};
pub use guard::guarding;
use ndjson::read_ndjson;
pub use options::{ReadOptions, TraceFormat, convert_command};
use parquet::read_parquet;

use super::Trace;
use crate::error::{Error, Place, Problem, Result};

/// The format to read `path` as: `--format` when given, else the one its extension names.
pub(crate) fn format_of(path: &Path, opts: &ReadOptions) -> Result<TraceFormat> {
    match opts.format.or_else(|| TraceFormat::from_path(path)) {
        Some(f) => Ok(f),
        None => Err(Error::one(Problem::new(
            Place::file(path),
            "cannot tell the trace format from the file name",
            "name the file .csv, .csv.gz, .parquet or .ndjson, or pass --format csv|csv-gz|parquet|ndjson",
        ))),
    }
}

/// Read a trace file in a table format (CSV, CSV.gz, Parquet, NDJSON). See the module
/// documentation for the rules. An importer's format is an error here: [`crate::trace::read()`]
/// reads those.
pub fn read(path: &Path, opts: &ReadOptions) -> Result<Trace> {
    let format = format_of(path, opts)?;
    check_map(opts)?;
    let mut trace = match format {
        TraceFormat::Csv => read_csv(path, opts, false)?,
        TraceFormat::CsvGz => read_csv(path, opts, true)?,
        TraceFormat::Parquet => read_parquet(path, opts)?,
        TraceFormat::Ndjson => read_ndjson(path, opts)?,
        importer => {
            return Err(Error::one(Problem::new(
                Place::file(path),
                format!("`{}` is an importer's format, which the table reader does not read", importer.name()),
                "read it with `switchyard::trace::read`, which runs the importers",
            )));
        }
    };
    trace.source = path.display().to_string();
    Ok(trace)
}
