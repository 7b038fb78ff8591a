//! The acceptance test of the network engine on real captures (../shared/data/captures):
//! every `mining` capture yields a finding of the right dialect; no `benign` or `crypto_p2p`
//! capture yields any; `malformed` ones end without a panic (exit 0, 1 or 2 with a message).

mod support;

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn captures() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/captures");
    if p.join("MANIFEST.tsv").exists() {
        Some(p)
    } else {
        eprintln!("skipped: ../shared not present");
        None
    }
}

fn manifest(root: &Path) -> Vec<(String, String)> {
    minetrace_core::io::read_bounded_string(&root.join("MANIFEST.tsv"), 16 << 20)
        .expect("MANIFEST.tsv")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut c = l.split('\t');
            Some((c.next()?.to_string(), c.next()?.to_string()))
        })
        .collect()
}

/// Dialects a mining capture must show (at least one of them).
fn expected_dialects(file: &str) -> &'static [&'static str] {
    let name = file.rsplit('/').next().unwrap_or(file);
    match name {
        "mining.pcapng" => &["eth-proxy", "cryptonote", "stratum-equihash"],
        "bitcoin-mining.pcap" | "cgminer.g0.pcapng" => &["http-getwork"],
        // Coinhive's web miner: Stratum inside TLS to coinhive.com.
        "coinhive-stratum.pcap" => &["tls", "behavioural"],
        "cgminer.s0.pcapng" => &["stratum-v1"],
        "eth-eu1.nanopool.org.pcapng" => &["eth-proxy"],
        "zec-eu1.nanopool.org.pcapng" => &["stratum-equihash"],
        // xmr-eu1.nanopool.org and the CJ-Sniffer XMRig sessions.
        _ => &["cryptonote"],
    }
}

fn analyze(paths: &[PathBuf]) -> (i32, Vec<serde_json::Value>, String) {
    let out = Command::cargo_bin("minetrace")
        .unwrap()
        .arg("analyze")
        .arg("--quiet")
        .args(["--format", "jsonl"])
        .args(paths)
        .output()
        .unwrap();
    let findings = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON finding"))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        findings,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_mining_capture_is_found_with_its_dialect() {
    let Some(root) = captures() else { return };
    let mut missed = Vec::new();
    for (file, label) in manifest(&root) {
        if label != "mining" {
            continue;
        }
        let (code, findings, stderr) = analyze(&[root.join(&file)]);
        let want = expected_dialects(&file);
        let found: Vec<&str> = findings
            .iter()
            .filter_map(|f| f["dialect"].as_str())
            .collect();
        if code != 1 || !found.iter().any(|d| want.contains(d)) {
            missed.push(format!(
                "{file}: exit {code}, dialects {found:?}, want one of {want:?}; {stderr}"
            ));
        }
    }
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
}

#[test]
fn benign_and_node_traffic_stay_silent() {
    let Some(root) = captures() else { return };
    let files: Vec<PathBuf> = manifest(&root)
        .into_iter()
        .filter(|(_, l)| l == "benign" || l == "crypto_p2p")
        .map(|(f, _)| root.join(f))
        .collect();
    assert!(files.len() > 200);
    let (code, findings, stderr) = analyze(&files);
    let noisy: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {:?}",
                f["source"]["name"], f["detector"], f["dialect"], f["reasons"]
            )
        })
        .collect();
    assert!(noisy.is_empty(), "false positives:\n{}", noisy.join("\n"));
    assert!(code == 0 || code == 2, "exit {code}: {stderr}");
}

#[test]
fn malformed_captures_end_without_a_panic() {
    let Some(root) = captures() else { return };
    for (file, label) in manifest(&root) {
        if label != "malformed" {
            continue;
        }
        let (code, _findings, stderr) = analyze(&[root.join(&file)]);
        assert!((0..=2).contains(&code), "{file}: exit {code}: {stderr}");
        assert!(!stderr.contains("panicked"), "{file}: {stderr}");
        if code == 2 {
            assert!(
                stderr.contains("offset"),
                "{file}: error must name the offset: {stderr}"
            );
        }
    }
}

#[test]
fn threads_give_the_same_findings_as_one_thread() {
    let Some(root) = captures() else { return };
    let dir = root.join("mining");
    let run = |threads: &str| {
        let out = support::analyze_jsonl(&["--threads", threads], [&dir]);
        let mut ids: Vec<String> = support::json_lines(&out.stdout)
            .iter()
            .map(|v| format!("{} {}", v["id"], v["dialect"]))
            .collect();
        ids.sort();
        ids
    };
    let one = run("1");
    assert!(!one.is_empty());
    assert_eq!(one, run("2"));
    assert_eq!(one, run("3"));
}

/// TCP connections that never carried payload, to addresses the same capture proves to be pools
/// (nDPI flags them from its address list): reported at `Low` confidence as connection attempts.
#[test]
fn attempts_to_pools_proven_in_the_same_capture_are_reported() {
    let Some(root) = captures() else { return };
    let cases: [(&str, &[&str]); 3] = [
        (
            "mining/bitcoin-mining.pcap",
            &[
                "10.0.2.15:50506 113.21.199.11:3333",
                "10.0.2.15:50512 113.21.199.11:3333",
            ],
        ),
        (
            "mining/cgminer.g0.pcapng",
            &[
                "192.168.1.100:57408 178.217.186.125:3338",
                "192.168.1.100:57542 52.31.186.94:9500",
                "192.168.1.100:58075 120.55.29.131:8008",
            ],
        ),
        (
            "mining/1574720899_9M3tc.pcap",
            &["10.108.8.154:56751 47.101.30.124:13531"],
        ),
    ];
    for (file, want) in cases {
        let (_, findings, _) = analyze(&[root.join(file)]);
        let attempts: Vec<String> = findings
            .iter()
            .filter(|f| f["evidence"]["extra"]["connection_attempt"] == true)
            .map(|f| {
                assert_eq!(f["confidence"], "low", "{f}");
                format!(
                    "{}:{} {}:{}",
                    f["client"]["ip"].as_str().unwrap_or(""),
                    f["client"]["port"],
                    f["server"]["ip"].as_str().unwrap_or(""),
                    f["server"]["port"]
                )
            })
            .collect();
        for w in want {
            assert!(
                attempts.iter().any(|a| a == w),
                "{file}: {w} not in {attempts:?}"
            );
        }
    }
}
