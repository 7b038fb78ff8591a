//! Ground truth: what each simulated capture contains, so detectors can be scored against it.

use minetrace_core::Endpoint;
use serde::{Deserialize, Serialize};

/// One scenario's facts. `dialect` is a `minetrace_core::Dialect` string, or `benign`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// The pcap file name the scenario was written to (set by the writer).
    pub file: String,
    pub scenario: String,
    /// The dialect a detector can see on the wire (`tls` for SNI-only, `behavioural` when only
    /// the traffic shape is left), or `benign`.
    pub dialect: String,
    /// The protocol inside an encrypted or preceded session (e.g. `cryptonote` inside TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner_dialect: Option<String>,
    /// Mining (or benign) clients, one per connection endpoint; a NAT repeats its address.
    pub clients: Vec<Endpoint>,
    pub server: Endpoint,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<String>,
    /// How many mining devices produce the shares (several per connection behind a proxy).
    pub rigs: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_query: Option<String>,
    /// Should a mining detector report this capture?
    pub expected_finding: bool,
    /// Shares submitted (all connections) and how many the pool accepted.
    pub shares: u32,
    pub accepted_shares: u32,
    pub jobs: u32,
    /// Pool difficulty as the dialect states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<f64>,
    /// Hashes one share stands for (see estimation.md), so estimators can be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes_per_share: Option<f64>,
    /// The simulated devices' true total hashrate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashrate_hps: Option<f64>,
    pub duration_s: f64,
    pub packets: u64,
    pub notes: String,
}

impl GroundTruth {
    pub(crate) fn new(scenario: &str, dialect: &str, server: Endpoint) -> Self {
        GroundTruth {
            file: format!("{scenario}.pcap"),
            scenario: scenario.to_string(),
            dialect: dialect.to_string(),
            inner_dialect: None,
            clients: Vec::new(),
            server,
            wallet: None,
            workers: Vec::new(),
            rigs: 0,
            coin: None,
            algorithm: None,
            agent: None,
            sni: None,
            dns_query: None,
            expected_finding: dialect != "benign",
            shares: 0,
            accepted_shares: 0,
            jobs: 0,
            difficulty: None,
            hashes_per_share: None,
            hashrate_hps: None,
            duration_s: 0.0,
            packets: 0,
            notes: String::new(),
        }
    }

    /// Column names of [`tsv_row`](Self::tsv_row).
    pub const TSV_HEADER: &'static str = "file\tscenario\tdialect\tinner_dialect\tclients\tserver\twallet\tworkers\trigs\tcoin\talgorithm\texpected_finding\tshares\taccepted_shares\tjobs\tdifficulty\thashes_per_share\thashrate_hps\tduration_s\tpackets";

    /// One tab-separated line (no tabs or newlines survive inside fields).
    pub fn tsv_row(&self) -> String {
        let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
        let opt = |o: &Option<String>| o.as_deref().map(clean).unwrap_or_default();
        let num = |o: Option<f64>| o.map(|v| format!("{v}")).unwrap_or_default();
        let clients: Vec<String> = self.clients.iter().map(|e| e.to_string()).collect();
        [
            clean(&self.file),
            clean(&self.scenario),
            clean(&self.dialect),
            opt(&self.inner_dialect),
            clients.join(","),
            self.server.to_string(),
            opt(&self.wallet),
            clean(&self.workers.join(",")),
            self.rigs.to_string(),
            opt(&self.coin),
            opt(&self.algorithm),
            self.expected_finding.to_string(),
            self.shares.to_string(),
            self.accepted_shares.to_string(),
            self.jobs.to_string(),
            num(self.difficulty),
            num(self.hashes_per_share),
            num(self.hashrate_hps),
            format!("{:.3}", self.duration_s),
            self.packets.to_string(),
        ]
        .join("\t")
    }
}
