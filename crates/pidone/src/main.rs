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
    let mut reporter = report::DiagReporter;
    match pidone_init::driver::run(config, &mut reporter) {
        Ok(code) => Ok(exit_code(code)),
        // The driver has already logged the one-line reason (e.g. "foo: command not found").
        Err(e) => Ok(exit_code(e.exit_code())),
    }
}

/// An exit status as the process's exit code (statuses are 0-255 by construction).
fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(255))
}
