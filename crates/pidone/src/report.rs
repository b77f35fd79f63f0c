//! The diagnosis report the init prints when the tree does not stop in time.
//!
//! For the main child (if alive) and then every other process still alive that no earlier
//! explanation covered, the report gives `pidone why`'s facts: identity, state, blocked
//! syscall, stop-signal disposition per thread, the wait-for chain, hints and a verdict.
//! Text lines start with `pidone: warn: ` so they read as the init's log; with
//! `--log-format json` every line is one JSON object with the same facts.

use pidone_diag::Explanation;
use pidone_init::config::LogFormat;
use pidone_init::report::{Report, ReportRequest, Reporter};
use pidone_proc::snapshot::{FdScope, ReadOptions};
use pidone_proc::Snapshot;
use pidone_sys::Pid;
use serde::Serialize;
use std::collections::BTreeSet;

/// The reporter the init uses.
#[derive(Debug, Default)]
pub struct DiagReporter;

/// The report's first JSON line.
#[derive(Serialize)]
struct Header<'a> {
    level: &'static str,
    msg: &'static str,
    phase: &'a str,
    elapsed_secs: f64,
    signal: String,
    alive: Vec<i32>,
    main_child: Option<i32>,
}

/// One JSON line per explanation.
#[derive(Serialize)]
struct Why<'a> {
    level: &'static str,
    msg: &'static str,
    phase: &'a str,
    explanation: &'a Explanation,
}

/// The snapshot the report needs: only the processes still alive (in either mode they are
/// the init's descendants, so every child a waiter can wait for is among them) and the init.
fn snapshot(alive: &[Pid]) -> Snapshot {
    let mut pids: BTreeSet<i32> = alive.iter().map(|p| p.as_raw()).collect();
    pids.insert(Pid::this().as_raw());
    let opts = ReadOptions {
        fds: FdScope::Only(pids.clone()),
        pids: Some(pids.into_iter().collect()),
        ..ReadOptions::full()
    };
    Snapshot::take(&opts)
        .unwrap_or_else(|_| Snapshot::from_processes(Vec::new(), None, pidone_proc::Arch::host()))
}

/// Explanations covering every alive pid: the main child's first.
pub fn explanations(snap: &Snapshot, req: &ReportRequest<'_>) -> Vec<Explanation> {
    let mut order: Vec<i32> = req.main_child.iter().map(|p| p.as_raw()).collect();
    order.extend(req.alive.iter().map(|p| p.as_raw()));
    let mut covered = BTreeSet::new();
    let mut out = Vec::new();
    for pid in order {
        if covered.contains(&pid) {
            continue;
        }
        let Some(e) = pidone_diag::explain(snap, pid, req.stop_signal) else {
            continue; // exited since the init listed it
        };
        covered.extend(e.processes.iter().map(|p| p.pid));
        out.push(e);
    }
    out
}

/// `pid:state:syscall;` for every alive process, in pid order: what "changed" means.
fn key(snap: &Snapshot, alive: &[Pid]) -> String {
    let mut pids: Vec<i32> = alive.iter().map(|p| p.as_raw()).collect();
    pids.sort_unstable();
    let mut k = String::new();
    for pid in pids {
        let Some(p) = snap.get(pid) else { continue };
        let sc = pidone_diag::facts::describe_syscall(p, p.main_syscall(), snap.arch).unwrap_or_default();
        k.push_str(&format!("{pid}:{}:{sc};", p.state()));
    }
    k
}

/// Render the report for `req` from `snap` (pure: the unit tests feed hand-built snapshots).
pub fn render(snap: &Snapshot, req: &ReportRequest<'_>) -> Report {
    let exps = explanations(snap, req);
    let alive: Vec<i32> = req
        .alive
        .iter()
        .map(|p| p.as_raw())
        .filter(|p| snap.get(*p).is_some())
        .collect();
    let key = key(snap, req.alive);
    if alive.is_empty() {
        return Report {
            text: String::new(),
            key,
        };
    }
    let mut text = String::new();
    match req.format {
        LogFormat::Text => {
            text.push_str(&format!(
                "pidone: warn: {} process{} still running {:.1}s after {} ({}): {}\n",
                alive.len(),
                if alive.len() == 1 { "" } else { "es" },
                req.elapsed_secs,
                req.stop_signal,
                req.phase,
                alive.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(" ")
            ));
            for e in &exps {
                for l in pidone_diag::render::lines(e) {
                    text.push_str("pidone: warn: ");
                    text.push_str(&l);
                    text.push('\n');
                }
            }
        }
        LogFormat::Json => {
            let h = Header {
                level: "warn",
                msg: "still running",
                phase: req.phase,
                elapsed_secs: req.elapsed_secs,
                signal: req.stop_signal.to_string(),
                alive,
                main_child: req.main_child.map(|p| p.as_raw()),
            };
            if let Ok(s) = serde_json::to_string(&h) {
                text.push_str(&s);
                text.push('\n');
            }
            for e in &exps {
                let w = Why {
                    level: "warn",
                    msg: "why",
                    phase: req.phase,
                    explanation: e,
                };
                if let Ok(s) = serde_json::to_string(&w) {
                    text.push_str(&s);
                    text.push('\n');
                }
            }
        }
    }
    Report { text, key }
}

impl Reporter for DiagReporter {
    fn report(&mut self, req: &ReportRequest<'_>) -> Report {
        render(&snapshot(req.alive), req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pidone_proc::status::parse_status;
    use pidone_proc::syscall::parse_syscall;
    use pidone_proc::{Arch, Process, Thread};
    use pidone_sys::Signal;

    /// A hand-built process: `nspid` host first, state letter, syscall line, SigCgt hex.
    fn proc_(nspid: &[i32], ppid: i32, comm: &str, state: &str, syscall: &str, cgt: &str) -> Process {
        let ns = nspid.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("\t");
        let text = format!(
            "Name:\t{comm}\nState:\t{state}\nTgid:\t{p}\nPid:\t{p}\nPPid:\t{ppid}\nNSpid:\t{ns}\n\
             NSpgid:\t{p}\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n\
             SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t{cgt}\nVmSize:\t1 kB\n",
            p = nspid[0]
        );
        let status = parse_status(&text).unwrap();
        let sc = parse_syscall(syscall);
        Process {
            pid: nspid[0],
            status: status.clone(),
            stat: None,
            cmdline: vec![comm.to_string(), "parent.py".into()],
            syscall: sc.clone(),
            wchan: None,
            pid_ns: None,
            threads: vec![Thread {
                tid: nspid[0],
                status,
                syscall: sc,
                wchan: Some("do_wait".into()),
            }],
            fds: Some(Vec::new()),
            children: None,
            notes: Vec::new(),
        }
    }

    fn bad_parent() -> Snapshot {
        // The blog post's container: parent ns pid 2 waits in wait4(3); child ns pid 3 caught TERM.
        let parent = proc_(
            &[5609, 2],
            5600,
            "python3",
            "S (sleeping)",
            "61 0x3 0x0 0x0 0x0 0x0 0x0 0x1 0x2",
            "0000000000004002",
        );
        let child = proc_(
            &[5612, 3],
            5609,
            "python3",
            "S (sleeping)",
            "230 0x1 0x0 0x0 0x0 0x0 0x0 0x1 0x2",
            "0000000000004002",
        );
        // A decoy whose HOST pid is 3: wait4's argument must not be read as a host pid.
        let decoy = proc_(
            &[3],
            2,
            "python3",
            "S (sleeping)",
            "230 0x1 0x0 0x0 0x0 0x0 0x0 0x1 0x2",
            "0000000000000000",
        );
        Snapshot::from_processes(vec![parent, child, decoy], Some(100.0), Arch::X86_64)
    }

    fn req<'a>(alive: &'a [Pid], format: LogFormat) -> ReportRequest<'a> {
        ReportRequest {
            alive,
            main_child: alive.first().copied(),
            stop_signal: Signal::TERM,
            format,
            phase: "report-after",
            elapsed_secs: 4.0,
        }
    }

    #[test]
    fn text_report_names_the_chain_and_the_python_hint() {
        let snap = bad_parent();
        let alive = [Pid::from_raw(5609).unwrap(), Pid::from_raw(5612).unwrap()];
        let r = render(&snap, &req(&alive, LogFormat::Text));
        assert!(r.text.lines().all(|l| l.starts_with("pidone: ")), "{}", r.text);
        assert!(
            r.text
                .contains("2 processes still running 4.0s after SIGTERM (report-after): 5609 5612"),
            "{}",
            r.text
        );
        assert!(
            r.text
                .contains("waits in wait4(3) for its child: pid 5612 (ns pid 3, python3)"),
            "{}",
            r.text
        );
        assert!(r.text.contains("[python-multiprocessing]"), "{}", r.text);
        assert!(
            !r.text.contains("pid 3 (python3)"),
            "the decoy was taken for the child:\n{}",
            r.text
        );
        assert_eq!(r.key, "5609:S:wait4(3);5612:S:clock_nanosleep;");
    }

    #[test]
    fn json_report_has_one_object_per_line() {
        let snap = bad_parent();
        let alive = [Pid::from_raw(5609).unwrap(), Pid::from_raw(5612).unwrap()];
        let r = render(&snap, &req(&alive, LogFormat::Json));
        let lines: Vec<serde_json::Value> =
            r.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{}", r.text);
        assert_eq!(lines[0]["alive"], serde_json::json!([5609, 5612]));
        assert_eq!(lines[1]["explanation"]["edges"][0]["to"], 5612);
        assert_eq!(
            lines[1]["explanation"]["hints"][0]["rule"],
            "python-multiprocessing"
        );
    }

    #[test]
    fn nothing_alive_prints_nothing() {
        let snap = bad_parent();
        let alive = [Pid::from_raw(777).unwrap()];
        let r = render(&snap, &req(&alive, LogFormat::Text));
        assert_eq!((r.text.as_str(), r.key.as_str()), ("", ""));
    }
}
