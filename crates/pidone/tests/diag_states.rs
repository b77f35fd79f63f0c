//! `pidone why`, `signals` and `ps` on real processes in known states, each fixture running
//! as PID 1 of a fresh PID namespace and inspected from outside by host pid.

mod common;

use common::{eventually, pidone, pidone_json, Ns, PYTHON};
use pidone_sys::{Pid, Signal};
use serde_json::Value;
use std::collections::BTreeMap;

/// Start states.py and read its role → ns pid map.
fn states() -> (Ns, BTreeMap<String, i32>) {
    let ns = Ns::fixture("states.py");
    let roles: BTreeMap<String, i32> = serde_json::from_str(&ns.line()).expect("fixture's role map");
    assert_eq!(roles.len(), 9, "{roles:?}");
    (ns, roles)
}

fn why(host: i32) -> Value {
    pidone_json(&["why", &host.to_string()])
}

fn syscall_of(v: &Value, i: usize) -> String {
    v["processes"][i]["syscall"].as_str().unwrap_or("").to_string()
}

fn hint_rules(v: &Value) -> Vec<String> {
    v["hints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn waiter_in_wait4_names_the_child_that_caught_sigterm() {
    let (ns, roles) = states();
    let waiter = ns.host(roles["waiter"]);
    let catcher = ns.host(roles["catcher"]);
    ns.signal(Pid::from_raw(catcher).unwrap(), Signal::TERM);
    ns.wait_line("catcher: caught SIGTERM");
    // The waiter's wait4 argument is the catcher's NAMESPACE pid; the explainer must map it.
    let v = eventually("the waiter to block in wait4", || {
        let v = why(waiter);
        syscall_of(&v, 0).starts_with("wait4(").then_some(v)
    });
    assert_eq!(syscall_of(&v, 0), format!("wait4({})", roles["catcher"]), "{v:#}");
    assert_eq!(v["edges"][0]["from"], waiter, "{v:#}");
    assert_eq!(v["edges"][0]["to"], catcher, "{v:#}");
    assert_eq!(v["edges"][0]["kind"]["kind"], "waits_for_child");
    let c = &v["processes"][1];
    assert_eq!(
        (c["pid"].as_i64(), c["action"].as_str()),
        (Some(catcher as i64), Some("caught")),
        "{v:#}"
    );
    assert_eq!(c["nspid"][1], roles["catcher"]);
    let chain = v["chain"].to_string();
    assert!(
        chain.contains("caught SIGTERM") && chain.contains("still alive"),
        "{chain}"
    );
    assert!(
        v["verdict"].as_str().unwrap().contains(&format!("pid {catcher}")),
        "{v:#}"
    );
    // Text output says the same in words.
    let (code, text, _) = pidone(&["why", &waiter.to_string()]);
    assert_eq!(code, 0);
    assert!(
        text.contains(&format!(
            "waits in wait4({}) for its child: pid {catcher}",
            roles["catcher"]
        )),
        "{text}"
    );
}

#[test]
fn ignored_sigterm_is_reported_with_a_hint() {
    let (ns, roles) = states();
    let p = ns.host(roles["ignorer"]);
    let v = why(p);
    assert_eq!(v["processes"][0]["action"], "ignored", "{v:#}");
    assert!(
        hint_rules(&v).contains(&"ignores-stop-signal".to_string()),
        "{v:#}"
    );
    let s = pidone_json(&["signals", &p.to_string()]);
    let ign: Vec<&str> = s["threads"][0]["ignored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(ign.contains(&"SIGTERM"), "{s:#}");
}

#[test]
fn blocked_and_pending_sigterm() {
    let (ns, roles) = states();
    let p = ns.host(roles["blocker"]);
    let v = why(p);
    let f = &v["processes"][0];
    assert_eq!(
        (
            f["action"].as_str(),
            f["blocked"].as_bool(),
            f["pending"].as_bool()
        ),
        (Some("default"), Some(true), Some(true)),
        "{v:#}"
    );
    assert!(
        hint_rules(&v).contains(&"blocks-stop-signal".to_string()),
        "{v:#}"
    );
    let s = pidone_json(&["signals", &p.to_string()]);
    let t = &s["threads"][0];
    assert!(
        t["blocked"].as_array().unwrap().contains(&Value::from("SIGTERM")),
        "{s:#}"
    );
    assert!(
        t["pending_process"]
            .as_array()
            .unwrap()
            .contains(&Value::from("SIGTERM")),
        "{s:#}"
    );
}

#[test]
fn pipe_reader_points_at_the_writer() {
    let (ns, roles) = states();
    let reader = ns.host(roles["reader"]);
    let writer = ns.host(roles["writer"]);
    let v = eventually("the reader to block in read", || {
        let v = why(reader);
        syscall_of(&v, 0).starts_with("read(").then_some(v)
    });
    let sc = syscall_of(&v, 0);
    assert!(sc.contains("= pipe:["), "{sc}");
    assert_eq!(
        v["edges"].as_array().unwrap().len(),
        1,
        "only the writer holds the write end: {v:#}"
    );
    assert_eq!(v["edges"][0]["to"], writer, "{v:#}");
    assert_eq!(v["edges"][0]["kind"]["kind"], "pipe_writer");
    assert_eq!(v["processes"][1]["pid"], writer);
}

#[test]
fn zombie_and_its_non_reaping_parent() {
    let (ns, roles) = states();
    let z = ns.host(roles["zombie"]);
    let parent = ns.host(roles["zparent"]);
    // The fixture reports the zombie's pid right after fork: wait until it has exited.
    let v = eventually("the child to become a zombie", || {
        let v = why(z);
        (v["processes"][0]["state"] == "Z").then_some(v)
    });
    assert_eq!(v["processes"][0]["ppid"], parent);
    assert!(hint_rules(&v).contains(&"zombie-not-reaped".to_string()), "{v:#}");
}

#[test]
fn stopped_process() {
    let (ns, roles) = states();
    let p = ns.host(roles["stopped"]);
    let v = why(p);
    assert_eq!(v["processes"][0]["state"], "T", "{v:#}");
    assert!(hint_rules(&v).contains(&"stopped".to_string()), "{v:#}");
}

#[test]
fn ps_ns_lists_exactly_the_namespace_with_both_pids() {
    let (ns, roles) = states();
    let rows = pidone_json(&["ps", "--ns", &ns.init().to_string()]);
    let mut got: Vec<(i64, i64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["pid"].as_i64().unwrap(), r["ns_pid"].as_i64().unwrap()))
        .collect();
    got.sort();
    let mut want: Vec<(i64, i64)> = roles.values().map(|n| (ns.host(*n) as i64, *n as i64)).collect();
    want.push((ns.init().as_raw() as i64, 1));
    want.sort();
    assert_eq!(got, want);
    // The ignorer's TERM column and the tree view.
    let ign = ns.host(roles["ignorer"]);
    let row = rows.as_array().unwrap().iter().find(|r| r["pid"] == ign).unwrap();
    assert_eq!(row["disposition"]["ignored"], true, "{row:#}");
    let (code, tree, _) = pidone(&["ps", "--ns", &ns.init().to_string(), "--tree"]);
    assert_eq!(code, 0);
    let catcher_line = tree
        .lines()
        .find(|l| l.trim_start().starts_with(&ns.host(roles["catcher"]).to_string()))
        .unwrap();
    assert!(
        catcher_line.contains("  └─") || catcher_line.contains("│ └─"),
        "catcher is a grandchild:\n{tree}"
    );
}

#[test]
fn threads_are_listed_with_their_own_masks() {
    let (ns, _roles) = states();
    let rows = pidone_json(&["ps", "--ns", &ns.init().to_string(), "--threads"]);
    assert!(
        rows.as_array().unwrap().iter().all(|r| r["tid"].is_i64()),
        "{rows:#}"
    );
}

#[test]
fn unknown_pid_exits_1() {
    // pid_max is at most 4194304, so this pid cannot exist.
    for sub in ["why", "signals"] {
        let (code, _, err) = pidone(&[sub, "9999999"]);
        assert_eq!(code, 1, "{sub}: {err}");
        assert!(err.contains("no such process"), "{err}");
    }
    let (code, _, _) = pidone(&["ps", "--ns", "9999999"]);
    assert_eq!(code, 1);
}

#[test]
fn output_into_a_closed_pipe_is_not_an_error() {
    // `pidone ps | head -1`: stdout closes early; pidone must exit 0 quietly, not panic.
    for args in [vec!["ps"], vec!["why", "1"], vec!["signals", "1"]] {
        let (r, w) = std::io::pipe().unwrap();
        drop(r);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pidone"))
            .args(&args)
            .stdout(w)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "pidone {args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn the_kernel_child_list_matches_the_fixture() {
    // The proc model's `children` (task/*/children) of the waiter is exactly the catcher.
    let (ns, roles) = states();
    let waiter = ns.host(roles["waiter"]);
    let opts = pidone_proc::ReadOptions {
        children: true,
        ..Default::default()
    };
    let p = pidone_proc::Process::read(waiter, &opts).unwrap();
    assert_eq!(p.children, Some(vec![ns.host(roles["catcher"])]));
}

#[test]
fn why_on_a_thread_id_explains_its_process() {
    // A Python process with a second thread blocked on a lock; `why <tid>` explains the process.
    let code = "import threading\nl = threading.Lock(); l.acquire()\nt = threading.Thread(target=l.acquire)\nt.start()\nprint('ready', t.native_id, flush=True)\nthreading.Event().wait()";
    let ns = Ns::start(&[PYTHON, "-u", "-c", code], &[]);
    let line = ns.wait_line("ready");
    let tid_ns: i32 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let v = why(ns.init().as_raw());
    let threads = v["processes"][0]["threads"].as_array().unwrap().clone();
    assert_eq!(threads.len(), 2, "{v:#}");
    assert_eq!(threads[1]["ns_tid"], tid_ns, "{v:#}");
    let tid = threads[1]["tid"].as_i64().unwrap();
    let t = eventually("the thread to block in futex", || {
        let v = why(ns.init().as_raw());
        let s = v["processes"][0]["threads"][1]["syscall"]
            .as_str()
            .unwrap_or("")
            .to_string();
        s.starts_with("futex(").then_some(s)
    });
    assert!(t.contains("FUTEX_WAIT"), "{t}");
    let by_tid = why(tid as i32);
    assert_eq!(by_tid["target"], ns.init().as_raw(), "{by_tid:#}");
}
