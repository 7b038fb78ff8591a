//! Output sinks: a readable table for terminals, JSON Lines, and Suricata EVE-style alerts.

use minetrace_core::{Confidence, Finding};
use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable table with a per-host summary.
    Table,
    /// One JSON object per finding (docs/findings-jsonl.md).
    Jsonl,
    /// Suricata EVE-style `alert` records.
    Eve,
    /// One JSON object per mining host: what it mines where, how many rigs, estimated draw.
    Hosts,
}

/// Findings grouped by client address, each group in the order given: a host's estimates read
/// its own findings, not every finding once per host (which grows with hosts x findings).
pub fn by_client(findings: &[Finding]) -> HashMap<IpAddr, Vec<&Finding>> {
    let mut groups: HashMap<IpAddr, Vec<&Finding>> = HashMap::new();
    for f in findings {
        if let Some(c) = &f.client {
            groups.entry(c.ip).or_default().push(f);
        }
    }
    groups
}

/// Writes one JSON line per mining host (the table's summary, with its estimates).
pub fn write_hosts(out: &mut dyn Write, findings: &[Finding]) -> std::io::Result<()> {
    let cfg = minetrace_estimate::EstimateConfig::default();
    let groups = by_client(findings);
    for h in minetrace_detect::summary::summarize(findings) {
        let mine = groups
            .get(&h.client_ip)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut v = serde_json::to_value(&h).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            if let Some(r) = crate::estimates::host_rigs(&cfg, &h, mine) {
                obj.insert(
                    "rig_estimate".into(),
                    serde_json::to_value(&r).unwrap_or_default(),
                );
            }
            if let Some(e) = crate::estimates::host_figures(&cfg, &h, mine) {
                obj.insert("power_w".into(), e.watts.into());
                obj.insert("kwh_per_day".into(), e.kwh_per_day.into());
            }
        }
        writeln!(out, "{v}")?;
    }
    Ok(())
}

/// Writes one finding as a JSON line.
pub fn write_jsonl(out: &mut dyn Write, f: &Finding) -> std::io::Result<()> {
    if f.id.is_empty() {
        return writeln!(out, "{}", f.to_json_line());
    }
    // The same text as `to_json_line`, without its copy of the finding.
    let line = serde_json::to_string(f).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    writeln!(out, "{line}")
}

/// Writes one finding as a Suricata EVE `alert` record, so SIEMs that ingest Suricata can ingest
/// minetrace. The complete finding rides along under `minetrace`.
pub fn write_eve(out: &mut dyn Write, f: &Finding) -> std::io::Result<()> {
    let dialect = f.dialect.map(|d| d.as_str()).unwrap_or("unknown");
    let severity = match f.confidence {
        Confidence::High => 1,
        Confidence::Medium => 2,
        Confidence::Low => 3,
    };
    let mut rec = serde_json::json!({
        "timestamp": eve_time(f.first_seen),
        "flow_id": flow_id(&f.id),
        "event_type": "alert",
        "proto": f.transport.as_deref().unwrap_or("tcp").to_uppercase(),
        "app_proto": dialect,
        "alert": {
            "action": "allowed",
            "gid": 1,
            "signature_id": signature_id(&f.detector, dialect),
            "rev": 1,
            "signature": format!("MINETRACE {} mining ({})", f.detector, dialect),
            "category": "Crypto Currency Mining Activity Detected",
            "severity": severity,
            "metadata": {
                "confidence": [format!("{:?}", f.confidence).to_lowercase()],
                "reasons": f.reasons,
            },
        },
        "minetrace": f,
    });
    if let Some(c) = &f.client {
        rec["src_ip"] = c.ip.to_string().into();
        rec["src_port"] = c.port.into();
    }
    if let Some(s) = &f.server {
        rec["dest_ip"] = s.ip.to_string().into();
        rec["dest_port"] = s.port.into();
    }
    if let Some(p) = f.source.packet {
        rec["pcap_cnt"] = p.into();
    }
    writeln!(out, "{rec}")
}

fn eve_time(t: minetrace_core::Timestamp) -> String {
    // Suricata writes 2021-12-14T16:45:34.924601+0000.
    let s = t.to_rfc3339();
    match s.strip_suffix('Z') {
        Some(base) => format!("{base}+0000"),
        None => s,
    }
}

fn flow_id(id: &str) -> u64 {
    let prefix = id.get(..13).unwrap_or("0");
    u64::from_str_radix(prefix, 16).unwrap_or(0)
}

/// Stable signature ids in a private range, one per detector/dialect pair.
fn signature_id(detector: &str, dialect: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in detector.bytes().chain([b'/']).chain(dialect.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    9_900_000 + h % 90_000
}

/// Shortens attacker-supplied text for a terminal cell and removes control characters.
pub fn cell(s: &str, max: usize) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if clean.chars().count() > max {
        let cut: String = clean.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        clean
    }
}

/// Hashes per second in engineering units.
pub fn hashrate(h: f64) -> String {
    let units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s"];
    let mut v = h;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    format!("{v:.2} {}", units[i])
}

/// The findings as a readable table.
pub fn write_table(out: &mut dyn Write, findings: &[Finding]) -> std::io::Result<()> {
    if findings.is_empty() {
        return writeln!(out, "No mining found.");
    }
    writeln!(
        out,
        "{:<22} {:<22} {:<18} {:<6} {:<7} {:<26} {:<18} shares (acc/rej) hashrate",
        "client", "pool", "dialect", "coin", "conf", "wallet / login", "agent",
    )?;
    for f in findings {
        let client = f.client.as_ref().map(|e| e.to_string()).unwrap_or_default();
        let pool = f
            .evidence
            .pool_host
            .clone()
            .or_else(|| f.server.as_ref().map(|e| e.to_string()))
            .unwrap_or_default();
        let wallet = f
            .evidence
            .wallet
            .as_ref()
            .map(|w| w.address.clone())
            .or_else(|| f.evidence.login.clone())
            .unwrap_or_default();
        let rate = f
            .evidence
            .hashrate
            .as_ref()
            .map(|h| hashrate(h.hashes_per_second))
            .unwrap_or_default();
        writeln!(
            out,
            "{:<22} {:<22} {:<18} {:<6} {:<7} {:<26} {:<18} {}/{} {}",
            cell(&client, 22),
            cell(&pool, 22),
            f.dialect.map(|d| d.as_str()).unwrap_or(&f.detector),
            cell(f.evidence.coin.as_deref().unwrap_or("?"), 6),
            format!("{:?}", f.confidence).to_lowercase(),
            cell(&wallet, 26),
            cell(f.evidence.agent.as_deref().unwrap_or(""), 18),
            f.evidence.shares_accepted,
            f.evidence.shares_rejected,
            rate
        )?;
        if let Some(why) = f.reasons.first() {
            writeln!(out, "    why: {}", cell(why, 150))?;
        }
        writeln!(
            out,
            "    at:  {} packet {} ({} .. {})",
            cell(&f.source.name, 80),
            f.source.packet.map(|p| p.to_string()).unwrap_or("-".into()),
            f.first_seen,
            f.last_seen
        )?;
    }
    Ok(())
}

/// The per-host summary ("mining hosts") under the findings table.
pub fn write_summary(
    out: &mut dyn Write,
    hosts: &[minetrace_detect::summary::MiningHost],
    findings: &[Finding],
) -> std::io::Result<()> {
    if hosts.is_empty() {
        return Ok(());
    }
    let cfg = minetrace_estimate::EstimateConfig::default();
    let groups = by_client(findings);
    let mine = |h: &minetrace_detect::summary::MiningHost| -> &[&Finding] {
        groups
            .get(&h.client_ip)
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    let energy: Vec<_> = hosts
        .iter()
        .map(|h| crate::estimates::host_figures(&cfg, h, mine(h)))
        .collect();
    writeln!(out, "\nMining hosts")?;
    writeln!(
        out,
        "{:<40} {:<6} {:>9} {:>5} {:<16} {:>9} {:>8} {:<30} wallets / accounts",
        "host", "coins", "rigs", "conns", "hashrate", "power", "kWh/day", "pools"
    )?;
    for (h, e) in hosts.iter().zip(&energy) {
        let rigs = match crate::estimates::host_rigs(&cfg, h, mine(h)) {
            Some(r) if r.low != r.high => format!("{} ({}-{})", r.point, r.low, r.high),
            Some(r) => r.point.to_string(),
            None => h.rigs.to_string(),
        };
        let rate = match h.hashrate_hps {
            Some(r) => format!(
                "{} ({})",
                hashrate(r),
                h.hashrate_basis.as_deref().unwrap_or("?")
            ),
            // Several algorithms: their hashes are not added (the JSON gives each).
            None if h.hashrate_by_family.len() > 1 => {
                format!("{} algorithms", h.hashrate_by_family.len())
            }
            None => String::new(),
        };
        let power = e.map(|e| format!("{:.0} W", e.watts)).unwrap_or_default();
        let kwh = e
            .map(|e| format!("{:.1}", e.kwh_per_day))
            .unwrap_or_default();
        writeln!(
            out,
            "{:<40} {:<6} {:>9} {:>5} {:<16} {:>9} {:>8} {:<30} {}",
            h.client_ip,
            cell(&h.coins.join(","), 6),
            rigs,
            h.connections,
            cell(&rate, 16),
            power,
            kwh,
            cell(&h.pools.join(","), 30),
            cell(&wallets_and_accounts(h), 60)
        )?;
    }
    if let Some(line) = crate::estimates::total_line(&cfg, &energy) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The table's last column: payout addresses, then pool accounts marked as such (an account
/// name such as `Bitcoin` is no address).
fn wallets_and_accounts(h: &minetrace_detect::summary::MiningHost) -> String {
    h.wallets
        .iter()
        .cloned()
        .chain(h.accounts.iter().map(|a| format!("{a} (account)")))
        .collect::<Vec<_>>()
        .join(",")
}
