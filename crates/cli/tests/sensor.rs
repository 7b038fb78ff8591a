//! The live sensor in a network namespace pair: tcpreplay sends shared captures across a veth,
//! `minetrace sensor` captures them from the other end (AF_PACKET), and its findings equal those
//! of `minetrace analyze` on the same captures. Needs root, iproute2 and tcpreplay; says it is
//! skipped otherwise.

mod support;

use assert_cmd::cargo::CommandCargoExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Netns {
    ns: String,
    host_if: String,
}

impl Netns {
    fn create(tag: &str) -> Option<Netns> {
        let id = std::process::id() % 100_000;
        let ns = format!("mt{tag}{id}");
        let host_if = format!("mh{tag}{id}");
        let peer_if = format!("mp{tag}{id}");
        let ok = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !ok(&["netns", "add", &ns]) {
            return None;
        }
        let n = Netns { ns, host_if };
        let steps: [&[&str]; 6] = [
            &[
                "link", "add", &n.host_if, "type", "veth", "peer", "name", &peer_if,
            ],
            &["link", "set", &peer_if, "netns", &n.ns],
            &["link", "set", &n.host_if, "mtu", "9000", "up"],
            &[
                "netns", "exec", &n.ns, "ip", "link", "set", &peer_if, "mtu", "9000", "up",
            ],
            &["netns", "exec", &n.ns, "ip", "link", "set", "lo", "up"],
            &["link", "show", &n.host_if],
        ];
        for s in steps {
            if !ok(s) {
                return None;
            }
        }
        Some(n)
    }

    fn peer_if(&self) -> String {
        self.host_if.replacen("mh", "mp", 1)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .status();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

fn captures() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/captures");
    p.join("MANIFEST.tsv").exists().then_some(p)
}

/// What must agree between live capture and file analysis (ids and stamps differ by design).
fn key(v: &serde_json::Value) -> String {
    format!(
        "{} {} {} {} {} {}",
        v["detector"],
        v["dialect"],
        v["client"],
        v["server"],
        v["evidence"]["wallet"],
        v["evidence"]["shares_submitted"]
    )
}

fn lines(bytes: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| key(&serde_json::from_str(l).expect("json line")))
        .collect();
    v.sort();
    v
}

#[test]
fn sensor_on_a_veth_finds_what_analyze_finds() {
    let Some(root) = captures() else {
        eprintln!("skipped: ../shared not present");
        return;
    };
    let has_tcpreplay = Command::new("tcpreplay").arg("-V").output().is_ok();
    if !has_tcpreplay {
        eprintln!("skipped: tcpreplay not installed");
        return;
    }
    let Some(net) = Netns::create("s") else {
        eprintln!("skipped: cannot create network namespaces (not root?)");
        return;
    };
    let files: Vec<PathBuf> = [
        "mining/xmr-eu1.nanopool.org.pcapng",
        "mining/zec-eu1.nanopool.org.pcapng",
        "mining/eth-eu1.nanopool.org.pcapng",
        "mining/1574720899_9M3tc.pcap",
        "benign/ssh.pcap",
    ]
    .iter()
    .map(|f| root.join(f))
    .filter(|f| f.exists())
    .collect();
    // The simulator's TLS sessions cross the veth too (content-based detection: replayed at top
    // speed, shape timing would not survive, so the shape-only scenario stays out).
    let sim = tempfile::tempdir().unwrap();
    Command::cargo_bin("minetrace")
        .unwrap()
        .args(["simulate", "--seed", "5", "--minutes", "2", "--out"])
        .arg(sim.path())
        .args([
            "--scenario",
            "tls-stratum-sni",
            "--scenario",
            "nat-rigs-tls",
        ])
        .args([
            "--scenario",
            "benign-tls-website",
            "--scenario",
            "cryptonote-xmrig",
        ])
        .args([
            "--scenario",
            "stratum-v1-ltc-internal-pool",
            "--scenario",
            "benign-https-download",
        ])
        .output()
        .unwrap();
    let mut files = files;
    for name in [
        "tls-stratum-sni.pcap",
        "nat-rigs-tls.pcap",
        "benign-tls-website.pcap",
        "cryptonote-xmrig.pcap",
        "stratum-v1-ltc-internal-pool.pcap",
        "benign-https-download.pcap",
    ] {
        let f = sim.path().join(name);
        assert!(f.exists(), "simulator wrote {name}");
        files.push(f);
    }

    let live = sensor_run(&net, &files, 12, &["--stats"]);
    let stderr = String::from_utf8_lossy(&live.stderr);
    assert!(stderr.contains("0 kernel drops"), "{stderr}");

    let file = support::analyze_jsonl(&[], &files);
    let want = lines(&file.stdout);
    assert!(!want.is_empty());
    // 1574720899_9M3tc.pcap holds connection attempts to the pool its session proves: the live
    // sensor judges them too (when they settle, or when it stops).
    assert!(
        want.iter().any(|k| k.starts_with("\"pool-endpoint\"")),
        "{want:?}"
    );
    // The pool run inside the network is a summary across sessions; the sensor reports it too
    // (once settled, or when it stops).
    assert!(
        want.iter().any(|k| k.starts_with("\"internal-pool\"")),
        "{want:?}"
    );
    assert_eq!(lines(&live.stdout), want, "sensor stderr: {stderr}");
}

/// Replays `pcaps` from the namespace side while `minetrace sensor` runs on the host side with
/// `extra` arguments for `secs` seconds; returns the sensor's output.
fn sensor_run(net: &Netns, pcaps: &[PathBuf], secs: u64, extra: &[&str]) -> std::process::Output {
    let sensor = Command::cargo_bin("minetrace")
        .unwrap()
        .args(["sensor", "--interface", &net.host_if, "--duration"])
        .arg(secs.to_string())
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let replay = Command::new("ip")
        .args(["netns", "exec", &net.ns, "tcpreplay", "-q", "--topspeed"])
        .args(["-i", &net.peer_if()])
        .args(pcaps)
        .output()
        .unwrap();
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    sensor.wait_with_output().unwrap()
}

/// With `--server` the sensor streams what it finds to a real server process as it goes, each
/// finding with the estimates `analyze` adds; with the server down, `--spool` keeps them.
#[test]
fn sensor_streams_findings_to_the_server() {
    if Command::new("tcpreplay").arg("-V").output().is_err() {
        eprintln!("skipped: tcpreplay not installed");
        return;
    }
    let Some(net) = Netns::create("u") else {
        eprintln!("skipped: cannot create network namespaces (not root?)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let token = support::token(&data, "mirror-sensor", "sensor");
    let port = support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let caps = tmp.path().join("caps");
    support::bin()
        .args(["simulate", "--seed", "3", "--minutes", "2"])
        .args(["--scenario", "cryptonote-xmrig", "--out"])
        .arg(&caps)
        .assert()
        .success();
    let pcap = [caps.join("cryptonote-xmrig.pcap")];

    // Server down: the findings wait in the spool, and the capture is not disturbed.
    let spool = tmp.path().join("spool");
    let spool_arg = spool.to_string_lossy().into_owned();
    let down = sensor_run(
        &net,
        &pcap,
        8,
        &["--server", &url, "--token", &token, "--spool", &spool_arg],
    );
    let err = String::from_utf8_lossy(&down.stderr);
    let written = String::from_utf8_lossy(&down.stdout).lines().count();
    assert!(written >= 1, "{err}");
    assert!(err.contains(&format!("{written} spooled")), "{err}");

    let _server = support::start_server(&data, port);
    let up = sensor_run(&net, &pcap, 8, &["--server", &url, "--token", &token]);
    let err = String::from_utf8_lossy(&up.stderr);
    let out = String::from_utf8_lossy(&up.stdout);
    let findings: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!findings.is_empty(), "{err}");
    // Live findings are new to the server (their ids name the interface, not a file).
    assert!(
        err.contains(&format!(
            "{} new finding(s), 0 already stored",
            findings.len()
        )),
        "{err}"
    );
    let session = findings
        .iter()
        .find(|f| f["dialect"] == "cryptonote")
        .expect("the XMRig session");
    assert!(
        session["evidence"]["extra"]["estimate"]["power"]["value"]
            .as_f64()
            .is_some_and(|w| w > 0.0),
        "{session}"
    );
}
