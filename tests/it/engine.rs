//! Statistical and exact checks of the replay engine against closed forms.

use std::path::Path;

use switchyard::catalog::{Catalog, LatencyDist};
use switchyard::engine::{self, NOT_SERVED, ReplayOptions, Status};
use switchyard::metrics;
use switchyard::policy::{Policy, RoutingTable};
use switchyard::trace::{Row, Trace};

/// Relative tolerance for simulated quantiles against the closed form.
const QUANTILE_TOL: f64 = 0.01;
/// Standard deviations allowed between a simulated count and its expectation.
const Z_MAX: f64 = 4.0;

fn catalog(yaml: &str) -> Catalog {
    Catalog::from_yaml_str(yaml, Path::new("test-catalog.yaml")).unwrap()
}

fn policy(yaml: &str, c: &Catalog) -> Policy {
    Policy::from_yaml_str(yaml, Path::new("test-policy.yaml"), c).unwrap()
}

fn uniform_trace(n: usize, output_tokens: u32) -> Trace {
    let rows: Vec<Row> = (0..n)
        .map(|i| Row {
            timestamp_s: i as f64 * 0.01,
            class: "chat",
            origin: Some("us-east-1"),
            input_tokens: 100 + (i % 7) as u32,
            output_tokens,
        })
        .collect();
    Trace::from_rows("uniform", &rows)
}

const SINGLE: &str = r#"
rtt_s: {us-east-1: {eu-west-1: 0.08}}
models:
  - name: m
    ttft: {lognormal: {median_s: 0.8, p99_s: 2.0}}
    decode: {constant: 50}
    availability: 1.0
    prices: {input_per_mtok: 0.5, output_per_mtok: 2.0}
    regions: {us-east-1: {}}
"#;

#[test]
fn single_endpoint_latency_quantiles_match_the_lognormal() {
    let c = catalog(SINGLE);
    let p = policy("rules:\n  - targets: {m@us-east-1: 1.0}\n", &c);
    let n = 400_000;
    let out_tokens = 100;
    let t = uniform_trace(n, out_tokens);
    let table = p.bind(&c, &t).unwrap();
    let o = engine::replay(&c, &table, &t, &ReplayOptions { seed: 11, replicate: 0 });
    let s = metrics::summarize(&c, &table, &t, &o);
    let lat = s.overall.latency_s.unwrap();
    let ttft = LatencyDist::lognormal_from_median_p99(0.8, 2.0);
    let decode = out_tokens as f64 / 50.0;
    for (q, got) in [(0.5, lat.p50), (0.9, lat.p90), (0.99, lat.p99)] {
        let expected = ttft.quantile(q) + decode;
        let rel = (got - expected).abs() / expected;
        assert!(
            rel < QUANTILE_TOL,
            "p{}: simulated {got:.5} s vs closed form {expected:.5} s (rel {rel:.4}, tol {QUANTILE_TOL})",
            q * 100.0
        );
    }
    // Cost is the exact token sum: every request served at the one endpoint.
    let expected_cost: f64 = (0..n).map(|i| (t.input_tokens[i] as f64 * 0.5 + out_tokens as f64 * 2.0) / 1e6).sum();
    let rel = (s.overall.cost_usd - expected_cost).abs() / expected_cost;
    assert!(rel < 1e-9, "cost {} vs exact {expected_cost}", s.overall.cost_usd);
    assert_eq!(s.overall.served, n as u64);
}

const TWO: &str = r#"
models:
  - name: a
    ttft: {lognormal: {mu: -1.0, sigma: 0.5}}
    decode: {constant: 100}
    availability: 0.9
    prices: {input_per_mtok: 1.0, output_per_mtok: 4.0}
    regions: {us-east-1: {}}
  - name: b
    ttft: {fixed: 0.3}
    decode: {constant: 40}
    availability: 0.8
    prices: {input_per_mtok: 2.0, output_per_mtok: 8.0}
    regions: {us-east-1: {}}
"#;

fn z(observed: u64, n: usize, p: f64) -> f64 {
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    (observed as f64 - n as f64 * p) / sd
}

#[test]
fn failure_and_fallback_counts_match_the_binomial_expectation() {
    let c = catalog(TWO);
    let p = policy("rules:\n  - targets: {a@us-east-1: 1.0}\n    fallback: [b@us-east-1]\n", &c);
    let n = 200_000;
    let t = uniform_trace(n, 50);
    let table = p.bind(&c, &t).unwrap();
    let o = engine::replay(&c, &table, &t, &ReplayOptions { seed: 5, replicate: 0 });
    let s = metrics::summarize(&c, &table, &t, &o);
    let p_fallback = 0.1;
    let p_fail = 0.1 * 0.2;
    let zf = z(s.overall.fallback, n, p_fallback);
    let zx = z(s.overall.failed, n, p_fail);
    assert!(zf.abs() < Z_MAX, "fallbacks {} vs expected {} (z {zf:.2})", s.overall.fallback, n as f64 * p_fallback);
    assert!(zx.abs() < Z_MAX, "failures {} vs expected {} (z {zx:.2})", s.overall.failed, n as f64 * p_fail);
    // A request served by the fallback waited the failed attempt's TTFT, then b's fixed TTFT and decode.
    let costs = o.costs_usd(&c, &t);
    for (i, cost) in costs.iter().enumerate() {
        if o.served[i] == 1 {
            assert_eq!(o.attempts[i], 2);
            assert!(o.latency_s[i] > 0.3 + 50.0 / 40.0, "fallback latency {} too small", o.latency_s[i]);
        }
        if o.served[i] == NOT_SERVED {
            assert_eq!(o.status[i], Status::Failed);
            assert_eq!(*cost, 0.0);
        }
    }
    // Per-endpoint attempts: every request tries a; the fallbacks try b.
    let a = &s.per_endpoint[0].1;
    let b = &s.per_endpoint[1].1;
    assert_eq!(a.requests, n as u64);
    assert_eq!(b.requests, s.overall.fallback);
}

#[test]
fn an_attempt_over_its_timeout_fails_at_the_timeout_and_falls_back() {
    let yaml = r#"
models:
  - name: slow
    ttft: {fixed: 5.0}
    decode: {constant: 100}
    prices: {input_per_mtok: 1.0, output_per_mtok: 1.0}
    regions: {us-east-1: {}}
  - name: fast
    ttft: {fixed: 0.2}
    decode: {constant: 100}
    prices: {input_per_mtok: 1.0, output_per_mtok: 1.0}
    regions: {us-east-1: {}}
"#;
    let c = catalog(yaml);
    let p =
        policy("rules:\n  - targets: {slow@us-east-1: 1.0}\n    fallback: [fast@us-east-1]\n    timeout_s: 2.0\n", &c);
    let t = uniform_trace(1000, 100);
    let table = p.bind(&c, &t).unwrap();
    let o = engine::replay(&c, &table, &t, &ReplayOptions::default());
    for i in 0..t.len() {
        assert_eq!(o.served[i], 1, "request {i} should be served by the fallback");
        let expected = 2.0 + 0.2 + 1.0;
        assert!((o.latency_s[i] - expected).abs() < 1e-12, "latency {} vs {expected}", o.latency_s[i]);
    }
    // Without a fallback, every request times out after exactly the timeout.
    let p = policy("rules:\n  - targets: {slow@us-east-1: 1.0}\n    timeout_s: 2.0\n", &c);
    let table = p.bind(&c, &t).unwrap();
    let o = engine::replay(&c, &table, &t, &ReplayOptions::default());
    assert!(o.status.iter().all(|s| *s == Status::TimedOut));
    assert!(o.latency_s.iter().all(|l| *l == 2.0));
}

#[test]
fn weights_split_traffic_in_proportion() {
    let c = catalog(TWO.replace("availability: 0.9", "availability: 1.0").as_str());
    let p = policy("rules:\n  - targets: {a@us-east-1: 0.3, b@us-east-1: 0.7}\n", &c);
    let n = 100_000;
    let t = uniform_trace(n, 10);
    let table = p.bind(&c, &t).unwrap();
    let o = engine::replay(&c, &table, &t, &ReplayOptions { seed: 9, replicate: 0 });
    let to_a = o.primary.iter().filter(|&&e| e == 0).count() as u64;
    let za = z(to_a, n, 0.3);
    assert!(za.abs() < Z_MAX, "primary a {to_a} vs expected {} (z {za:.2})", n as f64 * 0.3);
}

#[test]
fn replicates_and_seeds_change_the_draws_but_not_the_inputs() {
    let c = catalog(TWO);
    let p = policy("rules:\n  - targets: {a@us-east-1: 1.0}\n    fallback: [b@us-east-1]\n", &c);
    let t = uniform_trace(5000, 50);
    let table = p.bind(&c, &t).unwrap();
    let run = |seed, replicate| engine::replay(&c, &table, &t, &ReplayOptions { seed, replicate });
    assert_eq!(run(1, 0).latency_s, run(1, 0).latency_s);
    assert_ne!(run(1, 0).latency_s, run(2, 0).latency_s);
    assert_ne!(run(1, 0).latency_s, run(1, 1).latency_s);
}

#[test]
fn summary_quantiles_equal_a_full_sort_in_every_group() {
    use switchyard::metrics::quantile::type7;
    let c = Catalog::default_catalog();
    let p = Policy::from_yaml_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/field-report.yaml")).unwrap(),
        Path::new("field-report.yaml"),
        &c,
    )
    .unwrap();
    let classes = ["chat", "code", "classify", "reasoning", "vision", "zh_docs"];
    let origins = ["us-east-1", "eu-west-1", "ap-southeast-1"];
    let rows: Vec<Row> = (0..60_000)
        .map(|i| Row {
            timestamp_s: i as f64,
            class: classes[i % 6],
            origin: Some(origins[(i / 6) % 3]),
            input_tokens: 50 + (i * 37 % 3000) as u32,
            output_tokens: 1 + (i * 53 % 900) as u32,
        })
        .collect();
    let t = Trace::from_rows("mixed", &rows);
    let table = p.bind(&c, &t).unwrap();
    let o = engine::replay(&c, &table, &t, &ReplayOptions { seed: 3, replicate: 0 });
    let s = metrics::summarize(&c, &table, &t, &o);
    let served: Vec<usize> = (0..t.len()).filter(|&i| o.served[i] != NOT_SERVED).collect();
    let check = |name: &str, members: Vec<usize>, got: &metrics::GroupStats| {
        let mut xs: Vec<f64> = members.iter().map(|&i| o.latency_s[i]).collect();
        let Some(lat) = got.latency_s else {
            assert!(xs.is_empty(), "{name}: no latency summary for {} served requests", xs.len());
            return;
        };
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let want = type7(&mut xs, &metrics::QUANTILES).unwrap();
        assert_eq!([lat.p50, lat.p90, lat.p99, lat.p999], [want[0], want[1], want[2], want[3]], "{name}");
        assert!((lat.mean - mean).abs() < 1e-8, "{name}: mean {} vs {mean}", lat.mean);
    };
    check("overall", served.clone(), &s.overall);
    for (ci, (name, g)) in s.per_class.iter().enumerate() {
        check(name, served.iter().copied().filter(|&i| t.class[i] as usize == ci).collect(), g);
    }
    for (oi, (name, g)) in s.per_origin.iter().enumerate() {
        check(name, served.iter().copied().filter(|&i| t.origin[i] as usize == oi).collect(), g);
    }
    for (ei, (name, g)) in s.per_endpoint.iter().enumerate() {
        check(name, served.iter().copied().filter(|&i| o.served[i] as usize == ei).collect(), g);
    }
    // Cost from exact token totals equals the sum of per-request costs.
    let per_request: f64 = o.costs_usd(&c, &t).iter().sum();
    let rel = (s.overall.cost_usd - per_request).abs() / per_request;
    assert!(rel < 1e-12, "cost {} vs per-request sum {per_request}", s.overall.cost_usd);
}

/// Two endpoints splitting 50,000 requests 40/60, each falling back to the other.
fn split_with_fallbacks() -> (Catalog, RoutingTable, Trace) {
    let c = catalog(TWO);
    let p = policy(
        "rules:\n  - targets: {a@us-east-1: 0.4, b@us-east-1: 0.6}\n    fallback: [b@us-east-1, a@us-east-1]\n",
        &c,
    );
    let t = uniform_trace(50_000, 80);
    let table = p.bind(&c, &t).unwrap();
    (c, table, t)
}

#[test]
fn observing_during_replay_gives_the_same_summary_as_after_it() {
    let (c, table, t) = split_with_fallbacks();
    let opts = ReplayOptions { seed: 21, replicate: 2 };
    let ctx = metrics::Context::new(&c, &table, &t);
    let (o, collected) =
        engine::replay_observed(&c, &table, &t, &opts, engine::Keep::All, &|| ctx.collector(), &|_| {});
    let during = ctx.summarize(&o, collected);
    let after = metrics::summarize(&c, &table, &t, &o);
    assert_eq!(during, after);
    assert_eq!(o, engine::replay(&c, &table, &t, &opts));

    // Keeping only what quantiles need changes nothing else.
    let (lean, collected) =
        engine::replay_observed(&c, &table, &t, &opts, engine::Keep::Served, &|| ctx.collector(), &|_| {});
    assert!(o.has_detail() && !lean.has_detail());
    assert!(lean.primary.is_empty() && lean.attempts.is_empty() && lean.status.is_empty());
    assert_eq!((&lean.served, &lean.latency_s), (&o.served, &o.latency_s));
    assert_eq!(ctx.summarize(&lean, collected), during);
}

#[test]
fn replaying_into_reused_memory_gives_the_same_outcomes() {
    let (c, table, t) = split_with_fallbacks();
    let opts = ReplayOptions { seed: 8, replicate: 0 };
    let fresh = engine::replay(&c, &table, &t, &opts);
    let n = t.len();
    // Longer columns full of values no replay writes: every row is overwritten, the rest cut off.
    let stale = engine::Outcomes {
        primary: vec![99; n + 5],
        served: vec![98; n + 5],
        attempts: vec![97; n + 5],
        status: vec![Status::Failed; n + 5],
        latency_s: vec![-1.0; n + 5],
        seed: 1,
        replicate: 5,
    };
    let reuse = |keep, spare| {
        engine::replay_observed_reusing(&c, &table, &t, &opts, keep, spare, &|| engine::NoObserver, &|_| {}).0
    };
    assert_eq!(reuse(engine::Keep::All, stale.clone()), fresh);
    // Too short to reuse (fresh memory instead), and columns the replay does not keep.
    let short = engine::Outcomes { latency_s: vec![-1.0; 3], ..stale };
    let lean = reuse(engine::Keep::Served, short);
    assert_eq!((&lean.served, &lean.latency_s), (&fresh.served, &fresh.latency_s));
    assert!(lean.primary.is_empty() && lean.attempts.is_empty() && lean.status.is_empty());
}

#[test]
fn sketched_quantiles_keep_nothing_and_stay_within_their_error_of_exact() {
    let (c, table, t) = split_with_fallbacks();
    let opts = ReplayOptions { seed: 5, replicate: 1 };
    let ctx = metrics::Context::new(&c, &table, &t);
    let (o, collected) =
        engine::replay_observed(&c, &table, &t, &opts, engine::Keep::Served, &|| ctx.collector(), &|_| {});
    let exact = ctx.summarize(&o, collected);
    let (none, collected) =
        engine::replay_observed(&c, &table, &t, &opts, engine::Keep::Nothing, &|| ctx.sketching_collector(), &|_| {});
    assert!(none.served.is_empty() && none.latency_s.is_empty() && none.primary.is_empty());
    let sketched = ctx.summarize_sketched(collected, t.len() as u64, 0, opts.seed, opts.replicate);

    // Everything but the quantiles is the same integer sums; each quantile is within the sketch's
    // stated relative error (2^-11) of the exact one.
    let tol = metrics::quantile::Sketch::RELATIVE_ERROR;
    let groups = |s: &metrics::Summary| {
        let mut all = vec![("overall".to_string(), s.overall.clone())];
        for list in [&s.per_class, &s.per_origin, &s.per_model, &s.per_endpoint] {
            all.extend(list.iter().cloned());
        }
        all
    };
    let mut checked = 0;
    for ((name, e), (_, k)) in groups(&exact).into_iter().zip(groups(&sketched)) {
        let (Some(le), Some(lk)) = (e.latency_s, k.latency_s) else {
            assert_eq!(e, k, "{name}");
            continue;
        };
        for (q, a, b) in
            [("p50", le.p50, lk.p50), ("p90", le.p90, lk.p90), ("p99", le.p99, lk.p99), ("p999", le.p999, lk.p999)]
        {
            let rel = (a - b).abs() / a;
            assert!(rel <= tol, "{name} {q}: sketch {b} vs exact {a} (relative {rel:.2e} > {tol:.2e})");
            checked += 1;
        }
        assert_eq!((le.mean, le.max), (lk.mean, lk.max), "{name}");
        let strip = |g: &metrics::GroupStats| metrics::GroupStats { latency_s: None, ..g.clone() };
        assert_eq!(strip(&e), strip(&k), "{name}");
    }
    assert!(checked >= 4 * 4, "only {checked} quantiles compared");
}

#[test]
fn each_target_falls_back_along_its_own_chain() {
    let c = catalog(TWO);
    // a falls back to b; b falls back to a; the rule's own chain would send both to b.
    let p = policy(
        "rules:\n  - targets:\n      a@us-east-1: {weight: 0.5, fallback: [b@us-east-1]}\n      \
         b@us-east-1: {weight: 0.5, fallback: [a@us-east-1]}\n    fallback: [b@us-east-1]\n",
        &c,
    );
    assert_eq!(p.rules[0].chain_of(0), &[1]);
    assert_eq!(p.rules[0].chain_of(1), &[0]);
    let n = 100_000;
    let t = uniform_trace(n, 50);
    let table = p.bind(&c, &t).unwrap();
    let o = engine::replay(&c, &table, &t, &ReplayOptions { seed: 9, replicate: 0 });
    let (mut b_to_a, mut b_first) = (0u64, 0u64);
    for i in 0..n {
        if o.attempts[i] == 2 && o.served[i] != NOT_SERVED {
            assert_ne!(o.primary[i], o.served[i], "a fallback served by its own primary at request {i}");
        }
        if o.primary[i] == 1 {
            b_first += 1;
            b_to_a += u64::from(o.attempts[i] == 2);
        }
    }
    // b fails 20% of the time and then tries a.
    let zb = z(b_to_a, b_first as usize, 0.2);
    assert!(zb.abs() < Z_MAX, "b->a fallbacks {b_to_a} of {b_first} vs expected 20% (z {zb:.2})");
    let s = metrics::summarize(&c, &table, &t, &o);
    assert_eq!(s.overall.requests, n as u64);
}

#[test]
fn a_target_fallback_naming_an_unknown_endpoint_is_an_error_with_its_line() {
    let c = catalog(TWO);
    let err = Policy::from_yaml_str(
        "rules:\n  - targets:\n      a@us-east-1: {weight: 1.0, fallback: [bb@us-east-1]}\n",
        Path::new("p.yaml"),
        &c,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("p.yaml:3") && err.contains("bb@us-east-1") && err.contains("b@us-east-1"), "{err}");
}

/// A trace of `n` requests in two classes, with cached input tokens, written as Parquet (row
/// groups of at most 2^17 rows, so `n` over that makes several).
fn two_class_parquet(dir: &Path, n: usize) -> (std::path::PathBuf, Trace) {
    let rows: Vec<Row> = (0..n)
        .map(|i| Row {
            timestamp_s: i as f64 * 0.001,
            class: if i % 3 == 0 { "code" } else { "chat" },
            origin: Some("us-east-1"),
            input_tokens: 50 + (i % 211) as u32,
            output_tokens: 10 + (i % 97) as u32,
        })
        .collect();
    let mut t = Trace::from_rows("two classes", &rows);
    t.cached_input_tokens = Some(t.input_tokens.iter().map(|&x| x / 3).collect());
    let path = dir.join("t.parquet");
    switchyard::trace::write::write(&t, &path, None).unwrap();
    (path, t)
}

#[test]
fn a_parquet_trace_replayed_as_it_is_read_gives_the_whole_trace_replay() {
    use switchyard::trace::{ParquetGroups, ReadOptions};
    let c = catalog(TWO);
    let p = policy(
        "rules:\n  - match: {class: [code]}\n    targets: {b@us-east-1: 1.0}\n    fallback: [a@us-east-1]\n  - targets: {a@us-east-1: 0.3, b@us-east-1: 0.7}\n    fallback: [b@us-east-1, a@us-east-1]\n",
        &c,
    );
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = two_class_parquet(dir.path(), 300_000);
    let read = ReadOptions::default();
    let whole = switchyard::trace::read(&path, &read).unwrap();
    let groups = ParquetGroups::open(&path, &read).unwrap().expect("a Parquet file");
    assert!(groups.group_sizes().len() >= 2, "row groups {:?}", groups.group_sizes());
    let segments = groups.segments(&read).unwrap().expect("good classes and origins");
    assert_eq!((&segments.class, &segments.class_names), (&whole.class, &whole.class_names));
    assert_eq!((&segments.origin, &segments.origin_names), (&whole.origin, &whole.origin_names));
    assert!(segments.timestamp_s.is_empty() && segments.input_tokens.is_empty() && segments.len() == whole.len());

    let table = p.bind(&c, &whole).unwrap();
    assert_eq!(p.bind(&c, &segments).unwrap(), table);
    let opts = ReplayOptions { seed: 3, replicate: 1 };
    let ctx = metrics::Context::new(&c, &table, &whole);
    let segments_ctx = metrics::Context::new(&c, &table, &segments);
    for keep in [engine::Keep::All, engine::Keep::Served] {
        let (want, collected) = engine::replay_observed(&c, &table, &whole, &opts, keep, &|| ctx.collector(), &|_| {});
        let want_summary = ctx.summarize(&want, collected);
        let done = std::sync::atomic::AtomicU64::new(0);
        let progress = |k: u64| {
            done.fetch_add(k, std::sync::atomic::Ordering::Relaxed);
        };
        // On one thread and on three: row groups are taken and observers merged in another order.
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let (got, collected) = pool.install(|| {
                switchyard::run::replay_groups_as_read(
                    &c,
                    &table,
                    &segments,
                    &groups,
                    &opts,
                    keep,
                    &|| segments_ctx.collector(),
                    &progress,
                )
                .unwrap()
                .expect("a sorted file of good rows")
            });
            assert_eq!(got, want, "{keep:?}, {threads} threads");
            assert_eq!(segments_ctx.summarize(&got, collected), want_summary, "{keep:?}, {threads} threads");
        }
        assert_eq!(done.into_inner(), 2 * 300_000);
    }
}
