//! The seed's experiment with a real Docker engine: `docker stop` of the bad-parent container (and
//! the other scenarios) with pidone as the image's ENTRYPOINT, with `docker run --init` (tini) and
//! with no init. The engine is started by this test and stopped by its pid at the end.
#![forbid(unsafe_code)]

use pidone_e2e::docker::{self, Engine};
use pidone_e2e::outcome::Outcome;
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

    let verdict = pidone_e2e::publish_and_check(
        &format!(
            "docker {} (`docker stop`, 10 s), tini = `docker run --init`",
            engine.version
        ),
        &outcomes,
    );
    drop(engine);
    if let Err(e) = verdict {
        panic!("{e}");
    }
}
