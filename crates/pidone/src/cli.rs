//! Command line: clap's raw flags (`Cli`), validated into the init's [`Config`].
//!
//! `pidone [OPTIONS] -- CMD [ARGS...]` always runs CMD under the init: everything after `--`
//! is the command, so a command named `ps` or `why` is never mistaken for a subcommand.
//! `pidone run [OPTIONS] -- CMD` is the same, spelled out. Every init option has an
//! environment variable, because Dockerfiles and Kubernetes manifests set env, not argv.

use crate::cmd;
use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use pidone_init::config::{Config, Level, LogFormat, Target};
use pidone_sys::Signal;
use std::ffi::OsString;
use std::time::Duration;

const EXIT_STATUS_HELP: &str = "\
Exit status of the init:
  N        the main child's exit code
  128+N    the main child was killed by signal N (e.g. 137 after SIGKILL, 143 after SIGTERM)
  126      the command was found but could not be executed
  127      the command was not found
  2        invalid command line or environment variable
  1        pidone itself failed (e.g. a syscall it needs was refused)
  --map-exit rewrites any of these last, e.g. --map-exit 143=0.

Signals are named or numbered everywhere: TERM, SIGTERM, 15, RTMIN+3.
Installed under the name `tini` or `dumb-init` (symlink or copy), pidone takes that program's
flags, environment variables, messages and exit codes instead (see the README).";

/// pidone: a container init that stops the whole tree in time and says why it would not stop.
#[derive(Debug, Parser)]
#[command(name = "pidone", version, about, after_help = EXIT_STATUS_HELP)]
#[command(args_conflicts_with_subcommands = true, subcommand_precedence_over_arg = true)]
pub struct Cli {
    #[command(subcommand)]
    pub sub: Option<Sub>,

    #[command(flatten)]
    pub init: InitArgs,
}

/// The subcommands. None of them can shadow a command given after `--`.
#[derive(Debug, Subcommand)]
pub enum Sub {
    /// Run CMD under the init (the same as `pidone [OPTIONS] -- CMD`).
    Run(InitArgs),
    /// Processes and threads with host and namespace PIDs, states and blocked syscalls.
    Ps(cmd::ps::Args),
    /// The decoded signal masks of every thread of a process.
    Signals(cmd::signals::Args),
    /// Explain why a process is still alive: what it waits for, and on whom.
    Why(cmd::why::Args),
    /// eBPF tracers: signals, syscalls, process lifecycle.
    Trace(cmd::trace::Args),
}

/// Raw init flags, exactly as given. Turned into a [`Config`] by [`InitArgs::into_config`].
#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    /// Seconds the tree gets to stop after the stop signal before everything left is SIGKILLed.
    /// Keep it below the runtime's own limit (docker stop: 10 s, Kubernetes: 30 s).
    #[arg(long, env = "PIDONE_GRACE", default_value = "8", value_name = "SECS")]
    pub grace: String,

    /// Seconds after the stop began at which the diagnosis report of still-running processes is
    /// printed [default: half of --grace].
    #[arg(long, env = "PIDONE_REPORT_AFTER", value_name = "SECS")]
    pub report_after: Option<String>,

    /// Who receives forwarded signals: the main child, its process group, or every process below the init.
    #[arg(long, env = "PIDONE_TARGET", value_enum, default_value_t = TargetArg::Child)]
    pub target: TargetArg,

    /// Signals that start the stop sequence (comma-separated or repeated).
    #[arg(
        long = "stop-signal",
        env = "PIDONE_STOP_SIGNALS",
        value_delimiter = ',',
        default_value = "TERM,INT",
        value_name = "SIG"
    )]
    pub stop_signals: Vec<String>,

    /// Rewrite a received signal before forwarding it, FROM:TO (TO 0 drops it). Repeatable or comma-separated.
    #[arg(long, env = "PIDONE_REWRITE", value_delimiter = ',', value_name = "FROM:TO")]
    pub rewrite: Vec<String>,

    /// Rewrite the final exit status, N=M (e.g. 143=0). Repeatable or comma-separated.
    #[arg(
        long = "map-exit",
        env = "PIDONE_MAP_EXIT",
        value_delimiter = ',',
        value_name = "N=M"
    )]
    pub map_exit: Vec<String>,

    /// Hold a stop signal this many seconds before forwarding it, so a load balancer can stop
    /// sending traffic first (the Kubernetes `preStop: sleep` workaround, built in).
    #[arg(long, env = "PIDONE_DRAIN", default_value = "0", value_name = "SECS")]
    pub drain: String,

    /// When the main child exits on its own, keep running until every other process has exited
    /// too, instead of stopping them.
    #[arg(long, env = "PIDONE_WAIT_ALL")]
    pub wait_all: bool,

    /// The container runtime's stop deadline; a warning is printed at start when drain + grace exceeds it.
    #[arg(
        long,
        env = "PIDONE_RUNTIME_DEADLINE",
        default_value = "10",
        value_name = "SECS"
    )]
    pub runtime_deadline: String,

    /// Where the lifecycle summary is also written, if that file exists (Kubernetes shows it in the pod status).
    #[arg(
        long,
        env = "PIDONE_TERMINATION_LOG",
        default_value = "/dev/termination-log",
        value_name = "PATH"
    )]
    pub termination_log: std::path::PathBuf,

    /// Log level: error, warn, info or debug (debug logs every reaped orphan).
    #[arg(long, env = "PIDONE_LOG", value_enum, default_value_t = LevelArg::Info)]
    pub log_level: LevelArg,

    /// Log format: text, or json (one object per line, for log pipelines).
    #[arg(long, env = "PIDONE_LOG_FORMAT", value_enum, default_value_t = FormatArg::Text)]
    pub log_format: FormatArg,

    /// The command to run under the init, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TargetArg {
    Child,
    Group,
    All,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LevelArg {
    Error,
    Warn,
    Info,
    Debug,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
}

/// Parse seconds: `8`, `0.5`, `2s`, `1500ms`.
pub fn parse_secs(what: &str, s: &str) -> anyhow::Result<Duration> {
    let t = s.trim();
    let (num, scale) = if let Some(ms) = t.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(sec) = t.strip_suffix('s') {
        (sec, 1.0)
    } else {
        (t, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0 && *v < 1e9)
        .with_context(|| format!("invalid {what} {s:?}: expected seconds, like 8, 0.5 or 1500ms"))?;
    Ok(Duration::from_secs_f64(v * scale))
}

fn parse_signal(what: &str, s: &str) -> anyhow::Result<Signal> {
    s.parse::<Signal>().with_context(|| format!("invalid {what}"))
}

impl InitArgs {
    /// Validate the raw flags into a [`Config`].
    pub fn into_config(self) -> anyhow::Result<Config> {
        if self.command.is_empty() {
            bail!("no command given: usage is `pidone [OPTIONS] -- CMD [ARGS...]` (see --help)");
        }
        let mut c = Config::new(self.command);
        c.grace = parse_secs("--grace", &self.grace)?;
        c.report_after = match &self.report_after {
            Some(s) => parse_secs("--report-after", s)?,
            None => c.grace / 2,
        };
        c.drain = parse_secs("--drain", &self.drain)?;
        c.runtime_deadline = parse_secs("--runtime-deadline", &self.runtime_deadline)?;
        c.target = match self.target {
            TargetArg::Child => Target::Child,
            TargetArg::Group => Target::Group,
            TargetArg::All => Target::All,
        };
        c.stop_signals = self
            .stop_signals
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_signal("--stop-signal", s))
            .collect::<anyhow::Result<_>>()?;
        if c.stop_signals.is_empty() {
            bail!("invalid --stop-signal: at least one signal is needed");
        }
        for r in self.rewrite.iter().filter(|s| !s.trim().is_empty()) {
            let (from, to) = r
                .split_once(':')
                .with_context(|| format!("invalid --rewrite {r:?}: expected FROM:TO, like TERM:QUIT"))?;
            let from = parse_signal("--rewrite source", from)?;
            let to = if to.trim() == "0" {
                None
            } else {
                Some(parse_signal("--rewrite target", to)?)
            };
            c.rewrite.insert(from, to);
        }
        for m in self.map_exit.iter().filter(|s| !s.trim().is_empty()) {
            let parsed = m
                .split_once('=')
                .and_then(|(a, b)| Some((a.trim().parse::<i32>().ok()?, b.trim().parse::<i32>().ok()?)))
                .filter(|(a, b)| (0..=255).contains(a) && (0..=255).contains(b));
            let (from, to) = parsed
                .with_context(|| format!("invalid --map-exit {m:?}: expected N=M with 0-255, like 143=0"))?;
            c.map_exit.insert(from, to);
        }
        c.wait_all = self.wait_all;
        c.termination_log = self.termination_log;
        c.log_level = match self.log_level {
            LevelArg::Error => Level::Error,
            LevelArg::Warn => Level::Warn,
            LevelArg::Info => Level::Info,
            LevelArg::Debug => Level::Debug,
        };
        c.log_format = match self.log_format {
            FormatArg::Text => LogFormat::Text,
            FormatArg::Json => LogFormat::Json,
        };
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("pidone").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn double_dash_always_means_run_even_for_subcommand_names() {
        let cli = parse(&["--", "ps", "aux"]);
        assert!(cli.sub.is_none());
        assert_eq!(
            cli.init.command,
            vec![OsString::from("ps"), OsString::from("aux")]
        );
    }

    #[test]
    fn options_then_command() {
        let cli = parse(&["--grace", "3", "--rewrite", "TERM:QUIT", "--", "sleep", "--", "5"]);
        let c = cli.init.into_config().unwrap();
        assert_eq!(c.grace, Duration::from_secs(3));
        assert_eq!(c.report_after, Duration::from_millis(1500));
        assert_eq!(c.rewritten(Signal::TERM), Some(Signal::QUIT));
        assert_eq!(c.stop_signal(), Signal::QUIT);
        assert_eq!(c.command.len(), 3);
    }

    #[test]
    fn run_subcommand_is_the_same() {
        let cli = parse(&["run", "--map-exit", "143=0", "--", "true"]);
        match cli.sub {
            Some(Sub::Run(a)) => assert_eq!(a.into_config().unwrap().mapped_exit(143), 0),
            other => panic!("expected run, got {other:?}"),
        }
    }

    #[test]
    fn bad_values_are_rejected_with_the_flag_name() {
        for (args, needle) in [
            (&["--grace", "soon", "--", "x"][..], "--grace"),
            (&["--rewrite", "TERM", "--", "x"][..], "--rewrite"),
            (&["--map-exit", "143:0", "--", "x"][..], "--map-exit"),
            (&["--stop-signal", "NOPE", "--", "x"][..], "--stop-signal"),
        ] {
            let err = parse(args).init.into_config().unwrap_err();
            assert!(format!("{err:#}").contains(needle), "{args:?}: {err:#}");
        }
    }

    #[test]
    fn seconds_forms() {
        assert_eq!(parse_secs("x", "0.5").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_secs("x", "1500ms").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_secs("x", "2s").unwrap(), Duration::from_secs(2));
        assert!(parse_secs("x", "-1").is_err());
        assert!(parse_secs("x", "NaN").is_err());
    }
}
