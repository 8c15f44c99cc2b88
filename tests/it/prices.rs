//! `catalog import-prices`: LiteLLM's price map read, compared with a catalog, and filled into one.

use std::path::{Path, PathBuf};
use std::process::Command;

use switchyard::catalog::Catalog;
use switchyard::catalog::prices::{check, fill, load_price_map};
use switchyard::catalog::spec::CatalogSpec;

use crate::root;

fn price_map_fixture() -> PathBuf {
    root().join("tests/fixtures/import/model_prices.json")
}

/// Prices are compared in dollars per million tokens, converted from per-token floats.
const PRICE_TOL: f64 = 1e-9;

const CATALOG: &str = "
models:
  - name: gpt-4o-mini
    ttft: {fixed: 0.5}
    decode: {constant: 50}
    availability: 0.999
    prices: {input_per_mtok: 0.15, output_per_mtok: 0.6, cached_input_per_mtok: 0.075}
    regions: {us-east-1: {}, eu-west-1: {price_scale: 1.1}}
  - name: anthropic.claude-3-haiku
    provider: bedrock
    ttft: {fixed: 0.5}
    decode: {constant: 50}
    availability: 0.999
    prices: {input_per_mtok: 0.25, output_per_mtok: 1.30}
    regions: {us-east-1: {}}
  - name: mystery
    ttft: {fixed: 0.5}
    decode: {constant: 50}
    availability: 0.999
    prices: {input_per_mtok: 1, output_per_mtok: 2}
    regions: {us-east-1: {}}
";

#[test]
fn the_price_map_is_read_per_million_tokens_without_its_sample_spec() {
    let map = load_price_map(&price_map_fixture()).unwrap();
    assert_eq!(map.entries.len(), 4);
    let e = &map.entries["gpt-4o-mini"];
    assert!((e.input_per_mtok.unwrap() - 0.15).abs() < PRICE_TOL, "{e:?}");
    assert!((e.output_per_mtok.unwrap() - 0.6).abs() < PRICE_TOL, "{e:?}");
    assert!((e.cached_input_per_mtok.unwrap() - 0.075).abs() < PRICE_TOL, "{e:?}");
    assert_eq!(e.max_input_tokens, Some(128_000));
}

#[test]
fn check_reports_matches_mismatches_and_misses() {
    let catalog = Catalog::from_yaml_str(CATALOG, Path::new("c.yaml")).unwrap();
    let map = load_price_map(&price_map_fixture()).unwrap();
    let checks = check(&catalog, &map, &[], 0.005);
    let status = |endpoint: &str, field: &str| {
        let c = checks.iter().find(|c| c.endpoint == endpoint && c.field == field).unwrap();
        (c.status.as_str(), c.relative_difference)
    };
    assert_eq!(status("gpt-4o-mini@us-east-1", "input_per_mtok").0, "match");
    assert_eq!(status("gpt-4o-mini@us-east-1", "cached_input_per_mtok").0, "match");
    // price_scale 1.1 in eu-west-1: 10% above the map.
    let (s, rel) = status("gpt-4o-mini@eu-west-1", "output_per_mtok");
    assert_eq!(s, "mismatch");
    assert!((rel.unwrap() - 0.1).abs() < 1e-9, "{rel:?}");
    // provider/model lookup: bedrock/anthropic.claude-3-haiku, output 1.30 against 1.25.
    let (s, rel) = status("anthropic.claude-3-haiku@us-east-1", "output_per_mtok");
    assert_eq!(s, "mismatch");
    assert!((rel.unwrap() - 0.04).abs() < 1e-9, "{rel:?}");
    assert_eq!(status("anthropic.claude-3-haiku@us-east-1", "cached_input_per_mtok").0, "no price in map");
    assert_eq!(status("mystery@us-east-1", "input_per_mtok").0, "not in price map");
    // An alias finds it.
    let aliased = check(&catalog, &map, &[("mystery".into(), "azure/gpt-4o-mini".into())], 0.005);
    let c = aliased.iter().find(|c| c.endpoint == "mystery@us-east-1" && c.field == "input_per_mtok").unwrap();
    assert_eq!((c.key.as_deref(), c.status.as_str()), (Some("azure/gpt-4o-mini"), "mismatch"));
}

#[test]
fn fill_prices_a_calibrated_catalog_and_it_loads() {
    let map = load_price_map(&price_map_fixture()).unwrap();
    let mut spec: CatalogSpec = switchyard::yaml::from_str(
        "models:\n  - name: azure/gpt-4o-mini\n    regions:\n      eastus2:\n        ttft: {fixed: 0.4}\n        decode: {constant: 100}\n        availability: 0.5\n        prices: {input_per_mtok: 0, output_per_mtok: 0}\n",
        Path::new("calibrated.yaml"),
    )
    .unwrap();
    let changes = fill(&mut spec, &map, &[], false);
    assert!(changes.iter().any(|c| c.contains("azure/gpt-4o-mini@eastus2: prices")), "{changes:?}");
    let yaml = switchyard::calibrate::catalog_yaml(&spec).unwrap();
    let catalog = Catalog::from_yaml_str(&yaml, Path::new("filled.yaml")).unwrap();
    let p = &catalog.endpoints[0].prices;
    assert!((p.input_per_mtok - 0.165).abs() < PRICE_TOL && (p.output_per_mtok - 0.66).abs() < PRICE_TOL, "{p:?}");
    assert_eq!(catalog.endpoints[0].capabilities.max_context_tokens, Some(128_000));
}

#[test]
fn a_bad_price_is_named_by_key_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prices.json");
    std::fs::write(&path, r#"{"m": {"input_cost_per_token": "cheap", "output_cost_per_token": 1e-6}}"#).unwrap();
    let msg = load_price_map(&path).unwrap_err().to_string();
    assert!(msg.contains("`m.input_cost_per_token`") && msg.contains("cheap") && msg.contains("fix:"), "{msg}");
}

#[test]
fn cli_import_prices_writes_the_report_and_the_filled_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("c.yaml");
    std::fs::write(&catalog, CATALOG).unwrap();
    let (out, report) = (dir.path().join("filled.yaml"), dir.path().join("mismatch.csv"));
    let o = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["catalog", "import-prices", "--prices"])
        .arg(price_map_fixture())
        .arg("--catalog")
        .arg(&catalog)
        .args(["--fill", "--overwrite", "-o"])
        .arg(&out)
        .arg("--checks")
        .arg(&report)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("not in price map") && stdout.contains("+4.0%"), "{stdout}");
    let filled = Catalog::load(&out).unwrap();
    let haiku = &filled.endpoints[filled.endpoint_index("anthropic.claude-3-haiku@us-east-1").unwrap()];
    assert!((haiku.prices.output_per_mtok - 1.25).abs() < PRICE_TOL, "{:?}", haiku.prices);
    let csv = std::fs::read_to_string(&report).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4 * 3, "a header and three prices per endpoint:\n{csv}");
}

/// LiteLLM's own price map, when the LiteLLM venv of .ci/run is present.
#[test]
fn the_real_litellm_price_map_loads() {
    let venv = root().join(".litellm-venv/lib");
    let found = std::fs::read_dir(&venv).ok().and_then(|mut d| {
        d.find_map(|e| {
            let p = e.ok()?.path().join("site-packages/litellm/model_prices_and_context_window_backup.json");
            p.is_file().then_some(p)
        })
    });
    let Some(path) = found else {
        eprintln!("skipped: no LiteLLM package under {} (.ci/run installs it)", venv.display());
        return;
    };
    let map = load_price_map(&path).unwrap();
    assert!(map.entries.len() > 1000, "{} entries", map.entries.len());
    let e = &map.entries["gpt-4o"];
    // litellm 1.82.6 (pinned in tests/litellm/requirements.txt): $2.50 in, $10 out per million.
    assert!(
        (e.input_per_mtok.unwrap() - 2.5).abs() < PRICE_TOL && (e.output_per_mtok.unwrap() - 10.0).abs() < PRICE_TOL,
        "{e:?}"
    );
}
