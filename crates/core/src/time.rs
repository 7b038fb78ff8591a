//! Timestamps as microseconds since the Unix epoch, serialised as RFC 3339 (UTC).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Microseconds since 1970-01-01T00:00:00Z. Captures carry microsecond (or finer) stamps;
/// finer ones are truncated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_micros(us: i64) -> Self {
        Timestamp(us)
    }
    pub fn from_secs_f64(s: f64) -> Self {
        Timestamp((s * 1e6) as i64)
    }
    pub const fn micros(self) -> i64 {
        self.0
    }
    pub fn secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    pub fn now() -> Self {
        Timestamp(chrono::Utc::now().timestamp_micros())
    }
    /// Seconds from `earlier` to `self` (0 when `earlier` is later).
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        (self.0.saturating_sub(earlier.0)).max(0) as f64 / 1e6
    }
    pub fn to_rfc3339(self) -> String {
        match chrono::DateTime::from_timestamp_micros(self.0) {
            Some(dt) => dt.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            None => format!("@{}us", self.0),
        }
    }
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| Timestamp(d.timestamp_micros()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn round_trips_through_rfc3339() {
        let t = Timestamp::from_micros(1_639_500_334_924_601);
        let s = t.to_rfc3339();
        assert_eq!(s, "2021-12-14T16:45:34.924601Z");
        assert_eq!(Timestamp::parse_rfc3339(&s), Some(t));
    }
}
