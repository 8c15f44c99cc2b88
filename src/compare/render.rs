//! A comparison for people: the terminal printout and a Markdown summary for a pull-request
//! comment or a CI step summary. Both lead with the verdict and the figures that decided it, then
//! the judged figures, what else moved, what would settle an inconclusive figure, and the
//! per-request view. Rendered from the typed [`Comparison`] alone, so a comparison read back from
//! JSON prints the same.

use std::fmt::Write as _;

use super::figure::{Direction, Figure, Unit};
use super::paired::{Basis, Interval};
use super::power::Power;
use super::requests::RequestView;
use super::verdict::{Outcome, Verdict};
use super::{Comparison, FigureResult, Scenarios};

/// At most this many unjudged figures under "what moved".
const MOVED_SHOWN: usize = 12;

/// At most this many classes in the per-request view.
const CLASSES_SHOWN: usize = 3;

/// About four significant digits, without exponent notation.
fn number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (3 - x.abs().log10().floor() as i32).clamp(0, 9) as usize;
    format!("{x:.decimals$}")
}

/// A value in its unit: `$12.35`, `99.950%`, `1.234 s`.
pub(crate) fn value(unit: Unit, x: f64) -> String {
    match unit {
        Unit::Usd => format!("${}", number(x)),
        Unit::UsdPer1k => format!("${}/1k", number(x)),
        Unit::Share => format!("{:.3}%", x * 100.0),
        Unit::Score => format!("{x:.4}"),
        Unit::Seconds => format!("{} s", number(x)),
        Unit::Count => number(x),
    }
}

/// A signed change in its unit: `+$0.52`, `-0.030 pt`, `+0.012 s`.
pub(crate) fn change(unit: Unit, d: f64) -> String {
    // An exact zero (identical inputs) is printed as one, not as a rounded `+0.000`.
    let sign = if d < 0.0 {
        "-"
    } else if d > 0.0 {
        "+"
    } else {
        return match unit {
            Unit::Usd | Unit::UsdPer1k => "$0".to_string(),
            Unit::Share => "0 pt".to_string(),
            Unit::Seconds => "0 s".to_string(),
            Unit::Score | Unit::Count => "0".to_string(),
        };
    };
    let magnitude = d.abs();
    match unit {
        Unit::Usd => format!("{sign}${}", number(magnitude)),
        Unit::UsdPer1k => format!("{sign}${}/1k", number(magnitude)),
        Unit::Share => format!("{sign}{:.3} pt", magnitude * 100.0),
        Unit::Score => format!("{sign}{magnitude:.4}"),
        Unit::Seconds => format!("{sign}{} s", number(magnitude)),
        Unit::Count => format!("{sign}{}", number(magnitude)),
    }
}

pub(crate) fn interval(unit: Unit, i: Option<Interval>) -> String {
    match i {
        Some(i) if i.low == 0.0 && i.high == 0.0 => "exactly 0".to_string(),
        Some(i) => format!("[{}, {}]", change(unit, i.low), change(unit, i.high)),
        None => "unknown (1 replicate)".to_string(),
    }
}

pub(crate) fn relative(r: Option<f64>) -> String {
    match r {
        None => "n/a".to_string(),
        Some(0.0) => "0%".to_string(),
        Some(r) => format!("{:+.2}%", r * 100.0),
    }
}

/// A score or a quantile level as a person writes it: `50`, `66.7`, `99.9`.
fn short(x: f64) -> String {
    let text = format!("{x:.1}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_string)
}

fn result_word(f: &FigureResult) -> String {
    match &f.judgement {
        None => String::new(),
        Some(j) => {
            let word = match j.outcome {
                Outcome::Pass => "pass",
                Outcome::Fail => "FAIL",
                Outcome::Inconclusive => "inconclusive",
            };
            if j.critical { format!("{word} (critical)") } else { word.to_string() }
        }
    }
}

/// One sentence on a judged figure: `cost +$5.93 (+4.81%), 95% interval [+$5.57, +$6.29]; allowed
/// +2% (+$2.47): fail, critical`.
pub(crate) fn sentence(f: &FigureResult) -> String {
    format!("{} {}", f.figure, change_sentence(f))
}

/// [`sentence`] without the figure's name.
fn change_sentence(f: &FigureResult) -> String {
    let c = &f.change;
    let mut s = format!(
        "{} ({}), 95% interval {}",
        change(f.unit, c.difference),
        relative(c.relative),
        interval(f.unit, c.interval())
    );
    if let Some(j) = &f.judgement {
        let limit = match f.direction {
            Direction::HigherIsBetter => -j.limit,
            _ => j.limit,
        };
        let _ = write!(s, "; allowed {} ({}): {}", j.allowed.render(f.figure.metric), change(f.unit, limit), j.outcome);
        if j.critical {
            s.push_str(", critical");
        }
    }
    s
}

fn power_sentence(f: &FigureResult) -> Option<String> {
    let power = f.judgement.as_ref()?.power.as_ref()?;
    let now = f.change.replicates();
    Some(match power {
        Power::SpreadUnknown => {
            format!("{}: the spread is unknown with {now} replicate; run at least 3 to measure it", f.figure)
        }
        Power::OnTheLimit => format!("{}: the estimate sits on the limit; no amount of data settles it", f.figure),
        Power::Estimate { replicates, traffic_factor, .. } => {
            let replicates = match replicates {
                Some(n) => format!("about {n} replicates (now {now})"),
                None => format!("more than {} replicates", super::power::MAX_REPLICATES),
            };
            format!("{}: {replicates}, or more than {:.1}x the traffic", f.figure, traffic_factor)
        }
    })
}

/// Unjudged figures that moved: a non-zero change whose interval excludes zero (or is unknown),
/// the largest relative change first.
fn moved(c: &Comparison) -> Vec<&FigureResult> {
    let mut out: Vec<&FigureResult> = c
        .figures
        .iter()
        .filter(|f| f.judgement.is_none() && f.change.difference != 0.0)
        .filter(|f| f.change.interval().is_none_or(|i| i.low > 0.0 || i.high < 0.0))
        .collect();
    out.sort_by(|a, b| {
        let size = |f: &FigureResult| f.change.relative.map_or(f64::INFINITY, f64::abs);
        size(b).total_cmp(&size(a)).then_with(|| a.figure.cmp(&b.figure))
    });
    out
}

pub(crate) fn basis_line(c: &Comparison) -> String {
    let n = c.figures.iter().map(|f| f.change.replicates()).max().unwrap_or(0);
    if c.figures.iter().any(|f| f.change.basis == Basis::Unpaired) {
        return format!(
            "{n} replicates per side, unpaired (saved reports): intervals are wider than paired replicates give"
        );
    }
    // What pairing bought: the median ratio of unpaired to paired width where both are known.
    let mut ratios: Vec<f64> = c
        .figures
        .iter()
        .filter_map(|f| Some(f.change.unpaired?.half_width() / f.change.paired?.half_width()))
        .filter(|r| r.is_finite())
        .collect();
    ratios.sort_by(f64::total_cmp);
    match ratios.get(ratios.len() / 2) {
        Some(median) if *median >= 1.05 => format!(
            "{n} paired replicates (common random numbers: intervals {}x narrower than unpaired, median)",
            short(*median)
        ),
        Some(_) => format!("{n} paired replicates (common random numbers, which did not narrow the intervals here)"),
        None => format!("{n} paired replicates (common random numbers)"),
    }
}

pub(crate) fn score_line(c: &Comparison) -> String {
    match c.score {
        Some(score) => format!(
            "score {} (pass from {}, marginal from {}); guard {}",
            short(score),
            c.thresholds.pass,
            c.thresholds.marginal,
            c.guard
        ),
        None => format!("nothing judged: the guard {} names no figure these results have", c.guard),
    }
}

pub(crate) fn headline(c: &Comparison) -> String {
    let judged = c.figures.iter().filter(|f| f.judgement.is_some()).count();
    match c.verdict {
        Verdict::Pass if c.decided_by.is_empty() => format!("all {judged} judged figures within their allowed change"),
        Verdict::Pass => "enough of the judged weight is within its allowed change".to_string(),
        Verdict::Fail => {
            let critical = c
                .figures
                .iter()
                .any(|f| f.judgement.as_ref().is_some_and(|j| j.critical && j.outcome == Outcome::Fail));
            match (critical, c.decided_by.len()) {
                (true, 1) => "a critical figure is beyond its allowed change".to_string(),
                (true, n) => format!("{n} critical figures are beyond their allowed change"),
                (false, _) => "failed figures keep the score below the marginal threshold".to_string(),
            }
        }
        Verdict::Marginal => "the score is between the marginal and pass thresholds".to_string(),
        Verdict::Inconclusive if c.score.is_none() => "nothing was judged".to_string(),
        Verdict::Inconclusive => "the intervals are too wide to say".to_string(),
    }
}

fn deciders(c: &Comparison) -> impl Iterator<Item = &FigureResult> {
    c.decided_by.iter().filter_map(|d| c.figures.iter().find(|f| &f.figure == d))
}

/// Rows padded to their columns' widths.
fn table(rows: &[Vec<String>], indent: &str) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().filter_map(|r| r.get(i)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = indent.to_string();
        for (i, cell) in row.iter().enumerate() {
            let _ = write!(line, "{cell:<width$}  ", width = widths[i]);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub(crate) fn figure_row(f: &FigureResult) -> Vec<String> {
    let c = &f.change;
    let mut row = vec![
        f.figure.to_string(),
        value(f.unit, c.baseline.mean),
        value(f.unit, c.candidate.mean),
        change(f.unit, c.difference),
        relative(c.relative),
        interval(f.unit, c.interval()),
    ];
    if let Some(j) = &f.judgement {
        row.push(j.allowed.render(f.figure.metric));
        row.push(result_word(f));
    }
    row
}

pub(crate) fn request_lines(view: &RequestView) -> Vec<String> {
    let n = &view.counts;
    let mut lines = vec![format!(
        "{} requests, {} served by both: {} slower, {} faster, {} the same; {} newly failed, {} newly served",
        n.requests, n.both_served, n.slower, n.faster, n.same, n.newly_failed, n.newly_served
    )];
    if !view.difference_s.is_empty() {
        let levels: Vec<String> = view.difference_s.iter().map(|l| format!("p{}", short(l.q * 100.0))).collect();
        let values: Vec<String> = view.difference_s.iter().map(|l| change(Unit::Seconds, l.seconds)).collect();
        lines.push(format!("per-request change {}: {}", levels.join(" / "), values.join(" / ")));
    }
    let classes: Vec<String> = view
        .classes
        .iter()
        .filter(|c| c.mean_difference_s.is_some_and(|m| m != 0.0) || c.counts.newly_failed > 0)
        .take(CLASSES_SHOWN)
        .map(|c| {
            let mean = c.mean_difference_s.map_or_else(|| "n/a".to_string(), |m| change(Unit::Seconds, m));
            format!(
                "{} {mean} mean ({} slower, {} faster, {} newly failed)",
                c.class, c.counts.slower, c.counts.faster, c.counts.newly_failed
            )
        })
        .collect();
    if !classes.is_empty() {
        lines.push(format!("classes most affected: {}", classes.join("; ")));
    }
    lines
}

/// The terminal printout.
pub fn render_text(c: &Comparison) -> String {
    let mut out = format!("{}: {}\n", c.verdict, headline(c));
    for f in deciders(c) {
        let _ = writeln!(out, "  {}", sentence(f));
    }
    let _ = writeln!(out, "{}; {}", score_line(c), basis_line(c));

    let judged: Vec<&FigureResult> = c.figures.iter().filter(|f| f.judgement.is_some()).collect();
    if !judged.is_empty() {
        out.push_str("\njudged figures\n");
        let mut rows = vec![
            ["figure", "baseline", "candidate", "change", "relative", "95% interval", "allowed", "result"]
                .map(String::from)
                .to_vec(),
        ];
        rows.extend(judged.iter().map(|f| figure_row(f)));
        out.push_str(&table(&rows, "  "));
    }
    let moved = moved(c);
    if !moved.is_empty() {
        let _ = writeln!(out, "\nwhat moved (not judged; largest relative change first)");
        let mut rows =
            vec![["figure", "baseline", "candidate", "change", "relative", "95% interval"].map(String::from).to_vec()];
        rows.extend(moved.iter().take(MOVED_SHOWN).map(|f| figure_row(f)));
        out.push_str(&table(&rows, "  "));
        if moved.len() > MOVED_SHOWN {
            let _ = writeln!(out, "  ... and {} more (--json has every figure)", moved.len() - MOVED_SHOWN);
        }
    }
    let settle: Vec<String> = c.figures.iter().filter_map(power_sentence).collect();
    if !settle.is_empty() {
        out.push_str("\nto settle the inconclusive figures\n");
        for line in settle {
            let _ = writeln!(out, "  {line}");
        }
    }
    if let Some(view) = &c.requests {
        out.push_str("\nper request (latency of the same requests under both policies)\n");
        for line in request_lines(view) {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !c.unmeasured.is_empty() {
        let names: Vec<String> = c.unmeasured.iter().map(Figure::to_string).collect();
        let _ = writeln!(out, "\nnot measured in these results, so not judged: {}", names.join(", "));
    }
    out
}

fn markdown_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let escape = |s: &str| s.replace('|', "\\|");
    let mut out = format!("| {} |\n|{}\n", header.join(" | "), "---|".repeat(header.len()));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// A Markdown summary for a pull-request comment or `$GITHUB_STEP_SUMMARY`.
pub fn render_markdown(c: &Comparison) -> String {
    let mut out = format!("### switchyard compare: **{}**\n\n{}.\n\n", c.verdict, capitalise(&headline(c)));
    for f in deciders(c) {
        let _ = writeln!(out, "- **{}** {}", f.figure, change_sentence(f));
    }
    if !c.decided_by.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}; {}.\n", capitalise(&score_line(c)), basis_line(c));
    let judged: Vec<Vec<String>> = c.figures.iter().filter(|f| f.judgement.is_some()).map(figure_row).collect();
    if !judged.is_empty() {
        out.push_str(&markdown_table(
            &["figure", "baseline", "candidate", "change", "relative", "95% interval", "allowed", "result"],
            &judged,
        ));
        out.push('\n');
    }
    let moved = moved(c);
    if !moved.is_empty() {
        let figures = if moved.len() == 1 { "figure" } else { "figures" };
        let _ = writeln!(out, "<details><summary>What moved ({} {figures}, not judged)</summary>\n", moved.len());
        let rows: Vec<Vec<String>> = moved.iter().map(|f| figure_row(f)).collect();
        out.push_str(&markdown_table(
            &["figure", "baseline", "candidate", "change", "relative", "95% interval"],
            &rows,
        ));
        out.push_str("\n</details>\n\n");
    }
    let settle: Vec<String> = c.figures.iter().filter_map(power_sentence).collect();
    if !settle.is_empty() {
        out.push_str("**To settle the inconclusive figures:**\n\n");
        for line in settle {
            let _ = writeln!(out, "- {line}");
        }
        out.push('\n');
    }
    if let Some(view) = &c.requests {
        out.push_str("**Per request** (latency of the same requests under both policies):\n\n");
        for line in request_lines(view) {
            let _ = writeln!(out, "- {line}");
        }
        out.push('\n');
    }
    if !c.unmeasured.is_empty() {
        let names: Vec<String> = c.unmeasured.iter().map(|f| format!("`{f}`")).collect();
        let _ = writeln!(out, "Not measured in these results, so not judged: {}.\n", names.join(", "));
    }
    let end = out.trim_end().len();
    out.truncate(end);
    out.push('\n');
    out
}

/// `FAIL in 1 of 2 scenarios (outage FAIL, normal PASS)`.
fn scenarios_headline(s: &Scenarios) -> String {
    let worst = s.comparisons.iter().filter(|c| c.verdict == s.verdict).count();
    let each: Vec<String> =
        s.comparisons.iter().map(|c| format!("{} {}", c.scenario.as_deref().unwrap_or("?"), c.verdict)).collect();
    format!("{} in {worst} of {} scenarios ({})", s.verdict, s.comparisons.len(), each.join(", "))
}

/// The terminal printout of a comparison under several scenarios: the combined verdict, then each
/// scenario's printout.
pub fn render_scenarios_text(s: &Scenarios) -> String {
    let mut out = format!(
        "{}; the verdict must hold in every scenario
",
        scenarios_headline(s)
    );
    for c in &s.comparisons {
        let _ = write!(out, "\n== scenario {} ==\n{}", c.scenario.as_deref().unwrap_or("?"), render_text(c));
    }
    out
}

/// The Markdown summary of a comparison under several scenarios.
pub fn render_scenarios_markdown(s: &Scenarios) -> String {
    let mut out = format!(
        "## switchyard compare: **{}**\n\n{}; the verdict must hold in every scenario.\n",
        s.verdict,
        capitalise(&scenarios_headline(s))
    );
    for c in &s.comparisons {
        let _ = write!(
            out,
            "\n#### Scenario `{}`\n\n{}",
            c.scenario.as_deref().unwrap_or("?"),
            render_markdown(c).replacen("### switchyard compare: ", "Verdict: ", 1)
        );
    }
    out
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_their_units() {
        let cases = [
            (value(Unit::Usd, 1234.567), "$1235"),
            (value(Unit::Usd, 12.3456), "$12.35"),
            (value(Unit::Share, 0.9995), "99.950%"),
            (value(Unit::Seconds, 0.012345), "0.01235 s"),
            (change(Unit::Share, -0.0003), "-0.030 pt"),
            (change(Unit::Usd, 5.93), "+$5.930"),
            (change(Unit::Seconds, 0.0), "0 s"),
            (change(Unit::Share, 0.0), "0 pt"),
            (interval(Unit::Usd, Some(Interval { low: 0.0, high: 0.0 })), "exactly 0"),
            (interval(Unit::Usd, None), "unknown (1 replicate)"),
            (short(50.0), "50"),
            (short(100.0 * 2.0 / 3.0), "66.7"),
            (short(99.9), "99.9"),
            (relative(Some(0.0481)), "+4.81%"),
            (relative(None), "n/a"),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
