//! `/proc/PID/status` and `/proc/PID/task/TID/status`: `Key:\tvalue` lines.
//!
//! Fields a kernel may lack (NSpid before 4.1, NSpgid/NSsid before 4.1, ShdPnd on very old
//! kernels) are `Option` or empty; unknown keys are skipped, so newer kernels parse too.

use crate::sigset::SigSet;
use crate::stat::State;
use serde::Serialize;

/// The fields of `status` that pidone uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Status {
    /// `Name:` (comm, with the kernel's escaping of `\n` and `\\`).
    pub name: String,
    /// `State:`
    pub state: Option<State>,
    /// `Tgid:` (the process id this thread belongs to).
    pub tgid: Option<i32>,
    /// `Pid:` (the thread id).
    pub pid: Option<i32>,
    /// `PPid:`
    pub ppid: Option<i32>,
    /// `TracerPid:` (0: not traced).
    pub tracer_pid: Option<i32>,
    /// `Uid:` real uid.
    pub uid: Option<u32>,
    /// `NStgid:` the tgid in each PID namespace, outermost (the /proc mount's) first.
    pub nstgid: Vec<i32>,
    /// `NSpid:` the pid in each PID namespace, outermost first, innermost (its own) last.
    pub nspid: Vec<i32>,
    /// `NSpgid:` the process group per namespace; 0 where the group leader is outside it.
    pub nspgid: Vec<i32>,
    /// `NSsid:` the session per namespace; 0 where the session leader is outside it.
    pub nssid: Vec<i32>,
    /// `Threads:`
    pub threads: Option<u32>,
    /// `SigPnd:` signals pending for this thread.
    pub sig_pnd: SigSet,
    /// `ShdPnd:` signals pending for the whole process.
    pub shd_pnd: SigSet,
    /// `SigBlk:` this thread's blocked mask.
    pub sig_blk: SigSet,
    /// `SigIgn:` ignored (process-wide).
    pub sig_ign: SigSet,
    /// `SigCgt:` caught, i.e. a handler is installed (process-wide).
    pub sig_cgt: SigSet,
    /// Whether the `Sig*` lines were all present and valid.
    pub has_masks: bool,
    /// `Kthread:` (kernels from 6.x); `None` where the kernel does not print it.
    pub kthread: Option<bool>,
    /// Whether a `VmSize:` line was present (kernel threads and zombies have no memory map).
    pub has_vm: bool,
}

impl Status {
    /// Whether this is a kernel thread: `Kthread: 1`, or on older kernels a child of kthreadd
    /// (pid 2) without a memory map that is not a zombie.
    pub fn is_kernel_thread(&self) -> bool {
        self.kthread.unwrap_or_else(|| {
            !self.has_vm && self.state != Some(State::Zombie) && (self.ppid == Some(2) || self.pid == Some(2))
        })
    }
}

fn pids(v: &str) -> Option<Vec<i32>> {
    v.split_ascii_whitespace().map(|t| t.parse().ok()).collect()
}

/// Parse `status` text. `None` when no line parsed at all (garbage or empty); a truncated
/// read gives whatever fields were complete.
pub fn parse_status(text: &str) -> Option<Status> {
    let mut s = Status::default();
    let mut any = false;
    let mut masks = 0;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let v = value.trim();
        let int = || v.parse::<i32>().ok();
        let mask = || SigSet::parse_hex(v);
        match key {
            "Name" => {
                // Name is the one field whose value may contain spaces; keep it whole.
                s.name = value.strip_prefix('\t').unwrap_or(value).to_string();
            }
            "State" => s.state = v.chars().next().map(State::from_char),
            "Tgid" => s.tgid = int(),
            "Pid" => s.pid = int(),
            "PPid" => s.ppid = int(),
            "TracerPid" => s.tracer_pid = int(),
            "Uid" => s.uid = v.split_ascii_whitespace().next().and_then(|u| u.parse().ok()),
            "NStgid" => s.nstgid = pids(v).unwrap_or_default(),
            "NSpid" => s.nspid = pids(v).unwrap_or_default(),
            "NSpgid" => s.nspgid = pids(v).unwrap_or_default(),
            "NSsid" => s.nssid = pids(v).unwrap_or_default(),
            "Threads" => s.threads = v.parse().ok(),
            "Kthread" => s.kthread = Some(v == "1"),
            "VmSize" => s.has_vm = true,
            "SigPnd" | "ShdPnd" | "SigBlk" | "SigIgn" | "SigCgt" => {
                let Some(m) = mask() else { continue };
                masks += 1;
                match key {
                    "SigPnd" => s.sig_pnd = m,
                    "ShdPnd" => s.shd_pnd = m,
                    "SigBlk" => s.sig_blk = m,
                    "SigIgn" => s.sig_ign = m,
                    _ => s.sig_cgt = m,
                }
            }
            _ => continue,
        }
        any = true;
    }
    s.has_masks = masks == 5;
    any.then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pidone_sys::Signal;

    #[test]
    fn nested_nspid_lists_every_namespace() {
        let s = parse_status(include_str!("../tests/fixtures/status_nested_nspid.txt")).unwrap();
        assert_eq!(s.nspid, [5883, 3, 1]);
        assert_eq!(s.nstgid, [5883, 3, 1]);
        // The group and session leaders live outside both inner namespaces.
        assert_eq!(s.nspgid, [5837, 0, 0]);
        assert_eq!(s.name, "sleep");
    }

    #[test]
    fn realtime_bits_blocked_and_pending() {
        let s = parse_status(include_str!("../tests/fixtures/status_rt_blocked_pending.txt")).unwrap();
        assert!(s.has_masks);
        assert!(s.sig_cgt.contains(Signal::TERM));
        assert!(s.sig_blk.contains(Signal::TERM) && s.shd_pnd.contains(Signal::TERM));
        let rt33 = Signal::from_raw(35).unwrap(); // Python's SIGRTMIN+1 is glibc's, kernel 35
        assert!(
            s.sig_blk.contains(rt33) && s.shd_pnd.contains(rt33),
            "{:?}",
            s.sig_blk
        );
        assert!(s.sig_blk.contains(Signal::from_raw(64).unwrap()));
        assert!(s.sig_ign.contains(Signal::USR1));
    }

    #[test]
    fn zombie_and_kernel_thread() {
        let z = parse_status(include_str!("../tests/fixtures/status_zombie.txt")).unwrap();
        assert_eq!(z.state, Some(State::Zombie));
        let k = parse_status(include_str!("../tests/fixtures/status_kthread.txt")).unwrap();
        assert_eq!(k.ppid, Some(2));
        assert_eq!(k.state, Some(State::Idle));
        assert!(k.is_kernel_thread() && !z.is_kernel_thread());
        // Without the Kthread line (older kernels) the fallback still recognises it.
        let old = include_str!("../tests/fixtures/status_kthread.txt").replace("Kthread:\t1\n", "");
        assert!(parse_status(&old).unwrap().is_kernel_thread());
    }

    #[test]
    fn comm_with_parentheses_is_kept_whole() {
        let s = parse_status(include_str!("../tests/fixtures/status_weird_comm.txt")).unwrap();
        assert_eq!(s.name, "a) (b c");
    }

    #[test]
    fn garbage_is_none_and_truncation_keeps_complete_fields() {
        assert_eq!(parse_status(""), None);
        assert_eq!(parse_status("\u{0}\u{1}garbage"), None);
        let full = include_str!("../tests/fixtures/status_nested_nspid.txt");
        let cut = &full[..full.find("NSpgid").unwrap()];
        let s = parse_status(cut).unwrap();
        assert_eq!(s.nspid, [5883, 3, 1]);
        assert!(!s.has_masks);
    }
}
