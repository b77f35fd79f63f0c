//! Open file descriptors: the `/proc/PID/fd/N` link targets and `/proc/PID/fdinfo/N` flags.

use serde::Serialize;
use std::fmt;

/// What an fd refers to, from its link text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "target", rename_all = "snake_case")]
pub enum FdTarget {
    /// `pipe:[INODE]` (also FIFOs opened by path show as files).
    Pipe(u64),
    /// `socket:[INODE]`.
    Socket(u64),
    /// `anon_inode:[eventpoll]`, `anon_inode:[pidfd]`, `anon_inode:[signalfd]`, ...
    AnonInode(String),
    /// A path.
    File(String),
    /// Anything else (`net:[...]`, `mnt:[...]`, ...).
    Other(String),
}

/// Parse a link target.
pub fn parse_fd_link(link: &str) -> FdTarget {
    let inode = |rest: &str| rest.strip_prefix('[')?.strip_suffix(']')?.parse::<u64>().ok();
    if let Some(i) = link.strip_prefix("pipe:").and_then(inode) {
        return FdTarget::Pipe(i);
    }
    if let Some(i) = link.strip_prefix("socket:").and_then(inode) {
        return FdTarget::Socket(i);
    }
    if let Some(rest) = link.strip_prefix("anon_inode:") {
        let name = rest.trim_start_matches('[').trim_end_matches(']');
        return FdTarget::AnonInode(name.to_string());
    }
    if link.starts_with('/') {
        return FdTarget::File(link.to_string());
    }
    FdTarget::Other(link.to_string())
}

impl fmt::Display for FdTarget {
    /// The same text the kernel shows: `pipe:[123]`, `socket:[45]`, `/dev/null`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FdTarget::Pipe(i) => write!(f, "pipe:[{i}]"),
            FdTarget::Socket(i) => write!(f, "socket:[{i}]"),
            FdTarget::AnonInode(n) => write!(f, "anon_inode:[{n}]"),
            FdTarget::File(p) | FdTarget::Other(p) => write!(f, "{p}"),
        }
    }
}

/// The access mode of an fd, from the `flags:` line of fdinfo (octal `O_*` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// `O_RDONLY`.
    Read,
    /// `O_WRONLY`.
    Write,
    /// `O_RDWR`.
    ReadWrite,
}

impl Access {
    /// Whether data can be written through this fd.
    pub fn writes(self) -> bool {
        matches!(self, Access::Write | Access::ReadWrite)
    }
}

/// The access mode in `/proc/PID/fdinfo/N` text (`flags:\t0100001`), `None` if absent.
pub fn parse_fdinfo_access(text: &str) -> Option<Access> {
    let line = text.lines().find_map(|l| l.strip_prefix("flags:"))?;
    let flags = u32::from_str_radix(line.trim(), 8).ok()?;
    match flags & 0o3 {
        0 => Some(Access::Read),
        1 => Some(Access::Write),
        2 => Some(Access::ReadWrite),
        _ => None,
    }
}

/// The `Pid:` line of a pidfd's fdinfo (in the reader's PID namespace; -1 once it exited).
pub fn parse_fdinfo_pidfd(text: &str) -> Option<i32> {
    let line = text.lines().find_map(|l| l.strip_prefix("Pid:"))?;
    line.split_ascii_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_kinds() {
        assert_eq!(parse_fd_link("pipe:[12179]"), FdTarget::Pipe(12179));
        assert_eq!(parse_fd_link("socket:[77]"), FdTarget::Socket(77));
        assert_eq!(
            parse_fd_link("anon_inode:[pidfd]"),
            FdTarget::AnonInode("pidfd".into())
        );
        assert_eq!(
            parse_fd_link("anon_inode:inotify"),
            FdTarget::AnonInode("inotify".into())
        );
        assert_eq!(parse_fd_link("/dev/null"), FdTarget::File("/dev/null".into()));
        assert_eq!(parse_fd_link("pipe:[x]"), FdTarget::Other("pipe:[x]".into()));
        assert_eq!(parse_fd_link("pipe:[12179]").to_string(), "pipe:[12179]");
    }

    #[test]
    fn fdinfo_access_and_pidfd() {
        assert_eq!(
            parse_fdinfo_access("pos:\t0\nflags:\t01\nmnt_id:\t15\n"),
            Some(Access::Write)
        );
        assert_eq!(
            parse_fdinfo_access("pos:\t0\nflags:\t02000000\n"),
            Some(Access::Read)
        );
        assert_eq!(parse_fdinfo_access("flags:\t02000002\n"), Some(Access::ReadWrite));
        assert_eq!(parse_fdinfo_access("garbage"), None);
        assert_eq!(
            parse_fdinfo_pidfd("pos:\t0\nflags:\t02000002\nPid:\t42\nNSpid:\t42\t3\n"),
            Some(42)
        );
    }
}
