//! End-to-end per dialect from simulated captures: `minetrace simulate` writes every scenario with
//! its ground truth, `minetrace analyze` must find each mining scenario with the right dialect and
//! evidence and stay silent on every benign look-alike. Several findings are compared with golden
//! JSON in tests/golden (regenerate with `UPDATE_GOLDEN=1 cargo test -p minetrace --test simulated`).

mod support;

use assert_cmd::Command;
use std::path::Path;

/// Scenarios whose findings are pinned byte for byte (after removing the temp path).
const GOLDEN: &[&str] = &[
    "stratum-v1-btc",
    "cryptonote-xmrig",
    "eth-proxy",
    "stratum-v2-noise",
    "tls-stratum-sni",
    "dns-then-stratum",
];

fn simulate(dir: &Path) -> Vec<serde_json::Value> {
    Command::cargo_bin("minetrace")
        .unwrap()
        .args(["simulate", "--seed", "7", "--minutes", "5", "--out"])
        .arg(dir)
        .assert()
        .success();
    let truth = minetrace_core::io::read_bounded_string(&dir.join("truth.json"), 16 << 20).unwrap();
    serde_json::from_str(&truth).unwrap()
}

fn analyze(path: &Path) -> (i32, Vec<serde_json::Value>) {
    let out = support::analyze_jsonl(&[], [path]);
    let findings = support::json_lines(&out.stdout);
    (out.status.code().unwrap_or(-1), findings)
}

#[test]
fn every_simulated_scenario_is_judged_right() {
    let tmp = tempfile::tempdir().unwrap();
    let truth = simulate(tmp.path());
    assert!(truth.len() >= 20, "{} scenarios", truth.len());
    let mut problems = Vec::new();
    for t in &truth {
        let file = t["file"].as_str().unwrap();
        let (code, findings) = analyze(&tmp.path().join(file));
        let expected = t["expected_finding"].as_bool().unwrap();
        if !expected {
            if !findings.is_empty() || code != 0 {
                problems.push(format!("{file}: benign but got {findings:?}"));
            }
            continue;
        }
        if code != 1 {
            problems.push(format!("{file}: exit {code}, nothing found"));
            continue;
        }
        let want = t["dialect"].as_str().unwrap();
        let inner = t["inner_dialect"].as_str();
        let dialects: Vec<&str> = findings
            .iter()
            .filter_map(|f| f["dialect"].as_str())
            .collect();
        if !dialects.iter().any(|d| *d == want || Some(*d) == inner) {
            problems.push(format!("{file}: dialects {dialects:?}, want {want}"));
        }
        // Sessions whose content is encrypted show no wallet, agent, jobs or shares.
        let encrypted = matches!(want, "tls" | "behavioural" | "stratum-v2-noise");
        // The wallet the simulator used is the wallet reported.
        if let Some(wallet) = t["wallet"].as_str() {
            let reported = findings.iter().any(|f| {
                f["evidence"]["wallet"]["address"].as_str() == Some(wallet)
                    || f["evidence"]["login"]
                        .as_str()
                        .is_some_and(|l| l.starts_with(wallet))
            });
            // A DNS finding names the pool, not the login.
            if !reported && !encrypted && want != "dns" {
                problems.push(format!("{file}: wallet {wallet} not reported"));
            }
        }
        // And every job the pool sent to a lone miner, where the session is readable from
        // its start.
        let readable = !encrypted && !file.starts_with("mid-session");
        let one_client = t["clients"].as_array().is_some_and(|c| c.len() == 1);
        if let (Some(jobs), true) = (t["jobs"].as_u64(), readable && one_client) {
            let sum = |k: &str| -> u64 {
                findings
                    .iter()
                    .filter_map(|f| f["evidence"][k].as_u64())
                    .sum()
            };
            if sum("jobs") != jobs {
                problems.push(format!(
                    "{file}: {} jobs, the pool sent {jobs}",
                    sum("jobs")
                ));
            }
            let counted = (sum("shares_submitted"), sum("shares_accepted"));
            let sent = (
                t["shares"].as_u64().unwrap_or(0),
                t["accepted_shares"].as_u64().unwrap_or(0),
            );
            if counted != sent {
                problems.push(format!(
                    "{file}: shares (submitted, accepted) {counted:?}, the miner sent {sent:?}"
                ));
            }
        }
        // So is the miner software, where the session is readable.
        if let Some(agent) = t["agent"].as_str() {
            let reported = findings.iter().any(|f| {
                f["evidence"]["agent"]
                    .as_str()
                    .is_some_and(|a| a.contains(agent))
            });
            if !reported && !encrypted {
                problems.push(format!("{file}: agent {agent} not reported"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The hashrate each finding estimates is what its accepted shares stand for, at the
/// difficulty the simulator set, over the time the finding saw: the estimator's units agree with
/// the simulator's for every dialect whose coin is known (a Bitcoin-style session without one
/// says its family is assumed).
#[test]
fn estimated_hashrates_are_what_the_shares_stand_for() {
    let tmp = tempfile::tempdir().unwrap();
    let truth = simulate(tmp.path());
    let mut compared = 0;
    let mut problems = Vec::new();
    for t in &truth {
        let Some(per_share) = t["hashes_per_share"].as_f64() else {
            continue;
        };
        let file = t["file"].as_str().unwrap();
        let (_, findings) = analyze(&tmp.path().join(file));
        for f in &findings {
            let e = &f["evidence"];
            if e["hashrate"]["basis"] != "estimated" {
                continue;
            }
            let estimate = e["hashrate"]["hashes_per_second"].as_f64().unwrap();
            let method = e["hashrate"]["method"].as_str().unwrap_or_default();
            if e["extra"]["algorithm_family_assumed"] == true {
                if !method.contains("SHA-256d assumed") {
                    problems.push(format!("{file}: assumed family not said in {method:?}"));
                }
                continue;
            }
            let seen =
                |k: &str| minetrace_core::Timestamp::parse_rfc3339(f[k].as_str().unwrap()).unwrap();
            let seconds = seen("last_seen").seconds_since(seen("first_seen"));
            let shares = e["shares_accepted"].as_f64().unwrap_or(0.0);
            let expected = shares * per_share / seconds;
            let ratio = estimate / expected;
            if !(0.8..=1.25).contains(&ratio) {
                problems.push(format!(
                    "{file}: estimate {estimate:.4e} H/s, {shares} shares of {per_share:.4e} \
                     hashes over {seconds:.1} s give {expected:.4e} (x{ratio:.3})"
                ));
            }
            compared += 1;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(compared >= 10, "only {compared} estimates compared");
}

#[test]
fn golden_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let truth = simulate(tmp.path());
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for name in GOLDEN {
        let t = truth
            .iter()
            .find(|t| t["scenario"] == *name)
            .unwrap_or_else(|| panic!("scenario {name} missing"));
        let file = t["file"].as_str().unwrap();
        let (_, mut findings) = analyze(&tmp.path().join(file));
        for f in &mut findings {
            // The temp directory differs between runs; the file name does not.
            f["source"]["name"] = serde_json::Value::String(file.to_string());
            f["id"] = serde_json::Value::String("<id>".into());
        }
        let got = serde_json::to_string_pretty(&findings).unwrap() + "\n";
        let path = golden_dir.join(format!("{name}.json"));
        if update || !path.exists() {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = minetrace_core::io::read_bounded_string(&path, 16 << 20).unwrap();
        assert_eq!(got, want, "{name}: findings differ from {}", path.display());
    }
}

#[test]
fn evidence_dir_holds_each_session_with_hashes() {
    let tmp = tempfile::tempdir().unwrap();
    simulate(tmp.path());
    let ev = tmp.path().join("evidence");
    let out = Command::cargo_bin("minetrace")
        .unwrap()
        .args(["analyze", "--quiet", "--format", "jsonl", "--evidence-dir"])
        .arg(&ev)
        .arg(tmp.path().join("cryptonote-xmrig.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let finding: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    let id = finding["id"].as_str().unwrap();
    let sidecar: serde_json::Value = serde_json::from_slice(
        &minetrace_core::io::read_bounded(&ev.join(format!("{id}.json")), 16 << 20).unwrap(),
    )
    .unwrap();
    let pcap = minetrace_core::io::read_bounded(&ev.join(format!("{id}.pcap")), 64 << 20).unwrap();
    use sha2::Digest;
    assert_eq!(
        sidecar["pcap_sha256"].as_str().unwrap(),
        hex::encode(sha2::Sha256::digest(&pcap))
    );
    assert!(sidecar["packets"].as_u64().unwrap() > 10);
    // The session pcap is itself a capture that yields the same finding.
    let (code, again) = analyze(&ev.join(format!("{id}.pcap")));
    assert_eq!(code, 1);
    assert_eq!(
        again[0]["evidence"]["wallet"],
        finding["evidence"]["wallet"]
    );
}

/// Rigs behind one NAT address, plain and TLS, and behind a mining proxy: for three seeds the
/// estimate's range contains the simulator's truth; with clocks or rig ids it is exact.
#[test]
fn rig_estimates_contain_the_truth() {
    let mut table = Vec::new();
    for seed in ["3", "11", "29"] {
        let tmp = tempfile::tempdir().unwrap();
        Command::cargo_bin("minetrace")
            .unwrap()
            .args(["simulate", "--seed", seed, "--minutes", "4", "--out"])
            .arg(tmp.path())
            .args(["--scenario", "nat-rigs", "--scenario", "nat-rigs-tls"])
            .args(["--scenario", "xmrig-proxy-nicehash"])
            .assert()
            .success();
        let truth: Vec<serde_json::Value> = serde_json::from_str(
            &minetrace_core::io::read_bounded_string(&tmp.path().join("truth.json"), 1 << 20)
                .unwrap(),
        )
        .unwrap();
        for t in &truth {
            let out = Command::cargo_bin("minetrace")
                .unwrap()
                .args(["analyze", "--quiet", "--format", "hosts"])
                .arg(tmp.path().join(t["file"].as_str().unwrap()))
                .output()
                .unwrap();
            let hosts: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(hosts.len(), 1, "{hosts:?}");
            let est = &hosts[0]["rig_estimate"];
            let (low, high, point) = (
                est["low"].as_u64().unwrap(),
                est["high"].as_u64().unwrap(),
                est["point"].as_u64().unwrap(),
            );
            let rigs = t["rigs"].as_u64().unwrap();
            let name = t["scenario"].as_str().unwrap_or_default().to_string();
            assert!(
                low <= rigs && rigs <= high,
                "{name} seed {seed}: {rigs} not in {est}"
            );
            if name != "xmrig-proxy-nicehash" {
                assert_eq!(point, rigs, "{name} seed {seed}: {est}");
            }
            table.push(format!(
                "{name} seed {seed}: truth {rigs}, estimate {point} ({low}-{high})"
            ));
        }
    }
    println!("{}", table.join("\n"));
}

/// With several threads every thread learns the DNS answers in capture order, so a pool session
/// that lands on any thread still gets the name its client asked for (shards 2 to 6 put the
/// session on a thread other than the one that reports DNS at least once).
#[test]
fn threads_keep_the_pool_name_learned_from_dns() {
    let tmp = tempfile::tempdir().unwrap();
    Command::cargo_bin("minetrace")
        .unwrap()
        .args(["simulate", "--seed", "7", "--minutes", "2", "--out"])
        .arg(tmp.path())
        .args(["--scenario", "dns-then-stratum"])
        .assert()
        .success();
    let file = tmp.path().join("dns-then-stratum.pcap");
    let run = |threads: &str| {
        let out = support::analyze_jsonl(&["--threads", threads], [&file]);
        let mut lines: Vec<String> = support::json_lines(&out.stdout)
            .iter()
            .map(|v| v.to_string())
            .collect();
        lines.sort();
        lines
    };
    let one = run("1");
    let stratum = one
        .iter()
        .find(|l| l.contains(r#""detector":"stratum""#))
        .expect("the stratum session is found");
    assert!(
        stratum.contains(r#""pool_host":"pool.hashvault.pro""#),
        "{stratum}"
    );
    for threads in ["2", "3", "4", "5", "6"] {
        assert_eq!(one, run(threads), "--threads {threads}");
    }

    // A pipe can be read once only: with --threads it is read by one thread, and whole.
    let fifo = tmp.path().join("pipe.pcap");
    if std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        let (from, to) = (file.clone(), fifo.clone());
        let writer = std::thread::spawn(move || {
            let mut out = std::fs::OpenOptions::new().write(true).open(to).unwrap();
            std::io::copy(&mut std::fs::File::open(from).unwrap(), &mut out).unwrap();
        });
        let out = support::analyze_jsonl(&["--threads", "2"], [&fifo]);
        writer.join().unwrap();
        let sessions = |lines: &[serde_json::Value]| {
            let mut s: Vec<String> = lines
                .iter()
                .map(|v| format!("{} {} {}", v["detector"], v["client"], v["evidence"]))
                .collect();
            s.sort();
            s
        };
        let from_file =
            support::json_lines(&support::analyze_jsonl(&["--threads", "1"], [&file]).stdout);
        assert_eq!(
            sessions(&support::json_lines(&out.stdout)),
            sessions(&from_file)
        );
    } else {
        println!("pipe part skipped: mkfifo not available");
    }
}
