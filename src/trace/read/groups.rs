//! A Parquet trace read row group by row group for a consumer that uses each group's rows as
//! they are decoded ([`crate::run::replay_as_read`] through [`crate::engine::replay_groups`]), so that its timestamp and token columns
//! are never held whole.
//!
//! Why: a 10M-request trace's columns are 200 MB, and on a fresh process every page of them is
//! first zeroed by the kernel, which on shared VMs can cost more than decoding and replaying it.
//! Read this way, only the class and origin codes (what routing and the summaries need for every
//! request) are kept whole; each row group's timestamps and tokens are decoded, checked and
//! consumed in one task, and dropped.
//!
//! This reader takes only the common case: a file whose every cell is good and whose rows are in
//! time order. Anything else ([`ParquetGroups::segments`] or [`ParquetGroups::fold`] returns
//! `None`) goes to the whole-file reader ([`read()`](super::read())), which reports bad rows,
//! skips them with `--skip-bad-rows`, and sorts.

use std::path::{Path, PathBuf};

use polars::prelude::Series;
use rayon::prelude::*;

use super::columns::{ALL_COLS, Col, check_map};
use super::dict::{LocalDict, named_codes};
use super::frame::{Out, convert_column};
use super::guard::polars_err;
use super::options::{ReadOptions, TraceFormat};
use super::parquet::{ParquetFile, parquet_part, parquet_series};
use crate::error::{Error, Result};
use crate::trace::{DEFAULT_CLASS, Trace, UNSPECIFIED_ORIGIN};

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

/// A row group's columns converted cell by cell (when polars' decoded arrays cannot be used as
/// they are), reused from group to group by one worker.
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
        let mut trace = Trace::segments_only(self.path.display().to_string(), class, origin);
        trace.notices = self.file.layout.notices.clone();
        Ok(Some(trace))
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
                    let ts = self.series(g, Col::Timestamp)?;
                    let ts = match ts.f64().ok().and_then(|c| c.cont_slice().ok()) {
                        Some(ts) => ts,
                        None => self.convert(Col::Timestamp, &ts, &mut buf.ts, |b| Out::F64(b))?,
                    };
                    // In time order, and finite: NaN fails every comparison, and whatever lies
                    // between two finite values in order is finite.
                    let (first, last) = (ts[0], ts[ts.len() - 1]);
                    if !(first.is_finite() && last.is_finite() && ts.windows(2).all(|w| w[0] <= w[1])) {
                        return Err(Stop::Unfit);
                    }
                    bounds.push((g, first, last));
                    let (input, output) = (self.series(g, Col::Input)?, self.series(g, Col::Output)?);
                    let input = self.tokens(Col::Input, &input, &mut buf.input)?;
                    let output = self.tokens(Col::Output, &output, &mut buf.output)?;
                    let cached = if has_cached { Some(self.series(g, Col::Cached)?) } else { None };
                    let cached = cached.as_ref().map(|c| self.tokens(Col::Cached, c, &mut buf.cached)).transpose()?;
                    if cached.is_some_and(|c| c.iter().zip(input).any(|(c, i)| c > i)) {
                        return Err(Stop::Unfit);
                    }
                    let rows = GroupRows {
                        first_row: self.starts[g],
                        input_tokens: input,
                        output_tokens: output,
                        cached_input_tokens: cached,
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

    /// Column `col` of row group `g`, decoded.
    fn series(&self, g: usize, col: Col) -> Result<Series> {
        let field = self.file.fields[col.idx()].as_ref().expect("a field for every used column");
        parquet_series(&self.path, &self.file.metadata, self.file.groups[g], field, self.file.sizes[g])
    }

    /// A token column's values: the decoded array itself when it is already unsigned 32-bit
    /// integers without nulls (any such value is good), else converted into `buf`.
    fn tokens<'a>(&self, col: Col, series: &'a Series, buf: &'a mut Vec<u32>) -> Result<&'a [u32], Stop> {
        match series.u32().ok().and_then(|c| c.cont_slice().ok()) {
            Some(values) => Ok(values),
            None => self.convert(col, series, buf, |b| Out::U32(b)),
        }
    }

    /// `series` converted (and checked) cell by cell into `buf`, as the whole-file reader does;
    /// [`Stop::Unfit`] if a cell is bad.
    fn convert<'a, T: Default + Clone>(
        &self,
        col: Col,
        series: &Series,
        buf: &'a mut Vec<T>,
        out: impl FnOnce(&mut [T]) -> Out<'_, u16>,
    ) -> Result<&'a [T], Stop> {
        buf.clear();
        buf.resize(series.len(), T::default());
        let report = convert_column(col, series, out(buf), &mut LocalDict::default(), false)
            .map_err(polars_err(&self.path, "Parquet"))?;
        if report.rows.is_empty() { Ok(buf) } else { Err(Stop::Unfit) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::read::parquet::tests::parquet_file;
    use crate::trace::read::read;

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
}
