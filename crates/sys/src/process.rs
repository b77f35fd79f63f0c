//! Process identity, signalling and reaping: `kill(2)` split by target kind, `waitpid(2)`,
//! `prctl(PR_SET_CHILD_SUBREAPER)`.

use crate::{Signal, SysError};
use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use std::fmt;
use std::num::NonZeroI32;

/// A positive process id. Zero and negative values (which mean "my group" and "a group" or
/// "everything" to `kill(2)`) cannot be represented, so they cannot slip into a kill.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid(NonZeroI32);

impl Pid {
    /// A pid from a raw number; `None` for 0 and negatives.
    pub fn from_raw(n: i32) -> Option<Pid> {
        if n > 0 {
            NonZeroI32::new(n).map(Pid)
        } else {
            None
        }
    }

    /// The raw number.
    pub fn as_raw(self) -> i32 {
        self.0.get()
    }

    /// `getpid(2)`.
    pub fn this() -> Pid {
        Pid::from_raw(nix::unistd::getpid().as_raw()).expect("getpid returns a positive pid")
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for Pid {
    type Err = String;
    fn from_str(s: &str) -> Result<Pid, String> {
        s.trim()
            .parse::<i32>()
            .ok()
            .and_then(Pid::from_raw)
            .ok_or_else(|| format!("invalid pid {s:?}: expected a positive number"))
    }
}

/// What happened to a signal we sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The kernel accepted it for at least one process.
    Sent,
    /// `ESRCH`: nobody to deliver to (the process or group is gone). Normal during shutdown.
    Gone,
}

fn raw_kill(target: i32, sig: Option<Signal>, op: impl FnOnce() -> String) -> Result<Delivery, SysError> {
    let nix_pid = nix::unistd::Pid::from_raw(target);
    let res = match sig {
        // nix's Signal enum has no real-time signals, so go through libc-level numbers.
        Some(s) => Errno::result(unsafe_kill(nix_pid.as_raw(), s.as_raw())),
        None => Errno::result(unsafe_kill(nix_pid.as_raw(), 0)),
    };
    match res {
        Ok(_) => Ok(Delivery::Sent),
        Err(Errno::ESRCH) => Ok(Delivery::Gone),
        Err(e) => Err(SysError::new(op(), e)),
    }
}

fn unsafe_kill(pid: i32, sig: i32) -> i32 {
    // SAFETY: kill(2) takes two integers and touches no memory of ours; every caller in this
    // module has already restricted `pid` to the target kind its name promises.
    unsafe { nix::libc::kill(pid, sig) }
}

/// `kill(pid, sig)` for exactly one process.
pub fn kill_process(pid: Pid, sig: Signal) -> Result<Delivery, SysError> {
    raw_kill(pid.as_raw(), Some(sig), || format!("kill({pid}, {sig})"))
}

/// `kill(-pgid, sig)`: every process in the group `pgid`. Only for groups the init created.
pub fn kill_process_group(pgid: Pid, sig: Signal) -> Result<Delivery, SysError> {
    raw_kill(-pgid.as_raw(), Some(sig), || format!("kill(-{pgid}, {sig})"))
}

/// Error for [`kill_everything`] when the caller is not PID 1.
#[derive(Debug, thiserror::Error)]
pub enum KillAllError {
    /// Refused: `kill(-1)` outside our own PID namespace would hit the whole machine.
    #[error("refusing kill(-1, {0}): this process is pid {1}, not PID 1 of its namespace")]
    NotPid1(Signal, Pid),
    /// The kernel said no.
    #[error(transparent)]
    Sys(#[from] SysError),
}

/// `kill(-1, sig)`: every process in our PID namespace except ourselves. Refuses to run unless
/// `getpid() == 1`, because from anywhere else it signals everything the caller may signal.
pub fn kill_everything(sig: Signal) -> Result<Delivery, KillAllError> {
    let me = Pid::this();
    if me.as_raw() != 1 {
        return Err(KillAllError::NotPid1(sig, me));
    }
    Ok(raw_kill(-1, Some(sig), || format!("kill(-1, {sig})"))?)
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit(code)`.
    Exited(i32),
    /// Killed by a signal (`core` when it dumped core).
    Signaled(Signal, bool),
}

impl ExitStatus {
    /// The shell convention: the code, or 128 + the signal number.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s, _) => 128 + s.as_raw(),
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Exited(c) => write!(f, "exited {c}"),
            ExitStatus::Signaled(s, true) => write!(f, "killed by {s} (core dumped)"),
            ExitStatus::Signaled(s, false) => write!(f, "killed by {s}"),
        }
    }
}

/// One result of [`reap_one`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaped {
    /// A child ended and its zombie is gone.
    Child(Pid, ExitStatus),
    /// Children exist, none has ended yet.
    NoneReady,
    /// `ECHILD`: we have no children at all. In PID 1 or subreaper mode every descendant
    /// becomes our child before its parent's zombie can be reaped, so this means the tree is empty.
    NoChildren,
}

/// `waitpid(-1, WNOHANG)`: collect one ended child if there is one. Call it in a loop: one
/// SIGCHLD can stand for many exits.
pub fn reap_one() -> Result<Reaped, SysError> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => {
                return Ok(Reaped::Child(
                    Pid::from_raw(pid.as_raw()).expect("positive"),
                    ExitStatus::Exited(code),
                ))
            }
            Ok(WaitStatus::Signaled(pid, sig, core)) => {
                let sig = Signal::from_raw(sig as i32).expect("kernel signals are 1..=64");
                return Ok(Reaped::Child(
                    Pid::from_raw(pid.as_raw()).expect("positive"),
                    ExitStatus::Signaled(sig, core),
                ));
            }
            Ok(WaitStatus::StillAlive) => return Ok(Reaped::NoneReady),
            // Without WUNTRACED/WCONTINUED nothing else is reported, but be total.
            Ok(_) => continue,
            Err(Errno::ECHILD) => return Ok(Reaped::NoChildren),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(SysError::new("waitpid(-1, WNOHANG)", e)),
        }
    }
}

/// `prctl(PR_SET_CHILD_SUBREAPER, 1)`: orphaned descendants are reparented to us instead of
/// to the namespace's PID 1, so we can reap them and signal them.
pub fn become_subreaper() -> Result<(), SysError> {
    nix::sys::prctl::set_child_subreaper(true).map_err(|e| SysError::new("prctl(PR_SET_CHILD_SUBREAPER)", e))
}

/// `prctl(PR_GET_CHILD_SUBREAPER)`.
pub fn is_subreaper() -> bool {
    nix::sys::prctl::get_child_subreaper().unwrap_or(false)
}

/// `waitid(P_ALL, WEXITED | WNOHANG | WNOWAIT)`: the pid of an ended child, left unreaped so
/// its `/proc` entry can still be read (for logging its command) before [`reap_pid`].
pub fn peek_ended() -> Result<Option<Pid>, SysError> {
    use nix::sys::wait::{waitid, Id};
    loop {
        match waitid(
            Id::All,
            WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
        ) {
            Ok(WaitStatus::StillAlive) => return Ok(None),
            Ok(st) => return Ok(st.pid().and_then(|p| Pid::from_raw(p.as_raw()))),
            Err(Errno::ECHILD) => return Ok(None),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(SysError::new("waitid(P_ALL, WNOWAIT)", e)),
        }
    }
}

/// `waitpid(pid, WNOHANG)` for one known child.
pub fn reap_pid(pid: Pid) -> Result<Reaped, SysError> {
    loop {
        match waitpid(
            nix::unistd::Pid::from_raw(pid.as_raw()),
            Some(WaitPidFlag::WNOHANG),
        ) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(Reaped::Child(pid, ExitStatus::Exited(code))),
            Ok(WaitStatus::Signaled(_, sig, core)) => {
                let sig = Signal::from_raw(sig as i32).expect("kernel signals are 1..=64");
                return Ok(Reaped::Child(pid, ExitStatus::Signaled(sig, core)));
            }
            Ok(WaitStatus::StillAlive) => return Ok(Reaped::NoneReady),
            Ok(_) => continue,
            Err(Errno::ECHILD) => return Ok(Reaped::NoChildren),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(SysError::new(format!("waitpid({pid}, WNOHANG)"), e)),
        }
    }
}

/// `prctl(PR_SET_PDEATHSIG, sig)`: the kernel sends us `sig` when our parent exits (tini's `-p`).
pub fn set_parent_death_signal(sig: Signal) -> Result<(), SysError> {
    let nsig = nix::sys::signal::Signal::try_from(sig.as_raw())
        .map_err(|e| SysError::new(format!("prctl(PR_SET_PDEATHSIG, {sig})"), e))?;
    nix::sys::prctl::set_pdeathsig(nsig)
        .map_err(|e| SysError::new(format!("prctl(PR_SET_PDEATHSIG, {sig})"), e))
}
