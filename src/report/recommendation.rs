//! The recommendation of `optimize` as a typed report (`recommendation.json`,
//! `switchyard.optimize.v1`) and as the terminal printout.

use std::collections::BTreeMap;
use std::fmt::Write;

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::table::{Unit, with_unit};
use crate::catalog::Catalog;
use crate::error::Result;
use crate::optimize::ShadowPrices;
use crate::optimize::explain::Conflict;
use crate::optimize::model::Predicted;
use crate::optimize::recommend::{Recommendation, Round};
use crate::optimize::rounding::Rounded;
use crate::optimize::{self, model};

/// Layout identifier of `recommendation.json`.
pub const SCHEMA: &str = "switchyard.optimize.v1";

/// `writeln!` into a String (which cannot fail).
macro_rules! line {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

/// What the recommendation was computed from, as its report names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizeInputs {
    pub trace: String,
    pub catalog: String,
    pub constraints: String,
    pub current: Option<String>,
    pub requests: usize,
}

/// One route of a segment's recommended split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteWeight {
    pub route: String,
    pub weight: f64,
    pub cost_per_request_usd: f64,
    pub p_served: f64,
}

/// How many segments and candidate routes the LP had.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Candidates {
    pub segments: usize,
    pub routes: usize,
}

/// A gateway config written beside the recommendation, and what its format cannot express.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exported {
    pub file: String,
    pub not_expressible: Vec<String>,
}

/// The engine that verified the recommendation: `"replay"` or `{"des": scenario}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VerificationEngine {
    /// Always `"replay"`.
    Replay(String),
    Des {
        des: String,
    },
}

impl VerificationEngine {
    pub fn replay() -> VerificationEngine {
        VerificationEngine::Replay("replay".to_string())
    }
}

/// `recommendation.json`. No wall-clock times: the file is byte-identical for the same inputs
/// and seed (`--timing` prints them to stderr). Reads back with [`RecommendationReport::load`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendationReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    pub inputs: OptimizeInputs,
    /// `optimal` or `infeasible`.
    pub status: String,
    pub objective: String,
    pub objective_value: Option<f64>,
    pub objective_value_unrounded: Option<f64>,
    pub solver: Option<String>,
    pub candidates: Candidates,
    /// Per segment (class x origin), the recommended split.
    pub weights: BTreeMapInOrder<Vec<RouteWeight>>,
    pub rounding: Option<Rounded>,
    pub predicted: BTreeMap<String, Predicted>,
    pub verification: Vec<Round>,
    pub shadow_prices: Option<ShadowPrices>,
    pub diff: Option<optimize::recommend::Diff>,
    pub conflicts: Vec<Conflict>,
    pub notes: Vec<String>,
    pub exports: Vec<Exported>,
    pub verification_engine: VerificationEngine,
}

/// Named entries serialised as an object in their own order.
pub type BTreeMapInOrder<T> = super::Named<T>;

impl RecommendationReport {
    pub fn new(
        rec: &Recommendation,
        catalog: &Catalog,
        inputs: OptimizeInputs,
        objective: String,
        exports: Vec<Exported>,
        verification_engine: VerificationEngine,
    ) -> RecommendationReport {
        let inst = &rec.instance;
        let weights = match &rec.routing {
            Some(r) => inst
                .segments
                .iter()
                .enumerate()
                .map(|(s, seg)| {
                    let routes = r.weights[s]
                        .iter()
                        .map(|&(k, w)| {
                            let st = &inst.routes[s][k];
                            RouteWeight {
                                route: model::route_name(catalog, &st.route.chain),
                                weight: w,
                                cost_per_request_usd: st.cost_usd,
                                p_served: st.p_served,
                            }
                        })
                        .collect();
                    (seg.name.clone(), routes)
                })
                .collect(),
            None => super::Named::default(),
        };
        RecommendationReport {
            schema: SCHEMA.to_string(),
            inputs,
            status: if rec.routing.is_some() { "optimal" } else { "infeasible" }.to_string(),
            objective,
            objective_value: rec.routing.as_ref().map(|r| r.objective),
            objective_value_unrounded: rec.exact.as_ref().map(|r| r.objective),
            solver: rec.exact.as_ref().map(|r| r.solver.to_string()),
            candidates: Candidates { segments: inst.segments.len(), routes: inst.routes.iter().map(Vec::len).sum() },
            weights,
            rounding: rec.rounded.clone(),
            predicted: rec.predicted.clone(),
            verification: rec.rounds.clone(),
            shadow_prices: rec.shadow.clone(),
            diff: rec.diff.clone(),
            conflicts: rec.conflicts.clone(),
            notes: rec.notes.clone(),
            exports,
            verification_engine,
        }
    }

    /// The JSON text of `recommendation.json` (pretty, with a final newline).
    pub fn to_json(&self) -> String {
        super::json_text(self)
    }

    /// Read a `recommendation.json` written by `optimize` (or the demo).
    pub fn load(path: &Path) -> Result<RecommendationReport> {
        super::load_json(path, SCHEMA, "a recommendation", "switchyard optimize --out DIR")
    }
}

/// The recommendation for a terminal: the split per segment, rounding, the verification table,
/// shadow prices and the change against the current policy.
pub fn render_recommendation(rec: &Recommendation, catalog: &Catalog, des: bool) -> String {
    let mut out = String::new();
    let inst = &rec.instance;
    let Some(routing) = &rec.routing else {
        line!(out, "no routing meets every target:");
        for c in &rec.conflicts {
            line!(out, "  - {}  [{}]", c.message, c.constraint);
        }
        return out;
    };
    line!(
        out,
        "recommended routing: objective {:.2} ({} segments, {} candidate routes, {} in {:.3} s)",
        routing.objective,
        inst.segments.len(),
        inst.routes.iter().map(Vec::len).sum::<usize>(),
        routing.solver,
        routing.seconds
    );
    for (s, seg) in inst.segments.iter().enumerate() {
        let parts: Vec<String> = routing.weights[s]
            .iter()
            .map(|&(k, w)| format!("{:.0}% {}", w * 100.0, model::route_name(catalog, &inst.routes[s][k].route.chain)))
            .collect();
        line!(out, "  {:<28} {}", seg.name, parts.join(", "));
    }
    if let Some(r) = &rec.rounded {
        line!(out, "rounding: {} to {}% (objective {:+.4})", r.method, r.granularity_pct, r.objective_change);
        if let Some(note) = &r.note {
            line!(out, "  {note}");
        }
    }
    if let Some(round) = rec.rounds.last() {
        let engine = if des { "discrete-event engine" } else { "replay" };
        line!(out, "verification ({engine}, 95% CI over replicates):");
        line!(out, "  {:<12} {:<14} {:>10} {:>10} {:>22}  met", "class", "figure", "target", "predicted", "simulated");
        for c in &round.checks {
            let unit = figure_unit(&c.figure);
            line!(
                out,
                "  {:<12} {:<14} {:>10} {:>10} {:>22}  {}",
                c.class,
                c.figure,
                with_unit(c.target, None, unit),
                c.predicted.map_or("-".into(), |p| with_unit(p, None, unit)),
                with_unit(c.simulated, Some(c.ci95), unit),
                if c.met { "yes" } else { "NO" }
            );
        }
        for r in &rec.rounds {
            for t in &r.tightened {
                line!(out, "  round {}: tightened {t}", r.round);
            }
        }
    }
    if let Some(sp) = &rec.shadow {
        for (c, v) in &sp.per_100ms_tighter {
            match v {
                Some(v) => line!(out, "shadow price: {c} bound 100 ms tighter changes the objective by {v:+.2}"),
                None => line!(out, "shadow price: {c} bound 100 ms tighter is infeasible"),
            }
        }
        for (e, v) in &sp.per_rps_capacity {
            line!(out, "shadow price: one more request/s of {e} capacity changes the objective by {v:+.2}");
        }
    }
    if let Some(d) = &rec.diff {
        let cost = |m: &std::collections::BTreeMap<String, optimize::verify::Simulated>| {
            m.get("all").map_or(0.0, |a| a.cost_usd.mean)
        };
        line!(
            out,
            "against the current policy: cost ${:.2} -> ${:.2}, traffic moved {:.1}%",
            cost(&d.current),
            cost(&d.recommended),
            d.traffic_moved * 100.0
        );
        line!(
            out,
            "  {:<12} {:>21} {:>21} {:>15} {:>17}",
            "class",
            "cost $ (now -> rec)",
            "bounded q s",
            "quality",
            "success"
        );
        for (class, now) in &d.current {
            let Some(rec) = d.recommended.get(class) else { continue };
            let q =
                |s: &optimize::verify::Simulated| s.latency_quantile_s.map_or("-".into(), |e| format!("{:.2}", e.mean));
            line!(
                out,
                "  {:<12} {:>9.2} -> {:<9.2} {:>9} -> {:<9} {:>6.3} -> {:<6.3} {:>7.4} -> {:<7.4}",
                class,
                now.cost_usd.mean,
                rec.cost_usd.mean,
                q(now),
                q(rec),
                now.mean_quality.mean,
                rec.mean_quality.mean,
                now.success.mean,
                rec.success.mean
            );
        }
        let mut moved: Vec<(&String, &(f64, f64))> =
            d.primary_share.iter().filter(|(_, (a, b))| (a - b).abs() >= 0.005).collect();
        moved.sort_by(|x, y| (y.1.1 - y.1.0).abs().total_cmp(&(x.1.1 - x.1.0).abs()).then(x.0.cmp(y.0)));
        line!(out, "  primary share per endpoint (moves of 0.5 points or more, largest first):");
        for (endpoint, (a, b)) in moved {
            line!(out, "    {:<36} {:>6.1}% -> {:>5.1}%", endpoint, a * 100.0, b * 100.0);
        }
    }
    for n in &rec.notes {
        line!(out, "note: {n}");
    }
    out
}

/// The unit of a verified figure (`recommend::Check::figure`): a latency quantile in seconds
/// (`p99_s`), a share of requests (`within_bound`, `success`), or a quality score.
fn figure_unit(figure: &str) -> Unit {
    if figure.ends_with("_s") {
        Unit::Seconds
    } else if figure == "within_bound" || figure == "success" {
        Unit::Fraction
    } else {
        Unit::Score
    }
}
