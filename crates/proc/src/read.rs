//! Reading one process: `/proc/PID` opened once as a directory fd, files read relative to it.
//!
//! Why a directory fd: between listing `/proc` and reading `/proc/PID/status` the process can
//! exit and its pid be reused. Files opened through the fd of the ORIGINAL `/proc/PID`
//! directory refer to the original process (the kernel pins the pid in that inode) and fail
//! with `ESRCH`/`ENOENT` once it is gone, instead of silently describing a newcomer.

use rustix::fs::{openat, readlinkat, Dir, Mode, OFlags, CWD};
use rustix::io::Errno;
use std::os::fd::OwnedFd;

/// Why a read of `/proc/PID/FILE` did not give data.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The process exited (or was reaped) while we looked. Normal, not a failure.
    #[error("process {pid} is gone")]
    Gone {
        /// The host pid.
        pid: i32,
    },
    /// This kernel does not provide the file (e.g. `syscall` needs CONFIG_HAVE_ARCH_TRACEHOOK,
    /// `task/*/children` needs CONFIG_PROC_CHILDREN).
    #[error("this kernel has no /proc/{pid}/{file}")]
    Unsupported {
        /// The host pid.
        pid: i32,
        /// The file under `/proc/PID`.
        file: String,
    },
    /// Refused: the file needs ptrace access to the process (root, or the same user without
    /// a hardened `ptrace_scope`).
    #[error("reading /proc/{pid}/{file} was refused (it needs ptrace access to the process: run as root)")]
    Denied {
        /// The host pid.
        pid: i32,
        /// The file under `/proc/PID`.
        file: String,
        /// The kernel's answer.
        #[source]
        source: std::io::Error,
    },
    /// Any other failure.
    #[error("reading /proc/{pid}/{file} failed")]
    Io {
        /// The host pid.
        pid: i32,
        /// The file under `/proc/PID`.
        file: String,
        /// The kernel's answer.
        #[source]
        source: std::io::Error,
    },
}

impl ReadError {
    /// Whether this is the normal "the process exited meanwhile".
    pub fn is_gone(&self) -> bool {
        matches!(self, ReadError::Gone { .. })
    }
}

/// An open `/proc/PID` (or `/proc/PID/task/TID`) directory.
#[derive(Debug)]
pub struct ProcDir {
    pid: i32,
    dir: OwnedFd,
}

const DIR_FLAGS: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::CLOEXEC);
const FILE_FLAGS: OFlags = OFlags::RDONLY.union(OFlags::CLOEXEC);

impl ProcDir {
    /// Open `/proc/PID`. `Gone` if there is no such process.
    pub fn open(pid: i32) -> Result<ProcDir, ReadError> {
        Self::open_path(pid, &format!("/proc/{pid}"))
    }

    /// Open `/proc/PID` under another procfs mount (e.g. a container's `/proc`).
    pub fn open_path(pid: i32, path: &str) -> Result<ProcDir, ReadError> {
        match openat(CWD, path, DIR_FLAGS, Mode::empty()) {
            Ok(dir) => Ok(ProcDir { pid, dir }),
            Err(Errno::NOENT | Errno::SRCH) => Err(ReadError::Gone { pid }),
            Err(e) => Err(ReadError::Io {
                pid,
                file: String::new(),
                source: e.into(),
            }),
        }
    }

    /// The pid this directory belongs to.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Open `task/TID` of this process, through this directory.
    pub fn task(&self, tid: i32) -> Result<ProcDir, ReadError> {
        let name = format!("task/{tid}");
        match openat(&self.dir, name.as_str(), DIR_FLAGS, Mode::empty()) {
            Ok(dir) => Ok(ProcDir { pid: tid, dir }),
            Err(e) => Err(self.classify(&name, e)),
        }
    }

    /// Turn an errno from reading `file` into a [`ReadError`], telling a vanished process
    /// from a file the kernel does not have: on `ENOENT`, `stat` (present in every kernel)
    /// is probed; if that is gone too, so is the process.
    fn classify(&self, file: &str, e: Errno) -> ReadError {
        let pid = self.pid;
        match e {
            Errno::SRCH => ReadError::Gone { pid },
            Errno::NOENT => match openat(&self.dir, "stat", FILE_FLAGS, Mode::empty()) {
                Ok(_) => ReadError::Unsupported {
                    pid,
                    file: file.to_string(),
                },
                Err(_) => ReadError::Gone { pid },
            },
            Errno::ACCESS | Errno::PERM => ReadError::Denied {
                pid,
                file: file.to_string(),
                source: e.into(),
            },
            _ => ReadError::Io {
                pid,
                file: file.to_string(),
                source: e.into(),
            },
        }
    }

    /// Read a whole file. `one_shot`: the file is generated in a single record (stat, status,
    /// syscall, wchan, fdinfo), so a read shorter than the buffer is the end and the final
    /// zero-length read can be skipped — a syscall saved per file on a 10,000-process `ps`.
    pub fn read(&self, file: &str, one_shot: bool) -> Result<Vec<u8>, ReadError> {
        let fd = openat(&self.dir, file, FILE_FLAGS, Mode::empty()).map_err(|e| self.classify(file, e))?;
        let mut buf = vec![0u8; 2048];
        let mut len = 0;
        loop {
            if len == buf.len() {
                buf.resize(buf.len() * 2, 0);
            }
            match rustix::io::read(&fd, &mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => {
                    len += n;
                    if one_shot && len < buf.len() {
                        break;
                    }
                }
                Err(Errno::INTR) => continue,
                Err(e) => return Err(self.classify(file, e)),
            }
        }
        buf.truncate(len);
        Ok(buf)
    }

    /// Read a whole file as text (invalid UTF-8 replaced).
    pub fn read_string(&self, file: &str, one_shot: bool) -> Result<String, ReadError> {
        let b = self.read(file, one_shot)?;
        Ok(match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// The target of a symlink under this directory (`fd/3`, `ns/pid`, `exe`).
    pub fn readlink(&self, path: &str) -> Result<String, ReadError> {
        let target = readlinkat(&self.dir, path, Vec::new()).map_err(|e| self.classify(path, e))?;
        Ok(target.to_string_lossy().into_owned())
    }

    /// The numeric entries of a subdirectory (`fd`, `task`), unsorted.
    pub fn list(&self, sub: &str) -> Result<Vec<i32>, ReadError> {
        let fd = openat(&self.dir, sub, DIR_FLAGS, Mode::empty()).map_err(|e| self.classify(sub, e))?;
        numeric_entries(fd).map_err(|e| self.classify(sub, e))
    }
}

/// The numeric names in a directory (pids in `/proc`, fds in `fd/`).
fn numeric_entries(fd: OwnedFd) -> Result<Vec<i32>, Errno> {
    let mut out = Vec::new();
    let dir = Dir::new(fd)?;
    for entry in dir {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if let Some(n) = std::str::from_utf8(name).ok().and_then(|s| s.parse::<i32>().ok()) {
            out.push(n);
        }
    }
    Ok(out)
}

/// Every pid in `/proc`, ascending.
pub fn list_pids() -> std::io::Result<Vec<i32>> {
    let fd = openat(CWD, "/proc", DIR_FLAGS, Mode::empty())?;
    let mut v = numeric_entries(fd)?;
    v.sort_unstable();
    Ok(v)
}
