//! Alerts leave the server when correlation opens cases: a JSON webhook (a real HTTP listener
//! here), RFC 5424 syslog over UDP filtered to one unit, and CEF over TCP filtered by legal band
//! (nothing reaches it: no case is serious).

mod common;

use common::{network_finding, T0};
use minetrace_server::{spawn_background, ServeOptions};
use minetrace_store::{Role, Store};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn webhook(listener: TcpListener, got: Arc<Mutex<Vec<serde_json::Value>>>) {
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut r = BufReader::new(stream);
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = r.read_exact(&mut body);
            if let Ok(v) = serde_json::from_slice(&body) {
                got.lock().unwrap().push(v);
            }
            let _ = r
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
}

#[test]
fn cases_alert_through_webhook_and_syslog_with_filters() {
    let hook = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_addr = hook.local_addr().unwrap();
    let posted = Arc::new(Mutex::new(Vec::new()));
    webhook(hook, posted.clone());
    let syslog = UdpSocket::bind("127.0.0.1:0").unwrap();
    syslog
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let cef = TcpListener::bind("127.0.0.1:0").unwrap();
    cef.set_nonblocking(true).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("alerts.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[sink]]\nkind = \"webhook\"\nurl = \"http://{hook_addr}/hook\"\n\n\
             [[sink]]\nkind = \"syslog\"\naddress = \"{}\"\nunits = [\"Unit A\"]\n\n\
             [[sink]]\nkind = \"cef\"\ntransport = \"tcp\"\naddress = \"{}\"\nmin_band = \"serious\"\n",
            syslog.local_addr().unwrap(),
            cef.local_addr().unwrap()
        ),
    )
    .unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    store.upsert_unit("Unit A", "R1", "company", None).unwrap();
    store.upsert_unit("Unit B", "R1", "company", None).unwrap();
    store.add_range("10.1.0.0/16", "Unit A", None).unwrap();
    store.add_range("10.2.0.0/16", "Unit B", None).unwrap();
    let token = store.create_source("sensor", Role::Sensor).unwrap().1;
    let mut o = ServeOptions::new(dir.path());
    o.alerts = Some(cfg);
    let server = spawn_background(o).unwrap();
    let client = minetrace_client::Client::new(&server.url(), &token).unwrap();
    client
        .submit(&[
            network_finding("10.1.0.5:40000", T0),
            network_finding("10.2.0.7:40000", T0 + 1),
        ])
        .unwrap();
    server.settle();

    // Syslog: only Unit A's case, as one RFC 5424 line.
    let mut buf = [0u8; 8192];
    let n = syslog.recv(&mut buf).unwrap();
    let line = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(line.starts_with('<') && line.contains(">1 "), "{line}");
    assert!(
        line.contains("unit=\"Unit A\"") && line.contains("case-opened"),
        "{line}"
    );
    syslog
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    assert!(
        syslog.recv(&mut buf).is_err(),
        "Unit B must not reach this sink"
    );

    // Webhook: both cases, as JSON.
    let deadline = Instant::now() + Duration::from_secs(10);
    while posted.lock().unwrap().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "webhook got {:?}",
            posted.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let units: Vec<String> = posted
        .lock()
        .unwrap()
        .iter()
        .map(|v| v["unit"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(units.contains(&"Unit A".to_string()) && units.contains(&"Unit B".to_string()));
    // The reasons in both languages, line for line.
    for alert in posted.lock().unwrap().iter() {
        let (en, zh) = (&alert["reasons"], &alert["reasons_zh"]);
        assert_eq!(
            en.as_array().map(Vec::len),
            zh.as_array().map(Vec::len),
            "{alert}"
        );
        assert!(zh.to_string().contains("规则"), "{alert}");
    }

    // CEF with min_band = serious: nothing here is serious, so no connection at all.
    std::thread::sleep(Duration::from_millis(300));
    assert!(cef.accept().is_err());
}
