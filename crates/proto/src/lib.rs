//! Pure, bounded parsers for what mining looks like on the wire: JSON mining messages of every
//! Stratum-like dialect, Stratum V2 frames, DNS messages, TLS ClientHello (with JA3/JA4), HTTP
//! request heads, and coin payout addresses. Each takes `&[u8]`, never panics, and checks every
//! length before slicing.
#![forbid(unsafe_code)]

pub mod address;
pub mod dns;
pub mod http;
pub mod mining;
pub mod sv2;
pub mod tls;
