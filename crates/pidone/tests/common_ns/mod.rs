//! Shared by the diag integration tests: run a fixture as PID 1 of a fresh PID namespace and
//! look at its processes from outside, by host pid.
//!
//! Safety: the only process ever signalled from here is the namespace's own PID 1 (found as
//! the single child of the `unshare` we spawned, and re-checked to have NSpid ending in 1) or
//! a process inside that namespace; killing that PID 1 makes the kernel kill the namespace.
#![allow(dead_code)]

use pidone_sys::process::kill_process;
use pidone_sys::{Pid, Signal};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// Every wait in these tests is bounded by this.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A fixture running as PID 1 of its own PID namespace.
pub struct Ns {
    unshare: Child,
    /// Host pid of the namespace's PID 1.
    pub init: i32,
    lines: Receiver<String>,
}

fn need(tool: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "this test needs `{tool}` on PATH (Debian packages: python3, util-linux; see .ci/apt/diag.txt)"
    );
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn nspid(host: i32) -> Option<Vec<i32>> {
    let s = std::fs::read_to_string(format!("/proc/{host}/status")).ok()?;
    let line = s.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    line.split_whitespace().map(|t| t.parse().ok()).collect()
}

fn pid_ns(host: i32) -> Option<String> {
    std::fs::read_link(format!("/proc/{host}/ns/pid"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

impl Ns {
    /// `unshare --pid --fork --mount-proc --kill-child -- python3 -u FIXTURE`.
    pub fn start(script: &str) -> Ns {
        let path = fixture(script);
        Ns::start_cmd(&["python3", "-u", path.to_str().unwrap()])
    }

    /// `unshare --pid --fork --mount-proc --kill-child -- CMD...`; stdout and stderr lines
    /// both arrive through [`Ns::line`].
    pub fn start_cmd(cmd: &[&str]) -> Ns {
        need("python3");
        need("unshare");
        let mut unshare = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
            .args(cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn unshare");
        let (tx, lines) = channel();
        let out = unshare.stdout.take().unwrap();
        let err = unshare.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if tx2.send(l).is_err() {
                    break;
                }
            }
        });
        let outer = unshare.id() as i32;
        let deadline = Instant::now() + TIMEOUT;
        let init = loop {
            let kids =
                std::fs::read_to_string(format!("/proc/{outer}/task/{outer}/children")).unwrap_or_default();
            if let Some(k) = kids.split_whitespace().next().and_then(|k| k.parse::<i32>().ok()) {
                if nspid(k).is_some_and(|n| n.len() >= 2 && n.last() == Some(&1)) {
                    break k;
                }
            }
            assert!(Instant::now() < deadline, "the namespace's PID 1 did not appear");
            std::thread::sleep(Duration::from_millis(10));
        };
        Ns { unshare, init, lines }
    }

    /// The next line the fixture printed, waiting at most `TIMEOUT`.
    pub fn line(&self) -> String {
        self.lines
            .recv_timeout(TIMEOUT)
            .expect("the fixture printed no line in time")
    }

    /// Wait for a line containing `needle`.
    pub fn wait_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let l = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no line with {needle:?} in time"));
            if l.contains(needle) {
                return l;
            }
        }
    }

    /// The host pid of the process with pid `ns_pid` in this namespace.
    pub fn host_pid(&self, ns_pid: i32) -> i32 {
        let ns = pid_ns(self.init).expect("namespace of the fixture's PID 1");
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(h) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if pid_ns(h).as_ref() == Some(&ns) && nspid(h).and_then(|n| n.last().copied()) == Some(ns_pid) {
                return h;
            }
        }
        panic!("no process with ns pid {ns_pid} in the fixture's namespace");
    }

    /// Signal a process of THIS namespace (host pid), after checking it is one.
    pub fn signal(&self, host: i32, sig: Signal) {
        assert_eq!(
            pid_ns(host),
            pid_ns(self.init),
            "pid {host} is not in the test's namespace"
        );
        kill_process(Pid::from_raw(host).unwrap(), sig).expect("kill");
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        // Kill the namespace's PID 1 (the kernel then kills the rest), only if it still is it.
        if nspid(self.init).is_some_and(|n| n.last() == Some(&1)) {
            let _ = kill_process(Pid::from_raw(self.init).unwrap(), Signal::KILL);
        }
        let _ = self.unshare.wait();
    }
}

/// Poll `f` until it returns Some, at most `TIMEOUT`.
pub fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run `pidone ARGS`, return (exit code, stdout, stderr).
pub fn pidone(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pidone"))
        .args(args)
        .output()
        .expect("run pidone");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `pidone ARGS --json`, parsed; panics with the output when it fails.
pub fn pidone_json(args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.push("--json");
    let (code, out, err) = pidone(&a);
    assert_eq!(code, 0, "pidone {a:?} failed: {err}\n{out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("pidone {a:?}: bad JSON ({e}):\n{out}"))
}
