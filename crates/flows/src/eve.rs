//! Suricata EVE JSON: `flow`, `netflow`, `dns` and `tls` records.

use crate::record::{bounded_name, FlowRecord, Item, NameKind, NameRecord, MAX_ANSWERS};
use crate::text::{parse_datetime, parse_proto, parse_tcp_flags};
use serde_json::Value;

/// Parses one EVE line; `Ok(None)` for event types that carry nothing for flows (alerts, stats).
pub fn line(line: &str, record: u64) -> Result<Option<Item>, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let event = v
        .get("event_type")
        .and_then(Value::as_str)
        .ok_or("no event_type")?;
    let ip = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
    };
    let port = |k: &str| -> Result<u16, String> {
        match v.get(k) {
            None | Some(Value::Null) => Ok(0),
            Some(p) => p
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| format!("{k}: not a port")),
        }
    };
    let ts = v
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(parse_datetime)
        .ok_or("timestamp: missing or not a time")?;
    let join_key = v.get("flow_id").map(|id| match id {
        Value::String(s) => bounded_name(s),
        other => bounded_name(&other.to_string()),
    });
    match event {
        "flow" | "netflow" => {
            let body = v.get(event).ok_or_else(|| format!("no {event} object"))?;
            let count = |k: &str| body.get(k).and_then(Value::as_u64).unwrap_or(0);
            let time = |k: &str| -> Result<Option<i64>, String> {
                match body.get(k).and_then(Value::as_str) {
                    None => Ok(None),
                    Some(s) => parse_datetime(s)
                        .map(Some)
                        .ok_or_else(|| format!("{event}.{k}: not a time")),
                }
            };
            let first = time("start")?.unwrap_or(ts);
            let last = time("end")?.unwrap_or(first).max(first);
            let flags = |k: &str| {
                v.get("tcp")
                    .and_then(|t| t.get(k))
                    .and_then(Value::as_str)
                    .and_then(|s| {
                        u8::from_str_radix(s, 16)
                            .ok()
                            .or_else(|| parse_tcp_flags(s))
                    })
                    .unwrap_or(0)
            };
            let (packets, bytes) = if event == "flow" {
                (
                    [count("pkts_toserver"), count("pkts_toclient")],
                    [count("bytes_toserver"), count("bytes_toclient")],
                )
            } else {
                ([count("pkts"), 0], [count("bytes"), 0])
            };
            let app = v.get("app_proto").and_then(Value::as_str).unwrap_or("");
            let r = FlowRecord {
                record,
                src: ip("src_ip"),
                dst: ip("dest_ip"),
                src_port: port("src_port")?,
                dst_port: port("dest_port")?,
                proto: v
                    .get("proto")
                    .and_then(Value::as_str)
                    .and_then(parse_proto)
                    .unwrap_or(0),
                packets,
                bytes,
                first_us: first,
                last_us: last,
                tcp_flags: [flags("tcp_flags_ts"), flags("tcp_flags_tc")],
                tls: app == "tls",
                join_key,
                ..FlowRecord::default()
            };
            Ok(Some(Item::Flow(Box::new(r))))
        }
        "tls" => {
            let tls = v.get("tls").ok_or("no tls object")?;
            Ok(Some(Item::Name(NameRecord {
                record,
                kind: NameKind::Tls,
                name: tls
                    .get("sni")
                    .and_then(Value::as_str)
                    .map(bounded_name)
                    .unwrap_or_default(),
                answers: Vec::new(),
                ja3: tls
                    .get("ja3")
                    .and_then(|j| j.get("hash"))
                    .and_then(Value::as_str)
                    .map(bounded_name),
                client: ip("src_ip"),
                server: ip("dest_ip"),
                server_port: port("dest_port")?,
                join_key,
                ts_us: ts,
            })))
        }
        "dns" => {
            let dns = v.get("dns").ok_or("no dns object")?;
            let name = dns
                .get("rrname")
                .and_then(Value::as_str)
                .or_else(|| {
                    dns.get("queries")
                        .and_then(|q| q.get(0))
                        .and_then(|q| q.get("rrname"))
                        .and_then(Value::as_str)
                })
                .ok_or("dns: no rrname")?;
            let mut answers = Vec::new();
            if let Some(list) = dns.get("answers").and_then(Value::as_array) {
                for a in list.iter().take(MAX_ANSWERS * 4) {
                    if let Some(ip) = a
                        .get("rdata")
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse().ok())
                    {
                        if answers.len() < MAX_ANSWERS {
                            answers.push(ip);
                        }
                    }
                }
            }
            if let Some(g) = dns.get("grouped") {
                for key in ["A", "AAAA"] {
                    for a in g
                        .get(key)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .take(MAX_ANSWERS)
                    {
                        if let Some(ip) = a.as_str().and_then(|s| s.parse().ok()) {
                            if answers.len() < MAX_ANSWERS {
                                answers.push(ip);
                            }
                        }
                    }
                }
            }
            if let Some(ip) = dns
                .get("rdata")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
            {
                if answers.len() < MAX_ANSWERS {
                    answers.push(ip);
                }
            }
            Ok(Some(Item::Name(NameRecord {
                record,
                kind: NameKind::Dns,
                name: bounded_name(name),
                answers,
                ja3: None,
                client: ip("src_ip"),
                server: ip("dest_ip"),
                server_port: port("dest_port")?,
                join_key,
                ts_us: ts,
            })))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_tls_dns_parse() {
        let flow = r#"{"timestamp":"2021-12-14T16:50:34.924601+0000","flow_id":1234,"event_type":"flow","src_ip":"10.0.0.5","src_port":50123,"dest_ip":"198.51.100.7","dest_port":443,"proto":"TCP","app_proto":"tls","flow":{"pkts_toserver":40,"pkts_toclient":60,"bytes_toserver":6080,"bytes_toclient":19120,"start":"2021-12-14T16:45:34.924601+0000","end":"2021-12-14T16:50:34.924601+0000","age":300,"state":"closed"},"tcp":{"tcp_flags":"1b","tcp_flags_ts":"1b","tcp_flags_tc":"1a"}}"#;
        let Some(Item::Flow(r)) = line(flow, 1).unwrap() else {
            panic!()
        };
        assert_eq!((r.src_port, r.dst_port, r.proto), (50123, 443, 6));
        assert_eq!((r.bytes, r.packets), ([6080, 19120], [40, 60]));
        assert_eq!(r.tcp_flags, [0x1b, 0x1a]);
        assert_eq!(r.duration_secs(), 300.0);
        assert_eq!(r.join_key.as_deref(), Some("1234"));
        assert!(r.tls);
        let tls = r#"{"timestamp":"2021-12-14T16:45:35.0+0000","flow_id":1234,"event_type":"tls","src_ip":"10.0.0.5","src_port":50123,"dest_ip":"198.51.100.7","dest_port":443,"proto":"TCP","tls":{"version":"TLS 1.2","ja3":{"hash":"abc"}}}"#;
        let Some(Item::Name(n)) = line(tls, 2).unwrap() else {
            panic!()
        };
        assert_eq!(
            (n.kind, n.name.as_str(), n.ja3.as_deref()),
            (NameKind::Tls, "", Some("abc"))
        );
        let dns = r#"{"timestamp":"2021-12-14T16:45:30.0+0000","event_type":"dns","src_ip":"10.0.0.1","dest_ip":"10.0.0.5","dns":{"version":2,"type":"answer","rrname":"pool.example","answers":[{"rrname":"pool.example","rrtype":"A","rdata":"198.51.100.7"}]}}"#;
        let Some(Item::Name(n)) = line(dns, 3).unwrap() else {
            panic!()
        };
        assert_eq!(n.answers.len(), 1);
        let alert = r#"{"timestamp":"2021-12-14T16:45:30.0+0000","event_type":"alert"}"#;
        assert_eq!(line(alert, 4).unwrap(), None);
        assert!(line(r#"{"event_type":"flow"}"#, 5).is_err());
        assert!(line("[]", 6).is_err());
    }
}
