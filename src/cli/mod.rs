//! The command line: the only module that knows clap. Raw flags become typed calls into the library.

mod args;
mod commands;
mod demo;
mod des;
mod optimize;
mod progress;

use clap::Parser;

pub use args::Cli;

pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(threads) = cli.threads {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build_global()?;
    }
    commands::dispatch(cli)
}
