//! DNS queries and answers for pool domains (UDP and TCP, port 53).
//!
//! A query name that falls under a pool domain of the indicator set (label-suffix match) is a
//! finding: the asker is the client, the resolver the server. Answers to such names (A/AAAA, also
//! when reached through a CNAME) are recorded in [`crate::DnsLearned`] so that the endpoint
//! detector can recognise later connections to those addresses.

use crate::{
    Context, Detector, Direction, FlowDetector, FlowInfo, LearnedName, Progress, Transport,
};
use minetrace_core::{Confidence, Dialect, DnsEvidence, Finding, FindingKind, Timestamp};
use minetrace_intel::DomainMatch;
use minetrace_proto::dns::{self, DnsError, DnsMessage, RecordData};
use std::net::{IpAddr, SocketAddr};

/// The port the DNS detector reads (the engine keeps these flows in capture order).
pub const DNS_PORT: u16 = 53;
/// Distinct (asker, name) findings kept per flow.
const MAX_FINDINGS_PER_FLOW: usize = 64;
/// Addresses kept per finding.
const MAX_ANSWERS_PER_FINDING: usize = 16;
/// DNS messages read per flow before the detector stops.
const MAX_MESSAGES_PER_FLOW: u32 = 4096;
/// TCP: one message is at most 65535 bytes plus its 2-byte length.
const MAX_TCP_BUFFER: usize = 65_537;

#[derive(Debug, Default)]
pub struct DnsDetector;

impl Detector for DnsDetector {
    fn name(&self) -> &'static str {
        "dns"
    }
    fn description(&self) -> &'static str {
        "DNS queries and answers for pool domains."
    }
    fn dialects(&self) -> &'static [Dialect] {
        &[Dialect::Dns]
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn open(
        &self,
        flow: &FlowInfo,
        _dir: Direction,
        payload: &[u8],
        _ctx: &Context,
    ) -> Option<Box<dyn FlowDetector>> {
        if flow.a.port() != DNS_PORT && flow.b.port() != DNS_PORT {
            return None;
        }
        let plausible = match flow.transport {
            Transport::Udp => dns::parse_message(payload).is_ok(),
            // A TCP capture may start mid-stream: accept any chunk that starts a message or a
            // prefix of one; framing errors later make the detector stop.
            Transport::Tcp => matches!(
                dns::parse_tcp_message(payload),
                Ok(_) | Err(DnsError::Incomplete { .. })
            ),
        };
        plausible.then(|| Box::new(DnsFlow::new(flow.transport)) as Box<dyn FlowDetector>)
    }
}

#[derive(Debug)]
struct Pending {
    client: SocketAddr,
    server: SocketAddr,
    query: String,
    matched: DomainMatch,
    answers: Vec<IpAddr>,
    first_seen: Timestamp,
    last_seen: Timestamp,
    saw_query: bool,
    saw_answer: bool,
}

#[derive(Debug)]
struct DnsFlow {
    transport: Transport,
    tcp_buf: [Vec<u8>; 2],
    findings: Vec<Pending>,
    messages: u32,
}

impl DnsFlow {
    fn new(transport: Transport) -> Self {
        DnsFlow {
            transport,
            tcp_buf: [Vec::new(), Vec::new()],
            findings: Vec::new(),
            messages: 0,
        }
    }

    fn handle(
        &mut self,
        flow: &FlowInfo,
        dir: Direction,
        ts: Timestamp,
        msg: &DnsMessage,
        ctx: &mut Context,
    ) {
        self.messages += 1;
        if msg.opcode() != 0 {
            return;
        }
        // Semantics decide the sides: a query's sender asks, a response's receiver asked.
        let (client, server) = if msg.is_response() {
            (flow.receiver(dir), flow.sender(dir))
        } else {
            (flow.sender(dir), flow.receiver(dir))
        };
        let cnames: Vec<&str> = msg
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RecordData::Cname(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        for q in &msg.questions {
            // The asked name itself, or a CNAME target the answer leads to.
            let Some(matched) = std::iter::once(q.name.as_str())
                .chain(cnames.iter().copied())
                .find_map(|n| ctx.intel.match_domain(n))
            else {
                continue;
            };
            let query = q.name.to_ascii_lowercase();
            let addresses: Vec<IpAddr> = if msg.is_response() {
                msg.answer_addresses().collect()
            } else {
                Vec::new()
            };
            for ip in &addresses {
                ctx.dns.learn(
                    *ip,
                    LearnedName {
                        query: query.clone(),
                        pool_domain: Some(matched.domain.clone()),
                        first_seen: ts,
                    },
                );
            }
            let index = match self
                .findings
                .iter()
                .position(|p| p.client.ip() == client.ip() && p.query == query)
            {
                Some(i) => i,
                None if self.findings.len() < MAX_FINDINGS_PER_FLOW => {
                    self.findings.push(Pending {
                        client,
                        server,
                        query: query.clone(),
                        matched,
                        answers: Vec::new(),
                        first_seen: ts,
                        last_seen: ts,
                        saw_query: false,
                        saw_answer: false,
                    });
                    self.findings.len() - 1
                }
                None => continue,
            };
            let Some(pending) = self.findings.get_mut(index) else {
                continue;
            };
            pending.first_seen = pending.first_seen.min(ts);
            pending.last_seen = pending.last_seen.max(ts);
            if msg.is_response() {
                pending.saw_answer = true;
            } else {
                pending.saw_query = true;
            }
            for ip in addresses {
                if pending.answers.len() < MAX_ANSWERS_PER_FINDING && !pending.answers.contains(&ip)
                {
                    pending.answers.push(ip);
                }
            }
        }
    }
}

impl FlowDetector for DnsFlow {
    fn on_data(
        &mut self,
        flow: &FlowInfo,
        dir: Direction,
        ts: Timestamp,
        data: &[u8],
        ctx: &mut Context,
    ) -> Progress {
        if self.messages >= MAX_MESSAGES_PER_FLOW {
            return Progress::Done;
        }
        match self.transport {
            Transport::Udp => {
                // A datagram that is not DNS is skipped, not fatal: port 53 carries other things.
                if let Ok(msg) = dns::parse_message(data) {
                    self.handle(flow, dir, ts, &msg, ctx);
                }
                Progress::Continue
            }
            Transport::Tcp => {
                let mut buf = std::mem::take(&mut self.tcp_buf[dir.index()]);
                buf.extend_from_slice(data);
                loop {
                    match dns::parse_tcp_message(&buf) {
                        Ok((msg, used)) => {
                            self.handle(flow, dir, ts, &msg, ctx);
                            buf.drain(..used.min(buf.len()));
                            if self.messages >= MAX_MESSAGES_PER_FLOW {
                                return Progress::Done;
                            }
                        }
                        Err(DnsError::Incomplete { .. }) if buf.len() <= MAX_TCP_BUFFER => break,
                        // Framing lost (mid-stream start, or not DNS): stop reading this flow.
                        Err(_) => return Progress::Done,
                    }
                }
                self.tcp_buf[dir.index()] = buf;
                Progress::Continue
            }
        }
    }

    fn on_gap(&mut self, dir: Direction, _bytes: u64) {
        // Framing cannot be recovered after a hole; start over at the next message boundary
        // we cannot know, so drop what was buffered.
        self.tcp_buf[dir.index()].clear();
    }

    fn on_close(self: Box<Self>, _flow: &FlowInfo, _ctx: &mut Context) -> Vec<Finding> {
        self.findings.into_iter().map(pending_to_finding).collect()
    }

    fn memory(&self) -> usize {
        self.tcp_buf.iter().map(Vec::capacity).sum::<usize>()
            + self.findings.len() * (std::mem::size_of::<Pending>() + 128)
    }
}

fn pending_to_finding(p: Pending) -> Finding {
    let mut f = Finding::new("dns", FindingKind::Network, p.first_seen);
    f.seen_at(p.last_seen);
    f.dialect = Some(Dialect::Dns);
    f.confidence = Confidence::Medium;
    f.client = Some(p.client.into());
    f.server = Some(p.server.into());
    let pool = p
        .matched
        .pool
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    let query = clip(&p.query);
    let what = match (p.saw_query, p.saw_answer) {
        (true, true) => "asked and was answered",
        (false, true) => "was answered (query not captured)",
        _ => "asked",
    };
    f.reason(format!(
        "DNS name {query} {what}; it falls under the pool domain {}{pool}",
        p.matched.domain
    ));
    if query != p.matched.domain && !p.query.ends_with(&format!(".{}", p.matched.domain)) {
        f.reason(format!(
            "the answer's CNAME chain leads into the pool domain {}",
            p.matched.domain
        ));
    }
    if !p.answers.is_empty() {
        f.reason(format!(
            "the resolver answered with {} address(es); connections to them are pool connections",
            p.answers.len()
        ));
    }
    if let [coin] = p.matched.coins.as_slice() {
        f.evidence.coin = Some(coin.clone());
    }
    f.evidence.pool_host = Some(query.clone());
    f.evidence.dns = Some(DnsEvidence {
        query,
        answers: p.answers,
        matched_domain: Some(p.matched.domain),
    });
    f
}

fn clip(s: &str) -> String {
    s.chars().take(256).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DirStats, FlowEnd};
    use std::sync::Arc;

    fn flow(transport: Transport) -> FlowInfo {
        FlowInfo {
            transport,
            a: "10.0.0.5:40000".parse().unwrap(),
            b: "192.0.2.53:53".parse().unwrap(),
            initiator_known: transport == Transport::Tcp,
            first_seen: Timestamp(1_000_000),
            last_seen: Timestamp(2_000_000),
            first_packet: 1,
            stats: [DirStats::default(); 2],
            first_packets: Vec::new(),
            first_payload: Default::default(),
            clock: None,
            end: FlowEnd::EndOfInput,
        }
    }

    fn ctx() -> Context {
        Context::new(
            Arc::new(minetrace_intel::Intel::builtin()),
            "capture",
            "t.pcap",
        )
    }

    fn name_bytes(name: &str) -> Vec<u8> {
        let mut v = Vec::new();
        for label in name.split('.') {
            v.push(label.len() as u8);
            v.extend_from_slice(label.as_bytes());
        }
        v.push(0);
        v
    }

    fn query(name: &str) -> Vec<u8> {
        let mut m = vec![0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend(name_bytes(name));
        m.extend_from_slice(&[0, 1, 0, 1]);
        m
    }

    /// A response with an optional CNAME (to `cname`) and A records pointing at `ips`.
    fn response(name: &str, cname: Option<&str>, ips: &[[u8; 4]]) -> Vec<u8> {
        let ancount = ips.len() + cname.is_some() as usize;
        let mut m = vec![0xab, 0xcd, 0x81, 0x80, 0, 1, 0, ancount as u8, 0, 0, 0, 0];
        m.extend(name_bytes(name));
        m.extend_from_slice(&[0, 1, 0, 1]);
        let mut owner = vec![0xc0, 12];
        if let Some(c) = cname {
            let target = name_bytes(c);
            m.extend_from_slice(&owner);
            m.extend_from_slice(&[0, 5, 0, 1, 0, 0, 0, 60]);
            m.extend_from_slice(&(target.len() as u16).to_be_bytes());
            let at = m.len();
            m.extend(target);
            owner = vec![0xc0, at as u8];
        }
        for ip in ips {
            m.extend_from_slice(&owner);
            m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
            m.extend_from_slice(ip);
        }
        m
    }

    /// Runs datagrams through the detector like the engine: offer until accepted, then feed.
    fn run(info: &FlowInfo, msgs: &[(Direction, Vec<u8>)], c: &mut Context) -> Vec<Finding> {
        let d = DnsDetector;
        let mut state: Option<Box<dyn FlowDetector>> = None;
        for (dir, m) in msgs {
            if state.is_none() {
                state = d.open(info, *dir, m, c);
            }
            if let Some(s) = state.as_mut() {
                s.on_data(info, *dir, Timestamp(1_500_000), m, c);
            }
        }
        state.map(|s| s.on_close(info, c)).unwrap_or_default()
    }

    #[test]
    fn pool_query_and_answer_make_one_finding_and_teach_addresses() {
        let info = flow(Transport::Udp);
        let mut c = ctx();
        let msgs = vec![
            (Direction::AtoB, query("xmr-eu1.nanopool.org")),
            (
                Direction::BtoA,
                response(
                    "xmr-eu1.nanopool.org",
                    None,
                    &[[198, 51, 100, 7], [198, 51, 100, 8]],
                ),
            ),
            (Direction::AtoB, query("XMR-EU1.nanopool.org")),
        ];
        let findings = run(&info, &msgs, &mut c);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(f.dialect, Some(Dialect::Dns));
        assert_eq!(f.confidence, Confidence::Medium);
        assert_eq!(f.client.as_ref().unwrap().to_string(), "10.0.0.5:40000");
        assert_eq!(f.server.as_ref().unwrap().to_string(), "192.0.2.53:53");
        let dns = f.evidence.dns.as_ref().unwrap();
        assert_eq!(dns.query, "xmr-eu1.nanopool.org");
        assert_eq!(dns.matched_domain.as_deref(), Some("nanopool.org"));
        assert_eq!(dns.answers.len(), 2);
        assert_eq!(f.evidence.coin.as_deref(), Some("XMR"));
        let learned = c.dns.lookup(&"198.51.100.7".parse().unwrap()).unwrap();
        assert_eq!(learned.query, "xmr-eu1.nanopool.org");
        assert_eq!(learned.pool_domain.as_deref(), Some("nanopool.org"));
    }

    #[test]
    fn answer_without_query_still_names_the_asker() {
        let info = flow(Transport::Udp);
        let mut c = ctx();
        let msgs = vec![(
            Direction::BtoA,
            response("pool.supportxmr.com", None, &[[203, 0, 113, 9]]),
        )];
        let findings = run(&info, &msgs, &mut c);
        assert_eq!(findings.len(), 1);
        assert_eq!(
            findings[0].client.as_ref().unwrap().ip.to_string(),
            "10.0.0.5"
        );
        assert_eq!(findings[0].server.as_ref().unwrap().port, 53);
    }

    #[test]
    fn cname_into_a_pool_domain_is_followed() {
        let info = flow(Transport::Udp);
        let mut c = ctx();
        let msgs = vec![(
            Direction::BtoA,
            response(
                "innocent.example.com",
                Some("xmr.2miners.com"),
                &[[203, 0, 113, 10]],
            ),
        )];
        let findings = run(&info, &msgs, &mut c);
        assert_eq!(findings.len(), 1);
        assert!(c.dns.lookup(&"203.0.113.10".parse().unwrap()).is_some());
    }

    #[test]
    fn benign_and_look_alike_names_stay_silent() {
        let info = flow(Transport::Udp);
        let mut c = ctx();
        let msgs: Vec<(Direction, Vec<u8>)> = [
            "www.google.com",
            "zpool.cache",
            "notnanopool.org",
            "nanopool.org.evil.example",
            "pool.ntp.org",
            "news.bitcoin.com",
        ]
        .iter()
        .flat_map(|n| {
            vec![
                (Direction::AtoB, query(n)),
                (Direction::BtoA, response(n, None, &[[192, 0, 2, 1]])),
            ]
        })
        .collect();
        assert!(run(&info, &msgs, &mut c).is_empty());
        assert!(c.dns.is_empty());
    }

    #[test]
    fn port_5353_and_non_dns_payloads_are_declined() {
        let mut info = flow(Transport::Udp);
        info.b = "224.0.0.251:5353".parse().unwrap();
        info.a = "10.0.0.5:5353".parse().unwrap();
        assert!(DnsDetector
            .open(&info, Direction::AtoB, &query("xmr.2miners.com"), &ctx())
            .is_none());
        let info = flow(Transport::Udp);
        assert!(DnsDetector
            .open(&info, Direction::AtoB, b"hello", &ctx())
            .is_none());
    }

    #[test]
    fn tcp_dns_split_at_every_byte() {
        let info = flow(Transport::Tcp);
        let q = query("eu1.ethermine.org");
        let r = response("eu1.ethermine.org", None, &[[198, 51, 100, 77]]);
        let mut client = (q.len() as u16).to_be_bytes().to_vec();
        client.extend_from_slice(&q);
        let mut server = (r.len() as u16).to_be_bytes().to_vec();
        server.extend_from_slice(&r);
        for cut in 1..server.len() {
            let mut c = ctx();
            let msgs = vec![
                (Direction::AtoB, client.clone()),
                (Direction::BtoA, server[..cut].to_vec()),
                (Direction::BtoA, server[cut..].to_vec()),
            ];
            let findings = run(&info, &msgs, &mut c);
            assert_eq!(findings.len(), 1, "cut {cut}");
            assert_eq!(findings[0].evidence.dns.as_ref().unwrap().answers.len(), 1);
        }
    }
}
