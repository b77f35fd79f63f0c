//! The blog post's bad parent, for real: SIGTERM to the namespace's PID 1 (a Python parent
//! that forwards it and sys.exit()s), then `pidone why` must name the wait4 on the child, the
//! child's caught SIGTERM and the Python multiprocessing cause.

mod common;

use common::{eventually, pidone, pidone_json, Ns};
use pidone_sys::Signal;

#[test]
fn why_explains_the_bad_parent() {
    let ns = Ns::fixture("bad_parent.py");
    let child_ns: i32 = ns
        .wait_line("ready")
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let parent = ns.init().as_raw();
    let child = ns.host(child_ns);
    ns.signal_init(Signal::TERM);
    ns.wait_line("child: caught SIGTERM");
    let v = eventually(
        "the parent to block in wait4 (multiprocessing's atexit join)",
        || {
            let v = pidone_json(&["why", &parent.to_string()]);
            v["processes"][0]["syscall"]
                .as_str()
                .is_some_and(|s| s.starts_with("wait4("))
                .then_some(v)
        },
    );
    assert_eq!(
        v["processes"][0]["syscall"],
        format!("wait4({child_ns})"),
        "{v:#}"
    );
    assert_eq!(v["edges"][0]["to"], child, "{v:#}");
    assert_eq!(v["processes"][1]["action"], "caught", "{v:#}");
    assert_eq!(v["hints"][0]["rule"], "python-multiprocessing", "{v:#}");
    let (code, text, _) = pidone(&["why", &parent.to_string()]);
    assert_eq!(code, 0);
    assert!(
        text.contains("Likely cause: Python multiprocessing joins non-daemon children at exit"),
        "{text}"
    );
    println!("{text}");
}
