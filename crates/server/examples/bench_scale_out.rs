//! Scale-out load benchmark: a 3-node NATS JetStream cluster (stream replicas = 3) and 1, 2 and
//! 3 `minetrace-server` replicas on one PostgreSQL database, all on this machine's loopback.
//! Two load-generator threads send batches round-robin to the replicas for a fixed time; the
//! benchmark reports the acknowledged rate (durable in the replicated stream) and the stored
//! rate (in PostgreSQL, measured until the backlog drains).
//!
//! MINETRACE_BENCH_POSTGRES=postgres://... cargo run --release -p minetrace-server \
//!     --example bench_scale_out -- [seconds] [batch]
//! (needs `nats-server` on PATH and the release `minetrace-server` binary built beside it)

use minetrace_core::{Confidence, Finding, FindingKind, Timestamp};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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
    let host = n % 2000;
    f.client =
        Some(std::net::SocketAddr::from(([10, 2, (host >> 8) as u8, host as u8], 40000)).into());
    f.server = Some(std::net::SocketAddr::from(([192, 0, 2, 10], 3333)).into());
    f.dialect = Some(minetrace_core::Dialect::CryptoNote);
    f.confidence = Confidence::High;
    f.evidence.agent = Some("XMRig/6.21.0".into());
    f.evidence.shares_submitted = 12;
    f.reason("client sent login, pool answered job, client submitted shares");
    f.assign_id();
    f
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn nats_cluster(dir: &Path) -> (Procs, String) {
    let client: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let route: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let routes: Vec<String> = route
        .iter()
        .map(|p| format!("nats-route://127.0.0.1:{p}"))
        .collect();
    let mut procs = Vec::new();
    for i in 0..3 {
        let conf = dir.join(format!("n{i}.conf"));
        let text = format!(
            "server_name: n{i}\nlisten: 127.0.0.1:{}\njetstream {{ store_dir: \"{}\" }}\ncluster {{ name: bench, listen: 127.0.0.1:{}, routes: [{}] }}\n",
            client[i],
            dir.join(format!("js{i}")).display(),
            route[i],
            routes.join(", ")
        );
        std::fs::write(&conf, text).expect("nats config");
        procs.push(
            Command::new("nats-server")
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("nats-server on PATH"),
        );
    }
    let urls = client
        .iter()
        .map(|p| format!("nats://127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    (Procs(procs), urls)
}

fn server_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/release/examples/bench_scale_out -> target/release/minetrace-server
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("minetrace-server"))
        .expect("target dir")
}

fn run(replicas: usize, seconds: u64, batch: usize, pg: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_nats, urls) = nats_cluster(tmp.path());
    let db = minetrace_store::fresh_schema_url(pg, "bench_scale").expect("schema");
    let first = tmp.path().join("r0");
    let token = minetrace_store::Store::open(&first, Some(&db))
        .and_then(|s| s.create_source("bench", minetrace_store::Role::Sensor))
        .expect("source")
        .1;
    let mut servers = Procs(Vec::new());
    let mut ports = Vec::new();
    for r in 0..replicas {
        let dir = tmp.path().join(format!("r{r}"));
        std::fs::create_dir_all(&dir).expect("replica dir");
        if r > 0 {
            std::fs::copy(
                first.join("ledger-key.ed25519"),
                dir.join("ledger-key.ed25519"),
            )
            .expect("share the ledger key");
        }
        let port = free_port();
        let mut cmd = Command::new(server_bin());
        cmd.arg("--data")
            .arg(&dir)
            .args(["--database", &db, "--listen", &format!("127.0.0.1:{port}")])
            .args(["--nats", &urls, "--no-correlator"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        servers.0.push(cmd.spawn().expect("minetrace-server"));
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "replica did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        ports.push(port);
    }
    let acked = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let (acked, next, token, ports) =
                (acked.clone(), next.clone(), token.clone(), ports.clone());
            std::thread::spawn(move || {
                let clients: Vec<_> = ports
                    .iter()
                    .map(|p| {
                        minetrace_client::Client::new(&format!("http://127.0.0.1:{p}"), &token)
                            .expect("client")
                    })
                    .collect();
                let mut k = t;
                while Instant::now() < end {
                    let base = next.fetch_add(batch as u64, Ordering::Relaxed);
                    let b: Vec<Finding> = (0..batch as u64).map(|i| finding(base + i)).collect();
                    if clients[k % clients.len()].submit(&b).is_ok() {
                        acked.fetch_add(batch as u64, Ordering::Relaxed);
                    }
                    k += 1;
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let send_secs = start.elapsed().as_secs_f64();
    let total = acked.load(Ordering::Relaxed);
    let store = minetrace_store::Store::open(&first, Some(&db)).expect("store");
    let deadline = Instant::now() + Duration::from_secs(600);
    while (store.count_findings().unwrap_or(0) as u64) < total && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let stored = store.count_findings().unwrap_or(0) as u64;
    let store_secs = start.elapsed().as_secs_f64();
    println!(
        "{replicas} replica(s): {total} findings acknowledged in {send_secs:.1} s = {:.0}/s into the stream; {stored} stored after {store_secs:.1} s = {:.0}/s end to end",
        total as f64 / send_secs,
        stored as f64 / store_secs
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(15);
    let batch: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(500);
    let Ok(pg) = std::env::var("MINETRACE_BENCH_POSTGRES") else {
        eprintln!("set MINETRACE_BENCH_POSTGRES (scripts/ci-postgres.sh prints a URL)");
        std::process::exit(2);
    };
    for replicas in 1..=3 {
        run(replicas, seconds, batch, &pg);
    }
}
