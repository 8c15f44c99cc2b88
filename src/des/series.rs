//! Per-bin time series (served, failed, 429s, retries, queue length, in-service attempts, p50/p99
//! latency, cost), accumulated while the engine runs.
//!
//! Requests are counted in the bin of the instant they finish (served or failed); 429s and retries in
//! the bin where they happen; queue length and attempts in service are time averages over the bin
//! (and the queue's maximum). Finishing times arrive in non-decreasing order (events are processed
//! in time order), so each bin's latencies are collected, reduced to exact type-7 quantiles when
//! the bin closes, and dropped: memory is one bin's latencies plus the bins' figures.
//!
//! Two builders share the work. [`SeriesBuilder`] runs inside the event loop and sees every event
//! (queue and service integrals, 429s, retries). [`FinishedSeries`] sees only finished requests,
//! as a [`Sink`](super::Sink) of the engine, so that it can run on another thread with the
//! metrics' collector (the per-bin latency selection and the cost were a tenth of the loop's
//! work). [`SeriesBuilder::finish_series`] merges the two.

use crate::catalog::Prices;
use crate::metrics::quantile::type7_nonnegative_bits;
use crate::trace::write::{ColumnData, Table};

/// One bin's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bin {
    pub served: u64,
    pub failed: u64,
    pub rate_limited: u64,
    pub retries: u64,
    pub cost_usd: f64,
    /// Time-average number of attempts waiting in queues (all endpoints).
    pub queue_mean: f64,
    pub queue_max: u64,
    /// Time-average number of attempts holding a slot (all endpoints).
    pub in_service_mean: f64,
    /// Latency quantiles of requests served in the bin (`None` if none were).
    pub p50_s: Option<f64>,
    pub p99_s: Option<f64>,
}

/// The series, bins of `bin_s` seconds from `start_s`.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSeries {
    pub bin_s: f64,
    pub start_s: f64,
    pub bins: Vec<Bin>,
}

impl TimeSeries {
    /// As a table (one row per bin) for `trace::write::write_table` (CSV or Parquet by extension).
    pub fn to_table(&self) -> Table {
        let col = |f: &dyn Fn(&Bin) -> f64| ColumnData::F64(self.bins.iter().map(f).collect());
        let count = |f: &dyn Fn(&Bin) -> u64| ColumnData::U64(self.bins.iter().map(f).collect());
        Table {
            columns: vec![
                (
                    "bin_start_s".into(),
                    ColumnData::F64((0..self.bins.len()).map(|b| self.start_s + b as f64 * self.bin_s).collect()),
                ),
                ("served".into(), count(&|b| b.served)),
                ("failed".into(), count(&|b| b.failed)),
                ("rate_limited_429".into(), count(&|b| b.rate_limited)),
                ("retries".into(), count(&|b| b.retries)),
                ("queue_mean".into(), col(&|b| b.queue_mean)),
                ("queue_max".into(), count(&|b| b.queue_max)),
                ("in_service_mean".into(), col(&|b| b.in_service_mean)),
                ("p50_s".into(), ColumnData::OptF64(self.bins.iter().map(|b| b.p50_s).collect())),
                ("p99_s".into(), ColumnData::OptF64(self.bins.iter().map(|b| b.p99_s).collect())),
                ("cost_usd".into(), col(&|b| b.cost_usd)),
            ],
        }
    }
}

/// Builds a [`TimeSeries`] as events happen: everything but the finished requests' figures.
#[derive(Debug)]
pub(crate) struct SeriesBuilder {
    series: TimeSeries,
    /// Last instant up to which queue and service integrals are accumulated.
    last_t: f64,
    /// Signed, so that the integrals' `as f64` is one instruction (an unsigned conversion is
    /// several, and `advance` runs at every event).
    queued: i64,
    in_service: i64,
    /// The bin of `last_t`, its end, and the integrals accumulated in it since the last flush.
    last_bin: usize,
    last_bin_end: f64,
    pending_queue: f64,
    pending_service: f64,
}

/// The bin of instant `t` in a series of `bin_s` bins from `start_s`.
#[inline]
fn bin_index(start_s: f64, bin_s: f64, t: f64) -> usize {
    (((t - start_s) / bin_s).floor().max(0.0)) as usize
}

/// Bin `b` of `bins`, created (with every bin before it) if the series has not reached it.
#[inline]
fn bin_at(bins: &mut Vec<Bin>, b: usize) -> &mut Bin {
    if b >= bins.len() {
        bins.resize(b + 1, Bin::default());
    }
    &mut bins[b]
}

/// The first bin of a series of `bin_s` bins whose first instant is `first_s`.
fn series_start(bin_s: f64, first_s: f64) -> f64 {
    (first_s / bin_s).floor() * bin_s
}

impl SeriesBuilder {
    pub fn new(bin_s: f64, first_s: f64) -> SeriesBuilder {
        let start_s = series_start(bin_s, first_s);
        SeriesBuilder {
            series: TimeSeries { bin_s, start_s, bins: vec![Bin::default()] },
            last_t: start_s,
            queued: 0,
            in_service: 0,
            last_bin: 0,
            last_bin_end: start_s,
            pending_queue: 0.0,
            pending_service: 0.0,
        }
    }

    #[inline]
    fn index(&self, t: f64) -> usize {
        bin_index(self.series.start_s, self.series.bin_s, t)
    }

    #[inline]
    fn bin(&mut self, b: usize) -> &mut Bin {
        bin_at(&mut self.series.bins, b)
    }
    /// Integrate queue length and attempts in service up to `t` (non-decreasing).
    #[inline(always)]
    pub fn advance(&mut self, t: f64) {
        if t <= self.last_t {
            return;
        }
        // The common case, within the bin of the last instant: no division (and inlined at the
        // event loop's two call sites, since it runs at every event).
        if t < self.last_bin_end {
            let dt = t - self.last_t;
            self.pending_queue += self.queued as f64 * dt;
            self.pending_service += self.in_service as f64 * dt;
            self.last_t = t;
            return;
        }
        self.advance_across_bins(t);
    }

    #[cold]
    #[inline(never)]
    fn advance_across_bins(&mut self, t: f64) {
        self.flush_pending();
        let (q, s) = (self.queued as f64, self.in_service as f64);
        let bin_s = self.series.bin_s;
        let mut from = self.last_t;
        let mut b = self.index(from);
        loop {
            let bin_end = self.series.start_s + (b + 1) as f64 * bin_s;
            let to = t.min(bin_end);
            let dt = to - from;
            if q > 0.0 || s > 0.0 {
                let bin = self.bin(b);
                bin.queue_mean += q * dt;
                bin.in_service_mean += s * dt;
            }
            if t <= bin_end {
                break;
            }
            from = bin_end;
            b += 1;
        }
        self.last_t = t;
        self.last_bin = self.index(t);
        self.last_bin_end = self.series.start_s + (self.last_bin + 1) as f64 * bin_s;
    }

    /// Add the integrals accumulated within `last_bin` to it.
    fn flush_pending(&mut self) {
        if self.pending_queue > 0.0 || self.pending_service > 0.0 {
            let (q, s, b) = (self.pending_queue, self.pending_service, self.last_bin);
            let bin = self.bin(b);
            bin.queue_mean += q;
            bin.in_service_mean += s;
        }
        self.pending_queue = 0.0;
        self.pending_service = 0.0;
    }

    /// The number of queued attempts changes by `delta` at the current instant.
    #[inline]
    pub fn queue_change(&mut self, t: f64, delta: i64) {
        self.queued += delta;
        let (b, q) = (self.index(t), self.queued as u64);
        let bin = self.bin(b);
        bin.queue_max = bin.queue_max.max(q);
    }

    #[inline]
    pub fn service_change(&mut self, delta: i64) {
        self.in_service += delta;
    }

    pub fn rate_limited(&mut self, t: f64) {
        let b = self.index(t);
        self.bin(b).rate_limited += 1;
    }

    pub fn retry(&mut self, t: f64) {
        let b = self.index(t);
        self.bin(b).retries += 1;
    }

    /// The series at `end_s`, with the finished requests' figures from `finished`.
    pub fn finish_series(mut self, end_s: f64, finished: FinishedSeries) -> TimeSeries {
        self.advance(end_s);
        self.flush_pending();
        let finished = finished.finish();
        debug_assert_eq!(finished.start_s, self.series.start_s);
        for (b, f) in finished.bins.into_iter().enumerate() {
            let bin = self.bin(b);
            (bin.served, bin.failed, bin.cost_usd) = (f.served, f.failed, f.cost_usd);
            (bin.p50_s, bin.p99_s) = (f.p50_s, f.p99_s);
        }
        let bin_s = self.series.bin_s;
        let last = self.series.bins.len() - 1;
        for (b, bin) in self.series.bins.iter_mut().enumerate() {
            // The last bin is averaged over the part of it that was simulated.
            let span = if b == last { (end_s - (self.series.start_s + b as f64 * bin_s)).max(1e-12) } else { bin_s };
            bin.queue_mean /= span.min(bin_s);
            bin.in_service_mean /= span.min(bin_s);
        }
        self.series
    }
}

/// The finished requests' part of a [`TimeSeries`] (served, failed, cost, latency quantiles per
/// bin), fed as a [`Sink`](super::Sink) of the engine in the order requests finish.
#[derive(Debug)]
pub struct FinishedSeries {
    series: TimeSeries,
    /// Serving prices per endpoint (a served request's cost).
    prices: Vec<Prices>,
    /// The bin requests are finishing in, and its end.
    open: usize,
    open_end: f64,
    /// Latencies served in bin `open`, as IEEE bits (latencies are non-negative, so bit order is
    /// value order and the bin's selection compares integers).
    latencies: Vec<u64>,
}

impl FinishedSeries {
    /// For a run whose first arrival is at `first_s` (the same bins as its [`SeriesBuilder`]).
    pub(crate) fn new(bin_s: f64, first_s: f64, prices: Vec<Prices>) -> FinishedSeries {
        let start_s = series_start(bin_s, first_s);
        FinishedSeries {
            series: TimeSeries { bin_s, start_s, bins: vec![Bin::default()] },
            prices,
            open: 0,
            open_end: start_s + bin_s,
            latencies: Vec::new(),
        }
    }

    /// A request finishes at `t` (non-decreasing): served by endpoint `served` (with `latency`
    /// and its tokens `[input, cached input, output]`), or failed (`None`).
    #[inline]
    pub(crate) fn finish_request(&mut self, t: f64, served: Option<u16>, latency: f64, tokens: [u32; 3]) {
        if t >= self.open_end {
            let (start_s, bin_s) = (self.series.start_s, self.series.bin_s);
            let b = bin_index(start_s, bin_s, t);
            self.close_open();
            self.open = b;
            self.open_end = start_s + (b + 1) as f64 * bin_s;
        }
        let bin = bin_at(&mut self.series.bins, self.open);
        match served {
            Some(e) => {
                bin.served += 1;
                bin.cost_usd += self.prices[e as usize].cost_usd(tokens[0], tokens[1], tokens[2]);
                debug_assert!(latency >= 0.0, "latency {latency}");
                self.latencies.push((latency + 0.0).to_bits());
            }
            None => bin.failed += 1,
        }
    }

    fn close_open(&mut self) {
        if self.latencies.is_empty() {
            return;
        }
        let q = type7_nonnegative_bits(&mut self.latencies, &[0.5, 0.99]).expect("not empty");
        let bin = bin_at(&mut self.series.bins, self.open);
        (bin.p50_s, bin.p99_s) = (Some(q[0]), Some(q[1]));
        self.latencies.clear();
    }

    fn finish(mut self) -> TimeSeries {
        self.close_open();
        self.series
    }
}
