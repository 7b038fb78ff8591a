//! What the engine tells detectors about a flow.

use minetrace_core::{Endpoint, Timestamp};
use rustc_hash::FxHashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// Direction of a chunk relative to the flow's `a` -> `b` orientation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    AtoB,
    BtoA,
}

impl Direction {
    pub fn index(self) -> usize {
        match self {
            Direction::AtoB => 0,
            Direction::BtoA => 1,
        }
    }
    pub fn reverse(self) -> Direction {
        match self {
            Direction::AtoB => Direction::BtoA,
            Direction::BtoA => Direction::AtoB,
        }
    }
}

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowEnd {
    /// Still open (statistics snapshot).
    Open,
    Fin,
    Rst,
    IdleTimeout,
    /// Pushed out of a full flow table.
    Evicted,
    EndOfInput,
}

/// One of a flow's first packets (like ipfixprobe's per-packet information).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    pub ts: Timestamp,
    pub dir: Direction,
    /// Transport payload bytes.
    pub payload_len: u32,
    /// TCP flags (0 for UDP).
    pub tcp_flags: u8,
}

/// Running statistics of one direction over the whole flow (constant memory).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DirStats {
    pub packets: u64,
    /// Packets that carried payload.
    pub payload_packets: u64,
    pub payload_bytes: u64,
    /// Packets with PSH set (TCP).
    pub psh_packets: u64,
    pub min_payload: u32,
    pub max_payload: u32,
    /// Gaps between payload packets: count, mean and sum of squared deviations (Welford), seconds.
    pub gap_count: u64,
    pub gap_mean: f64,
    pub gap_m2: f64,
    pub last_payload_ts: Option<Timestamp>,
    /// Bytes lost to holes in reassembly.
    pub missing_bytes: u64,
}

impl DirStats {
    pub fn gap_stddev(&self) -> f64 {
        if self.gap_count < 2 {
            0.0
        } else {
            (self.gap_m2 / (self.gap_count - 1) as f64).sqrt()
        }
    }
    pub fn mean_payload(&self) -> f64 {
        if self.payload_packets == 0 {
            0.0
        } else {
            self.payload_bytes as f64 / self.payload_packets as f64
        }
    }
}

/// How many packets a flow keeps in [`FlowInfo::first_packets`].
pub const FIRST_PACKETS: usize = 32;

/// Samples kept per direction for counting hosts behind an address.
pub const CLOCK_SAMPLES: usize = 8;
/// Least time between two kept samples (the first is always kept; the last slot always holds
/// the newest, so the span grows with the flow).
pub const CLOCK_SAMPLE_GAP_SECS: f64 = 5.0;

/// TCP timestamp (TSval) and IPv4 Identification samples of one direction of a flow: each host
/// has its own timestamp clock and, on many stacks, one IP-ID counter, so they tell apart rigs
/// behind one NAT address even under TLS (`minetrace_estimate::rigs`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClockSamples {
    pub tsval: Vec<(Timestamp, u32)>,
    pub ip_id: Vec<(Timestamp, u16)>,
}

impl ClockSamples {
    /// Keeps a sample if it is the first, far enough from the previous kept one, or (when full)
    /// newer than the last.
    pub fn offer(&mut self, ts: Timestamp, tsval: Option<u32>, ip_id: Option<u16>) {
        fn keep<T: Copy>(v: &mut Vec<(Timestamp, T)>, ts: Timestamp, x: T) {
            match v.last() {
                None => v.push((ts, x)),
                Some(&(last, _)) if v.len() < CLOCK_SAMPLES => {
                    if ts.seconds_since(last) >= CLOCK_SAMPLE_GAP_SECS {
                        v.push((ts, x));
                    }
                }
                Some(&(last, _)) => {
                    if ts > last {
                        if let Some(slot) = v.last_mut() {
                            *slot = (ts, x);
                        }
                    }
                }
            }
        }
        if let Some(t) = tsval {
            keep(&mut self.tsval, ts, t);
        }
        // IP-ID 0 is what stacks send with DF set and no counter: no information.
        if let Some(id) = ip_id.filter(|&id| id != 0) {
            keep(&mut self.ip_id, ts, id);
        }
    }
}

/// What the flow's first payload chunk looked like: lets shape-based detectors tell readable
/// sessions (which content detectors have already read) from encrypted or binary ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadHint {
    /// No payload seen yet.
    #[default]
    Unknown,
    /// Printable text (JSON, HTTP, a text protocol): content detectors can read it.
    Text,
    /// A TLS ClientHello; `sni` is whether it named a server (None when the hello was cut short).
    TlsClientHello { sni: Option<bool> },
    /// Anything else: encrypted, binary, or a capture that starts mid-record.
    Binary,
}

impl PayloadHint {
    /// Classifies a flow's first payload chunk (either direction).
    pub fn classify(payload: &[u8]) -> PayloadHint {
        use minetrace_proto::tls;
        if payload.is_empty() {
            return PayloadHint::Unknown;
        }
        if tls::looks_like_client_hello(payload) {
            let sni = match tls::parse_client_hello(payload) {
                Ok(tls::Parsed::Done(hello)) => Some(hello.sni.is_some()),
                _ => None,
            };
            return PayloadHint::TlsClientHello { sni };
        }
        let head = &payload[..payload.len().min(64)];
        let printable = head
            .iter()
            .filter(|&&b| matches!(b, b'\t' | b'\n' | b'\r' | 0x20..=0x7e))
            .count();
        // Text protocols are all printable; allow a stray byte for a capture cut mid-character.
        if head.len() >= 4 && printable + 1 >= head.len() {
            PayloadHint::Text
        } else {
            PayloadHint::Binary
        }
    }
}

/// A flow as the engine sees it. `a` is the initiator when the handshake was seen
/// (`initiator_known`), otherwise the sender of the first captured packet.
#[derive(Debug, Clone)]
pub struct FlowInfo {
    pub transport: Transport,
    pub a: SocketAddr,
    pub b: SocketAddr,
    pub initiator_known: bool,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// 1-based number of the flow's first packet in its input.
    pub first_packet: u64,
    pub stats: [DirStats; 2],
    /// The first [`FIRST_PACKETS`] packets, both directions.
    pub first_packets: Vec<PacketInfo>,
    /// The first payload chunk's kind (set by the engine from the first payload packet).
    pub first_payload: PayloadHint,
    /// Clock samples per direction, kept only for flows a content detector follows (the
    /// engine allocates them on acceptance, so other flows cost nothing).
    pub clock: Option<Box<[ClockSamples; 2]>>,
    pub end: FlowEnd,
}

impl FlowInfo {
    pub fn sender(&self, dir: Direction) -> SocketAddr {
        match dir {
            Direction::AtoB => self.a,
            Direction::BtoA => self.b,
        }
    }
    pub fn receiver(&self, dir: Direction) -> SocketAddr {
        self.sender(dir.reverse())
    }
    pub fn endpoint(&self, dir: Direction) -> Endpoint {
        self.sender(dir).into()
    }
    pub fn duration_secs(&self) -> f64 {
        self.last_seen.seconds_since(self.first_seen)
    }
}

/// Addresses learned from DNS answers for pool domains in this input: address -> name.
/// Shared between the shards of one analysis (cloning shares the table). Bounded: beyond
/// [`DnsLearned::LIMIT`] entries new ones are dropped and counted.
#[derive(Debug, Default, Clone)]
pub struct DnsLearned {
    inner: Arc<RwLock<DnsLearnedInner>>,
}

#[derive(Debug, Default)]
struct DnsLearnedInner {
    map: FxHashMap<IpAddr, LearnedName>,
    dropped: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedName {
    /// The name that was asked.
    pub query: String,
    /// The pool domain from the indicator set it falls under (None: not a pool name).
    pub pool_domain: Option<String>,
    pub first_seen: Timestamp,
}

impl DnsLearned {
    pub const LIMIT: usize = 65_536;

    pub fn learn(&self, ip: IpAddr, name: LearnedName) {
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        if inner.map.len() >= Self::LIMIT && !inner.map.contains_key(&ip) {
            inner.dropped += 1;
            return;
        }
        inner.map.entry(ip).or_insert(name);
    }

    pub fn lookup(&self, ip: &IpAddr) -> Option<LearnedName> {
        self.inner.read().ok()?.map.get(ip).cloned()
    }

    pub fn len(&self) -> usize {
        self.inner.read().map(|i| i.map.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Answers not learned because the table was full.
    pub fn dropped(&self) -> u64 {
        self.inner.read().map(|i| i.dropped).unwrap_or(0)
    }
}
