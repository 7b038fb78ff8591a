//! Zeek logs: conn, dns and ssl, as TSV (with `#fields` headers) or JSON lines.

use crate::record::{bounded_name, FlowRecord, Item, NameKind, NameRecord, MAX_ANSWERS};
use crate::text::{parse_any_time, parse_epoch, parse_proto, parse_u64};
use serde_json::Value;

/// Which log a line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZeekLog {
    Conn,
    Dns,
    Ssl,
    Other,
}

/// State of a Zeek TSV file: its separators and the columns of the current `#fields` header.
#[derive(Debug, Clone)]
pub struct ZeekTsv {
    separator: char,
    set_separator: char,
    fields: Vec<String>,
    log: ZeekLog,
}

impl Default for ZeekTsv {
    fn default() -> Self {
        ZeekTsv {
            separator: '\t',
            set_separator: ',',
            fields: Vec::new(),
            log: ZeekLog::Other,
        }
    }
}

/// Reads `\x09`-style escapes in `#separator` lines.
fn unescape_separator(s: &str) -> Option<char> {
    if let Some(hex) = s.strip_prefix("\\x") {
        return u8::from_str_radix(hex, 16).ok().map(char::from);
    }
    s.chars().next()
}

fn kind_of(path: &str, fields: &[String]) -> ZeekLog {
    match path {
        "conn" => return ZeekLog::Conn,
        "dns" => return ZeekLog::Dns,
        "ssl" => return ZeekLog::Ssl,
        _ => {}
    }
    let has = |n: &str| fields.iter().any(|f| f == n);
    if has("conn_state") || has("orig_pkts") {
        ZeekLog::Conn
    } else if has("query") {
        ZeekLog::Dns
    } else if has("server_name") || has("ja3") {
        ZeekLog::Ssl
    } else {
        ZeekLog::Other
    }
}

impl ZeekTsv {
    /// Handles one line: a `#` directive (returns `Ok(None)`) or a data line.
    pub fn line(&mut self, line: &str, record: u64) -> Result<Option<Item>, String> {
        if let Some(directive) = line.strip_prefix('#') {
            let (key, value) = directive
                .split_once([' ', self.separator])
                .unwrap_or((directive, ""));
            match key {
                "separator" => {
                    self.separator = unescape_separator(value.trim()).ok_or("bad #separator")?
                }
                "set_separator" => {
                    self.set_separator = unescape_separator(value).unwrap_or(',');
                }
                "fields" => {
                    let fields: Vec<String> = value
                        .split(self.separator)
                        .take(512)
                        .map(|s| s.to_string())
                        .collect();
                    let path = self.log;
                    self.log = kind_of("", &fields);
                    if path != ZeekLog::Other && self.log == ZeekLog::Other {
                        self.log = path;
                    }
                    self.fields = fields;
                }
                "path" => self.log = kind_of(value.trim(), &self.fields),
                _ => {}
            }
            return Ok(None);
        }
        if self.fields.is_empty() {
            return Err("data line before any #fields header".into());
        }
        let values: Vec<&str> = line.split(self.separator).collect();
        if values.len() != self.fields.len() {
            return Err(format!(
                "{} fields where #fields names {}",
                values.len(),
                self.fields.len()
            ));
        }
        let get = |name: &str| -> Option<&str> {
            let i = self.fields.iter().position(|f| f == name)?;
            let v = *values.get(i)?;
            (v != "-" && v != "(empty)").then_some(v)
        };
        let set_sep = self.set_separator;
        let list = |name: &str| -> Vec<String> {
            get(name)
                .map(|v| v.split(set_sep).map(|s| s.to_string()).collect())
                .unwrap_or_default()
        };
        build(self.log, record, &get, &list, parse_epoch)
    }
}

/// Parses one Zeek JSON line (the log kind is told by its fields).
pub fn json_line(line: &str, record: u64) -> Result<Option<Item>, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    let fields: Vec<String> = obj.keys().take(512).cloned().collect();
    let log = kind_of("", &fields);
    let text: Vec<(String, String)> = obj
        .iter()
        .take(512)
        .filter_map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((k.clone(), s))
        })
        .collect();
    let get = |name: &str| -> Option<&str> {
        text.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let list = |name: &str| -> Vec<String> {
        match obj.get(name) {
            Some(Value::Array(a)) => a
                .iter()
                .take(MAX_ANSWERS * 4)
                .filter_map(|x| x.as_str().map(|s| s.to_string()))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    };
    build(log, record, &get, &list, parse_any_time)
}

fn build<'a>(
    log: ZeekLog,
    record: u64,
    get: &dyn Fn(&str) -> Option<&'a str>,
    list: &dyn Fn(&str) -> Vec<String>,
    time: fn(&str) -> Option<i64>,
) -> Result<Option<Item>, String> {
    let ts = get("ts")
        .and_then(time)
        .ok_or("ts: missing or not a time")?;
    let ip = |name: &str| get(name).and_then(|v| v.parse().ok());
    let port = |name: &str| -> Result<u16, String> {
        match get(name) {
            None => Ok(0),
            Some(v) => v.parse().map_err(|_| format!("{name}: not a port")),
        }
    };
    let uid = get("uid").map(bounded_name);
    match log {
        ZeekLog::Conn => {
            let num = |name: &str| -> Result<u64, String> {
                match get(name) {
                    None => Ok(0),
                    Some(v) => parse_u64(v).ok_or_else(|| format!("{name}: not a number")),
                }
            };
            let duration = match get("duration") {
                None => 0.0,
                Some(v) => v
                    .parse::<f64>()
                    .ok()
                    .filter(|d| d.is_finite() && *d >= 0.0 && *d < 1e9)
                    .ok_or("duration: not a number")?,
            };
            let ip_bytes = [num("orig_ip_bytes")?, num("resp_ip_bytes")?];
            let payload = [num("orig_bytes")?, num("resp_bytes")?];
            let history = get("history").unwrap_or("");
            let service = get("service").unwrap_or("");
            let r = FlowRecord {
                record,
                src: ip("id.orig_h"),
                dst: ip("id.resp_h"),
                src_port: port("id.orig_p")?,
                dst_port: port("id.resp_p")?,
                proto: get("proto").and_then(parse_proto).unwrap_or(0),
                bytes: if ip_bytes != [0, 0] {
                    ip_bytes
                } else {
                    payload
                },
                packets: [num("orig_pkts")?, num("resp_pkts")?],
                first_us: ts,
                last_us: ts + (duration * 1e6) as i64,
                tcp_flags: history_flags(history),
                tls: service.split(',').any(|s| s == "ssl" || s == "tls"),
                join_key: uid,
                ..FlowRecord::default()
            };
            Ok(Some(Item::Flow(Box::new(r))))
        }
        ZeekLog::Dns => {
            let Some(query) = get("query") else {
                return Ok(None);
            };
            let answers = list("answers")
                .iter()
                .filter_map(|a| a.trim().parse().ok())
                .take(MAX_ANSWERS)
                .collect();
            Ok(Some(Item::Name(NameRecord {
                record,
                kind: NameKind::Dns,
                name: bounded_name(query),
                answers,
                ja3: None,
                client: ip("id.orig_h"),
                server: ip("id.resp_h"),
                server_port: port("id.resp_p")?,
                join_key: uid,
                ts_us: ts,
            })))
        }
        ZeekLog::Ssl => Ok(Some(Item::Name(NameRecord {
            record,
            kind: NameKind::Tls,
            name: get("server_name").map(bounded_name).unwrap_or_default(),
            answers: Vec::new(),
            ja3: get("ja3").map(bounded_name),
            client: ip("id.orig_h"),
            server: ip("id.resp_h"),
            server_port: port("id.resp_p")?,
            join_key: uid,
            ts_us: ts,
        }))),
        ZeekLog::Other => Ok(None),
    }
}

/// TCP flags implied by a Zeek history string (upper case: originator, lower case: responder).
fn history_flags(h: &str) -> [u8; 2] {
    let mut f = [0u8; 2];
    for c in h.chars().take(64) {
        let dir = usize::from(c.is_ascii_lowercase());
        f[dir] |= match c.to_ascii_uppercase() {
            'S' => 0x02,
            'H' => 0x12,
            'A' => 0x10,
            'D' => 0x18,
            'F' => 0x01,
            'R' => 0x04,
            _ => 0,
        };
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONN: &str = "#separator \\x09\n#set_separator\t,\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n1639500334.924601\tCabc\t10.0.0.5\t50123\t198.51.100.7\t3333\ttcp\t-\t300.5\t4000\t16000\tSF\t-\t-\t0\tShADadFf\t40\t6080\t60\t19120\t-\n";

    #[test]
    fn conn_tsv_parses() {
        let mut z = ZeekTsv::default();
        let mut items = Vec::new();
        for (i, l) in CONN.lines().enumerate() {
            if let Some(it) = z.line(l, i as u64 + 1).unwrap() {
                items.push(it);
            }
        }
        assert_eq!(items.len(), 1);
        let Item::Flow(r) = &items[0] else {
            panic!("not a flow")
        };
        assert_eq!((r.src_port, r.dst_port, r.proto), (50123, 3333, 6));
        assert_eq!((r.bytes, r.packets), ([6080, 19120], [40, 60]));
        assert_eq!(r.duration_secs(), 300.5);
        assert_eq!(r.join_key.as_deref(), Some("Cabc"));
        assert_eq!(r.record, 6);
        assert!(r.tcp_flags[0] & 0x02 != 0 && r.tcp_flags[1] & 0x10 != 0);
    }

    #[test]
    fn dns_and_ssl_json_parse() {
        let dns = r#"{"ts":1639500330.1,"uid":"Cd","id.orig_h":"10.0.0.5","id.orig_p":5353,"id.resp_h":"10.0.0.1","id.resp_p":53,"proto":"udp","query":"xmr.pool.minergate.com","answers":["198.51.100.7","xmr.alias.example"]}"#;
        let Some(Item::Name(n)) = json_line(dns, 1).unwrap() else {
            panic!()
        };
        assert_eq!(n.kind, NameKind::Dns);
        assert_eq!(
            n.answers,
            vec!["198.51.100.7".parse::<std::net::IpAddr>().unwrap()]
        );
        let ssl = r#"{"ts":"2021-12-14T16:45:34.924601Z","uid":"Cabc","id.orig_h":"10.0.0.5","id.orig_p":50123,"id.resp_h":"198.51.100.7","id.resp_p":443,"version":"TLSv13","server_name":"pool.example"}"#;
        let Some(Item::Name(n)) = json_line(ssl, 2).unwrap() else {
            panic!()
        };
        assert_eq!((n.kind, n.name.as_str()), (NameKind::Tls, "pool.example"));
        assert!(json_line("{", 3).is_err());
        assert!(json_line(r#"{"uid":"x","query":"a.b"}"#, 4).is_err());
    }

    #[test]
    fn wrong_width_lines_are_errors() {
        let mut z = ZeekTsv::default();
        z.line("#fields\tts\tuid\tquery", 1).unwrap();
        assert!(z.line("1.0\tC", 2).is_err());
        let mut z = ZeekTsv::default();
        assert!(z.line("1.0\tC", 1).is_err());
    }
}
