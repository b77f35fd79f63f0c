//! `pidone why`: not implemented yet.

use std::process::ExitCode;

/// Arguments of `pidone why`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Arguments, to be defined.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

/// Run `pidone why`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("pidone why is not implemented yet")
}
