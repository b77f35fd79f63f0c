//! End-to-end tests of pidone as the entrypoint of real containers.
//!
//! The harness starts containers with a real OCI runtime (`runc`, from a bundle it builds on the
//! fly) and with a real Docker engine it starts itself, stops them the way `docker stop` does
//! (SIGTERM to the container's init, SIGKILL 10 s later), and checks from outside: how the stop
//! ended and how long it took, the exit status, the processes left, the zombies, and pidone's log.
//! The same scenarios run under Debian's tini and with no init, for comparison: see docs/e2e.md.
//!
//! Every test here fails, saying exactly why, when runc, tini, dockerd or debootstrap is missing
//! or cannot work on the machine: nothing is skipped.
#![forbid(unsafe_code)]

pub mod capture;
pub mod docker;
pub mod outcome;
pub mod procs;
pub mod runc;
pub mod scenario;
pub mod util;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

/// The static release pidone: `cargo build --release -p pidone` first (a no-op when it is up to
/// date; scripts/test.sh builds it before the tests), then its path under the target folder.
pub fn pidone_binary() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(util::workspace_root())
        .args(["build", "--release", "-p", "pidone", "-j", "1"]);
    util::run(&mut cmd, Duration::from_secs(900))?.ok("cargo build --release -p pidone")?;
    let bin = util::target_dir().join("x86_64-unknown-linux-gnu/release/pidone");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "cargo build --release -p pidone succeeded but {} does not exist",
            bin.display()
        ))
    }
}

/// The folder every container sees at /app: examples/bad-parent/parent.py and the fixtures.
pub fn app_dir() -> Result<util::TempDir, String> {
    let dir = util::TempDir::new("pidone-e2e-app")?;
    let root = util::workspace_root();
    util::copy_files(&root.join("examples/bad-parent"), dir.path())?;
    util::copy_files(&root.join("crates/e2e/fixtures"), dir.path())?;
    if !dir.path().join("parent.py").is_file() {
        return Err("examples/bad-parent/parent.py is missing from the workspace".into());
    }
    Ok(dir)
}

/// Run `jobs` on `workers` threads; results in the order of `jobs`.
///
/// The runs mostly wait (for a grace period or the runtime's 10 s), so a few at once shorten the
/// suite without loading the 2-core machine.
pub fn run_parallel<J: Sync, R: Send>(jobs: &[J], workers: usize, f: impl Fn(&J) -> R + Sync) -> Vec<R> {
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(jobs.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| loop {
                let i = {
                    let Ok(mut n) = next.lock() else { return };
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(job) = jobs.get(i) else { return };
                let r = f(job);
                if let Ok(mut all) = results.lock() {
                    all[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}
