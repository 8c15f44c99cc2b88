//! The discrete-event engine against the replay engine, queueing theory, token-bucket arithmetic,
//! the outage process's long-run unavailability, and scripted incidents with and without cooldown.

use std::path::Path;

use switchyard::catalog::Catalog;
use switchyard::des::{self, DesOptions, DesRun, Scenario};
use switchyard::engine::rng::RequestRng;
use switchyard::engine::{self, NOT_SERVED, ReplayOptions, Status};
use switchyard::metrics;
use switchyard::policy::{Policy, RoutingTable};
use switchyard::trace::{Row, Trace};

use rand::RngExt;

/// Relative tolerance for M/M/c figures against Erlang C (the issue's 2%).
const ERLANG_TOL: f64 = 0.02;
/// Standard deviations allowed between the two engines' totals.
const Z_MAX: f64 = 4.0;
/// Relative tolerance for the long-run unavailability (about 4 sd for 10,000 up/down cycles).
const UNAVAILABILITY_TOL: f64 = 0.06;

fn catalog(yaml: &str) -> Catalog {
    Catalog::from_yaml_str(yaml, Path::new("test-catalog.yaml")).unwrap()
}

fn bind(policy_yaml: &str, c: &Catalog, t: &Trace) -> RoutingTable {
    Policy::from_yaml_str(policy_yaml, Path::new("test-policy.yaml"), c).unwrap().bind(c, t).unwrap()
}

fn scenario(yaml: &str, c: &Catalog) -> Scenario {
    Scenario::from_yaml_str(yaml, Path::new("test-scenario.yaml"), c).unwrap()
}

fn run(c: &Catalog, table: &RoutingTable, t: &Trace, s: &Scenario, seed: u64) -> DesRun {
    des::simulate(c, table, t, s, &DesOptions { seed, replicate: 0 }, &|_| {}).unwrap()
}

fn trace_at(times: &[f64], origin: &str, output_tokens: u32) -> Trace {
    let rows: Vec<Row> = times
        .iter()
        .enumerate()
        .map(|(i, &t)| Row {
            timestamp_s: t,
            class: "chat",
            origin: Some(origin),
            input_tokens: 100 + (i % 5) as u32,
            output_tokens,
        })
        .collect();
    Trace::from_rows("test", &rows)
}

/// Poisson arrivals at `rate` per second (fixed seed).
fn poisson_times(n: usize, rate: f64, seed: u64) -> Vec<f64> {
    let mut rng = RequestRng::new(seed, 0, 0);
    let mut t = 0.0;
    (0..n)
        .map(|_| {
            let u: f64 = rng.random();
            t += -(1.0 - u).ln() / rate;
            t
        })
        .collect()
}

const TWO_REGIONS: &str = r#"
rtt_s: {us-east-1: {ap-southeast-1: 0.2}}
models:
  - name: m
    ttft: {fixed: 0.5}
    decode: {constant: 100}
    availability: 1.0
    prices: {input_per_mtok: 1.0, output_per_mtok: 4.0}
    regions: {us-east-1: {}, ap-southeast-1: {}}
"#;

// ---------------------------------------------------------------- agreement with the replay engine

const FIXED_CATALOG: &str = r#"
rtt_s: {us-east-1: {eu-west-1: 0.08}}
models:
  - name: a
    ttft: {fixed: 0.25}
    decode: {constant: 50}
    availability: 0.9
    prices: {input_per_mtok: 1.0, output_per_mtok: 2.0}
    regions: {us-east-1: {}, eu-west-1: {}}
  - name: b
    ttft: {fixed: 2.5}
    decode: {constant: 80}
    availability: 0.7
    prices: {input_per_mtok: 0.5, output_per_mtok: 1.0}
    regions: {us-east-1: {}}
"#;

const FIXED_POLICY: &str = r#"
rules:
  - targets: {a@us-east-1: 0.5, a@eu-west-1: 0.3, b@us-east-1: 0.2}
    fallback: [b@us-east-1, a@us-east-1]
    timeout_s: 4.0
"#;

fn varied_trace(n: usize) -> Trace {
    let rows: Vec<Row> = (0..n)
        .map(|i| Row {
            timestamp_s: i as f64 * 0.05,
            class: "chat",
            origin: Some(if i % 3 == 0 { "eu-west-1" } else { "us-east-1" }),
            input_tokens: 200 + (i % 11) as u32 * 30,
            output_tokens: 20 + (i % 13) as u32 * 15,
        })
        .collect();
    Trace::from_rows("varied", &rows)
}

#[test]
fn unlimited_capacity_agrees_exactly_with_replay_on_fixed_and_lognormal_catalogs() {
    // On the lognormal catalog too: every request draws from its stream in the replay's order
    // (the discrete-event engine makes the first attempt's draws ahead of its loop).
    for yaml in [FIXED_CATALOG, LOGNORMAL_CATALOG] {
        let c = catalog(yaml);
        let t = varied_trace(20_000);
        let table = bind(FIXED_POLICY, &c, &t);
        let replay = engine::replay(&c, &table, &t, &ReplayOptions { seed: 5, replicate: 0 });
        let des = run(&c, &table, &t, &Scenario::unlimited(&c), 5).outcomes;
        // Fallbacks, failures and timeouts all occur, so the comparison covers every path.
        assert!(replay.attempts.contains(&3), "no request reached the second fallback");
        assert!(replay.status.contains(&Status::TimedOut) && replay.status.contains(&Status::Failed));
        for i in 0..t.len() {
            assert_eq!(
                (des.primary[i], des.served[i], des.attempts[i], des.status[i]),
                (replay.primary[i], replay.served[i], replay.attempts[i], replay.status[i]),
                "request {i}"
            );
            assert_eq!(des.latency_s[i], replay.latency_s[i], "request {i}: latency");
        }
        let (sd, sr) = (metrics::summarize(&c, &table, &t, &des), metrics::summarize(&c, &table, &t, &replay));
        assert_eq!(sd.overall, sr.overall);
    }
}

/// [`FIXED_CATALOG`] with random times to first token and decode speeds.
const LOGNORMAL_CATALOG: &str = r#"
rtt_s: {us-east-1: {eu-west-1: 0.08}}
models:
  - name: a
    ttft: {lognormal: {median_s: 0.4, p99_s: 3.0}}
    decode: {lognormal: {median: 50, sigma: 0.3}}
    availability: 0.9
    prices: {input_per_mtok: 1.0, output_per_mtok: 2.0}
    regions: {us-east-1: {}, eu-west-1: {}}
  - name: b
    ttft: {lognormal: {median_s: 1.5, p99_s: 6.0}}
    decode: {lognormal: {median: 80, sigma: 0.2}}
    availability: 0.7
    prices: {input_per_mtok: 0.5, output_per_mtok: 1.0}
    regions: {us-east-1: {}}
"#;

#[test]
fn unlimited_capacity_agrees_with_replay_within_4_sd_on_the_default_catalog() {
    let c = Catalog::default_catalog();
    let t = trace_at(&(0..20_000).map(|i| i as f64 * 0.1).collect::<Vec<_>>(), "us-east-1", 300);
    let policy = "rules:\n  - targets: {deepseek-v4-flash@us-east-1: 0.6, qwen3-32b@us-east-1: 0.4}\n    fallback: [glm-5@us-east-1]\n";
    let table = bind(policy, &c, &t);
    // The replay engine's spread of totals over replicates.
    let reps = 12;
    let totals: Vec<(f64, f64)> = (0..reps)
        .map(|r| {
            let o = engine::replay(&c, &table, &t, &ReplayOptions { seed: 77, replicate: r });
            let s = metrics::summarize(&c, &table, &t, &o);
            (s.overall.cost_usd, s.overall.latency_s.unwrap().mean)
        })
        .collect();
    let mean = |f: fn(&(f64, f64)) -> f64| totals.iter().map(f).sum::<f64>() / reps as f64;
    let sd = |f: fn(&(f64, f64)) -> f64, m: f64| {
        (totals.iter().map(|x| (f(x) - m).powi(2)).sum::<f64>() / (reps - 1) as f64).sqrt()
    };
    let (cost_mean, lat_mean) = (mean(|x| x.0), mean(|x| x.1));
    let (cost_sd, lat_sd) = (sd(|x| x.0, cost_mean), sd(|x| x.1, lat_mean));
    let d = run(&c, &table, &t, &Scenario::unlimited(&c), 4242);
    let s = metrics::summarize(&c, &table, &t, &d.outcomes);
    // The difference of one DES run and the replay mean has sd * sqrt(1 + 1/reps).
    let k = (1.0 + 1.0 / reps as f64).sqrt();
    let z_cost = (s.overall.cost_usd - cost_mean) / (cost_sd * k);
    let z_lat = (s.overall.latency_s.unwrap().mean - lat_mean) / (lat_sd * k);
    assert!(z_cost.abs() < Z_MAX, "cost: des {} vs replay {cost_mean} (sd {cost_sd}), z {z_cost}", s.overall.cost_usd);
    assert!(z_lat.abs() < Z_MAX, "mean latency: des vs replay {lat_mean} (sd {lat_sd}), z {z_lat}");
    assert_eq!(d.stats.requests_that_waited, 0);
}

// ---------------------------------------------------------------- queueing theory

/// A catalog with one endpoint whose TTFT is exponential with the given mean (as an empirical
/// quantile table, fine enough that its mean and shape match to well under 0.1%) and no decode.
fn exponential_catalog(mean_s: f64, slots: u64) -> (Catalog, f64) {
    let mut points = Vec::new();
    let dx = 0.002;
    let top = 16.0f64;
    let mut x = 0.0f64;
    while x < top {
        points.push((1.0 - (-x).exp(), x * mean_s));
        x += dx;
    }
    points.push((1.0, top * mean_s));
    let yaml_points: Vec<String> = points.iter().map(|(p, v)| format!("[{p:.17}, {v:.17}]")).collect();
    // The exact mean of the piecewise-linear quantile function.
    let exact_mean: f64 = points.windows(2).map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0).sum();
    let yaml = format!(
        "models:\n  - name: q\n    ttft: {{empirical: [{}]}}\n    decode: {{constant: 100}}\n    availability: 1.0\n    prices: {{input_per_mtok: 1, output_per_mtok: 1}}\n    limits: {{max_concurrency: {slots}}}\n    regions: {{us-east-1: {{}}}}\n",
        yaml_points.join(", ")
    );
    (catalog(&yaml), exact_mean)
}

/// Erlang C: P(wait > 0) for c servers at offered load a = lambda / mu.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / k as f64;
        }
        sum += term;
    }
    let last = term * a / c as f64 / (1.0 - a / c as f64);
    last / (sum + last)
}

#[test]
fn mmc_mean_wait_and_probability_of_waiting_match_erlang_c() {
    let c = 4;
    let (cat, mean_s) = exponential_catalog(1.0, c as u64);
    let lambda = 0.7 * c as f64 / mean_s;
    let n = 400_000;
    let t = trace_at(&poisson_times(n, lambda, 3), "us-east-1", 0);
    let table = bind("rules:\n  - targets: {q@us-east-1: 1.0}\n", &cat, &t);
    let d = run(&cat, &table, &t, &Scenario::plain(&cat), 9);
    let a = lambda * mean_s;
    let p_wait = erlang_c(c, a);
    let mean_wait = p_wait * mean_s / (c as f64 - a);
    let sim_p = d.stats.requests_that_waited as f64 / n as f64;
    let sim_wait = d.stats.wait_s_total / n as f64;
    eprintln!("M/M/{c}: P(wait>0) {sim_p:.5} vs {p_wait:.5}; mean wait {sim_wait:.5} vs {mean_wait:.5}");
    assert!((sim_p / p_wait - 1.0).abs() < ERLANG_TOL, "P(wait>0): simulated {sim_p} vs Erlang C {p_wait}");
    assert!((sim_wait / mean_wait - 1.0).abs() < ERLANG_TOL, "mean wait: simulated {sim_wait} vs {mean_wait}");
}

#[test]
fn mm1_mean_response_time_matches_its_closed_form() {
    let (cat, mean_s) = exponential_catalog(0.5, 1);
    let lambda = 0.5 / mean_s; // rho = 0.5
    let n = 300_000;
    let t = trace_at(&poisson_times(n, lambda, 8), "us-east-1", 0);
    let table = bind("rules:\n  - targets: {q@us-east-1: 1.0}\n", &cat, &t);
    let d = run(&cat, &table, &t, &Scenario::plain(&cat), 10);
    let s = metrics::summarize(&cat, &table, &t, &d.outcomes);
    let sim = s.overall.latency_s.unwrap().mean;
    let exact = 1.0 / (1.0 / mean_s - lambda);
    eprintln!("M/M/1 mean response {sim:.5} vs {exact:.5}");
    assert!((sim / exact - 1.0).abs() < ERLANG_TOL, "M/M/1 mean response: simulated {sim} vs 1/(mu-lambda) {exact}");
}

#[test]
fn fifo_and_same_instant_order_at_a_single_slot() {
    // One slot, TTFT 0.5 s, decode 0: requests at 0, 0, 0.5 (when the first finishes) and 2.0.
    let yaml =
        TWO_REGIONS.replace("decode: {constant: 100}", "decode: {constant: 100}\n    limits: {max_concurrency: 1}");
    let c = catalog(&yaml);
    let t = trace_at(&[0.0, 0.0, 0.5, 2.0], "us-east-1", 0);
    let table = bind("rules:\n  - targets: {m@us-east-1: 1.0}\n", &c, &t);
    let d = run(&c, &table, &t, &Scenario::plain(&c), 1);
    // Trace order breaks the tie at 0; the completion at 0.5 frees the slot before the arrival at 0.5
    // is processed, but the queued second request takes it first (FIFO); the fourth finds it free.
    assert_eq!(d.outcomes.latency_s, vec![0.5, 1.0, 1.0, 0.5]);
    assert_eq!(d.stats.requests_that_waited, 2);
}

// ---------------------------------------------------------------- rate limits

#[test]
fn token_bucket_429s_for_a_constant_rate_stream_match_the_arithmetic() {
    // rpm 60: a bucket of 60 tokens refilled at 1/s. 400 requests every 0.5 s from t = 0.
    // The stream (2/s) outruns the refill, so the bucket never overflows after the start and the
    // requests accepted by the last arrival are floor(60 + 1 * 199.5) = 259: the first 119 (up to
    // t = 59) from the burst, then one per whole second from 60 to 199 (140). 429s = 400 - 259.
    let yaml = TWO_REGIONS.replace("decode: {constant: 100}", "decode: {constant: 100}\n    limits: {rpm: 60}");
    let c = catalog(&yaml);
    let times: Vec<f64> = (0..400).map(|k| k as f64 * 0.5).collect();
    let t = trace_at(&times, "us-east-1", 10);
    let table = bind("rules:\n  - targets: {m@us-east-1: 1.0}\n", &c, &t);
    let d = run(&c, &table, &t, &Scenario::plain(&c), 1);
    let accepted = (60.0 + 1.0 * times[399]).floor() as u64;
    assert_eq!(accepted, 259);
    assert_eq!(d.stats.rate_limited, 400 - accepted);
    let served = d.outcomes.served.iter().filter(|&&e| e != NOT_SERVED).count() as u64;
    assert_eq!(served, accepted);
    // Which ones: all of the first 119, then exactly those on whole seconds.
    for (k, &e) in d.outcomes.served.iter().enumerate() {
        let expect = k < 119 || k % 2 == 0;
        assert_eq!(e != NOT_SERVED, expect, "request {k} at {} s", times[k]);
    }
    // A tpm limit counts input + output tokens: 6000 tpm = 100 tokens/s; each request needs
    // 110..114 tokens, so after the burst about one in two gets through.
    let yaml = TWO_REGIONS.replace("decode: {constant: 100}", "decode: {constant: 100}\n    limits: {tpm: 6000}");
    let c = catalog(&yaml);
    let table = bind("rules:\n  - targets: {m@us-east-1: 1.0}\n", &c, &t);
    let d = run(&c, &table, &t, &Scenario::plain(&c), 1);
    let total_tokens: f64 = (0..400).map(|i| (t.input_tokens[i] + t.output_tokens[i]) as f64).sum();
    let served_tokens: f64 = (0..400)
        .filter(|&i| d.outcomes.served[i] != NOT_SERVED)
        .map(|i| (t.input_tokens[i] + t.output_tokens[i]) as f64)
        .sum();
    assert!(served_tokens <= 6000.0 + 100.0 * times[399], "served {served_tokens} tokens, more than the bucket allows");
    assert!(served_tokens > 6000.0 + 100.0 * times[399] - 114.0, "served only {served_tokens} tokens");
    assert!(d.stats.rate_limited > 0 && served_tokens < total_tokens);
}

#[test]
fn a_429_is_retried_after_its_retry_after() {
    // rpm 1: a bucket of one token refilled every 60 s. The first request takes it; the second, at
    // 10 s, gets a 429 with retry-after 50 s and, retried then, is served at 60 s.
    let yaml = TWO_REGIONS.replace("decode: {constant: 100}", "decode: {constant: 100}\n    limits: {rpm: 1}");
    let c = catalog(&yaml);
    let t = trace_at(&[0.0, 10.0], "us-east-1", 0);
    let table = bind("rules:\n  - targets: {m@us-east-1: 1.0}\n", &c, &t);
    let s = scenario("gateway: {num_retries: 1, honor_retry_after: true, retry_backoff_s: 1}\n", &c);
    let d = run(&c, &table, &t, &s, 1);
    assert_eq!(d.outcomes.served, vec![0, 0]);
    assert_eq!(d.outcomes.latency_s, vec![0.5, 50.0 + 0.5]);
    assert_eq!((d.stats.rate_limited, d.stats.retries, d.stats.attempts), (1, 1, 3));
    // Without honouring retry-after, the 1 s backoff retry meets another 429 and the request fails.
    let s = scenario("gateway: {num_retries: 1, honor_retry_after: false, retry_backoff_s: 1}\n", &c);
    let d = run(&c, &table, &t, &s, 1);
    assert_eq!(d.outcomes.served, vec![0, NOT_SERVED]);
    assert_eq!(d.stats.rate_limited, 2);
}

// ---------------------------------------------------------------- availability

#[test]
fn long_run_unavailability_is_mttr_over_mtbf_plus_mttr() {
    let c = catalog(TWO_REGIONS);
    // One request every 100 s for 1e7 s: about 10,000 up/down cycles of the region process.
    let times: Vec<f64> = (0..100_000).map(|k| k as f64 * 100.0).collect();
    let t = trace_at(&times, "us-east-1", 0);
    let table = bind("rules:\n  - targets: {m@us-east-1: 1.0}\n", &c, &t);
    let s = scenario("availability:\n  regions: {us-east-1: {mtbf_s: 900, mttr_s: 100}}\n", &c);
    let d = run(&c, &table, &t, &s, 21);
    let horizon = d.stats.sim_end_s - d.stats.sim_start_s;
    let down = d.stats.per_endpoint[0].down_s / horizon;
    let expected = 100.0 / (900.0 + 100.0);
    eprintln!("unavailability {down:.5} vs {expected}");
    assert!((down / expected - 1.0).abs() < UNAVAILABILITY_TOL, "time down {down} vs MTTR/(MTBF+MTTR) {expected}");
    // Arrivals see time averages: the share of failed requests estimates the same number.
    let failed = d.outcomes.served.iter().filter(|&&e| e == NOT_SERVED).count() as f64 / times.len() as f64;
    assert!((failed / expected - 1.0).abs() < UNAVAILABILITY_TOL, "failed share {failed} vs {expected}");
    // The other region's endpoint has no process and is never down.
    assert_eq!(d.stats.per_endpoint[1].down_s, 0.0);
}

const FAILOVER_POLICY: &str = "rules:\n  - targets: {m@ap-southeast-1: 1.0}\n    fallback: [m@us-east-1]\n";

#[test]
fn a_scripted_regional_incident_fails_over_exactly_the_traffic_in_its_window() {
    let c = catalog(TWO_REGIONS);
    // One request a second from 00:00 to 00:30 from ap-southeast-1; the region is down 00:10-00:20.
    let times: Vec<f64> = (0..1800).map(|k| k as f64).collect();
    let t = trace_at(&times, "ap-southeast-1", 50);
    let table = bind(FAILOVER_POLICY, &c, &t);
    let s = scenario("incidents:\n  - {region: ap-southeast-1, from: \"00:10\", to: \"00:20\", down: true}\n", &c);
    let d = run(&c, &table, &t, &s, 3);
    let (ap, us) = (1u16, 0u16);
    for (i, &at) in times.iter().enumerate() {
        let in_window = (600.0..1200.0).contains(&at);
        let (served, attempts) = (d.outcomes.served[i], d.outcomes.attempts[i]);
        if in_window {
            assert_eq!((served, attempts), (us, 2), "request at {at} s");
            // The failed attempt's TTFT, then TTFT + RTT + decode at the fallback.
            assert_eq!(d.outcomes.latency_s[i], 0.5 + (0.5 + 0.2 + 0.5), "request at {at} s");
        } else {
            assert_eq!((served, attempts), (ap, 1), "request at {at} s");
        }
    }
    assert_eq!(d.stats.per_endpoint[ap as usize].down_s, 600.0);
}

#[test]
fn litellm_cooldown_skips_a_dead_endpoint_by_the_arithmetic() {
    let c = catalog(TWO_REGIONS);
    let times: Vec<f64> = (0..1800).map(|k| k as f64).collect();
    let t = trace_at(&times, "ap-southeast-1", 50);
    let table = bind(FAILOVER_POLICY, &c, &t);
    let incident = "incidents:\n  - {region: ap-southeast-1, from: 600, to: 1200, down: true}\n";
    let plain = run(&c, &table, &t, &scenario(incident, &c), 3);
    let cooled = run(
        &c,
        &table,
        &t,
        &scenario(&format!("{incident}gateway:\n  cooldown: {{allowed_fails: 2, window_s: 60, cooldown_s: 30}}\n"), &c),
        3,
    );
    // Failures land 0.5 s after each attempt; the third within a minute (> allowed_fails = 2) cools
    // the endpoint for 30 s: a cycle of 3 failed attempts and 30 skipped requests every 33 s. In the
    // 600 s window: 18 cycles (594 s), then 3 failures at 1194-1196 and 3 skips at 1197-1199, and
    // the cooldown from 1196.5 still skips 1200-1226 after the region is back: 18*30 + 3 + 27.
    assert_eq!(cooled.stats.skipped_cooling, 18 * 30 + 3 + 27);
    assert_eq!(cooled.stats.cooldowns, 19);
    assert_eq!(plain.stats.skipped_cooling, 0);
    // Skipped requests go straight to the fallback: no wasted 0.5 s.
    let wasted = |d: &DesRun| d.outcomes.latency_s.iter().filter(|&&l| l > 1.2 + 1e-9).count();
    assert_eq!(wasted(&plain), 600);
    assert_eq!(wasted(&cooled), 600 - (18 * 30 + 3));
}

#[test]
fn draws_ahead_and_finished_requests_on_their_own_threads_give_the_same_run() {
    // `spare_core` makes the arrivals' draws on one thread ahead of the event loop and hands the
    // outcomes, the series' per-request figures and the sink's work to another after it; nothing
    // may change, including every bin of the series. The scenarios re-route requests at arrival
    // (cooldown, least-busy), retry at the same endpoint after a 429, hedge, and scale latencies.
    let c = catalog(LOGNORMAL_CATALOG);
    let t = varied_trace(20_000);
    let table = bind(FIXED_POLICY, &c, &t);
    for yaml in [
        format!("timeseries: {{bin_s: 30}}\n{BUSY_SCENARIO}"),
        "gateway: {strategy: least-busy, hedge_after_s: 1.0}\nlimits: {default: {max_concurrency: 3}}\n".into(),
        "incidents:\n  - {endpoint: a@us-east-1, from: 100, to: 400, latency_x: 3}\n  - {region: eu-west-1, from: 500, to: 600, down: true}\n".into(),
    ] {
        same_run_inline_and_on_three_threads(&c, &table, &t, &scenario(&yaml, &c));
    }
}

fn same_run_inline_and_on_three_threads(c: &Catalog, table: &RoutingTable, t: &Trace, s: &Scenario) {
    let opts = DesOptions { seed: 5, replicate: 0 };
    let run = |spare_core| {
        let counted = std::cell::Cell::new(0u64);
        let (run, sink) = des::simulate_kept(c, table, t, s, &opts, engine::Keep::All, Count(0), spare_core, &|k| {
            counted.set(counted.get() + k)
        })
        .unwrap();
        (run, sink.0, counted.get())
    };
    let (inline, inline_sink, inline_progress) = run(false);
    let (piped, piped_sink, piped_progress) = run(true);
    assert_eq!(piped.outcomes, inline.outcomes);
    assert_eq!(piped.stats, inline.stats);
    assert_eq!(piped.series, inline.series);
    assert_eq!((piped_sink, piped_progress), (inline_sink, inline_progress));
    assert_eq!(inline_sink, t.len() as u64, "the sink sees every request once");
    assert!(inline.series.bins.len() > 10 && inline.series.bins.iter().any(|b| b.p99_s.is_some() && b.failed > 0));
    assert!(inline.outcomes.attempts.iter().any(|&a| a > 1), "some requests must fall back");
}

/// A sink that counts finished requests.
struct Count(u64);

impl des::Sink for Count {
    fn request_done(&mut self, _: u64, _: &des::Done) {
        self.0 += 1;
    }
}

// ---------------------------------------------------------------- determinism and input errors

#[test]
fn same_seed_same_outcomes_and_time_series() {
    let c = catalog(FIXED_CATALOG);
    let t = varied_trace(5_000);
    let table = bind(FIXED_POLICY, &c, &t);
    let s = scenario(
        "gateway: {num_retries: 1, retry_backoff_s: 0.2, cooldown: {allowed_fails: 3, cooldown_s: 5}}\nlimits: {default: {max_concurrency: 2, rpm: 120}}\navailability: {endpoints: {default: {mtbf_s: 300, mttr_s: 30, degraded: {mtbf_s: 200, mttr_s: 40, latency_x: 2}}}}\n",
        &c,
    );
    let a = run(&c, &table, &t, &s, 12);
    let b = run(&c, &table, &t, &s, 12);
    assert_eq!(a.outcomes, b.outcomes);
    assert_eq!(a.stats, b.stats);
    assert_eq!(a.series, b.series);
    let st = &a.stats;
    assert!(st.rate_limited > 0 && st.requests_that_waited > 0 && st.retries > 0 && st.cooldowns > 0, "{st:?}");
    let served: u64 = a.series.bins.iter().map(|b| b.served).sum();
    assert_eq!(served, a.outcomes.served.iter().filter(|&&e| e != NOT_SERVED).count() as u64);
}

#[test]
fn bad_scenarios_name_the_line_the_field_and_the_fix() {
    let c = catalog(TWO_REGIONS);
    let err = Scenario::from_yaml_str("gateway:\n  num_retires: 2\n", Path::new("s.yaml"), &c).unwrap_err().to_string();
    assert!(err.contains("s.yaml:2") && err.contains("num_retires"), "{err}");
    let text = "incidents:\n  - {region: ap-southeast-2, from: \"03:00\", to: \"02:00\", down: true}\n  - {endpoint: m@us-east-1, from: \"14:00\", for: 15 minutes, latency_x: 3}\navailability:\n  endpoints: {m@us-east-1: {mtbf_s: -1, mttr_s: 10}}\n";
    let err = Scenario::from_yaml_str(text, Path::new("s.yaml"), &c).unwrap_err().to_string();
    for needle in [
        "unknown region `ap-southeast-2`",
        "closest: `ap-southeast-1`",
        "ends (7200 s) before it starts (10800 s)",
        "`15 minutes`",
        "mtbf_s",
        "s.yaml:2",
        "s.yaml:3",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
}

#[test]
fn cli_des_report_is_byte_identical_at_any_thread_count_and_writes_series_and_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |threads: &str, json: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(["--threads", threads, "simulate", "--quiet", "--engine", "des", "--replicates", "2", "--trace"])
            .arg(crate::root().join("traces/sample.csv"))
            .arg("--policy")
            .arg(crate::root().join("policies/field-report.yaml"))
            .arg("--scenario")
            .arg(crate::root().join("policies/scenario-outage.yaml"))
            .arg("--json")
            .arg(tmp.path().join(json))
            .arg("--timeseries")
            .arg(tmp.path().join("series.csv"))
            .arg("--timeseries")
            .arg(tmp.path().join("series.parquet"))
            .arg("--chart")
            .arg(tmp.path().join("timeline"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run("1", "a.json");
    run("2", "b.json");
    let (a, b) = (std::fs::read(tmp.path().join("a.json")).unwrap(), std::fs::read(tmp.path().join("b.json")).unwrap());
    assert_eq!(a, b, "the des report differs between 1 and 2 threads");
    assert!(text.contains("discrete-event:"), "{text}");
    let report: serde_json::Value = serde_json::from_slice(&a).unwrap();
    assert!(report["des"]["queue"]["requests_that_waited"].is_number(), "{}", report["des"]);
    // The ap-southeast-1 incident (20 minutes) shows in every endpoint of the region.
    assert_eq!(report["des"]["per_endpoint"]["glm-5@ap-southeast-1"]["down_s"], serde_json::json!(1200.0));
    let csv = std::fs::read_to_string(tmp.path().join("series.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert_eq!(
        header,
        "bin_start_s,served,failed,rate_limited_429,retries,queue_mean,queue_max,in_service_mean,p50_s,p99_s,cost_usd"
    );
    // Every request of the (first) replicate finishes once: served + failed over the bins = requests.
    let column =
        |k: usize| -> u64 { csv.lines().skip(1).map(|l| l.split(',').nth(k).unwrap().parse::<u64>().unwrap()).sum() };
    assert_eq!(column(1) + column(2), report["n_requests"].as_u64().unwrap());
    let parquet = std::fs::read(tmp.path().join("series.parquet")).unwrap();
    assert_eq!(&parquet[..4], b"PAR1");
    assert_eq!(&std::fs::read(tmp.path().join("timeline/timeline.png")).unwrap()[1..4], b"PNG");
    assert!(std::fs::read_to_string(tmp.path().join("timeline/timeline.svg")).unwrap().contains("ap-southeast-1 down"));
}

// ---------------------------------------------------------------- optimize --verify-engine des

#[test]
fn optimize_verified_in_the_des_sees_the_queue_the_lp_and_the_replay_miss() {
    use switchyard::optimize::Constraints;
    use switchyard::optimize::recommend::{Options, recommend};
    // `cheap` meets the bound on its own in the LP and in the replay (1.1 s, no queue), but it has
    // one slot, and requests arrive every 0.25 s: in the discrete-event engine the queue grows
    // without bound. `fast` costs ten times more and has no limit.
    let c = catalog(
        r#"
models:
  - {name: cheap, ttft: {fixed: 0.6}, decode: {constant: 100}, availability: 1.0,
     prices: {input_per_mtok: 0.1, output_per_mtok: 0.4}, quality: {chat: 0.9},
     regions: {us-east-1: {limits: {max_concurrency: 1}}}}
  - {name: fast, ttft: {fixed: 0.3}, decode: {constant: 100}, availability: 1.0,
     prices: {input_per_mtok: 1.0, output_per_mtok: 4.0}, quality: {chat: 0.9}, regions: {us-east-1: {}}}
"#,
    );
    let k = Constraints::from_yaml_str(
        "routes: {max_fallbacks: 0}\nclasses:\n  chat: {latency_s: 2.0, quality: 0.5, success: 0.9}\n",
        Path::new("k.yaml"),
        &c,
    )
    .unwrap();
    let t = trace_at(&(0..800).map(|i| i as f64 * 0.25).collect::<Vec<_>>(), "us-east-1", 50);
    let opts =
        |des: Option<Scenario>| Options { seed: 5, replicates: 2, max_rounds: 3, verify: true, current: None, des };
    let p99 = |r: &switchyard::optimize::recommend::Round| {
        r.checks.iter().find(|x| x.class == "chat" && x.figure.contains("p99")).map(|x| (x.simulated, x.met)).unwrap()
    };
    let replay = recommend(&c, &k, &t, &opts(None)).unwrap();
    let (sim, met) = p99(&replay.rounds[0]);
    assert!(met && sim <= 2.0, "replay: p99 {sim} should meet 2 s on cheap alone");
    let des = recommend(&c, &k, &t, &opts(Some(Scenario::plain(&c)))).unwrap();
    let (sim0, met0) = p99(&des.rounds[0]);
    assert!(!met0 && sim0 > 10.0, "des round 0: p99 {sim0} s; the one-slot queue should break the 2 s bound");
    // The miss is reported round by round (the LP's tail row cannot see a queue, so tightening its
    // tail mass does not move traffic: the report says so rather than claiming success).
    assert!(des.rounds.len() > 1, "no tightening round after a missed target");
    assert!(!des.rounds[0].tightened.is_empty());
    let (sim_last, met_last) = p99(des.rounds.last().unwrap());
    assert!(!met_last && sim_last > 10.0, "last round: p99 {sim_last}");
}

// ---------------------------------------------------------------- load-aware strategies, slowdown

const TWO_MODELS: &str = r#"
models:
  - name: a
    ttft: {fixed: 1.0}
    decode: {constant: 100}
    availability: 1.0
    prices: {input_per_mtok: 1.0, output_per_mtok: 4.0}
    regions: {us-east-1: {limits: {max_concurrency: 1}}}
  - name: b
    ttft: {fixed: 0.5}
    decode: {constant: 100}
    availability: 1.0
    prices: {input_per_mtok: 2.0, output_per_mtok: 8.0}
    regions: {us-east-1: {limits: {max_concurrency: 1}}}
"#;
const A_AND_B: &str = "rules:\n  - targets: {a@us-east-1: 0.5, b@us-east-1: 0.5}\n";

fn served_by(d: &DesRun, e: u16) -> usize {
    d.outcomes.served.iter().filter(|&&s| s == e).count()
}

#[test]
fn least_busy_alternates_between_two_single_slot_endpoints_and_nobody_waits() {
    // Arrivals every 0.5 s; a takes 1 s. At each arrival exactly one endpoint is idle (a's
    // completion at t is processed before the arrival at t), so least-busy never queues, while the
    // weighted 50/50 draw does.
    let c = catalog(TWO_MODELS);
    let t = trace_at(&(0..200).map(|k| k as f64 * 0.5).collect::<Vec<_>>(), "us-east-1", 0);
    let table = bind(A_AND_B, &c, &t);
    let least = run(&c, &table, &t, &scenario("gateway: {strategy: least-busy}\n", &c), 2);
    assert_eq!(least.stats.requests_that_waited, 0);
    assert_eq!((served_by(&least, 0), served_by(&least, 1)), (100, 100));
    assert!(least.outcomes.served.iter().enumerate().all(|(k, &e)| e as usize == k % 2));
    let weighted = run(&c, &table, &t, &Scenario::plain(&c), 2);
    assert!(weighted.stats.requests_that_waited > 0, "the weighted draw should queue sometimes");
}

#[test]
fn lowest_latency_explores_each_target_once_then_sticks_to_the_faster() {
    // a answers in 1 s, b in 0.5 s; one request every 10 s. The first goes to a (nothing measured;
    // ties to the first target), the second to b (still unmeasured), then b is faster.
    let c = catalog(TWO_MODELS);
    let t = trace_at(&(0..50).map(|k| k as f64 * 10.0).collect::<Vec<_>>(), "us-east-1", 0);
    let table = bind(A_AND_B, &c, &t);
    let d = run(&c, &table, &t, &scenario("gateway: {strategy: lowest-latency, latency_window_s: 600}\n", &c), 2);
    assert_eq!((served_by(&d, 0), served_by(&d, 1)), (1, 49));
    assert_eq!(&d.outcomes.served[..3], &[0, 1, 1]);
}

#[test]
fn cheapest_first_fills_the_cheap_endpoints_rate_limit_then_spills_without_a_429() {
    // a is cheaper with rpm 60 (a bucket of 60, 1/s); b has no limit. 400 requests every 0.5 s:
    // a takes exactly what its bucket allows, floor(60 + 199.5) = 259 (as in the token-bucket
    // test), b the other 141, and the gateway never sends a request into a 429.
    let c = catalog(&TWO_MODELS.replacen("limits: {max_concurrency: 1}", "limits: {rpm: 60}", 1).replacen(
        "{us-east-1: {limits: {max_concurrency: 1}}}",
        "{us-east-1: {}}",
        1,
    ));
    assert_eq!(c.endpoints[0].limits.rpm, Some(60));
    let t = trace_at(&(0..400).map(|k| k as f64 * 0.5).collect::<Vec<_>>(), "us-east-1", 0);
    let table = bind(A_AND_B, &c, &t);
    let d = run(&c, &table, &t, &scenario("gateway: {strategy: cheapest-first}\n", &c), 2);
    assert_eq!((served_by(&d, 0), served_by(&d, 1)), (259, 141));
    assert_eq!(d.stats.rate_limited, 0);
}

#[test]
fn load_dependent_slowdown_follows_the_curve() {
    // Two slots; the curve multiplies TTFT by 1 + utilisation (utilisation counted with the attempt
    // itself): alone 1.5 x 1 s, the second of two simultaneous requests 2 x 1 s.
    let yaml = TWO_MODELS.replacen("limits: {max_concurrency: 1}", "limits: {max_concurrency: 2}", 1);
    let c = catalog(&yaml);
    let t = trace_at(&[0.0, 0.0, 10.0], "us-east-1", 0);
    let table = bind("rules:\n  - targets: {a@us-east-1: 1.0}\n", &c, &t);
    let d = run(&c, &table, &t, &scenario("limits: {slowdown: [[0.0, 1.0], [1.0, 2.0]]}\n", &c), 2);
    assert_eq!(d.outcomes.latency_s, vec![1.5, 2.0, 1.5]);
    let err = Scenario::from_yaml_str("limits: {slowdown: [[0.5, 1.0], [0.2, 2.0]]}\n", Path::new("s.yaml"), &c)
        .unwrap_err()
        .to_string();
    assert!(err.contains("limits.slowdown") && err.contains("fix:"), "{err}");
}

// ---------------------------------------------------------------- hedged requests

const SLOW_PRIMARY: &str = r#"
models:
  - name: a
    ttft: {fixed: 5.0}
    decode: {constant: 100}
    availability: 1.0
    prices: {input_per_mtok: 1.0, output_per_mtok: 4.0}
    regions: {us-east-1: {}}
  - name: b
    ttft: {fixed: 1.0}
    decode: {constant: 100}
    availability: 1.0
    prices: {input_per_mtok: 2.0, output_per_mtok: 8.0}
    regions: {us-east-1: {}}
"#;
const A_THEN_B: &str = "rules:\n  - targets: {a@us-east-1: 1.0}\n    fallback: [b@us-east-1]\n";

#[test]
fn a_hedge_after_1s_answers_from_the_fallback_and_both_attempts_are_billed() {
    let c = catalog(SLOW_PRIMARY);
    let t = trace_at(&[0.0, 100.0], "us-east-1", 0);
    let table = bind(A_THEN_B, &c, &t);
    let d = run(&c, &table, &t, &scenario("gateway: {hedge_after_s: 1.0}\n", &c), 4);
    // a would answer at 5 s; the hedge to b starts at 1 s and answers at 2 s.
    assert_eq!(d.outcomes.served, vec![1, 1]);
    assert_eq!(d.outcomes.attempts, vec![2, 2]);
    assert_eq!(d.outcomes.latency_s, vec![2.0, 2.0]);
    assert_eq!((d.stats.hedges, d.stats.hedge_wins), (2, 2));
    // a's abandoned attempts ran to the end and are billed: 2 x (100..101 input tokens at $1/M).
    let a_cost = (100.0 + 101.0) * 1.0 / 1e6;
    assert!((d.stats.hedge_extra_cost_usd - a_cost).abs() < 1e-15, "{} vs {a_cost}", d.stats.hedge_extra_cost_usd);
    assert_eq!(d.stats.sim_end_s, 105.0, "the abandoned attempt still holds its slot to the end");
    // Without hedging, the primary answers at 5 s.
    let plain = run(&c, &table, &t, &Scenario::plain(&c), 4);
    assert_eq!(plain.outcomes.latency_s, vec![5.0, 5.0]);
}

#[test]
fn a_primary_that_answers_first_wins_and_the_hedge_is_billed() {
    let c = catalog(&SLOW_PRIMARY.replacen("fixed: 5.0", "fixed: 1.5", 1).replacen("fixed: 1.0", "fixed: 5.0", 1));
    let t = trace_at(&[0.0], "us-east-1", 0);
    let table = bind(A_THEN_B, &c, &t);
    let d = run(&c, &table, &t, &scenario("gateway: {hedge_after_s: 1.0}\n", &c), 4);
    assert_eq!((d.outcomes.served[0], d.outcomes.attempts[0], d.outcomes.latency_s[0]), (0, 1, 1.5));
    assert_eq!((d.stats.hedges, d.stats.hedge_wins), (1, 0));
    assert!((d.stats.hedge_extra_cost_usd - 100.0 * 2.0 / 1e6).abs() < 1e-15);
    assert_eq!(d.stats.sim_end_s, 6.0, "the hedge started at 1 s runs its 5 s");
}

#[test]
fn when_both_hedged_attempts_fail_the_chain_goes_on_after_the_hedged_fallback() {
    // a and b always fail; c serves. The hedge takes b (the first fallback), so the chain
    // continues at c once both have failed; latency = time until both failed + c's 1 s.
    let c = catalog(&format!(
        "{}  - name: c\n    ttft: {{fixed: 1.0}}\n    decode: {{constant: 100}}\n    availability: 1.0\n    prices: {{input_per_mtok: 1.0, output_per_mtok: 1.0}}\n    regions: {{us-east-1: {{}}}}\n",
        SLOW_PRIMARY.replace("availability: 1.0", "availability: 0.000001")
    ));
    let t = trace_at(&[0.0], "us-east-1", 0);
    let table = bind("rules:\n  - targets: {a@us-east-1: 1.0}\n    fallback: [b@us-east-1, c@us-east-1]\n", &c, &t);
    let d = run(&c, &table, &t, &scenario("gateway: {hedge_after_s: 1.0}\n", &c), 4);
    // a fails at 5 s (its TTFT); the hedge on b fails at 2 s; c starts at 5 s and answers at 6 s.
    assert_eq!((d.outcomes.served[0], d.outcomes.attempts[0]), (2, 3));
    assert_eq!(d.outcomes.latency_s[0], 6.0);
}

#[test]
fn time_series_integrates_queue_length_and_service_over_each_bin() {
    // One slot, 0.5 s per request, three requests at 0 s and one at 10.2 s, bins of 10 s.
    // Bin 0 (0-10 s): queue 2 for 0.5 s then 1 for 0.5 s -> mean 1.5/10; in service 1.5 s -> 0.15.
    // Bin 1 (10-10.7 s, the simulated part): in service 0.5 s of 0.7 s.
    let yaml =
        TWO_REGIONS.replace("decode: {constant: 100}", "decode: {constant: 100}\n    limits: {max_concurrency: 1}");
    let c = catalog(&yaml);
    let t = trace_at(&[0.0, 0.0, 0.0, 10.2], "us-east-1", 0);
    let table = bind("rules:\n  - targets: {m@us-east-1: 1.0}\n", &c, &t);
    let d = run(&c, &table, &t, &scenario("timeseries: {bin_s: 10}\n", &c), 1);
    let b = &d.series.bins;
    assert_eq!(b.len(), 2);
    let close = |x: f64, y: f64| (x - y).abs() < 1e-12;
    assert!(close(b[0].queue_mean, 0.15) && b[0].queue_max == 2, "{:?}", b[0]);
    assert!(close(b[0].in_service_mean, 0.15), "{:?}", b[0]);
    assert!(close(b[1].in_service_mean, 0.5 / 0.7) && b[1].queue_mean == 0.0, "{:?}", b[1]);
    assert_eq!((b[0].served, b[1].served), (3, 1));
    assert_eq!((b[0].p50_s, b[0].p99_s), (Some(1.0), Some(1.49)));
    let csv = tempfile::tempdir().unwrap();
    switchyard::trace::write::write_table(&d.series.to_table(), &csv.path().join("s.csv")).unwrap();
    let text = std::fs::read_to_string(csv.path().join("s.csv")).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
}

// ---------------------------------------------------------------- a streamed trace

/// Rows `range` of `t`, as a chunk of a streamed trace.
fn rows_of(t: &Trace, range: std::ops::Range<usize>) -> Trace {
    Trace {
        timestamp_s: t.timestamp_s[range.clone()].to_vec(),
        class: t.class[range.clone()].to_vec(),
        origin: t.origin[range.clone()].to_vec(),
        input_tokens: t.input_tokens[range.clone()].to_vec(),
        output_tokens: t.output_tokens[range].to_vec(),
        ..t.clone()
    }
}

const BUSY_SCENARIO: &str = "gateway: {num_retries: 1, retry_backoff_s: 0.2, cooldown: {allowed_fails: 3, cooldown_s: 5}}\nlimits: {default: {max_concurrency: 2, rpm: 120}}\navailability: {endpoints: {default: {mtbf_s: 300, mttr_s: 30, degraded: {mtbf_s: 200, mttr_s: 40, latency_x: 2}}}}\n";

#[test]
fn a_trace_fed_in_chunks_of_any_size_gives_the_whole_trace_run_request_by_request() {
    let c = catalog(FIXED_CATALOG);
    let t = varied_trace(5_000);
    let table = bind(FIXED_POLICY, &c, &t);
    let s = scenario(BUSY_SCENARIO, &c);
    let opts = DesOptions { seed: 12, replicate: 0 };
    let whole = run(&c, &table, &t, &s, 12);
    assert!(whole.stats.requests_that_waited > 0 && whole.stats.retries > 0 && whole.stats.cooldowns > 0);
    for chunk in [1usize, 7, 1000, 4999, 5000] {
        let blank = engine::Outcomes {
            primary: vec![0; t.len()],
            served: vec![0; t.len()],
            attempts: vec![0; t.len()],
            status: vec![Status::Ok; t.len()],
            latency_s: vec![-1.0; t.len()],
            seed: 12,
            replicate: 0,
        };
        let mut stream = des::Stream::new(&c, &table, &s, &opts, t.timestamp_s[0], blank);
        for from in (0..t.len()).step_by(chunk) {
            stream.feed(&rows_of(&t, from..(from + chunk).min(t.len())), &|_| {}).unwrap();
        }
        assert_eq!(stream.fed(), t.len() as u64);
        let (outcomes, streamed) = stream.finish(&|_| {}).unwrap();
        assert_eq!(outcomes, whole.outcomes, "chunks of {chunk}: outcomes differ");
        assert_eq!(streamed.stats, whole.stats, "chunks of {chunk}: stats differ");
        assert_eq!(streamed.series, whole.series, "chunks of {chunk}: series differ");
    }
}

#[test]
fn streamed_state_is_bounded_by_the_requests_in_flight_not_by_the_trace_length() {
    // Arrivals every 0.1 s; each request holds one of 2 slots for 0.25 s + 50 tokens at 50/s
    // (or fails after 0.25 s) and times out of its queue after 4 s: the system never holds more
    // than the requests of the last few seconds, however long the trace.
    let c = catalog(FIXED_CATALOG);
    let s = scenario("limits: {default: {max_concurrency: 2}}\n", &c);
    let opts = DesOptions { seed: 3, replicate: 0 };
    // A request spends at most 4 s (the timeout) on each of its 3 endpoints, arriving 10 a second.
    let bound = (10.0 * 3.0 * 4.0) as u64 + 1;
    let mut slots = Vec::new();
    for n in [2_000usize, 20_000, 200_000] {
        let t = trace_at(&(0..n).map(|i| i as f64 * 0.1).collect::<Vec<f64>>(), "us-east-1", 50);
        let table = bind(FIXED_POLICY, &c, &t);
        let mut stream = des::Stream::new(&c, &table, &s, &opts, 0.0, ());
        for from in (0..n).step_by(1000) {
            stream.feed(&rows_of(&t, from..(from + 1000).min(n)), &|_| {}).unwrap();
            let (now, _) = stream.in_flight();
            assert!(now <= bound, "{now} requests in flight after {} arrivals", stream.fed());
        }
        let (_, max_in_flight) = stream.in_flight();
        slots.push((stream.state_slots(), max_in_flight));
        let (_, r) = stream.finish(&|_| {}).unwrap();
        assert_eq!(r.stats.max_in_flight, max_in_flight);
        assert!(r.stats.requests_that_waited > 0, "the slots must be the bottleneck for this test to mean anything");
    }
    // The engine's request table never outgrows the most requests in flight at once, which the
    // timeouts bound whatever the trace's length.
    for &(state, max) in &slots {
        assert!(state as u64 <= max && max <= bound, "state {state} slots, max in flight {max}: {slots:?}");
    }
}

/// The sketch's tolerance on a streamed run's latency quantiles.
const SKETCH_TOL: f64 = switchyard::metrics::quantile::Sketch::RELATIVE_ERROR;

/// A latency quantile, or a figure over replicates of one (`...p99`, `...p99[0]`).
fn is_quantile(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or("");
    let name = last.split('[').next().unwrap_or("");
    ["p50", "p90", "p99", "p999"].contains(&name)
}

/// Every field of two reports equal, except latency quantiles (within the sketch's relative error)
/// and the engine's and quantiles' descriptions.
pub(crate) fn same_report_but_sketched_quantiles(whole: &serde_json::Value, streamed: &serde_json::Value, path: &str) {
    use serde_json::Value;
    match (whole, streamed) {
        (Value::Object(a), Value::Object(b)) => {
            let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<String>>();
            assert_eq!(keys(a), keys(b), "{path}: keys differ");
            for (k, va) in a {
                if k == "engine" || k == "quantiles" {
                    continue;
                }
                same_report_but_sketched_quantiles(va, &b[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) if is_quantile(path) && path.contains(".ci95.") => {
            // A 95% interval over the 2 replicates is mean +- t s / sqrt(2), t = 12.71, s = |x1 - x2| /
            // sqrt(2): each replicate's quantile moving by SKETCH_TOL x moves a bound by at most
            // (1 + 12.71) SKETCH_TOL max(x), and the upper bound is at least max(x).
            let f = |v: &Value| v.as_f64().unwrap();
            let tol = 14.0 * SKETCH_TOL * f(&a[1]).abs();
            for (x, y) in a.iter().zip(b) {
                assert!((f(x) - f(y)).abs() <= tol, "{path}: exact {x}, sketched {y} (tolerance {tol:e})");
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}: lengths differ");
            for (k, (va, vb)) in a.iter().zip(b).enumerate() {
                same_report_but_sketched_quantiles(va, vb, &format!("{path}[{k}]"));
            }
        }
        (Value::Number(x), Value::Number(y)) if is_quantile(path) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= SKETCH_TOL * x.abs(),
                "{path}: exact {x}, sketched {y} (tolerance {SKETCH_TOL:e})"
            );
        }
        _ => assert_eq!(whole, streamed, "{path} differs"),
    }
}

#[test]
fn cli_streamed_report_matches_the_whole_trace_report_and_is_identical_at_any_chunk_size_and_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = crate::root().join("traces/sample.csv");
    let parquet = tmp.path().join("sample.parquet");
    let sample = switchyard::trace::read(&csv, &Default::default()).unwrap();
    switchyard::trace::write::write(&sample, &parquet, None).unwrap();
    let run = |trace: &Path, extra: &[&str], threads: &str, json: &str| -> serde_json::Value {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(["--threads", threads, "simulate", "--quiet", "--engine", "des", "--replicates", "2", "--trace"])
            .arg(trace)
            .arg("--policy")
            .arg(crate::root().join("policies/field-report.yaml"))
            .arg("--scenario")
            .arg(crate::root().join("policies/scenario-outage.yaml"))
            .arg("--json")
            .arg(tmp.path().join(json))
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{extra:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&std::fs::read(tmp.path().join(json)).unwrap()).unwrap()
    };
    let whole = run(&csv, &[], "2", "whole.json");
    let streamed = run(&csv, &["--stream", "--chunk-rows", "97"], "1", "s1.json");
    same_report_but_sketched_quantiles(&whole, &streamed, "report");
    let engine = &streamed["inputs"]["engine"];
    assert!(engine.as_str().unwrap().contains("streamed"), "{engine}");
    assert_eq!((&whole["inputs"]["quantiles"], &streamed["inputs"]["quantiles"]), (&"exact".into(), &"sketch".into()));
    // The whole trace with `--quantiles sketch` gives every figure of the streamed report exactly.
    let mut whole_sketched = run(&csv, &["--quantiles", "sketch"], "2", "ws.json");
    let mut streamed_too = streamed.clone();
    for report in [&mut whole_sketched, &mut streamed_too] {
        report["inputs"]["engine"] = serde_json::Value::Null;
    }
    assert_eq!(whole_sketched, streamed_too, "in-memory and streamed sketched reports differ");
    // Byte-identical at any chunk size, thread count and input format.
    let bytes = |name: &str| std::fs::read_to_string(tmp.path().join(name)).unwrap();
    run(&csv, &["--stream", "--chunk-rows", "100000"], "2", "s2.json");
    assert_eq!(bytes("s1.json"), bytes("s2.json"), "chunk size or thread count changed the streamed report");
    run(&parquet, &["--stream", "--chunk-rows", "300"], "2", "s3.json");
    let (a, b) = (bytes("s1.json"), bytes("s3.json"));
    let no_trace = |s: &str| s.lines().filter(|l| !l.contains("\"trace\"")).collect::<Vec<_>>().join("\n");
    assert_eq!(no_trace(&a), no_trace(&b), "CSV and Parquet streams differ");
}

#[test]
fn a_streamed_trace_out_of_time_order_or_quoted_is_refused_with_the_row_and_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let unsorted = tmp.path().join("unsorted.csv");
    std::fs::write(
        &unsorted,
        "timestamp_s,class,input_tokens,output_tokens\n1,chat,10,10\n3,chat,10,10\n2,chat,10,10\n",
    )
    .unwrap();
    let quoted = tmp.path().join("quoted.csv");
    std::fs::write(&quoted, "timestamp_s,class,input_tokens,output_tokens\n1,\"chat\",10,10\n").unwrap();
    let opts = switchyard::trace::ReadOptions::default();
    for (path, needles) in [
        (
            &unsorted,
            vec!["unsorted.csv", "row 3", "timestamp_s", "earlier than the row before it (3)", "trace convert"],
        ),
        (&quoted, vec!["quoted.csv", "quoted CSV field cannot be streamed", "trace convert"]),
    ] {
        let err = switchyard::trace::stream::scan(path, &opts, 2, &|_| {}).unwrap_err().to_string();
        for needle in needles {
            assert!(err.contains(needle), "missing {needle:?} in: {err}");
        }
    }
}

#[test]
fn a_run_past_the_event_queues_limits_is_an_error_that_says_what_to_change() {
    // Two slots, arrivals every 0.01 s, 4 s queue timeouts: hundreds of queued attempts each wait
    // with a scheduled timeout. With room for only 64 pending events the run must stop with an
    // error (a dropped event would misorder the run), not panic and not report figures.
    let c = catalog(FIXED_CATALOG);
    let s = scenario("limits: {default: {max_concurrency: 2}}\n", &c);
    let opts = DesOptions { seed: 3, replicate: 0 };
    let n = 2_000;
    let t = trace_at(&(0..n).map(|i| i as f64 * 0.01).collect::<Vec<f64>>(), "us-east-1", 50);
    let table = bind(FIXED_POLICY, &c, &t);
    let mut stream = des::Stream::new(&c, &table, &s, &opts, 0.0, ()).with_event_limits(u64::MAX, 64);
    let fed = stream.feed(&t, &|_| {});
    let err = fed.expect_err("2,000 arrivals at 100/s into 2 slots need more than 64 pending events").to_string();
    for needle in ["event queue", "64 events pending", "max_concurrency", "timeout"] {
        assert!(err.contains(needle), "the error should mention {needle:?}: {err}");
    }
    // The same run with the queue's own limits goes through.
    let mut stream = des::Stream::new(&c, &table, &s, &opts, 0.0, ());
    stream.feed(&t, &|_| {}).unwrap();
    let (_, r) = stream.finish(&|_| {}).unwrap();
    assert!(r.stats.requests_that_waited > 0);
}

#[test]
fn keeping_only_served_and_latency_gives_the_same_served_and_latency_and_metrics() {
    // What `simulate --engine des` does without --per-request: the detail columns stay empty and
    // nothing else changes.
    let c = catalog(FIXED_CATALOG);
    let t = varied_trace(5_000);
    let table = bind(FIXED_POLICY, &c, &t);
    let s = scenario("limits: {default: {max_concurrency: 2}}\n", &c);
    let opts = DesOptions { seed: 9, replicate: 0 };
    let kept = |keep| des::simulate_kept(&c, &table, &t, &s, &opts, keep, (), false, &|_| {}).unwrap().0;
    let (all, served) = (kept(engine::Keep::All), kept(engine::Keep::Served));
    assert_eq!(all.outcomes.primary.len(), t.len());
    assert!(
        served.outcomes.primary.is_empty() && served.outcomes.attempts.is_empty() && served.outcomes.status.is_empty()
    );
    assert_eq!(served.outcomes.served, all.outcomes.served);
    assert_eq!(served.outcomes.latency_s, all.outcomes.latency_s);
    assert_eq!(served.stats, all.stats);
    assert!(all.stats.requests_that_waited > 0, "the slots must bind for the comparison to mean anything");
}
