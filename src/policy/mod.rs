//! Routing policies: ordered rules, each with weighted targets, a fallback chain, a per-attempt
//! timeout and an attempt limit.
//!
//! A policy file ([`spec::PolicySpec`]) is validated once against a catalog into a [`Policy`]
//! (unknown endpoints and origins named with their line and the closest valid names, through
//! [`crate::names`]; negative weights, weights that do not sum to 1, unreachable rules), then
//! bound to a trace's classes and origins as a [`RoutingTable`], the flat lookup the engine uses.
//! Binding lists every trace class that no rule matches in one error. The classes and origins
//! the rules match are checked against a trace by [`crate::names::Names::check`]
//! ([`Policy::mentions`]), before binding.
//!
//! Deliberately absent: no sampling; the engine draws from the table.

pub mod spec;

use std::path::Path;

use spec::{PolicySpec, RuleSpec};

use crate::catalog::Catalog;
use crate::error::{Error, Place, Problems, Result, one_of};
use crate::names::{Mention, Names};
use crate::trace::Trace;
use crate::yaml::{self, Spanned, line_of};

/// Tolerance for "weights sum to 1".
pub const WEIGHT_SUM_TOL: f64 = 1e-6;

/// A validated rule. Endpoints are catalog indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub classes: Option<Vec<String>>,
    pub origins: Option<Vec<String>>,
    /// (endpoint index, weight), weights summing to 1, in sampling order.
    pub targets: Vec<(usize, f64)>,
    /// The rule's fallback chain, for targets without one of their own.
    pub fallbacks: Vec<usize>,
    /// Per target (parallel to `targets`): its own fallback chain, if it has one.
    pub target_fallbacks: Vec<Option<Vec<usize>>>,
    /// Per-attempt timeout in seconds; `None` means no timeout.
    pub timeout_s: Option<f64>,
    /// Attempts in all, including the first.
    pub max_attempts: usize,
    pub line: Option<usize>,
}

impl Rule {
    /// The fallback chain of target `t` (its own, or the rule's), before the attempt limit.
    pub fn chain_of(&self, t: usize) -> &[usize] {
        self.target_fallbacks.get(t).and_then(|f| f.as_deref()).unwrap_or(&self.fallbacks)
    }

    /// The classes and origins the rule matches, as written, to be checked against a trace
    /// ([`Names::check`]).
    pub fn mentions(&self, source: &str) -> Vec<Mention> {
        let place = |field: &str| Place::file(source).maybe_line(self.line).field(format!("{}: {field}", self.name));
        let classes = self.classes.iter().flatten().map(|c| Mention::class(c, place("match.class")));
        let origins = self.origins.iter().flatten().map(|o| Mention::origin(o, place("match.origin")));
        classes.chain(origins).collect()
    }

    pub fn matches(&self, class: &str, origin: &str) -> bool {
        self.classes.as_ref().is_none_or(|c| c.iter().any(|x| x == class))
            && self.origins.as_ref().is_none_or(|o| o.iter().any(|x| x == origin))
    }
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub name: String,
    pub source: String,
    pub rules: Vec<Rule>,
}

impl Policy {
    pub fn load(path: &Path, catalog: &Catalog) -> Result<Policy> {
        yaml::load(path, |spec, origin| Policy::from_spec(spec, origin, catalog))
    }

    pub fn from_yaml_str(text: &str, origin: &Path, catalog: &Catalog) -> Result<Policy> {
        yaml::load_str(text, origin, |spec, origin| Policy::from_spec(spec, origin, catalog))
    }

    /// Validate a parsed policy against a catalog, reporting every problem at once.
    pub fn from_spec(spec: &PolicySpec, origin: &Path, catalog: &Catalog) -> Result<Policy> {
        let mut problems = Problems::default();
        if spec.version != 1 {
            problems.push(
                Place::file(origin).field("version"),
                format!("unknown version {}", spec.version),
                "use `version: 1`",
            );
        }
        if spec.rules.is_empty() {
            problems.push(
                Place::file(origin).field("rules"),
                "the policy has no rules",
                "add at least one rule with `targets:`",
            );
        }
        let defaults = spec.defaults.clone().unwrap_or_default();
        let mut rules = Vec::new();
        let mut catch_all: Option<String> = None;
        for (i, rule) in spec.rules.iter().enumerate() {
            let line = line_of(rule);
            let name = rule.value.name.clone().unwrap_or_else(|| format!("rule {}", i + 1));
            if let Some(prev) = &catch_all {
                problems.push(
                    Place::file(origin).maybe_line(line).field(format!("rules[{i}]")),
                    format!("rule `{name}` can never match: rule `{prev}` before it matches every request"),
                    "move the rule without `match:` to the end, or give it a `match:`",
                );
            }
            if let Some(r) =
                validate_rule(&rule.value, &name, line, spec.normalize, &defaults, origin, catalog, &mut problems)
            {
                if r.classes.is_none() && r.origins.is_none() {
                    catch_all = Some(r.name.clone());
                }
                rules.push(r);
            }
        }
        problems.finish()?;
        Ok(Policy {
            name: spec.name.clone().unwrap_or_else(|| origin.display().to_string()),
            source: origin.display().to_string(),
            rules,
        })
    }

    /// Every class and origin the rules match, to be checked against a trace ([`Names::check`]).
    pub fn mentions(&self) -> Vec<Mention> {
        self.rules.iter().flat_map(|r| r.mentions(&self.source)).collect()
    }

    /// Bind to a trace: a rule for every (class, origin) segment that occurs, or one error listing
    /// every class without a rule. Origins must have RTTs in the catalog.
    pub fn bind(&self, catalog: &Catalog, trace: &Trace) -> Result<RoutingTable> {
        catalog.check_origins(trace.origin_names.iter().map(String::as_str), &trace.source)?;
        let n_classes = trace.class_names.len();
        let n_origins = trace.origin_names.len();
        // Only segments that actually occur need a rule.
        let mut present = vec![false; n_classes * n_origins];
        for (c, o) in trace.class.iter().zip(&trace.origin) {
            present[*c as usize * n_origins + *o as usize] = true;
        }
        let mut segment_rule = vec![u16::MAX; n_classes * n_origins];
        let mut unmatched: Vec<String> = Vec::new();
        for c in 0..n_classes {
            for o in 0..n_origins {
                let seg = c * n_origins + o;
                if !present[seg] {
                    continue;
                }
                let (class, origin) = (&trace.class_names[c], &trace.origin_names[o]);
                match self.rules.iter().position(|r| r.matches(class, origin)) {
                    Some(r) => segment_rule[seg] = r as u16,
                    None => {
                        let label = if trace.has_origin() { format!("{class} (from {origin})") } else { class.clone() };
                        unmatched.push(label);
                    }
                }
            }
        }
        if !unmatched.is_empty() {
            return Err(Error::one(crate::error::Problem::new(
                Place::file(&self.source).field("rules"),
                format!("no rule matches trace class {} from {}", one_of(&unmatched), trace.source),
                "add a rule whose `match: {class: [...]}` lists them, or a last rule without `match:` as the default",
            )));
        }
        let rules = self
            .rules
            .iter()
            .map(|r| {
                let mut cum = 0.0;
                let mut cum_weights: Vec<f64> = r
                    .targets
                    .iter()
                    .map(|(_, w)| {
                        cum += w;
                        cum
                    })
                    .collect();
                if let Some(last) = cum_weights.last_mut() {
                    *last = 1.0;
                }
                BoundRule::new(
                    r.name.clone(),
                    r.targets.iter().map(|(e, _)| *e as u16).collect(),
                    cum_weights,
                    (0..r.targets.len())
                        .map(|t| {
                            r.chain_of(t).iter().take(r.max_attempts.saturating_sub(1)).map(|&e| e as u16).collect()
                        })
                        .collect(),
                    r.timeout_s.unwrap_or(f64::INFINITY),
                )
            })
            .collect();
        let rtt_s = (0..n_origins)
            .map(|o| {
                (0..catalog.endpoints.len()).map(|e| catalog.rtt_s(&trace.origin_names[o], e).unwrap_or(0.0)).collect()
            })
            .collect();
        Ok(RoutingTable { n_origins, segment_rule, rules, rtt_s })
    }
}

#[allow(clippy::too_many_arguments)]
fn validate_rule(
    rule: &RuleSpec,
    name: &str,
    line: Option<usize>,
    normalize_all: bool,
    defaults: &spec::RuleDefaults,
    origin: &Path,
    catalog: &Catalog,
    problems: &mut Problems,
) -> Option<Rule> {
    let before = problems.0.len();
    let place =
        |l: Option<usize>, field: &str| Place::file(origin).maybe_line(l.or(line)).field(format!("{name}: {field}"));
    let names = Names::new(catalog);
    let endpoint = |s: &Spanned<String>, field: &str, problems: &mut Problems| -> Option<usize> {
        names.endpoint(&s.value, place(line_of(s), field), problems)
    };
    let mut targets = Vec::new();
    let mut target_fallbacks = Vec::new();
    if rule.targets.0.is_empty() {
        problems.push(place(None, "targets"), "the rule has no targets", "add `targets: {model@region: 1.0}`");
    }
    for (key, spec) in &rule.targets.0 {
        let w = &spec.weight();
        let e = endpoint(key, "targets", problems);
        let own = spec.fallback().map(|chain| {
            chain
                .iter()
                .filter_map(|f| {
                    let spanned = Spanned { value: f.clone(), referenced: key.referenced, defined: key.defined };
                    endpoint(&spanned, "targets.fallback", problems)
                })
                .collect::<Vec<usize>>()
        });
        if !(w.is_finite() && *w >= 0.0) {
            problems.push(
                place(line_of(key), "targets"),
                format!("weight {w} of `{}` is negative or not a number", key.value),
                "weights are shares >= 0 that sum to 1",
            );
        }
        if let Some(e) = e {
            if targets.iter().any(|(x, _)| *x == e) {
                problems.push(
                    place(line_of(key), "targets"),
                    format!("endpoint `{}` is listed twice", key.value),
                    "list each target once and add the weights",
                );
            }
            targets.push((e, *w));
            target_fallbacks.push(own);
        }
    }
    let total: f64 = rule.targets.0.iter().map(|(_, t)| t.weight()).sum();
    let normalize = rule.normalize.unwrap_or(normalize_all);
    if problems.0.len() == before {
        if total <= 0.0 {
            problems.push(place(None, "targets"), "weights sum to 0", "give at least one target a positive weight");
        } else if (total - 1.0).abs() > WEIGHT_SUM_TOL {
            if normalize {
                for t in &mut targets {
                    t.1 /= total;
                }
            } else {
                problems.push(
                    place(None, "targets"),
                    format!("weights sum to {total} (tolerance {WEIGHT_SUM_TOL}), not 1"),
                    "make them sum to 1, or set `normalize: true` on the rule or the policy to rescale them",
                );
            }
        }
    }
    let fallbacks: Vec<usize> = rule.fallback.iter().filter_map(|f| endpoint(f, "fallback", problems)).collect();
    let timeout_s = rule.timeout_s.or(defaults.timeout_s);
    if let Some(t) = timeout_s
        && !(t.is_finite() && t > 0.0)
    {
        problems.push(
            place(None, "timeout_s"),
            format!("timeout {t} s is not positive"),
            "give seconds > 0, or omit for no timeout",
        );
    }
    // The longest chain any target has (its own or the rule's).
    let longest = rule
        .targets
        .0
        .iter()
        .map(|(_, t)| t.fallback().map_or(rule.fallback.len(), <[String]>::len))
        .max()
        .unwrap_or(0)
        .max(if target_fallbacks.iter().all(Option::is_some) { 0 } else { rule.fallback.len() });
    let max_attempts = rule.max_attempts.or(defaults.max_attempts).map(|m| m as usize).unwrap_or(1 + longest);
    if max_attempts == 0 {
        problems.push(place(None, "max_attempts"), "max_attempts is 0", "use 1 for no fallback, or more");
    }
    if max_attempts > 1 + longest && rule.max_attempts.is_some() {
        problems.push(
            place(None, "max_attempts"),
            format!("max_attempts {max_attempts} exceeds 1 + {longest} fallback(s)"),
            "add fallbacks (repeat an endpoint to retry it) or lower max_attempts",
        );
    }
    let m = rule.matches.clone().unwrap_or_default();
    for (field, list) in [("match.class", &m.class), ("match.origin", &m.origin)] {
        if list.as_ref().is_some_and(|l| l.is_empty()) {
            problems.push(
                place(None, field),
                "empty list matches nothing",
                "list at least one name, or remove the key to match any",
            );
        }
    }
    // An origin is a region, whatever the trace: a name that is none is a mistake even here.
    for o in m.origin.iter().flatten() {
        names.origin(o, place(None, "match.origin"), problems);
    }
    if problems.0.len() > before {
        return None;
    }
    Some(Rule {
        name: name.to_string(),
        classes: m.class,
        origins: m.origin,
        targets,
        fallbacks,
        target_fallbacks,
        timeout_s,
        max_attempts,
        line,
    })
}

/// A policy bound to one trace: everything the engine needs, as flat tables.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingTable {
    pub n_origins: usize,
    /// Rule index per segment `class * n_origins + origin` (`u16::MAX` where the segment is absent).
    pub segment_rule: Vec<u16>,
    pub rules: Vec<BoundRule>,
    /// `rtt_s[origin][endpoint]`.
    pub rtt_s: Vec<Vec<f64>>,
}

impl RoutingTable {
    /// The rule of segment `class * n_origins + origin` (rule 0 for a segment the trace does not
    /// have, which no request of it can ask for).
    #[inline]
    pub fn rule_index(&self, segment: usize) -> u16 {
        match self.segment_rule[segment] {
            u16::MAX => 0,
            r => r,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BoundRule {
    pub name: String,
    pub targets: Vec<u16>,
    /// Cumulative weights in target order; the last is exactly 1.
    pub cum_weights: Vec<f64>,
    /// Per target: the fallbacks actually attempted (its chain cut to `max_attempts - 1`).
    pub fallbacks: Vec<Vec<u16>>,
    /// Per-attempt timeout in seconds (infinite if none).
    pub timeout_s: f64,
    /// `cum_weights` padded to [`PICK_WIDTH`] with infinities (unused for longer rules).
    pick: [f64; PICK_WIDTH],
}

/// Rules with at most this many targets pick one by counting over a fixed-width array.
const PICK_WIDTH: usize = 8;

impl BoundRule {
    pub fn new(
        name: String,
        targets: Vec<u16>,
        cum_weights: Vec<f64>,
        fallbacks: Vec<Vec<u16>>,
        timeout_s: f64,
    ) -> BoundRule {
        let mut pick = [f64::INFINITY; PICK_WIDTH];
        if cum_weights.len() <= PICK_WIDTH {
            pick[..cum_weights.len()].copy_from_slice(&cum_weights);
        }
        BoundRule { name, targets, cum_weights, fallbacks, timeout_s, pick }
    }

    /// Attempts a request can make at most under this rule (1 + the longest cut chain).
    pub fn max_attempts(&self) -> usize {
        1 + self.fallbacks.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// The primary's position among the targets for a uniform draw `u` in [0, 1): j = #{cum <= u}
    /// (numpy's `searchsorted(cum, u, side="right")`).
    #[inline]
    pub fn pick_index(&self, u: f64) -> usize {
        let cum = &self.cum_weights;
        // The weights are non-decreasing, so counting is the same as a binary search; for the
        // usual handful of targets the count has no chain of dependent loads and compares. It
        // counts over the padded fixed-width copy: a loop as long as the rule would end at a
        // different place for each request's rule, a branch mispredicted for most requests when
        // rules differ in length (0.77 a request on the reference replay).
        let j = if cum.len() <= PICK_WIDTH {
            self.pick.iter().map(|&c| (c <= u) as usize).sum()
        } else {
            cum.partition_point(|&c| c <= u)
        };
        j.min(self.targets.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(weights: &[f64]) -> BoundRule {
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let mut cum: Vec<f64> = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        *cum.last_mut().unwrap() = 1.0;
        BoundRule::new(
            "r".into(),
            (0..weights.len() as u16).collect(),
            cum,
            vec![Vec::new(); weights.len()],
            f64::INFINITY,
        )
    }

    proptest! {
        /// The count the hot loop uses (up to 8 targets) and the binary search beyond pick the same
        /// target as numpy's `searchsorted(cum, u, side="right")`, zero weights and draws that land
        /// exactly on a boundary included.
        #[test]
        fn pick_index_is_searchsorted_right(
            weights in prop::collection::vec(prop_oneof![Just(0.0), 0.001f64..1.0], 1..20),
            u in 0.0f64..1.0,
            on_boundary in any::<prop::sample::Index>(),
        ) {
            prop_assume!(weights.iter().any(|&w| w > 0.0));
            let r = rule(&weights);
            for u in [u, r.cum_weights[on_boundary.index(r.cum_weights.len())], 0.0] {
                if u >= 1.0 {
                    continue;
                }
                // Target j takes the draws in [cum[j - 1], cum[j]): the first j with u < cum[j].
                let expected = r.cum_weights.iter().position(|&c| u < c).unwrap();
                let picked = r.pick_index(u);
                prop_assert_eq!(picked, expected, "u = {}, cum = {:?}", u, r.cum_weights);
                prop_assert!(weights[picked] > 0.0 || picked == weights.len() - 1, "zero-weight target {} at u = {}", picked, u);
            }
        }
    }
}
