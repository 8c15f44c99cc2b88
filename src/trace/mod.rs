//! Traces: the canonical in-memory request table, and the only module that knows polars.
//!
//! A trace is columnar (one `Vec` per column) so that the replay engine can stream over it without
//! touching polars. Loading ([`read()`]) accepts CSV (also `.csv.gz`), Parquet and NDJSON, renames
//! columns with `--map`, validates every row (naming file, row, column, value and what was expected),
//! and sorts an unsorted trace with a warning. [`synth`] makes synthetic traffic from a YAML spec,
//! [`stats`] summarises a trace, and [`write`](mod@write) stores one as Parquet or CSV.
//!
//! [`import`] reads public traces and gateway logs (Azure, BurstGPT, Mooncake, OpenTelemetry GenAI
//! spans, LiteLLM spend logs, LLMPerf results) into the same [`Trace`], one file per format.
//! [`read()`] picks between the table reader ([`read`](mod@read), a folder of one file per job) and
//! an importer. Both use `bytes.rs` (numbers, fields and lines of bytes, mapped files), `datetime.rs`
//! and `sort.rs` (the stable sort by time); the reader never calls an importer, and the importers
//! call only the reader's public entry points.
//!
//! Deliberately absent: no routing, no sampling of outcomes; those belong to `engine`.

mod bytes;
mod datetime;
pub mod import;
pub mod read;
mod sort;
pub mod stats;
pub mod stream;
pub mod synth;
pub mod write;

use std::path::Path;

pub use read::{GroupRows, ParquetGroups, ReadOptions, TraceFormat};

use crate::error::{Error, Notice, Place, Problem, Result};

/// Read a trace file in any format: the table formats (CSV, CSV.gz, Parquet, NDJSON) through
/// [`read::read()`], the public traces and gateway logs through their [`import`]er. The choice is
/// made here, so that the reader and the importers do not call each other in a circle (the Azure
/// importer reads its rows with [`read::read()`]). See [`read`](mod@read) for the rules.
pub fn read(path: &Path, opts: &ReadOptions) -> Result<Trace> {
    let format = read::format_of(path, opts)?;
    if format.is_import() {
        if !opts.column_map.is_empty() {
            return Err(Error::one(Problem::new(
                Place::file(path).field("--map"),
                format!("--map does not apply to the {} importer, which knows its columns", format.name()),
                "drop --map, or convert the file to CSV first and map its columns",
            )));
        }
        let import_opts = import::ImportOptions { skip_bad_rows: opts.skip_bad_rows, spread_ties: opts.spread_ties };
        return import::import(path, format, &import_opts).map(|(trace, _)| trace);
    }
    read::read(path, opts)
}

/// Name used for the origin region when a trace has no `origin_region` column. The catalog's RTT to
/// and from it is zero.
pub const UNSPECIFIED_ORIGIN: &str = "unspecified";

/// Canonical column names.
pub mod columns {
    pub const TIMESTAMP_S: &str = "timestamp_s";
    pub const CLASS: &str = "class";
    pub const ORIGIN_REGION: &str = "origin_region";
    pub const INPUT_TOKENS: &str = "input_tokens";
    pub const OUTPUT_TOKENS: &str = "output_tokens";
    pub const CACHED_INPUT_TOKENS: &str = "cached_input_tokens";
    pub const REQUEST_ID: &str = "request_id";
    pub const MODEL: &str = "model";
    pub const REGION: &str = "region";
    pub const LATENCY_S: &str = "latency_s";
    pub const TTFT_S: &str = "ttft_s";
    pub const STATUS: &str = "status";
    pub const COST_USD: &str = "cost_usd";
}

/// Default class for traces without a `class` column.
pub const DEFAULT_CLASS: &str = "default";

/// A request trace in arrival order.
///
/// Invariants (established by every constructor): all columns have `len()` rows; `timestamp_s` is
/// finite and non-decreasing; `class[i] < class_names.len()`; `origin[i] < origin_names.len()`;
/// `class_names` and `origin_names` are sorted and unique. One exception: a trace built by
/// [`Trace::segments_only`] has empty `timestamp_s` and token columns (a replay reads those from
/// the file as it goes; see [`ParquetGroups`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// Where it came from (file path or "synthetic: ..."), for reports.
    pub source: String,
    pub timestamp_s: Vec<f64>,
    pub class: Vec<u16>,
    pub class_names: Vec<String>,
    pub origin: Vec<u16>,
    pub origin_names: Vec<String>,
    pub input_tokens: Vec<u32>,
    pub output_tokens: Vec<u32>,
    /// Input tokens served from the provider's prompt cache (priced at the cached-input rate), if the
    /// trace records them. Always <= `input_tokens`.
    pub cached_input_tokens: Option<Vec<u32>>,
    /// Recorded outcomes, kept when present in the input (later work replays and calibrates on them).
    pub recorded: Recorded,
    /// Rows skipped with `--skip-bad-rows` (0 otherwise). Reported in every summary.
    pub skipped_rows: usize,
    /// True if the input was not in time order and was sorted on load (stable sort).
    pub sorted_on_load: bool,
    /// What the reader did or saw that the user should know but that does not stop it (a column
    /// read under a slightly different name, a column that looks like a misspelt one); the
    /// command line prints them. The reader never prints.
    pub notices: Vec<Notice>,
}

/// Optional recorded outcome columns; each is `None` when the column is absent, and holds `None`
/// entries for null cells. Text columns are [`TextColumn`]s: one code per row into a table of the
/// distinct values, so a model or status repeated in every row of a large log is stored once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recorded {
    pub request_id: Option<TextColumn>,
    pub model: Option<TextColumn>,
    pub region: Option<TextColumn>,
    pub latency_s: Option<Vec<Option<f64>>>,
    pub ttft_s: Option<Vec<Option<f64>>>,
    pub status: Option<TextColumn>,
    pub cost_usd: Option<Vec<Option<f64>>>,
}

/// A text column stored as one `u32` code per row into a table of values: what the importers and
/// readers build for recorded names (model, region, status, request id), so that a million rows
/// naming two models cost two strings and four megabytes of codes, and sorting moves codes.
///
/// Equality is by content, row by row (the table's order and any duplicate entries in it do not
/// matter).
#[derive(Debug, Clone, Default)]
pub struct TextColumn {
    /// Values the codes point into (order of first appearance when built by [`TextColumn::push`]).
    pub values: Vec<String>,
    /// Per row: an index into `values`, or [`TextColumn::NULL`] for a null (empty) cell.
    pub codes: Vec<u32>,
}

impl TextColumn {
    /// The code of a null cell.
    pub const NULL: u32 = u32::MAX;

    /// A column from row values, interning equal values into one entry.
    pub fn from_options<S: AsRef<str>>(rows: impl IntoIterator<Item = Option<S>>) -> TextColumn {
        let mut interner = TextInterner::default();
        let codes = rows.into_iter().map(|v| interner.code(v.as_ref().map(AsRef::as_ref))).collect();
        TextColumn { values: interner.into_values(), codes }
    }
    pub fn len(&self) -> usize {
        self.codes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
    /// The value of row `i` (`None` for a null cell).
    pub fn get(&self, i: usize) -> Option<&str> {
        self.values.get(self.codes[i] as usize).map(String::as_str)
    }
    /// Every row's value, in row order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<&str>> + '_ {
        self.codes.iter().map(|&c| self.values.get(c as usize).map(String::as_str))
    }
    /// Every row's value as an owned string (tests, small tools).
    pub fn to_options(&self) -> Vec<Option<String>> {
        self.iter().map(|v| v.map(str::to_string)).collect()
    }
}

impl PartialEq for TextColumn {
    fn eq(&self, other: &TextColumn) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// Codes for text values, one entry per distinct value, in order of first appearance.
#[derive(Debug, Default)]
pub struct TextInterner {
    values: Vec<String>,
    index: std::collections::HashMap<String, u32>,
}

impl TextInterner {
    /// The code of `value` (`None` is [`TextColumn::NULL`]), adding it if new.
    pub fn code(&mut self, value: Option<&str>) -> u32 {
        let Some(v) = value else {
            return TextColumn::NULL;
        };
        if let Some(&c) = self.index.get(v) {
            return c;
        }
        let c = self.values.len() as u32;
        self.values.push(v.to_string());
        self.index.insert(v.to_string(), c);
        c
    }
    pub fn into_values(self) -> Vec<String> {
        self.values
    }
}

impl Recorded {
    /// Names of the recorded columns present.
    pub fn present(&self) -> Vec<&'static str> {
        use columns::*;
        let mut out = Vec::new();
        if self.request_id.is_some() {
            out.push(REQUEST_ID);
        }
        if self.model.is_some() {
            out.push(MODEL);
        }
        if self.region.is_some() {
            out.push(REGION);
        }
        if self.latency_s.is_some() {
            out.push(LATENCY_S);
        }
        if self.ttft_s.is_some() {
            out.push(TTFT_S);
        }
        if self.status.is_some() {
            out.push(STATUS);
        }
        if self.cost_usd.is_some() {
            out.push(COST_USD);
        }
        out
    }
}

impl Trace {
    pub fn len(&self) -> usize {
        self.class.len()
    }
    pub fn is_empty(&self) -> bool {
        self.class.is_empty()
    }

    /// A trace of only its classes and origins (with their names): what routing ([`Policy::bind`])
    /// and summaries read, without the timestamp and token columns, which stay empty. For a replay
    /// that reads those from the file as it goes ([`ParquetGroups`]), so that a large trace's
    /// request columns are never held whole.
    ///
    /// [`Policy::bind`]: crate::policy::Policy::bind
    pub fn segments_only(
        source: String,
        (class, class_names): (Vec<u16>, Vec<String>),
        (origin, origin_names): (Vec<u16>, Vec<String>),
    ) -> Trace {
        debug_assert_eq!(class.len(), origin.len());
        Trace { source, class, class_names, origin, origin_names, ..Trace::default() }
    }
    /// Class name of row `i`.
    pub fn class_name(&self, i: usize) -> &str {
        &self.class_names[self.class[i] as usize]
    }
    /// Origin name of row `i`.
    pub fn origin_name(&self, i: usize) -> &str {
        &self.origin_names[self.origin[i] as usize]
    }
    /// Whether the trace has a real origin column (not the single unspecified origin).
    pub fn has_origin(&self) -> bool {
        !(self.origin_names.len() == 1 && self.origin_names[0] == UNSPECIFIED_ORIGIN)
    }

    /// Build a trace from row-wise data (tests, synthesis, small tools). Sorts by time (stable) if
    /// needed; class and origin names are interned in sorted order.
    pub fn from_rows(source: impl Into<String>, rows: &[Row<'_>]) -> Trace {
        let mut class_names: Vec<String> = rows.iter().map(|r| r.class.to_string()).collect();
        class_names.sort();
        class_names.dedup();
        let mut origin_names: Vec<String> =
            rows.iter().map(|r| r.origin.unwrap_or(UNSPECIFIED_ORIGIN).to_string()).collect();
        origin_names.sort();
        origin_names.dedup();
        let class_idx = |n: &str| class_names.binary_search_by(|c| c.as_str().cmp(n)).unwrap() as u16;
        let origin_idx = |n: &str| origin_names.binary_search_by(|c| c.as_str().cmp(n)).unwrap() as u16;
        let mut order: Vec<usize> = (0..rows.len()).collect();
        let sorted = rows.windows(2).all(|w| w[0].timestamp_s <= w[1].timestamp_s);
        if !sorted {
            order.sort_by(|&a, &b| rows[a].timestamp_s.total_cmp(&rows[b].timestamp_s));
        }
        Trace {
            source: source.into(),
            timestamp_s: order.iter().map(|&i| rows[i].timestamp_s).collect(),
            class: order.iter().map(|&i| class_idx(rows[i].class)).collect(),
            origin: order.iter().map(|&i| origin_idx(rows[i].origin.unwrap_or(UNSPECIFIED_ORIGIN))).collect(),
            input_tokens: order.iter().map(|&i| rows[i].input_tokens).collect(),
            output_tokens: order.iter().map(|&i| rows[i].output_tokens).collect(),
            class_names: class_names.clone(),
            origin_names: origin_names.clone(),
            cached_input_tokens: None,
            recorded: Recorded::default(),
            skipped_rows: 0,
            sorted_on_load: !sorted,
            notices: Vec::new(),
        }
    }
}

/// One request, row-wise, for [`Trace::from_rows`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row<'a> {
    pub timestamp_s: f64,
    pub class: &'a str,
    pub origin: Option<&'a str>,
    pub input_tokens: u32,
    pub output_tokens: u32,
}
