//! A unit mining behind a NAT: registry, NAT and DHCP logs, a sensor outside the NAT, an agent
//! on the mining host -> one case naming unit, host, process, account, class and reasons; a
//! second host with the same wallet joins the campaign; workflow, recurrence, evidence.

mod common;
mod session;
use common::*;
use minetrace_store::Role;

const CT: &str = "application/json";

fn post(url: &str, path: &str, token: &str, body: &str, ct: &str) -> serde_json::Value {
    let (st, txt) = call(url, "POST", path, Some(token), Some(body.as_bytes()), ct);
    assert_eq!(st, 200, "{path}: {txt}");
    json(&txt)
}

/// The regulator, a sensor outside the NAT and the agent on gpu-01.
struct Tokens {
    admin: String,
    sensor: String,
    agent: String,
}

/// The agent's heartbeat: `host` has `address`.
fn holds(agent: &minetrace_client::Client, host: &str, address: &str) {
    agent
        .heartbeat(&minetrace_client::Heartbeat {
            host: host.into(),
            addresses: vec![address.parse().unwrap()],
            ..Default::default()
        })
        .unwrap();
}

fn enrol(store: &minetrace_store::Store) -> Tokens {
    let token = |name, role| store.create_source(name, role).unwrap().1;
    Tokens {
        admin: token("regulator", Role::Admin),
        sensor: token("isp-sensor", Role::Sensor),
        agent: token("agent-gpu-01", Role::Agent),
    }
}

#[test]
fn unit_behind_nat_becomes_one_attributed_case_and_a_campaign() {
    for env in servers() {
        let (n, s) = (env.name, &env.server);
        let url = s.url();
        let store = s.state.store.clone();
        let Tokens {
            admin,
            sensor,
            agent,
        } = enrol(&store);

        // Registry by CSV.
        post(
            &url,
            "/api/v1/registry/units/csv",
            &admin,
            "name,region,unit_type,contact\nNorth College,North,university,it@college.example\n",
            "text/csv",
        );
        post(&url, "/api/v1/registry/ranges/csv", &admin, "cidr,unit,note\n203.0.113.0/24,North College,public NAT pool\n192.168.10.0/24,North College,lab LAN\n", "text/csv");
        post(&url, "/api/v1/registry/hosts/csv", &admin,
            "name,unit,owner,owner_contact,admin,admin_contact,ips,macs\ngpu-01,North College,GPU lab,lab@college.example,li.wei,li.wei@college.example,,AA:BB:CC:00:00:01\ngpu-02,North College,GPU lab,,zhang.min,,,aa:bb:cc:00:00:02\n",
            "text/csv");
        let exported = call(
            &url,
            "GET",
            "/api/v1/registry/hosts/csv",
            Some(&admin),
            None,
            CT,
        )
        .1;
        assert!(
            exported.contains("gpu-01") && exported.contains("aa:bb:cc:00:00:01"),
            "{n}: {exported}"
        );

        // NAT (conntrack) and DHCP (ISC) logs.
        let t0s = T0 / 1_000_000;
        let conntrack = format!(
            "[{}.000000]     [NEW] tcp      6 120 SYN_SENT src=192.168.10.20 dst=192.0.2.10 sport=51000 dport=3333 [UNREPLIED] src=192.0.2.10 dst=203.0.113.5 sport=3333 dport=40001\n",
            t0s - 5
        );
        let r = post(
            &url,
            "/api/v1/registry/nat?format=conntrack",
            &admin,
            &conntrack,
            "text/plain",
        );
        assert_eq!(r["imported"], 1, "{n}");
        let leases = "lease 192.168.10.20 {\n  starts 3 2024/01/10 08:00:00;\n  ends 3 2024/01/10 20:00:00;\n  hardware ethernet aa:bb:cc:00:00:01;\n}\nlease 192.168.10.21 {\n  starts 3 2024/01/10 08:00:00;\n  ends 3 2024/01/10 20:00:00;\n  hardware ethernet aa:bb:cc:00:00:02;\n}\n";
        assert_eq!(
            post(
                &url,
                "/api/v1/registry/dhcp?format=isc",
                &admin,
                leases,
                "text/plain"
            )["imported"],
            2
        );

        // Sensor outside the NAT sees the public address; the agent reports the process.
        let net = network_finding("203.0.113.5:40001", T0);
        let got =
            minetrace_client::submit_findings(&url, &sensor, std::slice::from_ref(&net)).unwrap();
        assert_eq!(got.accepted, 1);
        let client = minetrace_client::Client::new(&url, &agent).unwrap();
        holds(&client, "gpu-01", "192.168.10.20");
        s.settle();
        client
            .submit(&[host_finding("gpu-01", T0 + 30_000_000)])
            .unwrap();
        s.settle();

        let cases = json(&call(&url, "GET", "/api/v1/cases", Some(&admin), None, CT).1);
        let list = cases["cases"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{n}: one case: {cases}");
        let id = list[0]["id"].as_i64().unwrap();
        let shown = json(
            &call(
                &url,
                "GET",
                &format!("/api/v1/cases/{id}"),
                Some(&admin),
                None,
                CT,
            )
            .1,
        );
        let c = &shown["case"];
        assert_eq!(c["unit_name"], "North College", "{n}: {shown}");
        assert_eq!(c["host_name"], "gpu-01");
        assert_eq!(c["public_ip"], "203.0.113.5");
        assert_eq!(c["client_ip"], "192.168.10.20");
        assert_eq!(c["mac"], "aa:bb:cc:00:00:01");
        assert_eq!(c["process"], "xmrig (pid 4242)");
        assert_eq!(c["account"], "li.wei");
        assert_eq!(c["proposed_class"], "active");
        let reasons = c["reasons"].to_string();
        assert!(
            reasons.contains("login session") && reasons.contains("li.wei"),
            "{n}: {reasons}"
        );
        assert!(
            reasons.contains("admin-account"),
            "{n}: registered admin noted: {reasons}"
        );
        assert_eq!(shown["timeline"].as_array().unwrap().len(), 2);
        let steps = shown["events"].to_string();
        assert!(
            steps.contains("NAT log") && steps.contains("DHCP lease"),
            "{n}: {steps}"
        );
        assert!(c["estimate"]["hashrate_hps"].as_f64().unwrap() > 0.0);

        // Second host, same wallet, seen by a sensor inside the NAT -> same campaign.
        minetrace_client::submit_findings(
            &url,
            &sensor,
            &[network_finding("192.168.10.21:52000", T0 + 10_000_000)],
        )
        .unwrap();
        s.settle();
        let cases = json(&call(&url, "GET", "/api/v1/cases", Some(&admin), None, CT).1);
        let list = cases["cases"].as_array().unwrap().clone();
        assert_eq!(list.len(), 2, "{n}");
        assert_eq!(list[1]["host_name"], "gpu-02");
        assert_eq!(
            list[0]["campaign_id"], list[1]["campaign_id"],
            "{n}: one campaign"
        );
        assert_eq!(
            list[1]["proposed_class"], "undetermined",
            "{n}: network evidence only"
        );
        let camp = json(&call(&url, "GET", "/api/v1/campaigns", Some(&admin), None, CT).1);
        assert_eq!(camp["campaigns"][0]["hosts"], 2, "{n}: {camp}");
        assert!(
            list[1]["flags"].to_string().contains("2 machines"),
            "{n}: {}",
            list[1]
        );

        // Workflow, closure and recurrence.
        let patch = |b: &str| {
            call(
                &url,
                "PATCH",
                &format!("/api/v1/cases/{id}"),
                Some(&admin),
                Some(b.as_bytes()),
                CT,
            )
        };
        assert_eq!(
            patch(r#"{"status":"rectifying"}"#).0,
            400,
            "{n}: detected -> rectifying refused"
        );
        assert_eq!(
            patch(r#"{"status":"confirmed"}"#).0,
            400,
            "{n}: confirm needs a class"
        );
        assert_eq!(
            patch(r#"{"status":"investigating","assignee":"inspector-7"}"#).0,
            200
        );
        assert_eq!(patch(r#"{"status":"confirmed","class":"active"}"#).0, 200);
        assert_eq!(patch(r#"{"status":"rectifying"}"#).0, 200);
        assert_eq!(
            patch(r#"{"status":"closed","note":"miner removed"}"#).0,
            200
        );
        assert_eq!(patch(r#"{"bogus":1}"#).0, 400);
        minetrace_client::submit_findings(
            &url,
            &sensor,
            &[network_finding("203.0.113.5:40001", T0 + 1_000_000)],
        )
        .unwrap();
        s.settle();
        let again = json(
            &call(
                &url,
                "GET",
                &format!("/api/v1/cases/{id}"),
                Some(&admin),
                None,
                CT,
            )
            .1,
        );
        assert_eq!(again["case"]["status"], "detected", "{n}: reopened");
        assert_eq!(again["case"]["recurrence"], 1);
        assert!(
            again["case"]["flags"]
                .to_string()
                .contains("recurred after closure (1 time(s))"),
            "{n}: {}",
            again["case"]
        );

        // Evidence bundle from the API verifies offline.
        let (st, bundle) = call(
            &url,
            "GET",
            &format!("/api/v1/cases/{id}/evidence"),
            Some(&admin),
            None,
            CT,
        );
        assert_eq!(st, 200);
        let v = minetrace_store::bundle::verify(bundle.as_bytes(), Some(&store.key().public_hex()))
            .unwrap();
        assert!(v.records >= 8, "{n}: {v:?}");
        assert_eq!(
            json(&call(&url, "GET", "/api/v1/ledger/verify", Some(&admin), None, CT).1)["ok"],
            true
        );
    }
}

#[test]
fn silent_agent_is_flagged_blind_or_tampered() {
    for env in servers() {
        let s = &env.server;
        let url = s.url();
        let store = s.state.store.clone();
        let (_, sensor) = store.create_source("sensor", Role::Sensor).unwrap();
        let (_, agent) = store.create_source("agent", Role::Agent).unwrap();
        // The agent knows the host's address and reports no mining.
        minetrace_client::Client::new(&url, &agent)
            .unwrap()
            .heartbeat(&minetrace_client::Heartbeat {
                host: "web-07".into(),
                addresses: vec!["10.5.0.7".parse().unwrap()],
                findings: Some(0),
                ..Default::default()
            })
            .unwrap();
        minetrace_client::submit_findings(
            &url,
            &sensor,
            &[network_finding(
                "10.5.0.7:45000",
                minetrace_core::Timestamp::now().0,
            )],
        )
        .unwrap();
        s.settle();
        let c = &store.list_cases(&Default::default()).unwrap()[0];
        assert_eq!(c.host_name.as_deref(), Some("web-07"), "{}", env.name);
        assert!(
            c.flags
                .iter()
                .any(|f| f.contains("agent blind or tampered")),
            "{}: {:?}",
            env.name,
            c.flags
        );
    }
}

#[test]
fn spool_keeps_findings_through_an_outage_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = tempfile::tempdir().unwrap();
    // A port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let mut down = minetrace_client::Client::new(&dead_url, "mt1_x").unwrap();
    down.attempts = 1;
    let spool = minetrace_client::Spool::open(spool_dir.path()).unwrap();
    let batch: Vec<_> = (0..2500)
        .map(|i| network_finding(&format!("10.0.{}.{}:4000", i / 200, i % 200 + 1), T0 + i))
        .collect();
    let r = spool.submit_or_spool(&down, &batch).unwrap();
    assert_eq!(r, minetrace_client::SpoolResult::Spooled(2500));
    assert_eq!(spool.pending().unwrap(), 2500);

    let server =
        minetrace_server::spawn_background(minetrace_server::ServeOptions::new(dir.path()))
            .unwrap();
    let (_, token) = server
        .state
        .store
        .create_source("sensor", Role::Sensor)
        .unwrap();
    let up = minetrace_client::Client::new(&server.url(), &token).unwrap();
    // Pretend part was delivered before a crash: the drain must not duplicate it.
    up.submit(&batch[..700]).unwrap();
    let d = spool.drain(&up).unwrap();
    assert_eq!(d.sent, 2500);
    assert_eq!(d.accepted + d.duplicates, 2500);
    assert_eq!(d.accepted, 1800);
    assert_eq!(spool.pending().unwrap(), 0);
    assert_eq!(server.state.store.count_findings().unwrap(), 2500);
    assert_eq!(spool.drain(&up).unwrap().sent, 0);
}

/// Registry, NAT and DHCP data that arrive after the findings: open cases are attributed again.
#[test]
fn late_registry_nat_and_dhcp_data_attribute_open_cases() {
    for env in servers() {
        let (n, s) = (env.name, &env.server);
        let url = s.url();
        let store = s.state.store.clone();
        let Tokens {
            admin,
            sensor,
            agent,
        } = enrol(&store);

        // Findings first, with nothing registered: the agent's case, and three public addresses.
        minetrace_client::Client::new(&url, &agent)
            .unwrap()
            .submit(&[host_finding("gpu-01", T0 + 30_000_000)])
            .unwrap();
        minetrace_client::submit_findings(
            &url,
            &sensor,
            &[
                // Two NATed machines behind one public address.
                network_finding("203.0.113.5:40001", T0),
                network_finding("203.0.113.5:40002", T0 + 1_000_000),
                // One machine behind another address, nobody's case yet.
                network_finding("203.0.113.9:40010", T0 + 2_000_000),
                // A public address of a unit whose NAT logs never come.
                network_finding("198.51.100.7:40020", T0 + 3_000_000),
            ],
        )
        .unwrap();
        s.settle();
        let key = |k: &str| store.case_by_key(k).unwrap().unwrap();
        let agent_case = key("host:gpu-01");
        let shared = key("ip:203.0.113.5");
        let single = key("ip:203.0.113.9");
        let unit_only = key("ip:198.51.100.7");
        assert_eq!(shared.network_findings, 2, "{n}");
        assert!(
            shared.host_name.is_none() && shared.unit_id.is_none(),
            "{n}"
        );
        assert!(agent_case.unit_id.is_none(), "{n}");

        // Then the registry, the NAT log and the DHCP leases.
        post(
            &url,
            "/api/v1/registry/units/csv",
            &admin,
            "name,region,unit_type,contact\nNorth College,North,university,\nWest Works,West,state-owned,\n",
            "text/csv",
        );
        post(&url, "/api/v1/registry/ranges/csv", &admin, "cidr,unit,note\n203.0.113.0/24,North College,NAT pool\n192.168.10.0/24,North College,lab LAN\n198.51.100.0/24,West Works,\n", "text/csv");
        post(&url, "/api/v1/registry/hosts/csv", &admin,
            "name,unit,owner,owner_contact,admin,admin_contact,ips,macs\ngpu-01,North College,,,li.wei,,,aa:bb:cc:00:00:01\ngpu-02,North College,,,,,,aa:bb:cc:00:00:02\ngpu-03,North College,,,,,,aa:bb:cc:00:00:03\n",
            "text/csv");
        let t0s = T0 / 1_000_000;
        let conntrack: String = [("192.168.10.20", 51000, 40001), ("192.168.10.21", 51001, 40002), ("192.168.10.23", 51003, 40010)]
            .iter()
            .map(|(ip, sport, public)| {
                let outside = if *public == 40010 { "203.0.113.9" } else { "203.0.113.5" };
                format!("[{}.000000]     [NEW] tcp      6 120 SYN_SENT src={ip} dst=192.0.2.10 sport={sport} dport=3333 [UNREPLIED] src=192.0.2.10 dst={outside} sport=3333 dport={public}\n", t0s - 5)
            })
            .collect();
        assert_eq!(
            post(
                &url,
                "/api/v1/registry/nat?format=conntrack",
                &admin,
                &conntrack,
                "text/plain"
            )["imported"],
            3,
            "{n}"
        );
        let leases: String = ["20", "21", "23"]
            .iter()
            .zip(["01", "02", "03"])
            .map(|(ip, mac)| format!("lease 192.168.10.{ip} {{\n  starts 3 2024/01/10 08:00:00;\n  ends 3 2024/01/10 20:00:00;\n  hardware ethernet aa:bb:cc:00:00:{mac};\n}}\n"))
            .collect();
        post(
            &url,
            "/api/v1/registry/dhcp?format=isc",
            &admin,
            &leases,
            "text/plain",
        );

        // The correlator notices the registry change and re-attributes.
        let mut waited = 0;
        while store.case(shared.id).unwrap().unwrap().status != "closed" {
            assert!(waited < 150, "{n}: shared case never re-attributed");
            std::thread::sleep(std::time::Duration::from_millis(100));
            waited += 1;
        }
        s.settle();
        // The shared address split: gpu-01's finding joined the agent's case, gpu-02 got its own.
        let old = store.case(shared.id).unwrap().unwrap();
        assert_eq!(
            (old.findings_count, old.status.as_str()),
            (0, "closed"),
            "{n}"
        );
        let events = store.case_events(shared.id).unwrap();
        let last = events.last().unwrap();
        assert_eq!(last.kind, "findings-reattributed", "{n}");
        let detail = last.detail.to_string();
        assert!(
            detail.contains("host:gpu-01") && detail.contains("host:gpu-02"),
            "{n}: {}",
            last.detail
        );
        let gpu01 = store.case(agent_case.id).unwrap().unwrap();
        assert_eq!(gpu01.network_findings, 1, "{n}");
        assert_eq!(gpu01.host_findings, 1, "{n}");
        assert_eq!(gpu01.unit_name.as_deref(), Some("North College"), "{n}");
        assert_eq!(gpu01.client_ip.as_deref(), Some("192.168.10.20"), "{n}");
        assert_eq!(gpu01.public_ip.as_deref(), Some("203.0.113.5"), "{n}");
        let gpu02 = key("host:gpu-02");
        assert_eq!(gpu02.network_findings, 1, "{n}");
        assert_eq!(gpu02.mac.as_deref(), Some("aa:bb:cc:00:00:02"), "{n}");
        // One machine behind its own address: same case, now named.
        let named = store.case(single.id).unwrap().unwrap();
        assert_eq!(named.activity_key, "host:gpu-03", "{n}");
        assert_eq!(named.host_name.as_deref(), Some("gpu-03"), "{n}");
        assert_eq!(
            store.case_events(single.id).unwrap().last().unwrap().kind,
            "attribution-updated",
            "{n}"
        );
        // No NAT log: the unit is known from the range, the case stays where it was.
        let unit = store.case(unit_only.id).unwrap().unwrap();
        assert_eq!(unit.unit_name.as_deref(), Some("West Works"), "{n}");
        assert_eq!(unit.activity_key, "ip:198.51.100.7", "{n}");
        assert!(unit.host_name.is_none(), "{n}");
        // A later finding of gpu-03 joins the re-attributed case.
        minetrace_client::submit_findings(
            &url,
            &sensor,
            &[network_finding("203.0.113.9:40010", T0 + 20_000_000)],
        )
        .unwrap();
        s.settle();
        assert_eq!(
            store.case(single.id).unwrap().unwrap().network_findings,
            2,
            "{n}"
        );
        assert!(store.verify_ledger().is_ok(), "{n}");
    }
}

/// An agent's heartbeat that names its host's address after the network finding of that address
/// was correlated: the address's case joins the host's case, whichever arrived first.
#[test]
fn heartbeat_address_joins_the_network_case_to_the_host_case() {
    for env in servers() {
        let (n, s) = (env.name, &env.server);
        let url = s.url();
        let store = s.state.store.clone();
        let Tokens { sensor, agent, .. } = enrol(&store);
        let agent_client = minetrace_client::Client::new(&url, &agent).unwrap();

        // A sensor inside the network sees 10.20.0.7 mining; the agent on lab-07 finds the miner.
        minetrace_client::submit_findings(&url, &sensor, &[network_finding("10.20.0.7:40000", T0)])
            .unwrap();
        agent_client
            .submit(&[host_finding("lab-07", T0 + 5_000_000)])
            .unwrap();
        s.settle();
        let key = |k: &str| store.case_by_key(k).unwrap();
        let address_case = key("ip:10.20.0.7").expect("case for the address");
        let host_case = key("host:lab-07").expect("case for the host");
        assert_ne!(address_case.id, host_case.id, "{n}");
        let version = store.registry_version().unwrap();

        // Only then does the agent's heartbeat say lab-07 has that address.
        holds(&agent_client, "lab-07", "10.20.0.7");
        assert!(store.registry_version().unwrap() > version, "{n}");
        s.settle();
        let joined = store.case(host_case.id).unwrap().unwrap();
        assert_eq!(
            (joined.host_findings, joined.network_findings),
            (1, 1),
            "{n}: {joined:?}"
        );
        assert_eq!(joined.client_ip.as_deref(), Some("10.20.0.7"), "{n}");
        let old = store.case(address_case.id).unwrap().unwrap();
        assert_eq!(
            (old.status.as_str(), old.findings_count),
            ("closed", 0),
            "{n}"
        );

        // The same address again is no news: the registry does not move.
        let version = store.registry_version().unwrap();
        holds(&agent_client, "lab-07", "10.20.0.7");
        assert_eq!(store.registry_version().unwrap(), version, "{n}");
    }
}

/// DHCP gives 10.30.0.9 to lab-a, then to lab-b: the mining seen from that address while lab-a
/// held it is lab-a's case, what was seen after is lab-b's.
#[test]
fn an_address_that_moved_between_machines_is_attributed_by_time() {
    for env in servers() {
        let (n, s) = (env.name, &env.server);
        let url = s.url();
        let store = s.state.store.clone();
        let Tokens { sensor, agent, .. } = enrol(&store);
        let agent_client = minetrace_client::Client::new(&url, &agent).unwrap();
        let dhcp_gives = |host: &str| {
            holds(&agent_client, host, "10.30.0.9");
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let seen_now = |port: u16| {
            let now = minetrace_core::Timestamp::now().0;
            minetrace_client::submit_findings(
                &url,
                &sensor,
                &[network_finding(&format!("10.30.0.9:{port}"), now)],
            )
            .unwrap();
            s.settle();
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        dhcp_gives("lab-a");
        seen_now(41000);
        dhcp_gives("lab-b");
        seen_now(41001);
        let case = |host: &str| {
            store
                .case_by_key(&format!("host:{host}"))
                .unwrap()
                .unwrap_or_else(|| panic!("{n}: no case for {host}"))
        };
        assert_eq!(case("lab-a").network_findings, 1, "{n}");
        assert_eq!(case("lab-b").network_findings, 1, "{n}");
        let steps = store.case_events(case("lab-b").id).unwrap()[0]
            .detail
            .to_string();
        assert!(
            steps.contains("belongs to host \\\"lab-b\\\" (its agent reports it since"),
            "{n}: {steps}"
        );
        // The host pages show who held the address when.
        minetrace_server::console::create_user(
            &store,
            "inspector",
            minetrace_store::ConsoleRole::Regulator,
            Some("*"),
            None,
            session::PW,
        )
        .unwrap();
        let inspector = session::Session::login(&url, "inspector");
        let history = |host: &str| {
            let (status, page) = inspector.get(&format!("/console/hosts/{host}"));
            assert_eq!(status, 200, "{n}: {page}");
            let section = page
                .find("地址使用记录")
                .or_else(|| page.find("Address history"))
                .expect("an address history on the host page");
            let rest = &page[section..];
            let start = rest.find("10.30.0.9").expect("the address in the history");
            rest[start..]
                .split("</tr>")
                .next()
                .unwrap_or_default()
                .to_string()
        };
        let a_row = history("lab-a");
        let b_row = history("lab-b");
        assert!(
            !a_row.contains("至今") && !a_row.contains("still held"),
            "{n}: {a_row}"
        );
        assert!(
            b_row.contains("至今") || b_row.contains("still held"),
            "{n}: {b_row}"
        );
    }
}
