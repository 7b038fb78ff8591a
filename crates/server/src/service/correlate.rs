//! Correlation: network finding -> unit by range -> host (sensor inside the NAT, NAT and DHCP
//! logs, agent-reported addresses) -> process and account (agent host findings) -> one case per
//! mining activity. Cross-checks: "agent blind or tampered"; many hosts with one wallet -> one
//! campaign.

use super::netaddr::{is_private, Cidr};
use super::registry::unit_for;
use super::rules::{Facts, Rules, Said};
use super::{estimate, ServiceError};
use minetrace_core::{Confidence, FindingKind, Timestamp};
use minetrace_store::{Case, CaseChange, Host, Store, StoredFinding};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Clock difference tolerated between sensors and NAT/DHCP logs.
pub const CLOCK_SLACK_US: i64 = 120 * 1_000_000;
/// An agent not heard from for this long before the network evidence counts as silent.
pub const AGENT_SILENT_US: i64 = 15 * 60 * 1_000_000;
/// Findings of a case read when re-attributing it (a larger case keeps the rest where it is).
pub const REATTRIBUTE_SAMPLE: i64 = 1_000;
/// Open cases re-attributed per registry change.
pub const REATTRIBUTE_CASES: i64 = 2_000;
/// Service processes whose children should not be miners.
const SERVICES: &[&str] = &[
    "nginx",
    "apache2",
    "httpd",
    "php-fpm",
    "java",
    "tomcat",
    "redis-server",
    "mysqld",
    "postgres",
    "node",
    "weblogic",
    "jboss",
    "w3wp",
    "sqlservr",
];

/// Where a finding was attributed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attribution {
    pub key: String,
    pub unit: Option<(i64, String)>,
    pub host: Option<Host>,
    pub client_ip: Option<String>,
    pub public_ip: Option<String>,
    pub mac: Option<String>,
    pub steps: Vec<String>,
}

pub struct Correlator<'a> {
    pub store: &'a Store,
    pub rules: &'a Rules,
    pub estimate: &'a minetrace_estimate::EstimateConfig,
    ranges: Vec<(Cidr, i64, String)>,
    projects: Vec<minetrace_store::Project>,
    units: Vec<minetrace_store::Unit>,
    /// Per campaign: the machines (activity keys) the store counts, read once per batch, and
    /// the cases of this batch that join it (saved only when the batch ends, so the store
    /// does not count them yet: twenty new machines of one wallet in one batch are twenty).
    campaign_members: std::cell::RefCell<
        std::collections::HashMap<i64, (i64, std::collections::HashSet<String>)>,
    >,
}

/// How the registry knows a host's address: " (registry)", or the agent's tenure.
fn reported_since(since: Option<i64>) -> String {
    match since {
        None => " (registry)".into(),
        Some(t) => format!(
            " (its agent reports it since {})",
            minetrace_core::Timestamp(t)
        ),
    }
}

/// How surely a wallet string names one beneficiary: a payout address (2) wherever it is seen,
/// an e-mail (1) as a person's login, a pool account name (0) only at its pool.
fn wallet_strength(wallet: &str) -> u8 {
    if minetrace_proto::address::classify_address(wallet).is_some() {
        2
    } else if minetrace_proto::address::is_email(wallet) {
        1
    } else {
        0
    }
}

/// Logins that mining software and guides fill in when a pool wants no account (`x` is the
/// customary Stratum password and user): on two machines they say nothing about one owner.
const PLACEHOLDER_ACCOUNTS: &[&str] = &[
    "x",
    "worker",
    "worker1",
    "user",
    "username",
    "login",
    "test",
    "admin",
    "default",
    "anonymous",
    "anon",
    "miner",
    "guest",
    "root",
    "bitcoin",
    "litecoin",
    "monero",
    "ethereum",
];

/// The name of the campaign a case's wallet puts it in, when it has one: cases on different
/// machines with one key are one campaign, and the campaign's machine count enters the legal
/// band (20 machines: 情节严重). A payout address or an e-mail is its own key. A pool account
/// name is one only at its pool (`name @ pool`: "Bitcoin" at two unrelated pools are two
/// people), and a placeholder login is none.
fn campaign_key(wallet: &str, pool: Option<&str>) -> Option<String> {
    if wallet_strength(wallet) > 0 {
        return Some(wallet.to_string());
    }
    let placeholder = wallet.chars().count() < 3
        || PLACEHOLDER_ACCOUNTS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(wallet));
    match pool {
        Some(pool) if !placeholder && !pool.is_empty() => Some(format!("{wallet} @ {pool}")),
        _ => None,
    }
}

fn account_of(p: &minetrace_core::ProcessEvidence) -> Option<String> {
    p.login_user
        .clone()
        .or_else(|| p.user.clone())
        .or_else(|| p.uid.map(|u| format!("uid {u}")))
}

impl<'a> Correlator<'a> {
    pub fn new(
        store: &'a Store,
        rules: &'a Rules,
        estimate: &'a minetrace_estimate::EstimateConfig,
    ) -> Result<Self, ServiceError> {
        let ranges = store
            .list_ranges()?
            .into_iter()
            .filter_map(|r| {
                Cidr::parse(&r.cidr)
                    .ok()
                    .map(|c| (c, r.unit_id, r.unit_name))
            })
            .collect();
        Ok(Correlator {
            store,
            rules,
            estimate,
            ranges,
            projects: store.list_projects()?,
            units: store.list_units()?,
            campaign_members: Default::default(),
        })
    }

    /// Attributes one finding; `None` when it cannot start or join a case (low confidence,
    /// no address and no host).
    pub fn attribute(&self, sf: &StoredFinding) -> Result<Option<Attribution>, ServiceError> {
        let f = &sf.finding;
        let mut a = Attribution::default();
        match f.kind {
            FindingKind::Host => {
                let name = f.host.clone().unwrap_or_else(|| sf.source.clone());
                a.steps.push(format!(
                    "host finding from agent {:?} about host {name:?}",
                    sf.source
                ));
                a.host = Some(self.store.host_by_name(&name)?.unwrap_or(Host {
                    name: name.clone(),
                    origin: "agent".into(),
                    ..Host::default()
                }));
                a.key = format!("host:{name}");
            }
            FindingKind::Network => {
                if f.confidence < Confidence::Medium {
                    return Ok(None);
                }
                let Some(client) = &f.client else {
                    return Ok(None);
                };
                let t = f.first_seen.0;
                let seen = client.ip;
                let mut inside: Option<IpAddr> = None;
                if let Some((id, name, cidr)) = unit_for(&self.ranges, seen) {
                    a.steps
                        .push(format!("{seen} is in {cidr}, registered to unit {name:?}"));
                    a.unit = Some((id, name));
                }
                if is_private(seen) {
                    a.steps.push(format!(
                        "sensor inside the NAT saw the private address {seen}"
                    ));
                    inside = Some(seen);
                } else if let Some(m) =
                    self.store
                        .nat_lookup(&seen.to_string(), client.port, t, CLOCK_SLACK_US)?
                {
                    a.steps.push(format!(
                        "NAT log ({}) maps {}:{} at {} to {}:{}",
                        m.origin,
                        m.public_ip,
                        m.public_port,
                        f.first_seen,
                        m.private_ip,
                        m.private_port
                    ));
                    a.public_ip = Some(seen.to_string());
                    inside = m.private_ip.parse().ok();
                } else {
                    a.steps.push(format!(
                        "no NAT mapping for {seen}:{} at {}",
                        client.port, f.first_seen
                    ));
                }
                if let Some(ip) = inside {
                    a.client_ip = Some(ip.to_string());
                    if a.unit.is_none() {
                        if let Some((id, name, cidr)) = unit_for(&self.ranges, ip) {
                            a.steps
                                .push(format!("{ip} is in {cidr}, registered to unit {name:?}"));
                            a.unit = Some((id, name));
                        }
                    }
                    if let Some(l) = self.store.lease_at(&ip.to_string(), t, CLOCK_SLACK_US)? {
                        a.steps.push(format!(
                            "DHCP lease ({}) gives {ip} to MAC {}",
                            l.origin, l.mac
                        ));
                        a.mac = Some(l.mac.clone());
                        if let Some((h, since)) =
                            self.store
                                .host_by_addr_at("mac", &l.mac, t, CLOCK_SLACK_US)?
                        {
                            a.steps.push(format!(
                                "MAC {} belongs to host {:?}{}",
                                l.mac,
                                h.name,
                                reported_since(since)
                            ));
                            a.host = Some(h);
                        }
                    }
                    if a.host.is_none() {
                        if let Some((h, since)) =
                            self.store
                                .host_by_addr_at("ip", &ip.to_string(), t, CLOCK_SLACK_US)?
                        {
                            a.steps.push(format!(
                                "address {ip} belongs to host {:?}{}",
                                h.name,
                                reported_since(since)
                            ));
                            a.host = Some(h);
                        }
                    }
                } else {
                    a.client_ip = None;
                    a.public_ip = Some(seen.to_string());
                }
                a.key = match (&a.host, &a.client_ip) {
                    (Some(h), _) => format!("host:{}", h.name),
                    (None, Some(ip)) => format!("ip:{ip}"),
                    (None, None) => format!("ip:{seen}"),
                };
            }
        }
        if let (None, Some(h)) = (&a.unit, &a.host) {
            if let Some(u) = &h.unit_name {
                if let Some(unit) = self.units.iter().find(|x| &x.name == u).cloned() {
                    a.steps
                        .push(format!("host {:?} is registered to unit {u:?}", h.name));
                    a.unit = Some((unit.id, unit.name));
                }
            }
        }
        Ok(Some(a))
    }

    /// Correlates a batch: attributes each finding, groups by activity, updates one case per
    /// activity. Returns the case ids touched.
    pub fn run_batch(&self, batch: &[StoredFinding]) -> Result<Vec<i64>, ServiceError> {
        let mut groups: BTreeMap<String, (Attribution, Vec<&StoredFinding>)> = BTreeMap::new();
        let mut skipped = Vec::new();
        for sf in batch {
            match self.attribute(sf)? {
                Some(a) => {
                    let e = groups
                        .entry(a.key.clone())
                        .or_insert_with(|| (a.clone(), Vec::new()));
                    // Keep the richest attribution seen in the batch.
                    if e.0.host.is_none() && a.host.is_some() {
                        e.0 = a.clone();
                    }
                    e.1.push(sf);
                }
                None => skipped.push(sf.finding.id.clone()),
            }
        }
        self.store.mark_correlated(&skipped)?;
        let mut changes = Vec::with_capacity(groups.len());
        let mut linked = Vec::with_capacity(groups.len());
        for (key, (attr, findings)) in groups {
            changes.push(self.apply(&key, &attr, &findings)?);
            linked.push(findings);
        }
        // A case that joined a campaign early in the batch counted only the machines before it:
        // judged again with the whole batch's count (the estimate keeps its sessions by key,
        // so the same findings again change nothing else).
        for (change, findings) in changes.iter_mut().zip(&linked) {
            let Some(campaign) = change.case.campaign_id else {
                continue;
            };
            let machines = self.campaign_machines(campaign)?;
            if change.case.estimate["machines"].as_i64() != Some(machines) {
                self.classify(&mut change.case, findings)?;
            }
        }
        // One transaction (one fsync) for the whole batch.
        let events = self.store.save_cases(&mut changes)?;
        Ok(events.iter().map(|e| e.case_id).collect())
    }

    fn apply(
        &self,
        key: &str,
        attr: &Attribution,
        findings: &[&StoredFinding],
    ) -> Result<CaseChange, ServiceError> {
        let now = minetrace_core::Timestamp::now().0;
        let existing = self.store.case_by_key(key)?;
        let (mut case, event) = match existing {
            Some(c) if c.status == "closed" => {
                let mut c = c;
                c.status = "detected".into();
                c.recurrence += 1;
                c.closed_at = None;
                c.class = None;
                (c, "case-reopened")
            }
            Some(c) => (c, "findings-linked"),
            None => (
                Case {
                    activity_key: key.to_string(),
                    status: "detected".into(),
                    opened_at: now,
                    first_seen: i64::MAX,
                    estimate: serde_json::Value::Null,
                    ..Case::default()
                },
                "case-opened",
            ),
        };
        if let Some((id, name)) = &attr.unit {
            case.unit_id = Some(*id);
            case.unit_name = Some(name.clone());
            // A unit under confidential investigation: the case is born confidential, so
            // neither the unit nor an alert ever sees it open.
            if case.id == 0 && self.store.unit_confidential_watch(name)? {
                case.confidential = true;
            }
        }
        if let Some(h) = &attr.host {
            case.host_name = Some(h.name.clone());
            case.host_id = (h.id != 0).then_some(h.id);
        }
        if attr.client_ip.is_some() {
            case.client_ip = attr.client_ip.clone();
        }
        if attr.public_ip.is_some() {
            case.public_ip = attr.public_ip.clone();
        }
        if attr.mac.is_some() {
            case.mac = attr.mac.clone();
        }
        for sf in findings {
            let f = &sf.finding;
            case.first_seen = case.first_seen.min(f.first_seen.0);
            case.last_seen = case.last_seen.max(f.last_seen.0);
            case.findings_count += 1;
            match f.kind {
                FindingKind::Network => case.network_findings += 1,
                FindingKind::Host => case.host_findings += 1,
            }
            let ev = &f.evidence;
            if let Some(w) = &ev.wallet {
                // A pool account name never replaces a payout address the case already has.
                let stronger = case
                    .wallet
                    .as_deref()
                    .is_none_or(|had| wallet_strength(&w.address) >= wallet_strength(had));
                if stronger {
                    case.wallet = Some(w.address.clone());
                }
                if w.coin.is_some() {
                    case.coin = w.coin.clone();
                }
            }
            if ev.coin.is_some() {
                case.coin = ev.coin.clone();
            }
            if let Some(p) = &ev.pool_host {
                case.pool = Some(p.clone());
            } else if let Some(s) = &f.server {
                if case.pool.is_none() {
                    case.pool = Some(s.to_string());
                }
            }
            if let Some(p) = &ev.process {
                case.process = Some(format!("{} (pid {})", p.name, p.pid));
                if let Some(acc) = account_of(p) {
                    case.account = Some(acc);
                }
            }
        }
        if let Some(key) = case
            .wallet
            .as_deref()
            .and_then(|w| campaign_key(w, case.pool.as_deref()))
        {
            let id = self.store.campaign_for_wallet(&key)?;
            // A case the store does not yet count in this campaign joins it with this batch.
            let counted = case.id != 0 && case.campaign_id == Some(id);
            if !counted {
                self.campaign_member(id)?
                    .1
                    .insert(case.activity_key.clone());
            }
            case.campaign_id = Some(id);
        }
        self.classify(&mut case, findings)?;
        let ids: Vec<String> = findings.iter().map(|sf| sf.finding.id.clone()).collect();
        let detail = serde_json::json!({
            "attribution": attr.steps,
            "findings": ids.len(),
            "recurrence": case.recurrence,
        });
        Ok(CaseChange {
            case,
            link_findings: ids,
            actor: "correlator".into(),
            event_kind: event.into(),
            detail,
        })
    }

    /// Re-attributes open cases that name no host or no unit, with the registry, NAT and DHCP
    /// data as it is now (it may have arrived after the findings). Each network finding of such a
    /// case is attributed again:
    /// - when they all lead to one better-attributed activity that no other open case holds, the
    ///   case keeps its id and timeline, takes the host/unit and the new activity key
    ///   (`attribution-updated`);
    /// - otherwise the findings that now lead to a host (or a private address) move to that
    ///   activity's case, opened when needed (a public address shared by several NATed machines
    ///   splits into one case per machine), and the old case records what moved and is closed
    ///   when nothing is left in it.
    ///
    /// Returns the case ids touched.
    pub fn reattribute(&self, max_cases: i64) -> Result<Vec<i64>, ServiceError> {
        let mut touched = Vec::new();
        for listed in self.store.cases_lacking_attribution(max_cases)? {
            // Re-read: an earlier move in this run may have changed or closed it.
            let Some(case) = self.store.case(listed.id)? else {
                continue;
            };
            if case.status == "closed" || (case.host_name.is_some() && case.unit_id.is_some()) {
                continue;
            }
            let findings = self.store.case_findings(case.id, REATTRIBUTE_SAMPLE)?;
            let mut stay_unit: Option<Attribution> = None;
            let mut moving: BTreeMap<String, (Attribution, Vec<&StoredFinding>)> = BTreeMap::new();
            for sf in findings
                .iter()
                .filter(|sf| sf.finding.kind == FindingKind::Network)
            {
                let Some(a) = self.attribute(sf)? else {
                    continue;
                };
                let better = (a.host.is_some() && case.host_name.is_none())
                    || (a.client_ip.is_some() && case.client_ip.is_none());
                if a.key != case.activity_key && better {
                    let e = moving
                        .entry(a.key.clone())
                        .or_insert_with(|| (a.clone(), Vec::new()));
                    e.1.push(sf);
                } else if case.unit_id.is_none() && a.unit.is_some() && stay_unit.is_none() {
                    stay_unit = Some(a);
                }
            }
            let moved: usize = moving.values().map(|(_, v)| v.len()).sum();
            let network_total = findings
                .iter()
                .filter(|sf| sf.finding.kind == FindingKind::Network)
                .count();
            let everything_moves = moving.len() == 1
                && moved == network_total
                && case.host_findings == 0
                && moving
                    .keys()
                    .next()
                    .map(|k| self.store.case_by_key(k))
                    .transpose()?
                    .flatten()
                    .is_none_or(|c| c.status == "closed");
            let mut changes = Vec::new();
            if everything_moves {
                if let Some((_, (attr, fs))) = moving.into_iter().next() {
                    changes.push(self.update_in_place(case, &attr, &fs)?);
                }
            } else if !moving.is_empty() {
                let mut source = case.clone();
                let mut moved_to = serde_json::Map::new();
                for (key, (attr, fs)) in &moving {
                    moved_to.insert(key.clone(), fs.len().into());
                    changes.push(self.apply(key, attr, fs)?);
                }
                source.findings_count = (source.findings_count - moved as i64).max(0);
                source.network_findings = (source.network_findings - moved as i64).max(0);
                let emptied = source.findings_count == 0;
                if emptied {
                    source.status = "closed".into();
                    source.closed_at = Some(minetrace_core::Timestamp::now().0);
                    // Never found by its key again: the activity lives on where it moved.
                    source.activity_key = format!("moved:{}:{}", case.id, case.activity_key);
                }
                changes.push(CaseChange {
                    case: source,
                    link_findings: Vec::new(),
                    actor: "correlator".into(),
                    event_kind: "findings-reattributed".into(),
                    detail: serde_json::json!({
                        "moved_to": moved_to,
                        "closed": emptied,
                        "why": "registry, NAT or DHCP data that arrived after the findings attributes them",
                    }),
                });
            } else if let Some(attr) = stay_unit {
                let network: Vec<&StoredFinding> = Vec::new();
                changes.push(self.update_in_place(case, &attr, &network)?);
            }
            if changes.is_empty() {
                continue;
            }
            // One transaction per case, so the next case reads what this one changed.
            let events = self.store.save_cases(&mut changes)?;
            touched.extend(events.iter().map(|e| e.case_id));
        }
        Ok(touched)
    }

    /// The case keeps its id and timeline and takes what the new attribution adds.
    fn update_in_place(
        &self,
        case: Case,
        attr: &Attribution,
        findings: &[&StoredFinding],
    ) -> Result<CaseChange, ServiceError> {
        let mut c = case;
        let previous_key = c.activity_key.clone();
        if let Some((id, name)) = &attr.unit {
            if c.unit_id.is_none() {
                c.unit_id = Some(*id);
                c.unit_name = Some(name.clone());
                // A unit under confidential investigation never sees the case.
                if !c.confidential && self.store.unit_confidential_watch(name)? {
                    self.store.set_case_confidential(c.id, true, "correlator")?;
                    c.confidential = true;
                }
            }
        }
        if let Some(h) = &attr.host {
            c.host_name = Some(h.name.clone());
            c.host_id = (h.id != 0).then_some(h.id);
        }
        if attr.client_ip.is_some() {
            c.client_ip.clone_from(&attr.client_ip);
        }
        if attr.mac.is_some() {
            c.mac.clone_from(&attr.mac);
        }
        c.activity_key.clone_from(&attr.key);
        self.classify(&mut c, findings)?;
        Ok(CaseChange {
            case: c,
            link_findings: Vec::new(),
            actor: "correlator".into(),
            event_kind: "attribution-updated".into(),
            detail: serde_json::json!({
                "attribution": attr.steps,
                "previous_key": previous_key,
                "why": "registry, NAT or DHCP data that arrived after the findings attributes them",
            }),
        })
    }

    /// A campaign's machines: those the store counts (read on first use in this batch) and
    /// the cases that joined it in this batch.
    fn campaign_member(
        &self,
        campaign: i64,
    ) -> Result<std::cell::RefMut<'_, (i64, std::collections::HashSet<String>)>, ServiceError> {
        if !self.campaign_members.borrow().contains_key(&campaign) {
            let stored = self.store.campaign_hosts(campaign)?;
            self.campaign_members
                .borrow_mut()
                .insert(campaign, (stored, Default::default()));
        }
        Ok(std::cell::RefMut::map(
            self.campaign_members.borrow_mut(),
            |m| m.entry(campaign).or_default(),
        ))
    }

    /// How many machines a campaign has, with those that joined it in this batch.
    fn campaign_machines(&self, campaign: i64) -> Result<i64, ServiceError> {
        let members = self.campaign_member(campaign)?;
        Ok((members.0 + members.1.len() as i64).max(1))
    }

    /// Computes facts, cross-checks, the proposed class with reasons and the estimates.
    /// `new_findings` are about to be linked to the case (not yet stored as linked).
    pub fn classify(
        &self,
        case: &mut Case,
        new_findings: &[&StoredFinding],
    ) -> Result<(), ServiceError> {
        let mut facts = Facts::default();
        let mut flags = Vec::new();
        // Mining back after the case was closed: rectification did not hold.
        if case.recurrence > 0 {
            flags.push(Said::new(
                format!(
                    "recurred after closure ({} time(s)): rectification did not hold",
                    case.recurrence
                ),
                format!("结案后复发（{} 次）：整改未落实", case.recurrence),
            ));
        }
        // Stored host findings only (bounded): network findings enter through `new_findings`
        // and the running estimate, so a long case costs the same as a short one.
        let mut findings = if case.id == 0 {
            Vec::new()
        } else {
            self.store.case_host_findings(case.id, 200)?
        };
        for sf in new_findings {
            if !findings.iter().any(|x| x.finding.id == sf.finding.id) {
                findings.push((*sf).clone());
            }
        }
        let host = match &case.host_name {
            Some(h) => self.store.host_by_name(h)?,
            None => None,
        };
        let mut host_findings = case.host_findings;
        let mut processes = Vec::new();
        let mut texts = Vec::new();
        for sf in &findings {
            if sf.finding.kind == FindingKind::Host {
                host_findings = host_findings.max(1);
                texts.push(format!(
                    "{} {}",
                    sf.finding.detector,
                    sf.finding.reasons.join(" ")
                ));
                if let Some(p) = &sf.finding.evidence.process {
                    processes.push(p.clone());
                }
            }
        }
        if host_findings > 0 {
            facts.set(
                "host-evidence",
                Said::new(
                    format!("{host_findings} host finding(s)"),
                    format!("{host_findings} 条主机发现"),
                ),
            );
        }
        for p in &processes {
            // cron's PAM session gives a job its owner's login uid: a miner under a scheduler is
            // a scheduled job (persistence), not someone's login.
            let scheduler = p.scheduler();
            let interactive = scheduler.is_none()
                && (p.loginuid.is_some_and(|u| u != u32::MAX)
                    || p.login_user.is_some()
                    || p.login_from.is_some());
            if let Some(s) = scheduler {
                facts.set(
                    "persistence",
                    Said::new(
                        format!(
                            "{} (pid {}) was started by a scheduled job ({s}), not a login",
                            p.name, p.pid
                        ),
                        format!(
                            "{} (pid {}) 由计划任务（{s}）启动，而非登录会话",
                            p.name, p.pid
                        ),
                    ),
                );
            }
            // A login from an address that is neither private nor in a registered range: the
            // account may be the person's, or a password guessed or stolen from outside.
            let outside = p
                .login_from
                .as_deref()
                .and_then(|f| f.split_whitespace().next())
                .and_then(|ip| ip.parse::<IpAddr>().ok())
                .filter(|ip| !is_private(*ip) && unit_for(&self.ranges, *ip).is_none());
            if let (true, Some(ip)) = (interactive, outside) {
                let said = Said::new(
                    format!(
                        "{} (pid {}) was started from a login from {ip}, outside every registered range: a guessed or stolen password is possible",
                        p.name, p.pid
                    ),
                    format!(
                        "{} (pid {}) 由来自 {ip} 的登录启动，该地址不在任何登记网段内：可能是被猜解或被盗的密码",
                        p.name, p.pid
                    ),
                );
                facts.set("outside-login", said.clone());
                flags.push(said);
            }
            if interactive {
                let who = p
                    .login_user
                    .clone()
                    .or_else(|| p.loginuid.map(|u| format!("uid {u}")))
                    .unwrap_or_default();
                let (from_en, from_zh) = p
                    .login_from
                    .as_ref()
                    .map(|f| (format!(" from {f}"), format!("（来自 {f}）")))
                    .unwrap_or_default();
                facts.set(
                    "interactive-login",
                    Said::new(
                        format!(
                            "{} (pid {}) runs in the login session of {who}{from_en}",
                            p.name, p.pid
                        ),
                        format!(
                            "{} (pid {}) 运行在 {who} 的登录会话中{from_zh}",
                            p.name, p.pid
                        ),
                    ),
                );
            }
            if let Some(acc) = account_of(p) {
                if let Some(h) = &host {
                    if h.admin.as_deref() == Some(acc.as_str())
                        || h.owner.as_deref() == Some(acc.as_str())
                    {
                        facts.set(
                            "admin-account",
                            Said::new(
                                format!("account {acc} is registered as admin/owner of {}", h.name),
                                format!("账户 {acc} 登记为 {} 的管理员或负责人", h.name),
                            ),
                        );
                    }
                }
            }
            for a in &p.ancestry {
                let name = a.split_whitespace().nth(1).unwrap_or(a.as_str());
                if SERVICES.contains(&name) {
                    facts.set(
                        "service-parent",
                        Said::new(
                            format!("{} (pid {}) descends from service {a:?}", p.name, p.pid),
                            format!("{} (pid {}) 由网络服务 {a:?} 派生", p.name, p.pid),
                        ),
                    );
                }
            }
            if let Some(exe) = &p.exe {
                if ["/tmp/", "/var/tmp/", "/dev/shm/"]
                    .iter()
                    .any(|d| exe.starts_with(d))
                {
                    facts.set(
                        "temp-binary",
                        Said::new(
                            format!("{} runs from {exe}", p.name),
                            format!("{} 从 {exe} 运行", p.name),
                        ),
                    );
                }
            }
        }
        for t in &texts {
            for (fact, word) in self.rules.keyword_hits(t) {
                facts.set(
                    fact,
                    Said::new(
                        format!("host evidence mentions {word:?}"),
                        format!("主机证据提到 {word:?}"),
                    ),
                );
            }
        }
        // Research projects covering the host or the account for the whole activity: mining
        // before the approval or after it ran out is not the project's (an approval must not
        // cover what follows it), and the case says so.
        for p in &self.projects {
            let host_match = p.host.is_some() && p.host == case.host_name;
            let acc_match = p.account.is_some() && p.account == case.account;
            if !(host_match || acc_match) {
                continue;
            }
            let overlaps = p.starts <= case.last_seen && p.ends >= case.first_seen;
            let covers = p.starts <= case.first_seen && p.ends >= case.last_seen;
            if covers {
                facts.set(
                    "research-project",
                    Said::new(
                        format!("project {:?} approved by {}", p.name, p.approver),
                        format!("项目 {:?}，批准人 {}", p.name, p.approver),
                    ),
                );
            } else if overlaps {
                let (starts, ends) = (
                    minetrace_core::Timestamp(p.starts),
                    minetrace_core::Timestamp(p.ends),
                );
                let (first, last) = (
                    minetrace_core::Timestamp(case.first_seen),
                    minetrace_core::Timestamp(case.last_seen),
                );
                flags.push(Said::new(
                    format!(
                        "mining outside the approved period of research project {:?} ({starts} to {ends}): seen {first} to {last}",
                        p.name
                    ),
                    format!(
                        "挖矿超出科研项目 {:?} 的批准期限（{starts} 至 {ends}）：实际发现于 {first} 至 {last}",
                        p.name
                    ),
                ));
            }
        }
        // Cross-check: the network sees mining, the host's agent is blind or silent.
        if case.network_findings > 0 && host_findings == 0 {
            if let Some(h) = &case.host_name {
                if let Some(hb) = self.store.last_heartbeat(h)? {
                    let what = if hb + AGENT_SILENT_US < case.last_seen {
                        let (until, since) = (
                            minetrace_core::Timestamp(case.last_seen),
                            minetrace_core::Timestamp(hb),
                        );
                        Said::new(
                            format!(
                                "the network saw {h} mining until {until} but its agent has been silent since {since}"
                            ),
                            format!(
                                "网络发现 {h} 挖矿直至 {until}，但其代理自 {since} 起再无报告"
                            ),
                        )
                    } else {
                        Said::new(
                            format!("the network saw {h} mining but its agent reported no mining"),
                            format!("网络发现 {h} 在挖矿，但其代理未报告任何挖矿"),
                        )
                    };
                    // The flag names the cross-check; the fact's name already does.
                    flags.push(Said::new(
                        format!("agent blind or tampered: {}", what.en),
                        format!("主机代理失明或被篡改：{}", what.zh),
                    ));
                    facts.set("agent-blind", what);
                }
            }
        }
        let mut machines = 1;
        if let Some(c) = case.campaign_id {
            let with_self = self.campaign_machines(c)?;
            machines = with_self;
            if with_self >= 2 {
                let what = Said::new(
                    format!("wallet seen on {with_self} machines"),
                    format!("同一钱包出现在 {with_self} 台机器上"),
                );
                flags.push(Said::new(
                    format!("campaign: {}", what.en),
                    format!("团伙：{}", what.zh),
                ));
                facts.set("campaign", what);
            }
        }
        let proposal = self.rules.classify(&facts);
        case.proposed_class = Some(proposal.class);
        case.reasons = proposal.reasons;
        case.reasons_zh = proposal.reasons_zh;
        (case.flags, case.flags_zh) = Said::split(flags);
        case.estimate = estimate::for_case(
            self.estimate,
            &case.estimate,
            new_findings,
            machines,
            (Timestamp(case.first_seen), Timestamp(case.last_seen)),
            case.coin.as_deref(),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XMR: &str = "4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3skxNgYeYTRj5UzqtReoS44qo9mtmXCqY45DJ852K5Jv2684Rge";

    #[test]
    fn a_payout_address_or_email_is_a_campaign_anywhere() {
        assert_eq!(campaign_key(XMR, None).as_deref(), Some(XMR));
        assert_eq!(
            campaign_key(XMR, Some("pool.example")).as_deref(),
            Some(XMR)
        );
        assert_eq!(
            campaign_key("li.wei@mail.example", None).as_deref(),
            Some("li.wei@mail.example")
        );
    }

    #[test]
    fn a_pool_account_is_a_campaign_only_at_its_pool() {
        assert_eq!(
            campaign_key("broatcast", Some("us1.bitminter.com")).as_deref(),
            Some("broatcast @ us1.bitminter.com")
        );
        assert_eq!(campaign_key("broatcast", None), None);
        assert_ne!(
            campaign_key("broatcast", Some("us1.bitminter.com")),
            campaign_key("broatcast", Some("203.0.113.9:3333"))
        );
    }

    #[test]
    fn placeholder_logins_are_no_campaign() {
        for login in ["x", "X", "worker1", "Bitcoin", "ab", "admin"] {
            assert_eq!(campaign_key(login, Some("pool.example")), None, "{login}");
        }
    }

    #[test]
    fn an_account_never_replaces_an_address() {
        assert!(wallet_strength(XMR) > wallet_strength("li.wei@mail.example"));
        assert!(wallet_strength("li.wei@mail.example") > wallet_strength("broatcast"));
    }
}
