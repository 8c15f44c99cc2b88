//! Parquet: only the used columns are read, one column chunk (one column of one row group) at a
//! time per thread, decoded by polars' Parquet decoder and converted straight into its rows of the
//! final columns, which are allocated once at the file's row count; each decoded chunk is freed as
//! soon as it is converted, so memory beyond the trace is a few decoded column chunks. A class or
//! origin column that is dictionary-encoded throughout is coded from its dictionary indices, once
//! per distinct name. Row groups can also be read a part at a time ([`parquet_part`]), for
//! `chunked.rs` and `groups.rs`.

use std::io::Read;
use std::path::Path;

use polars::io::parquet::read::_internal::to_deserializer;
use polars::io::parquet::read::FileMetadata;
use polars::prelude::{ArrayRef, ArrowDataType, ArrowField, ParquetReader, PolarsResult, SerReader, Series};
use rayon::prelude::*;

use super::builder::{BadCell, Builder, MAX_REPORTED};
use super::columns::{Col, Layout, N_COLS, NUM_COLS, TEXT_COLS, resolve_columns};
use super::dict::{GlobalDict, LocalDict, drop_unused_names};
use super::frame::{ColReport, NameCode, Out, cached_message, convert_column};
use super::guard::{guarded, polars_err, unreadable};
use super::options::ReadOptions;
use crate::error::{Error, Place, Problem, Result};
use crate::trace::Trace;
use crate::trace::bytes::open;

/// A Parquet file's layout: its metadata, columns and non-empty row groups.
#[derive(Clone)]
pub(super) struct ParquetFile {
    pub(super) metadata: std::sync::Arc<FileMetadata>,
    pub(super) layout: Layout,
    /// The field to decode each used column as.
    pub(super) fields: [Option<ArrowField>; N_COLS],
    /// Non-empty row groups and their row counts.
    pub(super) groups: Vec<usize>,
    pub(super) sizes: Vec<usize>,
}

impl ParquetFile {
    pub(super) fn open(path: &Path, opts: &ReadOptions) -> Result<ParquetFile> {
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

pub(super) fn read_parquet(path: &Path, opts: &ReadOptions) -> Result<Trace> {
    let file = ParquetFile::open(path, opts)?;
    parquet_part(path, opts, &file, 0..file.groups.len(), 0)?.finish(opts)
}

/// Read row groups `part` (indices into `file.groups`), whose first row is data row `row_base` of
/// the file, into a builder holding their good rows, or their bad rows' problems if there are any
/// and `--skip-bad-rows` is not given.
pub(super) fn parquet_part<'p>(
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
pub(super) fn parquet_series(
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::fs::File;

    use polars::prelude::DataFrame;

    use crate::error::Problem;
    use crate::trace::read::{parse_column_map, read};

    pub(crate) fn parquet_file(
        dir: &Path,
        name: &str,
        columns: Vec<polars::prelude::Column>,
        group: usize,
    ) -> std::path::PathBuf {
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
