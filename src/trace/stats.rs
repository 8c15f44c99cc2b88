//! A summary of a trace: size, time span, arrival rates and burstiness, class and origin mix, token
//! percentiles. Shown by `switchyard trace stats` and embedded in reports.
//!
//! Definitions, so that numbers can be checked by hand:
//! * mean rate = rows / span, span = last - first timestamp (undefined for a zero span);
//! * peak rate = most requests in one bin of 1 s (or 60 s), bins aligned to
//!   `floor(first timestamp) + k * width`;
//! * inter-arrival CV = population standard deviation / mean of the n-1 gaps between consecutive
//!   requests (1 for a Poisson process; undefined with fewer than two gaps or a zero mean gap);
//! * percentiles are Hyndman-Fan type 7 (numpy's default "linear"): pos = (n-1)q, k = floor(pos),
//!   `x[k] + (x[k+1] - x[k]) (pos - k)` over the sorted values.
//!
//! Deliberately absent: anything about outcomes (latency, cost); that is `metrics`.

use crate::report::thousands;
use serde::Serialize;

use super::Trace;

/// The summary of a trace.
#[derive(Debug, Clone, Serialize)]
pub struct TraceStats {
    pub source: String,
    pub rows: usize,
    pub skipped_rows: usize,
    pub sorted_on_load: bool,
    /// First and last timestamp (0 for an empty trace) and their difference, seconds.
    pub first_timestamp_s: f64,
    pub last_timestamp_s: f64,
    pub span_s: f64,
    pub mean_rate_per_s: Option<f64>,
    pub mean_rate_per_min: Option<f64>,
    /// Busiest 1 s bin.
    pub peak_1s: Peak,
    /// Busiest 60 s bin.
    pub peak_60s: Peak,
    /// Peak 1 s count, requests per second.
    pub peak_rate_per_s: f64,
    /// Peak 60 s count, requests per minute.
    pub peak_rate_per_min: f64,
    pub interarrival_cv: Option<f64>,
    pub classes: Vec<Share>,
    pub origins: Vec<Share>,
    pub input_tokens: TokenStats,
    pub output_tokens: TokenStats,
    pub cached_input_tokens: Option<TokenStats>,
    /// Recorded outcome columns present in the input.
    pub recorded_columns: Vec<String>,
}

/// The busiest bin of a given width.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Peak {
    pub bin_s: f64,
    pub requests: u64,
    /// Start of the busiest bin (the earliest, if several tie).
    pub start_s: f64,
}

/// Requests of one class or origin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    pub name: String,
    pub requests: u64,
    pub share: f64,
}

/// Token count distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TokenStats {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: u32,
}

/// Summarize a trace.
pub fn stats(trace: &Trace) -> TraceStats {
    let n = trace.len();
    let ts = &trace.timestamp_s;
    let (first, last) = match (ts.first(), ts.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (0.0, 0.0),
    };
    let span = last - first;
    let mean_rate = (span > 0.0).then(|| n as f64 / span);
    // Independent passes over millions of rows: side by side on the threads (each result is the
    // same whichever thread computes it).
    let (((peak_1s, peak_60s), interarrival_cv), (input_tokens, output_tokens)) = rayon::join(
        || rayon::join(|| rayon::join(|| peak(ts, 1.0), || peak(ts, 60.0)), || interarrival_cv(ts)),
        || rayon::join(|| token_stats(&trace.input_tokens), || token_stats(&trace.output_tokens)),
    );
    TraceStats {
        source: trace.source.clone(),
        rows: n,
        skipped_rows: trace.skipped_rows,
        sorted_on_load: trace.sorted_on_load,
        first_timestamp_s: first,
        last_timestamp_s: last,
        span_s: span,
        mean_rate_per_s: mean_rate,
        mean_rate_per_min: mean_rate.map(|r| r * 60.0),
        peak_rate_per_s: peak_1s.requests as f64,
        peak_rate_per_min: peak_60s.requests as f64,
        peak_1s,
        peak_60s,
        interarrival_cv,
        classes: shares(&trace.class, &trace.class_names),
        origins: shares(&trace.origin, &trace.origin_names),
        input_tokens,
        output_tokens,
        cached_input_tokens: trace.cached_input_tokens.as_deref().map(token_stats),
        recorded_columns: trace.recorded.present().iter().map(|s| s.to_string()).collect(),
    }
}

/// Busiest bin of width `bin_s` over sorted timestamps, bins aligned to floor(first).
fn peak(ts: &[f64], bin_s: f64) -> Peak {
    let Some(&first) = ts.first() else {
        return Peak { bin_s, requests: 0, start_s: 0.0 };
    };
    let origin = first.floor();
    // t >= origin, so truncation is floor (and much cheaper than a libm call).
    let bin_of = |t: f64| ((t - origin) / bin_s) as i64;
    let (mut best, mut best_bin) = (0u64, 0i64);
    let (mut count, mut current) = (0u64, bin_of(first));
    for &t in ts {
        let b = bin_of(t);
        if b != current {
            if count > best {
                (best, best_bin) = (count, current);
            }
            (count, current) = (0, b);
        }
        count += 1;
    }
    if count > best {
        (best, best_bin) = (count, current);
    }
    Peak { bin_s, requests: best, start_s: origin + best_bin as f64 * bin_s }
}

fn interarrival_cv(ts: &[f64]) -> Option<f64> {
    if ts.len() < 3 {
        return None;
    }
    let gaps = (ts.len() - 1) as f64;
    let mean = (ts[ts.len() - 1] - ts[0]) / gaps;
    if mean <= 0.0 {
        return None;
    }
    let var = ts.windows(2).map(|w| (w[1] - w[0] - mean).powi(2)).sum::<f64>() / gaps;
    Some(var.sqrt() / mean)
}

fn shares(codes: &[u16], names: &[String]) -> Vec<Share> {
    let mut counts = vec![0u64; names.len()];
    for &c in codes {
        counts[c as usize] += 1;
    }
    let total = codes.len().max(1) as f64;
    names
        .iter()
        .zip(counts)
        .map(|(name, requests)| Share { name: name.clone(), requests, share: requests as f64 / total })
        .collect()
}

fn token_stats(values: &[u32]) -> TokenStats {
    let q = quantiles_u32(values, &[0.5, 0.9, 0.99, 0.999]);
    let mean =
        if values.is_empty() { 0.0 } else { values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64 };
    TokenStats { mean, p50: q[0], p90: q[1], p99: q[2], p999: q[3], max: values.iter().copied().max().unwrap_or(0) }
}

/// Type 7 quantiles of unsigned values: counting when the values are small (token counts are),
/// sorting a copy otherwise. Empty input gives zeros.
pub(crate) fn quantiles_u32(values: &[u32], qs: &[f64]) -> Vec<f64> {
    let n = values.len();
    if n == 0 {
        return vec![0.0; qs.len()];
    }
    let max = values.iter().copied().max().unwrap_or(0) as usize;
    // The 0-based sorted positions each quantile needs: k and k+1.
    let positions: Vec<(usize, f64)> = qs
        .iter()
        .map(|&q| {
            let pos = (n - 1) as f64 * q.clamp(0.0, 1.0);
            (pos.floor() as usize, pos - pos.floor())
        })
        .collect();
    let at: Box<dyn Fn(usize) -> f64> = if max < (1 << 22) && max < 4 * n {
        let mut counts = vec![0u32; max + 1];
        for &v in values {
            counts[v as usize] += 1;
        }
        let mut cumulative = Vec::with_capacity(counts.len());
        let mut total = 0usize;
        for c in counts {
            total += c as usize;
            cumulative.push(total);
        }
        // Value at sorted position k: the first value whose cumulative count exceeds k.
        Box::new(move |k: usize| cumulative.partition_point(|&c| c <= k) as f64)
    } else {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        Box::new(move |k: usize| sorted[k] as f64)
    };
    positions
        .iter()
        .map(|&(k, frac)| {
            let lo = at(k);
            let hi = at((k + 1).min(n - 1));
            lo + (hi - lo) * frac
        })
        .collect()
}

fn fmt_opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or("-".to_string(), |x| format!("{x:.decimals$}"))
}

impl TraceStats {
    /// A readable, aligned table for the terminal.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let mut kv = |k: &str, v: String| out.push_str(&format!("{k:<18}{v}\n"));
        kv("trace", self.source.clone());
        kv(
            "rows",
            format!(
                "{} ({} skipped as bad{})",
                thousands(self.rows as u64),
                thousands(self.skipped_rows as u64),
                if self.sorted_on_load { "; sorted by time on load" } else { "" }
            ),
        );
        kv(
            "time span",
            format!(
                "{:.3} s .. {:.3} s ({:.3} s = {:.2} h)",
                self.first_timestamp_s,
                self.last_timestamp_s,
                self.span_s,
                self.span_s / 3600.0
            ),
        );
        kv(
            "mean rate",
            format!("{} req/s, {} req/min", fmt_opt(self.mean_rate_per_s, 3), fmt_opt(self.mean_rate_per_min, 1)),
        );
        kv(
            "peak rate",
            format!(
                "{} req/s (1 s bin at {:.0} s), {} req/min (60 s bin at {:.0} s)",
                thousands(self.peak_1s.requests),
                self.peak_1s.start_s,
                thousands(self.peak_60s.requests),
                self.peak_60s.start_s
            ),
        );
        kv("inter-arrival CV", fmt_opt(self.interarrival_cv, 3));
        kv(
            "recorded columns",
            if self.recorded_columns.is_empty() { "none".to_string() } else { self.recorded_columns.join(", ") },
        );
        for (title, rows) in [("class", &self.classes), ("origin", &self.origins)] {
            let width = rows.iter().map(|s| s.name.len()).max().unwrap_or(0).max(title.len());
            out.push_str(&format!("\n{title:<width$}  {:>12}  {:>7}\n", "requests", "share"));
            for s in rows.iter() {
                out.push_str(&format!(
                    "{:<width$}  {:>12}  {:>6.2}%\n",
                    s.name,
                    thousands(s.requests),
                    s.share * 100.0
                ));
            }
        }
        out.push_str(&format!(
            "\n{:<8}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}\n",
            "tokens", "mean", "p50", "p90", "p99", "p99.9", "max"
        ));
        let mut tokens = vec![("input", self.input_tokens), ("output", self.output_tokens)];
        if let Some(c) = self.cached_input_tokens {
            tokens.push(("cached", c));
        }
        for (name, t) in tokens {
            out.push_str(&format!(
                "{name:<8}{:>10.1}{:>10.1}{:>10.1}{:>10.1}{:>10.1}{:>10}\n",
                t.mean, t.p50, t.p90, t.p99, t.p999, t.max
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Row;

    /// Tolerance for values computed exactly up to float rounding.
    const EXACT: f64 = 1e-12;

    fn close(what: &str, got: f64, want: f64) {
        assert!((got - want).abs() <= EXACT * want.abs().max(1.0), "{what}: got {got}, want {want}");
    }

    /// Type 7 by the book, on a sorted copy.
    fn type7(values: &[u32], q: f64) -> f64 {
        let mut s: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        s.sort_by(f64::total_cmp);
        let pos = (s.len() - 1) as f64 * q;
        let k = pos.floor() as usize;
        s[k] + (s[(k + 1).min(s.len() - 1)] - s[k]) * (pos - k as f64)
    }

    fn hand_made() -> Trace {
        // 6 requests over 10 s; gaps 1, 1, 2, 2, 4.
        let at = [100.25, 101.25, 102.25, 104.25, 106.25, 110.25];
        let classes = ["chat", "code", "chat", "chat", "code", "zz"];
        let inputs = [10, 20, 30, 40, 50, 1000];
        let rows: Vec<Row> = at
            .iter()
            .zip(classes)
            .zip(inputs)
            .map(|((&t, c), i)| Row {
                timestamp_s: t,
                class: c,
                origin: Some(if i < 35 { "eu" } else { "us" }),
                input_tokens: i,
                output_tokens: 7,
            })
            .collect();
        Trace::from_rows("hand", &rows)
    }

    #[test]
    fn stats_of_a_hand_made_trace() {
        let s = stats(&hand_made());
        assert_eq!(s.rows, 6);
        close("span", s.span_s, 10.0);
        close("mean rate/s", s.mean_rate_per_s.unwrap(), 0.6);
        close("mean rate/min", s.mean_rate_per_min.unwrap(), 36.0);
        // 1 s bins from 100: every request has its own bin.
        assert_eq!(s.peak_1s, Peak { bin_s: 1.0, requests: 1, start_s: 100.0 });
        // 60 s bins from 100: all six in the first.
        assert_eq!(s.peak_60s, Peak { bin_s: 60.0, requests: 6, start_s: 100.0 });
        // gaps 1,1,2,2,4: mean 2, population variance (1+1+0+0+4)/5 = 1.2.
        close("cv", s.interarrival_cv.unwrap(), 1.2f64.sqrt() / 2.0);
        assert_eq!(
            s.classes,
            vec![
                Share { name: "chat".into(), requests: 3, share: 0.5 },
                Share { name: "code".into(), requests: 2, share: 2.0 / 6.0 },
                Share { name: "zz".into(), requests: 1, share: 1.0 / 6.0 },
            ]
        );
        assert_eq!(s.origins[0], Share { name: "eu".into(), requests: 3, share: 0.5 });
        // inputs sorted 10 20 30 40 50 1000: p50 pos 2.5 -> 35; p90 pos 4.5 -> 525;
        // p99 pos 4.95 -> 50 + 950*0.95 = 952.5; p99.9 pos 4.995 -> 995.25.
        close("p50", s.input_tokens.p50, 35.0);
        close("p90", s.input_tokens.p90, 525.0);
        close("p99", s.input_tokens.p99, 952.5);
        close("p99.9", s.input_tokens.p999, 995.25);
        assert_eq!(s.input_tokens.max, 1000);
        close("mean", s.input_tokens.mean, 1150.0 / 6.0);
        close("output p50", s.output_tokens.p50, 7.0);
        let text = s.render_text();
        assert!(text.contains("inter-arrival CV  0.548"), "{text}");
        assert!(text.contains("chat"), "{text}");
    }

    #[test]
    fn peak_bins_are_aligned_to_the_first_timestamp_floor() {
        // floor(first) = 10: 1 s bins [10,11) has 10.5, 10.9; [11,12) has 11.0, 11.2, 11.99.
        let ts = [10.5, 10.9, 11.0, 11.2, 11.99, 12.0];
        assert_eq!(peak(&ts, 1.0), Peak { bin_s: 1.0, requests: 3, start_s: 11.0 });
        // A tie keeps the earliest bin.
        let ts = [0.0, 0.5, 5.0, 5.5];
        assert_eq!(peak(&ts, 1.0), Peak { bin_s: 1.0, requests: 2, start_s: 0.0 });
    }

    #[test]
    fn counting_and_sorting_quantiles_agree_with_the_definition() {
        let mut state = 12345u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        let small: Vec<u32> = (0..1001).map(|_| next() % 5000).collect();
        let large: Vec<u32> = (0..1001).map(|_| next()).collect();
        let qs = [0.0, 0.001, 0.5, 0.9, 0.99, 0.999, 1.0];
        for values in [&small, &large] {
            let got = quantiles_u32(values, &qs);
            for (q, g) in qs.iter().zip(got) {
                close(&format!("q{q}"), g, type7(values, *q));
            }
        }
    }

    #[test]
    fn empty_and_tiny_traces_do_not_divide_by_zero() {
        let s = stats(&Trace::default());
        assert_eq!(s.rows, 0);
        assert_eq!(s.mean_rate_per_s, None);
        assert_eq!(s.interarrival_cv, None);
        let one = Trace::from_rows(
            "one",
            &[Row { timestamp_s: 5.0, class: "a", origin: None, input_tokens: 3, output_tokens: 4 }],
        );
        let s = stats(&one);
        assert_eq!(s.mean_rate_per_s, None);
        assert_eq!(s.peak_1s.requests, 1);
        close("p99 of one value", s.input_tokens.p99, 3.0);
    }
}
