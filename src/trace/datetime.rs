//! Date-times in trace files to Unix seconds (UTC), from bytes and without allocating: the general
//! ISO-8601-like reader ([`utc_seconds`]), the fixed `YYYY-MM-DD HH:MM:SS[.fraction]` layout the
//! CSV fast path reads at fixed offsets, and a cache of the last date's day number (a trace's rows
//! mostly share their date). Used by the table reader and by the importers.

use super::bytes::POW10;

/// Unix seconds of an ISO-8601-like date-time: `YYYY-MM-DD`, optionally followed by `T` or a space
/// and `HH:MM[:SS[.fraction]]`, optionally followed by `Z` or an offset `+HH:MM`/`-HH:MM`. Without
/// an offset the time is taken as UTC.
pub(crate) fn utc_seconds(s: &str) -> Option<f64> {
    utc_seconds_bytes(s.as_bytes())
}

/// [`utc_seconds`] over bytes, with no allocation: the CSV fast path calls it once per row (the
/// Azure traces' 2M date-times). The fraction is `digits / 10^k`, exact for up to 15 digits
/// (both operands exact, one correctly rounded division: the value `str::parse` gives); longer
/// fractions go through `str::parse`.
#[inline]
fn utc_seconds_bytes(b: &[u8]) -> Option<f64> {
    utc_seconds_cached(b, &mut DateCache::default())
}

/// The last date (`YYYY-MM-DD`) seen and its day number: the rows of a trace mostly share their
/// date, so the calendar arithmetic runs once per date, not once per row.
#[derive(Default)]
pub(crate) struct DateCache {
    date: [u8; 10],
    days: i64,
}

impl DateCache {
    /// The day number of the date at the start of `b` (at least 10 bytes), from the cache when it
    /// is the last date seen.
    #[inline(always)]
    fn days_of(&mut self, b: &[u8]) -> Option<i64> {
        if self.days != 0 && b[..10] == self.date {
            return Some(self.days);
        }
        let days = civil_days(b)?;
        self.date.copy_from_slice(&b[..10]);
        // Day 0 (1970-01-01) is simply never cached.
        self.days = days;
        Some(days)
    }
}

/// The common layout of [`utc_seconds_cached`], `YYYY-MM-DD HH:MM:SS[.fraction]` (or with `T`),
/// at `p` in `buf` and ending a CSV field (a `,`, a line end or the end of `buf`): the same value,
/// read at fixed offsets, and where it ends. `None` for anything else (an offset, a `Z`, more than
/// 15 fraction digits, a bad value), which the general code then reads.
#[inline(always)]
pub(crate) fn fixed_datetime(buf: &[u8], p: usize, cache: &mut DateCache) -> Option<(f64, usize)> {
    let d: &[u8; 19] = buf.get(p..p + 19)?.try_into().ok()?;
    if d[4] != b'-' || d[7] != b'-' || !(d[10] == b' ' || d[10] == b'T') || d[13] != b':' || d[16] != b':' {
        return None;
    }
    let two = |i: usize| {
        let (a, b) = (d[i].wrapping_sub(b'0'), d[i + 1].wrapping_sub(b'0'));
        (a < 10 && b < 10).then_some(i64::from(a) * 10 + i64::from(b))
    };
    let (hour, minute, second) = (two(11)?, two(14)?, two(17)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = cache.days_of(d)?;
    let mut i = p + 19;
    let mut fraction = 0.0;
    if buf.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        let mut digits = 0u64;
        while i < buf.len() && buf[i].is_ascii_digit() {
            digits = digits.wrapping_mul(10).wrapping_add(u64::from(buf[i] - b'0'));
            i += 1;
        }
        let k = i - start;
        if k == 0 || k > 15 {
            return None;
        }
        fraction = digits as f64 / POW10[k];
    }
    // As the general code: the field ends at a `,` or `\n`, less one `\r` before it.
    let at_end = |j: usize| matches!(buf.get(j), None | Some(b',' | b'\n'));
    if !(at_end(i) || (buf.get(i) == Some(&b'\r') && at_end(i + 1))) {
        return None;
    }
    Some(((days * 86_400 + hour * 3600 + minute * 60 + second) as f64 + fraction, i))
}

/// [`utc_seconds_bytes`] with the day number of a repeated date taken from `cache`.
#[inline]
pub(crate) fn utc_seconds_cached(b: &[u8], cache: &mut DateCache) -> Option<f64> {
    #[inline(always)]
    fn num(b: &[u8], r: std::ops::Range<usize>) -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() {
            return None;
        }
        let mut v = 0i64;
        for &d in part {
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(d - b'0');
        }
        Some(v)
    }
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let days = cache.days_of(b)?;
    let (mut seconds, mut fraction, mut i) = (0i64, 0.0f64, 10);
    if i < b.len() && (b[i] == b'T' || b[i] == b' ') {
        let (hour, minute) = (num(b, i + 1..i + 3)?, num(b, i + 4..i + 6)?);
        if b.get(i + 3) != Some(&b':') || hour > 23 || minute > 59 {
            return None;
        }
        seconds = hour * 3600 + minute * 60;
        i += 6;
        if b.get(i) == Some(&b':') {
            let second = num(b, i + 1..i + 3)?;
            if second > 60 {
                return None;
            }
            seconds += second;
            i += 3;
            if b.get(i) == Some(&b'.') {
                let start = i + 1;
                i = start;
                let mut digits = 0u64;
                while i < b.len() && b[i].is_ascii_digit() {
                    digits = digits.wrapping_mul(10).wrapping_add(u64::from(b[i] - b'0'));
                    i += 1;
                }
                fraction = match i - start {
                    0 => return None,
                    k @ 1..=15 => digits as f64 / POW10[k],
                    _ => format!("0.{}", std::str::from_utf8(&b[start..i]).ok()?).parse().ok()?,
                };
            }
        }
    }
    match b.get(i) {
        None => {}
        Some(b'Z') if i + 1 == b.len() => {}
        Some(&sign) if (sign == b'+' || sign == b'-') && b.len() == i + 6 && b[i + 3] == b':' => {
            let offset = num(b, i + 1..i + 3)? * 3600 + num(b, i + 4..i + 6)? * 60;
            seconds -= if sign == b'+' { offset } else { -offset };
        }
        _ => return None,
    }
    Some((days * 86_400 + seconds) as f64 + fraction)
}

/// Days since 1970-01-01 of the valid date `YYYY-MM-DD` at the start of `b`, in the proleptic
/// Gregorian calendar (Hinnant's days_from_civil).
fn civil_days(b: &[u8]) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut v = 0i64;
        for &d in b.get(r)? {
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(d - b'0');
        }
        Some(v)
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&month) || day < 1 || day > month_days[(month - 1) as usize] {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::sort::tests::lcg;

    #[test]
    fn date_time_fractions_and_the_date_cache_agree_with_str_parse() {
        let mut state = 11u64;
        let mut cache = DateCache::default();
        let dates = ["2023-11-16", "2023-11-16", "1970-01-01", "2024-02-29", "2023-11-17", "2023-11-17"];
        for (k, date) in dates.iter().cycle().take(3000).enumerate() {
            let digits: String = (0..1 + k % 19).map(|_| char::from(b'0' + (lcg(&mut state) % 10) as u8)).collect();
            let s = format!("{date} 18:15:46.{digits}");
            let base = utc_seconds(&format!("{date} 18:15:46")).unwrap();
            let want = base + format!("0.{digits}").parse::<f64>().unwrap();
            assert_eq!(utc_seconds(&s).map(f64::to_bits), Some(want.to_bits()), "{s}");
            assert_eq!(utc_seconds_cached(s.as_bytes(), &mut cache).map(f64::to_bits), Some(want.to_bits()), "{s}");
        }
        // A bad date after a cached good one is still bad.
        assert_eq!(utc_seconds_cached(b"2023-11-17 00:00", &mut cache), utc_seconds("2023-11-17 00:00"));
        assert_eq!(utc_seconds_cached(b"2023-11-31 00:00", &mut cache), None);
        assert_eq!(utc_seconds_cached(b"2023-11-1x 00:00", &mut cache), None);
    }
}
