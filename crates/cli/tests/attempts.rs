//! Connection attempts to pools: a TCP connection that never carried payload (a SYN left
//! unanswered, or a handshake closed at once) is reported, at `Low` confidence, only when the
//! same input proves its server address a pool (a mining session to it, or a DNS answer for a
//! pool domain). A SYN to any other address stays silent, however "pool-like" its port.

mod support;

use minetrace_sim::{Direction, TcpConversation, TcpFlags, TcpSegment};
use std::net::SocketAddr;
use std::path::Path;

const POOL: &str = "198.51.100.20:3333";
const MINER: &str = "10.1.2.3";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A two-sided Stratum V1 session (subscribe, authorize, jobs, shares accepted).
fn mining_session(t0: u64) -> Vec<minetrace_sim::Packet> {
    let mut c = TcpConversation::new(addr(&format!("{MINER}:40000")), addr(POOL), 1000, 9000);
    c.handshake(t0);
    let lines: [(Direction, &str); 6] = [
        (
            Direction::ClientToServer,
            r#"{"id":1,"method":"mining.subscribe","params":["cgminer/4.10.0"]}"#,
        ),
        (
            Direction::ServerToClient,
            r#"{"id":1,"result":[[["mining.set_difficulty","1"],["mining.notify","1"]],"08000002",4],"error":null}"#,
        ),
        (
            Direction::ClientToServer,
            r#"{"id":2,"method":"mining.authorize","params":["worker.1","x"]}"#,
        ),
        (
            Direction::ServerToClient,
            r#"{"id":2,"result":true,"error":null}"#,
        ),
        (
            Direction::ServerToClient,
            r#"{"id":null,"method":"mining.set_difficulty","params":[16]}"#,
        ),
        (
            Direction::ServerToClient,
            r#"{"id":null,"method":"mining.notify","params":["4f2a","00000000deadbeef00000000deadbeef00000000deadbeef00000000deadbeef","01000000010000","ffffffff",[],"20000000","1a0fffff","5f5e1000",true]}"#,
        ),
    ];
    let mut t = t0 + 100_000;
    for (dir, line) in lines {
        c.send(dir, t, format!("{line}\n").as_bytes());
        t += 200_000;
    }
    for i in 0..3 {
        c.send(
            Direction::ClientToServer,
            t,
            format!(
                r#"{{"id":{},"method":"mining.submit","params":["worker.1","4f2a","00000001","5f5e1000","9a8b7c6d"]}}"#,
                10 + i
            )
            .as_bytes(),
        );
        c.send(Direction::ClientToServer, t, b"\n");
        t += 100_000;
        c.send(
            Direction::ServerToClient,
            t,
            format!("{{\"id\":{},\"result\":true,\"error\":null}}\n", 10 + i).as_bytes(),
        );
        t += 5_000_000;
    }
    c.close(Direction::ClientToServer, t);
    c.into_packets()
}

/// SYN, SYN again (retransmission), nothing back.
fn syn_only(client_port: u16, server: &str, t0: u64) -> Vec<minetrace_sim::Packet> {
    let mut c = TcpConversation::new(
        addr(&format!("{MINER}:{client_port}")),
        addr(server),
        5000,
        0,
    );
    for i in 0..2 {
        c.raw_segment(
            Direction::ClientToServer,
            t0 + i * 1_000_000,
            TcpSegment::new(5000, 0, TcpFlags::SYN, b""),
        );
    }
    c.into_packets()
}

/// SYN, SYN/ACK, ACK, then FIN both ways: no payload.
fn handshake_and_close(client_port: u16, server: &str, t0: u64) -> Vec<minetrace_sim::Packet> {
    let mut c = TcpConversation::new(
        addr(&format!("{MINER}:{client_port}")),
        addr(server),
        7000,
        8000,
    );
    c.handshake(t0);
    c.close(Direction::ClientToServer, t0 + 300_000);
    c.into_packets()
}

/// A plain HTTP exchange (not mining) closed with FIN both ways and the last ACK.
fn http_session(client_port: u16, server: &str, t0: u64) -> Vec<minetrace_sim::Packet> {
    let mut c = TcpConversation::new(
        addr(&format!("{MINER}:{client_port}")),
        addr(server),
        11000,
        12000,
    );
    c.handshake(t0);
    c.exchange(
        Direction::ClientToServer,
        t0 + 100_000,
        b"GET /status HTTP/1.1\r\nHost: example.net\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        2_000,
    );
    c.close(Direction::ServerToClient, t0 + 400_000);
    c.into_packets()
}

fn write(path: &Path, mut packets: Vec<minetrace_sim::Packet>) {
    packets.sort_by_key(|p| p.ts_micros);
    minetrace_sim::pcap::write_file(path, &packets).unwrap();
}

fn analyze(path: &Path, threads: &str) -> Vec<serde_json::Value> {
    support::json_lines(&support::analyze_jsonl(&["--threads", threads], [path]).stdout)
}

fn attempts(findings: &[serde_json::Value]) -> Vec<String> {
    let mut v: Vec<String> = findings
        .iter()
        .filter(|f| f["evidence"]["extra"]["connection_attempt"] == true)
        .map(|f| {
            format!(
                "{}:{}",
                f["server"]["ip"].as_str().unwrap(),
                f["server"]["port"]
            )
        })
        .map(|s| s.replace('"', ""))
        .collect();
    v.sort();
    v
}

#[test]
fn attempts_to_a_proven_pool_are_reported_low_and_others_stay_silent() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("attempts.pcap");
    let mut packets = Vec::new();
    // Before the session: a SYN left unanswered to the pool's address, on another port.
    packets.extend(syn_only(40001, "198.51.100.20:4444", 1_000_000));
    packets.extend(mining_session(10_000_000));
    // After it: a handshake closed at once to the pool's own endpoint.
    packets.extend(handshake_and_close(40002, POOL, 60_000_000));
    // Look-alikes: the same shapes to an address nothing proves (a pool port alone).
    packets.extend(syn_only(40003, "203.0.113.9:3333", 61_000_000));
    packets.extend(handshake_and_close(40004, "203.0.113.9:3333", 62_000_000));
    // A session that carried payload to the pool's address: neither it nor its bare last ACK
    // (which arrives after both FINs, so it starts a flow of its own) is an attempt.
    packets.extend(http_session(40005, "198.51.100.20:80", 63_000_000));
    write(&path, packets);

    let findings = analyze(&path, "1");
    assert_eq!(
        attempts(&findings),
        ["198.51.100.20:3333", "198.51.100.20:4444"],
        "{findings:#?}"
    );
    for f in findings
        .iter()
        .filter(|f| f["evidence"]["extra"]["connection_attempt"] == true)
    {
        assert_eq!(f["confidence"], "low");
        assert_eq!(f["detector"], "pool-endpoint");
        assert_eq!(f["dialect"], "pool-endpoint");
        assert_eq!(f["client"]["ip"], MINER);
        let reasons = f["reasons"].to_string();
        assert!(reasons.contains("proven a pool"), "{reasons}");
        assert!(reasons.contains("stratum-v1"), "{reasons}");
    }
    // The session itself is still found, and nothing points at the unproven address.
    assert!(findings
        .iter()
        .any(|f| f["dialect"] == "stratum-v1" && f["confidence"] == "high"));
    assert!(!serde_json::Value::from(findings.clone())
        .to_string()
        .contains("203.0.113.9"));
    // Threads agree with one thread.
    let ids = |fs: &[serde_json::Value]| {
        let mut v: Vec<String> = fs.iter().map(|f| f["id"].to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(ids(&findings), ids(&analyze(&path, "2")));
}

#[test]
fn attempts_without_a_proof_in_the_same_input_stay_silent() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("alone.pcap");
    let mut packets = Vec::new();
    packets.extend(syn_only(40001, POOL, 1_000_000));
    packets.extend(handshake_and_close(40002, POOL, 2_000_000));
    write(&path, packets);
    let out = support::analyze_jsonl(&[], [&path]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}
