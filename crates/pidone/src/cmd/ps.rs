//! `pidone ps`: not implemented yet.

use std::process::ExitCode;

/// Arguments of `pidone ps`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Arguments, to be defined.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

/// Run `pidone ps`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("pidone ps is not implemented yet")
}
