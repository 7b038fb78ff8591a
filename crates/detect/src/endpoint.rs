//! Connections to pool addresses learned from DNS answers in the same input.
//!
//! The DNS detector records the addresses a resolver gave for pool names
//! ([`crate::DnsLearned`]). A TCP flow to such an address that carried payload is reported here
//! when no other detector explained the flow (an encrypted or unknown mining dialect). When
//! another detector already made a finding on the flow, this one stays silent and the finding is
//! enriched downstream. A port alone never makes a finding.

use crate::{Context, Detector, Direction, FlowDetector, FlowInfo, LearnedName, Transport};
use minetrace_core::{Confidence, Dialect, DnsEvidence, Finding, FindingKind};
use minetrace_intel::Intel;
use std::net::SocketAddr;

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
}
