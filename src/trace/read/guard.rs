//! The one boundary where a panic inside polars is caught and turned into a problem with the file.
//!
//! polars parses bytes a user hands us, and polars 0.55.2 panics on some malformed input instead
//! of returning an error: a Parquet footer whose Thrift encoding is corrupt ("thrift bool field",
//! found by tests/it/fuzz.rs), an NDJSON line cut short, an integer too wide for 64 bits. Where a
//! cheap check can keep such input away from polars, `read.rs` checks first (NDJSON lines are
//! parsed by serde_json before polars sees them). A Parquet file cannot be checked without decoding
//! it, which is polars' job, so every call that hands input bytes to polars runs through
//! [`guarded`] as the last resort: a panic in it becomes "cannot read as Parquet: <why>", exit 2,
//! never an abort of the whole run.
//!
//! While a guarded call runs, [`guarding`] is true, so the binary's panic hook can stay quiet: the
//! panic's message is carried by the error instead of being printed as a crash.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Result;

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
            Err(super::unreadable(path, what, &format!("{why} (polars could not decode it)")))
        }
    }
}
