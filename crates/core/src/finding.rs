//! The finding: what every detector produces and every sink consumes.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};

/// Where a finding was made: a network observation or a host scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    Network,
    Host,
}

/// The mining protocol dialect (or the indicator family) a finding rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Dialect {
    /// Stratum V1, Bitcoin family (`mining.subscribe`/`notify`/`submit`, set_difficulty).
    #[serde(rename = "stratum-v1")]
    StratumV1,
    /// Stratum V1 with Equihash conventions (`mining.set_target`, ZEC and friends).
    #[serde(rename = "stratum-equihash")]
    StratumEquihash,
    /// NiceHash EthereumStratum/1.0.0.
    #[serde(rename = "ethereum-stratum-1")]
    EthereumStratum1,
    /// EthereumStratum/2.0.0 (`mining.hello`, `mining.set`).
    #[serde(rename = "ethereum-stratum-2")]
    EthereumStratum2,
    /// EthProxy / Claymore "stratum" (`eth_submitLogin`, `eth_getWork`...).
    #[serde(rename = "eth-proxy")]
    EthProxy,
    /// KawPow stratum (Ravencoin).
    #[serde(rename = "kawpow")]
    KawPow,
    /// CryptoNote / XMRig JSON-RPC (`login`, `job`, `submit`, `keepalived`).
    #[serde(rename = "cryptonote")]
    CryptoNote,
    /// Grin stratum (`getjobtemplate`...).
    #[serde(rename = "grin")]
    Grin,
    /// Beam stratum (`solution`...).
    #[serde(rename = "beam")]
    Beam,
    /// Kaspa stratum bridge.
    #[serde(rename = "kaspa")]
    Kaspa,
    /// getwork / getblocktemplate / eth_* calls over HTTP.
    #[serde(rename = "http-getwork")]
    HttpGetwork,
    /// Stratum V2 binary frames in clear.
    #[serde(rename = "stratum-v2")]
    StratumV2,
    /// Stratum V2 Noise handshake shape (encrypted).
    #[serde(rename = "stratum-v2-noise")]
    StratumV2Noise,
    /// A DNS query or answer for a pool domain.
    #[serde(rename = "dns")]
    Dns,
    /// A TLS ClientHello naming a pool in its SNI.
    #[serde(rename = "tls")]
    Tls,
    /// A connection to an endpoint known or learned to be a pool.
    #[serde(rename = "pool-endpoint")]
    PoolEndpoint,
    /// Encrypted or unknown mining recognised by its traffic shape.
    #[serde(rename = "behavioural")]
    Behavioural,
    /// Dedicated mining hardware (ASIC) on the LAN.
    #[serde(rename = "asic")]
    Asic,
}

impl Dialect {
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::StratumV1 => "stratum-v1",
            Dialect::StratumEquihash => "stratum-equihash",
            Dialect::EthereumStratum1 => "ethereum-stratum-1",
            Dialect::EthereumStratum2 => "ethereum-stratum-2",
            Dialect::EthProxy => "eth-proxy",
            Dialect::KawPow => "kawpow",
            Dialect::CryptoNote => "cryptonote",
            Dialect::Grin => "grin",
            Dialect::Beam => "beam",
            Dialect::Kaspa => "kaspa",
            Dialect::HttpGetwork => "http-getwork",
            Dialect::StratumV2 => "stratum-v2",
            Dialect::StratumV2Noise => "stratum-v2-noise",
            Dialect::Dns => "dns",
            Dialect::Tls => "tls",
            Dialect::PoolEndpoint => "pool-endpoint",
            Dialect::Behavioural => "behavioural",
            Dialect::Asic => "asic",
        }
    }

    /// A mining protocol spoken on the wire (a session a pool answered), as against names
    /// (DNS, TLS), addresses, traffic shape or ASIC management pages: only these prove that an
    /// address is a pool.
    pub fn is_mining_protocol(self) -> bool {
        !matches!(
            self,
            Dialect::Dns
                | Dialect::Tls
                | Dialect::PoolEndpoint
                | Dialect::Behavioural
                | Dialect::Asic
        )
    }

    /// Every dialect, for specs and documentation.
    pub const ALL: &'static [Dialect] = &[
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
        Dialect::HttpGetwork,
        Dialect::StratumV2,
        Dialect::StratumV2Noise,
        Dialect::Dns,
        Dialect::Tls,
        Dialect::PoolEndpoint,
        Dialect::Behavioural,
        Dialect::Asic,
    ];

    pub fn parse(s: &str) -> Option<Dialect> {
        Dialect::ALL.iter().copied().find(|d| d.as_str() == s)
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Proof-of-work algorithm family: decides how shares turn into hashes (see estimation.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AlgorithmFamily {
    Sha256d,
    Scrypt,
    /// CryptoNote / RandomX / CryptoNight: a share of difficulty D is D hashes.
    CryptoNote,
    /// Ethash/Etchash over EthereumStratum/1.0.0: D * 2^32.
    EthashStratum,
    /// Ethash/Etchash over EthProxy: target = 2^256 / D, a share is D hashes.
    EthashProxy,
    KawPow,
    KHeavyHash,
    Equihash,
    Other,
}

/// How sure a detector is. Ordered: `Low < Medium < High`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// A weak hint (a port, a shared pool address): never reported alone.
    #[default]
    Low,
    /// One side of a mining exchange, or a pool name in DNS/TLS.
    Medium,
    /// Mining semantics confirmed (both directions, or a full login/job/submit sequence).
    High,
}

/// Which end of the exchange an address is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

impl From<SocketAddr> for Endpoint {
    fn from(a: SocketAddr) -> Self {
        Endpoint {
            ip: a.ip(),
            port: a.port(),
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// An endpoint written as its `Display` does (`1.2.3.4:5`, `[2001:db8::1]:5`) into a buffer on
/// the stack, for hashing it without a `String`.
struct EndpointText {
    buf: [u8; 64],
    len: usize,
}

impl Default for EndpointText {
    fn default() -> Self {
        EndpointText {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl EndpointText {
    fn write(&mut self, e: &Endpoint) {
        match e.ip {
            IpAddr::V4(ip) => {
                for (i, octet) in ip.octets().into_iter().enumerate() {
                    if i > 0 {
                        self.push(b'.');
                    }
                    self.number(octet.into());
                }
                self.push(b':');
                self.number(e.port.into());
            }
            // At most `[` + 45 + `]:65535`, 53 bytes: it fits, so the write cannot fail.
            IpAddr::V6(_) => {
                let _ = std::fmt::Write::write_fmt(self, format_args!("{e}"));
            }
        }
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// Decimal, as `{}` writes it.
    fn number(&mut self, v: u32) {
        let mut digits = [0u8; 10];
        let mut n = 0;
        let mut v = v;
        loop {
            digits[n] = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        for &d in digits[..n].iter().rev() {
            self.push(d);
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&self.buf)
    }
}

impl std::fmt::Write for EndpointText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The input a finding came from, precise enough to go back to it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourceRef {
    /// `capture`, `interface`, `flows`, `host`, `simulator`.
    pub kind: String,
    /// File path, interface name, collector address or host name.
    pub name: String,
    /// 1-based packet number (captures) of the first packet of the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet: Option<u64>,
    /// 1-based record or line number (flow files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
}

/// A coin payout address with the format it validated as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wallet {
    pub address: String,
    /// Coin the address format implies (`BTC`, `XMR`, `ETH`...), when it is unambiguous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coin: Option<String>,
    /// Format that validated: `base58check`, `bech32`, `bech32m`, `monero`, `hex40`, `email`, `account`.
    pub format: String,
    /// True when a checksum verified (base58check, bech32, Monero Keccak).
    pub checksum_ok: bool,
}

/// A hashrate figure, always with how it was obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HashrateFigure {
    pub hashes_per_second: f64,
    /// `estimated` (from shares) or `measured` (reported by the miner, e.g. eth_submitHashrate).
    pub basis: String,
    /// Human-readable derivation, e.g. "12 shares of difficulty 65536 (SHA-256d) over 120.0 s".
    pub method: String,
}

/// A DNS observation: who asked, what name, what came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsEvidence {
    pub query: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<IpAddr>,
    /// The pool domain (from the indicator set) that the query name falls under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_domain: Option<String>,
}

/// TLS ClientHello facts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TlsEvidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja3_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
}

/// A process on a host (host findings).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProcessEvidence {
    pub pid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmdline: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Audit login uid: the account that logged in, surviving sudo/su.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loginuid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<u32>,
    /// Ancestry from the parent upwards: "pid name" strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ancestry: Vec<String>,
    /// Address the login came from (sshd), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
}

/// Job schedulers: a process under one was started by a scheduled job (persistence), though
/// cron's PAM session gives it its owner's login uid and a session id, as a login would.
pub const SCHEDULERS: &[&str] = &["cron", "crond", "atd", "anacron", "fcron"];

impl ProcessEvidence {
    /// The job scheduler among the process's ancestors ([`SCHEDULERS`]), if any.
    pub fn scheduler(&self) -> Option<&str> {
        self.ancestry.iter().find_map(|a| {
            let name = a.split_once(' ').map_or(a.as_str(), |x| x.1);
            SCHEDULERS
                .iter()
                .any(|s| name.eq_ignore_ascii_case(s))
                .then_some(name)
        })
    }
}

/// Everything a finding can prove. Each field is optional: detectors fill what they saw.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm_family: Option<AlgorithmFamily>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<Wallet>,
    /// The login string as sent (wallet.worker, account, e-mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rig_id: Option<String>,
    /// Miner software as announced (`XMRig/6.26.0 ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extranonce1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub jobs: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shares_submitted: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shares_accepted: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shares_rejected: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashrate: Option<HashrateFigure>,
    /// Methods seen, in first-seen order (bounded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsEvidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsEvidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessEvidence>,
    /// Files involved (host findings): paths with an optional note.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Detector-specific facts that have no field of their own (bounded, small).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// One detection: what, where, when, how sure, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable event id (hex SHA-256 over detector, source and endpoints/process and first_seen):
    /// the same observation re-submitted gets the same id, so ingest can deduplicate.
    pub id: String,
    pub detector: String,
    pub kind: FindingKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialect: Option<Dialect>,
    pub source: SourceRef,
    /// The miner's side (network findings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<Endpoint>,
    /// The pool's side (network findings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<Endpoint>,
    /// Transport: `tcp` or `udp` (network findings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// Host name of the machine a host finding is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub confidence: Confidence,
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Boxed: most of a finding's size, and findings move from detector to table to output.
    #[serde(default)]
    pub evidence: Box<Evidence>,
}

impl Finding {
    pub fn new(detector: &str, kind: FindingKind, at: Timestamp) -> Self {
        Finding {
            id: String::new(),
            detector: detector.to_string(),
            kind,
            dialect: None,
            source: SourceRef::default(),
            client: None,
            server: None,
            transport: None,
            host: None,
            first_seen: at,
            last_seen: at,
            confidence: Confidence::Low,
            reasons: Vec::new(),
            evidence: Box::default(),
        }
    }

    /// Adds a human-readable reason (bounded: at most 32 are kept).
    pub fn reason(&mut self, why: impl Into<String>) -> &mut Self {
        if self.reasons.len() < 32 {
            self.reasons.push(why.into());
        }
        self
    }

    /// Computes the stable event id from what identifies this observation. Call once the
    /// finding is complete; sinks call it when `id` is empty.
    pub fn assign_id(&mut self) {
        let mut h = Sha256::new();
        h.update(self.detector.as_bytes());
        h.update([0]);
        h.update(self.source.kind.as_bytes());
        h.update([0]);
        h.update(self.source.name.as_bytes());
        h.update([0]);
        for e in [&self.client, &self.server].into_iter().flatten() {
            // The bytes of `e.to_string()`, written on the stack.
            let mut text = EndpointText::default();
            text.write(e);
            h.update(text.as_bytes());
            h.update([0]);
        }
        if let Some(p) = &self.evidence.process {
            h.update(p.pid.to_le_bytes());
            h.update(p.name.as_bytes());
        }
        if let Some(host) = &self.host {
            h.update(host.as_bytes());
        }
        for f in &self.evidence.files {
            h.update(f.as_bytes());
            h.update([0]);
        }
        h.update(self.first_seen.0.to_le_bytes());
        // Lower-case hex of the first 16 bytes (as `hex::encode`).
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = h.finalize();
        let mut id = String::with_capacity(32);
        for &b in digest.iter().take(16) {
            id.push(char::from(HEX[usize::from(b >> 4)]));
            id.push(char::from(HEX[usize::from(b & 15)]));
        }
        self.id = id;
    }

    pub fn to_json_line(&self) -> String {
        let mut f = self.clone();
        if f.id.is_empty() {
            f.assign_id();
        }
        serde_json::to_string(&f).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// Widens the time span to cover `t`.
    pub fn seen_at(&mut self, t: Timestamp) {
        if t < self.first_seen {
            self.first_seen = t;
        }
        if t > self.last_seen {
            self.last_seen = t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_names_round_trip() {
        for d in Dialect::ALL {
            assert_eq!(Dialect::parse(d.as_str()), Some(*d));
            let json = serde_json::to_string(d).unwrap();
            assert_eq!(json, format!("\"{}\"", d.as_str()));
        }
    }

    #[test]
    fn ids_are_stable_and_distinguish_endpoints() {
        let mut a = Finding::new("stratum", FindingKind::Network, Timestamp(5));
        a.client = Some("10.0.0.1:5000".parse::<SocketAddr>().unwrap().into());
        let mut b = a.clone();
        a.assign_id();
        b.assign_id();
        assert_eq!(a.id, b.id);
        b.client = Some("10.0.0.2:5000".parse::<SocketAddr>().unwrap().into());
        b.assign_id();
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn endpoints_hash_as_their_display_text() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut addrs: Vec<IpAddr> = [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.0.1",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "2001:db8:0:0:1:0:0:1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "64:ff9b::c000:221",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        for _ in 0..2000 {
            let v = next();
            addrs.push(IpAddr::V4((v as u32).into()));
            let mut segs = [0u16; 8];
            for (i, s) in segs.iter_mut().enumerate() {
                // Zero runs of every length, so `::` lands everywhere.
                *s = if (v >> (i + 32)) & 1 == 0 {
                    0
                } else {
                    next() as u16
                };
            }
            addrs.push(IpAddr::V6(segs.into()));
        }
        for (i, ip) in addrs.into_iter().enumerate() {
            for port in [0, 7, 443, 65535, i as u16] {
                let e = Endpoint { ip, port };
                let mut text = EndpointText::default();
                text.write(&e);
                assert_eq!(text.as_bytes(), e.to_string().as_bytes());
            }
        }
    }

    #[test]
    fn ids_are_the_documented_hash() {
        // The id scheme, spelled out with strings: detector, source kind and name, each
        // endpoint's text, each followed by a zero byte, then first_seen (little-endian).
        let mut f = Finding::new(
            "behavioural",
            FindingKind::Network,
            Timestamp(1_639_500_334_924_601),
        );
        f.source.kind = "flows".into();
        f.source.name = "x.csv".into();
        f.client = Some("10.0.0.5:57104".parse::<SocketAddr>().unwrap().into());
        f.server = Some("[2001:db8::7]:14444".parse::<SocketAddr>().unwrap().into());
        f.assign_id();
        let mut h = Sha256::new();
        for part in [
            "behavioural",
            "flows",
            "x.csv",
            "10.0.0.5:57104",
            "[2001:db8::7]:14444",
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(1_639_500_334_924_601i64.to_le_bytes());
        assert_eq!(f.id, hex::encode(&h.finalize()[..16]));
    }

    /// The id as it was computed before the endpoints were written on the stack.
    fn reference_id(f: &Finding) -> String {
        let mut h = Sha256::new();
        h.update(f.detector.as_bytes());
        h.update([0]);
        h.update(f.source.kind.as_bytes());
        h.update([0]);
        h.update(f.source.name.as_bytes());
        h.update([0]);
        for e in [&f.client, &f.server].into_iter().flatten() {
            h.update(e.to_string().as_bytes());
            h.update([0]);
        }
        if let Some(p) = &f.evidence.process {
            h.update(p.pid.to_le_bytes());
            h.update(p.name.as_bytes());
        }
        if let Some(host) = &f.host {
            h.update(host.as_bytes());
        }
        for file in &f.evidence.files {
            h.update(file.as_bytes());
            h.update([0]);
        }
        h.update(f.first_seen.0.to_le_bytes());
        hex::encode(&h.finalize()[..16])
    }

    #[test]
    fn ids_equal_the_reference_for_long_and_host_findings() {
        for len in [0, 5, 180, 250, 300, 1000] {
            let mut f = Finding::new("behavioural", FindingKind::Network, Timestamp(-3));
            f.source.kind = "flows".into();
            f.source.name = "n".repeat(len);
            f.client = Some("[2001:db8::1]:443".parse::<SocketAddr>().unwrap().into());
            f.server = Some("192.0.2.250:3333".parse::<SocketAddr>().unwrap().into());
            f.assign_id();
            assert_eq!(f.id, reference_id(&f), "name of {len} bytes");
            let mut h = Finding::new("process", FindingKind::Host, Timestamp(9));
            h.host = Some("h".repeat(len));
            h.evidence.process = Some(ProcessEvidence {
                pid: 4242,
                name: "xmrig".into(),
                ..ProcessEvidence::default()
            });
            h.evidence.files = vec!["/tmp/x".into(), "f".repeat(len)];
            h.assign_id();
            assert_eq!(h.id, reference_id(&h), "host of {len} bytes");
        }
    }

    #[test]
    fn finding_json_round_trips() {
        let mut f = Finding::new("dns", FindingKind::Network, Timestamp(1));
        f.evidence.dns = Some(DnsEvidence {
            query: "xmr.pool.example".into(),
            answers: vec!["192.0.2.1".parse().unwrap()],
            matched_domain: Some("pool.example".into()),
        });
        let line = f.to_json_line();
        let back: Finding = serde_json::from_str(&line).unwrap();
        assert_eq!(back.evidence.dns, f.evidence.dns);
    }
}
