//! JSON mining dialects: Stratum V1, Equihash, EthereumStratum, EthProxy, KawPow, CryptoNote, Grin, Beam, Kaspa.
//!
//! Each direction of a flow goes through a bounded line splitter ([`lines::LineSplitter`]) that
//! resynchronises at the next newline when a capture starts mid-line; every complete line is
//! parsed by [`minetrace_proto::mining::parse_line`] and fed to a [`session::Session`], which
//! decides the miner and pool sides from what each side sends (submit/login/subscribe versus
//! notify/job/set_difficulty), matches responses to requests by id, counts jobs and shares and
//! builds the finding at close.

use crate::{Context, Detector, Direction, FlowDetector, FlowInfo, Progress, Transport};
use minetrace_core::{Dialect, Finding, Timestamp};

pub mod lines;
pub mod session;

use lines::LineSplitter;
use session::Session;

/// Lines without any mining message after which a flow is given up.
const GIVE_UP_LINES: u64 = 64;
/// Bytes without any mining message after which a flow is given up.
const GIVE_UP_BYTES: u64 = 1 << 20;

/// The JSON mining-dialect detector. Construct with `StratumDetector::default()`.
#[derive(Debug, Clone)]
pub struct StratumDetector {
    /// Lines without a mining message after which a flow is given up.
    pub give_up_lines: u64,
    /// Bytes without a mining message after which a flow is given up.
    pub give_up_bytes: u64,
}

impl Default for StratumDetector {
    fn default() -> Self {
        StratumDetector {
            give_up_lines: GIVE_UP_LINES,
            give_up_bytes: GIVE_UP_BYTES,
        }
    }
}

impl Detector for StratumDetector {
    fn name(&self) -> &'static str {
        "stratum"
    }
    fn description(&self) -> &'static str {
        "JSON mining dialects: Stratum V1, Equihash, EthereumStratum, EthProxy, KawPow, CryptoNote, Grin, Beam, Kaspa."
    }
    fn dialects(&self) -> &'static [Dialect] {
        &[
            Dialect::StratumV1,
            Dialect::StratumEquihash,
            Dialect::EthereumStratum1,
            Dialect::EthereumStratum2,
            Dialect::EthProxy,
            Dialect::KawPow,
            Dialect::CryptoNote,
            Dialect::Grin,
            Dialect::Beam,
            Dialect::Kaspa,
        ]
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn open(
        &self,
        flow: &FlowInfo,
        _dir: Direction,
        payload: &[u8],
        _ctx: &Context,
    ) -> Option<Box<dyn FlowDetector>> {
        if flow.transport != Transport::Tcp || !might_be_json_rpc(payload) {
            return None;
        }
        Some(Box::new(StratumFlow {
            give_up_lines: self.give_up_lines,
            give_up_bytes: self.give_up_bytes,
            ..StratumFlow::default()
        }))
    }
}

/// Cheap prefilter: an HTTP head belongs to the HTTP detector; otherwise some JSON object
/// member typical of JSON-RPC must be present (the chunk may start mid-line).
fn might_be_json_rpc(payload: &[u8]) -> bool {
    let start = payload
        .iter()
        .position(|&b| !(b == 0 || b.is_ascii_whitespace()))
        .unwrap_or(payload.len());
    let body = payload.get(start..).unwrap_or_default();
    if minetrace_proto::http::looks_like_http(body) {
        return false;
    }
    // Tiny chunks cannot carry a key yet: a line start is enough to follow the flow.
    if body.first() == Some(&b'{') {
        return true;
    }
    let window = &body[..body.len().min(4096)];
    // memchr jumps between quotes (this runs on the first chunks of every TCP flow, most of
    // them TLS records in which a quote is one byte in 256).
    memchr::memchr(b'{', window).is_some()
        && memchr::memchr_iter(b'"', window).any(|i| {
            window.get(i + 1..).is_some_and(|rest| {
                [&b"method\""[..], b"result\"", b"params\"", b"jsonrpc\""]
                    .iter()
                    .any(|k| rest.starts_with(k))
            })
        })
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct StratumFlow {
    splitters: [LineSplitter; 2],
    session: Session,
    lines: u64,
    bytes: u64,
    started: [bool; 2],
    give_up_lines: u64,
    give_up_bytes: u64,
}

impl StratumFlow {
    fn feed(&mut self, dir: Direction, ts: Timestamp, data: &[u8], ctx: &Context) {
        let session = &mut self.session;
        let lines = &mut self.lines;
        self.splitters[dir.index()].push(data, |line| {
            *lines += 1;
            session.on_line(dir, ts, line, ctx);
        });
    }
}

impl FlowDetector for StratumFlow {
    fn on_data(
        &mut self,
        _flow: &FlowInfo,
        dir: Direction,
        ts: Timestamp,
        data: &[u8],
        ctx: &mut Context,
    ) -> Progress {
        self.bytes = self.bytes.saturating_add(data.len() as u64);
        let i = dir.index();
        if !self.started[i] && data.iter().any(|&b| !(b == 0 || b.is_ascii_whitespace())) {
            self.started[i] = true;
            // An HTTP head opening either direction makes this the HTTP detector's flow.
            if minetrace_proto::http::looks_like_http(lines::trim_start(data)) {
                self.session.mark_http();
            }
        }
        self.feed(dir, ts, data, ctx);
        if self.session.http_seen() {
            return Progress::Done;
        }
        if !self.session.any_mining()
            && (self.lines >= self.give_up_lines.max(1) || self.bytes >= self.give_up_bytes.max(1))
        {
            return Progress::Done;
        }
        Progress::Continue
    }

    fn on_gap(&mut self, dir: Direction, _bytes: u64) {
        self.splitters[dir.index()].gap();
    }

    fn on_close(mut self: Box<Self>, flow: &FlowInfo, ctx: &mut Context) -> Vec<Finding> {
        for dir in [Direction::AtoB, Direction::BtoA] {
            let session = &mut self.session;
            let ts = flow.last_seen;
            self.splitters[dir.index()].flush(|line| session.on_line(dir, ts, line, ctx));
        }
        self.session.finish(flow, ctx).into_iter().collect()
    }

    fn memory(&self) -> usize {
        self.splitters
            .iter()
            .map(LineSplitter::memory)
            .sum::<usize>()
            + self.session.memory()
    }
}

#[cfg(test)]
mod tests;
