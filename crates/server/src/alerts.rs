//! Alerts to other systems when a case opens, changes class or status, or recurs: a JSON webhook,
//! syslog (RFC 5424 over UDP, or TCP with octet counting per RFC 6587), and ArcSight CEF over the
//! same syslog transports. Sinks and their filters (units, classes, lowest legal band) come from
//! a TOML file (`minetrace server --alerts FILE`). A confidential case never produces an alert.
//!
//! ```toml
//! [[sink]]
//! kind = "webhook"
//! url = "https://soc.example/hooks/minetrace"
//!
//! [[sink]]
//! kind = "syslog"             # or "cef"
//! address = "10.0.0.5:514"
//! transport = "udp"           # or "tcp"
//! units = ["Demo University"] # optional filters
//! classes = ["active", "passive"]
//! min_band = "serious"        # none | serious | especially_serious
//! ```

use minetrace_store::Case;
use serde::Deserialize;
use std::collections::HashMap;
use std::io::Write;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;
use std::time::Duration;

/// Alerts waiting for delivery at most (beyond it new ones are counted as dropped).
const QUEUE: usize = 10_000;
/// Cases remembered to avoid repeating an unchanged alert.
const MAX_REMEMBERED: usize = 100_000;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    #[serde(default)]
    pub sink: Vec<Sink>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    Webhook,
    Syslog,
    Cef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sink {
    pub kind: SinkKind,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub transport: Transport,
    #[serde(default)]
    pub units: Vec<String>,
    #[serde(default)]
    pub classes: Vec<String>,
    #[serde(default)]
    pub min_band: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AlertsError {
    #[error("alerts config {path}: {message}")]
    Config { path: String, message: String },
}

/// A band as the estimate writes it (`none`, `serious`, `especially-serious`); configuration
/// may also spell the last `especially_serious`.
fn band_rank(b: &str) -> Option<u8> {
    match b {
        "especially-serious" | "especially_serious" => Some(2),
        "serious" => Some(1),
        "none" => Some(0),
        _ => None,
    }
}

impl AlertsConfig {
    pub fn parse(text: &str, path: &str) -> Result<AlertsConfig, AlertsError> {
        let err = |message: String| AlertsError::Config {
            path: path.into(),
            message,
        };
        let cfg: AlertsConfig = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        for (i, s) in cfg.sink.iter().enumerate() {
            match s.kind {
                SinkKind::Webhook => {
                    let ok = s
                        .url
                        .as_deref()
                        .is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"));
                    if !ok {
                        return Err(err(format!(
                            "sink {i}: webhook needs url = \"http(s)://...\""
                        )));
                    }
                }
                SinkKind::Syslog | SinkKind::Cef => {
                    let ok = s
                        .address
                        .as_deref()
                        .is_some_and(|a| a.parse::<std::net::SocketAddr>().is_ok());
                    if !ok {
                        return Err(err(format!("sink {i}: needs address = \"IP:PORT\"")));
                    }
                }
            }
            if let Some(b) = &s.min_band {
                if band_rank(b).is_none() {
                    return Err(err(format!(
                        "sink {i}: min_band {b:?} is not none, serious or especially-serious"
                    )));
                }
            }
        }
        Ok(cfg)
    }
}

/// What an alert says about a case.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Alert {
    pub event: String,
    pub case_id: i64,
    pub status: String,
    pub class: String,
    pub unit: Option<String>,
    pub host: Option<String>,
    pub address: Option<String>,
    pub process: Option<String>,
    pub account: Option<String>,
    pub wallet: Option<String>,
    pub coin: Option<String>,
    pub pool: Option<String>,
    pub recurrence: i64,
    pub legal_band: String,
    pub reasons: Vec<String>,
    /// The same reasons in Simplified Chinese (empty for a case not updated since the server
    /// wrote them).
    pub reasons_zh: Vec<String>,
    pub at: String,
}

impl Alert {
    fn of(c: &Case, event: &str) -> Alert {
        Alert {
            event: event.into(),
            case_id: c.id,
            status: c.status.clone(),
            class: c
                .class
                .clone()
                .or_else(|| c.proposed_class.clone())
                .unwrap_or_else(|| "undetermined".into()),
            unit: c.unit_name.clone(),
            host: c.host_name.clone(),
            address: c.public_ip.clone().or_else(|| c.client_ip.clone()),
            process: c.process.clone(),
            account: c.account.clone(),
            wallet: c.wallet.clone(),
            coin: c.coin.clone(),
            pool: c.pool.clone(),
            recurrence: c.recurrence,
            legal_band: c
                .estimate
                .get("legal")
                .and_then(|l| l.get("band"))
                .and_then(|b| b.as_str())
                .unwrap_or("none")
                .to_string(),
            reasons: c.reasons.iter().take(8).cloned().collect(),
            reasons_zh: c.reasons_zh.iter().take(8).cloned().collect(),
            at: minetrace_core::Timestamp::now().to_rfc3339(),
        }
    }

    fn severity(&self) -> u8 {
        // CEF 0-10; syslog severity is derived from it.
        let by_case = match (band_rank(&self.legal_band), self.class.as_str()) {
            (Some(2), _) => 10,
            (Some(1), _) => 8,
            (_, "active") | (_, "passive") => 7,
            (_, "false-positive") | (_, "research") => 3,
            _ => 5,
        };
        // Mining back after closure escalates: the unit's rectification did not hold.
        if self.recurrence > 0 {
            by_case.max(8)
        } else {
            by_case
        }
    }

    fn summary(&self) -> String {
        format!(
            "mining case {} {} ({}): {} in {}",
            self.case_id,
            self.event,
            self.class,
            self.address.as_deref().unwrap_or("?"),
            self.unit.as_deref().unwrap_or("unknown unit")
        )
    }
}

fn sd_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(']', "\\]")
}

/// One RFC 5424 line: facility local0, severity from the alert, structured data with the facts.
pub fn rfc5424(a: &Alert, hostname: &str) -> String {
    let severity = match a.severity() {
        9..=10 => 2, // critical
        7..=8 => 3,  // error
        4..=6 => 4,  // warning
        _ => 5,      // notice
    };
    let pri = 16 * 8 + severity;
    let mut sd = format!(
        "[minetrace@32473 case=\"{}\" event=\"{}\" class=\"{}\" status=\"{}\" band=\"{}\" recurrence=\"{}\"",
        a.case_id,
        sd_escape(&a.event),
        sd_escape(&a.class),
        sd_escape(&a.status),
        sd_escape(&a.legal_band),
        a.recurrence
    );
    for (k, v) in [
        ("unit", &a.unit),
        ("host", &a.host),
        ("address", &a.address),
        ("account", &a.account),
        ("wallet", &a.wallet),
        ("pool", &a.pool),
    ] {
        if let Some(v) = v {
            sd.push_str(&format!(" {k}=\"{}\"", sd_escape(v)));
        }
    }
    sd.push(']');
    let host: String = hostname
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect();
    let msg: String = a.summary().chars().filter(|c| !c.is_control()).collect();
    format!(
        "<{pri}>1 {} {} minetrace - case {sd} {msg}",
        a.at,
        if host.is_empty() { "-" } else { &host }
    )
}

fn cef_header(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|")
}

fn cef_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('=', "\\=")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// One ArcSight CEF line.
pub fn cef(a: &Alert) -> String {
    let mut ext = vec![
        format!("cs1Label=class cs1={}", cef_value(&a.class)),
        format!("cs2Label=status cs2={}", cef_value(&a.status)),
        format!("cn1Label=case cn1={}", a.case_id),
        format!("cn2Label=recurrence cn2={}", a.recurrence),
        format!("cs6Label=legalBand cs6={}", cef_value(&a.legal_band)),
    ];
    if let Some(v) = &a.address {
        ext.push(format!("src={}", cef_value(v)));
    }
    if let Some(v) = &a.host {
        ext.push(format!("shost={}", cef_value(v)));
    }
    if let Some(v) = &a.account {
        ext.push(format!("suser={}", cef_value(v)));
    }
    if let Some(v) = &a.unit {
        ext.push(format!("cs3Label=unit cs3={}", cef_value(v)));
    }
    if let Some(v) = &a.wallet {
        ext.push(format!("cs4Label=wallet cs4={}", cef_value(v)));
    }
    if let Some(v) = &a.pool {
        ext.push(format!("cs5Label=pool cs5={}", cef_value(v)));
    }
    ext.push(format!("msg={}", cef_value(&a.summary())));
    format!(
        "CEF:0|minetrace|minetrace|{}|{}|{}|{}|{}",
        cef_header(env!("CARGO_PKG_VERSION")),
        cef_header(&a.event),
        cef_header("Cryptocurrency mining case"),
        a.severity(),
        ext.join(" ")
    )
}

/// Decides which case changes alert, and hands them to the delivery thread.
pub struct Alerter {
    sinks: Vec<Sink>,
    tx: SyncSender<(usize, Alert)>,
    /// case id -> what was last alerted about it.
    seen: Mutex<HashMap<i64, AlertKey>>,
    pub dropped: std::sync::atomic::AtomicU64,
}

/// What an alert about a case said; a case is alerted again when it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AlertKey {
    status: String,
    /// Confirmed class, else the proposed one.
    class: String,
    recurrence: i64,
    /// Legal band rank (0 none, 1 serious, 2 especially serious).
    band: u8,
}

impl std::fmt::Debug for Alerter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Alerter({} sinks)", self.sinks.len())
    }
}

impl Alerter {
    /// Starts the delivery thread.
    pub fn start(cfg: AlertsConfig) -> Alerter {
        let (tx, rx) = sync_channel(QUEUE);
        let sinks = cfg.sink.clone();
        std::thread::Builder::new()
            .name("alerts".into())
            .spawn(move || deliver(sinks, rx))
            .ok();
        Alerter {
            sinks: cfg.sink,
            tx,
            seen: Mutex::new(HashMap::new()),
            dropped: Default::default(),
        }
    }

    /// Called after correlation touched `case`: alerts when it is new, recurred, reached a
    /// graver legal band (a case that grows into 情节严重 must reach the sinks that wait for
    /// it), or changed status, confirmed or proposed class since the last alert. Confidential
    /// cases are skipped entirely.
    pub fn case_changed(&self, case: &Case) {
        if case.confidential {
            return;
        }
        let band = case
            .estimate
            .get("legal")
            .and_then(|l| l.get("band"))
            .and_then(|b| b.as_str())
            .and_then(band_rank)
            .unwrap_or(0);
        let alert_key = AlertKey {
            status: case.status.clone(),
            class: case
                .class
                .clone()
                .or_else(|| case.proposed_class.clone())
                .unwrap_or_default(),
            recurrence: case.recurrence,
            band,
        };
        let event = {
            let Ok(mut seen) = self.seen.lock() else {
                return;
            };
            let event = match seen.get(&case.id) {
                None => "case-opened",
                Some(prev) if prev == &alert_key => return,
                Some(prev) if prev.recurrence != alert_key.recurrence => "case-recurred",
                Some(prev) if prev.band < alert_key.band => "case-escalated",
                Some(_) => "case-changed",
            };
            if seen.len() >= MAX_REMEMBERED {
                seen.clear();
            }
            seen.insert(case.id, alert_key);
            event
        };
        let alert = Alert::of(case, event);
        for (i, s) in self.sinks.iter().enumerate() {
            if !s.units.is_empty()
                && !alert
                    .unit
                    .as_ref()
                    .is_some_and(|u| s.units.iter().any(|x| x == u))
            {
                continue;
            }
            if !s.classes.is_empty() && !s.classes.contains(&alert.class) {
                continue;
            }
            if let Some(min) = &s.min_band {
                if band_rank(&alert.legal_band).unwrap_or(0) < band_rank(min).unwrap_or(0) {
                    continue;
                }
            }
            if let Err(TrySendError::Full(_)) = self.tx.try_send((i, alert.clone())) {
                self.dropped
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

fn deliver(sinks: Vec<Sink>, rx: Receiver<(usize, Alert)>) {
    let host = minetrace_core::io::read_bounded_string(
        std::path::Path::new("/proc/sys/kernel/hostname"),
        256,
    )
    .map(|h| h.trim().to_string())
    .unwrap_or_default();
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    );
    let mut tcp: HashMap<usize, std::net::TcpStream> = HashMap::new();
    while let Ok((i, alert)) = rx.recv() {
        let Some(sink) = sinks.get(i) else { continue };
        let result: Result<(), String> = match sink.kind {
            SinkKind::Webhook => sink
                .url
                .as_deref()
                .ok_or_else(|| "no url".to_string())
                .and_then(|u| {
                    agent
                        .post(u)
                        .header("Content-Type", "application/json")
                        .send(serde_json::to_string(&alert).unwrap_or_default())
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }),
            SinkKind::Syslog | SinkKind::Cef => {
                let line = if sink.kind == SinkKind::Cef {
                    cef(&alert)
                } else {
                    rfc5424(&alert, &host)
                };
                let addr = sink.address.clone().unwrap_or_default();
                match sink.transport {
                    Transport::Udp => std::net::UdpSocket::bind("0.0.0.0:0")
                        .and_then(|s| s.send_to(line.as_bytes(), &addr).map(|_| ()))
                        .map_err(|e| e.to_string()),
                    Transport::Tcp => {
                        // Octet counting (RFC 6587): "LEN SP MSG".
                        let framed = format!("{} {line}", line.len());
                        let send =
                            |stream: &mut std::net::TcpStream| stream.write_all(framed.as_bytes());
                        let ok = tcp.get_mut(&i).is_some_and(|s| send(s).is_ok());
                        if ok {
                            Ok(())
                        } else {
                            tcp.remove(&i);
                            std::net::TcpStream::connect(&addr)
                                .and_then(|mut s| {
                                    send(&mut s)?;
                                    tcp.insert(i, s);
                                    Ok(())
                                })
                                .map_err(|e| e.to_string())
                        }
                    }
                }
            }
        };
        if let Err(e) = result {
            tracing::warn!(sink = i, error = %e, "alert not delivered");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Alert {
        Alert {
            event: "case-opened".into(),
            case_id: 7,
            status: "detected".into(),
            class: "active".into(),
            unit: Some("Unit ] \"A\"".into()),
            host: Some("gpu-07".into()),
            address: Some("10.1.0.5".into()),
            process: None,
            account: Some("li.wei".into()),
            wallet: Some("a=b|c\\d".into()),
            coin: None,
            pool: None,
            recurrence: 0,
            legal_band: "serious".into(),
            reasons: vec![],
            reasons_zh: vec![],
            at: "2026-11-24T01:00:00Z".into(),
        }
    }

    #[test]
    fn syslog_line_is_rfc5424_with_escaped_structured_data() {
        let line = rfc5424(&alert(), "sensor host");
        assert!(line.starts_with("<131>1 2026-11-24T01:00:00Z sensorhost minetrace - case [minetrace@32473 case=\"7\""), "{line}");
        assert!(line.contains("unit=\"Unit \\] \\\"A\\\"\""), "{line}");
    }

    #[test]
    fn cef_escapes_header_and_extension() {
        let line = cef(&alert());
        assert!(line.starts_with("CEF:0|minetrace|minetrace|"), "{line}");
        assert!(
            line.contains("|case-opened|Cryptocurrency mining case|8|"),
            "{line}"
        );
        assert!(line.contains("cs4=a\\=b|c\\\\d"), "{line}");
        assert!(line.contains("src=10.1.0.5"));
    }

    #[test]
    fn confidential_and_unchanged_cases_never_alert() {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let cfg = AlertsConfig::parse(
            &format!(
                "[[sink]]\nkind = \"syslog\"\naddress = \"{}\"\n",
                sock.local_addr().unwrap()
            ),
            "t",
        )
        .unwrap();
        let alerter = Alerter::start(cfg);
        let mut case: Case = serde_json::from_value(serde_json::json!({
            "id": 3, "activity_key": "ip:10.1.0.5", "status": "detected", "class": null,
            "proposed_class": "active", "reasons": [], "unit_id": null, "unit_name": "Unit A",
            "host_id": null, "host_name": null, "client_ip": "10.1.0.5", "public_ip": null,
            "mac": null, "process": null, "account": null, "wallet": null, "coin": null,
            "pool": null, "campaign_id": null, "recurrence": 0, "flags": [], "estimate": {},
            "opened_at": 0, "updated_at": 0, "closed_at": null, "first_seen": 0, "last_seen": 0,
            "findings_count": 1, "network_findings": 1, "host_findings": 0, "assignee": null,
            "confidential": true
        }))
        .unwrap();
        alerter.case_changed(&case);
        let mut buf = [0u8; 4096];
        assert!(sock.recv(&mut buf).is_err(), "confidential case alerted");
        case.confidential = false;
        alerter.case_changed(&case);
        let n = sock.recv(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).contains("case-opened"));
        // The same state again: nothing new to say.
        alerter.case_changed(&case);
        assert!(sock.recv(&mut buf).is_err());
        case.recurrence = 1;
        alerter.case_changed(&case);
        let n = sock.recv(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).contains("case-recurred"));
    }

    /// The band exactly as the estimate writes it.
    fn band(b: minetrace_estimate::legal::LegalBand) -> String {
        serde_json::to_value(b)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_gravest_band_is_the_loudest_and_passes_every_band_filter() {
        use minetrace_estimate::legal::LegalBand;
        let mut a = alert();
        a.legal_band = band(LegalBand::EspeciallySerious);
        assert_eq!(a.severity(), 10, "{}", a.legal_band);
        assert!(cef(&a).contains("|Cryptocurrency mining case|10|"));
        a.legal_band = band(LegalBand::Serious);
        assert_eq!(a.severity(), 8);
        // A recurrence escalates a case of no band to the serious level.
        a.legal_band = band(LegalBand::None);
        assert_eq!(a.severity(), 7);
        a.recurrence = 1;
        assert_eq!(a.severity(), 8);

        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        for spelling in ["especially-serious", "especially_serious"] {
            let cfg = format!(
                "[[sink]]\nkind = \"cef\"\naddress = \"{}\"\nmin_band = \"{spelling}\"\n",
                sock.local_addr().unwrap()
            );
            assert!(AlertsConfig::parse(&cfg, "t").is_ok(), "{spelling}");
        }
        let cfg = AlertsConfig::parse(
            &format!(
                "[[sink]]\nkind = \"cef\"\naddress = \"{}\"\nmin_band = \"serious\"\n",
                sock.local_addr().unwrap()
            ),
            "t",
        )
        .unwrap();
        let alerter = Alerter::start(cfg);
        let case = |id: i64, legal: LegalBand| -> Case {
            serde_json::from_value(serde_json::json!({
                "id": id, "activity_key": format!("ip:10.1.0.{id}"), "status": "detected",
                "class": null, "proposed_class": "passive", "reasons": [], "unit_id": null,
                "unit_name": "Unit A", "host_id": null, "host_name": null,
                "client_ip": format!("10.1.0.{id}"), "public_ip": null, "mac": null,
                "process": null, "account": null, "wallet": null, "coin": null, "pool": null,
                "campaign_id": null, "recurrence": 0, "flags": [],
                "estimate": {"legal": {"band": band(legal)}},
                "opened_at": 0, "updated_at": 0, "closed_at": null, "first_seen": 0,
                "last_seen": 0, "findings_count": 1, "network_findings": 1, "host_findings": 0,
                "assignee": null, "confidential": false
            }))
            .unwrap()
        };
        let mut buf = [0u8; 4096];
        alerter.case_changed(&case(1, LegalBand::None));
        assert!(sock.recv(&mut buf).is_err(), "below the sink's band");
        alerter.case_changed(&case(2, LegalBand::EspeciallySerious));
        let n = sock
            .recv(&mut buf)
            .expect("an especially serious case alerts");
        assert!(String::from_utf8_lossy(&buf[..n]).contains("|10|"));
        // The first case grows into 情节严重 (more machines, gains): the sink hears of it now.
        alerter.case_changed(&case(1, LegalBand::Serious));
        let n = sock
            .recv(&mut buf)
            .expect("a case that became serious alerts");
        let line = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(
            line.contains("|case-escalated|") && line.contains("|8|"),
            "{line}"
        );
        // Nothing new: silent.
        alerter.case_changed(&case(1, LegalBand::Serious));
        assert!(sock.recv(&mut buf).is_err());
    }

    #[test]
    fn config_is_checked() {
        let ok = AlertsConfig::parse(
            "[[sink]]\nkind = \"cef\"\naddress = \"127.0.0.1:514\"\nmin_band = \"serious\"\n",
            "a.toml",
        )
        .unwrap();
        assert_eq!(ok.sink.len(), 1);
        for bad in [
            "[[sink]]\nkind = \"webhook\"\n",
            "[[sink]]\nkind = \"syslog\"\naddress = \"nowhere\"\n",
            "[[sink]]\nkind = \"cef\"\naddress = \"127.0.0.1:1\"\nmin_band = \"grave\"\n",
            "[[sink]]\nkind = \"cef\"\naddress = \"127.0.0.1:1\"\nsmuggled = 1\n",
        ] {
            let e = AlertsConfig::parse(bad, "a.toml").unwrap_err().to_string();
            assert!(e.contains("a.toml"), "{e}");
        }
    }
}
