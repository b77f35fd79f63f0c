//! "Why is this process still alive?": the wait-for chain of a process and the well-known
//! causes behind it, explained in words.
//!
//! Input is a [`pidone_proc::Snapshot`] (read with threads and fds); everything here is pure,
//! so every rule is unit-tested on hand-built snapshots. [`explain`] walks the chain
//! (wait4/waitid → the children waited on, a pipe read → the writers, a futex → the other
//! threads), [`facts`] describes each process, and [`rules`] holds one small function per
//! known cause. [`render`] turns an [`Explanation`] into text lines.
#![forbid(unsafe_code)]

pub mod explain;
pub mod facts;
pub mod render;
pub mod rules;

pub use explain::{explain, Edge, EdgeKind, Explanation};
pub use facts::{ProcFacts, ThreadFacts};
pub use rules::Hint;
