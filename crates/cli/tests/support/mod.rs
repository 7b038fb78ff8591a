//! Helpers shared by the CLI integration tests that talk to a real `minetrace server` process
//! on 127.0.0.1 (each test binary includes this module with `mod support;`).
#![allow(dead_code)]

use assert_cmd::Command;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> Command {
    Command::cargo_bin("minetrace").unwrap()
}

/// `minetrace analyze --quiet --format jsonl` with `extra` options on `paths`.
pub fn analyze_jsonl<P: AsRef<std::ffi::OsStr>>(
    extra: &[&str],
    paths: impl IntoIterator<Item = P>,
) -> std::process::Output {
    bin()
        .args(["analyze", "--quiet", "--format", "jsonl"])
        .args(extra)
        .args(paths)
        .output()
        .unwrap()
}

/// The JSON objects of JSON Lines output.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

pub fn token(data: &Path, name: &str, role: &str) -> String {
    let out = bin()
        .args(["token", "create", "--data"])
        .arg(data)
        .args(["--name", name, "--role", role])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A port below the kernel's ephemeral range (32768-60999 by default) that is free now. Tests
/// start a server on it later, or again after stopping it; a port from the ephemeral range may
/// meanwhile become the source port of any loopback connection of a test running alongside.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = 20_000 + std::process::id() % 6_000;
    loop {
        let port = (start + NEXT.fetch_add(1, Ordering::Relaxed) % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start_server(data: &Path, port: u16) -> Server {
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("minetrace"))
        .args(["server", "--data"])
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server(child)
}
