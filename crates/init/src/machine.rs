//! The stop sequence as a pure state machine: events and the current time in, actions out.
//!
//! Nothing here makes a syscall or reads the clock, so every path of DESIGN.md section 2's
//! stop sequence is unit-tested with a fake clock. The driver ([`crate::driver`]) turns real
//! signals, reaped children and deadlines into [`Event`]s and performs the [`Action`]s.
//!
//! The sequence:
//! 1. a stop signal arrives → hold it for `drain` (if set), then forward it and start the grace timer;
//! 2. the main child exits → the rest of the tree gets the stop signal and the rest of the grace
//!    (a full grace if no stop was in progress; with `--wait-all` nothing is sent and the init
//!    waits for the tree to empty on its own);
//! 3. at `report_after` with processes alive → a diagnosis report;
//! 4. at `grace` → the report again (the driver prints it only if it changed), SIGKILL to all,
//!    repeated every second while anything is left (a process forking while we list the tree
//!    in subreaper mode could otherwise escape the first round);
//! 5. the tree is empty and the main child's status is known → exit with it, mapped.

use crate::config::{Config, Level};
use pidone_sys::{ExitStatus, Signal};
use std::time::{Duration, Instant};

/// Something that happened, as the driver saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A signal was received by the init (never SIGCHLD: reaping is the driver's job).
    Signal(Signal),
    /// The main child ended. `others_alive`: whether any other process is still below the init.
    MainExited { status: ExitStatus, others_alive: bool },
    /// No process is left below the init.
    TreeEmpty,
    /// Time passed (the driver sends this after every wake-up, deadline or not).
    Tick,
}

/// Where a report is printed in the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportPhase {
    /// `--report-after` into the stop.
    ReportAfter,
    /// The grace period is over; printed only if it differs from the previous report.
    BeforeKill,
}

impl ReportPhase {
    /// The name used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportPhase::ReportAfter => "report-after",
            ReportPhase::BeforeKill => "before-sigkill",
        }
    }
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a signal to the configured target (main child, its group, or all).
    Forward(Signal),
    /// Send a signal to every process below the init (the main child has exited, or we stop them all).
    SignalRest(Signal),
    /// Print the diagnosis report for every process still alive.
    Report(ReportPhase),
    /// SIGKILL every process below the init.
    KillAll,
    /// Write a log line.
    Log(Level, String),
    /// Exit the init with this status.
    Exit(i32),
}

/// Where the sequence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Forwarding signals, waiting for the main child.
    Running,
    /// A stop signal is held until `until`.
    Draining { until: Instant, held: Signal },
    /// The stop is in progress.
    Stopping {
        deadline: Instant,
        report_at: Instant,
        reported: bool,
        killed_at: Option<Instant>,
    },
    /// `--wait-all`: the main child is gone, waiting for the others to leave on their own.
    WaitingAll,
    /// Exit was requested.
    Done,
}

/// Facts for the lifecycle summary, kept as the sequence runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    /// When the init started.
    pub started: Option<Instant>,
    /// The first stop signal received, and when.
    pub stop_signal: Option<(Signal, Instant)>,
    /// When the main child exited, and how.
    pub main_exit: Option<(ExitStatus, Instant)>,
    /// When the grace ran out and SIGKILL was sent.
    pub killed_at: Option<Instant>,
    /// When the stop sequence (grace timer) began.
    pub stop_began: Option<Instant>,
}

/// The stop state machine.
#[derive(Debug, Clone)]
pub struct Machine {
    stop_signals: Vec<Signal>,
    rewrite: std::collections::BTreeMap<Signal, Option<Signal>>,
    rest_signal: Signal,
    grace: Duration,
    report_after: Duration,
    drain: Duration,
    wait_all: bool,
    map_exit: std::collections::BTreeMap<i32, i32>,
    phase: Phase,
    main_status: Option<ExitStatus>,
    timeline: Timeline,
}

/// How often SIGKILL is repeated while anything survives it.
const REKILL_EVERY: Duration = Duration::from_secs(1);

impl Machine {
    /// A machine for `cfg`, started at `now`.
    pub fn new(cfg: &Config, now: Instant) -> Machine {
        Machine {
            stop_signals: cfg.stop_signals.clone(),
            rewrite: cfg.rewrite.clone(),
            rest_signal: cfg.stop_signal(),
            grace: cfg.grace,
            report_after: cfg.report_after,
            drain: cfg.drain,
            wait_all: cfg.wait_all,
            map_exit: cfg.map_exit.clone(),
            phase: Phase::Running,
            main_status: None,
            timeline: Timeline {
                started: Some(now),
                ..Timeline::default()
            },
        }
    }

    /// The facts collected so far, for the lifecycle summary.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The main child's status, once it has exited.
    pub fn main_status(&self) -> Option<ExitStatus> {
        self.main_status
    }

    /// Whether the stop sequence (drain or grace) has begun.
    pub fn stopping(&self) -> bool {
        matches!(self.phase, Phase::Draining { .. } | Phase::Stopping { .. })
    }

    /// The next moment the machine needs a [`Event::Tick`], if any. `None`: sleep until an event.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Draining { until, .. } => Some(until),
            Phase::Stopping {
                deadline,
                report_at,
                reported,
                killed_at,
            } => match killed_at {
                Some(at) => Some(at + REKILL_EVERY),
                None if !reported && report_at < deadline => Some(report_at),
                None => Some(deadline),
            },
            Phase::Running | Phase::WaitingAll | Phase::Done => None,
        }
    }

    fn rewritten(&self, sig: Signal) -> Option<Signal> {
        match self.rewrite.get(&sig) {
            Some(to) => *to,
            None => Some(sig),
        }
    }

    fn is_stop_signal(&self, sig: Signal) -> bool {
        self.stop_signals.contains(&sig)
    }

    /// Feed one event; returns the actions to perform, in order.
    pub fn on_event(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Signal(sig) => self.on_signal(sig, now, &mut out),
            Event::MainExited { status, others_alive } => {
                self.on_main_exit(status, others_alive, now, &mut out)
            }
            Event::TreeEmpty => self.on_tree_empty(&mut out),
            Event::Tick => {}
        }
        self.on_tick(now, &mut out);
        out
    }

    fn forward(&self, sig: Signal, out: &mut Vec<Action>) {
        match self.rewritten(sig) {
            Some(to) => out.push(Action::Forward(to)),
            None => out.push(Action::Log(
                Level::Debug,
                format!("dropped {sig} (rewritten to 0)"),
            )),
        }
    }

    /// Start the grace timer. The log line comes after the signal actions, so that a log
    /// write never delays a forwarded signal.
    fn begin_stop(&mut self, now: Instant, why: String, out: &mut Vec<Action>) {
        let deadline = now + self.grace;
        self.timeline.stop_began.get_or_insert(now);
        out.push(Action::Log(
            Level::Info,
            format!(
                "{why}; stopping: grace {:.1}s, report at {:.1}s",
                self.grace.as_secs_f64(),
                self.report_after.as_secs_f64()
            ),
        ));
        self.phase = Phase::Stopping {
            deadline,
            report_at: now + self.report_after,
            reported: false,
            killed_at: None,
        };
    }

    fn on_signal(&mut self, sig: Signal, now: Instant, out: &mut Vec<Action>) {
        let stop = self.is_stop_signal(sig);
        if stop && self.timeline.stop_signal.is_none() {
            self.timeline.stop_signal = Some((sig, now));
        }
        match self.phase {
            Phase::Running if stop && !self.drain.is_zero() => {
                out.push(Action::Log(
                    Level::Info,
                    format!(
                        "received {sig}: draining for {:.1}s before forwarding it",
                        self.drain.as_secs_f64()
                    ),
                ));
                self.phase = Phase::Draining {
                    until: now + self.drain,
                    held: sig,
                };
            }
            Phase::Running if stop => {
                self.forward(sig, out);
                self.begin_stop(now, format!("received {sig}, forwarded it"), out);
            }
            Phase::Draining { .. } if stop => {
                // An impatient second stop signal cuts the drain short.
                self.forward(sig, out);
                self.begin_stop(
                    now,
                    format!("received {sig} again, forwarded it: drain ended early"),
                    out,
                );
            }
            Phase::Stopping { .. } if stop => {
                // Forwarded again, but the timer is not restarted: the deadline is the runtime's.
                self.forward(sig, out);
                out.push(Action::Log(
                    Level::Info,
                    format!("received {sig} again, forwarded it (grace timer unchanged)"),
                ));
            }
            Phase::WaitingAll if stop => {
                // The main child is gone: the stop goes to whoever is left.
                if let Some(to) = self.rewritten(sig) {
                    out.push(Action::SignalRest(to));
                }
                self.begin_stop(
                    now,
                    format!("received {sig}, sent it to the remaining processes"),
                    out,
                );
            }
            Phase::WaitingAll => {
                if let Some(to) = self.rewritten(sig) {
                    out.push(Action::SignalRest(to));
                    out.push(Action::Log(
                        Level::Debug,
                        format!("received {sig}, sent {to} to the remaining processes"),
                    ));
                }
            }
            Phase::Done => {}
            // The driver logs the forwarding at debug level; nothing to format here, on the
            // path every forwarded signal takes.
            Phase::Running | Phase::Draining { .. } | Phase::Stopping { .. } => self.forward(sig, out),
        }
    }

    fn on_main_exit(&mut self, status: ExitStatus, others_alive: bool, now: Instant, out: &mut Vec<Action>) {
        self.main_status = Some(status);
        self.timeline.main_exit = Some((status, now));
        if !others_alive {
            // The exit summary says it all; no extra line on the common path.
            out.push(Action::Log(Level::Debug, format!("main child {status}")));
            self.finish(out);
            return;
        }
        match self.phase {
            Phase::Running | Phase::Draining { .. } if self.wait_all => {
                out.push(Action::Log(
                    Level::Info,
                    format!("main child {status}; --wait-all: waiting for the remaining processes to exit on their own"),
                ));
                self.phase = Phase::WaitingAll;
            }
            Phase::Running | Phase::Draining { .. } => {
                out.push(Action::SignalRest(self.rest_signal));
                let why = format!(
                    "main child {status}, sent {} to the remaining processes",
                    self.rest_signal
                );
                self.begin_stop(now, why, out);
            }
            Phase::Stopping { killed_at: None, .. } => {
                out.push(Action::SignalRest(self.rest_signal));
                out.push(Action::Log(
                    Level::Info,
                    format!(
                        "main child {status}, sent {} to the remaining processes",
                        self.rest_signal
                    ),
                ));
            }
            // After SIGKILL a stop signal would be noise: the rest are already being killed.
            Phase::Stopping { .. } | Phase::WaitingAll | Phase::Done => {
                out.push(Action::Log(Level::Info, format!("main child {status}")));
            }
        }
    }

    fn on_tree_empty(&mut self, out: &mut Vec<Action>) {
        if self.main_status.is_some() {
            self.finish(out);
        }
    }

    fn finish(&mut self, out: &mut Vec<Action>) {
        if self.phase == Phase::Done {
            return;
        }
        self.phase = Phase::Done;
        let raw = self.main_status.map(ExitStatus::code).unwrap_or(1);
        out.push(Action::Exit(self.map_exit.get(&raw).copied().unwrap_or(raw)));
    }

    fn on_tick(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.phase {
            Phase::Draining { until, held } if now >= until => {
                self.forward(held, out);
                self.begin_stop(now, format!("drain over, forwarded {held}"), out);
            }
            Phase::Stopping {
                deadline,
                report_at,
                reported,
                killed_at,
            } => {
                if killed_at.is_none() && !reported && now >= report_at && report_at < deadline {
                    out.push(Action::Report(ReportPhase::ReportAfter));
                    self.phase = Phase::Stopping {
                        deadline,
                        report_at,
                        reported: true,
                        killed_at,
                    };
                }
                match killed_at {
                    None if now >= deadline => {
                        out.push(Action::Report(ReportPhase::BeforeKill));
                        out.push(Action::KillAll);
                        self.timeline.killed_at = Some(now);
                        self.phase = Phase::Stopping {
                            deadline,
                            report_at,
                            reported: true,
                            killed_at: Some(now),
                        };
                    }
                    Some(at) if now >= at + REKILL_EVERY => {
                        out.push(Action::KillAll);
                        self.phase = Phase::Stopping {
                            deadline,
                            report_at,
                            reported: true,
                            killed_at: Some(now),
                        };
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn cfg() -> Config {
        let mut c = Config::new(vec![OsString::from("x")]);
        c.grace = Duration::from_secs(8);
        c.report_after = Duration::from_secs(4);
        c
    }

    /// Actions without the log lines, which are checked separately where they matter.
    fn acts(v: Vec<Action>) -> Vec<Action> {
        v.into_iter().filter(|a| !matches!(a, Action::Log(..))).collect()
    }

    fn secs(t0: Instant, s: f64) -> Instant {
        t0 + Duration::from_secs_f64(s)
    }

    const TERM: Event = Event::Signal(Signal::TERM);

    fn exited(code: i32, others_alive: bool) -> Event {
        Event::MainExited {
            status: ExitStatus::Exited(code),
            others_alive,
        }
    }

    #[test]
    fn forwarding_comes_before_any_log_line() {
        let t0 = Instant::now();
        let mut m = Machine::new(&cfg(), t0);
        let a = m.on_event(TERM, t0);
        assert_eq!(a.first(), Some(&Action::Forward(Signal::TERM)), "{a:?}");
        let a = m.on_event(Event::Signal(Signal::USR1), t0);
        assert_eq!(a.first(), Some(&Action::Forward(Signal::USR1)), "{a:?}");
    }

    #[test]
    fn idle_init_has_no_deadline() {
        let t0 = Instant::now();
        let m = Machine::new(&cfg(), t0);
        assert_eq!(
            m.next_deadline(),
            None,
            "an idle init must sleep without a timeout"
        );
    }

    #[test]
    fn non_stop_signals_are_only_forwarded() {
        let t0 = Instant::now();
        let mut m = Machine::new(&cfg(), t0);
        assert_eq!(
            acts(m.on_event(Event::Signal(Signal::HUP), t0)),
            vec![Action::Forward(Signal::HUP)]
        );
        assert_eq!(m.next_deadline(), None);
        assert!(!m.stopping());
    }

    #[test]
    fn stop_signal_forwards_and_starts_grace() {
        let t0 = Instant::now();
        let mut m = Machine::new(&cfg(), t0);
        assert_eq!(acts(m.on_event(TERM, t0)), vec![Action::Forward(Signal::TERM)]);
        assert_eq!(
            m.next_deadline(),
            Some(secs(t0, 4.0)),
            "first deadline is the report"
        );
    }

    #[test]
    fn obedient_tree_exits_at_once_with_main_status() {
        let t0 = Instant::now();
        let mut m = Machine::new(&cfg(), t0);
        m.on_event(TERM, t0);
        let a = acts(m.on_event(
            Event::MainExited {
                status: ExitStatus::Signaled(Signal::TERM, false),
                others_alive: false,
            },
            secs(t0, 0.001),
        ));
        assert_eq!(a, vec![Action::Exit(143)]);
    }

    #[test]
    fn main_exit_sends_stop_to_the_rest_then_exits_when_empty() {
        let t0 = Instant::now();
        let mut m = Machine::new(&cfg(), t0);
        m.on_event(TERM, t0);
        let a = acts(m.on_event(exited(0, true), secs(t0, 1.0)));
        assert_eq!(a, vec![Action::SignalRest(Signal::TERM)]);
        // The grace is not restarted by the main child's exit.
        assert_eq!(m.next_deadline(), Some(secs(t0, 4.0)));
        assert_eq!(
            acts(m.on_event(Event::TreeEmpty, secs(t0, 1.5))),
            vec![Action::Exit(0)]
        );
    }

    #[test]
    fn main_exit_without_stop_gives_rest_a_full_grace() {
        let t0 = Instant::now();
        let mut m = Machine::new(&cfg(), t0);
        let a = acts(m.on_event(exited(3, true), secs(t0, 100.0)));
        assert_eq!(a, vec![Action::SignalRest(Signal::TERM)]);
        assert_eq!(m.next_deadline(), Some(secs(t0, 104.0)));
        assert_eq!(
            acts(m.on_event(Event::TreeEmpty, secs(t0, 100.5))),
            vec![Action::Exit(3)]
        );
    }

    #[test]
    fn report_at_report_after_then_kill_at_grace() {
        let t0 = Instant::now();
        let mut m = Machine::new(&cfg(), t0);
        m.on_event(TERM, t0);
        assert_eq!(acts(m.on_event(Event::Tick, secs(t0, 3.9))), vec![]);
        assert_eq!(
            acts(m.on_event(Event::Tick, secs(t0, 4.0))),
            vec![Action::Report(ReportPhase::ReportAfter)]
        );
        assert_eq!(m.next_deadline(), Some(secs(t0, 8.0)));
        assert_eq!(
            acts(m.on_event(Event::Tick, secs(t0, 6.0))),
            vec![],
            "the report is printed once"
        );
        assert_eq!(
            acts(m.on_event(Event::Tick, secs(t0, 8.0))),
            vec![Action::Report(ReportPhase::BeforeKill), Action::KillAll]
        );
        let a = acts(m.on_event(
            Event::MainExited {
                status: ExitStatus::Signaled(Signal::KILL, false),
                others_alive: false,
            },
            secs(t0, 8.01),
        ));
        assert_eq!(a, vec![Action::Exit(137)]);
        assert_eq!(m.timeline().killed_at, Some(secs(t0, 8.0)));
    }

    #[test]
    fn main_exit_after_sigkill_sends_no_stop_signal() {
        let t0 = Instant::now();
        let mut m = Machine::new(&cfg(), t0);
        m.on_event(TERM, t0);
        m.on_event(Event::Tick, secs(t0, 8.0));
        let a = acts(m.on_event(
            Event::MainExited {
                status: ExitStatus::Signaled(Signal::KILL, false),
                others_alive: true,
            },
            secs(t0, 8.01),
        ));
        assert_eq!(a, vec![]);
    }

    #[test]
    fn sigkill_is_repeated_while_anything_survives() {
        let t0 = Instant::now();
        let mut m = Machine::new(&cfg(), t0);
        m.on_event(TERM, t0);
        m.on_event(Event::Tick, secs(t0, 8.0));
        assert_eq!(m.next_deadline(), Some(secs(t0, 9.0)));
        assert_eq!(
            acts(m.on_event(Event::Tick, secs(t0, 9.0))),
            vec![Action::KillAll]
        );
    }

    #[test]
    fn late_wakeup_reports_once_then_kills() {
        // A wake-up that comes after both deadlines (a suspended VM) still prints the report first.
        let t0 = Instant::now();
        let mut m = Machine::new(&cfg(), t0);
        m.on_event(TERM, t0);
        assert_eq!(
            acts(m.on_event(Event::Tick, secs(t0, 20.0))),
            vec![
                Action::Report(ReportPhase::ReportAfter),
                Action::Report(ReportPhase::BeforeKill),
                Action::KillAll
            ]
        );
    }

    #[test]
    fn second_stop_signal_is_forwarded_without_restarting_the_timer() {
        let t0 = Instant::now();
        let mut m = Machine::new(&cfg(), t0);
        m.on_event(TERM, t0);
        m.on_event(Event::Tick, secs(t0, 4.0));
        assert_eq!(
            acts(m.on_event(TERM, secs(t0, 5.0))),
            vec![Action::Forward(Signal::TERM)]
        );
        assert_eq!(m.next_deadline(), Some(secs(t0, 8.0)));
    }

    #[test]
    fn drain_holds_the_stop_signal() {
        let t0 = Instant::now();
        let mut c = cfg();
        c.drain = Duration::from_secs(2);
        let mut m = Machine::new(&c, t0);
        assert_eq!(acts(m.on_event(TERM, t0)), vec![], "held during the drain");
        assert_eq!(m.next_deadline(), Some(secs(t0, 2.0)));
        assert_eq!(
            acts(m.on_event(Event::Signal(Signal::USR1), secs(t0, 1.0))),
            vec![Action::Forward(Signal::USR1)]
        );
        assert_eq!(
            acts(m.on_event(Event::Tick, secs(t0, 2.0))),
            vec![Action::Forward(Signal::TERM)]
        );
        // The grace starts when the signal is forwarded, not when it arrived.
        assert_eq!(m.next_deadline(), Some(secs(t0, 6.0)));
    }

    #[test]
    fn second_stop_signal_cuts_the_drain_short() {
        let t0 = Instant::now();
        let mut c = cfg();
        c.drain = Duration::from_secs(5);
        let mut m = Machine::new(&c, t0);
        m.on_event(TERM, t0);
        assert_eq!(
            acts(m.on_event(Event::Signal(Signal::INT), secs(t0, 1.0))),
            vec![Action::Forward(Signal::INT)]
        );
        assert_eq!(m.next_deadline(), Some(secs(t0, 5.0)));
    }

    #[test]
    fn main_exit_during_drain_stops_the_rest() {
        let t0 = Instant::now();
        let mut c = cfg();
        c.drain = Duration::from_secs(5);
        let mut m = Machine::new(&c, t0);
        m.on_event(TERM, t0);
        assert_eq!(
            acts(m.on_event(exited(0, true), secs(t0, 1.0))),
            vec![Action::SignalRest(Signal::TERM)]
        );
    }

    #[test]
    fn wait_all_waits_for_the_tree_without_signals() {
        let t0 = Instant::now();
        let mut c = cfg();
        c.wait_all = true;
        let mut m = Machine::new(&c, t0);
        assert_eq!(acts(m.on_event(exited(0, true), t0)), vec![]);
        assert_eq!(m.next_deadline(), None);
        assert_eq!(acts(m.on_event(Event::Tick, secs(t0, 60.0))), vec![]);
        assert_eq!(
            acts(m.on_event(Event::TreeEmpty, secs(t0, 61.0))),
            vec![Action::Exit(0)]
        );
    }

    #[test]
    fn wait_all_still_obeys_a_stop_signal() {
        let t0 = Instant::now();
        let mut c = cfg();
        c.wait_all = true;
        let mut m = Machine::new(&c, t0);
        m.on_event(exited(0, true), t0);
        assert_eq!(
            acts(m.on_event(TERM, secs(t0, 1.0))),
            vec![Action::SignalRest(Signal::TERM)]
        );
        assert_eq!(m.next_deadline(), Some(secs(t0, 5.0)));
    }

    #[test]
    fn rewrite_applies_to_forwarding_and_to_the_rest() {
        let t0 = Instant::now();
        let mut c = cfg();
        c.rewrite.insert(Signal::TERM, Some(Signal::QUIT));
        c.rewrite.insert(Signal::HUP, None);
        let mut m = Machine::new(&c, t0);
        assert_eq!(
            acts(m.on_event(Event::Signal(Signal::HUP), t0)),
            vec![],
            "HUP:0 drops it"
        );
        assert_eq!(acts(m.on_event(TERM, t0)), vec![Action::Forward(Signal::QUIT)]);
        assert_eq!(
            acts(m.on_event(exited(0, true), t0)),
            vec![Action::SignalRest(Signal::QUIT)]
        );
    }

    #[test]
    fn exit_status_is_mapped() {
        let t0 = Instant::now();
        let mut c = cfg();
        c.map_exit.insert(143, 0);
        let mut m = Machine::new(&c, t0);
        m.on_event(TERM, t0);
        let a = acts(m.on_event(
            Event::MainExited {
                status: ExitStatus::Signaled(Signal::TERM, false),
                others_alive: false,
            },
            t0,
        ));
        assert_eq!(a, vec![Action::Exit(0)]);
    }

    #[test]
    fn custom_stop_signals() {
        let t0 = Instant::now();
        let mut c = cfg();
        c.stop_signals = vec![Signal::QUIT];
        let mut m = Machine::new(&c, t0);
        assert_eq!(acts(m.on_event(TERM, t0)), vec![Action::Forward(Signal::TERM)]);
        assert!(!m.stopping(), "TERM is not a stop signal here");
        m.on_event(Event::Signal(Signal::QUIT), t0);
        assert!(m.stopping());
    }

    #[test]
    fn exit_is_emitted_once() {
        let t0 = Instant::now();
        let mut m = Machine::new(&cfg(), t0);
        assert_eq!(acts(m.on_event(exited(0, false), t0)), vec![Action::Exit(0)]);
        assert_eq!(acts(m.on_event(Event::TreeEmpty, t0)), vec![]);
        assert_eq!(acts(m.on_event(TERM, t0)), vec![]);
    }

    #[test]
    fn report_after_beyond_grace_only_reports_before_kill() {
        let t0 = Instant::now();
        let mut c = cfg();
        c.report_after = Duration::from_secs(30);
        let mut m = Machine::new(&c, t0);
        m.on_event(TERM, t0);
        assert_eq!(m.next_deadline(), Some(secs(t0, 8.0)));
        assert_eq!(
            acts(m.on_event(Event::Tick, secs(t0, 8.0))),
            vec![Action::Report(ReportPhase::BeforeKill), Action::KillAll]
        );
    }
}
