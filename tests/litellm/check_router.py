"""Load a switchyard-exported LiteLLM config into LiteLLM's own Router and count the split.

Usage: check_router.py CONFIG.yaml [--requests N] [--seed S] [--group NAME ...]

For every model group that holds a deployment with a `weight` (or only the groups named with
--group), sends N mocked completions (`mock_response`, so nothing leaves the process) through
`Router.acompletion` and counts which deployment served each one, by `model_info.id` (LiteLLM
returns it in the response's hidden params). For every group with `router_settings.fallbacks`, sends one request with
`mock_testing_fallbacks=True` (LiteLLM fails the first attempt on purpose) and records which
deployment served it. Prints one JSON object on stdout:

  {"litellm_version": "...", "requests_per_group": N,
   "counts": {group: {deployment_id: count}}, "fallback_served_by": {group: deployment_id}}

tests/it/litellm.rs runs this with the interpreter from SWITCHYARD_LITELLM_PYTHON and compares the
counts with the exported weights.
"""

import argparse
import asyncio
import json
import os
import random
import sys

# LiteLLM fetches its model cost map over the network on import unless told to use the local copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")

import yaml  # noqa: E402  (LiteLLM depends on PyYAML)
import litellm  # noqa: E402
from importlib.metadata import version  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--group", action="append", help="count only these groups (default: every weighted group)")
    args = parser.parse_args()
    return asyncio.run(run(args))


async def run(args) -> int:
    with open(args.config, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    model_list = config["model_list"]
    router_settings = config.get("router_settings") or {}
    router = litellm.Router(model_list=model_list, **router_settings)

    # simple-shuffle draws with Python's global `random`; seed it so a run can be repeated.
    random.seed(args.seed)
    weighted_groups = []
    for deployment in model_list:
        group = deployment["model_name"]
        wanted = args.group is None or group in args.group
        if wanted and "weight" in deployment["litellm_params"] and group not in weighted_groups:
            weighted_groups.append(group)

    messages = [{"role": "user", "content": "ping"}]
    counts = {}
    for group in weighted_groups:
        per_deployment = {}
        for _ in range(args.requests):
            # The async path is about twice as fast as `completion` (no thread hand-off per call).
            response = await router.acompletion(model=group, messages=messages, mock_response="ok")
            served_by = response._hidden_params["model_id"]
            per_deployment[served_by] = per_deployment.get(served_by, 0) + 1
        counts[group] = per_deployment

    fallback_served_by = {}
    for entry in router_settings.get("fallbacks") or []:
        for group in entry:
            response = await router.acompletion(
                model=group, messages=messages, mock_response="ok", mock_testing_fallbacks=True
            )
            fallback_served_by[group] = response._hidden_params["model_id"]

    json.dump(
        {
            "litellm_version": version("litellm"),
            "requests_per_group": args.requests,
            "counts": counts,
            "fallback_served_by": fallback_served_by,
        },
        sys.stdout,
        indent=1,
        sort_keys=True,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
