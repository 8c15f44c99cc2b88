"""Validate Kubernetes resources against the CustomResourceDefinitions that declare them, as the API
server would on create, and print one JSON report.

Usage: envoy_crds.py CRD_DIR RESOURCES.yaml [RESOURCES.yaml ...]

CRD_DIR holds CRD YAML files (tests/fixtures/envoy-crds/). For every document of every RESOURCES
file (comment-only documents are skipped):

1. its apiVersion and kind must name a CRD version that is served (a deprecated one is reported);
2. metadata.name must be a DNS-1123 subdomain (what the API server requires of a custom resource);
3. the schema's defaults are applied, as the API server does before validating;
4. the document must validate against the version's openAPIV3Schema (JSON Schema draft 4, the dialect
   of OpenAPI v3.0), made strict: an object schema with `properties` and no `additionalProperties` or
   `x-kubernetes-preserve-unknown-fields` rejects other fields, as `kubectl apply` (strict field
   validation) does, where the API server would otherwise drop them silently;
5. `x-kubernetes-list-type: set | map` lists must not repeat an item or a map key;
6. every `x-kubernetes-validations` CEL rule whose node is present is evaluated with `self` bound to
   that node (the `cel` package). A rule that uses `oldSelf` is a transition rule, which the API
   server skips on create, and so is it here; a rule the CEL library cannot evaluate (a Kubernetes
   extension function it lacks, say) is listed as not evaluated, with the reason.
7. references inside the file: every AIGatewayRoute backendRef without a group names an
   AIServiceBackend of the file, every BackendSecurityPolicy targetRef an AIServiceBackend of the
   file, and every BackendTrafficPolicy targetRef of kind HTTPRoute the route an AIGatewayRoute of
   the file generates (the same name).

Prints: {"crds": [{"file", "kind", "versions"}], "documents": [{"file", "index", "kind", "name",
"errors": [...]}], "cel": {"evaluated": N, "transition_rules_skipped": N, "not_applicable": N,
"not_evaluated": [{"kind", "path", "rule", "why"}]}}. Exits 0 whether or not there are errors: the
caller (tests/it/schemas.rs) reads the report.
"""

import copy
import json
import os
import re
import sys

import cel
import jsonschema
import yaml

# libyaml's loader where PyYAML has it: the vendored files are over a megabyte.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def load_crds(directory):
    crds = {}
    listing = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            crd = yaml.load(f, Loader=LOADER)
        if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        versions = []
        for v in crd["spec"]["versions"]:
            crds[(group, v["name"], kind)] = v
            versions.append({"name": v["name"], "served": v.get("served", False), "storage": v.get("storage", False)})
        listing.append({"file": name, "kind": kind, "group": group, "versions": versions})
    return crds, listing


def strict(schema):
    """A copy of a structural schema in which objects with declared properties take no others."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {k: strict(v) for k, v in out["properties"].items()}
        if "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if isinstance(out.get("items"), dict):
        out["items"] = strict(out["items"])
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = strict(out["additionalProperties"])
    # allOf / anyOf / oneOf / not are left as they are: in a structural schema they may not declare
    # properties of their own, so closing them would reject fields the main schema allows.
    return out


def apply_defaults(schema, value):
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and isinstance(sub, dict) and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                apply_defaults(sub, value[key])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in value:
                if key not in (schema.get("properties") or {}):
                    apply_defaults(extra, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(schema["items"], item)


def list_type_errors(schema, value, path, errors):
    if not isinstance(schema, dict):
        return
    if isinstance(value, list):
        kind = schema.get("x-kubernetes-list-type")
        if kind == "set":
            seen = []
            for item in value:
                if item in seen:
                    errors.append(f"{path}: list-type set repeats {json.dumps(item)}")
                seen.append(item)
        elif kind == "map":
            keys = schema.get("x-kubernetes-list-map-keys") or []
            seen = []
            for item in value:
                k = tuple(item.get(key) if isinstance(item, dict) else None for key in keys)
                if k in seen:
                    errors.append(f"{path}: list-type map repeats the key {dict(zip(keys, k))}")
                seen.append(k)
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                list_type_errors(schema["items"], item, f"{path}[{i}]", errors)
    elif isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, item in value.items():
            sub = props.get(key, schema.get("additionalProperties"))
            list_type_errors(sub, item, f"{path}.{key}", errors)


def cel_rules(schema, value, path, kind, stats, errors):
    if not isinstance(schema, dict):
        return
    for rule in schema.get("x-kubernetes-validations") or []:
        text = rule["rule"]
        if re.search(r"\boldSelf\b", text):
            stats["transition_rules_skipped"] += 1
            continue
        try:
            result = cel.evaluate(text, {"self": value})
        except Exception as e:  # the library lacks a function, or cannot read a value
            stats["not_evaluated"].append({"kind": kind, "path": path or ".", "rule": text, "why": f"{type(e).__name__}: {e}"})
            continue
        stats["evaluated"] += 1
        if result is not True:
            message = rule.get("message") or rule.get("messageExpression") or "failed rule"
            errors.append(f"{path or '.'}: {message} (rule `{text}` gave {result!r})")
    for junctor in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(junctor) or []:
            cel_rules(sub, value, path, kind, stats, errors)
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, sub in props.items():
            if key in value:
                cel_rules(sub, value[key], f"{path}.{key}", kind, stats, errors)
            else:
                stats["not_applicable"] += count_rules(sub)
        if isinstance(extra, dict):
            for key, item in value.items():
                if key not in props:
                    cel_rules(extra, item, f"{path}.{key}", kind, stats, errors)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        if not value:
            stats["not_applicable"] += count_rules(schema["items"])
        for i, item in enumerate(value):
            cel_rules(schema["items"], item, f"{path}[{i}]", kind, stats, errors)


def count_rules(schema):
    """Rules in a schema subtree (for the report: rules whose node the document does not have)."""
    if isinstance(schema, dict):
        n = len(schema.get("x-kubernetes-validations") or [])
        return n + sum(count_rules(v) for k, v in schema.items() if k != "x-kubernetes-validations")
    if isinstance(schema, list):
        return sum(count_rules(v) for v in schema)
    return 0


def reference_errors(documents):
    names = {}
    for _, _, doc in documents:
        if isinstance(doc, dict):
            names.setdefault(doc.get("kind"), set()).add((doc.get("metadata") or {}).get("name"))
    errors = []
    for file, index, doc in documents:
        if not isinstance(doc, dict):
            continue
        kind, spec = doc.get("kind"), doc.get("spec") or {}
        where = f"{os.path.basename(file)}#{index} {kind} {(doc.get('metadata') or {}).get('name')}"
        if kind == "AIGatewayRoute":
            for r, rule in enumerate(spec.get("rules") or []):
                for ref in rule.get("backendRefs") or []:
                    if "group" not in ref and ref.get("name") not in names.get("AIServiceBackend", set()):
                        errors.append(f"{where}: rules[{r}] backendRef `{ref.get('name')}` is no AIServiceBackend of the file")
        if kind == "BackendSecurityPolicy":
            for ref in spec.get("targetRefs") or []:
                if ref.get("kind") == "AIServiceBackend" and ref.get("name") not in names.get("AIServiceBackend", set()):
                    errors.append(f"{where}: targetRef `{ref.get('name')}` is no AIServiceBackend of the file")
        if kind == "BackendTrafficPolicy":
            for ref in spec.get("targetRefs") or []:
                if ref.get("kind") == "HTTPRoute" and ref.get("name") not in names.get("AIGatewayRoute", set()):
                    errors.append(f"{where}: targetRef HTTPRoute `{ref.get('name')}` is generated by no AIGatewayRoute of the file")
    return errors


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    crds, listing = load_crds(sys.argv[1])
    stats = {"evaluated": 0, "transition_rules_skipped": 0, "not_applicable": 0, "not_evaluated": []}
    documents = []
    for file in sys.argv[2:]:
        with open(file, encoding="utf-8") as f:
            for index, doc in enumerate(yaml.load_all(f, Loader=LOADER)):
                if doc is not None:
                    documents.append((file, index, doc))
    report = []
    validators = {}
    for file, index, doc in documents:
        errors = []
        kind = doc.get("kind") if isinstance(doc, dict) else None
        name = ((doc.get("metadata") or {}).get("name") if isinstance(doc, dict) else None)
        entry = {"file": os.path.basename(file), "index": index, "kind": kind, "name": name, "errors": errors}
        report.append(entry)
        if not isinstance(doc, dict):
            errors.append("the document is not a mapping")
            continue
        group, _, version = str(doc.get("apiVersion", "")).rpartition("/")
        crd = crds.get((group, version, kind))
        if crd is None:
            errors.append(f"no CRD declares {doc.get('apiVersion')} {kind}")
            continue
        if not crd.get("served", False):
            errors.append(f"{doc.get('apiVersion')} {kind} is not served")
        if crd.get("deprecated"):
            errors.append(f"{doc.get('apiVersion')} {kind} is deprecated: {crd.get('deprecationWarning', '')}")
        if not isinstance(name, str) or len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
            errors.append(f"metadata.name `{name}` is not a DNS-1123 subdomain")
        schema = crd["schema"]["openAPIV3Schema"]
        doc = copy.deepcopy(doc)
        apply_defaults(schema, doc)
        key = (group, version, kind)
        if key not in validators:
            validators[key] = jsonschema.Draft4Validator(strict(schema))
        for e in sorted(validators[key].iter_errors(doc), key=lambda e: list(e.absolute_path)):
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path) or "."
            errors.append(f"{where}: {e.message}")
        list_type_errors(schema, doc, "", errors)
        cel_rules(schema, doc, "", kind, stats, errors)
    for message in reference_errors(documents):
        report.append({"file": "", "index": -1, "kind": "references", "name": None, "errors": [message]})
    json.dump({"crds": listing, "documents": report, "cel": stats}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
