//! The process model pidone's tools and diagnosis read from `/proc`.
//!
//! Two layers, as in procfs-style libraries:
//! - pure parsers over recorded text ([`stat`], [`status`], [`syscall`], [`fd`], [`sigset`]):
//!   no I/O, never panic, `None` on garbage, unit-tested on fixtures from a real kernel;
//! - a reader ([`read::ProcDir`], [`snapshot::Snapshot`]) that opens `/proc/PID` ONCE as a
//!   directory fd and reads every file relative to it, so a pid reused mid-read cannot mix
//!   two processes, and that tells "the process is gone" (normal) from "this kernel has no
//!   such file" and "permission denied".
//!
//! No shelling out to `ps`: everything is read directly.
#![forbid(unsafe_code)]

pub mod fd;
pub mod read;
pub mod sigset;
pub mod snapshot;
pub mod stat;
pub mod status;
pub mod syscall;
mod syscall_names;

pub use fd::{Access, FdTarget};
pub use read::{ProcDir, ReadError};
pub use sigset::SigSet;
pub use snapshot::{Disposition, Fd, Process, ReadOptions, Snapshot, Thread};
pub use stat::{Stat, State};
pub use status::Status;
pub use syscall::{Arch, Syscall, SyscallState, WaitTarget};

/// Split `/proc/PID/cmdline` bytes into arguments (NUL-separated, trailing NUL optional).
/// Programs that rewrite their argv (`setproctitle`) may use spaces instead: kept as one arg.
pub fn parse_cmdline(bytes: &[u8]) -> Vec<String> {
    let trimmed = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Parse `/proc/PID/task/TID/children`: space-separated pids.
pub fn parse_children(text: &str) -> Vec<i32> {
    text.split_ascii_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// Parse the `ns/pid` link text `pid:[4026531836]` into the namespace inode.
pub fn parse_ns_link(link: &str) -> Option<u64> {
    link.split_once(":[")?.1.strip_suffix(']')?.parse().ok()
}

/// Parse the first field of `/proc/uptime` (seconds since boot).
pub fn parse_uptime(text: &str) -> Option<f64> {
    text.split_ascii_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_forms() {
        assert_eq!(parse_cmdline(b"python3\0parent.py\0"), ["python3", "parent.py"]);
        assert_eq!(parse_cmdline(b"nginx: master process"), ["nginx: master process"]);
        assert!(parse_cmdline(b"").is_empty());
        assert_eq!(parse_cmdline(b"a\0\0b\0"), ["a", "", "b"]);
    }

    #[test]
    fn children_ns_and_uptime() {
        assert_eq!(parse_children("5 17 x 9 \n"), [5, 17, 9]);
        assert_eq!(parse_ns_link("pid:[4026531836]"), Some(4026531836));
        assert_eq!(parse_ns_link("pid:4026531836"), None);
        assert_eq!(parse_uptime("5663.26 11000.1\n"), Some(5663.26));
    }
}
