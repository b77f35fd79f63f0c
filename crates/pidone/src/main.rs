//! The `pidone` binary: parse the command line, then run the init or a subcommand.
#![forbid(unsafe_code)]

mod cli;
mod cmd;
mod compat;
mod fastargs;
mod report;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut argv = std::env::args_os();
    let argv0 = argv.next().unwrap_or_default();
    let personality = compat::personality(&argv0);
    if personality != pidone_init::config::Personality::Pidone {
        return run_compat(personality, &argv0, &argv.collect::<Vec<_>>());
    }
    let args: Vec<std::ffi::OsString> = argv.collect();
    // The common container start skips clap (see fastargs); anything else goes through it.
    let fast = fastargs::parse(&args, &|k| std::env::var(k).ok());
    let result = match fast {
        Some(init) => run_init(init),
        None => match cli::Cli::try_parse_from(std::iter::once(argv0).chain(args.iter().cloned())) {
            Ok(parsed) => dispatch(parsed),
            Err(e) => return usage_error(e, &args),
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pidone: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Print clap's error (exit 2; help and version exit 0), with a hint for the most common
/// mistake: a command given without `--`, which clap reads as an unknown subcommand.
fn usage_error(e: clap::Error, args: &[std::ffi::OsString]) -> ExitCode {
    let first = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let is_subcommand = <cli::Cli as clap::CommandFactory>::command()
        .get_subcommands()
        .any(|s| s.get_name() == first);
    if e.kind() == clap::error::ErrorKind::UnknownArgument
        && !first.is_empty()
        && !first.starts_with('-')
        && !is_subcommand
    {
        eprintln!(
            "pidone: error: {first:?} is not a subcommand; to run it under the init, put it after --: \
             pidone [OPTIONS] -- {first} ..."
        );
        return ExitCode::from(2);
    }
    // clap prints help/version to stdout and errors to stderr, with its own exit status.
    e.exit()
}

/// Run what clap parsed: the init or a subcommand.
fn dispatch(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    match cli.sub {
        None => run_init(cli.init),
        Some(cli::Sub::Run(args)) => run_init(args),
        Some(cli::Sub::Ps(a)) => cmd::ps::run(a),
        Some(cli::Sub::Signals(a)) => cmd::signals::run(a),
        Some(cli::Sub::Why(a)) => cmd::why::run(a),
        Some(cli::Sub::Trace(a)) => cmd::trace::run(a),
    }
}

/// Started as `tini` or `dumb-init`: that program's command line, then the same init.
fn run_compat(
    personality: pidone_init::config::Personality,
    argv0: &std::ffi::OsString,
    args: &[std::ffi::OsString],
) -> ExitCode {
    let name = argv0.to_string_lossy();
    let env = |k: &str| std::env::var(k).ok();
    let parsed = match personality {
        pidone_init::config::Personality::Tini => compat::parse_tini(&name, args, &env),
        _ => compat::parse_dumb_init(&name, args, &env),
    };
    match parsed {
        compat::Compat::Run(config) => start(*config),
        compat::Compat::Print {
            text,
            to_stderr,
            code,
        } => {
            if to_stderr {
                eprint!("{text}");
            } else {
                print!("{text}");
            }
            ExitCode::from(code)
        }
    }
}

/// Run the init with a validated configuration.
fn start(config: pidone_init::config::Config) -> ExitCode {
    let mut reporter = report::DiagReporter;
    match pidone_init::driver::run(config, &mut reporter) {
        Ok(code) => exit_code(code),
        // The driver has already printed the one-line reason (e.g. "foo: command not found").
        Err(e) => exit_code(e.exit_code()),
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
    Ok(start(config))
}

/// An exit status as the process's exit code (statuses are 0-255 by construction).
fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(255))
}
