//! switchyard's integration tests, one binary: each module below was once its own test crate, and
//! every one of them linked polars, clarabel and the rest into a 400 MB executable. One binary links
//! once, which keeps `cargo test` fast and small on a 2-core CI machine.
//!
//! Run one area with a filter, e.g. `cargo test --test it optimize::`.

use std::path::PathBuf;

mod bad_input;
mod calibrate;
mod cli;
mod compare;
mod compare_reference;
mod default_catalog;
mod des;
mod des_reference;
mod docs;
mod engine;
mod export;
mod fuzz;
mod golden;
mod import;
mod litellm;
mod lp;
mod names;
mod optimize;
mod optimize_reference;
mod outputs;
mod portkey;
mod prices;
mod recorded;
mod reference;
mod review;
mod schemas;
mod trace;

/// The repository root (where Cargo.toml, policies/ and tests/fixtures/ are).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The embedded default catalog with `base_url: url(model, region)` on each endpoint where it
/// gives one (what the `portkey-oss` export needs), as the YAML a user would pass with `--catalog`
/// and as the catalog it validates into. Everything else, the name included, is the default's.
pub fn default_catalog_with_base_urls(
    url: impl Fn(&str, &str) -> Option<String>,
) -> (String, switchyard::catalog::Catalog) {
    use switchyard::catalog::{Catalog, DEFAULT_CATALOG_YAML, spec::CatalogSpec};
    let mut spec: CatalogSpec =
        switchyard::yaml::from_str(DEFAULT_CATALOG_YAML, std::path::Path::new("default.yaml")).unwrap();
    for model in &mut spec.models {
        for (region, over) in &mut model.regions.0 {
            over.base_url = url(&model.name.value, &region.value).map(switchyard::yaml::unspanned);
        }
    }
    let yaml = switchyard::calibrate::catalog_yaml(&spec).unwrap();
    let catalog = Catalog::from_yaml_str(&yaml, std::path::Path::new("with-base-urls.yaml"))
        .unwrap_or_else(|e| panic!("the default catalog with base URLs does not validate: {e}"));
    (yaml, catalog)
}

/// A test whose outside client (a gateway, a schema validator) is not installed: prints why it
/// skips, or fails under CI (CI=true), where `.ci/run` installs every client.
pub fn client_missing(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    eprintln!("{why}");
}
