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
//!   soon as it is converted. Numbers of the types [`super::write::write()`] stores (f64 timestamps, u32
//!   tokens) are copied as they are; class and origin names are coded once per distinct 16-byte
//!   Arrow view, which for a dictionary-encoded column (as Parquet writers store names) means once
//!   per dictionary entry per chunk, not once per row. Other types (integers, floats of another
//!   width, text, date-times) go through the same per-cell conversions as CSV.
//! * **polars path**: NDJSON, and CSV files the fast parser does not take (any file with a `"` quote,
//!   whose quoted fields may hide commas and newlines).
//!
//! Both paths share the per-cell conversions below, so a value is accepted or rejected the same way
//! in every format. Deliberately absent: no printing (the caller warns about sorting and skipped
//! rows), no guessing of separators or units.

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;

use polars::io::parquet::read::_internal::to_deserializer;
use polars::io::parquet::read::FileMetadata;
use polars::prelude::{
    ArrayRef, ArrowDataType, ArrowField, CsvReadOptions, DataFrame, DataType, JsonFormat, JsonReader, ParquetReader,
    PolarsResult, Schema, SerReader, Series,
};
use rayon::prelude::*;

use super::bytes::{Batch, POW10, blank_line, csv_error, field_end, is_gzip, map_file, open, read_batch, split_lines};
use super::datetime::{DateCache, fixed_datetime, utc_seconds_cached};
use super::{DEFAULT_CLASS, Trace, UNSPECIFIED_ORIGIN};

mod builder;
mod cells;
mod columns;
mod dict;
mod options;

pub(crate) use builder::RawChunk;
use builder::{BadCell, Builder, Chunk, ChunkPool, MAX_REPORTED};
use cells::{Cell, CellError, RowValues, amount_cell, cached_cell, timestamp_cell, tokens_cell};
use columns::{ALL_COLS, Col, Kind, Layout, N_COLS, NUM_COLS, TEXT_COLS, check_map, resolve_columns};
pub use columns::{CANONICAL_COLUMNS, parse_column_map};
use dict::{GlobalDict, LocalDict, ViewCodes, compact_dict, drop_unused_names, name_key, name_key_at, named_codes};
pub use options::{ReadOptions, TraceFormat, convert_command};

mod groups;
mod guard;
use crate::error::{Error, Notice, Place, Problem, Result};
pub use groups::{GroupRows, ParquetGroups};
use guard::guarded;
pub use guard::guarding;

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

// ---------------------------------------------------------------------------------------------
// CSV fast path.

/// Bytes read per worker per batch.
pub(crate) const BLOCK: usize = 8 << 20;

/// Bytes of a mapped file parsed per thread per window: the window's parsed pieces are merged
/// while the next window is parsed, and their memory is then reused for the window after.
const MAPPED_BLOCK: usize = 2 << 20;

enum Fast<T> {
    Done(T),
    /// The fast parser does not take this file (quoted fields); use polars.
    Fallback,
}

fn read_csv(path: &Path, opts: &ReadOptions, gz: bool) -> Result<Trace> {
    // A gzip file named .csv is read as what it is.
    let gz = gz || is_gzip(path)?;
    let file = open(path)?;
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let outcome = if gz {
        let hint = gzip_size_hint(path, file_len);
        let decoder = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, file));
        csv_fast(decoder, path, opts, hint, BLOCK)?
    } else {
        match map_file(&file).filter(|m| !m.is_empty()) {
            Some(map) => csv_mapped(&map, path, opts, MAPPED_BLOCK)?,
            None => csv_fast(file, path, opts, file_len, BLOCK)?,
        }
    };
    match outcome {
        Fast::Done(trace) => Ok(trace),
        Fast::Fallback => {
            let bytes = if gz { gunzip(path)? } else { std::fs::read(path).map_err(|e| Error::io(path, e))? };
            csv_polars(bytes, path, opts)
        }
    }
}

/// The uncompressed size stored in a gzip trailer (modulo 4 GiB; last member only), as a capacity
/// hint, bounded by a plausible compression ratio.
fn gzip_size_hint(path: &Path, file_len: u64) -> u64 {
    use std::io::{Seek, SeekFrom};
    let read_trailer = || -> std::io::Result<u64> {
        let mut f = File::open(path)?;
        f.seek(SeekFrom::End(-4))?;
        let mut b = [0u8; 4];
        f.read_exact(&mut b)?;
        Ok(u64::from(u32::from_le_bytes(b)))
    };
    match read_trailer() {
        Ok(size) if file_len > 18 => size.min(file_len.saturating_mul(50)),
        _ => 0,
    }
}

fn gunzip(path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(BufReader::new(open(path)?))
        .read_to_end(&mut out)
        .map_err(|e| Error::read(path, e))?;
    Ok(out)
}

/// The fast path over any byte source; `block` bytes per worker per batch.
fn csv_fast<R: Read + Send>(
    mut src: R,
    path: &Path,
    opts: &ReadOptions,
    size_hint: u64,
    block: usize,
) -> Result<Fast<Trace>> {
    // `src` may be a gzip decoder: a corrupt or cut-short stream is a problem with the file.
    let io = |e| Error::read(path, e);
    let threads = rayon::current_num_threads().max(1);
    let want = block * threads;
    let mut batch = read_batch(&mut src, &[], want, Vec::new()).map_err(io)?;
    let mut spare: Vec<u8> = Vec::new();
    let Some((layout, mut offset)) = csv_head(&batch.buf[..batch.cut], path, opts)? else {
        return Ok(Fast::Fallback);
    };
    let roles = layout.roles();
    let mut builder = Builder::new(path, &layout, Some(1));
    let pool = ChunkPool::default();
    let mut reserved = false;
    let mut pending: Option<(Vec<Chunk>, usize)> = None;
    loop {
        let body = &batch.buf[offset..batch.cut];
        if body.contains(&b'"') {
            return Ok(Fast::Fallback);
        }
        let carry = &batch.buf[batch.cut..];
        let eof = batch.eof;
        // Parse this batch while the previous one is merged and the next one read.
        let merging = pending.take();
        let recycled = std::mem::take(&mut spare);
        let (chunks, next) = rayon::join(
            || {
                // Several pieces per thread, so that work stealing evens out the load.
                split_lines(body, threads * 4)
                    .into_par_iter()
                    .map(|piece| parse_piece(piece, &layout, &roles, &pool))
                    .collect::<Vec<Chunk>>()
            },
            || -> Result<Option<Batch>> {
                if let Some((chunks, bytes)) = merging {
                    merge_all(&mut builder, chunks, bytes, &mut reserved, size_hint, &pool)?;
                }
                if eof { Ok(None) } else { read_batch(&mut src, carry, want, recycled).map(Some).map_err(io) }
            },
        );
        pending = Some((chunks, body.len()));
        match next? {
            None => break,
            Some(b) => {
                spare = std::mem::replace(&mut batch, b).buf;
                offset = 0;
            }
        }
    }
    if let Some((chunks, bytes)) = pending {
        merge_all(&mut builder, chunks, bytes, &mut reserved, size_hint, &pool)?;
    }
    builder.finish(opts).map(Fast::Done)
}

/// The layout of a CSV file from its first bytes, and where the data rows start; `None` when the
/// fast path does not take the file (a `"` in these bytes).
fn csv_head(first: &[u8], path: &Path, opts: &ReadOptions) -> Result<Option<(Layout, usize)>> {
    let bom = if first.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let data = &first[bom.min(first.len())..];
    if data.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::one(Problem::new(
            Place::file(path),
            "is empty; expected a header line, then one row per request",
            "write a header such as `timestamp_s,class,origin_region,input_tokens,output_tokens`, then the rows",
        )));
    }
    if data.contains(&b'"') {
        return Ok(None);
    }
    let header_end = data.iter().position(|&b| b == b'\n').map_or(data.len(), |p| p + 1);
    let header = String::from_utf8_lossy(&data[..header_end]);
    let names: Vec<String> = header.trim_end_matches(['\n', '\r']).split(',').map(|s| s.to_string()).collect();
    Ok(Some((resolve_columns(&names, opts, path)?, bom + header_end)))
}

/// The fast path over a file's bytes in memory (a mapped plain file): as [`csv_fast`], without
/// copying the bytes into batches. Windows of `block` bytes per thread (cut at line ends) are
/// parsed in pieces on all threads while the previous window's pieces are merged.
fn csv_mapped(data: &[u8], path: &Path, opts: &ReadOptions, block: usize) -> Result<Fast<Trace>> {
    let threads = rayon::current_num_threads().max(1);
    let want = block * threads;
    let first_end = data[..want.min(data.len())].iter().rposition(|&b| b == b'\n').map_or(data.len(), |p| p + 1);
    let Some((layout, offset)) = csv_head(&data[..first_end], path, opts)? else {
        return Ok(Fast::Fallback);
    };
    let roles = layout.roles();
    let mut builder = Builder::new(path, &layout, Some(1));
    let pool = ChunkPool::default();
    let mut reserved = false;
    let mut pending: Option<(Vec<Chunk>, usize)> = None;
    let mut rest = &data[offset.min(data.len())..];
    loop {
        let cut = if rest.len() <= want {
            rest.len()
        } else {
            rest[want..].iter().position(|&b| b == b'\n').map_or(rest.len(), |p| want + p + 1)
        };
        let (body, tail) = rest.split_at(cut);
        let merging = pending.take();
        // Each piece also looks for quotes (on its thread, not in a serial pass over the window).
        let (parsed, merged) = rayon::join(
            || {
                split_lines(body, threads * 4)
                    .into_par_iter()
                    .map(|piece| (!piece.contains(&b'"')).then(|| parse_piece(piece, &layout, &roles, &pool)))
                    .collect::<Option<Vec<Chunk>>>()
            },
            || match merging {
                Some((chunks, bytes)) => {
                    merge_all(&mut builder, chunks, bytes, &mut reserved, data.len() as u64, &pool)
                }
                None => Ok(()),
            },
        );
        merged?;
        let Some(chunks) = parsed else {
            return Ok(Fast::Fallback);
        };
        pending = Some((chunks, body.len()));
        if tail.is_empty() {
            break;
        }
        rest = tail;
    }
    if let Some((chunks, bytes)) = pending {
        merge_all(&mut builder, chunks, bytes, &mut reserved, data.len() as u64, &pool)?;
    }
    builder.finish(opts).map(Fast::Done)
}

/// What the one-pass row parser does with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quick {
    Skip,
    Timestamp,
    Class,
    Origin,
    Input,
    Output,
}

/// The one-pass plan, when every used column is one the one-pass parser handles.
fn quick_plan(roles: &[Option<Col>]) -> Option<Vec<Quick>> {
    roles
        .iter()
        .map(|r| match r {
            None => Some(Quick::Skip),
            Some(Col::Timestamp) => Some(Quick::Timestamp),
            Some(Col::Class) => Some(Quick::Class),
            Some(Col::Origin) => Some(Quick::Origin),
            Some(Col::Input) => Some(Quick::Input),
            Some(Col::Output) => Some(Quick::Output),
            Some(_) => None,
        })
        .collect()
}

/// A plain non-negative integer starting at `p`, and where it ends.
#[inline(always)]
fn scan_u32(buf: &[u8], p: usize) -> Option<(u32, usize)> {
    let mut i = p;
    let mut v: u64 = 0;
    while i < buf.len() && buf[i].is_ascii_digit() && i - p < 10 {
        v = v * 10 + u64::from(buf[i] - b'0');
        i += 1;
    }
    if i == p || (i < buf.len() && buf[i].is_ascii_digit()) {
        return None;
    }
    Some((u32::try_from(v).ok()?, i))
}

/// A plain decimal starting at `p` (see [`parse_f64_fast`]), and where it ends.
#[inline(always)]
fn scan_f64(buf: &[u8], p: usize) -> Option<(f64, usize)> {
    let mut i = p;
    let negative = buf.get(i) == Some(&b'-');
    if negative {
        i += 1;
    }
    let mut mantissa: u64 = 0;
    let mut digits = 0;
    while i < buf.len() && buf[i].is_ascii_digit() {
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(buf[i] - b'0'));
        i += 1;
        digits += 1;
    }
    let mut frac_digits = 0;
    if buf.get(i) == Some(&b'.') {
        i += 1;
        while i < buf.len() && buf[i].is_ascii_digit() {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(buf[i] - b'0'));
            i += 1;
            frac_digits += 1;
        }
    }
    digits += frac_digits;
    if digits == 0 || digits > 19 || frac_digits > 22 || mantissa > (1 << 53) {
        return None;
    }
    let v = mantissa as f64 / POW10[frac_digits];
    Some((if negative { -v } else { v } + 0.0, i))
}

/// A timestamp starting at `p`: a plain decimal, else a date-time (to Unix seconds), and where it
/// ends. Anything else (an exponent, spaces, a bad date) is left to the general code.
#[inline(always)]
fn scan_timestamp(buf: &[u8], p: usize, dates: &mut DateCache) -> Option<(f64, usize)> {
    if buf.get(p + 4) == Some(&b'-')
        && let Some((v, end)) = fixed_datetime(buf, p, dates)
    {
        return Some((v + 0.0, end));
    }
    if let Some((v, end)) = scan_f64(buf, p)
        && matches!(buf.get(end), None | Some(b',' | b'\n' | b'\r'))
    {
        return Some((v, end));
    }
    let mut end = field_end(buf, p);
    if end > p && buf[end - 1] == b'\r' {
        end -= 1;
    }
    Some((utc_seconds_cached(&buf[p..end], dates)? + 0.0, end))
}

/// One row parsed in one pass; byte ranges of the names.
#[derive(Default)]
struct QuickRow {
    ts: f64,
    dates: DateCache,
    class: (usize, usize),
    origin: (usize, usize),
    input: u32,
    output: u32,
}

/// Parse a row of plain values in one pass; returns where the next line starts. `None` (anything
/// unusual: a bad value, an exponent, a wrong field count) sends the row to the general code, which
/// says what is wrong.
#[inline]
fn quick_row(buf: &[u8], mut p: usize, plan: &[Quick], row: &mut QuickRow) -> Option<usize> {
    let last = plan.len() - 1;
    for (i, step) in plan.iter().enumerate() {
        let start = p;
        match step {
            Quick::Timestamp => (row.ts, p) = scan_timestamp(buf, p, &mut row.dates)?,
            Quick::Input => (row.input, p) = scan_u32(buf, p)?,
            Quick::Output => (row.output, p) = scan_u32(buf, p)?,
            Quick::Class | Quick::Origin | Quick::Skip => {
                p = field_end(buf, p);
                let mut end = p;
                if i == last && end > start && buf[end - 1] == b'\r' {
                    end -= 1;
                }
                if *step != Quick::Skip && end == start {
                    return None;
                }
                if *step == Quick::Class {
                    row.class = (start, end);
                } else if *step == Quick::Origin {
                    row.origin = (start, end);
                }
            }
        }
        if i < last {
            if buf.get(p) != Some(&b',') {
                return None;
            }
            p += 1;
        } else {
            match buf.get(p) {
                None => {}
                Some(b'\n') => p += 1,
                Some(b'\r') if buf.get(p + 1) == Some(&b'\n') => p += 2,
                Some(b'\r') if p + 1 == buf.len() => p += 1,
                _ => return None,
            }
        }
    }
    Some(p)
}

/// Merge a batch's chunks in order; the first batch also sizes the columns from its bytes per row.
fn merge_all(
    builder: &mut Builder<'_>,
    chunks: Vec<Chunk>,
    bytes: usize,
    reserved: &mut bool,
    size_hint: u64,
    pool: &ChunkPool,
) -> Result<()> {
    if !*reserved {
        let rows: usize = chunks.iter().map(|c| c.rows).sum();
        if rows > 0 && size_hint > bytes as u64 {
            let per_row = bytes as f64 / rows as f64;
            let estimate = (size_hint as f64 / per_row * 1.02) as usize + 1024;
            builder.reserve(estimate.min(2_000_000_000));
        }
        *reserved = true;
    }
    for chunk in chunks {
        builder.merge_into(chunk, Some(pool))?;
    }
    Ok(())
}

/// [`quick_row`] unrolled for the reference layout
/// `timestamp_s,class,origin_region,input_tokens,output_tokens`.
#[inline(always)]
fn canonical_row(buf: &[u8], p: usize, row: &mut QuickRow) -> Option<usize> {
    let comma = |p: usize| (buf.get(p) == Some(&b',')).then_some(p + 1);
    let (ts, p) = scan_f64(buf, p)?;
    let p = comma(p)?;
    let class_end = field_end(buf, p);
    let origin_start = comma(class_end)?;
    let origin_end = field_end(buf, origin_start);
    let (input, p2) = scan_u32(buf, comma(origin_end)?)?;
    let (output, mut end) = scan_u32(buf, comma(p2)?)?;
    match buf.get(end) {
        None => {}
        Some(b'\n') => end += 1,
        Some(b'\r') if buf.get(end + 1) == Some(&b'\n') => end += 2,
        Some(b'\r') if end + 1 == buf.len() => end += 1,
        _ => return None,
    }
    if class_end == p || origin_end == origin_start {
        return None;
    }
    (row.ts, row.class, row.origin, row.input, row.output) =
        (ts, (p, class_end), (origin_start, origin_end), input, output);
    Some(end)
}

const CANONICAL_PLAN: [Quick; 5] = [Quick::Timestamp, Quick::Class, Quick::Origin, Quick::Input, Quick::Output];

/// Parse whole CSV lines (the last may lack its newline).
fn parse_piece(buf: &[u8], layout: &Layout, roles: &[Option<Col>], pool: &ChunkPool) -> Chunk {
    let mut chunk = pool.take(buf.len() / 32 + 16, layout);
    let n_fields = layout.n_fields;
    let plan = quick_plan(roles);
    let canonical = plan.as_deref() == Some(&CANONICAL_PLAN[..]);
    let (has_class, has_origin) = (layout.has(Col::Class), layout.has(Col::Origin));
    let mut quick = QuickRow::default();
    let mut pos = 0;
    while pos < buf.len() {
        let line = chunk.lines;
        chunk.lines += 1;
        // Blank lines (also "\r\n") are skipped; they count as lines, not rows.
        if let Some(len) = blank_line(buf, pos) {
            pos += len;
            continue;
        }
        let row = chunk.rows;
        chunk.rows += 1;
        let next = match &plan {
            Some(_) if canonical => canonical_row(buf, pos, &mut quick),
            Some(plan) => quick_row(buf, pos, plan, &mut quick),
            None => None,
        };
        if let Some(next) = next {
            chunk.ts.push(quick.ts);
            if has_class {
                let (start, end) = quick.class;
                let code = chunk.class_dict.code_keyed(name_key_at(buf, start, end), &buf[start..end]);
                chunk.class.push(code);
            }
            if has_origin {
                let (start, end) = quick.origin;
                let code = chunk.origin_dict.code_keyed(name_key_at(buf, start, end), &buf[start..end]);
                chunk.origin.push(code);
            }
            chunk.input.push(quick.input);
            chunk.output.push(quick.output);
            pos = next;
            continue;
        }
        let mut values = RowValues::default();
        let mut error: Option<(Option<Col>, String)> = None;
        let mut field = 0;
        loop {
            let mut end = pos;
            while end < buf.len() && buf[end] != b',' && buf[end] != b'\n' {
                end += 1;
            }
            let at_eol = end >= buf.len() || buf[end] == b'\n';
            let mut raw = &buf[pos..end];
            if at_eol && raw.last() == Some(&b'\r') {
                raw = &raw[..raw.len() - 1];
            }
            if error.is_none()
                && let Some(Some(col)) = roles.get(field)
                && !values.set_fast(*col, raw)
            {
                let text = std::str::from_utf8(raw).unwrap_or("\u{FFFD}");
                let cell = if raw.is_empty() { Cell::Null } else { Cell::Str(text) };
                if let Err(message) = values.set(*col, cell, raw) {
                    error = Some((Some(*col), message));
                }
            }
            field += 1;
            pos = end + 1;
            if at_eol {
                break;
            }
        }
        if error.is_none() && field != n_fields {
            error = Some((
                None,
                format!("has {field} fields, but the header has {n_fields}; expected one value per column"),
            ));
        }
        if error.is_none()
            && let Err((col, message)) = values.check(layout)
        {
            error = Some((Some(col), message));
        }
        match error {
            None => values.push(&mut chunk, layout),
            Some((col, message)) => chunk.push_bad(BadCell { row, line: Some(line), col, message }),
        }
    }
    chunk
}

// ---------------------------------------------------------------------------------------------
// polars path: Parquet, NDJSON, and CSV the fast parser does not take.

/// A file polars cannot read is bad input: a problem naming the file (polars' message says where
/// in it, when it knows).
fn polars_err<'a>(path: &'a Path, what: &str) -> impl Fn(polars::prelude::PolarsError) -> Error + 'a {
    let what = what.to_string();
    move |e| unreadable(path, &what, &e.to_string())
}

fn unreadable(path: &Path, what: &str, why: &str) -> Error {
    // polars' CSV messages go on with advice for its Python API ("You might want to try:
    // increasing `infer_schema_length`"); the first paragraph says what is wrong.
    let why = why.split("\n\n").next().unwrap_or(why);
    Error::one(Problem::new(
        Place::file(path),
        format!("cannot read as {what}: {why}"),
        format!("check that the file is complete (not cut short) and really is {what}; --format names its format"),
    ))
}

fn csv_polars(bytes: Vec<u8>, path: &Path, opts: &ReadOptions) -> Result<Trace> {
    guarded(path, "CSV", || csv_polars_unguarded(bytes, path, opts))
}

fn csv_polars_unguarded(bytes: Vec<u8>, path: &Path, opts: &ReadOptions) -> Result<Trace> {
    // Every column as text: the cell conversions decide what is valid, with exact messages.
    let read = CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .with_raise_if_empty(false)
        .into_reader_with_file_handle(Cursor::new(bytes.as_slice()))
        .finish();
    let df = match read {
        Ok(df) => df,
        // polars names a byte offset and options of its Python API; the csv crate finds the line.
        Err(e) => return Err(csv_locate(&bytes, path).unwrap_or_else(|| polars_err(path, "CSV")(e))),
    };
    if df.width() == 0 {
        return Err(Error::one(Problem::new(
            Place::file(path),
            "is empty; expected a header line, then one row per request",
            "write a header such as `timestamp_s,class,origin_region,input_tokens,output_tokens`, then the rows",
        )));
    }
    frame_to_trace(df, path, opts, Some(1))
}

/// Where a CSV file that polars refused goes wrong, as a problem naming its line: a CSV syntax
/// error, or the first row with more fields than the header or with a quote opened and never
/// closed (which swallows the lines after it into one field), or else the first row with fewer
/// fields (polars reads those as empty cells, but not always); `None` if all rows look whole.
fn csv_locate(bytes: &[u8], path: &Path) -> Option<Error> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let width = match reader.byte_headers() {
        Ok(header) => header.len(),
        Err(e) => return Some(csv_error(path, e)),
    };
    let ragged = |record: &csv::ByteRecord, unclosed: bool| {
        let line = record.position().map_or(0, |p| p.line() as usize);
        let why = if unclosed { "; a quote opened on this line is not closed before the line ends" } else { "" };
        Error::one(Problem::new(
            Place::file(path).line(line),
            format!("has {} fields where the header has {width}{why}", record.len()),
            "close the quote (a field holding a comma or a line break is written in double quotes, a quote inside it doubled), or give the row as many fields as the header",
        ))
    };
    let mut short = None;
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return short,
            Ok(true) if record.len() != width => {
                let unclosed = record.iter().any(|field| field.contains(&b'\n'));
                if unclosed || record.len() > width {
                    return Some(ragged(&record, unclosed));
                }
                short = short.or_else(|| Some(ragged(&record, false)));
            }
            Ok(true) => {}
            Err(e) => return Some(csv_error(path, e)),
        }
    }
}

fn read_ndjson(path: &Path, opts: &ReadOptions) -> Result<Trace> {
    let mut bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    let empty = || {
        Error::one(Problem::new(
            Place::file(path),
            "is empty; expected one JSON object per line",
            "write one object per request, e.g. {\"timestamp_s\": 0.5, \"input_tokens\": 800, \"output_tokens\": 300}",
        ))
    };
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(empty());
    }
    // polars' NDJSON reader panics on some malformed lines (a line cut short before its closing
    // brace slices past its buffer: polars-io 0.55.2 ndjson/core.rs), so every line is checked
    // here first, and polars only ever sees lines that are whole JSON objects.
    let bad_lines = ndjson_bad_lines(&bytes);
    if !bad_lines.is_empty() {
        if !opts.skip_bad_rows {
            return Err(Error::Invalid(ndjson_problems(path, &bad_lines)));
        }
        let skipped = bad_lines.len();
        bytes = ndjson_without(&bytes, &bad_lines);
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::one(Problem::new(
                Place::file(path),
                format!("all {skipped} lines are bad, so no rows are left"),
                "run without --skip-bad-rows to see which lines are bad and why",
            )));
        }
        let mut trace = ndjson_frame(bytes, path, opts)?;
        trace.skipped_rows += skipped;
        return Ok(trace);
    }
    ndjson_frame(bytes, path, opts)
}

/// An NDJSON line that is not one JSON object: (1-based line number, what is wrong).
type BadLine = (usize, String);

/// Every line of `bytes` that is neither blank nor a whole JSON object, checked on all threads.
fn ndjson_bad_lines(bytes: &[u8]) -> Vec<BadLine> {
    let pieces = split_lines(bytes, rayon::current_num_threads() * 4);
    let checked: Vec<(usize, Vec<BadLine>)> = pieces
        .par_iter()
        .map(|piece| {
            let mut bad = Vec::new();
            let mut n = 0;
            for (i, line) in piece.split(|&b| b == b'\n').enumerate() {
                n = i + 1;
                if let Some(why) = ndjson_line_error(line) {
                    bad.push((i, why));
                }
            }
            // A piece ends with its newline, which `split` counts as one more (empty) line.
            if piece.last() == Some(&b'\n') {
                n -= 1;
            }
            (n, bad)
        })
        .collect();
    let mut out = Vec::new();
    let mut base = 0;
    for (n, bad) in checked {
        out.extend(bad.into_iter().map(|(i, why)| (base + i + 1, why)));
        base += n;
    }
    out
}

/// Why one NDJSON line is not a JSON object, or `None` if it is one (or is blank).
fn ndjson_line_error(line: &[u8]) -> Option<String> {
    let text = line.strip_suffix(b"\r").unwrap_or(line);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    if text[start] != b'{' {
        let shown: String = String::from_utf8_lossy(&text[start..]).chars().take(20).collect();
        return Some(format!("starts with `{shown}`; each line must be one JSON object `{{...}}`"));
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
        Ok(_) => ndjson_wide_integer(text).map(|n| {
            format!(
                "holds the integer {n}, beyond what the NDJSON reader takes (-2^63 to 2^63-1); write it as a decimal number, or correct it"
            )
        }),
        Err(e) => {
            // serde_json says "... at line 1 column C"; the line is ours, the column is what helps.
            let full = e.to_string();
            let what = full.rsplit_once(" at line ").map_or(full.as_str(), |(w, _)| w);
            Some(format!("is not a whole JSON object: {what} at column {}", e.column()))
        }
    }
}

/// The first integer literal of a valid JSON line that does not fit in an i64 (outside strings).
/// polars infers a 128-bit integer column for one and then panics on that type (polars 0.55.2:
/// "Arrow datatype Int128 not supported by Polars").
fn ndjson_wide_integer(text: &[u8]) -> Option<String> {
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => {
                // Skip the string, escapes included (the line is valid JSON, so it is closed).
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < text.len() && matches!(text[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    i += 1;
                }
                let literal = &text[start..i];
                let integer = !literal.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
                // ASCII digits and signs only, so the conversion cannot fail.
                let literal = std::str::from_utf8(literal).unwrap_or_default();
                if integer && literal.parse::<i64>().is_err() {
                    return Some(literal.chars().take(40).collect());
                }
            }
            _ => i += 1,
        }
    }
    None
}

fn ndjson_problems(path: &Path, bad: &[BadLine]) -> Vec<Problem> {
    let fix = "close or correct the object on that line, or delete the line; --skip-bad-rows drops such lines (they are counted in the summary)";
    let mut out: Vec<Problem> = bad
        .iter()
        .take(MAX_REPORTED)
        .map(|(line, why)| Problem::new(Place::file(path).line(*line), why.clone(), fix))
        .collect();
    if bad.len() > MAX_REPORTED {
        out.push(Problem::new(
            Place::file(path),
            format!("... and {} more lines that are not JSON objects", bad.len() - MAX_REPORTED),
            "pass --skip-bad-rows to drop them all",
        ));
    }
    out
}

/// `bytes` without the lines listed in `bad` (sorted, 1-based).
fn ndjson_without(bytes: &[u8], bad: &[BadLine]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut drop = bad.iter().map(|b| b.0).peekable();
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        if drop.peek() == Some(&(i + 1)) {
            drop.next();
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

/// NDJSON whose every non-blank line is a JSON object, through polars into a trace.
fn ndjson_frame(bytes: Vec<u8>, path: &Path, opts: &ReadOptions) -> Result<Trace> {
    guarded(path, "NDJSON", || ndjson_frame_unguarded(bytes, path, opts))
}

fn ndjson_frame_unguarded(bytes: Vec<u8>, path: &Path, opts: &ReadOptions) -> Result<Trace> {
    let typed = JsonReader::new(Cursor::new(bytes.as_slice()))
        .with_json_format(JsonFormat::JsonLines)
        .infer_schema_len(None)
        .finish();
    let df = match typed {
        Ok(df) => df,
        Err(_) => {
            // Mixed types in a column (a string among numbers): read the canonical columns as text
            // so that the cell conversions can name the bad rows.
            let inferred = JsonReader::new(Cursor::new(bytes.as_slice()))
                .with_json_format(JsonFormat::JsonLines)
                .infer_schema_len(std::num::NonZeroUsize::new(1))
                .finish()
                .map_err(polars_err(path, "NDJSON"))?;
            let mut overwrite = Schema::default();
            for name in inferred.get_column_names() {
                overwrite.insert(name.clone(), DataType::String);
            }
            JsonReader::new(Cursor::new(bytes.as_slice()))
                .with_json_format(JsonFormat::JsonLines)
                .with_schema(std::sync::Arc::new(overwrite))
                .finish()
                .map_err(polars_err(path, "NDJSON"))?
        }
    };
    frame_to_trace(df, path, opts, None)
}

fn frame_names(df: &DataFrame) -> Vec<String> {
    df.get_column_names().iter().map(|s| s.to_string()).collect()
}

fn frame_to_trace(df: DataFrame, path: &Path, opts: &ReadOptions, header_lines: Option<usize>) -> Result<Trace> {
    let layout = resolve_columns(&frame_names(&df), opts, path)?;
    let mut builder = Builder::new(path, &layout, header_lines);
    for chunk in frame_chunks(&df, &layout, header_lines.is_some(), path)? {
        builder.merge(chunk)?;
    }
    drop(df);
    builder.finish(opts)
}

/// Convert a frame in parallel pieces.
fn frame_chunks(df: &DataFrame, layout: &Layout, lines: bool, path: &Path) -> Result<Vec<Chunk>> {
    let n = df.height();
    let threads = rayon::current_num_threads().max(1);
    let piece = (n / threads + 1).max(65_536);
    let starts: Vec<usize> = (0..n).step_by(piece).collect();
    starts
        .into_par_iter()
        .map(|start| {
            let part = df.slice(start as i64, piece.min(n - start));
            frame_chunk(&part, layout, lines).map_err(polars_err(path, "a trace"))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Parquet: every column chunk (one column of one row group) is read, decoded by polars' Parquet
// decoder and converted on its own, straight into its rows of the final columns. All chunks are
// converted in parallel; memory beyond the trace is a few decoded column chunks at a time.

/// A Parquet file's layout: its metadata, columns and non-empty row groups.
#[derive(Clone)]
struct ParquetFile {
    metadata: std::sync::Arc<FileMetadata>,
    layout: Layout,
    /// The field to decode each used column as.
    fields: [Option<ArrowField>; N_COLS],
    /// Non-empty row groups and their row counts.
    groups: Vec<usize>,
    sizes: Vec<usize>,
}

impl ParquetFile {
    fn open(path: &Path, opts: &ReadOptions) -> Result<ParquetFile> {
        let err = polars_err(path, "Parquet");
        let (schema, metadata) = guarded(path, "Parquet", || {
            let mut reader = ParquetReader::new(open(path)?);
            let schema = reader.schema().map_err(&err)?;
            let metadata = reader.get_metadata().map_err(&err)?.clone();
            Ok((schema, metadata))
        })?;
        let names: Vec<String> = schema.iter_names().map(|s| s.to_string()).collect();
        let layout = resolve_columns(&names, opts, path)?;
        let groups: Vec<usize> =
            (0..metadata.row_groups.len()).filter(|&g| metadata.row_groups[g].num_rows() > 0).collect();
        let sizes: Vec<usize> = groups.iter().map(|&g| metadata.row_groups[g].num_rows()).collect();
        let mut fields: [Option<ArrowField>; N_COLS] = Default::default();
        for (col, i) in layout.present() {
            fields[col.idx()] = schema.get_at_index(i).map(|(_, field)| decoded_field(field));
        }
        Ok(ParquetFile { metadata, layout, fields, groups, sizes })
    }
}

fn read_parquet(path: &Path, opts: &ReadOptions) -> Result<Trace> {
    let file = ParquetFile::open(path, opts)?;
    parquet_part(path, opts, &file, 0..file.groups.len(), 0)?.finish(opts)
}

/// Read row groups `part` (indices into `file.groups`), whose first row is data row `row_base` of
/// the file, into a builder holding their good rows, or their bad rows' problems if there are any
/// and `--skip-bad-rows` is not given.
fn parquet_part<'p>(
    path: &'p Path,
    opts: &ReadOptions,
    file: &ParquetFile,
    part: std::ops::Range<usize>,
    row_base: usize,
) -> Result<Builder<'p>> {
    let ParquetFile { metadata, layout, fields, .. } = file;
    let groups = &file.groups[part.clone()];
    let sizes = &file.sizes[part];
    let starts: Vec<usize> = sizes
        .iter()
        .scan(row_base, |next, &size| {
            let start = *next;
            *next += size;
            Some(start)
        })
        .collect();
    let n: usize = sizes.iter().sum();

    let mut cols = Columns::new(layout, n);
    let mut tasks = cols.split(layout, sizes);
    // Row group by row group, so that the threads move through the file together.
    tasks.sort_by_key(|(g, col, _)| (*g, col.idx()));
    let done: Vec<Result<(usize, Col, ColReport, LocalDict)>> = tasks
        .into_par_iter()
        .map(|(g, col, out)| {
            let field = fields[col.idx()].as_ref().expect("a field for every used column");
            let (report, dict) = parquet_column(path, metadata, groups[g], field, col, out)?;
            Ok((g, col, report, dict))
        })
        .collect();

    let too_many = |col: Col| {
        Error::one(Problem::new(
            Place::file(path).field(layout.source[col.idx()].clone()),
            format!("more than 65535 distinct values in `{}`", col.name()),
            "group rare values into fewer names before replaying",
        ))
    };
    let mut bad_cells: Vec<BadCell> = Vec::new();
    let mut bad_rows: Vec<usize> = Vec::new();
    let mut class_dicts: Vec<LocalDict> = Vec::new();
    let mut origin_dicts: Vec<LocalDict> = Vec::new();
    for outcome in done {
        let (g, col, report, dict) = outcome?;
        if report.too_many {
            return Err(too_many(col));
        }
        bad_rows.extend(report.rows.iter().map(|&r| starts[g] + r));
        bad_cells.extend(report.bad.into_iter().map(|cell| BadCell { row: starts[g] + cell.row, ..cell }));
        match col {
            Col::Class => class_dicts.push(dict),
            Col::Origin => origin_dicts.push(dict),
            _ => {}
        }
    }
    bad_rows.sort_unstable();
    bad_rows.dedup();
    if layout.has(Col::Cached) {
        // Rows are numbered from the file's start; the columns hold this part's rows only.
        bad_rows.iter_mut().for_each(|r| *r -= row_base);
        bad_cells.iter_mut().for_each(|c| c.row -= row_base);
        check_cached(&cols.cached, &cols.input, &mut bad_rows, &mut bad_cells);
        bad_rows.iter_mut().for_each(|r| *r += row_base);
        bad_cells.iter_mut().for_each(|c| c.row += row_base);
    }
    // The first bad rows overall are among each column chunk's first bad cells.
    bad_cells.sort_by_key(|c| (c.row, c.col.map_or(usize::MAX, |c| c.idx())));
    bad_cells.dedup_by_key(|c| c.row);
    bad_cells.truncate(MAX_REPORTED);

    let mut builder = Builder::new(path, layout, None);
    builder.rows = n;
    builder.n_bad = bad_rows.len();
    builder.bad = bad_cells.iter().map(|cell| builder.reporter.problem(cell, 0, 0)).collect();
    if builder.n_bad > 0 && !opts.skip_bad_rows {
        return Ok(builder);
    }
    bad_rows.iter_mut().for_each(|r| *r -= row_base);
    // Local codes become codes into the sorted names of the whole file.
    let mut class_dict = GlobalDict::default();
    if layout.has(Col::Class) {
        class_dict = settle_codes(&mut cols.class, &class_dicts, sizes).ok_or_else(|| too_many(Col::Class))?;
    }
    let mut origin_dict = GlobalDict::default();
    if layout.has(Col::Origin) {
        origin_dict = settle_codes(&mut cols.origin, &origin_dicts, sizes).ok_or_else(|| too_many(Col::Origin))?;
    }
    if !bad_rows.is_empty() {
        cols.drop_rows(&bad_rows);
        // Names seen only in bad rows must not become classes or origins.
        class_dict = drop_unused_names(&mut cols.class, class_dict);
        origin_dict = drop_unused_names(&mut cols.origin, origin_dict);
    }
    let Columns { ts, input, output, cached, class, origin, text, nums } = cols;
    builder.ts = ts;
    builder.input = input;
    builder.output = output;
    builder.cached = cached;
    builder.class = class;
    builder.class_dict = class_dict;
    builder.origin = origin;
    builder.origin_dict = origin_dict;
    builder.text = text;
    builder.nums = nums;
    Ok(builder)
}

/// The field to decode a column as: dictionary-typed columns (pandas or polars categoricals) as
/// their values, which the name conversion turns into codes anyway.
fn decoded_field(field: &ArrowField) -> ArrowField {
    let mut field = field.clone();
    if let ArrowDataType::Dictionary(_, values, _) = &field.dtype {
        field.dtype = match values.as_ref() {
            ArrowDataType::Utf8 | ArrowDataType::LargeUtf8 | ArrowDataType::Utf8View => ArrowDataType::Utf8View,
            ArrowDataType::Binary | ArrowDataType::LargeBinary | ArrowDataType::BinaryView => ArrowDataType::BinaryView,
            other => other.clone(),
        };
        field.metadata = None;
    }
    field
}

/// Read, decode and convert one column chunk (column `col` of row group `group`) into `out`.
fn parquet_column(
    path: &Path,
    metadata: &FileMetadata,
    group: usize,
    field: &ArrowField,
    col: Col,
    out: Out<'_, u16>,
) -> Result<(ColReport, LocalDict)> {
    guarded(path, "Parquet", || parquet_column_unguarded(path, metadata, group, field, col, out))
}

fn parquet_column_unguarded(
    path: &Path,
    metadata: &FileMetadata,
    group: usize,
    field: &ArrowField,
    col: Col,
    mut out: Out<'_, u16>,
) -> Result<(ColReport, LocalDict)> {
    if let Out::Code(codes) = &mut out
        && let Some((dict, too_many)) = parquet_name_codes(path, metadata, group, field, codes)?
    {
        return Ok((ColReport { too_many, ..ColReport::default() }, dict));
    }
    let mut dict = LocalDict::default();
    let series = parquet_series(path, metadata, group, field, out.len())?;
    let report = convert_column(col, &series, out, &mut dict, false).map_err(polars_err(path, "Parquet"))?;
    Ok((report, dict))
}

/// Read and decode one column chunk (the column of `field` in row group `group`, of `rows` rows).
fn parquet_series(
    path: &Path,
    metadata: &FileMetadata,
    group: usize,
    field: &ArrowField,
    rows: usize,
) -> Result<Series> {
    let err = polars_err(path, "Parquet");
    let arrays = parquet_arrays(path, metadata, group, field)?.map_err(&err)?;
    let series = guarded(path, "Parquet", || Series::try_from((field, arrays)).map_err(&err))?;
    if series.len() != rows {
        return Err(parquet_broken(
            path,
            format!(
                "column `{}` of row group {group} has {} values, but the row group has {rows} rows",
                field.name,
                series.len()
            ),
        ));
    }
    Ok(series)
}

fn parquet_broken(path: &Path, what: String) -> Error {
    unreadable(path, "Parquet", &what)
}

/// Read one column chunk (the column of `field` in row group `group`) and decode it as `field`
/// says: reading errors outside, decoding errors inside.
fn parquet_arrays(
    path: &Path,
    metadata: &FileMetadata,
    group: usize,
    field: &ArrowField,
) -> Result<PolarsResult<Vec<ArrayRef>>> {
    use std::io::{Seek, SeekFrom};
    let chunks: Vec<_> = match metadata.row_groups[group].columns_under_root_iter(&field.name) {
        Some(chunks) => chunks.collect(),
        None => return Err(parquet_broken(path, format!("row group {group} has no column `{}`", field.name))),
    };
    let mut file = open(path)?;
    let mut columns = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        let range = chunk.byte_range();
        let len = usize::try_from(range.end - range.start)
            .map_err(|_| parquet_broken(path, "column chunk too large".into()))?;
        let mut bytes = Vec::with_capacity(len);
        file.seek(SeekFrom::Start(range.start)).map_err(|e| Error::io(path, e))?;
        (&mut file).take(len as u64).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
        if bytes.len() != len {
            return Err(parquet_broken(path, "the file ends inside a column chunk (truncated?)".into()));
        }
        columns.push((chunk, bytes.into()));
    }
    guarded(path, "Parquet", || Ok(to_deserializer(columns, field.clone(), None).map(|(arrays, _)| arrays)))
}

/// A class or origin column chunk coded from its dictionary indices, when it is dictionary-encoded
/// throughout (what Parquet writers do with a few distinct names): each distinct name used is
/// coded once, each row by a table lookup, instead of a string per row; with the names' local
/// dictionary, and whether it outgrew the codes of `C`. `Ok(None)` when it is not, or holds a
/// null or empty name: [`convert_column`] then converts (and reports) it, overwriting `out`.
fn parquet_name_codes<C: NameCode>(
    path: &Path,
    metadata: &FileMetadata,
    group: usize,
    field: &ArrowField,
    out: &mut [C],
) -> Result<Option<(LocalDict, bool)>> {
    use polars_arrow::array::{Array, DictionaryArray, Utf8ViewArray};
    use polars_arrow::datatypes::{DTYPE_CATEGORICAL_NEW, IntegerType};
    if !matches!(field.dtype, ArrowDataType::Utf8 | ArrowDataType::LargeUtf8 | ArrowDataType::Utf8View) {
        return Ok(None);
    }
    // polars decodes a field marked as its categorical into the chunk's dictionary and indices
    // (and fails on a page that is not dictionary-encoded).
    let mut keyed = field.clone();
    keyed.dtype = ArrowDataType::Dictionary(IntegerType::UInt32, Box::new(ArrowDataType::Utf8View), false);
    keyed.metadata = Some(std::sync::Arc::new([(DTYPE_CATEGORICAL_NEW.into(), "".into())].into_iter().collect()));
    let Ok(arrays) = parquet_arrays(path, metadata, group, &keyed)? else {
        return Ok(None);
    };
    const UNSEEN: u32 = u32::MAX;
    let mut dict = LocalDict::default();
    let mut at = 0;
    for array in &arrays {
        let Some(array) = array.as_any().downcast_ref::<DictionaryArray<u32>>() else {
            return Ok(None);
        };
        let Some(names) = array.values().as_any().downcast_ref::<Utf8ViewArray>() else {
            return Ok(None);
        };
        if array.null_count() > 0 || at + array.len() > out.len() {
            return Ok(None);
        }
        // Names are coded as rows first use them, as the row-by-row conversion does (a name only
        // in the dictionary is no class).
        let mut codes = vec![UNSEEN; names.len()];
        for (slot, &k) in out[at..at + array.len()].iter_mut().zip(array.keys().values().iter()) {
            let Some(code) = codes.get_mut(k as usize) else {
                return Ok(None);
            };
            if *code == UNSEEN {
                let name = names.value(k as usize);
                if name.is_empty() || names.is_null(k as usize) {
                    return Ok(None);
                }
                *code = dict.code(name.as_bytes());
                if *code > C::MAX {
                    return Ok(Some((dict, true)));
                }
            }
            *slot = C::from_code(*code);
        }
        at += array.len();
    }
    Ok((at == out.len()).then_some((dict, false)))
}

/// The final columns of a trace being read, at their full size.
struct Columns {
    ts: Vec<f64>,
    input: Vec<u32>,
    output: Vec<u32>,
    cached: Vec<u32>,
    class: Vec<u16>,
    origin: Vec<u16>,
    text: [Vec<Option<String>>; 4],
    nums: [Vec<Option<f64>>; 3],
}

impl Columns {
    /// Columns of `n` rows; absent optional columns stay empty.
    fn new(layout: &Layout, n: usize) -> Columns {
        let rows = |col: Col| if layout.has(col) { n } else { 0 };
        Columns {
            ts: vec![0.0; rows(Col::Timestamp)],
            input: vec![0; rows(Col::Input)],
            output: vec![0; rows(Col::Output)],
            cached: vec![0; rows(Col::Cached)],
            class: vec![0; rows(Col::Class)],
            origin: vec![0; rows(Col::Origin)],
            text: TEXT_COLS.map(|col| vec![None; rows(col)]),
            nums: NUM_COLS.map(|col| vec![None; rows(col)]),
        }
    }

    /// Each used column cut into runs of `sizes` rows: (run, column, where its cells go).
    fn split<'a>(&'a mut self, layout: &Layout, sizes: &[usize]) -> Vec<(usize, Col, Out<'a, u16>)> {
        let Columns { ts, input, output, cached, class, origin, text, nums } = self;
        let (mut ts, mut input, mut output, mut cached) = (Some(ts), Some(input), Some(output), Some(cached));
        let (mut class, mut origin) = (Some(class), Some(origin));
        let mut text = text.each_mut().map(Some);
        let mut nums = nums.each_mut().map(Some);
        let mut tasks = Vec::new();
        for (col, _) in layout.present() {
            let taken = "each column is present once";
            let outs: Vec<Out<'a, u16>> = match col {
                Col::Timestamp => split_rows(ts.take().expect(taken), sizes).map(Out::F64).collect(),
                Col::Input => split_rows(input.take().expect(taken), sizes).map(Out::U32).collect(),
                Col::Output => split_rows(output.take().expect(taken), sizes).map(Out::U32).collect(),
                Col::Cached => split_rows(cached.take().expect(taken), sizes).map(Out::U32).collect(),
                Col::Class => split_rows(class.take().expect(taken), sizes).map(Out::Code).collect(),
                Col::Origin => split_rows(origin.take().expect(taken), sizes).map(Out::Code).collect(),
                Col::RequestId | Col::Model | Col::Region | Col::Status => {
                    split_rows(text[col.text_slot()].take().expect(taken), sizes).map(Out::Text).collect()
                }
                Col::Latency | Col::Ttft | Col::Cost => {
                    split_rows(nums[col.num_slot()].take().expect(taken), sizes).map(Out::Amount).collect()
                }
            };
            tasks.extend(outs.into_iter().enumerate().map(|(g, out)| (g, col, out)));
        }
        tasks
    }

    /// Remove the rows at the (sorted, distinct) indices `bad`.
    fn drop_rows(&mut self, bad: &[usize]) {
        fn drop<T>(v: &mut Vec<T>, bad: &[usize]) {
            if v.is_empty() {
                return;
            }
            let (mut row, mut next) = (0, 0);
            v.retain(|_| {
                let keep = bad.get(next) != Some(&row);
                next += usize::from(!keep);
                row += 1;
                keep
            });
        }
        drop(&mut self.ts, bad);
        drop(&mut self.input, bad);
        drop(&mut self.output, bad);
        drop(&mut self.cached, bad);
        drop(&mut self.class, bad);
        drop(&mut self.origin, bad);
        self.text.iter_mut().for_each(|v| drop(v, bad));
        self.nums.iter_mut().for_each(|v| drop(v, bad));
    }
}

/// `v` cut into consecutive runs of `sizes` elements.
fn split_rows<'a, T>(v: &'a mut [T], sizes: &[usize]) -> impl Iterator<Item = &'a mut [T]> {
    let mut rest = v;
    sizes.iter().map(move |&size| {
        let (run, tail) = std::mem::take(&mut rest).split_at_mut(size);
        rest = tail;
        run
    })
}

/// Rows where cached input tokens exceed input tokens (in rows not already bad) become bad.
fn check_cached(cached: &[u32], input: &[u32], bad_rows: &mut Vec<usize>, bad_cells: &mut Vec<BadCell>) {
    let mut found = Vec::new();
    let mut next = 0;
    for (i, (&c, &inp)) in cached.iter().zip(input).enumerate() {
        if bad_rows.get(next) == Some(&i) {
            next += 1;
        } else if c > inp {
            found.push(i);
            if found.len() <= MAX_REPORTED {
                bad_cells.push(BadCell { row: i, line: None, col: Some(Col::Cached), message: cached_message(c, inp) });
            }
        }
    }
    if !found.is_empty() {
        bad_rows.extend(found);
        bad_rows.sort_unstable();
    }
}

fn cached_message(cached: u32, input: u32) -> String {
    format!("`{cached}` is greater than input_tokens `{input}`; expected cached input tokens <= input tokens")
}

/// Turn each run's local codes (run `k` of `sizes` rows coded by `locals[k]`) into codes of the
/// sorted names of all runs, and return those names; `None` if there are more than 65535.
fn settle_codes(codes: &mut [u16], locals: &[LocalDict], sizes: &[usize]) -> Option<GlobalDict> {
    let mut global = GlobalDict::default();
    let mut maps = Vec::with_capacity(locals.len());
    for local in locals {
        maps.push(global.map_local(local)?);
    }
    let (names, remap) = global.into_sorted();
    split_rows(codes, sizes).zip(maps).collect::<Vec<_>>().into_par_iter().for_each(|(run, map)| {
        let map: Vec<u16> = map.iter().map(|&c| remap[c as usize]).collect();
        if map.iter().enumerate().any(|(i, &c)| usize::from(c) != i) {
            // A bad cell's placeholder is out of range; its row is dropped or reported.
            run.iter_mut().for_each(|c| *c = map.get(usize::from(*c)).copied().unwrap_or(0));
        }
    });
    Some(GlobalDict::from_names(names.into_iter().map(String::into_bytes).collect()))
}

// ---------------------------------------------------------------------------------------------
// Converting a typed column (Parquet, NDJSON, CSV read by polars).

/// How a column's cells are read: as numbers of one type, or as text.
enum Cells {
    F64(Series),
    I64(Series),
    U32(Series),
    U64(Series),
    Str(Series),
}

fn cells_of(s: &Series, numeric: bool) -> PolarsResult<Cells> {
    let dtype = s.dtype();
    Ok(if numeric && *dtype == DataType::UInt32 {
        Cells::U32(s.clone())
    } else if numeric && *dtype == DataType::Float64 {
        Cells::F64(s.clone())
    } else if numeric && dtype.is_float() {
        Cells::F64(s.cast(&DataType::Float64)?)
    } else if numeric && dtype.is_unsigned_integer() {
        Cells::U64(s.cast(&DataType::UInt64)?)
    } else if numeric && dtype.is_integer() {
        Cells::I64(s.cast(&DataType::Int64)?)
    } else if dtype.is_string() {
        Cells::Str(s.clone())
    } else {
        Cells::Str(s.cast(&DataType::String)?)
    })
}

fn for_each_cell(cells: &Cells, mut f: impl FnMut(usize, Cell<'_>)) -> PolarsResult<()> {
    let mut i = 0;
    match cells {
        Cells::F64(s) => {
            for arr in s.f64()?.downcast_iter() {
                for v in arr.iter() {
                    f(i, v.map_or(Cell::Null, |x| Cell::F64(*x)));
                    i += 1;
                }
            }
        }
        Cells::I64(s) => {
            for arr in s.i64()?.downcast_iter() {
                for v in arr.iter() {
                    f(i, v.map_or(Cell::Null, |x| Cell::I64(*x)));
                    i += 1;
                }
            }
        }
        Cells::U32(s) => {
            for arr in s.u32()?.downcast_iter() {
                for v in arr.iter() {
                    f(i, v.map_or(Cell::Null, |x| Cell::U64(u64::from(*x))));
                    i += 1;
                }
            }
        }
        Cells::U64(s) => {
            for arr in s.u64()?.downcast_iter() {
                for v in arr.iter() {
                    f(i, v.map_or(Cell::Null, |x| Cell::U64(*x)));
                    i += 1;
                }
            }
        }
        Cells::Str(s) => {
            for arr in s.str()?.downcast_iter() {
                for v in arr.iter() {
                    f(i, v.map_or(Cell::Null, Cell::Str));
                    i += 1;
                }
            }
        }
    }
    Ok(())
}

/// Where one column's converted cells go: a run of rows, one slot per row. Class and origin
/// names become codes of the type `C` in a [`LocalDict`].
enum Out<'a, C> {
    F64(&'a mut [f64]),
    U32(&'a mut [u32]),
    Code(&'a mut [C]),
    Text(&'a mut [Option<String>]),
    Amount(&'a mut [Option<f64>]),
}

impl<C> Out<'_, C> {
    fn len(&self) -> usize {
        match self {
            Out::F64(v) => v.len(),
            Out::U32(v) => v.len(),
            Out::Code(v) => v.len(),
            Out::Text(v) => v.len(),
            Out::Amount(v) => v.len(),
        }
    }
}

/// A name code: `u32` in chunks, `u16` (the trace's type) when written into the final column.
trait NameCode: Copy {
    /// The largest code that fits, and that a global table of `u16` codes can hold.
    const MAX: u32;
    fn from_code(code: u32) -> Self;
}

impl NameCode for u32 {
    const MAX: u32 = u32::MAX;
    fn from_code(code: u32) -> Self {
        code
    }
}

impl NameCode for u16 {
    const MAX: u32 = u16::MAX as u32 - 1;
    fn from_code(code: u32) -> Self {
        code as u16
    }
}

/// What converting a column found wrong.
#[derive(Default)]
struct ColReport {
    /// The first bad cells (rows relative to the run).
    bad: Vec<BadCell>,
    /// Every bad row (relative to the run), ascending.
    rows: Vec<usize>,
    /// More distinct names than codes of the type.
    too_many: bool,
}

/// Convert one column's cells into `out` (one slot per row of `series`). Bad cells leave their
/// slot as it was and are reported (a bad name's slot gets a code past the dictionary's end).
fn convert_column<C: NameCode>(
    col: Col,
    series: &Series,
    out: Out<'_, C>,
    dict: &mut LocalDict,
    lines: bool,
) -> PolarsResult<ColReport> {
    let numeric = !matches!(col.kind(), Kind::Name | Kind::Text);
    let cells = cells_of(series, numeric)?;
    let mut report = ColReport::default();
    let mut bad = |i: usize, cell: Cell<'_>, e: CellError| {
        report.rows.push(i);
        if report.bad.len() < MAX_REPORTED {
            report.bad.push(BadCell {
                row: i,
                line: lines.then_some(i),
                col: Some(col),
                message: format!("{}; expected {}", e.describe(&cell.display()), col.kind().expected()),
            });
        }
    };
    match (col.kind(), out, &cells) {
        // The types this crate writes, straight through.
        (Kind::Timestamp, Out::F64(dst), Cells::F64(s)) => {
            let mut i = 0;
            for arr in s.f64()?.downcast_iter() {
                let values: &[f64] = arr.values();
                let dst = &mut dst[i..i + values.len()];
                if arr.validity().is_none_or(|v| v.unset_bits() == 0) {
                    let mut finite = true;
                    for (d, &v) in dst.iter_mut().zip(values) {
                        *d = v + 0.0;
                        finite &= v.is_finite();
                    }
                    if !finite {
                        for (j, &v) in values.iter().enumerate() {
                            if !v.is_finite() {
                                bad(i + j, Cell::F64(v), CellError::NotFinite);
                            }
                        }
                    }
                } else {
                    for (j, v) in arr.iter().enumerate() {
                        match v {
                            Some(&x) if x.is_finite() => dst[j] = x + 0.0,
                            Some(&x) => bad(i + j, Cell::F64(x), CellError::NotFinite),
                            None => bad(i + j, Cell::Null, CellError::Empty),
                        }
                    }
                }
                i += values.len();
            }
        }
        (Kind::Tokens | Kind::CachedTokens, Out::U32(dst), Cells::U32(s)) => {
            let mut i = 0;
            for arr in s.u32()?.downcast_iter() {
                let values: &[u32] = arr.values();
                let dst = &mut dst[i..i + values.len()];
                if arr.validity().is_none_or(|v| v.unset_bits() == 0) {
                    dst.copy_from_slice(values);
                } else {
                    for (j, v) in arr.iter().enumerate() {
                        match v {
                            Some(&x) => dst[j] = x,
                            // No cached tokens recorded: none were cached.
                            None if col == Col::Cached => dst[j] = 0,
                            None => bad(i + j, Cell::Null, CellError::Empty),
                        }
                    }
                }
                i += values.len();
            }
        }
        (Kind::Timestamp, Out::F64(dst), _) => for_each_cell(&cells, |i, c| match timestamp_cell(c) {
            Ok(v) => dst[i] = v,
            Err(e) => bad(i, c, e),
        })?,
        (Kind::Tokens, Out::U32(dst), _) => for_each_cell(&cells, |i, c| match tokens_cell(c) {
            Ok(v) => dst[i] = v,
            Err(e) => bad(i, c, e),
        })?,
        (Kind::CachedTokens, Out::U32(dst), _) => for_each_cell(&cells, |i, c| match cached_cell(c) {
            Ok(v) => dst[i] = v,
            Err(e) => bad(i, c, e),
        })?,
        (Kind::Name, Out::Code(dst), Cells::Str(s)) => {
            // Each distinct view (the 16 bytes a string column keeps per row) is coded once, in
            // `views`; the rows of a dictionary-encoded column have only a few distinct views.
            let mut views = ViewCodes::default();
            let mut i = 0;
            let strings = s.str()?;
            let no_nulls = strings.null_count() == 0;
            for arr in strings.downcast_iter() {
                let dst = &mut dst[i..i + arr.len()];
                for (j, (slot, view)) in dst.iter_mut().zip(arr.views().iter()).enumerate() {
                    let bits = view.as_u128();
                    if no_nulls && let Some(code) = views.get(bits) {
                        *slot = C::from_code(code);
                        continue;
                    }
                    match arr.get(j) {
                        Some(name) if !name.is_empty() => {
                            let code = dict.code_keyed(name_key(name.as_bytes()), name.as_bytes());
                            if code > C::MAX {
                                report.too_many = true;
                                return Ok(report);
                            }
                            *slot = C::from_code(code);
                            if no_nulls {
                                views.insert(bits, code);
                            }
                        }
                        v => {
                            *slot = C::from_code(C::MAX);
                            bad(i + j, v.map_or(Cell::Null, Cell::Str), CellError::Empty);
                        }
                    }
                }
                i += arr.len();
            }
        }
        (Kind::Text, Out::Text(dst), _) => for_each_cell(&cells, |i, c| {
            dst[i] = match c {
                Cell::Str(s) if !s.is_empty() => Some(s.to_string()),
                _ => None,
            }
        })?,
        (Kind::Seconds | Kind::Dollars, Out::Amount(dst), _) => for_each_cell(&cells, |i, c| match amount_cell(c) {
            Ok(v) => dst[i] = v,
            Err(e) => bad(i, c, e),
        })?,
        _ => unreachable!("every kind of column has its own slots, and names are read as text"),
    }
    Ok(report)
}

/// Convert one frame (column-wise) into a chunk of good rows and the first bad cells.
fn frame_chunk(df: &DataFrame, layout: &Layout, lines: bool) -> PolarsResult<Chunk> {
    let n = df.height();
    let rows = |col: Col| if layout.has(col) { n } else { 0 };
    let mut ts = vec![0.0; n];
    let mut input = vec![0u32; n];
    let mut output = vec![0u32; n];
    let mut cached = vec![0u32; rows(Col::Cached)];
    let mut class = vec![0u32; rows(Col::Class)];
    let mut origin = vec![0u32; rows(Col::Origin)];
    let mut class_dict = LocalDict::default();
    let mut origin_dict = LocalDict::default();
    let mut text: [Vec<Option<String>>; 4] = TEXT_COLS.map(|col| vec![None; rows(col)]);
    let mut nums: [Vec<Option<f64>>; 3] = NUM_COLS.map(|col| vec![None; rows(col)]);
    let mut row_bad = vec![false; n];
    let mut cells_bad: Vec<BadCell> = Vec::new();
    for (col, idx) in layout.present() {
        let series = df.columns()[idx].as_materialized_series();
        let mut unused = LocalDict::default();
        let (out, dict) = match col {
            Col::Timestamp => (Out::F64(&mut ts[..]), &mut unused),
            Col::Input => (Out::U32(&mut input[..]), &mut unused),
            Col::Output => (Out::U32(&mut output[..]), &mut unused),
            Col::Cached => (Out::U32(&mut cached[..]), &mut unused),
            Col::Class => (Out::Code(&mut class[..]), &mut class_dict),
            Col::Origin => (Out::Code(&mut origin[..]), &mut origin_dict),
            Col::RequestId | Col::Model | Col::Region | Col::Status => {
                (Out::Text(&mut text[col.text_slot()][..]), &mut unused)
            }
            Col::Latency | Col::Ttft | Col::Cost => (Out::Amount(&mut nums[col.num_slot()][..]), &mut unused),
        };
        let report = convert_column(col, series, out, dict, lines)?;
        for &row in &report.rows {
            row_bad[row] = true;
        }
        cells_bad.extend(report.bad);
    }
    if layout.has(Col::Cached) {
        let mut reported = 0;
        for i in 0..n {
            if !row_bad[i] && cached[i] > input[i] {
                row_bad[i] = true;
                if reported < MAX_REPORTED {
                    reported += 1;
                    cells_bad.push(BadCell {
                        row: i,
                        line: lines.then_some(i),
                        col: Some(Col::Cached),
                        message: cached_message(cached[i], input[i]),
                    });
                }
            }
        }
    }
    // The first bad rows overall are among each column's first bad cells.
    cells_bad.sort_by_key(|c| (c.row, c.col.map_or(usize::MAX, |c| c.idx())));
    cells_bad.dedup_by_key(|c| c.row);
    cells_bad.truncate(MAX_REPORTED);
    let n_bad = row_bad.iter().filter(|&&b| b).count();
    let mut chunk = Chunk {
        rows: n,
        lines: if lines { n } else { 0 },
        bad: cells_bad,
        n_bad,
        class_dict,
        origin_dict,
        ..Chunk::default()
    };
    if n_bad == 0 {
        chunk.ts = ts;
        chunk.input = input;
        chunk.output = output;
        chunk.cached = cached;
        chunk.class = class;
        chunk.origin = origin;
        chunk.text = text;
        chunk.nums = nums;
    } else {
        fn keep<T>(v: Vec<T>, bad: &[bool]) -> Vec<T> {
            if v.is_empty() {
                return v;
            }
            v.into_iter().zip(bad).filter(|(_, b)| !**b).map(|(x, _)| x).collect()
        }
        chunk.ts = keep(ts, &row_bad);
        chunk.input = keep(input, &row_bad);
        chunk.output = keep(output, &row_bad);
        chunk.cached = keep(cached, &row_bad);
        chunk.class = keep(class, &row_bad);
        chunk.origin = keep(origin, &row_bad);
        chunk.text = text.map(|v| keep(v, &row_bad));
        chunk.nums = nums.map(|v| keep(v, &row_bad));
        // Names seen only in bad rows must not become classes or origins.
        chunk.class_dict = compact_dict(&mut chunk.class, chunk.class_dict);
        chunk.origin_dict = compact_dict(&mut chunk.origin, chunk.origin_dict);
    }
    Ok(chunk)
}

// ---------------------------------------------------------------------------------------------
// Reading in chunks (a streamed trace): the same conversions and checks, a bounded piece at a time.

/// A trace file read a chunk at a time: Parquet a row group (or several, up to about `chunk_rows`
/// rows) at a time, plain or gzip-compressed CSV in batches of whole lines (about `chunk_rows`
/// rows). Memory is one chunk, whatever the file's length.
pub(crate) struct ChunkReader<'p> {
    path: &'p Path,
    opts: ReadOptions,
    chunk_rows: usize,
    /// Data rows read so far (good and bad), and CSV lines.
    rows: usize,
    lines: usize,
    source: ChunkSource,
}

enum ChunkSource {
    Parquet { file: Box<ParquetFile>, next_group: usize },
    Csv { src: Box<dyn Read + Send>, layout: Box<Layout>, carry: Vec<u8>, eof: bool, spare: Vec<u8> },
}

impl<'p> ChunkReader<'p> {
    pub(crate) fn open(path: &'p Path, opts: &ReadOptions, chunk_rows: usize) -> Result<ChunkReader<'p>> {
        let format = opts.format.or_else(|| TraceFormat::from_path(path));
        let cannot = |what: &str| {
            Error::one(Problem::new(
                Place::file(path),
                format!("{what} cannot be streamed (read in chunks)"),
                format!(
                    "convert it once (sorting it by time) with `{}`, or run without --stream",
                    convert_command(path, opts)
                ),
            ))
        };
        let source = match format {
            Some(TraceFormat::Parquet) => {
                check_map(opts)?;
                ChunkSource::Parquet { file: Box::new(ParquetFile::open(path, opts)?), next_group: 0 }
            }
            Some(TraceFormat::Csv) | Some(TraceFormat::CsvGz) => {
                check_map(opts)?;
                let gz = format == Some(TraceFormat::CsvGz) || is_gzip(path)?;
                let file = open(path)?;
                let mut src: Box<dyn Read + Send> = if gz {
                    Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, file)))
                } else {
                    Box::new(file)
                };
                let first = read_batch(&mut src, &[], 1 << 16, Vec::new()).map_err(|e| Error::read(path, e))?;
                let bom = if first.buf.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
                let data = &first.buf[bom.min(first.cut)..first.cut];
                if data.iter().all(|b| b.is_ascii_whitespace()) {
                    return Err(Error::one(Problem::new(
                        Place::file(path),
                        "is empty; expected a header line, then one row per request",
                        "write a header such as `timestamp_s,class,origin_region,input_tokens,output_tokens`, then the rows",
                    )));
                }
                let header_end = data.iter().position(|&b| b == b'\n').map_or(data.len(), |p| p + 1);
                let header = String::from_utf8_lossy(&data[..header_end]);
                let names: Vec<String> =
                    header.trim_end_matches(['\n', '\r']).split(',').map(|s| s.to_string()).collect();
                let layout = resolve_columns(&names, opts, path)?;
                let carry = first.buf[bom + header_end..].to_vec();
                ChunkSource::Csv { src, layout: Box::new(layout), carry, eof: first.eof, spare: Vec::new() }
            }
            Some(TraceFormat::Ndjson) => return Err(cannot("an NDJSON trace")),
            Some(f) => return Err(cannot(&format!("a {} log (an importer's input)", f.name()))),
            None => {
                return Err(Error::one(Problem::new(
                    Place::file(path),
                    "cannot tell the trace format from the file name",
                    "name the file .csv, .csv.gz or .parquet, or pass --format csv|csv-gz|parquet",
                )));
            }
        };
        Ok(ChunkReader { path, opts: opts.clone(), chunk_rows: chunk_rows.max(1), rows: 0, lines: 0, source })
    }

    /// The notes and warnings on the file's columns ([`Trace::notices`]).
    pub(crate) fn notices(&self) -> &[Notice] {
        match &self.source {
            ChunkSource::Parquet { file, .. } => &file.layout.notices,
            ChunkSource::Csv { layout, .. } => &layout.notices,
        }
    }

    /// The next chunk, or `None` at the end of the file.
    pub(crate) fn next_chunk(&mut self) -> Result<Option<RawChunk>> {
        let path = self.path;
        match &mut self.source {
            ChunkSource::Parquet { file, next_group } => {
                if *next_group >= file.groups.len() {
                    return Ok(None);
                }
                let start = *next_group;
                let mut end = start + 1;
                let mut rows = file.sizes[start];
                while end < file.groups.len() && rows + file.sizes[end] <= self.chunk_rows {
                    rows += file.sizes[end];
                    end += 1;
                }
                *next_group = end;
                let builder = parquet_part(path, &self.opts, file, start..end, self.rows)?;
                self.rows += rows;
                Ok(Some(builder.into_chunk(&self.opts)))
            }
            ChunkSource::Csv { src, layout, carry, eof, spare } => {
                if *eof && carry.iter().all(|b| b.is_ascii_whitespace()) {
                    return Ok(None);
                }
                // About `chunk_rows` rows of the reference trace's width; a batch ends at a line end.
                let want = self.chunk_rows.saturating_mul(40).max(1);
                let batch = if *eof {
                    let buf = std::mem::take(carry);
                    let cut = buf.len();
                    Batch { buf, cut, eof: true }
                } else {
                    read_batch(src, carry, want, std::mem::take(spare)).map_err(|e| Error::read(path, e))?
                };
                let body = &batch.buf[..batch.cut];
                if body.contains(&b'"') {
                    return Err(Error::one(Problem::new(
                        Place::file(path).line(self.lines + 2),
                        "a quoted CSV field cannot be streamed (read in chunks): quotes may hide line breaks",
                        format!(
                            "convert the file once with `{}`, or run without --stream",
                            convert_command(path, &self.opts)
                        ),
                    )));
                }
                let roles = layout.roles();
                let threads = rayon::current_num_threads().max(1);
                let chunks: Vec<Chunk> = split_lines(body, threads * 4)
                    .into_par_iter()
                    .map(|piece| parse_piece(piece, layout, &roles, &ChunkPool::default()))
                    .collect();
                let before = self.rows;
                let mut builder = Builder::new(path, layout, Some(1));
                builder.rows = self.rows;
                builder.lines = self.lines;
                for chunk in chunks {
                    builder.merge(chunk)?;
                }
                // The builder counts from the file's start (so problems name the file's rows).
                self.rows = builder.rows;
                self.lines = builder.lines;
                let mut raw = builder.into_chunk(&self.opts);
                raw.rows = self.rows - before;
                *carry = batch.buf[batch.cut..].to_vec();
                *eof = batch.eof;
                *spare = batch.buf;
                Ok(Some(raw))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::sort::tests::lcg;

    fn fast(text: &str, block: usize, skip: bool) -> Result<Trace> {
        let opts = ReadOptions { skip_bad_rows: skip, ..ReadOptions::default() };
        match csv_fast(Cursor::new(text.as_bytes().to_vec()), Path::new("t.csv"), &opts, 0, block)? {
            Fast::Done(t) => Ok(t),
            Fast::Fallback => panic!("unexpected fallback"),
        }
    }

    fn mapped(text: &str, block: usize, skip: bool) -> Result<Trace> {
        let opts = ReadOptions { skip_bad_rows: skip, ..ReadOptions::default() };
        match csv_mapped(text.as_bytes(), Path::new("t.csv"), &opts, block)? {
            Fast::Done(t) => Ok(t),
            Fast::Fallback => panic!("unexpected fallback"),
        }
    }

    #[test]
    fn mapped_windows_give_the_streamed_trace_and_line_numbers() {
        // Numbers and date-times (the one-pass route), a blank line, a bad row, CRLF line ends.
        let mut text = String::from("timestamp_s,class,input_tokens,output_tokens\r\n");
        for i in 0..300 {
            if i == 150 {
                text.push('\n');
            }
            let ts = if i % 2 == 0 {
                format!("2023-11-{:02} 18:15:{:02}.{}", 1 + i % 28, i % 60, 6805900 + i)
            } else {
                format!("{}.25", 1_700_000_000 + i)
            };
            let tokens = if i == 200 { "x".to_string() } else { i.to_string() };
            text.push_str(&format!("{ts},c{},{tokens},{}\r\n", i % 4, i + 1));
        }
        for skip in [true, false] {
            let streamed = fast(&text, 1 << 20, skip);
            for block in [1, 7, 64, 1000, 1 << 20] {
                let got = mapped(&text, block, skip);
                match (&streamed, &got) {
                    (Ok(s), Ok(g)) => assert_eq!(s, g, "block {block}"),
                    (Err(s), Err(g)) => assert_eq!(s.to_string(), g.to_string(), "block {block}"),
                    _ => panic!("block {block}: one failed"),
                }
            }
        }
        let t = mapped(&text, 64, true).unwrap();
        assert_eq!((t.len(), t.skipped_rows), (299, 1));
        // The one-pass route converts date-times exactly as the general code (`timestamp_cell`).
        let general = |s: &str| timestamp_cell(Cell::Str(s)).unwrap();
        assert!(t.timestamp_s.contains(&general("2023-11-01 18:15:00.6805900")));
        let err = mapped(&text, 7, false).unwrap_err();
        let p = &err.problems()[0];
        assert_eq!((p.place.row, p.place.line), (Some(201), Some(203)), "{err}");
    }

    #[test]
    fn the_fixed_date_time_layout_reads_as_the_general_code() {
        let mut state = 5u64;
        let mut cases: Vec<String> = [
            "2023-11-16 18:15:46.6805900",
            "2023-11-16T18:15:46.6805900",
            "2023-11-16 18:15:46",
            "2024-02-29 23:59:60.5",
            "1970-01-01 00:00:00.0",
            "2023-11-16 18:15:46.123456789012345",
            "2023-11-16 18:15:46.1234567890123456",
            "2023-11-16 18:15:46.",
            "2023-11-16 24:00:00",
            "2023-11-16 18:60:00",
            "2023-11-16 18:15:61",
            "2023-02-29 18:15:46",
            "2023-11-16 1x:15:46",
            "2023-11-16 18:15:46Z",
            "2023-11-16 18:15:46+01:00",
            "2023-11-16 18:15:46.5 ",
            "2023-11-16 18:15",
            "2023-11-16_18:15:46",
        ]
        .map(String::from)
        .to_vec();
        for _ in 0..500 {
            let digits: String =
                (0..1 + lcg(&mut state) % 9).map(|_| char::from(b'0' + (lcg(&mut state) % 10) as u8)).collect();
            let (h, m, sec) = (lcg(&mut state) % 24, lcg(&mut state) % 60, lcg(&mut state) % 60);
            cases.push(format!("2023-11-{:02} {h:02}:{m:02}:{sec:02}.{digits}", 1 + lcg(&mut state) % 30));
        }
        let (mut fixed_cache, mut general_cache) = (DateCache::default(), DateCache::default());
        for case in &cases {
            for end in ["", ",7", "\n8", "\r\n", "\r,", "\r", "\rx", "x"] {
                let buf = format!("{case}{end}");
                let b = buf.as_bytes();
                let mut field = field_end(b, 0);
                if field > 0 && b[field - 1] == b'\r' {
                    field -= 1;
                }
                let general = utc_seconds_cached(&b[..field], &mut general_cache).map(|v| ((v + 0.0).to_bits(), field));
                match fixed_datetime(b, 0, &mut fixed_cache) {
                    Some((v, at)) => assert_eq!(Some((v.to_bits(), at)), general, "{buf:?}"),
                    None => assert!(
                        general.is_none()
                            || case.len() < 19
                            || case.ends_with('Z')
                            || case.contains('+')
                            || case.len() > 35,
                        "{buf:?} left to the general code"
                    ),
                }
                let mut dates = DateCache::default();
                let via_scan = scan_timestamp(b, 0, &mut dates).map(|(v, at)| (v.to_bits(), at));
                assert_eq!(via_scan, general, "{buf:?}");
            }
        }
    }

    #[test]
    fn the_real_azure_trace_reads_the_same_mapped_and_through_polars() {
        // polars' reader hands every cell to the general per-cell code: an independent route.
        let shared = std::env::var_os("SWITCHYARD_SHARED_DATA")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
        let path = shared.join("traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv");
        if !path.exists() {
            eprintln!("skipped: {} is absent (set SWITCHYARD_SHARED_DATA to the shared data folder)", path.display());
            return;
        }
        let map = |a: &str, b: &str| (a.to_string(), b.to_string());
        let opts = ReadOptions {
            column_map: vec![
                map("TIMESTAMP", "timestamp_s"),
                map("ContextTokens", "input_tokens"),
                map("GeneratedTokens", "output_tokens"),
            ],
            ..ReadOptions::default()
        };
        let bytes = std::fs::read(&path).unwrap();
        let Fast::Done(ours) = csv_mapped(&bytes, &path, &opts, 1 << 16).unwrap() else { panic!("fallback") };
        let theirs = csv_polars(bytes, &path, &opts).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours.len(), 19_366);
    }

    #[test]
    fn tiny_blocks_give_the_same_trace_and_line_numbers() {
        // Many batches of a few dozen bytes: lines cross batch and piece boundaries.
        let mut text = String::from("timestamp_s,class,input_tokens,output_tokens\r\n");
        for i in 0..500 {
            if i == 250 {
                text.push('\n'); // a blank line: counts as a line, not a row
            }
            let tokens = if i == 400 { "-3".to_string() } else { (i * 7).to_string() };
            text.push_str(&format!("{}.5,c{},{tokens},{}\r\n", i, i % 3, i + 1));
        }
        let whole = fast(&text, 1 << 20, true).unwrap();
        for block in [1, 7, 64, 1000] {
            let t = fast(&text, block, true).unwrap();
            assert_eq!(t, whole, "block {block}");
        }
        assert_eq!(whole.len(), 499);
        assert_eq!(whole.skipped_rows, 1);
        assert_eq!(whole.class_names, ["c0", "c1", "c2"]);
        assert_eq!(whole.timestamp_s[499 - 1], 499.5);
        assert_eq!(whole.input_tokens[10], 70);
        // Row 401 (0-based 400) is on line 403: header, 400 rows before it, one blank line.
        let err = fast(&text, 64, false).unwrap_err();
        let p = &err.problems()[0];
        assert_eq!((p.place.row, p.place.line), (Some(401), Some(403)), "{err}");
        assert_eq!(p.place.field.as_deref(), Some("input_tokens"));
    }

    #[test]
    fn one_pass_rows_agree_with_the_general_code() {
        // The same rows with the one-pass parser (only used columns it handles) and with the general
        // code (a recorded column in the layout disables the one-pass parser).
        let rows = "0,a,x,1,2\n-0,b,y,0,4294967295\n12.000001,a,x,3,4\r\n1e3,a,x,5,6\n2,a,x, 7 ,8\n3,a,x,007,9\n4.5,,x,1,1\n5,a,x,4294967296,1\n6,a,x,1\n7,a,x,1,2,3\n8,a,x,1,2";
        let quick =
            fast(&format!("timestamp_s,class,origin_region,input_tokens,output_tokens\n{rows}"), 64, true).unwrap();
        let with_status: Vec<String> = rows
            .split('\n')
            .map(|l| match l.strip_suffix('\r') {
                Some(l) => format!("{l},ok\r"),
                None => format!("{l},ok"),
            })
            .collect();
        let general = fast(
            &format!("timestamp_s,class,origin_region,input_tokens,output_tokens,status\n{}", with_status.join("\n")),
            64,
            true,
        );
        let general = general.unwrap();
        assert_eq!(quick.timestamp_s, [0.0, 0.0, 2.0, 3.0, 8.0, 12.000001, 1000.0]);
        assert_eq!(quick.timestamp_s[1].to_bits(), 0.0f64.to_bits(), "-0 becomes +0");
        assert_eq!(quick.input_tokens, [1, 0, 7, 7, 1, 3, 5]);
        assert_eq!(quick.output_tokens, [2, u32::MAX, 8, 9, 2, 4, 6]);
        assert_eq!(quick.skipped_rows, 4);
        assert_eq!(quick.class_names, ["a", "b"]);
        assert_eq!(quick.origin_names, ["x", "y"]);
        assert!(quick.sorted_on_load);
        assert_eq!(quick.timestamp_s, general.timestamp_s);
        assert_eq!(quick.input_tokens, general.input_tokens);
        assert_eq!(quick.output_tokens, general.output_tokens);
        assert_eq!((quick.class, quick.origin), (general.class, general.origin));
        assert_eq!(quick.skipped_rows, general.skipped_rows);
        assert!(general.recorded.status.is_some());
    }

    fn parquet_file(dir: &Path, name: &str, columns: Vec<polars::prelude::Column>, group: usize) -> std::path::PathBuf {
        use polars::prelude::ParquetWriter;
        let height = columns[0].len();
        let mut df = DataFrame::new(height, columns).unwrap();
        let path = dir.join(name);
        ParquetWriter::new(File::create(&path).unwrap()).with_row_group_size(Some(group)).finish(&mut df).unwrap();
        path
    }

    fn without_source(mut t: Trace) -> Trace {
        t.source = String::new();
        t
    }

    #[test]
    fn parquet_in_many_row_groups_reads_like_the_same_csv() {
        use polars::prelude::{Float64Chunked, IntoColumn, NewChunkedArray, StringChunked, UInt32Chunked};
        let n = 1000;
        // Out of order in the middle; names that come and go between row groups, short (inline in a
        // view) and long (not); tokens of every size.
        let ts: Vec<f64> = (0..n).map(|i| if i == 500 { 3.0 } else { i as f64 * 0.5 }).collect();
        let names = ["chat", "a-rather-long-class-name", "code", "zh_docs", "b", "another-long-class-name!"];
        let class: Vec<&str> = (0..n).map(|i| names[(i / 150 + i % 3) % names.len()]).collect();
        let origins = ["us-east-1", "ap-southeast-1", "eu-west-1"];
        let origin: Vec<&str> = (0..n).map(|i| origins[(i * 7 / 3) % 3]).collect();
        let input: Vec<u32> = (0..n).map(|i| (i as u32).wrapping_mul(2_654_435_761) % 100_000).collect();
        let output: Vec<u32> = (0..n).map(|i| if i == 7 { u32::MAX } else { i as u32 % 700 }).collect();
        let dir = tempfile::tempdir().unwrap();
        let columns = vec![
            Float64Chunked::from_slice("timestamp_s".into(), &ts).into_column(),
            StringChunked::from_slice("class".into(), &class).into_column(),
            StringChunked::from_slice("origin_region".into(), &origin).into_column(),
            UInt32Chunked::from_slice("input_tokens".into(), &input).into_column(),
            UInt32Chunked::from_slice("output_tokens".into(), &output).into_column(),
        ];
        let mut csv = String::from("timestamp_s,class,origin_region,input_tokens,output_tokens\n");
        for i in 0..n {
            csv.push_str(&format!("{},{},{},{},{}\n", ts[i], class[i], origin[i], input[i], output[i]));
        }
        let csv_path = dir.path().join("t.csv");
        std::fs::write(&csv_path, csv).unwrap();
        let want = without_source(read(&csv_path, &ReadOptions::default()).unwrap());
        assert!(want.sorted_on_load);
        assert_eq!(want.class_names.len(), names.len());
        for group in [64, 1000, 5000] {
            let path = parquet_file(dir.path(), &format!("g{group}.parquet"), columns.clone(), group);
            let groups = ParquetReader::new(File::open(&path).unwrap()).get_metadata().unwrap().row_groups.len();
            assert_eq!(groups > 1, group < n, "{groups} row groups of {group}");
            let got = without_source(read(&path, &ReadOptions::default()).unwrap());
            assert_eq!(got, want, "row groups of {group}");
        }
    }

    #[test]
    fn parquet_bad_rows_in_later_row_groups_name_their_rows() {
        use polars::prelude::{Float64Chunked, IntoColumn, NewChunkedArray, StringChunked, UInt32Chunked};
        let n = 300;
        let ts: Vec<f64> = (0..n).map(|i| if i == 250 { f64::NAN } else { i as f64 }).collect();
        let class: Vec<&str> = (0..n)
            .map(|i| match i {
                250 => "ghost",
                251 => "",
                _ if i % 2 == 0 => "even",
                _ => "odd",
            })
            .collect();
        let input: Vec<Option<u32>> = (0..n).map(|i| (i != 123).then_some(i as u32)).collect();
        let output: Vec<u32> = vec![1; n];
        let dir = tempfile::tempdir().unwrap();
        let path = parquet_file(
            dir.path(),
            "bad.parquet",
            vec![
                Float64Chunked::from_slice("timestamp_s".into(), &ts).into_column(),
                StringChunked::from_slice("class".into(), &class).into_column(),
                UInt32Chunked::from_slice_options("input_tokens".into(), &input).into_column(),
                UInt32Chunked::from_slice("output_tokens".into(), &output).into_column(),
            ],
            50,
        );
        let err = read(&path, &ReadOptions::default()).unwrap_err();
        let at = |p: &Problem| (p.place.row, p.place.field.clone().unwrap_or_default());
        let places: Vec<_> = err.problems().iter().map(at).collect();
        assert_eq!(
            places,
            [
                (Some(124), "input_tokens".to_string()),
                (Some(251), "timestamp_s".to_string()),
                (Some(252), "class".to_string())
            ],
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains("`NaN` is not a finite number"), "{text}");
        let opts = ReadOptions { skip_bad_rows: true, ..ReadOptions::default() };
        let t = read(&path, &opts).unwrap();
        assert_eq!((t.len(), t.skipped_rows), (297, 3));
        // "ghost" appeared only in a bad row, so it is not a class.
        assert_eq!(t.class_names, ["even", "odd"]);
        assert_eq!(t.timestamp_s[123], 124.0);
        assert_eq!(t.input_tokens[123], 124);
        // Rows 251 and 252 are gone: row 250 is followed by row 253.
        assert_eq!((t.class_name(248), t.timestamp_s[248]), ("odd", 249.0));
        assert_eq!((t.class_name(249), t.timestamp_s[249]), ("even", 252.0));
    }

    /// Row groups of 100 rows: `ts`, and tokens with `bad_output` at one row if given.
    fn grouped_parquet(
        dir: &Path,
        name: &str,
        ts: &[f64],
        with_class: bool,
        bad_output: Option<usize>,
    ) -> std::path::PathBuf {
        use polars::prelude::{Float64Chunked, Int64Chunked, IntoColumn, NewChunkedArray, StringChunked};
        let n = ts.len();
        let class: Vec<&str> = (0..n).map(|i| ["code", "chat", "zh"][i % 3]).collect();
        let input: Vec<i64> = (0..n as i64).map(|i| 100 + i).collect();
        let output: Vec<i64> = (0..n).map(|i| if Some(i) == bad_output { -5 } else { i as i64 % 50 }).collect();
        let mut columns = vec![Float64Chunked::from_slice("timestamp_s".into(), ts).into_column()];
        if with_class {
            columns.push(StringChunked::from_slice("class".into(), &class).into_column());
        }
        columns.push(Int64Chunked::from_slice("input_tokens".into(), &input).into_column());
        columns.push(Int64Chunked::from_slice("output_tokens".into(), &output).into_column());
        parquet_file(dir, name, columns, 100)
    }

    /// A row group as `fold` hands it over: its index, first row, input and output tokens.
    type Folded = (usize, usize, Vec<u32>, Vec<u32>);

    /// Every row group as `fold` hands them over, in file order (or `None`).
    fn folded(path: &Path) -> Option<Vec<Folded>> {
        let groups = ParquetGroups::open(path, &ReadOptions::default()).unwrap().unwrap();
        let states: Vec<usize> = (0..groups.group_sizes().len()).collect();
        let mut seen = groups
            .fold(
                states,
                Vec::new,
                |seen, g, rows| seen.push((g, rows.first_row, rows.input_tokens.to_vec(), rows.output_tokens.to_vec())),
                |mut a, b| {
                    a.extend(b);
                    a
                },
            )
            .unwrap()?;
        seen.sort_by_key(|s| s.0);
        Some(seen)
    }

    #[test]
    fn parquet_groups_hand_over_every_row_group_once_with_the_whole_reader_s_classes() {
        let dir = tempfile::tempdir().unwrap();
        let ts: Vec<f64> = (0..450).map(|i| (i / 2) as f64).collect(); // ties across group ends
        let path = grouped_parquet(dir.path(), "sorted.parquet", &ts, true, None);
        let whole = read(&path, &ReadOptions::default()).unwrap();
        let groups = ParquetGroups::open(&path, &ReadOptions::default()).unwrap().unwrap();
        let sizes = groups.group_sizes().to_vec();
        assert!(sizes.len() >= 4 && sizes.iter().sum::<usize>() == 450, "{sizes:?}");
        let starts: Vec<usize> = sizes.iter().scan(0, |next, &k| Some(std::mem::replace(next, *next + k))).collect();
        let segments = groups.segments(&ReadOptions::default()).unwrap().unwrap();
        assert_eq!(
            segments,
            Trace::segments_only(
                path.display().to_string(),
                (whole.class.clone(), whole.class_names.clone()),
                (whole.origin.clone(), whole.origin_names.clone())
            )
        );
        let seen = folded(&path).expect("sorted, all good");
        assert_eq!(seen.iter().map(|s| s.1).collect::<Vec<_>>(), starts);
        let inputs: Vec<u32> = seen.iter().flat_map(|s| s.2.clone()).collect();
        let outputs: Vec<u32> = seen.iter().flat_map(|s| s.3.clone()).collect();
        assert_eq!((inputs, outputs), (whole.input_tokens, whole.output_tokens));

        // No class column: every row has the default class, as the whole reader gives it.
        let path = grouped_parquet(dir.path(), "classless.parquet", &ts, false, None);
        let segments = ParquetGroups::open(&path, &ReadOptions::default())
            .unwrap()
            .unwrap()
            .segments(&ReadOptions::default())
            .unwrap()
            .unwrap();
        let whole = read(&path, &ReadOptions::default()).unwrap();
        assert_eq!((segments.class, segments.class_names), (whole.class, whole.class_names));
    }

    #[test]
    fn parquet_groups_leave_unsorted_or_bad_files_to_the_whole_reader() {
        let dir = tempfile::tempdir().unwrap();
        let sorted: Vec<f64> = (0..300).map(|i| i as f64).collect();
        let path = grouped_parquet(dir.path(), "sorted.parquet", &sorted, true, None);
        assert!(folded(&path).is_some());
        // Out of order within a row group, and between row groups (each sorted in itself).
        let mut within = sorted.clone();
        within.swap(150, 151);
        let sizes = ParquetGroups::open(&path, &ReadOptions::default()).unwrap().unwrap().group_sizes().to_vec();
        assert!(sizes.len() > 1, "{sizes:?}");
        let across: Vec<f64> = (0..300).map(|i| if i < sizes[0] { 1000.0 + i as f64 } else { i as f64 }).collect();
        for (name, ts) in [("within", within), ("across", across)] {
            let path = grouped_parquet(dir.path(), &format!("{name}.parquet"), &ts, true, None);
            assert!(folded(&path).is_none(), "{name}");
            assert!(read(&path, &ReadOptions::default()).unwrap().sorted_on_load, "{name}");
        }
        // Timestamps that are not finite (bad cells): in the middle of a group, and last.
        let mut nan = sorted.clone();
        nan[120] = f64::NAN;
        let mut inf = sorted.clone();
        inf[299] = f64::INFINITY;
        for (name, ts) in [("nan", nan), ("inf", inf)] {
            let path = grouped_parquet(dir.path(), &format!("{name}.parquet"), &ts, true, None);
            assert!(folded(&path).is_none(), "{name}");
            assert!(read(&path, &ReadOptions::default()).is_err(), "{name}");
        }
        // A negative token count in the last group.
        let path = grouped_parquet(dir.path(), "bad.parquet", &sorted, true, Some(250));
        assert!(folded(&path).is_none());
        let err = read(&path, &ReadOptions::default()).unwrap_err().to_string();
        assert!(err.contains("row 251") && err.contains("output_tokens"), "{err}");
        // Not Parquet: not for this reader.
        assert!(ParquetGroups::open(Path::new("t.csv"), &ReadOptions::default()).unwrap().is_none());
    }

    #[test]
    fn parquet_names_are_coded_from_dictionary_indices_as_the_strings_would_be() {
        use polars::prelude::{Float64Chunked, IntoColumn, NewChunkedArray, StringChunked, UInt32Chunked};
        let dir = tempfile::tempdir().unwrap();
        let n = 500;
        let names = ["zh_docs", "a-rather-long-class-name-beyond-twelve-bytes", "chat", "code"];
        // One name in the first 200 rows, four after; and the same with an empty name at row 321.
        let class: Vec<&str> = (0..n).map(|i| names[(i * 7 % 5).min(if i < 200 { 0 } else { 3 }) % 4]).collect();
        let mut empty = class.clone();
        empty[321] = "";
        let columns = |class: &[&str]| {
            vec![
                Float64Chunked::from_slice("timestamp_s".into(), &(0..n).map(|i| i as f64).collect::<Vec<_>>())
                    .into_column(),
                StringChunked::from_slice("class".into(), class).into_column(),
                UInt32Chunked::from_slice("input_tokens".into(), &vec![1; n]).into_column(),
                UInt32Chunked::from_slice("output_tokens".into(), &vec![2; n]).into_column(),
            ]
        };
        let opts = ReadOptions::default();
        for (name, class, taken) in [("dict.parquet", &class, true), ("empty.parquet", &empty, false)] {
            let path = parquet_file(dir.path(), name, columns(class), n);
            let file = ParquetFile::open(&path, &opts).unwrap();
            let field = file.fields[Col::Class.idx()].clone().unwrap();
            let mut got = vec![0u16; n];
            let coded = parquet_name_codes(&path, &file.metadata, file.groups[0], &field, &mut got).unwrap();
            assert_eq!(coded.as_ref().map(|(_, too_many)| *too_many), taken.then_some(false), "{name}");
            if let Some((got_dict, _)) = coded {
                let series = parquet_series(&path, &file.metadata, file.groups[0], &field, n).unwrap();
                let (mut want, mut want_dict) = (vec![0u16; n], LocalDict::default());
                convert_column(Col::Class, &series, Out::Code(&mut want), &mut want_dict, false).unwrap();
                assert_eq!((got, &got_dict.names), (want, &want_dict.names), "{name}");
            } else {
                // The row-by-row conversion names the empty cell.
                let err = read(&path, &opts).unwrap_err().to_string();
                assert!(err.contains("row 322") && err.contains("class"), "{err}");
            }
        }
    }

    #[test]
    fn parquet_with_too_many_classes() {
        use polars::prelude::{IntoColumn, NewChunkedArray, StringChunked, UInt32Chunked};
        let n = 70_000;
        let class: Vec<String> = (0..n).map(|i| format!("class-{i}")).collect();
        let ones = vec![1u32; n];
        let dir = tempfile::tempdir().unwrap();
        // One row group: too many names in one chunk; several: too many only together.
        for group in [n, 20_000] {
            let columns = vec![
                UInt32Chunked::from_slice("timestamp_s".into(), &ones).into_column(),
                StringChunked::from_iter_values("class".into(), class.iter().map(|s| s.as_str())).into_column(),
                UInt32Chunked::from_slice("input_tokens".into(), &ones).into_column(),
                UInt32Chunked::from_slice("output_tokens".into(), &ones).into_column(),
            ];
            let path = parquet_file(dir.path(), &format!("g{group}.parquet"), columns, group);
            let err = read(&path, &ReadOptions::default()).unwrap_err().to_string();
            assert!(err.contains("more than 65535 distinct values in `class`"), "{err}");
        }
    }

    #[test]
    fn parquet_of_other_types_through_a_map() {
        use polars::prelude::{Int32Chunked, Int64Chunked, IntoColumn, NewChunkedArray, StringChunked, UInt32Chunked};
        let dir = tempfile::tempdir().unwrap();
        let path = parquet_file(
            dir.path(),
            "other.parquet",
            vec![
                Int64Chunked::from_slice("ts".into(), &[3, 1, 2, 4]).into_column(),
                Int32Chunked::from_slice("tin".into(), &[5, 6, 7, -8]).into_column(),
                StringChunked::from_slice("tout".into(), &["1", "2", "x", "4"]).into_column(),
                UInt32Chunked::from_slice_options("cached_input_tokens".into(), &[Some(9), None, Some(1), Some(0)])
                    .into_column(),
                StringChunked::from_slice("kind".into(), &["a", "b", "c", "d"]).into_column(),
            ],
            2,
        );
        let column_map = ["ts=timestamp_s", "tin=input_tokens", "tout=output_tokens", "kind=class"]
            .map(|m| parse_column_map(m).unwrap());
        let opts = ReadOptions { column_map: column_map.to_vec(), ..ReadOptions::default() };
        let err = read(&path, &opts).unwrap_err();
        let text = err.to_string();
        for needle in [
            "row 1, `cached_input_tokens`: `9` is greater than input_tokens `5`",
            "row 3, `tout`: `x` is not a number",
            "(column mapped to `output_tokens`)",
            "row 4, `tin`: `-8` is negative",
        ] {
            assert!(text.contains(needle), "{needle:?} not in {text}");
        }
        assert_eq!(err.problems().len(), 3, "{text}");
        let t = read(&path, &ReadOptions { skip_bad_rows: true, ..opts }).unwrap();
        assert_eq!(t.timestamp_s, [1.0]);
        assert_eq!((t.input_tokens[0], t.output_tokens[0]), (6, 2));
        assert_eq!(t.cached_input_tokens, Some(vec![0]), "a null cached count is 0");
        assert_eq!(t.class_names, ["b"]);
    }
}
