//! TLS ClientHello with a pool SNI; records JA3 and JA4.
//!
//! The ClientHello is gathered across TCP segments and TLS records (up to [`MAX_HELLO_BUFFER`]
//! bytes) on any port. A server name under a pool domain of the indicator set is a finding with
//! the hello's fingerprints. A hello without SNI is not reported here: on its own it is a
//! behavioural hint for the traffic-shape detector, which can reuse [`tls_evidence`].

use crate::{Context, Detector, Direction, FlowDetector, FlowInfo, Progress, Transport};
use minetrace_core::{Confidence, Dialect, Finding, FindingKind, Timestamp, TlsEvidence};
use minetrace_proto::tls::{self, ClientHello, Parsed};

/// Bytes of the client's stream buffered while waiting for a whole ClientHello.
pub const MAX_HELLO_BUFFER: usize = 16 * 1024 + 64;

#[derive(Debug, Default)]
pub struct TlsDetector;

/// The TLS facts of a ClientHello as finding evidence (SNI, JA3 string and MD5, JA4, ALPN).
pub fn tls_evidence(hello: &ClientHello) -> TlsEvidence {
    TlsEvidence {
        sni: hello.sni.as_deref().map(clip),
        ja3: Some(hello.ja3()),
        ja3_hash: Some(hello.ja3_hash()),
        ja4: Some(hello.ja4()),
        alpn: hello
            .alpn_strings()
            .iter()
            .take(8)
            .map(|s| clip(s))
            .collect(),
    }
}

impl Detector for TlsDetector {
    fn name(&self) -> &'static str {
        "tls"
    }
    fn description(&self) -> &'static str {
        "TLS ClientHello with a pool SNI; records JA3 and JA4."
    }
    fn dialects(&self) -> &'static [Dialect] {
        &[Dialect::Tls]
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
        if flow.transport != Transport::Tcp || !tls::looks_like_client_hello(payload) {
            return None;
        }
        // The initiator sends the ClientHello; a server's record is not one.
        if flow.initiator_known && dir != Direction::AtoB {
            return None;
        }
        Some(Box::new(TlsFlow {
            client_dir: dir,
            buf: Vec::new(),
            want: 0,
            hello: None,
            seen_at: None,
        }))
    }
}

struct TlsFlow {
    /// The direction the hello travels: its sender is the client.
    client_dir: Direction,
    buf: Vec<u8>,
    /// Buffer length the last parse said it needs (skip re-parsing before then).
    want: usize,
    hello: Option<ClientHello>,
    seen_at: Option<Timestamp>,
}

impl FlowDetector for TlsFlow {
    fn on_data(
        &mut self,
        _flow: &FlowInfo,
        dir: Direction,
        ts: Timestamp,
        data: &[u8],
        _ctx: &mut Context,
    ) -> Progress {
        if dir != self.client_dir {
            return Progress::Continue;
        }
        if self.seen_at.is_none() {
            self.seen_at = Some(ts);
        }
        let room = MAX_HELLO_BUFFER.saturating_sub(self.buf.len());
        self.buf
            .extend_from_slice(data.get(..room.min(data.len())).unwrap_or(data));
        if self.buf.len() < self.want && self.buf.len() < MAX_HELLO_BUFFER {
            return Progress::Continue;
        }
        match tls::parse_client_hello(&self.buf) {
            Ok(Parsed::Done(hello)) => {
                self.hello = Some(hello);
                self.buf = Vec::new();
                Progress::Done
            }
            Ok(Parsed::Incomplete { needed }) if self.buf.len() < MAX_HELLO_BUFFER => {
                self.want = self.buf.len().saturating_add(needed);
                Progress::Continue
            }
            _ => {
                self.buf = Vec::new();
                Progress::Done
            }
        }
    }

    fn on_gap(&mut self, dir: Direction, _bytes: u64) {
        if dir == self.client_dir && self.hello.is_none() {
            // The hello cannot be completed across a hole.
            self.buf = Vec::new();
        }
    }

    fn on_close(self: Box<Self>, flow: &FlowInfo, ctx: &mut Context) -> Vec<Finding> {
        let Some(hello) = self.hello else {
            return Vec::new();
        };
        let Some(sni) = hello.sni.as_deref() else {
            return Vec::new();
        };
        let Some(matched) = ctx.intel.match_domain(sni) else {
            return Vec::new();
        };
        let at = self.seen_at.unwrap_or(flow.first_seen);
        let mut f = Finding::new("tls", FindingKind::Network, at);
        f.dialect = Some(Dialect::Tls);
        f.confidence = Confidence::Medium;
        f.client = Some(flow.endpoint(self.client_dir));
        f.server = Some(flow.endpoint(self.client_dir.reverse()));
        let server = flow.receiver(self.client_dir);
        let pool = matched
            .pool
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        f.reason(format!(
            "TLS ClientHello names {} (SNI), under the pool domain {}{pool}",
            clip(sni),
            matched.domain
        ));
        if ctx.intel.known_endpoint(sni, server.port()) {
            f.reason(format!(
                "{}:{} is a published pool endpoint",
                clip(sni),
                server.port()
            ));
        }
        let evidence = tls_evidence(&hello);
        if let Some(ja4) = &evidence.ja4 {
            f.reason(format!("client fingerprint JA4 {ja4}"));
        }
        if let [coin] = matched.coins.as_slice() {
            f.evidence.coin = Some(coin.clone());
        }
        f.evidence.pool_host = Some(clip(sni));
        f.evidence.tls = Some(evidence);
        vec![f]
    }

    fn memory(&self) -> usize {
        self.buf.capacity() + if self.hello.is_some() { 1024 } else { 0 }
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

    fn flow(port: u16) -> FlowInfo {
        FlowInfo {
            transport: Transport::Tcp,
            a: "10.0.0.5:50000".parse().unwrap(),
            b: format!("192.0.2.80:{port}").parse().unwrap(),
            initiator_known: true,
            first_seen: Timestamp(1_000_000),
            last_seen: Timestamp(9_000_000),
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

    /// A minimal TLS 1.3-style ClientHello with the given SNI (None: no server_name).
    fn hello(sni: Option<&str>) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend_from_slice(&[0x42; 32]);
        body.push(0);
        body.extend_from_slice(&[0, 4, 0x13, 0x01, 0x13, 0x02, 1, 0]);
        let mut exts = Vec::new();
        if let Some(name) = sni {
            let n = name.as_bytes();
            exts.extend_from_slice(&[0, 0]);
            exts.extend_from_slice(&((n.len() + 5) as u16).to_be_bytes());
            exts.extend_from_slice(&((n.len() + 3) as u16).to_be_bytes());
            exts.push(0);
            exts.extend_from_slice(&(n.len() as u16).to_be_bytes());
            exts.extend_from_slice(n);
        }
        exts.extend_from_slice(&[0, 0x2b, 0, 3, 2, 3, 4]); // supported_versions: TLS 1.3
        exts.extend_from_slice(&[0, 0x0d, 0, 4, 0, 2, 4, 3]); // signature_algorithms
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        let mut hs = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
        hs.extend_from_slice(&body);
        let mut rec = vec![22, 3, 1, (hs.len() >> 8) as u8, hs.len() as u8];
        rec.extend_from_slice(&hs);
        rec
    }

    /// Feeds chunks like the engine: offer each chunk until accepted, then on_data.
    fn run(info: &FlowInfo, chunks: &[(Direction, &[u8])]) -> Vec<Finding> {
        let mut c = ctx();
        let mut state: Option<Box<dyn FlowDetector>> = None;
        let mut done = false;
        for (dir, data) in chunks {
            if state.is_none() {
                state = TlsDetector.open(info, *dir, data, &c);
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

    #[test]
    fn pool_sni_is_reported_with_fingerprints_at_every_split() {
        let raw = hello(Some("xmr.2miners.com"));
        let info = flow(12222);
        for cut in 0..=raw.len() {
            let chunks = [
                (Direction::AtoB, &raw[..cut]),
                (Direction::BtoA, &b"\x16\x03\x03"[..]),
                (Direction::AtoB, &raw[cut..]),
            ];
            let findings = run(&info, &chunks);
            assert_eq!(findings.len(), 1, "cut {cut}");
            let f = &findings[0];
            assert_eq!(f.dialect, Some(Dialect::Tls));
            assert_eq!(f.confidence, Confidence::Medium);
            assert_eq!(f.client.as_ref().unwrap().port, 50000);
            assert_eq!(f.server.as_ref().unwrap().port, 12222);
            assert_eq!(f.evidence.pool_host.as_deref(), Some("xmr.2miners.com"));
            let t = f.evidence.tls.as_ref().unwrap();
            assert_eq!(t.sni.as_deref(), Some("xmr.2miners.com"));
            assert!(t.ja4.as_deref().unwrap().starts_with("t13d0203"));
            assert_eq!(t.ja3_hash.as_deref().unwrap().len(), 32);
        }
    }

    #[test]
    fn byte_by_byte_delivery_works() {
        let raw = hello(Some("pool.supportxmr.com"));
        let chunks: Vec<(Direction, &[u8])> = raw.chunks(1).map(|c| (Direction::AtoB, c)).collect();
        assert_eq!(run(&flow(443), &chunks).len(), 1);
    }

    #[test]
    fn real_chrome_hello_to_a_benign_site_is_silent() {
        let text = include_str!("../../proto/src/testdata/chrome-client-hello-e5627efa2ab1.hex");
        let text = text.trim().as_bytes();
        let raw: Vec<u8> = text
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect();
        for size in [1, 7, 100, 1500] {
            let chunks: Vec<(Direction, &[u8])> =
                raw.chunks(size).map(|c| (Direction::AtoB, c)).collect();
            assert!(run(&flow(443), &chunks).is_empty());
        }
    }

    #[test]
    fn benign_look_alikes_stay_silent() {
        let info = flow(443);
        for raw in [
            hello(Some("www.example.com")),
            hello(Some("zpool.cache")),
            hello(Some("notnanopool.org")),
            hello(None),
        ] {
            assert!(run(&info, &[(Direction::AtoB, &raw)]).is_empty());
        }
        // Not TLS at all.
        assert!(run(&info, &[(Direction::AtoB, b"SSH-2.0-OpenSSH_9.6\r\n")]).is_empty());
        // A hello cut short by the end of the flow.
        let raw = hello(Some("xmr.2miners.com"));
        assert!(run(&info, &[(Direction::AtoB, &raw[..raw.len() - 1])]).is_empty());
    }

    #[test]
    fn hello_larger_than_the_bound_is_dropped() {
        // A hello announced at the maximum size, sent in 16-byte records: the record overhead
        // pushes it past the buffer bound, and the detector gives up.
        let info = flow(443);
        let mut c = ctx();
        let mut first = vec![22, 3, 1, 0, 16, 1, 0, 0x40, 0x00];
        first.resize(21, 0);
        let mut s = TlsDetector
            .open(&info, Direction::AtoB, &first, &c)
            .unwrap();
        let mut progress = s.on_data(&info, Direction::AtoB, Timestamp(1), &first, &mut c);
        let mut record = vec![22, 3, 1, 0, 16];
        record.resize(21, 0x61);
        for _ in 0..2000 {
            if progress == Progress::Done {
                break;
            }
            progress = s.on_data(&info, Direction::AtoB, Timestamp(1), &record, &mut c);
            assert!(s.memory() <= 2 * MAX_HELLO_BUFFER);
        }
        assert_eq!(progress, Progress::Done);
        assert!(s.on_close(&info, &mut c).is_empty());
    }
}
