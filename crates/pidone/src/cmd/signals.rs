//! `pidone signals`: not implemented yet.

use std::process::ExitCode;

/// Arguments of `pidone signals`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Arguments, to be defined.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

/// Run `pidone signals`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("pidone signals is not implemented yet")
}
