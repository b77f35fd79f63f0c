//! Decoding of the records the BPF programs write into their ring buffers. Pure: bytes in,
//! typed events out, no I/O, so the layouts are tested on recorded bytes.
//!
//! Each layout mirrors a C struct in `bpf/*.bpf.c` (little-endian, natural alignment, no
//! padding inside: every field is placed on its own size). A record shorter than the struct
//! is an error, never a panic: it would mean the object and this decoder disagree.

use pidone_sys::Signal;
use std::fmt;

/// A record whose size does not match the layout we expect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("decoding a {what} record: expected at least {want} bytes, got {got}")]
pub struct DecodeError {
    pub what: &'static str,
    pub want: usize,
    pub got: usize,
}

/// A little-endian cursor over one record.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(what: &'static str, b: &'a [u8], want: usize) -> Result<Reader<'a>, DecodeError> {
        if b.len() < want {
            return Err(DecodeError {
                what,
                want,
                got: b.len(),
            });
        }
        Ok(Reader { b, at: 0 })
    }
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        // In bounds: `new` checked the record is at least as long as the whole layout.
        out.copy_from_slice(&self.b[self.at..self.at + N]);
        self.at += N;
        out
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn i32(&mut self) -> i32 {
        i32::from_le_bytes(self.take())
    }
    /// A NUL-terminated string in a fixed-size field; invalid UTF-8 is replaced, not refused.
    fn cstr<const N: usize>(&mut self) -> String {
        let raw: [u8; N] = self.take();
        let end = raw.iter().position(|&c| c == 0).unwrap_or(N);
        String::from_utf8_lossy(&raw[..end]).into_owned()
    }
}

/// What the kernel did with a generated signal (`enum trace_signal_ret`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalResult {
    Delivered,
    Ignored,
    AlreadyPending,
    OverflowFail,
    LoseInfo,
    Other(i32),
}

impl SignalResult {
    pub fn from_raw(n: i32) -> SignalResult {
        match n {
            0 => SignalResult::Delivered,
            1 => SignalResult::Ignored,
            2 => SignalResult::AlreadyPending,
            3 => SignalResult::OverflowFail,
            4 => SignalResult::LoseInfo,
            n => SignalResult::Other(n),
        }
    }
}

impl fmt::Display for SignalResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalResult::Delivered => f.write_str("delivered"),
            SignalResult::Ignored => f.write_str("ignored"),
            SignalResult::AlreadyPending => f.write_str("already pending"),
            SignalResult::OverflowFail => f.write_str("queue full"),
            SignalResult::LoseInfo => f.write_str("delivered without info"),
            SignalResult::Other(n) => write!(f, "result {n}"),
        }
    }
}

/// A process as a tracer saw it: host pid (tgid), thread id, comm, pid in the `--ns` namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    /// The pid in the namespace given with `--ns`, if the task is visible there.
    pub ns_pid: Option<u32>,
}

/// One `signal_generate` record (`struct signal_event` in `bpf/signals.bpf.c`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalEvent {
    /// CLOCK_MONOTONIC nanoseconds.
    pub ts_ns: u64,
    /// The raw signal number (a [`Signal`] when it is a valid one).
    pub signo: i32,
    pub result: SignalResult,
    /// `si_code`: 0 for kill(2), -6 for tgkill(2), 0x80 for the kernel, ...
    pub code: i32,
    /// Sent to the whole thread group rather than one thread.
    pub group: bool,
    pub sender: Task,
    pub target: Task,
}

/// `sizeof(struct signal_event)`.
pub const SIGNAL_EVENT_SIZE: usize = 8 + 4 * 4 + 4 * 4 + 4 * 2 + 16 * 2;

impl SignalEvent {
    pub fn decode(b: &[u8]) -> Result<SignalEvent, DecodeError> {
        let mut r = Reader::new("signal", b, SIGNAL_EVENT_SIZE)?;
        let ts_ns = r.u64();
        let signo = r.i32();
        let result = SignalResult::from_raw(r.i32());
        let code = r.i32();
        let group = r.i32() != 0;
        let (sender_pid, sender_tid, target_pid, target_tid) = (r.u32(), r.u32(), r.u32(), r.u32());
        let (sender_ns, target_ns) = (r.u32(), r.u32());
        let sender_comm = r.cstr::<16>();
        let target_comm = r.cstr::<16>();
        Ok(SignalEvent {
            ts_ns,
            signo,
            result,
            code,
            group,
            sender: Task {
                pid: sender_pid,
                tid: sender_tid,
                comm: sender_comm,
                ns_pid: (sender_ns != 0).then_some(sender_ns),
            },
            target: Task {
                pid: target_pid,
                tid: target_tid,
                comm: target_comm,
                ns_pid: (target_ns != 0).then_some(target_ns),
            },
        })
    }

    /// The signal's name, `SIGTERM`, or `signal N` for a number outside 1..=64.
    pub fn signal_name(&self) -> String {
        signal_name(self.signo)
    }
}

/// `SIGTERM` for 15, `SIGRTMIN+3` for 35, `signal 99` for nonsense.
pub fn signal_name(signo: i32) -> String {
    match Signal::from_raw(signo) {
        Some(s) => s.to_string(),
        None => format!("signal {signo}"),
    }
}

/// How a process ended, decoded from the wait status the kernel keeps in `exit_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitHow {
    /// exit(N) or return from main.
    Code(i32),
    /// Killed by a signal (number), with or without a core dump.
    Signal { signo: i32, core: bool },
}

impl ExitHow {
    /// Decode a wait(2) status: low 7 bits the killing signal, bit 7 core, bits 8-15 the code.
    pub fn from_status(status: i32) -> ExitHow {
        let sig = status & 0x7f;
        if sig == 0 {
            ExitHow::Code((status >> 8) & 0xff)
        } else {
            ExitHow::Signal {
                signo: sig,
                core: status & 0x80 != 0,
            }
        }
    }
}

impl fmt::Display for ExitHow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ExitHow::Code(c) => write!(f, "code {c}"),
            ExitHow::Signal { signo, core } => {
                write!(f, "killed by {}", signal_name(signo))?;
                if core {
                    f.write_str(" (core dumped)")?;
                }
                Ok(())
            }
        }
    }
}

/// What a `procs` record reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcKind {
    /// A new process (not a thread); `pid` is the child, `ppid` the parent.
    Fork,
    /// `pid` replaced its program with `filename`; `old_pid` is the thread that called execve
    /// (it differs from `pid` when a non-leader thread exec'd).
    Exec { filename: String, old_pid: i32 },
    /// The process's leader thread exited.
    Exit(ExitHow),
}

/// One `procs` record (`struct proc_event` in `bpf/procs.bpf.c`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcEvent {
    /// CLOCK_MONOTONIC nanoseconds.
    pub ts_ns: u64,
    pub kind: ProcKind,
    pub pid: u32,
    pub ppid: u32,
    /// pid and ppid in the `--ns` namespace, when visible there.
    pub ns_pid: Option<u32>,
    pub ns_ppid: Option<u32>,
    /// The process's comm (for a fork, the child's, which is still the parent's).
    pub comm: String,
}

const FILENAME_LEN: usize = 256;
/// `sizeof(struct proc_event)`.
pub const PROC_EVENT_SIZE: usize = 8 + 4 * 6 + 16 + FILENAME_LEN;

impl ProcEvent {
    pub fn decode(b: &[u8]) -> Result<ProcEvent, DecodeError> {
        let mut r = Reader::new("procs", b, PROC_EVENT_SIZE)?;
        let ts_ns = r.u64();
        let kind = r.u32();
        let (pid, ppid, ns_pid, ns_ppid) = (r.u32(), r.u32(), r.u32(), r.u32());
        let status = r.i32();
        let comm = r.cstr::<16>();
        let filename = r.cstr::<FILENAME_LEN>();
        let kind = match kind {
            1 => ProcKind::Fork,
            2 => ProcKind::Exec {
                filename,
                old_pid: status,
            },
            3 => ProcKind::Exit(ExitHow::from_status(status)),
            _ => {
                return Err(DecodeError {
                    what: "procs (unknown kind)",
                    want: PROC_EVENT_SIZE,
                    got: b.len(),
                })
            }
        };
        Ok(ProcEvent {
            ts_ns,
            kind,
            pid,
            ppid,
            ns_pid: (ns_pid != 0).then_some(ns_pid),
            ns_ppid: (ns_ppid != 0).then_some(ns_ppid),
            comm,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(v: &mut Vec<u8>, b: &[u8]) {
        v.extend_from_slice(b);
    }
    fn comm(s: &str) -> [u8; 16] {
        let mut c = [0u8; 16];
        c[..s.len()].copy_from_slice(s.as_bytes());
        c
    }

    /// The records of a fixture file: one hex line each, `#` lines are comments.
    fn recorded(text: &str) -> Vec<Vec<u8>> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                (0..l.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn decodes_recorded_signal_records() {
        let recs = recorded(include_str!("fixtures/signals.hex"));
        let e: Vec<SignalEvent> = recs.iter().map(|r| SignalEvent::decode(r).unwrap()).collect();
        assert_eq!(e.len(), 4);
        let term = &e[0];
        assert_eq!(
            (term.signal_name().as_str(), term.code, term.group),
            ("SIGTERM", 0, true)
        );
        assert_eq!(term.result, SignalResult::Delivered);
        assert_eq!(
            (term.sender.pid, term.sender.ns_pid, term.sender.comm.as_str()),
            (18281, Some(1), "sh")
        );
        assert_eq!(
            (term.target.pid, term.target.tid, term.target.ns_pid),
            (18294, 18294, Some(2))
        );
        // SIGCHLD from the killed child (CLD_KILLED = 2), then from the one that exited (CLD_EXITED = 1).
        assert_eq!((e[1].signo, e[1].code, e[1].sender.ns_pid), (17, 2, Some(2)));
        assert_eq!((e[2].signo, e[2].code, e[2].sender.ns_pid), (17, 1, Some(3)));
        // To the unshare process outside the namespace: no ns pid; it ignores SIGCHLD.
        assert_eq!((e[3].target.comm.as_str(), e[3].target.ns_pid), ("unshare", None));
        assert_eq!(e[3].result, SignalResult::Ignored);
        assert!(e.windows(2).all(|w| w[0].ts_ns < w[1].ts_ns));
    }

    #[test]
    fn decodes_recorded_procs_records() {
        let recs = recorded(include_str!("fixtures/procs.hex"));
        assert!(recs.iter().all(|r| r.len() == PROC_EVENT_SIZE));
        let e: Vec<ProcEvent> = recs.iter().map(|r| ProcEvent::decode(r).unwrap()).collect();
        let kinds: Vec<String> = e
            .iter()
            .map(|e| match &e.kind {
                ProcKind::Fork => format!("fork {:?}<-{:?}", e.ns_pid, e.ns_ppid),
                ProcKind::Exec { filename, .. } => format!("exec {:?} {filename}", e.ns_pid),
                ProcKind::Exit(how) => format!("exit {:?} {how}", e.ns_pid),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "fork Some(2)<-Some(1)",
                "exit Some(2) killed by SIGTERM",
                "fork Some(3)<-Some(1)",
                "exec Some(3) /usr/bin/sh",
                "exit Some(3) code 7",
                "exit Some(1) code 0",
            ]
        );
        assert_eq!((e[5].pid, e[5].ppid, e[5].ns_ppid), (18281, 18279, None));
        assert!(e.iter().all(|e| e.comm == "sh"));
    }

    /// A record built field by field (for the odd cases no run produces on demand).
    fn built_signal() -> Vec<u8> {
        let mut v = Vec::new();
        put(&mut v, &123_456_789_000u64.to_le_bytes());
        put(&mut v, &15i32.to_le_bytes()); // SIGTERM
        put(&mut v, &0i32.to_le_bytes()); // delivered
        put(&mut v, &0i32.to_le_bytes()); // SI_USER
        put(&mut v, &1i32.to_le_bytes()); // group
        for n in [5609u32, 5610, 294147, 294147, 0, 3] {
            put(&mut v, &n.to_le_bytes());
        }
        put(&mut v, &comm("pidone"));
        put(&mut v, &comm("python"));
        v
    }

    #[test]
    fn decodes_a_signal_record() {
        let e = SignalEvent::decode(&built_signal()).unwrap();
        assert_eq!(e.ts_ns, 123_456_789_000);
        assert_eq!(e.signal_name(), "SIGTERM");
        assert_eq!(e.result, SignalResult::Delivered);
        assert!(e.group);
        assert_eq!(
            (e.sender.pid, e.sender.tid, e.sender.comm.as_str()),
            (5609, 5610, "pidone")
        );
        assert_eq!((e.target.pid, e.target.comm.as_str()), (294147, "python"));
        assert_eq!((e.sender.ns_pid, e.target.ns_pid), (None, Some(3)));
    }

    #[test]
    fn short_record_is_an_error_not_a_panic() {
        let v = built_signal();
        let err = SignalEvent::decode(&v[..40]).unwrap_err();
        assert_eq!((err.want, err.got), (SIGNAL_EVENT_SIZE, 40));
        assert!(ProcEvent::decode(&[]).is_err());
    }

    #[test]
    fn comm_of_full_length_and_invalid_utf8() {
        let mut v = built_signal();
        let at = SIGNAL_EVENT_SIZE - 32;
        v[at..at + 16].copy_from_slice(b"exactly16chars!!");
        v[at + 16] = 0xff;
        let e = SignalEvent::decode(&v).unwrap();
        assert_eq!(e.sender.comm, "exactly16chars!!");
        assert_eq!(e.target.comm, "\u{fffd}ython");
    }

    #[test]
    fn realtime_and_bogus_signal_names() {
        assert_eq!(signal_name(32), "SIGRTMIN");
        assert_eq!(signal_name(35), "SIGRTMIN+3");
        assert_eq!(signal_name(0), "signal 0");
        assert_eq!(signal_name(99), "signal 99");
    }

    fn proc_record(kind: u32, status: i32, filename: &str) -> Vec<u8> {
        let mut v = Vec::new();
        put(&mut v, &42u64.to_le_bytes());
        put(&mut v, &kind.to_le_bytes());
        for n in [700u32, 699, 2, 1] {
            put(&mut v, &n.to_le_bytes());
        }
        put(&mut v, &status.to_le_bytes());
        put(&mut v, &comm("sh"));
        let mut f = [0u8; FILENAME_LEN];
        f[..filename.len()].copy_from_slice(filename.as_bytes());
        put(&mut v, &f);
        v
    }

    #[test]
    fn decodes_fork_exec_exit_records() {
        let fork = ProcEvent::decode(&proc_record(1, 0, "")).unwrap();
        assert_eq!(fork.kind, ProcKind::Fork);
        assert_eq!(
            (fork.pid, fork.ppid, fork.ns_pid, fork.ns_ppid),
            (700, 699, Some(2), Some(1))
        );
        let exec = ProcEvent::decode(&proc_record(2, 700, "/bin/true")).unwrap();
        assert_eq!(
            exec.kind,
            ProcKind::Exec {
                filename: "/bin/true".into(),
                old_pid: 700
            }
        );
        let exit = ProcEvent::decode(&proc_record(3, 7 << 8, "")).unwrap();
        assert_eq!(exit.kind, ProcKind::Exit(ExitHow::Code(7)));
        assert!(ProcEvent::decode(&proc_record(9, 0, "")).is_err());
    }

    #[test]
    fn exit_status_decoding() {
        assert_eq!(ExitHow::from_status(0), ExitHow::Code(0));
        assert_eq!(ExitHow::from_status(3 << 8).to_string(), "code 3");
        assert_eq!(ExitHow::from_status(15).to_string(), "killed by SIGTERM");
        assert_eq!(
            ExitHow::from_status(0x80 | 11).to_string(),
            "killed by SIGSEGV (core dumped)"
        );
        assert_eq!(
            ExitHow::from_status(9),
            ExitHow::Signal {
                signo: 9,
                core: false
            }
        );
    }
}
