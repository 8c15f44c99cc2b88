//! A trace read in chunks, for runs whose memory must not grow with the trace (a day at 1,000
//! requests/s is 86.4M rows).
//!
//! Two passes over the file. [`scan`] reads it once, chunk by chunk, with every check
//! [`read()`](super::read()) makes (bad rows are reported together, naming file, row and field),
//! and keeps only its [`StreamShape`]: class and origin names, which (class, origin) pairs occur,
//! the row count and the first timestamp; it also checks that the rows are in time order, which a
//! streamed run needs (the whole-file reader sorts instead). [`StreamShape::chunks`] then reads
//! it again, yielding [`Trace`] chunks of at most `chunk_rows` rows whose class and origin codes
//! index the shape's names, so that one routing table serves every chunk.
//!
//! Parquet is read a row group at a time (row groups are joined up to `chunk_rows` rows), CSV (plain
//! or gzip) in batches of whole lines; quoted CSV and NDJSON are not streamed (a quoted field may
//! hide a line break), with an error saying how to convert them.

use std::collections::BTreeSet;
use std::path::Path;

use super::read::{ChunkReader, RawChunk};
use super::{ReadOptions, Recorded, Trace};
use crate::error::{Error, Notice, Place, Problem, Result};

/// Default rows per chunk: one Parquet row group as `trace::write` stores them.
pub const DEFAULT_CHUNK_ROWS: usize = 1 << 17;

/// What a streamed run needs to know of a trace before its first chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamShape {
    pub source: String,
    /// Sorted, unique (as in [`Trace`]).
    pub class_names: Vec<String>,
    pub origin_names: Vec<String>,
    /// (class, origin) code pairs that occur, sorted.
    pub segments: Vec<(u16, u16)>,
    /// Good rows (requests), and rows skipped with `--skip-bad-rows`.
    pub n_rows: u64,
    pub skipped_rows: u64,
    pub first_timestamp_s: f64,
    pub has_cached_input_tokens: bool,
    /// The reader's notes and warnings on the file's columns (as [`Trace::notices`]).
    pub notices: Vec<Notice>,
}

/// First pass: check every row and learn the trace's shape. `progress` is told the data rows read.
pub fn scan(path: &Path, opts: &ReadOptions, chunk_rows: usize, progress: &dyn Fn(u64)) -> Result<StreamShape> {
    let mut reader = ChunkReader::open(path, opts, chunk_rows)?;
    let mut classes: BTreeSet<String> = BTreeSet::new();
    let mut origins: BTreeSet<String> = BTreeSet::new();
    let mut pairs: BTreeSet<(String, String)> = BTreeSet::new();
    let (mut rows, mut good, mut n_bad) = (0usize, 0u64, 0usize);
    let mut bad: Vec<Problem> = Vec::new();
    let mut last: Option<f64> = None;
    let mut first = None;
    let mut has_cached = false;
    let notices = reader.notices().to_vec();
    while let Some(RawChunk { trace, rows: chunk_rows_read, bad: chunk_bad, n_bad: chunk_n_bad }) =
        reader.next_chunk()?
    {
        rows += chunk_rows_read;
        n_bad += chunk_n_bad;
        bad.extend(chunk_bad.into_iter().take(MAX_REPORTED.saturating_sub(bad.len())));
        progress(chunk_rows_read as u64);
        if trace.is_empty() {
            continue;
        }
        has_cached |= trace.cached_input_tokens.is_some();
        first.get_or_insert(trace.timestamp_s[0]);
        if let Some(k) = std::iter::once(last.unwrap_or(f64::NEG_INFINITY))
            .chain(trace.timestamp_s.iter().copied())
            .collect::<Vec<f64>>()
            .windows(2)
            .position(|w| w[1] < w[0])
        {
            let (before, at) =
                (if k == 0 { last.unwrap_or(0.0) } else { trace.timestamp_s[k - 1] }, trace.timestamp_s[k]);
            let row = good + k as u64 + 1;
            let counted = if n_bad > 0 { " (counting good rows only)" } else { "" };
            return Err(Error::one(Problem::new(
                Place::file(path).row(row as usize).field("timestamp_s"),
                format!(
                    "{at} is earlier than the row before it ({before}){counted}; a streamed trace must be in time order"
                ),
                format!(
                    "sort it once with `{}` (conversion sorts by time), or run without --stream (which sorts in memory)",
                    super::read::convert_command(path, opts)
                ),
            )));
        }
        last = trace.timestamp_s.last().copied();
        good += trace.len() as u64;
        classes.extend(trace.class_names.iter().cloned());
        origins.extend(trace.origin_names.iter().cloned());
        let mut seen = vec![false; trace.class_names.len() * trace.origin_names.len()];
        let n_origins = trace.origin_names.len();
        for (&c, &o) in trace.class.iter().zip(&trace.origin) {
            seen[c as usize * n_origins + o as usize] = true;
        }
        for (k, _) in seen.iter().enumerate().filter(|(_, s)| **s) {
            pairs.insert((trace.class_names[k / n_origins].clone(), trace.origin_names[k % n_origins].clone()));
        }
    }
    if n_bad > 0 && !opts.skip_bad_rows {
        if n_bad > bad.len() {
            bad.push(Problem::new(
                Place::file(path),
                format!("... and {} more bad rows ({n_bad} of {rows} data rows are bad)", n_bad - bad.len()),
                "pass --skip-bad-rows to drop all bad rows",
            ));
        }
        return Err(Error::Invalid(bad));
    }
    if good == 0 {
        let (message, fix) = if rows == 0 {
            ("has no data rows".to_string(), "add rows, or check that this is the right file")
        } else {
            (
                format!("all {rows} data rows are bad, so no rows are left"),
                "run without --skip-bad-rows to see which rows are bad and why",
            )
        };
        return Err(Error::one(Problem::new(Place::file(path), message, fix)));
    }
    let class_names: Vec<String> = classes.into_iter().collect();
    let origin_names: Vec<String> = origins.into_iter().collect();
    let code = |names: &[String], n: &str| names.binary_search_by(|x| x.as_str().cmp(n)).expect("seen") as u16;
    let segments =
        pairs.iter().map(|(c, o)| (code(&class_names, c), code(&origin_names, o))).collect::<Vec<(u16, u16)>>();
    Ok(StreamShape {
        source: path.display().to_string(),
        class_names,
        origin_names,
        segments,
        n_rows: good,
        skipped_rows: if opts.skip_bad_rows { n_bad as u64 } else { 0 },
        first_timestamp_s: first.unwrap_or(0.0),
        has_cached_input_tokens: has_cached,
        notices,
    })
}

/// Bad rows reported at once (as the whole-file reader does).
const MAX_REPORTED: usize = 10;

impl StreamShape {
    /// A trace with the shape's names and one row per (class, origin) pair that occurs: enough to
    /// bind a policy (`Policy::bind`) and to name metrics groups, and nothing more; it is not
    /// the requests.
    pub fn names_trace(&self) -> Trace {
        let n = self.segments.len();
        Trace {
            source: self.source.clone(),
            timestamp_s: vec![self.first_timestamp_s; n],
            class: self.segments.iter().map(|s| s.0).collect(),
            class_names: self.class_names.clone(),
            origin: self.segments.iter().map(|s| s.1).collect(),
            origin_names: self.origin_names.clone(),
            input_tokens: vec![0; n],
            output_tokens: vec![0; n],
            cached_input_tokens: None,
            recorded: Recorded::default(),
            skipped_rows: self.skipped_rows as usize,
            sorted_on_load: false,
            notices: self.notices.clone(),
        }
    }

    /// Second pass: the trace's good rows in chunks of at most `chunk_rows` rows, coded by this
    /// shape's names (the file must be the one [`scan`] read).
    pub fn chunks<'p>(&'p self, path: &'p Path, opts: &ReadOptions, chunk_rows: usize) -> Result<Chunks<'p>> {
        Ok(Chunks {
            reader: ChunkReader::open(path, opts, chunk_rows)?,
            shape: self,
            chunk_rows: chunk_rows.max(1),
            pending: None,
        })
    }
}

/// Chunks of a trace coded by a [`StreamShape`]'s names (see [`StreamShape::chunks`]).
pub struct Chunks<'p> {
    reader: ChunkReader<'p>,
    shape: &'p StreamShape,
    chunk_rows: usize,
    /// A chunk read but not yet handed out whole, and how far it has been.
    pending: Option<(Trace, usize)>,
}

impl Chunks<'_> {
    fn recode(&self, mut trace: Trace) -> Result<Trace> {
        let changed = || {
            Error::one(Problem::new(
                Place::file(&self.shape.source),
                "has names its first reading did not have (did it change while being read?)",
                "run again on a file that is not being written to",
            ))
        };
        let map = |names: &[String], global: &[String]| -> Result<Vec<u16>> {
            names
                .iter()
                .map(|n| global.binary_search_by(|x| x.as_str().cmp(n)).map(|k| k as u16).map_err(|_| changed()))
                .collect()
        };
        let class_map = map(&trace.class_names, &self.shape.class_names)?;
        let origin_map = map(&trace.origin_names, &self.shape.origin_names)?;
        trace.class.iter_mut().for_each(|c| *c = class_map[*c as usize]);
        trace.origin.iter_mut().for_each(|o| *o = origin_map[*o as usize]);
        trace.class_names = self.shape.class_names.clone();
        trace.origin_names = self.shape.origin_names.clone();
        Ok(trace)
    }
}

impl Iterator for Chunks<'_> {
    type Item = Result<Trace>;

    fn next(&mut self) -> Option<Result<Trace>> {
        loop {
            if let Some((trace, from)) = &mut self.pending {
                let to = (*from + self.chunk_rows).min(trace.len());
                let piece = if *from == 0 && to == trace.len() {
                    let (trace, _) = self.pending.take().expect("pending");
                    trace
                } else {
                    let piece = rows(trace, *from..to);
                    *from = to;
                    if to == trace.len() {
                        self.pending = None;
                    }
                    piece
                };
                return Some(Ok(piece));
            }
            match self.reader.next_chunk() {
                Err(e) => return Some(Err(e)),
                Ok(None) => return None,
                Ok(Some(raw)) => {
                    if raw.n_bad > 0 && raw.trace.is_empty() && !raw.bad.is_empty() {
                        return Some(Err(Error::Invalid(raw.bad)));
                    }
                    if raw.trace.is_empty() {
                        continue;
                    }
                    match self.recode(raw.trace) {
                        Ok(t) => self.pending = Some((t, 0)),
                        Err(e) => return Some(Err(e)),
                    }
                }
            }
        }
    }
}

/// Rows `range` of `trace` (request columns only; recorded columns are not streamed).
fn rows(trace: &Trace, range: std::ops::Range<usize>) -> Trace {
    Trace {
        source: trace.source.clone(),
        timestamp_s: trace.timestamp_s[range.clone()].to_vec(),
        class: trace.class[range.clone()].to_vec(),
        class_names: trace.class_names.clone(),
        origin: trace.origin[range.clone()].to_vec(),
        origin_names: trace.origin_names.clone(),
        input_tokens: trace.input_tokens[range.clone()].to_vec(),
        output_tokens: trace.output_tokens[range.clone()].to_vec(),
        cached_input_tokens: trace.cached_input_tokens.as_ref().map(|c| c[range].to_vec()),
        recorded: Recorded::default(),
        skipped_rows: 0,
        sorted_on_load: false,
        notices: Vec::new(),
    }
}
