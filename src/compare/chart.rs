//! The comparison's one-glance chart, as plain data for [`crate::chart::render_compare`]: each
//! class's p99 and the overall cost against the overall p99, baseline beside candidate, each side
//! with its own 95% interval over its replicates (a side's spread, not the paired change's).

use super::figure::{Metric, Scope};
use super::paired::Moments;
use super::{Basis, Comparison, FigureResult};
use crate::chart::{CompareChart, Estimate, Pair};
use crate::report::t95;

/// One side's mean and 95% interval (Student t over its replicates; no spread known: the mean).
fn estimate(m: &Moments) -> Estimate {
    let half = match m.sd {
        Some(sd) if m.n >= 2 => t95(m.n - 1) * sd / (m.n as f64).sqrt(),
        _ => 0.0,
    };
    Estimate { mean: m.mean, low: m.mean - half, high: m.mean + half }
}

fn pair(f: &FigureResult) -> Pair {
    Pair { baseline: estimate(&f.change.baseline), candidate: estimate(&f.change.candidate) }
}

/// The chart of `c`; `baseline` and `candidate` name the two sides in its legend.
pub fn chart(c: &Comparison, baseline: &str, candidate: &str) -> CompareChart {
    let find =
        |metric: Metric| c.figures.iter().find(|f| f.figure.metric == metric && f.figure.scope == Scope::Overall);
    let classes = c
        .figures
        .iter()
        .filter(|f| f.figure.metric == Metric::P99)
        .filter_map(|f| match &f.figure.scope {
            Scope::Class(name) => Some((name.clone(), pair(f))),
            _ => None,
        })
        .collect();
    let replicates = c.figures.first().map_or(0, |f| f.change.replicates());
    let basis = match c.figures.first().map(|f| f.change.basis) {
        Some(Basis::Unpaired) => "two saved reports (unpaired)",
        _ => "paired replicates, common random numbers",
    };
    let mut subtitle = format!("{replicates} replicates each, {basis}; bars: each side's 95% interval");
    if let Some(scenario) = &c.scenario {
        subtitle = format!("scenario {scenario}; {subtitle}");
    }
    CompareChart {
        title: format!("{}: {candidate} against {baseline}", c.verdict),
        subtitle: Some(subtitle),
        baseline: format!("baseline: {baseline}"),
        candidate: format!("candidate: {candidate}"),
        classes,
        p99: find(Metric::P99).map(pair),
        cost: find(Metric::Cost).map(pair),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{Figure, FigureInput, Guard, compare};

    #[test]
    fn the_chart_carries_each_side_with_its_own_interval() {
        let inputs = vec![
            FigureInput::paired(Figure::overall(Metric::Cost), vec![10.0, 12.0], vec![11.0, 13.0]),
            FigureInput::paired(Figure::overall(Metric::P99), vec![2.0, 2.0], vec![3.0, 3.0]),
            FigureInput::paired(Figure::class(Metric::P99, "chat"), vec![1.0, 1.2], vec![1.0, 1.2]),
        ];
        let c = compare(&inputs, &Guard::default_guard(), None).unwrap();
        let chart = chart(&c, "a.yaml", "b.yaml");
        let cost = chart.cost.unwrap();
        // Mean 11 (baseline) with sd sqrt(2), n 2: half-width t95(1) * sqrt(2) / sqrt(2) = 12.706.
        let expected_half = t95(1);
        assert!(
            (cost.baseline.high - cost.baseline.mean - expected_half).abs() < 1e-9,
            "half-width {} (expected {expected_half})",
            cost.baseline.high - cost.baseline.mean
        );
        assert_eq!(chart.p99.unwrap().candidate, Estimate { mean: 3.0, low: 3.0, high: 3.0 });
        assert_eq!(chart.classes.len(), 1);
        assert_eq!(chart.classes[0].0, "chat");
        assert!(chart.title.contains("b.yaml against a.yaml"), "{}", chart.title);
    }
}
