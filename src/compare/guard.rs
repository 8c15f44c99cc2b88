//! The guard file: how much each figure may worsen, which figures are critical, their weights, and
//! the score thresholds. Parsed through `crate::yaml` (line numbers kept) and validated once into a
//! [`Guard`]; an unknown figure or class is reported with the closest valid names.
//!
//! ```yaml
//! version: 1
//! score: {pass: 95, marginal: 75}
//! figures:
//!   cost: {allowed: +2%, critical: true}
//!   success: {allowed: -0.05 points, critical: true}
//! classes:
//!   default: {p99: {allowed: +10%}}      # every class without an entry of its own
//!   reasoning: {p99: {allowed: +20%}}
//! ```
//!
//! `figures` judges each metric over all traffic; `classes.<class>.<metric>` judges it per class, and
//! any field a class entry leaves out comes from `classes.default.<metric>`, then from
//! `figures.<metric>`. The format is documented in docs/compare.md.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::figure::{Direction, Figure, Metric, Scope, Unit};
use crate::error::{Place, Problems, Result, closest, one_of};
use crate::yaml::{self, OrderedMap, Spanned, line_of};

/// The embedded default guard (`compare` without `--guard`).
pub const DEFAULT_GUARD_YAML: &str = include_str!("default-guard.yaml");

/// The reserved class key whose rules apply to every class without an entry of its own.
pub const EVERY_CLASS: &str = "default";

/// The YAML shape.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardSpec {
    #[serde(default = "one")]
    pub version: u32,
    #[serde(default)]
    pub score: Option<ScoreSpec>,
    /// Metric -> rule, over all traffic.
    #[serde(default)]
    pub figures: OrderedMap<RuleSpec>,
    /// Class (or `default`) -> metric -> rule.
    #[serde(default)]
    pub classes: OrderedMap<OrderedMap<RuleSpec>>,
}

fn one() -> u32 {
    1
}

/// Score thresholds, in percent of the judged weight.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreSpec {
    #[serde(default)]
    pub pass: Option<Spanned<f64>>,
    #[serde(default)]
    pub marginal: Option<Spanned<f64>>,
}

/// One figure's rule as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// `+2%`, `-0.05 points`, `-0.01`, `+0.2 s`.
    #[serde(default)]
    pub allowed: Option<Spanned<ChangeText>>,
    /// A critical figure that fails makes the verdict FAIL whatever the score.
    #[serde(default)]
    pub critical: Option<bool>,
    /// Its share of the score (default 1).
    #[serde(default)]
    pub weight: Option<Spanned<f64>>,
}

/// An allowed change as written: a YAML string (`+2%`) or number (`-0.01`), kept as text.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeText(pub String);

impl<'de> Deserialize<'de> for ChangeText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ChangeText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a change such as +2%, -0.05 points or -0.01")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<ChangeText, E> {
                Ok(ChangeText(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<ChangeText, E> {
                Ok(ChangeText(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<ChangeText, E> {
                Ok(ChangeText(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<ChangeText, E> {
                Ok(ChangeText(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// How far a figure may move the worse way, as a magnitude (never negative).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Allowed {
    /// A fraction of the baseline's mean (0.02 for `+2%`).
    Relative(f64),
    /// An amount in the figure's unit.
    Absolute(f64),
    /// Percentage points of a share (0.05 for `-0.05 points`, a change of 0.0005).
    Points(f64),
}

impl Allowed {
    /// The allowed worsening in the figure's unit, given the baseline's mean.
    pub fn limit(self, baseline_mean: f64) -> f64 {
        match self {
            Allowed::Relative(fraction) => fraction * baseline_mean.abs(),
            Allowed::Absolute(amount) => amount,
            Allowed::Points(points) => points / 100.0,
        }
    }

    /// As a guard file would write it: `+2%`, `-0.05 points`, `+0.2 s`.
    pub fn render(self, metric: Metric) -> String {
        let sign = if metric.direction() == Direction::HigherIsBetter { "-" } else { "+" };
        match self {
            Allowed::Relative(fraction) => format!("{sign}{}%", trim_float(fraction * 100.0)),
            Allowed::Points(points) => format!("{sign}{} points", trim_float(points)),
            Allowed::Absolute(amount) => match metric.unit().symbol() {
                "" => format!("{sign}{}", trim_float(amount)),
                unit => format!("{sign}{} {unit}", trim_float(amount)),
            },
        }
    }
}

/// Shortest text for a number a person wrote (`2`, `0.05`), free of binary noise (`2.0000000000000004`).
fn trim_float(x: f64) -> String {
    let text = format!("{:.10}", x);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A figure's validated rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub allowed: Allowed,
    pub critical: bool,
    pub weight: f64,
}

/// The validated guard.
#[derive(Debug, Clone, PartialEq)]
pub struct Guard {
    /// The file it came from (`default-guard.yaml` for the embedded one).
    pub source: String,
    /// Score (percent of the judged weight that passed) for PASS.
    pub pass: f64,
    /// Score for MARGINAL; below it, INCONCLUSIVE or FAIL.
    pub marginal: f64,
    /// Rules over all traffic, in file order.
    pub figures: Vec<(Metric, Rule)>,
    /// Rules for named classes (each already filled from `default` and `figures`), in file order.
    pub classes: Vec<(String, Vec<(Metric, Rule)>)>,
    /// Rules for every class without its own entry for the metric (`classes.default`).
    pub every_class: Vec<(Metric, Rule)>,
}

/// Default thresholds, Kayenta's defaults.
pub const DEFAULT_PASS: f64 = 95.0;
pub const DEFAULT_MARGINAL: f64 = 75.0;

impl Guard {
    /// Read and validate a guard file; `classes` are the trace's class names the file may name.
    pub fn load(path: &Path, classes: &[String]) -> Result<Guard> {
        yaml::load(path, |spec, origin| Guard::from_spec(spec, origin, classes))
    }

    pub fn from_yaml_str(text: &str, origin: &Path, classes: &[String]) -> Result<Guard> {
        yaml::load_str(text, origin, |spec, origin| Guard::from_spec(spec, origin, classes))
    }

    /// The embedded default guard (tested to be valid).
    pub fn default_guard() -> Guard {
        Guard::from_yaml_str(DEFAULT_GUARD_YAML, Path::new("default-guard.yaml"), &[])
            .expect("the embedded default guard is valid (tested)")
    }

    /// The rule judging `figure`, if any: `figures` for all traffic, the class's own entry or
    /// `classes.default` for a class; other scopes are shown, never judged.
    pub fn rule_for(&self, figure: &Figure) -> Option<Rule> {
        let find = |rules: &[(Metric, Rule)]| rules.iter().find(|(m, _)| *m == figure.metric).map(|(_, r)| *r);
        match &figure.scope {
            Scope::Overall => find(&self.figures),
            Scope::Class(class) => self
                .classes
                .iter()
                .find(|(c, _)| c == class)
                .and_then(|(_, rules)| find(rules))
                .or_else(|| find(&self.every_class)),
            _ => None,
        }
    }

    /// The figures this guard names explicitly (all traffic and named classes), for saying which
    /// of them a comparison did not measure.
    pub fn named_figures(&self) -> Vec<Figure> {
        let overall = self.figures.iter().map(|(m, _)| Figure::overall(*m));
        let classes = self.classes.iter().flat_map(|(c, rules)| rules.iter().map(move |(m, _)| Figure::class(*m, c)));
        overall.chain(classes).collect()
    }

    pub fn from_spec(spec: &GuardSpec, origin: &Path, classes: &[String]) -> Result<Guard> {
        let mut problems = Problems::default();
        let at = |line: Option<usize>, field: &str| Place::file(origin).maybe_line(line).field(field.to_string());
        if spec.version != 1 {
            problems.push(at(None, "version"), format!("unknown version {}", spec.version), "use `version: 1`");
        }
        let score = spec.score.clone().unwrap_or_default();
        let pass = score.pass.as_ref().map_or(DEFAULT_PASS, |s| s.value);
        let marginal = score.marginal.as_ref().map_or(DEFAULT_MARGINAL, |s| s.value);
        for (name, value, spanned) in [("pass", pass, &score.pass), ("marginal", marginal, &score.marginal)] {
            if !(0.0..=100.0).contains(&value) {
                problems.push(
                    at(spanned.as_ref().and_then(line_of), &format!("score.{name}")),
                    format!("{value} is not a score: scores are percentages of the judged weight"),
                    "give a number from 0 to 100",
                );
            }
        }
        if marginal > pass {
            problems.push(
                at(score.marginal.as_ref().and_then(line_of), "score.marginal"),
                format!("the marginal threshold {marginal} is above the pass threshold {pass}"),
                "make `marginal` at most `pass`",
            );
        }

        let figure_specs = metric_entries(&spec.figures, "figures", origin, &mut problems);
        let mut figures = Vec::new();
        for (metric, line, rule) in &figure_specs {
            let field = format!("figures.{metric}");
            let partial = partial_rule(rule, *metric, &field, origin, &mut problems);
            match partial.allowed {
                Some(allowed) => figures.push((*metric, partial.finish(allowed))),
                None if rule.allowed.is_some() => {} // written but unusable: reported above
                None => problems.push(
                    at(*line, &format!("{field}.allowed")),
                    format!("no allowed change for `{metric}`"),
                    format!("add `allowed:`, for example {}", example(*metric)),
                ),
            }
        }

        // `default` first, so that every named class inherits from it whatever the file order.
        let mut class_entries: Vec<&(Spanned<String>, OrderedMap<RuleSpec>)> = spec.classes.0.iter().collect();
        class_entries.sort_by_key(|(k, _)| k.value.trim() != EVERY_CLASS);
        let mut every_class_partial: Vec<(Metric, PartialRule, bool)> = Vec::new();
        let mut seen_classes: Vec<&str> = Vec::new();
        let mut named = Vec::new();
        let mut every_class = Vec::new();
        for (key, entries) in class_entries {
            let class = key.value.trim();
            let class_line = line_of(key);
            if seen_classes.contains(&class) {
                problems.push(
                    at(class_line, &format!("classes.{class}")),
                    "class listed twice",
                    "merge the two entries",
                );
                continue;
            }
            seen_classes.push(class);
            if class != EVERY_CLASS && !classes.iter().any(|c| c == class) {
                let names = classes.iter().map(String::as_str).chain([EVERY_CLASS]);
                problems.push(
                    at(class_line, &format!("classes.{class}")),
                    format!("unknown class `{class}`"),
                    format!(
                        "use a class of the trace (or `default` for every class); closest: {}",
                        one_of(&closest(class, names))
                    ),
                );
                continue;
            }
            let mut rules = Vec::new();
            for (metric, line, rule) in metric_entries(entries, &format!("classes.{class}"), origin, &mut problems) {
                let field = format!("classes.{class}.{metric}");
                let mut partial = partial_rule(rule, metric, &field, origin, &mut problems);
                // Whether an allowed change was written anywhere this entry inherits from (an
                // unusable one has been reported where it was written).
                let mut written = rule.allowed.is_some();
                if class != EVERY_CLASS
                    && let Some((_, inherited, inherited_written)) =
                        every_class_partial.iter().find(|(m, _, _)| *m == metric)
                {
                    partial = partial.or(inherited);
                    written |= inherited_written;
                }
                if let Some((_, _, overall)) = figure_specs.iter().find(|(m, _, _)| *m == metric) {
                    partial = partial.or(&partial_rule_quiet(overall, metric));
                    written |= overall.allowed.is_some();
                }
                match partial.allowed {
                    Some(allowed) => rules.push((metric, partial.finish(allowed))),
                    None if written => {}
                    None => problems.push(
                        at(line, &format!("{field}.allowed")),
                        format!("no allowed change for `{metric}` in class `{class}`"),
                        format!("add `allowed:` here or under `figures.{metric}`, for example {}", example(metric)),
                    ),
                }
                if class == EVERY_CLASS {
                    every_class_partial.push((metric, partial, written));
                }
            }
            if class == EVERY_CLASS {
                every_class = rules;
            } else {
                named.push((class.to_string(), rules));
            }
        }
        problems.finish()?;
        Ok(Guard { source: origin.display().to_string(), pass, marginal, figures, classes: named, every_class })
    }
}

/// A rule with the fields an entry left out still open.
#[derive(Debug, Clone, Copy, Default)]
struct PartialRule {
    allowed: Option<Allowed>,
    critical: Option<bool>,
    weight: Option<f64>,
}

impl PartialRule {
    fn or(self, other: &PartialRule) -> PartialRule {
        PartialRule {
            allowed: self.allowed.or(other.allowed),
            critical: self.critical.or(other.critical),
            weight: self.weight.or(other.weight),
        }
    }
    fn finish(self, allowed: Allowed) -> Rule {
        Rule { allowed, critical: self.critical.unwrap_or(false), weight: self.weight.unwrap_or(1.0) }
    }
}

/// The entries of a metric -> rule map whose keys are metrics; the others are reported with the
/// closest metric names, and a metric listed twice is reported at its second line.
fn metric_entries<'a>(
    map: &'a OrderedMap<RuleSpec>,
    section: &str,
    origin: &Path,
    problems: &mut Problems,
) -> Vec<(Metric, Option<usize>, &'a RuleSpec)> {
    let mut out: Vec<(Metric, Option<usize>, &RuleSpec)> = Vec::new();
    for (key, rule) in &map.0 {
        let name = key.value.trim();
        let place = Place::file(origin).maybe_line(line_of(key)).field(format!("{section}.{name}"));
        match Metric::from_name(name) {
            None => problems.push(
                place,
                format!("unknown figure `{name}`"),
                format!(
                    "use one of the figures in docs/compare.md; closest: {}",
                    one_of(&closest(name, Metric::ALL.map(Metric::name)))
                ),
            ),
            Some(metric) if out.iter().any(|(m, _, _)| *m == metric) => {
                problems.push(place, format!("figure `{name}` listed twice"), "merge the two entries")
            }
            Some(metric) if metric.direction() == Direction::Neither => problems.push(
                place,
                format!("`{name}` has no worse direction, so no change of it can be allowed or refused"),
                "remove the entry: the comparison shows it without judging it",
            ),
            Some(metric) => out.push((metric, line_of(key), rule)),
        }
    }
    out
}

/// Validate an entry's fields, reporting problems at their lines.
fn partial_rule(rule: &RuleSpec, metric: Metric, field: &str, origin: &Path, problems: &mut Problems) -> PartialRule {
    let mut partial = PartialRule { critical: rule.critical, ..PartialRule::default() };
    if let Some(text) = &rule.allowed {
        match parse_allowed(&text.value.0, metric) {
            Ok(allowed) => partial.allowed = Some(allowed),
            Err((message, fix)) => problems.push(
                Place::file(origin).maybe_line(line_of(text)).field(format!("{field}.allowed")),
                message,
                fix,
            ),
        }
    }
    if let Some(weight) = &rule.weight {
        if weight.value.is_finite() && weight.value > 0.0 {
            partial.weight = Some(weight.value);
        } else {
            problems.push(
                Place::file(origin).maybe_line(line_of(weight)).field(format!("{field}.weight")),
                format!("weight {} is not a positive number", weight.value),
                "give a weight > 0 (1 is the default), or remove the figure to leave it out of the score",
            );
        }
    }
    partial
}

/// The same, for inheriting from an entry already validated (its problems are reported once).
fn partial_rule_quiet(rule: &RuleSpec, metric: Metric) -> PartialRule {
    PartialRule {
        allowed: rule.allowed.as_ref().and_then(|t| parse_allowed(&t.value.0, metric).ok()),
        critical: rule.critical,
        weight: rule.weight.as_ref().map(|w| w.value).filter(|w| w.is_finite() && *w > 0.0),
    }
}

/// An allowed change for `metric`, written the worse way.
fn example(metric: Metric) -> String {
    let sign = if metric.direction() == Direction::HigherIsBetter { "-" } else { "+" };
    let absolute = match metric.unit() {
        Unit::Usd => "10 usd",
        Unit::UsdPer1k => "0.05 usd",
        Unit::Share => "0.05 points",
        Unit::Score => "0.01",
        Unit::Seconds => "0.2 s",
        Unit::Count => "100",
    };
    format!("`allowed: {sign}2%` or `allowed: {sign}{absolute}`")
}

/// Parse an allowed change for `metric`: an optional sign, which when given must point the way the
/// metric gets worse, a number, and `%` (relative to the baseline), `points` (percentage points,
/// shares only), the metric's unit (`s`, `usd`) or nothing (absolute, in the metric's unit).
/// Errors are (message, fix).
pub fn parse_allowed(text: &str, metric: Metric) -> std::result::Result<Allowed, (String, String)> {
    let written = text.trim();
    let unusable = |why: &str| {
        (
            format!("`{written}` is not an allowed change for `{metric}`: {why}"),
            format!("write e.g. {}", example(metric)),
        )
    };
    let (sign, rest) = match written.chars().next() {
        Some('+') => (Some(1.0), &written[1..]),
        Some('-') => (Some(-1.0), &written[1..]),
        _ => (None, written),
    };
    let rest = rest.trim_start();
    let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let (number, suffix) = (&rest[..number_end], rest[number_end..].trim());
    let amount: f64 = match number.parse() {
        Ok(x) if f64::is_finite(x) => x,
        _ => return Err(unusable("it does not start with a number")),
    };
    let unit = metric.unit();
    let allowed = match suffix.to_ascii_lowercase().as_str() {
        "" => Allowed::Absolute(amount),
        "%" => Allowed::Relative(amount / 100.0),
        "point" | "points" | "pt" | "pts" | "pp" if unit == Unit::Share => Allowed::Points(amount),
        "point" | "points" | "pt" | "pts" | "pp" => {
            return Err(unusable("points are for shares (success, fallback), and this figure is not one"));
        }
        "s" if unit == Unit::Seconds => Allowed::Absolute(amount),
        "usd" | "$" if matches!(unit, Unit::Usd | Unit::UsdPer1k) => Allowed::Absolute(amount),
        other => {
            let unit_name = match unit.symbol() {
                "" => "no unit".to_string(),
                symbol => format!("unit `{}`", symbol.to_ascii_lowercase().split('/').next().unwrap_or(symbol)),
            };
            return Err(unusable(&format!("`{other}` is not `%`, `points` or the figure's {unit_name}")));
        }
    };
    let worse = match metric.direction() {
        Direction::HigherIsWorse => 1.0,
        Direction::HigherIsBetter => -1.0,
        Direction::Neither => return Err(unusable("this figure has no worse direction")),
    };
    if let Some(sign) = sign
        && sign != worse
        && amount != 0.0
    {
        let (way, change) = if worse > 0.0 { ("higher", "an increase") } else { ("lower", "a fall") };
        return Err((
            format!(
                "`{written}` points the better way: `{metric}` is worse when {way}, so its allowed change is {change}"
            ),
            format!("write e.g. {} (the sign may also be left out)", example(metric)),
        ));
    }
    Ok(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Vec<String> {
        ["chat", "coding", "reasoning"].map(String::from).to_vec()
    }

    fn guard(text: &str) -> Result<Guard> {
        Guard::from_yaml_str(text, Path::new("guard.yaml"), &classes())
    }

    /// A guard's problems, each as `place | message | fix`.
    fn problems(text: &str) -> Vec<String> {
        match guard(text) {
            Ok(g) => panic!("expected problems, got {g:?}"),
            Err(e) => e.problems().iter().map(|p| format!("{} | {} | {}", p.place, p.message, p.fix)).collect(),
        }
    }

    #[test]
    fn the_default_guard_is_valid_and_says_what_docs_say() {
        let g = Guard::default_guard();
        assert_eq!((g.pass, g.marginal), (95.0, 75.0));
        let rule = |m| g.rule_for(&Figure::overall(m)).unwrap();
        assert_eq!(rule(Metric::Cost), Rule { allowed: Allowed::Relative(0.02), critical: true, weight: 1.0 });
        assert_eq!(rule(Metric::P99), Rule { allowed: Allowed::Relative(0.05), critical: true, weight: 1.0 });
        assert_eq!(rule(Metric::Success), Rule { allowed: Allowed::Points(0.05), critical: true, weight: 1.0 });
        assert_eq!(rule(Metric::Quality), Rule { allowed: Allowed::Absolute(0.01), critical: false, weight: 1.0 });
        assert_eq!(g.figures.len(), 4);
        assert!(g.rule_for(&Figure::class(Metric::P99, "chat")).is_none());
    }

    fn check_allowed(text: &str, metric: Metric, expected: std::result::Result<Allowed, &str>) {
        match (parse_allowed(text, metric), expected) {
            (Ok(got), Ok(want)) => {
                let close = match (got, want) {
                    (Allowed::Relative(a), Allowed::Relative(b))
                    | (Allowed::Absolute(a), Allowed::Absolute(b))
                    | (Allowed::Points(a), Allowed::Points(b)) => (a - b).abs() < 1e-12,
                    _ => false,
                };
                assert!(close, "`{text}` for {metric}: got {got:?}, expected {want:?}");
            }
            (Err((message, _)), Err(want)) => assert!(message.contains(want), "`{text}`: {message:?} lacks {want:?}"),
            (got, want) => panic!("`{text}` for {metric}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn allowed_change_syntax() {
        use Allowed::*;
        check_allowed("+2%", Metric::Cost, Ok(Relative(0.02)));
        check_allowed("2 %", Metric::Cost, Ok(Relative(0.02)));
        check_allowed("+10 usd", Metric::Cost, Ok(Absolute(10.0)));
        check_allowed("+0.2 s", Metric::P99, Ok(Absolute(0.2)));
        check_allowed("0.2s", Metric::P99, Ok(Absolute(0.2)));
        check_allowed("-0.05 points", Metric::Success, Ok(Points(0.05)));
        check_allowed("-0.05pp", Metric::Success, Ok(Points(0.05)));
        check_allowed("-0.0005", Metric::Success, Ok(Absolute(0.0005)));
        check_allowed("-0.01", Metric::Quality, Ok(Absolute(0.01)));
        check_allowed("0", Metric::Retries, Ok(Absolute(0.0)));
        check_allowed("-0%", Metric::Cost, Ok(Relative(0.0)));
        check_allowed("+100", Metric::RateLimited429, Ok(Absolute(100.0)));
        check_allowed("-2%", Metric::Cost, Err("points the better way: `cost` is worse when higher"));
        check_allowed("+0.05 points", Metric::Success, Err("`success` is worse when lower"));
        check_allowed("+0.1 points", Metric::P99, Err("points are for shares"));
        check_allowed("+0.1 s", Metric::Cost, Err("`s` is not `%`, `points` or the figure's unit `usd`"));
        check_allowed("two percent", Metric::Cost, Err("does not start with a number"));
        check_allowed("+%", Metric::Cost, Err("does not start with a number"));
    }

    #[test]
    fn allowed_changes_render_as_written() {
        assert_eq!(Allowed::Relative(0.02).render(Metric::Cost), "+2%");
        assert_eq!(Allowed::Points(0.05).render(Metric::Success), "-0.05 points");
        assert_eq!(Allowed::Absolute(0.01).render(Metric::Quality), "-0.01");
        assert_eq!(Allowed::Absolute(0.2).render(Metric::P99), "+0.2 s");
        assert_eq!(Allowed::Relative(0.07).render(Metric::P99), "+7%");
    }

    #[test]
    fn limits_in_the_figures_unit() {
        assert!((Allowed::Relative(0.02).limit(150.0) - 3.0).abs() < 1e-12);
        assert_eq!(Allowed::Points(0.05).limit(0.999), 0.0005);
        assert_eq!(Allowed::Absolute(0.01).limit(0.8), 0.01);
    }

    #[test]
    fn classes_inherit_from_default_then_figures() {
        let g = guard(
            "figures:\n  p99: {allowed: +5%, critical: true, weight: 2}\n\
             classes:\n  reasoning:\n    p99: {allowed: +20%}\n    cost: {allowed: +3%}\n  default:\n    p99: {weight: 3}\n",
        )
        .unwrap();
        let rule = |class: &str, m| g.rule_for(&Figure::class(m, class));
        // reasoning: its own allowed change; weight from default; critical from figures.
        assert_eq!(
            rule("reasoning", Metric::P99),
            Some(Rule { allowed: Allowed::Relative(0.20), critical: true, weight: 3.0 })
        );
        assert_eq!(
            rule("reasoning", Metric::Cost),
            Some(Rule { allowed: Allowed::Relative(0.03), critical: false, weight: 1.0 })
        );
        // chat has no entry: default's, with allowed and critical from figures.
        assert_eq!(
            rule("chat", Metric::P99),
            Some(Rule { allowed: Allowed::Relative(0.05), critical: true, weight: 3.0 })
        );
        assert_eq!(rule("chat", Metric::Cost), None);
        // Endpoints and models are shown, not judged.
        let endpoint = Figure { metric: Metric::P99, scope: Scope::Endpoint("glm-5@us-east-1".into()) };
        assert_eq!(g.rule_for(&endpoint), None);
        assert_eq!(
            g.named_figures(),
            vec![
                Figure::overall(Metric::P99),
                Figure::class(Metric::P99, "reasoning"),
                Figure::class(Metric::Cost, "reasoning")
            ]
        );
    }

    #[test]
    fn unknown_figure_and_class_are_located_with_the_closest_names() {
        let got = problems(
            "version: 1\nfigures:\n  cost: {allowed: +2%}\n  p99.9: {allowed: +5%}\n\
             classes:\n  reasonin:\n    p99: {allowed: +9%}\n  chat:\n    sucess: {allowed: -0.1 points}\n",
        );
        assert_eq!(
            got,
            vec![
                "guard.yaml:4, `figures.p99.9` | unknown figure `p99.9` | use one of the figures in docs/compare.md; closest: `p999`, `p99` or `p90`",
                "guard.yaml:6, `classes.reasonin` | unknown class `reasonin` | use a class of the trace (or `default` for every class); closest: `reasoning`",
                "guard.yaml:9, `classes.chat.sucess` | unknown figure `sucess` | use one of the figures in docs/compare.md; closest: `success`",
            ]
        );
    }

    #[test]
    fn the_error_shown_in_the_docs_is_the_real_one() {
        let err = guard(
            "version: 1\nfigures:\n  cost: {allowed: +2%}\n  p99.9: {allowed: +5%}\n\
             classes:\n  reasonin:\n    p99: {allowed: +9%}\n  chat:\n    sucess: {allowed: -0.1 points}\n",
        )
        .unwrap_err();
        let docs = include_str!("../../docs/compare.md");
        assert!(docs.contains(&format!("```text\n{err}\n```")), "docs/compare.md lacks:\n{err}");
    }

    #[test]
    fn every_value_problem_is_located_at_once() {
        let got = problems(
            "score:\n  pass: 80\n  marginal: 90\n\
             figures:\n  cost:\n    allowed: -2%\n  p99:\n    critical: true\n  quality:\n    allowed: -0.01\n    weight: 0\n\
             \x20 traffic_share: {allowed: +1 points}\n",
        );
        let expected = [
            "guard.yaml:3, `score.marginal` | the marginal threshold 90 is above the pass threshold 80",
            "guard.yaml:12, `figures.traffic_share` | `traffic_share` has no worse direction",
            "guard.yaml:6, `figures.cost.allowed` | `-2%` points the better way",
            "guard.yaml:7, `figures.p99.allowed` | no allowed change for `p99` | add `allowed:`, for example `allowed: +2%` or `allowed: +0.2 s`",
            "guard.yaml:11, `figures.quality.weight` | weight 0 is not a positive number",
        ];
        assert_eq!(got.len(), expected.len(), "{got:#?}");
        for want in expected {
            assert!(got.iter().any(|g| g.starts_with(want)), "no problem starting {want:?} in {got:#?}");
        }
    }

    #[test]
    fn a_figure_listed_twice_is_located_at_its_second_line() {
        let got = problems("figures:\n  cost: {allowed: +2%}\n  p99: {allowed: +5%}\n  cost: {allowed: +1%}\n");
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].starts_with("guard.yaml:4 | duplicate mapping key: cost"), "{got:?}");
    }

    #[test]
    fn a_misspelt_key_is_rejected_with_the_valid_keys() {
        let got = problems("figures:\n  cost: {allowed: +2%, critcal: true}\n");
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].starts_with("guard.yaml:2"), "{got:?}");
        assert!(got[0].contains("critcal") && got[0].contains("critical"), "{got:?}");
        let got = problems("figure:\n  cost: {allowed: +2%}\n");
        assert!(got[0].starts_with("guard.yaml:1") && got[0].contains("figures"), "{got:?}");
    }

    #[test]
    fn a_class_rule_needs_an_allowed_change_from_somewhere() {
        let got = problems("classes:\n  chat:\n    p50: {critical: true}\n");
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0]
                .starts_with("guard.yaml:3, `classes.chat.p50.allowed` | no allowed change for `p50` in class `chat`"),
            "{got:?}"
        );
    }
}
