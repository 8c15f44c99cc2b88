//! Verify a recommendation by simulation: replay its policy through the engine with fresh seeds and
//! compare every constrained figure with what the LP predicted, with 95% confidence intervals over
//! replicates. With a scenario ([`simulate_with`]) the discrete-event engine does the replaying, so
//! queueing, rate limits and outages count against the targets.

use std::collections::BTreeMap;

use crate::catalog::Catalog;
use crate::engine::{NOT_SERVED, Outcomes};
use crate::error::Result;
use crate::metrics::quantile::type7;
use crate::policy::Policy;
use crate::report::mean_ci95;
use crate::run::{self, Engine, Inputs, RunSpec, Unwatched};
use crate::trace::Trace;

/// A simulated figure: mean over replicates and the half-width of its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    pub mean: f64,
    pub ci95: f64,
}

impl Estimate {
    fn of(xs: &[f64]) -> Estimate {
        let (mean, ci95) = mean_ci95(xs);
        Estimate { mean, ci95 }
    }
}

/// What the simulation saw for one class (or `all`).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Simulated {
    pub cost_usd: Estimate,
    pub success: Estimate,
    pub mean_quality: Estimate,
    /// The class's bounded quantile (seconds), if it has a bound.
    pub latency_quantile_s: Option<Estimate>,
    /// Share of served requests within the bound.
    pub within_bound: Option<Estimate>,
}

/// Per class: (bound seconds, quantile) to measure.
pub type Bounds = BTreeMap<String, (f64, f64)>;

/// Replay `policy` `replicates` times from `seed` and summarise each class and `all`.
pub fn simulate(
    catalog: &Catalog,
    policy: &Policy,
    trace: &Trace,
    bounds: &Bounds,
    seed: u64,
    replicates: u32,
) -> Result<BTreeMap<String, Simulated>> {
    simulate_with(catalog, policy, trace, bounds, seed, replicates, None)
}

/// [`simulate`] in the replay engine (`des` None) or in the discrete-event engine under a scenario
/// (queues, rate limits, outages, retries: what the LP's model leaves out).
pub fn simulate_with(
    catalog: &Catalog,
    policy: &Policy,
    trace: &Trace,
    bounds: &Bounds,
    seed: u64,
    replicates: u32,
    des: Option<&crate::des::Scenario>,
) -> Result<BTreeMap<String, Simulated>> {
    let table = policy.bind(catalog, trace)?;
    let engine = des.map_or(Engine::Replay, Engine::Des);
    let spec = RunSpec { engine, ..RunSpec::replay(seed, replicates.max(1)) };
    // Served latencies per class, for the bounded quantiles.
    let latencies = |o: &Outcomes| {
        let mut lat: Vec<Vec<f64>> = vec![Vec::new(); trace.class_names.len()];
        for i in 0..trace.len() {
            if o.served[i] != NOT_SERVED {
                lat[trace.class[i] as usize].push(o.latency_s[i]);
            }
        }
        lat
    };
    let run = run::simulate_looking(Inputs { catalog, table: &table, trace }, &spec, &Unwatched, Some(&latencies))?;
    let mut per: BTreeMap<String, Vec<[Option<f64>; 5]>> = BTreeMap::new();
    for (s, lat) in run.summaries.iter().zip(run.looks) {
        let mut lat = lat.unwrap_or_default();
        let groups =
            s.per_class.iter().map(|(n, g)| (n.clone(), g)).chain(std::iter::once(("all".to_string(), &s.overall)));
        for (name, g) in groups {
            let class = trace.class_names.iter().position(|c| *c == name);
            let (q, within) = match (bounds.get(&name), class) {
                (Some(&(t, q)), Some(c)) => {
                    let v = &mut lat[c];
                    let within = v.iter().filter(|&&x| x <= t).count() as f64 / v.len().max(1) as f64;
                    (type7(v, &[q]).map(|x| x[0]), Some(within))
                }
                _ => (None, None),
            };
            per.entry(name).or_default().push([
                Some(g.cost_usd),
                Some(g.served as f64 / g.requests.max(1) as f64),
                g.mean_quality(),
                q,
                within,
            ]);
        }
    }
    Ok(per
        .into_iter()
        .map(|(name, reps)| {
            let col = |k: usize| -> Option<Estimate> {
                let xs: Option<Vec<f64>> = reps.iter().map(|r| r[k]).collect();
                xs.map(|x| Estimate::of(&x))
            };
            let sim = Simulated {
                cost_usd: col(0).unwrap_or_default(),
                success: col(1).unwrap_or_default(),
                mean_quality: col(2).unwrap_or_default(),
                latency_quantile_s: col(3),
                within_bound: col(4),
            };
            (name, sim)
        })
        .collect())
}
