//! Mooncake traces (Kimi, FAST'25), JSON Lines, described at
//! <https://github.com/kvcache-ai/Mooncake/blob/main/FAST25-release/README.md>.
//!
//! One object per line: `timestamp` (milliseconds from the start of the trace), `input_length`,
//! `output_length`, `hash_ids` (prefix-cache block ids of 512 tokens; equal ids mean a shared
//! prefix). The arXiv trace's clock is quantised (about 3 s steps), so many requests share a
//! timestamp: `--spread-ties` spreads each such run evenly over the gap to the next timestamp.
//! `hash_ids` has no canonical column; the report gives the share of blocks already seen earlier
//! in the trace (an upper bound on what a prompt cache could serve).
//!
//! The file is mapped and cut at line ends into parts parsed on all threads, joined in file order
//! (so nothing depends on the thread count). A line of exactly the layout above with plain integer
//! values is read by a small byte scanner; any other line (another key, a fraction, an escape, a
//! bad value) goes to `serde_json`, which reads it as it always has and names what is wrong.

use std::io::BufRead;
use std::path::Path;

use rayon::prelude::*;
use serde::Deserialize;

use super::{BadRecords, FIX_ROW, ImportOptions, ImportReport, Imported, Importer, MAX_NAMED};
use crate::error::{Error, Result};
use crate::trace::bytes::{map_file, split_lines};
use crate::trace::read::TraceFormat;
use crate::trace::sort::sort_by_time;
use crate::trace::{DEFAULT_CLASS, Trace, UNSPECIFIED_ORIGIN, columns};

pub struct Mooncake;

#[derive(Deserialize)]
struct Line {
    timestamp: f64,
    input_length: u32,
    output_length: u32,
    #[serde(default)]
    hash_ids: Vec<u64>,
}

const KNOWN: [&str; 4] = ["timestamp", "input_length", "output_length", "hash_ids"];

impl Importer for Mooncake {
    fn format_url(&self) -> &'static str {
        "https://github.com/kvcache-ai/Mooncake/blob/main/FAST25-release/README.md"
    }

    fn import(&self, path: &Path, opts: &ImportOptions) -> Result<Imported> {
        import_with(path, opts, Some(PIECE))
    }
}

/// Bytes per part of the mapped file (at least four parts per thread, for work stealing).
const PIECE: usize = 4 << 20;

/// The import: the mapped file in parts of about `piece` bytes on all threads, or (`None`, the
/// reference route for tests) every line through `serde_json`, one at a time.
fn import_with(path: &Path, opts: &ImportOptions, piece: Option<usize>) -> Result<Imported> {
    let mut report = ImportReport::new(TraceFormat::Mooncake, path);
    report.map(columns::TIMESTAMP_S, "timestamp (milliseconds / 1000)");
    report.map(columns::INPUT_TOKENS, "input_length");
    report.map(columns::OUTPUT_TOKENS, "output_length");
    report.skip("hash_ids", "prefix-cache block ids: no canonical column (prefix reuse is in the notes)");
    report.missing = ["class", "origin_region", "model", "region", "latency_s", "ttft_s", "status", "cost_usd"]
        .map(String::from)
        .to_vec();

    let parts = match piece {
        Some(piece) => read_parts(path, piece)?,
        None => vec![read_serde(path)?],
    };
    let mut extra_fields: Vec<String> = Vec::new();
    let mut bad = BadRecords::new(path);
    let n: usize = parts.iter().map(|p| p.ts.len()).sum();
    let (mut ts, mut input, mut output) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let mut blocks = Blocks::default();
    let (mut lines, mut records, mut unnamed) = (0, 0, 0);
    for part in parts {
        if part.not_utf8 {
            return Err(Error::read(path, not_utf8()));
        }
        if records == 0 && part.records > 0 {
            extra_fields = part.first_extra;
        }
        for b in part.bad {
            let mut place = bad.place().line(lines + b.line).row(records + b.row);
            if let Some(f) = b.field {
                place = place.field(f);
            }
            bad.bad(place, b.message, b.fix);
        }
        unnamed += part.n_bad - part.n_named;
        lines += part.lines;
        records += part.records;
        ts.extend_from_slice(&part.ts);
        input.extend_from_slice(&part.input);
        output.extend_from_slice(&part.output);
        blocks.merge(part.blocks);
    }
    bad.count_more(unnamed);
    for f in extra_fields {
        report.skip(&f, "not part of the Mooncake layout");
    }
    report.records = records;
    report.skipped_bad = bad.finish(opts, records)?;
    let (n_blocks, distinct) = (blocks.count, blocks.distinct());
    if n_blocks > 0 {
        // A block is reused when its id was seen earlier: every occurrence but the first.
        let reused = n_blocks - distinct;
        report.note(format!(
            "prefix reuse: {:.1}% of {n_blocks} prefix blocks (hash_ids) were already seen earlier in the trace",
            100.0 * reused as f64 / n_blocks as f64
        ));
    }
    let ties = ts.windows(2).filter(|w| w[0] == w[1]).count();
    if ties > 0 && !opts.spread_ties {
        report.note(format!(
            "{ties} requests share their timestamp with the one before (quantised clock); --spread-ties spreads them"
        ));
    }
    let n = ts.len();
    let mut trace = Trace {
        source: path.display().to_string(),
        timestamp_s: ts,
        class: vec![0; n],
        class_names: vec![DEFAULT_CLASS.to_string()],
        origin: vec![0; n],
        origin_names: vec![UNSPECIFIED_ORIGIN.to_string()],
        input_tokens: input,
        output_tokens: output,
        ..Trace::default()
    };
    sort_by_time(&mut trace);
    Ok(Imported { report, ready: Some(trace), ..Imported::default() })
}

/// The error `BufRead::lines` gives for a line that is not UTF-8.
fn not_utf8() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8")
}

/// The mapped (or read) file in parts of whole lines, parsed on all threads, in file order.
fn read_parts(path: &Path, piece: usize) -> Result<Vec<Part>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let map = map_file(&file).filter(|m| !m.is_empty());
    let read;
    let data: &[u8] = match &map {
        Some(m) => m,
        None => {
            read = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            &read
        }
    };
    let n = (rayon::current_num_threads() * 4).max(data.len() / piece.max(1));
    Ok(split_lines(data, n).into_par_iter().map(parse_part).collect())
}

/// Every line through `serde_json`, one at a time, into one part (the reference route).
fn read_serde(path: &Path) -> Result<Part> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut part = Part::default();
    let mut ids = Vec::new();
    for line in reader.lines() {
        let line = line.map_err(|e| Error::read(path, e))?;
        part.lines += 1;
        part.slow_line(line.as_bytes(), &mut ids);
    }
    Ok(part)
}

/// One bad record, placed within its part (lines and rows from 1).
struct BadLine {
    line: usize,
    row: usize,
    field: Option<&'static str>,
    message: String,
    fix: String,
}

/// Prefix-cache block ids: how many, and which (small ids as bits, others listed).
#[derive(Default)]
struct Blocks {
    count: u64,
    bits: Vec<u64>,
    large: Vec<u64>,
}

/// Ids below this are kept as bits (at most 2 MB per part); the trace's ids are small integers.
const SMALL_IDS: u64 = 1 << 24;

impl Blocks {
    #[inline]
    fn add(&mut self, id: u64) {
        self.count += 1;
        if id < SMALL_IDS {
            let word = (id >> 6) as usize;
            if word >= self.bits.len() {
                self.bits.resize(word + 1, 0);
            }
            self.bits[word] |= 1 << (id & 63);
        } else {
            self.large.push(id);
        }
    }
    fn merge(&mut self, other: Blocks) {
        self.count += other.count;
        if other.bits.len() > self.bits.len() {
            self.bits.resize(other.bits.len(), 0);
        }
        self.bits.iter_mut().zip(&other.bits).for_each(|(a, b)| *a |= b);
        self.large.extend(other.large);
    }
    /// How many distinct ids.
    fn distinct(mut self) -> u64 {
        self.large.par_sort_unstable();
        self.large.dedup();
        self.bits.iter().map(|w| u64::from(w.count_ones())).sum::<u64>() + self.large.len() as u64
    }
}

/// A part of the file (whole lines), converted: good rows as columns, the first bad records.
#[derive(Default)]
struct Part {
    /// Lines (blank ones too) and records (non-blank lines, good and bad).
    lines: usize,
    records: usize,
    ts: Vec<f64>,
    input: Vec<u32>,
    output: Vec<u32>,
    blocks: Blocks,
    bad: Vec<BadLine>,
    n_bad: usize,
    n_named: usize,
    /// A line is not UTF-8: the import fails (the rest of the part is not read).
    not_utf8: bool,
    /// The fields of this part's first record that are not in the layout (when it is an object).
    first_extra: Vec<String>,
}

impl Part {
    fn push(&mut self, timestamp_s: f64, input: u32, output: u32, ids: &[u64]) {
        self.ts.push(timestamp_s + 0.0);
        self.input.push(input);
        self.output.push(output);
        for &id in ids {
            self.blocks.add(id);
        }
    }

    fn push_bad(&mut self, field: Option<&'static str>, message: String, fix: String) {
        self.n_bad += 1;
        if self.bad.len() < MAX_NAMED {
            self.n_named += 1;
            self.bad.push(BadLine { line: self.lines, row: self.records, field, message, fix });
        }
    }

    /// One line (without its line end, already counted in `lines`) as the importer has always read
    /// it: blank lines skipped, the rest through `serde_json`.
    fn slow_line(&mut self, raw: &[u8], ids: &mut Vec<u64>) {
        let Ok(line) = std::str::from_utf8(raw) else {
            self.not_utf8 = true;
            return;
        };
        if line.trim().is_empty() {
            return;
        }
        self.records += 1;
        if self.records == 1
            && let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(line)
        {
            self.first_extra = map.keys().filter(|k| !KNOWN.contains(&k.as_str())).cloned().collect();
        }
        let parsed: Line = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                let field = KNOWN.iter().find(|k| e.to_string().contains(&format!("`{k}`"))).copied();
                self.push_bad(
                    field,
                    format!("is not a Mooncake record: {e}"),
                    format!("each line must be an object like {{\"timestamp\": 0, \"input_length\": 512, \"output_length\": 16, \"hash_ids\": [0]}}; {FIX_ROW}"),
                );
                return;
            }
        };
        if !parsed.timestamp.is_finite() || parsed.timestamp < 0.0 {
            let message = format!("`{}` is not a non-negative number of milliseconds", parsed.timestamp);
            self.push_bad(Some("timestamp"), message, FIX_ROW.to_string());
            return;
        }
        ids.clear();
        ids.extend_from_slice(&parsed.hash_ids);
        self.push(parsed.timestamp / 1000.0, parsed.input_length, parsed.output_length, ids);
    }
}

/// Whole lines (the last may lack its line end) into a part.
fn parse_part(buf: &[u8]) -> Part {
    let mut part = Part::default();
    let estimate = buf.len() / 128 + 16;
    part.ts.reserve(estimate);
    part.input.reserve(estimate);
    part.output.reserve(estimate);
    let mut ids = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        part.lines += 1;
        ids.clear();
        if let Some((quick, next)) = quick_line(buf, pos, &mut ids) {
            if let Quick::Row { ms, input, output } = quick {
                part.records += 1;
                if part.records == 1 {
                    // Exactly the known keys (`hash_ids` may be absent): nothing extra to report.
                    part.first_extra = Vec::new();
                }
                part.push(ms as f64 / 1000.0, input, output, &ids);
            }
            pos = next;
            continue;
        }
        let end = buf[pos..].iter().position(|&b| b == b'\n').map_or(buf.len(), |p| pos + p);
        let mut line = &buf[pos..end];
        // `BufRead::lines` drops the `\r` of a `\r\n` line end only.
        if end < buf.len() && line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        pos = end + 1;
        part.slow_line(line, &mut ids);
        if part.not_utf8 {
            break;
        }
    }
    part
}

/// What the byte scanner made of a line.
#[derive(Debug, PartialEq)]
enum Quick {
    /// Only spaces, tabs and carriage returns.
    Blank,
    /// A record of the known keys with plain integer values (the ids are in the caller's buffer).
    Row { ms: u64, input: u32, output: u32 },
}

/// JSON whitespace within a line.
#[inline(always)]
fn skip_ws(buf: &[u8], mut p: usize) -> usize {
    while p < buf.len() && matches!(buf[p], b' ' | b'\t' | b'\r') {
        p += 1;
    }
    p
}

/// A JSON integer of at most 19 digits (no sign, no leading zero) at `p`, and where it ends.
#[inline(always)]
fn json_uint(buf: &[u8], p: usize) -> Option<(u64, usize)> {
    let mut i = p;
    let mut v = 0u64;
    while i < buf.len() && buf[i].is_ascii_digit() {
        v = v.wrapping_mul(10).wrapping_add(u64::from(buf[i] - b'0'));
        i += 1;
    }
    let digits = i - p;
    if digits == 0 || digits > 19 || (digits > 1 && buf[p] == b'0') {
        return None;
    }
    Some((v, i))
}

/// The line starting at `p`, read by bytes when it is blank or exactly the Mooncake layout
/// (`{"timestamp": ms, "input_length": n, "output_length": n, "hash_ids": [id, ...]}`, keys in any
/// order, `hash_ids` optional, plain integers, any JSON whitespace), with where the next line
/// starts. Anything else is `None`, for `serde_json` to read (and, if it is wrong, to say why); a
/// line taken here is one `serde_json` reads to the same values.
#[inline]
fn quick_line(buf: &[u8], p: usize, ids: &mut Vec<u64>) -> Option<(Quick, usize)> {
    let mut p = skip_ws(buf, p);
    match buf.get(p) {
        None => return Some((Quick::Blank, p)),
        Some(b'\n') => return Some((Quick::Blank, p + 1)),
        Some(b'{') => p += 1,
        _ => return None,
    }
    let (mut ms, mut input, mut output, mut seen) = (0u64, 0u32, 0u32, 0u8);
    loop {
        p = skip_ws(buf, p);
        if buf.get(p) != Some(&b'"') {
            return None;
        }
        let start = p + 1;
        let len = buf.get(start..)?.iter().position(|&b| matches!(b, b'"' | b'\\' | b'\n'))?;
        let end = start + len;
        if buf[end] != b'"' {
            return None;
        }
        p = skip_ws(buf, end + 1);
        if buf.get(p) != Some(&b':') {
            return None;
        }
        p = skip_ws(buf, p + 1);
        let key = match &buf[start..end] {
            b"timestamp" => {
                // Up to 2^53 an integer is exact as f64, as serde_json converts it.
                (ms, p) = json_uint(buf, p).filter(|&(v, _)| v <= 1 << 53)?;
                1
            }
            b"input_length" => {
                let (v, next) = json_uint(buf, p)?;
                (input, p) = (u32::try_from(v).ok()?, next);
                2
            }
            b"output_length" => {
                let (v, next) = json_uint(buf, p)?;
                (output, p) = (u32::try_from(v).ok()?, next);
                4
            }
            b"hash_ids" => {
                p = id_list(buf, p, ids)?;
                8
            }
            _ => return None,
        };
        if seen & key != 0 {
            return None;
        }
        seen |= key;
        p = skip_ws(buf, p);
        match buf.get(p) {
            Some(b',') => p += 1,
            Some(b'}') => {
                p += 1;
                break;
            }
            _ => return None,
        }
    }
    if seen & 7 != 7 {
        return None;
    }
    p = skip_ws(buf, p);
    match buf.get(p) {
        None => {}
        Some(b'\n') => p += 1,
        Some(_) => return None,
    }
    Some((Quick::Row { ms, input, output }, p))
}

/// A JSON array of plain integers at `p` into `ids`, and where it ends.
#[inline]
fn id_list(buf: &[u8], p: usize, ids: &mut Vec<u64>) -> Option<usize> {
    if buf.get(p) != Some(&b'[') {
        return None;
    }
    let mut p = skip_ws(buf, p + 1);
    if buf.get(p) == Some(&b']') {
        return Some(p + 1);
    }
    loop {
        let (id, next) = json_uint(buf, p)?;
        ids.push(id);
        p = skip_ws(buf, next);
        match buf.get(p) {
            Some(b',') => p = skip_ws(buf, p + 1),
            Some(b']') => return Some(p + 1),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(path: &Path, skip: bool, piece: Option<usize>, threads: usize) -> Result<(Trace, ImportReport)> {
        let opts = ImportOptions { skip_bad_rows: skip, ..ImportOptions::default() };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| import_with(path, &opts, piece)).map(|i| (i.ready.unwrap(), i.report))
    }

    /// The parts route gives what `serde_json` line by line gives (trace, report, and the same
    /// errors naming the same lines, rows and fields), at any part size and thread count.
    fn check_same_as_serde(path: &Path) {
        for skip in [true, false] {
            let want = run(path, skip, None, 1);
            for piece in [1, 7, 64, PIECE] {
                for threads in [1, 3] {
                    let got = run(path, skip, Some(piece), threads);
                    match (&want, &got) {
                        (Ok(w), Ok(g)) => assert_eq!(w, g, "piece {piece}, {threads} threads, skip {skip}"),
                        (Err(w), Err(g)) => {
                            assert_eq!(w.to_string(), g.to_string(), "piece {piece}, {threads} threads")
                        }
                        _ => panic!("one route failed: serde {want:?} vs parts {got:?}"),
                    }
                }
            }
        }
    }

    fn file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Lines the scanner takes and lines it leaves to `serde_json` (good and bad), blank lines of
    /// every kind, CRLF and a last line without its line end.
    const LINES: &str = "{\"timestamp\": 3000, \"input_length\": 512, \"output_length\": 7, \"hash_ids\": [0, 1]}\n\
        \n\
        {\"hash_ids\":[2,0],\"output_length\":5,\"input_length\":600,\"timestamp\":0}\r\n\
        \t \r\n\
        {\"timestamp\": 1500.5, \"input_length\": 10, \"output_length\": 1, \"hash_ids\": [3]}\n\
        {\"timestamp\": 1e3, \"input_length\": 10, \"output_length\": 1}\n\
        {\"timestamp\": 7, \"input_length\": 10, \"output_length\": 1, \"hash_ids\": []}\n\
        {\"timestamp\": 9, \"input_length\": 10, \"output_length\": 1, \"hash_ids\": [99999999999]}\n\
        {\"timestamp\": 9, \"input_length\": 10, \"output_length\": 1, \"session\": \"a\", \"hash_ids\": [4]}\n\
        {\"timestamp\": -5, \"input_length\": 10, \"output_length\": 1}\n\
        {\"timestamp\": 5, \"input_length\": 4294967296, \"output_length\": 1}\n\
        {\"timestamp\": 5, \"input_length\": 012, \"output_length\": 1}\n\
        {\"timestamp\": 5, \"input_length\": 12, \"output_length\": 1, \"hash_ids\": [1.5]}\n\
        {\"timestamp\": 5, \"input_length\": 12, \"output_length\": 1, \"hash_ids\": [1,]}\n\
        {\"timestamp\": 5, \"input_length\": 12}\n\
        {\"timestamp\": 5, \"input_length\": 12, \"output_length\": 1, \"timestamp\": 6}\n\
        {\"time\\u0073tamp\": 5, \"input_length\": 12, \"output_length\": 1}\n\
        {\"timestamp\": 5, \"input_length\": 12, \"output_length\": 1} x\n\
        {\"timestamp\": 5, \"input_length\": \"12\", \"output_length\": 1}\n\
        [1, 2]\n\
        \u{b}\n\
        {\"timestamp\": 4, \"input_length\": 12, \"output_length\": 3, \"hash_ids\": [18446744073709551615, 1]}\n\
        {\"timestamp\": 4, \"input_length\": 12, \"output_length\": 3, \"hash_ids\": null}\n\
        {\"timestamp\": 2, \"input_length\": 8, \"output_length\": 2, \"hash_ids\": [1, 16777216, 16777216]}\r";

    #[test]
    fn the_byte_scanner_agrees_with_serde_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(&dir, "m.jsonl", LINES.as_bytes());
        check_same_as_serde(&path);
        let (t, report) = run(&path, true, Some(7), 2).unwrap();
        assert_eq!(report.records, 21);
        assert_eq!(report.skipped_bad, 11);
        // `1e3` and the escaped key are read by serde_json, and are good.
        assert_eq!(t.timestamp_s, [0.0, 0.002, 0.004, 0.005, 0.007, 0.009, 0.009, 1.0, 1.5005, 3.0]);
        // Blocks of the good rows: [0,1] [2,0] [3] [99999999999] [4] [u64::MAX,1] [1,2^24,2^24]:
        // 12 blocks, 8 distinct (0 to 4, 99999999999, 2^24, u64::MAX), so 4 seen before.
        let want = format!("{:.1}% of 12 prefix blocks", 100.0 * 4.0 / 12.0);
        assert!(report.notes.iter().any(|n| n.contains(&want)), "want {want:?} in {:?}", report.notes);
        let err = run(&path, false, Some(7), 2).unwrap_err().to_string();
        for needle in [
            "m.jsonl:10, row 8, `timestamp`",
            "`-5` is not a non-negative number of milliseconds",
            "m.jsonl:11, row 9: is not a Mooncake record: invalid value: integer `4294967296`",
            "m.jsonl:15, row 13, `output_length`: is not a Mooncake record: missing field `output_length`",
            "m.jsonl:16, row 14, `timestamp`",
            "duplicate field",
            "fix: each line must be an object like",
            "... and 1 more bad records (11 of 21 are bad)",
        ] {
            assert!(err.contains(needle), "{needle:?} not in {err}");
        }
    }

    #[test]
    fn extra_fields_of_the_first_record_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let text = "\n{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"session\": 3}\n\
            {\"timestamp\": 1, \"input_length\": 1, \"output_length\": 1, \"other\": 3}\n";
        let path = file(&dir, "extra.jsonl", text.as_bytes());
        check_same_as_serde(&path);
        let (_, report) = run(&path, false, Some(1), 2).unwrap();
        assert!(report.not_mapped.iter().any(|(f, _)| f == "session"), "{:?}", report.not_mapped);
        assert!(!report.not_mapped.iter().any(|(f, _)| f == "other"), "{:?}", report.not_mapped);
    }

    #[test]
    fn a_line_that_is_not_utf8_fails_the_import_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = b"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1}\n".to_vec();
        bytes.extend_from_slice(b"{\"timestamp\": 1, \"input_length\": 1, \"output_length\": 1, \"x\": \"\xff\"}\n");
        let path = file(&dir, "bad.jsonl", &bytes);
        check_same_as_serde(&path);
        let err = run(&path, true, Some(1), 2).unwrap_err().to_string();
        assert!(err.contains("bad.jsonl") && err.contains("UTF-8"), "{err}");
    }

    #[test]
    fn the_scanner_reads_the_layout_and_leaves_the_rest() {
        let mut ids = Vec::new();
        let line = b"{\"timestamp\": 3000, \"input_length\": 512, \"output_length\": 7, \"hash_ids\": [0, 12]}\nnext";
        let (quick, next) = quick_line(line, 0, &mut ids).unwrap();
        assert_eq!(quick, Quick::Row { ms: 3000, input: 512, output: 7 });
        assert_eq!((ids.as_slice(), &line[next..]), (&[0, 12][..], &b"next"[..]));
        assert_eq!(quick_line(b" \t\r\n{", 0, &mut ids), Some((Quick::Blank, 4)));
        for other in [
            &b"{\"timestamp\": 0.5, \"input_length\": 1, \"output_length\": 1}"[..],
            b"{\"timestamp\": 0, \"input_length\": 1}",
            b"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"x\": 1}",
            b"{\"timestamp\": 00, \"input_length\": 1, \"output_length\": 1}",
            b"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1,}",
            b"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [1 2]}",
            b"{\"timestamp\": 99999999999999999999, \"input_length\": 1, \"output_length\": 1}",
        ] {
            assert_eq!(quick_line(other, 0, &mut ids), None, "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn the_real_trace_reads_the_same_by_both_routes() {
        let shared = std::env::var_os("SWITCHYARD_SHARED_DATA")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
        let path = shared.join("traces/mooncake_fast25/synthetic_trace.jsonl");
        if !path.exists() {
            eprintln!("skipped: {} is absent (set SWITCHYARD_SHARED_DATA to the shared data folder)", path.display());
            return;
        }
        let want = run(&path, false, None, 1).unwrap();
        for threads in [1, 2] {
            assert_eq!(run(&path, false, Some(PIECE), threads).unwrap(), want, "{threads} threads");
            assert_eq!(run(&path, false, Some(4096), threads).unwrap(), want, "{threads} threads");
        }
    }
}
