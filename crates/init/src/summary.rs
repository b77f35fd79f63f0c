//! The one-line lifecycle summary printed at exit, e.g.
//! `exit 137: SIGTERM at 0.0 s, main child killed by SIGKILL at 8.0 s, 2 processes SIGKILLed at 8.0 s`.
//!
//! Times are seconds since the first stop signal when there was one (what an operator reading a
//! stuck `docker stop` wants), otherwise since the init started.

use crate::machine::Timeline;
use std::time::Instant;

/// Counts the driver keeps that the state machine does not know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Processes that were still alive when SIGKILL was sent.
    pub killed: usize,
    /// Processes other than the main child that the init reaped.
    pub orphans_reaped: usize,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Build the summary line (without a trailing newline). Pure.
pub fn summary(code: i32, t: &Timeline, counts: Counts, now: Instant) -> String {
    let base = t.stop_signal.map(|(_, at)| at).or(t.started).unwrap_or(now);
    let secs = |at: Instant| at.saturating_duration_since(base).as_secs_f64();
    let mut parts = Vec::new();
    if let Some((sig, _)) = t.stop_signal {
        parts.push(format!("{sig} at 0.0 s"));
    }
    match t.main_exit {
        Some((status, at)) if t.stop_signal.is_some() => {
            parts.push(format!("main child {status} at {:.1} s", secs(at)))
        }
        Some((status, at)) => parts.push(format!("main child {status} after {:.1} s", secs(at))),
        None => {}
    }
    if let Some(at) = t.killed_at {
        if counts.killed > 0 {
            parts.push(format!(
                "{} SIGKILLed at {:.1} s",
                plural(counts.killed, "process", "processes"),
                secs(at)
            ));
        }
    }
    if counts.orphans_reaped > 0 {
        parts.push(format!(
            "{} reaped",
            plural(counts.orphans_reaped, "orphan", "orphans")
        ));
    }
    parts.push(format!("done at {:.1} s", secs(now)));
    format!("exit {code}: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pidone_sys::{ExitStatus, Signal};
    use std::time::Duration;

    #[test]
    fn stuck_stop_summary() {
        let t0 = Instant::now();
        let at = |s: f64| t0 + Duration::from_secs_f64(s);
        let t = Timeline {
            started: Some(t0),
            stop_signal: Some((Signal::TERM, at(1.0))),
            main_exit: Some((ExitStatus::Signaled(Signal::KILL, false), at(9.0))),
            killed_at: Some(at(9.0)),
            stop_began: Some(at(1.0)),
        };
        let s = summary(
            137,
            &t,
            Counts {
                killed: 2,
                orphans_reaped: 1,
            },
            at(9.01),
        );
        assert_eq!(
            s,
            "exit 137: SIGTERM at 0.0 s, main child killed by SIGKILL at 8.0 s, 2 processes SIGKILLed at 8.0 s, \
             1 orphan reaped, done at 8.0 s"
        );
    }

    #[test]
    fn normal_exit_summary() {
        let t0 = Instant::now();
        let t = Timeline {
            started: Some(t0),
            main_exit: Some((ExitStatus::Exited(3), t0 + Duration::from_millis(2500))),
            ..Timeline::default()
        };
        let s = summary(3, &t, Counts::default(), t0 + Duration::from_millis(2500));
        assert_eq!(s, "exit 3: main child exited 3 after 2.5 s, done at 2.5 s");
    }
}
