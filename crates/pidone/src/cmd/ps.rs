//! `pidone ps`: processes (and threads) with host and namespace PIDs, states, the syscall they
//! are blocked in, and what they do with the stop signal. Read directly from /proc.

use pidone_diag::facts::describe_syscall;
use pidone_proc::snapshot::{FdScope, ReadOptions};
use pidone_proc::{Disposition, Process, Snapshot, Thread};
use pidone_sys::Signal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Columns: PID (host) NSPID (in its own PID namespace, or in the --ns namespace) PPID PGID SID
S (state) SYSCALL (what a sleeping process is blocked in) TERM (the stop signal: caught,
ignored or default, +blocked, +pending) CMD.

Exit status:
  0  the list was printed
  1  --ns PID: no such process, or an error reading /proc
  2  invalid command line";

/// Arguments of `pidone ps`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Draw the parent/child tree (like `pstree -ps`).
    #[arg(long)]
    pub tree: bool,
    /// List every thread, not just processes.
    #[arg(long, short = 'T')]
    pub threads: bool,
    /// Only the processes of PID's namespace, with their pids in it (like `docker top`).
    #[arg(long, value_name = "PID")]
    pub ns: Option<i32>,
    /// Which signal's disposition to show.
    #[arg(long, default_value = "TERM", value_name = "SIG")]
    pub signal: Signal,
    /// One JSON array with the same facts.
    #[arg(long)]
    pub json: bool,
}

/// One row of the listing.
#[derive(Debug, Serialize)]
struct Row {
    pid: i32,
    tid: Option<i32>,
    ns_pid: i32,
    nspid: Vec<i32>,
    ppid: i32,
    pgid: i32,
    sid: i32,
    state: char,
    syscall: Option<String>,
    signal: String,
    disposition: Option<Disposition>,
    comm: String,
    cmdline: Vec<String>,
}

fn row(snap: &Snapshot, p: &Process, t: Option<&Thread>, level: Option<usize>, sig: Signal) -> Row {
    let (status, sys) = match t {
        Some(t) => (&t.status, t.syscall.as_ref()),
        None => (&p.status, p.syscall.as_ref()),
    };
    let nspid = if status.nspid.is_empty() {
        vec![status.pid.unwrap_or(p.pid)]
    } else {
        status.nspid.clone()
    };
    let ns_pid = match level {
        Some(l) => nspid.get(l).copied().unwrap_or(0),
        None => *nspid.last().unwrap_or(&p.pid),
    };
    Row {
        pid: p.pid,
        tid: t.map(|t| t.tid),
        ns_pid,
        nspid,
        ppid: p.ppid(),
        pgid: p.pgid(),
        sid: p.sid(),
        state: status.state.map(|s| s.letter()).unwrap_or('?'),
        syscall: describe_syscall(p, sys, snap.arch),
        signal: sig.to_string(),
        disposition: Disposition::of(status, sig),
        comm: p.comm().to_string(),
        cmdline: p.cmdline.clone(),
    }
}

fn command(r: &Row) -> String {
    if r.cmdline.is_empty() {
        format!("[{}]", r.comm)
    } else {
        r.cmdline.join(" ")
    }
}

/// Run `pidone ps`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match list(args) {
        // `pidone ps | head`: the reader went away; that is not a failure.
        Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        r => r,
    }
}

/// Whether `e` is EPIPE on stdout (Rust ignores SIGPIPE, so writes fail instead).
pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(|j| j.io_error_kind())
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Write `text` to stdout; a closed pipe (`| head`) is success, not an error.
pub(crate) fn emit(text: &str) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(anyhow::Error::new(e).context("writing to stdout")),
    }
}

fn list(args: Args) -> anyhow::Result<ExitCode> {
    let mut opts = ReadOptions {
        cmdline: true,
        syscall: true,
        threads: args.threads,
        fds: FdScope::None,
        ..ReadOptions::default()
    };
    // --ns: the namespace of PID, compared by the inode of /proc/PID/ns/pid.
    let mut ns = None;
    if let Some(pid) = args.ns {
        let target = match Process::read(
            pid,
            &ReadOptions {
                pid_ns: true,
                ..ReadOptions::default()
            },
        ) {
            Ok(p) => p,
            Err(e) if e.is_gone() => {
                eprintln!("pidone: ps: no such process: {pid}");
                return Ok(ExitCode::from(1));
            }
            Err(e) => return Err(e.into()),
        };
        let Some(inode) = target.pid_ns else {
            anyhow::bail!("cannot read the PID namespace of {pid} (/proc/{pid}/ns/pid)");
        };
        ns = Some((inode, target.ns_level()));
        opts.pid_ns = true;
    }
    let snap = Snapshot::take(&opts)?;
    for s in &snap.skipped {
        eprintln!("pidone: ps: skipped: {s}");
    }
    let procs: Vec<&Process> = match ns {
        Some((inode, _)) => snap.in_namespace(inode),
        None => snap.processes.values().collect(),
    };
    let level = ns.map(|(_, l)| l);
    let mut rows = Vec::new();
    let mut depth = BTreeMap::new();
    let order: Vec<(&Process, usize, String)> = if args.tree {
        tree_order(&procs)
    } else {
        procs.iter().map(|p| (*p, 0, String::new())).collect()
    };
    for (p, d, prefix) in &order {
        if args.threads && !p.threads.is_empty() {
            for t in &p.threads {
                rows.push(row(&snap, p, Some(t), level, args.signal));
                depth.insert(rows.len() - 1, prefix.clone());
            }
        } else {
            rows.push(row(&snap, p, None, level, args.signal));
            depth.insert(rows.len() - 1, prefix.clone());
        }
        let _ = d;
    }
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    if args.json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let sig = args.signal.name();
    let tid_col = if args.threads {
        format!(" {:>7}", "TID")
    } else {
        String::new()
    };
    writeln!(
        out,
        "{:>7}{tid_col} {:>6} {:>7} {:>7} {:>7} S {:<26} {:<16} CMD",
        "PID", "NSPID", "PPID", "PGID", "SID", "SYSCALL", sig
    )?;
    for (i, r) in rows.iter().enumerate() {
        let tid = if args.threads {
            format!(" {:>7}", r.tid.unwrap_or(r.pid))
        } else {
            String::new()
        };
        let mut sc = r.syscall.clone().unwrap_or_else(|| "-".into());
        if sc.len() > 26 {
            sc.truncate(25);
            sc.push('~');
        }
        let disp = r.disposition.map(|d| d.short()).unwrap_or_else(|| "?".into());
        let prefix = depth.get(&i).cloned().unwrap_or_default();
        writeln!(
            out,
            "{:>7}{tid} {:>6} {:>7} {:>7} {:>7} {} {:<26} {:<16} {prefix}{}",
            r.pid,
            r.ns_pid,
            r.ppid,
            r.pgid,
            r.sid,
            r.state,
            sc,
            disp,
            command(r)
        )?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Depth-first order with `pstree`-style prefixes (`├─`, `└─`, `│ `). Roots are processes
/// whose parent is not in the list.
fn tree_order<'a>(procs: &[&'a Process]) -> Vec<(&'a Process, usize, String)> {
    let pids: BTreeSet<i32> = procs.iter().map(|p| p.pid).collect();
    let mut kids: BTreeMap<i32, Vec<&'a Process>> = BTreeMap::new();
    let mut roots = Vec::new();
    for p in procs {
        if pids.contains(&p.ppid()) && p.ppid() != p.pid {
            kids.entry(p.ppid()).or_default().push(p);
        } else {
            roots.push(*p);
        }
    }
    let mut out = Vec::new();
    fn walk<'a>(
        p: &'a Process,
        depth: usize,
        lead: &str,
        glyph: &str,
        kids: &BTreeMap<i32, Vec<&'a Process>>,
        out: &mut Vec<(&'a Process, usize, String)>,
    ) {
        out.push((p, depth, format!("{lead}{glyph}")));
        let Some(children) = kids.get(&p.pid) else { return };
        let next_lead = match glyph {
            "├─" => format!("{lead}│ "),
            "└─" => format!("{lead}  "),
            _ => lead.to_string(),
        };
        for (i, c) in children.iter().enumerate() {
            let g = if i + 1 == children.len() {
                "└─"
            } else {
                "├─"
            };
            // Bounded by the number of processes: a parent cycle cannot occur in /proc data
            // read at one moment, but a pid reused mid-snapshot could fake one.
            if out.len() > 1_000_000 {
                return;
            }
            walk(c, depth + 1, &next_lead, g, kids, out);
        }
    }
    for r in roots {
        walk(r, 0, "", "", &kids, &mut out);
    }
    out
}
