//! The library core of `switchyard compare`, a policy-change guard: given each figure's values
//! for a baseline and a candidate policy, the change with its 95% interval, each guarded figure
//! judged against its allowed change, a Kayenta-style verdict with an exit code, what would settle
//! an inconclusive figure, a per-request paired view of latency, and printouts for a terminal and a
//! pull-request comment.
//!
//! Inputs are plain data (per-replicate values, or saved summaries, per [`Figure`]), so this module
//! runs nothing and reads no report: the caller runs both policies with common random numbers (or
//! loads two saved reports) and hands over the numbers. One file per job:
//!
//! * `figure.rs`: the closed list of metrics (unit, which way is worse) and scopes;
//! * `paired.rs`: the change in one figure, paired Student t and unpaired Welch intervals;
//! * `guard.rs`: the guard file (`default-guard.yaml` embedded), validated with located errors;
//! * `verdict.rs`: pass / fail / inconclusive per figure, the verdict and its exit code;
//! * `power.rs`: replicates or traffic that would settle an inconclusive figure;
//! * `inputs.rs`: the figures of two runs' typed reports, replicate by replicate, as inputs;
//! * `requests.rs`: the per-request paired latency view;
//! * `render.rs`: the terminal printout and the Markdown summary;
//! * `chart.rs`: the one-glance chart's data (drawn by [`crate::chart`]).
//!
//! The result, [`Comparison`], is a typed, schema-versioned (`switchyard.compare.v1`) value that
//! serialises to JSON and reads back; [`Scenarios`] holds one per discrete-event scenario, with the
//! worst verdict. `src/cli/compare.rs` runs the policies and calls this (docs/compare.md).

mod chart;
mod figure;
mod guard;
mod inputs;
mod paired;
mod power;
mod render;
mod requests;
mod verdict;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Place, Problems, Result};

pub use chart::chart;
pub use figure::{Direction, Figure, Metric, Scope, Unit};
pub use guard::{Allowed, DEFAULT_GUARD_YAML, EVERY_CLASS, Guard, GuardSpec, Rule, parse_allowed};
pub use inputs::{Side, paired_inputs, provider_inputs, unpaired_inputs};
pub use paired::{Basis, Change, Interval, Moments, Values};
pub use power::{MAX_REPLICATES, Power, half_width_at, settle};
pub(crate) use render::{basis_line, figure_row, headline, request_lines, score_line, sentence, value};
pub use render::{render_markdown, render_scenarios_markdown, render_scenarios_text, render_text};
pub use requests::{ClassShift, Counts, LEVELS, Level, RequestView, request_view};
pub use verdict::{Outcome, Scored, Verdict, classify, decide, worsening, worsening_interval};

/// Layout identifier written into every comparison.
pub const SCHEMA: &str = "switchyard.compare.v1";

/// Layout identifier of a comparison under several scenarios ([`Scenarios`]).
pub const SCENARIOS_SCHEMA: &str = "switchyard.compare-scenarios.v1";

/// One figure's inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureInput {
    pub figure: Figure,
    pub values: Values,
}

impl FigureInput {
    /// Per-replicate values, replicate r of both sides run with the same random numbers.
    pub fn paired(figure: Figure, baseline: Vec<f64>, candidate: Vec<f64>) -> FigureInput {
        FigureInput { figure, values: Values::Paired { baseline, candidate } }
    }
}

/// A guarded figure against its allowed change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    /// As the guard wrote it.
    pub allowed: Allowed,
    /// The allowed worsening in the figure's unit (a relative change taken of the baseline's mean).
    pub limit: f64,
    pub critical: bool,
    pub weight: f64,
    pub outcome: Outcome,
    /// For an inconclusive figure: what would settle it.
    pub power: Option<Power>,
}

/// One figure of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureResult {
    pub figure: Figure,
    pub unit: Unit,
    pub direction: Direction,
    pub change: Change,
    /// `None`: the guard does not judge this figure (it is shown, as what moved).
    pub judgement: Option<Judgement>,
}

/// Score thresholds, percent of the judged weight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub pass: f64,
    pub marginal: f64,
}

/// The comparison: a verdict and everything behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Always [`SCHEMA`].
    pub schema: String,
    pub verdict: Verdict,
    /// Percent of the judged weight that passed; `None` when nothing was judged.
    pub score: Option<f64>,
    pub thresholds: Thresholds,
    /// Where the guard came from.
    pub guard: String,
    /// For FAIL, the failed figures (only the critical ones when a critical figure failed);
    /// otherwise the judged figures that did not pass.
    pub decided_by: Vec<Figure>,
    /// In input order.
    pub figures: Vec<FigureResult>,
    /// Figures the guard names that the inputs lack (a discrete-event figure in a replay
    /// comparison, a class's p99 with nothing served).
    pub unmeasured: Vec<Figure>,
    /// The per-request paired latency view, when the caller had per-request outcomes.
    pub requests: Option<RequestView>,
    /// The discrete-event scenario both policies ran under, when one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
}

/// Compare: each figure's change and interval, the guarded ones judged, the verdict.
///
/// ```
/// use switchyard::compare::{Figure, FigureInput, Guard, Metric, Verdict, compare, render_text};
///
/// let guard = Guard::default_guard(); // or Guard::load(path, &trace_class_names)
/// let inputs = vec![
///     // One value per replicate; replicate r of both policies ran with the same random numbers.
///     FigureInput::paired(Figure::overall(Metric::Cost), vec![152.1, 150.9, 153.8], vec![156.7, 155.6, 158.3]),
///     FigureInput::paired(Figure::class(Metric::P99, "reasoning"), vec![6.1, 6.4, 6.3], vec![6.1, 6.4, 6.3]),
/// ];
/// let comparison = compare(&inputs, &guard, None).unwrap();
/// // Cost rose 3% (allowed: 2%), with an interval well clear of the limit; cost is critical.
/// assert_eq!((comparison.verdict, comparison.exit_code()), (Verdict::Fail, 1));
/// assert!(render_text(&comparison).starts_with("FAIL: a critical figure is beyond its allowed change\n  cost +$4.600"));
/// ```
pub fn compare(inputs: &[FigureInput], guard: &Guard, requests: Option<RequestView>) -> Result<Comparison> {
    check_inputs(inputs)?;
    let mut figures = Vec::with_capacity(inputs.len());
    for input in inputs {
        let metric = input.figure.metric;
        let change = Change::of(&input.values);
        let judgement = guard.rule_for(&input.figure).map(|rule| {
            let limit = rule.allowed.limit(change.baseline.mean);
            let direction = metric.direction();
            let outcome = classify(change.interval().map(|i| worsening_interval(i, direction)), limit);
            let power = (outcome == Outcome::Inconclusive).then(|| settle(&change, direction, limit));
            Judgement { allowed: rule.allowed, limit, critical: rule.critical, weight: rule.weight, outcome, power }
        });
        figures.push(FigureResult {
            figure: input.figure.clone(),
            unit: metric.unit(),
            direction: metric.direction(),
            change,
            judgement,
        });
    }
    let judged: Vec<(&Figure, Scored)> = figures
        .iter()
        .filter_map(|f| {
            f.judgement
                .as_ref()
                .map(|j| (&f.figure, Scored { outcome: j.outcome, critical: j.critical, weight: j.weight }))
        })
        .collect();
    let scored: Vec<Scored> = judged.iter().map(|(_, s)| *s).collect();
    let (verdict, score) = decide(&scored, guard.pass, guard.marginal);
    let critical_failed = scored.iter().any(|s| s.critical && s.outcome == Outcome::Fail);
    let decided_by = judged
        .iter()
        .filter(|(_, s)| match verdict {
            Verdict::Fail => s.outcome == Outcome::Fail && (s.critical || !critical_failed),
            _ => s.outcome != Outcome::Pass,
        })
        .map(|(f, _)| (*f).clone())
        .collect();
    let unmeasured =
        guard.named_figures().into_iter().filter(|named| !inputs.iter().any(|i| &i.figure == named)).collect();
    Ok(Comparison {
        schema: SCHEMA.to_string(),
        verdict,
        score,
        thresholds: Thresholds { pass: guard.pass, marginal: guard.marginal },
        guard: guard.source.clone(),
        decided_by,
        figures,
        unmeasured,
        requests,
        scenario: None,
    })
}

/// Inputs come from code, not people, but a bad one (a NaN from an empty group, replicate lists
/// of different lengths) must be a clear error rather than a panic or a NaN verdict.
fn check_inputs(inputs: &[FigureInput]) -> Result<()> {
    let mut problems = Problems::default();
    let at = |figure: &Figure| Place::default().field(figure.to_string());
    for (i, input) in inputs.iter().enumerate() {
        let figure = &input.figure;
        if inputs[..i].iter().any(|earlier| &earlier.figure == figure) {
            problems.push(at(figure), "figure given twice", "give each figure once");
        }
        match &input.values {
            Values::Paired { baseline, candidate } => {
                if baseline.is_empty() || baseline.len() != candidate.len() {
                    problems.push(
                        at(figure),
                        format!(
                            "paired values need the same number of replicates on both sides, at least one (baseline {}, candidate {})",
                            baseline.len(),
                            candidate.len()
                        ),
                        "give one value per replicate for both policies",
                    );
                }
                if baseline.iter().chain(candidate).any(|x| !x.is_finite()) {
                    problems.push(
                        at(figure),
                        "a replicate value is not a finite number",
                        "leave out figures a replicate could not measure (a quantile of a class with nothing served)",
                    );
                }
            }
            Values::Unpaired { baseline, candidate } => {
                for (side, m) in [("baseline", baseline), ("candidate", candidate)] {
                    if m.n == 0 || !m.mean.is_finite() || m.sd.is_some_and(|sd| !(sd.is_finite() && sd >= 0.0)) {
                        problems.push(
                            at(figure),
                            format!("the {side} summary is unusable (n {}, mean {}, sd {:?})", m.n, m.mean, m.sd),
                            "give at least one replicate, a finite mean and a finite, non-negative spread",
                        );
                    }
                }
            }
        }
    }
    problems.finish()
}

impl Comparison {
    /// The process exit code: 0 pass, 1 fail, 3 inconclusive or marginal.
    pub fn exit_code(&self) -> i32 {
        self.verdict.exit_code()
    }

    /// The JSON document (pretty, fields in declaration order).
    pub fn to_json(&self) -> String {
        crate::report::json_text(self)
    }

    /// Read a comparison written by [`Comparison::to_json`]; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &Path) -> Result<Comparison> {
        crate::report::from_json_text(text, origin, SCHEMA, "a comparison", "switchyard compare --json")
    }
}

/// One comparison per scenario (`--scenario` given more than once): the change must be safe on
/// every day named, so the verdict is the worst of theirs (FAIL, then INCONCLUSIVE, then MARGINAL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenarios {
    /// Always [`SCENARIOS_SCHEMA`].
    pub schema: String,
    pub verdict: Verdict,
    /// In the order the scenarios were given, each with its `scenario` set.
    pub comparisons: Vec<Comparison>,
}

impl Scenarios {
    pub fn new(comparisons: Vec<Comparison>) -> Scenarios {
        let verdict = comparisons.iter().map(|c| c.verdict).max_by_key(|v| v.severity()).unwrap_or(Verdict::Pass);
        Scenarios { schema: SCENARIOS_SCHEMA.to_string(), verdict, comparisons }
    }

    /// The process exit code of the combined verdict.
    pub fn exit_code(&self) -> i32 {
        self.verdict.exit_code()
    }

    /// Read what `compare --json` wrote with several scenarios; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &Path) -> Result<Scenarios> {
        let made_by = "switchyard compare --json --scenario A --scenario B";
        crate::report::from_json_text(text, origin, SCENARIOS_SCHEMA, "a comparison over scenarios", made_by)
    }
}

#[cfg(test)]
mod tests;
