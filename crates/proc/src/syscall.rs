//! `/proc/PID/syscall`: the syscall a blocked task is in, with its raw arguments, and the
//! decoding of the ones that explain a wait (`wait4(-1)`, `read(fd 3 = pipe:[123])`).
//!
//! The file holds `running` (the task is on a CPU: nothing to report), `-1 SP PC` (blocked,
//! but not in a syscall: a zombie, a stopped task, a page fault), or `NR A1 ... A6 SP PC`
//! with the syscall number and six argument registers in hex. The number is the CALLER's
//! architecture's; pid arguments are in the CALLER's PID namespace.

use crate::syscall_names;
use serde::Serialize;

/// Which syscall table numbers refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Arch {
    /// x86_64 (`asm/unistd_64.h`).
    X86_64,
    /// aarch64 (the generic `asm-generic/unistd.h` table).
    Aarch64,
}

impl Arch {
    /// The architecture this binary runs on (and therefore reads /proc of). Other
    /// architectures fall back to the generic table, which most newer ports use.
    pub const fn host() -> Arch {
        if cfg!(target_arch = "x86_64") {
            Arch::X86_64
        } else {
            Arch::Aarch64
        }
    }

    fn table(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &syscall_names::X86_64,
            Arch::Aarch64 => &syscall_names::AARCH64,
        }
    }

    /// The name of syscall `nr`, if this table has one.
    pub fn name(self, nr: i64) -> Option<&'static str> {
        let i = usize::try_from(nr).ok()?;
        self.table().get(i).copied().filter(|n| !n.is_empty())
    }

    /// The number of the syscall called `name`.
    pub fn number(self, name: &str) -> Option<i64> {
        self.table().iter().position(|n| *n == name).map(|i| i as i64)
    }
}

/// The content of `/proc/PID/syscall`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SyscallState {
    /// `running`: on a CPU right now.
    Running,
    /// `-1 SP PC`: blocked outside any syscall (zombie, stopped, faulting).
    NotInSyscall,
    /// Blocked in syscall `nr`.
    In(Syscall),
}

/// A syscall and its raw argument registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Syscall {
    /// The number in the caller's architecture's table.
    pub nr: i64,
    /// The six argument registers.
    pub args: [u64; 6],
}

/// Parse `/proc/PID/syscall`. `None` for garbage or a truncated line.
pub fn parse_syscall(text: &str) -> Option<SyscallState> {
    let t = text.trim();
    if t == "running" {
        return Some(SyscallState::Running);
    }
    let mut it = t.split_ascii_whitespace();
    let nr: i64 = it.next()?.parse().ok()?;
    let rest: Vec<u64> = it.map(hex).collect::<Option<_>>()?;
    if nr == -1 {
        return (rest.len() == 2).then_some(SyscallState::NotInSyscall);
    }
    if nr < 0 || rest.len() != 8 {
        return None;
    }
    let mut args = [0u64; 6];
    args.copy_from_slice(&rest[..6]);
    Some(SyscallState::In(Syscall { nr, args }))
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

/// What a blocked syscall waits for, decoded from its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WaitTarget {
    /// `wait4`/`waitid` on any child.
    AnyChild,
    /// On the child with this pid IN THE CALLER'S PID NAMESPACE.
    Child { ns_pid: i32 },
    /// On any child in this process group (caller's namespace); 0 = the caller's own group.
    ChildInGroup { ns_pgid: i32 },
    /// `waitid(P_PIDFD, fd)`: the child behind this pidfd.
    ChildPidfd { fd: i32 },
    /// A read/write/accept/... on this fd.
    Fd { fd: i32 },
    /// A futex word at this address.
    Futex { uaddr: u64, op: String },
    /// A sleep with no one to wait for.
    Timer,
    /// Waiting for a signal (`pause`, `rt_sigsuspend`, `rt_sigtimedwait`).
    Signal,
    /// Anything else.
    Unknown,
}

const FD_CALLS: &[&str] = &[
    "read",
    "readv",
    "pread64",
    "preadv",
    "preadv2",
    "write",
    "writev",
    "pwrite64",
    "recvfrom",
    "recvmsg",
    "recvmmsg",
    "sendto",
    "sendmsg",
    "accept",
    "accept4",
    "connect",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "flock",
    "fcntl",
    "ioctl",
    "splice",
    "fsync",
];

impl Syscall {
    /// The syscall's name in `arch`'s table, or `syscall_NR`.
    pub fn name(&self, arch: Arch) -> String {
        arch.name(self.nr)
            .map(str::to_string)
            .unwrap_or_else(|| format!("syscall_{}", self.nr))
    }

    fn int(&self, i: usize) -> i32 {
        // Arguments of type int/pid_t live in the low 32 bits of the register.
        self.args[i] as u32 as i32
    }

    /// What this syscall is waiting for.
    pub fn wait_target(&self, arch: Arch) -> WaitTarget {
        let name = self.name(arch);
        match name.as_str() {
            "wait4" => match self.int(0) {
                -1 => WaitTarget::AnyChild,
                0 => WaitTarget::ChildInGroup { ns_pgid: 0 },
                p if p < 0 => WaitTarget::ChildInGroup {
                    ns_pgid: p.wrapping_neg(),
                },
                p => WaitTarget::Child { ns_pid: p },
            },
            // waitid(idtype, id, ...): P_ALL 0, P_PID 1, P_PGID 2, P_PIDFD 3.
            "waitid" => match self.int(0) {
                1 => WaitTarget::Child { ns_pid: self.int(1) },
                2 => WaitTarget::ChildInGroup { ns_pgid: self.int(1) },
                3 => WaitTarget::ChildPidfd { fd: self.int(1) },
                _ => WaitTarget::AnyChild,
            },
            "futex" => WaitTarget::Futex {
                uaddr: self.args[0],
                op: futex_op(self.int(1)),
            },
            "nanosleep" | "clock_nanosleep" => WaitTarget::Timer,
            "pause" | "rt_sigsuspend" | "rt_sigtimedwait" => WaitTarget::Signal,
            n if FD_CALLS.contains(&n) => WaitTarget::Fd { fd: self.int(0) },
            _ => WaitTarget::Unknown,
        }
    }

    /// A readable form with the arguments that matter: `wait4(-1)`, `read(fd 3 = pipe:[123])`,
    /// `futex(0x7f.., FUTEX_WAIT_PRIVATE)`. `fd_name` resolves an fd of the caller (None:
    /// unknown), so this stays a pure function.
    pub fn describe(&self, arch: Arch, fd_name: &dyn Fn(i32) -> Option<String>) -> String {
        let name = self.name(arch);
        let fd = |fd: i32| match fd_name(fd) {
            Some(t) => format!("fd {fd} = {t}"),
            None => format!("fd {fd}"),
        };
        match self.wait_target(arch) {
            WaitTarget::AnyChild if name == "waitid" => "waitid(P_ALL)".to_string(),
            WaitTarget::AnyChild => format!("{name}(-1)"),
            WaitTarget::Child { ns_pid } if name == "waitid" => format!("waitid(P_PID, {ns_pid})"),
            WaitTarget::Child { ns_pid } => format!("{name}({ns_pid})"),
            WaitTarget::ChildInGroup { ns_pgid } if name == "waitid" => {
                format!("waitid(P_PGID, {ns_pgid})")
            }
            WaitTarget::ChildInGroup { .. } => format!("{name}({})", self.int(0)),
            WaitTarget::ChildPidfd { fd: f } => format!("waitid(P_PIDFD, {})", fd(f)),
            WaitTarget::Fd { fd: f } => format!("{name}({})", fd(f)),
            WaitTarget::Futex { uaddr, op } => format!("{name}({uaddr:#x}, {op})"),
            WaitTarget::Timer | WaitTarget::Signal | WaitTarget::Unknown => name,
        }
    }
}

/// `FUTEX_WAIT_PRIVATE` and friends, from the `op` argument.
pub fn futex_op(op: i32) -> String {
    const NAMES: [&str; 14] = [
        "FUTEX_WAIT",
        "FUTEX_WAKE",
        "FUTEX_FD",
        "FUTEX_REQUEUE",
        "FUTEX_CMP_REQUEUE",
        "FUTEX_WAKE_OP",
        "FUTEX_LOCK_PI",
        "FUTEX_UNLOCK_PI",
        "FUTEX_TRYLOCK_PI",
        "FUTEX_WAIT_BITSET",
        "FUTEX_WAKE_BITSET",
        "FUTEX_WAIT_REQUEUE_PI",
        "FUTEX_CMP_REQUEUE_PI",
        "FUTEX_LOCK_PI2",
    ];
    let cmd = (op & 127) as usize;
    let mut s = NAMES
        .get(cmd)
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("FUTEX_OP_{cmd}"));
    if op & 128 != 0 {
        s.push_str("_PRIVATE");
    }
    if op & 256 != 0 {
        s.push_str("|FUTEX_CLOCK_REALTIME");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in(t: &str) -> Syscall {
        match parse_syscall(t) {
            Some(SyscallState::In(s)) => s,
            other => panic!("{t:?} gave {other:?}"),
        }
    }

    #[test]
    fn bad_parent_wait4_on_ns_pid_3() {
        // DESIGN.md §3: the parent shows `61 0x3 ...`: wait4 on its namespace's pid 3.
        let s = parse_in("61 0x3 0x7ffd2b0 0x0 0x0 0x0 0x0 0x7ffd2a8 0x7f3536c88bd3\n");
        assert_eq!(s.name(Arch::X86_64), "wait4");
        assert_eq!(s.wait_target(Arch::X86_64), WaitTarget::Child { ns_pid: 3 });
        assert_eq!(s.describe(Arch::X86_64, &|_| None), "wait4(3)");
    }

    #[test]
    fn wait4_any_child_is_minus_one_in_32_bits() {
        // The register holds 0xffffffff (int -1), as recorded from a bash waiting for `sleep`.
        let s = parse_in("61 0xffffffff 0x7fffd1051e60 0x0 0x0 0x1 0x8 0x7fffd1051e38 0x7f3536c88bd3");
        assert_eq!(s.describe(Arch::X86_64, &|_| None), "wait4(-1)");
        assert_eq!(s.wait_target(Arch::X86_64), WaitTarget::AnyChild);
    }

    #[test]
    fn read_on_a_pipe_names_the_fd() {
        let s = parse_in(include_str!("../tests/fixtures/syscall_read.txt"));
        let d = s.describe(Arch::X86_64, &|fd| (fd == 3).then(|| "pipe:[123]".to_string()));
        assert_eq!(d, "read(fd 3 = pipe:[123])");
    }

    #[test]
    fn aarch64_numbers() {
        assert_eq!(Arch::Aarch64.name(260), Some("wait4"));
        assert_eq!(Arch::Aarch64.name(63), Some("read"));
        assert_eq!(Arch::Aarch64.name(98), Some("futex"));
        assert_eq!(Arch::Aarch64.name(79), Some("newfstatat"));
        assert_eq!(Arch::X86_64.name(230), Some("clock_nanosleep"));
        assert_eq!(Arch::X86_64.name(247), Some("waitid"));
        assert_eq!(Arch::X86_64.name(100_000), None);
    }

    #[test]
    fn running_not_in_syscall_and_garbage() {
        assert_eq!(parse_syscall("running\n"), Some(SyscallState::Running));
        assert_eq!(parse_syscall("-1 0x0 0x0\n"), Some(SyscallState::NotInSyscall));
        for bad in [
            "",
            "61",
            "61 0x3",
            "x 0x1",
            "61 0x3 0x0 0x0 0x0 0x0 0x0 0x0 zz",
            "-5 0x0 0x0",
        ] {
            assert_eq!(parse_syscall(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn futex_ops() {
        assert_eq!(futex_op(128), "FUTEX_WAIT_PRIVATE");
        assert_eq!(
            futex_op(9 | 128 | 256),
            "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME"
        );
        assert_eq!(futex_op(99), "FUTEX_OP_99");
        let s = parse_in("202 0x7f00 0x80 0x0 0x0 0x0 0x0 0x1 0x2");
        assert_eq!(
            s.describe(Arch::X86_64, &|_| None),
            "futex(0x7f00, FUTEX_WAIT_PRIVATE)"
        );
    }
}
