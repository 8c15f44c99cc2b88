//! The closed list of figures a comparison knows: each metric's name (as a guard file spells it),
//! its unit and which direction is worse, and the scope a figure is measured over (all traffic, one
//! class, origin, provider, model or endpoint).
//!
//! The list is closed on purpose: a guard file naming a figure outside it is a typo to report with
//! the closest names, not a rule that silently never applies.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A metric of the simulate report (replay and discrete-event engines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Metric {
    /// Total cost of the trace, USD.
    #[serde(rename = "cost")]
    Cost,
    /// Cost per 1,000 requests, USD.
    #[serde(rename = "cost_per_1k")]
    CostPer1k,
    /// Share of requests served (after fallbacks).
    #[serde(rename = "success")]
    Success,
    /// Fallback attempts per request.
    #[serde(rename = "fallback")]
    Fallback,
    /// Mean quality (0 to 1) of served requests.
    #[serde(rename = "quality")]
    Quality,
    /// Latency quantiles of served requests, seconds.
    #[serde(rename = "p50")]
    P50,
    #[serde(rename = "p90")]
    P90,
    #[serde(rename = "p99")]
    P99,
    #[serde(rename = "p999")]
    P999,
    /// Share of served requests a provider, model or endpoint took.
    #[serde(rename = "traffic_share")]
    TrafficShare,
    /// Discrete-event engine: attempts refused with a 429 (rate limit).
    #[serde(rename = "rate_limited_429")]
    RateLimited429,
    /// Discrete-event engine: the gateway's retries.
    #[serde(rename = "retries")]
    Retries,
    /// Discrete-event engine: requests that gave up waiting in an endpoint's queue.
    #[serde(rename = "queue_timeouts")]
    QueueTimeouts,
    /// Discrete-event engine: cooldowns the gateway put endpoints in.
    #[serde(rename = "cooldowns")]
    Cooldowns,
    /// Discrete-event engine: mean queue wait per request, seconds.
    #[serde(rename = "queue_wait")]
    QueueWait,
}

/// The unit a metric is measured in, which decides how an allowed change may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// US dollars.
    Usd,
    /// US dollars per 1,000 requests.
    UsdPer1k,
    /// A share in [0, 1]; printed as a percentage, absolute changes also in percentage points.
    Share,
    /// A quality score in [0, 1].
    Score,
    Seconds,
    /// A number of events (429s, retries, ...) over the trace.
    Count,
}

/// Which way a metric gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsWorse,
    HigherIsBetter,
    /// Neither way is worse (a traffic share): shown, never judged.
    Neither,
}

impl Metric {
    pub const ALL: [Metric; 15] = [
        Metric::Cost,
        Metric::CostPer1k,
        Metric::Success,
        Metric::Fallback,
        Metric::Quality,
        Metric::P50,
        Metric::P90,
        Metric::P99,
        Metric::P999,
        Metric::TrafficShare,
        Metric::RateLimited429,
        Metric::Retries,
        Metric::QueueTimeouts,
        Metric::Cooldowns,
        Metric::QueueWait,
    ];

    /// The name a guard file and the JSON use (the same as serde's).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cost => "cost",
            Metric::CostPer1k => "cost_per_1k",
            Metric::Success => "success",
            Metric::Fallback => "fallback",
            Metric::Quality => "quality",
            Metric::P50 => "p50",
            Metric::P90 => "p90",
            Metric::P99 => "p99",
            Metric::P999 => "p999",
            Metric::TrafficShare => "traffic_share",
            Metric::RateLimited429 => "rate_limited_429",
            Metric::Retries => "retries",
            Metric::QueueTimeouts => "queue_timeouts",
            Metric::Cooldowns => "cooldowns",
            Metric::QueueWait => "queue_wait",
        }
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::Cost => Unit::Usd,
            Metric::CostPer1k => Unit::UsdPer1k,
            Metric::Success | Metric::Fallback | Metric::TrafficShare => Unit::Share,
            Metric::Quality => Unit::Score,
            Metric::P50 | Metric::P90 | Metric::P99 | Metric::P999 | Metric::QueueWait => Unit::Seconds,
            Metric::RateLimited429 | Metric::Retries | Metric::QueueTimeouts | Metric::Cooldowns => Unit::Count,
        }
    }

    pub fn direction(self) -> Direction {
        match self {
            Metric::Success | Metric::Quality => Direction::HigherIsBetter,
            Metric::TrafficShare => Direction::Neither,
            _ => Direction::HigherIsWorse,
        }
    }

    /// One line for documentation and `--help`.
    pub fn describe(self) -> &'static str {
        match self {
            Metric::Cost => "total cost of the trace",
            Metric::CostPer1k => "cost per 1,000 requests",
            Metric::Success => "share of requests served, after fallbacks",
            Metric::Fallback => "fallback attempts per request",
            Metric::Quality => "mean quality of served requests",
            Metric::P50 => "median latency of served requests",
            Metric::P90 => "90th percentile latency",
            Metric::P99 => "99th percentile latency",
            Metric::P999 => "99.9th percentile latency",
            Metric::TrafficShare => "share of served requests a provider, model or endpoint took",
            Metric::RateLimited429 => "attempts refused with a 429 (discrete-event engine)",
            Metric::Retries => "the gateway's retries (discrete-event engine)",
            Metric::QueueTimeouts => "requests that gave up waiting in a queue (discrete-event engine)",
            Metric::Cooldowns => "endpoint cooldowns (discrete-event engine)",
            Metric::QueueWait => "mean queue wait per request (discrete-event engine)",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Unit {
    /// The unit as printed after a number (empty for shares and scores, which have none).
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Usd => "USD",
            Unit::UsdPer1k => "USD/1k",
            Unit::Share | Unit::Score => "",
            Unit::Seconds => "s",
            Unit::Count => "",
        }
    }
}

/// The traffic a figure is measured over.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Overall,
    Class(String),
    Origin(String),
    Provider(String),
    Model(String),
    Endpoint(String),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Overall => f.write_str("overall"),
            Scope::Class(name) => write!(f, "class {name}"),
            Scope::Origin(name) => write!(f, "origin {name}"),
            Scope::Provider(name) => write!(f, "provider {name}"),
            Scope::Model(name) => write!(f, "model {name}"),
            Scope::Endpoint(name) => write!(f, "endpoint {name}"),
        }
    }
}

/// A metric over a scope: one row of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Figure {
    pub metric: Metric,
    pub scope: Scope,
}

impl Figure {
    pub fn overall(metric: Metric) -> Figure {
        Figure { metric, scope: Scope::Overall }
    }
    pub fn class(metric: Metric, class: impl Into<String>) -> Figure {
        Figure { metric, scope: Scope::Class(class.into()) }
    }
}

/// `p99` overall, `p99 (class reasoning)` otherwise: how messages and printouts name a figure.
impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            Scope::Overall => write!(f, "{}", self.metric),
            scope => write!(f, "{} ({scope})", self.metric),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_the_guard_names() {
        for m in Metric::ALL {
            assert_eq!(serde_json::to_value(m).unwrap(), serde_json::json!(m.name()), "{m:?}");
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
        assert_eq!(Metric::from_name("p99.9"), None);
    }

    #[test]
    fn a_figure_names_its_scope() {
        assert_eq!(Figure::overall(Metric::P99).to_string(), "p99");
        assert_eq!(Figure::class(Metric::P99, "reasoning").to_string(), "p99 (class reasoning)");
        let f = Figure { metric: Metric::Cost, scope: Scope::Model("glm-5".into()) };
        assert_eq!(f.to_string(), "cost (model glm-5)");
    }
}
