//! Campaigns tie cases on different machines together by what they pay to, and a campaign's
//! machine count enters the legal band (20 machines: 情节严重). A payout address does that
//! anywhere; a pool account name only at its pool; a placeholder login (`x`, `worker1`) never.

mod common;
mod session;
use common::*;
use minetrace_core::{Finding, Wallet};
use minetrace_store::Role;

/// A mining session of `client` at `pool` logged in as `login`.
fn session(client: &str, pool: &str, login: &str, format: &str) -> Finding {
    let mut f = network_finding(client, T0);
    f.evidence.pool_host = Some(pool.into());
    f.evidence.wallet = Some(Wallet {
        address: login.into(),
        coin: None,
        format: format.into(),
        checksum_ok: false,
    });
    f.assign_id();
    f
}

/// A server's address with a regulator's and a sensor's token.
fn enrol(s: &minetrace_server::BackgroundServer) -> (String, String, String) {
    let store = &s.state.store;
    let admin = store.create_source("regulator", Role::Admin).unwrap().1;
    let sensor = store.create_source("isp-sensor", Role::Sensor).unwrap().1;
    (s.url(), admin, sensor)
}

fn cases(url: &str, admin: &str) -> Vec<serde_json::Value> {
    let (status, body) = call(url, "GET", "/api/v1/cases", Some(admin), None, "");
    assert_eq!(status, 200, "{body}");
    json(&body)["cases"].as_array().unwrap().clone()
}

#[test]
fn only_what_names_one_owner_makes_a_campaign() {
    for env in servers() {
        let (n, s) = (env.name, &env.server);
        let (url, admin, sensor) = enrol(s);

        // Twenty unrelated machines at twenty pools, each logged in as the customary `x` or
        // under the same account name at its own pool.
        let mut findings: Vec<Finding> = (0..20)
            .map(|i| {
                let login = if i % 2 == 0 { "x" } else { "Bitcoin" };
                session(
                    &format!("198.51.100.{}:40000", i + 1),
                    &format!("pool{i}.example"),
                    login,
                    "account",
                )
            })
            .collect();
        // One account at one pool on two machines: one owner.
        for last in [101, 102] {
            findings.push(session(
                &format!("198.51.100.{last}:40000"),
                "us1.bitminter.com",
                "broatcast",
                "account",
            ));
        }
        minetrace_client::submit_findings(&url, &sensor, &findings).unwrap();
        s.settle();

        let all = cases(&url, &admin);
        assert_eq!(all.len(), 22, "{n}");
        let of = |ip: &str| {
            all.iter()
                .find(|c| c["activity_key"] == format!("ip:{ip}"))
                .unwrap_or_else(|| panic!("{n}: no case for {ip}: {}", all[0]))
                .clone()
        };
        for i in 1..=20 {
            let c = of(&format!("198.51.100.{i}"));
            assert!(c["campaign_id"].is_null(), "{n}: {c}");
            assert!(!c["flags"].to_string().contains("machines"), "{n}: {c}");
            assert_ne!(c["estimate"]["legal"]["band"], "serious", "{n}: {c}");
        }
        let (a, b) = (of("198.51.100.101"), of("198.51.100.102"));
        assert!(a["campaign_id"].is_i64(), "{n}: {a}");
        assert_eq!(a["campaign_id"], b["campaign_id"], "{n}");
        assert!(b["flags"].to_string().contains("2 machines"), "{n}: {b}");
        let (_, body) = call(&url, "GET", "/api/v1/campaigns", Some(&admin), None, "");
        let campaigns = json(&body)["campaigns"].as_array().unwrap().clone();
        assert_eq!(campaigns.len(), 1, "{n}: {body}");
        assert_eq!(
            campaigns[0]["wallet"], "broatcast @ us1.bitminter.com",
            "{n}"
        );
        assert_eq!(campaigns[0]["hosts"], 2, "{n}");
    }
}

#[test]
fn an_account_login_does_not_hide_the_payout_address_of_the_same_case() {
    for env in servers() {
        let (n, s) = (env.name, &env.server);
        let (url, admin, sensor) = enrol(s);
        let paid = network_finding("198.51.100.7:40000", T0);
        let mut later = session("198.51.100.7:40001", "pool.example", "rig7", "account");
        later.first_seen.0 += 120_000_000;
        later.last_seen.0 += 120_000_000;
        later.assign_id();
        minetrace_client::submit_findings(&url, &sensor, &[paid]).unwrap();
        s.settle();
        minetrace_client::submit_findings(&url, &sensor, &[later]).unwrap();
        s.settle();
        let all = cases(&url, &admin);
        assert_eq!(all.len(), 1, "{n}");
        assert_eq!(all[0]["wallet"], WALLET, "{n}: {}", all[0]);
    }
}

#[test]
fn machines_of_one_wallet_in_one_batch_are_all_counted() {
    for env in servers() {
        let (n, s) = (env.name, &env.server);
        let (url, admin, sensor) = enrol(s);
        // A mirror port sees a trojan's twenty victims paying one address, in one capture.
        let findings: Vec<Finding> = (1..=20)
            .map(|i| network_finding(&format!("198.51.100.{i}:40000"), T0))
            .collect();
        minetrace_client::submit_findings(&url, &sensor, &findings).unwrap();
        s.settle();
        let all = cases(&url, &admin);
        assert_eq!(all.len(), 20, "{n}");
        for c in &all {
            assert_eq!(c["estimate"]["machines"], 20, "{n}: {c}");
            assert!(c["flags"].to_string().contains("20 machines"), "{n}: {c}");
            assert_eq!(
                c["estimate"]["legal"]["band"], "serious",
                "{n}: twenty machines are 情节严重"
            );
        }
        // One more machine later: counted with the twenty the store now holds.
        minetrace_client::submit_findings(
            &url,
            &sensor,
            &[network_finding("198.51.100.21:40000", T0 + 60_000_000)],
        )
        .unwrap();
        s.settle();
        let late = cases(&url, &admin)
            .into_iter()
            .find(|c| c["activity_key"] == "ip:198.51.100.21")
            .unwrap();
        assert_eq!(late["estimate"]["machines"], 21, "{n}: {late}");
    }
}

#[test]
fn a_priced_coin_gives_the_case_its_gains_and_they_reach_the_legal_band() {
    let dir = tempfile::tempdir().unwrap();
    let estimate = dir.path().join("estimate.toml");
    // A dated snapshot: 3 GH/s of network, 0.6 XMR per 2-minute block, 10,000 yuan per XMR.
    std::fs::write(
        &estimate,
        "[coins.XMR]\nfamily = \"randomx\"\nnetwork_difficulty = 3.6e11\nblock_reward = 0.6\n\
         block_time_s = 120\nprice = 10000.0\npool_fee = 0.0\nas_of = \"2026-12-01\"\n\
         source = \"test snapshot\"\n",
    )
    .unwrap();
    let mut options = minetrace_server::ServeOptions::new(dir.path());
    options.estimate = Some(estimate);
    let server = minetrace_server::spawn_background(options).unwrap();
    let (url, admin, sensor) = enrol(&server);
    let store = server.state.store.clone();
    // 300 kH/s of XMR: 432 yuan a day, 38,880 in the 90 days assumed (especially serious),
    // while its 6 kW cost about 8,200 yuan (below "serious" alone).
    let mut f = network_finding("198.51.100.9:40000", T0);
    f.evidence.hashrate.as_mut().unwrap().hashes_per_second = 3e5;
    f.evidence.coin = Some("XMR".into());
    f.assign_id();
    minetrace_client::submit_findings(&url, &sensor, &[f]).unwrap();
    server.settle();
    let case = cases(&url, &admin).remove(0);
    let gains = case["estimate"]["gains_total"]["value"].as_f64().unwrap();
    assert!((gains - 38_880.0).abs() < 1.0, "{case}");
    assert_eq!(case["estimate"]["legal"]["band"], "especially-serious");
    // The case page and the report show them.
    let reg = session::Session::regulator(&store, &url);
    let (_, page) = reg.get(&format!("/console/cases/{}", case["id"]));
    assert!(page.contains("id=\"gains\""), "{page}");
    assert!(
        page.contains("as of 2026-12-01"),
        "the derivation is on the page"
    );
    // The overview's statistics of open cases add them up by region and by coin.
    let (_, overview) = reg.get("/console/");
    let coin_table = overview
        .split("id=\"stats-coin\"")
        .nth(1)
        .expect("a statistics table by coin");
    assert!(
        coin_table.contains("<td>XMR</td><td>1</td><td>1</td>")
            && coin_table.contains("<td>38880</td>"),
        "{coin_table}"
    );
    assert!(overview.contains("id=\"stats-region\""));
    let (_, csv) = reg.get("/console/report.csv");
    let row = csv.lines().nth(1).unwrap();
    assert!(row.ends_with(",\"38880.00\""), "{row}");
}

#[test]
fn a_case_confirmed_false_positive_is_no_machine_of_its_campaign() {
    for env in servers() {
        let (n, s) = (env.name, &env.server);
        let (url, admin, sensor) = enrol(s);
        let at = |i: u8, t: i64| network_finding(&format!("198.51.100.{i}:40000"), t);
        minetrace_client::submit_findings(&url, &sensor, &[at(1, T0), at(2, T0)]).unwrap();
        s.settle();
        let first = cases(&url, &admin)
            .into_iter()
            .find(|c| c["activity_key"] == "ip:198.51.100.1")
            .unwrap();
        // An investigator finds the first address was a honeypot replaying traffic.
        let (status, body) = call(
            &url,
            "PATCH",
            &format!("/api/v1/cases/{}", first["id"]),
            Some(&admin),
            Some(br#"{"status": "investigating", "class": "false-positive"}"#),
            "application/json",
        );
        assert_eq!(status, 200, "{n}: {body}");
        minetrace_client::submit_findings(&url, &sensor, &[at(3, T0 + 60_000_000)]).unwrap();
        s.settle();
        let third = cases(&url, &admin)
            .into_iter()
            .find(|c| c["activity_key"] == "ip:198.51.100.3")
            .unwrap();
        assert_eq!(third["estimate"]["machines"], 2, "{n}: {third}");
        let (_, body) = call(&url, "GET", "/api/v1/campaigns", Some(&admin), None, "");
        assert_eq!(json(&body)["campaigns"][0]["hosts"], 2, "{n}: {body}");
    }
}
