//! Walk the wait-for chain from one process.

use crate::facts::{facts, ProcFacts};
use crate::rules::{self, Hint};
use pidone_proc::{FdTarget, Process, Snapshot, SyscallState, WaitTarget};
use pidone_sys::Signal;
use serde::Serialize;
use std::collections::{BTreeSet, VecDeque};

/// At most this many processes are explained from one starting point.
pub const MAX_PROCESSES: usize = 64;

/// Why one process waits for another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EdgeKind {
    /// In `wait4`/`waitid` for this child.
    WaitsForChild,
    /// Reading a pipe whose write end this process holds (fd number in the holder).
    PipeWriter { inode: u64, fd: i32 },
    /// Reading a socket this process also holds.
    SocketHolder { inode: u64, fd: i32 },
}

/// `from` waits for `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// The waiting process (host pid).
    pub from: i32,
    /// The process it waits for (host pid).
    pub to: i32,
    /// How.
    pub kind: EdgeKind,
}

/// Everything `pidone why` says about one process.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The process asked about (host pid).
    pub target: i32,
    /// The stop signal the dispositions are about.
    pub signal: String,
    /// The target first, then every process it (transitively) waits for.
    pub processes: Vec<ProcFacts>,
    /// Who waits for whom.
    pub edges: Vec<Edge>,
    /// What each process waits on, in words, in chain order.
    pub chain: Vec<String>,
    /// Well-known causes that match.
    pub hints: Vec<Hint>,
    /// One paragraph.
    pub verdict: String,
}

impl Explanation {
    /// The facts about host pid `pid`, if it is part of this explanation.
    pub fn get(&self, pid: i32) -> Option<&ProcFacts> {
        self.processes.iter().find(|p| p.pid == pid)
    }

    /// The processes `pid` waits for directly.
    pub fn waits_for(&self, pid: i32) -> Vec<i32> {
        self.edges
            .iter()
            .filter(|e| e.from == pid)
            .map(|e| e.to)
            .collect()
    }
}

/// What a waiting process waits on, resolved against the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiting {
    /// Children (host pids) it waits for, and the decoded call.
    Children { call: String, pids: Vec<i32>, any: bool },
    /// A read on a pipe: writers (host pid, fd), whether the reader holds a write end itself.
    Pipe {
        call: String,
        inode: u64,
        writers: Vec<(i32, i32)>,
        self_writer: bool,
    },
    /// A socket: other holders.
    Socket {
        call: String,
        inode: u64,
        holders: Vec<(i32, i32)>,
    },
    /// A futex: the other threads.
    Futex { call: String },
    /// Sleeping on a timer.
    Timer { call: String },
    /// Another syscall.
    Other { call: String },
    /// Not in a syscall.
    Nothing,
}

fn children_waited(snap: &Snapshot, p: &Process, target: &WaitTarget) -> Vec<i32> {
    let level = p.ns_level();
    let kids = snap.children(p.pid);
    let pick = |c: &&Process| match target {
        WaitTarget::AnyChild => true,
        // The argument is a pid in the CALLER's namespace: compare with the child's NSpid
        // entry at the caller's level, never with its host pid.
        WaitTarget::Child { ns_pid } => c.pid_at_level(level) == Some(*ns_pid),
        WaitTarget::ChildInGroup { ns_pgid: 0 } => c.pgid() == p.pgid(),
        WaitTarget::ChildInGroup { ns_pgid } => c.status.nspgid.get(level) == Some(ns_pgid),
        WaitTarget::ChildPidfd { fd } => p.fd(*fd).and_then(|f| f.pidfd_pid) == Some(c.pid),
        _ => false,
    };
    kids.into_iter().filter(|c| pick(c)).map(|c| c.pid).collect()
}

/// What `p` (any of its threads) waits on. A thread in wait4/waitid wins over a pipe read,
/// which wins over the rest: the main thread is asked first.
pub fn waiting(snap: &Snapshot, p: &Process) -> Waiting {
    let arch = snap.arch;
    let mut states: Vec<&SyscallState> = p.threads.iter().filter_map(|t| t.syscall.as_ref()).collect();
    if states.is_empty() {
        states.extend(p.syscall.as_ref());
    }
    let namer = |fd: i32| p.fd(fd).map(|f| f.target.to_string());
    let calls: Vec<_> = states
        .iter()
        .filter_map(|s| match s {
            SyscallState::In(sc) => Some(*sc),
            _ => None,
        })
        .collect();
    for sc in &calls {
        let t = sc.wait_target(arch);
        if matches!(
            t,
            WaitTarget::AnyChild
                | WaitTarget::Child { .. }
                | WaitTarget::ChildInGroup { .. }
                | WaitTarget::ChildPidfd { .. }
        ) {
            return Waiting::Children {
                call: sc.describe(arch, &namer),
                pids: children_waited(snap, p, &t),
                any: t == WaitTarget::AnyChild,
            };
        }
    }
    for sc in &calls {
        if let WaitTarget::Fd { fd } = sc.wait_target(arch) {
            let call = sc.describe(arch, &namer);
            match p.fd(fd).map(|f| &f.target) {
                Some(FdTarget::Pipe(inode)) => {
                    let target = FdTarget::Pipe(*inode);
                    let holders = snap.holders(&target);
                    // The reader's own fd is the read end; any other fd of the reader that
                    // writes to the pipe keeps it open too (a missing close() after fork).
                    let self_writer = holders
                        .iter()
                        .any(|(h, f)| h.pid == p.pid && f.fd != fd && f.access.is_none_or(|a| a.writes()));
                    let writers = holders
                        .iter()
                        .filter(|(h, f)| h.pid != p.pid && f.access.is_none_or(|a| a.writes()))
                        .map(|(h, f)| (h.pid, f.fd))
                        .collect();
                    return Waiting::Pipe {
                        call,
                        inode: *inode,
                        writers,
                        self_writer,
                    };
                }
                Some(FdTarget::Socket(inode)) => {
                    let holders = snap
                        .holders(&FdTarget::Socket(*inode))
                        .iter()
                        .filter(|(h, _)| h.pid != p.pid)
                        .map(|(h, f)| (h.pid, f.fd))
                        .collect();
                    return Waiting::Socket {
                        call,
                        inode: *inode,
                        holders,
                    };
                }
                // A regular file, a tty, an unknown fd: nothing to follow; let the main
                // thread's call describe the process.
                _ => continue,
            }
        }
    }
    let Some(main) = calls.first() else {
        return Waiting::Nothing;
    };
    let call = main.describe(arch, &namer);
    match main.wait_target(arch) {
        WaitTarget::Futex { .. } => Waiting::Futex { call },
        WaitTarget::Timer => Waiting::Timer { call },
        _ => Waiting::Other { call },
    }
}

/// One (pid, fd) per process, the lowest fd, ascending by pid: a process holding a pipe
/// twice is one edge.
fn first_fd_per_pid(mut v: Vec<(i32, i32)>) -> Vec<(i32, i32)> {
    v.sort_unstable();
    v.dedup_by_key(|(pid, _)| *pid);
    v
}

fn pids(v: &[(i32, i32)]) -> Vec<i32> {
    v.iter().map(|(p, _)| *p).collect()
}

fn list(pids: &[i32], snap: &Snapshot) -> String {
    let label = |pid: i32| match snap.get(pid) {
        Some(p) if p.ns_level() > 0 => format!("pid {pid} (ns pid {}, {})", p.ns_pid(), p.comm()),
        Some(p) => format!("pid {pid} ({})", p.comm()),
        None => format!("pid {pid}"),
    };
    pids.iter().map(|p| label(*p)).collect::<Vec<_>>().join(", ")
}

/// The sentence about a process that waits for nobody: its state and the stop signal.
pub fn leaf_sentence(f: &ProcFacts) -> String {
    let who = f.label();
    match f.state {
        'Z' => format!(
            "{who} is a zombie: it has exited and waits for its parent pid {} to reap it",
            f.ppid
        ),
        'T' | 't' => format!(
            "{who} is {}: it acts on no signal but SIGKILL until it gets SIGCONT ({})",
            f.state_words,
            f.signal_words()
        ),
        'D' => format!(
            "{who} is in uninterruptible sleep{}: signals wait until the kernel call returns ({})",
            f.wchan.as_ref().map(|w| format!(" in {w}")).unwrap_or_default(),
            f.signal_words()
        ),
        _ => format!(
            "{who} {} and is still alive ({})",
            f.signal_words(),
            f.where_words()
        ),
    }
}

/// Explain host pid `pid` for stop signal `sig`. `None` if `pid` is not in the snapshot.
pub fn explain(snap: &Snapshot, pid: i32, sig: Signal) -> Option<Explanation> {
    snap.get(pid)?;
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([pid]);
    let mut processes = Vec::new();
    let mut edges = Vec::new();
    let mut chain = Vec::new();
    while let Some(cur) = queue.pop_front() {
        if !seen.insert(cur) || processes.len() >= MAX_PROCESSES {
            continue;
        }
        let Some(p) = snap.get(cur) else { continue };
        let f = facts(snap, p, sig);
        let who = f.label();
        let mut next = Vec::new();
        match waiting(snap, p) {
            Waiting::Children { call, pids, any } => {
                if pids.is_empty() {
                    chain.push(format!("{who} waits in {call} but no matching child is alive"));
                } else {
                    let what = if any { "any of its children" } else { "its child" };
                    chain.push(format!("{who} waits in {call} for {what}: {}", list(&pids, snap)));
                }
                for c in pids {
                    edges.push(Edge {
                        from: cur,
                        to: c,
                        kind: EdgeKind::WaitsForChild,
                    });
                    next.push(c);
                }
            }
            Waiting::Pipe {
                call,
                inode,
                writers,
                self_writer,
            } => {
                let writers = first_fd_per_pid(writers);
                let mut s = if writers.is_empty() {
                    format!("{who} waits in {call}; no other process holds the write end")
                } else {
                    format!(
                        "{who} waits in {call}, whose write end is held by {}",
                        list(&pids(&writers), snap)
                    )
                };
                if self_writer {
                    s.push_str(&format!(
                        "; {who} itself also holds a write end, so it never sees end-of-file"
                    ));
                }
                chain.push(s);
                for (w, fd) in writers {
                    edges.push(Edge {
                        from: cur,
                        to: w,
                        kind: EdgeKind::PipeWriter { inode, fd },
                    });
                    next.push(w);
                }
            }
            Waiting::Socket { call, inode, holders } => {
                let holders = first_fd_per_pid(holders);
                chain.push(if holders.is_empty() {
                    format!("{who} waits in {call} (the peer is not a process sharing this socket)")
                } else {
                    format!(
                        "{who} waits in {call}, a socket also held by {}",
                        list(&pids(&holders), snap)
                    )
                });
                for (h, fd) in holders {
                    edges.push(Edge {
                        from: cur,
                        to: h,
                        kind: EdgeKind::SocketHolder { inode, fd },
                    });
                    next.push(h);
                }
            }
            Waiting::Futex { call } => {
                let others: Vec<String> = f
                    .threads
                    .iter()
                    .filter(|t| t.tid != cur)
                    .map(|t| {
                        format!(
                            "thread {} {}{}",
                            t.tid,
                            t.state,
                            t.syscall.as_ref().map(|s| format!(" in {s}")).unwrap_or_default()
                        )
                    })
                    .collect();
                if others.is_empty() {
                    chain.push(format!(
                        "{who} waits in {call} (a lock or condition; no other thread)"
                    ));
                } else {
                    chain.push(format!(
                        "{who} waits in {call} on its other threads: {}",
                        others.join(", ")
                    ));
                }
                chain.push(leaf_sentence(&f));
            }
            Waiting::Timer { .. } | Waiting::Other { .. } | Waiting::Nothing => chain.push(leaf_sentence(&f)),
        }
        processes.push(f);
        queue.extend(next);
    }
    let mut e = Explanation {
        target: pid,
        signal: sig.to_string(),
        processes,
        edges,
        chain,
        hints: Vec::new(),
        verdict: String::new(),
    };
    e.hints = rules::all(&e, snap);
    e.verdict = verdict(&e);
    Some(e)
}

/// The processes at the end of the chain: the ones waited for that wait for nobody.
pub fn leaves(e: &Explanation) -> Vec<&ProcFacts> {
    e.processes
        .iter()
        .filter(|p| e.waits_for(p.pid).is_empty())
        .collect()
}

fn verdict(e: &Explanation) -> String {
    let Some(t) = e.get(e.target) else {
        return String::new();
    };
    let mut v = String::new();
    let direct = e.waits_for(t.pid);
    if direct.is_empty() {
        v.push_str(&leaf_sentence(t));
        v.push('.');
    } else {
        let ls: Vec<String> = leaves(e).iter().map(|l| l.label()).collect();
        v.push_str(&format!(
            "{} is not stuck on its own: it cannot finish before {} exit{}.",
            t.label_comm(),
            ls.join(", "),
            if ls.len() == 1 { "s" } else { "" }
        ));
        for l in leaves(e) {
            v.push_str(&format!(" {}.", leaf_sentence(l)));
        }
    }
    match e.hints.first() {
        Some(h) => v.push_str(&format!(" Likely cause: {}.", h.title)),
        None if t.state != 'Z' => v.push_str(&format!(
            " No well-known cause matched; if {} was sent, the process is handling it or waiting as shown.",
            e.signal
        )),
        None => {}
    }
    v
}
