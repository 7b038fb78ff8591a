//! NAT and DHCP log import: maps (public address, port, time) -> private address -> MAC.
//!
//! Formats:
//! - DHCP: ISC dhcpd `dhcpd.leases`; dnsmasq lease file (`expiry mac ip hostname client-id`,
//!   the lease is taken to start `lease_secs` before expiry); CSV `ip,mac,hostname,start,end`.
//! - NAT: conntrack event lines (`conntrack -E -o timestamp` or `-L -o extended,timestamp`:
//!   `[epoch] [NEW|DESTROY] proto ... src=PRIV dst=REMOTE sport=PP dport=RP ... src=REMOTE
//!   dst=PUBLIC sport=RP dport=PUBPORT`); CSV
//!   `public_ip,public_port,private_ip,private_port,protocol,start,end`.
//!
//! Times in CSV are RFC 3339 or Unix seconds. Errors name the line.

use super::csv;
use super::netaddr::normalize_mac;
use minetrace_store::{Lease, NatMapping};
use std::collections::HashMap;
use std::net::IpAddr;

/// A conntrack mapping without a DESTROY event is taken to last this long.
pub const OPEN_MAPPING_SECS: i64 = 24 * 3600;
const US: i64 = 1_000_000;

/// Parses a time: RFC 3339, Unix seconds (with fraction), or `YYYY/MM/DD HH:MM:SS` (UTC).
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(t) = minetrace_core::Timestamp::parse_rfc3339(s) {
        return Some(t.0);
    }
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs.abs() < 1e11 {
            return Some((secs * 1e6) as i64);
        }
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y/%m/%d %H:%M:%S")
        .ok()
        .map(|d| d.and_utc().timestamp_micros())
}

fn ip(s: &str, line: usize, what: &str) -> Result<String, String> {
    s.trim()
        .parse::<IpAddr>()
        .map(|a| a.to_string())
        .map_err(|_| format!("line {line}: {what} {s:?} is not an IP address"))
}

fn mac(s: &str, line: usize) -> Result<String, String> {
    normalize_mac(s).ok_or_else(|| format!("line {line}: {s:?} is not a MAC address"))
}

/// A lease block being read: start line, address, starts, ends, MAC, host name.
type PendingLease = (
    usize,
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

/// ISC dhcpd leases file.
pub fn parse_isc_leases(text: &str, origin: &str) -> Result<Vec<Lease>, String> {
    let mut out = Vec::new();
    let mut cur: Option<PendingLease> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some(rest) = l.strip_prefix("lease ") {
            let addr = rest.trim_end_matches('{').trim();
            cur = Some((
                line_no,
                ip(addr, line_no, "lease address")?,
                None,
                None,
                None,
                None,
            ));
            continue;
        }
        if l == "}" {
            if let Some((start_line, ipaddr, starts, ends, m, host)) = cur.take() {
                let m = m.ok_or_else(|| {
                    format!("line {start_line}: lease {ipaddr} has no hardware ethernet")
                })?;
                let starts = starts
                    .ok_or_else(|| format!("line {start_line}: lease {ipaddr} has no starts"))?;
                out.push(Lease {
                    ip: ipaddr,
                    mac: m,
                    hostname: host,
                    starts,
                    ends: ends.unwrap_or(starts + OPEN_MAPPING_SECS * US),
                    origin: origin.into(),
                });
            }
            continue;
        }
        let Some(c) = cur.as_mut() else { continue };
        let stmt = l.trim_end_matches(';');
        let mut words = stmt.split_whitespace();
        match words.next() {
            Some(kw @ ("starts" | "ends")) => {
                let rest: Vec<&str> = words.collect();
                let t = match rest.as_slice() {
                    ["never"] => Some(i64::MAX / 2),
                    ["epoch", e] => parse_time(e),
                    [_weekday, d, t] => parse_time(&format!("{d} {t}")),
                    _ => None,
                }
                .ok_or_else(|| format!("line {line_no}: unreadable {kw} time {stmt:?}"))?;
                if kw == "starts" {
                    c.2 = Some(t);
                } else {
                    c.3 = Some(t);
                }
            }
            Some("hardware") => {
                let m = words.nth(1).unwrap_or("");
                c.4 = Some(mac(m, line_no)?);
            }
            Some("client-hostname") => {
                let h = stmt
                    .trim_start_matches("client-hostname")
                    .trim()
                    .trim_matches('"');
                c.5 = Some(h.chars().take(255).collect());
            }
            _ => {}
        }
    }
    Ok(out)
}

/// dnsmasq lease file lines: `expiry mac ip hostname client-id`.
pub fn parse_dnsmasq_leases(
    text: &str,
    origin: &str,
    lease_secs: i64,
) -> Result<Vec<Lease>, String> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let n = i + 1;
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.is_empty() || l.starts_with('#') || f.first() == Some(&"duid") {
            continue;
        }
        let [expiry, m, addr, host, ..] = f.as_slice() else {
            return Err(format!(
                "line {n}: expected `expiry mac ip hostname client-id`"
            ));
        };
        let expiry: i64 = expiry
            .parse()
            .map_err(|_| format!("line {n}: expiry {expiry:?} is not Unix seconds"))?;
        let ends = if expiry == 0 {
            i64::MAX / 2
        } else {
            expiry.saturating_mul(US)
        };
        out.push(Lease {
            ip: ip(addr, n, "address")?,
            mac: mac(m, n)?,
            hostname: (*host != "*").then(|| host.chars().take(255).collect()),
            starts: if expiry == 0 {
                0
            } else {
                ends - lease_secs * US
            },
            ends,
            origin: origin.into(),
        });
    }
    Ok(out)
}

/// DHCP CSV: `ip,mac,hostname,start,end`.
pub fn parse_dhcp_csv(text: &str, origin: &str) -> Result<Vec<Lease>, String> {
    let mut out = Vec::new();
    for (n, r) in csv::records(text, &["ip", "mac", "hostname", "start", "end"])? {
        let get = |k: &str| {
            r.iter()
                .find(|(h, _)| h == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        let starts =
            parse_time(get("start")).ok_or_else(|| format!("row {n}: unreadable start"))?;
        let ends = match get("end") {
            "" => starts + OPEN_MAPPING_SECS * US,
            e => parse_time(e).ok_or_else(|| format!("row {n}: unreadable end"))?,
        };
        out.push(Lease {
            ip: ip(get("ip"), n, "ip")?,
            mac: mac(get("mac"), n)?,
            hostname: Some(get("hostname"))
                .filter(|h| !h.is_empty())
                .map(str::to_string),
            starts,
            ends,
            origin: origin.into(),
        });
    }
    Ok(out)
}

/// NAT CSV: `public_ip,public_port,private_ip,private_port,protocol,start,end`.
pub fn parse_nat_csv(text: &str, origin: &str) -> Result<Vec<NatMapping>, String> {
    let cols = [
        "public_ip",
        "public_port",
        "private_ip",
        "private_port",
        "protocol",
        "start",
        "end",
    ];
    let mut out = Vec::new();
    for (n, r) in csv::records(text, &cols)? {
        let get = |k: &str| {
            r.iter()
                .find(|(h, _)| h == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        let port = |k: &str| {
            get(k)
                .parse::<u16>()
                .map_err(|_| format!("row {n}: {k} is not a port"))
        };
        let starts =
            parse_time(get("start")).ok_or_else(|| format!("row {n}: unreadable start"))?;
        let ends = match get("end") {
            "" => starts + OPEN_MAPPING_SECS * US,
            e => parse_time(e).ok_or_else(|| format!("row {n}: unreadable end"))?,
        };
        out.push(NatMapping {
            public_ip: ip(get("public_ip"), n, "public_ip")?,
            public_port: port("public_port")?,
            private_ip: ip(get("private_ip"), n, "private_ip")?,
            private_port: port("private_port")?,
            protocol: match get("protocol") {
                "" => "tcp".into(),
                p => p.to_ascii_lowercase().chars().take(8).collect(),
            },
            starts,
            ends,
            origin: origin.into(),
        });
    }
    Ok(out)
}

/// conntrack event or listing lines. `default_time` stamps lines without `[epoch]`.
pub fn parse_conntrack(
    text: &str,
    origin: &str,
    default_time: i64,
) -> Result<Vec<NatMapping>, String> {
    type Key = (String, String, u16, String, u16);
    let mut open: HashMap<Key, usize> = HashMap::new();
    let mut out: Vec<NatMapping> = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let n = i + 1;
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let mut t = default_time;
        let mut event = "NEW";
        let mut proto = String::new();
        let mut kv: Vec<(&str, &str)> = Vec::new();
        for w in l.split_whitespace() {
            if let Some(inner) = w.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
                if let Some(ts) = parse_time(inner)
                    .filter(|_| inner.contains('.') || inner.chars().all(|c| c.is_ascii_digit()))
                {
                    t = ts;
                } else if matches!(inner, "NEW" | "UPDATE" | "DESTROY") {
                    event = if inner == "DESTROY" { "DESTROY" } else { "NEW" };
                }
            } else if let Some((k, v)) = w.split_once('=') {
                kv.push((k, v));
            } else if proto.is_empty() && matches!(w, "tcp" | "udp" | "icmp" | "sctp") {
                proto = w.to_string();
            }
        }
        let get = |k: &str, nth: usize| {
            kv.iter()
                .filter(|(kk, _)| *kk == k)
                .nth(nth)
                .map(|(_, v)| *v)
        };
        let (Some(src), Some(sport), Some(rdst), Some(rdport)) = (
            get("src", 0),
            get("sport", 0),
            get("dst", 1),
            get("dport", 1),
        ) else {
            return Err(format!(
                "line {n}: expected original and reply tuples (src= dst= sport= dport= twice)"
            ));
        };
        let private_ip = ip(src, n, "src")?;
        let public_ip = ip(rdst, n, "reply dst")?;
        let private_port: u16 = sport
            .parse()
            .map_err(|_| format!("line {n}: sport {sport:?}"))?;
        let public_port: u16 = rdport
            .parse()
            .map_err(|_| format!("line {n}: reply dport {rdport:?}"))?;
        if private_ip == public_ip && private_port == public_port {
            continue; // not translated
        }
        let key: Key = (
            proto.clone(),
            private_ip.clone(),
            private_port,
            public_ip.clone(),
            public_port,
        );
        if event == "DESTROY" {
            if let Some(&idx) = open.get(&key) {
                if let Some(m) = out.get_mut(idx) {
                    m.ends = t.max(m.starts);
                }
                open.remove(&key);
                continue;
            }
        }
        if open.contains_key(&key) {
            continue;
        }
        open.insert(key, out.len());
        out.push(NatMapping {
            public_ip,
            public_port,
            private_ip,
            private_port,
            protocol: if proto.is_empty() {
                "tcp".into()
            } else {
                proto
            },
            starts: t,
            ends: if event == "DESTROY" {
                t
            } else {
                t + OPEN_MAPPING_SECS * US
            },
            origin: origin.into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isc_leases() {
        let text = "# comment\nlease 192.168.1.20 {\n  starts 3 2024/01/10 08:00:00;\n  ends 3 2024/01/10 20:00:00;\n  hardware ethernet AA:BB:CC:00:00:01;\n  client-hostname \"gpu-01\";\n}\n";
        let l = parse_isc_leases(text, "t").unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].mac, "aa:bb:cc:00:00:01");
        assert_eq!(l[0].hostname.as_deref(), Some("gpu-01"));
        assert_eq!(l[0].ends - l[0].starts, 12 * 3600 * US);
        assert!(parse_isc_leases("lease 1.2.3 {\n}\n", "t")
            .unwrap_err()
            .contains("line 1"));
    }

    #[test]
    fn dnsmasq_and_csv() {
        let l = parse_dnsmasq_leases(
            "1704916800 aa:bb:cc:00:00:02 192.168.1.21 lab-pc *\n",
            "t",
            3600,
        )
        .unwrap();
        assert_eq!(l[0].ip, "192.168.1.21");
        assert_eq!(l[0].ends - l[0].starts, 3600 * US);
        assert!(parse_dnsmasq_leases("x y\n", "t", 60).is_err());
        let c = parse_dhcp_csv(
            "ip,mac,hostname,start,end\n10.0.0.5,aa-bb-cc-00-00-03,h,2024-01-10T00:00:00Z,\n",
            "t",
        )
        .unwrap();
        assert_eq!(c[0].mac, "aa:bb:cc:00:00:03");
        let n = parse_nat_csv("public_ip,public_port,private_ip,private_port,protocol,start,end\n203.0.113.5,40001,192.168.1.20,51000,tcp,1704873600,1704877200\n", "t").unwrap();
        assert_eq!(n[0].public_port, 40001);
        assert!(parse_nat_csv("public_ip,public_port,private_ip,private_port,protocol,start,end\n203.0.113.5,99999,192.168.1.20,1,tcp,1,2\n", "t").is_err());
    }

    #[test]
    fn conntrack_new_and_destroy() {
        let text = "[1704873600.000000]\t    [NEW] tcp      6 120 SYN_SENT src=192.168.1.20 dst=192.0.2.10 sport=51000 dport=3333 [UNREPLIED] src=192.0.2.10 dst=203.0.113.5 sport=3333 dport=40001\n\
                    [1704877200.500000]\t[DESTROY] tcp      6 src=192.168.1.20 dst=192.0.2.10 sport=51000 dport=3333 src=192.0.2.10 dst=203.0.113.5 sport=3333 dport=40001\n";
        let m = parse_conntrack(text, "t", 0).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].private_ip.as_str(), m[0].public_port),
            ("192.168.1.20", 40001)
        );
        assert_eq!(m[0].starts, 1_704_873_600 * US);
        assert_eq!(m[0].ends, 1_704_877_200_500_000);
        assert!(parse_conntrack("garbage line\n", "t", 0).is_err());
    }
}
