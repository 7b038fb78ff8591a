//! Sustained batched ingest into a real server over loopback HTTP, durability on
//! (SQLite WAL + synchronous=FULL; or PostgreSQL with MINETRACE_BENCH_POSTGRES=URL).
//!
//! cargo run --release -p minetrace-server --example bench_ingest -- [seconds] [batch] [clients]

use minetrace_core::{Confidence, Finding, FindingKind, Timestamp, Wallet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn finding(n: u64) -> Finding {
    let mut f = Finding::new(
        "stratum",
        FindingKind::Network,
        Timestamp(1_704_880_000_000_000 + n as i64),
    );
    f.source.kind = "capture".into();
    f.source.name = "bench.pcap".into();
    // 2,000 mining addresses (a province's sampling found 4,699), each seen many times.
    let host = n % 2000;
    f.client =
        Some(std::net::SocketAddr::from(([10, 1, (host >> 8) as u8, host as u8], 40000)).into());
    f.server = Some(
        "192.0.2.10:3333"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    );
    f.dialect = Some(minetrace_core::Dialect::CryptoNote);
    f.confidence = Confidence::High;
    f.evidence.wallet = Some(Wallet { address: "4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3skxNgYeYTRj5UzqtReoS44qo9mtmXCqY45DJ852K5Jv2684Rge".into(), coin: Some("XMR".into()), format: "monero".into(), checksum_ok: true });
    f.evidence.agent = Some("XMRig/6.21.0".into());
    f.evidence.shares_submitted = 12;
    f.reason("client sent login, pool answered job, client submitted shares");
    f.assign_id();
    f
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let batch: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let clients: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(2);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = minetrace_server::ServeOptions::new(dir.path());
    if let Ok(url) = std::env::var("MINETRACE_BENCH_POSTGRES") {
        o.database = Some(minetrace_store::fresh_schema_url(&url, "bench").expect("postgres"));
    }
    o.queue_capacity = 10_000_000;
    o.correlator = std::env::var("MINETRACE_BENCH_NO_CORRELATOR").is_err();
    let backend = if o.database.is_some() {
        "postgresql"
    } else {
        "sqlite (WAL, synchronous=FULL)"
    };
    let server = minetrace_server::spawn_background(o).expect("server");
    let (_, token) = server
        .state
        .store
        .create_source("bench", minetrace_store::Role::Sensor)
        .expect("token");
    let url = server.url();
    if std::env::var("MINETRACE_BENCH_STORE_ONLY").is_ok() {
        // The store alone (no HTTP, no JSON parsing): findings + signed ledger records, fsynced.
        let src = server
            .state
            .store
            .list_sources()
            .expect("sources")
            .remove(0);
        let fs: Vec<Vec<Finding>> = (0..50u64)
            .map(|b| (b * batch..(b + 1) * batch).map(finding).collect())
            .collect();
        let t = Instant::now();
        for b in &fs {
            server.state.store.ingest_findings(&src, b).expect("ingest");
        }
        let e = t.elapsed().as_secs_f64();
        println!(
            "store only: {} findings in {e:.2} s: {:.0} findings/s",
            50 * batch,
            (50 * batch) as f64 / e
        );
        let key = minetrace_store::LedgerKey::ephemeral();
        let t = Instant::now();
        for i in 0..20_000 {
            let _ = key.seal_single(
                (i, minetrace_store::ledger::GENESIS),
                1,
                "finding",
                "finding:x",
                "{}".into(),
            );
        }
        println!(
            "a record signed on its own (SHA-256 + Ed25519, before seals): {:.1} us each",
            t.elapsed().as_secs_f64() * 1e6 / 20_000.0
        );
        let t = Instant::now();
        for b in &fs[..10] {
            let _ = serde_json::to_vec(&serde_json::json!({"findings": b})).expect("json");
        }
        println!(
            "client JSON: {:.1} us per finding",
            t.elapsed().as_secs_f64() * 1e6 / (10 * batch) as f64
        );
        return;
    }
    let counter = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    // MINETRACE_BENCH_PREBUILT=1: the load generator serialises its batches before the clock
    // starts, so the figure is the server's (sensors serialise on their own machines).
    let prebuilt: Option<Arc<Vec<Vec<u8>>>> =
        std::env::var("MINETRACE_BENCH_PREBUILT").ok().map(|_| {
            let batches = (secs * 40_000 / batch).max(4);
            Arc::new(
                (0..batches)
                    .map(|b| {
                        let fs: Vec<Finding> = (b * batch..(b + 1) * batch).map(finding).collect();
                        serde_json::to_vec(&serde_json::json!({ "findings": fs })).expect("json")
                    })
                    .collect(),
            )
        });
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut threads = Vec::new();
    for _ in 0..clients {
        let (url, token, counter, next) =
            (url.clone(), token.clone(), counter.clone(), next.clone());
        let prebuilt = prebuilt.clone();
        threads.push(std::thread::spawn(move || {
            if let Some(bodies) = prebuilt {
                let agent = ureq::Agent::new_with_config(
                    ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .build(),
                );
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(body) = bodies.get(i) else { break };
                    let resp = agent
                        .post(&format!("{url}/api/v1/ingest/findings"))
                        .header("Authorization", &format!("Bearer {token}"))
                        .header("Content-Type", "application/json")
                        .send(&body[..])
                        .expect("post");
                    if resp.status() == 200 {
                        counter.fetch_add(batch, Ordering::Relaxed);
                    }
                }
                return;
            }
            let client = minetrace_client::Client::new(&url, &token).expect("client");
            while Instant::now() < deadline {
                let base = next.fetch_add(batch, Ordering::Relaxed);
                let fs: Vec<Finding> = (base..base + batch).map(finding).collect();
                let o = client.submit(&fs).expect("submit");
                counter.fetch_add(o.accepted as u64, Ordering::Relaxed);
            }
        }));
    }
    for t in threads {
        t.join().expect("client thread");
    }
    let elapsed = start.elapsed().as_secs_f64();
    let n = counter.load(Ordering::Relaxed);
    let stored = server.state.store.count_findings().expect("count");
    println!(
        "backend: {backend}, correlator in process: {}",
        std::env::var("MINETRACE_BENCH_NO_CORRELATOR").is_err()
    );
    println!("batch {batch}, {clients} client threads, {elapsed:.1} s: {n} findings acknowledged ({stored} stored), {:.0} findings/s", n as f64 / elapsed);
    println!(
        "correlated: {}, correlation errors: {}",
        server.state.metrics.correlated.load(Ordering::Relaxed),
        server
            .state
            .metrics
            .correlation_errors
            .load(Ordering::Relaxed)
    );
    if let Err(e) = minetrace_server::correlate_pending(&server.state) {
        println!("correlate error: {e}");
    }
    println!(
        "correlation backlog at end: {}",
        server.state.store.stats(0).map(|s| s.pending).unwrap_or(-1)
    );
}
