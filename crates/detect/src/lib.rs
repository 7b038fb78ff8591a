//! Detectors over reassembled flows, and the one place they are registered ([`builtin`]).
//!
//! The capture engine (`minetrace-net`) owns packets, the flow table and TCP reassembly. For each
//! flow it offers the first payload chunks to every detector's [`Detector::open`]; a detector that
//! recognises its protocol returns a [`FlowDetector`] that then receives the flow's in-order bytes
//! of both directions through [`FlowDetector::on_data`] and yields findings at
//! [`FlowDetector::on_close`]. Every flow, followed or not, is also shown to
//! [`Detector::on_flow_end`] with its packet statistics (endpoint and traffic-shape detectors).
//! The contract every detector keeps is written in `docs/specs/detector.md`.
//!
//! ```
//! use minetrace_detect::{builtin, Context};
//! let detectors = builtin();
//! assert!(detectors.iter().any(|d| d.name() == "stratum"));
//! let ctx = Context::new(std::sync::Arc::new(minetrace_intel::Intel::builtin()), "capture", "demo.pcap");
//! assert_eq!(ctx.source.kind, "capture");
//! ```
#![forbid(unsafe_code)]

pub mod flow;
pub mod registry;
pub mod summary;

pub mod behaviour;
pub mod dns;
pub mod endpoint;
pub mod http;
pub mod stratum;
pub mod sv2;
pub mod tls;

pub use flow::*;
pub use registry::builtin;

use minetrace_core::{AlgorithmFamily, Dialect, Finding};

/// The algorithm of Bitcoin-style work (Stratum V1, getwork: they never name it) for the coin
/// the evidence names, and whether it had to be assumed: Scrypt for Litecoin and Dogecoin,
/// SHA-256d for Bitcoin's family and, assumed, when no coin is known.
pub(crate) fn bitcoin_style_family(coin: Option<&str>) -> (AlgorithmFamily, bool) {
    match coin {
        Some("LTC" | "DOGE") => (AlgorithmFamily::Scrypt, false),
        Some("BTC" | "BCH" | "DASH") => (AlgorithmFamily::Sha256d, false),
        _ => (AlgorithmFamily::Sha256d, true),
    }
}
use std::sync::Arc;

/// Whether a flow detector wants more bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Keep feeding this detector.
    Continue,
    /// This detector has seen all it needs (or gave up); stop feeding it. It still gets
    /// [`FlowDetector::on_close`].
    Done,
}

/// A detector: a recogniser for one protocol family or indicator.
pub trait Detector: Send + Sync {
    /// Short stable name used in findings (`detector` field), e.g. `stratum`, `dns`, `tls`.
    fn name(&self) -> &'static str;
    /// One sentence for `minetrace detectors` and the docs.
    fn description(&self) -> &'static str;
    /// The dialects this detector may report.
    fn dialects(&self) -> &'static [Dialect];
    /// Transports it reads.
    fn transports(&self) -> &'static [Transport];

    /// Offered each of a flow's first payload chunks (either direction, up to the engine's offer
    /// window) until it accepts. Must be cheap and must not assume the chunk starts a message:
    /// captures may start mid-session. On acceptance the engine immediately passes the same chunk
    /// to [`FlowDetector::on_data`].
    fn open(
        &self,
        flow: &FlowInfo,
        dir: Direction,
        payload: &[u8],
        ctx: &Context,
    ) -> Option<Box<dyn FlowDetector>>;

    /// Called once for every flow when it ends (FIN/RST, idle timeout, eviction, end of input),
    /// with its statistics and the findings other detectors made on it. For detectors that judge
    /// flows by endpoint or shape rather than by content.
    fn on_flow_end(
        &self,
        _flow: &FlowInfo,
        _findings: &[Finding],
        _ctx: &mut Context,
    ) -> Option<Finding> {
        None
    }
}

/// Per-flow state of a detector that accepted a flow. Memory MUST stay bounded whatever the
/// flow's length (see the detector spec).
pub trait FlowDetector: Send {
    /// In-order payload bytes of one direction (a TCP segment's new bytes or one UDP datagram).
    fn on_data(
        &mut self,
        flow: &FlowInfo,
        dir: Direction,
        ts: minetrace_core::Timestamp,
        data: &[u8],
        ctx: &mut Context,
    ) -> Progress;

    /// `bytes` of this direction were never captured (a hole the reassembler gave up on).
    fn on_gap(&mut self, _dir: Direction, _bytes: u64) {}

    /// The flow ended: report what was found (possibly nothing).
    fn on_close(self: Box<Self>, flow: &FlowInfo, ctx: &mut Context) -> Vec<Finding>;

    /// Approximate heap bytes held, for the engine's memory accounting.
    fn memory(&self) -> usize {
        0
    }
}

/// Shared state of one analysis run: indicators, names learned from DNS in this input, and the
/// input's identity for the findings' `source`.
pub struct Context {
    pub intel: Arc<minetrace_intel::Intel>,
    pub dns: DnsLearned,
    pub source: minetrace_core::SourceRef,
}

impl Context {
    pub fn new(intel: Arc<minetrace_intel::Intel>, kind: &str, name: &str) -> Self {
        Context {
            intel,
            dns: DnsLearned::default(),
            source: minetrace_core::SourceRef {
                kind: kind.to_string(),
                name: name.to_string(),
                packet: None,
                record: None,
            },
        }
    }
}
