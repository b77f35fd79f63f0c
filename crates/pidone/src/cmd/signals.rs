//! `pidone signals PID`: the decoded signal masks of every thread of a process.

use pidone_proc::snapshot::ReadOptions;
use pidone_proc::{Process, SigSet};
use serde::Serialize;
use std::fmt::Write as _;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Masks (from /proc/PID/task/TID/status): SigCgt caught (handler installed) and SigIgn ignored
are per process; SigBlk blocked and SigPnd pending are per thread; ShdPnd is pending for the
whole process. Real-time signals use the kernel's numbering (RTMIN = 32).

Exit status:
  0  printed
  1  no such process, or an error reading /proc
  2  invalid command line";

/// Arguments of `pidone signals`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The process (host pid).
    pub pid: i32,
    /// One JSON object with the same facts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct ThreadMasks {
    tid: i32,
    nspid: Vec<i32>,
    name: String,
    state: char,
    caught: SigSet,
    ignored: SigSet,
    blocked: SigSet,
    pending_thread: SigSet,
    pending_process: SigSet,
}

#[derive(Debug, Serialize)]
struct Out {
    pid: i32,
    nspid: Vec<i32>,
    command: String,
    threads: Vec<ThreadMasks>,
}

/// Run `pidone signals`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let opts = ReadOptions {
        cmdline: true,
        threads: true,
        ..ReadOptions::default()
    };
    let p = match Process::read(args.pid, &opts) {
        Ok(p) => p,
        Err(e) if e.is_gone() => {
            eprintln!("pidone: signals: no such process: {}", args.pid);
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    let threads = p
        .threads
        .iter()
        .map(|t| ThreadMasks {
            tid: t.tid,
            nspid: t.status.nspid.clone(),
            name: t.status.name.clone(),
            state: t.status.state.map(|s| s.letter()).unwrap_or('?'),
            caught: t.status.sig_cgt,
            ignored: t.status.sig_ign,
            blocked: t.status.sig_blk,
            pending_thread: t.status.sig_pnd,
            pending_process: t.status.shd_pnd,
        })
        .collect();
    let out = Out {
        pid: p.pid,
        nspid: p.nspid(),
        command: p.command(),
        threads,
    };
    let mut text = String::new();
    if args.json {
        writeln!(text, "{}", serde_json::to_string_pretty(&out)?)?;
        return super::ps::emit(&text);
    }
    let ns = |v: &[i32]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" ");
    writeln!(
        text,
        "pid {} (NSpid {}): {}",
        out.pid,
        ns(&out.nspid),
        out.command
    )?;
    for t in &out.threads {
        writeln!(
            text,
            "thread {} (NSpid {}) {} {}",
            t.tid,
            ns(&t.nspid),
            t.name,
            t.state
        )?;
        writeln!(text, "  caught   (SigCgt): {}", t.caught)?;
        writeln!(text, "  ignored  (SigIgn): {}", t.ignored)?;
        writeln!(text, "  blocked  (SigBlk): {}", t.blocked)?;
        writeln!(text, "  pending  (SigPnd, this thread): {}", t.pending_thread)?;
        writeln!(text, "  pending  (ShdPnd, process):     {}", t.pending_process)?;
    }
    super::ps::emit(&text)
}
