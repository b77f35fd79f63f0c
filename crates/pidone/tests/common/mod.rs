//! Test harness: run pidone as PID 1 of a fresh PID namespace and watch it from outside.
//!
//! `unshare --pid --fork --mount-proc --kill-child` creates the namespace; its forked child is
//! PID 1 inside. We only ever signal that inner PID 1 by its host pid (after checking its
//! NSpid line says 1), or processes inside the namespace: nothing outside it is touched. If a
//! test fails or times out, `Drop` SIGKILLs the inner PID 1, which makes the kernel kill every
//! process in the namespace.
#![allow(dead_code)] // each test binary uses a different part of the harness

use pidone_sys::process::kill_process;
use pidone_sys::{Pid, Signal};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub fn pidone_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pidone"))
}

pub fn testprog() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs/testprog.py")
        .display()
        .to_string()
}

pub fn bad_parent() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/bad-parent/parent.py")
        .display()
        .to_string()
}

/// Debian's interpreter, not a version-manager shim (a shim is a shell script that leaks its own
/// fds and costs a fork or two).
pub const PYTHON: &str = "/usr/bin/python3";

/// `python3 testprog.py MODE ARGS...` as argv.
pub fn prog(mode: &str, args: &[&str]) -> Vec<String> {
    let mut v = vec![PYTHON.to_string(), testprog(), mode.to_string()];
    v.extend(args.iter().map(|s| s.to_string()));
    v
}

#[derive(Default)]
struct Lines {
    out: Vec<String>,
    err: Vec<String>,
    closed: usize,
}

/// A running PID namespace whose PID 1 is what the test started.
pub struct Ns {
    unshare: Child,
    /// Host pid of the namespace's PID 1 (`None` if it exited before we could see it).
    init: Option<Pid>,
    started: Instant,
    lines: Arc<(Mutex<Lines>, Condvar)>,
    exited: bool,
}

/// How the namespace's PID 1 ended.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    /// From `start` to exit.
    pub elapsed: Duration,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

impl Outcome {
    pub fn stderr_text(&self) -> String {
        self.stderr.join("\n")
    }
    pub fn stdout_text(&self) -> String {
        self.stdout.join("\n")
    }
}

fn host_nspid_is_1(pid: Pid) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("NSpid:") && l.split_whitespace().last() == Some("1"))
        })
        .unwrap_or(false)
}

impl Ns {
    /// `pidone ARGS -- CMD` as PID 1 of a new namespace.
    pub fn pidone(args: &[&str], cmd: &[String], env: &[(&str, &str)]) -> Ns {
        let mut argv: Vec<String> = vec![pidone_bin().display().to_string()];
        argv.extend(args.iter().map(|s| s.to_string()));
        argv.push("--".into());
        argv.extend(cmd.iter().cloned());
        Ns::start(&argv, env)
    }

    /// Any argv as PID 1 of a new namespace.
    pub fn start(argv: &[String], env: &[(&str, &str)]) -> Ns {
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
            .args(argv);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Tests set what they need; inherited PIDONE_* settings must not change their meaning.
        for (k, _) in std::env::vars() {
            if k.starts_with("PIDONE_") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let mut unshare = cmd.spawn().expect("run unshare(1) (util-linux)");
        let lines = Arc::new((Mutex::new(Lines::default()), Condvar::new()));
        for is_err in [false, true] {
            let lines = lines.clone();
            let stream: Box<dyn std::io::Read + Send> = if is_err {
                Box::new(unshare.stderr.take().unwrap())
            } else {
                Box::new(unshare.stdout.take().unwrap())
            };
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    let (m, cv) = &*lines;
                    let mut l = m.lock().unwrap();
                    if is_err {
                        l.err.push(line)
                    } else {
                        l.out.push(line)
                    }
                    cv.notify_all();
                }
                let (m, cv) = &*lines;
                m.lock().unwrap().closed += 1;
                cv.notify_all();
            });
        }
        // The inner PID 1 is the only child of the unshare process.
        let outer = unshare.id();
        let deadline = Instant::now() + Duration::from_secs(20);
        let init = loop {
            let children =
                std::fs::read_to_string(format!("/proc/{outer}/task/{outer}/children")).unwrap_or_default();
            if let Some(pid) = children
                .split_whitespace()
                .next()
                .and_then(|s| s.parse::<Pid>().ok())
            {
                if host_nspid_is_1(pid) {
                    break Some(pid);
                }
            }
            // A command that fails at once (exit 127) can be gone before we look.
            if matches!(unshare.try_wait(), Ok(Some(_))) {
                break None;
            }
            if Instant::now() > deadline {
                let _ = unshare.kill();
                panic!("unshare did not start a PID namespace within 20 s");
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        Ns {
            unshare,
            init,
            started,
            lines,
            exited: false,
        }
    }

    /// Wait for a stdout line containing `needle`; returns it. Panics (with all output) after `timeout`.
    pub fn wait_stdout(&self, needle: &str, timeout: Duration) -> String {
        self.wait_line(false, needle, timeout)
    }

    /// Wait for a stderr line containing `needle`.
    pub fn wait_stderr(&self, needle: &str, timeout: Duration) -> String {
        self.wait_line(true, needle, timeout)
    }

    fn wait_line(&self, err: bool, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.lines;
        let mut l = m.lock().unwrap();
        loop {
            let v = if err { &l.err } else { &l.out };
            if let Some(found) = v.iter().find(|s| s.contains(needle)) {
                return found.clone();
            }
            let now = Instant::now();
            if now >= deadline || l.closed == 2 {
                panic!(
                    "no {} line containing {needle:?} within {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                    if err { "stderr" } else { "stdout" },
                    l.out.join("\n"),
                    l.err.join("\n")
                );
            }
            l = cv.wait_timeout(l, deadline - now).unwrap().0;
        }
    }

    /// Host pid of the namespace's PID 1.
    pub fn init(&self) -> Pid {
        self.init
            .expect("the namespace's PID 1 exited before it could be seen")
    }

    /// Send `sig` to the namespace's PID 1 (checked to still be PID 1 of its namespace).
    pub fn signal_init(&self, sig: Signal) {
        let init = self.init();
        assert!(
            host_nspid_is_1(init),
            "pid {init} is no longer the namespace's PID 1"
        );
        kill_process(init, sig).expect("signal the namespace's PID 1");
    }

    /// The host pid of a process in this namespace, given its pid inside (via NSpid).
    pub fn host_pid(&self, ns_pid: i32) -> Option<Pid> {
        let ns_inode = std::fs::read_link(format!("/proc/{}/ns/pid", self.init?)).ok()?;
        for e in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<Pid>().ok()) else {
                continue;
            };
            if std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok().as_ref() != Some(&ns_inode) {
                continue;
            }
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let nspid = status.lines().find(|l| l.starts_with("NSpid:"))?;
            if nspid.split_whitespace().last() == Some(&ns_pid.to_string()) {
                return Some(pid);
            }
        }
        None
    }

    /// Host pids of every process still in this namespace.
    pub fn members(&self) -> Vec<Pid> {
        let Some(init) = self.init else { return vec![] };
        let Ok(ns_inode) = std::fs::read_link(format!("/proc/{init}/ns/pid")) else {
            return vec![];
        };
        std::fs::read_dir("/proc")
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<Pid>().ok()))
                    .filter(|p| {
                        std::fs::read_link(format!("/proc/{p}/ns/pid")).ok().as_ref() == Some(&ns_inode)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Wait for the namespace's PID 1 to exit; panics (after killing the namespace) on timeout.
    pub fn wait_exit(mut self, timeout: Duration) -> Outcome {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(st) = self.unshare.try_wait().expect("wait for unshare") {
                break st;
            }
            if Instant::now() > deadline {
                self.kill_namespace();
                let (m, _) = &*self.lines;
                let l = m.lock().unwrap();
                panic!(
                    "PID 1 did not exit within {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                    l.out.join("\n"),
                    l.err.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let elapsed = self.started.elapsed();
        self.exited = true;
        // Let the reader threads drain what is left in the pipes.
        let (m, cv) = &*self.lines;
        let mut l = m.lock().unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        while l.closed < 2 && Instant::now() < until {
            l = cv.wait_timeout(l, Duration::from_millis(50)).unwrap().0;
        }
        use std::os::unix::process::ExitStatusExt;
        let code = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        Outcome {
            code,
            elapsed,
            stdout: l.out.clone(),
            stderr: l.err.clone(),
        }
    }

    fn kill_namespace(&mut self) {
        if let Some(init) = self.init.filter(|p| host_nspid_is_1(*p)) {
            // Best effort in cleanup: ESRCH means it is already gone, which is what we want.
            let _ = kill_process(init, Signal::KILL);
        }
        let _ = self.unshare.wait();
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        if !self.exited {
            self.kill_namespace();
        }
    }
}

/// Parse `key=value` out of a readiness line.
pub fn field(line: &str, key: &str) -> i32 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

pub const T: Duration = Duration::from_secs(20);
