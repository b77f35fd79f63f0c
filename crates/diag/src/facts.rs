//! The facts about one process that a kernel engineer would look up by hand.

use pidone_proc::syscall::Arch;
use pidone_proc::{Disposition, Process, Snapshot, State, SyscallState, Thread};
use pidone_sys::Signal;
use serde::Serialize;

/// One thread's wait and its treatment of the stop signal.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadFacts {
    /// Host tid.
    pub tid: i32,
    /// Its tid in its own namespace.
    pub ns_tid: i32,
    /// State letter.
    pub state: char,
    /// The decoded syscall it is blocked in (`None`: running, or not in a syscall).
    pub syscall: Option<String>,
    /// The kernel function it sleeps in.
    pub wchan: Option<String>,
    /// How it treats the stop signal (`None`: masks unreadable).
    pub stop_signal: Option<Disposition>,
}

/// One process.
#[derive(Debug, Clone, Serialize)]
pub struct ProcFacts {
    /// Host pid.
    pub pid: i32,
    /// The pid in every PID namespace, the host's first.
    pub nspid: Vec<i32>,
    /// Parent's host pid.
    pub ppid: i32,
    /// Process group and session (host).
    pub pgid: i32,
    /// Session (host).
    pub sid: i32,
    /// Command name.
    pub comm: String,
    /// Command line.
    pub cmdline: Vec<String>,
    /// Seconds since it started.
    pub age_secs: Option<f64>,
    /// State letter (R, S, D, Z, T).
    pub state: char,
    /// The state in words.
    pub state_words: String,
    /// The main thread's decoded syscall (`wait4(-1)`, `read(fd 3 = pipe:[123])`).
    pub syscall: Option<String>,
    /// The main thread's syscall name alone.
    pub syscall_name: Option<String>,
    /// The main thread's wait channel.
    pub wchan: Option<String>,
    /// The stop signal, e.g. `SIGTERM`.
    pub signal: String,
    /// Process-wide action for the stop signal: `caught`, `ignored`, `default`.
    pub action: Option<String>,
    /// Every thread blocks the stop signal (so it cannot be delivered).
    pub blocked: bool,
    /// The stop signal is pending (for the process or a thread).
    pub pending: bool,
    /// Per-thread details (at least the main thread).
    pub threads: Vec<ThreadFacts>,
    /// Files that could not be read.
    pub notes: Vec<String>,
}

fn fd_namer<'a>(p: &'a Process) -> impl Fn(i32) -> Option<String> + 'a {
    move |fd| p.fd(fd).map(|f| f.target.to_string())
}

/// The decoded syscall of a syscall state read from `p` (whose fds name the fd arguments).
pub fn describe_syscall(p: &Process, s: Option<&SyscallState>, arch: Arch) -> Option<String> {
    match s? {
        SyscallState::In(sc) => Some(sc.describe(arch, &fd_namer(p))),
        _ => None,
    }
}

/// The syscall name alone.
pub fn syscall_name(s: Option<&SyscallState>, arch: Arch) -> Option<String> {
    match s? {
        SyscallState::In(sc) => Some(sc.name(arch)),
        _ => None,
    }
}

fn thread_facts(p: &Process, t: &Thread, sig: Signal, arch: Arch) -> ThreadFacts {
    ThreadFacts {
        tid: t.tid,
        ns_tid: t.status.nspid.last().copied().unwrap_or(t.tid),
        state: t.status.state.map(State::letter).unwrap_or('?'),
        syscall: describe_syscall(p, t.syscall.as_ref(), arch),
        wchan: t.wchan.clone(),
        stop_signal: Disposition::of(&t.status, sig),
    }
}

/// Gather the facts about `p`.
pub fn facts(snap: &Snapshot, p: &Process, sig: Signal) -> ProcFacts {
    let arch = snap.arch;
    let mut threads: Vec<ThreadFacts> = p.threads.iter().map(|t| thread_facts(p, t, sig, arch)).collect();
    if threads.is_empty() {
        let main = Thread {
            tid: p.pid,
            status: p.status.clone(),
            syscall: p.syscall.clone(),
            wchan: p.wchan.clone(),
        };
        threads.push(thread_facts(p, &main, sig, arch));
    }
    let disp = p.disposition(sig);
    // A signal to a process is delivered to any thread that does not block it; only when
    // every thread blocks it does it stay pending.
    let blocked = !threads.is_empty() && threads.iter().all(|t| t.stop_signal.is_some_and(|d| d.blocked));
    let pending = threads.iter().any(|t| t.stop_signal.is_some_and(|d| d.pending()));
    let state = p.state();
    ProcFacts {
        pid: p.pid,
        nspid: p.nspid(),
        ppid: p.ppid(),
        pgid: p.pgid(),
        sid: p.sid(),
        comm: p.comm().to_string(),
        cmdline: p.cmdline.clone(),
        age_secs: snap
            .uptime
            .and_then(|u| p.age_secs(u))
            .map(|a| (a * 100.0).round() / 100.0),
        state: state.letter(),
        state_words: state.describe().to_string(),
        syscall: describe_syscall(p, p.main_syscall(), arch),
        syscall_name: syscall_name(p.main_syscall(), arch),
        wchan: p
            .wchan
            .clone()
            .or_else(|| p.threads.first().and_then(|t| t.wchan.clone())),
        signal: sig.to_string(),
        action: disp.map(|d| d.action().to_string()),
        blocked,
        pending,
        threads,
        notes: p.notes.clone(),
    }
}

impl ProcFacts {
    /// `pid 5609 (ns pid 2)` or `pid 5609` when it is in the reader's namespace.
    pub fn label(&self) -> String {
        match self.nspid.as_slice() {
            [_, .., ns] if self.nspid.len() > 1 => format!("pid {} (ns pid {ns})", self.pid),
            _ => format!("pid {}", self.pid),
        }
    }

    /// `pid 5609 (ns pid 2, python3)` or `pid 5609 (python3)`.
    pub fn label_comm(&self) -> String {
        match self.nspid.as_slice() {
            [_, .., ns] if self.nspid.len() > 1 => format!("pid {} (ns pid {ns}, {})", self.pid, self.comm),
            _ => format!("pid {} ({})", self.pid, self.comm),
        }
    }

    /// The command line, or `[comm]`.
    pub fn command(&self) -> String {
        if self.cmdline.is_empty() {
            format!("[{}]", self.comm)
        } else {
            self.cmdline.join(" ")
        }
    }

    /// PID 1 of its PID namespace (the innermost NSpid entry is 1), at any level.
    pub fn is_ns_init(&self) -> bool {
        self.nspid.last() == Some(&1)
    }

    /// The interpreter or program name: basename of argv[0], else comm.
    pub fn program(&self) -> String {
        self.cmdline
            .first()
            .and_then(|a| a.rsplit('/').next())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| self.comm.clone())
    }

    /// Whether it is a Python interpreter.
    pub fn is_python(&self) -> bool {
        self.program().starts_with("python") || self.comm.starts_with("python")
    }

    /// Whether it is a POSIX shell.
    pub fn is_shell(&self) -> bool {
        const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"];
        SHELLS.contains(&self.program().as_str()) || SHELLS.contains(&self.comm.as_str())
    }

    /// What it does with the stop signal, in words: `caught SIGTERM`, `ignores SIGTERM`, ...
    pub fn signal_words(&self) -> String {
        let sig = &self.signal;
        let mut s = match self.action.as_deref() {
            Some("caught") => format!("caught {sig} (a handler is installed)"),
            Some("ignored") => format!("ignores {sig}"),
            Some(_) => format!("has {sig} at its default action (terminate)"),
            None => format!("has an unreadable {sig} disposition"),
        };
        if self.blocked {
            s.push_str(", blocks it in every thread");
        }
        if self.pending {
            s.push_str(", and it is pending (sent, not yet handled)");
        }
        s
    }

    /// Where it sleeps: `sleeping in clock_nanosleep`, `stopped`, ...
    pub fn where_words(&self) -> String {
        match (&self.syscall, self.state) {
            (Some(sc), 'S' | 'D') => format!("{} in {sc}", self.state_words),
            _ => self.state_words.clone(),
        }
    }
}
