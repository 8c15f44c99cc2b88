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

use std::collections::HashMap;
use std::io::Read;

use rayon::prelude::*;

use super::{
    BadRecords, CsvReader, FIX_ROW, ImportOptions, ImportReport, Imported, Importer, MAX_NAMED, find_column,
    missing_column, open_csv, parse_seconds, parse_tokens, slug, status,
};
use crate::error::{Error, Place, Problem, Result};
use crate::trace::bytes::{
    blank_line, csv_error, field_end, map_file, parse_f64_fast, parse_u32_fast, read_batch, split_lines,
};
use crate::trace::read::TraceFormat;
use crate::trace::sort::sort_by_time;
use crate::trace::{DEFAULT_CLASS, Recorded, TextColumn, TextInterner, Trace, UNSPECIFIED_ORIGIN, columns};

pub struct BurstGpt;

impl Importer for BurstGpt {
    fn format_url(&self) -> &'static str {
        "https://github.com/HPMLL/BurstGPT#data-schema"
    }

    fn import(&self, path: &Path, opts: &ImportOptions) -> Result<Imported> {
        import_with(path, opts, Some(FAST_BLOCK))
    }
}

/// The import, with the byte-level parser reading `fast_block` bytes per thread per window, or
/// (`None`, for tests) only the `csv` crate.
fn import_with(path: &Path, opts: &ImportOptions, fast_block: Option<usize>) -> Result<Imported> {
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

    let layout = Layout { ts, input, output, model, log_type, elapsed, total, n_fields: headers.len() };
    let mut columns = Columns::new(path);
    let fast = match fast_block {
        Some(block) => read_fast(path, &layout, &headers, &mut columns, block)?,
        None => false,
    };
    if !fast {
        // Quoted fields (or bare `\r` line ends, or bytes that are not UTF-8): the `csv` crate
        // reads the records, one at a time, through the same row conversion.
        columns = Columns::new(path);
        columns.add(read_records(&mut reader, path, &layout)?, &headers, &layout)?;
    }
    let records = columns.rows;
    report.records = records;
    let class_names = columns.class_table(&layout);
    let Columns {
        ts,
        input,
        output,
        latency,
        models,
        model,
        class,
        failed,
        total_mismatch,
        mut bad,
        n_bad_unnamed,
        ..
    } = columns;
    bad.count_more(n_bad_unnamed);
    report.skipped_bad = bad.finish(opts, records)?;
    let n = ts.len();
    let share = 100.0 * failed as f64 / n.max(1) as f64;
    report.note(format!(
        "{failed} requests with 0 response tokens ({share:.1}%) kept as failed requests (status `failed`)"
    ));
    if total_mismatch > 0 {
        report.note(format!("{total_mismatch} rows whose Total tokens is not Request + Response tokens"));
    }
    let mut trace = Trace {
        source: path.display().to_string(),
        timestamp_s: ts,
        class,
        class_names,
        origin: vec![0; n],
        origin_names: vec![UNSPECIFIED_ORIGIN.to_string()],
        input_tokens: input,
        output_tokens: output,
        cached_input_tokens: None,
        recorded: Recorded {
            model: layout.model.is_some().then(|| TextColumn { values: models.into_values(), codes: model }),
            latency_s: layout.elapsed.is_some().then_some(latency),
            ..Recorded::default()
        },
        skipped_rows: 0,
        sorted_on_load: false,
        notices: Vec::new(),
    };
    sort_by_time(&mut trace);
    // The status follows from the (sorted) response tokens, so it is not moved by the sort.
    trace.recorded.status = Some(TextColumn {
        values: vec![status::OK.to_string(), status::FAILED.to_string()],
        codes: trace.output_tokens.iter().map(|&o| u32::from(o == 0)).collect(),
    });
    Ok(Imported { report, ready: Some(trace), ..Imported::default() })
}

/// Where the used columns are, by index in the header.
struct Layout {
    ts: usize,
    input: usize,
    output: usize,
    model: Option<usize>,
    log_type: Option<usize>,
    elapsed: Option<usize>,
    total: Option<usize>,
    n_fields: usize,
}

/// One row's converted values.
struct Values {
    ts: f64,
    input: u32,
    output: u32,
    elapsed: Option<f64>,
    /// Whether `Total tokens` is a whole number other than input + output.
    total_mismatch: bool,
}

/// A row's cells converted as the importer always has (the `csv` crate's records and the rows the
/// byte-level parser does not take both come here, so a cell is accepted or rejected, and named,
/// the same way): `Err((column index, message))` for a bad cell.
fn convert<'c>(cell: impl Fn(usize) -> &'c str, layout: &Layout) -> Result<Values, (usize, String)> {
    let t = parse_seconds(cell(layout.ts)).map_err(|m| (layout.ts, m))?;
    let i = parse_tokens(cell(layout.input)).map_err(|m| (layout.input, m))?;
    let o = parse_tokens(cell(layout.output)).map_err(|m| (layout.output, m))?;
    let elapsed = match layout.elapsed.map(|e| (e, cell(e).trim())) {
        Some((_, "")) | None => None,
        Some((e, text)) => Some(parse_seconds(text).map_err(|m| (e, m))?),
    };
    let total_mismatch =
        layout.total.is_some_and(|tot| parse_tokens(cell(tot)).is_ok_and(|v| v as u64 != i as u64 + o as u64));
    Ok(Values { ts: t, input: i, output: o, elapsed, total_mismatch })
}

/// A bad record, before it is placed (rows and lines are counted from the start of its part).
struct BadCell {
    row: usize,
    line: usize,
    field: usize,
    message: String,
}

/// Names seen in one part: raw bytes to a local code, each distinct value converted once.
#[derive(Default)]
struct LocalNames {
    /// The converted value of each local code (`None`: empty after conversion).
    values: Vec<Option<String>>,
    index: HashMap<Vec<u8>, u32>,
    /// The last raw value and its code: consecutive rows mostly repeat a name.
    last: Option<(std::ops::Range<usize>, u32)>,
}

impl LocalNames {
    #[inline]
    fn code(&mut self, buf: &[u8], range: std::ops::Range<usize>, convert: fn(&str) -> String) -> u32 {
        if let Some((last, code)) = &self.last
            && buf[last.clone()] == buf[range.clone()]
        {
            return *code;
        }
        let raw = &buf[range.clone()];
        let code = match self.index.get(raw) {
            Some(&c) => c,
            None => {
                let c = self.values.len() as u32;
                // Parts are valid UTF-8 (checked before parsing).
                let value = convert(std::str::from_utf8(raw).unwrap_or_default());
                self.values.push((!value.is_empty()).then_some(value));
                self.index.insert(raw.to_vec(), c);
                c
            }
        };
        self.last = Some((range, code));
        code
    }
    fn code_str(&mut self, raw: &str, convert: fn(&str) -> String) -> u32 {
        self.last = None;
        match self.index.get(raw.as_bytes()) {
            Some(&c) => c,
            None => {
                let c = self.values.len() as u32;
                let value = convert(raw);
                self.values.push((!value.is_empty()).then_some(value));
                self.index.insert(raw.as_bytes().to_vec(), c);
                c
            }
        }
    }
}

fn model_name(raw: &str) -> String {
    raw.trim().to_string()
}

/// A contiguous part of the file, converted: good rows as columns, the first bad cells, counts.
#[derive(Default)]
struct Part {
    /// Data rows (good and bad) and lines (blank ones too).
    rows: usize,
    lines: usize,
    ts: Vec<f64>,
    input: Vec<u32>,
    output: Vec<u32>,
    latency: Vec<Option<f64>>,
    model: Vec<u32>,
    models: LocalNames,
    log_type: Vec<u32>,
    log_types: LocalNames,
    failed: usize,
    total_mismatch: usize,
    bad: Vec<BadCell>,
    n_bad: usize,
}

impl Part {
    fn push(&mut self, v: Values, layout: &Layout) {
        self.ts.push(v.ts);
        self.input.push(v.input);
        self.output.push(v.output);
        self.failed += usize::from(v.output == 0);
        self.total_mismatch += usize::from(v.total_mismatch);
        if layout.elapsed.is_some() {
            self.latency.push(v.elapsed);
        }
    }
    /// One row given by its cells: converted and pushed, or recorded as bad.
    fn push_cells<'c>(&mut self, cell: impl Fn(usize) -> &'c str + Copy, layout: &Layout, row: usize, line: usize) {
        match convert(cell, layout) {
            Ok(v) => {
                if let Some(m) = layout.model {
                    let code = self.models.code_str(cell(m), model_name);
                    self.model.push(code);
                }
                if let Some(l) = layout.log_type {
                    let code = self.log_types.code_str(cell(l), slug);
                    self.log_type.push(code);
                }
                self.push(v, layout);
            }
            Err(bad) => self.push_bad(row, line, bad),
        }
    }
    fn push_bad(&mut self, row: usize, line: usize, (field, message): (usize, String)) {
        self.n_bad += 1;
        if self.bad.len() < MAX_NAMED {
            self.bad.push(BadCell { row, line, field, message });
        }
    }
}

/// Bytes read per thread per batch by the byte-level parser: small enough that the two batch
/// buffers stay in reused memory, large enough that each part is a few thousand rows.
const FAST_BLOCK: usize = 1 << 20;

/// The file in batches of whole lines (the next batch read while this one is parsed, into a
/// reused buffer), each parsed in parts on all threads and appended to `columns` in file order,
/// whatever the thread count. `false` when only the `csv` crate may read the file: a `"` anywhere
/// (quoted fields may hide commas and line ends), a `\r` that does not end a line (the `csv` crate
/// ends records there too), or bytes that are not UTF-8 (the `csv` crate names the record).
fn read_fast(path: &Path, layout: &Layout, headers: &[String], columns: &mut Columns, block: usize) -> Result<bool> {
    let io = |e| Error::read(path, e);
    let file = std::fs::File::open(path).map_err(io)?;
    let gz = path.to_string_lossy().to_ascii_lowercase().ends_with(".gz");
    let file_len = if gz { 0 } else { file.metadata().map_or(0, |m| m.len()) as usize };
    let threads = rayon::current_num_threads().max(1);
    let want = block * threads;
    if !gz && let Some(map) = map_file(&file).filter(|m| !m.is_empty()) {
        return parse_mapped(&map, layout, headers, columns, want);
    }
    let mut src: Box<dyn Read + Send> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 20, file)))
    } else {
        Box::new(file)
    };
    let mut batch = read_batch(&mut src, &[], want, Vec::new()).map_err(io)?;
    let Some(mut offset) = body_start(&batch.buf[..batch.cut]) else {
        return Ok(false);
    };
    let mut spare = Vec::new();
    let mut reserved = false;
    loop {
        let body = &batch.buf[offset..batch.cut];
        let carry = &batch.buf[batch.cut..];
        let eof = batch.eof;
        let recycled = std::mem::take(&mut spare);
        // Several parts per thread, so that work stealing evens out the load.
        let (parsed, next) = rayon::join(
            || {
                split_lines(body, threads * 4)
                    .into_par_iter()
                    .map(|piece| parse_part(piece, layout))
                    .collect::<Vec<_>>()
            },
            || if eof { Ok(None) } else { read_batch(&mut src, carry, want, recycled).map(Some) },
        );
        if !reserved && !body.is_empty() {
            // Size the columns once, from the first batch's bytes per row (plain files only).
            let rows: usize = parsed.iter().flatten().map(|p| p.ts.len()).sum();
            if rows > 0 && file_len > body.len() {
                columns.reserve((file_len as f64 / body.len() as f64 * rows as f64 * 1.02) as usize + 1024, layout);
            }
            reserved = true;
        }
        for part in parsed {
            match part {
                Some(p) => columns.add(p, headers, layout)?,
                None => return Ok(false),
            }
        }
        match next.map_err(io)? {
            None => break,
            Some(b) => {
                spare = std::mem::replace(&mut batch, b).buf;
                offset = 0;
            }
        }
    }
    Ok(true)
}

/// Where the data rows start: after the header, which the `csv` crate has read and which is the
/// first line, unless it holds a bare `\r` (the `csv` crate ends a record there: `None`).
fn body_start(data: &[u8]) -> Option<usize> {
    let end = data.iter().position(|&b| b == b'\n').map_or(data.len(), |p| p + 1);
    let header = data[..end].strip_suffix(b"\n").unwrap_or(&data[..end]);
    let header = header.strip_suffix(b"\r").unwrap_or(header);
    (!header.contains(&b'\r')).then_some(end)
}

/// [`read_fast`] over a mapped plain file: windows of `want` bytes (cut at line ends), each parsed
/// in parts on all threads and appended in file order.
fn parse_mapped(data: &[u8], layout: &Layout, headers: &[String], columns: &mut Columns, want: usize) -> Result<bool> {
    let threads = rayon::current_num_threads().max(1);
    let Some(body_start) = body_start(data) else {
        return Ok(false);
    };
    let mut rest = &data[body_start..];
    let mut reserved = false;
    while !rest.is_empty() {
        let cut = if rest.len() <= want {
            rest.len()
        } else {
            rest[want..].iter().position(|&b| b == b'\n').map_or(rest.len(), |p| want + p + 1)
        };
        let (body, tail) = rest.split_at(cut);
        let parsed: Vec<Option<Part>> =
            split_lines(body, threads * 4).into_par_iter().map(|piece| parse_part(piece, layout)).collect();
        if !reserved {
            // Size the columns once, from the first window's bytes per row.
            let rows: usize = parsed.iter().flatten().map(|p| p.ts.len()).sum();
            columns.reserve((data.len() as f64 / body.len() as f64 * rows as f64 * 1.02) as usize + 1024, layout);
            reserved = true;
        }
        for part in parsed {
            match part {
                Some(p) => columns.add(p, headers, layout)?,
                None => return Ok(false),
            }
        }
        rest = tail;
    }
    Ok(true)
}

/// A plain non-negative decimal (`12`, `0.25`), exactly as `str::parse` reads it.
#[inline(always)]
fn plain_seconds(raw: &[u8]) -> Option<f64> {
    if raw.first() == Some(&b'-') {
        return None;
    }
    parse_f64_fast(raw).map(|v| v + 0.0)
}

/// Parse whole lines. Each row is first taken apart in one pass over its bytes (plain numbers,
/// names coded by their bytes); any row that pass does not take (a space, `12.0` tokens, a bad
/// value, a missing field) is split at its commas and converted by [`convert`], which also says
/// what is wrong.
fn parse_part(buf: &[u8], layout: &Layout) -> Option<Part> {
    if buf.contains(&b'"') || !(buf.is_ascii() || std::str::from_utf8(buf).is_ok()) {
        return None;
    }
    if buf.contains(&b'\r') && buf.iter().enumerate().any(|(i, &b)| b == b'\r' && buf.get(i + 1) != Some(&b'\n')) {
        return None;
    }
    let mut part = Part::default();
    let estimate = buf.len() / 24 + 16;
    part.ts.reserve(estimate);
    part.input.reserve(estimate);
    part.output.reserve(estimate);
    if layout.model.is_some() {
        part.model.reserve(estimate);
    }
    if layout.log_type.is_some() {
        part.log_type.reserve(estimate);
    }
    // Per field of the file: its role in the one-pass parse.
    let mut roles = vec![Role::Skip; layout.n_fields];
    roles[layout.ts] = Role::Timestamp;
    roles[layout.input] = Role::Input;
    roles[layout.output] = Role::Output;
    for (col, role) in [
        (layout.model, Role::Model),
        (layout.log_type, Role::LogType),
        (layout.elapsed, Role::Elapsed),
        (layout.total, Role::Total),
    ] {
        if let Some(c) = col {
            roles[c] = role;
        }
    }
    let mut pos = 0;
    while pos < buf.len() {
        let line_index = part.lines;
        part.lines += 1;
        // Blank lines (also "\r\n") are skipped, as the `csv` crate skips them: lines, not rows.
        if let Some(len) = blank_line(buf, pos) {
            pos += len;
            continue;
        }
        part.rows += 1;
        let row = part.rows;
        if let Some(next) = quick_row(&mut part, buf, pos, &roles, layout) {
            pos = next;
            continue;
        }
        // The general route: the cells as text (a row with fewer fields reads the rest as empty).
        let line_end = buf[pos..].iter().position(|&b| b == b'\n').map_or(buf.len(), |p| pos + p);
        let mut line = &buf[pos..line_end];
        pos = line_end + 1;
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let text = std::str::from_utf8(line).unwrap_or_default();
        let cells: Vec<&str> = text.split(',').collect();
        let cell = |i: usize| cells.get(i).copied().unwrap_or("");
        part.push_cells(cell, layout, row, line_index);
    }
    Some(part)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Skip,
    Timestamp,
    Input,
    Output,
    Model,
    LogType,
    Elapsed,
    Total,
}

/// One row of plain cells in one pass, from `pos` (the start of a line) in `buf`: where the next
/// line starts, or `None` to leave the row, untouched, to the general route.
#[inline]
fn quick_row(part: &mut Part, buf: &[u8], mut pos: usize, roles: &[Role], layout: &Layout) -> Option<usize> {
    let (mut ts, mut input, mut output, mut elapsed, mut total) = (0.0, 0u32, 0u32, None, None);
    let (mut model, mut log_type) = (0..0, 0..0);
    let last = roles.len() - 1;
    for (k, role) in roles.iter().enumerate() {
        let end = field_end(buf, pos);
        let mut raw_end = end;
        if k == last {
            // The last field ends the line (more fields: the general route reads them as the
            // `csv` crate does).
            if buf.get(end) == Some(&b',') {
                return None;
            }
            if raw_end > pos && buf[raw_end - 1] == b'\r' {
                raw_end -= 1;
            }
        } else if buf.get(end) != Some(&b',') {
            return None;
        }
        let raw = &buf[pos..raw_end];
        match role {
            Role::Skip => {}
            Role::Timestamp => ts = plain_seconds(raw)?,
            Role::Input => input = parse_u32_fast(raw)?,
            Role::Output => output = parse_u32_fast(raw)?,
            Role::Total => total = Some(parse_u32_fast(raw)?),
            Role::Elapsed if raw.is_empty() => {}
            Role::Elapsed => elapsed = Some(plain_seconds(raw)?),
            Role::Model => model = pos..raw_end,
            Role::LogType => log_type = pos..raw_end,
        }
        pos = end + 1;
    }
    if layout.model.is_some() {
        let code = part.models.code(buf, model, model_name);
        part.model.push(code);
    }
    if layout.log_type.is_some() {
        let code = part.log_types.code(buf, log_type, slug);
        part.log_type.push(code);
    }
    let total_mismatch = total.is_some_and(|v| v as u64 != input as u64 + output as u64);
    part.push(Values { ts, input, output, elapsed, total_mismatch }, layout);
    Some(pos)
}

/// The `csv` crate's records, one at a time, into one part.
fn read_records(reader: &mut CsvReader, path: &Path, layout: &Layout) -> Result<Part> {
    let mut part = Part::default();
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(|e| csv_error(path, e))? {
        part.rows += 1;
        let row = part.rows;
        // Lines are counted from the first data line here, as in the byte-level parts.
        let line = record.position().map_or(row + 1, |p| p.line() as usize).saturating_sub(2);
        let cell = |i: usize| record.get(i).unwrap_or("");
        part.push_cells(cell, layout, row, line);
    }
    Ok(part)
}

/// The parts joined in file order as they come: names interned globally (models in order of first
/// appearance, classes sorted at the end), bad records placed in the file.
struct Columns<'a> {
    path: &'a Path,
    rows: usize,
    lines: usize,
    ts: Vec<f64>,
    input: Vec<u32>,
    output: Vec<u32>,
    latency: Vec<Option<f64>>,
    models: TextInterner,
    model: Vec<u32>,
    /// Class names in order of first appearance (`None`: the default class), and each row's code.
    classes: Vec<Option<String>>,
    class_index: HashMap<Option<String>, u16>,
    class: Vec<u16>,
    failed: usize,
    total_mismatch: usize,
    bad: BadRecords<'a>,
    /// Bad records beyond those each part named.
    n_bad_unnamed: usize,
}

impl<'a> Columns<'a> {
    fn new(path: &'a Path) -> Columns<'a> {
        Columns {
            path,
            rows: 0,
            lines: 0,
            ts: Vec::new(),
            input: Vec::new(),
            output: Vec::new(),
            latency: Vec::new(),
            models: TextInterner::default(),
            model: Vec::new(),
            classes: Vec::new(),
            class_index: HashMap::new(),
            class: Vec::new(),
            failed: 0,
            total_mismatch: 0,
            bad: BadRecords::new(path),
            n_bad_unnamed: 0,
        }
    }

    /// Room for `rows` more rows in the columns the layout fills.
    fn reserve(&mut self, rows: usize, layout: &Layout) {
        self.ts.reserve_exact(rows);
        self.input.reserve_exact(rows);
        self.output.reserve_exact(rows);
        if layout.elapsed.is_some() {
            self.latency.reserve_exact(rows);
        }
        if layout.model.is_some() {
            self.model.reserve_exact(rows);
        }
        if layout.log_type.is_some() {
            self.class.reserve_exact(rows);
        }
    }

    /// Append the next part of the file.
    fn add(&mut self, part: Part, headers: &[String], layout: &Layout) -> Result<()> {
        for cell in &part.bad {
            // Line 1 is the header.
            let place = self
                .bad
                .place()
                .row(self.rows + cell.row)
                .line(self.lines + cell.line + 2)
                .field(headers[cell.field].clone());
            self.bad.bad(place, cell.message.clone(), FIX_ROW);
        }
        self.n_bad_unnamed += part.n_bad - part.bad.len();
        self.rows += part.rows;
        self.lines += part.lines;
        self.ts.extend_from_slice(&part.ts);
        self.input.extend_from_slice(&part.input);
        self.output.extend_from_slice(&part.output);
        self.latency.extend_from_slice(&part.latency);
        self.failed += part.failed;
        self.total_mismatch += part.total_mismatch;
        if layout.model.is_some() {
            let map: Vec<u32> = part.models.values.iter().map(|v| self.models.code(v.as_deref())).collect();
            self.model.extend(part.model.iter().map(|&c| map[c as usize]));
        }
        if layout.log_type.is_some() {
            let mut map = Vec::with_capacity(part.log_types.values.len());
            for name in part.log_types.values {
                let code = match self.class_index.get(&name) {
                    Some(&c) => c,
                    None if self.classes.len() > u16::MAX as usize => {
                        return Err(Error::one(Problem::new(
                            Place::file(self.path).field(headers[layout.log_type.unwrap_or(0)].clone()),
                            "more than 65536 distinct log types",
                            "group rare values into fewer names before importing",
                        )));
                    }
                    None => {
                        let c = self.classes.len() as u16;
                        self.classes.push(name.clone());
                        self.class_index.insert(name, c);
                        c
                    }
                };
                map.push(code);
            }
            self.class.extend(part.log_type.iter().map(|&c| map[c as usize]));
        }
        Ok(())
    }

    /// The sorted class names of the rows kept (the default class for an empty log type, or for
    /// every row without a `Log Type` column), with the rows' codes renumbered to match.
    fn class_table(&mut self, layout: &Layout) -> Vec<String> {
        if layout.log_type.is_none() {
            self.class = vec![0; self.ts.len()];
            return vec![DEFAULT_CLASS.to_string()];
        }
        let named: Vec<String> =
            self.classes.iter().map(|c| c.clone().unwrap_or_else(|| DEFAULT_CLASS.to_string())).collect();
        // Names of rows dropped as bad were interned too: keep only those of kept rows.
        let mut used = vec![false; named.len()];
        self.class.iter().for_each(|&c| used[c as usize] = true);
        let mut names: Vec<String> = named.iter().zip(&used).filter(|(_, u)| **u).map(|(n, _)| n.clone()).collect();
        names.sort();
        names.dedup();
        let remap: Vec<u16> = named.iter().map(|n| names.binary_search(n).map_or(0, |i| i as u16)).collect();
        if remap.iter().enumerate().any(|(i, &c)| usize::from(c) != i) {
            self.class.iter_mut().for_each(|c| *c = remap[*c as usize]);
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of every kind: plain ones (the one-pass route), ones only the general route takes
    /// (spaces, `12.0` tokens, a missing or an extra field, non-ASCII names), bad ones, zero-token
    /// failures, a Total that does not add up, blank lines and CRLF line ends.
    const ROWS: &str = "5,s1,ChatGPT,472,18,490,Conversation log,2.5\r\n\
        3,s2,GPT-4,10,0,10,API log,\n\
        \n\
        7, s3, ChatGPT ,12.0,5,17,Conversation log,1.25\n\
        9,s4,ChatGPT,x,5,5,Conversation log,1\r\n\
        \r\n\
        11,s5,GPT-4,5,5,11,API log,0.5\n\
        13,s6,GPT-4,5,5\n\
        15,s7,ChatGPT,5,5,10,Conversation log,1,extra\n\
        -1,s8,ChatGPT,5,5,10,Conversation log,1\n\
        17,s9,Ĉhat,5,5,10,Conversation log, 1\n\
        2,s10,ChatGPT,1,2,3,Conversation log,1e400\n\
        2,s11,,1,2,3,Conversation log,\n\
        4,s12,ChatGPT,7,8,15,Conversation log,0.25";

    const HEADER: &str =
        "Timestamp,Session ID,Model,Request tokens,Response tokens,Total tokens,Log Type,Elapsed time\n";

    fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn run(path: &Path, skip: bool, fast_block: Option<usize>, threads: usize) -> Result<(Trace, ImportReport)> {
        let opts = ImportOptions { skip_bad_rows: skip, ..ImportOptions::default() };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| import_with(path, &opts, fast_block)).map(|i| (i.ready.unwrap(), i.report))
    }

    /// The byte-level parser gives what the `csv` crate route gives (trace, report, and the same
    /// errors naming the same rows and lines), at any window size and thread count.
    fn check_same_as_csv_route(path: &Path) {
        for skip in [true, false] {
            let want = run(path, skip, None, 1);
            for block in [1, 5, 64, FAST_BLOCK] {
                for threads in [1, 3] {
                    let got = run(path, skip, Some(block), threads);
                    match (&want, &got) {
                        (Ok(w), Ok(g)) => assert_eq!(w, g, "block {block}, {threads} threads, skip {skip}"),
                        (Err(w), Err(g)) => {
                            assert_eq!(w.to_string(), g.to_string(), "block {block}, {threads} threads")
                        }
                        _ => panic!("one route failed: csv {:?} vs fast {:?}", want.is_ok(), got.is_ok()),
                    }
                }
            }
        }
    }

    #[test]
    fn byte_level_rows_agree_with_the_csv_crate() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(&dir, "burst.csv", &format!("{HEADER}{ROWS}"));
        check_same_as_csv_route(&path);
        let (t, report) = run(&path, true, Some(FAST_BLOCK), 2).unwrap();
        assert_eq!((t.len(), report.skipped_bad, report.records), (9, 3, 12));
        assert_eq!(t.timestamp_s, [2.0, 3.0, 4.0, 5.0, 7.0, 11.0, 13.0, 15.0, 17.0]);
        let model: Vec<Option<&str>> = t.recorded.model.as_ref().unwrap().iter().collect();
        let want = [None, Some("GPT-4"), Some("ChatGPT"), Some("ChatGPT"), Some("ChatGPT")];
        assert_eq!(model[..5], want, "names are trimmed; an empty one is null");
        assert_eq!(model[8], Some("Ĉhat"));
        let status: Vec<Option<&str>> = t.recorded.status.as_ref().unwrap().iter().collect();
        assert_eq!(status[..2], [Some("ok"), Some("failed")], "zero response tokens: failed, kept");
        assert_eq!(t.class_names, ["api_log", "conversation_log", "default"]);
        assert_eq!(t.class_name(6), "default", "the row without a Log Type");
        assert_eq!(t.recorded.latency_s.as_ref().unwrap()[..4], [None, None, Some(0.25), Some(2.5)]);
        assert!(report.notes.iter().any(|n| n.starts_with("1 rows whose Total")), "{:?}", report.notes);
        let err = run(&path, false, Some(5), 2).unwrap_err().to_string();
        for needle in [
            "burst.csv:6, row 4, `Request tokens`",
            "`x` is not a number",
            "burst.csv:11, row 8",
            "burst.csv:13, row 10",
        ] {
            assert!(err.contains(needle), "{needle:?} not in {err}");
        }
    }

    #[test]
    fn the_first_layout_and_quoted_files_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let first = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n\
            5,ChatGPT,472,18,490,Conversation log\n3,GPT-4,10,0,10,API log\n";
        check_same_as_csv_route(&file(&dir, "first.csv", first));
        // A quote anywhere sends the whole file to the `csv` crate, which unquotes the cell.
        let quoted = first.replace("3,GPT-4", "3,\"GPT-4\"");
        let path = file(&dir, "quoted.csv", &quoted);
        check_same_as_csv_route(&path);
        let (t, _) = run(&path, false, Some(FAST_BLOCK), 2).unwrap();
        assert_eq!(t.recorded.model.as_ref().unwrap().get(0), Some("GPT-4"));
        // A bare `\r` ends a record for the `csv` crate: such files are left to it too.
        check_same_as_csv_route(&file(&dir, "cr.csv", &first.replace('\n', "\r")));
    }

    #[test]
    fn the_real_slice_reads_the_same_by_both_routes() {
        let shared = std::env::var_os("SWITCHYARD_SHARED_DATA")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
        let path = shared.join("traces/burstgpt_slices/burstgpt_slice.csv");
        if !path.exists() {
            eprintln!("skipped: {} is absent (set SWITCHYARD_SHARED_DATA to the shared data folder)", path.display());
            return;
        }
        check_same_as_csv_route(&path);
    }
}
