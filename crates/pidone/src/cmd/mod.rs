//! One module per subcommand. Each has an `Args` (clap) and a `run(Args)`.

pub mod ps;
pub mod signals;
pub mod trace;
pub mod why;
