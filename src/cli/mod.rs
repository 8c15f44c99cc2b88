//! The command line: the only module that knows clap. Raw flags become typed calls into the library.

/// `print!` to standard output that fails with an IO error (exit code 1) when standard output is
/// closed or full, instead of panicking as `print!` does.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*).map_err(|e| switchyard::Error::io("standard output", e))?
    }};
}

/// `println!`, as [`say!`].
macro_rules! sayln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*).map_err(|e| switchyard::Error::io("standard output", e))?
    }};
}

mod args;
mod commands;
mod compare;
mod demo;
mod des;
mod files;
mod io;
mod optimize;
mod owned;
mod progress;

use clap::Parser;

pub use args::Cli;

/// Run the command line; the exit code of a run that completed (0, or `compare`'s verdict).
pub fn run() -> anyhow::Result<u8> {
    let cli = Cli::parse();
    if cli.threads.unwrap_or(0) == 0 {
        check_rayon_env()?;
    }
    if let Some(threads) = cli.threads {
        // 0 is rayon's "as many as the cores (or RAYON_NUM_THREADS)".
        rayon::ThreadPoolBuilder::new().num_threads(usize::from(threads)).build_global()?;
    }
    // Before any work: no output over an input, every output writable, output folders staged.
    let outputs = cli.command.io().check()?;
    commands::dispatch(cli, outputs)
}

/// A usage error (exit code 2): `flag` given in a way this command does not take, and the fix.
pub fn usage(flag: &str, message: impl Into<String>, fix: impl Into<String>) -> anyhow::Error {
    let place = switchyard::error::Place::default().field(flag);
    switchyard::Error::one(switchyard::error::Problem::new(place, message, fix)).into()
}

/// RAYON_NUM_THREADS sizes the thread pool when `--threads` does not: held to the same bound, so a
/// stray value refuses to run instead of aborting while it spawns threads.
fn check_rayon_env() -> Result<(), switchyard::Error> {
    use switchyard::error::{Place, Problem};
    let Ok(value) = std::env::var("RAYON_NUM_THREADS") else { return Ok(()) };
    match value.trim().parse::<u64>() {
        Ok(n) if n > u64::from(args::MAX_THREADS) => Err(switchyard::Error::one(Problem::new(
            Place { field: Some("RAYON_NUM_THREADS".into()), ..Place::default() },
            format!("is {n}; at most {} worker threads are allowed", args::MAX_THREADS),
            "unset RAYON_NUM_THREADS, or set it (or --threads) to a number from 1 to the cores you have",
        ))),
        _ => Ok(()),
    }
}
