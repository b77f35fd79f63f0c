//! pidone's eBPF tracers: `signals`, `syscalls` and `procs`.
//!
//! The BPF programs are C (`bpf/*.bpf.c`), compiled once with clang into the committed
//! objects under `bpf/obj/` (`bash crates/trace/bpf/build.sh`; `bpf/check.sh` proves they
//! match their sources) and embedded here, so building pidone needs no clang, and running
//! it needs no bpftrace, bcc, LLVM or kernel headers. They are loaded with `aya`, attached
//! to raw tracepoints, and read kernel structs through CO-RE relocations against the
//! running kernel's BTF (`/sys/kernel/btf/vmlinux`). Kernel requirements: 5.8+ (ring
//! buffer, CAP_BPF/CAP_PERFMON) with CONFIG_DEBUG_INFO_BTF.
//!
//! Each tracer is a `Config` plus a `run` that prints to the writers it is given and
//! returns a summary; the binary only parses flags and maps errors to exit statuses.
#![forbid(unsafe_code)]

pub mod event;
pub mod procs;
pub mod session;
pub mod signals;
pub mod syscalls;

pub use session::READY_LINE;

use std::io::Write;

/// The compiled objects, embedded 8-byte aligned as the ELF parser requires.
pub mod objects {
    /// `bpf/signals.bpf.c`.
    pub fn signals() -> &'static [u8] {
        aya::include_bytes_aligned!("../bpf/obj/signals.bpf.o")
    }
    /// `bpf/syscalls.bpf.c`.
    pub fn syscalls() -> &'static [u8] {
        aya::include_bytes_aligned!("../bpf/obj/syscalls.bpf.o")
    }
    /// `bpf/procs.bpf.c`.
    pub fn procs() -> &'static [u8] {
        aya::include_bytes_aligned!("../bpf/obj/procs.bpf.o")
    }
}

/// Why a tracer could not run.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The process lacks the capabilities to load and attach BPF tracing programs.
    #[error("tracing needs CAP_BPF and CAP_PERFMON (or root): this process lacks {missing}")]
    Privileges { missing: String },
    /// The kernel refused a bpf(2) call with EPERM/EACCES although the capabilities are there.
    #[error("{what} was refused by the kernel: tracing needs CAP_BPF and CAP_PERFMON (or root) in the initial user namespace, and no seccomp profile or lockdown blocking bpf(2)")]
    Refused {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("loading the {what} BPF object (kernel 5.8+ with BTF at /sys/kernel/btf/vmlinux is required)")]
    Load {
        what: &'static str,
        #[source]
        source: aya::EbpfError,
    },
    #[error("loading or attaching BPF program {prog}")]
    Program {
        prog: &'static str,
        #[source]
        source: aya::programs::ProgramError,
    },
    #[error("using BPF map {name}")]
    Map {
        name: &'static str,
        #[source]
        source: aya::maps::MapError,
    },
    #[error(
        "the kernel has no BTF ({}): pidone trace needs a kernel built with CONFIG_DEBUG_INFO_BTF=y",
        session::KERNEL_BTF
    )]
    NoKernelBtf,
    #[error("the embedded BPF object has no {name}: it does not match this loader")]
    MissingInObject { name: &'static str },
    #[error("no process {pid}")]
    NoSuchProcess { pid: u32 },
    #[error("{op} failed")]
    Io {
        op: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Decode(#[from] event::DecodeError),
}

impl TraceError {
    pub(crate) fn sys(op: &str, e: nix::errno::Errno) -> TraceError {
        TraceError::Io {
            op: op.to_string(),
            source: std::io::Error::from_raw_os_error(e as i32),
        }
    }

    /// Whether this is a missing-privilege error (the binary gives it its own exit status).
    pub fn is_privileges(&self) -> bool {
        matches!(self, TraceError::Privileges { .. } | TraceError::Refused { .. })
    }
}

/// Where a tracer writes: events and the summary to `out`, the readiness line and notes to `err`.
pub struct Output<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    /// One JSON object per line instead of text.
    pub json: bool,
}

impl Output<'_> {
    /// Print the readiness line on stderr and flush it.
    pub(crate) fn ready(&mut self, what: &str) -> Result<(), TraceError> {
        let r = writeln!(self.err, "{READY_LINE} ({what})").and_then(|_| self.err.flush());
        r.map_err(|source| TraceError::Io {
            op: "writing to stderr".into(),
            source,
        })
    }

    /// Write one line to `out`. `Ok(false)` when the reader has gone (EPIPE): the tracer
    /// then ends quietly, like any filter whose output was closed.
    pub(crate) fn line(&mut self, s: &str) -> Result<bool, TraceError> {
        match writeln!(self.out, "{s}").and_then(|_| self.out.flush()) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(source) => Err(TraceError::Io {
                op: "writing to stdout".into(),
                source,
            }),
        }
    }

    /// A note on stderr (summary lines in text mode); failures to write it are not errors.
    pub(crate) fn note(&mut self, s: &str) {
        let _ignored = writeln!(self.err, "pidone: trace: {s}");
    }
}

/// The PID namespace given with `--ns`, held open for the whole run.
///
/// The BPF programs recognise it by its inode number (`ns.inum`). The kernel reuses the number
/// of a freed namespace for the next one created, so a namespace whose processes have all
/// exited could hand its number to an unrelated container started later, whose events would
/// then pass the filter. An open `/proc/PID/ns/pid` keeps the namespace (not its processes)
/// alive, so its number stays ours until we exit.
#[derive(Debug)]
pub struct PidNamespace {
    _keep: std::fs::File,
    /// The namespace's inode number.
    pub inum: u32,
}

impl PidNamespace {
    /// The PID namespace of process `pid`.
    pub fn of(pid: u32) -> Result<PidNamespace, TraceError> {
        use std::os::unix::fs::MetadataExt;
        let path = format!("/proc/{pid}/ns/pid");
        let io = |source| TraceError::Io {
            op: format!("opening {path}"),
            source,
        };
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(TraceError::NoSuchProcess { pid })
            }
            Err(e) => return Err(io(e)),
        };
        let inum = file.metadata().map_err(io)?.ino() as u32;
        Ok(PidNamespace { _keep: file, inum })
    }
}

/// Truncate a command name the way the kernel stores it (15 bytes + NUL), for `--comm`.
pub fn kernel_comm(name: &str) -> String {
    let mut end = name.len().min(15);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

/// `1234 (python)`, `1234/1240 (worker)` for a thread, `1234 [ns 3] (python)` with `--ns`.
pub(crate) fn fmt_task(pid: u32, tid: Option<u32>, ns_pid: Option<u32>, comm: &str) -> String {
    let mut s = pid.to_string();
    if let Some(t) = tid.filter(|t| *t != pid) {
        s.push_str(&format!("/{t}"));
    }
    if let Some(n) = ns_pid {
        s.push_str(&format!(" [ns {n}]"));
    }
    s.push_str(&format!(" ({comm})"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_embedded_elf_bpf() {
        for o in [objects::signals(), objects::syscalls(), objects::procs()] {
            assert_eq!(&o[..4], b"\x7fELF");
            assert_eq!(o.as_ptr() as usize % 8, 0, "aligned for the ELF parser");
        }
    }

    #[test]
    fn comm_is_truncated_like_the_kernel() {
        assert_eq!(kernel_comm("python"), "python");
        assert_eq!(kernel_comm("a_very_long_process_name"), "a_very_long_pro");
        assert_eq!(kernel_comm("ééééééééé"), "ééééééé");
    }

    #[test]
    fn task_formats() {
        assert_eq!(fmt_task(12, Some(12), None, "sh"), "12 (sh)");
        assert_eq!(fmt_task(12, Some(14), Some(2), "sh"), "12/14 [ns 2] (sh)");
    }
}
