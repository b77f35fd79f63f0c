//! The processes of a container, seen from the host: every process whose PID namespace is the
//! namespace of the container's init. This works the same for runc and Docker and for cgroup v1
//! and v2, and it sees zombies too (a zombie keeps its pid namespace until it is reaped).

use std::fs;

/// One process as the host sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    /// R, S, D, Z, T, ...
    pub state: char,
    /// Start time in clock ticks since boot: (pid, starttime) names a process, even if the pid is reused.
    pub starttime: u64,
    pub comm: String,
}

impl Proc {
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }
}

/// Parse the text of /proc/PID/stat. `comm` may contain spaces and parentheses, so the fields
/// after it are found from the last `)`.
pub fn parse_stat(pid: u32, text: &str) -> Option<Proc> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // rest[0] is field 3 (state); starttime is field 22.
    Some(Proc {
        pid,
        state: rest.first()?.chars().next()?,
        ppid: rest.get(1)?.parse().ok()?,
        starttime: rest.get(19)?.parse().ok()?,
        comm,
    })
}

/// The process `pid` now, or `None` if it is gone.
pub fn read(pid: u32) -> Option<Proc> {
    parse_stat(pid, &fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The identity of the PID namespace of `pid` (`pid:[4026532...]`), or `None` if it is gone.
pub fn pid_ns(pid: u32) -> Option<String> {
    fs::read_link(format!("/proc/{pid}/ns/pid"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Every process in the PID namespace `ns` (as returned by [`pid_ns`]).
pub fn members(ns: &str) -> Vec<Proc> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<Proc> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| pid_ns(*pid).as_deref() == Some(ns))
        .filter_map(read)
        .collect();
    out.sort_by_key(|p| p.pid);
    out
}

/// The processes of `before` that still exist (same pid and start time).
pub fn survivors(before: &[Proc]) -> Vec<Proc> {
    before
        .iter()
        .filter_map(|p| read(p.pid).filter(|now| now.starttime == p.starttime))
        .collect()
}

/// The command line of `pid`, spaces for NULs, or its comm if that is empty (zombies, kernel threads).
pub fn cmdline(p: &Proc) -> String {
    let raw = fs::read(format!("/proc/{}/cmdline", p.pid)).unwrap_or_default();
    let s = String::from_utf8_lossy(&raw)
        .replace('\0', " ")
        .trim()
        .to_string();
    if s.is_empty() {
        format!("[{}]", p.comm)
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_comm() {
        let line = "42 (a) (b c) Z 1 42 42 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0";
        let p = parse_stat(42, line).unwrap();
        assert_eq!(p.comm, "a) (b c");
        assert_eq!(p.state, 'Z');
        assert_eq!(p.ppid, 1);
        assert_eq!(p.starttime, 12345);
    }

    #[test]
    fn sees_this_process_in_its_own_namespace() {
        let me = std::process::id();
        let ns = pid_ns(me).unwrap();
        let all = members(&ns);
        assert!(
            all.iter().any(|p| p.pid == me),
            "pid {me} not among {} members of {ns}",
            all.len()
        );
        assert_eq!(survivors(&[read(me).unwrap()]).len(), 1);
    }
}
