//! `frontier.json` (`switchyard.frontier.v1`): the three sweeps of `frontier` as a typed report.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::chart::{FrontierChart, Marker, Point, Series};
use crate::error::Result;
use crate::optimize::Constraints;
use crate::optimize::frontier::{FrontierPoint, Sweeps};
use crate::optimize::model::Instance;

/// Layout identifier of `frontier.json`.
pub const FRONTIER_SCHEMA: &str = "switchyard.frontier.v1";

/// `frontier.json`; reads back with [`FrontierReport::load`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontierReport {
    /// Always [`FRONTIER_SCHEMA`].
    pub schema: String,
    /// The class whose latency bound is the cost-latency chart's x axis.
    pub headline_class: Option<String>,
    pub latency: Vec<FrontierPoint>,
    pub quality: Vec<FrontierPoint>,
    pub budget: Vec<FrontierPoint>,
}

impl FrontierReport {
    /// The report of `sweeps`, naming the headline class from the instance's `class_names`.
    pub fn new(sweeps: &Sweeps, class_names: &[String]) -> FrontierReport {
        FrontierReport {
            schema: FRONTIER_SCHEMA.to_string(),
            headline_class: sweeps.headline.map(|c| class_names[c].clone()),
            latency: sweeps.latency.clone(),
            quality: sweeps.quality.clone(),
            budget: sweeps.budget.clone(),
        }
    }

    /// The JSON text of `frontier.json` (pretty, with a final newline).
    pub fn to_json(&self) -> String {
        super::json_text(self)
    }

    /// Read a `frontier.json` written by `frontier` (or the demo).
    pub fn load(path: &Path) -> Result<FrontierReport> {
        super::load_json(path, FRONTIER_SCHEMA, "a frontier", "switchyard frontier --out DIR")
    }
}

/// The current policy's simulated cost, headline-class quantile and mean quality, marked on the
/// frontier charts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Current {
    pub cost: f64,
    pub quantile_s: Option<f64>,
    pub quality: f64,
}

/// The charts of `frontier`, by file stem: cost against the headline class's latency bound (with
/// the infeasible bounds shaded) when there is one, and cost against mean quality; the current
/// policy (simulated) and the recommendation (targets as given, `at_one`) marked.
pub fn frontier_charts(
    inst: &Instance,
    constraints: &Constraints,
    catalog_name: &str,
    sweeps: &Sweeps,
    current: Option<&Current>,
    at_one: &FrontierPoint,
) -> Vec<(&'static str, FrontierChart)> {
    let (headline, points, quality, budget) = (sweeps.headline, &sweeps.latency, &sweeps.quality, &sweeps.budget);
    let mut charts = Vec::new();
    let requests = format!("{} requests", inst.n_requests);
    if let Some(c) = headline {
        let class = &inst.class_names[c];
        let label = crate::optimize::explain::quantile_label(constraints.for_class(class).quantile);
        let series_points = feasible_points(points, |p| p.bound_s);
        // Shade the bounds below the first feasible point, and any gap between feasible points.
        let mut infeasible = Vec::new();
        let xs: Vec<(f64, bool)> = points.iter().filter_map(|p| p.bound_s.map(|b| (b, p.feasible))).collect();
        let mut start: Option<f64> = None;
        for (i, &(x, ok)) in xs.iter().enumerate() {
            match (ok, start) {
                (false, None) => start = Some(if i == 0 { x } else { (xs[i - 1].0 + x) / 2.0 }),
                (true, Some(a)) => {
                    infeasible.push((a, (xs[i - 1].0 + x) / 2.0));
                    start = None;
                }
                _ => {}
            }
        }
        if let (Some(a), Some(last)) = (start, xs.last()) {
            infeasible.push((a, last.0));
        }
        let x_min = xs.first().map_or(1.0, |x| x.0);
        let x_max = xs.last().map_or(1.0, |x| x.0);
        let chart = FrontierChart {
            title: format!("Cheapest routing vs {class} {label} bound"),
            subtitle: Some(format!(
                "{requests}; every class's latency bound scaled together; one LP per point; catalog {}",
                catalog_name
            )),
            x_label: format!("{class} {label} latency bound (s)"),
            y_label: "expected cost of the trace (USD)".into(),
            x_log: x_max / x_min > 10.0,
            series: vec![Series { name: "cheapest feasible routing".into(), points: series_points }],
            infeasible,
            current: current.and_then(|c| {
                let target = constraints.for_class(class).latency_s;
                c.quantile_s.map(|q| Marker {
                    x: q,
                    y: c.cost,
                    label: match target {
                        Some(t) if q > t => {
                            format!("current policy ({label} {q:.2} s, simulated: misses the {t} s target)")
                        }
                        _ => format!("current policy ({label} {q:.2} s, simulated)"),
                    },
                })
            }),
            recommended: match (at_one.bound_s, at_one.cost_usd) {
                (Some(x), Some(y)) => Some(Marker { x, y, label: format!("recommended: targets as given, ${y:.0}") }),
                _ => None,
            },
        };
        charts.push(("frontier-cost-latency", chart));
    }
    let q_points = feasible_points(quality, |p| p.mean_quality);
    let zero = quality.iter().find(|p| p.parameter.abs() < 1e-9);
    let chart = FrontierChart {
        title: "Cheapest routing vs mean quality".into(),
        subtitle: Some(format!(
            "{requests}; every class's quality target shifted together (-0.10 to +0.10), and the best quality for {} budgets; latency bounds as given",
            budget.len()
        )),
        x_label: "predicted mean quality of served requests (score 0-1)".into(),
        y_label: "expected cost of the trace (USD)".into(),
        x_log: false,
        series: vec![
            Series { name: "cheapest routing, per-class quality targets shifted".into(), points: q_points },
            Series {
                name: "best mean quality within a budget (no per-class floors)".into(),
                points: feasible_points(budget, |p| p.mean_quality),
            },
        ],
        infeasible: Vec::new(),
        current: current.map(|c| Marker { x: c.quality, y: c.cost, label: "current policy (simulated)".into() }),
        recommended: zero.and_then(|p| match (p.mean_quality, p.cost_usd) {
            (Some(x), Some(y)) => Some(Marker { x, y, label: format!("recommended: targets as given, ${y:.0}") }),
            _ => None,
        }),
    };
    charts.push(("frontier-cost-quality", chart));
    charts
}

/// A sweep's feasible points as chart points: x from `x_of`, y the cost.
fn feasible_points(points: &[FrontierPoint], x_of: impl Fn(&FrontierPoint) -> Option<f64>) -> Vec<Point> {
    points
        .iter()
        .filter_map(|p| match (p.feasible, x_of(p), p.cost_usd) {
            (true, Some(x), Some(y)) => Some(Point { x, y, feasible: true, label: None }),
            _ => None,
        })
        .collect()
}
