//! Connections to pool addresses learned from DNS answers in the same input.
//!
//! The DNS detector records the addresses a resolver gave for pool names
//! ([`crate::DnsLearned`]). A TCP flow to such an address that carried payload is reported here
//! when no other detector explained the flow (an encrypted or unknown mining dialect). When
//! another detector already made a finding on the flow, this one stays silent and the finding is
//! enriched downstream. A port alone never makes a finding.

use crate::{Context, Detector, Direction, FlowDetector, FlowInfo, LearnedName, Transport};
use minetrace_core::{Confidence, Dialect, DnsEvidence, Finding, FindingKind, Timestamp};
use minetrace_intel::Intel;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Default)]
pub struct EndpointDetector;

impl Detector for EndpointDetector {
    fn name(&self) -> &'static str {
        "pool-endpoint"
    }
    fn description(&self) -> &'static str {
        "Connections to pool addresses learned from DNS answers in the same input."
    }
    fn dialects(&self) -> &'static [Dialect] {
        &[Dialect::PoolEndpoint]
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn open(
        &self,
        _flow: &FlowInfo,
        _dir: Direction,
        _payload: &[u8],
        _ctx: &Context,
    ) -> Option<Box<dyn FlowDetector>> {
        None
    }

    fn on_flow_end(
        &self,
        flow: &FlowInfo,
        findings: &[Finding],
        ctx: &mut Context,
    ) -> Option<Finding> {
        if flow.transport != Transport::Tcp {
            return None;
        }
        // Another detector explained this flow: it gets enriched instead.
        if findings.iter().any(|f| f.confidence >= Confidence::Medium) {
            return None;
        }
        let payload: u64 = flow.stats.iter().map(|s| s.payload_bytes).sum();
        if payload == 0 {
            return None;
        }
        // The server is the side whose address was learned; with a known initiator only `b`.
        let (client, server, learned) = {
            let b = ctx.dns.lookup(&flow.b.ip());
            match b {
                Some(l) => (flow.a, flow.b, l),
                None if !flow.initiator_known => {
                    let l = ctx.dns.lookup(&flow.a.ip())?;
                    (flow.b, flow.a, l)
                }
                None => return None,
            }
        };
        let domain = learned.pool_domain.clone()?;
        Some(endpoint_finding(
            flow, client, server, &learned, &domain, &ctx.intel,
        ))
    }
}

fn endpoint_finding(
    flow: &FlowInfo,
    client: SocketAddr,
    server: SocketAddr,
    learned: &LearnedName,
    domain: &str,
    intel: &Intel,
) -> Finding {
    let mut f = Finding::new("pool-endpoint", FindingKind::Network, flow.first_seen);
    f.seen_at(flow.last_seen);
    f.dialect = Some(Dialect::PoolEndpoint);
    f.confidence = Confidence::Medium;
    f.client = Some(client.into());
    f.server = Some(server.into());
    let query: String = learned.query.chars().take(256).collect();
    f.reason(format!(
        "connection to {}, an address the DNS answer for {query} gave in this input \
         (pool domain {domain})",
        minetrace_core::Endpoint::from(server)
    ));
    let sent: u64 = flow.stats.iter().map(|s| s.payload_bytes).sum();
    f.reason(format!(
        "the connection carried {sent} payload bytes that no protocol detector recognised"
    ));
    if intel.known_endpoint(&query, server.port()) {
        f.reason(format!(
            "{query}:{} is a published pool endpoint",
            server.port()
        ));
    } else if Intel::is_pool_port(server.port()) {
        f.reason(format!("port {} is commonly used by pools", server.port()));
    }
    if let Some(m) = intel.match_domain(&query) {
        if let [coin] = m.coins.as_slice() {
            f.evidence.coin = Some(coin.clone());
        }
    }
    f.evidence.pool_host = Some(query.clone());
    f.evidence.dns = Some(DnsEvidence {
        query,
        answers: vec![server.ip()],
        matched_domain: Some(domain.to_string()),
    });
    f
}

/// A TCP connection that carried no payload in the input: a SYN left unanswered or refused, a
/// handshake closed before anything was said, or the bare end (ACK, FIN, RST) of a connection
/// whose start was not captured. Alone it proves nothing (port scans, health checks, browsers
/// pre-connecting); the engine keeps such connections (bounded) until the end of its input and
/// reports one only when the same input proves its server to be a pool ([`ProvenPools`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionAttempt {
    /// The initiator when `initiator_known`, else the sender of the first packet.
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// The SYN (or SYN+ACK) was captured.
    pub initiator_known: bool,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub first_packet: u64,
    pub client_packets: u64,
    pub server_packets: u64,
    /// The server answered with SYN+ACK.
    pub handshake: bool,
    /// The connection ended with a reset.
    pub reset: bool,
}

impl ConnectionAttempt {
    /// The attempt a flow was, if it was one: TCP, no payload either way.
    pub fn from_flow(flow: &FlowInfo) -> Option<ConnectionAttempt> {
        if flow.transport != Transport::Tcp || flow.stats.iter().any(|s| s.payload_bytes > 0) {
            return None;
        }
        const SYN: u8 = 0x02;
        const ACK: u8 = 0x10;
        Some(ConnectionAttempt {
            client: flow.a,
            server: flow.b,
            initiator_known: flow.initiator_known,
            first_seen: flow.first_seen,
            last_seen: flow.last_seen,
            first_packet: flow.first_packet,
            client_packets: flow.stats[0].packets,
            server_packets: flow.stats[1].packets,
            handshake: flow
                .first_packets
                .iter()
                .any(|p| p.dir == Direction::BtoA && p.tcp_flags & (SYN | ACK) == SYN | ACK),
            reset: flow.end == crate::FlowEnd::Rst,
        })
    }
}

/// Most addresses remembered as proven pools, and sessions kept per address.
const MAX_PROVEN: usize = 65_536;
const MAX_PROOFS_PER_ADDRESS: usize = 4;

/// Server addresses that answered a mining protocol in this input: a finding of `High`
/// confidence (both sides confirmed) by a protocol detector. Order-independent: per address the
/// lowest (port, dialect) pairs are kept, so threads and one thread agree.
#[derive(Debug, Default, Clone)]
pub struct ProvenPools {
    sessions: rustc_hash::FxHashMap<IpAddr, Vec<(u16, Dialect)>>,
    /// The endpoint pairs of every finding: the bare end (a lone ACK, FIN or RST) of a reported
    /// connection is no attempt of its own.
    reported: rustc_hash::FxHashSet<(SocketAddr, SocketAddr)>,
}

/// An endpoint pair in one order whatever the direction.
fn pair(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

impl ProvenPools {
    /// Takes note of a finding's endpoints, and of its server if the finding proves it a pool.
    pub fn observe(&mut self, f: &Finding) {
        if let (Some(c), Some(s)) = (&f.client, &f.server) {
            if self.reported.len() < MAX_PROVEN * 4 {
                self.reported.insert(pair(
                    SocketAddr::new(c.ip, c.port),
                    SocketAddr::new(s.ip, s.port),
                ));
            }
        }
        let (Some(server), Some(dialect)) = (&f.server, f.dialect) else {
            return;
        };
        let protocol = dialect.is_mining_protocol();
        if f.kind != FindingKind::Network || f.confidence < Confidence::High || !protocol {
            return;
        }
        self.insert(server.ip, server.port, dialect);
    }

    fn insert(&mut self, ip: IpAddr, port: u16, dialect: Dialect) {
        if self.sessions.len() >= MAX_PROVEN && !self.sessions.contains_key(&ip) {
            return;
        }
        let proofs = self.sessions.entry(ip).or_default();
        let proof = (port, dialect);
        if let Err(at) = proofs.binary_search(&proof) {
            proofs.insert(at, proof);
            proofs.truncate(MAX_PROOFS_PER_ADDRESS);
        }
    }

    /// The session that proves `server`'s address a pool: on the same port if there is one.
    fn proof(&self, server: SocketAddr) -> Option<(u16, Dialect)> {
        let proofs = self.sessions.get(&server.ip())?;
        proofs
            .iter()
            .find(|(port, _)| *port == server.port())
            .or_else(|| proofs.first())
            .copied()
    }
}

/// Findings, with the attempt's first packet number, for the attempts whose server the input
/// proves a pool ([`attempt_finding`]), in the order the attempts began. A connection whose start
/// was not captured counts only when no finding and no earlier attempt has its endpoint pair:
/// the lone ACK that follows a connection's close is not a connection of its own.
pub fn attempt_findings(
    mut attempts: Vec<ConnectionAttempt>,
    proven: &ProvenPools,
    ctx: &Context,
) -> Vec<(u64, Finding)> {
    attempts.sort_by_key(|a| a.first_packet);
    let mut seen = rustc_hash::FxHashSet::default();
    let mut out = Vec::new();
    for a in &attempts {
        let p = pair(a.client, a.server);
        let first = seen.insert(p);
        if !a.initiator_known && (!first || proven.reported.contains(&p)) {
            continue;
        }
        if let Some(f) = attempt_finding(a, proven, ctx) {
            out.push((a.first_packet, f));
        }
    }
    out
}

/// The finding for an attempt whose server this input proves to be a pool, by a mining session
/// to that address ([`ProvenPools`]) or a DNS answer for a known pool domain that gave it.
/// `Low` confidence: nobody mined on the connection; it shows a host trying to reach a pool (a
/// miner retrying, a rig failing over, a blocked miner). Never from a port or an address list.
pub fn attempt_finding(
    a: &ConnectionAttempt,
    proven: &ProvenPools,
    ctx: &Context,
) -> Option<Finding> {
    {
        let proof = |server: SocketAddr| {
            let session = proven.proof(server);
            let learned = ctx
                .dns
                .lookup(&server.ip())
                .filter(|l| l.pool_domain.is_some());
            (session.is_some() || learned.is_some()).then_some((session, learned))
        };
        // The server is the side proven a pool; with a known initiator only the responder.
        let (client, server, (session, learned)) = match proof(a.server) {
            Some(p) => (a.client, a.server, p),
            None if !a.initiator_known => (a.server, a.client, proof(a.client)?),
            None => return None,
        };
        let (client_packets, server_packets) = if client == a.client {
            (a.client_packets, a.server_packets)
        } else {
            (a.server_packets, a.client_packets)
        };
        let mut f = Finding::new("pool-endpoint", FindingKind::Network, a.first_seen);
        f.seen_at(a.last_seen);
        f.dialect = Some(Dialect::PoolEndpoint);
        f.confidence = Confidence::Low;
        f.client = Some(client.into());
        f.server = Some(server.into());
        let what = match (a.initiator_known, a.handshake, a.reset) {
            (false, _, _) => {
                "a connection whose start was not captured and that carried no payload in the input"
            }
            (true, false, true) => "a connection attempt refused with a reset",
            (true, false, false) => "a connection attempt that was never answered",
            (true, true, _) => "a connection opened and closed without a byte of payload",
        };
        f.reason(format!(
            "{what}, to {} ({client_packets} packet(s) from the client, {server_packets} from the server)",
            minetrace_core::Endpoint::from(server),
        ));
        if let Some((port, dialect)) = session {
            let on = if port == server.port() {
                "on this port".to_string()
            } else {
                format!("on port {port}")
            };
            f.reason(format!(
                "{} is proven a pool in this input: it answered a {dialect} mining session {on}",
                server.ip()
            ));
        }
        if let Some(l) = &learned {
            let query: String = l.query.chars().take(256).collect();
            let domain = l.pool_domain.clone().unwrap_or_default();
            f.reason(format!(
                "the DNS answer for {query} (pool domain {domain}) gave this address in this input"
            ));
            f.evidence.pool_host = Some(query.clone());
            f.evidence.dns = Some(DnsEvidence {
                query,
                answers: vec![server.ip()],
                matched_domain: Some(domain),
            });
        }
        f.reason("no mining took place on this connection: low confidence, reported only because the address is proven a pool");
        f.evidence
            .extra
            .insert("connection_attempt".into(), serde_json::Value::Bool(true));
        Some(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DirStats, FlowEnd};
    use minetrace_core::Timestamp;
    use std::sync::Arc;

    fn flow(server: &str, payload: u64) -> FlowInfo {
        let mut stats = [DirStats::default(); 2];
        stats[0].payload_bytes = payload;
        stats[0].payload_packets = u64::from(payload > 0);
        FlowInfo {
            transport: Transport::Tcp,
            a: "10.0.0.9:41000".parse().unwrap(),
            b: server.parse().unwrap(),
            initiator_known: true,
            first_seen: Timestamp(5_000_000),
            last_seen: Timestamp(65_000_000),
            first_packet: 10,
            stats,
            first_packets: Vec::new(),
            first_payload: Default::default(),
            clock: None,
            end: FlowEnd::Fin,
        }
    }

    fn ctx_with_learned() -> Context {
        let c = Context::new(Arc::new(Intel::builtin()), "capture", "t.pcap");
        c.dns.learn(
            "198.51.100.7".parse().unwrap(),
            LearnedName {
                query: "xmr-eu1.nanopool.org".into(),
                pool_domain: Some("nanopool.org".into()),
                first_seen: Timestamp(1_000_000),
            },
        );
        c
    }

    #[test]
    fn connection_to_a_learned_pool_address_is_reported() {
        let mut c = ctx_with_learned();
        let f = EndpointDetector
            .on_flow_end(&flow("198.51.100.7:10300", 500), &[], &mut c)
            .expect("finding");
        assert_eq!(f.dialect, Some(Dialect::PoolEndpoint));
        assert_eq!(f.confidence, Confidence::Medium);
        assert_eq!(f.client.as_ref().unwrap().to_string(), "10.0.0.9:41000");
        assert_eq!(f.server.as_ref().unwrap().to_string(), "198.51.100.7:10300");
        assert!(f.reasons[0].contains("xmr-eu1.nanopool.org"));
        assert!(f
            .reasons
            .iter()
            .any(|r| r.contains("published pool endpoint")));
        assert_eq!(f.evidence.coin.as_deref(), Some("XMR"));
        assert_eq!(f.first_seen, Timestamp(5_000_000));
        assert_eq!(f.last_seen, Timestamp(65_000_000));
    }

    #[test]
    fn silent_when_another_detector_found_it_or_no_payload_or_not_learned() {
        let mut c = ctx_with_learned();
        let info = flow("198.51.100.7:3333", 500);
        let mut other = Finding::new("stratum", FindingKind::Network, Timestamp(5_000_000));
        other.confidence = Confidence::High;
        assert!(EndpointDetector
            .on_flow_end(&info, &[other], &mut c)
            .is_none());
        // A low-confidence hint by another detector does not silence it.
        let hint = Finding::new("shape", FindingKind::Network, Timestamp(5_000_000));
        assert!(EndpointDetector
            .on_flow_end(&info, &[hint], &mut c)
            .is_some());
        assert!(EndpointDetector
            .on_flow_end(&flow("198.51.100.7:3333", 0), &[], &mut c)
            .is_none());
        // A pool port alone is never enough.
        assert!(EndpointDetector
            .on_flow_end(&flow("203.0.113.1:3333", 500), &[], &mut c)
            .is_none());
        // With a known initiator, the client's own address being "learned" does not count.
        let mut reversed = flow("203.0.113.1:443", 500);
        reversed.a = "198.51.100.7:41000".parse().unwrap();
        assert!(EndpointDetector
            .on_flow_end(&reversed, &[], &mut c)
            .is_none());
        reversed.initiator_known = false;
        let f = EndpointDetector
            .on_flow_end(&reversed, &[], &mut c)
            .unwrap();
        assert_eq!(f.server.as_ref().unwrap().ip.to_string(), "198.51.100.7");
    }

    #[test]
    fn udp_flows_are_ignored() {
        let mut c = ctx_with_learned();
        let mut info = flow("198.51.100.7:3333", 500);
        info.transport = Transport::Udp;
        assert!(EndpointDetector.on_flow_end(&info, &[], &mut c).is_none());
    }

    fn attempt(server: &str) -> ConnectionAttempt {
        let mut info = flow(server, 0);
        info.stats[0].packets = 2;
        info.end = FlowEnd::EndOfInput;
        ConnectionAttempt::from_flow(&info).expect("an attempt")
    }

    fn session_to(server: &str, confidence: Confidence, dialect: Dialect) -> Finding {
        let mut f = Finding::new("stratum", FindingKind::Network, Timestamp(1));
        f.server = Some(server.parse::<SocketAddr>().unwrap().into());
        f.dialect = Some(dialect);
        f.confidence = confidence;
        f
    }

    #[test]
    fn attempts_are_reported_only_to_addresses_proven_pools() {
        let c = Context::new(Arc::new(Intel::builtin()), "capture", "t.pcap");
        let mut proven = ProvenPools::default();
        // Not proof: a medium-confidence mining attempt, a DNS or TLS finding, a pool port.
        proven.observe(&session_to(
            "192.0.2.5:3333",
            Confidence::Medium,
            Dialect::StratumV1,
        ));
        proven.observe(&session_to(
            "192.0.2.5:3333",
            Confidence::High,
            Dialect::Tls,
        ));
        assert!(attempt_finding(&attempt("192.0.2.5:3333"), &proven, &c).is_none());
        // Proof: a two-sided session to the address, on any port.
        proven.observe(&session_to(
            "192.0.2.5:3333",
            Confidence::High,
            Dialect::StratumV1,
        ));
        let same = attempt_finding(&attempt("192.0.2.5:3333"), &proven, &c).expect("finding");
        assert_eq!(same.confidence, Confidence::Low);
        assert_eq!(same.dialect, Some(Dialect::PoolEndpoint));
        assert_eq!(same.detector, "pool-endpoint");
        assert!(same.reasons.iter().any(|r| r.contains("on this port")));
        assert!(same.reasons.iter().any(|r| r.contains("never answered")));
        assert_eq!(
            same.evidence.extra.get("connection_attempt"),
            Some(&serde_json::Value::Bool(true))
        );
        let other = attempt_finding(&attempt("192.0.2.5:9999"), &proven, &c).expect("finding");
        assert!(other.reasons.iter().any(|r| r.contains("on port 3333")));
        // Another address stays silent.
        assert!(attempt_finding(&attempt("192.0.2.6:3333"), &proven, &c).is_none());
    }

    #[test]
    fn a_dns_answer_for_a_pool_domain_proves_the_address() {
        let c = ctx_with_learned();
        let f = attempt_finding(&attempt("198.51.100.7:10300"), &ProvenPools::default(), &c)
            .expect("finding");
        assert_eq!(
            f.evidence.pool_host.as_deref(),
            Some("xmr-eu1.nanopool.org")
        );
        // A name that is no pool domain proves nothing.
        c.dns.learn(
            "198.51.100.8".parse().unwrap(),
            LearnedName {
                query: "www.example.com".into(),
                pool_domain: None,
                first_seen: Timestamp(1_000_000),
            },
        );
        assert!(
            attempt_finding(&attempt("198.51.100.8:443"), &ProvenPools::default(), &c).is_none()
        );
    }

    #[test]
    fn only_payloadless_tcp_connections_are_attempts() {
        assert!(ConnectionAttempt::from_flow(&flow("192.0.2.5:3333", 10)).is_none());
        // The end of a connection whose start was not captured: the proven side is the server.
        let mut mid = flow("192.0.2.5:41000", 0);
        mid.a = "192.0.2.5:3333".parse().unwrap();
        mid.b = "10.0.0.9:41000".parse().unwrap();
        mid.initiator_known = false;
        let tail = ConnectionAttempt::from_flow(&mid).expect("an attempt");
        let mut proven = ProvenPools::default();
        proven.observe(&session_to(
            "192.0.2.5:3333",
            Confidence::High,
            Dialect::StratumV1,
        ));
        let c = Context::new(Arc::new(Intel::builtin()), "capture", "t.pcap");
        let f = attempt_finding(&tail, &proven, &c).expect("finding");
        assert_eq!(f.server.as_ref().unwrap().to_string(), "192.0.2.5:3333");
        assert_eq!(f.client.as_ref().unwrap().to_string(), "10.0.0.9:41000");
        assert!(f.reasons[0].contains("start was not captured"));
        // With a known initiator, a proven client address does not count.
        mid.initiator_known = true;
        let known = ConnectionAttempt::from_flow(&mid).unwrap();
        assert!(attempt_finding(&known, &proven, &c).is_none());
        let mut udp = flow("192.0.2.5:3333", 0);
        udp.transport = Transport::Udp;
        assert!(ConnectionAttempt::from_flow(&udp).is_none());
    }
}
