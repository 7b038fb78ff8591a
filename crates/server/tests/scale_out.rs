//! Scale-out mode end to end: a 3-node NATS cluster with JetStream (stream replicas = 3) and two
//! `minetrace-server` replicas on one PostgreSQL database, all on loopback, both with a
//! correlator. A load generator sends batches to both replicas; mid-ingest one NATS node and the
//! replica that correlates are killed (SIGKILL) and restarted. Every acknowledged finding must be
//! stored exactly once, the other replica must take over correlation, every finding must be
//! counted in exactly one case, and the evidence chain must verify. Needs `nats-server` (Debian)
//! and MINETRACE_TEST_POSTGRES; skipped without them.

mod common;

use common::{network_finding, T0};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port below the kernel's ephemeral range (32768-60999 by default) that is free now. A node's
/// ports are bound again when it restarts; a port from the ephemeral range may meanwhile become
/// the source port of any loopback connection (of this test or of one running alongside), and a
/// node that cannot bind its route port leaves the cluster a node short.
fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = 20_000 + std::process::id() % 6_000;
    loop {
        let port = (start + NEXT.fetch_add(1, Ordering::Relaxed) % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Client addresses the findings come from (several findings each).
const ADDRESSES: i64 = 500;

struct Proc(Option<Child>);

impl Proc {
    /// How the process ended, when it was started, not killed here, and has ended.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.0.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Nats {
    dir: PathBuf,
    client: [u16; 3],
    route: [u16; 3],
}

impl Nats {
    fn config(&self, i: usize) -> PathBuf {
        let routes: Vec<String> = self
            .route
            .iter()
            .map(|p| format!("nats-route://127.0.0.1:{p}"))
            .collect();
        let text = format!(
            "server_name: n{i}\nlisten: 127.0.0.1:{}\njetstream {{ store_dir: \"{}\" }}\ncluster {{\n  name: minetrace\n  listen: 127.0.0.1:{}\n  routes: [{}]\n}}\n",
            self.client[i],
            self.dir.join(format!("js{i}")).display(),
            self.route[i],
            routes.join(", ")
        );
        let path = self.dir.join(format!("n{i}.conf"));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Starts node `i` and waits until it accepts clients (its log: `n{i}.log`).
    fn start(&self, i: usize) -> Proc {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("n{i}.log")))
            .unwrap();
        let mut child = Command::new("nats-server")
            .arg("-c")
            .arg(self.config(i))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.client[i])).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("nats node {i} exited: {status}\n{}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "nats node {i} did not start\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Proc(Some(child))
    }

    /// Every node's log, for a failure message: the last lines that are not the retries of a
    /// route to a node that is down (one a second).
    fn logs(&self) -> String {
        (0..3)
            .map(|i| {
                let name = format!("n{i}.log");
                log_tail(&self.dir.join(&name), &name, 40, |l| {
                    !l.contains("Error trying to connect to route")
                })
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn urls(&self) -> String {
        self.client
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The last `n` lines of a log (read up to 4 MiB) that `keep` accepts, under a `--- NAME` line.
fn log_tail(path: &Path, name: &str, n: usize, keep: impl Fn(&str) -> bool) -> String {
    let text = minetrace_core::io::read_bounded_string(path, 4 << 20).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| keep(l)).collect();
    format!(
        "--- {name}\n{}",
        lines[lines.len().saturating_sub(n)..].join("\n")
    )
}

/// The last lines of a replica's log, for a failure message.
fn replica_log(data: &Path) -> String {
    log_tail(
        &data.join("replica.log"),
        &data.display().to_string(),
        30,
        |_| true,
    )
}

/// Starts a replica whose log goes to `DATA/replica.log` (appended across restarts).
/// Whether a replica says it correlates now (`minetrace_correlating 1` at `/metrics`).
fn correlates(port: u16) -> bool {
    let url = format!("http://127.0.0.1:{port}");
    let (status, text) = common::call(&url, "GET", "/metrics", None, None, "text/plain");
    status == 200 && text.lines().any(|l| l == "minetrace_correlating 1")
}

fn start_replica(data: &Path, db: &str, port: u16, nats: &str, correlator: bool) -> Proc {
    std::fs::create_dir_all(data).unwrap();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.join("replica.log"))
        .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_minetrace-server"));
    cmd.arg("--data")
        .arg(data)
        .args(["--database", db, "--listen", &format!("127.0.0.1:{port}")])
        .args(["--nats", nats])
        .stdout(Stdio::null())
        .stderr(log);
    if !correlator {
        cmd.arg("--no-correlator");
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("replica exited early: {status}");
        }
        assert!(Instant::now() < deadline, "replica did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Proc(Some(child))
}

#[test]
fn killing_a_nats_node_and_a_replica_loses_and_duplicates_nothing() {
    let Ok(pg) = std::env::var("MINETRACE_TEST_POSTGRES") else {
        println!("skipped: MINETRACE_TEST_POSTGRES not set");
        return;
    };
    if Command::new("nats-server")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: nats-server not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let nats = Nats {
        dir: tmp.path().to_path_buf(),
        client: [free_port(), free_port(), free_port()],
        route: [free_port(), free_port(), free_port()],
    };
    let mut nodes: Vec<Proc> = (0..3).map(|i| nats.start(i)).collect();
    let db = minetrace_store::fresh_schema_url(&pg, "scale_out").unwrap();

    // Two replicas share the database and the ledger's signing key.
    let (a_dir, b_dir) = (tmp.path().join("a"), tmp.path().join("b"));
    let token = {
        let store = minetrace_store::Store::open(&a_dir, Some(&db)).unwrap();
        store
            .create_source("sensor", minetrace_store::Role::Sensor)
            .unwrap()
            .1
    };
    std::fs::create_dir_all(&b_dir).unwrap();
    std::fs::copy(
        a_dir.join("ledger-key.ed25519"),
        b_dir.join("ledger-key.ed25519"),
    )
    .unwrap();
    let (a_port, b_port) = (free_port(), free_port());
    // Both correlate when their turn comes: one at a time.
    let mut a = start_replica(&a_dir, &db, a_port, &nats.urls(), true);
    let mut b = start_replica(&b_dir, &db, b_port, &nats.urls(), true);
    let store = minetrace_store::Store::open(&a_dir, Some(&db)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(correlates(a_port) || correlates(b_port)) {
        assert!(
            Instant::now() < deadline,
            "no replica correlates\n{}\n{}",
            replica_log(&a_dir),
            replica_log(&b_dir)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !(correlates(a_port) && correlates(b_port)),
        "both replicas correlate"
    );
    // The correlating replica is the one killed.
    let a_correlated = correlates(a_port);

    let clients: Vec<minetrace_client::Client> = [a_port, b_port]
        .iter()
        .map(|p| {
            let mut c =
                minetrace_client::Client::new(&format!("http://127.0.0.1:{p}"), &token).unwrap();
            c.attempts = 1;
            c
        })
        .collect();
    let mut acknowledged: Vec<String> = Vec::new();
    let batches = 60;
    let mut refused = 0;
    let (survivor_dir, survivor_port, victim_dir) = if a_correlated {
        (&b_dir, b_port, &a_dir)
    } else {
        (&a_dir, a_port, &b_dir)
    };
    for n in 0..batches {
        if n == 20 {
            nodes[1].kill();
            if a_correlated {
                a.kill();
            } else {
                b.kill();
            }
        }
        if n == 40 {
            // Before the victim returns, the survivor has taken over and caught up.
            let deadline = Instant::now() + Duration::from_secs(120);
            while !store.pending_findings(1).unwrap().is_empty() {
                assert!(
                    Instant::now() < deadline,
                    "findings wait uncorrelated with the correlating replica down\n{}",
                    replica_log(survivor_dir)
                );
                std::thread::sleep(Duration::from_millis(250));
            }
            assert!(correlates(survivor_port), "{}", replica_log(survivor_dir));
            nodes[1] = nats.start(1);
            if a_correlated {
                a = start_replica(&a_dir, &db, a_port, &nats.urls(), true);
            } else {
                b = start_replica(&b_dir, &db, b_port, &nats.urls(), true);
            }
        }
        // Six findings per address, in different batches sent to different replicas: each
        // address is one case, whichever replica stored and whichever correlated its findings.
        let batch: Vec<_> = (0..50)
            .map(|i| {
                let k = n * 50 + i;
                let machine = k % ADDRESSES;
                network_finding(
                    &format!("10.7.{}.{}:5000", machine % 250, machine / 250 + 1),
                    T0 + k,
                )
            })
            .collect();
        // Like a sensor: try one replica, then the other, until one acknowledges. After a node
        // dies the cluster elects new leaders; on a loaded machine that can take a while.
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut turn = n as usize;
        let mut last_errors = [String::new(), String::new()];
        loop {
            match clients[turn % 2].submit(&batch) {
                Ok(o) if o.accepted == batch.len() => {
                    acknowledged.extend(batch.iter().map(|f| f.id.clone()));
                    break;
                }
                Ok(o) => panic!("unexpected outcome {o:?}"),
                Err(e) => {
                    refused += 1;
                    last_errors[turn % 2] = e.to_string();
                    // A replica that died on its own is a failure now, not after the deadline.
                    for (name, replica, dir) in [("a", &mut a, &a_dir), ("b", &mut b, &b_dir)] {
                        if let Some(status) = replica.exited() {
                            panic!(
                                "replica {name} exited ({status}) at batch {n}\n{}",
                                replica_log(dir)
                            );
                        }
                    }
                    turn += 1;
                    assert!(
                        Instant::now() < deadline,
                        "no replica took batch {n}: replica a: {}; replica b: {}\n{}\n{}\n{}",
                        last_errors[0],
                        last_errors[1],
                        replica_log(&a_dir),
                        replica_log(&b_dir),
                        nats.logs()
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
    assert_eq!(acknowledged.len(), batches as usize * 50);

    // Everything acknowledged reaches the database, once.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let stored = store.count_findings().unwrap() as usize;
        if stored >= acknowledged.len() {
            assert_eq!(stored, acknowledged.len(), "more rows than findings sent");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {stored} of {} acknowledged findings stored",
            acknowledged.len()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    for id in &acknowledged {
        assert!(store.finding(id).unwrap().is_some(), "{id} lost");
    }
    // Every finding correlated, counted in one case, one case per address.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !store.pending_findings(1).unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "findings left uncorrelated\n{}\n{}",
            replica_log(&a_dir),
            replica_log(&b_dir)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let cases = store
        .list_cases(&minetrace_store::CaseFilter {
            limit: Some(10_000),
            ..Default::default()
        })
        .unwrap();
    let mut per_key = std::collections::BTreeMap::new();
    for c in &cases {
        *per_key.entry(c.activity_key.clone()).or_insert(0) += 1;
    }
    let doubled: Vec<_> = per_key.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        doubled.is_empty(),
        "activities with several cases: {doubled:?}"
    );
    assert_eq!(cases.len() as i64, ADDRESSES, "one case per address");
    let counted: i64 = cases.iter().map(|c| c.findings_count).sum();
    assert_eq!(
        counted as usize,
        acknowledged.len(),
        "findings counted in cases"
    );
    let verified = store.verify_ledger().unwrap();
    assert!(verified as usize >= acknowledged.len());
    println!(
        "{} findings acknowledged ({refused} refused attempts during the outage), all stored once; the correlating replica ({}) killed, the other took over; {} cases, each finding counted once; ledger of {verified} records verifies",
        acknowledged.len(),
        victim_dir.display(),
        cases.len()
    );
}
