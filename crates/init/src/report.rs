//! The hook through which the init prints its diagnosis of a stuck stop.
//!
//! The init itself does not know how to explain a process; the binary plugs in the
//! explainer (`pidone-diag`). Keeping this a trait keeps the init crate free of /proc parsing.

use crate::config::LogFormat;
use pidone_sys::{Pid, Signal};

/// What the init hands to the reporter.
#[derive(Debug, Clone)]
pub struct ReportRequest<'a> {
    /// Processes still alive (host pids as seen by the init, excluding the init itself).
    pub alive: &'a [Pid],
    /// The main child, if it is still alive.
    pub main_child: Option<Pid>,
    /// The signal the stop sequence sent (after rewriting).
    pub stop_signal: Signal,
    /// The init's log format: the report is text lines or one JSON object per line.
    pub format: LogFormat,
    /// Why the report is printed: `"report-after"` or `"before-sigkill"`.
    pub phase: &'static str,
    /// Seconds since the stop began.
    pub elapsed_secs: f64,
}

/// A rendered report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Ready to write to stderr, one or more complete lines, each ending in `\n`.
    pub text: String,
    /// The facts that matter for "did anything change" (pids, states, blocked syscalls),
    /// so the second report is printed only when it would say something new.
    pub key: String,
}

/// Explains the processes that did not stop.
pub trait Reporter {
    /// Build the report for `req`. Must not panic; must tolerate processes vanishing mid-read.
    fn report(&mut self, req: &ReportRequest<'_>) -> Report;
}
