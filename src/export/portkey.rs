//! Portkey gateway config (JSON): the whole policy as one config, because Portkey applies one config
//! per request (its id in the `x-portkey-config` header or the SDK's `config`).
//!
//! Shape: a `conditional` strategy whose conditions are the rules' match lists, in rule order, over
//! request metadata (`metadata.class`, `metadata.origin_region`, with `$in`); each rule is a named
//! target with a `loadbalance` strategy over its weighted targets; a target with fallbacks is a
//! nested `fallback` strategy over the target and its chain (cut to the rule's attempt limit). Each
//! endpoint is a provider slug `@<provider>-<region>` from Portkey's Model Catalog plus
//! `override_params.model`, so the config holds no keys. `request_timeout` (milliseconds) on the rule
//! applies to every attempt below it.
//!
//! Format references: https://portkey.ai/docs/product/ai-gateway/configs,
//! https://portkey.ai/docs/product/ai-gateway/conditional-routing (conditions, `$in`, `$and`,
//! `default`), https://portkey.ai/docs/product/ai-gateway/load-balancing,
//! https://portkey.ai/docs/product/ai-gateway/fallbacks,
//! https://portkey.ai/docs/product/ai-gateway/request-timeouts and the config object's JSON schema
//! (`additionalProperties: false`, so nothing else is written) in the docs' source,
//! https://github.com/Portkey-AI/docs-core, `aigw/api-reference/inference-api/config-object.mdx`.
//!
//! What Portkey cannot express: a request that no rule matches still needs a `default` target, and
//! its request timeout stops at the first streamed chunk.
//!
//! Model Catalog slugs are resolved by Portkey's hosted gateway only: the open-source gateway refuses
//! them and takes a built-in provider and its key per leaf instead. tests/it/portkey.rs runs the
//! config through the open-source gateway with only those leaves rewritten (docs/exports.md).

use serde_json::{Map, Value, json};

use super::{Export, Exporter, RulePlan, TargetPlan, millis, plan, slug};
use crate::catalog::{Catalog, Endpoint};
use crate::error::Result;
use crate::policy::Policy;

pub struct Portkey;

impl Exporter for Portkey {
    fn name(&self) -> &'static str {
        "portkey"
    }

    fn file_name(&self) -> &'static str {
        "portkey-config.json"
    }

    fn export(&self, policy: &Policy, catalog: &Catalog) -> Result<Export> {
        let plans = plan(policy, catalog)?;
        let mut lost = Vec::new();
        // Validated policies have at most one catch-all rule, and it is the last.
        let last = plans.len() - 1;
        let catch_all = plans[last].rule.classes.is_none() && plans[last].rule.origins.is_none();
        if !catch_all {
            lost.push(format!(
                "Portkey needs a default target: requests that match no rule go to rule `{}` ({}), where switchyard \
                 would reject the trace",
                plans[last].rule.name, plans[last].group
            ));
        }
        let conditions: Vec<Value> = plans
            .iter()
            .filter(|p| p.rule.classes.is_some() || p.rule.origins.is_some())
            .map(|p| json!({ "query": query(p), "then": p.group }))
            .collect();
        let mut targets = Vec::new();
        for p in &plans {
            let mut node = Map::new();
            node.insert("name".into(), p.group.clone().into());
            node.insert("strategy".into(), json!({ "mode": "loadbalance" }));
            if let Some(t) = p.rule.timeout_s {
                let (ms, exact) = millis(t);
                if !exact {
                    lost.push(format!(
                        "rule `{}`: Portkey timeouts are whole milliseconds; {t} s written as {ms} ms",
                        p.rule.name
                    ));
                }
                node.insert("request_timeout".into(), ms.into());
            }
            node.insert("targets".into(), p.targets.iter().map(target).collect::<Vec<_>>().into());
            targets.push(Value::Object(node));
        }
        if plans.iter().any(|p| p.rule.timeout_s.is_some()) {
            lost.push(
                "Portkey's request_timeout stops counting at the first streamed chunk; switchyard's timeout_s bounds \
                 the whole attempt"
                    .to_string(),
            );
        }
        let config = json!({
            "strategy": { "mode": "conditional", "conditions": conditions, "default": plans[last].group },
            "targets": targets,
        });
        let text = serde_json::to_string_pretty(&config).map_err(|e| super::format_error("portkey", e))? + "\n";
        Ok(Export { text, lost })
    }
}

/// The condition for a rule's match lists: class and origin as request metadata.
fn query(p: &RulePlan) -> Value {
    let mut parts = Vec::new();
    if let Some(classes) = &p.rule.classes {
        parts.push(json!({ "metadata.class": { "$in": classes } }));
    }
    if let Some(origins) = &p.rule.origins {
        parts.push(json!({ "metadata.origin_region": { "$in": origins } }));
    }
    if parts.len() == 1 { parts.remove(0) } else { json!({ "$and": parts }) }
}

/// A weighted target: the endpoint alone, or a fallback strategy over it and its chain.
fn target(t: &TargetPlan) -> Value {
    if t.chain.is_empty() {
        let mut leaf = leaf(t.endpoint);
        leaf.insert("weight".into(), t.weight.into());
        return Value::Object(leaf);
    }
    let chain: Vec<Value> =
        std::iter::once(t.endpoint).chain(t.chain.iter().copied()).map(|e| leaf(e).into()).collect();
    json!({ "weight": t.weight, "strategy": { "mode": "fallback" }, "targets": chain })
}

/// One endpoint: its Model Catalog provider slug and the model to request.
fn leaf(e: &Endpoint) -> Map<String, Value> {
    let mut leaf = Map::new();
    leaf.insert("provider".into(), format!("@{}-{}", slug(&e.provider), slug(&e.region)).into());
    leaf.insert("override_params".into(), json!({ "model": e.model }));
    leaf
}
