//! switchyard's integration tests, one binary: each module below was once its own test crate, and
//! every one of them linked polars, clarabel and the rest into a 400 MB executable. One binary links
//! once, which keeps `cargo test` fast and small on a 2-core CI machine.
//!
//! Run one area with a filter, e.g. `cargo test --test it optimize::`.

use std::path::PathBuf;

mod bad_input;
mod calibrate;
mod cli;
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
mod schemas;
mod trace;

/// The repository root (where Cargo.toml, policies/ and tests/fixtures/ are).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A test whose outside client (a gateway, a schema validator) is not installed: prints why it
/// skips, or fails under CI (CI=true), where `.ci/run` installs every client.
pub fn client_missing(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    eprintln!("{why}");
}
