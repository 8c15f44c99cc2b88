//! The `switchyard` command: parse the command line, run, map errors to an exit code.

mod cli;

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
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Invalid input (a Problem list) exits 2; anything else (IO, internal) exits 1.
            let invalid =
                err.downcast_ref::<switchyard::Error>().is_some_and(|e| matches!(e, switchyard::Error::Invalid(_)));
            eprintln!("error: {err:#}");
            if invalid { ExitCode::from(2) } else { ExitCode::from(1) }
        }
    }
}

// polars and the engine allocate and free large buffers; mimalloc keeps freed pages for reuse
// instead of returning them to the kernel and faulting fresh zeroed ones in again.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
