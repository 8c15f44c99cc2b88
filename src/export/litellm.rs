//! LiteLLM proxy `config.yaml`: one model group per rule, one weighted deployment per target,
//! fallback endpoints as single-deployment groups, `router_settings` for the router.
//!
//! Format references (checked against LiteLLM 1.82.6, the version tests/litellm pins):
//! https://docs.litellm.ai/docs/proxy/configs (`model_list`, `litellm_params`, `os.environ/` values,
//! `model_info.id`), https://docs.litellm.ai/docs/routing (`weight` under the `simple-shuffle`
//! strategy, `fallbacks`, `num_retries`, per-deployment `timeout`) and
//! https://docs.litellm.ai/docs/router/api_reference/configuration (`router_settings` are the
//! arguments of `litellm.Router`). The file loads both as `litellm --config` and as
//! `litellm.Router(model_list=..., **router_settings)`, which is what tests/it/litellm.rs checks.
//!
//! What LiteLLM cannot express: fallbacks belong to a model group, not to a deployment, so a rule's
//! targets all share the chain of its heaviest target; it does not see request classes or origins,
//! so the caller picks the group.

use serde_json::{Map, Value, json};

use super::{
    Export, Exporter, RulePlan, api_base_env, api_key_env, caller_picks_group, header, plan, route, unique_names,
};
use crate::catalog::{Catalog, Endpoint};
use crate::error::Result;
use crate::policy::Policy;
use crate::yaml;

pub struct LiteLlm;

impl Exporter for LiteLlm {
    fn name(&self) -> &'static str {
        "litellm"
    }

    fn file_name(&self) -> &'static str {
        "litellm-config.yaml"
    }

    fn export(&self, policy: &Policy, catalog: &Catalog) -> Result<Export> {
        let plans = plan(policy, catalog)?;
        let mut lost = vec![caller_picks_group("LiteLLM")];
        let fallback_groups = fallback_group_names(&plans);
        let mut model_list: Vec<Value> = Vec::new();
        let mut fallbacks: Vec<Value> = Vec::new();
        for (p, fallback_groups) in plans.iter().zip(&fallback_groups) {
            let timeout = p.rule.timeout_s;
            for t in &p.targets {
                if t.weight > 0.0 {
                    model_list.push(deployment(&p.group, t.endpoint, Some(t.weight), timeout));
                } else {
                    lost.push(format!(
                        "rule `{}`: target {} has weight 0 and was left out (LiteLLM cannot draw from a group whose \
                         remaining deployments all weigh 0)",
                        p.rule.name, t.endpoint.id
                    ));
                }
            }
            let heaviest = &p.targets[p.heaviest()];
            for (group, endpoint) in fallback_groups.iter().zip(&heaviest.chain) {
                model_list.push(deployment(group, endpoint, None, timeout));
            }
            if !fallback_groups.is_empty() {
                fallbacks.push(json!({ p.group.clone(): fallback_groups }));
            }
            if !p.chains_agree() {
                let others: Vec<String> = p
                    .targets
                    .iter()
                    .filter(|t| t.chain.iter().map(|e| &e.id).ne(heaviest.chain.iter().map(|e| &e.id)))
                    .map(|t| format!("{} ({})", t.endpoint.id, route(&t.chain)))
                    .collect();
                lost.push(format!(
                    "rule `{}`: LiteLLM falls back per model group, so group {} uses the chain of its heaviest target \
                     {} ({}) for every target; these targets' own chains are not used: {}",
                    p.rule.name,
                    p.group,
                    heaviest.endpoint.id,
                    route(&heaviest.chain),
                    others.join(", ")
                ));
            }
        }
        lost.push(
            "LiteLLM puts a deployment that keeps failing into cooldown (allowed_fails, cooldown_time) and shifts its \
             share to the others; switchyard's replay draws every request from the weights as given"
                .to_string(),
        );
        let mut router_settings = Map::new();
        router_settings.insert("routing_strategy".into(), "simple-shuffle".into());
        // Every attempt a rule allows is already in its fallback list (cut to max_attempts - 1).
        router_settings.insert("num_retries".into(), 0.into());
        if !fallbacks.is_empty() {
            router_settings.insert("fallbacks".into(), fallbacks.into());
        }
        let config = json!({ "model_list": model_list, "router_settings": router_settings });
        let text = header(policy, catalog, &about(&plans)) + &yaml::to_string(&config, "LiteLLM config")?;
        Ok(Export { text, lost })
    }
}

/// Per rule, the names of the groups holding its fallback endpoints: `<group>-fallback-<n>`, kept
/// apart from every other group name.
fn fallback_group_names(plans: &[RulePlan]) -> Vec<Vec<String>> {
    let primary: Vec<String> = plans.iter().map(|p| p.group.clone()).collect();
    let candidates = plans
        .iter()
        .flat_map(|p| (1..=p.targets[p.heaviest()].chain.len()).map(move |k| format!("{}-fallback-{k}", p.group)));
    let mut unique = unique_names(primary.iter().cloned().chain(candidates)).into_iter().skip(primary.len());
    plans.iter().map(|p| unique.by_ref().take(p.targets[p.heaviest()].chain.len()).collect()).collect()
}

/// One deployment of an endpoint in a group. `model_info.id` is `<group>:<endpoint id>`: unique per
/// deployment (LiteLLM indexes deployments by it), and it names the switchyard endpoint.
fn deployment(group: &str, endpoint: &Endpoint, weight: Option<f64>, timeout_s: Option<f64>) -> Value {
    let mut params = Map::new();
    params.insert("model".into(), format!("{}/{}", provider_prefix(&endpoint.provider), endpoint.model).into());
    params.insert("api_base".into(), format!("os.environ/{}", api_base_env(endpoint)).into());
    params.insert("api_key".into(), format!("os.environ/{}", api_key_env(endpoint)).into());
    if let Some(w) = weight {
        params.insert("weight".into(), w.into());
    }
    if let Some(t) = timeout_s {
        params.insert("timeout".into(), t.into());
    }
    json!({
        "model_name": group,
        "litellm_params": params,
        "model_info": { "id": format!("{group}:{}", endpoint.id) },
    })
}

/// LiteLLM's provider prefix for a catalog provider; an unknown provider is called as an
/// OpenAI-compatible API at its `api_base`.
fn provider_prefix(provider: &str) -> &'static str {
    match provider.to_ascii_lowercase().as_str() {
        "deepseek" => "deepseek",
        "alibaba" | "dashscope" | "qwen" => "dashscope",
        "moonshot" | "moonshotai" => "moonshot",
        "zhipu" | "zai" | "z-ai" | "z.ai" => "zai",
        "anthropic" => "anthropic",
        "mistral" => "mistral",
        "groq" => "groq",
        _ => "openai",
    }
}

fn about(plans: &[RulePlan]) -> Vec<String> {
    let mut lines = vec![
        "LiteLLM proxy config: `litellm --config litellm-config.yaml`, or in Python".to_string(),
        "litellm.Router(model_list=config[\"model_list\"], **config[\"router_settings\"]).".to_string(),
        String::new(),
        "Each switchyard rule is a model group; the weights are the rule's (LiteLLM normalises them).".to_string(),
        "Clients pick the group by model name: send each request with the group of the first rule".to_string(),
        "that matches its class and origin:".to_string(),
    ];
    lines.extend(plans.iter().map(|p| format!("  {}: {}", p.group, p.matches())));
    lines.extend([
        String::new(),
        "A rule's fallbacks are single-deployment groups `<group>-fallback-<n>`, tried in order after".to_string(),
        "a failure or timeout (router_settings.fallbacks); num_retries is 0 because that list already".to_string(),
        "holds every attempt the rule allows. `timeout` is the rule's per-attempt timeout in seconds.".to_string(),
        String::new(),
        "No credentials are written. Set these environment variables where LiteLLM runs:".to_string(),
    ]);
    let mut env: Vec<String> = plans
        .iter()
        .flat_map(|p| {
            let primaries = p.targets.iter().filter(|t| t.weight > 0.0).map(|t| t.endpoint);
            primaries.chain(p.targets[p.heaviest()].chain.iter().copied())
        })
        .flat_map(|e| [api_key_env(e), api_base_env(e)])
        .collect();
    env.sort();
    env.dedup();
    lines.extend(env.chunks(3).map(|c| format!("  {}", c.join(" "))));
    lines.extend([String::new(), "Edit the policy and export again rather than editing this file.".to_string()]);
    lines
}
