//! The README's first command, `minetrace demo`: simulates a unit's traffic, analyses it, holds
//! every scenario to the simulator's ground truth, and serves the findings in the console with a
//! login it prints. Runs the real binary; the console is reached over loopback.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// "label: A of B" -> (A, B).
fn count_after(line: &str, label: &str) -> (usize, usize) {
    let rest = &line[line
        .find(label)
        .unwrap_or_else(|| panic!("{label} in {line}"))
        + label.len()..];
    let mut words = rest.split([' ', ';']).filter(|w| !w.is_empty());
    let a = words.next().unwrap().parse().unwrap();
    assert_eq!(words.next(), Some("of"), "{line}");
    let b = words.next().unwrap().parse().unwrap();
    (a, b)
}

#[test]
fn demo_finds_every_scenario_and_keeps_the_look_alikes_silent() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("demo");
    let out = support::bin()
        .args(["demo", "--no-serve", "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "findings: exit 1\n{text}");
    let summary = text
        .lines()
        .find(|l| l.starts_with("mining scenarios found:"))
        .unwrap_or_else(|| panic!("no summary line\n{text}"));
    let (found, mining) = count_after(summary, "mining scenarios found:");
    let (silent, benign) = count_after(summary, "benign look-alikes silent:");
    assert!(mining >= 20 && found == mining, "{summary}");
    assert!(benign >= 8 && silent == benign, "{summary}");
    let jsonl =
        minetrace_core::io::read_bounded_string(&out_dir.join("findings.jsonl"), 64 << 20).unwrap();
    let findings = support::json_lines(jsonl.as_bytes());
    assert!(findings.len() >= mining, "{} findings", findings.len());
    assert!(findings
        .iter()
        .all(|f| f["id"].as_str().is_some_and(|id| !id.is_empty())));
}

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request on a fresh connection; the whole answer (the server closes it).
fn http(port: u16, request: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// Posts the console's login form as `admin` with `password` (the double-submit token is ours
/// to choose: the form's must only match the cookie's).
fn post_login(port: u16, password: &str) -> String {
    let body = format!("user=admin&password={}&csrf=t0k3n", form_encode(password));
    http(
        port,
        &format!(
            "POST /console/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: mt_login_csrf=t0k3n\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .unwrap()
}

fn form_encode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn demo_serves_its_findings_with_the_login_it_prints() {
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let child = Command::new(assert_cmd::cargo::cargo_bin("minetrace"))
        .args(["demo", "--out"])
        .arg(dir.path().join("demo"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut demo = Demo(child);
    let stdout = demo.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut password = None;
    let mut served = None;
    while password.is_none() || served.is_none() {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the demo printed its login and started serving");
        if let Some(p) = line.split("password: ").nth(1) {
            password = Some(p.trim().to_string());
        }
        if let Some(rest) = line.strip_prefix("== Serving the findings (") {
            served = rest.split(' ').next().and_then(|n| n.parse::<usize>().ok());
        }
    }
    assert!(served.unwrap() > 0, "findings stored for the console");
    let password = password.unwrap();

    // The console answers once the server is up.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match http(
            port,
            "GET /console/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ) {
            Ok(a) if a.starts_with("HTTP/1.1 200") => break,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            other => panic!("console not up: {other:?}"),
        }
    }
    // The printed password logs in.
    let answer = post_login(port, &password);
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    let session = answer
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: mt_session=")
                .or(l.strip_prefix("Set-Cookie: mt_session="))
        })
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string();
    let page = http(
        port,
        &format!("GET /console/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: mt_session={session}\r\n\r\n"),
    )
    .unwrap();
    assert!(
        page.starts_with("HTTP/1.1 200"),
        "{}",
        &page[..page.len().min(400)]
    );
    // A wrong password does not.
    let answer = post_login(port, "not-the-password");
    assert!(
        answer.starts_with("HTTP/1.1 401"),
        "{}",
        &answer[..answer.len().min(200)]
    );
}
