//! The init's own diagnosis report, end to end: pidone as PID 1 of a fresh namespace runs the
//! bad parent; after SIGTERM the tree does not stop, and before the SIGKILL the report on
//! stderr names the chain, the dispositions and the cause, prefixed like the init's log.

mod common;

use common::{Ns, PYTHON};
use pidone_sys::Signal;

#[test]
fn init_reports_why_the_tree_does_not_stop() {
    let script = common::fixture("bad_parent.py").display().to_string();
    let ns = Ns::pidone(&["--grace", "4"], &[PYTHON.into(), "-u".into(), script], &[]);
    let child_ns: i32 = ns
        .wait_line("ready")
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    ns.signal_init(Signal::TERM);
    let mut report = Vec::new();
    let first = ns.wait_line("processes still running");
    assert!(
        first.starts_with("pidone: warn: 2 processes still running"),
        "{first}"
    );
    loop {
        let l = ns.line();
        let done = l.contains("verdict:");
        report.push(l);
        if done {
            break;
        }
    }
    let text = report.join("\n");
    assert!(
        report
            .iter()
            .all(|l| l.starts_with("pidone: ") || !l.contains("wait4")),
        "{text}"
    );
    // Inside the namespace the parent is pid 2 (pidone is 1) and waits for the child's pid.
    assert!(
        text.contains(&format!(
            "pid 2 waits in wait4({child_ns}) for its child: pid {child_ns}"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("pid {child_ns} caught SIGTERM")), "{text}");
    assert!(text.contains("[python-multiprocessing]"), "{text}");
    // Then the grace period ends with SIGKILL, and the init exits 128+9.
    ns.wait_line("SIGKILL");
}
