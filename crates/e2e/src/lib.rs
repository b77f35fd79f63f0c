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

/// Every (init, scenario) pair, in table order.
pub fn all_jobs() -> Vec<(scenario::Init, scenario::Scenario)> {
    scenario::all()
        .into_iter()
        .flat_map(|sc| scenario::Init::ALL.map(|init| (init, sc)))
        .collect()
}

/// Show the comparison table and pidone's bad-parent log in the test output (also when the test
/// passes), write the table to `<target>/e2e-<runtime>-table.md`, and check every run: pidone's
/// facts for pidone, the control facts for the others. `Err` lists every broken fact with the
/// run's full output, then the table.
pub fn publish_and_check(title: &str, outcomes: &[outcome::Outcome]) -> Result<(), String> {
    use scenario::Init;
    let tbl = outcome::table(outcomes);
    util::show(&format!("{title}:\n{tbl}"));
    if let Some(o) = outcomes.first() {
        let _ = std::fs::write(
            util::target_dir().join(format!("e2e-{}-table.md", o.runtime)),
            &tbl,
        );
    }
    if let Some(o) = outcomes
        .iter()
        .find(|o| o.init == Init::Pidone && o.scenario == "bad-parent")
    {
        util::show(&format!(
            "{} output of bad-parent under pidone (stdout, then stderr):\n{}{}",
            o.runtime, o.output, o.log
        ));
    }
    let failures: Vec<String> = outcomes
        .iter()
        .filter_map(|o| {
            let bad = match o.init {
                Init::Pidone => scenario::check_pidone(o),
                _ => scenario::check_control(o),
            };
            (!bad.is_empty()).then(|| format!("{}\n  {}\n{}", o.scenario, bad.join("\n  "), outcome::dump(o)))
        })
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} runs broke their facts:\n{}\n\n{tbl}",
            failures.len(),
            failures.join("\n\n")
        ))
    }
}
