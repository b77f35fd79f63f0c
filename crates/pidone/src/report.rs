//! The diagnosis report the init prints when the tree does not stop in time.
//!
//! Placeholder until the `pidone-diag` explainer lands: lists pids and command lines.

use pidone_init::config::LogFormat;
use pidone_init::report::{Report, ReportRequest, Reporter};

/// The reporter the init uses.
#[derive(Debug, Default)]
pub struct DiagReporter;

impl Reporter for DiagReporter {
    fn report(&mut self, req: &ReportRequest<'_>) -> Report {
        let mut text = String::new();
        let mut key = String::new();
        for pid in req.alive {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " ").trim().to_string())
                .unwrap_or_default();
            key.push_str(&format!("{pid};"));
            match req.format {
                LogFormat::Text => text.push_str(&format!(
                    "pidone: warn: still running after {:.1}s ({}): pid {pid} {cmd}\n",
                    req.elapsed_secs, req.phase
                )),
                LogFormat::Json => text.push_str(&format!(
                    "{{\"level\":\"warn\",\"msg\":\"still running\",\"phase\":\"{}\",\"pid\":{pid},\"cmd\":{:?}}}\n",
                    req.phase, cmd
                )),
            }
        }
        Report { text, key }
    }
}
