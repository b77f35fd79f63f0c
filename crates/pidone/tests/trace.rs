//! `pidone trace` against real processes, as root (CI runs as root): the tracer is started,
//! waits until it prints its readiness line, then a workload in a fresh PID namespace makes
//! known events (signals between its own processes, getppid calls, fork/exec/exit with known
//! statuses), and the test asserts the tracer reported exactly those.
//!
//! Only processes this test started are signalled, by pid: the tracer (SIGINT/SIGTERM, the
//! way a user ends it) and, on failure, the unshare(1) process whose `--kill-child` takes the
//! namespace down with it. The workloads signal only their own children inside their namespace.
//! Every wait is bounded.

use pidone_sys::process::kill_process;
use pidone_sys::{Pid, Signal};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const READY: &str = "pidone: trace: attached";
const WAIT: Duration = Duration::from_secs(30);

fn pidone() -> &'static str {
    env!("CARGO_BIN_EXE_pidone")
}

/// Fail loudly when something the tests need is missing (never skip).
fn require_root_and_bpftool() {
    assert!(
        nix_like_geteuid_is_root(),
        "the trace tests need root (CAP_BPF+CAP_PERFMON); CI runs them as root"
    );
    let ok = Command::new("bpftool")
        .arg("version")
        .output()
        .map(|o| o.status.success());
    assert!(
        matches!(ok, Ok(true)),
        "bpftool is missing: apt-get install bpftool (listed in .ci/apt/trace.txt)"
    );
}

fn nix_like_geteuid_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// A child process whose stdout and stderr lines arrive on channels.
struct Proc {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
    stdin: Option<ChildStdin>,
    seen_out: Vec<String>,
    seen_err: Vec<String>,
}

impl Proc {
    fn spawn(argv: &[&str]) -> Proc {
        let mut child = Command::new(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {argv:?}: {e}"));
        let lines = |r: Box<dyn std::io::Read + Send>| {
            let (tx, rx) = channel();
            std::thread::spawn(move || {
                for l in BufReader::new(r).lines() {
                    let Ok(l) = l else { break };
                    if tx.send(l).is_err() {
                        break;
                    }
                }
            });
            rx
        };
        let out = lines(Box::new(child.stdout.take().unwrap()));
        let err = lines(Box::new(child.stderr.take().unwrap()));
        let stdin = child.stdin.take();
        Proc {
            child,
            out,
            err,
            stdin,
            seen_out: Vec::new(),
            seen_err: Vec::new(),
        }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32).unwrap()
    }

    /// Wait for a stderr line starting with `prefix`.
    fn wait_stderr(&mut self, prefix: &str) -> String {
        self.wait_line(true, prefix)
    }

    /// Wait for a stdout line starting with `prefix`.
    fn wait_stdout(&mut self, prefix: &str) -> String {
        self.wait_line(false, prefix)
    }

    fn wait_line(&mut self, stderr: bool, prefix: &str) -> String {
        let deadline = Instant::now() + WAIT;
        let (rx, seen) = if stderr {
            (&self.err, &mut self.seen_err)
        } else {
            (&self.out, &mut self.seen_out)
        };
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(l) => {
                    seen.push(l.clone());
                    if l.starts_with(prefix) {
                        return l;
                    }
                }
                Err(_) => break,
            }
        }
        let which = if stderr { "stderr" } else { "stdout" };
        panic!("no {which} line {prefix:?} within {WAIT:?}; {which} so far: {seen:#?}");
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}")
            .and_then(|_| stdin.flush())
            .expect("write to workload");
    }

    fn signal(&self, sig: Signal) {
        kill_process(self.pid(), sig).expect("signal the tracer");
    }

    /// Wait (bounded) for the exit; return the status code and all output.
    fn finish(mut self) -> (i32, Vec<String>, Vec<String>) {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {WAIT:?}; stderr: {:#?}",
                self.child.id(),
                self.seen_err
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        // The pipes close at exit: drain what is left.
        while let Ok(l) = self.out.recv_timeout(Duration::from_secs(5)) {
            self.seen_out.push(l);
        }
        while let Ok(l) = self.err.recv_timeout(Duration::from_secs(5)) {
            self.seen_err.push(l);
        }
        let code = status.code().unwrap_or(-1);
        (
            code,
            std::mem::take(&mut self.seen_out),
            std::mem::take(&mut self.seen_err),
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Only on failure paths: a process we started, by its pid.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A workload as PID 1 of a fresh PID namespace; `--kill-child` ends the namespace with unshare.
fn workload(argv: &[&str]) -> (Proc, Pid) {
    let mut full = vec!["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "--"];
    full.extend_from_slice(argv);
    let p = Proc::spawn(&full);
    let outer = p.child.id();
    let deadline = Instant::now() + WAIT;
    let inner = loop {
        let children =
            std::fs::read_to_string(format!("/proc/{outer}/task/{outer}/children")).unwrap_or_default();
        if let Some(pid) = children
            .split_whitespace()
            .next()
            .and_then(|s| s.parse::<i32>().ok())
        {
            break Pid::from_raw(pid).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "unshare started no namespace within {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    (p, inner)
}

/// BPF program ids held open by process `pid` (from /proc/PID/fdinfo).
fn prog_ids(pid: Pid) -> Vec<u32> {
    let mut ids = Vec::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/fdinfo"))
        .expect("read fdinfo")
        .flatten()
    {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        if text.contains("prog_type:") {
            ids.extend(
                text.lines()
                    .filter_map(|l| l.strip_prefix("prog_id:"))
                    .filter_map(|v| v.trim().parse::<u32>().ok()),
            );
        }
    }
    ids
}

/// Wait until none of `ids` is loaded any more (the kernel frees programs after an RCU grace
/// period, so "gone" may take a moment after the tracer exits).
fn assert_unloaded(ids: &[u32]) {
    assert!(!ids.is_empty(), "the tracer held no BPF program while attached");
    let deadline = Instant::now() + WAIT;
    for id in ids {
        loop {
            let out = Command::new("bpftool")
                .args(["prog", "show", "id", &id.to_string()])
                .output()
                .unwrap();
            if !out.status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "BPF program {id} still loaded after the tracer exited: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn json_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

fn ns_pid(v: &Value) -> Option<u64> {
    v["ns_pid"].as_u64()
}

/// The namespace's PID 1 (sh) forks `a` and kills it with SIGUSR1, forks `b` and kills it
/// with SIGTERM, runs `sh -c 'exit 7'` and `/bin/true`. Two tracers watch the namespace:
/// `signals --ns` (ended by SIGINT) and `procs --ns` (ended by SIGTERM).
#[test]
fn signals_and_procs_report_exactly_the_known_events() {
    require_root_and_bpftool();
    let script = "read go; \
        sleep 30 & a=$!; kill -USR1 $a; wait $a; \
        sleep 30 & b=$!; kill -TERM $b; wait $b; \
        sh -c 'exit 7'; /bin/true; echo \"a=$a b=$b\"; read end";
    let (mut ns, inner) = workload(&["/bin/sh", "-c", script]);
    let inner_s = inner.to_string();
    let mut sig = Proc::spawn(&[pidone(), "trace", "signals", "--ns", &inner_s, "--json"]);
    let mut procs = Proc::spawn(&[pidone(), "trace", "procs", "--ns", &inner_s, "--json"]);
    sig.wait_stderr(READY);
    procs.wait_stderr(READY);
    let (sig_progs, procs_progs) = (prog_ids(sig.pid()), prog_ids(procs.pid()));
    assert_eq!(sig_progs.len(), 1, "signals attaches one program: {sig_progs:?}");
    assert_eq!(
        procs_progs.len(),
        3,
        "procs attaches fork, exec, exit: {procs_progs:?}"
    );

    ns.send("go");
    let pids = ns.wait_stdout("a=");
    let field = |k: &str| -> u64 {
        pids.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {k} in {pids:?}"))
    };
    let (a, b) = (field("a="), field("b="));
    // Everything happened (the line comes after it); the namespace is still alive, its PID 1
    // waits on `read end`. The tracers drain their ring buffers once more after a stop signal,
    // so everything written before it is printed: no sleep is needed.
    sig.signal(Signal::INT);
    procs.signal(Signal::TERM);
    let (sig_code, sig_out, sig_err) = sig.finish();
    let (procs_code, procs_out, procs_err) = procs.finish();
    ns.send("end");
    let (ns_code, _, _) = ns.finish();
    assert_eq!(ns_code, 0);
    assert_eq!(sig_code, 0, "signals tracer exit; stderr {sig_err:#?}");
    assert_eq!(procs_code, 0, "procs tracer exit; stderr {procs_err:#?}");

    // Signals: exactly one SIGUSR1 1 -> a, one SIGTERM 1 -> b, and one SIGCHLD to 1 per child.
    let events = json_lines(&sig_out);
    let signals: Vec<&Value> = events.iter().filter(|v| v["type"] == "signal").collect();
    let count = |name: &str, from: u64, to: u64| {
        signals
            .iter()
            .filter(|v| {
                v["signal"] == name && ns_pid(&v["sender"]) == Some(from) && ns_pid(&v["target"]) == Some(to)
            })
            .count()
    };
    assert_eq!(count("SIGUSR1", 1, a), 1, "SIGUSR1 1 -> {a}: {signals:#?}");
    assert_eq!(count("SIGTERM", 1, b), 1, "SIGTERM 1 -> {b}: {signals:#?}");
    let of = |name: &str| signals.iter().filter(|v| v["signal"] == name).count();
    assert_eq!(
        (of("SIGUSR1"), of("SIGTERM")),
        (1, 1),
        "no other USR1/TERM in the namespace: {signals:#?}"
    );
    let chld_to_init = signals
        .iter()
        .filter(|v| v["signal"] == "SIGCHLD" && ns_pid(&v["target"]) == Some(1))
        .count();
    assert_eq!(
        chld_to_init, 4,
        "a, b, sh -c 'exit 7', /bin/true each SIGCHLD PID 1: {signals:#?}"
    );
    let usr1 = signals.iter().find(|v| v["signal"] == "SIGUSR1").unwrap();
    assert_eq!(usr1["result"], "delivered");
    assert_eq!(usr1["sender"]["comm"], "sh");
    let summary = events.last().unwrap();
    assert_eq!(
        summary["type"], "summary",
        "the summary ends the output: {events:#?}"
    );
    assert_eq!(summary["signals"].as_u64(), Some(signals.len() as u64));
    assert_eq!(summary["lost"].as_u64(), Some(0));
    assert_eq!(summary["ended"], "stopped by SIGINT");

    // Procs: the exits of a and b with their killing signals, one exit code 7, one /bin/true.
    let events = json_lines(&procs_out);
    let exits: Vec<&Value> = events.iter().filter(|v| v["type"] == "exit").collect();
    let exit_of = |pid: u64| -> Vec<&&Value> { exits.iter().filter(|v| ns_pid(v) == Some(pid)).collect() };
    let (ea, eb) = (exit_of(a), exit_of(b));
    assert_eq!(ea.len(), 1, "one exit of {a}: {exits:#?}");
    assert_eq!(
        ea[0]["signal"], "SIGUSR1",
        "{a} was killed by SIGUSR1: {:#?}",
        ea[0]
    );
    assert_eq!(eb.len(), 1, "one exit of {b}: {exits:#?}");
    assert_eq!(
        eb[0]["signal"], "SIGTERM",
        "{b} was killed by SIGTERM: {:#?}",
        eb[0]
    );
    let code7: Vec<&&Value> = exits.iter().filter(|v| v["exit_code"] == 7).collect();
    assert_eq!(code7.len(), 1, "exactly one exit with code 7: {exits:#?}");
    assert_eq!(code7[0]["comm"], "sh");
    assert_eq!(code7[0]["ns_ppid"].as_u64(), Some(1));
    let execs: Vec<&Value> = events
        .iter()
        .filter(|v| v["type"] == "exec" && v["filename"].as_str().is_some_and(|f| f.ends_with("/true")))
        .collect();
    assert_eq!(execs.len(), 1, "one exec of true: {events:#?}");
    let true_pid = ns_pid(execs[0]).unwrap();
    assert_eq!(
        exit_of(true_pid)[0]["exit_code"],
        0,
        "/bin/true exits 0: {exits:#?}"
    );
    let forks_of_init = events
        .iter()
        .filter(|v| v["type"] == "fork" && v["ns_ppid"].as_u64() == Some(1))
        .count();
    assert_eq!(forks_of_init, 4, "PID 1 forked a, b, sh, true: {events:#?}");
    let summary = events.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["exits"].as_u64(), Some(exits.len() as u64));
    assert_eq!(summary["ended"], "stopped by SIGTERM");

    assert_unloaded(&sig_progs);
    assert_unloaded(&procs_progs);
}

/// PID 1 of a namespace (python) forks 3 children that call getppid 400 times each, after
/// making 1000 calls itself. `-f` counts all of them; without `-f` only the parent's.
#[test]
fn syscalls_counts_in_kernel_and_follows_children() {
    require_root_and_bpftool();
    let code = "import os, sys\n\
        sys.stdin.readline()\n\
        for _ in range(1000): os.getppid()\n\
        kids = []\n\
        for _ in range(3):\n\
        \x20   pid = os.fork()\n\
        \x20   if pid == 0:\n\
        \x20       for _ in range(400): os.getppid()\n\
        \x20       os._exit(0)\n\
        \x20   kids.append(pid)\n\
        for k in kids: os.waitpid(k, 0)\n";
    let (mut ns, inner) = workload(&["/usr/bin/python3", "-c", code]);
    // python is PID 1 of the namespace and the tracers' target (host pid).
    let target = inner.to_string();
    let mut follow = Proc::spawn(&[pidone(), "trace", "syscalls", "-p", &target, "-f", "--json"]);
    let mut alone = Proc::spawn(&[pidone(), "trace", "syscalls", "-p", &target, "--json", "-d", "60"]);
    follow.wait_stderr(READY);
    alone.wait_stderr(READY);
    let (fp, ap) = (prog_ids(follow.pid()), prog_ids(alone.pid()));
    assert_eq!(
        (fp.len(), ap.len()),
        (3, 1),
        "-f adds fork and exit programs: {fp:?} {ap:?}"
    );
    ns.send("go");
    let (ns_code, _, ns_err) = ns.finish();
    assert_eq!(ns_code, 0, "workload failed: {ns_err:#?}");
    // Both tracers end by themselves once the traced processes are gone.
    let (fcode, fout, ferr) = follow.finish();
    let (acode, aout, aerr) = alone.finish();
    assert_eq!(fcode, 0, "stderr {ferr:#?}");
    assert_eq!(acode, 0, "stderr {aerr:#?}");

    let calls = |lines: &[String], name: &str| -> u64 {
        json_lines(lines)
            .iter()
            .filter(|v| v["type"] == "syscall" && v["name"] == name)
            .map(|v| v["count"].as_u64().unwrap())
            .sum()
    };
    let (with_f, without_f) = (calls(&fout, "getppid"), calls(&aout, "getppid"));
    assert!(with_f >= 1000 + 3 * 400, "with -f: {with_f} getppid; {fout:#?}");
    assert!(
        (1000..1000 + 400).contains(&without_f),
        "without -f only the parent's 1000: {without_f}; {aout:#?}"
    );
    assert!(
        calls(&fout, "clone") + calls(&fout, "clone3") + calls(&fout, "fork") >= 3,
        "{fout:#?}"
    );
    let summary: Value = serde_json::from_str(fout.last().unwrap()).unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["ended"], format!("process {target} exited"), "{summary}");
    assert!(summary["calls"].as_u64().unwrap() >= with_f);
    assert_unloaded(&fp);
    assert_unloaded(&ap);
}

/// `-d` ends a tracer by itself, with its summary, and status 0; the text summary is on stderr.
#[test]
fn duration_ends_the_tracer_with_a_summary() {
    require_root_and_bpftool();
    let started = Instant::now();
    let mut p = Proc::spawn(&[pidone(), "trace", "signals", "--count", "-d", "0.5", "--pid", "1"]);
    p.wait_stderr(READY);
    let progs = prog_ids(p.pid());
    let (code, _out, err) = p.finish();
    assert_eq!(code, 0, "{err:#?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        err.iter()
            .any(|l| l.starts_with("pidone: trace: ") && l.contains("duration reached")),
        "{err:#?}"
    );
    assert_unloaded(&progs);
}

/// Without CAP_BPF/CAP_PERFMON (root with them removed from the bounding set, so exec
/// cannot regain them): one line naming the capabilities, exit status 3.
#[test]
fn without_privileges_one_line_names_the_capabilities() {
    require_root_and_bpftool();
    let out = Command::new("setpriv")
        .args(["--bounding-set=-bpf,-perfmon,-sys_admin", "--inh-caps=-all", "--"])
        .args([pidone(), "trace", "procs", "-d", "1"])
        .output()
        .expect("setpriv (util-linux)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("CAP_BPF") && err.contains("CAP_PERFMON"), "{err}");
    assert!(!err.contains(READY), "{err}");
}

/// A pid that does not exist is an error (status 1) that names it.
#[test]
fn syscalls_of_a_missing_process_fails() {
    require_root_and_bpftool();
    let out = Command::new(pidone())
        .args(["trace", "syscalls", "-p", "2147483647"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no process 2147483647"));
}

/// `--ns` keeps following the namespace it was given, not whichever namespace the kernel
/// creates next with the same inode number once the first one is gone (the kernel hands out
/// the lowest free number, so the next `unshare --pid` usually gets it).
#[test]
fn ns_filter_does_not_follow_a_reused_namespace_number() {
    require_root_and_bpftool();
    let (mut first, inner) = workload(&["/bin/sh", "-c", "read go; exit 0"]);
    let mut procs = Proc::spawn(&[pidone(), "trace", "procs", "--ns", &inner.to_string(), "--json"]);
    procs.wait_stderr(READY);
    first.send("go");
    let (code, _, _) = first.finish();
    assert_eq!(code, 0);
    // The first namespace is empty now (freed a moment later); new ones run `sh -c 'exit 9'`.
    std::thread::sleep(Duration::from_millis(100));
    for _ in 0..5 {
        let (mut next, _) = workload(&["/bin/sh", "-c", "read go; /bin/sh -c 'exit 9'; exit 0"]);
        next.send("go");
        let (code, _, _) = next.finish();
        assert_eq!(code, 0);
    }
    procs.signal(Signal::INT);
    let (code, out, err) = procs.finish();
    assert_eq!(code, 0, "{err:#?}");
    let events = json_lines(&out);
    assert!(
        !events.iter().any(|v| v["exit_code"] == 9),
        "an event of the second namespace passed the first one's filter: {events:#?}"
    );
    let first_init_exit = events
        .iter()
        .filter(|v| v["type"] == "exit" && ns_pid(v) == Some(1))
        .count();
    assert_eq!(
        first_init_exit, 1,
        "the first namespace's PID 1 exit was seen: {events:#?}"
    );
}

/// CAP_BPF and CAP_PERFMON are enough: root without CAP_SYS_ADMIN (dropped from the
/// bounding set) attaches, sees events and detaches.
#[test]
fn cap_bpf_and_cap_perfmon_are_enough() {
    require_root_and_bpftool();
    let out = Command::new("setpriv")
        .args(["--bounding-set=-sys_admin", "--inh-caps=-all", "--"])
        .args([pidone(), "trace", "procs", "-d", "0.5", "--pid", "1"])
        .output()
        .expect("setpriv (util-linux)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {err}");
    assert!(err.contains(READY), "{err}");
    // syscalls cannot hide the BTF without CAP_SYS_ADMIN: it must fall back to parsing it.
    let me = std::process::id().to_string();
    let out = Command::new("setpriv")
        .args(["--bounding-set=-sys_admin", "--inh-caps=-all", "--"])
        .args([pidone(), "trace", "syscalls", "-p", &me, "-d", "0.3"])
        .output()
        .expect("setpriv (util-linux)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {err}");
    assert!(err.contains(READY), "{err}");
}
