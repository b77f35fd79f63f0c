//! The init's own signal plumbing: remember the mask it was started with, block every
//! catchable signal, and receive them synchronously from a `signalfd(2)`.
//!
//! Blocking instead of installing handlers keeps the init single-threaded and free of
//! async-signal-safety concerns: a signal becomes an event read in the main loop. Synchronous
//! fault signals (SEGV, BUS, ILL, FPE, TRAP, SYS, ABRT) stay unblocked: blocking a fault the
//! kernel raises for our own bug would kill us silently or loop.

use crate::{Signal, SysError};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::os::fd::AsFd;
use std::time::Duration;

/// Faults the kernel delivers to the thread that caused them; never blocked.
const SYNCHRONOUS: [i32; 7] = [4, 5, 6, 7, 8, 11, 31]; // ILL TRAP ABRT BUS FPE SEGV SYS

/// The signal mask the init was started with, restored in the child before `exec`.
#[derive(Clone)]
pub struct OriginalMask(SigSet);

impl OriginalMask {
    /// Set this mask on the calling thread. Async-signal-safe: only `pthread_sigmask(2)`, so it
    /// may run between `fork` and `exec`.
    pub fn restore(&self) -> std::io::Result<()> {
        nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.0), None)
            .map_err(std::io::Error::from)
    }

    /// Whether `sig` was blocked when the init started.
    pub fn contains(&self, sig: Signal) -> bool {
        to_nix_set_member(sig).is_some_and(|s| self.0.contains(s))
    }
}

fn to_nix_set_member(sig: Signal) -> Option<nix::sys::signal::Signal> {
    nix::sys::signal::Signal::try_from(sig.as_raw()).ok()
}

/// Build a sigset from raw numbers, real-time signals included (nix's `Signal` enum lacks them).
fn sigset_of(nums: impl Iterator<Item = i32>) -> SigSet {
    let mut raw: nix::libc::sigset_t = *SigSet::empty().as_ref();
    for n in nums {
        // SAFETY: `raw` is an initialised sigset_t owned by this frame; sigaddset only writes
        // inside it and rejects numbers outside 1..=_NSIG with EINVAL, which we ignore because
        // the callers pass 1..=64 (glibc refuses 32 and 33, which it reserves for NPTL).
        unsafe { nix::libc::sigaddset(&mut raw, n) };
    }
    // SAFETY: SigSet is a transparent wrapper around sigset_t in nix; `from_sigset_t_unchecked`
    // only copies the bits of an initialised set.
    unsafe { SigSet::from_sigset_t_unchecked(raw) }
}

/// The signals the init receives as events: everything catchable except synchronous faults.
fn init_set() -> SigSet {
    sigset_of(
        Signal::all()
            .map(|s| s.as_raw())
            .filter(|n| *n != 9 && *n != 19 && !SYNCHRONOUS.contains(n)),
    )
}

/// A signalfd over the init's blocked set, `O_CLOEXEC` so the child never inherits it.
pub struct SignalSource {
    fd: SignalFd,
}

/// One received signal with the facts the kernel gives about its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub signal: Signal,
    /// The sender's pid as seen in our namespace (0 for the kernel or another namespace).
    pub sender_pid: i32,
}

/// Block every catchable, asynchronous signal and open a signalfd for them. Returns the mask
/// the process had before, for the child.
pub fn block_and_listen() -> Result<(OriginalMask, SignalSource), SysError> {
    let set = init_set();
    let mut old = SigSet::empty();
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old))
        .map_err(|e| SysError::new("sigprocmask(SIG_BLOCK, all)", e))?;
    let fd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| SysError::new("signalfd", e))?;
    Ok((OriginalMask(old), SignalSource { fd }))
}

impl SignalSource {
    /// Wait until a signal is ready or `timeout` passes (`None`: wait forever). No wake-ups
    /// happen while nothing arrives: this is where an idle init spends its life.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<bool, SysError> {
        let t = match timeout {
            None => PollTimeout::NONE,
            // Round up so that a deadline 0.3 ms away does not become a busy loop of 0 ms polls.
            Some(d) => {
                let ms = d.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, t) {
            Ok(n) => Ok(n > 0),
            Err(nix::errno::Errno::EINTR) => Ok(false),
            Err(e) => Err(SysError::new("poll(signalfd)", e)),
        }
    }

    /// Read one pending signal without blocking.
    pub fn read_one(&mut self) -> Result<Option<Received>, SysError> {
        match self.fd.read_signal() {
            Ok(Some(info)) => Ok(Signal::from_raw(info.ssi_signo as i32).map(|signal| Received {
                signal,
                sender_pid: info.ssi_pid as i32,
            })),
            Ok(None) => Ok(None),
            Err(nix::errno::Errno::EAGAIN) => Ok(None),
            Err(e) => Err(SysError::new("read(signalfd)", e)),
        }
    }
}

/// Whether a file descriptor is a terminal (`isatty(3)`).
pub fn is_tty(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    use std::os::fd::AsRawFd;
    nix::unistd::isatty(fd.as_raw_fd()).unwrap_or(false)
}
