//! Capturing a container's output on a thread while watching for its `ready` line, and looking at
//! its processes from the host once it is ready.

use crate::procs::{self, Proc};
use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A pipe being read line by line into memory.
#[derive(Debug)]
pub struct Capture {
    text: Arc<Mutex<String>>,
    handle: JoinHandle<()>,
}

impl Capture {
    /// Read `pipe` on a thread; send on `ready` the first time a line starts with `ready`.
    pub fn start<R: Read + Send + 'static>(pipe: Option<R>, ready: Option<Sender<()>>) -> Self {
        let text = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&text);
        let handle = thread::spawn(move || {
            let Some(pipe) = pipe else { return };
            let mut ready = ready;
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("ready") {
                    if let Some(tx) = ready.take() {
                        let _ = tx.send(());
                    }
                }
                if let Ok(mut t) = sink.lock() {
                    t.push_str(&line);
                    t.push('\n');
                }
            }
        });
        Capture { text, handle }
    }

    /// What was read so far.
    pub fn text(&self) -> String {
        self.text.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Wait up to `timeout` for the end of the pipe (every writer gone), then return the text.
    pub fn finish(self, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        while !self.handle.is_finished() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        self.text()
    }
}

/// A channel for the `ready` line.
pub fn ready_channel() -> (Sender<()>, Receiver<()>) {
    mpsc::channel()
}

/// A container's PID namespace, held open: while this handle lives the namespace cannot be freed,
/// so its identity (`pid:[inode]`) cannot be reused by a namespace someone else creates after the
/// container is gone (on a shared machine that happens within seconds).
#[derive(Debug)]
pub struct PidNs {
    pub id: String,
    _pin: std::fs::File,
}

/// The container's processes once its init (host pid `init_pid`) is up: its PID namespace and a
/// snapshot taken after the init had up to 3 s to reap what is already dead.
pub fn settle(init_pid: u32) -> Result<(PidNs, Vec<Proc>), String> {
    let gone = || format!("the container's init (host pid {init_pid}) is gone");
    let pin = std::fs::File::open(format!("/proc/{init_pid}/ns/pid")).map_err(|_| gone())?;
    let id = procs::pid_ns(init_pid).ok_or_else(gone)?;
    let ns = PidNs { id, _pin: pin };
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let members = procs::members(&ns.id);
        if !members.iter().any(Proc::is_zombie) || Instant::now() >= deadline {
            return Ok((ns, members));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Processes of the container still alive after its stop: survivors of the snapshot (same pid and
/// start time), and anything else still in its PID namespace.
pub fn leftovers(ns: &PidNs, before: &[Proc]) -> Vec<String> {
    let mut left = procs::survivors(before);
    for p in procs::members(&ns.id) {
        if !left.iter().any(|l| l.pid == p.pid) {
            left.push(p);
        }
    }
    left.iter()
        .map(|p| format!("{} {} ({})", p.pid, procs::cmdline(p), p.state))
        .collect()
}
