//! pidone as the entrypoint of runc containers, stopped like `docker stop`, compared with tini and
//! with no init. Prints the comparison table; asserts pidone's facts and the control facts.
#![forbid(unsafe_code)]

use pidone_e2e::outcome::{dump, table, Outcome};
use pidone_e2e::runc::{self, Runc, Setup};
use pidone_e2e::scenario::{self, Init};

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
    eprintln!("e2e: {} with {}", runc.version, pidone.display());
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

    let jobs: Vec<(Init, scenario::Scenario)> = scenario::all()
        .into_iter()
        .flat_map(|sc| Init::ALL.map(|init| (init, sc)))
        .collect();
    let outcomes: Vec<Outcome> = pidone_e2e::run_parallel(&jobs, 3, |(init, sc)| {
        runc::run_scenario(&runc, &setup, *init, sc)
    });

    let tbl = table(&outcomes);
    println!(
        "runc ({}), docker-stop-like stop (TERM, 10 s, KILL):\n{tbl}",
        runc.version
    );
    let _ = std::fs::write(pidone_e2e::util::target_dir().join("e2e-runc-table.md"), &tbl);
    if let Some(o) = outcomes
        .iter()
        .find(|o| o.init == Init::Pidone && o.scenario == "bad-parent")
    {
        println!("pidone's log (stderr) for bad-parent under runc:\n{}", o.log);
    }

    let mut failures = Vec::new();
    for o in &outcomes {
        let bad = match o.init {
            Init::Pidone => scenario::check_pidone(o),
            _ => scenario::check_control(o),
        };
        if !bad.is_empty() {
            failures.push(format!("{}\n  {}\n{}", o.scenario, bad.join("\n  "), dump(o)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} runs broke their facts:\n{}\n\n{tbl}",
        failures.len(),
        failures.join("\n\n")
    );
}
