//! NDJSON through polars. polars' NDJSON reader panics on some malformed lines, so every line is
//! first checked here (on all threads) to be one whole JSON object with no integer beyond 64 bits;
//! bad lines are reported by number, or dropped and counted with `--skip-bad-rows`, and polars only
//! ever sees whole objects. A column of mixed types is read again as text, so that the cell
//! conversions name its bad rows.

use std::io::Cursor;
use std::path::Path;

use polars::prelude::{DataType, JsonFormat, JsonReader, Schema, SerReader};
use rayon::prelude::*;

use super::builder::MAX_REPORTED;
use super::frame::frame_to_trace;
use super::guard::{guarded, polars_err};
use super::options::ReadOptions;
use crate::error::{Error, Place, Problem, Result};
use crate::trace::Trace;
use crate::trace::bytes::split_lines;

pub(super) fn read_ndjson(path: &Path, opts: &ReadOptions) -> Result<Trace> {
    let mut bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    let empty = || {
        Error::one(Problem::new(
            Place::file(path),
            "is empty; expected one JSON object per line",
            "write one object per request, e.g. {\"timestamp_s\": 0.5, \"input_tokens\": 800, \"output_tokens\": 300}",
        ))
    };
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(empty());
    }
    // polars' NDJSON reader panics on some malformed lines (a line cut short before its closing
    // brace slices past its buffer: polars-io 0.55.2 ndjson/core.rs), so every line is checked
    // here first, and polars only ever sees lines that are whole JSON objects.
    let bad_lines = ndjson_bad_lines(&bytes);
    if !bad_lines.is_empty() {
        if !opts.skip_bad_rows {
            return Err(Error::Invalid(ndjson_problems(path, &bad_lines)));
        }
        let skipped = bad_lines.len();
        bytes = ndjson_without(&bytes, &bad_lines);
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::one(Problem::new(
                Place::file(path),
                format!("all {skipped} lines are bad, so no rows are left"),
                "run without --skip-bad-rows to see which lines are bad and why",
            )));
        }
        let mut trace = ndjson_frame(bytes, path, opts)?;
        trace.skipped_rows += skipped;
        return Ok(trace);
    }
    ndjson_frame(bytes, path, opts)
}

/// An NDJSON line that is not one JSON object: (1-based line number, what is wrong).
type BadLine = (usize, String);

/// Every line of `bytes` that is neither blank nor a whole JSON object, checked on all threads.
fn ndjson_bad_lines(bytes: &[u8]) -> Vec<BadLine> {
    let pieces = split_lines(bytes, rayon::current_num_threads() * 4);
    let checked: Vec<(usize, Vec<BadLine>)> = pieces
        .par_iter()
        .map(|piece| {
            let mut bad = Vec::new();
            let mut n = 0;
            for (i, line) in piece.split(|&b| b == b'\n').enumerate() {
                n = i + 1;
                if let Some(why) = ndjson_line_error(line) {
                    bad.push((i, why));
                }
            }
            // A piece ends with its newline, which `split` counts as one more (empty) line.
            if piece.last() == Some(&b'\n') {
                n -= 1;
            }
            (n, bad)
        })
        .collect();
    let mut out = Vec::new();
    let mut base = 0;
    for (n, bad) in checked {
        out.extend(bad.into_iter().map(|(i, why)| (base + i + 1, why)));
        base += n;
    }
    out
}

/// Why one NDJSON line is not a JSON object, or `None` if it is one (or is blank).
fn ndjson_line_error(line: &[u8]) -> Option<String> {
    let text = line.strip_suffix(b"\r").unwrap_or(line);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    if text[start] != b'{' {
        let shown: String = String::from_utf8_lossy(&text[start..]).chars().take(20).collect();
        return Some(format!("starts with `{shown}`; each line must be one JSON object `{{...}}`"));
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
        Ok(_) => ndjson_wide_integer(text).map(|n| {
            format!(
                "holds the integer {n}, beyond what the NDJSON reader takes (-2^63 to 2^63-1); write it as a decimal number, or correct it"
            )
        }),
        Err(e) => {
            // serde_json says "... at line 1 column C"; the line is ours, the column is what helps.
            let full = e.to_string();
            let what = full.rsplit_once(" at line ").map_or(full.as_str(), |(w, _)| w);
            Some(format!("is not a whole JSON object: {what} at column {}", e.column()))
        }
    }
}

/// The first integer literal of a valid JSON line that does not fit in an i64 (outside strings).
/// polars infers a 128-bit integer column for one and then panics on that type (polars 0.55.2:
/// "Arrow datatype Int128 not supported by Polars").
fn ndjson_wide_integer(text: &[u8]) -> Option<String> {
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => {
                // Skip the string, escapes included (the line is valid JSON, so it is closed).
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < text.len() && matches!(text[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    i += 1;
                }
                let literal = &text[start..i];
                let integer = !literal.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
                // ASCII digits and signs only, so the conversion cannot fail.
                let literal = std::str::from_utf8(literal).unwrap_or_default();
                if integer && literal.parse::<i64>().is_err() {
                    return Some(literal.chars().take(40).collect());
                }
            }
            _ => i += 1,
        }
    }
    None
}

fn ndjson_problems(path: &Path, bad: &[BadLine]) -> Vec<Problem> {
    let fix = "close or correct the object on that line, or delete the line; --skip-bad-rows drops such lines (they are counted in the summary)";
    let mut out: Vec<Problem> = bad
        .iter()
        .take(MAX_REPORTED)
        .map(|(line, why)| Problem::new(Place::file(path).line(*line), why.clone(), fix))
        .collect();
    if bad.len() > MAX_REPORTED {
        out.push(Problem::new(
            Place::file(path),
            format!("... and {} more lines that are not JSON objects", bad.len() - MAX_REPORTED),
            "pass --skip-bad-rows to drop them all",
        ));
    }
    out
}

/// `bytes` without the lines listed in `bad` (sorted, 1-based).
fn ndjson_without(bytes: &[u8], bad: &[BadLine]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut drop = bad.iter().map(|b| b.0).peekable();
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        if drop.peek() == Some(&(i + 1)) {
            drop.next();
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

/// NDJSON whose every non-blank line is a JSON object, through polars into a trace.
fn ndjson_frame(bytes: Vec<u8>, path: &Path, opts: &ReadOptions) -> Result<Trace> {
    guarded(path, "NDJSON", || ndjson_frame_unguarded(bytes, path, opts))
}

fn ndjson_frame_unguarded(bytes: Vec<u8>, path: &Path, opts: &ReadOptions) -> Result<Trace> {
    let typed = JsonReader::new(Cursor::new(bytes.as_slice()))
        .with_json_format(JsonFormat::JsonLines)
        .infer_schema_len(None)
        .finish();
    let df = match typed {
        Ok(df) => df,
        Err(_) => {
            // Mixed types in a column (a string among numbers): read the canonical columns as text
            // so that the cell conversions can name the bad rows.
            let inferred = JsonReader::new(Cursor::new(bytes.as_slice()))
                .with_json_format(JsonFormat::JsonLines)
                .infer_schema_len(std::num::NonZeroUsize::new(1))
                .finish()
                .map_err(polars_err(path, "NDJSON"))?;
            let mut overwrite = Schema::default();
            for name in inferred.get_column_names() {
                overwrite.insert(name.clone(), DataType::String);
            }
            JsonReader::new(Cursor::new(bytes.as_slice()))
                .with_json_format(JsonFormat::JsonLines)
                .with_schema(std::sync::Arc::new(overwrite))
                .finish()
                .map_err(polars_err(path, "NDJSON"))?
        }
    };
    frame_to_trace(df, path, opts, None)
}
