//! The constraints file (`optimize --constraints K.yaml`): what each class of traffic must meet, and
//! the rules every routing must respect. Parsed once and validated against the catalog; endpoint,
//! region and origin names go through [`crate::names`], and the classes and origins it names are
//! kept ([`Constraints::mentions`]) to be checked against the trace.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::error::{Place, Problems, Result};
use crate::names::{Mention, Names};
use crate::yaml::{self, OrderedMap, Spanned, line_of};

/// The YAML shape.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintsSpec {
    #[serde(default = "one")]
    pub version: u32,
    /// `cost` (default): cheapest routing meeting every target. `quality`: best mean quality within
    /// `budget_usd`.
    #[serde(default)]
    pub objective: Objective,
    /// Dollars for the whole trace (the objective's units); required with `objective: quality`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
    /// The quantile every `latency_s` bound applies to, unless a class sets its own (default 0.99).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile: Option<f64>,
    /// Per class; the key `default` applies to classes not listed.
    #[serde(default)]
    pub classes: OrderedMap<ClassSpec>,
    /// A latency bound on all traffic together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetSpec>,
    /// Data residency: requests from these origins may only go to these endpoint regions.
    #[serde(default)]
    pub residency: Vec<Spanned<ResidencySpec>>,
    /// Lock-in guard: the largest share of all requests any one `provider` / `family` may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_share: Option<MaxShareSpec>,
    /// Canaries: endpoint -> the least share of all requests it must receive as a primary.
    #[serde(default)]
    pub min_share: OrderedMap<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<RoutesSpec>,
    /// `class_origin` (default): one routing per class and origin region. `class`: one per class.
    #[serde(default)]
    pub segments: SegmentBy,
    /// `chain` (default): attempts, failures, timeouts and fallbacks as the replay engine runs them.
    /// `first_attempt`: SEMANTICS.md section 6 (first attempt only, failures ignored).
    #[serde(default)]
    pub latency_model: LatencyModel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<CapacitySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounding: Option<RoundingSpec>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    #[default]
    Cost,
    Quality,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentBy {
    #[default]
    ClassOrigin,
    Class,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyModel {
    #[default]
    Chain,
    FirstAttempt,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClassSpec {
    /// Upper bound (seconds) on the class's latency quantile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_s: Option<f64>,
    /// Which quantile `latency_s` bounds (0.9, 0.95, 0.99, 0.999, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile: Option<f64>,
    /// Least mean quality of served requests, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<f64>,
    /// Least share of requests served (after fallbacks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<f64>,
    /// Endpoints scoring below this for the class are not candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_quality: Option<f64>,
    /// Only vision-capable endpoints (default: true for classes whose name contains "vision").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vision: Option<bool>,
    /// Per-attempt timeout the routes are evaluated with and exported with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSpec {
    pub latency_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResidencySpec {
    pub origin: Vec<String>,
    pub regions: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MaxShareSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoutesSpec {
    /// Fallbacks after the primary (0: single endpoints only). Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fallbacks: Option<usize>,
    /// Fallbacks are drawn from this many of the most reliable, fastest allowed endpoints per
    /// segment (default 4), which keeps the candidate count linear in the catalog size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_pool: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CapacitySpec {
    /// The window over which the trace's peak rate is measured (default 60 s: the peak minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
    /// Use at most this fraction of each rpm/tpm limit (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoundingSpec {
    /// Weights are multiples of this many percent (default 1; 0 keeps exact weights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granularity_pct: Option<f64>,
}

/// One class's targets, resolved (the `default` entry filled in).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClassTargets {
    pub latency_s: Option<f64>,
    pub quantile: f64,
    pub quality: Option<f64>,
    pub success: Option<f64>,
    pub min_quality: f64,
    pub vision: Option<bool>,
    pub timeout_s: Option<f64>,
}

/// A residency rule with its endpoint regions resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Residency {
    pub origins: Vec<String>,
    pub regions: Vec<String>,
}

/// The validated constraints.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraints {
    pub source: String,
    pub objective: Objective,
    pub budget_usd: Option<f64>,
    pub default: ClassTargets,
    pub classes: BTreeMap<String, ClassTargets>,
    pub fleet: Option<(f64, f64)>,
    pub residency: Vec<Residency>,
    pub max_share_provider: Option<f64>,
    pub max_share_family: Option<f64>,
    /// (endpoint index, least share).
    pub min_share: Vec<(usize, f64)>,
    pub max_fallbacks: usize,
    pub fallback_pool: usize,
    pub segments: SegmentBy,
    pub latency_model: LatencyModel,
    pub window_s: f64,
    pub utilization: f64,
    pub granularity_pct: f64,
    /// The classes and residency origins the file names, where, to be checked against a trace.
    pub mentions: Vec<Mention>,
}

/// Default quantile for latency bounds.
pub const DEFAULT_QUANTILE: f64 = 0.99;

impl Constraints {
    pub fn load(path: &Path, catalog: &Catalog) -> Result<Constraints> {
        yaml::load(path, |spec, origin| Constraints::from_spec(spec, origin, catalog))
    }

    pub fn from_yaml_str(text: &str, origin: &Path, catalog: &Catalog) -> Result<Constraints> {
        yaml::load_str(text, origin, |spec, origin| Constraints::from_spec(spec, origin, catalog))
    }

    /// Targets for a class (its own entry over `default`).
    pub fn for_class(&self, class: &str) -> ClassTargets {
        let mut t = self.classes.get(class).cloned().unwrap_or_else(|| self.default.clone());
        if t.vision.is_none() {
            t.vision = Some(class.contains("vision"));
        }
        t
    }

    /// Endpoint regions allowed for requests from `origin` (None: any).
    pub fn allowed_regions(&self, origin: &str) -> Option<Vec<&str>> {
        let rules: Vec<&Residency> = self.residency.iter().filter(|r| r.origins.iter().any(|o| o == origin)).collect();
        if rules.is_empty() {
            return None;
        }
        // Every matching rule applies: the allowed regions are their intersection.
        let mut allowed: Vec<&str> = rules[0].regions.iter().map(String::as_str).collect();
        for r in &rules[1..] {
            allowed.retain(|a| r.regions.iter().any(|x| x == a));
        }
        Some(allowed)
    }

    pub fn from_spec(spec: &ConstraintsSpec, origin: &Path, catalog: &Catalog) -> Result<Constraints> {
        let mut problems = Problems::default();
        let names = Names::new(catalog);
        let mut mentions = Vec::new();
        let at = |line: Option<usize>, field: &str| Place::file(origin).maybe_line(line).field(field.to_string());
        if spec.version != 1 {
            problems.push(at(None, "version"), format!("unknown version {}", spec.version), "use `version: 1`");
        }
        let default_q = spec.quantile.unwrap_or(DEFAULT_QUANTILE);
        check_prob(&mut problems, at(None, "quantile"), default_q, true);
        let mut default = ClassTargets { quantile: default_q, ..ClassTargets::default() };
        let mut classes = BTreeMap::new();
        // `default` first, so that every class inherits it whatever the file order.
        let mut entries: Vec<&(Spanned<String>, ClassSpec)> = spec.classes.0.iter().collect();
        entries.sort_by_key(|(k, _)| k.value != "default");
        for (key, c) in entries {
            let line = line_of(key);
            let name = key.value.trim().to_string();
            let field = |f: &str| format!("classes.{name}.{f}");
            let base = if name == "default" {
                ClassTargets { quantile: default_q, ..Default::default() }
            } else {
                default.clone()
            };
            if let Some(q) = c.quantile {
                check_prob(&mut problems, at(line, &field("quantile")), q, true);
            }
            for (f, v) in [("quality", c.quality), ("success", c.success), ("min_quality", c.min_quality)] {
                if let Some(v) = v {
                    check_prob(&mut problems, at(line, &field(f)), v, false);
                }
            }
            for (f, v) in [("latency_s", c.latency_s), ("timeout_s", c.timeout_s)] {
                if let Some(v) = v
                    && !(v.is_finite() && v > 0.0)
                {
                    problems.push(
                        at(line, &field(f)),
                        format!("{v} is not a positive number of seconds"),
                        "give seconds > 0",
                    );
                }
            }
            let t = ClassTargets {
                latency_s: c.latency_s.or(base.latency_s),
                quantile: c.quantile.unwrap_or(base.quantile),
                quality: c.quality.or(base.quality),
                success: c.success.or(base.success),
                min_quality: c.min_quality.unwrap_or(base.min_quality),
                vision: c.vision.or(base.vision),
                timeout_s: c.timeout_s.or(base.timeout_s),
            };
            if name != "default" {
                mentions.push(Mention::class(&name, at(line, &format!("classes.{name}"))));
            }
            if name == "default" {
                default = t;
            } else if classes.insert(name.clone(), t).is_some() {
                problems.push(at(line, &format!("classes.{name}")), "class listed twice", "merge the two entries");
            }
        }
        let fleet = spec.fleet.as_ref().map(|f| (f.latency_s, f.quantile.unwrap_or(default_q)));
        if let Some((t, q)) = fleet {
            if !(t.is_finite() && t > 0.0) {
                problems.push(at(None, "fleet.latency_s"), format!("{t} is not positive"), "give seconds > 0");
            }
            check_prob(&mut problems, at(None, "fleet.quantile"), q, true);
        }
        let mut residency = Vec::new();
        for r in &spec.residency {
            let line = line_of(r);
            // Regions by their catalog names, so that routes compare them exactly.
            let regions: Vec<String> = r
                .value
                .regions
                .iter()
                .filter_map(|region| names.region(region, at(line, "residency.regions"), &mut problems))
                .map(|i| catalog.regions[i].clone())
                .collect();
            // An origin is a region: a typo here would leave the traffic it means unconstrained.
            for o in &r.value.origin {
                if names.origin(o, at(line, "residency.origin"), &mut problems) {
                    mentions.push(Mention::origin(o, at(line, "residency.origin")));
                }
            }
            if r.value.origin.is_empty() || r.value.regions.is_empty() {
                problems.push(at(line, "residency"), "empty `origin` or `regions` list", "list at least one of each");
            }
            residency.push(Residency { origins: r.value.origin.clone(), regions });
        }
        let mut min_share = Vec::new();
        for (key, share) in &spec.min_share.0 {
            if let Some(e) = names.endpoint(&key.value, at(line_of(key), "min_share"), &mut problems) {
                min_share.push((e, *share));
            }
            check_prob(&mut problems, at(line_of(key), "min_share"), *share, false);
        }
        let max_share = spec.max_share.clone().unwrap_or_default();
        for (f, v) in [("max_share.provider", max_share.provider), ("max_share.family", max_share.family)] {
            if let Some(v) = v {
                check_prob(&mut problems, at(None, f), v, true);
            }
        }
        if spec.objective == Objective::Quality && spec.budget_usd.is_none() {
            problems.push(
                at(None, "budget_usd"),
                "`objective: quality` needs a budget",
                "add `budget_usd: <dollars for the whole trace>`",
            );
        }
        if let Some(b) = spec.budget_usd
            && !(b.is_finite() && b > 0.0)
        {
            problems.push(at(None, "budget_usd"), format!("budget {b} is not positive"), "give dollars > 0");
        }
        let routes = spec.routes.clone().unwrap_or_default();
        let capacity = spec.capacity.clone().unwrap_or_default();
        let window_s = capacity.window_s.unwrap_or(60.0);
        if !(window_s.is_finite() && window_s > 0.0) {
            problems.push(at(None, "capacity.window_s"), format!("{window_s} is not positive"), "give seconds > 0");
        }
        let utilization = capacity.utilization.unwrap_or(1.0);
        check_prob(&mut problems, at(None, "capacity.utilization"), utilization, true);
        let granularity_pct = spec.rounding.as_ref().and_then(|r| r.granularity_pct).unwrap_or(1.0);
        if !(granularity_pct.is_finite() && (0.0..=50.0).contains(&granularity_pct))
            || (granularity_pct > 0.0 && ((100.0 / granularity_pct).round() - 100.0 / granularity_pct).abs() > 1e-9)
        {
            problems.push(
                at(None, "rounding.granularity_pct"),
                format!("granularity {granularity_pct}% does not divide 100%"),
                "use 1, 2, 5, 10, ... (or 0 for exact weights)",
            );
        }
        if spec.segments == SegmentBy::Class && !residency.is_empty() {
            problems.push(
                at(None, "segments"),
                "residency rules need one routing per origin region",
                "use `segments: class_origin` (the default) or drop the residency rules",
            );
        }
        problems.finish()?;
        Ok(Constraints {
            source: origin.display().to_string(),
            objective: spec.objective,
            budget_usd: spec.budget_usd,
            default,
            classes,
            fleet,
            residency,
            max_share_provider: max_share.provider,
            max_share_family: max_share.family,
            min_share,
            max_fallbacks: routes.max_fallbacks.unwrap_or(1).min(3),
            fallback_pool: routes.fallback_pool.unwrap_or(4).max(1),
            segments: spec.segments,
            latency_model: spec.latency_model,
            window_s,
            utilization,
            granularity_pct,
            mentions,
        })
    }
}

/// `positive`: the value must be in (0, 1]; otherwise in [0, 1].
fn check_prob(problems: &mut Problems, place: Place, v: f64, positive: bool) {
    let ok = v.is_finite() && v <= 1.0 && if positive { v > 0.0 } else { v >= 0.0 };
    if !ok {
        let range = if positive { "in (0, 1]" } else { "in [0, 1]" };
        problems.push(place, format!("{v} is not {range}"), format!("give a fraction {range}, e.g. 0.99"));
    }
}
