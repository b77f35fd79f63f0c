//! `Signal`: a signal number that parses and prints the way operators write it.
//!
//! Accepted forms everywhere in pidone: `TERM`, `SIGTERM`, `sigterm`, `15`, `RTMIN`, `RTMIN+3`,
//! `SIGRTMAX-2`. Real-time signals are numbered from the kernel's `SIGRTMIN` (32), not glibc's
//! (34, which reserves two for NPTL), because `/proc/PID/status` masks and the kernel's
//! tracepoints use kernel numbers. Pure code: no syscalls here.

use std::fmt;
use std::str::FromStr;

/// The kernel's first real-time signal (`SIGRTMIN` in the kernel headers, not glibc's).
pub const RTMIN: i32 = 32;
/// The kernel's last signal number on x86_64 and aarch64 (`_NSIG - 1`).
pub const RTMAX: i32 = 64;

/// Standard signal names, indexed by number (x86_64 and aarch64 numbering).
const NAMES: [&str; 32] = [
    "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE",
    "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ",
    "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// A valid signal number, 1..=64.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(i32);

/// Why a signal name or number was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid signal {input:?}: expected a name like TERM or SIGTERM, a number 1-64, or RTMIN+N")]
pub struct ParseSignalError {
    /// The text that was given.
    pub input: String,
}

impl Signal {
    pub const HUP: Signal = Signal(1);
    pub const INT: Signal = Signal(2);
    pub const QUIT: Signal = Signal(3);
    pub const ABRT: Signal = Signal(6);
    pub const KILL: Signal = Signal(9);
    pub const USR1: Signal = Signal(10);
    pub const SEGV: Signal = Signal(11);
    pub const USR2: Signal = Signal(12);
    pub const PIPE: Signal = Signal(13);
    pub const ALRM: Signal = Signal(14);
    pub const TERM: Signal = Signal(15);
    pub const CHLD: Signal = Signal(17);
    pub const CONT: Signal = Signal(18);
    pub const STOP: Signal = Signal(19);
    pub const TSTP: Signal = Signal(20);
    pub const TTIN: Signal = Signal(21);
    pub const TTOU: Signal = Signal(22);
    pub const WINCH: Signal = Signal(28);

    /// The signal with this number, if it is one (1..=64).
    pub const fn from_raw(n: i32) -> Option<Signal> {
        if n >= 1 && n <= RTMAX {
            Some(Signal(n))
        } else {
            None
        }
    }

    /// The signal number.
    pub const fn as_raw(self) -> i32 {
        self.0
    }

    /// Every signal number, 1..=64.
    pub fn all() -> impl Iterator<Item = Signal> {
        (1..=RTMAX).map(Signal)
    }

    /// SIGKILL and SIGSTOP can be neither caught, blocked nor ignored.
    pub const fn is_catchable(self) -> bool {
        self.0 != 9 && self.0 != 19
    }

    /// The name without the `SIG` prefix: `TERM`, `RTMIN+3`.
    pub fn name(self) -> String {
        if self.0 < RTMIN {
            NAMES[self.0 as usize].to_string()
        } else if self.0 == RTMIN {
            "RTMIN".to_string()
        } else if self.0 == RTMAX {
            "RTMAX".to_string()
        } else if self.0 - RTMIN <= (RTMAX - RTMIN) / 2 {
            format!("RTMIN+{}", self.0 - RTMIN)
        } else {
            format!("RTMAX-{}", RTMAX - self.0)
        }
    }
}

impl fmt::Display for Signal {
    /// `SIGTERM`, `SIGRTMIN+3`: the form people grep logs for.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIG{}", self.name())
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIG{}({})", self.name(), self.0)
    }
}

impl FromStr for Signal {
    type Err = ParseSignalError;

    fn from_str(s: &str) -> Result<Signal, ParseSignalError> {
        let err = || ParseSignalError { input: s.to_string() };
        let t = s.trim();
        if let Ok(n) = t.parse::<i32>() {
            return Signal::from_raw(n).ok_or_else(err);
        }
        let upper = t.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        if let Some(i) = NAMES.iter().skip(1).position(|n| *n == bare) {
            return Ok(Signal(i as i32 + 1));
        }
        // Common aliases from other tools.
        match bare {
            "IOT" => return Ok(Signal::ABRT),
            "POLL" => return Ok(Signal(29)),
            "CLD" => return Ok(Signal::CHLD),
            _ => {}
        }
        let rt = |base: i32, rest: &str| -> Option<Signal> {
            if rest.is_empty() {
                return Signal::from_raw(base);
            }
            let (sign, digits) = rest.split_at(1);
            let off: i32 = digits.parse().ok()?;
            let n = match sign {
                "+" => base + off,
                "-" => base - off,
                _ => return None,
            };
            (RTMIN..=RTMAX).contains(&n).then_some(Signal(n))
        };
        if let Some(rest) = bare.strip_prefix("RTMIN") {
            return rt(RTMIN, rest).ok_or_else(err);
        }
        if let Some(rest) = bare.strip_prefix("RTMAX") {
            return rt(RTMAX, rest).ok_or_else(err);
        }
        Err(err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_numbers_and_prefixes() {
        for s in ["TERM", "SIGTERM", "sigterm", "15", " term "] {
            assert_eq!(s.parse::<Signal>(), Ok(Signal::TERM), "{s}");
        }
        assert_eq!("KILL".parse::<Signal>(), Ok(Signal::KILL));
        assert_eq!("SIGCHLD".parse::<Signal>(), Ok(Signal::CHLD));
        assert_eq!("64".parse::<Signal>().unwrap().as_raw(), 64);
    }

    #[test]
    fn parses_realtime_offsets() {
        assert_eq!("RTMIN".parse::<Signal>().unwrap().as_raw(), 32);
        assert_eq!("RTMIN+3".parse::<Signal>().unwrap().as_raw(), 35);
        assert_eq!("SIGRTMAX-2".parse::<Signal>().unwrap().as_raw(), 62);
        assert_eq!("RTMAX".parse::<Signal>().unwrap().as_raw(), 64);
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "", "0", "65", "-1", "TERMX", "RTMIN+40", "RTMIN*2", "SIG", "RTMAX+1",
        ] {
            assert!(s.parse::<Signal>().is_err(), "{s:?} should be rejected");
        }
    }

    #[test]
    fn never_panics_on_random_input() {
        // A small deterministic fuzz: random strings over an alphabet of the interesting bytes.
        let alphabet: Vec<char> = "SIGTERMRTMINAX+-0123456789 \u{0}\u{ff}é".chars().collect();
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..20_000 {
            let mut s = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for k in 0..(x % 12) {
                s.push(alphabet[((x >> (k * 5)) % alphabet.len() as u64) as usize]);
            }
            if let Ok(sig) = s.parse::<Signal>() {
                assert!((1..=64).contains(&sig.as_raw()), "{s:?} -> {sig:?}");
            }
        }
    }

    #[test]
    fn names_round_trip_for_every_signal() {
        for sig in Signal::all() {
            assert_eq!(sig.name().parse::<Signal>(), Ok(sig), "{sig:?}");
            assert_eq!(sig.to_string().parse::<Signal>(), Ok(sig), "{sig:?}");
        }
        assert_eq!(Signal::TERM.to_string(), "SIGTERM");
        assert_eq!(Signal::from_raw(35).unwrap().to_string(), "SIGRTMIN+3");
    }
}
