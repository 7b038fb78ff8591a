//! A registered research project makes a case "research" only when its approved period covers
//! the whole activity: mining that goes on after the approval ran out (or began before it) is
//! not covered, and the case says so.

mod common;
mod session;
use common::*;
use minetrace_store::Role;

const DAY: i64 = 86_400_000_000;

fn case_of(url: &str, admin: &str) -> serde_json::Value {
    let (status, body) = call(url, "GET", "/api/v1/cases", Some(admin), None, "");
    assert_eq!(status, 200, "{body}");
    json(&body)["cases"][0].clone()
}

/// Registers a research project for gpu-01 from `starts` to `ends`, then has its agent report a
/// miner that ran from T0 for two hours, started from li.wei's login session; the case.
fn project_then_miner(
    s: &minetrace_server::BackgroundServer,
    admin: &str,
    agent: &str,
    starts: i64,
    ends: i64,
) -> serde_json::Value {
    let url = s.url();
    let project = serde_json::json!({
        "name": "GPU lab hashing study", "host": "gpu-01", "starts": starts,
        "ends": ends, "approver": "dean",
    })
    .to_string();
    let (status, body) = call(
        &url,
        "POST",
        "/api/v1/projects",
        Some(admin),
        Some(project.as_bytes()),
        "application/json",
    );
    assert_eq!(status, 200, "{body}");
    s.settle();
    let mut f = host_finding("gpu-01", T0);
    f.last_seen.0 = T0 + 2 * 3_600_000_000;
    f.assign_id();
    minetrace_client::submit_findings(&url, agent, &[f]).unwrap();
    s.settle();
    case_of(&url, admin)
}

#[test]
fn a_project_covers_only_the_mining_within_its_approved_period() {
    // (project period, expected class, flag expected)
    let periods = [
        ((T0 - DAY, T0 + DAY), "research", false),
        // Approved until an hour before the miner was last seen.
        ((T0 - DAY, T0 + 3_600_000_000 - 1), "active", true),
        // Approved only from the day after.
        ((T0 + DAY, T0 + 2 * DAY), "active", false),
    ];
    for ((starts, ends), class, flagged) in periods {
        for env in servers() {
            let (n, s) = (env.name, &env.server);
            let store = s.state.store.clone();
            let admin = store.create_source("regulator", Role::Admin).unwrap().1;
            let agent = store.create_source("agent-gpu-01", Role::Agent).unwrap().1;
            let case = project_then_miner(s, &admin, &agent, starts, ends);
            assert_eq!(
                case["proposed_class"], class,
                "{n}: project {starts}..{ends}: {case}"
            );
            let flags = case["flags"].to_string();
            assert_eq!(
                flags.contains("outside the approved period"),
                flagged,
                "{n}: {flags}"
            );
        }
    }
}

#[test]
fn reasons_and_flags_read_in_the_console_language() {
    let env = servers().remove(0);
    let s = &env.server;
    let url = s.url();
    let store = s.state.store.clone();
    let admin = store.create_source("regulator", Role::Admin).unwrap().1;
    let agent = store.create_source("agent-gpu-01", Role::Agent).unwrap().1;
    let case = project_then_miner(s, &admin, &agent, T0 - DAY, T0 + 3_600_000_000);
    let lines = |k: &str| case[k].as_array().map_or(0, Vec::len);
    assert_eq!(lines("reasons"), lines("reasons_zh"));
    assert_eq!(lines("flags"), lines("flags_zh"));
    let reg = session::Session::regulator(&store, &url);
    let page = format!("/console/cases/{}", case["id"]);
    let (_, zh) = reg.get_in("zh", &page);
    for words in [
        "规则 3，主动挖矿：挖矿程序由某人的登录会话启动",
        "交互式登录：xmrig (pid 4242) 运行在 li.wei 的登录会话中（来自 10.20.0.8）",
        "挖矿超出科研项目 &quot;GPU lab hashing study&quot; 的批准期限",
    ] {
        assert!(zh.contains(words), "{words}: {zh}");
    }
    assert!(!zh.contains("rule 3 (active)"));
    let (_, en) = reg.get_in("en", &page);
    assert!(
        en.contains("rule 3 (active): the miner was started from a person"),
        "{en}"
    );
    assert!(en.contains("mining outside the approved period"));
}
