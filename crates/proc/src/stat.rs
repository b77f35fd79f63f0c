//! `/proc/PID/stat` and `/proc/PID/task/TID/stat`: one line of space-separated fields.
//!
//! The second field is `(comm)`, and `comm` may contain spaces and parentheses (a process can
//! name itself `a) (b`), so the fields after it are found from the LAST `)` on the line.

use serde::Serialize;
use std::fmt;

/// The one-letter scheduler state, as `ps` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum State {
    /// `R`: running or runnable.
    Running,
    /// `S`: interruptible sleep (waiting in a syscall; signals wake it).
    Sleeping,
    /// `D`: uninterruptible sleep (usually I/O); only SIGKILL-able in `TASK_KILLABLE` waits.
    DiskSleep,
    /// `Z`: exited, waiting for its parent to reap it.
    Zombie,
    /// `T`: stopped by a job-control signal.
    Stopped,
    /// `t`: stopped by a tracer.
    TracingStop,
    /// `X`: dead (should never be seen).
    Dead,
    /// `I`: idle kernel thread.
    Idle,
    /// `P`: parked kernel thread.
    Parked,
    /// `W`, `K`, `x` or anything newer.
    Other(char),
}

impl State {
    /// From the state letter.
    pub fn from_char(c: char) -> State {
        match c {
            'R' => State::Running,
            'S' => State::Sleeping,
            'D' => State::DiskSleep,
            'Z' => State::Zombie,
            'T' => State::Stopped,
            't' => State::TracingStop,
            'X' | 'x' => State::Dead,
            'I' => State::Idle,
            'P' => State::Parked,
            c => State::Other(c),
        }
    }

    /// The letter `ps` prints.
    pub fn letter(self) -> char {
        match self {
            State::Running => 'R',
            State::Sleeping => 'S',
            State::DiskSleep => 'D',
            State::Zombie => 'Z',
            State::Stopped => 'T',
            State::TracingStop => 't',
            State::Dead => 'X',
            State::Idle => 'I',
            State::Parked => 'P',
            State::Other(c) => c,
        }
    }

    /// A word for sentences: "sleeping", "a zombie", ...
    pub fn describe(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Sleeping => "sleeping",
            State::DiskSleep => "in uninterruptible sleep",
            State::Zombie => "a zombie (exited, not yet reaped by its parent)",
            State::Stopped => "stopped (job control)",
            State::TracingStop => "stopped by a tracer",
            State::Dead => "dead",
            State::Idle => "an idle kernel thread",
            State::Parked => "parked",
            State::Other(_) => "in an unusual state",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

/// The fields of `stat` that pidone uses. Pids are in the PID namespace of the /proc mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stat {
    /// Field 1: the pid (or tid for a task).
    pub pid: i32,
    /// Field 2: the command name (up to 15 bytes), without the parentheses.
    pub comm: String,
    /// Field 3.
    pub state: State,
    /// Field 4: parent pid (0 for the namespace's init and kernel threads' kthreadd).
    pub ppid: i32,
    /// Field 5: process group.
    pub pgrp: i32,
    /// Field 6: session.
    pub session: i32,
    /// Field 7: controlling terminal (0: none).
    pub tty_nr: i32,
    /// Field 9: kernel flags (`PF_KTHREAD` = 0x00200000 marks a kernel thread).
    pub flags: u64,
    /// Field 20.
    pub num_threads: i64,
    /// Field 22: start time in clock ticks since boot.
    pub starttime: u64,
}

/// `PF_KTHREAD` from include/linux/sched.h.
pub const PF_KTHREAD: u64 = 0x0020_0000;

impl Stat {
    /// Whether this is a kernel thread.
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }
}

/// Parse one `stat` line. `None` when it is truncated or malformed.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = text[..open].trim().parse().ok()?;
    let comm = text[open + 1..close].to_string();
    // Fields from 3 on; index 0 here is field 3.
    let rest: Vec<&str> = text.get(close + 1..)?.split_ascii_whitespace().collect();
    let field = |n: usize| rest.get(n - 3).copied();
    let num = |n: usize| field(n).and_then(|s| s.parse::<i64>().ok());
    let state = State::from_char(field(3)?.chars().next()?);
    Some(Stat {
        pid,
        comm,
        state,
        ppid: num(4)?.try_into().ok()?,
        pgrp: num(5)?.try_into().ok()?,
        session: num(6)?.try_into().ok()?,
        tty_nr: num(7)?.try_into().ok()?,
        flags: field(9)?.parse().ok()?,
        num_threads: num(20)?,
        starttime: field(22)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_sleeping_bash() {
        let s = parse_stat(include_str!("../tests/fixtures/stat_bash.txt")).unwrap();
        assert_eq!((s.pid, s.comm.as_str(), s.state), (4170, "bash", State::Sleeping));
        assert_eq!(
            (s.ppid, s.pgrp, s.session, s.starttime),
            (4168, 4168, 3423, 551242)
        );
        assert!(!s.is_kernel_thread());
    }

    #[test]
    fn comm_with_parentheses_and_spaces() {
        let s = parse_stat(include_str!("../tests/fixtures/stat_weird_comm.txt")).unwrap();
        assert_eq!(s.comm, "a) (b c");
        assert_eq!(
            (s.pid, s.state, s.ppid, s.starttime),
            (15385, State::Sleeping, 15344, 586470)
        );
    }

    #[test]
    fn zombie_and_kernel_thread() {
        let z = parse_stat(include_str!("../tests/fixtures/stat_zombie.txt")).unwrap();
        assert_eq!(z.state, State::Zombie);
        let k = parse_stat(include_str!("../tests/fixtures/stat_kthread.txt")).unwrap();
        assert!(k.is_kernel_thread(), "{k:?}");
        assert_eq!((k.ppid, k.state), (2, State::Idle));
    }

    #[test]
    fn truncated_lines_are_none() {
        let full = include_str!("../tests/fixtures/stat_bash.txt");
        for cut in 0..full.len() {
            // Every prefix that stops before field 22 must be rejected, none may panic.
            let r = parse_stat(&full[..cut]);
            if cut < 60 {
                assert!(r.is_none(), "prefix {cut} parsed: {r:?}");
            }
        }
    }
}
