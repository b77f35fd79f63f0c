//! Drop-in compatibility: the pidone binary started under the names `tini` and `dumb-init`
//! takes their flags and follows their conventions. Each runs as PID 1 of a fresh namespace.

mod common;

use common::{field, prog, Ns, T};
use pidone_sys::Signal;
use std::path::PathBuf;

/// A symlink to the built pidone under another name.
fn named(name: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("pidone-compat-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link: PathBuf = dir.join(name);
    std::os::unix::fs::symlink(common::pidone_bin(), &link).unwrap();
    link.display().to_string()
}

fn argv(first: &[&str], rest: Vec<String>) -> Vec<String> {
    first.iter().map(|s| s.to_string()).chain(rest).collect()
}

fn sh(cmd: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), cmd.into()]
}

#[test]
fn tini_remaps_exit_codes_with_e() {
    let tini = named("tini");
    let out = Ns::start(&argv(&[&tini, "-e", "3", "--"], sh("exit 3")), &[]).wait_exit(T);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let out = Ns::start(&argv(&[&tini, "--"], sh("exit 3")), &[]).wait_exit(T);
    assert_eq!(out.code, 3);
}

#[test]
fn tini_exec_failure_message_and_status() {
    let tini = named("tini");
    let out = Ns::start(&argv(&[&tini, "--", "no-such-cmd-xyz"], vec![]), &[]).wait_exit(T);
    assert_eq!(out.code, 127);
    assert_eq!(
        out.stderr,
        vec!["[FATAL tini (1)] exec no-such-cmd-xyz failed: No such file or directory".to_string()]
    );
}

#[test]
fn tini_warns_when_neither_pid1_nor_subreaper() {
    let tini = named("tini");
    // The namespace's PID 1 is a shell, so tini runs as pid 2 there.
    let out = Ns::start(&sh(&format!("{tini} -- true; echo tini-exit=$?")), &[]).wait_exit(T);
    assert!(out.stdout_text().contains("tini-exit=0"), "{out:?}");
    assert!(
        out.stderr_text()
            .contains("Tini is not running as PID 1 and isn't registered as a child subreaper."),
        "{out:?}"
    );
    let out = Ns::start(&sh(&format!("{tini} -s -- true")), &[]).wait_exit(T);
    assert!(
        !out.stderr_text().contains("Tini is not running as PID 1"),
        "-s registers a subreaper: {out:?}"
    );
    let out = Ns::start(&sh(&format!("{tini} -- true")), &[("TINI_SUBREAPER", "1")]).wait_exit(T);
    assert!(
        !out.stderr_text().contains("Tini is not running as PID 1"),
        "TINI_SUBREAPER too: {out:?}"
    );
}

#[test]
fn tini_g_signals_the_process_group() {
    let tini = named("tini");
    let ns = Ns::start(&argv(&[&tini, "-g", "--"], prog("signals", &["grandchild"])), &[]);
    ns.wait_stdout("ready", T);
    ns.signal_init(Signal::USR1);
    ns.wait_stdout("grandchild got SIGUSR1", T);
    ns.signal_init(Signal::KILL);
    ns.wait_exit(T);
}

#[test]
fn dumb_init_runs_the_child_in_a_new_session_and_signals_its_group() {
    let di = named("dumb-init");
    let ns = Ns::start(&argv(&[&di], prog("signals", &["grandchild"])), &[]);
    let line = ns.wait_stdout("ready", T);
    assert_eq!(
        field(&line, "pgid"),
        field(&line, "child"),
        "setsid makes the child a group leader: {line}"
    );
    ns.signal_init(Signal::USR1);
    ns.wait_stdout("child got SIGUSR1", T);
    ns.wait_stdout("grandchild got SIGUSR1", T);
    ns.signal_init(Signal::KILL);
    ns.wait_exit(T);
}

#[test]
fn dumb_init_single_child_and_rewrite() {
    let di = named("dumb-init");
    let ns = Ns::start(
        &argv(
            &[&di, "-c", "--rewrite", "10:12"],
            prog("signals", &["grandchild"]),
        ),
        &[],
    );
    let line = ns.wait_stdout("ready", T);
    assert_ne!(
        field(&line, "pgid"),
        field(&line, "child"),
        "-c: no setsid: {line}"
    );
    ns.signal_init(Signal::USR1);
    ns.wait_stdout("child got SIGUSR2", T);
    ns.signal_init(Signal::KILL);
    let out = ns.wait_exit(T);
    assert!(!out.stdout_text().contains("grandchild got"), "{out:?}");
}

#[test]
fn dumb_init_exec_failure_exits_2() {
    let di = named("dumb-init");
    let out = Ns::start(&argv(&[&di, "no-such-cmd-xyz"], vec![]), &[]).wait_exit(T);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        vec!["[dumb-init] no-such-cmd-xyz: No such file or directory".to_string()]
    );
}
