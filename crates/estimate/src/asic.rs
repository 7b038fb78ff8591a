//! Dedicated mining hardware on the LAN: vendor MAC prefixes, the cgminer API (TCP 4028, JSON
//! replies to `summary`, `devs`, `stats`, `version`, `devdetails`) and miner web-interface
//! banners, reported as rigs with their estimated (or miner-reported) power.

use crate::config::EstimateConfig;
use crate::error::EstimateError;
use crate::figure::{si, Figure};
use crate::power::{hardware_class, power_from_hashrate};
use minetrace_core::Confidence;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A MAC address block assigned to a mining-hardware maker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OuiEntry {
    /// Prefix bytes, left-aligned; `bits` of them are significant (24 for MA-L, 28 for MA-M).
    pub prefix: [u8; 4],
    pub bits: u8,
    pub vendor: &'static str,
    pub registrant: &'static str,
}

/// Vendor blocks, from the IEEE Registration Authority public listings as shipped in Debian's
/// `ieee-data` package (version 20220827.1: `oui.txt` for MA-L, `mam.txt` for MA-M). MicroBT
/// (Whatsminer) had no block of its own there. Many rigs use their controller board maker's or a
/// locally administered address instead, so a prefix is a hint, never proof.
pub const ASIC_OUIS: &[OuiEntry] = &[
    OuiEntry {
        prefix: [0xE0, 0xA5, 0x09, 0x00],
        bits: 24,
        vendor: "Bitmain",
        registrant: "Bitmain Technologies Inc",
    },
    OuiEntry {
        prefix: [0xB4, 0xA2, 0xEB, 0x30],
        bits: 28,
        vendor: "Canaan (Avalon)",
        registrant: "Canaan Creative Co.,Ltd.",
    },
    OuiEntry {
        prefix: [0x50, 0x6C, 0xBE, 0x00],
        bits: 24,
        vendor: "Innosilicon",
        registrant: "InnosiliconTechnology Ltd",
    },
    OuiEntry {
        prefix: [0x8C, 0xC7, 0xD0, 0x00],
        bits: 24,
        vendor: "Ebang",
        registrant: "zhejiang ebang communication co.,ltd",
    },
];

/// The mining-hardware vendor whose block holds `mac`; `None` for other and locally
/// administered or multicast addresses.
pub fn asic_vendor_for_mac(mac: [u8; 6]) -> Option<&'static OuiEntry> {
    if mac[0] & 0x03 != 0 {
        return None;
    }
    let m = u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]]);
    ASIC_OUIS.iter().find(|e| {
        let p = u32::from_be_bytes(e.prefix);
        let mask = u32::MAX << (32 - u32::from(e.bits));
        (m & mask) == (p & mask)
    })
}

/// Parse `aa:bb:cc:dd:ee:ff`, `aa-bb-...` or `aabb.ccdd.eeff`.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let hex: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 6];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// What one cgminer-API reply says about the rig.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CgminerReply {
    /// `STATUS[0].Msg` (`Summary`, `CGMiner stats`, `1 ASC(s)`...).
    pub message: Option<String>,
    /// `STATUS[0].Description` (`cgminer 4.9.0`, `bmminer 1.0.0`, `btminer`).
    pub software: Option<String>,
    /// Hashrate in H/s, from the average figure when present, else the 5 s figure.
    pub hashrate: Option<f64>,
    /// Which field the hashrate came from (`SUMMARY[0]."GHS av"`).
    pub hashrate_field: Option<String>,
    /// Model from `Type`, `PROD`, `Model` fields (`Antminer S19 Pro`).
    pub model: Option<String>,
    /// Power the miner reports (Whatsminer `Power`, W).
    pub reported_power_w: Option<f64>,
    pub elapsed_s: Option<f64>,
}

/// Largest reply accepted (a real `stats` reply is a few KiB).
pub const MAX_CGMINER_REPLY: usize = 1 << 20;

/// Decode a cgminer-API reply. Trailing NULs are dropped; the bmminer `}{` bug (missing comma
/// between STATS objects) is repaired when the reply does not parse as sent.
pub fn parse_cgminer_reply(bytes: &[u8]) -> Result<CgminerReply, EstimateError> {
    if bytes.len() > MAX_CGMINER_REPLY {
        return Err(EstimateError::Decode {
            what: "cgminer reply",
            offset: MAX_CGMINER_REPLY,
            reason: format!(
                "{} bytes is more than the {MAX_CGMINER_REPLY} accepted",
                bytes.len()
            ),
        });
    }
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, 0 | b' ' | b'\n' | b'\r' | b'\t'))
        .map_or(0, |i| i + 1);
    let body = bytes.get(..end).unwrap_or_default();
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(first) => {
            let repaired = String::from_utf8_lossy(body).replace("}{", "},{");
            serde_json::from_str(&repaired).map_err(|_| EstimateError::Decode {
                what: "cgminer reply",
                offset: byte_offset(body, first.line(), first.column()),
                reason: first.to_string(),
            })?
        }
    };
    let obj = value.as_object().ok_or(EstimateError::Decode {
        what: "cgminer reply",
        offset: 0,
        reason: "not a JSON object".to_string(),
    })?;
    let status = obj
        .get("STATUS")
        .and_then(|s| s.as_array())
        .and_then(|a| a.first());
    let mut reply = CgminerReply {
        message: status.and_then(|s| str_field(s, "Msg")),
        software: status.and_then(|s| str_field(s, "Description")),
        ..Default::default()
    };
    if status.is_none() {
        return Err(EstimateError::Decode {
            what: "cgminer reply",
            offset: 0,
            reason: "no STATUS section".to_string(),
        });
    }
    for (section, entries) in obj {
        let Some(entries) = entries.as_array() else {
            continue;
        };
        if section == "STATUS" {
            continue;
        }
        for (i, e) in entries.iter().take(256).enumerate() {
            if reply.model.is_none() {
                reply.model = ["Type", "PROD", "Model", "MODEL", "Miner Type"]
                    .iter()
                    .find_map(|k| str_field(e, k).filter(|s| !s.is_empty()));
            }
            if reply.reported_power_w.is_none() && section == "SUMMARY" {
                reply.reported_power_w = num_field(e, "Power").filter(|p| *p > 0.0);
            }
            if reply.elapsed_s.is_none() {
                reply.elapsed_s = num_field(e, "Elapsed");
            }
            if section == "DEVS" {
                continue; // summed below
            }
            if reply.hashrate.is_none() {
                if let Some((h, field)) = hashrate_of(e) {
                    reply.hashrate = Some(h);
                    reply.hashrate_field = Some(format!("{section}[{i}].\"{field}\""));
                }
            }
        }
    }
    if reply.hashrate.is_none() {
        // `devs`: one entry per chain/board; the rig's rate is their sum.
        if let Some(devs) = obj.get("DEVS").and_then(|d| d.as_array()) {
            let rates: Vec<(f64, &str)> = devs.iter().take(256).filter_map(hashrate_of).collect();
            if let Some((_, field)) = rates.first() {
                reply.hashrate_field = Some(format!("sum of DEVS[*].\"{field}\""));
                reply.hashrate = Some(rates.iter().map(|r| r.0).sum());
            }
        }
    }
    Ok(reply)
}

fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let mut current = 1;
    let mut start = 0;
    for (i, b) in body.iter().enumerate() {
        if current == line {
            break;
        }
        if *b == b'\n' {
            current += 1;
            start = i + 1;
        }
    }
    (start + column.saturating_sub(1)).min(body.len())
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(|s| s.as_str())
        .map(|s| s.chars().take(128).collect())
}

/// A number, or a string holding one (bmminer sends `"GHS 5s":"13512.34"`).
fn num_field(v: &Value, key: &str) -> Option<f64> {
    let x = v.get(key)?;
    let n = x
        .as_f64()
        .or_else(|| x.as_str().and_then(|s| s.trim().parse::<f64>().ok()))?;
    (n.is_finite() && n >= 0.0).then_some(n)
}

/// Hashrate in H/s from the fields cgminer forks use, averages first.
fn hashrate_of(v: &Value) -> Option<(f64, &'static str)> {
    const FIELDS: [(&str, f64); 8] = [
        ("THS av", 1e12),
        ("GHS av", 1e9),
        ("MHS av", 1e6),
        ("KHS av", 1e3),
        ("THS 5s", 1e12),
        ("GHS 5s", 1e9),
        ("MHS 5s", 1e6),
        ("KHS 5s", 1e3),
    ];
    FIELDS.iter().find_map(|(k, scale)| {
        num_field(v, k)
            .filter(|h| *h > 0.0)
            .map(|h| (h * scale, *k))
    })
}

/// A miner web interface recognised from its page title or HTTP authentication realm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BannerHit {
    pub vendor: String,
    pub evidence: String,
}

/// The `<title>` of an HTML page (first 64 KiB), whitespace collapsed, at most 200 chars.
pub fn html_title(body: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(body.get(..body.len().min(64 * 1024)).unwrap_or_default());
    let lower = head.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower.get(open..)?.find('>')? + 1;
    let end = start + lower.get(start..)?.find("</title")?;
    let title: String = head
        .get(start..end)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Some(title.chars().take(200).collect())
}

/// The `realm` parameter of a `WWW-Authenticate` header value (`Digest realm="..."`).
pub fn auth_realm(header_value: &str) -> Option<String> {
    let lower = header_value.to_ascii_lowercase();
    let mut search = 0;
    while let Some(pos) = lower.get(search..).and_then(|s| s.find("realm")) {
        let at = search + pos;
        // realm must start a parameter: preceded by start, space or comma.
        let boundary = at == 0 || matches!(lower.as_bytes().get(at - 1), Some(b' ' | b','));
        let rest = header_value.get(at + 5..)?.trim_start();
        if boundary && rest.starts_with('=') {
            let value = rest.get(1..)?.trim_start();
            return Some(if let Some(quoted) = value.strip_prefix('"') {
                quoted.split('"').next()?.to_string()
            } else {
                value.split([',', ' ']).next()?.to_string()
            });
        }
        search = at + 5;
    }
    None
}

/// Recognise a miner's own web interface. Titles must *be* the interface's title (first word a
/// miner brand, four words at most), so a blog post about an Antminer does not match.
pub fn identify_web_banner(title: Option<&str>, realm: Option<&str>) -> Option<BannerHit> {
    if let Some(r) = realm {
        let r = r.trim();
        if r.eq_ignore_ascii_case("antMiner Configuration") {
            return Some(BannerHit {
                vendor: "Bitmain".into(),
                evidence: format!("HTTP auth realm \"{r}\" (Antminer web interface)"),
            });
        }
    }
    let t = title?.trim();
    let words: Vec<String> = t
        .split_whitespace()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    if words.is_empty() || words.len() > 4 {
        return None;
    }
    let first = words[0].trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let vendor = match first {
        "antminer" => "Bitmain",
        "whatsminer" => "MicroBT",
        "avalonminer" | "avalon"
            if first == "avalonminer" || words.iter().any(|w| w.contains("miner")) =>
        {
            "Canaan (Avalon)"
        }
        "innosilicon" => "Innosilicon",
        "iceriver" => "IceRiver",
        _ => return None,
    };
    Some(BannerHit {
        vendor: vendor.into(),
        evidence: format!("web page title \"{t}\""),
    })
}

/// Map a reported model to a configured hardware class (most specific first).
pub fn class_for_model(model: &str) -> Option<&'static str> {
    let compact: String = model
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    const RULES: [(&str, &str); 20] = [
        ("s21xp", "s21-xp"),
        ("s21", "s21"),
        ("s19xp", "s19-xp"),
        ("s19pro", "s19-pro"),
        ("s19", "s19-pro"),
        ("s9", "s9"),
        ("l9", "scrypt-asic"),
        ("l7", "scrypt-asic"),
        ("ks0", "kheavyhash-asic"),
        ("ks3", "kheavyhash-asic"),
        ("ks5", "kheavyhash-asic"),
        ("z15", "equihash-asic"),
        ("m20", "sha256-asic"),
        ("m21", "sha256-asic"),
        ("m30", "sha256-asic"),
        ("m31", "sha256-asic"),
        ("m50", "sha256-asic"),
        ("m60", "sha256-asic"),
        ("avalon", "sha256-asic"),
        ("whatsminer", "sha256-asic"),
    ];
    RULES
        .iter()
        .find(|(needle, _)| compact.contains(needle))
        .map(|(_, class)| *class)
}

/// Everything seen about one LAN device.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AsicObservation {
    /// IP address or host name.
    pub address: String,
    pub mac: Option<[u8; 6]>,
    /// Replies from its cgminer API (any of summary/devs/stats/version).
    pub cgminer: Vec<CgminerReply>,
    pub banner: Option<BannerHit>,
}

/// A mining rig on the LAN with its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AsicRig {
    pub address: String,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub hardware_class: Option<String>,
    pub hashrate: Option<Figure>,
    pub power: Option<Figure>,
    pub confidence: Confidence,
    pub evidence: Vec<String>,
}

/// Build the rig report; `None` when nothing points to mining hardware.
pub fn asic_rig(cfg: &EstimateConfig, obs: &AsicObservation) -> Option<AsicRig> {
    let oui = obs.mac.and_then(asic_vendor_for_mac);
    let api = obs
        .cgminer
        .iter()
        .any(|r| r.hashrate.is_some() || r.model.is_some());
    if oui.is_none() && !api && obs.banner.is_none() {
        return None;
    }
    let mut evidence = Vec::new();
    if let Some(o) = oui {
        evidence.push(format!(
            "MAC in {}'s IEEE block ({})",
            o.vendor, o.registrant
        ));
    }
    if let Some(b) = &obs.banner {
        evidence.push(b.evidence.clone());
    }
    let model = obs.cgminer.iter().find_map(|r| r.model.clone());
    let rate = obs.cgminer.iter().find_map(|r| {
        r.hashrate
            .map(|h| (h, r.hashrate_field.clone().unwrap_or_default()))
    });
    let software = obs.cgminer.iter().find_map(|r| r.software.clone());
    if api {
        evidence.push(format!(
            "cgminer API answered{}{}",
            software
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default(),
            model
                .as_deref()
                .map(|m| format!(", model {m}"))
                .unwrap_or_default()
        ));
    }
    let vendor = obs
        .banner
        .as_ref()
        .map(|b| b.vendor.clone())
        .or_else(|| oui.map(|o| o.vendor.to_string()))
        .or_else(|| model.as_deref().and_then(vendor_from_model));
    let class_name = model.as_deref().and_then(class_for_model);
    let hashrate = rate.as_ref().map(|(h, field)| {
        Figure::measured(
            *h,
            "H/s",
            format!("{}H/s reported by the rig's cgminer API {field}", si(*h)),
        )
    });
    let reported_power = obs.cgminer.iter().find_map(|r| r.reported_power_w);
    let power = match (reported_power, &hashrate, class_name) {
        (Some(p), _, _) => Some(Figure::measured(
            p,
            "W",
            "power reported by the rig's API (SUMMARY Power)",
        )),
        (None, Some(h), Some(c)) => hardware_class(cfg, c)
            .ok()
            .and_then(|class| power_from_hashrate(cfg, h, &class).ok()),
        _ => None,
    };
    if power.is_none() {
        evidence.push("power unknown: no hashrate or model to estimate it from".to_string());
    }
    let confidence = if api && rate.is_some() {
        Confidence::High
    } else if obs.banner.is_some() || api {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    Some(AsicRig {
        address: obs.address.clone(),
        vendor,
        model,
        hardware_class: class_name.map(str::to_string),
        hashrate,
        power,
        confidence,
        evidence,
    })
}

fn vendor_from_model(model: &str) -> Option<String> {
    let m = model.to_ascii_lowercase();
    [
        ("antminer", "Bitmain"),
        ("whatsminer", "MicroBT"),
        ("avalon", "Canaan (Avalon)"),
        ("innosilicon", "Innosilicon"),
    ]
    .iter()
    .find(|(k, _)| m.contains(k))
    .map(|(_, v)| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const S9_STATS: &str = r#"{"STATUS":[{"STATUS":"S","When":1546300800,"Code":70,"Msg":"CGMiner stats","Description":"cgminer 4.9.0"}],"STATS":[{"CGMiner":"4.9.0","Miner":"16.8.1.3","CompileTime":"Fri Nov 2 2018","Type":"Antminer S9"}{"STATS":0,"ID":"BC50","Elapsed":5000,"GHS 5s":"13997.07","GHS av":13995.17,"miner_count":3}],"id":1}"#;

    const SUMMARY: &str = "{\"STATUS\":[{\"STATUS\":\"S\",\"When\":1,\"Code\":11,\"Msg\":\"Summary\",\"Description\":\"cgminer 4.10.0\"}],\"SUMMARY\":[{\"Elapsed\":100,\"MHS av\":110000000.0,\"MHS 5s\":109000000.0,\"Accepted\":5}],\"id\":1}\0";

    #[test]
    fn antminer_stats_with_the_missing_comma_bug() {
        let r = parse_cgminer_reply(S9_STATS.as_bytes()).unwrap();
        assert_eq!(r.model.as_deref(), Some("Antminer S9"));
        assert!((r.hashrate.unwrap() - 13_995.17e9).abs() < 1.0);
        assert_eq!(r.hashrate_field.as_deref(), Some("STATS[1].\"GHS av\""));
        let rig = asic_rig(
            &EstimateConfig::default(),
            &AsicObservation {
                address: "10.1.2.3".into(),
                mac: parse_mac("e0:a5:09:12:34:56"),
                cgminer: vec![r],
                banner: identify_web_banner(
                    None,
                    auth_realm("Digest realm=\"antMiner Configuration\", nonce=\"x\"").as_deref(),
                ),
            },
        )
        .unwrap();
        assert_eq!(rig.vendor.as_deref(), Some("Bitmain"));
        assert_eq!(rig.hardware_class.as_deref(), Some("s9"));
        let p = rig.power.unwrap();
        // 14.0 TH/s x 100 J/TH = 1.4 kW
        assert!((p.value - 1399.5).abs() < 1.0, "{p:?}");
        assert_eq!(rig.confidence, Confidence::High);
        assert_eq!(rig.evidence.len(), 3);
    }

    #[test]
    fn summary_with_trailing_nul_and_devs_sum() {
        let r = parse_cgminer_reply(SUMMARY.as_bytes()).unwrap();
        assert_eq!(r.software.as_deref(), Some("cgminer 4.10.0"));
        assert_eq!(r.hashrate, Some(110e12));
        let devs = br#"{"STATUS":[{"STATUS":"S","Msg":"3 ASC(s)"}],"DEVS":[{"ASC":0,"MHS av":1000.0},{"ASC":1,"MHS av":2000.0}]}"#;
        let r = parse_cgminer_reply(devs).unwrap();
        assert_eq!(r.hashrate, Some(3e9));
        assert_eq!(
            r.hashrate_field.as_deref(),
            Some("sum of DEVS[*].\"MHS av\"")
        );
    }

    #[test]
    fn whatsminer_reports_its_own_power() {
        let s = br#"{"STATUS":[{"STATUS":"S","Msg":"Summary","Description":"btminer"}],"SUMMARY":[{"MHS av":100000000.0,"Power":3300}]}"#;
        let d = br#"{"STATUS":[{"STATUS":"S","Msg":"Device Details"}],"DEVDETAILS":[{"DEVDETAILS":0,"Name":"SM","Model":"M30S+"}]}"#;
        let rig = asic_rig(
            &EstimateConfig::default(),
            &AsicObservation {
                address: "10.0.0.9".into(),
                cgminer: vec![
                    parse_cgminer_reply(s).unwrap(),
                    parse_cgminer_reply(d).unwrap(),
                ],
                ..Default::default()
            },
        )
        .unwrap();
        let p = rig.power.unwrap();
        assert_eq!((p.value, p.basis), (3300.0, crate::Basis::Measured));
        assert_eq!(rig.hardware_class.as_deref(), Some("sha256-asic"));
    }

    #[test]
    fn bad_replies_are_errors_with_offsets() {
        let e = parse_cgminer_reply(b"{\"STATUS\":[{\"Msg\":}").unwrap_err();
        assert!(
            matches!(e, EstimateError::Decode { offset, .. } if offset > 0 && offset <= 20),
            "{e}"
        );
        assert!(parse_cgminer_reply(b"[1,2]").is_err());
        assert!(parse_cgminer_reply(b"{\"SUMMARY\":[]}").is_err());
        assert!(parse_cgminer_reply(b"").is_err());
        let big = vec![b' '; MAX_CGMINER_REPLY + 1];
        assert!(parse_cgminer_reply(&big).is_err());
    }

    #[test]
    fn ouis_with_28_bit_blocks_and_local_addresses() {
        assert_eq!(
            asic_vendor_for_mac([0xB4, 0xA2, 0xEB, 0x3F, 0, 1])
                .unwrap()
                .vendor,
            "Canaan (Avalon)"
        );
        assert!(asic_vendor_for_mac([0xB4, 0xA2, 0xEB, 0x4F, 0, 1]).is_none());
        assert!(asic_vendor_for_mac([0xE2, 0xA5, 0x09, 0, 0, 1]).is_none()); // locally administered
        assert!(asic_vendor_for_mac([0x00, 0x50, 0x56, 0, 0, 1]).is_none()); // VMware
        assert_eq!(
            parse_mac("8CC7.D012.3456"),
            Some([0x8C, 0xC7, 0xD0, 0x12, 0x34, 0x56])
        );
        assert_eq!(parse_mac("8c:c7:d0:12:34"), None);
        // OUI alone: reported, with low confidence and no power.
        let rig = asic_rig(
            &EstimateConfig::default(),
            &AsicObservation {
                address: "x".into(),
                mac: parse_mac("50:6c:be:00:00:01"),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            (rig.confidence, rig.power.is_none()),
            (Confidence::Low, true)
        );
    }

    #[test]
    fn banners_and_look_alikes() {
        assert_eq!(
            identify_web_banner(Some("  WhatsMiner "), None)
                .unwrap()
                .vendor,
            "MicroBT"
        );
        assert_eq!(
            identify_web_banner(Some("AvalonMiner"), None)
                .unwrap()
                .vendor,
            "Canaan (Avalon)"
        );
        assert_eq!(
            identify_web_banner(Some("Antminer S19 Pro"), None)
                .unwrap()
                .vendor,
            "Bitmain"
        );
        // Benign look-alikes stay silent.
        assert!(identify_web_banner(Some("Why I sold my Antminer S9 last year"), None).is_none());
        assert!(identify_web_banner(Some("Avalon Hotel Booking"), None).is_none());
        assert!(
            identify_web_banner(Some("Router Configuration"), Some("Router Configuration"))
                .is_none()
        );
        assert!(asic_rig(&EstimateConfig::default(), &AsicObservation::default()).is_none());
        assert_eq!(
            html_title(b"<html><head><TITLE>\n  Antminer\n</TITLE></head>").as_deref(),
            Some("Antminer")
        );
        assert_eq!(html_title(b"<title>unterminated"), None);
        assert_eq!(auth_realm("Basic realm=antMiner"), Some("antMiner".into()));
        assert_eq!(auth_realm("Digest nonce=\"realm=x\""), None);
    }

    #[test]
    fn model_classes() {
        assert_eq!(class_for_model("Antminer S19 XP"), Some("s19-xp"));
        assert_eq!(class_for_model("Antminer S19j Pro"), Some("s19-pro"));
        assert_eq!(class_for_model("Antminer S21 XP Hyd."), Some("s21-xp"));
        assert_eq!(class_for_model("Antminer L9"), Some("scrypt-asic"));
        assert_eq!(class_for_model("Dell R740"), None);
    }
}
