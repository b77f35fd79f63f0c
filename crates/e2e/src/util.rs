//! Small helpers: bounded commands, temporary folders that refuse to delete mounts, paths.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished command printed, and how it ended.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// `Ok(stdout)` when the command exited 0, otherwise an error that names the command and quotes
    /// its stderr.
    pub fn ok(self, what: &str) -> Result<String, String> {
        if self.status.success() {
            Ok(self.stdout)
        } else {
            Err(format!(
                "{what} failed ({}): {}{}",
                self.status,
                self.stderr.trim(),
                self.stdout.trim()
            ))
        }
    }
}

/// A readable one-line form of a command, for error messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Run `cmd` to completion, with stdin from /dev/null, killing it (by the pid this function
/// started) if it is still running after `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    let what = describe(cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{what}`: {e}"))?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let status = match wait_timeout(&mut child, timeout) {
        Some(s) => s,
        None => {
            // Our own child: kill it by its pid and collect it.
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("`{what}` did not finish within {timeout:?}; killed it"));
        }
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Read a pipe to its end on a thread.
pub fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Wait for our child for at most `timeout`. `None` if it is still running.
///
/// std has no wait-with-timeout; a 5 ms `try_wait` poll bounds the measuring error of stop times
/// to a few milliseconds, which is far below what the tests compare (seconds).
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(_) => return None,
        }
    }
}

/// The exit status as a shell shows it: the code, or 128+N when signal N killed the process.
pub fn shell_status(s: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.code().or_else(|| s.signal().map(|n| 128 + n)).unwrap_or(-1)
}

/// The workspace's root folder (the one with the top Cargo.toml).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// Cargo's target folder: `$CARGO_TARGET_DIR` or `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => workspace_root().join("target"),
    }
}

/// Fail unless this process runs as root (containers and Docker engines need it).
pub fn require_root() -> Result<(), String> {
    let status =
        std::fs::read_to_string("/proc/self/status").map_err(|e| format!("read /proc/self/status: {e}"))?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    if uid == "0" {
        Ok(())
    } else {
        Err(format!(
            "the end-to-end tests start containers and a Docker engine and must run as root (effective uid is {uid})"
        ))
    }
}

/// Find an executable by absolute path or in $PATH plus the sbin folders (runc and dockerd live
/// in /usr/sbin, which is not in every PATH).
pub fn find_program(name: &str) -> Option<PathBuf> {
    if name.starts_with('/') {
        return Path::new(name).is_file().then(|| PathBuf::from(name));
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain([
            "/usr/local/sbin",
            "/usr/local/bin",
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
        ])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    found
}

/// A unique short name for containers and folders: `<prefix>-<pid>-<n>`.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A temporary folder, removed on drop, except when anything is still mounted below it (a leaked
/// bind mount of /usr must never be deleted through): then it is left in place with a warning.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> Result<Self, String> {
        let base = std::env::temp_dir();
        let path = base.join(unique(prefix));
        std::fs::create_dir_all(&path).map_err(|e| format!("create {}: {e}", path.display()))?;
        Ok(TempDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Mount points at or below `dir`, from /proc/self/mountinfo.
pub fn mounts_below(dir: &Path) -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = dir.to_string_lossy().into_owned();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| *m == prefix || m.starts_with(&format!("{prefix}/")))
        .map(str::to_string)
        .collect()
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let mounts = mounts_below(&self.path);
        if mounts.is_empty() {
            let _ = std::fs::remove_dir_all(&self.path);
        } else {
            eprintln!(
                "e2e: leaving {} in place: still mounted below it: {mounts:?}",
                self.path.display()
            );
        }
    }
}

/// Copy every regular file of `from` (not recursive) into `to`.
pub fn copy_files(from: &Path, to: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(from).map_err(|e| format!("read {}: {e}", from.display()))?;
    for e in entries.flatten() {
        let p = e.path();
        if p.is_file() {
            let dest = to.join(e.file_name());
            std::fs::copy(&p, &dest)
                .map_err(|err| format!("copy {} to {}: {err}", p.display(), dest.display()))?;
        }
    }
    Ok(())
}

/// Write `text` and a newline straight to file descriptor 2. libtest captures only the print
/// macros, so this shows the comparison tables in CI's log even when the tests pass.
pub fn show(text: &str) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.write_all(b"\n");
}
