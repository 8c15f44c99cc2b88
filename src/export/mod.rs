//! Exporters: a validated [`Policy`] as the configuration files real gateways load.
//!
//! This is the only module that knows gateway formats. Each format is one file implementing
//! [`Exporter`]: `switchyard` (the native policy YAML, which round-trips), `litellm` (LiteLLM proxy
//! `config.yaml`), `portkey` and `portkey-oss` (a Portkey config for the hosted and for the
//! open-source gateway), `envoy` (Envoy AI Gateway resources) and `openrouter` (OpenRouter request
//! fragments). What they share is here: the per-rule plan every
//! gateway format starts from ([`plan`]: group names, targets with the fallback chain each one
//! actually attempts), name and environment-variable spelling, integer weights, the header, and
//! the one place that writes files ([`write_exports`]).
//!
//! A format rarely expresses everything a policy says. Each [`Export`] carries `lost`: sentences,
//! for the user, naming what the gateway cannot do and what was written instead.
//!
//! Credentials are never written: only references (environment variables, provider slugs, Kubernetes
//! secret names), or the client's own `Authorization` header passed on (`portkey-oss`). Output is deterministic: the same policy and catalog give byte-identical text.
//!
//! Deliberately absent: no network, no validation of the gateway's own limits beyond what is
//! documented in each format's file, and no CLI (the caller picks formats with [`parse_formats`]).

mod envoy;
mod litellm;
mod openrouter;
mod portkey;
mod switchyard;

use std::path::{Path, PathBuf};

use crate::catalog::{Catalog, Endpoint};
use crate::error::{Error, Place, Problem, Problems, Result, closest, one_of};
use crate::policy::{Policy, Rule};

/// One exported file's text, and what the format could not express.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    pub text: String,
    /// What this format cannot express about the policy (e.g. "OpenRouter has no weights: ..."),
    /// one sentence each, shown to the user.
    pub lost: Vec<String>,
}

/// A gateway configuration format.
pub trait Exporter {
    /// The format's name on the command line: "switchyard", "litellm", ...
    fn name(&self) -> &'static str;
    /// The file written into the output folder, e.g. "litellm-config.yaml".
    fn file_name(&self) -> &'static str;
    /// What this format needs from every endpoint of a catalog, checked before an optimizer, which
    /// may route to any of them, does any work (`portkey-oss`: a base URL). Most need nothing.
    fn check_catalog(&self, _catalog: &Catalog) -> Result<()> {
        Ok(())
    }
    fn export(&self, policy: &Policy, catalog: &Catalog) -> Result<Export>;
}

/// The export formats: the one list, each variant with its exporter ([`Format::exporter`]) and
/// its command-line name and help (clap reads both from here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Format {
    /// switchyard's own policy YAML (optimize always writes it)
    Switchyard,
    /// LiteLLM proxy config (router weights, fallbacks, per-deployment limits)
    Litellm,
    /// Portkey's hosted gateway (endpoints as Model Catalog slugs)
    Portkey,
    /// Portkey's open-source gateway (needs each endpoint's `base_url` in the catalog)
    #[value(name = "portkey-oss")]
    PortkeyOss,
    /// Envoy AI Gateway (AIGatewayRoute, backends, retry and fallback policy)
    Envoy,
    /// OpenRouter provider-routing request fragments (no weights: an order per rule)
    Openrouter,
}

impl Format {
    /// Every format, in the order of the help.
    pub fn all() -> &'static [Format] {
        <Format as clap::ValueEnum>::value_variants()
    }

    /// The exporter that writes this format.
    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Format::Switchyard => Box::new(switchyard::Switchyard),
            Format::Litellm => Box::new(litellm::LiteLlm),
            Format::Portkey => Box::new(portkey::Portkey(portkey::Gateway::Hosted)),
            Format::PortkeyOss => Box::new(portkey::Portkey(portkey::Gateway::OpenSource)),
            Format::Envoy => Box::new(envoy::Envoy),
            Format::Openrouter => Box::new(openrouter::OpenRouter),
        }
    }

    /// The name on the command line (`portkey-oss`), the exporter's own.
    pub fn name(self) -> &'static str {
        self.exporter().name()
    }
}

/// Every format's name, in the order of the help.
pub fn names() -> impl Iterator<Item = &'static str> {
    Format::all().iter().map(|f| f.name())
}

/// The exporter for a format name (one of [`names`]).
pub fn exporter(name: &str) -> Option<Box<dyn Exporter>> {
    Format::all().iter().find(|f| f.name() == name).map(|f| f.exporter())
}

/// Parse a comma-separated list of formats ("litellm,portkey"). Every unknown name is reported at
/// once, with the valid ones; a name given twice is exported once.
pub fn parse_formats(list: &str) -> Result<Vec<Box<dyn Exporter>>> {
    let mut problems = Problems::default();
    let mut out: Vec<Box<dyn Exporter>> = Vec::new();
    let valid = names().map(str::to_string).collect::<Vec<_>>();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match exporter(&name.to_ascii_lowercase()) {
            Some(e) if out.iter().any(|o| o.name() == e.name()) => {}
            Some(e) => out.push(e),
            None => problems.push(
                Place::default().field("format"),
                format!("unknown export format `{name}` (closest: {})", one_of(&closest(name, names()))),
                format!("use one or more of {}, separated by commas", one_of(&valid)),
            ),
        }
    }
    if out.is_empty() && problems.is_empty() {
        problems.push(
            Place::default().field("format"),
            "no export format given",
            format!("name one or more of {}, separated by commas", one_of(&valid)),
        );
    }
    problems.finish()?;
    Ok(out)
}

/// Export the policy in every format and write each file atomically into `dir` (created if needed),
/// returning the path and the export per format, in the order given. Nothing is written unless
/// every export succeeded.
pub fn write_exports(
    policy: &Policy,
    catalog: &Catalog,
    exporters: &[Box<dyn Exporter>],
    dir: &Path,
) -> Result<Vec<(PathBuf, Export)>> {
    let exports = exporters
        .iter()
        .map(|e| Ok((dir.join(e.file_name()), e.export(policy, catalog)?)))
        .collect::<Result<Vec<_>>>()?;
    for (path, export) in &exports {
        crate::output::write_bytes(path, export.text.as_bytes())?;
    }
    Ok(exports)
}

// ---------------------------------------------------------------------------------------------
// What the gateway formats share.

/// A rule as a gateway sees it.
pub(crate) struct RulePlan<'a> {
    pub rule: &'a Rule,
    /// The name clients (or gateway conditions) use for this rule's traffic: `switchyard-<rule>`,
    /// unique within the policy. LiteLLM's model group, Envoy's `x-ai-eg-model` value, Portkey's
    /// target name, OpenRouter's key.
    pub group: String,
    pub targets: Vec<TargetPlan<'a>>,
}

pub(crate) struct TargetPlan<'a> {
    pub endpoint: &'a Endpoint,
    pub weight: f64,
    /// The fallbacks this target's requests actually attempt: its chain cut to `max_attempts - 1`.
    pub chain: Vec<&'a Endpoint>,
}

impl RulePlan<'_> {
    /// The target with the largest weight (the first of equals).
    pub fn heaviest(&self) -> usize {
        let mut best = 0;
        for (t, target) in self.targets.iter().enumerate() {
            if target.weight > self.targets[best].weight {
                best = t;
            }
        }
        best
    }

    /// Whether every target attempts the same fallbacks.
    pub fn chains_agree(&self) -> bool {
        self.targets.windows(2).all(|w| ids(&w[0].chain) == ids(&w[1].chain))
    }

    /// Who this rule routes, for messages: "class in [a, b], origin in [x]" or "every request".
    pub fn matches(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.rule.classes {
            parts.push(format!("class in [{}]", c.join(", ")));
        }
        if let Some(o) = &self.rule.origins {
            parts.push(format!("origin in [{}]", o.join(", ")));
        }
        if parts.is_empty() { "every other request".to_string() } else { parts.join(", ") }
    }
}

/// Endpoint ids, for comparisons and messages.
pub(crate) fn ids(endpoints: &[&Endpoint]) -> Vec<String> {
    endpoints.iter().map(|e| e.id.clone()).collect()
}

/// "a > b > c" for messages ("(none)" for an empty chain).
pub(crate) fn route(endpoints: &[&Endpoint]) -> String {
    if endpoints.is_empty() { "(none)".to_string() } else { ids(endpoints).join(" > ") }
}

/// Resolve a policy against the catalog it was validated with, rule by rule. Fails, rather than
/// panicking, on a policy that does not fit the catalog (an endpoint index it does not have) or that
/// cannot be routed at all (no rules, a rule without targets or without positive weight).
pub(crate) fn plan<'a>(policy: &'a Policy, catalog: &'a Catalog) -> Result<Vec<RulePlan<'a>>> {
    check(policy, catalog)?;
    let groups = unique_names(policy.rules.iter().map(|r| format!("switchyard-{}", slug(&r.name))));
    Ok(policy
        .rules
        .iter()
        .zip(groups)
        .map(|(rule, group)| {
            let targets = rule
                .targets
                .iter()
                .enumerate()
                .map(|(t, &(e, weight))| TargetPlan {
                    endpoint: &catalog.endpoints[e],
                    weight,
                    chain: rule
                        .chain_of(t)
                        .iter()
                        .take(rule.max_attempts.saturating_sub(1))
                        .map(|&f| &catalog.endpoints[f])
                        .collect(),
                })
                .collect();
            RulePlan { rule, group, targets }
        })
        .collect())
}

/// The checks that make indexing in [`plan`] and the exporters safe.
pub(crate) fn check(policy: &Policy, catalog: &Catalog) -> Result<()> {
    let mut problems = Problems::default();
    let place = || Place::file(&policy.source);
    if policy.rules.is_empty() {
        problems.push(place().field("rules"), "the policy has no rules to export", "add a rule with `targets:`");
    }
    let n = catalog.endpoints.len();
    for rule in &policy.rules {
        let field = || format!("{}: targets", rule.name);
        let used = rule
            .targets
            .iter()
            .map(|(e, _)| *e)
            .chain(rule.fallbacks.iter().copied())
            .chain(rule.target_fallbacks.iter().flatten().flatten().copied());
        if let Some(bad) = used.filter(|&e| e >= n).max() {
            problems.push(
                place().maybe_line(rule.line).field(field()),
                format!("endpoint #{bad} is not in catalog `{}` ({n} endpoints)", catalog.name),
                "export with the catalog the policy was validated against",
            );
        }
        let total: f64 = rule.targets.iter().map(|(_, w)| w).sum();
        if rule.targets.iter().any(|(_, w)| !(w.is_finite() && *w >= 0.0)) || total.is_nan() || total <= 0.0 {
            problems.push(
                place().maybe_line(rule.line).field(field()),
                "the rule has no targets with a positive weight, or a weight that is negative or not a number",
                "give the rule at least one target with a weight > 0",
            );
        }
    }
    problems.finish()
}

/// Lower-case letters, digits and single dashes: a name every gateway accepts (Kubernetes resource
/// names, provider slugs, LiteLLM group names). Empty input gives "x".
pub(crate) fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    if out.is_empty() { "x".to_string() } else { out.to_string() }
}

/// Make names unique in order of appearance: a repeat gets `-2`, `-3`, ... appended.
pub(crate) fn unique_names(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let mut candidate = name.clone();
        let mut k = 2;
        while out.contains(&candidate) {
            candidate = format!("{name}-{k}");
            k += 1;
        }
        out.push(candidate);
    }
    out
}

/// An environment variable name: upper-case letters, digits and underscores.
pub(crate) fn env_name(parts: &[&str]) -> String {
    let joined = parts.join("_");
    let mut out = String::with_capacity(joined.len());
    for c in joined.chars().flat_map(char::to_uppercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// The environment variable holding a provider's API key: `<PROVIDER>_API_KEY`.
pub(crate) fn api_key_env(endpoint: &Endpoint) -> String {
    env_name(&[&endpoint.provider, "API_KEY"])
}

/// The environment variable holding the base URL of a provider in a region:
/// `<PROVIDER>_<REGION>_API_BASE` (e.g. `DEEPSEEK_US_EAST_1_API_BASE`).
pub(crate) fn api_base_env(endpoint: &Endpoint) -> String {
    env_name(&[&endpoint.provider, &endpoint.region, "API_BASE"])
}

/// Whole-number percentages summing to 100 (largest remainder; ties go to the earlier share), for
/// gateways whose weights are integers. All-zero shares give all zeros.
pub(crate) fn percentages(shares: &[f64]) -> Vec<u32> {
    let total: f64 = shares.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return vec![0; shares.len()];
    }
    let exact: Vec<f64> = shares.iter().map(|s| s / total * 100.0).collect();
    let mut out: Vec<u32> = exact.iter().map(|x| x.floor() as u32).collect();
    let missing = 100u32.saturating_sub(out.iter().sum());
    let mut order: Vec<usize> = (0..shares.len()).collect();
    // Stable sort: equal remainders keep target order.
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    for &i in order.iter().take(missing as usize) {
        out[i] += 1;
    }
    out
}

/// Whole milliseconds for a duration in seconds (at least 1), and whether that was exact.
pub(crate) fn millis(seconds: f64) -> (u64, bool) {
    let ms = (seconds * 1000.0).round().max(1.0);
    let ms = if ms.is_finite() && ms < u64::MAX as f64 { ms as u64 } else { u64::MAX / 2 };
    (ms, ms as f64 / 1000.0 == seconds)
}

/// The comment lines that open every YAML format: what generated the file and from what, then the
/// format's own lines (an empty one gives a bare `#`).
pub(crate) fn header(policy: &Policy, catalog: &Catalog, about: &[impl AsRef<str>]) -> String {
    let mut lines = vec![format!(
        "Generated by switchyard {} from policy `{}` ({}) over catalog `{}`.",
        env!("CARGO_PKG_VERSION"),
        policy.name,
        policy.source,
        catalog.name
    )];
    lines.extend(about.iter().map(|s| s.as_ref().to_string()));
    lines.iter().map(|l| if l.is_empty() { "#\n".to_string() } else { format!("# {l}\n") }).collect()
}

/// A message for a format that cannot see request classes or origins: the caller picks the group.
pub(crate) fn caller_picks_group(format: &str) -> String {
    format!(
        "{format} does not see request classes or origins: the caller sends each request to the group \
         (`switchyard-<rule>`, listed in the file's header) of the first switchyard rule that matches it"
    )
}

/// An internal error for a serializer failure (never expected: the documents are plain maps).
pub(crate) fn format_error(format: &str, message: impl std::fmt::Display) -> Error {
    Error::Invalid(vec![Problem::new(
        Place::default().field(format),
        format!("could not write the {format} document: {message}"),
        "report this as a switchyard bug",
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_format_has_an_exporter_of_that_name() {
        for format in Format::all() {
            let name = <Format as clap::ValueEnum>::to_possible_value(format).unwrap().get_name().to_string();
            assert_eq!(format.name(), name, "the command line and the exporter name {format:?} alike");
            assert_eq!(exporter(&name).map(|e| e.name()), Some(format.name()));
        }
        let files: Vec<&str> = Format::all().iter().map(|f| f.exporter().file_name()).collect();
        let mut unique = files.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(files.len(), unique.len(), "two formats share a file name: {files:?}");
    }

    #[test]
    fn parse_formats_names_every_unknown_format_and_the_valid_ones() {
        let names = |s: &str| parse_formats(s).unwrap().iter().map(|e| e.name()).collect::<Vec<_>>();
        assert_eq!(names("litellm,portkey"), ["litellm", "portkey"]);
        assert_eq!(names(" envoy , litellm,envoy,"), ["envoy", "litellm"]);
        assert_eq!(names("LiteLLM"), ["litellm"]);
        let err = parse_formats("litelm,kong,portkey").err().expect("unknown formats are an error");
        let text = err.to_string();
        assert_eq!(err.problems().len(), 2, "{text}");
        assert!(text.contains("`litelm`") && text.contains("`kong`"), "{text}");
        assert!(text.contains("closest: `litellm`"), "{text}");
        assert!(text.contains("`switchyard`, `litellm`, `portkey`, `portkey-oss`, `envoy` or `openrouter`"), "{text}");
        assert!(parse_formats(" , ").is_err());
    }

    #[test]
    fn slugs_and_env_names_are_what_gateways_accept() {
        assert_eq!(slug("deepseek-v4-flash@us-east-1"), "deepseek-v4-flash-us-east-1");
        assert_eq!(slug("Rule 1 (EU)"), "rule-1-eu");
        assert_eq!(slug("qwen3.5-397b"), "qwen3-5-397b");
        assert_eq!(slug("@@"), "x");
        assert_eq!(env_name(&["deepseek", "us-east-1", "API_BASE"]), "DEEPSEEK_US_EAST_1_API_BASE");
        assert_eq!(env_name(&["z.ai", "API_KEY"]), "Z_AI_API_KEY");
        assert_eq!(unique_names(["a".into(), "b".into(), "a".into(), "a".into()]), ["a", "b", "a-2", "a-3"]);
    }

    #[test]
    fn percentages_sum_to_100_and_round_by_largest_remainder() {
        let check = |shares: &[f64], expected: &[u32]| {
            let got = percentages(shares);
            assert_eq!(got, expected, "shares {shares:?}");
            if shares.iter().sum::<f64>() > 0.0 {
                assert_eq!(got.iter().sum::<u32>(), 100);
            }
        };
        check(&[0.6, 0.3, 0.1], &[60, 30, 10]);
        check(&[1.0 / 3.0; 3], &[34, 33, 33]);
        check(&[0.125, 0.875], &[13, 87]);
        check(&[2.0, 2.0], &[50, 50]);
        check(&[0.001, 0.999], &[0, 100]);
        check(&[1.0], &[100]);
        check(&[0.0, 0.0], &[0, 0]);
        check(&[], &[]);
    }

    #[test]
    fn millis_rounds_and_says_so() {
        assert_eq!(millis(10.0), (10_000, true));
        assert_eq!(millis(0.25), (250, true));
        assert_eq!(millis(1.0004), (1000, false));
        assert_eq!(millis(1e-9), (1, false));
    }
}
