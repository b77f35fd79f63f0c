//! Drop-in compatibility: started under the name `tini` or `dumb-init` (a symlink or a copy),
//! pidone accepts that program's flags and environment variables and follows its conventions
//! for messages and exit codes, so an image switches by replacing one file.
//!
//! Parsing is pure: argv and an environment lookup in, a [`Config`] or a message to print out.
//! Documented differences (see README): after the main child exits, the remaining processes get
//! the stop signal and pidone's grace period instead of the kernel's immediate SIGKILL, and the
//! job-control signals never stop pidone itself.

use pidone_init::config::{Config, Level, Personality, Target};
use pidone_sys::Signal;
use std::ffi::OsString;
use std::path::Path;

/// What the compat front end decided.
#[derive(Debug)]
pub enum Compat {
    /// Run the init with this configuration.
    Run(Box<Config>),
    /// Print `text` to stdout (`to_stderr` false) or stderr, then exit with `code`.
    Print { text: String, to_stderr: bool, code: u8 },
}

/// The personality for a program name (`argv[0]`'s file name).
pub fn personality(argv0: &OsString) -> Personality {
    let name = Path::new(argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    match name {
        "tini" | "tini-static" => Personality::Tini,
        "dumb-init" => Personality::DumbInit,
        _ => Personality::Pidone,
    }
}

const TINI_VERSION: &str = concat!("tini version 0.19.0 (pidone ", env!("CARGO_PKG_VERSION"), ")");

fn tini_usage(name: &str) -> String {
    format!(
        "{name} ({TINI_VERSION})\n\
         Usage: {name} [OPTIONS] PROGRAM -- [ARGS] | --version\n\n\
         Execute a program under the supervision of a valid init process ({name})\n\n\
         Command line options:\n\n  \
         --version: Show version and exit.\n  \
         -h: Show this help message and exit.\n  \
         -s: Register as a process subreaper (requires Linux >= 3.4).\n  \
         -p SIGNAL: Trigger SIGNAL when parent dies, e.g. \"-p SIGKILL\".\n  \
         -v: Generate more verbose output. Repeat up to 3 times.\n  \
         -w: Print a warning when processes are getting reaped.\n  \
         -g: Send signals to the child's process group.\n  \
         -e EXIT_CODE: Remap EXIT_CODE (from 0 to 255) to 0 (can be repeated).\n  \
         -l: Show license and exit.\n\n\
         Environment variables:\n\n  \
         TINI_SUBREAPER: Register as a process subreaper (requires Linux >= 3.4).\n  \
         TINI_VERBOSITY: Set the verbosity level (default: 1).\n  \
         TINI_KILL_PROCESS_GROUP: Send signals to the child's process group.\n\n"
    )
}

fn tini_fatal(msg: &str) -> Compat {
    Compat::Print {
        text: format!("[FATAL tini ({})] {msg}\n", std::process::id()),
        to_stderr: true,
        code: 1,
    }
}

/// pidone's own settings that still apply under another name (grace, log format).
fn base_config(command: Vec<OsString>, env: &dyn Fn(&str) -> Option<String>) -> Config {
    let mut c = Config::new(command);
    if let Some(g) = env("PIDONE_GRACE").and_then(|g| crate::cli::parse_secs("PIDONE_GRACE", &g).ok()) {
        c.grace = g;
        c.report_after = g / 2;
    }
    if env("PIDONE_LOG_FORMAT").as_deref() == Some("json") {
        c.log_format = pidone_init::config::LogFormat::Json;
    }
    c
}

/// Parse tini's command line (`args` without argv[0]). tini uses glibc `getopt`, which permutes:
/// options may follow the program name until `--`.
pub fn parse_tini(name: &str, args: &[OsString], env: &dyn Fn(&str) -> Option<String>) -> Compat {
    if args.len() == 1 && args[0] == "--version" {
        return Compat::Print {
            text: format!("{TINI_VERSION}\n"),
            to_stderr: false,
            code: 0,
        };
    }
    let (mut subreaper, mut group, mut verbosity, mut warn_reap) = (false, false, 1i64, false);
    let mut pdeath = None;
    let mut remap = Vec::new();
    let mut command = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let s = arg.to_string_lossy();
        if s == "--" {
            command.extend(it.by_ref().cloned());
            break;
        }
        if !s.starts_with('-') || s == "-" {
            command.push(arg.clone());
            continue;
        }
        // A cluster like -vvg, possibly ending in an option that takes a value (-e 143, -e143).
        let flags: Vec<char> = s[1..].chars().collect();
        let mut i = 0;
        while i < flags.len() {
            let c = flags[i];
            i += 1;
            match c {
                'h' => {
                    return Compat::Print {
                        text: tini_usage(name),
                        to_stderr: false,
                        code: 0,
                    }
                }
                'l' => {
                    let text =
                        "pidone (MIT OR Apache-2.0), running in tini compatibility mode.\n".to_string();
                    return Compat::Print {
                        text,
                        to_stderr: false,
                        code: 0,
                    };
                }
                's' => subreaper = true,
                'v' => verbosity += 1,
                'w' => warn_reap = true,
                'g' => group = true,
                'p' | 'e' | 'R' => {
                    let rest: String = flags[i..].iter().collect();
                    i = flags.len();
                    let value = if rest.is_empty() {
                        match it.next() {
                            Some(v) => v.to_string_lossy().into_owned(),
                            None => {
                                return Compat::Print {
                                    text: tini_usage(name),
                                    to_stderr: true,
                                    code: 1,
                                }
                            }
                        }
                    } else {
                        rest
                    };
                    match c {
                        'p' => match value.parse::<Signal>() {
                            Ok(sig) => pdeath = Some(sig),
                            Err(_) => return tini_fatal(&format!("Not a valid option for -p: {value}")),
                        },
                        'e' => match value.parse::<i32>() {
                            Ok(n) if (0..=255).contains(&n) => remap.push(n),
                            _ => return tini_fatal(&format!("Not a valid option for -e: {value}")),
                        },
                        _ => {
                            return tini_fatal(&format!(
                                "Not a valid option for -R: {value} (respawning is not supported by pidone)"
                            ))
                        }
                    }
                }
                _ => {
                    return Compat::Print {
                        text: tini_usage(name),
                        to_stderr: true,
                        code: 1,
                    }
                }
            }
        }
    }
    if command.is_empty() {
        return Compat::Print {
            text: tini_usage(name),
            to_stderr: true,
            code: 1,
        };
    }
    if env("TINI_SUBREAPER").is_some() {
        subreaper = true;
    }
    if env("TINI_KILL_PROCESS_GROUP").is_some() {
        group = true;
    }
    if let Some(v) = env("TINI_VERBOSITY") {
        verbosity = v.trim().parse().unwrap_or(0);
    }
    let mut c = base_config(command, env);
    c.personality = Personality::Tini;
    c.subreaper = subreaper;
    c.target = if group { Target::Group } else { Target::Child };
    c.parent_death_signal = pdeath;
    for n in remap {
        c.map_exit.insert(n, 0);
    }
    c.log_level = match verbosity {
        ..=0 => Level::Error,
        1 => Level::Warn,
        2 => Level::Info,
        _ => Level::Debug,
    };
    if warn_reap {
        c.reap_log_level = Level::Warn;
    }
    Compat::Run(Box::new(c))
}

const DUMB_INIT_MAXSIG: i32 = 31;

fn dumb_init_help(name: &str) -> String {
    format!(
        "dumb-init v1.2.5 (pidone {})\n\
         Usage: {name} [option] command [[arg] ...]\n\n\
         dumb-init is a simple process supervisor that forwards signals to children.\n\
         It is designed to run as PID1 in minimal container environments.\n\n\
         Optional arguments:\n   \
         -c, --single-child   Run in single-child mode.\n                        \
         In this mode, signals are only proxied to the\n                        \
         direct child and not any of its descendants.\n   \
         -r, --rewrite s:r    Rewrite received signal s to new signal r before proxying.\n                        \
         To ignore (not proxy) a signal, rewrite it to 0.\n                        \
         This option can be specified multiple times.\n   \
         -v, --verbose        Print debugging information to stderr.\n   \
         -h, --help           Print this help message and exit.\n   \
         -V, --version        Print the current version and exit.\n",
        env!("CARGO_PKG_VERSION")
    )
}

fn dumb_init_rewrite_help() -> Compat {
    Compat::Print {
        text: format!(
            "Usage: -r option takes <signum>:<signum>, where <signum> is between 1 and {DUMB_INIT_MAXSIG}.\n\
             This option can be specified multiple times.\nUse --help for full usage.\n"
        ),
        to_stderr: true,
        code: 1,
    }
}

/// Parse dumb-init's command line (`args` without argv[0]). Options stop at the first
/// non-option, like its `getopt_long("+...")`.
pub fn parse_dumb_init(name: &str, args: &[OsString], env: &dyn Fn(&str) -> Option<String>) -> Compat {
    let (mut single_child, mut verbose) = (false, false);
    let mut rewrites: Vec<(i32, i32)> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let s = args[i].to_string_lossy().into_owned();
        if s == "--" {
            i += 1;
            break;
        }
        if !s.starts_with('-') || s == "-" {
            break;
        }
        i += 1;
        let mut take_rewrite = |value: Option<String>, i: &mut usize| -> Option<Compat> {
            let v = match value {
                Some(v) => v,
                None => {
                    let v = args.get(*i).map(|a| a.to_string_lossy().into_owned());
                    *i += 1;
                    v?
                }
            };
            let parsed = v
                .split_once(':')
                .and_then(|(a, b)| Some((a.trim().parse::<i32>().ok()?, b.trim().parse::<i32>().ok()?)))
                .filter(|(a, b)| (1..=DUMB_INIT_MAXSIG).contains(a) && (0..=DUMB_INIT_MAXSIG).contains(b));
            match parsed {
                Some(pair) => {
                    rewrites.push(pair);
                    None
                }
                None => Some(dumb_init_rewrite_help()),
            }
        };
        if let Some(long) = s.strip_prefix("--") {
            let (key, value) = match long.split_once('=') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (long, None),
            };
            match key {
                "help" => {
                    return Compat::Print {
                        text: dumb_init_help(name),
                        to_stderr: true,
                        code: 0,
                    }
                }
                "version" => {
                    return Compat::Print {
                        text: "dumb-init v1.2.5\n".into(),
                        to_stderr: true,
                        code: 0,
                    }
                }
                "single-child" => single_child = true,
                "verbose" => verbose = true,
                "rewrite" => {
                    if let Some(done) = take_rewrite(value, &mut i) {
                        return done;
                    }
                }
                _ => {
                    let text = format!("{name}: unrecognized option '--{key}'\n");
                    return Compat::Print {
                        text,
                        to_stderr: true,
                        code: 1,
                    };
                }
            }
            continue;
        }
        let flags: Vec<char> = s[1..].chars().collect();
        let mut j = 0;
        while j < flags.len() {
            let c = flags[j];
            j += 1;
            match c {
                'h' => {
                    return Compat::Print {
                        text: dumb_init_help(name),
                        to_stderr: true,
                        code: 0,
                    }
                }
                'V' => {
                    return Compat::Print {
                        text: "dumb-init v1.2.5\n".into(),
                        to_stderr: true,
                        code: 0,
                    }
                }
                'c' => single_child = true,
                'v' => verbose = true,
                'r' => {
                    let rest: String = flags[j..].iter().collect();
                    j = flags.len();
                    if let Some(done) = take_rewrite((!rest.is_empty()).then_some(rest), &mut i) {
                        return done;
                    }
                }
                _ => {
                    let text = format!("{name}: invalid option -- '{c}'\n");
                    return Compat::Print {
                        text,
                        to_stderr: true,
                        code: 1,
                    };
                }
            }
        }
    }
    let command: Vec<OsString> = args[i.min(args.len())..].to_vec();
    if command.is_empty() {
        return Compat::Print {
            text: format!("Usage: {name} [option] program [args]\nTry {name} --help for full usage.\n"),
            to_stderr: true,
            code: 1,
        };
    }
    if env("DUMB_INIT_DEBUG").as_deref() == Some("1") {
        verbose = true;
    }
    if env("DUMB_INIT_SETSID").as_deref() == Some("0") {
        single_child = true;
    }
    let mut c = base_config(command, env);
    c.personality = Personality::DumbInit;
    c.setsid = !single_child;
    c.target = if single_child {
        Target::Child
    } else {
        Target::Group
    };
    c.log_level = if verbose { Level::Debug } else { Level::Warn };
    for (from, to) in rewrites {
        if let Some(f) = Signal::from_raw(from) {
            c.rewrite.insert(f, Signal::from_raw(to));
        }
    }
    if !single_child {
        // In setsid mode the child has no terminal to stop it, so dumb-init turns the
        // job-control signals into SIGSTOP for the group unless the user rewrote them.
        for sig in [Signal::TSTP, Signal::TTOU, Signal::TTIN] {
            c.rewrite.entry(sig).or_insert(Some(Signal::STOP));
        }
    }
    Compat::Run(Box::new(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }
    fn no_env(_: &str) -> Option<String> {
        None
    }
    fn run(c: Compat) -> Config {
        match c {
            Compat::Run(c) => *c,
            Compat::Print { text, .. } => panic!("expected a run, got {text}"),
        }
    }

    #[test]
    fn picks_the_personality_from_the_program_name() {
        assert_eq!(personality(&"/usr/bin/tini".into()), Personality::Tini);
        assert_eq!(personality(&"tini-static".into()), Personality::Tini);
        assert_eq!(personality(&"/dumb-init".into()), Personality::DumbInit);
        assert_eq!(personality(&"/pidone".into()), Personality::Pidone);
    }

    #[test]
    fn tini_flags() {
        let c = run(parse_tini(
            "tini",
            &os(&["-s", "-g", "-e", "143", "-e3", "-vv", "--", "cmd", "-x"]),
            &no_env,
        ));
        assert!(c.subreaper);
        assert_eq!(c.target, Target::Group);
        assert_eq!(c.mapped_exit(143), 0);
        assert_eq!(c.mapped_exit(3), 0);
        assert_eq!(c.log_level, Level::Debug);
        assert_eq!(c.command, os(&["cmd", "-x"]));
        assert_eq!(c.personality, Personality::Tini);
    }

    #[test]
    fn tini_permutes_options_after_the_program_like_getopt() {
        let c = run(parse_tini("tini", &os(&["cmd", "-s", "--", "-a"]), &no_env));
        assert!(c.subreaper);
        assert_eq!(c.command, os(&["cmd", "-a"]));
    }

    #[test]
    fn tini_env_and_errors() {
        let env =
            |k: &str| (k == "TINI_SUBREAPER" || k == "TINI_KILL_PROCESS_GROUP").then(|| "1".to_string());
        let c = run(parse_tini("tini", &os(&["cmd"]), &env));
        assert!(c.subreaper && c.target == Target::Group);
        assert!(
            !run(parse_tini("tini", &os(&["cmd"]), &no_env)).subreaper,
            "tini only subreaps on request"
        );
        match parse_tini("tini", &os(&["-e", "300", "cmd"]), &no_env) {
            Compat::Print {
                text,
                code: 1,
                to_stderr: true,
            } => assert!(text.contains("Not a valid option for -e: 300")),
            other => panic!("{other:?}"),
        }
        match parse_tini("tini", &os(&[]), &no_env) {
            Compat::Print {
                code: 1,
                to_stderr: true,
                text,
            } => assert!(text.contains("Usage: tini")),
            other => panic!("{other:?}"),
        }
        match parse_tini("tini", &os(&["--version"]), &no_env) {
            Compat::Print {
                code: 0,
                to_stderr: false,
                text,
            } => assert!(text.starts_with("tini version")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dumb_init_defaults_to_setsid_and_group() {
        let c = run(parse_dumb_init("dumb-init", &os(&["cmd", "-c"]), &no_env));
        assert!(c.setsid);
        assert_eq!(c.target, Target::Group);
        assert_eq!(c.command, os(&["cmd", "-c"]), "options stop at the program");
        assert_eq!(c.rewritten(Signal::TSTP), Some(Signal::STOP));
    }

    #[test]
    fn dumb_init_flags_and_env() {
        let c = run(parse_dumb_init(
            "dumb-init",
            &os(&["-c", "--rewrite", "15:3", "-r2:0", "cmd"]),
            &no_env,
        ));
        assert!(!c.setsid);
        assert_eq!(c.target, Target::Child);
        assert_eq!(c.rewritten(Signal::TERM), Some(Signal::QUIT));
        assert_eq!(c.rewritten(Signal::INT), None);
        assert_eq!(
            c.rewritten(Signal::TSTP),
            Some(Signal::TSTP),
            "no SIGSTOP rewrite without setsid"
        );
        let env = |k: &str| (k == "DUMB_INIT_SETSID").then(|| "0".to_string());
        assert!(!run(parse_dumb_init("dumb-init", &os(&["cmd"]), &env)).setsid);
        match parse_dumb_init("dumb-init", &os(&["-r", "99:1", "cmd"]), &no_env) {
            Compat::Print { code: 1, text, .. } => assert!(text.contains("between 1 and 31")),
            other => panic!("{other:?}"),
        }
        match parse_dumb_init("dumb-init", &os(&[]), &no_env) {
            Compat::Print { code: 1, text, .. } => assert!(text.starts_with("Usage: dumb-init")),
            other => panic!("{other:?}"),
        }
    }
}
