//! The console in a real browser: Debian's chromium driven over WebDriver (chromedriver, plain
//! HTTP+JSON from this test). Logs in as each role (regulator, unit administrator, investigator,
//! auditor), checks what each sees, opens a case, follows its attribution chain and timeline,
//! downloads its evidence bundle with the browser's session and verifies it offline, marks a
//! case confidential through the workflow form (the unit's administrator then loses every sign
//! of it), runs a report, and saves screenshots of the main pages to docs/screenshots/.
//! Skipped when chromium or chromedriver is not installed.

mod common;

use base64::Engine as _;
use common::{host_finding, network_finding, T0};
use minetrace_server::{spawn_background, ServeOptions};
use minetrace_store::{ConsoleRole, Role, Store};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const PW: &str = "correct horse battery staple";

struct Driver {
    child: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self
            .agent
            .delete(&format!("{}/session/{}", self.base, self.session))
            .call();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build(),
        );
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=zh-CN"]
            }
        }}});
        let mut d = Driver {
            child,
            base,
            session: String::new(),
            agent,
        };
        let v = d.call("POST", "/session", Some(caps));
        d.session = v["sessionId"].as_str().expect("session").to_string();
        d
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// One WebDriver command: its value, or the error text.
    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let mut resp = match method {
            "GET" => self.agent.get(&url).call(),
            _ => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(json!({})).to_string()),
        }
        .unwrap();
        let text = resp.body_mut().read_to_string().unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if v["value"].get("error").is_some() {
            return Err(text.chars().take(500).collect());
        }
        Ok(v["value"].clone())
    }

    /// Retries `f` while a page is still loading after a form submission (the element is not
    /// there yet, or belongs to the page being replaced), for up to ten seconds.
    fn retry<T>(&self, what: &str, f: impl Fn() -> Result<T, String>) -> T {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match f() {
                Ok(v) => return v,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(e) => panic!("{what}: {e}"),
            }
        }
    }

    fn s(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    fn go(&self, url: &str) {
        self.call("POST", &self.s("/url"), Some(json!({"url": url})));
    }

    fn try_find(&self, css: &str) -> Result<String, String> {
        let v = self.try_call(
            "POST",
            &self.s("/element"),
            Some(json!({"using": "css selector", "value": css})),
        )?;
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .ok_or_else(|| "no element id".to_string())
    }

    fn text(&self, css: &str) -> String {
        self.retry(css, || {
            let id = self.try_find(css)?;
            self.try_call("GET", &self.s(&format!("/element/{id}/text")), None)
        })
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    fn page(&self) -> String {
        self.call("GET", &self.s("/source"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        self.retry(css, || {
            let id = self.try_find(css)?;
            self.try_call(
                "POST",
                &self.s(&format!("/element/{id}/value")),
                Some(json!({"text": text})),
            )
        });
    }

    fn click(&self, css: &str) {
        self.retry(css, || {
            let id = self.try_find(css)?;
            self.try_call("POST", &self.s(&format!("/element/{id}/click")), None)
        });
    }

    /// Clicks a button that submits a form and waits until the browser has replaced the page
    /// with the server's answer: navigating away at once may cancel the submission.
    fn submit(&self, css: &str) {
        let old = self.retry("html", || self.try_find("html"));
        self.click(css);
        self.retry(css, || {
            // The old document's root goes stale once the answer has replaced it.
            match self.try_call("GET", &self.s(&format!("/element/{old}/name")), None) {
                Ok(_) => Err("the page has not been replaced yet".to_string()),
                Err(_) => Ok(()),
            }
        });
        self.retry("document.readyState", || {
            let state = self.try_call(
                "POST",
                &self.s("/execute/sync"),
                Some(json!({"script": "return document.readyState", "args": []})),
            )?;
            (state == "complete")
                .then_some(())
                .ok_or_else(|| format!("still {state}"))
        });
    }

    fn screenshot(&self, to: &Path) {
        let b64 = self.call("GET", &self.s("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        std::fs::write(to, png).unwrap();
    }

    /// The value of one of the browser's cookies for the current page.
    fn cookie(&self, name: &str) -> String {
        self.call("GET", &self.s(&format!("/cookie/{name}")), None)["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Logs out from the overview (error pages carry no header).
    fn logout(&self, base: &str) {
        self.go(&format!("{base}/console/"));
        self.submit("header form button");
    }

    fn login(&self, base: &str, user: &str) {
        self.go(&format!("{base}/console/login"));
        self.type_into("#user", user);
        self.type_into("#password", PW);
        self.submit("#login");
    }
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn console_in_chromium() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        println!("skipped: chromium not installed (apt-get install chromium chromium-driver)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    store
        .upsert_unit("省电网示范分公司", "示范省", "state-owned", None)
        .unwrap();
    store
        .upsert_unit("示范大学", "示范省", "university", None)
        .unwrap();
    store
        .add_range("10.1.0.0/16", "省电网示范分公司", None)
        .unwrap();
    store.add_range("10.2.0.0/16", "示范大学", None).unwrap();
    store
        .upsert_host(&minetrace_store::Host {
            name: "gpu-node-07".into(),
            unit_name: Some("省电网示范分公司".into()),
            origin: "registry".into(),
            ips: vec!["10.1.0.5".into()],
            ..Default::default()
        })
        .unwrap();
    minetrace_server::console::create_user(
        &store,
        "zhao.min",
        ConsoleRole::Regulator,
        Some("*"),
        None,
        PW,
    )
    .unwrap();
    minetrace_server::console::create_user(
        &store,
        "wang.li",
        ConsoleRole::UnitAdmin,
        None,
        Some("示范大学"),
        PW,
    )
    .unwrap();
    for (name, role) in [
        ("li.na", ConsoleRole::Investigator),
        ("chen.jie", ConsoleRole::Auditor),
    ] {
        let region = (role == ConsoleRole::Auditor).then_some("示范省");
        minetrace_server::console::create_user(&store, name, role, region, None, PW).unwrap();
    }
    let token = store.create_source("agent", Role::Agent).unwrap().1;
    let server = spawn_background(ServeOptions::new(dir.path())).unwrap();
    let client = minetrace_client::Client::new(&server.url(), &token).unwrap();
    let mut findings = vec![
        network_finding("10.1.0.5:40000", T0),
        host_finding("gpu-node-07", T0 + 5_000_000),
    ];
    for i in 0..6 {
        findings.push(network_finding(
            &format!("10.2.0.{}:40000", 10 + i),
            T0 + i * 86_400_000_000,
        ));
    }
    client.submit(&findings).unwrap();
    client
        .heartbeat(&minetrace_client::Heartbeat {
            host: "gpu-node-07".into(),
            agent: Some("minetrace-agent".into()),
            at: Some(minetrace_core::Timestamp(T0)),
            addresses: vec!["10.1.0.5".parse().unwrap()],
            ..Default::default()
        })
        .ok();
    server.settle();
    let url = server.url();
    let shots = screenshots();

    let d = Driver::start();
    // Regulator: the overview counts every unit's cases. Screenshots in Chinese, the first
    // users' language.
    d.login(&url, "zhao.min");
    d.go(&format!("{url}/console/lang/zh"));
    d.go(&format!("{url}/console/"));
    let total: usize = d.text("#cases-total b").trim().parse().unwrap();
    assert!(total >= 7, "{total}");
    d.screenshot(&shots.join("overview.png"));
    d.go(&format!("{url}/console/cases"));
    d.screenshot(&shots.join("cases.png"));
    // Open the first unit's case: attribution chain, timeline, evidence verification.
    let case = store
        .list_cases(&Default::default())
        .unwrap()
        .into_iter()
        .find(|c| c.client_ip.as_deref() == Some("10.1.0.5"))
        .unwrap();
    d.go(&format!("{url}/console/cases/{}", case.id));
    let chain = d.text("#chain");
    assert!(chain.contains("省电网示范分公司"), "{chain}");
    assert!(d.text("#timeline").contains("stratum"));
    assert!(d.text("#verified").contains("✔"));
    // The electricity the miner drew is a loss, over a duration said to be assumed.
    let loss = d.text("#loss");
    assert!(
        loss.contains("yuan") && loss.contains("起始时间不明"),
        "{loss}"
    );
    d.screenshot(&shots.join("case.png"));
    // The evidence bundle the page links to verifies offline.
    let href = d.page();
    assert!(href.contains(&format!("/console/cases/{}/evidence", case.id)));
    // Download it with the browser's own session and verify it offline.
    let session = d.cookie("mt_session");
    assert!(!session.is_empty());
    let bundle = d
        .agent
        .get(&format!("{url}/console/cases/{}/evidence", case.id))
        .header("Cookie", &format!("mt_session={session}"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_vec()
        .unwrap();
    let verified = minetrace_store::bundle::verify(&bundle, None).expect("bundle verifies");
    assert_eq!(verified.case, case.id);
    assert!(verified.records >= 1);
    // Assign the case to the investigator through the workflow form.
    d.type_into("input[name=assignee]", "li.na");
    d.submit("#save");
    // Open a university case as a confidential investigation.
    let secret = store
        .list_cases(&Default::default())
        .unwrap()
        .into_iter()
        .find(|c| c.client_ip.as_deref() == Some("10.2.0.10"))
        .unwrap();
    d.go(&format!("{url}/console/cases/{}", secret.id));
    d.click("select[name=confidential] option[value='1']");
    d.submit("#save");
    d.go(&format!("{url}/console/cases/{}", secret.id));
    assert!(d.page().contains("🔒"));
    // A report for the region, printable with its charts.
    d.go(&format!("{url}/console/report?region=示范省"));
    assert!(d.page().contains("<svg"));
    // A printed report marks the confidential case, so it is not handed to the unit unawares.
    assert!(d.text("#report-total").contains('7'));
    assert!(d.page().contains("🔒"));
    d.screenshot(&shots.join("report.png"));
    d.go(&format!("{url}/console/tasks"));
    d.screenshot(&shots.join("tasks.png"));
    d.go(&format!("{url}/console/units"));
    d.screenshot(&shots.join("units.png"));
    // English on request.
    d.go(&format!("{url}/console/lang/en"));
    d.go(&format!("{url}/console/"));
    assert!(d.page().contains("New cases per day"));
    d.logout(&url);

    // The university's administrator sees its own cases only, less the confidential one: not
    // in the count, the list, the search, nor by its id.
    d.login(&url, "wang.li");
    let own: usize = d.text("#cases-total b").trim().parse().unwrap();
    assert_eq!(own, 5);
    d.go(&format!("{url}/console/cases/{}", case.id));
    assert!(d.page().contains("Not found"));
    d.go(&format!("{url}/console/cases/{}", secret.id));
    assert!(d.page().contains("Not found"));
    d.go(&format!("{url}/console/cases?q=10.2.0.10"));
    assert!(!d.page().contains("10.2.0.10:"));
    assert!(!d
        .page()
        .contains(&format!("/console/cases/{}\"", secret.id)));
    d.logout(&url);

    // The investigator works the case assigned to it, and nothing else.
    d.login(&url, "li.na");
    let assigned: usize = d.text("#cases-total b").trim().parse().unwrap();
    assert_eq!(assigned, 1);
    d.go(&format!("{url}/console/cases/{}", case.id));
    assert!(d.text("#chain").contains("省电网示范分公司"));
    assert!(d.page().contains("id=\"save\""));
    d.go(&format!("{url}/console/cases/{}", secret.id));
    assert!(d.page().contains("Not found"));
    d.logout(&url);

    // The auditor reads the region, confidential case included, but has no workflow form.
    d.login(&url, "chen.jie");
    let all: usize = d.text("#cases-total b").trim().parse().unwrap();
    assert_eq!(all, total);
    d.go(&format!("{url}/console/cases/{}", secret.id));
    assert!(d.page().contains("🔒"));
    assert!(!d.page().contains("id=\"save\""));
}
