//! The routing policy file as people write it (serde shapes). Validated once into [`super::Policy`].

use serde::{Deserialize, Serialize};

use crate::yaml::{OrderedMap, Spanned};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    #[serde(default = "one")]
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Rescale every rule's weights to sum to 1 instead of rejecting weights that do not.
    #[serde(default, skip_serializing_if = "is_false")]
    pub normalize: bool,
    /// Per-attempt timeout and attempt limit for rules that do not set their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<RuleDefaults>,
    /// Ordered rules; the first whose `match` fits a request routes it.
    pub rules: Vec<Spanned<RuleSpec>>,
}

fn one() -> u32 {
    1
}
fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDefaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Which requests this rule routes; absent means every request (a default rule).
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub matches: Option<MatchSpec>,
    /// Endpoint (`model@region`) -> weight, or `{weight: w, fallback: [...]}` for a target with a
    /// fallback chain of its own. The order is the sampling order.
    pub targets: OrderedMap<TargetSpec>,
    /// Endpoints tried in order after a failed or timed-out attempt (for targets without their own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback: Vec<Spanned<String>>,
    /// Seconds an attempt may take before the gateway gives up on it and moves on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
    /// Attempts in all, the first included; defaults to 1 + the fallback chain's length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Rescale this rule's weights to sum to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    /// Request classes; absent means any class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<Vec<String>>,
    /// Origin regions; absent means any origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Vec<String>>,
}

/// A target's weight, alone or with the target's own fallback chain.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum TargetSpec {
    Weight(f64),
    WithFallback(TargetWithFallback),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetWithFallback {
    pub weight: f64,
    /// Endpoints tried in order after this target fails (instead of the rule's `fallback`).
    pub fallback: Vec<String>,
}

impl TargetSpec {
    pub fn weight(&self) -> f64 {
        match self {
            TargetSpec::Weight(w) => *w,
            TargetSpec::WithFallback(t) => t.weight,
        }
    }
    pub fn fallback(&self) -> Option<&[String]> {
        match self {
            TargetSpec::Weight(_) => None,
            TargetSpec::WithFallback(t) => Some(&t.fallback),
        }
    }
}
