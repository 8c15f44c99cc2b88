//! Byte-level input helpers that the table reader ([`super::read`](mod@super::read)) and the importers
//! ([`super::import`]) share, so that neither borrows the other's internals: plain numbers parsed
//! straight from byte slices (with `str::parse`'s exact result), field and blank-line scanning,
//! whole-line batches and pieces for parsing on all threads, opening and memory-mapping a file, and
//! a `csv` crate error as a problem naming the line.
//!
//! Deliberately absent: anything that knows the canonical columns or builds a [`super::Trace`].

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Place, Problem, Result};

/// 10^0 ..= 10^22, all exact in f64.
pub(crate) const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// Plain decimals (`-?digits[.digits]`) with at most 2^53 as the digit string and at most 22
/// fraction digits: then m / 10^k of two exact doubles is the correctly rounded value (Clinger's
/// fast path), identical to `str::parse`. Anything else returns `None` for the general parser.
#[inline]
pub(crate) fn parse_f64_fast(s: &[u8]) -> Option<f64> {
    let (negative, mut i) = match s.first() {
        Some(b'-') => (true, 1),
        _ => (false, 0),
    };
    let mut mantissa: u64 = 0;
    let int_start = i;
    while i < s.len() && s[i].is_ascii_digit() {
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(s[i] - b'0'));
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < s.len() && s[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(s[i] - b'0'));
            i += 1;
        }
        frac_digits = i - frac_start;
    }
    let digits = int_digits + frac_digits;
    if i != s.len() || digits == 0 || digits > 19 || frac_digits > 22 || mantissa > (1 << 53) {
        return None;
    }
    let v = mantissa as f64 / POW10[frac_digits];
    Some(if negative { -v } else { v })
}

/// Plain non-negative integers up to u32::MAX.
#[inline]
pub(crate) fn parse_u32_fast(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
    }
    u32::try_from(v).ok()
}

/// Index of the first `,` or `\n` at or after `p` (or the end), eight bytes at a time.
#[inline(always)]
pub(crate) fn field_end(buf: &[u8], mut p: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while p + 8 <= buf.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&buf[p..p + 8]);
        let x = u64::from_le_bytes(word);
        let comma = x ^ (ONES * u64::from(b','));
        let newline = x ^ (ONES * u64::from(b'\n'));
        // A zero byte in `comma` or `newline` marks a match; the lowest flagged byte is exact.
        let found = ((comma.wrapping_sub(ONES) & !comma) | (newline.wrapping_sub(ONES) & !newline)) & HIGHS;
        if found != 0 {
            return p + (found.trailing_zeros() / 8) as usize;
        }
        p += 8;
    }
    while p < buf.len() && buf[p] != b',' && buf[p] != b'\n' {
        p += 1;
    }
    p
}

/// The length of the blank line (`\n` or `\r\n`, or a lone `\r` at the end) starting at `pos`, if
/// it is one.
#[inline]
pub(crate) fn blank_line(buf: &[u8], pos: usize) -> Option<usize> {
    match buf[pos] {
        b'\n' => Some(1),
        b'\r' if buf.get(pos + 1).is_none_or(|&b| b == b'\n') => Some(2),
        _ => None,
    }
}

/// A batch of input: `buf[..cut]` holds whole lines; `buf[cut..]` is the start of a line that
/// continues in the next batch.
pub(crate) struct Batch {
    pub buf: Vec<u8>,
    pub cut: usize,
    pub eof: bool,
}

pub(crate) fn read_batch<R: Read>(src: &mut R, carry: &[u8], want: usize, spare: Vec<u8>) -> std::io::Result<Batch> {
    // Reusing the previous buffer saves the page faults of a fresh one.
    let mut buf = spare;
    buf.clear();
    buf.reserve(carry.len() + want);
    buf.extend_from_slice(carry);
    let mut want = want;
    loop {
        let got = src.by_ref().take(want as u64).read_to_end(&mut buf)?;
        let eof = got < want;
        if eof {
            let cut = buf.len();
            return Ok(Batch { buf, cut, eof });
        }
        if let Some(nl) = buf.iter().rposition(|&b| b == b'\n') {
            return Ok(Batch { buf, cut: nl + 1, eof });
        }
        // One line longer than a whole block: read on.
        want = want.max(1 << 20);
    }
}

/// Split whole lines into about `n` pieces at line ends.
pub(crate) fn split_lines(bytes: &[u8], n: usize) -> Vec<&[u8]> {
    let mut pieces = Vec::with_capacity(n);
    let mut start = 0;
    let target = bytes.len() / n.max(1) + 1;
    while start < bytes.len() {
        let mut end = (start + target).min(bytes.len());
        if end < bytes.len() {
            end = match bytes[end..].iter().position(|&b| b == b'\n') {
                Some(p) => end + p + 1,
                None => bytes.len(),
            };
        }
        pieces.push(&bytes[start..end]);
        start = end;
    }
    pieces
}

pub(crate) fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| Error::io(path, e))
}

pub(crate) fn is_gzip(path: &Path) -> Result<bool> {
    let mut magic = [0u8; 2];
    let mut f = open(path)?;
    let mut got = 0;
    while got < 2 {
        match f.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(got == 2 && magic == [0x1f, 0x8b])
}

/// A plain file's bytes, mapped into memory rather than read: the page cache's pages are used as
/// they are, with no copy (a copy of a large trace cost as much as parsing it). `None` when the
/// file cannot be mapped (an empty file, a pipe): the caller reads it instead.
pub(crate) fn map_file(file: &File) -> Option<memmap2::Mmap> {
    // SAFETY: the file is opened read-only and the mapping is only read. If another process
    // truncated or rewrote the file while it is read, the bytes seen could change or the read
    // could fault (SIGBUS); polars' own CSV and Parquet readers map input files the same way.
    unsafe { memmap2::Mmap::map(file) }.ok()
}

/// A CSV syntax or IO error as a problem naming the line.
pub(crate) fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line() as usize);
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::read(path, io),
        kind => Error::one(Problem::new(
            Place::file(path).maybe_line(line),
            format!("is not valid CSV: {kind:?}"),
            "check the quoting on that line (a field with a comma or newline must be in double quotes)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn fast_float_parse_agrees_with_std() {
        let cases = [
            "0",
            "0.5",
            "12.000001",
            "86399.999999",
            "1732700000.123456",
            "-3.25",
            "0.1",
            "0.30000000000000004",
            "123456789012345",
            "9007199254740993",
            "1.",
            ".5",
            "00012.5000",
        ];
        for s in cases {
            let std: f64 = s.parse().unwrap();
            match parse_f64_fast(s.as_bytes()) {
                Some(v) => assert_eq!(v.to_bits(), std.to_bits(), "{s}: fast {v} vs std {std}"),
                None => assert!(s.len() > 15, "{s} should take the fast path"),
            }
        }
        for s in ["", "-", ".", "1e5", "1.2.3", "abc", "12a", "+5"] {
            assert_eq!(parse_f64_fast(s.as_bytes()), None, "{s}");
        }
    }

    #[test]
    fn fast_float_parse_matches_std_on_many_values() {
        // Every microsecond value of a day's span, sampled with a stride, plus negative ones.
        let mut t = 0.0f64;
        while t < 86_400.0 {
            let s = format!("{t:.6}");
            assert_eq!(parse_f64_fast(s.as_bytes()).unwrap(), s.parse::<f64>().unwrap(), "{s}");
            t += 1.234567;
        }
    }

    #[test]
    fn u32_parse_bounds() {
        assert_eq!(parse_u32_fast(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32_fast(b"4294967296"), None);
        assert_eq!(parse_u32_fast(b"12a"), None);
        assert_eq!(parse_u32_fast(b""), None);
    }

    #[test]
    fn split_lines_cuts_at_line_ends() {
        let text = b"a,1\nbb,22\nccc,333\nd,4";
        for n in 1..6 {
            let pieces = split_lines(text, n);
            assert_eq!(pieces.concat(), text.to_vec(), "n = {n}");
            for p in &pieces[..pieces.len() - 1] {
                assert_eq!(p.last(), Some(&b'\n'), "n = {n}");
            }
        }
    }

    #[test]
    fn read_batch_keeps_partial_lines_for_the_next_batch() {
        let text = b"h\n1,2\n3,4\n5,6\n".to_vec();
        let mut src = Cursor::new(text.clone());
        let mut out = Vec::new();
        let mut carry = Vec::new();
        loop {
            let b = read_batch(&mut src, &carry, 3, Vec::new()).unwrap();
            out.extend_from_slice(&b.buf[..b.cut]);
            carry = b.buf[b.cut..].to_vec();
            if b.eof {
                assert!(carry.is_empty());
                break;
            }
        }
        assert_eq!(out, text);
    }

    #[test]
    fn field_end_finds_the_first_delimiter() {
        let text = b"abcdefghijk,lmnopqrstuvwxyz0123\nrest";
        assert_eq!(field_end(text, 0), 11);
        assert_eq!(field_end(text, 12), 31);
        assert_eq!(field_end(text, 32), text.len());
        for start in 0..text.len() {
            let want = (start..text.len()).find(|&i| text[i] == b',' || text[i] == b'\n').unwrap_or(text.len());
            assert_eq!(field_end(text, start), want, "from {start}");
        }
    }
}
