use super::*;
use crate::{DirStats, FlowEnd};
use std::sync::Arc;

const T0: i64 = 1_533_305_980_000_000;

fn flow() -> FlowInfo {
    FlowInfo {
        transport: Transport::Tcp,
        a: "10.0.2.15:50496".parse().unwrap(),
        b: "113.21.199.11:3333".parse().unwrap(),
        initiator_known: true,
        first_seen: Timestamp(T0),
        last_seen: Timestamp(T0 + 10_000_000),
        first_packet: 1,
        stats: [DirStats::default(); 2],
        first_packets: Vec::new(),
        first_payload: Default::default(),
        clock: None,
        end: FlowEnd::Fin,
    }
}

fn ctx() -> Context {
    Context::new(
        Arc::new(minetrace_intel::Intel::builtin()),
        "capture",
        "unit.pcap",
    )
}

/// (from client, bytes); fed in chunks of `chunk` bytes when given.
fn run(steps: &[(bool, Vec<u8>)], chunk: Option<usize>) -> Vec<Finding> {
    let info = flow();
    let mut c = ctx();
    let det = HttpGetworkDetector;
    let mut state: Option<Box<dyn FlowDetector>> = None;
    for (from_client, bytes) in steps {
        let dir = if *from_client {
            Direction::AtoB
        } else {
            Direction::BtoA
        };
        let pieces: Vec<&[u8]> = match chunk {
            Some(n) => bytes.chunks(n).collect(),
            None => vec![bytes.as_slice()],
        };
        for piece in pieces {
            if state.is_none() {
                state = det.open(&info, dir, piece, &c);
            }
            if let Some(s) = state.as_mut() {
                let _ = s.on_data(&info, dir, Timestamp(T0 + 1_000_000), piece, &mut c);
                assert!(s.memory() <= 256 * 1024);
            }
        }
    }
    state.map(|s| s.on_close(&info, &mut c)).unwrap_or_default()
}

/// A plain `200 OK` carrying `reply`.
fn ok(reply: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{reply}",
        reply.len()
    )
    .into_bytes()
}

fn post(ua: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: us1.bitminter.com:3333\r\nAuthorization: Basic Qmlnc2t5OjEyMw==\r\nContent-type: application/json\r\n{extra_headers}Content-Length: {}\r\nUser-Agent: {ua}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const GBT: &str = r#"{"id": 0, "method": "getblocktemplate", "params": [{"capabilities": ["coinbasetxn", "workid", "longpoll"], "maxversion": 4}]}"#;
const XME: &str = "X-Mining-Extensions: longpoll midstate rollntime submitold\r\n";

#[test]
fn bfgminer_getwork_with_mining_headers_is_high() {
    let body = r#"{"method": "getwork", "params": [], "id":0}"#;
    let reply =
        r#"{"id":0,"result":{"data":"00000001","target":"ffff0000","midstate":"ab"},"error":null}"#;
    let steps = vec![
        (true, post("bfgminer/5.2.0", XME, body)),
        (
            false,
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Long-Polling: /lp\r\n\r\n{reply}",
                reply.len()
            )
            .into_bytes(),
        ),
    ];
    for chunk in [None, Some(1), Some(7)] {
        let f = run(&steps, chunk);
        assert_eq!(f.len(), 1, "{chunk:?}");
        let f = &f[0];
        assert_eq!(f.confidence, Confidence::High);
        assert_eq!(f.dialect, Some(Dialect::HttpGetwork));
        assert_eq!(f.client.as_ref().unwrap().to_string(), "10.0.2.15:50496");
        assert_eq!(
            f.evidence.http_user_agent.as_deref(),
            Some("bfgminer/5.2.0")
        );
        assert_eq!(f.evidence.pool_host.as_deref(), Some("us1.bitminter.com"));
        // Basic auth "Bigsky:123": the login.
        assert_eq!(f.evidence.login.as_deref(), Some("Bigsky"));
        assert_eq!(f.evidence.jobs, 1);
        assert!(f.reasons.iter().any(|r| r.contains("getwork")));
    }
}

#[test]
fn getblocktemplate_from_a_miner_agent_with_headers_is_medium() {
    let steps = vec![
        (true, post("bfgminer/5.2.0", XME, GBT)),
        (false, b"HTTP/1.1 200 OK\r\nContent-Length: 55\r\n\r\n{\"id\":0,\"result\":null,\"error\":[20,\"Parse error\",null]}".to_vec()),
    ];
    let f = run(&steps, None);
    assert_eq!(f[0].confidence, Confidence::Medium);
}

#[test]
fn cgminer_probe_answered_with_x_stratum_is_high() {
    let reply = r#"{"id":null,"result":null,"error":{"code":0,"message":"You are trying to connect to a Stratum server"}}"#;
    let steps = vec![
        (true, post("cgminer 3.7.2", XME, r#"{"id": 0, "method": "getblocktemplate", "params": [{"capabilities": ["coinbasetxn", "workid", "coinbase/append"]}]}"#)),
        (false, format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Stratum: stratum+tcp://litecoinpool.org:3333\r\n\r\n{reply}", reply.len()).into_bytes()),
    ];
    let f = run(&steps, None);
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0].evidence
            .extra
            .get("x_stratum")
            .and_then(|v| v.as_str()),
        Some("stratum+tcp://litecoinpool.org:3333")
    );
    assert!(f[0].confidence >= Confidence::Medium);
    // The redirect names a Litecoin pool: Scrypt, not the SHA-256d of Bitcoin's getwork.
    let e = &f[0].evidence;
    assert_eq!(e.coin.as_deref(), Some("LTC"));
    assert_eq!(e.algorithm_family, Some(AlgorithmFamily::Scrypt));
    assert_eq!(e.algorithm.as_deref(), Some("scrypt"));
    assert!(!e.extra.contains_key("algorithm_family_assumed"));
}

#[test]
fn getwork_without_coin_evidence_says_sha256d_is_assumed() {
    let body = r#"{"method": "getwork", "params": [], "id":0}"#;
    let reply = r#"{"id":0,"result":{"data":"00000001","target":"ffff0000"},"error":null}"#;
    let request = String::from_utf8(post("bfgminer/5.2.0", XME, body))
        .unwrap()
        .replace("us1.bitminter.com:3333", "203.0.113.7:8332");
    let steps = vec![(true, request.into_bytes()), (false, ok(reply))];
    let f = run(&steps, None);
    let e = &f[0].evidence;
    assert_eq!(e.coin, None);
    assert_eq!(e.algorithm_family, Some(AlgorithmFamily::Sha256d));
    assert_eq!(
        e.extra.get("algorithm_family_assumed"),
        Some(&Value::Bool(true))
    );
}

#[test]
fn x_stratum_urls_give_their_host() {
    assert_eq!(
        url_host("stratum+tcp://litecoinpool.org:3333"),
        Some("litecoinpool.org")
    );
    assert_eq!(
        url_host("stratum+tcp://u:p@pool.example/x"),
        Some("pool.example")
    );
    assert_eq!(url_host("pool.example"), Some("pool.example"));
    assert_eq!(url_host("stratum+tcp://:3333"), None);
}

#[test]
fn eth_getwork_over_http() {
    let body = r#"{"jsonrpc":"2.0","method":"eth_getWork","params":[],"id":73}"#;
    let h = "3a7884394cdd1a2e73fc2f23c6d7759db336fbc2567bf013ce61890b00000000";
    let reply = format!(r#"{{"jsonrpc":"2.0","id":73,"result":["0x{h}","0x{h}","0x{h}"]}}"#);
    let steps = vec![
        (true, post("Go-http-client/1.1", "", body)),
        (false, ok(&reply)),
    ];
    let f = run(&steps, None);
    assert_eq!(f[0].confidence, Confidence::High);
    assert_eq!(
        f[0].evidence.algorithm_family,
        Some(AlgorithmFamily::EthashProxy)
    );
}

#[test]
fn miner_head_without_its_body_still_counts() {
    // cgminer.g0: the pool port answered 400 and closed; the getwork POST head came after,
    // its body never did.
    let head = "POST / HTTP/1.1\r\nAuthorization: Basic Qml0Y29pbjp4\r\nHost: 185.71.66.31:18888\r\nAccept: */*\r\nContent-type: application/json\r\nX-Mining-Extensions: longpoll midstate rollntime submitold\r\nContent-Length: 116\r\nUser-Agent: cgminer 3.7.2\r\n\r\n";
    let f = run(
        &[
            (
                false,
                b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n400 Bad Request".to_vec(),
            ),
            (true, head.as_bytes().to_vec()),
        ],
        None,
    );
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].confidence, Confidence::Medium);
    // The same head from a browser-like agent without mining headers stays silent.
    let plain = head
        .replace(
            "X-Mining-Extensions: longpoll midstate rollntime submitold\r\n",
            "",
        )
        .replace("cgminer 3.7.2", "curl/8.5.0");
    assert!(run(&[(true, plain.into_bytes())], None).is_empty());
}

#[test]
fn lone_getblocktemplate_from_node_software_is_low() {
    let f = run(&[(true, post("python-requests/2.31", "", GBT))], None);
    assert_eq!(f[0].confidence, Confidence::Low);
    assert!(f[0].reasons.iter().any(|r| r.contains("weak alone")));
}

#[test]
fn benign_http_stays_silent() {
    let cases: Vec<Vec<(bool, Vec<u8>)>> = vec![
        vec![(true, post("curl/8.5.0", "", r#"{"jsonrpc":"1.0","id":"curltest","method":"getblockcount","params":[]}"#)),
             (false, b"HTTP/1.1 200 OK\r\nContent-Length: 46\r\n\r\n{\"result\":842000,\"error\":null,\"id\":\"curltest\"}".to_vec())],
        vec![(true, post("curl/8.5.0", "", r#"{"jsonrpc":"1.0","id":"1","method":"getblockchaininfo","params":[]}"#))],
        vec![(true, post("Go-http-client/1.1", "", r#"{"jsonrpc":"2.0","method":"eth_blockNumber","params":[],"id":83}"#))],
        vec![(true, post("Mozilla/5.0", "", r#"{"jsonrpc":"2.0","method":"getblocktemplate","params":[],"id":1}"#))],
        vec![(true, b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0\r\n\r\n".to_vec()),
             (false, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec())],
    ];
    for (i, c) in cases.iter().enumerate() {
        assert!(run(c, None).is_empty(), "case {i}: {:#?}", run(c, None));
        assert!(run(c, Some(1)).is_empty(), "case {i} bytewise");
    }
}

#[test]
fn non_http_and_hostile_input() {
    let det = HttpGetworkDetector;
    assert!(det
        .open(&flow(), Direction::AtoB, b"{\"id\":1}", &ctx())
        .is_none());
    let steps = vec![
        (true, b"POST / HTTP/1.1\r\n".to_vec()),
        (true, vec![b'x'; 200_000]),
    ];
    assert!(run(&steps, Some(4096)).is_empty());
    assert_eq!(
        basic_user("Basic Qmlnc2t5OjEyMw==").as_deref(),
        Some("Bigsky")
    );
    assert_eq!(basic_user("Bearer abc"), None);
    assert_eq!(basic_user("Basic !!!"), None);
    assert_eq!(host_without_port("[::1]:8332"), "::1");
    assert_eq!(host_without_port("pool.example:3333"), "pool.example");
}
