//! The `switchyard` command: parse the command line, run, map errors to an exit code.
//!
//! Exit codes (also in `switchyard --help` and docs/cli.md): 0 success; 1 a run that could not
//! complete (a file that cannot be read or written, no routing that meets the targets, a solver
//! that gives up); 2 bad input or usage (every flag, parse and validation error: a
//! [`switchyard::Error::Invalid`], and clap's own usage errors, which clap exits with itself);
//! `compare` exits with its verdict: 0 pass, 1 fail, 3 inconclusive or marginal.

mod cli;

use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    // A panic inside polars while it reads an input file is caught and reported as a problem with
    // that file (switchyard::trace::read::guard); printing it as a crash as well would mislead.
    let report_panic = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !switchyard::trace::read::guarding() {
            report_panic(info);
        }
    }));
    // Output still buffered is written here, so that a full disk behind `>` is reported too.
    let result = cli::run().and_then(|code| {
        std::io::stdout().flush().map_err(|e| switchyard::Error::io("standard output", e))?;
        Ok(code)
    });
    match result {
        Ok(code) => ExitCode::from(code),
        // A reader that stopped reading (`| head`) is not a failure of the run.
        Err(err) if broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", render(&err));
            ExitCode::from(exit_code(&err))
        }
    }
}

/// 2 for bad input or usage, 1 for anything else (see the module header). Only the outermost
/// error counts: a problem wrapped in context by the CLI is the CLI's own failure (an embedded
/// input or a written catalog that does not validate is a bug, not the user's input).
fn exit_code(err: &anyhow::Error) -> u8 {
    let outermost = err.chain().next().and_then(|e| e.downcast_ref::<switchyard::Error>());
    if matches!(outermost, Some(switchyard::Error::Invalid(_))) { 2 } else { 1 }
}

fn broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|cause| cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

/// The error and its causes, each said once: a cause whose text its parent already shows (an IO
/// error that prints its reason and also returns it as its source) is not repeated.
fn render(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

// polars and the engine allocate and free large buffers; mimalloc keeps freed pages for reuse
// instead of returning them to the kernel and faulting fresh zeroed ones in again.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
