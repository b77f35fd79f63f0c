//! A real Docker engine, started by the harness itself, and `docker stop` as the stop.
//!
//! The engine is Debian's `dockerd` (package docker.io) with everything of its own under a
//! temporary folder: `--host unix://<tmp>/docker.sock`, `--data-root`, `--exec-root`, `--pidfile`,
//! and no iptables rules or bridge (containers run with `--network none`). It is stopped by the pid
//! the harness started, never by name. The client is Debian's `/usr/bin/docker` from the same
//! package (20.10), which always speaks the engine's API version.
//!
//! The base image is Debian bookworm made with `debootstrap --variant=minbase --include=python3`,
//! cached as a tarball (see [`base_tarball`]) and `docker import`ed; pidone's image is built with
//! `docker build` from `examples/docker/Dockerfile` (`ENTRYPOINT ["/pidone", "--"]`).

use crate::capture::{self, Capture};
use crate::outcome::{Outcome, Stop};
use crate::scenario::{Init, Scenario, PIDS_LIMIT, RUNTIME_STOP_TIMEOUT_SECS};
use crate::util::{self, TempDir};
use pidone_sys::process::kill_process;
use pidone_sys::{Pid, Signal};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's docker client, the same version as its engine.
pub const CLIENT: &str = "/usr/bin/docker";
/// The tag of the imported debootstrap image.
pub const BASE_IMAGE: &str = "pidone-e2e-base:bookworm";
/// The tag of the image built from examples/docker/Dockerfile on [`BASE_IMAGE`].
pub const PIDONE_IMAGE: &str = "pidone-e2e:latest";
/// The same Dockerfile built `FROM scratch`: nothing but pidone and the app files, which proves
/// the binary is static.
pub const SCRATCH_IMAGE: &str = "pidone-e2e:scratch";

const CMD_TIMEOUT: Duration = Duration::from_secs(60);

/// A running Docker engine that this process started.
#[derive(Debug)]
pub struct Engine {
    child: Child,
    sock: PathBuf,
    log: PathBuf,
    pub version: String,
    // Last, so it is removed after the engine has stopped.
    dir: TempDir,
}

impl Engine {
    /// Start dockerd and wait until it answers; the error says exactly why it could not start.
    pub fn start() -> Result<Self, String> {
        util::require_root()?;
        let dockerd = util::find_program("dockerd").ok_or(
            "dockerd not found in PATH or /usr/sbin: install Debian's `docker.io` package (listed in .ci/apt/e2e.txt)",
        )?;
        if !Path::new(CLIENT).is_file() {
            return Err(format!(
                "{CLIENT} not found: install Debian's `docker.io` package (listed in .ci/apt/e2e.txt)"
            ));
        }
        let dir = TempDir::new("pidone-e2e-docker")?;
        let sock = dir.path().join("docker.sock");
        let log = dir.path().join("dockerd.log");
        let out = File::create(&log).map_err(|e| format!("create {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| format!("dup the dockerd log: {e}"))?;
        let child = Command::new(&dockerd)
            .args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
            .arg(format!("--host=unix://{}", sock.display()))
            .arg(format!("--data-root={}", dir.path().join("data").display()))
            .arg(format!("--exec-root={}", dir.path().join("exec").display()))
            .arg(format!("--pidfile={}", dir.path().join("docker.pid").display()))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", dockerd.display()))?;
        let mut engine = Engine {
            child,
            sock,
            log,
            version: String::new(),
            dir,
        };

        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = engine.child.try_wait() {
                return Err(format!(
                    "dockerd exited with {status} while starting:\n{}",
                    engine.log_tail()
                ));
            }
            let answer = util::run(
                engine
                    .docker()
                    .args(["version", "--format", "{{.Server.Version}}"]),
                CMD_TIMEOUT,
            );
            if let Ok(out) = answer {
                if out.status.success() {
                    engine.version = out.stdout.trim().to_string();
                    return Ok(engine);
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "dockerd did not answer on {} within 60 s:\n{}",
                    engine.sock.display(),
                    engine.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The engine's folder (data, exec state, socket, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The last lines of dockerd's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(25)..].join("\n")
    }

    /// A docker client command talking to this engine.
    pub fn docker(&self) -> Command {
        let mut c = Command::new(CLIENT);
        c.env("DOCKER_BUILDKIT", "0")
            .arg(format!("--host=unix://{}", self.sock.display()));
        c
    }

    fn docker_ok(&self, args: &[&str], timeout: Duration) -> Result<String, String> {
        let mut c = self.docker();
        c.args(args);
        let what = util::describe(&c);
        util::run(&mut c, timeout)?.ok(&what)
    }

    /// `docker import` the cached debootstrap tarball as [`BASE_IMAGE`].
    pub fn import_base(&self, tarball: &Path) -> Result<(), String> {
        let t = tarball.to_string_lossy();
        self.docker_ok(&["import", &t, BASE_IMAGE], Duration::from_secs(300))
            .map(drop)
    }

    /// `docker build` examples/docker/Dockerfile with pidone and the app folder as context.
    ///
    /// `base` is the Dockerfile's `BASE` build argument, `tag` the image's name.
    pub fn build_pidone_image(
        &self,
        pidone: &Path,
        app: &Path,
        base: &str,
        tag: &str,
    ) -> Result<String, String> {
        let ctx = TempDir::new("pidone-e2e-build")?;
        let dockerfile = util::workspace_root().join("examples/docker/Dockerfile");
        std::fs::copy(&dockerfile, ctx.path().join("Dockerfile"))
            .map_err(|e| format!("copy {}: {e}", dockerfile.display()))?;
        std::fs::copy(pidone, ctx.path().join("pidone"))
            .map_err(|e| format!("copy {}: {e}", pidone.display()))?;
        let app_ctx = ctx.path().join("app");
        std::fs::create_dir(&app_ctx).map_err(|e| format!("create {}: {e}", app_ctx.display()))?;
        util::copy_files(app, &app_ctx)?;
        let c = ctx.path().to_string_lossy().into_owned();
        let base = format!("BASE={base}");
        self.docker_ok(
            &["build", "--build-arg", &base, "-t", tag, &c],
            Duration::from_secs(300),
        )
    }

    /// `docker run --rm` of pidone's image with `args`: says exactly why the engine cannot run
    /// containers on this machine, in seconds, before any scenario runs.
    pub fn preflight(&self, image: &str, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["run", "--rm", "--network", "none", image];
        all.extend(args);
        self.docker_ok(&all, CMD_TIMEOUT)
    }

    /// Run `sc` under `init`, stop it with `docker stop`, and report what was seen.
    pub fn run_scenario(&self, init: Init, sc: &Scenario) -> Outcome {
        self.run_scenario_with(init, sc, &[])
    }

    /// [`Engine::run_scenario`] with extra `docker run` options (`-e`, `-v`, ...).
    pub fn run_scenario_with(&self, init: Init, sc: &Scenario, options: &[&str]) -> Outcome {
        let mut o = Outcome::new("docker", init, sc.name);
        let name = util::unique(&format!("pidone-e2e-{}-{}", init.name(), sc.name));
        if let Err(e) = self.run_inner(init, sc, options, &name, &mut o) {
            o.error = Some(e);
        }
        if let Ok(out) = util::run(self.docker().args(["logs", &name]), CMD_TIMEOUT) {
            o.output = out.stdout;
            o.log = out.stderr;
        }
        let _ = util::run(self.docker().args(["rm", "-f", &name]), CMD_TIMEOUT);
        o
    }

    fn run_inner(
        &self,
        init: Init,
        sc: &Scenario,
        options: &[&str],
        name: &str,
        o: &mut Outcome,
    ) -> Result<(), String> {
        let pids = PIDS_LIMIT.to_string();
        let mut args: Vec<&str> = vec![
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            "--ulimit",
            "core=0",
            "--pids-limit",
            &pids,
        ];
        args.extend(options);
        match init {
            // The image's own ENTRYPOINT ["/pidone", "--"]: the scenario is the CMD.
            Init::Pidone => args.extend([PIDONE_IMAGE].iter().chain(sc.argv)),
            // docker run --init: the engine's docker-init (tini) is PID 1.
            Init::Tini => args.extend(
                ["--init", "--entrypoint", sc.argv[0], PIDONE_IMAGE]
                    .iter()
                    .chain(&sc.argv[1..]),
            ),
            Init::None => args.extend(
                ["--entrypoint", sc.argv[0], PIDONE_IMAGE]
                    .iter()
                    .chain(&sc.argv[1..]),
            ),
        }
        self.docker_ok(&args, CMD_TIMEOUT)?;

        // Follow the logs for the `ready` line.
        let mut follow = self
            .docker()
            .args(["logs", "-f", name])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start docker logs -f: {e}"))?;
        let (tx, ready) = capture::ready_channel();
        let watch = Capture::start(follow.stdout.take(), Some(tx));
        let got_ready = ready.recv_timeout(Duration::from_secs(60)).is_ok();
        let result = if got_ready {
            self.stop_and_observe(name, o)
        } else {
            Err(format!(
                "no `ready` line within 60 s; stdout so far: {}",
                watch.text()
            ))
        };
        // Our own `docker logs -f` process: it ends with the container; kill it by pid otherwise.
        if util::wait_timeout(&mut follow, Duration::from_secs(5)).is_none() {
            let _ = follow.kill();
            let _ = follow.wait();
        }
        let _ = watch.finish(Duration::from_secs(1));
        result
    }

    fn inspect(&self, name: &str, format: &str) -> Result<String, String> {
        self.docker_ok(&["inspect", "--format", format, name], CMD_TIMEOUT)
            .map(|s| s.trim().to_string())
    }

    fn stop_and_observe(&self, name: &str, o: &mut Outcome) -> Result<(), String> {
        let pid: u32 = self
            .inspect(name, "{{.State.Pid}}")?
            .parse()
            .map_err(|e| format!("container pid: {e}"))?;
        let (ns, before) = capture::settle(pid)?;
        o.procs = before.len();
        o.zombies = before.iter().filter(|p| p.is_zombie()).count();

        let t0 = Instant::now();
        let timeout = RUNTIME_STOP_TIMEOUT_SECS.to_string();
        self.docker_ok(
            &["stop", "-t", &timeout, name],
            Duration::from_secs(RUNTIME_STOP_TIMEOUT_SECS + 30),
        )?;
        o.stop_secs = t0.elapsed().as_secs_f64();
        let running = self.inspect(name, "{{.State.Running}}")?;
        o.stop = if running != "false" {
            Stop::Never
        } else if o.stop_secs < RUNTIME_STOP_TIMEOUT_SECS as f64 {
            Stop::ByTerm
        } else {
            Stop::ByRuntimeKill
        };
        o.exit = self.inspect(name, "{{.State.ExitCode}}")?.parse().ok();
        o.state_after = self.inspect(name, "{{.State.Status}}")?;
        o.leftovers = capture::leftovers(&ns, &before);
        Ok(())
    }
}

impl Drop for Engine {
    /// Stop the engine by the pid this process started: SIGTERM, up to 30 s, then SIGKILL.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // The child is not reaped yet, so its pid cannot have been reused.
            if let Some(pid) = Pid::from_raw(self.child.id() as i32) {
                let _ = kill_process(pid, Signal::TERM);
            }
            if util::wait_timeout(&mut self.child, Duration::from_secs(30)).is_none() {
                eprintln!(
                    "e2e: dockerd (pid {}) did not stop within 30 s of SIGTERM; SIGKILL",
                    self.child.id()
                );
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// The cached Debian bookworm minbase tarball with python3, made by debootstrap on first use.
///
/// The cache folder is `$PIDONE_E2E_CACHE` or `/var/cache/pidone-e2e` (kept across clean clones
/// on the same machine, so only a new machine pays the ~1 minute of debootstrap). The mirror is
/// `$PIDONE_E2E_MIRROR` or http://deb.debian.org/debian.
pub fn base_tarball() -> Result<PathBuf, String> {
    let cache = std::env::var_os("PIDONE_E2E_CACHE")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/pidone-e2e"));
    let tarball = cache.join("bookworm-minbase-python3.tar");
    if std::fs::metadata(&tarball).map(|m| m.len() > 0).unwrap_or(false) {
        return Ok(tarball);
    }
    std::fs::create_dir_all(&cache).map_err(|e| format!("create {}: {e}", cache.display()))?;
    let debootstrap = util::find_program("debootstrap")
        .ok_or("debootstrap not found: install Debian's `debootstrap` package (listed in .ci/apt/e2e.txt)")?;
    let root = TempDir::new("pidone-e2e-debootstrap")?;
    let target = root.path().join("rootfs");
    let mut c = Command::new(debootstrap);
    c.args(["--variant=minbase", "--include=python3", "bookworm"])
        .arg(&target)
        .arg(std::env::var("PIDONE_E2E_MIRROR").unwrap_or_else(|_| "http://deb.debian.org/debian".into()));
    let what = util::describe(&c);
    util::run(&mut c, Duration::from_secs(600))?.ok(&what)?;
    let partial = cache.join(format!("{}.partial", util::unique("bookworm")));
    let mut tar = Command::new("tar");
    tar.arg("-C").arg(&target).arg("-cf").arg(&partial).arg(".");
    let what = util::describe(&tar);
    util::run(&mut tar, Duration::from_secs(300))?.ok(&what)?;
    std::fs::rename(&partial, &tarball)
        .map_err(|e| format!("rename {} to {}: {e}", partial.display(), tarball.display()))?;
    Ok(tarball)
}
