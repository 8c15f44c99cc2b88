//! CSV and gzip-compressed CSV through a streaming parser of its own, in blocks (never the whole
//! file at once) on all threads, overlapping reading, parsing and merging; a plain file is
//! memory-mapped and parsed in windows. Rows of plain values take a one-pass route (numbers parsed
//! while scanning, class and origin names hashed straight to codes); any other row goes through the
//! general per-cell code ([`RowValues`]), which also names what is wrong with exact row and line
//! numbers. A 10M-row trace costs little more memory than the [`Trace`] (polars' CSV reader would
//! first build string columns: several times the memory, and slower). A file with a `"` anywhere
//! (quoted fields may hide commas and line breaks) goes to polars instead (`frame.rs`).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use rayon::prelude::*;

use super::builder::{BadCell, Builder, Chunk, ChunkPool};
use super::cells::{Cell, RowValues};
use super::columns::{Col, Layout, resolve_columns};
use super::dict::name_key_at;
use super::frame::csv_polars;
use super::options::ReadOptions;
use crate::error::{Error, Place, Problem, Result};
use crate::trace::Trace;
use crate::trace::bytes::{Batch, POW10, blank_line, field_end, is_gzip, map_file, open, read_batch, split_lines};
use crate::trace::datetime::{DateCache, fixed_datetime, utc_seconds_cached};

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

pub(super) fn read_csv(path: &Path, opts: &ReadOptions, gz: bool) -> Result<Trace> {
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

/// A plain decimal starting at `p` (see [`parse_f64_fast`](crate::trace::bytes::parse_f64_fast)), and where it ends.
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
pub(super) fn parse_piece(buf: &[u8], layout: &Layout, roles: &[Option<Col>], pool: &ChunkPool) -> Chunk {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    use crate::trace::read::cells::timestamp_cell;
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
}
