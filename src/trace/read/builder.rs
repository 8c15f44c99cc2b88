//! Chunks (a piece of the file, converted: good rows and the first bad cells) and the [`Builder`]
//! they are merged into, in file order: it names each bad row's file, row, line and column, refuses
//! a file with bad rows unless `--skip-bad-rows`, and finishes the [`Trace`] (names sorted, capacity
//! trimmed, rows sorted by time). [`ChunkPool`] recycles merged chunks' columns.

use std::path::Path;

use super::columns::{ALL_COLS, Col, Layout, N_COLS};
use super::dict::{GlobalDict, LocalDict, named_codes};
use super::options::ReadOptions;
use crate::error::{Error, Notice, Place, Problem, Result};
use crate::trace::sort::sort_by_time;
use crate::trace::{DEFAULT_CLASS, Recorded, TextColumn, Trace, UNSPECIFIED_ORIGIN};

/// At most this many bad rows are reported in one error.
pub(super) const MAX_REPORTED: usize = 10;

#[derive(Debug, Clone)]
pub(super) struct BadCell {
    /// 0-based data row within its chunk.
    pub(super) row: usize,
    /// 0-based line within its chunk (CSV only).
    pub(super) line: Option<usize>,
    /// The column, or `None` for a whole-row problem (wrong number of fields).
    pub(super) col: Option<Col>,
    /// What is wrong, including the value.
    pub(super) message: String,
}

/// One piece of input, converted: good rows only, plus the first bad cells.
#[derive(Default)]
pub(super) struct Chunk {
    /// Data rows seen (good and bad).
    pub(super) rows: usize,
    /// Text lines consumed (CSV; blank lines count here but not in `rows`).
    pub(super) lines: usize,
    pub(super) ts: Vec<f64>,
    pub(super) class: Vec<u32>,
    pub(super) class_dict: LocalDict,
    pub(super) origin: Vec<u32>,
    pub(super) origin_dict: LocalDict,
    pub(super) input: Vec<u32>,
    pub(super) output: Vec<u32>,
    pub(super) cached: Vec<u32>,
    pub(super) text: [Vec<Option<String>>; 4],
    pub(super) nums: [Vec<Option<f64>>; 3],
    pub(super) bad: Vec<BadCell>,
    pub(super) n_bad: usize,
}

impl Chunk {
    fn with_capacity(rows: usize, layout: &Layout) -> Chunk {
        let mut c = Chunk {
            ts: Vec::with_capacity(rows),
            input: Vec::with_capacity(rows),
            output: Vec::with_capacity(rows),
            ..Chunk::default()
        };
        if layout.has(Col::Class) {
            c.class.reserve(rows);
        }
        if layout.has(Col::Origin) {
            c.origin.reserve(rows);
        }
        c
    }
    pub(super) fn push_bad(&mut self, cell: BadCell) {
        self.n_bad += 1;
        if self.bad.len() < MAX_REPORTED {
            self.bad.push(cell);
        }
    }
}

/// The number columns of merged chunks, kept for the next window's pieces: their pages are
/// already faulted in, and a fresh page costs more to fault in and zero than parsing the rows
/// written to it. What is recycled is only capacity, so results do not depend on it.
#[derive(Default)]
pub(super) struct ChunkPool(std::sync::Mutex<Vec<Chunk>>);

impl ChunkPool {
    /// An empty chunk with room for about `rows` rows, recycled when one is spare.
    pub(super) fn take(&self, rows: usize, layout: &Layout) -> Chunk {
        let spare = self.0.lock().ok().and_then(|mut spare| spare.pop());
        let Some(mut c) = spare else {
            return Chunk::with_capacity(rows, layout);
        };
        c.ts.reserve(rows);
        c.input.reserve(rows);
        c.output.reserve(rows);
        if layout.has(Col::Class) {
            c.class.reserve(rows);
        }
        if layout.has(Col::Origin) {
            c.origin.reserve(rows);
        }
        c
    }
    /// Keep the columns of a merged chunk, emptied.
    fn give(&self, ts: Vec<f64>, input: Vec<u32>, output: Vec<u32>, class: Vec<u32>, origin: Vec<u32>) {
        let mut c = Chunk { ts, input, output, class, origin, ..Chunk::default() };
        c.ts.clear();
        c.input.clear();
        c.output.clear();
        c.class.clear();
        c.origin.clear();
        if let Ok(mut spare) = self.0.lock() {
            spare.push(c);
        }
    }
}

/// Where bad rows are reported: the file, how its rows map to lines, how columns are named.
pub(super) struct Reporter<'a> {
    path: &'a Path,
    /// Lines before the first data row (the CSV header), or `None` for formats without lines.
    header_lines: Option<usize>,
    source: [String; N_COLS],
}

impl Reporter<'_> {
    pub(super) fn problem(&self, cell: &BadCell, row_base: usize, line_base: usize) -> Problem {
        let mut place = Place::file(self.path).row(row_base + cell.row + 1);
        if let (Some(header), Some(line)) = (self.header_lines, cell.line) {
            place = place.line(header + line_base + line + 1);
        }
        let mut message = cell.message.clone();
        if let Some(col) = cell.col {
            let source = &self.source[col.idx()];
            place = place.field(source.clone());
            if source != col.name() {
                message.push_str(&format!(" (column mapped to `{}`)", col.name()));
            }
        }
        Problem::new(
            place,
            message,
            "correct or delete the row, or pass --skip-bad-rows to drop bad rows (they are counted in the summary)",
        )
    }
}

pub(super) struct Builder<'a> {
    pub(super) reporter: Reporter<'a>,
    pub(super) has: [bool; N_COLS],
    pub(super) rows: usize,
    pub(super) lines: usize,
    pub(super) ts: Vec<f64>,
    pub(super) class: Vec<u16>,
    pub(super) class_dict: GlobalDict,
    pub(super) origin: Vec<u16>,
    pub(super) origin_dict: GlobalDict,
    pub(super) input: Vec<u32>,
    pub(super) output: Vec<u32>,
    pub(super) cached: Vec<u32>,
    pub(super) text: [Vec<Option<String>>; 4],
    pub(super) nums: [Vec<Option<f64>>; 3],
    pub(super) bad: Vec<Problem>,
    pub(super) n_bad: usize,
    /// The layout's notices, handed to the trace.
    pub(super) notices: Vec<Notice>,
}

impl<'a> Builder<'a> {
    pub(super) fn new(path: &'a Path, layout: &Layout, header_lines: Option<usize>) -> Builder<'a> {
        let mut has = [false; N_COLS];
        for col in ALL_COLS {
            has[col.idx()] = layout.has(col);
        }
        Builder {
            reporter: Reporter { path, header_lines, source: layout.source.clone() },
            has,
            rows: 0,
            lines: 0,
            ts: Vec::new(),
            class: Vec::new(),
            class_dict: GlobalDict::default(),
            origin: Vec::new(),
            origin_dict: GlobalDict::default(),
            input: Vec::new(),
            output: Vec::new(),
            cached: Vec::new(),
            text: Default::default(),
            nums: Default::default(),
            bad: Vec::new(),
            n_bad: 0,
            notices: layout.notices.clone(),
        }
    }

    /// Reserve room for about `rows` more rows (an estimate; a good one saves copies and memory).
    pub(super) fn reserve(&mut self, rows: usize) {
        self.ts.reserve_exact(rows);
        self.input.reserve_exact(rows);
        self.output.reserve_exact(rows);
        if self.has[Col::Class.idx()] {
            self.class.reserve_exact(rows);
        }
        if self.has[Col::Origin.idx()] {
            self.origin.reserve_exact(rows);
        }
        if self.has[Col::Cached.idx()] {
            self.cached.reserve_exact(rows);
        }
    }

    pub(super) fn merge(&mut self, chunk: Chunk) -> Result<()> {
        self.merge_into(chunk, None)
    }

    /// [`Builder::merge`], handing the chunk's emptied number columns to `pool` when given.
    pub(super) fn merge_into(&mut self, chunk: Chunk, pool: Option<&ChunkPool>) -> Result<()> {
        for cell in &chunk.bad {
            if self.bad.len() < MAX_REPORTED {
                self.bad.push(self.reporter.problem(cell, self.rows, self.lines));
            }
        }
        self.n_bad += chunk.n_bad;
        self.rows += chunk.rows;
        self.lines += chunk.lines;
        let too_many = |col: Col| {
            Error::one(Problem::new(
                Place::file(self.reporter.path).field(self.reporter.source[col.idx()].clone()),
                format!("more than 65535 distinct values in `{}`", col.name()),
                "group rare values into fewer names before replaying",
            ))
        };
        if self.has[Col::Class.idx()] {
            let map = self.class_dict.map_local(&chunk.class_dict).ok_or_else(|| too_many(Col::Class))?;
            self.class.extend(chunk.class.iter().map(|&c| map[c as usize]));
        }
        if self.has[Col::Origin.idx()] {
            let map = self.origin_dict.map_local(&chunk.origin_dict).ok_or_else(|| too_many(Col::Origin))?;
            self.origin.extend(chunk.origin.iter().map(|&c| map[c as usize]));
        }
        self.ts.extend_from_slice(&chunk.ts);
        self.input.extend_from_slice(&chunk.input);
        self.output.extend_from_slice(&chunk.output);
        self.cached.extend_from_slice(&chunk.cached);
        for (dst, src) in self.text.iter_mut().zip(chunk.text) {
            dst.extend(src);
        }
        for (dst, src) in self.nums.iter_mut().zip(chunk.nums) {
            dst.extend(src);
        }
        if let Some(pool) = pool {
            pool.give(chunk.ts, chunk.input, chunk.output, chunk.class, chunk.origin);
        }
        Ok(())
    }

    pub(super) fn finish(self, opts: &ReadOptions) -> Result<Trace> {
        let path = self.reporter.path;
        if self.n_bad > 0 && !opts.skip_bad_rows {
            let mut problems = self.bad;
            if self.n_bad > problems.len() {
                problems.push(Problem::new(
                    Place::file(path),
                    format!(
                        "... and {} more bad rows ({} of {} data rows are bad)",
                        self.n_bad - problems.len(),
                        self.n_bad,
                        self.rows
                    ),
                    "pass --skip-bad-rows to drop all bad rows",
                ));
            }
            return Err(Error::Invalid(problems));
        }
        if self.ts.is_empty() {
            let (message, fix) = if self.rows == 0 {
                (
                    if self.reporter.header_lines.is_some() {
                        "has a header but no data rows".to_string()
                    } else {
                        "has no data rows".to_string()
                    },
                    "add rows, or check that this is the right file",
                )
            } else {
                (
                    format!("all {} data rows are bad, so no rows are left", self.rows),
                    "run without --skip-bad-rows to see which rows are bad and why",
                )
            };
            return Err(Error::one(Problem::new(Place::file(path), message, fix)));
        }
        let mut trace = self.into_trace(opts);
        shrink(&mut trace);
        sort_by_time(&mut trace);
        Ok(trace)
    }

    /// The good rows as a trace, in file order (neither sorted nor checked for being empty).
    fn into_trace(self, opts: &ReadOptions) -> Trace {
        let path = self.reporter.path;
        let n = self.ts.len();
        let (class, class_names) =
            named_codes(self.has[Col::Class.idx()], self.class_dict, self.class, n, DEFAULT_CLASS);
        let (origin, origin_names) =
            named_codes(self.has[Col::Origin.idx()], self.origin_dict, self.origin, n, UNSPECIFIED_ORIGIN);
        let has = self.has;
        let [request_id, model, region, status] = self.text;
        let [latency_s, ttft_s, cost_usd] = self.nums;
        let keep = |col: Col| has[col.idx()];
        let text = |col: Col, rows: Vec<Option<String>>| keep(col).then(|| TextColumn::from_options(rows));
        let recorded = Recorded {
            request_id: text(Col::RequestId, request_id),
            model: text(Col::Model, model),
            region: text(Col::Region, region),
            latency_s: keep(Col::Latency).then_some(latency_s),
            ttft_s: keep(Col::Ttft).then_some(ttft_s),
            status: text(Col::Status, status),
            cost_usd: keep(Col::Cost).then_some(cost_usd),
        };
        Trace {
            source: path.display().to_string(),
            timestamp_s: self.ts,
            class,
            class_names,
            origin,
            origin_names,
            input_tokens: self.input,
            output_tokens: self.output,
            cached_input_tokens: keep(Col::Cached).then_some(self.cached),
            recorded,
            skipped_rows: if opts.skip_bad_rows { self.n_bad } else { 0 },
            sorted_on_load: false,
            notices: self.notices,
        }
    }

    /// One chunk of a streamed file: its good rows in file order, and its bad rows' problems.
    pub(super) fn into_chunk(mut self, opts: &ReadOptions) -> RawChunk {
        let bad = std::mem::take(&mut self.bad);
        let (rows, n_bad) = (self.rows, self.n_bad);
        RawChunk { trace: self.into_trace(opts), rows, bad, n_bad }
    }
}

/// One chunk of a file read in pieces: its good rows in file order (class and origin codes local
/// to the chunk), the data rows it covered (good and bad), and its bad rows' problems.
pub(crate) struct RawChunk {
    pub trace: Trace,
    pub rows: usize,
    pub bad: Vec<Problem>,
    pub n_bad: usize,
}

/// Give back capacity an estimate over-reserved by more than a few percent.
fn shrink(trace: &mut Trace) {
    fn fit<T>(v: &mut Vec<T>) {
        if v.capacity() > v.len() + v.len() / 32 + 1024 {
            v.shrink_to_fit();
        }
    }
    fit(&mut trace.timestamp_s);
    fit(&mut trace.class);
    fit(&mut trace.origin);
    fit(&mut trace.input_tokens);
    fit(&mut trace.output_tokens);
    if let Some(c) = &mut trace.cached_input_tokens {
        fit(c);
    }
}
