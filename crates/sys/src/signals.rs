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

    /// Whether nothing at all was blocked when the init started (the usual case), which lets
    /// the child be started without a pre-exec hook.
    pub fn is_empty(&self) -> bool {
        let raw: &nix::libc::sigset_t = self.0.as_ref();
        (1..=crate::signal::RTMAX).all(|n| {
            // SAFETY: `raw` points to an initialised sigset_t borrowed for this call;
            // sigismember only reads it, and returns -1 (not a member) for numbers glibc
            // reserves, which are never blocked through glibc anyway.
            unsafe { nix::libc::sigismember(raw, n) != 1 }
        })
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
/// Blocking: see [`SignalSource::wait_batch`].
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
    let fd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC).map_err(|e| SysError::new("signalfd", e))?;
    Ok((OriginalMask(old), SignalSource { fd }))
}

/// Size of one `struct signalfd_siginfo` (fixed by the kernel ABI).
const SIGINFO_SIZE: usize = 128;
/// How many signals one read may return: a burst of SIGCHLDs from a reaping storm, plus
/// whatever the runtime sent, in one syscall.
const BATCH: usize = 32;

/// Decode a buffer of `struct signalfd_siginfo` records (signal number at offset 0, sender
/// pid at offset 12, both native-endian u32). Pure; a trailing partial record is ignored.
pub fn decode_siginfos(buf: &[u8]) -> Vec<Received> {
    buf.chunks_exact(SIGINFO_SIZE)
        .filter_map(|rec| {
            let signo = u32::from_ne_bytes(rec[0..4].try_into().ok()?);
            let pid = u32::from_ne_bytes(rec[12..16].try_into().ok()?);
            let signal = Signal::from_raw(i32::try_from(signo).ok()?)?;
            Some(Received {
                signal,
                sender_pid: pid as i32,
            })
        })
        .collect()
}

impl SignalSource {
    /// Wait for signals and return every one that is pending, in one `read(2)`. With no
    /// `timeout` the read itself blocks (this is where an idle init spends its life, with no
    /// wake-ups); with one, `poll(2)` waits first and an empty batch means the deadline came.
    pub fn wait_batch(&mut self, timeout: Option<Duration>) -> Result<Vec<Received>, SysError> {
        if let Some(d) = timeout {
            // Round up so that a deadline 0.3 ms away does not become a busy loop of 0 ms polls.
            let ms = d.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
            let t = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, t) {
                Ok(0) | Err(nix::errno::Errno::EINTR) => return Ok(Vec::new()),
                Ok(_) => {}
                Err(e) => return Err(SysError::new("poll(signalfd)", e)),
            }
        }
        let mut buf = [0u8; SIGINFO_SIZE * BATCH];
        match nix::unistd::read(self.fd.as_fd().as_raw_fd_compat(), &mut buf) {
            Ok(n) => Ok(decode_siginfos(&buf[..n])),
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => Ok(Vec::new()),
            Err(e) => Err(SysError::new("read(signalfd)", e)),
        }
    }
}

/// nix 0.29's `read` takes a raw fd; keep the conversion in one place.
trait RawFdCompat {
    fn as_raw_fd_compat(&self) -> std::os::fd::RawFd;
}
impl RawFdCompat for std::os::fd::BorrowedFd<'_> {
    fn as_raw_fd_compat(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(self)
    }
}

/// Whether a file descriptor is a terminal (`isatty(3)`).
pub fn is_tty(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    use std::os::fd::AsRawFd;
    nix::unistd::isatty(fd.as_raw_fd()).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(signo: u32, pid: u32) -> Vec<u8> {
        let mut r = vec![0u8; SIGINFO_SIZE];
        r[0..4].copy_from_slice(&signo.to_ne_bytes());
        r[12..16].copy_from_slice(&pid.to_ne_bytes());
        r
    }

    #[test]
    fn decodes_a_batch_and_ignores_partial_or_invalid_records() {
        let mut buf = record(15, 1234);
        buf.extend(record(17, 0));
        buf.extend(record(0, 5)); // not a signal
        buf.extend(record(99, 5)); // out of range
        buf.extend(&record(10, 7)[..60]); // truncated
        let got = decode_siginfos(&buf);
        assert_eq!(
            got,
            vec![
                Received {
                    signal: Signal::TERM,
                    sender_pid: 1234
                },
                Received {
                    signal: Signal::CHLD,
                    sender_pid: 0
                }
            ]
        );
        assert!(decode_siginfos(&[]).is_empty());
    }
}
