//! Traffic segments (class x origin, or class) and what the optimizer needs from the trace about
//! each: volume, mean tokens, the output-token mix, the p99.9 input length and the peak rates.

use std::collections::HashMap;

use super::constraints::SegmentBy;
use crate::trace::Trace;

/// One segment of the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Trace class code.
    pub class: usize,
    /// Trace origin code (`None` when segmenting by class only).
    pub origin: Option<usize>,
    /// `code` or `code from eu-west-1`.
    pub name: String,
    pub requests: u64,
    pub mean_input: f64,
    pub mean_cached_input: f64,
    pub mean_output: f64,
    /// p99.9 of input tokens (the context window a route must offer).
    pub input_p999: u32,
    /// Requests per second in the busiest window.
    pub peak_rps: f64,
    /// Input + output tokens per minute in the busiest window.
    pub peak_tpm: f64,
    /// (origin code, output tokens, requests), sorted: the exact token mix the latency tail is
    /// averaged over.
    pub mix: Vec<(u16, u32, u32)>,
}

/// Split `trace` into segments (only those that occur), in class-major, origin-minor order.
pub fn segments(trace: &Trace, by: SegmentBy, window_s: f64) -> Vec<Segment> {
    let n_origins = trace.origin_names.len().max(1);
    let key = |i: usize| -> usize {
        match by {
            SegmentBy::ClassOrigin => trace.class[i] as usize * n_origins + trace.origin[i] as usize,
            SegmentBy::Class => trace.class[i] as usize * n_origins,
        }
    };
    let n_keys = trace.class_names.len() * n_origins;
    struct Acc {
        n: u64,
        input: u64,
        cached: u64,
        output: u64,
        inputs: Vec<u32>,
        mix: HashMap<(u16, u32), u32>,
        windows: HashMap<i64, (u64, u64)>,
    }
    let mut acc: Vec<Option<Acc>> = (0..n_keys).map(|_| None).collect();
    for i in 0..trace.len() {
        let a = acc[key(i)].get_or_insert_with(|| Acc {
            n: 0,
            input: 0,
            cached: 0,
            output: 0,
            inputs: Vec::new(),
            mix: HashMap::new(),
            windows: HashMap::new(),
        });
        let (input, output) = (trace.input_tokens[i], trace.output_tokens[i]);
        a.n += 1;
        a.input += u64::from(input);
        a.output += u64::from(output);
        a.cached += trace.cached_input_tokens.as_ref().map_or(0, |c| u64::from(c[i]));
        a.inputs.push(input);
        *a.mix.entry((trace.origin[i], output)).or_default() += 1;
        let w = a.windows.entry((trace.timestamp_s[i] / window_s).floor() as i64).or_default();
        w.0 += 1;
        w.1 += u64::from(input) + u64::from(output);
    }
    let mut out = Vec::new();
    for (k, a) in acc.into_iter().enumerate() {
        let Some(mut a) = a else { continue };
        let class = k / n_origins;
        let origin = (by == SegmentBy::ClassOrigin).then_some(k % n_origins);
        let name = match origin {
            Some(o) if trace.has_origin() => format!("{} from {}", trace.class_names[class], trace.origin_names[o]),
            _ => trace.class_names[class].clone(),
        };
        let nf = a.n as f64;
        // Type-7 p99.9 of input tokens (rounded up: a window must hold the longest of them).
        let rank = 0.999 * (a.inputs.len() - 1) as f64;
        let hi = rank.ceil() as usize;
        let (_, v, _) = a.inputs.select_nth_unstable(hi);
        let input_p999 = *v;
        let (peak_n, peak_tokens) = a.windows.values().fold((0u64, 0u64), |(n, t), &(wn, wt)| (n.max(wn), t.max(wt)));
        let mut mix: Vec<(u16, u32, u32)> = a.mix.into_iter().map(|((o, x), c)| (o, x, c)).collect();
        mix.sort_unstable();
        out.push(Segment {
            class,
            origin,
            name,
            requests: a.n,
            mean_input: a.input as f64 / nf,
            mean_cached_input: a.cached as f64 / nf,
            mean_output: a.output as f64 / nf,
            input_p999,
            peak_rps: peak_n as f64 / window_s,
            peak_tpm: peak_tokens as f64 / window_s * 60.0,
            mix,
        });
    }
    out
}
