//! Portkey gateway configs (JSON), in two flavours that differ only in how each endpoint is named:
//!
//! * `portkey` (`portkey-config.json`), for Portkey's hosted gateway: each endpoint is a provider
//!   slug `@<provider>-<region>` from Portkey's Model Catalog plus `override_params.model`; the
//!   keys stay in Portkey. Only the hosted gateway resolves those slugs.
//! * `portkey-oss` (`portkey-oss-config.json`), for the open-source gateway the user runs
//!   (`npx @portkey-ai/gateway`): each endpoint is the built-in provider `openai` with
//!   `custom_host`, the endpoint's `base_url` from the catalog, and `override_params.model`. The
//!   config holds no key: `forward_headers: ["authorization"]` at the top, inherited by every
//!   target, passes the client's `Authorization` header to whichever endpoint a request reaches.
//!   Each endpoint also says `retry: {attempts: 0}`: the rule's attempts are already its fallback
//!   chain, and the gateway's schema wants a target with a provider to carry a key or one of
//!   `retry`, `cache`, `request_timeout`.
//!
//! Why `openai` for every endpoint, not Portkey's own provider where it has one (`deepseek`,
//! `dashscope`, `moonshot`, `zhipu`): a `base_url` is the endpoint's OpenAI-compatible base, which
//! the `openai` provider calls as written (`<custom_host>/chat/completions`). Portkey's own
//! adapters append other paths (`deepseek` and `moonshot` add `/v1/chat/completions`, so the same
//! `custom_host` means a different URL) and rewrite requests and answers (the 1.15.2 `deepseek`
//! adapter keeps only each choice's role and content, dropping tool calls). `openai` with
//! `custom_host` is how Portkey's own guides call a self-hosted OpenAI-compatible server
//! (https://portkey.ai/docs/integrations/llms/vllm).
//!
//! The shape, shared: the whole policy as one config, because Portkey applies one config per
//! request (its id or JSON in the `x-portkey-config` header, or the SDK's `config`). A
//! `conditional` strategy whose conditions are the rules' match lists, in rule order, over request
//! metadata (`metadata.class`, `metadata.origin_region`, with `$in`); each rule is a named target
//! with a `loadbalance` strategy over its weighted targets; a target with fallbacks is a nested
//! `fallback` strategy over the target and its chain (cut to the rule's attempt limit).
//! `request_timeout` (milliseconds) on the rule applies to every attempt below it.
//!
//! Format references: https://portkey.ai/docs/product/ai-gateway/configs,
//! https://portkey.ai/docs/product/ai-gateway/conditional-routing (conditions, `$in`, `$and`,
//! `default`), https://portkey.ai/docs/product/ai-gateway/load-balancing,
//! https://portkey.ai/docs/product/ai-gateway/fallbacks,
//! https://portkey.ai/docs/product/ai-gateway/request-timeouts and the config object's JSON schema
//! (`additionalProperties: false`, so nothing else is written) in the docs' source,
//! https://github.com/Portkey-AI/docs-core, `aigw/api-reference/inference-api/config-object.mdx`;
//! for the open-source gateway, its config schema and target handling in
//! https://github.com/Portkey-AI/gateway (`src/middlewares/requestValidator/schema/config.ts`,
//! `src/handlers/handlerUtils.ts`), version 1.15.2 as pinned in tests/portkey/package-lock.json.
//!
//! What Portkey cannot express: a request that no rule matches still needs a `default` target, and
//! its request timeout stops at the first streamed chunk. The open-source gateway passes one
//! client key to every endpoint. tests/it/portkey.rs runs `portkey-oss` through the open-source
//! gateway as written, and `portkey` to check that it objects only to the Model Catalog slugs
//! (docs/exports.md).

use serde_json::{Map, Value, json};

use super::{Export, Exporter, RulePlan, TargetPlan, millis, plan, slug};
use crate::catalog::{Catalog, Endpoint};
use crate::error::{Place, Problems, Result};
use crate::policy::Policy;

/// Which Portkey gateway reads the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gateway {
    /// Portkey's hosted gateway: endpoints are Model Catalog slugs.
    Hosted,
    /// The open-source gateway the user runs: endpoints are `openai` at the catalog's base URLs.
    OpenSource,
}

pub struct Portkey(pub Gateway);

impl Exporter for Portkey {
    fn name(&self) -> &'static str {
        match self.0 {
            Gateway::Hosted => "portkey",
            Gateway::OpenSource => "portkey-oss",
        }
    }

    fn file_name(&self) -> &'static str {
        match self.0 {
            Gateway::Hosted => "portkey-config.json",
            Gateway::OpenSource => "portkey-oss-config.json",
        }
    }

    fn check_catalog(&self, catalog: &Catalog) -> Result<()> {
        match self.0 {
            Gateway::Hosted => Ok(()),
            Gateway::OpenSource => need_base_urls(catalog, &catalog.endpoints.iter().collect::<Vec<_>>(), true),
        }
    }

    fn export(&self, policy: &Policy, catalog: &Catalog) -> Result<Export> {
        let plans = plan(policy, catalog)?;
        let used = used_endpoints(&plans, catalog);
        if self.0 == Gateway::OpenSource {
            need_base_urls(catalog, &used, false)?;
        }
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
            node.insert("targets".into(), p.targets.iter().map(|t| target(t, self.0)).collect::<Vec<_>>().into());
            targets.push(Value::Object(node));
        }
        if plans.iter().any(|p| p.rule.timeout_s.is_some()) {
            lost.push(
                "Portkey's request_timeout stops counting at the first streamed chunk; switchyard's timeout_s bounds \
                 the whole attempt"
                    .to_string(),
            );
        }
        if self.0 == Gateway::OpenSource {
            lost.extend(open_source_notes(&used));
        }
        let mut config = Map::new();
        config.insert(
            "strategy".into(),
            json!({ "mode": "conditional", "conditions": conditions, "default": plans[last].group }),
        );
        if self.0 == Gateway::OpenSource {
            // Inherited by every target below: the key travels in the client's request.
            config.insert("forward_headers".into(), json!(["authorization"]));
        }
        config.insert("targets".into(), targets.into());
        let text = serde_json::to_string_pretty(&config).map_err(|e| super::format_error(self.name(), e))? + "\n";
        Ok(Export { text, lost })
    }
}

/// The endpoints a policy's export names (targets and the chains they attempt), in catalog order.
fn used_endpoints<'a>(plans: &[RulePlan<'a>], catalog: &'a Catalog) -> Vec<&'a Endpoint> {
    let used: std::collections::BTreeSet<&str> = plans
        .iter()
        .flat_map(|p| p.targets.iter())
        .flat_map(|t| std::iter::once(t.endpoint).chain(t.chain.iter().copied()))
        .map(|e| e.id.as_str())
        .collect();
    catalog.endpoints.iter().filter(|e| used.contains(e.id.as_str())).collect()
}

/// The open-source gateway calls each endpoint at its catalog `base_url`. A catalog without any is
/// one problem; otherwise one problem per model whose endpoints among `endpoints` have none, naming
/// them. `whole_catalog`: the check before an optimizer runs, where an endpoint nobody can call is
/// better removed.
fn need_base_urls(catalog: &Catalog, endpoints: &[&Endpoint], whole_catalog: bool) -> Result<()> {
    let mut problems = Problems::default();
    let remove = if whole_catalog {
        "; the optimizer may route to any endpoint of the catalog, so remove those you cannot call"
    } else {
        ""
    };
    if endpoints.iter().all(|e| e.base_url.is_some()) {
        return Ok(());
    }
    if catalog.endpoints.iter().all(|e| e.base_url.is_none()) {
        problems.push(
            Place::default().field("base_url"),
            format!(
                "catalog `{}` gives no endpoint a `base_url`, and the open-source Portkey gateway calls each endpoint \
                 at its base URL (the target's `custom_host`)",
                catalog.name
            ),
            format!(
                "add `base_url: https://HOST/v1` (the endpoint's OpenAI-compatible base URL) to each model or region \
                 in the catalog file (`switchyard catalog default > catalog.yaml` writes the default one; pass it \
                 with `--catalog catalog.yaml`){remove}; or export `portkey` for Portkey's hosted gateway"
            ),
        );
        return problems.finish();
    }
    let mut models: Vec<(&str, Vec<&str>)> = Vec::new();
    for e in endpoints.iter().filter(|e| e.base_url.is_none()) {
        match models.iter_mut().find(|(m, _)| *m == e.model) {
            Some((_, regions)) => regions.push(&e.region),
            None => models.push((&e.model, vec![&e.region])),
        }
    }
    for (model, regions) in models {
        let ids: Vec<String> = regions.iter().map(|r| format!("{model}@{r}")).collect();
        problems.push(
            Place::default().field(format!("{model}: base_url")),
            format!(
                "catalog `{}`: {} {} no `base_url` for the open-source Portkey gateway to call",
                catalog.name,
                ids.join(", "),
                if ids.len() == 1 { "has" } else { "have" }
            ),
            format!("add `base_url: https://HOST/v1` to model `{model}` or to each of these regions{remove}"),
        );
    }
    problems.finish()
}

/// What the open-source flavour cannot tell apart or carry: one key for every provider, and
/// endpoints that share a base URL and a model (the gateway calls the same place for both).
fn open_source_notes(endpoints: &[&Endpoint]) -> Vec<String> {
    let mut notes = Vec::new();
    let mut providers: Vec<&str> = endpoints.iter().map(|e| e.provider.as_str()).collect();
    providers.sort_unstable();
    providers.dedup();
    if providers.len() > 1 {
        notes.push(format!(
            "the open-source gateway passes the client's one `Authorization` header to every endpoint, so endpoints of \
             {} providers ({}) must take the same key; otherwise the client sends no Authorization header and adds \
             `api_key` to each target of the config it sends",
            providers.len(),
            providers.join(", ")
        ));
    }
    for (i, a) in endpoints.iter().enumerate() {
        let same: Vec<&str> = endpoints[i + 1..]
            .iter()
            .filter(|b| b.base_url == a.base_url && b.model == a.model)
            .map(|b| b.id.as_str())
            .collect();
        let first = !endpoints[..i].iter().any(|b| b.base_url == a.base_url && b.model == a.model);
        if first && !same.is_empty() {
            notes.push(format!(
                "{} and {} have the same base_url and model, so the gateway calls the same place for each: give each \
                 endpoint its own base_url if they are different deployments",
                a.id,
                same.join(", ")
            ));
        }
    }
    notes
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
fn target(t: &TargetPlan, gateway: Gateway) -> Value {
    if t.chain.is_empty() {
        let mut leaf = leaf(t.endpoint, gateway);
        leaf.insert("weight".into(), t.weight.into());
        return Value::Object(leaf);
    }
    let chain: Vec<Value> =
        std::iter::once(t.endpoint).chain(t.chain.iter().copied()).map(|e| leaf(e, gateway).into()).collect();
    json!({ "weight": t.weight, "strategy": { "mode": "fallback" }, "targets": chain })
}

/// One endpoint and the model to request: its Model Catalog provider slug (hosted), or the
/// `openai` provider at its base URL, tried once (open-source; [`need_base_urls`] checked it).
fn leaf(e: &Endpoint, gateway: Gateway) -> Map<String, Value> {
    let mut leaf = Map::new();
    match gateway {
        Gateway::Hosted => {
            leaf.insert("provider".into(), format!("@{}-{}", slug(&e.provider), slug(&e.region)).into());
            leaf.insert("override_params".into(), json!({ "model": e.model }));
        }
        Gateway::OpenSource => {
            leaf.insert("provider".into(), "openai".into());
            leaf.insert("custom_host".into(), e.base_url.clone().unwrap_or_default().into());
            leaf.insert("override_params".into(), json!({ "model": e.model }));
            leaf.insert("retry".into(), json!({ "attempts": 0 }));
        }
    }
    leaf
}
