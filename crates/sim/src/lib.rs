//! Traffic simulator: protocol-faithful mining sessions and benign look-alikes, written as
//! classic pcap files with a ground-truth record for each.
//!
//! No proof-of-work is ever computed: nonces, results and solutions are random hex of the right
//! length. Everything is deterministic for a given seed (`StdRng::seed_from_u64`), including the
//! TLS sessions, which are real rustls handshakes driven in memory (see [`tls`]).
//!
//! Layers, bottom up: [`packet`] builds frames (Ethernet/802.1Q/QinQ, IPv4/IPv6, TCP/UDP with
//! checksums), [`tcp`] turns messages into a TCP conversation (handshake, MSS segmentation,
//! ACKs, FIN), [`pcap`] writes and reads files, and the scenarios put dialects on top.
//!
//! ```
//! let opts = minetrace_sim::Options { seed: 7, minutes: 2.0, ..Default::default() };
//! let sim = minetrace_sim::run("cryptonote-xmrig", &opts).unwrap();
//! assert_eq!(sim.truth.dialect, "cryptonote");
//! assert!(sim.truth.shares > 0);
//! let bytes = minetrace_sim::pcap::to_bytes(&sim.packets);
//! let (linktype, packets) = minetrace_sim::pcap::read(&bytes).unwrap();
//! assert_eq!((linktype, packets.len()), (1, sim.packets.len()));
//! ```

#![forbid(unsafe_code)]

pub mod packet;
pub mod pcap;
mod scenarios;
mod sha1;
pub mod tcp;
pub mod tls;
pub mod truth;
pub mod wallets;
mod x25519;

pub use packet::{FrameBuilder, Packet, TcpFlags, TcpSegment};
pub use tcp::{Direction, TcpConversation};
pub use truth::GroundTruth;

/// 2024-05-01T00:00:00Z: captures start here unless told otherwise.
pub const DEFAULT_START_MICROS: u64 = 1_714_521_600_000_000;

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub seed: u64,
    /// Length of each session in minutes (mining sessions are compressed to this).
    pub minutes: f64,
    /// Capture start, microseconds since the Unix epoch.
    pub start_micros: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 1,
            minutes: 10.0,
            start_micros: DEFAULT_START_MICROS,
        }
    }
}

impl Options {
    /// Check the options before any work starts.
    pub fn validate(&self) -> Result<(), SimError> {
        if !(self.minutes.is_finite() && self.minutes >= 0.5 && self.minutes <= 24.0 * 60.0) {
            return Err(SimError::InvalidOption {
                field: "minutes",
                reason: format!("{} is outside 0.5..=1440", self.minutes),
            });
        }
        Ok(())
    }
}

/// A scenario the simulator knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioSpec {
    pub name: &'static str,
    /// The `Dialect` string a detector should report, or `benign`.
    pub dialect: &'static str,
    pub mining: bool,
    pub description: &'static str,
}

/// One scenario's packets (time-ordered) and its ground truth.
#[derive(Debug, Clone)]
pub struct Simulated {
    pub packets: Vec<Packet>,
    pub truth: GroundTruth,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    #[error("unknown scenario {name:?} (list them with `minetrace simulate --list`)")]
    UnknownScenario { name: String },
    #[error("invalid option {field}: {reason}")]
    InvalidOption { field: &'static str, reason: String },
    #[error("TLS {context}: {message}")]
    Tls {
        context: &'static str,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("pcap at offset {offset}: {reason}")]
    Pcap { offset: u64, reason: String },
}

/// Every scenario, mining first, then benign look-alikes.
pub fn scenarios() -> Vec<ScenarioSpec> {
    scenarios::registry()
        .iter()
        .map(|(spec, _)| spec.clone())
        .collect()
}

/// Run one scenario by name.
pub fn run(name: &str, opts: &Options) -> Result<Simulated, SimError> {
    opts.validate()?;
    let (spec, build) = scenarios::registry()
        .into_iter()
        .find(|(spec, _)| spec.name == name)
        .ok_or_else(|| SimError::UnknownScenario {
            name: name.to_string(),
        })?;
    let mut ctx = scenarios::Ctx::new(spec.name, opts);
    let (mut packets, mut truth) = build(&mut ctx)?;
    packets.sort_by_key(|p| p.ts_micros);
    truth.packets = packets.len() as u64;
    if let (Some(first), Some(last)) = (packets.first(), packets.last()) {
        truth.duration_s = (last.ts_micros - first.ts_micros) as f64 / 1e6;
    }
    Ok(Simulated { packets, truth })
}

/// All packets of several simulations in one time-ordered list (stable for equal stamps).
pub fn merge(sims: &[Simulated]) -> Vec<Packet> {
    let mut all: Vec<Packet> = sims
        .iter()
        .flat_map(|s| s.packets.iter().cloned())
        .collect();
    all.sort_by_key(|p| p.ts_micros);
    all
}
