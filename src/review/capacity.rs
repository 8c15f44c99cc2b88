//! Capacity for the review: each endpoint's busiest minute, in requests and in tokens, against its
//! rate limits, from one run's per-request outcomes (the endpoint that served each request).

use crate::catalog::Catalog;
use crate::engine::NOT_SERVED;
use crate::trace::Trace;

/// One endpoint's peak minute.
#[derive(Debug, Clone, PartialEq)]
pub struct Peaks {
    pub endpoint: String,
    /// Requests served in the busiest minute.
    pub peak_rpm: u64,
    /// Input plus output tokens served in the busiest minute (by tokens).
    pub peak_tpm: u64,
    pub rpm_limit: Option<u64>,
    pub tpm_limit: Option<u64>,
}

/// Minutes are counted from the trace's first request; past this many the peaks are not computed
/// (a trace of more than about 19 years).
const MAX_MINUTES: u64 = 10_000_000;

/// Per endpoint that served anything, its peak minute; `served[i]` is the endpoint that served
/// request `i` of `trace` (or [`NOT_SERVED`]). Endpoints in catalog order. Empty when the trace
/// has no timestamps (a trace read for segments only) or spans too long.
pub fn peaks(catalog: &Catalog, trace: &Trace, served: &[u16]) -> Vec<Peaks> {
    let n = trace.timestamp_s.len();
    if n == 0 || served.len() != n || trace.input_tokens.len() != n || trace.output_tokens.len() != n {
        return Vec::new();
    }
    let t0 = trace.timestamp_s[0];
    let minutes = ((trace.timestamp_s[n - 1] - t0) / 60.0).floor() as u64 + 1;
    if minutes > MAX_MINUTES {
        return Vec::new();
    }
    // Time order (a trace invariant) means each endpoint's minutes arrive in order: keep the
    // current minute's counts and the best so far.
    #[derive(Clone, Copy, Default)]
    struct Run {
        minute: u64,
        requests: u64,
        tokens: u64,
        peak_requests: u64,
        peak_tokens: u64,
        used: bool,
    }
    let mut runs = vec![Run::default(); catalog.endpoints.len()];
    for (i, &e) in served.iter().enumerate() {
        if e == NOT_SERVED || usize::from(e) >= runs.len() {
            continue;
        }
        let minute = ((trace.timestamp_s[i] - t0) / 60.0).floor() as u64;
        let run = &mut runs[usize::from(e)];
        if run.minute != minute {
            run.minute = minute;
            run.requests = 0;
            run.tokens = 0;
        }
        run.used = true;
        run.requests += 1;
        run.tokens += u64::from(trace.input_tokens[i]) + u64::from(trace.output_tokens[i]);
        run.peak_requests = run.peak_requests.max(run.requests);
        run.peak_tokens = run.peak_tokens.max(run.tokens);
    }
    catalog
        .endpoints
        .iter()
        .zip(&runs)
        .filter(|(_, r)| r.used)
        .map(|(e, r)| Peaks {
            endpoint: e.id.clone(),
            peak_rpm: r.peak_requests,
            peak_tpm: r.peak_tokens,
            rpm_limit: e.limits.rpm,
            tpm_limit: e.limits.tpm,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Row;

    #[test]
    fn the_busiest_minute_counts_requests_and_tokens_per_endpoint() {
        let catalog = Catalog::default_catalog();
        // Minute 0: three requests; minute 1: one; minute 2: two (more tokens).
        let at = [0.0, 10.0, 59.9, 60.0, 120.0, 121.0];
        let rows: Vec<Row> = at
            .iter()
            .map(|&t| Row { timestamp_s: t, class: "chat", origin: None, input_tokens: 100, output_tokens: 0 })
            .map(|mut r| {
                if r.timestamp_s >= 120.0 {
                    r.input_tokens = 500;
                }
                r
            })
            .collect();
        let trace = Trace::from_rows("t", &rows);
        let served = [0, 0, 0, 0, 0, NOT_SERVED];
        let p = peaks(&catalog, &trace, &served);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].peak_rpm, p[0].peak_tpm), (3, 500), "{p:?}");
        assert_eq!(p[0].endpoint, catalog.endpoints[0].id);
        assert_eq!(p[0].rpm_limit, catalog.endpoints[0].limits.rpm);
    }
}
