//! The explainer and every rule on hand-built snapshots: each known cause, and each way the
//! chain is followed (wait4 by ns pid, by group, waitid, pipes, futexes).

use pidone_diag::explain;
use pidone_proc::fd::Access;
use pidone_proc::status::parse_status;
use pidone_proc::syscall::parse_syscall;
use pidone_proc::{Arch, Fd, FdTarget, Process, Snapshot, Thread};
use pidone_sys::Signal;

/// A process: host pid first in `nspid`; masks as hex; `syscall` as /proc/PID/syscall text.
struct P {
    nspid: Vec<i32>,
    ppid: i32,
    pgid: Vec<i32>,
    comm: &'static str,
    argv: Vec<&'static str>,
    state: &'static str,
    syscall: &'static str,
    cgt: &'static str,
    ign: &'static str,
    blk: &'static str,
    pnd: &'static str,
    fds: Vec<Fd>,
    extra_threads: Vec<(i32, &'static str, &'static str)>,
}

fn p(nspid: &[i32], ppid: i32, comm: &'static str) -> P {
    P {
        nspid: nspid.to_vec(),
        ppid,
        pgid: vec![nspid[0]],
        comm,
        argv: vec![comm],
        state: "S (sleeping)",
        syscall: "230 0x1 0x0 0x0 0x0 0x0 0x0 0x1 0x2",
        cgt: "0000000000000000",
        ign: "0000000000000000",
        blk: "0000000000000000",
        pnd: "0000000000000000",
        fds: Vec::new(),
        extra_threads: Vec::new(),
    }
}

const TERM: &str = "0000000000004000";

impl P {
    fn build(self) -> Process {
        let ns = |v: &[i32]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("\t");
        let status_text = |tid: i32, state: &str, blk: &str| {
            format!(
                "Name:\t{}\nState:\t{state}\nTgid:\t{}\nPid:\t{tid}\nPPid:\t{}\nNSpid:\t{}\nNSpgid:\t{}\n\
                 SigPnd:\t0000000000000000\nShdPnd:\t{}\nSigBlk:\t{}\nSigIgn:\t{}\nSigCgt:\t{}\nVmSize:\t1 kB\n",
                self.comm,
                self.nspid[0],
                self.ppid,
                ns(&self.nspid),
                ns(&self.pgid),
                self.pnd,
                blk,
                self.ign,
                self.cgt
            )
        };
        let status = parse_status(&status_text(self.nspid[0], self.state, self.blk)).unwrap();
        let mut threads = vec![Thread {
            tid: self.nspid[0],
            status: status.clone(),
            syscall: parse_syscall(self.syscall),
            wchan: None,
        }];
        for (tid, state, sc) in &self.extra_threads {
            threads.push(Thread {
                tid: *tid,
                status: parse_status(&status_text(*tid, state, "0000000000000000")).unwrap(),
                syscall: parse_syscall(sc),
                wchan: None,
            });
        }
        Process {
            pid: self.nspid[0],
            status,
            stat: None,
            cmdline: self.argv.iter().map(|s| s.to_string()).collect(),
            syscall: parse_syscall(self.syscall),
            wchan: None,
            pid_ns: None,
            threads,
            fds: Some(self.fds),
            children: None,
            notes: Vec::new(),
        }
    }
}

fn snap(ps: Vec<P>) -> Snapshot {
    Snapshot::from_processes(ps.into_iter().map(P::build).collect(), Some(1000.0), Arch::X86_64)
}

fn rules(s: &Snapshot, pid: i32) -> Vec<&'static str> {
    explain(s, pid, Signal::TERM)
        .unwrap()
        .hints
        .iter()
        .map(|h| h.rule)
        .collect()
}

fn pipe(fd: i32, inode: u64, access: Access) -> Fd {
    Fd {
        fd,
        target: FdTarget::Pipe(inode),
        access: Some(access),
        pidfd_pid: None,
    }
}

const WAIT4_ANY: &str = "61 0xffffffff 0x0 0x0 0x0 0x0 0x0 0x1 0x2";

#[test]
fn wait4_pid_is_mapped_through_the_callers_namespace() {
    // Caller is in a namespace one level down; wait4(3) means ITS pid 3, host pid 903 —
    // not host pid 3 (which exists too and is also its child, to make the mistake visible).
    let mut parent = p(&[900, 1], 899, "python3");
    parent.syscall = "61 0x3 0x0 0x0 0x0 0x0 0x0 0x1 0x2";
    let s = snap(vec![
        parent,
        p(&[903, 3], 900, "python3"),
        p(&[3, 9], 900, "decoy"),
    ]);
    let e = explain(&s, 900, Signal::TERM).unwrap();
    assert_eq!(e.waits_for(900), [903], "{:#?}", e.chain);
    assert_eq!(e.processes[0].syscall.as_deref(), Some("wait4(3)"));
}

#[test]
fn wait4_any_waits_for_every_child_and_waitid_pid_is_mapped() {
    let mut parent = p(&[50], 1, "bash");
    parent.syscall = WAIT4_ANY;
    let s = snap(vec![
        parent,
        p(&[51], 50, "a"),
        p(&[52], 50, "b"),
        p(&[53], 1, "not-a-child"),
    ]);
    assert_eq!(explain(&s, 50, Signal::TERM).unwrap().waits_for(50), [51, 52]);

    // waitid(P_PID, 2) in a namespace.
    let mut w = p(&[700, 1], 699, "init");
    w.syscall = "247 0x1 0x2 0x0 0x4 0x0 0x0 0x1 0x2";
    let s = snap(vec![w, p(&[701, 2], 700, "x"), p(&[702, 3], 700, "y")]);
    let e = explain(&s, 700, Signal::TERM).unwrap();
    assert_eq!(e.waits_for(700), [701]);
    assert_eq!(e.processes[0].syscall.as_deref(), Some("waitid(P_PID, 2)"));
}

#[test]
fn wait4_on_a_process_group_uses_the_callers_level() {
    let mut w = p(&[800, 1], 799, "sh");
    w.syscall = "61 0xfffffffb 0x0 0x0 0x0 0x0 0x0 0x1 0x2"; // wait4(-5): group 5 (ns)
    let mut in_group = p(&[805, 5], 800, "x");
    in_group.pgid = vec![805, 5];
    let mut other = p(&[806, 6], 800, "y");
    other.pgid = vec![806, 6];
    let s = snap(vec![w, in_group, other]);
    assert_eq!(explain(&s, 800, Signal::TERM).unwrap().waits_for(800), [805]);
}

#[test]
fn python_multiprocessing_needs_a_python_child_that_survives_term() {
    let mut parent = p(&[10, 1], 9, "python3");
    parent.syscall = "61 0x2 0x0 0x0 0x0 0x0 0x0 0x1 0x2";
    parent.cgt = TERM;
    let mut child = p(&[11, 2], 10, "python3");
    child.cgt = TERM;
    let s = snap(vec![parent, child]);
    assert_eq!(rules(&s, 10)[0], "python-multiprocessing");
    let e = explain(&s, 10, Signal::TERM).unwrap();
    assert!(
        e.verdict.contains("Likely cause: Python multiprocessing"),
        "{}",
        e.verdict
    );

    // A child at the default action would just die: no multiprocessing hint.
    let mut parent = p(&[10, 1], 9, "python3");
    parent.syscall = "61 0x2 0x0 0x0 0x0 0x0 0x0 0x1 0x2";
    let s = snap(vec![parent, p(&[11, 2], 10, "python3")]);
    assert!(!rules(&s, 10).contains(&"python-multiprocessing"));
}

#[test]
fn shell_as_pid1_without_exec() {
    let mut sh = p(&[20, 1], 19, "sh");
    sh.argv = vec!["/bin/sh", "/entrypoint.sh"];
    sh.syscall = WAIT4_ANY;
    let mut app = p(&[21, 7], 20, "node");
    app.argv = vec!["node", "server.js"];
    let s = snap(vec![sh, app]);
    let e = explain(&s, 20, Signal::TERM).unwrap();
    assert_eq!(e.hints[0].rule, "shell-without-exec");
    assert!(
        e.hints[0].text.contains("exec node server.js"),
        "{}",
        e.hints[0].text
    );
    assert!(e.hints[0].text.contains("PID 1"), "{}", e.hints[0].text);
    // The shell is a shell: the generic ns-init rule does not also fire for it.
    assert!(!rules(&s, 20).contains(&"ns-init-default-action"));
}

#[test]
fn ignored_blocked_pending_and_ns_init_default() {
    let mut ign = p(&[30], 1, "daemon");
    ign.ign = TERM;
    let s = snap(vec![ign]);
    assert_eq!(rules(&s, 30), ["ignores-stop-signal"]);

    let mut blk = p(&[31], 1, "worker");
    blk.blk = TERM;
    blk.pnd = TERM;
    let s = snap(vec![blk]);
    let e = explain(&s, 31, Signal::TERM).unwrap();
    assert_eq!(rules(&s, 31), ["blocks-stop-signal"]);
    assert!(e.processes[0].blocked && e.processes[0].pending);
    assert!(e.verdict.contains("blocks it in every thread"), "{}", e.verdict);

    // Blocked in one thread only: another thread takes the signal, so it is not "blocked".
    let mut one = p(&[32], 1, "mt");
    one.blk = TERM;
    one.extra_threads = vec![(33, "S (sleeping)", "202 0x7f00 0x80 0x0 0x0 0x0 0x0 0x1 0x2")];
    let s = snap(vec![one]);
    let e = explain(&s, 32, Signal::TERM).unwrap();
    assert!(!e.processes[0].blocked);

    let s = snap(vec![p(&[40, 1], 39, "myapp")]);
    assert_eq!(rules(&s, 40), ["ns-init-default-action"]);
}

#[test]
fn pipe_reader_finds_writers_and_its_own_write_end() {
    let mut reader = p(&[60], 1, "reader");
    reader.syscall = "0 0x3 0x0 0x1 0x0 0x0 0x0 0x1 0x2";
    reader.fds = vec![pipe(3, 777, Access::Read), pipe(4, 777, Access::Write)];
    let mut writer = p(&[61], 1, "writer");
    writer.fds = vec![pipe(1, 777, Access::Write), pipe(5, 777, Access::Write)];
    let mut other_reader = p(&[62], 1, "other");
    other_reader.fds = vec![pipe(0, 777, Access::Read)];
    let s = snap(vec![reader, writer, other_reader]);
    let e = explain(&s, 60, Signal::TERM).unwrap();
    assert_eq!(e.processes[0].syscall.as_deref(), Some("read(fd 3 = pipe:[777])"));
    // Only writers count, and a writer holding the pipe twice is one edge.
    assert_eq!(e.waits_for(60), [61], "{:#?}", e.chain);
    assert!(
        e.chain[0].contains("itself also holds a write end"),
        "{}",
        e.chain[0]
    );
    assert!(rules(&s, 60).contains(&"pipe-self-writer"));
}

#[test]
fn futex_lists_the_other_threads() {
    let mut mt = p(&[70], 1, "java");
    mt.syscall = "202 0x7f00 0x80 0x0 0x0 0x0 0x0 0x1 0x2";
    mt.extra_threads = vec![(71, "D (disk sleep)", "0 0x5 0x0 0x1 0x0 0x0 0x0 0x1 0x2")];
    let s = snap(vec![mt]);
    let e = explain(&s, 70, Signal::TERM).unwrap();
    assert!(
        e.chain[0]
            .contains("futex(0x7f00, FUTEX_WAIT_PRIVATE) on its other threads: thread 71 D in read(fd 5)"),
        "{}",
        e.chain[0]
    );
}

#[test]
fn stopped_zombie_and_uninterruptible() {
    let mut t = p(&[80], 1, "vim");
    t.state = "T (stopped)";
    t.syscall = "-1 0x0 0x0";
    let s = snap(vec![t]);
    assert_eq!(rules(&s, 80), ["stopped"]);

    let mut z = p(&[81], 82, "gone");
    z.state = "Z (zombie)";
    z.syscall = "-1 0x0 0x0";
    let s = snap(vec![z, p(&[82], 1, "lazy-parent")]);
    assert_eq!(rules(&s, 81), ["zombie-not-reaped"]);
    // A parent that is in wait4 will reap it: no hint.
    let mut z = p(&[81], 82, "gone");
    z.state = "Z (zombie)";
    let mut parent = p(&[82], 1, "good-parent");
    parent.syscall = WAIT4_ANY;
    let s = snap(vec![z, parent]);
    assert!(rules(&s, 81).is_empty());

    let mut d = p(&[90], 1, "cp");
    d.state = "D (disk sleep)";
    let s = snap(vec![d]);
    assert_eq!(rules(&s, 90), ["uninterruptible"]);
}

#[test]
fn unknown_pid_is_none_and_chains_are_bounded() {
    let s = snap(vec![p(&[1], 0, "init")]);
    assert!(explain(&s, 2, Signal::TERM).is_none());
    // A long wait chain stops at MAX_PROCESSES.
    let mut ps = Vec::new();
    for i in 100..300 {
        let mut x = p(&[i], i - 1, "sh");
        x.syscall = WAIT4_ANY;
        ps.push(x);
    }
    let s = snap(ps);
    let e = explain(&s, 100, Signal::TERM).unwrap();
    assert_eq!(e.processes.len(), pidone_diag::explain::MAX_PROCESSES);
}
