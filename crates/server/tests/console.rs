//! The web console over real HTTP against a real server: logins and their rate limit, CSRF,
//! what each role can and cannot reach by guessing ids, confidential investigations hidden from
//! the unit in pages, lists, counts, reports and downloads, escaping of attacker strings, and the
//! ledger records of views and changes.

mod common;

use common::{network_finding, T0};
use minetrace_server::{spawn_background, ServeOptions};
use minetrace_store::{ConsoleRole, Role, Store};

struct Browser {
    agent: ureq::Agent,
    base: String,
    cookies: Vec<(String, String)>,
}

struct Page {
    status: u16,
    location: String,
    body: String,
}

impl Browser {
    fn new(base: &str) -> Browser {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build();
        Browser {
            agent: ureq::Agent::new_with_config(config),
            base: base.to_string(),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn take(&mut self, mut resp: ureq::http::Response<ureq::Body>) -> Page {
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap_or_default();
            let pair = v.split(';').next().unwrap_or_default();
            if let Some((k, val)) = pair.split_once('=') {
                self.cookies.retain(|(n, _)| n != k);
                if !val.is_empty() {
                    self.cookies.push((k.to_string(), val.to_string()));
                }
            }
        }
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        Page {
            status: resp.status().as_u16(),
            location,
            body: String::from_utf8_lossy(
                &resp
                    .body_mut()
                    .with_config()
                    .limit(64 << 20)
                    .read_to_vec()
                    .unwrap_or_default(),
            )
            .into_owned(),
        }
    }

    fn get(&mut self, path: &str) -> Page {
        let resp = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie_header())
            .header("Accept-Language", "en")
            .call()
            .unwrap();
        self.take(resp)
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let resp = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie_header())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body)
            .unwrap();
        self.take(resp)
    }

    fn csrf(page: &Page) -> String {
        let at = page
            .body
            .find("name=\"csrf\" value=\"")
            .expect("csrf field");
        page.body[at + 19..]
            .chars()
            .take_while(|c| *c != '"')
            .collect()
    }

    fn login(&mut self, user: &str, password: &str) -> Page {
        let form = self.get("/console/login");
        let csrf = Browser::csrf(&form);
        self.post(
            "/console/login",
            &[("user", user), ("password", password), ("csrf", &csrf)],
        )
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const PW: &str = "correct horse battery staple";

fn case_id_for(store: &Store, ip: &str) -> i64 {
    store
        .list_cases(&Default::default())
        .unwrap()
        .into_iter()
        .find(|c| c.client_ip.as_deref() == Some(ip))
        .unwrap_or_else(|| panic!("no case for {ip}"))
        .id
}

#[test]
fn roles_scopes_confidentiality_csrf_escaping_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    store
        .upsert_unit("Unit A", "R1", "state-owned", None)
        .unwrap();
    store
        .upsert_unit("Unit B", "R2", "university", None)
        .unwrap();
    store.add_range("10.1.0.0/16", "Unit A", None).unwrap();
    store.add_range("10.2.0.0/16", "Unit B", None).unwrap();
    for (name, role, region, unit) in [
        ("reg_all", ConsoleRole::Regulator, Some("*"), None),
        ("reg_r1", ConsoleRole::Regulator, Some("R1"), None),
        ("admin_a", ConsoleRole::UnitAdmin, None, Some("Unit A")),
        ("admin_b", ConsoleRole::UnitAdmin, None, Some("Unit B")),
        ("inv", ConsoleRole::Investigator, None, None),
        ("aud_r1", ConsoleRole::Auditor, Some("R1"), None),
    ] {
        minetrace_server::console::create_user(&store, name, role, region, unit, PW).unwrap();
    }
    let token = store.create_source("sensor", Role::Sensor).unwrap().1;
    let server = spawn_background(ServeOptions::new(dir.path())).unwrap();
    let client = minetrace_client::Client::new(&server.url(), &token).unwrap();
    // Attacker-chosen strings travel in the findings.
    let mut a = network_finding("10.1.0.5:40000", T0);
    if let Some(w) = a.evidence.wallet.as_mut() {
        w.address = "<script>alert(1)</script>".into();
    }
    a.reasons = vec!["<img src=x onerror=alert(2)> sent login".into()];
    a.assign_id();
    let b = network_finding("10.2.0.7:40000", T0 + 1);
    client.submit(&[a, b]).unwrap();
    server.settle();
    let (case_a, case_b) = (
        case_id_for(&store, "10.1.0.5"),
        case_id_for(&store, "10.2.0.7"),
    );
    let url = server.url();

    // Not logged in: every page sends to the login form.
    let mut anon = Browser::new(&url);
    for path in [
        "/console/",
        "/console/cases",
        &format!("/console/cases/{case_a}"),
    ] {
        let p = anon.get(path);
        assert_eq!(
            (p.status, p.location.as_str()),
            (303, "/console/login"),
            "{path}"
        );
    }
    // A login without the form's CSRF token is refused.
    let p = anon.post(
        "/console/login",
        &[("user", "reg_all"), ("password", PW), ("csrf", "forged")],
    );
    assert_eq!(p.status, 403);

    // Unit administrators see their own unit only; other ids answer exactly like missing ones.
    let mut ua = Browser::new(&url);
    assert_eq!(ua.login("admin_a", PW).status, 303);
    assert_eq!(ua.get(&format!("/console/cases/{case_a}")).status, 200);
    let other = ua.get(&format!("/console/cases/{case_b}"));
    let missing = ua.get("/console/cases/999999");
    assert_eq!((other.status, missing.status), (404, 404));
    assert_eq!(other.body, missing.body);
    assert_eq!(
        ua.get(&format!("/console/cases/{case_b}/evidence")).status,
        404
    );
    let list = ua.get("/console/cases");
    assert!(list.body.contains("10.1.0.5") && !list.body.contains("10.2.0.7"));
    assert!(!ua.get("/console/report.csv").body.contains("10.2.0.7"));
    // ...and may not change anything.
    let page = ua.get(&format!("/console/cases/{case_a}"));
    assert!(!page.body.contains("name=\"status\""));

    // Attacker strings come out as text.
    let mut reg = Browser::new(&url);
    assert_eq!(reg.login("reg_all", PW).status, 303);
    let page = reg.get(&format!("/console/cases/{case_a}"));
    assert!(!page.body.contains("<script>alert(1)"), "unescaped wallet");
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.body.contains("<img src=x"), "unescaped reason");
    // The evidence downloads and verifies against the server's key.
    let bundle = reg.get(&format!("/console/cases/{case_a}/evidence"));
    assert_eq!(bundle.status, 200);
    let key = store.key().public_hex();
    minetrace_store::bundle::verify(bundle.body.as_bytes(), Some(&key)).unwrap();

    // A changed form without the session's CSRF token is refused.
    let p = reg.post(
        &format!("/console/cases/{case_a}"),
        &[("csrf", "nope"), ("status", "investigating")],
    );
    assert_eq!(p.status, 403);

    // Confidential: the unit loses every sign of the case.
    let overview_before = ua.get("/console/").body;
    assert!(
        overview_before.contains(">1<"),
        "one case visible to the unit"
    );
    let csrf = Browser::csrf(&page);
    let p = reg.post(
        &format!("/console/cases/{case_a}"),
        &[
            ("csrf", &csrf),
            ("status", "investigating"),
            ("confidential", "1"),
            ("assignee", "inv"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(ua.get(&format!("/console/cases/{case_a}")).status, 404);
    assert!(!ua.get("/console/cases").body.contains("10.1.0.5"));
    assert!(!ua.get("/console/report.csv").body.contains("10.1.0.5"));
    // Search echoes the query but finds nothing.
    assert!(!ua
        .get("/console/cases?q=10.1.0.5")
        .body
        .contains(&format!("href=\"/console/cases/{case_a}\"")));
    assert!(
        ua.get("/console/").body.contains("<b>0</b>"),
        "count hides it"
    );
    assert!(reg.get("/console/cases").body.contains("🔒"));

    // The assigned investigator now sees it (and only it); the regional regulator sees its
    // region; the auditor reads but cannot write.
    let mut inv = Browser::new(&url);
    inv.login("inv", PW);
    assert_eq!(inv.get(&format!("/console/cases/{case_a}")).status, 200);
    assert_eq!(inv.get(&format!("/console/cases/{case_b}")).status, 404);
    let mut r1 = Browser::new(&url);
    r1.login("reg_r1", PW);
    assert_eq!(r1.get(&format!("/console/cases/{case_a}")).status, 200);
    assert_eq!(r1.get(&format!("/console/cases/{case_b}")).status, 404);
    let mut aud = Browser::new(&url);
    aud.login("aud_r1", PW);
    let seen = aud.get(&format!("/console/cases/{case_a}"));
    assert_eq!(seen.status, 200);
    let p = aud.post(
        &format!("/console/cases/{case_a}"),
        &[("csrf", &Browser::csrf(&seen)), ("status", "confirmed")],
    );
    assert_eq!(p.status, 403);

    // Revealed when the inspection starts: the unit sees it again.
    let page = reg.get(&format!("/console/cases/{case_a}"));
    let p = reg.post(
        &format!("/console/cases/{case_a}"),
        &[("csrf", &Browser::csrf(&page)), ("confidential", "0")],
    );
    assert_eq!(p.status, 303);
    assert_eq!(ua.get(&format!("/console/cases/{case_a}")).status, 200);

    // Every view and change is in the ledger, naming who.
    let records = store.ledger_records(1, 10_000).unwrap();
    let kinds = |k: &str| records.iter().filter(|r| r.kind == k).count();
    assert!(kinds("console.view") >= 5);
    assert_eq!(kinds("case.confidential"), 1);
    assert_eq!(kinds("case.revealed"), 1);
    assert!(records
        .iter()
        .any(|r| r.kind == "console.view" && r.payload.contains("admin_a")));

    // Logout ends the session.
    let page = ua.get("/console/");
    let p = ua.post("/console/logout", &[("csrf", &Browser::csrf(&page))]);
    assert_eq!(p.status, 303);
    assert_eq!(ua.get("/console/").status, 303);
}

#[test]
fn login_attempts_are_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    minetrace_server::console::create_user(
        &store,
        "reg",
        ConsoleRole::Regulator,
        Some("*"),
        None,
        PW,
    )
    .unwrap();
    let server = spawn_background(ServeOptions::new(dir.path())).unwrap();
    let mut b = Browser::new(&server.url());
    for _ in 0..minetrace_server::console::auth::MAX_FAILED_LOGINS {
        assert_eq!(b.login("reg", "wrong password!").status, 401);
    }
    // Even the right password waits out the window now.
    assert_eq!(b.login("reg", PW).status, 429);
    // The first-run bootstrap does nothing once users exist.
    assert!(minetrace_server::console::bootstrap_admin(&store)
        .unwrap()
        .is_none());
}

#[test]
fn tasks_unit_and_host_pages_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    store
        .upsert_unit("Unit A", "R1", "state-owned", None)
        .unwrap();
    store
        .upsert_unit("Unit B", "R2", "university", None)
        .unwrap();
    store.add_range("10.1.0.0/16", "Unit A", None).unwrap();
    store.add_range("10.2.0.0/16", "Unit B", None).unwrap();
    store
        .upsert_host(&minetrace_store::Host {
            name: "gpu-07".into(),
            unit_name: Some("Unit A".into()),
            origin: "registry".into(),
            ips: vec!["10.1.0.5".into()],
            ..Default::default()
        })
        .unwrap();
    for (name, role, region, unit) in [
        ("reg", ConsoleRole::Regulator, Some("*"), None),
        ("admin_a", ConsoleRole::UnitAdmin, None, Some("Unit A")),
        ("admin_b", ConsoleRole::UnitAdmin, None, Some("Unit B")),
    ] {
        minetrace_server::console::create_user(&store, name, role, region, unit, PW).unwrap();
    }
    let token = store.create_source("sensor", Role::Sensor).unwrap().1;
    let server = spawn_background(ServeOptions::new(dir.path())).unwrap();
    let client = minetrace_client::Client::new(&server.url(), &token).unwrap();
    client
        .submit(&[
            network_finding("10.1.0.5:40000", T0),
            network_finding("10.2.0.7:40000", T0 + 1),
        ])
        .unwrap();
    server.settle();
    let url = server.url();
    let (mut reg, mut ua, mut ub) = (Browser::new(&url), Browser::new(&url), Browser::new(&url));
    reg.login("reg", PW);
    ua.login("admin_a", PW);
    ub.login("admin_b", PW);

    // A self-inspection task past its deadline is flagged, answered by its unit only.
    let page = reg.get("/console/tasks");
    let p = reg.post(
        "/console/tasks",
        &[
            ("csrf", &Browser::csrf(&page)),
            ("unit", "Unit A"),
            ("title", "Check GPU nodes for miners"),
            ("detail", "Run minetrace scan on every GPU node"),
            ("deadline", "2020-01-31"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(reg.get("/console/").body.contains("id=\"overdue\""));
    let tasks_a = ua.get("/console/tasks");
    assert!(tasks_a.body.contains("Check GPU nodes") && tasks_a.body.contains("OVERDUE"));
    assert!(!ub.get("/console/tasks").body.contains("Check GPU nodes"));
    let task_id = store.list_tasks().unwrap()[0].id;
    let other = ub.get("/console/tasks");
    let p = ub.post(
        &format!("/console/tasks/{task_id}/answer"),
        &[("csrf", &Browser::csrf(&other)), ("answer", "nothing here")],
    );
    assert_eq!(p.status, 404);
    let p = ua.post(
        &format!("/console/tasks/{task_id}/answer"),
        &[
            ("csrf", &Browser::csrf(&tasks_a)),
            ("answer", "Scanned 12 nodes; one miner removed"),
        ],
    );
    assert_eq!(p.status, 303);
    assert!(!reg.get("/console/").body.contains("id=\"overdue\""));
    assert!(reg.get("/console/tasks").body.contains("one miner removed"));

    // Unit and host pages: own unit only; the host's agent never reported.
    let unit_a = ua.get("/console/units/Unit%20A");
    assert_eq!(unit_a.status, 200);
    assert!(unit_a.body.contains("gpu-07") && unit_a.body.contains("no agent"));
    assert_eq!(ua.get("/console/units/Unit%20B").status, 404);
    assert_eq!(ua.get("/console/hosts/gpu-07").status, 200);
    assert_eq!(ub.get("/console/hosts/gpu-07").status, 404);

    // Reports by region and period; the PDF comes from headless chromium where installed.
    let all = reg.get("/console/report");
    assert!(all.body.contains("id=\"report-total\">2<"), "{}", all.body);
    let r1 = reg.get("/console/report?region=R1");
    assert!(r1.body.contains("id=\"report-total\">1<"));
    let later = reg.get("/console/report?from=2030-01-01");
    assert!(later.body.contains("id=\"report-total\">0<"));
    assert!(ub
        .get("/console/report")
        .body
        .contains("id=\"report-total\">1<"));
    let csv = reg.get("/console/report.csv?region=R2");
    assert!(csv.body.contains("10.2.0.7") && !csv.body.contains("10.1.0.5"));
    // The electricity cost comes last (the columns before keep their places), with its
    // duration: a minute of findings, so the assumed 90 days.
    let mut lines = csv.body.lines();
    let header = lines.next().unwrap();
    assert!(
        header.ends_with(",confidential,electricity_cost,cost_days,cost_days_assumed,gains"),
        "{header}"
    );
    // No coin priced in the default configuration: the gains cell is empty.
    let row = lines.next().unwrap();
    assert!(row.ends_with(",\"90.0\",\"true\",\"\""), "{row}");
    let pdf = reg.get("/console/report.pdf?region=R1");
    if std::path::Path::new("/usr/bin/chromium").exists() {
        assert_eq!(pdf.status, 200);
        assert!(
            pdf.body.starts_with("%PDF"),
            "{}",
            &pdf.body[..pdf.body.len().min(200)]
        );
    } else {
        assert_eq!(pdf.status, 501);
        println!("skipped: PDF (chromium not installed)");
    }
}
