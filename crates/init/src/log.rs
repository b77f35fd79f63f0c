//! One line per event on stderr: `pidone: info: message`, or one JSON object per line.
//!
//! Each line is written with a single `write(2)` so lines from the init never interleave with
//! each other mid-line, even when stderr is a pipe shared with the child.

use crate::config::{Level, LogFormat};
use std::io::Write;

impl Level {
    /// The name used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

/// The init's logger.
#[derive(Debug, Clone, Copy)]
pub struct Logger {
    pub level: Level,
    pub format: LogFormat,
}

/// Escape `s` as the inside of a JSON string.
pub fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Format one log line (with its trailing newline). Pure, for tests.
pub fn format_line(
    format: LogFormat,
    level: Level,
    msg: &str,
    fields: &[(&str, String)],
    unix_ts: f64,
) -> String {
    match format {
        LogFormat::Text => {
            let mut line = format!("pidone: {}: {}", level.as_str(), msg);
            for (k, v) in fields {
                line.push_str(&format!(" {k}={v}"));
            }
            line.push('\n');
            line
        }
        LogFormat::Json => {
            let mut line = format!(
                "{{\"ts\":{unix_ts:.6},\"level\":\"{}\",\"msg\":\"{}\"",
                level.as_str(),
                json_escape(msg)
            );
            for (k, v) in fields {
                // Integers stay numbers so pipelines can filter on them; the rest are strings.
                if v.parse::<i64>().is_ok() {
                    line.push_str(&format!(",\"{}\":{v}", json_escape(k)));
                } else {
                    line.push_str(&format!(",\"{}\":\"{}\"", json_escape(k), json_escape(v)));
                }
            }
            line.push_str("}\n");
            line
        }
    }
}

impl Logger {
    /// Whether a line at `level` would be written.
    pub fn enabled(&self, level: Level) -> bool {
        level <= self.level
    }

    /// Log `msg` with `fields` at `level`.
    pub fn log(&self, level: Level, msg: &str, fields: &[(&str, String)]) {
        if !self.enabled(level) {
            return;
        }
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        write_stderr(&format_line(self.format, level, msg, fields, ts));
    }

    /// Debug line whose fields are only built when debug logging is on (the forwarding and
    /// reaping paths run per signal and per orphan; formatting there costs more than the
    /// syscalls).
    pub fn debug_with(&self, msg: &str, fields: impl FnOnce() -> Vec<(&'static str, String)>) {
        if self.enabled(Level::Debug) {
            self.log(Level::Debug, msg, &fields());
        }
    }

    pub fn error(&self, msg: &str) {
        self.log(Level::Error, msg, &[]);
    }
    pub fn warn(&self, msg: &str) {
        self.log(Level::Warn, msg, &[]);
    }
    pub fn info(&self, msg: &str) {
        self.log(Level::Info, msg, &[]);
    }
    pub fn debug(&self, msg: &str) {
        self.log(Level::Debug, msg, &[]);
    }
}

/// Write already-formatted text to stderr in one call. A broken stderr must not kill the
/// init (it would take the container down), so write errors are deliberately dropped here,
/// the one place where that is done.
pub fn write_stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    if err.write_all(text.as_bytes()).is_err() {
        // Nothing sensible to do: there is nowhere left to report it.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lines_have_prefix_level_and_fields() {
        let l = format_line(
            LogFormat::Text,
            Level::Info,
            "reaped",
            &[("pid", "7".into())],
            0.0,
        );
        assert_eq!(l, "pidone: info: reaped pid=7\n");
    }

    #[test]
    fn json_lines_escape_and_keep_numbers() {
        let l = format_line(
            LogFormat::Json,
            Level::Warn,
            "say \"hi\"\n",
            &[("pid", "7".into()), ("cmd", "a\tb".into())],
            1.5,
        );
        assert_eq!(
            l,
            "{\"ts\":1.500000,\"level\":\"warn\",\"msg\":\"say \\\"hi\\\"\\n\",\"pid\":7,\"cmd\":\"a\\tb\"}\n"
        );
    }
}
