//! The `pidone` binary: parse the command line, then run the init or a subcommand.
#![forbid(unsafe_code)]

mod cli;
mod cmd;
mod report;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.sub {
        None => run_init(cli.init),
        Some(cli::Sub::Run(args)) => run_init(args),
        Some(cli::Sub::Ps(a)) => cmd::ps::run(a),
        Some(cli::Sub::Signals(a)) => cmd::signals::run(a),
        Some(cli::Sub::Why(a)) => cmd::why::run(a),
        Some(cli::Sub::Trace(a)) => cmd::trace::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pidone: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run_init(args: cli::InitArgs) -> anyhow::Result<ExitCode> {
    let config = match args.into_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pidone: error: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    let _ = config;
    anyhow::bail!("init not implemented yet")
}
