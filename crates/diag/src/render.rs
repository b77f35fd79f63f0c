//! Text rendering of an [`Explanation`]: indented lines a person reads top to bottom.

use crate::explain::Explanation;
use crate::facts::ProcFacts;

fn age(secs: Option<f64>) -> String {
    match secs {
        None => "?".into(),
        Some(s) if s < 120.0 => format!("{s:.1}s"),
        Some(s) if s < 7200.0 => format!("{:.0}m{:02.0}s", (s / 60.0).floor(), s % 60.0),
        Some(s) => format!("{:.0}h{:02.0}m", (s / 3600.0).floor(), (s % 3600.0) / 60.0),
    }
}

fn nspid(p: &ProcFacts) -> String {
    p.nspid
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The lines about one process (no trailing newlines).
pub fn process_lines(p: &ProcFacts) -> Vec<String> {
    let mut v = vec![format!("{} {}: {}", p.label(), p.comm, p.command())];
    // 0: the group/session leader is outside the PID namespace of the /proc that was read.
    let id = |n: i32| {
        if n == 0 {
            "outside".to_string()
        } else {
            n.to_string()
        }
    };
    v.push(format!(
        "  identity: NSpid {} | ppid {} | pgid {} | sid {} | age {}",
        nspid(p),
        p.ppid,
        id(p.pgid),
        id(p.sid),
        age(p.age_secs)
    ));
    let mut state = format!("  state: {} ({})", p.state, p.state_words);
    if let Some(s) = &p.syscall {
        state.push_str(&format!(" in {s}"));
    }
    if let Some(w) = &p.wchan {
        state.push_str(&format!(", wchan {w}"));
    }
    v.push(state);
    v.push(format!("  stop signal: {}", p.signal_words()));
    if p.threads.len() > 1 {
        for t in &p.threads {
            let d = t.stop_signal.map(|d| d.short()).unwrap_or_else(|| "?".into());
            v.push(format!(
                "    thread {} (ns {}): {}{} | {} {d}",
                t.tid,
                t.ns_tid,
                t.state,
                t.syscall.as_ref().map(|s| format!(" in {s}")).unwrap_or_default(),
                p.signal
            ));
        }
    }
    for n in &p.notes {
        v.push(format!("  note: {n}"));
    }
    v
}

/// The whole explanation as lines.
pub fn lines(e: &Explanation) -> Vec<String> {
    let mut v = Vec::new();
    for p in &e.processes {
        v.extend(process_lines(p));
    }
    v.push("chain:".into());
    for c in &e.chain {
        v.push(format!("  {c}"));
    }
    if !e.hints.is_empty() {
        v.push("hints:".into());
        for h in &e.hints {
            v.push(format!("  [{}] {}", h.rule, h.text));
        }
    }
    v.push(format!("verdict: {}", e.verdict));
    v
}
