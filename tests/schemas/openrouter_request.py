"""Validate switchyard's OpenRouter request fragments against OpenRouter's published OpenAPI
document, and print one JSON report.

Usage: openrouter_request.py OPENAPI.yaml EXPORT.json [EXPORT.json ...]

EXPORT.json is an `openrouter-provider.json` export: {"rules": [{"name", "request": {...}}, ...]}.
Each rule's `request` is merged into a minimal chat completion body ({"messages": [one user
message]}), as the file tells users to do, and the body is validated against the request schema of
`POST /chat/completions` in OPENAPI.yaml (tests/fixtures/openrouter/openapi.yaml; an OpenAPI 3.1
document, whose schemas are JSON Schema 2020-12). The request schema itself leaves unknown top-level
fields open (OpenRouter passes some through to providers), so each fragment's own keys must also be
properties the schema documents: a misspelt field would otherwise pass and be ignored.

Prints: {"spec": {"title", "version", "openapi", "request_schema"}, "rules": [{"file", "name",
"keys", "errors": [...]}]}. Exits 0 whether or not there are errors: the caller
(tests/it/schemas.rs) reads the report.
"""

import json
import os
import sys

import jsonschema
import yaml

# libyaml's loader where PyYAML has it: the vendored files are over a megabyte.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PING = {"messages": [{"role": "user", "content": "ping"}]}


def request_schema_ref(spec):
    body = spec["paths"]["/chat/completions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return body["$ref"]


def resolve(spec, ref):
    node = spec
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = yaml.load(f, Loader=LOADER)
    ref = request_schema_ref(spec)
    documented = set(resolve(spec, ref).get("properties", {}))
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": spec["components"],
        "$ref": ref,
    }
    validator = jsonschema.Draft202012Validator(schema)
    rules = []
    for file in sys.argv[2:]:
        with open(file, encoding="utf-8") as f:
            export = json.load(f)
        for rule in export.get("rules", []):
            fragment = rule.get("request")
            errors = []
            if not isinstance(fragment, dict):
                errors.append("`request` is not an object")
                fragment = {}
            for key in sorted(set(fragment) - documented):
                errors.append(f"`{key}` is not a documented chat completion request field")
            body = {**PING, **fragment}
            for e in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
                where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path) or "."
                errors.append(f"{where}: {e.message}")
            rules.append({"file": os.path.basename(file), "name": rule.get("name"), "keys": sorted(fragment), "errors": errors})
    info = spec.get("info", {})
    json.dump(
        {
            "spec": {"title": info.get("title"), "version": info.get("version"), "openapi": spec.get("openapi"), "request_schema": ref},
            "rules": rules,
        },
        sys.stdout,
        indent=1,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
