//! One function per well-known cause of "it will not exit". Each looks at an
//! [`Explanation`] (and the snapshot, for context) and returns a hint when it matches.

use crate::explain::{EdgeKind, Explanation};
use crate::facts::ProcFacts;
use pidone_proc::Snapshot;
use serde::Serialize;

/// A well-known cause that matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hint {
    /// Stable id, for JSON consumers and tests: `python-multiprocessing`.
    pub rule: &'static str,
    /// The process it is about (host pid).
    pub pid: i32,
    /// Short name of the cause.
    pub title: String,
    /// What happens and what to change.
    pub text: String,
}

/// A rule: the explanation and the snapshot in, a hint out.
pub type Rule = fn(&Explanation, &Snapshot) -> Vec<Hint>;

/// Every rule, most specific first (the verdict names the first hint's cause).
pub const RULES: &[Rule] = &[
    python_multiprocessing_join,
    shell_without_exec,
    pipe_reader_holds_write_end,
    ignores_stop_signal,
    blocks_stop_signal,
    ns_init_without_handler,
    stopped_process,
    zombie_not_reaped,
    uninterruptible_sleep,
];

/// Run every rule.
pub fn all(e: &Explanation, snap: &Snapshot) -> Vec<Hint> {
    RULES.iter().flat_map(|r| r(e, snap)).collect()
}

fn waits_in_wait(p: &ProcFacts) -> bool {
    matches!(p.syscall_name.as_deref(), Some("wait4" | "waitid"))
        || p.threads.iter().any(|t| {
            t.syscall
                .as_deref()
                .is_some_and(|s| s.starts_with("wait4(") || s.starts_with("waitid("))
        })
}

fn survives_signal(c: &ProcFacts) -> bool {
    matches!(c.action.as_deref(), Some("caught" | "ignored")) || c.blocked
}

/// Python's `multiprocessing` registers an atexit handler that `join()`s every non-daemon
/// child: a parent that calls `sys.exit()` on SIGTERM then sleeps in `wait4` until a child
/// that caught (or ignores) SIGTERM decides to exit — the blog post's bad parent.
pub fn python_multiprocessing_join(e: &Explanation, _: &Snapshot) -> Vec<Hint> {
    let mut out = Vec::new();
    for p in e.processes.iter().filter(|p| p.is_python() && waits_in_wait(p)) {
        for edge in e
            .edges
            .iter()
            .filter(|x| x.from == p.pid && x.kind == EdgeKind::WaitsForChild)
        {
            let Some(c) = e.get(edge.to) else { continue };
            if c.is_python() && survives_signal(c) {
                out.push(Hint {
                    rule: "python-multiprocessing",
                    pid: p.pid,
                    title: "Python multiprocessing joins non-daemon children at exit".into(),
                    text: format!(
                        "{} is a Python process blocked in {} on its Python child {}. Python's \
                         multiprocessing registers an atexit handler that join()s every non-daemon \
                         Process, so after sys.exit() (e.g. from a {} handler) the parent waits \
                         forever for a child that {}. Make the child exit on {} (or do not catch it), \
                         mark it daemon=True, or terminate() and join(timeout) it before exiting.",
                        p.label(),
                        p.syscall.as_deref().unwrap_or("wait4"),
                        c.label(),
                        e.signal,
                        c.signal_words(),
                        e.signal
                    ),
                });
            }
        }
    }
    out
}

/// A shell script as the container's PID 1 (or the init's main child) runs its command as a
/// child and waits for it; the shell does not pass SIGTERM on, and as PID 1 without a trap it
/// does not even receive it.
pub fn shell_without_exec(e: &Explanation, _: &Snapshot) -> Vec<Hint> {
    let mut out = Vec::new();
    for p in e.processes.iter().filter(|p| p.is_shell() && waits_in_wait(p)) {
        let kids = e.waits_for(p.pid);
        if kids.is_empty() {
            continue;
        }
        let kid = kids
            .first()
            .and_then(|k| e.get(*k))
            .map(|k| k.command())
            .unwrap_or_default();
        let as_init = if p.is_ns_init() {
            format!(
                " As PID 1 of its namespace with {} at its default action, the shell never even \
                 receives {} sent from inside the container.",
                e.signal, e.signal
            )
        } else {
            String::new()
        };
        out.push(Hint {
            rule: "shell-without-exec",
            pid: p.pid,
            title: "a shell script runs the command without exec".into(),
            text: format!(
                "{} is a shell ({}) waiting for its child `{kid}`. A shell does not forward {} to \
                 the command it waits for.{as_init} End the script with `exec {kid}` so the \
                 command replaces the shell and receives the signal (or run it under pidone).",
                p.label(),
                p.program(),
                e.signal
            ),
        });
    }
    out
}

/// A reader that holds the write end of its own pipe never sees end-of-file.
pub fn pipe_reader_holds_write_end(e: &Explanation, snap: &Snapshot) -> Vec<Hint> {
    let mut out = Vec::new();
    for p in &e.processes {
        let Some(proc_) = snap.get(p.pid) else { continue };
        if let crate::explain::Waiting::Pipe {
            self_writer: true,
            inode,
            ..
        } = crate::explain::waiting(snap, proc_)
        {
            out.push(Hint {
                rule: "pipe-self-writer",
                pid: p.pid,
                title: "a pipe reader keeps its own write end open".into(),
                text: format!(
                    "{} reads pipe:[{inode}] and also holds a write end of it, so the read never \
                     returns end-of-file. Close the write end after fork() (or open it O_CLOEXEC).",
                    p.label()
                ),
            });
        }
    }
    out
}

/// The process ignores the stop signal (SIG_IGN): it will never act on it.
pub fn ignores_stop_signal(e: &Explanation, _: &Snapshot) -> Vec<Hint> {
    e.processes
        .iter()
        .filter(|p| p.action.as_deref() == Some("ignored") && p.state != 'Z')
        .map(|p| Hint {
            rule: "ignores-stop-signal",
            pid: p.pid,
            title: format!("a process ignores {}", e.signal),
            text: format!(
                "{} ({}) ignores {} (SIG_IGN; inherited across exec, e.g. from `nohup` or a parent \
                 that ignored it before starting it), so it will not stop until SIGKILL. Restore the \
                 default disposition before exec, or use the stop signal it does handle.",
                p.label(),
                p.comm,
                e.signal
            ),
        })
        .collect()
}

/// Every thread blocks the stop signal: it stays pending and nothing happens.
pub fn blocks_stop_signal(e: &Explanation, _: &Snapshot) -> Vec<Hint> {
    e.processes
        .iter()
        .filter(|p| p.blocked && p.state != 'Z' && p.action.as_deref() != Some("ignored"))
        .map(|p| Hint {
            rule: "blocks-stop-signal",
            pid: p.pid,
            title: format!("{} is blocked", e.signal),
            text: format!(
                "{} ({}) blocks {} in every thread{}; the kernel holds it until the mask changes. \
                 A blocked mask is inherited across fork and exec: the program, or whatever started \
                 it, must unblock it (sigprocmask/pthread_sigmask) before it can act on it.",
                p.label(),
                p.comm,
                e.signal,
                if p.pending { ", and it is pending" } else { "" }
            ),
        })
        .collect()
}

/// PID 1 of a namespace with the signal at its default action: the kernel drops signals sent
/// to a namespace's init from inside the namespace unless it installed a handler.
pub fn ns_init_without_handler(e: &Explanation, _: &Snapshot) -> Vec<Hint> {
    e.processes
        .iter()
        .filter(|p| p.is_ns_init() && p.action.as_deref() == Some("default") && !p.is_shell())
        .map(|p| Hint {
            rule: "ns-init-default-action",
            pid: p.pid,
            title: format!("PID 1 without a {} handler", e.signal),
            text: format!(
                "{} ({}) is PID 1 of its PID namespace and has no {} handler: the kernel discards \
                 {} sent to it from inside the namespace, and from the parent namespace too \
                 unless it handles it. Run it under an init (pidone) or install a handler.",
                p.label(),
                p.comm,
                e.signal,
                e.signal
            ),
        })
        .collect()
}

/// A stopped process acts on nothing but SIGKILL until SIGCONT.
pub fn stopped_process(e: &Explanation, _: &Snapshot) -> Vec<Hint> {
    e.processes
        .iter()
        .filter(|p| p.state == 'T' || p.state == 't')
        .map(|p| Hint {
            rule: "stopped",
            pid: p.pid,
            title: "a process is stopped".into(),
            text: format!(
                "{} ({}) is {}: {} stays pending until it is continued. Send SIGCONT after the stop \
                 signal{}.",
                p.label(),
                p.comm,
                p.state_words,
                e.signal,
                if p.state == 't' {
                    " (or detach the tracer)"
                } else {
                    ""
                }
            ),
        })
        .collect()
}

/// A zombie whose parent does not reap it.
pub fn zombie_not_reaped(e: &Explanation, snap: &Snapshot) -> Vec<Hint> {
    let mut out = Vec::new();
    for p in e.processes.iter().filter(|p| p.state == 'Z') {
        let parent = snap.get(p.ppid);
        let reaping = parent.is_some_and(|pp| {
            let f = crate::facts::facts(snap, pp, pidone_sys::Signal::TERM);
            waits_in_wait(&f)
        });
        if reaping {
            continue;
        }
        out.push(Hint {
            rule: "zombie-not-reaped",
            pid: p.pid,
            title: "a zombie's parent does not reap it".into(),
            text: format!(
                "{} has exited but its parent pid {} ({}) is not waiting for it, so the zombie stays. \
                 The parent must call wait(); if it exits the zombie goes to the init, which reaps it.",
                p.label(),
                p.ppid,
                parent
                    .map(|pp| pp.comm().to_string())
                    .unwrap_or_else(|| "unknown".into())
            ),
        });
    }
    out
}

/// Uninterruptible sleep: signals wait until the kernel operation returns.
pub fn uninterruptible_sleep(e: &Explanation, _: &Snapshot) -> Vec<Hint> {
    e.processes
        .iter()
        .filter(|p| p.state == 'D')
        .map(|p| Hint {
            rule: "uninterruptible",
            pid: p.pid,
            title: "a process is in uninterruptible sleep".into(),
            text: format!(
                "{} ({}) is in uninterruptible sleep{}: usually slow or hung I/O (a disk, NFS, FUSE). \
                 Signals, even SIGKILL in most waits, take effect only when it returns.",
                p.label(),
                p.comm,
                p.wchan.as_ref().map(|w| format!(" in {w}")).unwrap_or_default()
            ),
        })
        .collect()
}
