//! The native format: the policy as switchyard's own policy YAML (README.md, "Policy (YAML)").
//!
//! Round-trips: `Policy::from_yaml_str` on the text gives back an equal policy (same rules, match
//! lists, weights to the last bit, per-target fallback chains, timeouts and attempt limits). What a
//! policy file leaves to defaults is written out on each rule, so the file reads without its
//! `defaults:`. Format reference: this repository's README.md, section "Policy (YAML)", and
//! `src/policy/spec.rs`.

use super::{Export, Exporter, check, header};
use crate::catalog::Catalog;
use crate::error::Result;
use crate::policy::spec::{MatchSpec, PolicySpec, RuleDefaults, RuleSpec, TargetSpec, TargetWithFallback};
use crate::policy::{Policy, Rule};
use crate::yaml::{self, OrderedMap, unspanned};

pub struct Switchyard;

impl Exporter for Switchyard {
    fn name(&self) -> &'static str {
        "switchyard"
    }

    fn file_name(&self) -> &'static str {
        "policy.yaml"
    }

    fn export(&self, policy: &Policy, catalog: &Catalog) -> Result<Export> {
        check(policy, catalog)?;
        let mut lost = Vec::new();
        // A validated rule's attempt limit exceeds 1 + its longest chain only when it came from
        // `defaults: {max_attempts}` (a rule's own value may not); such a limit can only be written
        // back as a default. Every other rule then states its own limit.
        let beyond: Vec<usize> =
            policy.rules.iter().filter(|r| r.max_attempts > 1 + longest(r)).map(|r| r.max_attempts).collect();
        let default_attempts = beyond.first().copied();
        let rules = policy
            .rules
            .iter()
            .map(|rule| {
                let derived = 1 + longest(rule);
                let max_attempts = match default_attempts {
                    Some(d) if rule.max_attempts == d => None,
                    Some(_) if rule.max_attempts > derived => {
                        lost.push(format!(
                            "rule `{}`: max_attempts {} (more than 1 + its longest chain) cannot be written next to \
                             another rule's default; written as {derived}",
                            rule.name, rule.max_attempts
                        ));
                        Some(derived)
                    }
                    Some(_) => Some(rule.max_attempts),
                    None if rule.max_attempts == derived => None,
                    None => Some(rule.max_attempts),
                };
                unspanned(rule_spec(rule, catalog, max_attempts))
            })
            .collect();
        let spec = PolicySpec {
            version: 1,
            name: Some(policy.name.clone()),
            normalize: false,
            defaults: default_attempts
                .map(|d| RuleDefaults { timeout_s: None, max_attempts: Some(u32::try_from(d).unwrap_or(u32::MAX)) }),
            rules,
        };
        let about = [
            "A switchyard routing policy (see README.md, \"Policy (YAML)\"); it reads back as the same policy.",
            "Weights are written to the last bit; attempt limits that follow from the chains are left out.",
        ];
        let text = header(policy, catalog, &about) + &yaml::to_string(&spec, "switchyard policy")?;
        Ok(Export { text, lost })
    }
}

/// The longest fallback chain any target of the rule has (its own, or the rule's).
fn longest(rule: &Rule) -> usize {
    (0..rule.targets.len()).map(|t| rule.chain_of(t).len()).max().unwrap_or(0)
}

fn rule_spec(rule: &Rule, catalog: &Catalog, max_attempts: Option<usize>) -> RuleSpec {
    let id = |e: usize| catalog.endpoints[e].id.clone();
    let targets = rule
        .targets
        .iter()
        .enumerate()
        .map(|(t, &(e, weight))| {
            let spec = match rule.target_fallbacks.get(t).and_then(Option::as_ref) {
                Some(chain) => TargetSpec::WithFallback(TargetWithFallback {
                    weight,
                    fallback: chain.iter().map(|&f| id(f)).collect(),
                }),
                None => TargetSpec::Weight(weight),
            };
            (unspanned(id(e)), spec)
        })
        .collect();
    let matches = (rule.classes.is_some() || rule.origins.is_some())
        .then(|| MatchSpec { class: rule.classes.clone(), origin: rule.origins.clone() });
    RuleSpec {
        name: Some(rule.name.clone()),
        matches,
        targets: OrderedMap(targets),
        fallback: rule.fallbacks.iter().map(|&f| unspanned(id(f))).collect(),
        timeout_s: rule.timeout_s,
        max_attempts: max_attempts.map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
        normalize: None,
    }
}
