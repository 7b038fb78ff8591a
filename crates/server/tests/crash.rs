//! `kill -9` during ingest loses no acknowledged finding (SQLite WAL, synchronous=FULL).

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn start(data: &std::path::Path, port: u16) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_minetrace-server"))
        .args([
            "--data",
            data.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start");
}

#[test]
fn kill_9_during_ingest_loses_no_acknowledged_finding() {
    let dir = tempfile::tempdir().unwrap();
    let token = {
        let store = minetrace_store::Store::open(dir.path(), None).unwrap();
        store
            .create_source("sensor", minetrace_store::Role::Sensor)
            .unwrap()
            .1
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = start(dir.path(), port);
    let url = format!("http://127.0.0.1:{port}");
    let mut client = minetrace_client::Client::new(&url, &token).unwrap();
    client.attempts = 1;

    let killer = std::thread::spawn(move || {
        let mut child = child;
        std::thread::sleep(Duration::from_millis(1500));
        // Child::kill is SIGKILL on Unix: kill -9, mid-stream.
        child.kill().expect("kill -9");
        let _ = child.wait();
    });
    let mut acknowledged: Vec<String> = Vec::new();
    let mut n = 0i64;
    loop {
        let batch: Vec<_> = (0..200)
            .map(|i| {
                network_finding(
                    &format!("10.1.{}.{}:5000", (n + i) % 250, (n + i) / 250 % 250 + 1),
                    T0 + n + i,
                )
            })
            .collect();
        n += 200;
        match client.submit(&batch) {
            Ok(o) if o.accepted == batch.len() => {
                acknowledged.extend(batch.iter().map(|f| f.id.clone()))
            }
            Ok(o) => panic!("unexpected outcome {o:?}"),
            Err(_) => break,
        }
        if n > 2_000_000 {
            break;
        }
    }
    killer.join().unwrap();
    assert!(
        acknowledged.len() >= 200,
        "some batches were acknowledged before the kill"
    );

    let mut again = start(dir.path(), port);
    std::thread::sleep(Duration::from_millis(200));
    again.kill().ok();
    let _ = again.wait();
    let store = minetrace_store::Store::open(dir.path(), None).unwrap();
    let mut missing = 0;
    for id in &acknowledged {
        if store.finding(id).unwrap().is_none() {
            missing += 1;
        }
    }
    assert_eq!(
        missing,
        0,
        "{missing} of {} acknowledged findings lost",
        acknowledged.len()
    );
    assert!(store.verify_ledger().unwrap() as usize >= acknowledged.len());
    println!(
        "acknowledged before kill -9: {}, all present after restart",
        acknowledged.len()
    );
}
