//! Test harness: run pidone (or a fixture) as PID 1 of a fresh PID namespace and watch it from
//! outside, by host pid. Shared by the init, compat and diag integration tests.
//!
//! `unshare --pid --fork --mount-proc --kill-child` creates the namespace; its forked child is
//! PID 1 inside. We only ever signal that inner PID 1 by its host pid (after checking its
//! NSpid line says 1 in a nested namespace), or processes checked to be inside the namespace:
//! nothing outside it is touched. If a test fails or times out, `Drop` SIGKILLs the inner
//! PID 1, which makes the kernel kill every process in the namespace.
#![allow(dead_code)] // each test binary uses a different part of the harness

use pidone_sys::process::kill_process;
use pidone_sys::{Pid, Signal};
use std::ffi::OsStr;
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

/// A script under tests/fixtures/.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
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
    /// stdout and stderr lines interleaved in the order they arrived.
    all: Vec<String>,
    /// How far [`Ns::line`] and [`Ns::wait_line`] have consumed `all`.
    next: usize,
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

/// The NSpid line of a host pid: its pid in each namespace, outermost first.
fn nspid(host: Pid) -> Option<Vec<i32>> {
    let s = std::fs::read_to_string(format!("/proc/{host}/status")).ok()?;
    let line = s.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    line.split_whitespace().map(|t| t.parse().ok()).collect()
}

/// Is `host` PID 1 of a namespace nested below ours (never our own PID 1)?
fn is_nested_pid1(host: Pid) -> bool {
    nspid(host).is_some_and(|n| n.len() >= 2 && n.last() == Some(&1))
}

/// The PID namespace of a host pid (`None` once it is gone).
fn pid_ns(host: Pid) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{host}/ns/pid")).ok()
}

/// Host pids in /proc, in directory order.
fn proc_pids() -> Vec<Pid> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<Pid>().ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// A Debian package the tests need, missing: say exactly what (never skip).
fn missing(what: &str) -> ! {
    panic!("this test needs {what} (Debian packages: python3, util-linux; see .ci/apt/)")
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

    /// `python3 -u tests/fixtures/SCRIPT` as PID 1 of a new namespace.
    pub fn fixture(script: &str) -> Ns {
        let path = fixture(script).display().to_string();
        Ns::start(&[PYTHON, "-u", &path], &[])
    }

    /// Any argv as PID 1 of a new namespace.
    pub fn start<S: AsRef<OsStr>>(argv: &[S], env: &[(&str, &str)]) -> Ns {
        if argv.iter().any(|a| a.as_ref() == PYTHON) && !Path::new(PYTHON).exists() {
            missing(PYTHON);
        }
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
        let mut unshare = cmd
            .spawn()
            .unwrap_or_else(|e| missing(&format!("unshare(1) on PATH ({e})")));
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
                        l.err.push(line.clone())
                    } else {
                        l.out.push(line.clone())
                    }
                    l.all.push(line);
                    cv.notify_all();
                }
                let (m, cv) = &*lines;
                m.lock().unwrap().closed += 1;
                cv.notify_all();
            });
        }
        // The inner PID 1 is the only child of the unshare process.
        let outer = unshare.id();
        let deadline = Instant::now() + T;
        let init = loop {
            let children =
                std::fs::read_to_string(format!("/proc/{outer}/task/{outer}/children")).unwrap_or_default();
            if let Some(pid) = children
                .split_whitespace()
                .next()
                .and_then(|s| s.parse::<Pid>().ok())
            {
                if is_nested_pid1(pid) {
                    break Some(pid);
                }
            }
            // A command that fails at once (exit 127) can be gone before we look.
            if matches!(unshare.try_wait(), Ok(Some(_))) {
                break None;
            }
            if Instant::now() > deadline {
                let _ = unshare.kill();
                panic!("unshare did not start a PID namespace within {T:?}");
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
        self.wait_for(&format!("a stdout line containing {needle:?}"), timeout, |l| {
            l.out.iter().find(|s| s.contains(needle)).cloned()
        })
    }

    /// Wait for a stderr line containing `needle`.
    pub fn wait_stderr(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for(&format!("a stderr line containing {needle:?}"), timeout, |l| {
            l.err.iter().find(|s| s.contains(needle)).cloned()
        })
    }

    /// The next line (stdout or stderr, in arrival order) not yet consumed by `line` or
    /// `wait_line`, waiting at most [`T`].
    pub fn line(&self) -> String {
        self.wait_for("one more line", T, |l| {
            let line = l.all.get(l.next).cloned()?;
            l.next += 1;
            Some(line)
        })
    }

    /// Consume lines (stdout or stderr, in arrival order) up to and including the first one
    /// containing `needle`; returns it. Waits at most [`T`].
    pub fn wait_line(&self, needle: &str) -> String {
        self.wait_for(&format!("a line containing {needle:?}"), T, |l| {
            let i = l.next + l.all[l.next..].iter().position(|s| s.contains(needle))?;
            l.next = i + 1;
            Some(l.all[i].clone())
        })
    }

    /// Wait until `found` returns Some for the output seen so far. Panics (with all output)
    /// after `timeout`, or once both pipes closed without it.
    fn wait_for<R>(
        &self,
        what: &str,
        timeout: Duration,
        mut found: impl FnMut(&mut Lines) -> Option<R>,
    ) -> R {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.lines;
        let mut l = m.lock().unwrap();
        loop {
            if let Some(r) = found(&mut l) {
                return r;
            }
            let now = Instant::now();
            if now >= deadline || l.closed == 2 {
                panic!(
                    "no {what} within {timeout:?}\nstdout:\n{}\nstderr:\n{}",
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
            is_nested_pid1(init),
            "pid {init} is no longer the namespace's PID 1"
        );
        kill_process(init, sig).expect("signal the namespace's PID 1");
    }

    /// Send `sig` to a process of THIS namespace (host pid), after checking it is one.
    pub fn signal(&self, host: Pid, sig: Signal) {
        let ns = pid_ns(self.init());
        assert!(
            ns.is_some() && pid_ns(host) == ns,
            "pid {host} is not in the test's namespace"
        );
        kill_process(host, sig).expect("signal a process in the test's namespace");
    }

    /// The host pid of a process in this namespace, given its pid inside (via NSpid).
    pub fn host_pid(&self, ns_pid: i32) -> Option<Pid> {
        let ns = pid_ns(self.init?)?;
        for pid in proc_pids() {
            if pid_ns(pid).as_ref() != Some(&ns) {
                continue;
            }
            // A process that exits while we scan has no status: skip it, do not give up.
            let Some(n) = nspid(pid) else {
                continue;
            };
            if n.last() == Some(&ns_pid) {
                return Some(pid);
            }
        }
        None
    }

    /// [`Ns::host_pid`] as a raw number, for a process the test knows is there.
    pub fn host(&self, ns_pid: i32) -> i32 {
        self.host_pid(ns_pid)
            .unwrap_or_else(|| panic!("no process with ns pid {ns_pid} in the test's namespace"))
            .as_raw()
    }

    /// Host pids of every process still in this namespace.
    pub fn members(&self) -> Vec<Pid> {
        let Some(ns) = self.init.and_then(pid_ns) else {
            return vec![];
        };
        proc_pids()
            .into_iter()
            .filter(|p| pid_ns(*p).as_ref() == Some(&ns))
            .collect()
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
        if let Some(init) = self.init.filter(|p| is_nested_pid1(*p)) {
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

/// Every wait in these tests is bounded by this (unless a test passes its own timeout).
pub const T: Duration = Duration::from_secs(20);

/// Poll `f` until it returns Some, at most [`T`].
pub fn eventually<R>(what: &str, mut f: impl FnMut() -> Option<R>) -> R {
    let deadline = Instant::now() + T;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run `pidone ARGS` (not in a namespace), return (exit code, stdout, stderr).
pub fn pidone(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(pidone_bin())
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
