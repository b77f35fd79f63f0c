//! The validated configuration of one init run. Built by the command line layer from flags and
//! environment variables; nothing here parses text or reads the environment.

use pidone_sys::Signal;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// Who receives forwarded signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The main child only (tini's default).
    Child,
    /// The main child's process group; the child is started in a group of its own
    /// (dumb-init's default, tini `-g`).
    Group,
    /// Every process below the init: `kill(-1)` as PID 1, each descendant found in /proc otherwise.
    All,
}

/// Log verbosity, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `pidone: info: message key=value`.
    Text,
    /// One JSON object per line: `{"ts":..,"level":"info","msg":"..", ..}`.
    Json,
}

/// Which program pidone is standing in for (chosen by the name it was started under).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    /// pidone itself.
    Pidone,
    /// `tini`: its flags, its exec-failure message, its warning when it cannot reap.
    Tini,
    /// `dumb-init`: its flags, `setsid` by default, exit 2 with its message when exec fails.
    DumbInit,
}

/// Everything the init needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The command and its arguments; never empty.
    pub command: Vec<OsString>,
    /// Who gets forwarded signals.
    pub target: Target,
    /// Signals that start the stop sequence (default TERM and INT).
    pub stop_signals: Vec<Signal>,
    /// Signal rewriting applied before forwarding: `None` drops the signal.
    pub rewrite: BTreeMap<Signal, Option<Signal>>,
    /// Exit status remapping applied last.
    pub map_exit: BTreeMap<i32, i32>,
    /// How long the tree has to stop after the stop signal, before SIGKILL.
    pub grace: Duration,
    /// When, after the stop began, to print the diagnosis report if anything is alive.
    pub report_after: Duration,
    /// Hold the stop signal this long before forwarding it.
    pub drain: Duration,
    /// When the main child exits on its own, wait for every other process instead of stopping them.
    pub wait_all: bool,
    /// The runtime's own stop deadline; drain + grace beyond it draws a warning at start.
    pub runtime_deadline: Duration,
    /// Where the lifecycle summary is also written, if the file exists.
    pub termination_log: PathBuf,
    pub log_level: Level,
    pub log_format: LogFormat,
    /// Whose conventions to follow for messages and exit codes.
    pub personality: Personality,
    /// Become a child subreaper when not PID 1 (pidone: always; tini: only with `-s`).
    pub subreaper: bool,
    /// Start the child in a new session (`setsid`), as dumb-init does by default.
    pub setsid: bool,
    /// Level at which reaped orphans are logged (debug; tini `-w` raises it to warn).
    pub reap_log_level: Level,
    /// Signal the init asks the kernel for when its own parent dies (tini `-p`).
    pub parent_death_signal: Option<Signal>,
}

impl Config {
    /// A config with the documented defaults for `command`.
    pub fn new(command: Vec<OsString>) -> Config {
        Config {
            command,
            target: Target::Child,
            stop_signals: vec![Signal::TERM, Signal::INT],
            rewrite: BTreeMap::new(),
            map_exit: BTreeMap::new(),
            grace: Duration::from_secs(8),
            report_after: Duration::from_secs(4),
            drain: Duration::ZERO,
            wait_all: false,
            runtime_deadline: Duration::from_secs(10),
            termination_log: PathBuf::from("/dev/termination-log"),
            log_level: Level::Info,
            log_format: LogFormat::Text,
            personality: Personality::Pidone,
            subreaper: true,
            setsid: false,
            reap_log_level: Level::Debug,
            parent_death_signal: None,
        }
    }

    /// The signal to send for `received` after rewriting; `None` when it is dropped.
    pub fn rewritten(&self, received: Signal) -> Option<Signal> {
        match self.rewrite.get(&received) {
            Some(to) => *to,
            None => Some(received),
        }
    }

    /// The signal that stops the rest of the tree: the first stop signal, rewritten.
    pub fn stop_signal(&self) -> Signal {
        let first = self.stop_signals.first().copied().unwrap_or(Signal::TERM);
        self.rewritten(first).unwrap_or(first)
    }

    /// The final exit status for a raw one.
    pub fn mapped_exit(&self, code: i32) -> i32 {
        self.map_exit.get(&code).copied().unwrap_or(code)
    }
}
