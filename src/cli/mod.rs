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
mod demo;
mod des;
mod io;
mod optimize;
mod progress;

use clap::Parser;

pub use args::Cli;

pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(threads) = cli.threads {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build_global()?;
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
