//! From intervals to a verdict: each judged figure is pass / fail / inconclusive against its
//! allowed change, and the verdict follows Kayenta's canary judge: FAIL when a critical figure
//! fails, otherwise the share of the judged weight that passed (the score, in percent) against the
//! pass and marginal thresholds.
//!
//! Below the marginal threshold Kayenta says FAIL. Here a failure has to be shown: the verdict is
//! FAIL only if the score would stay below marginal even if every inconclusive figure passed;
//! otherwise more data could still change the answer, and the verdict is INCONCLUSIVE.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::figure::Direction;
use super::paired::Interval;

/// One figure against its allowed change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The whole interval is within the allowed change.
    Pass,
    /// The whole interval is beyond it.
    Fail,
    /// The interval straddles it, or is unknown.
    Inconclusive,
}

/// The comparison's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Marginal,
    Inconclusive,
    Fail,
}

impl Verdict {
    /// How bad: PASS 0, MARGINAL 1, INCONCLUSIVE 2, FAIL 3 (the worst of several scenarios wins).
    pub fn severity(self) -> u8 {
        match self {
            Verdict::Pass => 0,
            Verdict::Marginal => 1,
            Verdict::Inconclusive => 2,
            Verdict::Fail => 3,
        }
    }

    /// The process exit code: 0 pass, 1 fail, 3 inconclusive or marginal (2 stays bad input).
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Pass => 0,
            Verdict::Fail => 1,
            Verdict::Marginal | Verdict::Inconclusive => 3,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "PASS",
            Verdict::Marginal => "MARGINAL",
            Verdict::Inconclusive => "INCONCLUSIVE",
            Verdict::Fail => "FAIL",
        })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Inconclusive => "inconclusive",
        })
    }
}

/// How much worse the candidate is (positive: worse), from a difference (candidate - baseline).
pub fn worsening(difference: f64, direction: Direction) -> f64 {
    match direction {
        Direction::HigherIsBetter => -difference,
        Direction::HigherIsWorse | Direction::Neither => difference,
    }
}

/// The interval of the worsening, from the interval of the difference.
pub fn worsening_interval(interval: Interval, direction: Direction) -> Interval {
    match direction {
        Direction::HigherIsBetter => Interval { low: -interval.high, high: -interval.low },
        Direction::HigherIsWorse | Direction::Neither => interval,
    }
}

/// Pass when the whole worsening interval is at most `limit`, fail when all of it is above, else
/// (or when the interval is unknown) inconclusive. A worsening exactly at the limit is allowed.
pub fn classify(worsening: Option<Interval>, limit: f64) -> Outcome {
    match worsening {
        None => Outcome::Inconclusive,
        Some(i) if i.high <= limit => Outcome::Pass,
        Some(i) if i.low > limit => Outcome::Fail,
        Some(_) => Outcome::Inconclusive,
    }
}

/// A judged figure as the verdict sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub outcome: Outcome,
    pub critical: bool,
    pub weight: f64,
}

/// The verdict and the score (percent of the judged weight that passed; `None` when nothing was
/// judged, which is INCONCLUSIVE).
pub fn decide(judged: &[Scored], pass: f64, marginal: f64) -> (Verdict, Option<f64>) {
    let total: f64 = judged.iter().map(|s| s.weight).sum();
    if total <= 0.0 {
        return (Verdict::Inconclusive, None);
    }
    let weight_of = |outcome| judged.iter().filter(|s| s.outcome == outcome).map(|s| s.weight).sum::<f64>();
    let score = 100.0 * weight_of(Outcome::Pass) / total;
    let verdict = if judged.iter().any(|s| s.critical && s.outcome == Outcome::Fail) {
        Verdict::Fail
    } else if score >= pass {
        Verdict::Pass
    } else if score >= marginal {
        Verdict::Marginal
    } else if 100.0 * (total - weight_of(Outcome::Fail)) / total < marginal {
        Verdict::Fail
    } else {
        Verdict::Inconclusive
    };
    (verdict, Some(score))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_against_the_limit() {
        let i = |low, high| Some(Interval { low, high });
        let cases = [
            (i(0.0, 0.0), 0.0, Outcome::Pass),
            (i(-1.0, 2.0), 2.0, Outcome::Pass),
            (i(2.5, 3.0), 2.0, Outcome::Fail),
            (i(1.0, 3.0), 2.0, Outcome::Inconclusive),
            (i(2.0, 3.0), 2.0, Outcome::Inconclusive),
            (None, 2.0, Outcome::Inconclusive),
        ];
        for (interval, limit, want) in cases {
            assert_eq!(classify(interval, limit), want, "{interval:?} against {limit}");
        }
        // A fall in success is its worsening.
        let w = worsening_interval(Interval { low: -0.002, high: -0.001 }, Direction::HigherIsBetter);
        assert_eq!(w, Interval { low: 0.001, high: 0.002 });
        assert_eq!(worsening(-0.5, Direction::HigherIsBetter), 0.5);
    }

    fn check(outcomes: &[(Outcome, bool, f64)], want: Verdict, want_score: Option<f64>) {
        let judged: Vec<Scored> =
            outcomes.iter().map(|&(outcome, critical, weight)| Scored { outcome, critical, weight }).collect();
        let (verdict, score) = decide(&judged, 95.0, 75.0);
        assert_eq!((verdict, score), (want, want_score), "{outcomes:?}");
    }

    #[test]
    fn verdict_rule() {
        use Outcome::*;
        // All pass.
        check(&[(Pass, true, 1.0), (Pass, false, 1.0)], Verdict::Pass, Some(100.0));
        // A critical failure fails whatever the score.
        check(&[(Fail, true, 1.0), (Pass, false, 30.0)], Verdict::Fail, Some(100.0 * 30.0 / 31.0));
        // One of four inconclusive: 75 is marginal.
        check(
            &[(Pass, true, 1.0), (Pass, true, 1.0), (Pass, true, 1.0), (Inconclusive, false, 1.0)],
            Verdict::Marginal,
            Some(75.0),
        );
        // A non-critical failure of small weight still passes.
        check(&[(Pass, true, 19.0), (Fail, false, 1.0)], Verdict::Pass, Some(95.0));
        // Half inconclusive: below marginal, but the inconclusive half could pass.
        check(&[(Pass, true, 1.0), (Inconclusive, true, 1.0)], Verdict::Inconclusive, Some(50.0));
        // Non-critical failures alone keep the score below marginal: FAIL.
        check(&[(Pass, true, 1.0), (Fail, false, 1.0), (Inconclusive, false, 1.0)], Verdict::Fail, Some(100.0 / 3.0));
        // Nothing judged.
        check(&[], Verdict::Inconclusive, None);
    }

    #[test]
    fn exit_codes() {
        let cases = [(Verdict::Pass, 0), (Verdict::Fail, 1), (Verdict::Marginal, 3), (Verdict::Inconclusive, 3)];
        for (verdict, code) in cases {
            assert_eq!(verdict.exit_code(), code, "{verdict}");
        }
    }
}
