//! The one boundary where polars' failures on a user's file become problems naming the file: its
//! errors ([`polars_err`], [`unreadable`]), and a panic inside it, caught here.
//!
//! polars parses bytes a user hands us, and polars 0.55.2 panics on some malformed input instead
//! of returning an error: a Parquet footer whose Thrift encoding is corrupt ("thrift bool field",
//! found by tests/it/fuzz.rs), an NDJSON line cut short, an integer too wide for 64 bits. Where a
//! cheap check can keep such input away from polars, the reader checks first (`ndjson.rs` parses
//! NDJSON lines with serde_json before polars sees them). A Parquet file cannot be checked without
//! decoding it, which is polars' job, so every call that hands input bytes to polars runs through
//! [`guarded`] as the last resort: a panic in it becomes "cannot read as Parquet: <why>", exit 2,
//! never an abort of the whole run.
//!
//! While a guarded call runs, [`guarding`] is true, so the binary's panic hook can stay quiet: the
//! panic's message is carried by the error instead of being printed as a crash.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Place, Problem, Result};

/// Guarded calls running now, on any thread.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// True while a guarded call runs on any thread: a panic now is one [`guarded`] will report.
pub fn guarding() -> bool {
    ACTIVE.load(Ordering::SeqCst) > 0
}

/// Run `f` (a polars call on the bytes of `path`, read as `what`); a panic inside it becomes a
/// problem naming the file. polars' state after such a panic is not trusted further: the error
/// ends the command.
pub(crate) fn guarded<T>(path: &Path, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    ACTIVE.fetch_add(1, Ordering::SeqCst);
    let outcome = catch_unwind(AssertUnwindSafe(f));
    ACTIVE.fetch_sub(1, Ordering::SeqCst);
    match outcome {
        Ok(result) => result,
        Err(payload) => {
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the reader failed".into());
            Err(unreadable(path, what, &format!("{why} (polars could not decode it)")))
        }
    }
}

/// A file polars cannot read is bad input: a problem naming the file (polars' message says where
/// in it, when it knows).
pub(super) fn polars_err<'a>(path: &'a Path, what: &str) -> impl Fn(polars::prelude::PolarsError) -> Error + 'a {
    let what = what.to_string();
    move |e| unreadable(path, &what, &e.to_string())
}

pub(super) fn unreadable(path: &Path, what: &str, why: &str) -> Error {
    // polars' CSV messages go on with advice for its Python API ("You might want to try:
    // increasing `infer_schema_length`"); the first paragraph says what is wrong.
    let why = why.split("\n\n").next().unwrap_or(why);
    Error::one(Problem::new(
        Place::file(path),
        format!("cannot read as {what}: {why}"),
        format!("check that the file is complete (not cut short) and really is {what}; --format names its format"),
    ))
}
