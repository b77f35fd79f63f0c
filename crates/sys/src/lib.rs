//! The one place in pidone that talks to the kernel directly.
//!
//! Every other crate is `#![forbid(unsafe_code)]`; whatever needs `unsafe` (or a raw syscall
//! with sharp edges, like `kill` with a negative pid) lives here behind a typed wrapper:
//! `kill_process` can only hit one pid, `kill_process_group` one group, and `kill_everything`
//! refuses to run unless the caller is PID 1 of its namespace. `ESRCH` ("that process is
//! gone") is a normal outcome, reported as [`Delivery::Gone`], never an error.

pub mod process;
pub mod signal;
pub mod signals;
pub mod spawn;

pub use process::{Delivery, ExitStatus, Pid, Reaped};
pub use signal::{ParseSignalError, Signal};

/// An errno-carrying failure of a named syscall.
#[derive(Debug, thiserror::Error)]
#[error("{op} failed: {source}")]
pub struct SysError {
    /// What was attempted, e.g. `kill(1234, SIGTERM)`.
    pub op: String,
    /// The kernel's answer.
    #[source]
    pub source: std::io::Error,
}

impl SysError {
    pub(crate) fn new(op: impl Into<String>, errno: nix::errno::Errno) -> SysError {
        SysError {
            op: op.into(),
            source: std::io::Error::from_raw_os_error(errno as i32),
        }
    }

    /// The raw errno, for callers that branch on it.
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}
