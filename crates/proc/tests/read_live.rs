//! The reader on live processes this test starts itself (no namespace needed: nothing here
//! signals anything but its own children, by pid).

use pidone_proc::read::ProcDir;
use pidone_proc::snapshot::{FdScope, ReadOptions};
use pidone_proc::{FdTarget, Process, ReadError, State, SyscallState};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn python(code: &str, extra: &[&str]) -> std::process::Child {
    let mut c = Command::new("python3")
        .args(["-c", code])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("this test needs python3 (Debian package python3)");
    let mut line = String::new();
    BufReader::new(c.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    c
}

#[test]
fn long_command_lines_are_read_whole() {
    // Longer than the first read buffer, so the one-shot read must grow and continue.
    let long = "x".repeat(10_000);
    let mut c = python(
        "import sys; print('ready', flush=True); sys.stdin.read()",
        &[&long, "end"],
    );
    let opts = ReadOptions {
        cmdline: true,
        ..Default::default()
    };
    let p = Process::read(c.id() as i32, &opts).unwrap();
    assert_eq!(p.cmdline.len(), 5, "{:?}", &p.cmdline[..2]);
    assert_eq!(p.cmdline[3], long);
    assert_eq!(p.cmdline[4], "end");
    c.kill().unwrap();
    c.wait().unwrap();
}

#[test]
fn blocked_read_on_stdin_is_decoded_with_its_pipe() {
    let mut c = python(
        "import sys; print('ready', flush=True); sys.stdin.buffer.raw.read(1)",
        &[],
    );
    let pid = c.id() as i32;
    let opts = ReadOptions {
        syscall: true,
        wchan: true,
        stat: true,
        fds: FdScope::All,
        ..Default::default()
    };
    // Bounded wait until it is really inside read().
    let mut p = None;
    for _ in 0..500 {
        let q = Process::read(pid, &opts).unwrap();
        if q.state() == State::Sleeping && matches!(q.syscall, Some(SyscallState::In(_))) {
            p = Some(q);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let p = p.expect("python3 never blocked in read");
    let Some(SyscallState::In(sc)) = &p.syscall else {
        unreachable!()
    };
    assert_eq!(sc.name(pidone_proc::Arch::host()), "read");
    assert!(
        matches!(p.fd(0).map(|f| &f.target), Some(FdTarget::Pipe(_))),
        "{:?}",
        p.fds
    );
    assert!(p.stat.as_ref().is_some_and(|s| s.pid == pid));
    c.kill().unwrap();
    c.wait().unwrap();
}

#[test]
fn an_exited_process_is_gone_even_through_an_open_dir() {
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id() as i32;
    // Opened while the process exists (possibly already a zombie)...
    let dir = ProcDir::open(pid).unwrap();
    c.wait().unwrap();
    // ...and read after it was reaped: the directory fd still names THAT process, which is
    // gone, even if the pid were reused meanwhile.
    match dir.read_string("status", true) {
        Err(e) => assert!(e.is_gone(), "{e:?}"),
        Ok(s) => panic!("read a reaped process's status: {s}"),
    }
    assert!(matches!(
        Process::read(pid, &ReadOptions::default()),
        Err(ReadError::Gone { .. })
    ));
}

#[test]
fn a_missing_file_is_unsupported_not_gone() {
    let dir = ProcDir::open(std::process::id() as i32).unwrap();
    match dir.read("no-such-file-in-any-kernel", true) {
        Err(ReadError::Unsupported { file, .. }) => assert_eq!(file, "no-such-file-in-any-kernel"),
        other => panic!("{other:?}"),
    }
}
