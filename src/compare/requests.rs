//! The per-request paired view of latency: with common random numbers, request i of the baseline
//! and of the candidate are the same request with the same draws, so their latencies can be
//! compared one by one. How many got slower, faster or stayed the same (to the bit: a request
//! routed the same way gets the same latency), how many the candidate newly fails or newly serves,
//! quantiles of the per-request difference, and which classes moved most.
//!
//! Inputs are two latency columns over the same requests in the same order (NaN: not served) and
//! each request's class code; this module knows nothing of traces or engines. The quantiles are
//! type 7, as `metrics::quantile::type7` computes them, over the differences of requests both served.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Place, Problem, Result};

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

/// Type-7 quantiles at [`LEVELS`] of a set of differences given as its negative values, a count of
/// zeros and its positive values (each side in any order; reordered). The same values as
/// `metrics::quantile::type7` over all of them (tested), without storing the zeros: under common
/// random numbers most requests keep their route and their latency, so this is most of them.
fn levels(negatives: &mut [f64], zeros: usize, positives: &mut [f64]) -> Vec<Level> {
    let n = negatives.len() + zeros + positives.len();
    if n == 0 {
        return Vec::new();
    }
    // Order statistic k of the whole set, selecting within one side; `done` marks how much of
    // each side is already in its sorted place (levels ascend, so later selections need only the
    // rest).
    let mut done = (0usize, 0usize);
    let mut stat = |k: usize| -> f64 {
        if k < negatives.len() {
            select(negatives, k, &mut done.0)
        } else if k < negatives.len() + zeros {
            0.0
        } else {
            select(positives, k - negatives.len() - zeros, &mut done.1)
        }
    };
    LEVELS
        .iter()
        .map(|&q| {
            let position = (n - 1) as f64 * q;
            let k = position.floor() as usize;
            let low = stat(k);
            let fraction = position - k as f64;
            let seconds = if k + 1 < n && fraction > 0.0 { low + (stat(k + 1) - low) * fraction } else { low };
            Level { q, seconds }
        })
        .collect()
}

/// Element `k` of `values` in sorted order, for `k` that never decrease between calls (as
/// `metrics::quantile::type7` does it): after selecting k, `values[..=k]` is no larger than the rest
/// and `values[k]` is in its place, so the next selection needs only `values[k + 1..]`.
fn select(values: &mut [f64], k: usize, done: &mut usize) -> f64 {
    if k < *done {
        // The previous selection (levels may share an order statistic).
        return values[k];
    }
    let (_, v, _) = values[*done..].select_nth_unstable_by(k - *done, f64::total_cmp);
    let v = *v;
    *done = k + 1;
    v
}

/// Reorder `values` so that its negative values come first; returns how many there are.
fn negatives_first(values: &mut [f64]) -> usize {
    let mut n_negative = 0;
    for i in 0..values.len() {
        if values[i] < 0.0 {
            values.swap(i, n_negative);
            n_negative += 1;
        }
    }
    n_negative
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
    // Counts and sums per class, then the non-zero differences grouped by class in one allocation:
    // each class's slice holds its faster requests (negative) from the start and its slower ones
    // (positive) from the end, so that its quantiles are selections within the two halves.
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
        next += (c.faster + c.slower) as usize;
    }
    starts.push(next);
    let mut differences = vec![0.0f64; next];
    let mut fill_faster = starts.clone();
    let mut fill_slower = starts[1..].to_vec();
    for ((&b, &c), &code) in baseline_s.iter().zip(candidate_s).zip(class_codes) {
        let code = usize::from(code);
        // A finite difference is zero exactly when the latencies are equal; NaN (not served) is neither.
        let d = c - b;
        if d < 0.0 {
            differences[fill_faster[code]] = d;
            fill_faster[code] += 1;
        } else if d > 0.0 {
            fill_slower[code] -= 1;
            differences[fill_slower[code]] = d;
        }
    }
    let split = |code: usize, differences: &mut [f64]| -> Vec<Level> {
        let c = &counts[code];
        let (faster, slower) = differences.split_at_mut(c.faster as usize);
        levels(faster, c.same as usize, slower)
    };
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
            difference_s: split(code, &mut differences[starts[code]..starts[code + 1]]),
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
    let (faster, slower) = {
        let n_faster = negatives_first(&mut differences);
        differences.split_at_mut(n_faster)
    };
    Ok(RequestView {
        counts: total,
        mean_difference_s: mean(sums.iter().sum(), total.both_served),
        difference_s: levels(faster, total.same as usize, slower),
        classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::quantile::type7;

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
    fn quantiles_without_the_zeros_equal_type7_over_everything() {
        use rand::SeedableRng;
        use rand::rngs::Xoshiro256PlusPlus;
        // Mostly unchanged requests (exact zeros), some slower, some faster, some not served;
        // small sets too, where the levels fall on the edges of the zeros.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(29);
        let mut uniform = || rand::RngExt::random::<f64>(&mut rng);
        for n in [1usize, 2, 3, 7, 50, 1_000] {
            let baseline: Vec<f64> = (0..n).map(|_| 0.2 + 3.0 * uniform()).collect();
            let candidate: Vec<f64> = baseline
                .iter()
                .map(|&b| match uniform() {
                    u if u < 0.2 => b + uniform(),
                    u if u < 0.35 => b - 0.1 * uniform(),
                    u if u < 0.4 => NAN,
                    _ => b,
                })
                .collect();
            let classes: Vec<u16> = (0..n).map(|i| (i % 3) as u16).collect();
            let view = request_view(&baseline, &candidate, &classes, &names()).unwrap();
            let all = |class: Option<u16>| -> Vec<f64> {
                (0..n)
                    .filter(|&i| class.is_none_or(|c| classes[i] == c))
                    .map(|i| candidate[i] - baseline[i])
                    .filter(|d| !d.is_nan())
                    .collect()
            };
            let expected = |mut values: Vec<f64>| type7(&mut values, &LEVELS).unwrap_or_default();
            let got = |levels: &[Level]| levels.iter().map(|l| l.seconds).collect::<Vec<f64>>();
            assert_eq!(got(&view.difference_s), expected(all(None)), "n = {n}");
            for shift in &view.classes {
                let code = names().iter().position(|c| *c == shift.class).unwrap() as u16;
                assert_eq!(got(&shift.difference_s), expected(all(Some(code))), "n = {n}, class {}", shift.class);
            }
        }
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
