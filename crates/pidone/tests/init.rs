//! The init's behaviour, end to end: the built `pidone` binary as PID 1 of a fresh PID
//! namespace, real child processes, real signals. One behaviour per test.

mod common;

use common::{bad_parent, field, prog, Ns, T};
use pidone_sys::Signal;
use std::time::Duration;

fn ready(ns: &Ns) -> String {
    ns.wait_stdout("ready", T)
}

#[test]
fn forwards_signals_to_the_main_child_only_by_default() {
    let ns = Ns::pidone(&[], &prog("signals", &["grandchild"]), &[("EXIT_ON_STOP", "1")]);
    ready(&ns);
    ns.signal_init(Signal::USR1);
    ns.wait_stdout("child got SIGUSR1", T);
    ns.signal_init(Signal::TERM);
    let out = ns.wait_exit(T);
    assert_eq!(out.code, 0, "main child exits 0 on SIGTERM: {out:?}");
    assert!(
        !out.stdout_text().contains("grandchild got SIGUSR1"),
        "target child must not reach the group: {out:?}"
    );
    // The grandchild got SIGTERM only as one of "the remaining processes" after the main child left.
    assert!(out.stdout_text().contains("grandchild got SIGTERM"), "{out:?}");
}

#[test]
fn forwards_signals_to_the_process_group_with_target_group() {
    let ns = Ns::pidone(
        &["--target", "group"],
        &prog("signals", &["grandchild", "detached-grandchild"]),
        &[],
    );
    let line = ready(&ns);
    assert_eq!(
        field(&line, "pgid"),
        field(&line, "child"),
        "the child leads its own group: {line}"
    );
    ns.signal_init(Signal::USR1);
    ns.wait_stdout("child got SIGUSR1", T);
    ns.wait_stdout("grandchild got SIGUSR1", T);
    ns.signal_init(Signal::KILL);
    let out = ns.wait_exit(T);
    assert!(
        !out.stdout_text().contains("detached-grandchild got SIGUSR1"),
        "another session is not in the group: {out:?}"
    );
}

#[test]
fn forwards_signals_to_every_process_with_target_all() {
    let ns = Ns::pidone(
        &["--target", "all"],
        &prog("signals", &["grandchild", "detached-grandchild"]),
        &[],
    );
    ready(&ns);
    ns.signal_init(Signal::USR2);
    ns.wait_stdout("child got SIGUSR2", T);
    ns.wait_stdout("grandchild got SIGUSR2", T);
    ns.wait_stdout("detached-grandchild got SIGUSR2", T);
    ns.signal_init(Signal::KILL);
    ns.wait_exit(T);
}

#[test]
fn rewrites_signals_before_forwarding() {
    let ns = Ns::pidone(
        &["--rewrite", "USR1:USR2", "--rewrite", "HUP:0"],
        &prog("signals", &[]),
        &[],
    );
    ready(&ns);
    ns.signal_init(Signal::HUP);
    ns.signal_init(Signal::USR1);
    ns.wait_stdout("child got SIGUSR2", T);
    ns.signal_init(Signal::KILL);
    let out = ns.wait_exit(T);
    assert!(!out.stdout_text().contains("SIGUSR1"), "{out:?}");
    assert!(
        !out.stdout_text().contains("SIGHUP"),
        "HUP:0 drops the signal: {out:?}"
    );
}

#[test]
fn reaps_thousands_of_double_forked_orphans() {
    let ns = Ns::pidone(&["--log-level", "debug"], &prog("orphans", &["3000"]), &[]);
    let out = ns.wait_exit(Duration::from_secs(60));
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert!(
        out.stdout_text().contains("zombies=0"),
        "zombies left: {}",
        out.stdout_text()
    );
    let reaped = out.stderr.iter().filter(|l| l.contains("reaped orphan")).count();
    assert_eq!(reaped, 3000, "every orphan is reaped and logged at debug level");
    assert!(
        out.stderr_text().contains("3000 orphans reaped"),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn exit_status_is_the_main_childs() {
    for (cmd, want) in [
        ("exit 0", 0),
        ("exit 3", 3),
        ("kill -SEGV $$", 139),
        ("kill -TERM $$", 143),
    ] {
        let out = Ns::pidone(&[], &["sh".into(), "-c".into(), cmd.into()], &[]).wait_exit(T);
        assert_eq!(out.code, want, "{cmd}: {}", out.stderr_text());
    }
}

#[test]
fn map_exit_rewrites_the_final_status() {
    let out = Ns::pidone(
        &["--map-exit", "3=0"],
        &["sh".into(), "-c".into(), "exit 3".into()],
        &[],
    )
    .wait_exit(T);
    assert_eq!(out.code, 0);
}

#[test]
fn missing_command_exits_127_and_non_executable_126() {
    let out = Ns::pidone(&[], &["no-such-command-xyz".into()], &[]).wait_exit(T);
    assert_eq!(out.code, 127);
    assert_eq!(
        out.stderr,
        vec!["pidone: error: no-such-command-xyz: command not found".to_string()]
    );
    let dir = tempdir();
    let file = dir.join("not-executable");
    std::fs::write(&file, "#!/bin/sh\nexit 0\n").unwrap();
    let out = Ns::pidone(&[], &[file.display().to_string()], &[]).wait_exit(T);
    assert_eq!(out.code, 126);
    assert_eq!(out.stderr.len(), 1, "{:?}", out.stderr);
    let want = format!(
        "pidone: error: {}: cannot execute: Permission denied (os error 13)",
        file.display()
    );
    assert_eq!(out.stderr[0], want);
}

#[test]
fn escalates_to_sigkill_after_grace() {
    let ns = Ns::pidone(&["--grace", "1"], &prog("ignore-term", &[]), &[]);
    let child = field(&ready(&ns), "child");
    ns.signal_init(Signal::TERM);
    let out = ns.wait_exit(T);
    assert_eq!(out.code, 137, "killed by SIGKILL: {}", out.stderr_text());
    assert!(
        out.elapsed >= Duration::from_millis(900),
        "not before the grace: {:?}",
        out.elapsed
    );
    assert!(out.elapsed < Duration::from_secs(6), "took {:?}", out.elapsed);
    let kill_line = out
        .stderr
        .iter()
        .find(|l| l.contains("sending SIGKILL to"))
        .expect("a SIGKILL line");
    assert!(
        kill_line.contains(&format!("to {child} (")),
        "names the killed pid {child}: {kill_line}"
    );
    assert!(
        out.stderr_text().contains("still running"),
        "a report before the kill: {}",
        out.stderr_text()
    );
}

#[test]
fn kills_a_grandchild_that_survives_its_parent() {
    let ns = Ns::pidone(&["--grace", "1"], &prog("grandchild-survives", &[]), &[]);
    let gc = field(&ready(&ns), "grandchild");
    ns.signal_init(Signal::TERM);
    let out = ns.wait_exit(T);
    assert_eq!(out.code, 0, "the main child exited 0: {}", out.stderr_text());
    let kill_line = out
        .stderr
        .iter()
        .find(|l| l.contains("sending SIGKILL to"))
        .expect("a SIGKILL line");
    assert!(kill_line.contains(&format!("to {gc} (")), "{kill_line}");
    assert!(
        out.stderr_text().contains("1 process SIGKILLed"),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn orphaned_daemon_gets_the_stop_signal_and_finishes_its_cleanup() {
    let dir = tempdir();
    let marker = dir.join("daemon.done");
    let ns = Ns::pidone(
        &["--grace", "5"],
        &prog("daemon", &[marker.to_str().unwrap()]),
        &[],
    );
    let daemon = field(&ready(&ns), "daemon");
    let out = ns.wait_exit(T);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let done = std::fs::read_to_string(&marker).unwrap_or_default();
    assert_eq!(
        done.trim(),
        format!("clean shutdown pid={daemon}"),
        "stderr: {}",
        out.stderr_text()
    );
    assert!(
        out.elapsed >= Duration::from_millis(450),
        "the daemon's 0.5 s clean-up ran: {:?}",
        out.elapsed
    );
    assert!(
        out.elapsed < Duration::from_secs(4),
        "no waiting for the grace once it is done: {:?}",
        out.elapsed
    );
    assert!(!out.stderr_text().contains("SIGKILL to"), "{}", out.stderr_text());
}

#[test]
fn stop_of_an_obedient_tree_takes_milliseconds() {
    let ns = Ns::pidone(&[], &prog("exit-on-term", &[]), &[]);
    ready(&ns);
    let t = std::time::Instant::now();
    ns.signal_init(Signal::TERM);
    let out = ns.wait_exit(T);
    let took = t.elapsed();
    assert_eq!(out.code, 0);
    // Python's own exit costs tens of ms; the grace is 8 s. Wide margin, still far below any fixed sleep.
    assert!(took < Duration::from_millis(1500), "stop took {took:?}");
}

#[test]
fn bad_parent_example_stops_within_grace_and_names_the_killed() {
    let ns = Ns::pidone(&["--grace", "2"], &[common::PYTHON.into(), bad_parent()], &[]);
    let line = ns.wait_stdout("ready parent=", T);
    let (parent, child) = (field(&line, "parent"), field(&line, "child"));
    ns.signal_init(Signal::TERM);
    let out = ns.wait_exit(T);
    assert_eq!(out.code, 137, "{}", out.stderr_text());
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    assert!(
        out.stdout_text()
            .contains(&format!("Child {child}[ppid={parent}] received SIGTERM")),
        "{}",
        out.stdout_text()
    );
    let kill_line = out
        .stderr
        .iter()
        .find(|l| l.contains("sending SIGKILL to"))
        .expect("a SIGKILL line");
    assert!(
        kill_line.contains(&format!("to {parent} (")) && kill_line.contains(&format!(", {child} (")),
        "{kill_line}"
    );
}

#[test]
fn drain_holds_the_stop_signal() {
    let ns = Ns::pidone(&["--drain", "1"], &prog("exit-on-term", &[]), &[]);
    ready(&ns);
    let t = std::time::Instant::now();
    ns.signal_init(Signal::TERM);
    ns.wait_stdout("child got SIGTERM", T);
    let held = t.elapsed();
    let out = ns.wait_exit(T);
    assert_eq!(out.code, 0);
    assert!(
        held >= Duration::from_millis(900),
        "SIGTERM reached the child after {held:?}, before the drain"
    );
    assert!(held < Duration::from_secs(5), "{held:?}");
}

#[test]
fn wait_all_lets_other_processes_finish_on_their_own() {
    let dir = tempdir();
    let marker = dir.join("bg.done");
    let out = Ns::pidone(
        &["--wait-all"],
        &prog("background", &["1", marker.to_str().unwrap()]),
        &[],
    )
    .wait_exit(T);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert_eq!(std::fs::read_to_string(&marker).unwrap_or_default(), "finished\n");
    assert!(out.elapsed >= Duration::from_millis(900), "{:?}", out.elapsed);

    // Without --wait-all the same background process is stopped when the main child leaves.
    let marker2 = dir.join("bg2.done");
    let out = Ns::pidone(&[], &prog("background", &["5", marker2.to_str().unwrap()]), &[]).wait_exit(T);
    assert_eq!(
        std::fs::read_to_string(&marker2).unwrap_or_default(),
        "got SIGTERM\n",
        "{}",
        out.stderr_text()
    );
}

#[test]
fn child_has_no_init_fds() {
    let mut argv = prog(
        "closefds-exec",
        &[&common::pidone_bin().display().to_string(), "--"],
    );
    argv.extend(prog("fds", &[]));
    let out = Ns::start(&argv, &[]).wait_exit(T);
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout,
        vec!["fds=0,1,2".to_string()],
        "only stdio reaches the child"
    );
}

/// The hex value of a `SigXxx:` line of /proc/PID/status output.
fn mask(text: &str, key: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in {text}"));
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[test]
fn child_gets_the_signal_state_the_init_started_with() {
    let status = || -> Vec<String> {
        vec![
            "sh".into(),
            "-c".into(),
            "exec grep ^Sig /proc/self/status".into(),
        ]
    };
    // The baseline: what a process started directly by this test gets (the test runner's own
    // parent may already ignore some signals; the init must pass exactly that on).
    let direct = Ns::start(&status(), &[]).wait_exit(T).stdout_text();
    let out = Ns::pidone(&[], &status(), &[]).wait_exit(T);
    let text = out.stdout_text();
    assert_eq!(
        mask(&text, "SigBlk"),
        mask(&direct, "SigBlk"),
        "the init's blocked set must not leak: {text}"
    );
    assert_eq!(mask(&text, "SigIgn"), mask(&direct, "SigIgn"), "{text}");

    // Started with SIGUSR1 (10) blocked and SIGHUP (1) ignored: the child gets exactly that.
    let mut argv = prog("exec-with-mask", &[]);
    argv.push(common::pidone_bin().display().to_string());
    argv.push("--".into());
    argv.extend(status());
    let text = Ns::start(&argv, &[]).wait_exit(T).stdout_text();
    assert_eq!(
        mask(&text, "SigBlk"),
        mask(&direct, "SigBlk") | 1 << 9,
        "USR1 blocked: {text}"
    );
    assert_eq!(
        mask(&text, "SigIgn"),
        mask(&direct, "SigIgn") | 1,
        "HUP ignored: {text}"
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let ns = Ns::pidone(
        &["--log-format", "json", "--grace", "1"],
        &prog("ignore-term", &[]),
        &[],
    );
    ready(&ns);
    ns.signal_init(Signal::TERM);
    let out = ns.wait_exit(T);
    assert_eq!(out.code, 137);
    let objects: Vec<serde_json::Value> = out
        .stderr
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for o in &objects {
        assert!(o["ts"].is_f64(), "every line has a numeric ts: {o}");
        assert!(
            ["error", "warn", "info", "debug"].contains(&o["level"].as_str().unwrap_or("")),
            "{o}"
        );
    }
    // The facts are in the objects, not just somewhere in the text.
    let kill = objects
        .iter()
        .find(|o| {
            o["msg"]
                .as_str()
                .is_some_and(|m| m.starts_with("grace period over: sending SIGKILL to"))
        })
        .unwrap_or_else(|| panic!("no SIGKILL line: {objects:?}"));
    assert_eq!(kill["level"], "warn");
    assert_eq!(kill["count"], 1, "count stays a number: {kill}");
    let summary = objects.last().unwrap();
    assert!(
        summary["msg"].as_str().unwrap_or("").starts_with("exit 137:"),
        "{summary}"
    );
}

#[test]
fn options_come_from_the_environment() {
    let ns = Ns::pidone(
        &[],
        &prog("ignore-term", &[]),
        &[("PIDONE_GRACE", "1"), ("PIDONE_MAP_EXIT", "137=7")],
    );
    ready(&ns);
    ns.signal_init(Signal::TERM);
    let out = ns.wait_exit(T);
    assert_eq!(out.code, 7, "{}", out.stderr_text());
    assert!(out.elapsed < Duration::from_secs(6));
}

#[test]
fn warns_when_drain_and_grace_exceed_the_runtime_deadline() {
    let out = Ns::pidone(&["--drain", "5", "--grace", "8"], &["true".into()], &[]).wait_exit(T);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr_text()
            .contains("exceeds the runtime's stop deadline of 10.0s"),
        "{}",
        out.stderr_text()
    );
    let out = Ns::pidone(&["--drain", "1", "--grace", "8"], &["true".into()], &[]).wait_exit(T);
    assert!(!out.stderr_text().contains("exceeds"), "{}", out.stderr_text());
}

#[test]
fn writes_the_summary_to_the_termination_log() {
    let dir = tempdir();
    let log = dir.join("termination-log");
    std::fs::write(&log, "").unwrap();
    let out = Ns::pidone(
        &["--termination-log", log.to_str().unwrap()],
        &["sh".into(), "-c".into(), "exit 4".into()],
        &[],
    )
    .wait_exit(T);
    assert_eq!(out.code, 4);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("pidone: exit 4: main child exited 4"), "{text}");
}

#[test]
fn subreaper_mode_cleans_up_its_descendants_and_touches_nothing_else() {
    // PID 1 of the namespace is a shell; pidone runs below it, so it is not PID 1 and must
    // act as a child subreaper. The shell's other child, "outsider", must survive.
    let script = format!(
        "sleep 60 & echo outsider=$!; {pidone} --grace 1 -- {py} {prog} orphan-tree & echo pidone=$!; \
         wait $!; echo pidone-exit=$?; sleep 60",
        pidone = common::pidone_bin().display(),
        py = common::PYTHON,
        prog = common::testprog()
    );
    let ns = Ns::start(&["sh".into(), "-c".into(), script], &[]);
    let outsider = field(&ns.wait_stdout("outsider=", T), "outsider");
    let pidone = field(&ns.wait_stdout("pidone=", T), "pidone");
    let line = ns.wait_stdout("ready", T);
    let (orphan, orphan_ppid) = (field(&line, "orphan"), field(&line, "orphan_ppid"));
    assert_eq!(
        orphan_ppid, pidone,
        "the orphan is reparented to pidone, the subreaper: {line}"
    );
    let pidone_host = ns.host_pid(pidone).expect("pidone's host pid");
    let orphan_host = ns.host_pid(orphan).expect("the orphan's host pid");
    pidone_sys::process::kill_process(pidone_host, Signal::TERM).unwrap();
    let exit_line = ns.wait_stdout("pidone-exit=", T);
    assert_eq!(
        field(&exit_line, "pidone-exit"),
        0,
        "main child exited 0 on SIGTERM"
    );
    let stderr = ns.wait_stderr("sending SIGKILL to", T);
    assert!(stderr.contains(&format!("to {orphan} (")), "{stderr}");
    assert!(
        ns.host_pid(orphan).is_none(),
        "the orphan (host pid {orphan_host}) is gone"
    );
    assert!(
        ns.host_pid(outsider).is_some(),
        "a process that is not pidone's descendant is untouched"
    );
    assert!(ns.host_pid(1).is_some(), "the namespace's PID 1 is untouched");
}

#[test]
fn child_gets_the_terminal_foreground_when_stdin_is_a_tty() {
    // script(1) gives pidone a pseudo-terminal as stdin; pidone is not PID 1 there (script is).
    let inner = format!(
        "{} -- {} {} tty",
        common::pidone_bin().display(),
        common::PYTHON,
        common::testprog()
    );
    let out = Ns::start(&["script".into(), "-qec".into(), inner, "/dev/null".into()], &[]).wait_exit(T);
    assert_eq!(out.code, 0, "{out:?}");
    let line = out
        .stdout
        .iter()
        .find(|l| l.contains("tty pid="))
        .unwrap_or_else(|| panic!("{out:?}"));
    let line = line.trim();
    assert_eq!(
        field(line, "pgid"),
        field(line, "pid"),
        "own process group: {line}"
    );
    assert_eq!(
        field(line, "fg"),
        field(line, "pgid"),
        "and it is the terminal's foreground group: {line}"
    );
}

#[test]
fn the_inits_own_sigpipe_is_not_forwarded() {
    // pidone's log writes fail with EPIPE; the kernel queues the resulting SIGPIPE for it
    // (everything is blocked). It must not reach the child as if the runtime had sent it.
    let mut argv = prog(
        "broken-stderr-exec",
        &[
            &common::pidone_bin().display().to_string(),
            "--log-level",
            "debug",
            "--",
        ],
    );
    argv.extend(prog("signals", &[]));
    let ns = Ns::start(&argv, &[]);
    ready(&ns);
    ns.signal_init(Signal::USR1);
    ns.wait_stdout("child got SIGUSR1", T);
    ns.signal_init(Signal::USR2);
    ns.wait_stdout("child got SIGUSR2", T);
    ns.signal_init(Signal::KILL);
    let out = ns.wait_exit(T);
    assert!(!out.stdout_text().contains("SIGPIPE"), "{out:?}");
}

/// A fresh directory under the target dir (no tempfile crate needed for this).
fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "pidone-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_command_without_double_dash_gets_a_hint_and_exit_2() {
    let argv = vec![
        common::pidone_bin().display().to_string(),
        "sleep".into(),
        "5".into(),
    ];
    let out = Ns::start(&argv, &[]).wait_exit(T);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        vec![r#"pidone: error: "sleep" is not a subcommand; to run it under the init, put it after --: pidone [OPTIONS] -- sleep ..."#
            .to_string()]
    );
    // A real subcommand with a bad flag keeps clap's own message.
    let argv = vec![
        common::pidone_bin().display().to_string(),
        "ps".into(),
        "--nope".into(),
    ];
    let out = Ns::start(&argv, &[]).wait_exit(T);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr_text().contains("unexpected argument '--nope'"),
        "{out:?}"
    );
}
