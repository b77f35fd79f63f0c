//! Fuzz-style robustness: every parser gets truncated, mutated and random input and must
//! return (Some or None), never panic. Deterministic (a fixed xorshift seed) so a failure
//! reproduces; thousands of cases per parser run in well under a second.

use pidone_proc::fd::{parse_fd_link, parse_fdinfo_access, parse_fdinfo_pidfd};
use pidone_proc::sigset::SigSet;
use pidone_proc::stat::parse_stat;
use pidone_proc::status::parse_status;
use pidone_proc::syscall::{parse_syscall, Arch, SyscallState};
use pidone_proc::{parse_children, parse_cmdline, parse_ns_link, parse_uptime};

const FIXTURES: &[&str] = &[
    include_str!("fixtures/stat_bash.txt"),
    include_str!("fixtures/stat_kthread.txt"),
    include_str!("fixtures/stat_weird_comm.txt"),
    include_str!("fixtures/stat_zombie.txt"),
    include_str!("fixtures/status_kthread.txt"),
    include_str!("fixtures/status_nested_nspid.txt"),
    include_str!("fixtures/status_rt_blocked_pending.txt"),
    include_str!("fixtures/status_weird_comm.txt"),
    include_str!("fixtures/status_zombie.txt"),
    include_str!("fixtures/syscall_kthread.txt"),
    include_str!("fixtures/syscall_read.txt"),
    include_str!("fixtures/syscall_sleep.txt"),
    "pipe:[12179]",
    "pos:\t0\nflags:\t0100001\nPid:\t42\n",
    "running\n",
    "-1 0x0 0x0\n",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn every_parser(text: &str) {
    let _ = parse_stat(text);
    let _ = parse_status(text);
    if let Some(SyscallState::In(s)) = parse_syscall(text) {
        // Decoding arbitrary numbers and arguments must not panic either.
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let _ = s.describe(arch, &|fd| Some(format!("fd{fd}")));
            let _ = s.wait_target(arch);
        }
    }
    let _ = parse_fd_link(text);
    let _ = parse_fdinfo_access(text);
    let _ = parse_fdinfo_pidfd(text);
    let _ = SigSet::parse_hex(text).map(|s| s.to_string());
    let _ = parse_cmdline(text.as_bytes());
    let _ = parse_children(text);
    let _ = parse_ns_link(text);
    let _ = parse_uptime(text);
}

#[test]
fn every_prefix_of_every_fixture() {
    for f in FIXTURES {
        for (i, _) in f.char_indices() {
            every_parser(&f[..i]);
            every_parser(&f[i..]);
        }
    }
}

#[test]
fn random_mutations_and_noise() {
    let alphabet: Vec<char> = "0123456789abcdefx()[]: \t\n-+SZRTD\u{0}\u{fffd}é"
        .chars()
        .collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..20_000 {
        let mut s: Vec<char> = if round % 2 == 0 {
            FIXTURES[rng.below(FIXTURES.len())].chars().collect()
        } else {
            Vec::new()
        };
        let edits = 1 + rng.below(8);
        for _ in 0..edits {
            let c = alphabet[rng.below(alphabet.len())];
            match rng.below(3) {
                0 if !s.is_empty() => {
                    let i = rng.below(s.len());
                    s[i] = c;
                }
                1 if !s.is_empty() => {
                    s.remove(rng.below(s.len()));
                }
                _ => {
                    let i = rng.below(s.len() + 1);
                    s.insert(i, c);
                }
            }
        }
        every_parser(&s.into_iter().collect::<String>());
    }
}

#[test]
fn huge_numbers_and_syscall_extremes() {
    for t in [
        "99999999999999999999 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 0 1 0 1",
        "1 (x) S 99999999999 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 0 1 0 1",
        "9223372036854775807 0xffffffffffffffff 0xffffffffffffffff 0x0 0x0 0x0 0x0 0x0 0x0",
        "61 0x80000000 0x0 0x0 0x0 0x0 0x0 0x0 0x0",
        "247 0x3 0xffffffff 0x0 0x0 0x0 0x0 0x0 0x0",
        "NSpid:\t-1\t99999999999\nSigCgt:\tffffffffffffffffff\n",
    ] {
        every_parser(t);
    }
    // wait4(INT_MIN): the negation must not overflow.
    if let Some(SyscallState::In(s)) = parse_syscall("61 0x80000000 0x0 0x0 0x0 0x0 0x0 0x0 0x0") {
        assert_eq!(s.describe(Arch::X86_64, &|_| None), "wait4(-2147483648)");
    }
}
