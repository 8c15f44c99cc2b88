//! A Parquet trace read row group by row group for a consumer that uses each group's rows as
//! they are decoded ([`crate::engine::replay_parquet`]), so that its timestamp and token columns
//! are never held whole.
//!
//! Why: a 10M-request trace's columns are 200 MB, and on a fresh process every page of them is
//! first zeroed by the kernel, which on shared VMs can cost more than decoding and replaying it.
//! Read this way, only the class and origin codes (what routing and the summaries need for every
//! request) are kept whole; each row group's other columns are decoded into buffers that every
//! thread reuses.
//!
//! This reader takes only the common case: a file whose every cell is good and whose rows are in
//! time order. Anything else ([`ParquetGroups::segments`] or [`ParquetGroups::fold`] returns
//! `None`) goes to the whole-file reader ([`read()`](super::read())), which reports bad rows,
//! skips them with `--skip-bad-rows`, and sorts.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{ALL_COLS, Col, DEFAULT_CLASS, Out, ParquetFile, ReadOptions, TraceFormat, UNSPECIFIED_ORIGIN};
use super::{check_map, named_codes, parquet_column, parquet_part};
use crate::error::{Error, Result};
use crate::trace::Trace;

/// A Parquet trace, opened for reading one row group at a time.
pub struct ParquetGroups {
    path: PathBuf,
    file: ParquetFile,
    /// The first row of each (non-empty) row group.
    starts: Vec<usize>,
}

/// One row group's request columns, as [`ParquetGroups::fold`] hands them over.
#[derive(Debug, Clone, Copy)]
pub struct GroupRows<'a> {
    /// The trace row (request index) of the group's first row.
    pub first_row: usize,
    pub input_tokens: &'a [u32],
    pub output_tokens: &'a [u32],
    pub cached_input_tokens: Option<&'a [u32]>,
}

/// Why a fold stopped before its last row group.
enum Stop {
    Failed(Error),
    /// A bad cell, or rows out of time order: the whole-file reader's case.
    Unfit,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Failed(e)
    }
}

/// A row group's decoded columns, reused from group to group by one worker.
#[derive(Default)]
struct Buffers {
    ts: Vec<f64>,
    input: Vec<u32>,
    output: Vec<u32>,
    cached: Vec<u32>,
}

impl ParquetGroups {
    /// Open `path` if it is a Parquet trace (by `--format` or its extension); `Ok(None)` if it
    /// is not. Errors are the whole-file reader's: a missing column, a bad `--map`, a file that
    /// is not Parquet.
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<Option<ParquetGroups>> {
        if opts.format.or_else(|| TraceFormat::from_path(path)) != Some(TraceFormat::Parquet) {
            return Ok(None);
        }
        check_map(opts)?;
        let file = ParquetFile::open(path, opts)?;
        let starts = file
            .sizes
            .iter()
            .scan(0, |next, &size| {
                let start = *next;
                *next += size;
                Some(start)
            })
            .collect();
        Ok(Some(ParquetGroups { path: path.to_path_buf(), file, starts }))
    }

    /// Rows in the file.
    pub fn len(&self) -> usize {
        self.file.sizes.iter().sum()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Rows in each row group, in file order (what [`ParquetGroups::fold`] wants a state for).
    pub fn group_sizes(&self) -> &[usize] {
        &self.file.sizes
    }

    /// The trace's classes and origins with their names ([`Trace::segments_only`]), on all
    /// threads; `Ok(None)` if the file has no rows or a bad class or origin cell.
    pub fn segments(&self, opts: &ReadOptions) -> Result<Option<Trace>> {
        if self.is_empty() {
            return Ok(None);
        }
        let mut names_only = self.file.clone();
        for col in ALL_COLS {
            if !matches!(col, Col::Class | Col::Origin) {
                names_only.layout.index[col.idx()] = None;
            }
        }
        let part = parquet_part(&self.path, opts, &names_only, 0..names_only.groups.len(), 0)?;
        if part.n_bad > 0 {
            return Ok(None);
        }
        let n = part.rows;
        let class = named_codes(part.has[Col::Class.idx()], part.class_dict, part.class, n, DEFAULT_CLASS);
        let origin = named_codes(part.has[Col::Origin.idx()], part.origin_dict, part.origin, n, UNSPECIFIED_ORIGIN);
        Ok(Some(Trace::segments_only(self.path.display().to_string(), class, origin)))
    }

    /// Decode every row group's timestamp and token columns, on all threads, and give each to
    /// `f` with its own `state` (one per row group, in file order) and a worker's accumulator
    /// (`init` makes one per worker, `merge` combines them, in an order that depends on
    /// scheduling). `Ok(None)` if a cell is bad or the rows are not in time order (what `f` was
    /// given until then is lost: read the whole file instead).
    pub fn fold<S: Send, A: Send>(
        &self,
        states: Vec<S>,
        init: impl Fn() -> A + Sync + Send,
        f: impl Fn(&mut A, S, GroupRows<'_>) + Sync + Send,
        merge: impl Fn(A, A) -> A + Sync + Send,
    ) -> Result<Option<A>> {
        assert_eq!(states.len(), self.starts.len(), "one state per row group");
        let has_cached = self.file.layout.has(Col::Cached);
        let outcome = states
            .into_par_iter()
            .enumerate()
            .try_fold(
                || (init(), Vec::new(), Buffers::default()),
                |(mut acc, mut bounds, mut buf), (g, state)| {
                    let rows = self.file.sizes[g];
                    buf.ts.resize(rows, 0.0);
                    buf.input.resize(rows, 0);
                    buf.output.resize(rows, 0);
                    self.decode(g, Col::Timestamp, Out::F64(&mut buf.ts))?;
                    self.decode(g, Col::Input, Out::U32(&mut buf.input))?;
                    self.decode(g, Col::Output, Out::U32(&mut buf.output))?;
                    if has_cached {
                        buf.cached.resize(rows, 0);
                        self.decode(g, Col::Cached, Out::U32(&mut buf.cached))?;
                        if buf.cached.iter().zip(&buf.input).any(|(c, i)| c > i) {
                            return Err(Stop::Unfit);
                        }
                    }
                    if !buf.ts.windows(2).all(|w| w[0] <= w[1]) {
                        return Err(Stop::Unfit);
                    }
                    bounds.push((g, buf.ts[0], buf.ts[rows - 1]));
                    let rows = GroupRows {
                        first_row: self.starts[g],
                        input_tokens: &buf.input,
                        output_tokens: &buf.output,
                        cached_input_tokens: has_cached.then_some(&buf.cached[..]),
                    };
                    f(&mut acc, state, rows);
                    Ok((acc, bounds, buf))
                },
            )
            .map(|folded| folded.map(|(acc, bounds, _)| (acc, bounds)))
            .try_reduce(
                || (init(), Vec::new()),
                |(a, mut bounds), (b, more)| {
                    bounds.extend(more);
                    Ok((merge(a, b), bounds))
                },
            );
        match outcome {
            Err(Stop::Failed(e)) => Err(e),
            Err(Stop::Unfit) => Ok(None),
            Ok((acc, mut bounds)) => {
                // Each group is in time order; so is the file if each ends by the next one's start.
                bounds.sort_unstable_by_key(|&(g, _, _)| g);
                Ok(bounds.windows(2).all(|w| w[0].2 <= w[1].1).then_some(acc))
            }
        }
    }

    /// Decode column `col` of row group `g` into `out`; [`Stop::Unfit`] if a cell is bad.
    fn decode(&self, g: usize, col: Col, out: Out<'_, u16>) -> std::result::Result<(), Stop> {
        let field = self.file.fields[col.idx()].as_ref().expect("a field for every used column");
        let (report, _) = parquet_column(&self.path, &self.file.metadata, self.file.groups[g], field, col, out)?;
        if report.rows.is_empty() { Ok(()) } else { Err(Stop::Unfit) }
    }
}
