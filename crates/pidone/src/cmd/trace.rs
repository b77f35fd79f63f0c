//! `pidone trace signals|syscalls|procs`: the eBPF tracers of `pidone-trace`, behind flags.
//!
//! Parsing only: flags become a tracer `Config`, the library runs it, and [`run`] maps the
//! outcome to an exit status (listed in `--help`).

use crate::cli::parse_secs;
use anyhow::Context;
use pidone_trace::{procs, signals, syscalls, Output, TraceError};
use std::process::ExitCode;

const EXIT_HELP: &str = "\
Every tracer prints \"pidone: trace: attached (...)\" on stderr once it is attached, and its
summary when it ends: on Ctrl-C (SIGINT), SIGTERM, SIGHUP, after -d SECS, or (syscalls) when
the traced processes have exited. Everything is detached when it ends.

Requires Linux 5.8+ with BTF (/sys/kernel/btf/vmlinux), and root or CAP_BPF+CAP_PERFMON.

Exit status:
  0  the tracer ran and ended normally
  1  tracing failed (the error says which step: loading, attaching, reading)
  2  invalid command line
  3  missing privileges: run as root or with CAP_BPF and CAP_PERFMON";

/// Arguments of `pidone trace`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXIT_HELP, subcommand_required = true, arg_required_else_help = true)]
pub struct Args {
    #[command(subcommand)]
    pub tracer: Tracer,
}

/// The tracers.
#[derive(Debug, clap::Subcommand)]
pub enum Tracer {
    /// Every signal generated: sender pid/comm -> target pid/comm, signal, result.
    #[command(after_help = EXIT_HELP)]
    Signals(SignalsArgs),
    /// Syscall counts per name for one process (and its children with -f), counted in the kernel.
    #[command(after_help = EXIT_HELP)]
    Syscalls(SyscallsArgs),
    /// Process lifecycle: fork, exec (filename), exit (exit code or killing signal).
    #[command(after_help = EXIT_HELP)]
    Procs(ProcsArgs),
}

/// `pidone trace signals`.
#[derive(Debug, clap::Args)]
pub struct SignalsArgs {
    /// Print totals per (signal, sender, target) at the end instead of one line per signal.
    #[arg(long)]
    pub count: bool,
    /// Only signals sent by or to this process (host pid).
    #[arg(long, value_name = "PID", value_parser = clap::value_parser!(u32).range(1..))]
    pub pid: Option<u32>,
    /// Only signals whose sender or target has this command name (comm, first 15 bytes).
    #[arg(long, value_name = "NAME")]
    pub comm: Option<String>,
    /// Only signals sent by or to processes in the PID namespace of PID (e.g. a container's).
    #[arg(long, value_name = "PID", value_parser = clap::value_parser!(u32).range(1..))]
    pub ns: Option<u32>,
    /// Stop after SECS (e.g. 10, 0.5, 1500ms).
    #[arg(short = 'd', long = "duration", value_name = "SECS")]
    pub duration: Option<String>,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

/// `pidone trace syscalls`.
#[derive(Debug, clap::Args)]
pub struct SyscallsArgs {
    /// The process to count (host pid; all its threads).
    #[arg(short = 'p', long = "pid", value_name = "PID", value_parser = clap::value_parser!(u32).range(1..))]
    pub pid: u32,
    /// Also count the processes it forks from now on, and theirs.
    #[arg(short = 'f', long = "follow")]
    pub follow: bool,
    /// Stop after SECS (e.g. 10, 0.5, 1500ms).
    #[arg(short = 'd', long = "duration", value_name = "SECS")]
    pub duration: Option<String>,
    /// Show only the N most frequent syscalls.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

/// `pidone trace procs`.
#[derive(Debug, clap::Args)]
pub struct ProcsArgs {
    /// Only processes in the PID namespace of PID (or nested in it).
    #[arg(long, value_name = "PID", value_parser = clap::value_parser!(u32).range(1..))]
    pub ns: Option<u32>,
    /// Only events of this process and of its direct children (host pid).
    #[arg(long, value_name = "PID", value_parser = clap::value_parser!(u32).range(1..))]
    pub pid: Option<u32>,
    /// Only events of processes with this command name (comm).
    #[arg(long, value_name = "NAME")]
    pub comm: Option<String>,
    /// Stop after SECS (e.g. 10, 0.5, 1500ms).
    #[arg(short = 'd', long = "duration", value_name = "SECS")]
    pub duration: Option<String>,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

/// Run `pidone trace`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let raw_duration = match &args.tracer {
        Tracer::Signals(a) => &a.duration,
        Tracer::Syscalls(a) => &a.duration,
        Tracer::Procs(a) => &a.duration,
    };
    // A bad -d is a command-line error: exit status 2, like clap's own.
    let duration = match raw_duration.as_deref().map(|s| parse_secs("-d", s)).transpose() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("pidone: error: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr();
    let result = match args.tracer {
        Tracer::Signals(a) => {
            let cfg = signals::Config {
                count: a.count,
                pid: a.pid,
                comm: a.comm,
                ns: a.ns,
                duration,
            };
            let mut out = Output {
                out: &mut stdout,
                err: &mut stderr,
                json: a.json,
            };
            signals::run(&cfg, &mut out).map(drop)
        }
        Tracer::Syscalls(a) => {
            let cfg = syscalls::Config {
                pid: a.pid,
                follow: a.follow,
                duration,
                top: a.top,
            };
            let mut out = Output {
                out: &mut stdout,
                err: &mut stderr,
                json: a.json,
            };
            syscalls::run(&cfg, &mut out).map(drop)
        }
        Tracer::Procs(a) => {
            let cfg = procs::Config {
                ns: a.ns,
                pid: a.pid,
                comm: a.comm,
                duration,
            };
            let mut out = Output {
                out: &mut stdout,
                err: &mut stderr,
                json: a.json,
            };
            procs::run(&cfg, &mut out).map(drop)
        }
    };
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.is_privileges() => {
            // One line, naming what is missing; the exit status says the same to scripts.
            eprintln!("pidone: error: {}", error_chain(&e));
            Ok(ExitCode::from(3))
        }
        Err(e) => Err(anyhow::Error::new(e)).context("pidone trace"),
    }
}

fn error_chain(e: &TraceError) -> String {
    let mut s = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        s.push_str(&format!(": {c}"));
        cur = c.source();
    }
    s
}
