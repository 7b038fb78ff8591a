//! Attacker strings in every field the console shows (wallet, login, worker, rig, pool, coin,
//! process name, user and path, host name, agent software) come out as text on every page that
//! shows them: case page, case list, search, overview, unit page, host page, printable report;
//! the CSV report guards spreadsheet formulas.

mod common;
mod session;

use common::{host_finding, network_finding, T0};
use minetrace_server::{spawn_background, ServeOptions};
use minetrace_store::{ConsoleRole, Role, Store};
use session::{pct, Session, PW};

/// A payload naming its field, so a failure says which one leaked.
fn evil(field: &str) -> String {
    format!("<x-evil f={field} onmouseover=alert(1)>\"'</x-evil>")
}

#[test]
fn attacker_strings_are_text_on_every_page() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    store
        .upsert_unit("Unit A", "R1", "university", None)
        .unwrap();
    store.add_range("10.1.0.0/16", "Unit A", None).unwrap();
    minetrace_server::console::create_user(
        &store,
        "reg",
        ConsoleRole::Regulator,
        Some("*"),
        None,
        PW,
    )
    .unwrap();
    minetrace_server::console::create_user(
        &store,
        "ua",
        ConsoleRole::UnitAdmin,
        None,
        Some("Unit A"),
        PW,
    )
    .unwrap();
    let token = store.create_source("agent", Role::Agent).unwrap().1;
    let server = spawn_background(ServeOptions::new(dir.path())).unwrap();
    let client = minetrace_client::Client::new(&server.url(), &token).unwrap();

    let mut net = network_finding("10.1.0.5:40000", T0);
    if let Some(w) = net.evidence.wallet.as_mut() {
        w.address = format!("=HYPERLINK(\"http://x\"){}", evil("wallet"));
        w.coin = Some(evil("coin"));
    }
    net.evidence.login = Some(evil("login"));
    net.evidence.worker = Some(evil("worker"));
    net.evidence.rig_id = Some(evil("rig"));
    net.evidence.pool_host = Some(evil("pool"));
    net.assign_id();
    let net_wallet = net.evidence.wallet.clone();
    client.submit(&[net]).unwrap();

    // The host name travels in a host finding and a heartbeat: the server either refuses it or
    // shows it as text.
    let host_name = evil("host");
    let mut host = host_finding(&host_name, T0 + 5_000_000);
    if let Some(p) = host.evidence.process.as_mut() {
        p.name = evil("process");
        p.user = Some(evil("user"));
        p.exe = Some(format!("/tmp/{}", evil("exe")));
    }
    // The miner's command line names the same wallet (a payout address would be preferred
    // over the string the network finding carries, and the page would not show it).
    host.evidence.wallet = net_wallet.clone();
    host.assign_id();
    let host_accepted = client.submit(&[host]).is_ok();
    // Correlated before the heartbeat names the host's address: the host finding opens a case of
    // its own, and the heartbeat then moves the address's finding into it (the emptied case is
    // closed and keeps its fields, so both pages show the payloads).
    server.settle();
    let _ = client.heartbeat(&minetrace_client::Heartbeat {
        host: host_name.clone(),
        agent: Some(evil("agent")),
        at: Some(minetrace_core::Timestamp(T0)),
        addresses: vec!["10.1.0.5".parse().unwrap()],
        ..Default::default()
    });
    server.settle();

    let cases = store.list_cases(&Default::default()).unwrap();
    let case = cases
        .iter()
        .find(|c| c.client_ip.as_deref() == Some("10.1.0.5") && c.status != "closed")
        .expect("open case for 10.1.0.5");
    // The case holding the host finding: the same one when the heartbeat was accepted.
    let host_case = cases.iter().find(|c| c.host_findings > 0).map(|c| c.id);
    let url = server.url();
    let reg = Session::login(&url, "reg");
    let ua = Session::login(&url, "ua");
    let mut pages = vec![
        format!("/console/cases/{}", case.id),
        "/console/cases".to_string(),
        format!("/console/cases?q={}", pct(&evil("wallet"))),
        "/console/".to_string(),
        "/console/units".to_string(),
        "/console/units/Unit%20A".to_string(),
        "/console/report".to_string(),
    ];
    // Every other case too (the emptied address case among them).
    for other in cases.iter().filter(|c| c.id != case.id) {
        pages.push(format!("/console/cases/{}", other.id));
    }
    if host_accepted {
        pages.push(format!("/console/hosts/{}", pct(&host_name)));
    }
    let mut shown = 0;
    for session in [&reg, &ua] {
        for path in &pages {
            let (status, body) = session.get(path);
            assert!(status == 200 || status == 404, "{path}: {status}");
            assert!(!body.contains("<x-evil"), "{path}: unescaped payload");
            assert!(!body.contains("onmouseover=alert(1)>"), "{path}");
            if body.contains("&lt;x-evil") {
                shown += 1;
            }
        }
    }
    // The payloads are really on the pages (escaped), so the checks above looked at them.
    let (_, case_page) = reg.get(&format!("/console/cases/{}", case.id));
    for field in ["wallet", "pool"] {
        assert!(
            case_page.contains(&format!("&lt;x-evil f={field} ")),
            "{field} not shown on the case page"
        );
    }
    println!("host name accepted: {host_accepted}; payloads shown escaped on {shown} pages");
    let fields: Vec<&str> = [
        "wallet", "coin", "login", "worker", "rig", "pool", "host", "process", "user", "exe",
        "agent",
    ]
    .into_iter()
    .filter(|f| case_page.contains(&format!("&lt;x-evil f={f} ")))
    .collect();
    println!("fields on the case page: {fields:?}");
    if let Some(id) = host_case {
        let (_, page) = reg.get(&format!("/console/cases/{id}"));
        for field in ["host", "process"] {
            assert!(
                page.contains(&format!("&lt;x-evil f={field} ")),
                "{field} not shown on the host case page"
            );
        }
    }
    let (_, host_page) = reg.get(&format!("/console/hosts/{}", pct(&host_name)));
    println!(
        "host page shows the agent: {}",
        host_page.contains("&lt;x-evil f=agent ")
    );
    assert!(shown >= 4, "payloads shown on {shown} pages only");

    // CSV: the wallet's formula is there, guarded, and never starts a cell.
    let (status, csv) = reg.get("/console/report.csv");
    assert_eq!(status, 200);
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    for cell in csv.split([',', '\n']) {
        let cell = cell.trim_start_matches('"');
        assert!(!cell.starts_with("=HYPERLINK"), "formula cell: {cell}");
    }
}
