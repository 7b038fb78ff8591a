//! A unit under confidential investigation: a regulator turns it on from the unit page; cases the
//! correlator opens for that unit are born confidential, so the unit's administrator never sees
//! them (page, list, count) and no alert leaves the server, while other units' cases alert as
//! usual. Only regulators may turn it on; the unit page does not show the unit it is watched.

mod common;
mod session;

use common::{network_finding, T0};
use minetrace_server::{spawn_background, ServeOptions};
use minetrace_store::{ConsoleRole, Role, Store};
use session::{Session, PW};
use std::net::UdpSocket;
use std::time::Duration;

#[test]
fn cases_of_a_watched_unit_are_born_confidential() {
    let syslog = UdpSocket::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("alerts.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[sink]]\nkind = \"syslog\"\naddress = \"{}\"\n",
            syslog.local_addr().unwrap()
        ),
    )
    .unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    store.upsert_unit("Unit A", "R1", "company", None).unwrap();
    store.upsert_unit("Unit B", "R1", "company", None).unwrap();
    store.add_range("10.1.0.0/16", "Unit A", None).unwrap();
    store.add_range("10.2.0.0/16", "Unit B", None).unwrap();
    for (name, role, region, unit) in [
        ("reg", ConsoleRole::Regulator, Some("R1"), None),
        ("aud", ConsoleRole::Auditor, Some("R1"), None),
        ("ua", ConsoleRole::UnitAdmin, None, Some("Unit A")),
    ] {
        minetrace_server::console::create_user(&store, name, role, region, unit, PW).unwrap();
    }
    let token = store.create_source("sensor", Role::Sensor).unwrap().1;
    let mut o = ServeOptions::new(dir.path());
    o.alerts = Some(cfg);
    let server = spawn_background(o).unwrap();
    let url = server.url();
    let reg = Session::login(&url, "reg");
    let aud = Session::login(&url, "aud");
    let ua = Session::login(&url, "ua");

    // Neither the unit's administrator nor an auditor may turn it on; a forged token fails.
    let unit_a = "/console/units/Unit%20A";
    let watch_a = "/console/units/Unit%20A/watch";
    let csrf = ua.csrf(unit_a);
    assert_eq!(ua.post(watch_a, &[("csrf", &csrf), ("watch", "1")]).0, 403);
    let csrf = aud.csrf(unit_a);
    assert_eq!(aud.post(watch_a, &[("csrf", &csrf), ("watch", "1")]).0, 403);
    assert_eq!(
        reg.post(watch_a, &[("csrf", "forged"), ("watch", "1")]).0,
        403
    );
    assert!(!store.unit_confidential_watch("Unit A").unwrap());
    // The regulator does, from the unit page.
    let csrf = reg.csrf(unit_a);
    assert_eq!(reg.post(watch_a, &[("csrf", &csrf), ("watch", "1")]).0, 303);
    assert!(store.unit_confidential_watch("Unit A").unwrap());
    assert!(reg.get(unit_a).1.contains("id=\"watch-toggle\""));
    assert!(aud.get(unit_a).1.contains("id=\"watch\""));
    let (status, own_page) = ua.get(unit_a);
    assert_eq!(status, 200);
    assert!(
        !own_page.contains("id=\"watch\"") && !own_page.contains("🔒"),
        "the unit page tells the unit it is watched"
    );

    let client = minetrace_client::Client::new(&url, &token).unwrap();
    client
        .submit(&[
            network_finding("10.1.0.5:40000", T0),
            network_finding("10.2.0.7:40000", T0 + 1),
        ])
        .unwrap();
    server.settle();
    let cases = store.list_cases(&Default::default()).unwrap();
    let a = cases
        .iter()
        .find(|c| c.client_ip.as_deref() == Some("10.1.0.5"))
        .expect("case for Unit A");
    let b = cases
        .iter()
        .find(|c| c.client_ip.as_deref() == Some("10.2.0.7"))
        .expect("case for Unit B");
    assert!(a.confidential, "watched unit's case opened in the open");
    assert!(!b.confidential);

    // The unit sees nothing of it; the regulator sees it, marked.
    assert_eq!(ua.get(&format!("/console/cases/{}", a.id)).0, 404);
    assert!(!ua.get("/console/cases").1.contains("10.1.0.5"));
    assert!(ua.get("/console/").1.contains("<b>0</b>"));
    for path in [
        "/console/cases?q=10.1.0.5",
        "/console/units/Unit%20A",
        "/console/report",
        "/console/report.csv",
        "/console/tasks",
    ] {
        let (status, body) = ua.get(path);
        assert_eq!(status, 200, "{path}");
        // The search page echoes the query itself; nothing else may name the address.
        let echoed = path.contains("q=");
        assert!(
            (echoed || !body.contains("10.1.0.5"))
                && !body.contains(&format!("/console/cases/{}\"", a.id)),
            "{path} shows the confidential case"
        );
    }
    assert!(ua
        .get("/console/report")
        .1
        .contains("id=\"report-total\">0<"));
    let (status, page) = reg.get(&format!("/console/cases/{}", a.id));
    assert_eq!(status, 200);
    assert!(page.contains("🔒"));

    // Alerts: Unit B's case goes out; Unit A's never does.
    syslog
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = syslog.recv(&mut buf) {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        syslog
            .set_read_timeout(Some(Duration::from_millis(1500)))
            .unwrap();
    }
    assert!(got.iter().any(|m| m.contains("10.2.0.7")), "{got:?}");
    assert!(
        !got.iter()
            .any(|m| m.contains("10.1.0.5") || m.contains("Unit A")),
        "{got:?}"
    );

    // Ending the watch is a ledger record too; cases already confidential stay so until revealed.
    let csrf = reg.csrf(unit_a);
    assert_eq!(reg.post(watch_a, &[("csrf", &csrf), ("watch", "0")]).0, 303);
    assert!(!store.unit_confidential_watch("Unit A").unwrap());
    assert!(store.case(a.id).unwrap().unwrap().confidential);
    let records = store.ledger_records(1, 10_000).unwrap();
    let watch_records: Vec<_> = records
        .iter()
        .filter(|r| r.kind == "unit.confidential-watch" && r.subject == "unit:Unit A")
        .collect();
    assert_eq!(watch_records.len(), 2);
    assert!(watch_records[0].payload.contains("console:reg"));
    // Unknown units answer like units out of scope.
    let csrf = reg.csrf(unit_a);
    assert_eq!(
        reg.post(
            "/console/units/Nowhere/watch",
            &[("csrf", &csrf), ("watch", "1")]
        )
        .0,
        404
    );
}
