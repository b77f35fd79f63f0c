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
///
/// Without a terminal to hand over, this is one `posix_spawnp(3)` (glibc implements it with
/// `clone(CLONE_VM | CLONE_VFORK)`: no page-table copy, no exec-error pipe to wait on), with the
/// original mask, SIGPIPE reset to default, and a new process group or session set by the
/// kernel-side attributes. A terminal hand-over (`tcsetpgrp` in the child) needs code between
/// fork and exec, so it takes the `fork` path, as does a script without `#!` (ENOEXEC), which
/// only `execvp`'s fallback to /bin/sh can run.
pub fn spawn(argv: &[OsString], mask: &OriginalMask, group: Group) -> Result<Pid, SpawnError> {
    if group != Group::OwnForeground {
        match posix_spawn(argv, mask, group) {
            Ok(pid) => return Ok(pid),
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOEXEC) => {}
            Err(e) => return Err(classify(argv[0].to_string_lossy().into_owned(), e)),
        }
    }
    spawn_with_fork(argv, mask, group)
}

fn cstring(s: &std::ffi::OsStr) -> io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(s.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "argument contains a NUL byte"))
}

/// `posix_spawnp` with the attributes above. Everything it needs is allocated before the call.
fn posix_spawn(argv: &[OsString], mask: &OriginalMask, group: Group) -> io::Result<Pid> {
    use nix::libc;
    let args: Vec<std::ffi::CString> = argv.iter().map(|a| cstring(a)).collect::<io::Result<_>>()?;
    let env: Vec<std::ffi::CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            cstring(&kv)
        })
        .collect::<io::Result<_>>()?;
    let mut arg_ptrs: Vec<*mut libc::c_char> = args.iter().map(|a| a.as_ptr() as *mut _).collect();
    arg_ptrs.push(std::ptr::null_mut());
    let mut env_ptrs: Vec<*mut libc::c_char> = env.iter().map(|e| e.as_ptr() as *mut _).collect();
    env_ptrs.push(std::ptr::null_mut());

    let mut flags = libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF;
    match group {
        Group::Own => flags |= libc::POSIX_SPAWN_SETPGROUP,
        Group::Session => flags |= i32::from(libc::POSIX_SPAWN_SETSID),
        Group::Inherit | Group::OwnForeground => {}
    }
    let mut sigdef = nix::sys::signal::SigSet::empty();
    // Rust's runtime ignores SIGPIPE in the init; the child gets the default back, as with std.
    sigdef.add(nix::sys::signal::Signal::SIGPIPE);

    let mut attr = std::mem::MaybeUninit::<libc::posix_spawnattr_t>::uninit();
    let mut pid: libc::pid_t = 0;
    // SAFETY: `attr` is initialised by posix_spawnattr_init before any other use and destroyed
    // exactly once below. The mask and default sets are borrowed for the duration of the call
    // (posix_spawnattr copies them). `arg_ptrs` and `env_ptrs` are NULL-terminated arrays of
    // pointers into CStrings (`args`, `env`) that outlive the posix_spawnp call; posix_spawnp
    // does not write through them despite the `*mut` in its C prototype.
    let rc = unsafe {
        let a = attr.as_mut_ptr();
        let mut rc = libc::posix_spawnattr_init(a);
        if rc == 0 {
            rc = libc::posix_spawnattr_setflags(a, flags as libc::c_short);
            if rc == 0 {
                rc = libc::posix_spawnattr_setsigmask(a, mask.raw());
            }
            if rc == 0 {
                rc = libc::posix_spawnattr_setsigdefault(a, sigdef.as_ref());
            }
            if rc == 0 && group == Group::Own {
                rc = libc::posix_spawnattr_setpgroup(a, 0);
            }
            if rc == 0 {
                rc = libc::posix_spawnp(
                    &mut pid,
                    args[0].as_ptr(),
                    std::ptr::null(),
                    a,
                    arg_ptrs.as_ptr(),
                    env_ptrs.as_ptr(),
                );
            }
            libc::posix_spawnattr_destroy(a);
        }
        rc
    };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Pid::from_raw(pid).ok_or_else(|| io::Error::other("posix_spawnp returned no pid"))
}

/// The general path: `fork`, set-up in the child, `execvp`.
fn spawn_with_fork(argv: &[OsString], mask: &OriginalMask, group: Group) -> Result<Pid, SpawnError> {
    let cmd_name = argv
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    if group == Group::Own {
        cmd.process_group(0);
    }
    // Always restore the original mask in the child: std's own posix_spawn path (taken when
    // there is no hook) leaves the parent's blocked set in place, which would hand the child
    // the init's "block everything" mask (measured: SigBlk fffffffe3ffbfa07 in the child).
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
