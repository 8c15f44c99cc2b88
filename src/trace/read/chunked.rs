//! A trace file read a bounded chunk at a time, for `--stream` (see `trace::stream`): Parquet a
//! row group (or several, up to about `chunk_rows` rows) at a time, plain or gzip-compressed CSV in
//! batches of whole lines. The same conversions and checks as the whole-file reader, with rows and
//! lines counted from the file's start so that problems name the file's rows.

use std::io::{BufReader, Read};
use std::path::Path;

use rayon::prelude::*;

use super::builder::{Builder, Chunk, ChunkPool, RawChunk};
use super::columns::{Layout, check_map, resolve_columns};
use super::csv_fast::parse_piece;
use super::options::{ReadOptions, TraceFormat, convert_command};
use super::parquet::{ParquetFile, parquet_part};
use crate::error::{Error, Notice, Place, Problem, Result};
use crate::trace::bytes::{Batch, is_gzip, open, read_batch, split_lines};

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

    /// The notes and warnings on the file's columns ([`Trace::notices`](crate::trace::Trace::notices)).
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
