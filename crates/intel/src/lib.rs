//! Indicator sets: pool domains, miner agents, pool ports.
#![forbid(unsafe_code)]

/// Indicator sets used by the detectors.
#[derive(Debug, Default)]
pub struct Intel {}

impl Intel {
    /// The built-in indicators.
    pub fn builtin() -> Intel {
        Intel::default()
    }
    /// No indicators at all (tests).
    pub fn empty() -> Intel {
        Intel::default()
    }
}
