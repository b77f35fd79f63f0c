//! The event loop: turns signals, reaped children and deadlines into [`Event`]s for the
//! [`Machine`] and performs its [`Action`]s with real syscalls.
//!
//! Single-threaded and event-driven: the loop sleeps in `poll(2)` on a signalfd, with a timeout
//! only while the machine has a deadline (drain, report, grace). An idle init makes no wake-ups.

use crate::config::{Config, Level, Personality, Target};
use crate::log::{write_stderr, Logger};
use crate::machine::{Action, Event, Machine, ReportPhase};
use crate::report::{ReportRequest, Reporter};
use crate::summary::{summary, Counts};
use crate::tree;
use pidone_sys::process::{self, kill_everything, kill_process, kill_process_group, Reaped};
use pidone_sys::signals::{self, SignalSource};
use pidone_sys::spawn::{self, Group, SpawnError};
use pidone_sys::{Delivery, Pid, Signal, SysError};
use std::time::Instant;

/// Why the init could not get to the point of running its child.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// Setting up signal handling failed.
    #[error("cannot set up signal handling")]
    Signals(#[source] SysError),
    /// The command could not be started (127/126; dumb-init's convention is 2).
    #[error("{0}")]
    Spawn(#[source] SpawnError, Personality),
}

impl InitError {
    /// The documented exit status for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            InitError::Signals(_) => 1,
            InitError::Spawn(_, Personality::DumbInit) => 2,
            InitError::Spawn(e, _) => e.exit_code(),
        }
    }
}

/// tini's warning, word for word, for images that grep their logs for it.
const TINI_REAPER_WARNING: &str = "Tini is not running as PID 1 and isn't registered as a child subreaper.
Zombie processes will not be re-parented to Tini, so zombie reaping won't work.
To fix the problem, use the -s option or set the environment variable TINI_SUBREAPER to register Tini as a child subreaper, or run Tini as PID 1.";

/// The running init.
struct Driver<'r> {
    cfg: Config,
    log: Logger,
    reporter: &'r mut dyn Reporter,
    pid1: bool,
    /// Our own pid as the kernel reports senders to us (1 as PID 1 of a namespace).
    own_pid: i32,
    main: Pid,
    signals: SignalSource,
    machine: Machine,
    counts: Counts,
    last_report_key: Option<String>,
}

/// Run `cfg.command` under the init until the whole tree is gone; returns the exit status.
pub fn run(cfg: Config, reporter: &mut dyn Reporter) -> Result<i32, InitError> {
    let log = Logger {
        level: cfg.log_level,
        format: cfg.log_format,
    };
    let started = Instant::now();
    let pid1 = Pid::this().as_raw() == 1;
    if let Some(sig) = cfg.parent_death_signal {
        if let Err(e) = process::set_parent_death_signal(sig) {
            log.warn(&format!("{e}"));
        }
    }
    if !pid1 && cfg.subreaper {
        // Not PID 1: orphans would go to the namespace's real init unless we claim them.
        match process::become_subreaper() {
            Ok(()) => log.debug("not PID 1: running as child subreaper"),
            Err(e) => log.warn(&format!(
                "not PID 1 and cannot become a subreaper ({e}): orphans will not be reaped"
            )),
        }
    }
    if !pid1 && !process::is_subreaper() {
        match cfg.personality {
            Personality::Tini => {
                write_stderr(&format!("[WARN  tini ({})] {TINI_REAPER_WARNING}\n", Pid::this()))
            }
            _ => log.warn("not PID 1 and not a child subreaper: orphans will not be reaped"),
        }
    }
    let budget = cfg.drain + cfg.grace;
    if budget > cfg.runtime_deadline {
        log.warn(&format!(
            "--drain {:.1}s + --grace {:.1}s = {:.1}s exceeds the runtime's stop deadline of {:.1}s \
             (PIDONE_RUNTIME_DEADLINE): the runtime may SIGKILL the container before pidone reports and stops it",
            cfg.drain.as_secs_f64(),
            cfg.grace.as_secs_f64(),
            budget.as_secs_f64(),
            cfg.runtime_deadline.as_secs_f64()
        ));
    }

    let (original_mask, signals) = signals::block_and_listen().map_err(InitError::Signals)?;
    let stdin_tty = signals::is_tty(std::io::stdin().as_fd_borrowed());
    let group = match (cfg.target, stdin_tty) {
        _ if cfg.setsid => Group::Session,
        (_, true) => Group::OwnForeground,
        (Target::Group, false) => Group::Own,
        _ => Group::Inherit,
    };
    let main = match spawn::spawn(&cfg.command, &original_mask, group) {
        Ok(pid) => pid,
        Err(e) => {
            match cfg.personality {
                Personality::Pidone => log.error(&e.to_string()),
                Personality::Tini => write_stderr(&format!(
                    "[FATAL tini ({})] exec {} failed: {}\n",
                    Pid::this(),
                    e.command(),
                    e.os_error_text()
                )),
                Personality::DumbInit => {
                    write_stderr(&format!("[dumb-init] {}: {}\n", e.command(), e.os_error_text()))
                }
            }
            return Err(InitError::Spawn(e, cfg.personality));
        }
    };
    log.log(
        Level::Debug,
        "started",
        &[
            ("pid", main.to_string()),
            ("mode", if pid1 { "pid1" } else { "subreaper" }.to_string()),
            (
                "cmd",
                cfg.command
                    .iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        ],
    );
    let machine = Machine::new(&cfg, started);
    let mut d = Driver {
        cfg,
        log,
        reporter,
        pid1,
        own_pid: Pid::this().as_raw(),
        main,
        signals,
        machine,
        counts: Counts::default(),
        last_report_key: None,
    };
    process::release_unused_heap();
    Ok(d.run_loop())
}

/// `std::io::Stdin` → `BorrowedFd` without depending on the trait import at call sites.
trait AsFdBorrowed {
    fn as_fd_borrowed(&self) -> std::os::fd::BorrowedFd<'_>;
}
impl AsFdBorrowed for std::io::Stdin {
    fn as_fd_borrowed(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(self)
    }
}

impl Driver<'_> {
    fn run_loop(&mut self) -> i32 {
        loop {
            let timeout = self
                .machine
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()));
            let batch = match self.signals.wait_batch(timeout) {
                Ok(b) => b,
                Err(e) => {
                    self.log.error(&format!("{e}"));
                    Vec::new()
                }
            };
            let mut child_ended = false;
            // Signals first: forwarding is what a waiting sender measures, reaping can follow.
            for r in batch {
                if r.signal == Signal::CHLD {
                    child_ended = true;
                    continue;
                }
                if r.sender_pid == self.own_pid {
                    // Raised by ourselves, e.g. the SIGPIPE of a log write to a closed stderr
                    // pipe: with every signal blocked the kernel queues it instead of dropping
                    // it. It is not the runtime's, so it must not reach the child.
                    continue;
                }
                self.log.debug_with("signal received", || {
                    vec![
                        ("signal", r.signal.to_string()),
                        ("from_pid", r.sender_pid.to_string()),
                    ]
                });
                if let Some(code) = self.feed(Event::Signal(r.signal)) {
                    return code;
                }
            }
            // SIGCHLD is blocked from before the first fork, so every exit leaves one pending;
            // several exits can share it, hence the loop inside reap_all.
            let mut events = if child_ended { self.reap_all() } else { Vec::new() };
            // Every event already advances the clock in the machine; an explicit Tick is only
            // needed when a deadline has come.
            if self.machine.next_deadline().is_some_and(|d| d <= Instant::now()) {
                events.push(Event::Tick);
            }
            for ev in events {
                if let Some(code) = self.feed(ev) {
                    return code;
                }
            }
        }
    }

    /// Give one event to the machine and perform its actions; `Some(code)` to exit.
    fn feed(&mut self, ev: Event) -> Option<i32> {
        for action in self.machine.on_event(ev, Instant::now()) {
            if let Some(code) = self.perform(action) {
                return Some(code);
            }
        }
        None
    }

    /// Reap every ended child; turn the main child's end and an empty tree into events.
    fn reap_all(&mut self) -> Vec<Event> {
        let mut main_status = None;
        let mut empty = false;
        let peek = self.log.enabled(self.cfg.reap_log_level);
        loop {
            let result = if peek {
                // Read the orphan's command before its /proc entry disappears with the zombie.
                match process::peek_ended() {
                    Ok(Some(pid)) => {
                        let cmd = if pid != self.main {
                            tree::command_of(pid)
                        } else {
                            String::new()
                        };
                        process::reap_pid(pid).map(|r| (r, cmd))
                    }
                    Ok(None) => process::reap_one().map(|r| (r, String::new())),
                    Err(e) => Err(e),
                }
            } else {
                process::reap_one().map(|r| (r, String::new()))
            };
            match result {
                Ok((Reaped::Child(pid, status), _)) if pid == self.main => main_status = Some(status),
                Ok((Reaped::Child(pid, status), cmd)) => {
                    self.counts.orphans_reaped += 1;
                    if self.log.enabled(self.cfg.reap_log_level) {
                        self.log.log(
                            self.cfg.reap_log_level,
                            "reaped orphan",
                            &[
                                ("pid", pid.to_string()),
                                ("cmd", cmd),
                                ("status", status.to_string()),
                            ],
                        );
                    }
                }
                Ok((Reaped::NoneReady, _)) => break,
                Ok((Reaped::NoChildren, _)) => {
                    empty = true;
                    break;
                }
                Err(e) => {
                    self.log.error(&format!("{e}"));
                    break;
                }
            }
        }
        let mut events = Vec::new();
        if let Some(status) = main_status {
            events.push(Event::MainExited {
                status,
                others_alive: !empty,
            });
        } else if empty {
            events.push(Event::TreeEmpty);
        }
        events
    }

    fn main_alive(&self) -> bool {
        self.machine.main_status().is_none()
    }

    /// Perform one action; `Some(code)` when the init must exit.
    fn perform(&mut self, action: Action) -> Option<i32> {
        match action {
            Action::Log(level, msg) => self.log.log(level, &msg, &[]),
            Action::Forward(sig) => self.forward(sig),
            Action::SignalRest(sig) => {
                let n = self.signal_all(sig, None);
                self.log.debug_with("signalled remaining processes", || {
                    vec![("signal", sig.to_string()), ("count", n.to_string())]
                });
            }
            Action::Report(phase) => self.report(phase),
            Action::KillAll => {
                let alive = tree::live_descendants();
                if !alive.is_empty() {
                    let list = alive
                        .iter()
                        .map(|p| format!("{p} ({})", tree::command_of(*p)))
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.log.log(
                        Level::Warn,
                        &format!("grace period over: sending SIGKILL to {list}"),
                        &[("count", alive.len().to_string())],
                    );
                    if self.counts.killed == 0 {
                        self.counts.killed = alive.len();
                    }
                }
                // The list just read is the one to kill: no second /proc scan. Anything forked
                // since is caught by the machine's repeated SIGKILL a second later.
                self.signal_all(Signal::KILL, Some(&alive));
            }
            Action::Exit(code) => {
                let line = summary(code, self.machine.timeline(), self.counts, Instant::now());
                self.log.info(&line);
                self.write_termination_log(&line);
                return Some(code);
            }
        }
        None
    }

    fn forward(&mut self, sig: Signal) {
        let result = match self.cfg.target {
            Target::Child if self.main_alive() => kill_process(self.main, sig).map(|d| (d, 1)),
            // The child leads its own group (setpgid in spawn), so its pid is the group id. The
            // group can outlive its leader, so keep signalling it after the main child exits.
            Target::Group => kill_process_group(self.main, sig).map(|d| (d, 1)),
            Target::All => Ok((Delivery::Sent, self.signal_all(sig, None))),
            Target::Child => Ok((Delivery::Gone, 0)),
        };
        match result {
            Ok((Delivery::Sent, _)) => {
                self.log
                    .debug_with("forwarded", || vec![("signal", sig.to_string())]);
            }
            Ok((Delivery::Gone, _)) => {
                self.log
                    .debug_with("nobody to forward to", || vec![("signal", sig.to_string())]);
            }
            Err(e) => self.log.warn(&format!("cannot forward {sig}: {e}")),
        }
    }

    /// Signal every process below the init; returns how many were signalled (an estimate as
    /// PID 1, where one `kill(-1)` does it). `known`: the descendants, if just listed.
    fn signal_all(&mut self, sig: Signal, known: Option<&[Pid]>) -> usize {
        if self.pid1 {
            match kill_everything(sig) {
                Ok(Delivery::Sent) => 1,
                Ok(Delivery::Gone) => 0,
                // NotPid1 cannot happen (pid1 was checked at start); like any refusal it is logged.
                Err(e) => {
                    self.log.warn(&format!("{e}"));
                    0
                }
            }
        } else {
            // Subreaper mode: only our own descendants, one by one. Never kill(-1), never a
            // group we did not create.
            let listed;
            let pids = match known {
                Some(p) => p,
                None => {
                    listed = tree::live_descendants();
                    &listed
                }
            };
            let mut n = 0;
            for &pid in pids {
                match kill_process(pid, sig) {
                    Ok(Delivery::Sent) => n += 1,
                    Ok(Delivery::Gone) => {}
                    Err(e) => self.log.warn(&format!("{e}")),
                }
            }
            n
        }
    }

    fn report(&mut self, phase: ReportPhase) {
        let alive = tree::live_descendants();
        if alive.is_empty() {
            return;
        }
        let elapsed = self
            .machine
            .timeline()
            .stop_began
            .map(|t| t.elapsed().as_secs_f64())
            .unwrap_or(0.0);
        let req = ReportRequest {
            alive: &alive,
            main_child: self.main_alive().then_some(self.main),
            stop_signal: self.cfg.stop_signal(),
            format: self.cfg.log_format,
            phase: phase.as_str(),
            elapsed_secs: elapsed,
        };
        let report = self.reporter.report(&req);
        if phase == ReportPhase::BeforeKill && self.last_report_key.as_deref() == Some(report.key.as_str()) {
            self.log
                .info("still the same processes in the same state as the last report");
            return;
        }
        self.last_report_key = Some(report.key);
        if self.log.enabled(Level::Warn) {
            write_stderr(&report.text);
        }
    }

    fn write_termination_log(&self, line: &str) {
        let path = &self.cfg.termination_log;
        // One open, no stat first: absent (ENOENT) is the normal case outside Kubernetes.
        let mut file = match std::fs::OpenOptions::new().write(true).truncate(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                self.log.warn(&format!("cannot write {}: {e}", path.display()));
                return;
            }
        };
        // Plain text whatever the log format: Kubernetes shows this file as is in the pod status.
        let text = format!("pidone: {line}\n");
        if let Err(e) = std::io::Write::write_all(&mut file, text.as_bytes()) {
            self.log.warn(&format!("cannot write {}: {e}", path.display()));
        }
    }
}
