//! What a host's process evidence says about who started the miner.

mod common;
use common::*;
use minetrace_store::Role;

fn proposed(process: minetrace_core::ProcessEvidence) -> serde_json::Value {
    let env = servers().remove(0);
    let s = &env.server;
    let url = s.url();
    let admin = s
        .state
        .store
        .create_source("regulator", Role::Admin)
        .unwrap()
        .1;
    let agent = s
        .state
        .store
        .create_source("agent-web-03", Role::Agent)
        .unwrap()
        .1;
    let mut f = host_finding("web-03", T0);
    f.evidence.process = Some(process);
    f.assign_id();
    minetrace_client::submit_findings(&url, &agent, &[f]).unwrap();
    s.settle();
    let (_, body) = call(&url, "GET", "/api/v1/cases", Some(&admin), None, "");
    json(&body)["cases"][0].clone()
}

/// cron's PAM session gives its jobs the owner's login uid, as a login would: a miner under
/// cron is persistence (a trojan's favourite), not a person's login session.
#[test]
fn a_miner_under_cron_is_persistence_not_a_login() {
    let cron_job = minetrace_core::ProcessEvidence {
        pid: 31337,
        name: "kdevtmpfsi".into(),
        exe: Some("/var/tmp/kdevtmpfsi".into()),
        user: Some("root".into()),
        uid: Some(0),
        loginuid: Some(0),
        login_user: Some("root".into()),
        ancestry: vec!["31300 sh".into(), "812 cron".into(), "1 systemd".into()],
        ..Default::default()
    };
    let case = proposed(cron_job.clone());
    assert_eq!(case["proposed_class"], "passive", "{case}");
    let reasons = case["reasons"].to_string();
    assert!(
        reasons.contains("started by a scheduled job (cron)"),
        "{reasons}"
    );
    assert!(!reasons.contains("interactive-login"), "{reasons}");
    assert!(case["reasons_zh"]
        .to_string()
        .contains("由计划任务（cron）启动"));

    // The same process from an SSH login is someone's session.
    let from_ssh = minetrace_core::ProcessEvidence {
        ancestry: vec!["31300 bash".into(), "31290 sshd".into(), "1 systemd".into()],
        login_from: Some("10.20.0.8".into()),
        exe: Some("/home/root/xmrig".into()),
        ..cron_job
    };
    assert_eq!(proposed(from_ssh)["proposed_class"], "active");
}

/// A login from outside the organisation's addresses is flagged: the account's owner from home,
/// or a password guessed from outside; the investigator tells which.
#[test]
fn a_login_from_outside_every_registered_range_is_flagged() {
    let login = |from: &str| minetrace_core::ProcessEvidence {
        pid: 4242,
        name: "xmrig".into(),
        exe: Some("/home/li.wei/xmrig".into()),
        user: Some("li.wei".into()),
        uid: Some(1001),
        loginuid: Some(1001),
        login_user: Some("li.wei".into()),
        login_from: Some(from.into()),
        ancestry: vec!["4100 bash".into(), "4000 sshd".into()],
        ..Default::default()
    };
    let outside = proposed(login("198.51.100.77"));
    let flags = outside["flags"].to_string();
    assert!(
        flags.contains("login from 198.51.100.77, outside every registered range"),
        "{flags}"
    );
    assert!(outside["flags_zh"]
        .to_string()
        .contains("不在任何登记网段内"));
    assert_eq!(
        outside["proposed_class"], "active",
        "flagged, not reclassified"
    );
    let inside = proposed(login("10.20.0.8"));
    assert!(!inside["flags"].to_string().contains("outside"), "{inside}");
}
