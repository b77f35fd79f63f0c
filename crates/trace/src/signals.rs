//! `pidone trace signals`: every signal generated on the machine (or for the filters given),
//! as live lines or, with `--count`, as totals per (signal, sender, target) at the end.

use crate::event::SignalEvent;
use crate::session::{self, Clock, LoadOptions, Session};
use crate::{fmt_task, kernel_comm, objects, Output, TraceError};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// What to trace and how to print it.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Totals at the end instead of one line per signal.
    pub count: bool,
    /// Only signals sent by or to this process (host pid, i.e. tgid).
    pub pid: Option<u32>,
    /// Only signals whose sender or target has this comm (compared on its first 15 bytes).
    pub comm: Option<String>,
    /// Only signals whose sender or target is in the PID namespace of this process.
    pub ns: Option<u32>,
    /// Stop after this long.
    pub duration: Option<Duration>,
}

/// What a run saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Signals that passed the filters.
    pub signals: u64,
    /// Records lost because the ring buffer was full.
    pub lost: u64,
}

/// The key of a `--count` total.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    signo: i32,
    sender_pid: u32,
    sender_comm: String,
    target_pid: u32,
    target_comm: String,
}

/// Whether `e` passes the filters done in user space (`--comm`; pid and namespace are
/// filtered in the kernel).
pub fn matches(comm: Option<&str>, e: &SignalEvent) -> bool {
    comm.is_none_or(|c| e.sender.comm == c || e.target.comm == c)
}

/// One event as a text line: `08:41:03.123456 SIGTERM 1 (pidone) -> 294147 (python) delivered`.
pub fn text_line(clock: &Clock, e: &SignalEvent) -> String {
    format!(
        "{} {:<11} {} -> {} {}",
        clock.hms(e.ts_ns),
        e.signal_name(),
        fmt_task(e.sender.pid, Some(e.sender.tid), e.sender.ns_pid, &e.sender.comm),
        fmt_task(e.target.pid, Some(e.target.tid), e.target.ns_pid, &e.target.comm),
        e.result
    )
}

/// One event as a JSON line.
pub fn json_line(clock: &Clock, e: &SignalEvent) -> String {
    json!({
        "type": "signal",
        "ts_ns": e.ts_ns,
        "time_unix_ns": clock.unix_ns(e.ts_ns),
        "signal": e.signal_name(),
        "signo": e.signo,
        "code": e.code,
        "group": e.group,
        "result": e.result.to_string(),
        "sender": {"pid": e.sender.pid, "tid": e.sender.tid, "comm": e.sender.comm, "ns_pid": e.sender.ns_pid},
        "target": {"pid": e.target.pid, "tid": e.target.tid, "comm": e.target.comm, "ns_pid": e.target.ns_pid},
    })
    .to_string()
}

/// Run the tracer until a stop signal or the deadline; print the events or the totals.
pub fn run(cfg: &Config, out: &mut Output<'_>) -> Result<Summary, TraceError> {
    session::check_privileges()?;
    let ns = cfg.ns.map(crate::PidNamespace::of).transpose()?;
    let ns_inum = ns.as_ref().map_or(0, |n| n.inum);
    let comm = cfg.comm.as_deref().map(kernel_comm);
    let mut sess = Session::start(cfg.duration)?;
    let globals = [("filter_pid", cfg.pid.unwrap_or(0)), ("filter_ns_inum", ns_inum)];
    let opts = LoadOptions {
        globals: &globals,
        core: true,
        ..LoadOptions::default()
    };
    let mut bpf = session::load("signals", objects::signals(), opts)?;
    let mut ring = session::take_ring(&mut bpf)?;
    session::attach_raw(&mut bpf, "signal_generate", "signal_generate")?;
    out.ready("signals")?;

    let mut summary = Summary::default();
    let mut totals: BTreeMap<Key, u64> = BTreeMap::new();
    let clock = sess.clock;
    let stop = session::pump(&mut sess, &mut ring, |record| {
        let e = SignalEvent::decode(record)?;
        if !matches(comm.as_deref(), &e) {
            return Ok(true);
        }
        summary.signals += 1;
        if cfg.count {
            let key = Key {
                signo: e.signo,
                sender_pid: e.sender.pid,
                sender_comm: e.sender.comm.clone(),
                target_pid: e.target.pid,
                target_comm: e.target.comm.clone(),
            };
            *totals.entry(key).or_default() += 1;
            return Ok(true);
        }
        let line = if out.json {
            json_line(&clock, &e)
        } else {
            text_line(&clock, &e)
        };
        out.line(&line)
    })?;
    summary.lost = session::dropped(&bpf);
    drop(bpf); // detach and unload before printing, so the summary is the last thing we do

    if cfg.count {
        let mut rows: Vec<(Key, u64)> = totals.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if !out.json && !rows.is_empty() {
            out.line(&format!(
                "{:>8}  {:<11} {:<28} TARGET",
                "COUNT", "SIGNAL", "SENDER"
            ))?;
        }
        for (k, n) in rows {
            let name = crate::event::signal_name(k.signo);
            let line = if out.json {
                json!({
                    "type": "count", "signal": name, "signo": k.signo, "count": n,
                    "sender": {"pid": k.sender_pid, "comm": k.sender_comm},
                    "target": {"pid": k.target_pid, "comm": k.target_comm},
                })
                .to_string()
            } else {
                format!(
                    "{n:>8}  {name:<11} {:<28} {}",
                    fmt_task(k.sender_pid, None, None, &k.sender_comm),
                    fmt_task(k.target_pid, None, None, &k.target_comm)
                )
            };
            if !out.line(&line)? {
                break;
            }
        }
    }
    let secs = sess.elapsed().as_secs_f64();
    if out.json {
        out.line(
            &json!({"type": "summary", "tracer": "signals", "signals": summary.signals,
                    "lost": summary.lost, "seconds": secs, "ended": stop})
            .to_string(),
        )?;
    } else {
        out.note(&format!(
            "{} signals in {secs:.1} s, {} lost ({})",
            summary.signals,
            summary.lost,
            stop.as_deref().unwrap_or("output closed")
        ));
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{SignalResult, Task};

    fn ev() -> SignalEvent {
        SignalEvent {
            ts_ns: 5_000_000_000,
            signo: 15,
            result: SignalResult::Delivered,
            code: 0,
            group: true,
            sender: Task {
                pid: 1,
                tid: 1,
                comm: "pidone".into(),
                ns_pid: None,
            },
            target: Task {
                pid: 294147,
                tid: 294147,
                comm: "python".into(),
                ns_pid: Some(7),
            },
        }
    }

    #[test]
    fn text_and_json_lines() {
        let c = Clock::fixed(0, 0);
        assert_eq!(
            text_line(&c, &ev()),
            "00:00:05.000000 SIGTERM     1 (pidone) -> 294147 [ns 7] (python) delivered"
        );
        let v: serde_json::Value = serde_json::from_str(&json_line(&c, &ev())).unwrap();
        assert_eq!(v["signal"], "SIGTERM");
        assert_eq!(v["target"]["pid"], 294147);
        assert_eq!(v["target"]["ns_pid"], 7);
        assert_eq!(v["sender"]["ns_pid"], serde_json::Value::Null);
    }

    #[test]
    fn comm_filter_matches_sender_or_target() {
        assert!(matches(None, &ev()));
        assert!(matches(Some("python"), &ev()));
        assert!(matches(Some("pidone"), &ev()));
        assert!(!matches(Some("bash"), &ev()));
    }
}
