//! The event loop: per-endpoint slots, FIFO queues and rate limits, cooldowns, load-aware
//! strategies, retries along the fallback chain and hedged attempts (see the module docs of
//! [`crate::des`] for the semantics). `run.rs` sets it up and feeds it; what it stands on is in
//! the files beside it: token buckets (`bucket.rs`), availability processes (`availability.rs`),
//! the per-request record (`flight.rs`), arrival draws (`arrivals.rs`) and sinks (`sink.rs`).

use std::collections::VecDeque;

use rand::RngExt;

use super::arrivals::{Arrivals, Prepare, Prepared};
use super::availability::{PROCESS_STREAM_KEY, ProcState, ProcessRt};
use super::bucket::Bucket;
use super::event::{Event, EventQueue};
use super::flight::{HedgeState, InFlight, Role, State};
use super::scenario::{Scenario, Scope, Strategy};
use super::series::{FinishedSeries, SeriesBuilder};
use super::sink::{Done, Sink};
use super::{DesOptions, DesStats, EndpointStats, StreamRun};
use crate::catalog::Catalog;
use crate::engine::rng::RequestRng;
use crate::engine::{NOT_SERVED, Status};
use crate::error::{Error, Place, Problem, Result};
use crate::policy::RoutingTable;
use crate::trace::Trace;

struct EndpointRt {
    capacity: u32,
    busy: u32,
    queue: VecDeque<(u32, u32)>,
    /// Live entries in `queue` (timed-out entries stay until popped).
    queued: u32,
    rpm: Option<Bucket>,
    tpm: Option<Bucket>,
    availability: f64,
    region: usize,
    down: bool,
    latency_x: f64,
    since: f64,
    cooldown_until: f64,
    fails: VecDeque<f64>,
    /// Successful attempts' latencies (finish time, seconds) within the lowest-latency window.
    recent: VecDeque<(f64, f64)>,
    recent_sum: f64,
    stats: EndpointStats,
}

pub(super) struct Sim<'a, S: Sink> {
    catalog: &'a Catalog,
    table: &'a RoutingTable,
    scenario: &'a Scenario,
    pub(super) queue: EventQueue,
    endpoints: Vec<EndpointRt>,
    /// `table.rtt_s` flattened: `[origin * endpoints + endpoint]`.
    rtt_s: Vec<f64>,
    processes: Vec<ProcessRt>,
    /// Per incident: active?
    incident_active: Vec<bool>,
    incident_times: Vec<(f64, f64)>,
    pub(super) slab: Vec<InFlight>,
    free: Vec<u32>,
    pub(super) live: u64,
    /// Hedge attempts and abandoned attempts still holding a slot (the run ends when they do too).
    pub(super) live_aux: u64,
    sink: S,
    pub(super) stats: DesStats,
    series: SeriesBuilder,
    now: f64,
    /// Each arrival's draws, when the loop makes them itself.
    prepare: Prepare<'a>,
    /// Trace index of the next arrival (requests fed so far).
    pub(super) next_request: u64,
    /// Arrivals since the last progress report.
    unreported: u64,
}

/// What the event loop knows when it is over: all of [`StreamRun`] but the series' per-request
/// figures.
pub(super) struct Ended {
    stats: DesStats,
    series: SeriesBuilder,
    end_s: f64,
    incidents: Vec<(String, f64, f64)>,
}

impl Ended {
    pub(super) fn with(self, finished: FinishedSeries) -> StreamRun {
        StreamRun {
            stats: self.stats,
            series: self.series.finish_series(self.end_s, finished),
            incidents: self.incidents,
        }
    }
}

impl<'a, S: Sink> Sim<'a, S> {
    pub(super) fn new(
        catalog: &'a Catalog,
        table: &'a RoutingTable,
        scenario: &'a Scenario,
        opts: &DesOptions,
        first: f64,
        sink: S,
    ) -> Sim<'a, S> {
        let day0 = (first / 86400.0).floor() * 86400.0;
        let endpoints: Vec<EndpointRt> = catalog
            .endpoints
            .iter()
            .zip(&scenario.limits)
            .map(|(e, l)| EndpointRt {
                capacity: l.max_concurrency.map_or(u32::MAX, |c| c.min(u32::MAX as u64) as u32),
                busy: 0,
                queue: VecDeque::new(),
                queued: 0,
                rpm: l.rpm.map(|r| Bucket::per_minute(r, first)),
                tpm: l.tpm.map(|r| Bucket::per_minute(r, first)),
                availability: e.availability,
                region: e.region_idx,
                down: false,
                latency_x: 1.0,
                since: first,
                cooldown_until: f64::NEG_INFINITY,
                fails: VecDeque::new(),
                recent: VecDeque::new(),
                recent_sum: 0.0,
                stats: EndpointStats::default(),
            })
            .collect();
        let mut processes = Vec::new();
        for (e, p) in scenario.endpoint_process.iter().enumerate() {
            if let Some(p) = p {
                processes.push((Scope::Endpoint(e), *p));
            }
        }
        for (r, p) in scenario.region_process.iter().enumerate() {
            if let Some(p) = p {
                processes.push((Scope::Region(r), *p));
            }
        }
        let processes: Vec<ProcessRt> = processes
            .into_iter()
            .enumerate()
            .map(|(k, (scope, p))| ProcessRt {
                scope,
                p,
                state: ProcState::Up,
                next: ProcState::Up,
                rng: RequestRng::new(opts.seed ^ PROCESS_STREAM_KEY, opts.replicate, k as u64),
            })
            .collect();
        let incident_times: Vec<(f64, f64)> = scenario
            .incidents
            .iter()
            .map(|i| if i.clock { (day0 + i.from_s, day0 + i.to_s) } else { (i.from_s, i.to_s) })
            .collect();
        let mut sim = Sim {
            catalog,
            table,
            scenario,
            queue: EventQueue::new(),
            rtt_s: table.rtt_s.iter().flatten().copied().collect(),
            endpoints,
            processes,
            incident_active: vec![false; scenario.incidents.len()],
            incident_times,
            slab: Vec::new(),
            free: Vec::new(),
            live: 0,
            live_aux: 0,
            sink,
            stats: DesStats {
                sim_start_s: first,
                per_endpoint: vec![EndpointStats::default(); catalog.endpoints.len()],
                ..DesStats::default()
            },
            series: SeriesBuilder::new(scenario.bin_s, first),
            now: first,
            prepare: Prepare::new(catalog, table, opts),
            next_request: 0,
            unreported: 0,
        };
        for k in 0..sim.processes.len() {
            let dt = sim.processes[k].draw();
            sim.queue.push(first + dt, Event::Process { process: k as u32 });
        }
        for (k, &(from, to)) in sim.incident_times.clone().iter().enumerate() {
            sim.queue.push(from, Event::Incident { incident: k as u32, start: true });
            sim.queue.push(to, Event::Incident { incident: k as u32, start: false });
        }
        sim
    }

    /// Process this chunk's arrivals and every scheduled event before the last of them (events at
    /// or after it may still be preceded by the next chunk's arrivals, so they wait).
    pub(super) fn run_chunk(&mut self, chunk: &Trace, arrivals: &mut impl Arrivals, progress: &dyn Fn(u64)) {
        const PROGRESS_EVERY: u64 = 1 << 16;
        let prepare = self.prepare;
        let n = chunk.len();
        let mut next = 0usize;
        while next < n {
            let t = chunk.timestamp_s[next];
            if self.queue.arrival_first(t) {
                self.series.advance(t);
                self.now = t;
                let p = arrivals.next(&prepare, self.next_request, chunk, next);
                self.arrive(chunk, next, p);
                self.stats.events += 1;
                next += 1;
                self.unreported += 1;
                if self.unreported == PROGRESS_EVERY {
                    progress(PROGRESS_EVERY);
                    self.unreported = 0;
                }
            } else {
                let ev = self.queue.pop().expect("arrival_first is true on an empty queue");
                self.dispatch(ev.time(), ev.event);
            }
        }
    }

    /// An error if the event queue ran past its limits (a dropped event: the run is not valid).
    pub(super) fn check_queue(&self) -> Result<()> {
        if !self.queue.overflowed() {
            return Ok(());
        }
        let (per_run, pending) = self.queue.limits();
        Err(Error::one(Problem::new(
            Place::default().field("simulate --engine des"),
            format!(
                "the discrete-event engine ran past its event queue's limits ({} events pending at once, \
                 {} per run) after {} requests, with {} requests in flight",
                pending,
                per_run,
                self.next_request,
                self.live + self.live_aux
            ),
            "most pending events are queued attempts waiting with a timeout: raise the endpoints' \
             max_concurrency or lower the policy's per-attempt timeout so fewer wait at once, or \
             replay the trace in shorter windows",
        )))
    }

    /// After the last chunk: every event until no request is left.
    fn drain(&mut self) {
        while self.live > 0 || self.live_aux > 0 {
            let Some(ev) = self.queue.pop() else { break };
            self.dispatch(ev.time(), ev.event);
        }
    }

    #[inline]
    fn dispatch(&mut self, time: f64, event: Event) {
        self.series.advance(time);
        self.now = time;
        self.stats.events += 1;
        match event {
            Event::Process { process } => self.process_transition(process as usize),
            Event::Incident { incident, start } => {
                self.incident_active[incident as usize] = start;
                self.recompute_environment();
            }
            Event::Completion { slot, token } => self.completion(slot, token),
            Event::Release { endpoint } => {
                self.live_aux -= 1;
                self.release(endpoint as usize);
            }
            Event::Hedge { slot, token } => self.launch_hedge(slot, token),
            Event::QueueTimeout { slot, token } => self.queue_timeout(slot, token),
            Event::Retry { slot } => {
                self.slab[slot as usize].state = State::Waiting;
                self.issue(slot);
            }
            // The engine streams arrivals from the trace; it never schedules one.
            Event::Arrival { .. } => debug_assert!(false, "arrivals are not scheduled"),
        }
    }

    /// After the last arrival: every event until no request is left, then what the run gave.
    pub(super) fn end(mut self, progress: &dyn Fn(u64)) -> Result<(S, Ended)> {
        self.drain();
        self.check_queue()?;
        progress(self.unreported);
        Ok(self.finish())
    }

    fn finish(mut self) -> (S, Ended) {
        let end = self.now;
        self.stats.sim_end_s = end;
        for ep in self.endpoints.iter_mut() {
            if ep.down {
                ep.stats.down_s += end - ep.since;
            } else if ep.latency_x > 1.0 {
                ep.stats.degraded_s += end - ep.since;
            }
        }
        self.stats.per_endpoint = self.endpoints.into_iter().map(|e| e.stats).collect();
        let incidents = self
            .scenario
            .incidents
            .iter()
            .zip(&self.incident_times)
            .map(|(i, &(from, to))| (i.name.clone(), from, to))
            .collect();
        (self.sink, Ended { stats: self.stats, series: self.series, end_s: end, incidents })
    }

    fn process_transition(&mut self, k: usize) {
        let p = &mut self.processes[k];
        p.state = p.next;
        let dt = p.draw();
        self.queue.push(self.now + dt, Event::Process { process: k as u32 });
        self.recompute_environment();
    }

    /// Each endpoint's down flag, latency multiplier and rate-limit scale from the processes and
    /// the active incidents (rare events, so recomputed from scratch).
    fn recompute_environment(&mut self) {
        let now = self.now;
        let n = self.endpoints.len();
        let mut down = vec![false; n];
        let mut latency_x = vec![1.0f64; n];
        let mut degraded_x = vec![1.0f64; n];
        let mut rate_x = vec![1.0f64; n];
        let applies = |scope: Scope, e: usize, region: usize| match scope {
            Scope::Endpoint(x) => x == e,
            Scope::Region(r) => r == region,
        };
        for e in 0..n {
            let region = self.endpoints[e].region;
            for p in &self.processes {
                if applies(p.scope, e, region) {
                    match p.state {
                        ProcState::Down => down[e] = true,
                        ProcState::Degraded => degraded_x[e] *= p.p.degraded.map_or(1.0, |d| d.2),
                        ProcState::Up => {}
                    }
                }
            }
            for (k, inc) in self.scenario.incidents.iter().enumerate() {
                if self.incident_active[k] && applies(inc.scope, e, region) {
                    down[e] |= inc.effect.down;
                    latency_x[e] *= inc.effect.latency_x;
                    rate_x[e] *= inc.effect.rate_limit_x;
                }
            }
        }
        for (e, ep) in self.endpoints.iter_mut().enumerate() {
            let new_x = latency_x[e] * degraded_x[e];
            if ep.down != down[e] || (ep.latency_x > 1.0) != (new_x > 1.0) {
                if ep.down {
                    ep.stats.down_s += now - ep.since;
                } else if ep.latency_x > 1.0 {
                    ep.stats.degraded_s += now - ep.since;
                }
                ep.since = now;
            }
            ep.down = down[e];
            ep.latency_x = new_x;
            for b in [&mut ep.rpm, &mut ep.tpm].into_iter().flatten() {
                if b.capacity != b.base_capacity * rate_x[e] {
                    b.rescale(now, rate_x[e]);
                }
            }
        }
    }

    /// Row `row` of `chunk` arrives (now); it is request `self.next_request` of the trace.
    /// Its routing and first draws are `p`.
    fn arrive(&mut self, chunk: &Trace, row: usize, p: Prepared) {
        let i = self.next_request;
        self.next_request += 1;
        let origin = chunk.origin[row];
        let (input_tokens, output_tokens) = (chunk.input_tokens[row], chunk.output_tokens[row]);
        let cached_input_tokens = chunk.cached_input_tokens.as_ref().map_or(0, |c| c[row]);
        let (rule_idx, u) = (p.rule, p.u);
        let table = self.table;
        let rule = &table.rules[rule_idx as usize];
        let mut target = p.target as usize;
        if self.scenario.gateway.strategy != Strategy::Weighted {
            target = self.pick_by_strategy(rule_idx, input_tokens, cached_input_tokens, output_tokens);
        } else if self.scenario.gateway.cooldown.is_some() && self.cooling(rule.targets[target]) {
            // Re-draw among the targets that are not cooling down, by their weights, with the same u.
            let weight = |t: usize| rule.cum_weights[t] - if t == 0 { 0.0 } else { rule.cum_weights[t - 1] };
            let healthy: Vec<usize> =
                (0..rule.targets.len()).filter(|&t| !self.cooling(rule.targets[t]) && weight(t) > 0.0).collect();
            let total: f64 = healthy.iter().map(|&t| weight(t)).sum();
            if total > 0.0 {
                let mut x = u * total;
                target = *healthy.last().unwrap();
                for &t in &healthy {
                    if x < weight(t) {
                        target = t;
                        break;
                    }
                    x -= weight(t);
                }
            }
        }
        let (endpoint, now) = (rule.targets[target], self.now);
        let flight = |token| InFlight {
            request: i,
            input_tokens,
            output_tokens,
            cached_input_tokens,
            segment: p.segment,
            origin,
            rng: p.rng.clone(),
            rule: rule_idx,
            target: target as u16,
            primary: endpoint,
            timeout_s: rule.timeout_s,
            chain_pos: 0,
            retries_here: 0,
            endpoint,
            token,
            state: State::Waiting,
            wasted_s: 0.0,
            wait_total_s: 0.0,
            enqueued_at: now,
            ok: false,
            ttft: 0.0,
            decode: 0.0,
            pending: Status::Ok,
            wait: 0.0,
            duration: 0.0,
            last_status: Status::Failed,
            arrival_s: now,
            role: Role::Request,
            hedge: HedgeState::None,
            hedge_pos: 0,
            end_at: 0.0,
        };
        let slot = self.alloc(flight);
        self.live += 1;
        self.stats.max_in_flight = self.stats.max_in_flight.max(self.live);
        self.issue_drawn(slot, Some(&p));
    }

    /// A slot for the request `make` builds, given the slot's token. Tokens keep counting across
    /// a slot's occupants, so a stale queue entry or event of an earlier request can never match
    /// the new one. (Built in place: the record is three cache lines, and arrivals are half the
    /// loop's events.)
    #[inline(always)]
    fn alloc(&mut self, make: impl FnOnce(u32) -> InFlight) -> u32 {
        match self.free.pop() {
            Some(s) => {
                let f = &mut self.slab[s as usize];
                *f = make(f.token);
                s
            }
            None => {
                self.slab.push(make(0));
                (self.slab.len() - 1) as u32
            }
        }
    }

    /// Free a slot (its token moves on, so its stale events and queue entries never match again).
    fn free_slot(&mut self, slot: u32) {
        let f = &mut self.slab[slot as usize];
        f.state = State::Waiting;
        f.token = f.token.wrapping_add(1);
        self.free.push(slot);
    }

    /// The hedge delay has passed: if the first attempt (`token`) is still queued or running, a
    /// second attempt starts at the first fallback.
    fn launch_hedge(&mut self, slot: u32, token: u32) {
        let s = slot as usize;
        let f = &self.slab[s];
        if f.token != token
            || f.role != Role::Request
            || f.hedge != HedgeState::None
            || !matches!(f.state, State::Queued | State::InService)
        {
            return;
        }
        let chain = &self.table.rules[f.rule as usize].fallbacks[f.target as usize];
        let Some(&endpoint) = chain.first() else { return };
        let f = &mut self.slab[s];
        let key: u64 = f.rng.random();
        let child = InFlight {
            rng: RequestRng::from_base(key, 0),
            chain_pos: 1,
            retries_here: 0,
            endpoint,
            state: State::Waiting,
            wasted_s: self.now - f.arrival_s,
            wait_total_s: 0.0,
            role: Role::Hedge { parent: slot, request: f.request },
            hedge: HedgeState::Done,
            hedge_pos: 0,
            ..f.clone()
        };
        f.hedge_pos = 1;
        let child_slot = self.alloc(|token| InFlight { token, ..child });
        self.slab[s].hedge = HedgeState::Live(child_slot);
        self.live_aux += 1;
        self.stats.hedges += 1;
        self.issue(child_slot);
    }

    /// The parent of a hedge attempt, if it is still waiting for this hedge.
    fn hedge_parent(&self, child: u32) -> Option<u32> {
        match self.slab[child as usize].role {
            Role::Hedge { parent, request } => {
                let p = &self.slab[parent as usize];
                (p.role == Role::Request && p.request == request && p.hedge == HedgeState::Live(child))
                    .then_some(parent)
            }
            Role::Request => None,
        }
    }

    /// A hedge attempt is over (`served`: it answered, from that endpoint, with that latency).
    fn hedge_over(&mut self, child: u32, served: Option<(u16, f64)>, status: Status) {
        let parent = self.hedge_parent(child);
        self.live_aux -= 1;
        self.free_slot(child);
        let Some(parent) = parent else {
            // Its request was answered already: a successful answer is billed all the same.
            if let Some((e, _)) = served {
                // The slot is free but still holds the request's figures.
                self.stats.hedge_extra_cost_usd += self.cost_of(e, child);
            }
            return;
        };
        let p = &mut self.slab[parent as usize];
        p.hedge = HedgeState::Done;
        match served {
            Some((e, latency)) => {
                self.stats.hedge_wins += 1;
                let attempts = p.hedge_pos + 1;
                self.finish_with(parent, Some(e), Status::Ok, latency, attempts);
            }
            None => {
                if p.state == State::AwaitHedge {
                    // Its own attempt failed earlier; the time spent waiting on the hedge counts.
                    p.wasted_s = self.now - p.arrival_s;
                    self.next_endpoint(parent, status);
                }
            }
        }
    }

    /// What serving the request in `slot` at `e` costs.
    fn cost_of(&self, e: u16, slot: u32) -> f64 {
        let f = &self.slab[slot as usize];
        self.catalog.endpoints[e as usize].prices.cost_usd(f.input_tokens, f.cached_input_tokens, f.output_tokens)
    }

    /// The primary's position among the rule's targets under a load-aware strategy. Targets
    /// cooling down are left out unless all are; ties go to the earlier target.
    fn pick_by_strategy(&mut self, rule_idx: u16, input_tokens: u32, cached: u32, output_tokens: u32) -> usize {
        let now = self.now;
        let window = self.scenario.gateway.latency_window_s;
        let table = self.table;
        let rule = &table.rules[rule_idx as usize];
        if self.scenario.gateway.strategy == Strategy::LowestLatency {
            for &e in &rule.targets {
                let ep = &mut self.endpoints[e as usize];
                while ep.recent.front().is_some_and(|&(t, _)| t <= now - window) {
                    let (_, l) = ep.recent.pop_front().expect("checked");
                    ep.recent_sum -= l;
                }
            }
        }
        let n = rule.targets.len();
        let any_healthy = (0..n).any(|t| !self.cooling(rule.targets[t]));
        let eligible = |t: usize| !any_healthy || !self.cooling(rule.targets[t]);
        let best_by = |score: &dyn Fn(usize) -> f64| -> usize {
            let mut best = None;
            for t in (0..n).filter(|&t| eligible(t)) {
                let sc = score(t);
                if best.is_none_or(|(_, b)| sc < b) {
                    best = Some((t, sc));
                }
            }
            best.map_or(0, |(t, _)| t)
        };
        match self.scenario.gateway.strategy {
            Strategy::Weighted => unreachable!("handled by the caller"),
            Strategy::LeastBusy => best_by(&|t| {
                let ep = &self.endpoints[rule.targets[t] as usize];
                f64::from(ep.busy + ep.queued)
            }),
            Strategy::LowestLatency => best_by(&|t| {
                let ep = &self.endpoints[rule.targets[t] as usize];
                if ep.recent.is_empty() { 0.0 } else { ep.recent_sum / ep.recent.len() as f64 }
            }),
            Strategy::CheapestFirst => {
                let tokens = input_tokens as f64 + output_tokens as f64;
                let cost = |t: usize| {
                    self.catalog.endpoints[rule.targets[t] as usize].prices.cost_usd(
                        input_tokens,
                        cached,
                        output_tokens,
                    )
                };
                let has_room = |t: usize| {
                    let ep = &self.endpoints[rule.targets[t] as usize];
                    let room = |b: &Option<Bucket>, need: f64| {
                        b.as_ref().is_none_or(|b| {
                            let mut b = *b;
                            b.refill(now);
                            b.wait_for(need) == 0.0
                        })
                    };
                    room(&ep.rpm, 1.0) && room(&ep.tpm, tokens)
                };
                let mut order: Vec<usize> = (0..n).filter(|&t| eligible(t)).collect();
                order.sort_by(|&a, &b| cost(a).total_cmp(&cost(b)).then(a.cmp(&b)));
                order.iter().copied().find(|&t| has_room(t)).or(order.first().copied()).unwrap_or(0)
            }
        }
    }

    #[inline]
    fn cooling(&self, e: u16) -> bool {
        self.now < self.endpoints[e as usize].cooldown_until
    }

    /// Start the current attempt of the request in `slot` at its current endpoint.
    fn issue(&mut self, slot: u32) {
        self.issue_drawn(slot, None)
    }

    /// [`Sim::issue`], with the draws made ahead as the request arrives (see [`Prepared`]).
    #[inline]
    fn issue_drawn(&mut self, slot: u32, ahead: Option<&Prepared>) {
        let now = self.now;
        let s = slot as usize;
        let e = self.slab[s].endpoint as usize;
        if self.scenario.gateway.cooldown.is_some() && self.cooling(e as u16) {
            self.endpoints[e].stats.skipped_cooling += 1;
            self.stats.skipped_cooling += 1;
            if let Role::Hedge { .. } = self.slab[s].role {
                return self.hedge_over(slot, None, Status::Failed);
            }
            return self.next_endpoint(slot, Status::Failed);
        }
        self.stats.attempts += 1;
        self.endpoints[e].stats.attempts += 1;
        // Rate limits: a request that does not fit gets a 429 at once.
        let ep = &mut self.endpoints[e];
        if ep.rpm.is_some() || ep.tpm.is_some() {
            let f = &self.slab[s];
            let tokens = f.input_tokens as f64 + f.output_tokens as f64;
            let mut retry_after: f64 = 0.0;
            if let Some(b) = &mut ep.rpm {
                b.refill(now);
                retry_after = retry_after.max(b.wait_for(1.0));
            }
            if let Some(b) = &mut ep.tpm {
                b.refill(now);
                retry_after = retry_after.max(b.wait_for(tokens));
            }
            if retry_after > 0.0 {
                ep.stats.rate_limited += 1;
                self.stats.rate_limited += 1;
                self.series.rate_limited(now);
                self.record_failure(e);
                return self.attempt_failed(slot, Status::Failed, Some(retry_after));
            }
            if let Some(b) = &mut ep.rpm {
                b.tokens -= 1.0;
            }
            if let Some(b) = &mut ep.tpm {
                b.tokens -= tokens;
            }
        }
        let ep = &self.endpoints[e];
        let model = &self.catalog.endpoints[e];
        let (down, latency_x, availability) = (ep.down, ep.latency_x, ep.availability);
        let output_tokens = self.slab[s].output_tokens;
        let f = &mut self.slab[s];
        let (ok, ttft, decode);
        match ahead {
            // Nothing drawn yet, at the endpoint the draws were made for: the same values, and
            // the stream where drawing them would have left it.
            Some(p) if p.endpoint == e as u16 => {
                ok = p.u_avail < availability && !down;
                ttft = p.ttft * latency_x;
                decode = if ok { p.decode * latency_x } else { 0.0 };
                f.rng = if ok { p.after_decode.clone() } else { p.after_ttft.clone() };
            }
            _ => {
                ok = f.rng.random::<f64>() < availability && !down;
                ttft = model.ttft.sample(&mut f.rng) * latency_x;
                decode = if ok { model.decode.decode_time(output_tokens, &mut f.rng) * latency_x } else { 0.0 };
            }
        }
        f.token = f.token.wrapping_add(1);
        f.enqueued_at = now;
        f.ok = ok;
        f.ttft = ttft;
        f.decode = decode;
        let token = f.token;
        if let Some(h) = self.scenario.gateway.hedge_after_s {
            let f = &self.slab[s];
            if f.role == Role::Request
                && f.hedge == HedgeState::None
                && f.chain_pos == 0
                && f.retries_here == 0
                && !self.table.rules[f.rule as usize].fallbacks[f.target as usize].is_empty()
            {
                self.queue.push(now + h, Event::Hedge { slot, token });
            }
        }
        let ep = &mut self.endpoints[e];
        if ep.busy < ep.capacity {
            ep.busy += 1;
            self.series.service_change(1);
            self.start(slot);
        } else {
            ep.queue.push_back((slot, token));
            ep.queued += 1;
            ep.stats.max_queue = ep.stats.max_queue.max(ep.queued as u64);
            self.slab[s].state = State::Queued;
            self.series.queue_change(now, 1);
            let timeout = self.slab[s].timeout_s;
            if timeout.is_finite() {
                self.queue.push(now + timeout, Event::QueueTimeout { slot, token });
            }
        }
    }

    /// The attempt in `slot` takes its slot now: decide how it ends and schedule that.
    #[inline]
    fn start(&mut self, slot: u32) {
        let now = self.now;
        let s = slot as usize;
        let timeout = self.slab[s].timeout_s;
        let origin = self.slab[s].origin as usize;
        let e = self.slab[s].endpoint as usize;
        if !self.scenario.slowdown.is_empty() {
            let ep = &self.endpoints[e];
            if ep.capacity != u32::MAX {
                let x = self.scenario.slowdown_at(f64::from(ep.busy) / f64::from(ep.capacity));
                let f = &mut self.slab[s];
                f.ttft *= x;
                f.decode *= x;
            }
        }
        let f = &mut self.slab[s];
        f.state = State::InService;
        let w = now - f.enqueued_at;
        let rtt = self.rtt_s[origin * self.endpoints.len() + e];
        let d = if f.ok { f.ttft + rtt + f.decode } else { f.ttft };
        f.wait = w;
        f.duration = d;
        f.wait_total_s += w;
        let end = if w + d > timeout {
            f.pending = Status::TimedOut;
            (f.enqueued_at + timeout).max(now)
        } else {
            f.pending = if f.ok { Status::Ok } else { Status::Failed };
            now + if f.ok { f.ttft + f.decode } else { f.ttft }
        };
        let token = f.token;
        f.end_at = end;
        if w > 0.0 {
            let st = &mut self.endpoints[e].stats;
            st.waited += 1;
            st.wait_s += w;
        }
        self.queue.push(end, Event::Completion { slot, token });
    }

    #[inline]
    fn release(&mut self, e: usize) {
        let now = self.now;
        let ep = &mut self.endpoints[e];
        ep.busy -= 1;
        self.series.service_change(-1);
        while let Some((s, token)) = ep.queue.pop_front() {
            let f = &self.slab[s as usize];
            if f.token == token && f.state == State::Queued {
                ep.queued -= 1;
                ep.busy += 1;
                self.series.queue_change(now, -1);
                self.series.service_change(1);
                self.start(s);
                return;
            }
        }
    }

    #[inline]
    fn completion(&mut self, slot: u32, token: u32) {
        let s = slot as usize;
        if self.slab[s].token != token || self.slab[s].state != State::InService {
            return;
        }
        let e = self.slab[s].endpoint as usize;
        self.release(e);
        let f = &mut self.slab[s];
        // The attempt is over (its slot is free); what follows decides the request's next state.
        f.state = State::Waiting;
        match f.pending {
            Status::Ok => {
                let latency = f.wasted_s + (f.wait + f.duration);
                if self.scenario.gateway.strategy == Strategy::LowestLatency {
                    let ep = &mut self.endpoints[e];
                    ep.recent.push_back((self.now, f.wait + f.duration));
                    ep.recent_sum += f.wait + f.duration;
                }
                if let Role::Hedge { .. } = f.role {
                    return self.hedge_over(slot, Some((e as u16, latency)), Status::Ok);
                }
                self.finish_request(slot, Some(e as u16), Status::Ok, latency);
            }
            Status::Failed => {
                f.wasted_s += f.wait + f.ttft;
                self.record_failure(e);
                self.attempt_failed(slot, Status::Failed, None);
            }
            Status::TimedOut => {
                f.wasted_s += f.timeout_s;
                self.record_failure(e);
                self.attempt_failed(slot, Status::TimedOut, None);
            }
        }
    }

    fn queue_timeout(&mut self, slot: u32, token: u32) {
        let s = slot as usize;
        if self.slab[s].token != token || self.slab[s].state != State::Queued {
            return;
        }
        let e = self.slab[s].endpoint as usize;
        let timeout = self.slab[s].timeout_s;
        let f = &mut self.slab[s];
        // Leaves the queue (its entry is skipped when popped).
        f.state = State::Waiting;
        f.wasted_s += timeout;
        f.wait_total_s += timeout;
        let ep = &mut self.endpoints[e];
        ep.queued -= 1;
        ep.stats.queue_timeouts += 1;
        ep.stats.waited += 1;
        ep.stats.wait_s += timeout;
        self.stats.queue_timeouts += 1;
        self.series.queue_change(self.now, -1);
        self.record_failure(e);
        self.attempt_failed(slot, Status::TimedOut, None);
    }

    /// Count a failed attempt towards the endpoint's cooldown.
    fn record_failure(&mut self, e: usize) {
        let Some(c) = self.scenario.gateway.cooldown else { return };
        let now = self.now;
        let ep = &mut self.endpoints[e];
        ep.fails.push_back(now);
        while ep.fails.front().is_some_and(|&t| t <= now - c.window_s) {
            ep.fails.pop_front();
        }
        if ep.fails.len() as u64 > c.allowed_fails as u64 {
            ep.cooldown_until = now + c.cooldown_s;
            ep.fails.clear();
            ep.stats.cooldowns += 1;
            self.stats.cooldowns += 1;
        }
    }

    /// After a failed attempt: retry here after a backoff, or move along the chain.
    fn attempt_failed(&mut self, slot: u32, status: Status, retry_after: Option<f64>) {
        let g = self.scenario.gateway;
        let now = self.now;
        let f = &mut self.slab[slot as usize];
        f.last_status = status;
        if let Role::Hedge { .. } = f.role {
            // A hedge is one attempt: no retries, no fallbacks of its own.
            return self.hedge_over(slot, None, status);
        }
        if let HedgeState::Live(_) = f.hedge {
            f.state = State::AwaitHedge;
            return;
        }
        if f.retries_here < g.num_retries {
            let delay = match retry_after {
                Some(ra) if g.honor_retry_after => ra,
                _ => g.backoff_s(f.retries_here + 1),
            };
            if delay.is_finite() {
                f.retries_here += 1;
                self.stats.retries += 1;
                self.series.retry(now);
                if delay > 0.0 {
                    f.wasted_s += delay;
                    f.state = State::Waiting;
                    self.queue.push(now + delay, Event::Retry { slot });
                    return;
                }
                f.state = State::Waiting;
                return self.issue(slot);
            }
        }
        self.next_endpoint(slot, status);
    }

    fn next_endpoint(&mut self, slot: u32, status: Status) {
        let s = slot as usize;
        let f = &self.slab[s];
        let chain = &self.table.rules[f.rule as usize].fallbacks[f.target as usize];
        let mut pos = f.chain_pos as usize + 1;
        if f.hedge_pos as usize == pos {
            pos += 1;
        }
        if pos > chain.len() {
            let latency = f.wasted_s;
            return self.finish_request(slot, None, status, latency);
        }
        let next = chain[pos - 1];
        let f = &mut self.slab[s];
        f.chain_pos = pos as u16;
        f.endpoint = next;
        f.retries_here = 0;
        f.state = State::Waiting;
        self.issue(slot);
    }

    fn finish_request(&mut self, slot: u32, served: Option<u16>, status: Status, latency: f64) {
        let f = &self.slab[slot as usize];
        let attempts = if served.is_some() { f.chain_pos + 1 } else { f.chain_pos.max(f.hedge_pos) + 1 };
        self.finish_with(slot, served, status, latency, attempts)
    }

    #[inline]
    fn finish_with(&mut self, slot: u32, served: Option<u16>, status: Status, latency: f64, attempts: u16) {
        self.abandon_other_attempts(slot);
        let f = &self.slab[slot as usize];
        let wait_total_s = f.wait_total_s;
        let done = Done {
            segment: f.segment,
            target: f.target,
            primary: f.primary,
            attempts: attempts as u8,
            status,
            served: served.unwrap_or(NOT_SERVED),
            latency_s: latency,
            finish_s: self.now,
            input_tokens: f.input_tokens,
            cached_input_tokens: f.cached_input_tokens,
            output_tokens: f.output_tokens,
        };
        self.sink.request_done(f.request, &done);
        if wait_total_s > 0.0 {
            self.stats.requests_that_waited += 1;
            self.stats.wait_s_total += wait_total_s;
            self.stats.max_wait_s = self.stats.max_wait_s.max(wait_total_s);
        }
        self.free_slot(slot);
        self.live -= 1;
    }

    /// When a request is answered or given up while another of its attempts is still out (its
    /// own, when a hedge answered; its hedge, when it answered itself): a queued one leaves its
    /// queue, one in service runs to its end, holding its slot, and is billed if it succeeds.
    fn abandon_other_attempts(&mut self, slot: u32) {
        let now = self.now;
        let f = &self.slab[slot as usize];
        let (own_state, e, pending, end_at) = (f.state, f.endpoint as usize, f.pending, f.end_at);
        match own_state {
            State::Queued => {
                self.endpoints[e].queued -= 1;
                self.series.queue_change(now, -1);
            }
            State::InService => {
                self.live_aux += 1;
                self.queue.push(end_at, Event::Release { endpoint: e as u16 });
                if pending == Status::Ok {
                    self.stats.hedge_extra_cost_usd += self.cost_of(e as u16, slot);
                }
            }
            State::Waiting | State::AwaitHedge => {}
        }
        if let HedgeState::Live(child) = self.slab[slot as usize].hedge {
            self.slab[slot as usize].hedge = HedgeState::Done;
            let c = &self.slab[child as usize];
            if c.state == State::Queued {
                let ce = c.endpoint as usize;
                self.endpoints[ce].queued -= 1;
                self.series.queue_change(now, -1);
                self.live_aux -= 1;
                self.free_slot(child);
            }
            // In service: its completion finds no parent, frees its slot and bills it if it succeeded.
        }
    }
}
