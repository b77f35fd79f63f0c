//! What one container run showed from outside, and the comparison table.

use crate::scenario::{Init, RUNTIME_STOP_TIMEOUT_SECS};
use std::fmt::Write as _;

/// How the stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The container exited within the runtime's timeout after SIGTERM.
    ByTerm,
    /// The runtime had to send SIGKILL after its timeout (the seed's 10 s stop).
    ByRuntimeKill,
    /// Still running even after the runtime's SIGKILL (or the run broke before the stop).
    Never,
}

/// One (runtime, init, scenario) run.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub runtime: &'static str,
    pub init: Init,
    pub scenario: &'static str,
    /// Processes in the container just before the stop.
    pub procs: usize,
    /// Zombies in the container just before the stop (after up to 3 s for the init to reap).
    pub zombies: usize,
    /// Seconds from the stop signal to the container's exit, as the runtime reports it.
    pub stop_secs: f64,
    pub stop: Stop,
    /// The container's exit status (128+N for signal N).
    pub exit: Option<i32>,
    /// Processes of the container still alive after the stop, with their command lines.
    pub leftovers: Vec<String>,
    /// The container's stdout (the scenario's own lines).
    pub output: String,
    /// The container's stderr (pidone's log).
    pub log: String,
    /// A harness failure (container did not start, no ready line, ...).
    pub error: Option<String>,
    /// The runtime's view of the container after the stop: runc `deleted` (runc run removes it
    /// when its init exits) or its status; Docker's `State.Status` (`exited`).
    pub state_after: String,
}

impl Outcome {
    pub fn new(runtime: &'static str, init: Init, scenario: &'static str) -> Self {
        Outcome {
            runtime,
            init,
            scenario,
            procs: 0,
            zombies: 0,
            stop_secs: 0.0,
            stop: Stop::Never,
            exit: None,
            leftovers: Vec::new(),
            output: String::new(),
            log: String::new(),
            error: None,
            state_after: String::new(),
        }
    }

    /// A log line containing every one of `parts`.
    pub fn log_has_line_with(&self, parts: &[&str]) -> bool {
        self.log.lines().any(|l| parts.iter().all(|p| l.contains(p)))
    }

    /// A line naming `what` appears in the log before the line that announces the SIGKILL: the
    /// diagnosis was out before anything was killed.
    ///
    /// The kill line is pidone's `grace period over: sending SIGKILL to PID (CMD), ...`; a report
    /// line is a `pidone:` line or an indented continuation of one.
    pub fn report_before_kill(&self, what: &str) -> bool {
        let lines: Vec<&str> = self.log.lines().collect();
        let kill = lines
            .iter()
            .position(|l| l.contains("SIGKILL to"))
            .unwrap_or(lines.len());
        lines[..kill]
            .iter()
            .any(|l| (l.starts_with("pidone:") || l.starts_with(char::is_whitespace)) && l.contains(what))
    }

    /// The table's last column: the orphaned daemon's fate, whether pidone explained the stop.
    pub fn note(&self) -> String {
        let mut notes = Vec::new();
        if self.scenario == "orphan-daemon" {
            notes.push(if self.output.contains("clean shutdown") {
                "daemon shut down cleanly"
            } else {
                "daemon killed before its clean shutdown"
            });
        }
        if self.init == Init::Pidone && self.report_before_kill("verdict") {
            notes.push("diagnosis before the SIGKILL");
        }
        if self.init == Init::Pidone && self.log_has_line_with(&["SIGKILL to"]) {
            notes.push("log names the SIGKILLed processes");
        }
        notes.join("; ")
    }

    fn stopped_cell(&self) -> String {
        match self.stop {
            Stop::ByTerm => "yes, by SIGTERM".into(),
            Stop::ByRuntimeKill => format!("only by the runtime's SIGKILL at {RUNTIME_STOP_TIMEOUT_SECS} s"),
            Stop::Never => "NO".into(),
        }
    }
}

/// A Markdown table of `outcomes`, one row per run, grouped by scenario.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut s = String::new();
    s.push_str("| scenario | init | stopped? | seconds | exit status | state after | leftovers | zombies | notes |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for o in outcomes {
        let exit = o.exit.map_or("-".to_string(), |e| e.to_string());
        let error = o
            .error
            .as_ref()
            .map_or(String::new(), |e| format!(" (error: {e})"));
        let _ = writeln!(
            s,
            "| {} | {} | {}{error} | {:.2} | {exit} | {} | {} | {} | {} |",
            o.scenario,
            o.init.name(),
            o.stopped_cell(),
            o.stop_secs,
            o.state_after,
            o.leftovers.len(),
            o.zombies,
            o.note()
        );
    }
    s
}

/// Everything about one run, for a failure message.
pub fn dump(o: &Outcome) -> String {
    format!(
        "--- {} / {} / {}: stop {:?} after {:.2} s, exit {:?}, state after {:?}, {} procs, {} zombies, leftovers {:?}, error {:?}\n\
         stdout:\n{}\nstderr:\n{}",
        o.runtime,
        o.init.name(),
        o.scenario,
        o.stop,
        o.stop_secs,
        o.exit,
        o.state_after,
        o.procs,
        o.zombies,
        o.leftovers,
        o.error,
        indent(&o.output),
        indent(&o.log)
    )
}

fn indent(s: &str) -> String {
    // Cap very long logs (the storm under no init) so a failure message stays readable.
    let lines: Vec<&str> = s.lines().collect();
    let shown: Vec<String> = lines.iter().take(60).map(|l| format!("    {l}")).collect();
    let more = lines.len().saturating_sub(60);
    if more > 0 {
        format!("{}\n    ... {more} more lines", shown.join("\n"))
    } else {
        shown.join("\n")
    }
}
