//! `pidone trace procs`: process lifecycle, one line per fork, exec and exit, with times.

use crate::event::{ProcEvent, ProcKind};
use crate::session::{self, Clock, LoadOptions, Session};
use crate::{fmt_task, kernel_comm, objects, Output, TraceError};
use serde_json::json;
use std::time::Duration;

/// What to trace.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Only processes in the PID namespace of this process (or namespaces nested in it).
    pub ns: Option<u32>,
    /// Only events of this process or of its direct children (host pid).
    pub pid: Option<u32>,
    /// Only events of processes with this comm.
    pub comm: Option<String>,
    /// Stop after this long.
    pub duration: Option<Duration>,
}

/// What a run saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub forks: u64,
    pub execs: u64,
    pub exits: u64,
    /// Records lost because the ring buffer was full.
    pub lost: u64,
}

/// Whether `e` passes the user-space filters (`--pid`, `--comm`; `--ns` is done in the kernel).
pub fn matches(pid: Option<u32>, comm: Option<&str>, e: &ProcEvent) -> bool {
    pid.is_none_or(|p| e.pid == p || e.ppid == p) && comm.is_none_or(|c| e.comm == c)
}

/// One event as a text line.
pub fn text_line(clock: &Clock, e: &ProcEvent) -> String {
    let me = fmt_task(e.pid, None, e.ns_pid, &e.comm);
    let parent = match e.ns_ppid {
        Some(n) => format!("{} [ns {n}]", e.ppid),
        None => e.ppid.to_string(),
    };
    let what = match &e.kind {
        ProcKind::Fork => format!("fork  {me} parent {parent}"),
        ProcKind::Exec { filename, .. } => format!("exec  {me} {filename}"),
        ProcKind::Exit(how) => format!("exit  {me} {how}"),
    };
    format!("{} {what}", clock.hms(e.ts_ns))
}

/// One event as a JSON line.
pub fn json_line(clock: &Clock, e: &ProcEvent) -> String {
    let mut v = json!({
        "ts_ns": e.ts_ns,
        "time_unix_ns": clock.unix_ns(e.ts_ns),
        "pid": e.pid,
        "ppid": e.ppid,
        "ns_pid": e.ns_pid,
        "ns_ppid": e.ns_ppid,
        "comm": e.comm,
    });
    match &e.kind {
        ProcKind::Fork => v["type"] = "fork".into(),
        ProcKind::Exec { filename, old_pid } => {
            v["type"] = "exec".into();
            v["filename"] = filename.as_str().into();
            v["old_pid"] = (*old_pid).into();
        }
        ProcKind::Exit(how) => {
            v["type"] = "exit".into();
            match *how {
                crate::event::ExitHow::Code(c) => v["exit_code"] = c.into(),
                crate::event::ExitHow::Signal { signo, core } => {
                    v["signal"] = crate::event::signal_name(signo).into();
                    v["signo"] = signo.into();
                    v["core_dumped"] = core.into();
                }
            }
        }
    }
    v.to_string()
}

/// Run the tracer until a stop signal or the deadline.
pub fn run(cfg: &Config, out: &mut Output<'_>) -> Result<Summary, TraceError> {
    session::check_privileges()?;
    let ns = cfg.ns.map(crate::PidNamespace::of).transpose()?;
    let ns_inum = ns.as_ref().map_or(0, |n| n.inum);
    let comm = cfg.comm.as_deref().map(kernel_comm);
    let mut sess = Session::start(cfg.duration)?;
    let globals = [("filter_ns_inum", ns_inum)];
    let opts = LoadOptions {
        globals: &globals,
        core: true,
        ..LoadOptions::default()
    };
    let mut bpf = session::load("procs", objects::procs(), opts)?;
    let mut ring = session::take_ring(&mut bpf)?;
    for tp in ["sched_process_fork", "sched_process_exec", "sched_process_exit"] {
        session::attach_raw(&mut bpf, tp, tp)?;
    }
    out.ready("procs")?;

    let clock = sess.clock;
    let mut summary = Summary::default();
    let stop = session::pump(&mut sess, &mut ring, |record| {
        let e = ProcEvent::decode(record)?;
        if !matches(cfg.pid, comm.as_deref(), &e) {
            return Ok(true);
        }
        match e.kind {
            ProcKind::Fork => summary.forks += 1,
            ProcKind::Exec { .. } => summary.execs += 1,
            ProcKind::Exit(_) => summary.exits += 1,
        }
        let line = if out.json {
            json_line(&clock, &e)
        } else {
            text_line(&clock, &e)
        };
        out.line(&line)
    })?;
    summary.lost = session::dropped(&bpf);
    drop(bpf);
    let secs = sess.elapsed().as_secs_f64();
    if out.json {
        out.line(
            &json!({"type": "summary", "tracer": "procs", "forks": summary.forks, "execs": summary.execs,
                    "exits": summary.exits, "lost": summary.lost, "seconds": secs, "ended": stop})
            .to_string(),
        )?;
    } else {
        out.note(&format!(
            "{} forks, {} execs, {} exits in {secs:.1} s, {} lost ({})",
            summary.forks,
            summary.execs,
            summary.exits,
            summary.lost,
            stop.as_deref().unwrap_or("output closed")
        ));
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ExitHow;

    fn ev(kind: ProcKind) -> ProcEvent {
        ProcEvent {
            ts_ns: 1_500_000,
            kind,
            pid: 700,
            ppid: 699,
            ns_pid: None,
            ns_ppid: None,
            comm: "sh".into(),
        }
    }

    #[test]
    fn text_lines() {
        let c = Clock::fixed(0, 0);
        assert_eq!(
            text_line(&c, &ev(ProcKind::Fork)),
            "00:00:00.001500 fork  700 (sh) parent 699"
        );
        let exec = ProcKind::Exec {
            filename: "/bin/true".into(),
            old_pid: 700,
        };
        assert_eq!(
            text_line(&c, &ev(exec)),
            "00:00:00.001500 exec  700 (sh) /bin/true"
        );
        let killed = ProcKind::Exit(ExitHow::Signal {
            signo: 15,
            core: false,
        });
        assert_eq!(
            text_line(&c, &ev(killed)),
            "00:00:00.001500 exit  700 (sh) killed by SIGTERM"
        );
    }

    #[test]
    fn json_exit_has_code_or_signal() {
        let c = Clock::fixed(0, 0);
        let v: serde_json::Value =
            serde_json::from_str(&json_line(&c, &ev(ProcKind::Exit(ExitHow::Code(3))))).unwrap();
        assert_eq!(
            (v["type"].as_str(), v["exit_code"].as_i64()),
            (Some("exit"), Some(3))
        );
        let k = ProcKind::Exit(ExitHow::Signal {
            signo: 9,
            core: false,
        });
        let v: serde_json::Value = serde_json::from_str(&json_line(&c, &ev(k))).unwrap();
        assert_eq!(v["signal"], "SIGKILL");
    }

    #[test]
    fn pid_filter_takes_the_process_and_its_children() {
        assert!(matches(Some(700), None, &ev(ProcKind::Fork)));
        assert!(matches(Some(699), None, &ev(ProcKind::Fork)));
        assert!(!matches(Some(1), None, &ev(ProcKind::Fork)));
        assert!(!matches(None, Some("bash"), &ev(ProcKind::Fork)));
    }
}
