//! Stratum V2 binary frames and the encrypted Noise handshake shape.
//!
//! In clear (LAN setups), SV2 frames are decoded: a SetupConnection for the mining protocol opens
//! the session, and the pool's SetupConnection.Success, channel opening, jobs and shares confirm
//! it. Encrypted SV2 starts with a Noise NX handshake whose sizes are fixed: the client speaks
//! first with exactly 64 random-looking bytes and the server answers with exactly 234 (170 in the
//! spec text), neither a TLS record nor JSON nor text. Both sides are required before reporting.

use crate::{Context, Detector, Direction, FlowDetector, FlowInfo, Progress, Transport};
use minetrace_core::{
    AlgorithmFamily, Confidence, Dialect, Finding, FindingKind, HashrateFigure, Timestamp,
};
use minetrace_proto::sv2::{self, MessageType, SetupConnection};
use minetrace_proto::tls::Parsed;

/// Bytes buffered per direction while a plain frame is incomplete.
const MAX_FRAME_BUFFER: usize = 16 * 1024;
/// Frames decoded per flow before the detector has seen enough.
const MAX_FRAMES: u32 = 10_000;
/// Message names remembered, in first-seen order.
const MAX_METHODS: usize = 16;

#[derive(Debug, Default)]
pub struct StratumV2Detector;

impl Detector for StratumV2Detector {
    fn name(&self) -> &'static str {
        "stratum-v2"
    }
    fn description(&self) -> &'static str {
        "Stratum V2 binary frames and the encrypted Noise handshake shape."
    }
    fn dialects(&self) -> &'static [Dialect] {
        &[Dialect::StratumV2, Dialect::StratumV2Noise]
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn open(
        &self,
        flow: &FlowInfo,
        dir: Direction,
        payload: &[u8],
        _ctx: &Context,
    ) -> Option<Box<dyn FlowDetector>> {
        if flow.transport != Transport::Tcp {
            return None;
        }
        if starts_setup_connection(payload) || setup_connection_prefix(payload) {
            return Some(Box::new(Sv2Flow::plain(dir)));
        }
        // The Noise initiator is the connection's initiator and speaks first.
        let initiator_ok = !flow.initiator_known || dir == Direction::AtoB;
        if initiator_ok && sv2::is_noise_client_hello(payload) {
            return Some(Box::new(Sv2Flow::noise(dir)));
        }
        None
    }
}

/// A SetupConnection frame header (base protocol, type 0, sane length) followed, when present,
/// by a known sub-protocol and version 2.
fn starts_setup_connection(payload: &[u8]) -> bool {
    let Some(h) = sv2::parse_header(payload) else {
        return false;
    };
    if h.extension_type != 0 || h.channel_msg || h.msg_type != MessageType::SETUP_CONNECTION {
        return false;
    }
    // Fixed fields (1+2+2+4) + 5 one-byte string lengths + port: at least 16 bytes.
    if !(16..=1300).contains(&h.msg_length) {
        return false;
    }
    match payload.get(6..11) {
        Some([protocol, min_lo, min_hi, max_lo, max_hi]) => {
            *protocol <= 2
                && u16::from_le_bytes([*min_lo, *min_hi]) <= u16::from_le_bytes([*max_lo, *max_hi])
                && u16::from_le_bytes([*min_lo, *min_hi]) >= 1
                && u16::from_le_bytes([*max_lo, *max_hi]) <= 16
        }
        _ => payload.len() < 11,
    }
}

/// A chunk shorter than a frame header that can still begin a SetupConnection frame (the
/// engine may deliver a stream byte by byte); the frame is checked once it is whole.
fn setup_connection_prefix(payload: &[u8]) -> bool {
    !payload.is_empty()
        && payload.len() < sv2::HEADER_LEN
        && payload.iter().take(3).all(|b| *b == 0)
}

#[derive(Debug, Default)]
struct PlainState {
    buf: [Vec<u8>; 2],
    setup: Option<SetupConnection>,
    setup_ok: Option<u16>,
    setup_error: Option<String>,
    user_identity: Option<String>,
    nominal_hash_rate: Option<f32>,
    channel_opened: bool,
    jobs: u64,
    shares_submitted: u64,
    shares_accepted: u64,
    shares_rejected: u64,
    methods: Vec<String>,
    frames: u32,
    broken: [bool; 2],
}

#[derive(Debug, Default)]
struct NoiseState {
    /// Bytes the client sent before the server first spoke (kept up to 65).
    client_first: Vec<u8>,
    /// Bytes the server sent before the client spoke again (kept up to 235).
    server_first: Vec<u8>,
    /// 0: client's first message, 1: server's reply, 2: after the handshake.
    phase: u8,
    /// Size of the client's first message after the handshake, when seen.
    next_client_len: Option<usize>,
    next_client_ok: bool,
    shape_broken: bool,
}

#[derive(Debug)]
enum Mode {
    Plain(Box<PlainState>),
    Noise(Box<NoiseState>),
}

#[derive(Debug)]
struct Sv2Flow {
    client_dir: Direction,
    mode: Mode,
    first_seen: Option<Timestamp>,
    last_seen: Option<Timestamp>,
}

impl Sv2Flow {
    fn plain(client_dir: Direction) -> Self {
        Sv2Flow {
            client_dir,
            mode: Mode::Plain(Box::default()),
            first_seen: None,
            last_seen: None,
        }
    }
    fn noise(client_dir: Direction) -> Self {
        Sv2Flow {
            client_dir,
            mode: Mode::Noise(Box::default()),
            first_seen: None,
            last_seen: None,
        }
    }
}

fn push_method(methods: &mut Vec<String>, ty: MessageType) {
    let name = ty
        .name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("0x{:02x}", ty.0));
    if methods.len() < MAX_METHODS && !methods.contains(&name) {
        methods.push(name);
    }
}

impl PlainState {
    fn frame(&mut self, from_client: bool, ty: MessageType, payload: &[u8]) {
        self.frames += 1;
        push_method(&mut self.methods, ty);
        match (from_client, ty) {
            (true, MessageType::SETUP_CONNECTION) => {
                if let Ok(m) = sv2::parse_setup_connection(payload) {
                    self.setup.get_or_insert(m);
                }
            }
            (false, MessageType::SETUP_CONNECTION_SUCCESS) => {
                if let Ok(m) = sv2::parse_setup_connection_success(payload) {
                    self.setup_ok = Some(m.used_version);
                }
            }
            (false, MessageType::SETUP_CONNECTION_ERROR) => {
                if let Ok(code) = sv2::parse_setup_connection_error(payload) {
                    self.setup_error = Some(clip(&code));
                }
            }
            (true, MessageType::OPEN_STANDARD_MINING_CHANNEL) => {
                if let Ok(m) = sv2::parse_open_standard_mining_channel(payload) {
                    self.user_identity
                        .get_or_insert_with(|| clip(&m.user_identity));
                    if m.nominal_hash_rate.is_finite() && m.nominal_hash_rate > 0.0 {
                        self.nominal_hash_rate = Some(m.nominal_hash_rate);
                    }
                }
            }
            (false, MessageType::OPEN_STANDARD_MINING_CHANNEL_SUCCESS)
            | (false, MessageType::OPEN_EXTENDED_MINING_CHANNEL_SUCCESS) => {
                self.channel_opened = true;
            }
            (false, MessageType::NEW_MINING_JOB) | (false, MessageType::SET_NEW_PREV_HASH) => {
                self.jobs += u64::from(ty == MessageType::NEW_MINING_JOB);
            }
            (true, MessageType::SUBMIT_SHARES_STANDARD)
            | (true, MessageType::SUBMIT_SHARES_EXTENDED) => self.shares_submitted += 1,
            (false, MessageType::SUBMIT_SHARES_SUCCESS) => self.shares_accepted += 1,
            (false, MessageType::SUBMIT_SHARES_ERROR) => self.shares_rejected += 1,
            _ => {}
        }
    }

    fn data(&mut self, from_client: bool, data: &[u8]) -> Progress {
        let side = usize::from(!from_client);
        if self.broken[side] {
            return self.progress();
        }
        let mut buf = std::mem::take(&mut self.buf[side]);
        buf.extend_from_slice(data);
        let mut used = 0usize;
        loop {
            let rest = buf.get(used..).unwrap_or(&[]);
            match sv2::parse_frame(rest) {
                Ok(Parsed::Done(frame)) => {
                    let (ty, ext) = (frame.header.msg_type, frame.header.extension_type);
                    let len = sv2::HEADER_LEN + frame.payload.len();
                    if ext == 0 {
                        let payload = frame.payload.to_vec();
                        self.frame(from_client, ty, &payload);
                    }
                    used += len;
                    if self.frames >= MAX_FRAMES {
                        break;
                    }
                }
                Ok(Parsed::Incomplete { .. }) if rest.len() <= MAX_FRAME_BUFFER => break,
                // Not SV2 any more (or a frame too large to follow): stop this direction.
                _ => {
                    self.broken[side] = true;
                    used = buf.len();
                    break;
                }
            }
        }
        buf.drain(..used.min(buf.len()));
        self.buf[side] = buf;
        self.progress()
    }

    fn progress(&self) -> Progress {
        if self.frames >= MAX_FRAMES || (self.broken[0] && self.broken[1]) {
            Progress::Done
        } else {
            Progress::Continue
        }
    }
}

impl NoiseState {
    fn data(&mut self, from_client: bool, data: &[u8]) -> Progress {
        match (self.phase, from_client) {
            (0, true) => {
                if self.client_first.len() + data.len() > sv2::NOISE_CLIENT_HELLO_LEN {
                    self.shape_broken = true;
                    return Progress::Done;
                }
                self.client_first.extend_from_slice(data);
            }
            (0, false) | (1, false) => {
                if self.phase == 0 {
                    if self.client_first.len() != sv2::NOISE_CLIENT_HELLO_LEN {
                        self.shape_broken = true;
                        return Progress::Done;
                    }
                    self.phase = 1;
                }
                if self.server_first.len() + data.len() > sv2::NOISE_SERVER_REPLY_LEN {
                    self.shape_broken = true;
                    return Progress::Done;
                }
                self.server_first.extend_from_slice(data);
            }
            (1, true) => {
                self.phase = 2;
                self.next_client_len = Some(data.len());
                self.next_client_ok = sv2::is_noise_transport_message(data);
                return Progress::Done;
            }
            _ => return Progress::Done,
        }
        Progress::Continue
    }

    fn handshake_seen(&self) -> bool {
        !self.shape_broken
            && sv2::is_noise_client_hello(&self.client_first)
            && sv2::is_noise_server_reply(&self.server_first)
            // When the client spoke again, it must look like an encrypted record.
            && (self.next_client_len.is_none() || self.next_client_ok)
    }
}

impl FlowDetector for Sv2Flow {
    fn on_data(
        &mut self,
        _flow: &FlowInfo,
        dir: Direction,
        ts: Timestamp,
        data: &[u8],
        _ctx: &mut Context,
    ) -> Progress {
        if data.is_empty() {
            return Progress::Continue;
        }
        self.first_seen.get_or_insert(ts);
        self.last_seen = Some(ts);
        let from_client = dir == self.client_dir;
        match &mut self.mode {
            Mode::Plain(p) => p.data(from_client, data),
            Mode::Noise(n) => n.data(from_client, data),
        }
    }

    fn on_gap(&mut self, dir: Direction, _bytes: u64) {
        match &mut self.mode {
            Mode::Plain(p) => {
                let side = usize::from(dir != self.client_dir);
                p.buf[side].clear();
                p.broken[side] = true;
            }
            Mode::Noise(n) => n.shape_broken = true,
        }
    }

    fn on_close(self: Box<Self>, flow: &FlowInfo, _ctx: &mut Context) -> Vec<Finding> {
        let first = self.first_seen.unwrap_or(flow.first_seen);
        let last = self.last_seen.unwrap_or(first);
        let mut f = Finding::new("stratum-v2", FindingKind::Network, first);
        f.seen_at(last);
        f.client = Some(flow.endpoint(self.client_dir));
        f.server = Some(flow.endpoint(self.client_dir.reverse()));
        match self.mode {
            Mode::Plain(p) => {
                let Some(setup) = &p.setup else {
                    return Vec::new();
                };
                if setup.protocol != SetupConnection::PROTOCOL_MINING {
                    return Vec::new();
                }
                f.dialect = Some(Dialect::StratumV2);
                f.reason(format!(
                    "client sent a Stratum V2 SetupConnection for the mining protocol (versions {}-{})",
                    setup.min_version, setup.max_version
                ));
                let confirmed =
                    p.setup_ok.is_some() || p.channel_opened || p.jobs > 0 || p.shares_accepted > 0;
                if let Some(v) = p.setup_ok {
                    f.reason(format!(
                        "server answered SetupConnection.Success (version {v})"
                    ));
                }
                if let Some(code) = &p.setup_error {
                    f.reason(format!("server answered SetupConnection.Error ({code})"));
                }
                if let Some(user) = &p.user_identity {
                    f.reason(format!(
                        "client opened a standard mining channel as {user:?}"
                    ));
                }
                if p.jobs > 0 {
                    f.reason(format!("server sent {} NewMiningJob message(s)", p.jobs));
                }
                f.confidence = if confirmed {
                    Confidence::High
                } else {
                    Confidence::Medium
                };
                if !setup.endpoint_host.is_empty() {
                    f.evidence.pool_host = Some(clip(&setup.endpoint_host));
                }
                let agent = [&setup.vendor, &setup.hardware_version, &setup.firmware]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                if !agent.is_empty() {
                    f.evidence.agent = Some(clip(&agent));
                }
                if !setup.device_id.is_empty() {
                    f.evidence.rig_id = Some(clip(&setup.device_id));
                }
                // Stratum V2 carries Bitcoin block headers (version, previous hash, merkle root,
                // nbits): whatever the coin, the work is SHA-256d, and the device's declared
                // rate can be priced.
                f.evidence.algorithm = Some("sha256d".into());
                f.evidence.algorithm_family = Some(AlgorithmFamily::Sha256d);
                if let Some(user) = &p.user_identity {
                    f.evidence.login = Some(user.clone());
                    let parts = minetrace_proto::address::split_login(user);
                    f.evidence.coin = parts.wallet.as_ref().and_then(|w| w.coin.clone());
                    f.evidence.wallet = parts.wallet;
                    f.evidence.worker = parts.worker.map(|w| clip(&w));
                }
                if let Some(rate) = p.nominal_hash_rate {
                    f.evidence.hashrate = Some(HashrateFigure {
                        hashes_per_second: f64::from(rate),
                        basis: "measured".into(),
                        method:
                            "nominal_hash_rate the device declared in OpenStandardMiningChannel"
                                .into(),
                    });
                }
                f.evidence.jobs = p.jobs;
                f.evidence.shares_submitted = p.shares_submitted;
                f.evidence.shares_accepted = p.shares_accepted;
                f.evidence.shares_rejected = p.shares_rejected;
                f.evidence.methods = p.methods.clone();
                f.evidence
                    .extra
                    .insert("sv2_flags".into(), serde_json::Value::from(setup.flags));
                if setup.endpoint_port != 0 {
                    f.evidence.extra.insert(
                        "sv2_endpoint_port".into(),
                        serde_json::Value::from(setup.endpoint_port),
                    );
                }
            }
            Mode::Noise(n) => {
                if !n.handshake_seen() {
                    return Vec::new();
                }
                f.dialect = Some(Dialect::StratumV2Noise);
                f.confidence = Confidence::Medium;
                f.reason(
                    "client's first payload is exactly 64 bytes of high-entropy data (a Noise NX \
                     ElligatorSwift key), with no TLS record header, JSON or text",
                );
                f.reason(format!(
                    "server's first reply is exactly {} bytes of high-entropy data, the size of \
                     the Stratum V2 Noise NX responder message",
                    n.server_first.len()
                ));
                if let Some(len) = n.next_client_len {
                    f.reason(format!(
                        "the client then sent a {len}-byte encrypted record (22-byte encrypted \
                         header plus MAC-protected payload)"
                    ));
                }
            }
        }
        vec![f]
    }

    fn memory(&self) -> usize {
        match &self.mode {
            Mode::Plain(p) => {
                p.buf.iter().map(Vec::capacity).sum::<usize>() + p.methods.len() * 32 + 1024
            }
            Mode::Noise(n) => n.client_first.capacity() + n.server_first.capacity(),
        }
    }
}

fn clip(s: &str) -> String {
    s.chars().take(256).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DirStats, FlowEnd};
    use std::sync::Arc;

    fn flow() -> FlowInfo {
        FlowInfo {
            transport: Transport::Tcp,
            a: "10.1.1.20:51000".parse().unwrap(),
            b: "192.0.2.30:34254".parse().unwrap(),
            initiator_known: true,
            first_seen: Timestamp(1_000_000),
            last_seen: Timestamp(60_000_000),
            first_packet: 1,
            stats: [DirStats::default(); 2],
            first_packets: Vec::new(),
            first_payload: Default::default(),
            clock: None,
            end: FlowEnd::Fin,
        }
    }

    fn ctx() -> Context {
        Context::new(
            Arc::new(minetrace_intel::Intel::builtin()),
            "capture",
            "t.pcap",
        )
    }

    fn str0(s: &str) -> Vec<u8> {
        let mut v = vec![s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    fn frame(ext: u16, ty: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = ext.to_le_bytes().to_vec();
        f.push(ty);
        f.extend_from_slice(&(payload.len() as u32).to_le_bytes()[..3]);
        f.extend_from_slice(payload);
        f
    }

    fn setup_connection(protocol: u8) -> Vec<u8> {
        let mut p = vec![protocol];
        p.extend_from_slice(&2u16.to_le_bytes());
        p.extend_from_slice(&2u16.to_le_bytes());
        p.extend_from_slice(&0u32.to_le_bytes());
        p.extend(str0("pool.example"));
        p.extend_from_slice(&34254u16.to_le_bytes());
        p.extend(str0("Bitmain"));
        p.extend(str0("S19j"));
        p.extend(str0("braiins-os"));
        p.extend(str0("rig-42"));
        frame(0, 0x00, &p)
    }

    fn open_channel() -> Vec<u8> {
        let mut p = 1u32.to_le_bytes().to_vec();
        p.extend(str0("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.rig42"));
        p.extend_from_slice(&9.5e13f32.to_le_bytes());
        p.extend_from_slice(&[0xff; 32]);
        frame(0, 0x10, &p)
    }

    fn noise(seed: u64, n: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    fn run(info: &FlowInfo, chunks: &[(Direction, Vec<u8>)]) -> Vec<Finding> {
        let mut c = ctx();
        let mut state: Option<Box<dyn FlowDetector>> = None;
        let mut done = false;
        for (dir, data) in chunks {
            if state.is_none() {
                state = StratumV2Detector.open(info, *dir, data, &c);
            }
            if let Some(s) = state.as_mut() {
                if !done {
                    done =
                        s.on_data(info, *dir, Timestamp(2_000_000), data, &mut c) == Progress::Done;
                }
            }
        }
        state.map(|s| s.on_close(info, &mut c)).unwrap_or_default()
    }

    fn plain_session() -> Vec<(Direction, Vec<u8>)> {
        let success = frame(0, 0x01, &[2, 0, 0, 0, 0, 0]);
        let mut osc_ok = 1u32.to_le_bytes().to_vec();
        osc_ok.extend_from_slice(&[0u8; 4 + 32 + 1 + 4]);
        vec![
            (Direction::AtoB, setup_connection(0)),
            (Direction::BtoA, success),
            (Direction::AtoB, open_channel()),
            (Direction::BtoA, frame(0, 0x11, &osc_ok)),
            (Direction::BtoA, frame(0x8000, 0x15, &[0u8; 49])),
            (Direction::AtoB, frame(0x8000, 0x1a, &[0u8; 20])),
            (Direction::BtoA, frame(0x8000, 0x1c, &[0u8; 20])),
        ]
    }

    #[test]
    fn plain_session_is_high_confidence_with_evidence() {
        let findings = run(&flow(), &plain_session());
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(f.dialect, Some(Dialect::StratumV2));
        assert_eq!(f.confidence, Confidence::High);
        assert_eq!(f.client.as_ref().unwrap().port, 51000);
        assert_eq!(f.evidence.pool_host.as_deref(), Some("pool.example"));
        assert_eq!(f.evidence.agent.as_deref(), Some("Bitmain S19j braiins-os"));
        assert_eq!(f.evidence.rig_id.as_deref(), Some("rig-42"));
        assert_eq!(
            f.evidence.login.as_deref(),
            Some("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.rig42")
        );
        assert_eq!(
            f.evidence.hashrate.as_ref().unwrap().hashes_per_second,
            9.5e13f32 as f64
        );
        assert_eq!(f.evidence.algorithm_family, Some(AlgorithmFamily::Sha256d));
        assert_eq!(f.evidence.coin.as_deref(), Some("BTC"));
        assert_eq!(
            (
                f.evidence.jobs,
                f.evidence.shares_submitted,
                f.evidence.shares_accepted
            ),
            (1, 1, 1)
        );
    }

    #[test]
    fn plain_session_byte_by_byte() {
        let mut chunks = Vec::new();
        for (dir, data) in plain_session() {
            for b in data {
                chunks.push((dir, vec![b]));
            }
        }
        let findings = run(&flow(), &chunks);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].confidence, Confidence::High);
    }

    #[test]
    fn one_sided_setup_is_medium_and_other_protocols_are_silent() {
        let findings = run(&flow(), &[(Direction::AtoB, setup_connection(0))]);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].confidence, Confidence::Medium);
        // Template Distribution (2) is not a miner's session.
        assert!(run(&flow(), &[(Direction::AtoB, setup_connection(2))]).is_empty());
    }

    #[test]
    fn noise_handshake_shape_is_reported_with_both_sides() {
        for reply in [234usize, 170] {
            let chunks = vec![
                (Direction::AtoB, noise(5, 64)),
                (Direction::BtoA, noise(6, reply / 2)),
                (Direction::BtoA, noise(11, reply - reply / 2)),
                (Direction::AtoB, noise(8, 120)),
            ];
            let findings = run(&flow(), &chunks);
            assert_eq!(findings.len(), 1, "reply {reply}");
            let f = &findings[0];
            assert_eq!(f.dialect, Some(Dialect::StratumV2Noise));
            assert_eq!(f.confidence, Confidence::Medium);
            assert!(f.reasons.len() >= 3);
        }
    }

    #[test]
    fn noise_look_alikes_stay_silent() {
        let info = flow();
        // Client side only.
        assert!(run(&info, &[(Direction::AtoB, noise(1, 64))]).is_empty());
        // 64 random bytes answered by something else.
        assert!(run(
            &info,
            &[
                (Direction::AtoB, noise(1, 64)),
                (Direction::BtoA, noise(2, 300))
            ]
        )
        .is_empty());
        assert!(run(
            &info,
            &[
                (Direction::AtoB, noise(1, 64)),
                (
                    Direction::BtoA,
                    b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()
                )
            ]
        )
        .is_empty());
        // The 234-byte reply is text, not random.
        assert!(run(
            &info,
            &[
                (Direction::AtoB, noise(1, 64)),
                (Direction::BtoA, vec![b'a'; 234])
            ]
        )
        .is_empty());
        // Client sends more than 64 bytes before the server speaks.
        assert!(run(
            &info,
            &[
                (Direction::AtoB, noise(1, 64)),
                (Direction::AtoB, noise(3, 10)),
                (Direction::BtoA, noise(2, 234))
            ]
        )
        .is_empty());
        // The responder speaks first (the initiator's 64 bytes come from the server side).
        assert!(run(
            &info,
            &[
                (Direction::BtoA, noise(1, 64)),
                (Direction::AtoB, noise(2, 234))
            ]
        )
        .is_empty());
        // SSH banner exchange.
        let ssh = [
            (
                Direction::AtoB,
                b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n".to_vec(),
            ),
            (Direction::BtoA, b"SSH-2.0-OpenSSH_8.9p1\r\n".to_vec()),
        ];
        assert!(run(&info, &ssh).is_empty());
        // TLS: a 64-byte chunk that is a TLS record.
        let mut tls = noise(4, 64);
        tls[..5].copy_from_slice(&[0x16, 0x03, 0x01, 0x00, 59]);
        assert!(run(
            &info,
            &[(Direction::AtoB, tls), (Direction::BtoA, noise(2, 234))]
        )
        .is_empty());
        // After the handshake, the client sends something that is not an encrypted record.
        assert!(run(
            &info,
            &[
                (Direction::AtoB, noise(1, 64)),
                (Direction::BtoA, noise(2, 234)),
                (Direction::AtoB, b"hi".to_vec())
            ]
        )
        .is_empty());
    }

    #[test]
    fn json_and_random_binary_do_not_open_plain_mode() {
        let c = ctx();
        let info = flow();
        assert!(StratumV2Detector
            .open(&info, Direction::AtoB, br#"{"id":1}"#, &c)
            .is_none());
        assert!(StratumV2Detector
            .open(&info, Direction::AtoB, &[0, 0, 0, 0, 0, 0], &c)
            .is_none());
        assert!(StratumV2Detector
            .open(&info, Direction::AtoB, &noise(9, 100), &c)
            .is_none());
    }
}
