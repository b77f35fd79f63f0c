//! The processes below the init, found from /proc: who to signal in subreaper mode, and who is
//! still alive for the report.
//!
//! Only `/proc/PID/stat`'s ppid and state are needed, parsed by `pidone-proc` (which handles a
//! comm containing spaces and `)`).

use pidone_sys::Pid;
use std::collections::HashMap;

/// `(pid, ppid, state)` of every process visible in /proc. Processes that vanish while we
/// read are skipped: that is normal during a shutdown.
pub fn scan() -> Vec<(i32, i32, char)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if let Some(st) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|text| pidone_proc::stat::parse_stat(&text))
        {
            out.push((pid, st.ppid, st.state.letter()));
        }
    }
    out
}

/// Every descendant of `root` in `procs` (pid, ppid, state), in breadth-first order.
/// Zombies are included when `with_zombies`.
pub fn descendants_of(root: i32, procs: &[(i32, i32, char)], with_zombies: bool) -> Vec<Pid> {
    let mut children: HashMap<i32, Vec<(i32, char)>> = HashMap::new();
    for &(pid, ppid, state) in procs {
        children.entry(ppid).or_default().push((pid, state));
    }
    let mut out = Vec::new();
    let mut queue = vec![root];
    let mut i = 0;
    while i < queue.len() {
        let p = queue[i];
        i += 1;
        for &(c, state) in children.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
            if c == root || queue.contains(&c) {
                continue; // a cycle can only come from pid reuse mid-scan; never loop
            }
            queue.push(c);
            if with_zombies || state != 'Z' {
                out.extend(Pid::from_raw(c));
            }
        }
    }
    out
}

/// The live (non-zombie) processes below the calling process.
pub fn live_descendants() -> Vec<Pid> {
    descendants_of(Pid::this().as_raw(), &scan(), false)
}

/// The command line of `pid` for logs (`comm` in brackets when cmdline is empty: zombies,
/// kernel threads). Empty when the process is gone.
pub fn command_of(pid: Pid) -> String {
    let args = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| pidone_proc::parse_cmdline(&b))
        .unwrap_or_default();
    if !args.is_empty() {
        return args.join(" ");
    }
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| format!("[{}]", c.trim_end()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_follow_the_tree_and_skip_zombies_on_request() {
        let procs = [
            (1, 0, 'S'),
            (5, 1, 'S'),
            (6, 5, 'Z'),
            (7, 6, 'S'),
            (8, 2, 'S'),
            (9, 1, 'R'),
        ];
        let d: Vec<i32> = descendants_of(1, &procs, true)
            .iter()
            .map(|p| p.as_raw())
            .collect();
        assert_eq!(d, vec![5, 9, 6, 7]);
        let live: Vec<i32> = descendants_of(1, &procs, false)
            .iter()
            .map(|p| p.as_raw())
            .collect();
        assert_eq!(live, vec![5, 9, 7]);
        assert!(
            descendants_of(5, &[(5, 6, 'S'), (6, 5, 'S')], true).len() <= 1,
            "cycles terminate"
        );
    }
}
