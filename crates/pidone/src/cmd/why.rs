//! `pidone why PID`: why a process is still alive — what it waits for, on whom, what they do
//! with the stop signal, and the well-known cause when one matches.

use pidone_proc::snapshot::ReadOptions;
use pidone_proc::{Process, Snapshot};
use pidone_sys::Signal;
use std::fmt::Write as _;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Follows the wait-for chain: a process in wait4/waitid -> the children it waits on (the pid
argument is mapped through the children's NSpid, since it is in the caller's namespace);
a read on a pipe -> the processes holding its write end; a futex -> its other threads.
Then names well-known causes (Python multiprocessing joining children at exit, a shell
script without exec, SIGTERM ignored or blocked, a stopped process, ...).
Reading other users' syscall and fd files needs root (ptrace access).

Exit status:
  0  explained
  1  no such process, or an error reading /proc
  2  invalid command line";

/// Arguments of `pidone why`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The process (host pid).
    pub pid: i32,
    /// The stop signal whose handling is explained.
    #[arg(long, default_value = "TERM", value_name = "SIG")]
    pub signal: Signal,
    /// One JSON object with the same facts.
    #[arg(long)]
    pub json: bool,
}

/// Run `pidone why`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let snap = Snapshot::take(&ReadOptions::full())?;
    // A thread id is not listed in /proc but can be opened: explain its process.
    let pid = match snap.get(args.pid) {
        Some(_) => args.pid,
        None => Process::read(args.pid, &ReadOptions::default())
            .ok()
            .and_then(|t| t.status.tgid)
            .unwrap_or(args.pid),
    };
    let Some(e) = pidone_diag::explain(&snap, pid, args.signal) else {
        eprintln!("pidone: why: no such process: {}", args.pid);
        return Ok(ExitCode::from(1));
    };
    let mut text = String::new();
    if args.json {
        writeln!(text, "{}", serde_json::to_string_pretty(&e)?)?;
    } else {
        for l in pidone_diag::render::lines(&e) {
            writeln!(text, "{l}")?;
        }
    }
    super::ps::emit(&text)
}
