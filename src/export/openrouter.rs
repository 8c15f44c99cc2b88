//! OpenRouter request fragments (JSON): per rule, the `models` fallback list and the `provider`
//! routing preferences to merge into each chat completion request the rule routes.
//!
//! OpenRouter has no gateway config: routing is chosen per request. So the file lists the rules in
//! order (first match wins, as in switchyard) with their match lists and a `request` object:
//! `model` and `models` (OpenRouter tries them in order), and `provider: {order, allow_fallbacks}`
//! (providers in order of the weight they carry, then the chains' providers). Model ids are
//! `<author>/<catalog model>` and provider slugs are mapped from the catalog's providers; check them
//! against OpenRouter's model list when the catalog's names differ from OpenRouter's.
//!
//! Format references: https://openrouter.ai/docs/features/provider-routing (`provider.order`,
//! `allow_fallbacks`, `only`, `ignore`, `sort`) and https://openrouter.ai/docs/guides/routing/llms-full.txt
//! (section "Model Fallbacks": the `models` list).
//!
//! What OpenRouter cannot express: weights (it tries in order), regions, per-attempt timeouts and
//! attempt limits.

use serde_json::json;

use super::{Export, Exporter, RulePlan, TargetPlan, plan, slug};
use crate::catalog::{Catalog, Endpoint};
use crate::error::Result;
use crate::policy::Policy;

pub struct OpenRouter;

impl Exporter for OpenRouter {
    fn name(&self) -> &'static str {
        "openrouter"
    }

    fn file_name(&self) -> &'static str {
        "openrouter-provider.json"
    }

    fn export(&self, policy: &Policy, catalog: &Catalog) -> Result<Export> {
        let plans = plan(policy, catalog)?;
        let mut lost = Vec::new();
        let mut rules = Vec::new();
        for p in &plans {
            let order = by_weight(p);
            let mut models: Vec<String> = Vec::new();
            let mut providers: Vec<String> = Vec::new();
            for e in attempt_order(p, &order) {
                let (model, provider) = (model_id(e), provider_slug(&e.provider));
                if !models.contains(&model) {
                    models.push(model);
                }
                if !providers.contains(&provider) {
                    providers.push(provider);
                }
            }
            if p.targets.len() > 1 {
                let split: Vec<String> = order.iter().map(|t| format!("{} {}", t.endpoint.id, t.weight)).collect();
                lost.push(format!(
                    "rule `{}`: OpenRouter has no weights: it tries {} first for all the traffic it can serve, where the \
                     policy splits {}",
                    p.rule.name,
                    models[0],
                    split.join(", ")
                ));
            }
            let mut matches = serde_json::Map::new();
            if let Some(c) = &p.rule.classes {
                matches.insert("class".into(), json!(c));
            }
            if let Some(o) = &p.rule.origins {
                matches.insert("origin".into(), json!(o));
            }
            rules.push(json!({
                "name": p.rule.name,
                "group": p.group,
                "match": matches,
                "request": {
                    "model": models[0],
                    "models": models,
                    "provider": { "order": providers, "allow_fallbacks": true },
                },
            }));
        }
        lost.push(
            "OpenRouter does not route by region: each endpoint is reduced to its model, and OpenRouter picks the \
             provider's region"
                .to_string(),
        );
        if plans.iter().any(|p| p.rule.timeout_s.is_some()) {
            lost.push(
                "OpenRouter takes no per-attempt timeout in the request: the rules' timeout_s are not expressed"
                    .to_string(),
            );
        }
        lost.push(
            "OpenRouter decides how many providers and models it tries: max_attempts is not expressed".to_string(),
        );
        let document = json!({
            "generated_by": format!(
                "switchyard {} from policy `{}` ({}) over catalog `{}`",
                env!("CARGO_PKG_VERSION"), policy.name, policy.source, catalog.name
            ),
            "usage": "For each request take the first rule whose match fits its class and origin (a missing key \
                      matches any) and merge the rule's `request` into the chat completion request body.",
            "rules": rules,
        });
        let text = serde_json::to_string_pretty(&document).map_err(|e| super::format_error("openrouter", e))? + "\n";
        Ok(Export { text, lost })
    }
}

/// The rule's targets, heaviest first (equal weights keep their order).
fn by_weight<'p, 'a>(p: &'p RulePlan<'a>) -> Vec<&'p TargetPlan<'a>> {
    let mut order: Vec<&TargetPlan> = p.targets.iter().collect();
    order.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    order
}

/// Targets by weight, then the chains level by level.
fn attempt_order<'a>(p: &RulePlan<'a>, order: &[&TargetPlan<'a>]) -> Vec<&'a Endpoint> {
    let mut out: Vec<&Endpoint> = order.iter().map(|t| t.endpoint).collect();
    let levels = p.targets.iter().map(|t| t.chain.len()).max().unwrap_or(0);
    for level in 0..levels {
        out.extend(order.iter().filter_map(|t| t.chain.get(level).copied()));
    }
    out
}

/// OpenRouter's model id: `<author>/<model>`.
fn model_id(e: &Endpoint) -> String {
    let author = match e.provider.to_ascii_lowercase().as_str() {
        "alibaba" | "dashscope" | "qwen" => "qwen".to_string(),
        "moonshot" | "moonshotai" => "moonshotai".to_string(),
        "zhipu" | "zai" | "z-ai" | "z.ai" => "z-ai".to_string(),
        other => slug(other),
    };
    format!("{author}/{}", e.model)
}

/// OpenRouter's provider slug for a catalog provider.
fn provider_slug(provider: &str) -> String {
    match provider.to_ascii_lowercase().as_str() {
        "dashscope" | "qwen" => "alibaba".to_string(),
        "moonshot" | "moonshotai" => "moonshotai".to_string(),
        "zhipu" | "zai" | "z-ai" | "z.ai" => "z-ai".to_string(),
        other => slug(other),
    }
}
