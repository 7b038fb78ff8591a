//! Plain data shared by every minetrace stage: [`Finding`], its [`Evidence`], endpoints, dialects,
//! confidence and reasons. No I/O beyond the bounded readers in [`io`].
//!
//! Every detector, whether it reads packets, flow records or a host's `/proc`, produces a
//! [`Finding`]; every sink (terminal table, JSON Lines, EVE, the server client) consumes one.
//!
//! ```
//! use minetrace_core::{Finding, FindingKind, Dialect, Confidence, Timestamp};
//! let mut f = Finding::new("stratum", FindingKind::Network, Timestamp::from_micros(1_700_000_000_000_000));
//! f.dialect = Some(Dialect::StratumV1);
//! f.confidence = Confidence::High;
//! f.reason("client sent mining.subscribe and mining.authorize; pool answered mining.notify");
//! assert!(f.to_json_line().contains("\"dialect\":\"stratum-v1\""));
//! ```
#![forbid(unsafe_code)]

pub mod finding;
pub mod io;
pub mod time;

pub use finding::*;
pub use time::Timestamp;
