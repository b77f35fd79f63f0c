//! Starting the main child: `fork` + `exec` through `std::process::Command`, with the child
//! side set up in a `pre_exec` hook that only makes async-signal-safe calls.
//!
//! std already gives us what tini does by hand: `exec` errors come back to the parent through
//! a CLOEXEC pipe (so "not found" and "permission denied" are real errno values, not guesses),
//! fds the init opened are all `O_CLOEXEC`, and SIGPIPE, which Rust's runtime ignores at start,
//! is reset to default in the child.

use crate::signals::OriginalMask;
use crate::Pid;
use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// How the child's process group and terminal are set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Stay in the init's process group.
    Inherit,
    /// `setpgid(0, 0)`: a group of its own, so the init can signal the group.
    Own,
    /// Own group, and make it the terminal's foreground group (stdin is a TTY). The kernel
    /// only lets the foreground group read the terminal; without this an interactive shell
    /// under the init would be stopped by SIGTTIN.
    OwnForeground,
    /// `setsid()`: a new session and group (dumb-init's default), so the child's group can be
    /// signalled and the child has no controlling terminal of ours.
    Session,
}

/// Why the child could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// ENOENT: the command does not exist on PATH (exit 127 by shell convention).
    #[error("{cmd}: command not found")]
    NotFound {
        cmd: String,
        #[source]
        source: io::Error,
    },
    /// EACCES/ENOEXEC/EISDIR...: found but not executable (exit 126 by shell convention).
    #[error("{cmd}: cannot execute: {source}")]
    NotExecutable {
        cmd: String,
        #[source]
        source: io::Error,
    },
    /// Anything else (fork failed, out of memory, ...).
    #[error("{cmd}: cannot start: {source}")]
    Other {
        cmd: String,
        #[source]
        source: io::Error,
    },
}

/// Start `argv` with the init's original signal mask and the chosen process group.
pub fn spawn(argv: &[OsString], mask: &OriginalMask, group: Group) -> Result<Pid, SpawnError> {
    let cmd_name = argv
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    if group == Group::Own {
        cmd.process_group(0);
    }
    // Always restore the original mask in the child: std's posix_spawn path (taken when there
    // is no hook) leaves the parent's blocked set in place, which would hand the child the
    // init's "block everything" mask (measured: SigBlk fffffffe3ffbfa07 in the child).
    let needs_hook = true;
    if needs_hook {
        let mask = mask.clone();
        // SAFETY: the closure runs in the forked child before exec. It only calls setsid(2),
        // setpgid(2), tcsetpgrp(3) (an ioctl) and pthread_sigmask(2), all async-signal-safe,
        // allocates nothing and takes no locks, which is what a child of a (possibly)
        // multi-threaded parent may do.
        unsafe {
            cmd.pre_exec(move || {
                match group {
                    Group::Session => {
                        nix::unistd::setsid()?;
                    }
                    Group::OwnForeground => {
                        nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0))?;
                        // The init blocks SIGTTOU (it is in the blocked set), so the kernel lets
                        // this background-group call through instead of stopping us.
                        let stdin = std::os::fd::BorrowedFd::borrow_raw(0);
                        nix::unistd::tcsetpgrp(stdin, nix::unistd::getpgrp())?;
                    }
                    // Own is done by std (process_group) before this hook runs.
                    Group::Own | Group::Inherit => {}
                }
                mask.restore()
            });
        }
    }
    match cmd.spawn() {
        Ok(child) => {
            let pid = Pid::from_raw(child.id() as i32).expect("spawned child has a positive pid");
            // We reap with waitpid(-1) ourselves; dropping `Child` neither waits nor kills.
            drop(child);
            Ok(pid)
        }
        Err(e) => Err(classify(cmd_name, e)),
    }
}

fn classify(cmd: String, e: io::Error) -> SpawnError {
    match e.raw_os_error() {
        Some(nix::libc::ENOENT) => SpawnError::NotFound { cmd, source: e },
        Some(nix::libc::EACCES | nix::libc::ENOEXEC | nix::libc::EISDIR | nix::libc::EPERM) => {
            SpawnError::NotExecutable { cmd, source: e }
        }
        _ => SpawnError::Other { cmd, source: e },
    }
}

impl SpawnError {
    /// The command that failed.
    pub fn command(&self) -> &str {
        match self {
            SpawnError::NotFound { cmd, .. }
            | SpawnError::NotExecutable { cmd, .. }
            | SpawnError::Other { cmd, .. } => cmd,
        }
    }

    /// The OS error as `strerror(3)` words, without Rust's "(os error N)" suffix.
    pub fn os_error_text(&self) -> String {
        let source = match self {
            SpawnError::NotFound { source, .. }
            | SpawnError::NotExecutable { source, .. }
            | SpawnError::Other { source, .. } => source,
        };
        let text = source.to_string();
        match text.find(" (os error") {
            Some(i) => text[..i].to_string(),
            None => text,
        }
    }

    /// The conventional exit status: 127 not found, 126 not executable, 1 otherwise... well,
    /// 126 as well: the command was found but could not run.
    pub fn exit_code(&self) -> i32 {
        match self {
            SpawnError::NotFound { .. } => 127,
            SpawnError::NotExecutable { .. } | SpawnError::Other { .. } => 126,
        }
    }
}
