//! `analyze --server` and `scan --server` against a real `minetrace server` process on 127.0.0.1:
//! tokens from `minetrace token create`, findings submitted once (a second run adds nothing), the
//! case visible through `minetrace cases list`, and a spool while the server is down.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::{bin, free_port, start_server, token};

fn simulate(dir: &Path) {
    bin()
        .args([
            "simulate",
            "--seed",
            "3",
            "--minutes",
            "2",
            "--scenario",
            "cryptonote-xmrig",
            "--out",
        ])
        .arg(dir)
        .assert()
        .success();
}

#[test]
fn analyze_submits_once_and_the_case_appears() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let sensor = token(&data, "mirror-sensor", "sensor");
    let admin = token(&data, "ops", "admin");
    let port = free_port();
    let _server = start_server(&data, port);
    let url = format!("http://127.0.0.1:{port}");
    let caps = tmp.path().join("caps");
    simulate(&caps);
    let pcap = caps.join("cryptonote-xmrig.pcap");

    let analyze = || {
        bin()
            .args(["analyze", "--quiet", "--format", "jsonl", "--server", &url])
            .env("MINETRACE_TOKEN", &sensor)
            .arg(&pcap)
            .output()
            .unwrap()
    };
    let first = analyze();
    let err = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{err}");
    assert!(err.contains("1 new finding(s), 0 already stored"), "{err}");
    // Findings carry their estimates (hashrate -> power -> energy, each with its basis).
    let line = String::from_utf8_lossy(&first.stdout);
    let f: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    let est = &f["evidence"]["extra"]["estimate"];
    assert!(est["power"]["value"].as_f64().unwrap() > 0.0, "{f}");
    assert_eq!(est["power"]["basis"], "estimated");

    let second = analyze();
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("0 new finding(s), 1 already stored"), "{err}");

    // Correlation runs in the background: the case shows up within a few seconds.
    let wallet = f["evidence"]["wallet"]["address"]
        .as_str()
        .unwrap()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = bin()
            .args([
                "cases", "list", "--json", "--server", &url, "--token", &admin,
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        if text.contains(&wallet) || text.contains(f["client"]["ip"].as_str().unwrap()) {
            break;
        }
        assert!(Instant::now() < deadline, "no case for the finding: {text}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // A wrong token is refused with a clear error and exit status 2 (the analysis still prints).
    let out = bin()
        .args(["analyze", "--quiet", "--format", "jsonl", "--server", &url])
        .args([
            "--token",
            "mt1_000000000000000000000000000000000000000000000000",
        ])
        .arg(&pcap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
}

#[test]
fn analyze_spools_while_the_server_is_down_and_sends_later() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let sensor = token(&data, "mirror-sensor", "sensor");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let caps = tmp.path().join("caps");
    simulate(&caps);
    let spool = tmp.path().join("spool");
    let run = || {
        bin()
            .args(["analyze", "--quiet", "--format", "jsonl", "--server", &url])
            .args(["--token", &sensor, "--spool"])
            .arg(&spool)
            .arg(caps.join("cryptonote-xmrig.pcap"))
            .output()
            .unwrap()
    };
    let down = run();
    let err = String::from_utf8_lossy(&down.stderr);
    assert_eq!(down.status.code(), Some(1), "{err}");
    assert!(err.contains("1 spooled"), "{err}");

    let _server = start_server(&data, port);
    let up = run();
    let err = String::from_utf8_lossy(&up.stderr);
    // The spooled copy goes first; the same finding from this run is then a duplicate.
    assert!(
        err.contains("0 new finding(s), 1 already stored; 1 sent from the spool"),
        "{err}"
    );
}

#[test]
fn server_flags_are_checked_before_any_work() {
    let out = bin()
        .args(["analyze", "/nonexistent.pcap", "--server", "ftp://x"])
        .args(["--token", "t"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--server ftp://x"));
    let out = bin()
        .args(["scan", "--server", "http://127.0.0.1:9"])
        .env_remove("MINETRACE_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token"));
}

/// `flows --server`: the findings from a flow file reach the server (each names its record), and
/// a second run adds nothing.
#[test]
fn flows_submit_their_findings() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/flows/cesnet-miner22-dev.csv");
    let Ok(text) = minetrace_core::io::read_bounded_string(&sample, 64 << 20) else {
        eprintln!("skipped: ../shared not present");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let flows = tmp.path().join("sample.csv");
    let head: Vec<&str> = text.lines().take(201).collect();
    std::fs::write(&flows, head.join("\n") + "\n").unwrap();
    let data = tmp.path().join("data");
    let collector = token(&data, "province-flows", "sensor");
    let port = free_port();
    let _server = start_server(&data, port);
    let url = format!("http://127.0.0.1:{port}");
    let run = || {
        bin()
            .args(["flows", "--format", "jsonl", "--server", &url])
            .env("MINETRACE_TOKEN", &collector)
            .arg(&flows)
            .output()
            .unwrap()
    };
    let first = run();
    let err = String::from_utf8_lossy(&first.stderr);
    let found = String::from_utf8_lossy(&first.stdout).lines().count();
    assert_eq!(first.status.code(), Some(1), "{err}");
    assert!(found > 10, "{err}");
    assert!(
        err.contains(&format!("{found} new finding(s), 0 already stored")),
        "{err}"
    );
    let again = run();
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains(&format!("0 new finding(s), {found} already stored")),
        "{err}"
    );
}
