//! The supervisor: configuration, the pure stop state machine, and the event loop that runs it.
//!
//! - [`config`]: the validated settings of one run;
//! - [`machine`]: the stop sequence as a pure state machine (events and a clock in, actions out);
//! - [`driver`]: the single-threaded event loop that feeds the machine and performs its actions;
//! - [`tree`]: the processes below the init, from /proc;
//! - [`report`]: the hook for the diagnosis report; [`summary`]: the exit summary line;
//! - [`log`]: text and JSON log lines.
#![forbid(unsafe_code)]

pub mod config;
pub mod driver;
pub mod log;
pub mod machine;
pub mod report;
pub mod summary;
pub mod tree;
