//! Per-host summary of findings ("mining hosts"), and pools run inside the network.
//!
//! [`summarize`] groups network findings by the miner's address: which pools it talked to,
//! which wallets and coins, how many distinct rigs (worker names and rig ids; extranonce1
//! values when no names were seen), how many connections, the summed hashrate and when.
//! [`internal_pools`] finds pools at private addresses that answer mining protocols to other
//! internal hosts: an internal proxy or pool concentrating many miners.

use minetrace_core::{Confidence, Dialect, Endpoint, Finding, FindingKind, SourceRef, Timestamp};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Most entries kept in each list of a summary.
const MAX_LIST: usize = 64;

/// One miner address and everything the findings say about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MiningHost {
    pub client_ip: IpAddr,
    /// Pool host names, or `ip:port` where no name is known.
    pub pools: Vec<String>,
    /// Payout addresses (format-validated).
    pub wallets: Vec<String>,
    /// Pool logins that are no payout address: account names and e-mails (an account names
    /// someone only at its pool).
    pub accounts: Vec<String>,
    pub coins: Vec<String>,
    pub dialects: Vec<Dialect>,
    pub agents: Vec<String>,
    /// Worker names and rig ids seen.
    pub rig_names: Vec<String>,
    /// Distinct rigs behind this address (see `rig_basis`).
    pub rigs: usize,
    /// How `rigs` was counted: `worker/rig names`, `extranonce1 values`, or `none named (at
    /// least one)`: a lower bound from labels; the rig estimate (`crates/estimate/src/rigs.rs`)
    /// also reads connections, clocks and share rates.
    pub rig_basis: String,
    /// Flows with findings.
    pub connections: usize,
    /// Summed hashrate (H/s) over rigs: per rig name the highest figure, unnamed flows added.
    /// Only when every figure is of one algorithm family (hashes of different algorithms are
    /// different work): otherwise see `hashrate_by_family`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashrate_hps: Option<f64>,
    /// The same sum per algorithm family (`unknown` where a finding names none).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub hashrate_by_family: BTreeMap<String, f64>,
    /// `estimated`, `reported`, or `mixed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashrate_basis: Option<String>,
    pub shares_accepted: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub confidence: Confidence,
    pub findings: usize,
}

#[derive(Default)]
struct Acc {
    pools: BTreeSet<String>,
    wallets: BTreeSet<String>,
    accounts: BTreeSet<String>,
    coins: BTreeSet<String>,
    dialects: BTreeSet<Dialect>,
    agents: BTreeSet<String>,
    names: BTreeSet<String>,
    extranonces: BTreeSet<String>,
    flows: BTreeSet<(String, String)>,
    /// Per (algorithm family, rig name) the best figure.
    named_rate: BTreeMap<(String, String), f64>,
    /// Per algorithm family, the figures of unnamed flows added.
    unnamed_rate: BTreeMap<String, f64>,
    bases: BTreeSet<String>,
    shares: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    confidence: Confidence,
    findings: usize,
}

fn put(set: &mut BTreeSet<String>, v: &str) {
    if set.len() < MAX_LIST && !v.is_empty() {
        set.insert(v.to_string());
    }
}

/// Groups network findings by client address, most active hosts first.
pub fn summarize(findings: &[Finding]) -> Vec<MiningHost> {
    let mut by_ip: BTreeMap<IpAddr, Acc> = BTreeMap::new();
    for f in findings {
        if f.kind != FindingKind::Network {
            continue;
        }
        let Some(client) = &f.client else { continue };
        let a = by_ip.entry(client.ip).or_default();
        let e = &f.evidence;
        a.findings += 1;
        a.confidence = a.confidence.max(f.confidence);
        a.first = Some(a.first.map_or(f.first_seen, |t| t.min(f.first_seen)));
        a.last = Some(a.last.map_or(f.last_seen, |t| t.max(f.last_seen)));
        let server = f
            .server
            .as_ref()
            .map(Endpoint::to_string)
            .unwrap_or_default();
        a.flows.insert((client.to_string(), server.clone()));
        match (&e.pool_host, &f.server) {
            (Some(h), _) => put(&mut a.pools, h),
            (None, Some(_)) => put(&mut a.pools, &server),
            _ => {}
        }
        if let Some(w) = &e.wallet {
            if matches!(w.format.as_str(), "account" | "email") {
                put(&mut a.accounts, &w.address);
            } else {
                put(&mut a.wallets, &w.address);
            }
        }
        if let Some(c) = &e.coin {
            put(&mut a.coins, c);
        }
        if let Some(d) = f.dialect {
            a.dialects.insert(d);
        }
        if let Some(ag) = &e.agent {
            put(&mut a.agents, ag);
        }
        let name = e.rig_id.as_ref().or(e.worker.as_ref());
        for n in [&e.worker, &e.rig_id].into_iter().flatten() {
            put(&mut a.names, n);
        }
        if let Some(x) = &e.extranonce1 {
            put(&mut a.extranonces, x);
        }
        a.shares += e.shares_accepted;
        if let Some(h) = &e.hashrate {
            if h.hashes_per_second.is_finite() && h.hashes_per_second > 0.0 {
                a.bases.insert(h.basis.clone());
                let family = e
                    .algorithm_family
                    .map_or("unknown", minetrace_estimate::family::family_name)
                    .to_string();
                match name {
                    // The same rig seen over several connections is one rig: keep its best figure.
                    Some(n) => {
                        let slot = a.named_rate.entry((family, n.clone())).or_insert(0.0);
                        *slot = slot.max(h.hashes_per_second);
                    }
                    None => *a.unnamed_rate.entry(family).or_insert(0.0) += h.hashes_per_second,
                }
            }
        }
    }
    let mut hosts: Vec<MiningHost> = by_ip
        .into_iter()
        .map(|(ip, a)| {
            let (rigs, rig_basis) = if !a.names.is_empty() {
                (a.names.len(), "worker/rig names")
            } else if !a.extranonces.is_empty() {
                (a.extranonces.len(), "extranonce1 values")
            } else {
                (1, "none named (at least one)")
            };
            let mut by_family = a.unnamed_rate;
            for ((family, _), rate) in a.named_rate {
                *by_family.entry(family).or_insert(0.0) += rate;
            }
            let rate = match by_family.values().collect::<Vec<_>>()[..] {
                [one] => Some(*one),
                _ => None,
            };
            let basis = match a.bases.len() {
                0 => None,
                1 => a.bases.iter().next().cloned(),
                _ => Some("mixed".to_string()),
            };
            MiningHost {
                client_ip: ip,
                pools: a.pools.into_iter().collect(),
                wallets: a.wallets.into_iter().collect(),
                accounts: a.accounts.into_iter().collect(),
                coins: a.coins.into_iter().collect(),
                dialects: a.dialects.into_iter().collect(),
                agents: a.agents.into_iter().collect(),
                rig_names: a.names.into_iter().collect(),
                rigs,
                rig_basis: rig_basis.to_string(),
                connections: a.flows.len(),
                hashrate_hps: rate.filter(|r| *r > 0.0),
                hashrate_by_family: by_family,
                hashrate_basis: basis,
                shares_accepted: a.shares,
                first_seen: a.first.unwrap_or_default(),
                last_seen: a.last.unwrap_or_default(),
                confidence: a.confidence,
                findings: a.findings,
            }
        })
        .collect();
    hosts.sort_by(|x, y| {
        y.confidence
            .cmp(&x.confidence)
            .then(y.connections.cmp(&x.connections))
            .then(x.client_ip.cmp(&y.client_ip))
    });
    hosts
}

/// True for addresses that do not leave the site: RFC 1918, CGNAT, loopback, link-local, ULA.
pub fn is_internal(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_internal(&IpAddr::V4(v4)))
        }
    }
}

/// The server of a finding that shows a pool run inside the network: a mining protocol
/// (Medium or better) answered by a private address to another private address.
pub fn internal_pool_server(f: &Finding) -> Option<&Endpoint> {
    let (Some(client), Some(server), Some(dialect)) = (&f.client, &f.server, f.dialect) else {
        return None;
    };
    (f.kind == FindingKind::Network
        && dialect.is_mining_protocol()
        && f.confidence >= Confidence::Medium
        && client.ip != server.ip
        && is_internal(&server.ip)
        && is_internal(&client.ip))
    .then_some(server)
}

/// Most internal pool servers followed; further ones are not reported (a network runs a few;
/// with [`MAX_POOL_CLIENTS`] this bounds the fold at about 4 M addresses whatever the input).
const MAX_POOLS: usize = 1024;
/// Most clients counted per internal pool.
const MAX_POOL_CLIENTS: usize = 4096;

/// Keeps the `limit` smallest values, so the result does not depend on the order of arrival
/// (threads deliver findings in an order that depends on the scheduling).
fn keep_smallest<T: Ord>(set: &mut BTreeSet<T>, v: T, limit: usize) {
    set.insert(v);
    if set.len() > limit {
        set.pop_last();
    }
}

struct Pool {
    server: Endpoint,
    source: SourceRef,
    clients: BTreeSet<IpAddr>,
    dialects: BTreeMap<Dialect, usize>,
    wallets: BTreeSet<String>,
    coins: BTreeSet<String>,
    first: Timestamp,
    last: Timestamp,
    confidence: Confidence,
    sessions: usize,
    shares: u64,
}

/// Pools run inside the network, folded from findings one at a time (a stream of findings
/// need not be kept to find them); [`InternalPools::finish`] gives the same findings in any
/// order of arrival.
#[derive(Default)]
pub struct InternalPools {
    pools: BTreeMap<String, Pool>,
}

impl InternalPools {
    pub fn add(&mut self, f: &Finding) {
        let (Some(client), Some(server), Some(dialect)) = (&f.client, &f.server, f.dialect) else {
            return;
        };
        if internal_pool_server(f).is_none() {
            return;
        }
        let key = server.to_string();
        if self.pools.len() >= MAX_POOLS && !self.pools.contains_key(&key) {
            return;
        }
        let p = self.pools.entry(key).or_insert_with(|| Pool {
            server: server.clone(),
            source: SourceRef {
                kind: f.source.kind.clone(),
                name: f.source.name.clone(),
                ..SourceRef::default()
            },
            clients: BTreeSet::new(),
            dialects: BTreeMap::new(),
            wallets: BTreeSet::new(),
            coins: BTreeSet::new(),
            first: f.first_seen,
            last: f.last_seen,
            confidence: f.confidence,
            sessions: 0,
            shares: 0,
        });
        keep_smallest(&mut p.clients, client.ip, MAX_POOL_CLIENTS);
        *p.dialects.entry(dialect).or_default() += 1;
        if let Some(w) = f.evidence.wallet.as_ref().filter(|w| !w.address.is_empty()) {
            keep_smallest(&mut p.wallets, w.address.clone(), MAX_LIST);
        }
        if let Some(c) = f.evidence.coin.as_ref().filter(|c| !c.is_empty()) {
            keep_smallest(&mut p.coins, c.clone(), MAX_LIST);
        }
        p.first = p.first.min(f.first_seen);
        p.last = p.last.max(f.last_seen);
        p.confidence = p.confidence.max(f.confidence);
        p.sessions += 1;
        p.shares += f.evidence.shares_accepted;
    }

    /// One finding per internal pool, ordered by server.
    pub fn finish(self) -> Vec<Finding> {
        self.pools
            .into_values()
            .map(|p| {
                let dialect = p
                    .dialects
                    .iter()
                    .max_by_key(|(_, n)| **n)
                    .map(|(d, _)| *d);
                let mut f = Finding::new("internal-pool", FindingKind::Network, p.first);
                f.seen_at(p.last);
                f.dialect = dialect;
                f.server = Some(p.server.clone());
                f.source = p.source;
                f.transport = Some("tcp".into());
                f.confidence = p.confidence;
                let shown: Vec<String> = p.clients.iter().take(16).map(IpAddr::to_string).collect();
                let more = p.clients.len().saturating_sub(shown.len());
                f.reason(format!(
                    "internal address {} answers {} to {} internal client(s): {}{}",
                    p.server,
                    dialect.map(|d| d.as_str()).unwrap_or("mining"),
                    p.clients.len(),
                    shown.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() }
                ));
                f.reason(format!(
                    "{} mining session(s), {} accepted share(s): an internal pool or proxy concentrating miners",
                    p.sessions, p.shares
                ));
                f.evidence.shares_accepted = p.shares;
                f.evidence.coin = (p.coins.len() == 1).then(|| p.coins.iter().next().cloned()).flatten();
                f.evidence.extra.insert(
                    "clients".into(),
                    serde_json::Value::Array(
                        p.clients.iter().take(MAX_LIST).map(|c| c.to_string().into()).collect(),
                    ),
                );
                if !p.wallets.is_empty() {
                    f.evidence.extra.insert(
                        "wallets".into(),
                        serde_json::Value::Array(p.wallets.iter().cloned().map(Into::into).collect()),
                    );
                }
                f
            })
            .collect()
    }
}

/// One finding per internal pool: a private server address answering a mining protocol
/// (Medium or better) to other internal hosts ([`internal_pool_server`]), with the source (kind
/// and name) of its first session.
pub fn internal_pools(findings: &[Finding]) -> Vec<Finding> {
    let mut pools = InternalPools::default();
    for f in findings {
        pools.add(f);
    }
    pools.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use minetrace_core::{AlgorithmFamily, HashrateFigure, Wallet};

    fn finding(
        client: &str,
        server: &str,
        worker: Option<&str>,
        rate: Option<f64>,
        t: i64,
    ) -> Finding {
        let mut f = Finding::new("stratum", FindingKind::Network, Timestamp(t));
        f.seen_at(Timestamp(t + 60));
        f.dialect = Some(Dialect::CryptoNote);
        f.confidence = Confidence::High;
        f.client = Some(client.parse::<std::net::SocketAddr>().unwrap().into());
        f.server = Some(server.parse::<std::net::SocketAddr>().unwrap().into());
        f.evidence.worker = worker.map(str::to_string);
        f.evidence.coin = Some("XMR".into());
        f.evidence.wallet = Some(Wallet {
            address: "4ABC".into(),
            coin: Some("XMR".into()),
            format: "monero".into(),
            checksum_ok: true,
        });
        f.evidence.shares_accepted = 3;
        f.evidence.hashrate = rate.map(|h| HashrateFigure {
            hashes_per_second: h,
            basis: "estimated".into(),
            method: "test".into(),
        });
        f
    }

    #[test]
    fn groups_by_client_and_counts_rigs() {
        let fs = vec![
            finding(
                "10.0.0.5:4000",
                "198.51.100.1:3333",
                Some("rigA"),
                Some(1000.0),
                100,
            ),
            // Same rig reconnects: counted once, best figure kept.
            finding(
                "10.0.0.5:4001",
                "198.51.100.1:3333",
                Some("rigA"),
                Some(1200.0),
                500,
            ),
            finding(
                "10.0.0.5:4002",
                "198.51.100.2:3333",
                Some("rigB"),
                Some(800.0),
                50,
            ),
            finding("10.0.0.9:4000", "198.51.100.1:3333", None, None, 10),
        ];
        let hosts = summarize(&fs);
        assert_eq!(hosts.len(), 2);
        let h = &hosts[0];
        assert_eq!(h.client_ip.to_string(), "10.0.0.5");
        assert_eq!(h.connections, 3);
        assert_eq!(h.rigs, 2);
        assert_eq!(h.rig_basis, "worker/rig names");
        assert_eq!(h.hashrate_hps, Some(2000.0));
        assert_eq!(h.pools, vec!["198.51.100.1:3333", "198.51.100.2:3333"]);
        assert_eq!(h.first_seen, Timestamp(50));
        assert_eq!(h.last_seen, Timestamp(560));
        assert_eq!(h.shares_accepted, 9);
        assert_eq!(hosts[1].rigs, 1);
        assert_eq!(hosts[1].rig_basis, "none named (at least one)");
        let json = serde_json::to_string(&hosts).unwrap();
        assert!(json.contains("\"client_ip\":\"10.0.0.5\""));
    }

    /// A CPU miner and a GPU miner behind one address: two figures, no sum.
    #[test]
    fn pool_accounts_are_not_listed_as_wallets() {
        let mut account = finding("10.0.0.5:4000", "198.51.100.1:3333", None, None, 100);
        account.evidence.wallet = Some(Wallet {
            address: "Bitcoin".into(),
            coin: None,
            format: "account".into(),
            checksum_ok: false,
        });
        let paid = finding("10.0.0.5:4001", "198.51.100.1:3333", None, None, 200);
        let hosts = summarize(&[account, paid]);
        assert_eq!(hosts[0].wallets, vec!["4ABC".to_string()]);
        assert_eq!(hosts[0].accounts, vec!["Bitcoin".to_string()]);
    }

    #[test]
    fn hashrates_of_different_algorithms_are_not_added() {
        let mut cpu = finding("10.0.0.5:4000", "198.51.100.1:3333", None, Some(900.0), 1);
        cpu.evidence.algorithm_family = Some(AlgorithmFamily::CryptoNote);
        let mut gpu = finding("10.0.0.5:4001", "198.51.100.2:4444", None, Some(3e7), 1);
        gpu.evidence.algorithm_family = Some(AlgorithmFamily::EthashProxy);
        let h = &summarize(&[cpu.clone(), gpu])[0];
        assert_eq!(h.hashrate_hps, None);
        assert_eq!(h.hashrate_by_family["randomx"], 900.0);
        assert_eq!(h.hashrate_by_family["ethproxy"], 3e7);
        let mut again = cpu.clone();
        again.id = "other".into();
        assert_eq!(summarize(&[cpu, again])[0].hashrate_hps, Some(1800.0));
    }

    #[test]
    fn internal_pool_found_and_public_pools_ignored() {
        let fs = vec![
            finding("10.0.0.5:4000", "10.0.0.200:3333", Some("a"), None, 1),
            finding("10.0.0.6:4000", "10.0.0.200:3333", Some("b"), None, 2),
            finding("10.0.0.7:4000", "198.51.100.1:3333", Some("c"), None, 3),
        ];
        let pools = internal_pools(&fs);
        assert_eq!(pools.len(), 1);
        let p = &pools[0];
        assert_eq!(p.detector, "internal-pool");
        assert_eq!(p.dialect, Some(Dialect::CryptoNote));
        assert_eq!(p.server.as_ref().unwrap().to_string(), "10.0.0.200:3333");
        assert!(p.reasons[0].contains("2 internal client(s): 10.0.0.5, 10.0.0.6"));
        // Low-confidence hints do not make a pool.
        let mut low = finding("10.0.0.5:4000", "10.0.0.201:3333", None, None, 1);
        low.confidence = Confidence::Low;
        assert!(internal_pools(&[low]).is_empty());
    }

    /// Threads deliver findings in any order: the pools found, their client and wallet lists
    /// included when those are cut at their limits, do not depend on it.
    #[test]
    fn internal_pools_do_not_depend_on_the_order_of_findings() {
        let mut fs = Vec::new();
        for i in 0..5000u32 {
            let mut f = finding(
                &format!("10.{}.{}.{}:4000", i / 65536, i / 256 % 256, i % 256),
                "10.0.0.200:3333",
                None,
                None,
                i64::from(i),
            );
            f.evidence.wallet.as_mut().unwrap().address = format!("4W{:05}", (i * 7919) % 5000);
            fs.push(f);
        }
        let forward = internal_pools(&fs);
        fs.reverse();
        let backward = internal_pools(&fs);
        fs.sort_by_key(|f| f.evidence.wallet.as_ref().unwrap().address.clone());
        let shuffled = internal_pools(&fs);
        let text = |v: &[Finding]| {
            v.iter()
                .map(|f| {
                    let mut f = f.clone();
                    f.id.clear();
                    serde_json::to_string(&f).unwrap()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(text(&forward), text(&backward));
        assert_eq!(text(&forward), text(&shuffled));
        assert!(forward[0].reasons[0].contains("4096 internal client(s): 10.0.0.0, 10.0.0.1"));
        assert_eq!(forward[0].evidence.extra["wallets"][0], "4W00000");
        assert_eq!(
            forward[0].evidence.extra["wallets"]
                .as_array()
                .unwrap()
                .len(),
            64
        );
        // 10.0.0.200 is the server itself: not its own client.
        assert_eq!(forward[0].evidence.shares_accepted, 3 * 4999);
    }

    #[test]
    fn internal_ranges() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "100.64.0.1",
            "fd00::1",
            "fe80::1",
            "::1",
        ] {
            assert!(is_internal(&ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "100.128.0.1", "2001:db8::1", "172.32.0.1"] {
            assert!(!is_internal(&ip.parse().unwrap()), "{ip}");
        }
    }
}
