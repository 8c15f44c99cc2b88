//! Envoy AI Gateway resources (multi-document YAML for `kubectl apply -f`).
//!
//! Per rule: an `AIGatewayRoute` named after the rule's group with one rule matching the
//! `x-ai-eg-model` header (the model name the client sends) to the group, whose `backendRefs` are
//! the targets at priority 0 with integer weights summing to 100 and the fallback chains as priority
//! levels 1, 2, ... (level k holds every target's k-th fallback, weighted by the targets that fall
//! back there), with `modelNameOverride` so the backend receives its own model name; and, when the
//! rule allows more than one attempt, a `BackendTrafficPolicy` on the HTTPRoute the gateway generates
//! (same name) with the retries and the per-attempt timeout. One route per rule keeps each rule's
//! retries and timeout its own (a traffic policy applies to a whole route) and stays under the
//! 15-rule limit of one route. Then one `AIServiceBackend` per endpoint and one
//! `BackendSecurityPolicy` per provider, whose API key is the Kubernetes secret `<provider>-api-key`
//! (key `apiKey`); the secrets, the `Backend`s (each provider's regional host) and the `Gateway`
//! (`ai-gateway`) are the operator's.
//!
//! Format references: the v1beta1 API (served at `aigateway.envoyproxy.io/v1beta1` since v0.6 and
//! declared stable in v1.0.0; v1alpha1 is deprecated), https://pkg.go.dev/github.com/envoyproxy/ai-gateway/api/v1beta1
//! and its source https://github.com/envoyproxy/ai-gateway/blob/main/api/v1beta1/ai_gateway_route.go
//! (`weight`, `priority`, `modelNameOverride`, `timeouts`, at most 15 rules per route), the examples
//! https://github.com/envoyproxy/ai-gateway/blob/main/examples/basic/openai.yaml (AIServiceBackend,
//! BackendSecurityPolicy) and https://github.com/envoyproxy/ai-gateway/tree/main/examples/provider_fallback
//! (priorities with a BackendTrafficPolicy), https://gateway.envoyproxy.io/docs/tasks/traffic/retry/
//! (retries, `perRetry.timeout`) and https://gateway-api.sigs.k8s.io/reference/spec/#httproutetimeouts
//! (durations; "0s" disables a timeout). Every document is checked against the CRDs of Envoy AI
//! Gateway v1.1.0 and Envoy Gateway v1.8.1, CEL rules included (tests/fixtures/envoy-crds/,
//! tests/it/schemas.rs).
//!
//! What Envoy cannot express: weights are integers; fallbacks are priority levels shared by all of
//! a rule's targets, not each target's own chain.

use serde_json::{Map, Value, json};

use super::{
    Export, Exporter, RulePlan, caller_picks_group, header, millis, percentages, plan, route, slug, unique_names,
};
use crate::catalog::{Catalog, Endpoint};
use crate::error::Result;
use crate::policy::Policy;
use crate::yaml;

const API: &str = "aigateway.envoyproxy.io/v1beta1";
const GATEWAY: &str = "ai-gateway";

pub struct Envoy;

impl Exporter for Envoy {
    fn name(&self) -> &'static str {
        "envoy"
    }

    fn file_name(&self) -> &'static str {
        "envoy-aigatewayroute.yaml"
    }

    fn export(&self, policy: &Policy, catalog: &Catalog) -> Result<Export> {
        let plans = plan(policy, catalog)?;
        let names = Backends::new(&plans);
        let mut lost = vec![caller_picks_group("Envoy AI Gateway")];
        let mut docs: Vec<Value> = Vec::new();
        for p in &plans {
            let (refs, notes) = backend_refs(p, &names);
            lost.extend(notes);
            let mut rule = Map::new();
            rule.insert(
                "matches".into(),
                json!([{ "headers": [{ "type": "Exact", "name": "x-ai-eg-model", "value": p.group }] }]),
            );
            rule.insert("backendRefs".into(), refs.into());
            let attempts = p.rule.max_attempts.max(1);
            let retries = attempts - 1;
            let per_attempt = p.rule.timeout_s.map(|t| duration(t, &p.rule.name, &mut lost));
            // The route's request timeout covers every attempt; "0s" turns the gateway's 60 s default off.
            let request = match p.rule.timeout_s {
                Some(t) => duration(t * attempts as f64, &p.rule.name, &mut Vec::new()),
                None => "0s".to_string(),
            };
            rule.insert("timeouts".into(), json!({ "request": request }));
            docs.push(json!({
                "apiVersion": API,
                "kind": "AIGatewayRoute",
                "metadata": { "name": p.group },
                "spec": {
                    "parentRefs": [{ "name": GATEWAY, "kind": "Gateway", "group": "gateway.networking.k8s.io" }],
                    "rules": [rule],
                },
            }));
            if retries > 0 {
                let mut retry = Map::new();
                retry.insert("numRetries".into(), retries.into());
                if let Some(d) = per_attempt {
                    retry.insert("perRetry".into(), json!({ "timeout": d }));
                }
                retry.insert(
                    "retryOn".into(),
                    json!({ "triggers": ["connect-failure", "reset", "5xx", "retriable-status-codes"], "httpStatusCodes": [429] }),
                );
                docs.push(json!({
                    "apiVersion": "gateway.envoyproxy.io/v1alpha1",
                    "kind": "BackendTrafficPolicy",
                    "metadata": { "name": p.group },
                    "spec": {
                        "targetRefs": [{ "group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": p.group }],
                        "retry": retry,
                    },
                }));
            }
        }
        for (_, name) in &names.0 {
            docs.push(json!({
                "apiVersion": API,
                "kind": "AIServiceBackend",
                "metadata": { "name": name },
                "spec": {
                    "schema": { "name": "OpenAI" },
                    "backendRef": { "name": name, "kind": "Backend", "group": "gateway.envoyproxy.io" },
                },
            }));
        }
        let mut providers: Vec<&str> = names.0.iter().map(|(e, _)| e.provider.as_str()).collect();
        providers.sort_unstable();
        providers.dedup();
        for provider in &providers {
            let refs: Vec<Value> = names
                .0
                .iter()
                .filter(|(e, _)| e.provider == *provider)
                .map(|(_, n)| json!({ "group": "aigateway.envoyproxy.io", "kind": "AIServiceBackend", "name": n }))
                .collect();
            docs.push(json!({
                "apiVersion": API,
                "kind": "BackendSecurityPolicy",
                "metadata": { "name": format!("{}-api-key", slug(provider)) },
                "spec": {
                    "targetRefs": refs,
                    "type": "APIKey",
                    "apiKey": { "secretRef": { "name": format!("{}-api-key", slug(provider)) } },
                },
            }));
        }
        let mut text = header(policy, catalog, &about(&plans, &names, &providers));
        for doc in &docs {
            text.push_str("---\n");
            text.push_str(&yaml::to_string(doc, "Envoy AI Gateway resource")?);
        }
        Ok(Export { text, lost })
    }
}

/// Every endpoint the routes use, in order of first use, with its resource name.
struct Backends<'a>(Vec<(&'a Endpoint, String)>);

impl<'a> Backends<'a> {
    fn new(plans: &[RulePlan<'a>]) -> Self {
        let mut endpoints: Vec<&Endpoint> = Vec::new();
        for p in plans {
            for e in p.targets.iter().map(|t| t.endpoint).chain(p.targets.iter().flat_map(|t| t.chain.iter().copied()))
            {
                if !endpoints.iter().any(|x| x.id == e.id) {
                    endpoints.push(e);
                }
            }
        }
        let names = unique_names(endpoints.iter().map(|e| slug(&e.id)));
        Backends(endpoints.into_iter().zip(names).collect())
    }

    fn name(&self, endpoint: &Endpoint) -> &str {
        self.0.iter().find(|(e, _)| e.id == endpoint.id).map_or("", |(_, n)| n.as_str())
    }
}

/// The rule's backendRefs (primaries at priority 0, chain level k at priority k) and what the
/// translation lost.
fn backend_refs(p: &RulePlan, names: &Backends) -> (Vec<Value>, Vec<String>) {
    let mut lost = Vec::new();
    let mut refs = Vec::new();
    let mut placed: Vec<&str> = Vec::new();
    let shares: Vec<f64> = p.targets.iter().map(|t| t.weight).collect();
    let weights = percentages(&shares);
    let total: f64 = shares.iter().sum();
    // Exact up to the last bits of the division (0.6 / 1.0 * 100 is 60.000000000000007).
    if shares.iter().zip(&weights).any(|(s, w)| (s / total * 100.0 - f64::from(*w)).abs() > 1e-9) {
        let pairs: Vec<String> =
            p.targets.iter().zip(&weights).map(|(t, w)| format!("{} {} -> {w}", t.endpoint.id, t.weight)).collect();
        lost.push(format!(
            "rule `{}`: Envoy weights are integers; scaled to whole numbers summing to 100: {}",
            p.rule.name,
            pairs.join(", ")
        ));
    }
    for (t, w) in p.targets.iter().zip(&weights) {
        refs.push(backend_ref(t.endpoint, names, *w, 0));
        placed.push(&t.endpoint.id);
    }
    let mut skipped: Vec<String> = Vec::new();
    let levels = p.targets.iter().map(|t| t.chain.len()).max().unwrap_or(0);
    let mut priority = 0u32;
    for level in 0..levels {
        // Endpoints at this level, in target order, with the weight of the targets that fall back there.
        let mut at_level: Vec<(&Endpoint, f64)> = Vec::new();
        for t in &p.targets {
            if let Some(e) = t.chain.get(level) {
                if placed.contains(&e.id.as_str()) {
                    skipped.push(e.id.clone());
                } else if let Some(slot) = at_level.iter_mut().find(|(x, _)| x.id == e.id) {
                    slot.1 += t.weight;
                } else {
                    at_level.push((e, t.weight));
                }
            }
        }
        if at_level.is_empty() {
            continue;
        }
        priority += 1;
        // Targets of weight 0 still fall back somewhere: count each at least a little.
        let level_shares: Vec<f64> =
            at_level.iter().map(|(_, w)| if *w > 0.0 { *w } else { f64::MIN_POSITIVE }).collect();
        for ((e, _), w) in at_level.iter().zip(percentages(&level_shares)) {
            refs.push(backend_ref(e, names, w, priority));
            placed.push(&e.id);
        }
    }
    skipped.sort();
    skipped.dedup();
    if !p.chains_agree() || !skipped.is_empty() {
        let chains: Vec<String> =
            p.targets.iter().map(|t| format!("{} > {}", t.endpoint.id, route(&t.chain))).collect();
        let mut message = format!(
            "rule `{}`: Envoy fails over by priority level, shared by all targets, not along each target's own chain \
             ({})",
            p.rule.name,
            chains.join("; ")
        );
        if !skipped.is_empty() {
            message.push_str(&format!(
                "; an endpoint is listed once, at its first level, so retries meant for {} go to that level",
                skipped.join(", ")
            ));
        }
        lost.push(message);
    }
    (refs, lost)
}

fn backend_ref(e: &Endpoint, names: &Backends, weight: u32, priority: u32) -> Value {
    json!({ "name": names.name(e), "modelNameOverride": e.model, "weight": weight, "priority": priority })
}

/// A Gateway API duration ("10s", "1500ms", "2h0m0s"): at most five digits per unit, whole
/// milliseconds (a sub-millisecond remainder is rounded and reported in `lost`).
fn duration(seconds: f64, rule: &str, lost: &mut Vec<String>) -> String {
    let (ms, exact) = millis(seconds);
    if !exact {
        lost.push(format!("rule `{rule}`: Envoy durations are whole milliseconds; {seconds} s written as {ms} ms"));
    }
    let (secs, rest_ms) = (ms / 1000, ms % 1000);
    let mut out = if secs <= 99_999 {
        if secs > 0 || rest_ms == 0 { format!("{secs}s") } else { String::new() }
    } else {
        format!("{}h{}m{}s", secs / 3600, secs % 3600 / 60, secs % 60)
    };
    if rest_ms > 0 {
        out.push_str(&format!("{rest_ms}ms"));
    }
    out
}

fn about(plans: &[RulePlan], names: &Backends, providers: &[&str]) -> Vec<String> {
    let mut lines = vec![
        "Envoy AI Gateway resources: `kubectl apply -f envoy-aigatewayroute.yaml` in the gateway's namespace."
            .to_string(),
        String::new(),
        "One AIGatewayRoute per switchyard rule. Clients pick the rule by model name (the gateway puts the".to_string(),
        "request's `model` in the x-ai-eg-model header): send each request with the group of the first".to_string(),
        "rule that matches its class and origin:".to_string(),
    ];
    lines.extend(plans.iter().map(|p| format!("  {}: {}", p.group, p.matches())));
    lines.extend([
        String::new(),
        "Priority 0 holds the weighted targets (weights in percent), priority k the k-th fallback of every target."
            .to_string(),
        "A BackendTrafficPolicy per route sets the retries (max_attempts - 1) and the per-attempt timeout.".to_string(),
        String::new(),
        "Not written here (no credentials, no hosts): create".to_string(),
        format!("  the Gateway `{GATEWAY}` (or change parentRefs),"),
        "  a Backend (gateway.envoyproxy.io/v1alpha1) per AIServiceBackend, with the provider's regional host:"
            .to_string(),
    ]);
    let backends: Vec<&str> = names.0.iter().map(|(_, n)| n.as_str()).collect();
    lines.extend(backends.chunks(4).map(|c| format!("    {}", c.join(" "))));
    lines.push("  a Secret per provider with the API key under `apiKey`:".to_string());
    let secrets: Vec<String> = providers.iter().map(|p| format!("{}-api-key", slug(p))).collect();
    lines.push(format!("    {}", secrets.join(" ")));
    lines.extend([String::new(), "Edit the policy and export again rather than editing this file.".to_string()]);
    lines
}
