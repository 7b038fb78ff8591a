//! The behavioural classifier over flow records, names learned from DNS/TLS records, and the
//! labelled evaluation.

use crate::record::{FlowRecord, Item, Label, NameKind, NameRecord};
use minetrace_core::{Endpoint, Finding, SourceRef, Timestamp};
use minetrace_detect::behaviour::{self, Indicators, Shape, ShapePacket, SHAPE_PACKETS};
use rustc_hash::FxHashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// Most names remembered (server address -> pool name, join key -> TLS facts).
pub const MAX_NAMES: usize = 65_536;

/// Records without per-packet information are judged on totals only when a pool name stands
/// behind them and the totals look like a mining session: at least this long...
const TOTALS_MIN_SECS: f64 = 60.0;
/// ...with small packets (IP bytes per packet, both directions; published studies see 35-110 B
/// of payload per packet, so 250 B with headers is generous)...
const TOTALS_MAX_BYTES_PER_PACKET: f64 = 250.0;
/// ...and a slow packet rate.
const TOTALS_MAX_PACKETS_PER_SEC: f64 = 5.0;

#[derive(Debug, Clone, Default)]
struct TlsFacts {
    sni: Option<String>,
    ja3: Option<String>,
}

/// Judges flow records; remembers names from DNS/TLS records seen before the flows they name.
pub struct Classifier {
    intel: Arc<minetrace_intel::Intel>,
    /// Server address -> (query name, pool domain) from DNS answers that matched a pool domain.
    dns: FxHashMap<IpAddr, (String, String)>,
    /// Join key (Zeek uid, EVE flow_id) -> TLS facts.
    tls: FxHashMap<String, TlsFacts>,
    /// Whether the port hint counts (off to measure the shape alone).
    pub use_port_hint: bool,
    dropped_names: u64,
}

impl Classifier {
    pub fn new(intel: Arc<minetrace_intel::Intel>) -> Self {
        Classifier {
            intel,
            dns: FxHashMap::default(),
            tls: FxHashMap::default(),
            use_port_hint: true,
            dropped_names: 0,
        }
    }

    /// Names not remembered because the tables were full.
    pub fn dropped_names(&self) -> u64 {
        self.dropped_names
    }

    /// Takes any reader item: names are remembered, flows are judged.
    pub fn observe(&mut self, item: &Item, source: &SourceRef) -> Option<Finding> {
        match item {
            Item::Name(n) => {
                self.learn(n);
                None
            }
            Item::Flow(r) => self.classify(r, source),
        }
    }

    /// Remembers a DNS answer for a pool domain or a TLS handshake's facts.
    pub fn learn(&mut self, n: &NameRecord) {
        match n.kind {
            NameKind::Dns => {
                let Some(m) = self.intel.match_domain(&n.name) else {
                    return;
                };
                for ip in &n.answers {
                    if self.dns.len() >= MAX_NAMES && !self.dns.contains_key(ip) {
                        self.dropped_names += 1;
                        continue;
                    }
                    self.dns.insert(*ip, (n.name.clone(), m.domain.clone()));
                }
            }
            NameKind::Tls => {
                let Some(key) = &n.join_key else {
                    return;
                };
                if self.tls.len() >= MAX_NAMES && !self.tls.contains_key(key) {
                    self.dropped_names += 1;
                    return;
                }
                self.tls.insert(
                    key.clone(),
                    TlsFacts {
                        sni: (!n.name.is_empty()).then(|| n.name.clone()),
                        ja3: n.ja3.clone(),
                    },
                );
            }
        }
    }

    /// Judges one flow record; `source.record` of the finding is the record's number.
    pub fn classify(&mut self, rec: &FlowRecord, source: &SourceRef) -> Option<Finding> {
        if rec.proto != 6 {
            return None;
        }
        let mut owned;
        let mut r = rec;
        if looks_reversed(r) {
            owned = r.clone();
            owned.reverse();
            r = &owned;
        }
        let ind = self.indicators(r);
        let mut packets = [ShapePacket::default(); SHAPE_PACKETS];
        let mut n = 0;
        for p in r.packets_info().iter().filter(|p| p.len > 0) {
            if n == SHAPE_PACKETS {
                break;
            }
            packets[n] = ShapePacket {
                ts_us: p.ts_us,
                from_server: p.reverse,
                payload_len: u32::from(p.len),
                tcp_flags: p.tcp_flags,
            };
            n += 1;
        }
        let shape = Shape {
            duration_secs: r.duration_secs(),
            packets_up: r.packets[0],
            packets_down: r.packets[1],
            bytes_up: r.bytes[0],
            bytes_down: r.bytes[1],
            server_port: r.dst_port,
            packets: &packets[..n],
        };
        let (feats, mut verdict) = match behaviour::features(&shape) {
            Some(mut f) => {
                if !self.use_port_hint {
                    f.pool_port = 0.0;
                }
                let v = behaviour::judge(&f, r.dst_port, &ind);
                (f, v)
            }
            None => (behaviour::Features::default(), totals_verdict(r, &ind)?),
        };
        if !verdict.mining {
            return None;
        }
        if let Some(ja3) = &ind_ja3(self, r) {
            verdict
                .reasons
                .push(format!("TLS client fingerprint JA3 {ja3}"));
        }
        let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let client = Endpoint {
            ip: r.src.unwrap_or(unspecified),
            port: r.src_port,
        };
        let server = Endpoint {
            ip: r.dst.unwrap_or(unspecified),
            port: r.dst_port,
        };
        let mut f = behaviour::into_finding(
            client,
            server,
            "tcp",
            Timestamp(r.first_us),
            Timestamp(r.last_us),
            &feats,
            verdict,
            &ind,
        );
        f.source = source.clone();
        f.source.record = Some(rec.record);
        if let Some(sni) = &r.sni {
            f.evidence.tls = Some(minetrace_core::TlsEvidence {
                sni: Some(sni.clone()),
                ..Default::default()
            });
        }
        f.assign_id();
        Some(f)
    }

    fn indicators(&self, r: &FlowRecord) -> Indicators {
        let mut ind = Indicators {
            tls: r.tls,
            tls_without_sni: r.tls_without_sni,
            ..Indicators::default()
        };
        let mut sni = r.sni.as_deref();
        if let Some(facts) = r.join_key.as_ref().and_then(|k| self.tls.get(k)) {
            ind.tls = true;
            match &facts.sni {
                Some(s) => sni = sni.or(Some(s)),
                None => ind.tls_without_sni = sni.is_none(),
            }
        }
        if let Some(name) = sni {
            if let Some(m) = self.intel.match_domain(name) {
                ind.pool_domain = Some(m.domain);
                ind.pool_name = Some(name.to_string());
            }
        }
        if ind.pool_domain.is_none() {
            if let Some((query, domain)) = r.dst.and_then(|ip| self.dns.get(&ip)) {
                ind.pool_domain = Some(domain.clone());
                ind.pool_name = Some(query.clone());
            }
        }
        ind
    }
}

fn ind_ja3(c: &Classifier, r: &FlowRecord) -> Option<String> {
    r.ja3.clone().or_else(|| {
        r.join_key
            .as_ref()
            .and_then(|k| c.tls.get(k))
            .and_then(|f| f.ja3.clone())
    })
}

/// A unidirectional record sent by the server (its source port is a service port, its
/// destination port ephemeral).
fn looks_reversed(r: &FlowRecord) -> bool {
    let service = |p: u16| p < 1024 || minetrace_intel::Intel::is_pool_port(p);
    service(r.src_port) && !service(r.dst_port) && r.dst_port >= 1024
}

/// Records without per-packet information: only a pool name plus mining-like totals.
fn totals_verdict(r: &FlowRecord, ind: &Indicators) -> Option<behaviour::Verdict> {
    let domain = ind.pool_domain.as_ref()?;
    let secs = r.duration_secs();
    let packets = r.packets[0].saturating_add(r.packets[1]);
    if secs < TOTALS_MIN_SECS || packets == 0 {
        return None;
    }
    let per_packet = |d: usize| {
        if r.packets[d] == 0 {
            0.0
        } else {
            r.bytes[d] as f64 / r.packets[d] as f64
        }
    };
    let rate = packets as f64 / secs;
    if per_packet(0) > TOTALS_MAX_BYTES_PER_PACKET
        || per_packet(1) > TOTALS_MAX_BYTES_PER_PACKET
        || rate > TOTALS_MAX_PACKETS_PER_SEC
    {
        return None;
    }
    Some(behaviour::Verdict {
        score: behaviour::POOL_DOMAIN_LOG_ODDS,
        shape_score: 0.0,
        mining: true,
        reasons: vec![
            format!(
                "the server's name {} falls under the pool domain {domain}",
                ind.pool_name.as_deref().unwrap_or(domain)
            ),
            format!(
                "long-lived ({secs:.0} s), slow ({rate:.2} packets/s) and small ({:.0} B and {:.0} B per packet up and down): the totals of a mining session",
                per_packet(0),
                per_packet(1)
            ),
            "no per-packet information in this record: judged on totals and the name".to_string(),
        ],
    })
}

/// Which part of a labelled file to score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    All,
    /// Records whose flow-key hash is even: what the model was designed on.
    Design,
    /// Records whose flow-key hash is odd: held out, never looked at while designing.
    HeldOut,
}

impl Part {
    pub fn contains(self, r: &FlowRecord) -> bool {
        match self {
            Part::All => true,
            Part::Design => r.key_hash().is_multiple_of(2),
            Part::HeldOut => !r.key_hash().is_multiple_of(2),
        }
    }
}

/// Per-record confusion counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Confusion {
    pub true_positives: u64,
    pub false_positives: u64,
    pub true_negatives: u64,
    pub false_negatives: u64,
    /// Records without a label (not scored).
    pub unlabelled: u64,
}

impl Confusion {
    pub fn add(&mut self, label: Option<Label>, flagged: bool) {
        match (label, flagged) {
            (Some(Label::Miner), true) => self.true_positives += 1,
            (Some(Label::Miner), false) => self.false_negatives += 1,
            (Some(Label::Other), true) => self.false_positives += 1,
            (Some(Label::Other), false) => self.true_negatives += 1,
            (None, _) => self.unlabelled += 1,
        }
    }
    pub fn precision(&self) -> f64 {
        let flagged = self.true_positives + self.false_positives;
        if flagged == 0 {
            1.0
        } else {
            self.true_positives as f64 / flagged as f64
        }
    }
    pub fn recall(&self) -> f64 {
        let positives = self.true_positives + self.false_negatives;
        if positives == 0 {
            1.0
        } else {
            self.true_positives as f64 / positives as f64
        }
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    pub fn scored(&self) -> u64 {
        self.true_positives + self.false_positives + self.true_negatives + self.false_negatives
    }
}

/// Evaluation of one labelled input: confusion per part, with and without the port hint.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evaluation {
    pub design: Confusion,
    pub held_out: Confusion,
    pub all: Confusion,
    pub design_shape_only: Confusion,
    pub held_out_shape_only: Confusion,
    pub all_shape_only: Confusion,
}

impl Evaluation {
    /// Scores one record with both classifiers (`full` uses the port hint, `shape` does not).
    pub fn score(
        &mut self,
        r: &FlowRecord,
        full: &mut Classifier,
        shape: &mut Classifier,
        source: &SourceRef,
    ) {
        let a = full.classify(r, source).is_some();
        let b = shape.classify(r, source).is_some();
        self.all.add(r.label, a);
        self.all_shape_only.add(r.label, b);
        if Part::Design.contains(r) {
            self.design.add(r.label, a);
            self.design_shape_only.add(r.label, b);
        } else {
            self.held_out.add(r.label, a);
            self.held_out_shape_only.add(r.label, b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::PacketRecord;

    fn intel() -> Arc<minetrace_intel::Intel> {
        Arc::new(minetrace_intel::Intel::builtin())
    }

    /// An ETH-like pool session as an exporter with per-packet info would record it.
    fn mining_record(dst_port: u16) -> FlowRecord {
        let mut r = FlowRecord {
            record: 7,
            src: Some("10.0.0.5".parse().unwrap()),
            dst: Some("198.51.100.7".parse().unwrap()),
            src_port: 50123,
            dst_port,
            proto: 6,
            bytes: [4200, 21000],
            packets: [40, 80],
            first_us: 1_700_000_000_000_000,
            last_us: 1_700_000_300_000_000,
            tcp_flags: [0x18, 0x18],
            ..FlowRecord::default()
        };
        let mut t = r.first_us;
        for i in 0..30 {
            let reverse = i % 4 != 0;
            t += 2_000_000;
            r.push_packet(PacketRecord {
                ts_us: t,
                len: if reverse { 276 } else { 187 },
                reverse,
                tcp_flags: 0x18,
            });
        }
        r
    }

    #[test]
    fn mining_shape_on_a_pool_port_is_flagged_with_its_record() {
        let mut c = Classifier::new(intel());
        let src = SourceRef {
            kind: "flows".into(),
            name: "x.csv".into(),
            ..SourceRef::default()
        };
        let f = c.classify(&mining_record(4444), &src).expect("finding");
        assert_eq!(f.source.record, Some(7));
        assert_eq!(f.server.as_ref().unwrap().port, 4444);
        assert!(f.reasons.len() >= 3);
        assert!(!f.id.is_empty());
    }

    #[test]
    fn web_download_is_silent() {
        let mut r = mining_record(443);
        r.ppi_len = 0;
        r.bytes = [2000, 3_000_000];
        for i in 0..30 {
            r.push_packet(PacketRecord {
                ts_us: r.first_us + i * 1000,
                len: if i == 0 { 517 } else { 1448 },
                reverse: i != 0,
                tcp_flags: 0x10,
            });
        }
        let mut c = Classifier::new(intel());
        assert!(c.classify(&r, &SourceRef::default()).is_none());
    }

    #[test]
    fn pool_sni_joins_flow_by_key_and_totals_rule_applies() {
        let mut c = Classifier::new(intel());
        c.learn(&NameRecord {
            record: 1,
            kind: NameKind::Tls,
            name: "xmr.pool.minergate.com".into(),
            answers: vec![],
            ja3: None,
            client: None,
            server: None,
            server_port: 443,
            join_key: Some("C1".into()),
            ts_us: 0,
        });
        let mut r = mining_record(443);
        r.ppi_len = 0;
        r.join_key = Some("C1".into());
        r.bytes = [40 * 90, 80 * 150];
        let f = c.classify(&r, &SourceRef::default());
        if c.intel.match_domain("xmr.pool.minergate.com").is_some() {
            let f = f.expect("pool SNI + mining totals");
            assert!(f.reasons[0].contains("pool domain"));
        }
        // Without the name, totals alone say nothing.
        r.join_key = None;
        assert!(c.classify(&r, &SourceRef::default()).is_none());
    }

    #[test]
    fn confusion_arithmetic() {
        let mut c = Confusion::default();
        c.add(Some(Label::Miner), true);
        c.add(Some(Label::Miner), false);
        c.add(Some(Label::Other), false);
        assert_eq!(c.precision(), 1.0);
        assert_eq!(c.recall(), 0.5);
        assert_eq!(c.scored(), 3);
    }
}
