//! The init's own command line without clap: `pidone [INIT OPTIONS] -- CMD [ARGS...]`.
//!
//! The init runs at the start of every container, so its start-up is measured (see
//! docs/BENCHMARKS.md): building and running clap's parser costs ~100 µs and ~50 kB of private
//! memory that a long-lived PID 1 keeps. This parser handles exactly the common shape (known
//! init options, each `--name VALUE` or `--name=VALUE`, then `--` and the command) into the same
//! [`InitArgs`] clap would produce. Anything else (a subcommand, `--help`, `--version`, an
//! unknown or malformed option) returns `None` and clap parses the whole line, so help and
//! error messages come from one place. A unit test checks both parsers agree.

use crate::cli::{FormatArg, InitArgs, LevelArg, TargetArg};
use std::ffi::OsString;
use std::path::PathBuf;

/// Parse `args` (without argv[0]) if it has the common init shape; `env` looks up variables.
pub fn parse(args: &[OsString], env: &dyn Fn(&str) -> Option<String>) -> Option<InitArgs> {
    let mut given: Vec<(&str, String)> = Vec::new();
    let mut wait_all_flag = false;
    let mut i = 0;
    loop {
        let arg = args.get(i)?.to_str()?;
        i += 1;
        if arg == "--" {
            break;
        }
        let (name, inline) = match arg.strip_prefix("--")?.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (arg.strip_prefix("--")?, None),
        };
        if name == "wait-all" {
            if inline.is_some() {
                return None;
            }
            wait_all_flag = true;
            continue;
        }
        if !VALUED.contains(&name) {
            return None; // --help, --version, a typo: clap explains
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let v = args.get(i)?.to_str()?.to_string();
                i += 1;
                v
            }
        };
        given.push((name, value));
    }
    let command: Vec<OsString> = args[i..].to_vec();
    if command.is_empty() {
        return None;
    }
    // The last occurrence wins for single values (as in clap); lists accumulate.
    let single = |name: &str, var: &str| -> Option<String> {
        given
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .or_else(|| env(var))
    };
    let list = |name: &str, var: &str| -> Vec<String> {
        let from_args: Vec<String> = given
            .iter()
            .filter(|(n, _)| *n == name)
            .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .collect();
        if !from_args.is_empty() {
            return from_args;
        }
        env(var)
            .map(|v| v.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    };
    let target = match single("target", "PIDONE_TARGET").as_deref() {
        None | Some("child") => TargetArg::Child,
        Some("group") => TargetArg::Group,
        Some("all") => TargetArg::All,
        Some(_) => return None,
    };
    let log_level = match single("log-level", "PIDONE_LOG").as_deref() {
        None | Some("info") => LevelArg::Info,
        Some("error") => LevelArg::Error,
        Some("warn") => LevelArg::Warn,
        Some("debug") => LevelArg::Debug,
        Some(_) => return None,
    };
    let log_format = match single("log-format", "PIDONE_LOG_FORMAT").as_deref() {
        None | Some("text") => FormatArg::Text,
        Some("json") => FormatArg::Json,
        Some(_) => return None,
    };
    let stop_signals = match list("stop-signal", "PIDONE_STOP_SIGNALS") {
        v if v.is_empty() => vec!["TERM".to_string(), "INT".to_string()],
        v => v,
    };
    // clap's rule for a flag read from the environment: anything but a "falsey" word is true.
    let wait_all = wait_all_flag
        || env("PIDONE_WAIT_ALL").is_some_and(|v| {
            !matches!(
                v.to_ascii_lowercase().as_str(),
                "" | "0" | "n" | "no" | "f" | "false" | "off"
            )
        });
    Some(InitArgs {
        grace: single("grace", "PIDONE_GRACE").unwrap_or_else(|| "8".into()),
        report_after: single("report-after", "PIDONE_REPORT_AFTER"),
        target,
        stop_signals,
        rewrite: list("rewrite", "PIDONE_REWRITE"),
        map_exit: list("map-exit", "PIDONE_MAP_EXIT"),
        drain: single("drain", "PIDONE_DRAIN").unwrap_or_else(|| "0".into()),
        wait_all,
        runtime_deadline: single("runtime-deadline", "PIDONE_RUNTIME_DEADLINE")
            .unwrap_or_else(|| "10".into()),
        termination_log: PathBuf::from(
            single("termination-log", "PIDONE_TERMINATION_LOG")
                .unwrap_or_else(|| "/dev/termination-log".into()),
        ),
        log_level,
        log_format,
        command,
    })
}

/// The init options that take a value, by their long name.
const VALUED: [&str; 11] = [
    "grace",
    "report-after",
    "target",
    "stop-signal",
    "rewrite",
    "map-exit",
    "drain",
    "runtime-deadline",
    "termination-log",
    "log-level",
    "log-format",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    /// Both parsers, as validated configs (Debug text, since Config holds no PartialEq).
    fn both(args: &[&str]) -> (Option<String>, String) {
        let show = |r: anyhow::Result<pidone_init::config::Config>| match r {
            Ok(c) => format!("{c:?}"),
            Err(e) => format!("error: {e:#}"),
        };
        let fast = parse(&os(args), &|_| None).map(|a| show(a.into_config()));
        let cli = Cli::try_parse_from(std::iter::once("pidone").chain(args.iter().copied())).unwrap();
        assert!(cli.sub.is_none(), "{args:?} is an init command line");
        (fast, show(cli.init.into_config()))
    }

    #[test]
    fn agrees_with_clap_on_init_command_lines() {
        // The test process must not carry PIDONE_* settings, or clap would read them.
        assert!(
            std::env::vars().all(|(k, _)| !k.starts_with("PIDONE_")),
            "unset PIDONE_* to run this test"
        );
        for args in [
            &["--", "sleep", "1"][..],
            &["--grace", "3", "--", "sh", "-c", "exit 3"],
            &[
                "--grace=2.5",
                "--report-after",
                "1",
                "--target",
                "group",
                "--",
                "x",
                "--grace",
                "9",
            ],
            &[
                "--rewrite",
                "TERM:QUIT",
                "--rewrite=HUP:0,USR1:USR2",
                "--map-exit",
                "143=0",
                "--",
                "x",
            ],
            &[
                "--stop-signal",
                "QUIT",
                "--stop-signal=USR2",
                "--drain",
                "1500ms",
                "--wait-all",
                "--",
                "x",
            ],
            &[
                "--log-level",
                "debug",
                "--log-format=json",
                "--termination-log",
                "/tmp/t",
                "--",
                "x",
            ],
            &["--runtime-deadline", "30", "--target=all", "--", "x"],
            &["--grace", "soon", "--", "x"], // invalid value: both reject it the same way
        ] {
            let (fast, clap) = both(args);
            assert_eq!(fast.as_deref(), Some(clap.as_str()), "{args:?}");
        }
    }

    #[test]
    fn leaves_everything_else_to_clap() {
        for args in [
            &[][..],
            &["--help"],
            &["--version"],
            &["ps"],
            &["run", "--", "x"],
            &["--grace"],
            &["--gracee", "3", "--", "x"],
            &["--wait-all=yes", "--", "x"],
            &["--target", "nobody", "--", "x"],
            &["--grace", "3", "--"],
            &["sleep", "1"],
        ] {
            assert!(parse(&os(args), &|_| None).is_none(), "{args:?} must go to clap");
        }
    }

    #[test]
    fn reads_the_environment_like_clap() {
        let env = |k: &str| -> Option<String> {
            match k {
                "PIDONE_GRACE" => Some("2".into()),
                "PIDONE_REWRITE" => Some("TERM:QUIT,HUP:0".into()),
                "PIDONE_WAIT_ALL" => Some("false".into()),
                "PIDONE_LOG_FORMAT" => Some("json".into()),
                _ => None,
            }
        };
        let a = parse(&os(&["--", "x"]), &env).unwrap();
        assert_eq!(a.grace, "2");
        assert_eq!(a.rewrite, vec!["TERM:QUIT".to_string(), "HUP:0".to_string()]);
        assert!(!a.wait_all, "a falsey word is false");
        assert!(matches!(a.log_format, FormatArg::Json));
        // A flag beats the environment.
        let a = parse(&os(&["--grace", "5", "--", "x"]), &env).unwrap();
        assert_eq!(a.grace, "5");
        let yes = |k: &str| (k == "PIDONE_WAIT_ALL").then(|| "1".to_string());
        assert!(parse(&os(&["--", "x"]), &yes).unwrap().wait_all);
    }
}
