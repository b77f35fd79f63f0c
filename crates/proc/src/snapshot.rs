//! A snapshot of processes read from `/proc`, and the facts derived from it.
//!
//! What is read is chosen by [`ReadOptions`]: a lean `ps` reads `status`, `syscall` and
//! `cmdline` per process (three opens; procps `ps` does four or five); `why` reads threads and
//! file descriptors too. A process that exits while it is read is silently left out.

use crate::fd::{parse_fd_link, parse_fdinfo_access, parse_fdinfo_pidfd, Access, FdTarget};
use crate::read::{list_pids, ProcDir, ReadError};
use crate::stat::{parse_stat, Stat, State};
use crate::status::{parse_status, Status};
use crate::syscall::{parse_syscall, Arch, SyscallState};
use crate::{parse_cmdline, parse_ns_link, parse_uptime};
use pidone_sys::Signal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Clock ticks per second of `stat`'s start time: USER_HZ, fixed at 100 on every Linux
/// architecture pidone supports (the kernel converts from its internal HZ).
pub const USER_HZ: f64 = 100.0;

/// Which processes get their file descriptors read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FdScope {
    /// None (the fast default).
    #[default]
    None,
    /// Every process (needed to find who holds the other end of a pipe).
    All,
    /// Only these host pids.
    Only(BTreeSet<i32>),
}

/// What to read for each process.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// `stat` (start time for the age, tty). PGID/SID come from `status` when it has them.
    pub stat: bool,
    /// `cmdline`.
    pub cmdline: bool,
    /// `syscall` (the blocked syscall and its arguments; needs ptrace access).
    pub syscall: bool,
    /// `wchan`.
    pub wchan: bool,
    /// `ns/pid` (the PID namespace inode).
    pub pid_ns: bool,
    /// Every thread's `status` (+ `stat`/`syscall`/`wchan` as chosen above).
    pub threads: bool,
    /// The kernel's child list (`task/*/children`, CONFIG_PROC_CHILDREN). Without it,
    /// [`Snapshot::children`] still finds children by their PPID.
    pub children: bool,
    /// Open fds.
    pub fds: FdScope,
    /// Only these host pids (None: every pid in /proc).
    pub pids: Option<Vec<i32>>,
}

impl ReadOptions {
    /// Everything, for `why` and the init's report.
    pub fn full() -> ReadOptions {
        ReadOptions {
            stat: true,
            cmdline: true,
            syscall: true,
            wchan: true,
            pid_ns: true,
            threads: true,
            children: true,
            fds: FdScope::All,
            pids: None,
        }
    }
}

/// How one thread treats one signal (decoded from its `status` masks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Disposition {
    /// A handler is installed (SigCgt). Process-wide.
    pub caught: bool,
    /// Ignored (SigIgn). Process-wide.
    pub ignored: bool,
    /// Blocked by this thread (SigBlk).
    pub blocked: bool,
    /// Pending for this thread (SigPnd).
    pub pending_thread: bool,
    /// Pending for the whole process (ShdPnd).
    pub pending_process: bool,
}

impl Disposition {
    /// The disposition of `sig` in `status`; `None` when the masks are missing.
    pub fn of(status: &Status, sig: Signal) -> Option<Disposition> {
        status.has_masks.then(|| Disposition {
            caught: status.sig_cgt.contains(sig),
            ignored: status.sig_ign.contains(sig),
            blocked: status.sig_blk.contains(sig),
            pending_thread: status.sig_pnd.contains(sig),
            pending_process: status.shd_pnd.contains(sig),
        })
    }

    /// Pending for this thread or the process.
    pub fn pending(&self) -> bool {
        self.pending_thread || self.pending_process
    }

    /// The action: `caught`, `ignored` or `default`.
    pub fn action(&self) -> &'static str {
        if self.ignored {
            "ignored"
        } else if self.caught {
            "caught"
        } else {
            "default"
        }
    }

    /// A compact word for tables: `caught`, `default+blocked+pending`, ...
    pub fn short(&self) -> String {
        let mut s = self.action().to_string();
        if self.blocked {
            s.push_str("+blocked");
        }
        if self.pending() {
            s.push_str("+pending");
        }
        s
    }
}

/// One open file descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fd {
    /// The number.
    pub fd: i32,
    /// What it refers to.
    pub target: FdTarget,
    /// The access mode (read for pipes and sockets only: it tells a pipe's writer from its reader).
    pub access: Option<Access>,
    /// For a pidfd: the pid it refers to (in the reader's namespace).
    pub pidfd_pid: Option<i32>,
}

/// One thread of a process.
#[derive(Debug, Clone, Serialize)]
pub struct Thread {
    /// The thread id (host).
    pub tid: i32,
    /// Its `status` (its own SigBlk/SigPnd; SigCgt/SigIgn/ShdPnd are the process's).
    pub status: Status,
    /// Its blocked syscall, if read.
    pub syscall: Option<SyscallState>,
    /// Its wait channel, if read and known.
    pub wchan: Option<String>,
}

/// One process.
#[derive(Debug, Clone, Serialize)]
pub struct Process {
    /// The host pid (in the PID namespace of the /proc that was read).
    pub pid: i32,
    /// Its `status` (the main thread's).
    pub status: Status,
    /// Its `stat`, if read.
    pub stat: Option<Stat>,
    /// Its command line (empty for kernel threads and zombies).
    pub cmdline: Vec<String>,
    /// The main thread's blocked syscall, if read.
    pub syscall: Option<SyscallState>,
    /// The main thread's wait channel, if read and known.
    pub wchan: Option<String>,
    /// The inode of its PID namespace, if read.
    pub pid_ns: Option<u64>,
    /// Every thread (main thread first), if read.
    pub threads: Vec<Thread>,
    /// Open fds, if read.
    pub fds: Option<Vec<Fd>>,
    /// Child pids from every thread's `children` file, if read.
    pub children: Option<Vec<i32>>,
    /// Files that could not be read (denied, missing in this kernel), in words.
    pub notes: Vec<String>,
}

impl Process {
    /// The command name.
    pub fn comm(&self) -> &str {
        match &self.stat {
            Some(s) if self.status.name.is_empty() => &s.comm,
            _ => &self.status.name,
        }
    }

    /// The scheduler state.
    pub fn state(&self) -> State {
        self.status
            .state
            .or(self.stat.as_ref().map(|s| s.state))
            .unwrap_or(State::Other('?'))
    }

    /// The parent's host pid (0 for a namespace's init seen from inside, and kthreadd).
    pub fn ppid(&self) -> i32 {
        self.status
            .ppid
            .or(self.stat.as_ref().map(|s| s.ppid))
            .unwrap_or(0)
    }

    /// The process group (host).
    pub fn pgid(&self) -> i32 {
        self.stat
            .as_ref()
            .map(|s| s.pgrp)
            .or(self.status.nspgid.first().copied())
            .unwrap_or(0)
    }

    /// The session (host).
    pub fn sid(&self) -> i32 {
        self.stat
            .as_ref()
            .map(|s| s.session)
            .or(self.status.nssid.first().copied())
            .unwrap_or(0)
    }

    /// NSpid: the pid in every namespace, the host's first. `[pid]` if the kernel lacks it.
    pub fn nspid(&self) -> Vec<i32> {
        if self.status.nspid.is_empty() {
            vec![self.pid]
        } else {
            self.status.nspid.clone()
        }
    }

    /// The pid in its own (innermost) namespace.
    pub fn ns_pid(&self) -> i32 {
        self.status.nspid.last().copied().unwrap_or(self.pid)
    }

    /// How deep its PID namespace is below the /proc's (0: the same namespace).
    pub fn ns_level(&self) -> usize {
        self.status.nspid.len().saturating_sub(1)
    }

    /// Its pid as seen in the namespace `level` levels below the /proc's, if it is visible there.
    pub fn pid_at_level(&self, level: usize) -> Option<i32> {
        self.status.nspid.get(level).copied()
    }

    /// Whether it is a kernel thread.
    pub fn is_kernel_thread(&self) -> bool {
        match &self.stat {
            Some(s) => s.is_kernel_thread(),
            None => self.status.is_kernel_thread(),
        }
    }

    /// The command line joined with spaces, or `[comm]` (as `ps` shows kernel threads/zombies).
    pub fn command(&self) -> String {
        if self.cmdline.is_empty() {
            format!("[{}]", self.comm())
        } else {
            self.cmdline.join(" ")
        }
    }

    /// Seconds since it started, given the system uptime.
    pub fn age_secs(&self, uptime: f64) -> Option<f64> {
        let st = self.stat.as_ref()?;
        Some((uptime - st.starttime as f64 / USER_HZ).max(0.0))
    }

    /// How the main thread treats `sig`.
    pub fn disposition(&self, sig: Signal) -> Option<Disposition> {
        Disposition::of(&self.status, sig)
    }

    /// The main thread's syscall state, or the first thread's that was read.
    pub fn main_syscall(&self) -> Option<&SyscallState> {
        self.syscall
            .as_ref()
            .or(self.threads.first().and_then(|t| t.syscall.as_ref()))
    }

    /// The fd `n`, if fds were read.
    pub fn fd(&self, n: i32) -> Option<&Fd> {
        self.fds.as_ref()?.iter().find(|f| f.fd == n)
    }
}

/// A set of processes read at one moment, keyed by host pid.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// The processes, ascending by pid.
    pub processes: BTreeMap<i32, Process>,
    /// Seconds since boot when the snapshot was taken.
    pub uptime: Option<f64>,
    /// The syscall table `syscall` numbers refer to.
    pub arch: Arch,
    /// Processes that could not be read at all (not gone: refused or failed), in words.
    pub skipped: Vec<String>,
}

fn note(notes: &mut Vec<String>, e: ReadError) -> Result<(), ReadError> {
    if e.is_gone() {
        return Err(e);
    }
    notes.push(e.to_string());
    Ok(())
}

fn read_wchan(dir: &ProcDir) -> Result<Option<String>, ReadError> {
    let w = dir.read_string("wchan", true)?;
    let w = w.trim();
    // "0": not sleeping, or hidden by kptr_restrict for non-root readers.
    Ok((!w.is_empty() && w != "0").then(|| w.to_string()))
}

fn read_syscall(dir: &ProcDir) -> Result<Option<SyscallState>, ReadError> {
    Ok(parse_syscall(&dir.read_string("syscall", true)?))
}

/// Read one thread (or the main thread) directory's per-task files.
fn read_task(dir: &ProcDir, opts: &ReadOptions, notes: &mut Vec<String>) -> Result<Thread, ReadError> {
    let status = parse_status(&dir.read_string("status", true)?).ok_or(ReadError::Gone { pid: dir.pid() })?;
    let kthread = status.is_kernel_thread();
    let mut t = Thread {
        tid: dir.pid(),
        status,
        syscall: None,
        wchan: None,
    };
    // Kernel threads have no user syscall: their file shows a meaningless `0 0x0 ...`.
    if opts.syscall && !kthread {
        match read_syscall(dir) {
            Ok(s) => t.syscall = s,
            Err(e) => note(notes, e)?,
        }
    }
    if opts.wchan {
        match read_wchan(dir) {
            Ok(w) => t.wchan = w,
            Err(e) => note(notes, e)?,
        }
    }
    Ok(t)
}

/// The children of every thread of a process (`task/TID/children`), ascending.
pub fn read_children(dir: &ProcDir) -> Result<Vec<i32>, ReadError> {
    let mut out = Vec::new();
    for tid in dir.list("task")? {
        match dir.read_string(&format!("task/{tid}/children"), false) {
            Ok(t) => out.extend(crate::parse_children(&t)),
            Err(e) if e.is_gone() => return Err(e),
            // That thread exited meanwhile (its directory is gone): it has no children now.
            Err(ReadError::Unsupported { .. }) if dir.task(tid).is_err() => continue,
            Err(e) => return Err(e),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Read the open fds of a process (`fd/*` links, plus `fdinfo` for pipes, sockets, pidfds).
pub fn read_fds(dir: &ProcDir) -> Result<Vec<Fd>, ReadError> {
    let mut nums = dir.list("fd")?;
    nums.sort_unstable();
    let mut out = Vec::with_capacity(nums.len());
    for n in nums {
        let link = match dir.readlink(&format!("fd/{n}")) {
            Ok(l) => l,
            Err(e) if e.is_gone() => return Err(e),
            // Closed between listing and readlink: skip that fd.
            Err(_) => continue,
        };
        let target = parse_fd_link(&link);
        let mut fd = Fd {
            fd: n,
            target,
            access: None,
            pidfd_pid: None,
        };
        let info = matches!(fd.target, FdTarget::Pipe(_) | FdTarget::Socket(_))
            || fd.target == FdTarget::AnonInode("pidfd".into());
        if info {
            if let Ok(text) = dir.read_string(&format!("fdinfo/{n}"), true) {
                fd.access = parse_fdinfo_access(&text);
                fd.pidfd_pid = parse_fdinfo_pidfd(&text);
            }
        }
        out.push(fd);
    }
    Ok(out)
}

impl Process {
    /// Read process `pid` as `opts` says. `Err(Gone)` if it exited meanwhile.
    pub fn read(pid: i32, opts: &ReadOptions) -> Result<Process, ReadError> {
        let dir = ProcDir::open(pid)?;
        Self::read_dir(&dir, opts)
    }

    /// Read the process behind an open `/proc/PID` directory.
    pub fn read_dir(dir: &ProcDir, opts: &ReadOptions) -> Result<Process, ReadError> {
        let pid = dir.pid();
        let mut notes = Vec::new();
        let main = read_task(dir, opts, &mut notes)?;
        let mut p = Process {
            pid,
            status: main.status.clone(),
            stat: None,
            cmdline: Vec::new(),
            syscall: main.syscall.clone(),
            wchan: main.wchan.clone(),
            pid_ns: None,
            threads: Vec::new(),
            fds: None,
            children: None,
            notes: Vec::new(),
        };
        if opts.stat {
            match dir.read_string("stat", true) {
                Ok(t) => p.stat = parse_stat(&t),
                Err(e) => note(&mut notes, e)?,
            }
        }
        if opts.cmdline {
            // One-shot: the kernel copies the whole argument area up to the buffer size, so a
            // short read is the end (get_mm_cmdline loops until count or arg_end).
            match dir.read("cmdline", true) {
                Ok(b) => p.cmdline = parse_cmdline(&b),
                Err(e) => note(&mut notes, e)?,
            }
        }
        if opts.pid_ns {
            match dir.readlink("ns/pid") {
                Ok(l) => p.pid_ns = parse_ns_link(&l),
                Err(e) => note(&mut notes, e)?,
            }
        }
        if opts.threads {
            match dir.list("task") {
                Ok(mut tids) => {
                    tids.sort_unstable();
                    // Main thread first, then the others by tid.
                    tids.retain(|t| *t != pid);
                    p.threads.push(main);
                    for tid in tids {
                        let Ok(tdir) = dir.task(tid) else { continue };
                        match read_task(&tdir, opts, &mut notes) {
                            Ok(t) => p.threads.push(t),
                            // A thread that exited meanwhile is simply not there.
                            Err(e) if e.is_gone() => continue,
                            Err(e) => notes.push(e.to_string()),
                        }
                    }
                }
                Err(e) => note(&mut notes, e)?,
            }
        }
        if opts.children {
            match read_children(dir) {
                Ok(c) => p.children = Some(c),
                Err(e) => note(&mut notes, e)?,
            }
        }
        let want_fds = match &opts.fds {
            FdScope::None => false,
            FdScope::All => true,
            FdScope::Only(set) => set.contains(&pid),
        };
        if want_fds {
            match read_fds(dir) {
                Ok(f) => p.fds = Some(f),
                Err(e) => note(&mut notes, e)?,
            }
        }
        p.notes = notes;
        Ok(p)
    }
}

impl Snapshot {
    /// Read every process (or `opts.pids`) from `/proc`.
    pub fn take(opts: &ReadOptions) -> std::io::Result<Snapshot> {
        let pids = match &opts.pids {
            Some(p) => p.clone(),
            None => list_pids()?,
        };
        let mut processes = BTreeMap::new();
        let mut skipped = Vec::new();
        for pid in pids {
            match Process::read(pid, opts) {
                Ok(p) => {
                    processes.insert(pid, p);
                }
                // Exited between the listing and the read: normal.
                Err(ReadError::Gone { .. }) => {}
                // Unreadable (e.g. /proc mounted with hidepid): list the rest, say what was skipped.
                Err(e) => skipped.push(e.to_string()),
            }
        }
        let uptime = std::fs::read_to_string("/proc/uptime")
            .ok()
            .and_then(|t| parse_uptime(&t));
        Ok(Snapshot {
            processes,
            uptime,
            arch: Arch::host(),
            skipped,
        })
    }

    /// A snapshot built from already-read processes (tests, or a pre-filtered set).
    pub fn from_processes(list: Vec<Process>, uptime: Option<f64>, arch: Arch) -> Snapshot {
        Snapshot {
            processes: list.into_iter().map(|p| (p.pid, p)).collect(),
            uptime,
            arch,
            skipped: Vec::new(),
        }
    }

    /// The process with host pid `pid`.
    pub fn get(&self, pid: i32) -> Option<&Process> {
        self.processes.get(&pid)
    }

    /// The children of `pid` (processes whose parent it is), ascending.
    pub fn children(&self, pid: i32) -> Vec<&Process> {
        self.processes
            .values()
            .filter(|p| p.ppid() == pid && p.pid != pid)
            .collect()
    }

    /// Every process holding an fd to `target`, with that fd.
    pub fn holders(&self, target: &FdTarget) -> Vec<(&Process, &Fd)> {
        let mut out = Vec::new();
        for p in self.processes.values() {
            for fd in p.fds.iter().flatten() {
                if &fd.target == target {
                    out.push((p, fd));
                }
            }
        }
        out
    }

    /// The processes whose PID namespace is exactly `ns_inode`.
    pub fn in_namespace(&self, ns_inode: u64) -> Vec<&Process> {
        self.processes
            .values()
            .filter(|p| p.pid_ns == Some(ns_inode))
            .collect()
    }
}
