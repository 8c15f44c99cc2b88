//! polars frames into a trace: CSV that the fast parser does not take (read by polars, every cell
//! as text), the frames of NDJSON, and the typed-column conversion that Parquet column chunks share
//! ([`convert_column`]): the types this crate writes are copied straight through, anything else
//! goes cell by cell through `cells.rs`, so a value is accepted or rejected the same way in every
//! format.

use std::io::Cursor;
use std::path::Path;

use polars::prelude::{CsvReadOptions, DataFrame, DataType, PolarsResult, SerReader, Series};
use rayon::prelude::*;

use super::builder::{BadCell, Builder, Chunk, MAX_REPORTED};
use super::cells::{Cell, CellError, amount_cell, cached_cell, timestamp_cell, tokens_cell};
use super::columns::{Col, Kind, Layout, NUM_COLS, TEXT_COLS, resolve_columns};
use super::dict::{LocalDict, ViewCodes, compact_dict, name_key};
use super::guard::{guarded, polars_err};
use super::options::ReadOptions;
use crate::error::{Error, Place, Problem, Result};
use crate::trace::Trace;
use crate::trace::bytes::csv_error;

pub(super) fn csv_polars(bytes: Vec<u8>, path: &Path, opts: &ReadOptions) -> Result<Trace> {
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

fn frame_names(df: &DataFrame) -> Vec<String> {
    df.get_column_names().iter().map(|s| s.to_string()).collect()
}

pub(super) fn frame_to_trace(
    df: DataFrame,
    path: &Path,
    opts: &ReadOptions,
    header_lines: Option<usize>,
) -> Result<Trace> {
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
pub(super) enum Out<'a, C> {
    F64(&'a mut [f64]),
    U32(&'a mut [u32]),
    Code(&'a mut [C]),
    Text(&'a mut [Option<String>]),
    Amount(&'a mut [Option<f64>]),
}

impl<C> Out<'_, C> {
    pub(super) fn len(&self) -> usize {
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
pub(super) trait NameCode: Copy {
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
pub(super) struct ColReport {
    /// The first bad cells (rows relative to the run).
    pub(super) bad: Vec<BadCell>,
    /// Every bad row (relative to the run), ascending.
    pub(super) rows: Vec<usize>,
    /// More distinct names than codes of the type.
    pub(super) too_many: bool,
}

/// Convert one column's cells into `out` (one slot per row of `series`). Bad cells leave their
/// slot as it was and are reported (a bad name's slot gets a code past the dictionary's end).
pub(super) fn convert_column<C: NameCode>(
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

pub(super) fn cached_message(cached: u32, input: u32) -> String {
    format!("`{cached}` is greater than input_tokens `{input}`; expected cached input tokens <= input tokens")
}
