//! The scenarios: what runs in the container, which init runs it, and what must be true after a
//! `docker stop`-like stop.
//!
//! Every scenario prints a line starting with `ready` on stdout once everything it needs is set up
//! (handlers installed, orphans forked); the harness stops the container only after that line.
//! Paths are inside the container: `/app` holds `examples/bad-parent/parent.py` and `fixtures/`.

use crate::outcome::{Outcome, Stop};

/// The size of the zombie storm: double-forked orphans that exit at once.
pub const STORM: usize = 3000;
/// The container's pids limit (bounds every scenario, including the storm under an init that
/// never reaps).
pub const PIDS_LIMIT: u32 = STORM as u32 + 1000;
/// What `docker stop` waits before its SIGKILL; the harness does the same with runc.
pub const RUNTIME_STOP_TIMEOUT_SECS: u64 = 10;
/// pidone's default grace period.
pub const PIDONE_GRACE_SECS: f64 = 8.0;
/// Slack on top of the grace period for process start-up and a loaded 2-core machine.
pub const MARGIN_SECS: f64 = 1.5;

/// Which init is the container's PID 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// The freshly built static pidone: `/pidone -- CMD`.
    Pidone,
    /// Debian's tini: `tini -- CMD` (what `docker run --init` runs, as docker-init).
    Tini,
    /// No init: CMD itself is PID 1.
    None,
}

impl Init {
    pub const ALL: [Init; 3] = [Init::Pidone, Init::Tini, Init::None];

    pub fn name(self) -> &'static str {
        match self {
            Init::Pidone => "pidone",
            Init::Tini => "tini",
            Init::None => "none",
        }
    }
}

/// One workload.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub name: &'static str,
    /// One line for the table's legend.
    pub what: &'static str,
    pub argv: &'static [&'static str],
}

/// Every scenario, in table order.
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "bad-parent",
            what: "examples/bad-parent: the parent forwards SIGTERM and sys.exit(0)s, then joins a child that catches SIGTERM",
            argv: &["python3", "/app/parent.py"],
        },
        Scenario {
            name: "exits-on-term",
            what: "a child with the default SIGTERM action (`sleep`)",
            argv: &["sh", "-c", "echo ready; exec sleep 1000"],
        },
        Scenario {
            name: "ignores-term",
            what: "a child that ignores SIGTERM",
            argv: &["sh", "-c", "trap '' TERM; echo ready; exec sleep 1000"],
        },
        Scenario {
            name: "orphan-ignores-term",
            what: "the main child exits on SIGTERM; its orphaned grandchild (`sleep 1001`) ignores SIGTERM",
            argv: &[
                "sh",
                "-c",
                "( (trap '' TERM; touch /tmp/orphan.ready; exec sleep 1001) & ); \
                 until [ -e /tmp/orphan.ready ]; do sleep 0.02; done; echo ready; exec sleep 1000",
            ],
        },
        Scenario {
            name: "orphan-daemon",
            what: "the main child exits on SIGTERM; an orphaned daemon needs 0.5 s for a clean shutdown",
            argv: &[
                "sh",
                "-c",
                "( python3 /app/daemon.py & ); \
                 until [ -e /tmp/daemon.ready ]; do sleep 0.02; done; echo ready; exec sleep 1000",
            ],
        },
        Scenario {
            name: "zombie-storm",
            what: "a double-forked runner makes 3000 double-forked orphans that exit at once; the main child is `sleep`",
            // The runner is itself an orphan and starts after the main child has exec'd `sleep`,
            // so with no init every orphan goes to `sleep` as PID 1, which never reaps.
            argv: &[
                "sh",
                "-c",
                "( (sleep 0.3; i=0; while [ $i -lt 3000 ]; do (true &); i=$((i+1)); done; echo ready) & ); \
                 exec sleep 1000",
            ],
        },
        Scenario {
            name: "exit-3",
            what: "a child that exits with status 3 on SIGTERM",
            argv: &[
                "python3",
                "-c",
                "import signal, sys, time\n\
                 signal.signal(signal.SIGTERM, lambda *a: sys.exit(3))\n\
                 print('ready', flush=True)\n\
                 time.sleep(1000)",
            ],
        },
        Scenario {
            name: "segv",
            what: "a child that dereferences NULL (a real SIGSEGV) on SIGTERM",
            argv: &[
                "python3",
                "-c",
                "import ctypes, signal, time\n\
                 signal.signal(signal.SIGTERM, lambda *a: ctypes.string_at(0))\n\
                 print('ready', flush=True)\n\
                 time.sleep(1000)",
            ],
        },
    ]
}

/// The facts pidone must deliver in `o` (one message per broken fact, empty when all hold).
///
/// Everything stops before the runtime's SIGKILL: at once when the tree obeys SIGTERM, at the
/// grace period (8 s) when something ignores it; exit status is the main child's; nothing is
/// left; no zombie survives the storm; the killed processes are named in pidone's log.
pub fn check_pidone(o: &Outcome) -> Vec<String> {
    let mut bad = Vec::new();
    let slow = PIDONE_GRACE_SECS + MARGIN_SECS;
    let fast = 3.0;
    let (status, limit, min) = match o.scenario {
        "bad-parent" => (137, slow, PIDONE_GRACE_SECS - 0.5),
        "ignores-term" => (137, slow, PIDONE_GRACE_SECS - 0.5),
        "orphan-ignores-term" => (143, slow, PIDONE_GRACE_SECS - 0.5),
        "exits-on-term" | "orphan-daemon" | "zombie-storm" => (143, fast, 0.0),
        "exit-3" => (3, fast, 0.0),
        "segv" => (139, fast, 0.0),
        other => return vec![format!("no expectations written for scenario {other}")],
    };
    bad.extend(o.error.iter().cloned());
    if o.stop != Stop::ByTerm {
        bad.push(format!("did not stop before the runtime's SIGKILL: {:?}", o.stop));
    }
    if o.exit != Some(status) {
        bad.push(format!("exit status {:?}, expected {status}", o.exit));
    }
    if !(min..=limit).contains(&o.stop_secs) {
        bad.push(format!(
            "stop took {:.2} s, expected between {min:.1} and {limit:.1} s",
            o.stop_secs
        ));
    }
    let expected_state = if o.runtime == "runc" { "deleted" } else { "exited" };
    if o.state_after != expected_state {
        bad.push(format!(
            "the runtime says {:?} after the stop, expected {expected_state:?}",
            o.state_after
        ));
    }
    if !o.leftovers.is_empty() {
        bad.push(format!("processes left after the stop: {:?}", o.leftovers));
    }
    if o.zombies != 0 {
        bad.push(format!("{} zombies in the container before the stop", o.zombies));
    }
    let need_in_log: &[&str] = match o.scenario {
        "bad-parent" => &["SIGKILL", "parent.py"],
        "ignores-term" => &["SIGKILL", "sleep 1000"],
        "orphan-ignores-term" => &["SIGKILL", "sleep 1001"],
        _ => &[],
    };
    for s in need_in_log {
        if !o.log_has_line_with(&["pidone:", s]) {
            bad.push(format!("pidone's log has no line naming {s:?}"));
        }
    }
    // The diagnosis (section 3 of the design) is out before the SIGKILL and names the cause.
    let need_in_report: &[&str] = match o.scenario {
        "bad-parent" => &["parent.py", "wait4", "multiprocessing"],
        "ignores-term" => &["sleep 1000", "ignores SIGTERM"],
        "orphan-ignores-term" => &["sleep 1001", "ignores SIGTERM"],
        _ => &[],
    };
    for s in need_in_report {
        if !o.report_before_kill(s) {
            bad.push(format!(
                "pidone's log has no report line naming {s:?} before the SIGKILL line"
            ));
        }
    }
    if o.scenario == "orphan-daemon" && !o.output.contains("clean shutdown") {
        bad.push("the orphaned daemon did not print its clean shutdown".into());
    }
    bad
}

/// The facts of the problem itself, checked on the inits pidone is compared with: if these do not
/// hold, the harness is not reproducing what users see and pidone's numbers prove nothing.
pub fn check_control(o: &Outcome) -> Vec<String> {
    let mut bad = Vec::new();
    bad.extend(o.error.iter().cloned());
    match (o.init, o.scenario) {
        (Init::Tini | Init::None, "bad-parent") if o.stop != Stop::ByRuntimeKill || o.exit != Some(137) => {
            bad.push(format!(
                "expected the seed's stuck stop (runtime SIGKILL after 10 s, exit 137), got {:?} exit {:?} after {:.2} s",
                o.stop, o.exit, o.stop_secs
            ));
        }
        (Init::Tini, "orphan-daemon") if o.output.contains("clean shutdown") => {
            bad.push("under tini the orphaned daemon was expected to be SIGKILLed by the kernel, but it shut down cleanly".into());
        }
        (Init::None, "zombie-storm") if o.zombies < STORM / 2 => {
            bad.push(format!(
                "with `sleep` as PID 1 nobody reaps: expected thousands of zombies, counted {}",
                o.zombies
            ));
        }
        _ => {}
    }
    bad
}
