//! `minetrace scan` and `minetrace agent` end to end: exit codes, JSON Lines, a prepared root
//! tree, a renamed process, and the agent's spool and upload to a test server on 127.0.0.1.

use assert_cmd::Command;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn put(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn spawn_miner_lookalike() -> Guard {
    let child = std::process::Command::new("bash")
        .arg("-c")
        .arg("exec -a 'xmrig -o stratum+tcp://pool.example.org:3333 --donate-level 1' sleep 60")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    for _ in 0..200 {
        let cmd = minetrace_core_read(&format!("/proc/{pid}/cmdline"));
        if cmd.contains("stratum") && !cmd.contains("exec -a") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Guard(child)
}

fn minetrace_core_read(path: &str) -> String {
    let mut buf = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(1 << 20).read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn clean_root_exits_zero() {
    let d = tempfile::tempdir().unwrap();
    put(
        d.path(),
        "etc/crontab",
        b"17 * * * * root cd / && run-parts --report /etc/cron.hourly\n",
    );
    Command::cargo_bin("minetrace")
        .unwrap()
        .args(["scan", "--files-only", "--format", "jsonl", "--root"])
        .arg(d.path())
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn persistence_in_a_prepared_root_exits_one_with_a_proposed_class() {
    let d = tempfile::tempdir().unwrap();
    put(
        d.path(),
        "etc/cron.d/sys",
        b"*/5 * * * * root /tmp/.x/kdevtmpfsi -o stratum+tcp://pool.example.org:3333\n",
    );
    put(
        d.path(),
        "etc/ld.so.preload",
        b"/usr/local/lib/libhide.so\n",
    );
    let out = Command::cargo_bin("minetrace")
        .unwrap()
        .args(["scan", "--files-only", "--format", "jsonl", "--root"])
        .arg(d.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v = lines(&out);
    assert!(v
        .iter()
        .any(|f| f["detector"] == "host-persistence" && f["confidence"] == "high"));
    assert!(v.iter().any(|f| f["detector"] == "host-ld-preload"));
    let summary = v
        .iter()
        .find(|f| f["detector"] == "host-summary")
        .expect("summary");
    assert_eq!(summary["evidence"]["extra"]["proposed_class"], "passive");
    assert!(!summary["evidence"]["extra"]["class_reasons"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn bad_arguments_exit_two() {
    Command::cargo_bin("minetrace")
        .unwrap()
        .args(["scan", "--root", "/nonexistent/minetrace-root"])
        .assert()
        .code(2);
    Command::cargo_bin("minetrace")
        .unwrap()
        .args(["scan", "--respond", "kill"])
        .assert()
        .code(2);
}

#[test]
fn renamed_process_is_found_in_jsonl_and_table() {
    let g = spawn_miner_lookalike();
    let pid = g.0.id();
    let d = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("minetrace")
        .unwrap()
        .args([
            "scan",
            "--no-files",
            "--no-hidden-pids",
            "--no-gpu",
            "--cpu-window",
            "0",
            "--format",
            "jsonl",
            "--root",
        ])
        .arg(d.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v = lines(&out);
    let f = v
        .iter()
        .find(|f| f["detector"] == "host-miner-process" && f["evidence"]["process"]["pid"] == pid)
        .expect("miner finding for the renamed process");
    assert_eq!(f["confidence"], "high");
    assert_eq!(f["evidence"]["pool_host"], "pool.example.org");
    assert!(f["evidence"]["process"]["ancestry"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
    let table = Command::cargo_bin("minetrace")
        .unwrap()
        .args([
            "scan",
            "--no-files",
            "--no-hidden-pids",
            "--no-gpu",
            "--cpu-window",
            "0",
            "--format",
            "table",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let t = String::from_utf8_lossy(&table);
    assert!(t.starts_with("CONF"), "{t}");
    assert!(t.contains(&pid.to_string()));
}

/// What the test ingest server saw: (request line's path, Authorization, body).
type Seen = Arc<Mutex<Vec<(String, String, serde_json::Value)>>>;

/// A test ingest server on 127.0.0.1: answers 200 and records each request (path, headers, body).
fn ingest_server(listener: TcpListener, seen: Seen) {
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0usize;
            let mut auth = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("authorization:") {
                    auth = line["authorization:".len()..].trim().to_string();
                }
                head.push_str(&line);
            }
            let mut body = vec![0u8; len.min(16 << 20)];
            let _ = reader.read_exact(&mut body);
            let v: serde_json::Value =
                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            let path = head
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            seen.lock().unwrap().push((path, auth, v));
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        }
    });
}

#[test]
fn agent_spools_while_the_server_is_down_and_drains_without_duplicates() {
    let g = spawn_miner_lookalike();
    let pid = g.0.id();
    let spool = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let agent = |server: &str| {
        Command::cargo_bin("minetrace")
            .unwrap()
            .args([
                "agent",
                "--no-files",
                "--no-hidden-pids",
                "--no-gpu",
                "--interval",
                "0.2",
                "--poll",
                "0",
                "--iterations",
                "2",
            ])
            .args(["--server", server, "--token", "s3cret", "--spool"])
            .arg(spool.path())
            .arg("--root")
            .arg(root.path())
            .timeout(Duration::from_secs(120))
            .assert()
            .code(0)
            .get_output()
            .clone()
    };
    // 1. Server down: port 1 (tcpmux), which no service here runs and which binding port 0
    // never hands out (a port just released could go to another test's server at once).
    let out = agent("http://127.0.0.1:1");
    assert!(String::from_utf8_lossy(&out.stderr).contains("stay in the spool"));
    let spooled: usize = std::fs::read_dir(spool.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
        .map(|e| {
            minetrace_core_read(&e.path().to_string_lossy())
                .lines()
                .count()
        })
        .sum();
    assert!(spooled >= 1);
    // 2. Server up: the spool drains, with the token.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    ingest_server(listener, seen.clone());
    agent(&format!("http://127.0.0.1:{port}"));
    // 3. Again: nothing already delivered is sent twice.
    agent(&format!("http://127.0.0.1:{port}"));
    let seen = seen.lock().unwrap();
    let posts: Vec<&serde_json::Value> = seen
        .iter()
        .filter(|(path, _, _)| path == "/api/v1/ingest/findings")
        .map(|(_, _, body)| body)
        .collect();
    assert!(!posts.is_empty());
    assert!(seen.iter().all(|(_, auth, _)| auth == "Bearer s3cret"));
    let mut ids = Vec::new();
    for body in &posts {
        for f in body["findings"].as_array().unwrap() {
            ids.push(f["id"].as_str().unwrap().to_string());
        }
    }
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "duplicates sent: {ids:?}");
    assert!(posts
        .iter()
        .flat_map(|b| b["findings"].as_array().unwrap().iter())
        .any(|f| f["evidence"]["process"]["pid"] == pid));
    // And heartbeats: one at the start of each run that reached the server, naming the host the
    // findings name, with the agent's counters (the inventory comes from --root, empty here).
    let beats: Vec<&serde_json::Value> = seen
        .iter()
        .filter(|(path, _, _)| path == "/api/v1/ingest/heartbeat")
        .map(|(_, _, body)| body)
        .collect();
    assert_eq!(beats.len(), 2, "{beats:?}");
    let host = posts[0]["findings"][0]["host"].as_str().unwrap();
    for b in &beats {
        assert_eq!(b["host"], host, "{b}");
        assert!(
            b["agent"].as_str().unwrap().starts_with("minetrace "),
            "{b}"
        );
        assert!(b["scans"].as_u64().unwrap() >= 1, "{b}");
        // The one miner look-alike, found by this run's first scan.
        assert_eq!(b["findings"], 1, "{b}");
    }
}

#[test]
fn agent_without_server_logs_jsonl() {
    let g = spawn_miner_lookalike();
    let pid = g.0.id();
    let spool = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("minetrace")
        .unwrap()
        .args([
            "agent",
            "--no-files",
            "--no-hidden-pids",
            "--no-gpu",
            "--interval",
            "0.2",
            "--poll",
            "0",
            "--iterations",
            "2",
            "--spool",
        ])
        .arg(spool.path())
        .timeout(Duration::from_secs(120))
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v = lines(&out);
    let mine: Vec<&serde_json::Value> = v
        .iter()
        .filter(|f| f["detector"] == "host-miner-process" && f["evidence"]["process"]["pid"] == pid)
        .collect();
    assert_eq!(mine.len(), 1, "logged once over two scans");
}
