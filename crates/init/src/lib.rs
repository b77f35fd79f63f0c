//! The supervisor: configuration, the pure stop state machine, and the event loop that runs it.
#![forbid(unsafe_code)]

pub mod config;
pub mod report;
