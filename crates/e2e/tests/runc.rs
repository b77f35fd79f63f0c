//! pidone as the entrypoint of runc containers, stopped like `docker stop`, compared with tini and
//! with no init. Prints the comparison table; asserts pidone's facts and the control facts.
#![forbid(unsafe_code)]

use pidone_e2e::outcome::Outcome;
use pidone_e2e::runc::{self, Runc, Setup};
use pidone_e2e::scenario;

#[test]
fn runc_containers_stop_in_time_under_pidone() {
    let runc = Runc::find().unwrap_or_else(|e| panic!("runc cannot work on this machine: {e}"));
    let tini = std::path::Path::new(runc::TINI);
    assert!(
        tini.is_file(),
        "{} not found: install Debian's `tini` package (listed in .ci/apt/e2e.txt)",
        tini.display()
    );
    let pidone = pidone_e2e::pidone_binary().unwrap_or_else(|e| panic!("no pidone binary: {e}"));
    let app = pidone_e2e::app_dir().unwrap_or_else(|e| panic!("{e}"));
    let setup = Setup {
        pidone: pidone.clone(),
        app: app.path().to_path_buf(),
    };
    pidone_e2e::util::show(&format!("e2e: {} with {}", runc.version, pidone.display()));
    let hello = runc::preflight(
        &runc,
        &setup,
        &["/pidone", "--", "echo", "hello from a runc container"],
    )
    .unwrap_or_else(|e| panic!("runc cannot run a container with pidone on this machine: {e}"));
    assert!(
        hello.contains("hello from a runc container"),
        "the preflight container printed {hello:?}"
    );

    let jobs = pidone_e2e::all_jobs();
    let outcomes: Vec<Outcome> = pidone_e2e::run_parallel(&jobs, 3, |(init, sc)| {
        runc::run_scenario(&runc, &setup, *init, sc)
    });

    let verdict = pidone_e2e::publish_and_check(
        &format!(
            "runc ({}), docker-stop-like stop (TERM, 10 s, KILL)",
            runc.version
        ),
        &outcomes,
    );
    if let Err(e) = verdict {
        panic!("{e}");
    }
}

#[test]
fn bundle_mirrors_the_hosts_merged_usr_and_bounds_the_container() {
    let runc = Runc::find().unwrap_or_else(|e| panic!("runc cannot work on this machine: {e}"));
    let dir = pidone_e2e::util::TempDir::new("pidone-e2e-bundle-test").unwrap();
    let setup = Setup {
        pidone: "/usr/bin/true".into(),
        app: dir.path().to_path_buf(),
    };
    runc::make_bundle(
        &runc,
        dir.path(),
        &setup,
        vec!["/pidone".into(), "--".into(), "true".into()],
    )
    .unwrap();

    let rootfs = dir.path().join("rootfs");
    for d in ["bin", "lib", "lib64", "sbin"] {
        let host = std::path::Path::new("/").join(d);
        let inside = rootfs.join(d);
        if let Ok(target) = std::fs::read_link(&host) {
            assert_eq!(
                std::fs::read_link(&inside).ok(),
                Some(target.clone()),
                "/{d} -> {} on the host",
                target.display()
            );
        }
    }
    let text = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
    let cfg: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(cfg["process"]["terminal"], false, "{text}");
    assert_eq!(
        cfg["process"]["args"],
        serde_json::json!(["/pidone", "--", "true"])
    );
    assert_eq!(cfg["root"]["readonly"], true);
    assert_eq!(cfg["linux"]["resources"]["pids"]["limit"], scenario::PIDS_LIMIT);
    assert!(
        cfg["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "pid"),
        "no PID namespace: {text}"
    );
    let core = cfg["process"]["rlimits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "RLIMIT_CORE")
        .cloned();
    assert_eq!(
        core,
        Some(serde_json::json!({"type": "RLIMIT_CORE", "hard": 0, "soft": 0}))
    );
    for dest in ["/usr", "/etc", "/app", "/pidone"] {
        let m = cfg["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["destination"] == dest)
            .cloned();
        let m = m.unwrap_or_else(|| panic!("no mount at {dest}: {text}"));
        assert!(
            m["options"].as_array().unwrap().iter().any(|o| o == "ro"),
            "{dest} is not read-only: {m}"
        );
    }
}
