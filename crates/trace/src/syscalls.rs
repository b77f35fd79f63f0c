//! `pidone trace syscalls -p PID [-f]`: how often each syscall was called. The counting is
//! done in the kernel (`bpf/syscalls.bpf.c`); this side waits, then reads one small map.

use crate::session::{self, LoadOptions, Session};
use crate::{objects, Output, TraceError};
use aya::maps::{Array, HashMap as BpfHashMap};
use pidone_proc::stat::{parse_stat, Stat, State};
use pidone_proc::Arch;
use serde_json::json;
use std::time::Duration;

/// What to count and how to print it.
#[derive(Debug, Clone)]
pub struct Config {
    /// The process (host pid) whose threads are counted.
    pub pid: u32,
    /// Also count the processes it forks, and theirs.
    pub follow: bool,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Print only the N most frequent (all when None).
    pub top: Option<usize>,
}

/// The counts of one run, most frequent first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// (syscall number, calls), sorted by calls, descending.
    pub counts: Vec<(u32, u64)>,
    /// Sum of all calls.
    pub total: u64,
}

/// The slot of `bpf/syscalls.bpf.c` where numbers from it up are counted together.
pub const OTHER: u32 = 1023;

/// The display name of syscall `nr` on this machine, `syscall_N` when unknown.
pub fn display_name(arch: Option<Arch>, nr: u32) -> String {
    if nr == OTHER {
        return format!("other (numbers >= {OTHER})");
    }
    arch.and_then(|a| a.name(i64::from(nr)))
        .map(str::to_string)
        .unwrap_or_else(|| format!("syscall_{nr}"))
}

/// Sort (nr, calls) pairs: most calls first, then by number.
pub fn sorted(mut counts: Vec<(u32, u64)>) -> Summary {
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let total = counts.iter().map(|c| c.1).sum();
    Summary { counts, total }
}

/// The text table: `CALLS  SYSCALL` rows, then the total.
pub fn text_table(arch: Option<Arch>, s: &Summary, top: Option<usize>) -> Vec<String> {
    let mut lines = vec![format!("{:>12}  SYSCALL", "CALLS")];
    for (nr, n) in s.counts.iter().take(top.unwrap_or(usize::MAX)) {
        lines.push(format!("{n:>12}  {}", display_name(arch, *nr)));
    }
    let shown = top.map_or(s.counts.len(), |t| t.min(s.counts.len()));
    let more = s.counts.len() - shown;
    let mut total = format!("{:>12}  total ({} syscalls", s.total, s.counts.len());
    if more > 0 {
        total.push_str(&format!(", {more} not shown"));
    }
    total.push(')');
    lines.push(total);
    lines
}

/// The process's `/proc/PID/stat`: comm, state, and start time (which tells a reused pid
/// from the process we were given).
fn stat_of(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Whether the process we started with is still running: not gone, not a zombie, not
/// replaced by another process that got the same pid.
fn still_running(pid: u32, first: &Stat) -> bool {
    stat_of(pid).is_some_and(|now| {
        now.starttime == first.starttime && !matches!(now.state, State::Zombie | State::Dead)
    })
}

/// The thread-group id of `pid` (a thread id given with -p counts as its process).
fn tgid_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Count until a stop signal, the deadline, or the end of the traced process (and, with
/// `follow`, of every process it forked); print the table.
pub fn run(cfg: &Config, out: &mut Output<'_>) -> Result<Summary, TraceError> {
    session::check_privileges()?;
    let missing = TraceError::NoSuchProcess { pid: cfg.pid };
    let pid = tgid_of(cfg.pid).ok_or(missing)?;
    let first = stat_of(pid).ok_or(TraceError::NoSuchProcess { pid: cfg.pid })?;
    let comm = first.comm.clone();
    let mut sess = Session::start(cfg.duration)?;
    let globals = [("target_tgid", pid), ("follow", u32::from(cfg.follow))];
    // Hash maps are preallocated: without -f, the followed set is never used.
    let shrink = [("followed", 1)];
    let opts = LoadOptions {
        globals: &globals,
        max_entries: if cfg.follow { &[] } else { &shrink },
        // sys_enter reads no kernel struct; the fork and exit programs of -f do.
        core: cfg.follow,
    };
    let mut bpf = session::load("syscalls", objects::syscalls(), opts)?;
    if cfg.follow {
        // Attached before sys_enter so that no child forked after "attached" is missed.
        session::attach_raw(&mut bpf, "sched_process_fork", "sched_process_fork")?;
        session::attach_raw(&mut bpf, "sched_process_exit", "sched_process_exit")?;
    }
    session::attach_raw(&mut bpf, "sys_enter", "sys_enter")?;
    let who = if cfg.follow { " and its children" } else { "" };
    out.ready(&format!("syscalls of {pid} ({comm}){who}"))?;

    // Nothing to read while counting: wake twice a second to notice the process is gone.
    let tick = Some(Duration::from_millis(500));
    let stop = loop {
        let wake = sess.wait(None, tick)?;
        if let Some(reason) = wake.reason() {
            break reason;
        }
        if !still_running(pid, &first) && (!cfg.follow || followed_is_empty(&bpf)?) {
            break format!("process {pid} exited");
        }
    };

    let map = bpf
        .map("counts")
        .ok_or(TraceError::MissingInObject { name: "counts" })?;
    let counts: Array<_, u64> = Array::try_from(map).map_err(|source| TraceError::Map {
        name: "counts",
        source,
    })?;
    let mut raw = Vec::new();
    for (nr, n) in counts.iter().enumerate() {
        let n = n.map_err(|source| TraceError::Map {
            name: "counts",
            source,
        })?;
        if n > 0 {
            raw.push((nr as u32, n));
        }
    }
    drop(bpf);
    let summary = sorted(raw);
    let arch = Some(Arch::host());
    let secs = sess.elapsed().as_secs_f64();
    if out.json {
        for (nr, n) in summary.counts.iter().take(cfg.top.unwrap_or(usize::MAX)) {
            let line = json!({"type": "syscall", "nr": nr, "name": display_name(arch, *nr), "count": n});
            if !out.line(&line.to_string())? {
                return Ok(summary);
            }
        }
        out.line(
            &json!({"type": "summary", "tracer": "syscalls", "pid": pid, "follow": cfg.follow,
                    "calls": summary.total, "syscalls": summary.counts.len(), "seconds": secs,
                    "ended": stop})
            .to_string(),
        )?;
    } else {
        for l in text_table(arch, &summary, cfg.top) {
            if !out.line(&l)? {
                break;
            }
        }
        out.note(&format!("{} calls in {secs:.1} s ({stop})", summary.total));
    }
    Ok(summary)
}

fn followed_is_empty(bpf: &aya::Ebpf) -> Result<bool, TraceError> {
    let map = bpf
        .map("followed")
        .ok_or(TraceError::MissingInObject { name: "followed" })?;
    let m: BpfHashMap<_, u32, u8> = BpfHashMap::try_from(map).map_err(|source| TraceError::Map {
        name: "followed",
        source,
    })?;
    Ok(m.keys().next().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_named() {
        let s = sorted(vec![(0, 5), (110, 1000), (231, 1), (999, 5)]);
        assert_eq!(display_name(Some(Arch::X86_64), OTHER), "other (numbers >= 1023)");
        assert_eq!(s.total, 1011);
        let t = text_table(Some(Arch::X86_64), &s, Some(3));
        assert_eq!(
            t,
            vec![
                "       CALLS  SYSCALL",
                "        1000  getppid",
                "           5  read",
                "           5  syscall_999",
                "        1011  total (4 syscalls, 1 not shown)",
            ]
        );
    }
}
