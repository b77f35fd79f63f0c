//! Containers started with `runc run`, from an OCI bundle built on the fly, stopped the way
//! `docker stop` stops a container: `runc kill ID TERM`, up to 10 s, then `runc kill ID KILL`.
//!
//! The bundle's rootfs is a read-only, nearly empty folder: the host's /usr and /etc are bind
//! mounted read-only into it, /bin, /lib, /lib64 and /sbin are recreated as the same symlinks
//! when the host has them as symlinks into /usr (Debian 12's merged /usr) or bind mounted when they
//! are real folders, the app folder is bound at /app and pidone at /pidone, /tmp is a tmpfs.
//! The config is `runc spec`'s, edited: no terminal, the init's argv, a pids limit, no core dumps.

use crate::capture::{self, Capture};
use crate::outcome::{Outcome, Stop};
use crate::scenario::{Init, Scenario, PIDS_LIMIT, RUNTIME_STOP_TIMEOUT_SECS};
use crate::util::{self, TempDir};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CMD_TIMEOUT: Duration = Duration::from_secs(30);
/// Where tini is inside the container (the host's /usr is mounted there).
pub const TINI: &str = "/usr/bin/tini-static";

/// The runc binary, with a state folder of our own so our containers never mix with anyone's.
#[derive(Debug)]
pub struct Runc {
    bin: PathBuf,
    root: TempDir,
    pub version: String,
}

impl Runc {
    /// Find runc and check that it runs; the error says exactly what is missing.
    pub fn find() -> Result<Self, String> {
        util::require_root()?;
        let bin = util::find_program("runc").ok_or(
            "runc not found in PATH or /usr/sbin: install Debian's `runc` package (listed in .ci/apt/e2e.txt)",
        )?;
        let version = util::run(Command::new(&bin).arg("--version"), CMD_TIMEOUT)?
            .ok("runc --version")?
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        Ok(Runc {
            bin,
            root: TempDir::new("pidone-e2e-runc-state")?,
            version,
        })
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(self.root.path());
        c
    }

    fn spec(&self, bundle: &Path) -> Result<Value, String> {
        util::run(self.cmd().args(["spec", "--bundle"]).arg(bundle), CMD_TIMEOUT)?.ok("runc spec")?;
        let path = bundle.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("parse {}: {e}", path.display()))
    }

    fn kill(&self, id: &str, sig: &str) -> Result<(), String> {
        util::run(self.cmd().args(["kill", id, sig]), CMD_TIMEOUT)?
            .ok(&format!("runc kill {id} {sig}"))
            .map(drop)
    }

    fn init_pid(&self, id: &str) -> Result<u32, String> {
        let out = util::run(self.cmd().args(["state", id]), CMD_TIMEOUT)?.ok(&format!("runc state {id}"))?;
        let v: Value = serde_json::from_str(&out).map_err(|e| format!("runc state {id}: {e}: {out}"))?;
        v["pid"]
            .as_u64()
            .map(|p| p as u32)
            .ok_or_else(|| format!("runc state {id} has no pid: {out}"))
    }

    /// `deleted` when runc no longer knows `id`, else its status (`stopped`, `running`, ...).
    fn state_after(&self, id: &str) -> String {
        match util::run(self.cmd().args(["state", id]), CMD_TIMEOUT) {
            Ok(out) if out.status.success() => serde_json::from_str::<Value>(&out.stdout)
                .ok()
                .and_then(|v| v["status"].as_str().map(str::to_string))
                .unwrap_or_else(|| format!("unreadable state: {}", out.stdout.trim())),
            Ok(out) if out.stderr.contains("does not exist") => "deleted".into(),
            Ok(out) => format!("unknown: {}", out.stderr.trim()),
            Err(e) => format!("unknown: {e}"),
        }
    }

    fn delete(&self, id: &str) {
        // The container may already be gone (runc run deletes it when its init exits).
        let _ = util::run(self.cmd().args(["delete", "-f", id]), CMD_TIMEOUT);
    }
}

/// What the container runs and sees.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The static pidone binary on the host.
    pub pidone: PathBuf,
    /// The host folder mounted at /app (parent.py and the fixtures).
    pub app: PathBuf,
}

/// The init's argv inside the container for `sc`.
pub fn argv(init: Init, sc: &Scenario) -> Vec<String> {
    let prefix: &[&str] = match init {
        Init::Pidone => &["/pidone", "--"],
        Init::Tini => &[TINI, "--"],
        Init::None => &[],
    };
    prefix.iter().chain(sc.argv).map(|s| s.to_string()).collect()
}

/// Make the bundle in `dir`: rootfs and config.json (see the module doc).
pub fn make_bundle(runc: &Runc, dir: &Path, setup: &Setup, args: Vec<String>) -> Result<(), String> {
    let rootfs = dir.join("rootfs");
    let mkdir = |p: &Path| std::fs::create_dir_all(p).map_err(|e| format!("create {}: {e}", p.display()));
    for d in ["usr", "etc", "proc", "dev", "sys", "tmp", "app"] {
        mkdir(&rootfs.join(d))?;
    }
    std::fs::write(rootfs.join("pidone"), b"").map_err(|e| format!("create the /pidone mount point: {e}"))?;

    let mut binds: Vec<(PathBuf, String)> = vec![
        (PathBuf::from("/usr"), "/usr".into()),
        (PathBuf::from("/etc"), "/etc".into()),
        (setup.app.clone(), "/app".into()),
        (setup.pidone.clone(), "/pidone".into()),
    ];
    // Merged /usr (Debian 12): /bin -> usr/bin etc. Recreate symlinks as symlinks (a bind mount
    // would follow them to the host's /usr/bin and hide nothing, but a symlink keeps the layout
    // identical to the host's); bind real folders.
    for d in ["bin", "lib", "lib64", "sbin"] {
        let host = Path::new("/").join(d);
        match std::fs::symlink_metadata(&host) {
            Ok(m) if m.file_type().is_symlink() => {
                let target =
                    std::fs::read_link(&host).map_err(|e| format!("readlink {}: {e}", host.display()))?;
                std::os::unix::fs::symlink(&target, rootfs.join(d))
                    .map_err(|e| format!("symlink {d} -> {}: {e}", target.display()))?;
            }
            Ok(m) if m.is_dir() => {
                mkdir(&rootfs.join(d))?;
                binds.push((host, format!("/{d}")));
            }
            _ => {} // absent on this host (e.g. no /lib64): absent in the container too
        }
    }

    let mut cfg = runc.spec(dir)?;
    cfg["process"]["terminal"] = json!(false);
    cfg["process"]["args"] = json!(args);
    cfg["process"]["rlimits"] = json!([
        {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024},
        {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}
    ]);
    cfg["root"] = json!({"path": "rootfs", "readonly": true});
    let mounts = cfg["mounts"]
        .as_array_mut()
        .ok_or("runc spec has no mounts array")?;
    for (src, dest) in binds {
        mounts.push(
            json!({"destination": dest, "type": "bind", "source": src, "options": ["rbind", "ro", "nosuid"]}),
        );
    }
    mounts.push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777", "size=64m"]}));
    cfg["linux"]["resources"]["pids"] = json!({"limit": PIDS_LIMIT});
    let text = serde_json::to_string_pretty(&cfg).map_err(|e| format!("serialize config.json: {e}"))?;
    std::fs::write(dir.join("config.json"), text).map_err(|e| format!("write config.json: {e}"))
}

/// Run one short-lived container with `args` and return its output, or say exactly why runc cannot
/// run containers on this machine (cgroups, namespaces, mounts): the tests call this first, so a
/// broken runtime fails in seconds with runc's own message.
pub fn preflight(runc: &Runc, setup: &Setup, args: &[&str]) -> Result<String, String> {
    let bundle = TempDir::new("pidone-e2e-bundle")?;
    make_bundle(
        runc,
        bundle.path(),
        setup,
        args.iter().map(|s| s.to_string()).collect(),
    )?;
    let id = util::unique("pidone-e2e-preflight");
    let mut c = runc.cmd();
    c.args(["run", "--bundle"]).arg(bundle.path()).arg(&id);
    let what = util::describe(&c);
    let out = util::run(&mut c, CMD_TIMEOUT);
    runc.delete(&id);
    out?.ok(&what)
}

/// Run `sc` under `init` in a runc container, stop it like `docker stop`, and report what was seen.
pub fn run_scenario(runc: &Runc, setup: &Setup, init: Init, sc: &Scenario) -> Outcome {
    let mut o = Outcome::new("runc", init, sc.name);
    let id = util::unique(&format!("pidone-e2e-{}-{}", init.name(), sc.name));
    if let Err(e) = run_inner(runc, setup, init, sc, &id, &mut o) {
        o.error = Some(e);
    }
    runc.delete(&id);
    o
}

fn run_inner(
    runc: &Runc,
    setup: &Setup,
    init: Init,
    sc: &Scenario,
    id: &str,
    o: &mut Outcome,
) -> Result<(), String> {
    let bundle = TempDir::new("pidone-e2e-bundle")?;
    make_bundle(runc, bundle.path(), setup, argv(init, sc))?;

    let mut child = runc
        .cmd()
        .args(["run", "--bundle"])
        .arg(bundle.path())
        .arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start runc run: {e}"))?;
    let (tx, ready) = capture::ready_channel();
    let out = Capture::start(child.stdout.take(), Some(tx));
    let err = Capture::start(child.stderr.take(), None);

    let result = stop_when_ready(runc, id, &mut child, &ready, o);
    if result.is_err() && child.try_wait().ok().flatten().is_none() {
        runc.delete(id);
        // Our own `runc run` process: kill it by its pid if deleting the container did not end it.
        if util::wait_timeout(&mut child, Duration::from_secs(5)).is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    o.output = out.finish(Duration::from_secs(5));
    o.log = err.finish(Duration::from_secs(5));
    result
}

fn stop_when_ready(
    runc: &Runc,
    id: &str,
    child: &mut std::process::Child,
    ready: &std::sync::mpsc::Receiver<()>,
    o: &mut Outcome,
) -> Result<(), String> {
    if ready.recv_timeout(Duration::from_secs(60)).is_err() {
        let how = match child.try_wait() {
            Ok(Some(s)) => format!("runc run exited with {s}"),
            _ => "still running".into(),
        };
        return Err(format!("no `ready` line within 60 s ({how})"));
    }
    let (ns, before) = capture::settle(runc.init_pid(id)?)?;
    o.procs = before.len();
    o.zombies = before.iter().filter(|p| p.is_zombie()).count();

    // docker stop: SIGTERM to the container's init, then SIGKILL after the timeout.
    let t0 = Instant::now();
    runc.kill(id, "TERM")?;
    let status = match util::wait_timeout(child, Duration::from_secs(RUNTIME_STOP_TIMEOUT_SECS)) {
        Some(s) => {
            o.stop = Stop::ByTerm;
            Some(s)
        }
        None => {
            // The init may exit between the timeout and this kill: that is still a runtime kill.
            let _ = runc.kill(id, "KILL");
            let s = util::wait_timeout(child, Duration::from_secs(5));
            o.stop = if s.is_some() {
                Stop::ByRuntimeKill
            } else {
                Stop::Never
            };
            s
        }
    };
    o.stop_secs = t0.elapsed().as_secs_f64();
    o.exit = status.map(util::shell_status);
    o.leftovers = capture::leftovers(&ns, &before);
    o.state_after = runc.state_after(id);
    match status {
        Some(_) => Ok(()),
        None => Err("the container did not exit even after SIGKILL".into()),
    }
}
