//! The per-request paired view of latency: with common random numbers, request i of the baseline
//! and of the candidate are the same request with the same draws, so their latencies can be
//! compared one by one. How many got slower, faster or stayed the same (to the bit: a request
//! routed the same way gets the same latency), how many the candidate newly fails or newly serves,
//! quantiles of the per-request difference, and which classes moved most.
//!
//! Inputs are two latency columns over the same requests in the same order (NaN: not served) and
//! each request's class code; this module knows nothing of traces or engines.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Place, Problem, Result};
use crate::metrics::quantile::type7;

/// Quantile levels of the per-request difference.
pub const LEVELS: [f64; 5] = [0.01, 0.1, 0.5, 0.9, 0.99];

/// What happened to requests, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub requests: u64,
    /// Served by both.
    pub both_served: u64,
    /// Of those, slower with the candidate.
    pub slower: u64,
    pub faster: u64,
    /// Exactly the same latency.
    pub same: u64,
    /// Served by the baseline, not by the candidate.
    pub newly_failed: u64,
    /// Served by the candidate, not by the baseline.
    pub newly_served: u64,
    /// Served by neither.
    pub neither: u64,
}

/// A quantile of the per-request difference (candidate minus baseline, seconds; positive: slower).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Level {
    pub q: f64,
    pub seconds: f64,
}

/// One class's requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassShift {
    pub class: String,
    pub counts: Counts,
    /// Mean per-request difference over requests both served, seconds.
    pub mean_difference_s: Option<f64>,
    pub difference_s: Vec<Level>,
}

/// The paired per-request view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestView {
    pub counts: Counts,
    pub mean_difference_s: Option<f64>,
    pub difference_s: Vec<Level>,
    /// Classes with requests, the largest mean change (either way) first.
    pub classes: Vec<ClassShift>,
}

impl Counts {
    fn add(&mut self, baseline: f64, candidate: f64) {
        self.requests += 1;
        match (baseline.is_nan(), candidate.is_nan()) {
            (false, false) => {
                self.both_served += 1;
                if candidate > baseline {
                    self.slower += 1;
                } else if candidate < baseline {
                    self.faster += 1;
                } else {
                    self.same += 1;
                }
            }
            (false, true) => self.newly_failed += 1,
            (true, false) => self.newly_served += 1,
            (true, true) => self.neither += 1,
        }
    }
}

fn levels(differences: &mut [f64]) -> Vec<Level> {
    match type7(differences, &LEVELS) {
        Some(values) => LEVELS.iter().zip(values).map(|(&q, seconds)| Level { q, seconds }).collect(),
        None => Vec::new(),
    }
}

/// The view over `baseline_s` and `candidate_s` (per request, NaN: not served), with each request's
/// class as a code into `class_names`.
pub fn request_view(
    baseline_s: &[f64],
    candidate_s: &[f64],
    class_codes: &[u16],
    class_names: &[String],
) -> Result<RequestView> {
    let n = baseline_s.len();
    if candidate_s.len() != n || class_codes.len() != n {
        return Err(Error::one(Problem::new(
            Place::default().field("latency_s"),
            format!(
                "the per-request columns differ in length (baseline {n}, candidate {}, classes {})",
                candidate_s.len(),
                class_codes.len()
            ),
            "give both runs' outcomes over the same trace",
        )));
    }
    if let Some(code) = class_codes.iter().find(|&&c| usize::from(c) >= class_names.len()) {
        return Err(Error::one(Problem::new(
            Place::default().field("class"),
            format!("class code {code} is not one of the {} class names", class_names.len()),
            "pass the trace's class name table with its codes",
        )));
    }
    // Counts and sums per class, then the differences grouped by class (one allocation, each
    // class's slice contiguous) so that its quantiles are a selection within the slice.
    let mut counts = vec![Counts::default(); class_names.len()];
    let mut sums = vec![0.0f64; class_names.len()];
    for ((&b, &c), &code) in baseline_s.iter().zip(candidate_s).zip(class_codes) {
        counts[usize::from(code)].add(b, c);
        if !b.is_nan() && !c.is_nan() {
            sums[usize::from(code)] += c - b;
        }
    }
    let mut starts = Vec::with_capacity(class_names.len() + 1);
    let mut next = 0usize;
    for c in &counts {
        starts.push(next);
        next += c.both_served as usize;
    }
    starts.push(next);
    let mut differences = vec![0.0f64; next];
    let mut fill = starts.clone();
    for ((&b, &c), &code) in baseline_s.iter().zip(candidate_s).zip(class_codes) {
        if !b.is_nan() && !c.is_nan() {
            let slot = &mut fill[usize::from(code)];
            differences[*slot] = c - b;
            *slot += 1;
        }
    }
    let mean = |sum: f64, count: u64| (count > 0).then(|| sum / count as f64);
    let mut classes: Vec<ClassShift> = Vec::new();
    for (code, name) in class_names.iter().enumerate() {
        if counts[code].requests == 0 {
            continue;
        }
        classes.push(ClassShift {
            class: name.clone(),
            counts: counts[code],
            mean_difference_s: mean(sums[code], counts[code].both_served),
            difference_s: levels(&mut differences[starts[code]..starts[code + 1]]),
        });
    }
    classes.sort_by(|a, b| {
        let size = |c: &ClassShift| c.mean_difference_s.map_or(-1.0, f64::abs);
        size(b).total_cmp(&size(a)).then_with(|| a.class.cmp(&b.class))
    });
    let mut total = Counts::default();
    for c in &counts {
        total.requests += c.requests;
        total.both_served += c.both_served;
        total.slower += c.slower;
        total.faster += c.faster;
        total.same += c.same;
        total.newly_failed += c.newly_failed;
        total.newly_served += c.newly_served;
        total.neither += c.neither;
    }
    Ok(RequestView {
        counts: total,
        mean_difference_s: mean(sums.iter().sum(), total.both_served),
        difference_s: levels(&mut differences),
        classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAN: f64 = f64::NAN;

    fn names() -> Vec<String> {
        ["chat", "coding", "reasoning"].map(String::from).to_vec()
    }

    #[test]
    fn counts_and_classes() {
        let baseline = [1.0, 2.0, 3.0, 1.0, NAN, 2.0, 4.0, NAN];
        let candidate = [1.0, 2.5, 2.0, NAN, 1.5, 2.0, 6.0, NAN];
        let classes = [0, 0, 0, 0, 0, 1, 2, 2];
        let view = request_view(&baseline, &candidate, &classes, &names()).unwrap();
        let want = Counts {
            requests: 8,
            both_served: 5,
            slower: 2,
            faster: 1,
            same: 2,
            newly_failed: 1,
            newly_served: 1,
            neither: 1,
        };
        assert_eq!(view.counts, want);
        // Differences 0, 0.5, -1, 0, 2: mean 1.5 / 5 = 0.3; sorted -1, 0, 0, 0.5, 2, median 0.
        assert_eq!(view.mean_difference_s, Some(0.3));
        assert_eq!(view.difference_s[2], Level { q: 0.5, seconds: 0.0 });
        // Type 7 at 0.9: position 3.6 between 0.5 and 2 -> 0.5 + 0.6 * 1.5 = 1.4.
        assert!((view.difference_s[3].seconds - 1.4).abs() < 1e-12, "{:?}", view.difference_s);
        // reasoning moved most (+2 s), then chat (mean -0.5 / 3), then coding (0).
        let order: Vec<&str> = view.classes.iter().map(|c| c.class.as_str()).collect();
        assert_eq!(order, ["reasoning", "chat", "coding"]);
        assert_eq!(view.classes[0].mean_difference_s, Some(2.0));
        assert_eq!(view.classes[1].counts.newly_failed, 1);
        assert_eq!(view.classes[1].counts.newly_served, 1);
    }

    #[test]
    fn identical_columns_are_all_the_same() {
        let latency = [0.4, 1.2, NAN, 3.3];
        let view = request_view(&latency, &latency, &[0, 1, 1, 2], &names()).unwrap();
        assert_eq!(view.counts.same, 3);
        assert_eq!(view.counts.slower + view.counts.faster + view.counts.newly_failed + view.counts.newly_served, 0);
        assert_eq!(view.mean_difference_s, Some(0.0));
        assert!(view.difference_s.iter().all(|l| l.seconds == 0.0), "{:?}", view.difference_s);
    }

    #[test]
    fn mismatched_columns_are_an_error_not_a_panic() {
        let err = request_view(&[1.0], &[1.0, 2.0], &[0], &names()).unwrap_err();
        assert!(err.to_string().contains("differ in length"), "{err}");
        let err = request_view(&[1.0], &[1.0], &[7], &names()).unwrap_err();
        assert!(err.to_string().contains("class code 7"), "{err}");
    }
}
