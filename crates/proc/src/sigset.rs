//! `SigSet`: a decoded signal mask from `/proc/PID/status` (`SigCgt: 0000000000004a02`).
//!
//! The kernel prints each mask as 16 hex digits, bit `n-1` standing for signal `n`, with
//! real-time signals numbered from the kernel's SIGRTMIN (32).

use pidone_sys::Signal;
use serde::{Serialize, Serializer};
use std::fmt;

/// A set of signals 1..=64.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SigSet(u64);

impl SigSet {
    /// The empty set.
    pub const EMPTY: SigSet = SigSet(0);

    /// From the raw kernel bitmask (bit `n-1` = signal `n`).
    pub const fn from_bits(bits: u64) -> SigSet {
        SigSet(bits)
    }

    /// The raw bitmask.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Parse the hex digits the kernel prints (surrounding whitespace allowed). `None` for
    /// anything that is not 1..=16 hex digits.
    pub fn parse_hex(s: &str) -> Option<SigSet> {
        let t = s.trim();
        if t.is_empty() || t.len() > 16 {
            return None;
        }
        u64::from_str_radix(t, 16).ok().map(SigSet)
    }

    /// Whether `sig` is in the set.
    pub fn contains(self, sig: Signal) -> bool {
        let n = sig.as_raw();
        (1..=64).contains(&n) && self.0 & (1u64 << (n - 1)) != 0
    }

    /// A copy with `sig` added.
    pub fn with(self, sig: Signal) -> SigSet {
        SigSet(self.0 | (1u64 << (sig.as_raw() - 1)))
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The signals in the set, lowest number first.
    pub fn iter(self) -> impl Iterator<Item = Signal> {
        Signal::all().filter(move |s| self.contains(*s))
    }

    /// The union of two sets.
    pub fn union(self, other: SigSet) -> SigSet {
        SigSet(self.0 | other.0)
    }
}

impl fmt::Display for SigSet {
    /// `HUP,INT,TERM,RTMIN+3`, or `-` for the empty set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return write!(f, "-");
        }
        let mut first = true;
        for s in self.iter() {
            if !first {
                write!(f, ",")?;
            }
            first = false;
            write!(f, "{}", s.name())?;
        }
        Ok(())
    }
}

impl fmt::Debug for SigSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigSet({:016x}: {self})", self.0)
    }
}

impl Serialize for SigSet {
    /// A list of names with the `SIG` prefix: `["SIGINT", "SIGTERM"]`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(|sig| sig.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_python_sigcgt_mask() {
        // Python with a SIGTERM handler: INT (2) and TERM (15) caught.
        let s = SigSet::parse_hex("0000000000004002").unwrap();
        assert!(s.contains(Signal::TERM) && s.contains(Signal::INT));
        assert_eq!(s.to_string(), "INT,TERM");
    }

    #[test]
    fn decodes_realtime_bits() {
        // glibc's NPTL reserves kernel signals 32 and 33; bit 63 is signal 64 (RTMAX).
        let s = SigSet::parse_hex("c000000180000000").unwrap();
        let names: Vec<String> = s.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["RTMIN", "RTMIN+1", "RTMAX-1", "RTMAX"]);
    }

    #[test]
    fn rejects_garbage() {
        for s in ["", "xyz", "00000000000000000", "-1", "0x10"] {
            assert_eq!(SigSet::parse_hex(s), None, "{s:?}");
        }
        assert_eq!(SigSet::parse_hex("  ff\n"), Some(SigSet(0xff)));
    }
}
