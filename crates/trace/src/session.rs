//! What every tracer shares: the privilege check, loading and attaching an embedded object,
//! the wait loop over the ring buffer, the stop signals and the deadline, and the clock that
//! turns BPF timestamps into wall-clock times.

use crate::TraceError;
use aya::maps::{MapData, RingBuf};
use aya::programs::RawTracePoint;
use aya::{Ebpf, EbpfLoader};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal as NixSignal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::time::{clock_gettime, ClockId};
use pidone_sys::Signal;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

/// Capability numbers (linux/capability.h).
const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// The readiness line every tracer prints on stderr once its programs are attached: from
/// then on no event is missed. Tests and benchmarks wait for it.
pub const READY_LINE: &str = "pidone: trace: attached";

/// Decide from a `CapEff:` mask whether BPF tracing is allowed: CAP_BPF and CAP_PERFMON
/// (kernel 5.8+), or CAP_SYS_ADMIN, which implies both. Returns the missing names.
pub fn missing_capabilities(cap_eff: u64) -> Vec<&'static str> {
    let has = |n: u32| cap_eff & (1u64 << n) != 0;
    if has(CAP_SYS_ADMIN) {
        return Vec::new();
    }
    let mut missing = Vec::new();
    if !has(CAP_BPF) {
        missing.push("CAP_BPF");
    }
    if !has(CAP_PERFMON) {
        missing.push("CAP_PERFMON");
    }
    missing
}

/// The `CapEff:` mask in a `/proc/PID/status` text.
pub fn parse_cap_eff(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

/// Fail early, with the capability named, when this process may not load BPF programs.
pub fn check_privileges() -> Result<(), TraceError> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| TraceError::Io {
        op: "reading /proc/self/status".into(),
        source: e,
    })?;
    let missing = parse_cap_eff(&status).map_or_else(|| vec!["CAP_BPF", "CAP_PERFMON"], missing_capabilities);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(TraceError::Privileges {
            missing: missing.join(" and "),
        })
    }
}

/// Whether an error chain bottoms out in EPERM or EACCES (a refused bpf(2) call: a seccomp
/// profile, a lockdown, a user namespace without the capability in the initial one).
fn is_permission_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if matches!(io.raw_os_error(), Some(1 | 13)) {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

/// Where the running kernel describes its own types; CO-RE relocations are computed from it.
pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// How to load one object.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions<'a> {
    /// `volatile const` globals (u32). They must exist in the object: a misspelt name is a
    /// bug we want to see, not a silently unset filter.
    pub globals: &'a [(&'a str, u32)],
    /// Maps whose size is changed before they are created.
    pub max_entries: &'a [(&'a str, u32)],
    /// The programs that will be loaded read kernel structs through CO-RE.
    pub core: bool,
}

/// Load an embedded object (maps created, programs not yet loaded).
pub fn load(what: &'static str, object: &[u8], opts: LoadOptions<'_>) -> Result<Ebpf, TraceError> {
    // aya falls back to no relocation at all when the kernel has no BTF, which would make
    // every CO-RE read use our placeholder offsets: refuse instead.
    if opts.core && !std::path::Path::new(KERNEL_BTF).exists() {
        return Err(TraceError::NoKernelBtf);
    }
    // Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK (64 KiB by default); later ones
    // use the memory cgroup and ignore it. Raising it is best effort: if it fails, the load
    // error that follows says what was refused.
    let _best_effort = nix::sys::resource::setrlimit(
        nix::sys::resource::Resource::RLIMIT_MEMLOCK,
        nix::sys::resource::RLIM_INFINITY,
        nix::sys::resource::RLIM_INFINITY,
    );
    if !opts.core {
        hide_kernel_btf();
    }
    let mut loader = EbpfLoader::new();
    for (name, value) in opts.globals {
        loader.override_global(name, value, true);
    }
    for (name, n) in opts.max_entries {
        loader.map_max_entries(name, *n);
    }
    loader.load(object).map_err(|source| {
        if is_permission_error(&source) {
            TraceError::Refused {
                what: format!("loading the {what} BPF object"),
                source: Box::new(source),
            }
        } else {
            TraceError::Load { what, source }
        }
    })
}

/// aya 0.14's `EbpfLoader::new()` always reads and parses the kernel's whole BTF (5.5 MB,
/// ~12 ms of a ~17 ms start here), even when nothing will be relocated, and has no way to skip
/// it. When the programs to load read no kernel struct (`syscalls` without `-f`), hide the
/// file from this process only, so the parse fails at once and aya loads without BTF
/// (measured: attached in ~6 ms instead of ~17 ms):
///   1. a mount namespace of our own (unshare(CLONE_NEWNS));
///   2. every mount in it made a slave, so nothing we mount propagates back to the host's
///      mount namespace. If this fails we stop here: mounting over a shared mount would hide
///      the BTF from the whole machine;
///   3. an empty read-only tmpfs over /sys/kernel/btf.
///
/// Best effort: without CAP_SYS_ADMIN (CAP_BPF+CAP_PERFMON only) step 1 fails, nothing is
/// changed and aya parses the BTF as usual. Returns whether the BTF is hidden. The tracer
/// exits when done, taking its mount namespace with it.
fn hide_kernel_btf() -> bool {
    use nix::mount::{mount, MsFlags};
    use nix::sched::{unshare, CloneFlags};
    if unshare(CloneFlags::CLONE_NEWNS).is_err() {
        return false;
    }
    let none: Option<&str> = None;
    if mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_SLAVE, none).is_err() {
        return false;
    }
    let flags = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("none"), "/sys/kernel/btf", Some("tmpfs"), flags, none).is_ok()
}

/// Load program `prog` of `bpf` into the kernel and attach it to raw tracepoint `tp`.
/// The link lives as long as `bpf`: dropping it (or exiting) detaches and unloads.
pub fn attach_raw(bpf: &mut Ebpf, prog: &'static str, tp: &'static str) -> Result<(), TraceError> {
    let program: &mut RawTracePoint = bpf
        .program_mut(prog)
        .ok_or(TraceError::MissingInObject { name: prog })?
        .try_into()
        .map_err(|source| TraceError::Program { prog, source })?;
    let wrap = |source: aya::programs::ProgramError| {
        if is_permission_error(&source) {
            TraceError::Refused {
                what: format!("loading BPF program {prog}"),
                source: Box::new(source),
            }
        } else {
            TraceError::Program { prog, source }
        }
    };
    program.load().map_err(wrap)?;
    program.attach(tp).map_err(wrap)?;
    Ok(())
}

/// Take the object's `events` ring buffer out of `bpf`.
pub fn take_ring(bpf: &mut Ebpf) -> Result<RingBuf<MapData>, TraceError> {
    let map = bpf
        .take_map("events")
        .ok_or(TraceError::MissingInObject { name: "events" })?;
    RingBuf::try_from(map).map_err(|source| TraceError::Map {
        name: "events",
        source,
    })
}

/// Hand every record of `ring` to `on_record` until a stop signal or the deadline; returns
/// why it ended, or `None` when `on_record` returned `Ok(false)` (the output was closed).
///
/// Drain, then wait; after a stop, drain once more: records written before the stop signal
/// arrived are in the ring already and belong in the output.
pub fn pump(
    sess: &mut Session,
    ring: &mut RingBuf<MapData>,
    mut on_record: impl FnMut(&[u8]) -> Result<bool, TraceError>,
) -> Result<Option<String>, TraceError> {
    let mut ending: Option<String> = None;
    loop {
        while let Some(item) = ring.next() {
            if !on_record(&item)? {
                return Ok(None);
            }
        }
        if ending.is_some() {
            return Ok(ending);
        }
        match sess.wait(Some(ring.as_fd()), None)? {
            Wake::Ready => {}
            wake => ending = wake.reason(),
        }
    }
}

/// The total of the `dropped` counter every object has: records the ring buffer had no room for.
pub fn dropped(bpf: &Ebpf) -> u64 {
    let Some(map) = bpf.map("dropped") else {
        return 0;
    };
    match aya::maps::Array::<_, u64>::try_from(map) {
        Ok(a) => a.get(&0, 0).unwrap_or(0),
        Err(_) => 0,
    }
}

/// Why [`Session::wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The ring buffer has records (or the tick passed).
    Ready,
    /// SIGINT, SIGTERM or SIGHUP arrived: end with the summary.
    Stop(Signal),
    /// `-d SECS` passed.
    Deadline,
}

impl Wake {
    /// Why a tracer ended, for its summary: `stopped by SIGINT`, `duration reached`.
    pub fn reason(self) -> Option<String> {
        match self {
            Wake::Ready => None,
            Wake::Stop(sig) => Some(format!("stopped by {sig}")),
            Wake::Deadline => Some("duration reached".to_string()),
        }
    }
}

/// The stop signals and the deadline of one tracer run.
pub struct Session {
    signals: SignalFd,
    deadline: Option<Instant>,
    started: Instant,
    pub clock: Clock,
}

impl Session {
    /// Block SIGINT, SIGTERM and SIGHUP and receive them on a signalfd, so that Ctrl-C
    /// becomes an event of the loop and the summary is printed. Done before anything is
    /// loaded: a Ctrl-C during the load is kept pending, not lost. The tracer is single
    /// threaded, so blocking on this thread blocks for the process.
    pub fn start(duration: Option<Duration>) -> Result<Session, TraceError> {
        let mut set = SigSet::empty();
        for s in [NixSignal::SIGINT, NixSignal::SIGTERM, NixSignal::SIGHUP] {
            set.add(s);
        }
        nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
            .map_err(|e| TraceError::sys("sigprocmask(SIG_BLOCK, INT|TERM|HUP)", e))?;
        let signals = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .map_err(|e| TraceError::sys("signalfd", e))?;
        let started = Instant::now();
        Ok(Session {
            signals,
            deadline: duration.map(|d| started + d),
            started,
            clock: Clock::now()?,
        })
    }

    /// Time since the session started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Wait for records on `ring`, a stop signal, the deadline, or at most `tick`.
    pub fn wait(&mut self, ring: Option<BorrowedFd<'_>>, tick: Option<Duration>) -> Result<Wake, TraceError> {
        if let Some(sig) = self.pending_stop()? {
            return Ok(Wake::Stop(sig));
        }
        let now = Instant::now();
        let mut timeout = tick;
        if let Some(d) = self.deadline {
            if now >= d {
                return Ok(Wake::Deadline);
            }
            let left = d - now;
            timeout = Some(timeout.map_or(left, |t| t.min(left)));
        }
        let t = match timeout {
            None => PollTimeout::NONE,
            Some(d) => {
                // Round up: a deadline 0.3 ms away must not become a busy loop of 0 ms polls.
                let ms = d.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = vec![PollFd::new(self.signals.as_fd(), PollFlags::POLLIN)];
        if let Some(r) = ring {
            fds.push(PollFd::new(r, PollFlags::POLLIN));
        }
        match poll(&mut fds, t) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(TraceError::sys("poll", e)),
        }
        if let Some(sig) = self.pending_stop()? {
            return Ok(Wake::Stop(sig));
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(Wake::Deadline);
        }
        Ok(Wake::Ready)
    }

    fn pending_stop(&mut self) -> Result<Option<Signal>, TraceError> {
        match self.signals.read_signal() {
            Ok(Some(info)) => Ok(Signal::from_raw(info.ssi_signo as i32)),
            Ok(None) | Err(nix::errno::Errno::EAGAIN) => Ok(None),
            Err(e) => Err(TraceError::sys("read(signalfd)", e)),
        }
    }
}

/// Maps BPF timestamps (CLOCK_MONOTONIC, `bpf_ktime_get_ns`) to wall-clock time.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    mono_ns: u64,
    real_ns: u64,
}

fn ns_of(c: ClockId) -> Result<u64, TraceError> {
    let t = clock_gettime(c).map_err(|e| TraceError::sys("clock_gettime", e))?;
    Ok(t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
}

impl Clock {
    pub fn now() -> Result<Clock, TraceError> {
        Ok(Clock {
            mono_ns: ns_of(ClockId::CLOCK_MONOTONIC)?,
            real_ns: ns_of(ClockId::CLOCK_REALTIME)?,
        })
    }

    /// A clock with fixed readings, for tests.
    pub fn fixed(mono_ns: u64, real_ns: u64) -> Clock {
        Clock { mono_ns, real_ns }
    }

    /// Unix time in nanoseconds of a BPF timestamp.
    pub fn unix_ns(&self, ts_ns: u64) -> u64 {
        (self.real_ns + ts_ns).saturating_sub(self.mono_ns)
    }

    /// `HH:MM:SS.uuuuuu` (UTC) of a BPF timestamp.
    pub fn hms(&self, ts_ns: u64) -> String {
        let ns = self.unix_ns(ts_ns);
        let secs = ns / 1_000_000_000;
        let day = secs % 86_400;
        format!(
            "{:02}:{:02}:{:02}.{:06}",
            day / 3600,
            day / 60 % 60,
            day % 60,
            ns % 1_000_000_000 / 1000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_capabilities() {
        assert!(missing_capabilities(0x000001ffffffffff).is_empty()); // root
        assert!(missing_capabilities(1 << CAP_SYS_ADMIN).is_empty());
        assert!(missing_capabilities((1 << CAP_BPF) | (1 << CAP_PERFMON)).is_empty());
        assert_eq!(missing_capabilities(1 << CAP_BPF), vec!["CAP_PERFMON"]);
        assert_eq!(missing_capabilities(0), vec!["CAP_BPF", "CAP_PERFMON"]);
    }

    #[test]
    fn cap_eff_from_status() {
        let status = "Name:\tcat\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\nCapBnd:\t0\n";
        assert_eq!(parse_cap_eff(status), Some(0x1ffffffffff));
        assert_eq!(parse_cap_eff("Name:\tx\n"), None);
    }

    #[test]
    fn clock_maps_monotonic_to_wall_time() {
        // mono 100 s = 2026-11-29 08:00:00 UTC
        let c = Clock::fixed(
            100_000_000_000,
            1_795_910_400_000_000_000 + 8 * 3600 * 1_000_000_000,
        );
        assert_eq!(c.hms(100_000_000_000), "08:00:00.000000");
        assert_eq!(c.hms(161_500_000_000 + 1234), "08:01:01.500001");
    }
}
