//! Plain records the store reads and writes.

use minetrace_core::Finding;
use serde::{Deserialize, Serialize};

/// What a credential may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Role {
    /// Network sensors (`analyze`, `sensor`): submit network findings and attachments.
    Sensor,
    /// Host agents (`scan`, `agent`): submit host findings, heartbeats and inventory.
    Agent,
    /// Operators and tools: registry, cases, evidence export.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Sensor => "sensor",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "sensor" => Some(Role::Sensor),
            "agent" => Some(Role::Agent),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// An enrolled sensor, agent or operator credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_seen: Option<i64>,
}

/// What one ingest call stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestOutcome {
    pub accepted: usize,
    pub duplicates: usize,
    /// Ids newly stored, in order.
    pub accepted_ids: Vec<String>,
}

/// A finding as stored, with where it stands in correlation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFinding {
    pub finding: Finding,
    pub source: String,
    pub received_at: i64,
    pub ledger_seq: i64,
    pub case_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    pub id: i64,
    pub name: String,
    pub region: String,
    pub unit_type: String,
    pub contact: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IpRange {
    pub id: i64,
    pub cidr: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub note: Option<String>,
}

/// A time a host held an address its agent reported (server time, microseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressTenure {
    /// `ip` or `mac`.
    pub kind: String,
    pub value: String,
    pub from: i64,
    /// The last report, to the hour.
    pub last_seen: i64,
    /// When another host's agent reported the address after this tenure began, if one did.
    pub until: Option<i64>,
}

/// A machine: from the registry (CSV, API) or learned from an agent's inventory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Host {
    #[serde(default)]
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub unit_name: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub owner_contact: Option<String>,
    #[serde(default)]
    pub admin: Option<String>,
    #[serde(default)]
    pub admin_contact: Option<String>,
    /// `registry` or `agent`.
    #[serde(default)]
    pub origin: String,
    #[serde(default)]
    pub ips: Vec<String>,
    #[serde(default)]
    pub macs: Vec<String>,
}

/// A registered research project: mining by this host or account in this period is "research".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    #[serde(default)]
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub unit_name: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    /// Microseconds since the epoch.
    pub starts: i64,
    pub ends: i64,
    pub approver: String,
}

/// One NAT translation: the private side behind a public address and port for a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NatMapping {
    pub public_ip: String,
    pub public_port: u16,
    pub private_ip: String,
    pub private_port: u16,
    pub protocol: String,
    pub starts: i64,
    pub ends: i64,
    pub origin: String,
}

/// One DHCP lease: an address held by a MAC for a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    pub ip: String,
    pub mac: String,
    pub hostname: Option<String>,
    pub starts: i64,
    pub ends: i64,
    pub origin: String,
}

/// A case: one mining activity, its attribution, classification and workflow state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: i64,
    /// What makes two findings the same activity (`host:<name>` or `ip:<addr>`).
    pub activity_key: String,
    pub status: String,
    /// Class confirmed by a person.
    pub class: Option<String>,
    /// Class the rules propose, with `reasons`.
    pub proposed_class: Option<String>,
    pub reasons: Vec<String>,
    pub unit_id: Option<i64>,
    pub unit_name: Option<String>,
    pub host_id: Option<i64>,
    pub host_name: Option<String>,
    /// Private (inside) address of the miner.
    pub client_ip: Option<String>,
    /// Public address the network saw, when it was translated.
    pub public_ip: Option<String>,
    pub mac: Option<String>,
    pub process: Option<String>,
    pub account: Option<String>,
    pub wallet: Option<String>,
    pub coin: Option<String>,
    pub pool: Option<String>,
    pub campaign_id: Option<i64>,
    pub recurrence: i64,
    /// Cross-check results, e.g. "agent blind or tampered: ...".
    pub flags: Vec<String>,
    /// `reasons` in Simplified Chinese (same order; empty for cases not updated since the
    /// server learnt to write them).
    #[serde(default)]
    pub reasons_zh: Vec<String>,
    /// `flags` in Simplified Chinese.
    #[serde(default)]
    pub flags_zh: Vec<String>,
    pub estimate: serde_json::Value,
    pub opened_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub findings_count: i64,
    pub network_findings: i64,
    pub host_findings: i64,
    pub assignee: Option<String>,
    pub confidential: bool,
}

/// One entry of a case's timeline of changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseEvent {
    pub id: i64,
    pub case_id: i64,
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub detail: serde_json::Value,
    pub ledger_seq: i64,
}

/// Filters for listing cases.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseFilter {
    pub status: Option<String>,
    pub unit: Option<String>,
    pub campaign_id: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A stored attachment (the bytes are fetched separately).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub sha256: String,
    pub size: i64,
    pub name: String,
    pub media_type: String,
    pub finding_id: Option<String>,
    pub ledger_seq: i64,
}

/// A wallet seen on several hosts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: i64,
    pub wallet: String,
    pub cases: i64,
    pub hosts: i64,
}

/// Counters for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub findings: i64,
    pub pending: i64,
    pub cases_by_status: Vec<(String, i64)>,
    pub ledger_length: i64,
    pub sources: i64,
    pub sources_silent: i64,
    pub campaigns: i64,
}

/// One case change in a batch ([`crate::Store::save_cases`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseChange {
    pub case: Case,
    pub link_findings: Vec<String>,
    pub actor: String,
    pub event_kind: String,
    pub detail: serde_json::Value,
}
