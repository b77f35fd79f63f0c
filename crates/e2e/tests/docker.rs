//! The seed's experiment with a real Docker engine: `docker stop` of the bad-parent container (and
//! the other scenarios) with pidone as the image's ENTRYPOINT, with `docker run --init` (tini) and
//! with no init. The engine is started by this test and stopped by its pid at the end.
#![forbid(unsafe_code)]

use pidone_e2e::docker::{self, Engine};
use pidone_e2e::outcome::{Outcome, Stop};
use pidone_e2e::scenario::{self, Init};
use std::time::Instant;

#[test]
fn docker_stop_ends_in_time_under_pidone() {
    let t = Instant::now();
    let pidone = pidone_e2e::pidone_binary().unwrap_or_else(|e| panic!("no pidone binary: {e}"));
    let app = pidone_e2e::app_dir().unwrap_or_else(|e| panic!("{e}"));
    let tarball =
        docker::base_tarball().unwrap_or_else(|e| panic!("cannot make the bookworm base image: {e}"));
    pidone_e2e::util::show(&format!(
        "e2e: base tarball {} ready after {:.1} s",
        tarball.display(),
        t.elapsed().as_secs_f64()
    ));
    let engine = Engine::start().unwrap_or_else(|e| panic!("dockerd cannot start on this machine: {e}"));
    pidone_e2e::util::show(&format!(
        "e2e: dockerd {} up in {} after {:.1} s",
        engine.version,
        engine.dir().display(),
        t.elapsed().as_secs_f64()
    ));
    engine
        .import_base(&tarball)
        .unwrap_or_else(|e| panic!("docker import: {e}\n{}", engine.log_tail()));
    engine
        .build_pidone_image(&pidone, app.path(), docker::BASE_IMAGE, docker::PIDONE_IMAGE)
        .unwrap_or_else(|e| {
            panic!(
                "docker build of examples/docker/Dockerfile: {e}\n{}",
                engine.log_tail()
            )
        });
    pidone_e2e::util::show(&format!(
        "e2e: images ready after {:.1} s",
        t.elapsed().as_secs_f64()
    ));
    let hello = engine
        .preflight(docker::PIDONE_IMAGE, &["echo", "hello from a docker container"])
        .unwrap_or_else(|e| {
            panic!(
                "dockerd runs but cannot run a container on this machine: {e}\n{}",
                engine.log_tail()
            )
        });
    assert!(
        hello.contains("hello from a docker container"),
        "the preflight container printed {hello:?}"
    );

    // FROM scratch: no libc, no shell. pidone runs and supervises itself as the command.
    engine
        .build_pidone_image(&pidone, app.path(), "scratch", docker::SCRATCH_IMAGE)
        .unwrap_or_else(|e| panic!("docker build of examples/docker/Dockerfile FROM scratch: {e}"));
    let version = engine
        .preflight(docker::SCRATCH_IMAGE, &["/pidone", "--version"])
        .unwrap_or_else(|e| panic!("pidone does not run in a scratch image (is it static?): {e}"));
    assert!(
        version.starts_with("pidone "),
        "`pidone -- /pidone --version` in a scratch image printed {version:?}"
    );

    let jobs = pidone_e2e::all_jobs();
    let outcomes: Vec<Outcome> =
        pidone_e2e::run_parallel(&jobs, 3, |(init, sc)| engine.run_scenario(*init, sc));

    let k8s = check_env_config_and_termination_log(&engine);
    let verdict = pidone_e2e::publish_and_check(
        &format!(
            "docker {} (`docker stop`, 10 s), tini = `docker run --init`",
            engine.version
        ),
        &outcomes,
    );
    drop(engine);
    assert!(
        k8s.is_empty(),
        "Kubernetes-style configuration: {}",
        k8s.join("\n")
    );
    if let Err(e) = verdict {
        panic!("{e}");
    }
}

/// What a Kubernetes manifest does: options from the environment (`PIDONE_GRACE=3`,
/// `PIDONE_LOG_FORMAT=json` for a log pipeline) and a `/dev/termination-log` file that the
/// kubelet shows in the pod status. The bad-parent container must stop at the 3 s grace, log only
/// JSON lines, and leave its exit summary in the termination log.
fn check_env_config_and_termination_log(engine: &Engine) -> Vec<String> {
    let dir = pidone_e2e::util::TempDir::new("pidone-e2e-termlog").unwrap();
    let termlog = dir.path().join("termination-log");
    std::fs::write(&termlog, b"").unwrap();
    let volume = format!("{}:/dev/termination-log", termlog.display());
    let options = [
        "-e",
        "PIDONE_GRACE=3",
        "-e",
        "PIDONE_LOG_FORMAT=json",
        "-v",
        &volume,
    ];
    let bad_parent = scenario::all()
        .into_iter()
        .find(|s| s.name == "bad-parent")
        .unwrap();
    let o = engine.run_scenario_with(Init::Pidone, &bad_parent, &options);
    let summary = std::fs::read_to_string(&termlog).unwrap_or_default();
    pidone_e2e::util::show(&format!(
        "docker, bad-parent with PIDONE_GRACE=3 PIDONE_LOG_FORMAT=json: stop {:?} after {:.2} s, exit {:?}\n\
         termination log: {summary}\ndocker logs (stderr):\n{}",
        o.stop, o.stop_secs, o.exit, o.log
    ));

    let mut bad: Vec<String> = o.error.iter().cloned().collect();
    if o.stop != Stop::ByTerm || o.exit != Some(137) || !(2.5..=4.5).contains(&o.stop_secs) {
        bad.push(format!(
            "expected a stop at the 3 s grace with exit 137, got {:?} exit {:?} after {:.2} s",
            o.stop, o.exit, o.stop_secs
        ));
    }
    let lines: Vec<&str> = o.log.lines().filter(|l| !l.trim().is_empty()).collect();
    let not_json: Vec<&&str> = lines
        .iter()
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_err())
        .collect();
    if lines.is_empty() || !not_json.is_empty() {
        bad.push(format!(
            "with PIDONE_LOG_FORMAT=json every log line must be JSON; not JSON: {not_json:?}"
        ));
    }
    if !lines
        .iter()
        .any(|l| l.contains("SIGKILL") && l.contains("parent.py"))
    {
        bad.push("no JSON log line names the SIGKILLed parent.py".into());
    }
    if !summary.contains("137") {
        bad.push(format!(
            "/dev/termination-log should hold the exit summary with 137, holds {summary:?}"
        ));
    }
    bad
}
