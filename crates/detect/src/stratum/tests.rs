use super::*;
use crate::{DirStats, FlowEnd};
use minetrace_core::{AlgorithmFamily, Confidence};
use std::sync::Arc;

const T0: i64 = 1_700_000_000_000_000;

fn flow(initiator_is_miner: bool) -> FlowInfo {
    let miner = "192.168.1.100:50496".parse().unwrap();
    let pool = "203.0.113.7:3333".parse().unwrap();
    let (a, b) = if initiator_is_miner {
        (miner, pool)
    } else {
        (pool, miner)
    };
    FlowInfo {
        transport: Transport::Tcp,
        a,
        b,
        initiator_known: true,
        first_seen: Timestamp(T0),
        last_seen: Timestamp(T0 + 120_000_000),
        first_packet: 1,
        stats: [DirStats::default(); 2],
        first_packets: Vec::new(),
        first_payload: Default::default(),
        clock: None,
        end: FlowEnd::Fin,
    }
}

fn ctx() -> Context {
    static INTEL: std::sync::OnceLock<Arc<minetrace_intel::Intel>> = std::sync::OnceLock::new();
    let intel = INTEL.get_or_init(|| Arc::new(minetrace_intel::Intel::builtin()));
    Context::new(intel.clone(), "capture", "unit.pcap")
}

/// A transcript step: who speaks (true = miner), seconds since start, bytes.
type Step = (bool, i64, Vec<u8>);

fn m(secs: i64, s: &str) -> Step {
    (true, secs, format!("{s}\n").into_bytes())
}
fn p(secs: i64, s: &str) -> Step {
    (false, secs, format!("{s}\n").into_bytes())
}

/// Runs the detector the way the engine does: offer chunks to `open` until it accepts, then
/// feed everything through `on_data`, then close.
fn run_with(steps: &[Step], initiator_is_miner: bool, chunk: Option<usize>) -> Vec<Finding> {
    run_in(ctx(), steps, initiator_is_miner, chunk)
}

/// [`run_with`] in a given context (one that learned DNS answers, say).
fn run_in(
    mut c: Context,
    steps: &[Step],
    initiator_is_miner: bool,
    chunk: Option<usize>,
) -> Vec<Finding> {
    let info = flow(initiator_is_miner);
    let det = StratumDetector::default();
    let mut state: Option<Box<dyn FlowDetector>> = None;
    for (from_miner, secs, bytes) in steps {
        let dir = if *from_miner == initiator_is_miner {
            Direction::AtoB
        } else {
            Direction::BtoA
        };
        let ts = Timestamp(T0 + secs * 1_000_000);
        let pieces: Vec<&[u8]> = match chunk {
            Some(n) => bytes.chunks(n).collect(),
            None => vec![bytes.as_slice()],
        };
        for piece in pieces {
            if state.is_none() {
                state = det.open(&info, dir, piece, &c);
            }
            if let Some(s) = state.as_mut() {
                let _ = s.on_data(&info, dir, ts, piece, &mut c);
                assert!(s.memory() <= 256 * 1024);
            }
        }
    }
    match state {
        Some(s) => s.on_close(&info, &mut c),
        None => Vec::new(),
    }
}

fn run(steps: &[Step]) -> Vec<Finding> {
    run_with(steps, true, None)
}

fn one(steps: &[Step]) -> Finding {
    let f = run(steps);
    assert_eq!(f.len(), 1, "{f:#?}");
    f.into_iter().next().unwrap()
}

const H64: &str = "3a7884394cdd1a2e73fc2f23c6d7759db336fbc2567bf013ce61890b00000000";
const BTC: &str = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";

fn btc_session() -> Vec<Step> {
    let notify = format!(
        r#"{{"id":null,"method":"mining.notify","params":["j1","{H64}","0100","ffff",["{H64}"],"20000000","1d00ffff","5a40d0fe",true]}}"#
    );
    let mut s = vec![
        m(
            0,
            r#"{"id":1,"method":"mining.subscribe","params":["cgminer/4.11.1"]}"#,
        ),
        p(
            0,
            r#"{"id":1,"result":[[["mining.notify","ae6812eb4cd7735a"]],"08000002",4],"error":null}"#,
        ),
        m(
            0,
            &format!(r#"{{"id":2,"method":"mining.authorize","params":["{BTC}.rig7","x"]}}"#),
        ),
        p(0, r#"{"id":2,"result":true,"error":null}"#),
        p(
            0,
            r#"{"id":null,"method":"mining.set_difficulty","params":[65536]}"#,
        ),
        p(1, &notify),
    ];
    for i in 0..12 {
        let id = 10 + i;
        s.push(m(
            10 * (i + 1),
            &format!(r#"{{"id":{id},"method":"mining.submit","params":["{BTC}.rig7","j1","0000000{}","5a40d0fe","9a8b7c6d"]}}"#, i % 10),
        ));
        if i == 5 {
            s.push(p(
                10 * (i + 1),
                &format!(r#"{{"id":{id},"result":null,"error":[23,"Low difficulty share",null]}}"#),
            ));
        } else {
            s.push(p(
                10 * (i + 1),
                &format!(r#"{{"id":{id},"result":true,"error":null}}"#),
            ));
        }
    }
    s
}

#[test]
fn bitcoin_stratum_two_sided_is_high_with_full_evidence() {
    let f = one(&btc_session());
    assert_eq!(f.detector, "stratum");
    assert_eq!(f.dialect, Some(Dialect::StratumV1));
    assert_eq!(f.confidence, Confidence::High);
    assert_eq!(
        f.client.as_ref().unwrap().to_string(),
        "192.168.1.100:50496"
    );
    assert_eq!(f.server.as_ref().unwrap().to_string(), "203.0.113.7:3333");
    assert_eq!(f.source.packet, None);
    let e = &f.evidence;
    assert_eq!(e.coin.as_deref(), Some("BTC"));
    assert_eq!(e.algorithm_family, Some(AlgorithmFamily::Sha256d));
    assert_eq!(e.wallet.as_ref().unwrap().address, BTC);
    assert_eq!(e.worker.as_deref(), Some("rig7"));
    assert_eq!(e.agent.as_deref(), Some("cgminer/4.11.1"));
    assert_eq!(e.extranonce1.as_deref(), Some("08000002"));
    assert_eq!(e.difficulty, Some(65536.0));
    assert_eq!(
        (
            e.jobs,
            e.shares_submitted,
            e.shares_accepted,
            e.shares_rejected
        ),
        (1, 12, 11, 1)
    );
    assert!(e.methods.iter().any(|m| m == "mining.notify"));
    // 11 shares x 65536 x 2^32 over the 120 s flow.
    let h = e.hashrate.as_ref().unwrap();
    assert_eq!(h.basis, "estimated");
    let expect = 11.0 * 65536.0 * 4_294_967_296.0 / 120.0;
    assert!((h.hashes_per_second / expect - 1.0).abs() < 1e-9);
    let reasons = f.reasons.join(" | ");
    assert!(reasons.contains("client sent mining.subscribe, mining.authorize and mining.submit (agent cgminer/4.11.1)"), "{reasons}");
    assert!(reasons.contains("pool answered with"), "{reasons}");
    assert!(
        reasons.contains("12 shares submitted, 11 accepted, 1 rejected (Low difficulty share)"),
        "{reasons}"
    );
    assert!(f.first_seen <= f.last_seen);
}

#[test]
fn sides_come_from_semantics_not_from_the_initiator() {
    // The capture saw the pool's packet first: `a` is the pool.
    let f = run_with(&btc_session(), false, None);
    let f = &f[0];
    assert_eq!(
        f.client.as_ref().unwrap().to_string(),
        "192.168.1.100:50496"
    );
    assert_eq!(f.server.as_ref().unwrap().to_string(), "203.0.113.7:3333");
    assert_eq!(f.confidence, Confidence::High);
}

#[test]
fn every_chunking_gives_the_same_finding() {
    let steps = btc_session();
    let whole = run(&steps);
    let bytewise = run_with(&steps, true, Some(1));
    assert_eq!(whole, bytewise);
    for n in [2, 3, 7, 64, 1000] {
        assert_eq!(whole, run_with(&steps, true, Some(n)), "chunk {n}");
    }
    // Every byte boundary of the transcript, in order: each step split in two at each offset.
    for (j, step) in steps.iter().enumerate() {
        for k in 1..step.2.len() {
            let mut split: Vec<Step> = steps[..j].to_vec();
            split.push((step.0, step.1, step.2[..k].to_vec()));
            split.push((step.0, step.1, step.2[k..].to_vec()));
            split.extend(steps[j + 1..].iter().cloned());
            assert_eq!(run(&split), whole, "step {j} split at {k}");
        }
    }
}

/// A capture that begins before the pool's next difficulty: the shares accepted before it are
/// counted at the first difficulty seen (pools move it slowly), and the estimate says so.
#[test]
fn shares_before_the_first_difficulty_are_counted_at_it() {
    let mut steps = btc_session();
    let set_difficulty = steps.remove(4);
    // After three submits and their answers.
    steps.insert(5 + 6, set_difficulty);
    let e = one(&steps).evidence;
    assert_eq!(e.shares_accepted, 11);
    let h = e.hashrate.unwrap();
    let expect = 11.0 * 65536.0 * 4_294_967_296.0 / 120.0;
    assert!((h.hashes_per_second / expect - 1.0).abs() < 1e-9, "{h:?}");
    assert!(
        h.method
            .contains("3 share(s) accepted before the first difficulty seen"),
        "{}",
        h.method
    );
}

#[test]
fn mid_session_pickup_resyncs_at_the_next_newline() {
    let mut steps = btc_session();
    // Drop the login exchange and cut the first remaining message in half.
    let tail: Vec<Step> = steps.split_off(5);
    let mut first = tail[0].clone();
    first.2 = first.2[40..].to_vec();
    let mut steps = vec![first];
    steps.extend(tail.into_iter().skip(1));
    let f = one(&steps);
    assert_eq!(f.confidence, Confidence::High);
    assert_eq!(f.evidence.shares_submitted, 12);
    assert_eq!(f.evidence.jobs, 0, "the notify was cut and is not counted");
    assert_eq!(f.evidence.login, None);
}

#[test]
fn garbage_before_and_between_lines_is_ignored() {
    let mut steps = vec![(
        true,
        0,
        b"\x16\x03\x01\x00\xc3binary\x00\xff no newline here".to_vec(),
    )];
    for s in btc_session() {
        steps.push(s);
        steps.push((true, 0, b"\xde\xad\xbe\xef garbage\n".to_vec()));
    }
    let f = one(&steps);
    assert_eq!(f.evidence.shares_accepted, 11);
}

#[test]
fn one_sided_client_capture_is_medium() {
    let steps: Vec<Step> = btc_session().into_iter().filter(|s| s.0).collect();
    let f = one(&steps);
    assert_eq!(f.confidence, Confidence::Medium);
    assert_eq!(
        f.client.as_ref().unwrap().to_string(),
        "192.168.1.100:50496"
    );
    assert!(f.reasons.iter().any(|r| r.contains("one-sided")));
    assert_eq!(f.evidence.shares_accepted, 0);
    assert!(f.evidence.hashrate.is_none());
}

#[test]
fn one_sided_pool_capture_is_medium() {
    let steps: Vec<Step> = btc_session().into_iter().filter(|s| !s.0).collect();
    let f = one(&steps);
    assert_eq!(f.confidence, Confidence::Medium);
    assert_eq!(
        f.client.as_ref().unwrap().to_string(),
        "192.168.1.100:50496"
    );
    assert_eq!(f.server.as_ref().unwrap().to_string(), "203.0.113.7:3333");
}

#[test]
fn a_lone_subscribe_is_a_reported_attempt() {
    // Suricata's ET rules alert on it too: nothing but a miner sends mining.subscribe.
    let f = one(&[m(0, r#"{"id":1,"method":"mining.subscribe","params":[]}"#)]);
    assert_eq!(f.confidence, Confidence::Medium);
}

#[test]
fn equihash_ewbf_session() {
    let z = "0".repeat(64);
    let solution = format!("fd400500{}", "ab".repeat(1344));
    let steps = vec![
        m(
            0,
            r#"{"id":1,"method":"mining.subscribe","params":["EWBF 0.3.4b",null,"eu1-zcash.flypool.org","3333"]}"#,
        ),
        p(
            0,
            r#"{"id":1,"result":["04d567b212", "04d567b212"], "error": null}"#,
        ),
        m(
            0,
            r#"{"id":2,"method":"mining.authorize","params":["t1fAhZF5aUJdY7CikGULHmeYk7id8qmvbAd.rig4","x"]}"#,
        ),
        p(0, r#"{"id":2,"result":true, "error": null}"#),
        p(
            0,
            r#"{"id":null,"method":"mining.set_target","params":["0004189374bc6a7ef9db22d0e5604189374bc6a7ef9db22d0e5604189374bc6a"]}"#,
        ),
        m(
            0,
            r#"{"id":3,"method":"mining.extranonce.subscribe","params":[]}"#,
        ),
        p(
            1,
            &format!(
                r#"{{"id":null,"method":"mining.notify","params":["8c6f2d4c6d2c7014fb26","04000000","{H64}","{H64}","{z}","a9cc405a","09d8151c",true]}}"#
            ),
        ),
        m(
            60,
            &format!(
                r#"{{"id":100,"method":"mining.submit","params":["t1fAhZF5aUJdY7CikGULHmeYk7id8qmvbAd.rig4","8c6f2d4c6d2c7014fb26","a9cc405a","3e2700000000000000000000000000000000000000000000000000","{solution}"]}}"#
            ),
        ),
        p(60, r#"{"id":100,"result":true}"#),
    ];
    let f = one(&steps);
    assert_eq!(f.dialect, Some(Dialect::StratumEquihash));
    assert_eq!(f.confidence, Confidence::High);
    assert_eq!(f.evidence.coin.as_deref(), Some("ZEC"));
    assert_eq!(f.evidence.algorithm_family, Some(AlgorithmFamily::Equihash));
    assert_eq!(
        f.evidence.pool_host.as_deref(),
        Some("eu1-zcash.flypool.org")
    );
    assert_eq!(f.evidence.worker.as_deref(), Some("rig4"));
    assert_eq!(f.evidence.shares_accepted, 1);
    assert_eq!(f.evidence.jobs, 1);
    let h = f.evidence.hashrate.unwrap().hashes_per_second;
    assert!(h > 100.0 && h < 1000.0, "{h} Sol/s");
}

#[test]
fn ethereum_stratum_1_session() {
    let steps = vec![
        m(
            0,
            r#"{"id":1,"method":"mining.subscribe","params":["EthereumMiner/1.0.0","EthereumStratum/1.0.0"]}"#,
        ),
        p(
            0,
            r#"{"id":1,"result":[["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f","EthereumStratum/1.0.0"],"080c"],"error":null}"#,
        ),
        m(
            0,
            r#"{"id":2,"method":"mining.authorize","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed.w1","x"]}"#,
        ),
        p(0, r#"{"id":2,"result":true,"error":null}"#),
        p(
            0,
            r#"{"id":null,"method":"mining.set_difficulty","params":[2]}"#,
        ),
        p(
            0,
            &format!(
                r#"{{"id":null,"method":"mining.notify","params":["bf0488aa","{H64}","{H64}",true]}}"#
            ),
        ),
        m(
            5,
            r#"{"id":3,"method":"mining.submit","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed.w1","bf0488aa","6a909d9bbc0f"]}"#,
        ),
        p(5, r#"{"id":3,"result":true,"error":null}"#),
    ];
    let f = one(&steps);
    assert_eq!(f.dialect, Some(Dialect::EthereumStratum1));
    assert_eq!(
        f.evidence.algorithm_family,
        Some(AlgorithmFamily::EthashStratum)
    );
    assert_eq!(f.evidence.coin, None, "ETH/ETC ambiguous");
    assert!(f.evidence.wallet.as_ref().unwrap().checksum_ok);
    assert_eq!(f.evidence.extranonce1.as_deref(), Some("080c"));
    assert!(f.reasons.iter().any(|r| r.contains("ETH and ETC")));
    assert_eq!(f.confidence, Confidence::High);
}

#[test]
fn ethereum_stratum_2_session() {
    let steps = vec![
        m(
            0,
            r#"{"id":0,"method":"mining.hello","params":{"agent":"ethminer-0.19.0","host":"eth.pool.example","port":"4d2","proto":"EthereumStratum/2.0.0"}}"#,
        ),
        p(
            0,
            r#"{"id":0,"result":{"proto":"EthereumStratum/2.0.0","encoding":"plain","resume":1,"timeout":30,"maxerrors":5,"node":"Geth/v1.8.18"}}"#,
        ),
        m(0, r#"{"id":1,"method":"mining.subscribe","params":[]}"#),
        p(0, r#"{"id":1,"result":"s-12345"}"#),
        m(
            0,
            r#"{"id":2,"method":"mining.authorize","params":["0x9c99d212f7e5daa18ab50810e0fd255d1f04303b.rig","x"]}"#,
        ),
        p(0, r#"{"id":2,"result":true}"#),
        p(
            0,
            r#"{"method":"mining.set","params":{"epoch":"dc","target":"0112e0be826d694b2e62d01511f12a6061fbaec8bc02357593e70e52ba","algo":"ethash","extranonce":"af4c"}}"#,
        ),
        p(
            0,
            &format!(r#"{{"method":"mining.notify","params":["bf0488aa","6526d5","{H64}",true]}}"#),
        ),
        m(
            9,
            r#"{"id":3,"method":"mining.submit","params":["bf0488aa","6a909d9bbc0f","rig"]}"#,
        ),
        p(9, r#"{"id":3,"result":true}"#),
        m(
            10,
            r#"{"id":4,"method":"mining.hashrate","params":["1dcd6500","rig"]}"#,
        ),
    ];
    let f = one(&steps);
    assert_eq!(f.dialect, Some(Dialect::EthereumStratum2));
    assert_eq!(f.evidence.agent.as_deref(), Some("ethminer-0.19.0"));
    assert_eq!(f.evidence.algorithm.as_deref(), Some("ethash"));
    assert_eq!(f.evidence.pool_host.as_deref(), Some("eth.pool.example"));
    // One accepted share: the miner's own figure is preferred and labelled as reported.
    let h = f.evidence.hashrate.unwrap();
    assert_eq!(h.basis, "reported");
    assert_eq!(h.hashes_per_second, 500_000_000.0);
}

fn ethproxy_session() -> Vec<Step> {
    let work = format!(
        r#"{{"jsonrpc":"2.0","id":0,"result":["0x{H64}","0x{H64}","0x00000000dbe6fecebdedd5beb573440e5a884d1b2fbf06fcce912adcb8d8422e"]}}"#
    );
    vec![
        m(
            0,
            r#"{"worker": "eth1.0", "jsonrpc": "2.0", "params": ["0x9c99d212f7e5daa18ab50810e0fd255d1f04303b/tester.worker1/vvesely@mailinator", "x"], "id": 2, "method": "eth_submitLogin"}"#,
        ),
        p(0, r#"{"jsonrpc":"2.0","id":2,"result":true}"#),
        p(0, &work),
        m(
            0,
            r#"{"worker": "", "jsonrpc": "2.0", "params": [], "id": 3, "method": "eth_getWork"}"#,
        ),
        p(0, &work),
        m(
            20,
            r#"{"id":6,"jsonrpc":"2.0","method":"eth_submitHashrate","params":["0x1d08a61", "0x0000000000000000000000000000000000000000000000000000000002df91be"]}"#,
        ),
        m(
            54,
            &format!(
                r#"{{"id":4,"method":"eth_submitWork","params":["0x07a05fa4133e5126","0x{H64}","0x{H64}"]}}"#
            ),
        ),
        p(54, r#"{"jsonrpc":"2.0","id":4,"result":true}"#),
    ]
}

#[test]
fn ethproxy_nanopool_session() {
    let f = one(&ethproxy_session());
    assert_eq!(f.dialect, Some(Dialect::EthProxy));
    assert_eq!(f.confidence, Confidence::High);
    let e = &f.evidence;
    assert_eq!(e.algorithm_family, Some(AlgorithmFamily::EthashProxy));
    assert_eq!(e.worker.as_deref(), Some("tester.worker1"));
    assert_eq!(e.rig_id.as_deref(), Some("eth1.0"));
    assert_eq!(
        e.extra.get("email").and_then(|v| v.as_str()),
        Some("vvesely@mailinator")
    );
    assert_eq!((e.shares_submitted, e.shares_accepted), (1, 1));
    assert_eq!(e.jobs, 2);
    assert_eq!(e.hashrate.as_ref().unwrap().basis, "reported");
    assert!((e.difficulty.unwrap() / 5.0e9 - 1.0).abs() < 0.01);
}

#[test]
fn ethproxy_pool_pushes_alone_are_medium() {
    let steps: Vec<Step> = ethproxy_session().into_iter().filter(|s| !s.0).collect();
    let f = one(&steps);
    assert_eq!(f.confidence, Confidence::Medium);
    assert_eq!(f.dialect, Some(Dialect::EthProxy));
}

#[test]
fn kawpow_session() {
    let target = "00000000ff000000000000000000000000000000000000000000000000000000";
    let steps = vec![
        m(
            0,
            r#"{"id":1,"method":"mining.subscribe","params":["GMiner/2.09",null,"rvn.pool.example","3333"]}"#,
        ),
        p(0, r#"{"id":1,"result":[null,"8a2f"],"error":null}"#),
        m(
            0,
            r#"{"id":2,"method":"mining.authorize","params":["RPxMDTDDd5tvYHsy2tKRZJWgYU6rWYqv5r.rig","x"]}"#,
        ),
        p(0, r#"{"id":2,"result":true,"error":null}"#),
        p(
            0,
            &format!(r#"{{"id":null,"method":"mining.set_target","params":["{target}"]}}"#),
        ),
        p(
            0,
            &format!(
                r#"{{"id":null,"method":"mining.notify","params":["5f","{H64}","{H64}","{target}",true,2134567,"1b00f4a1"]}}"#
            ),
        ),
        m(
            30,
            &format!(
                r#"{{"id":3,"method":"mining.submit","params":["R.rig","5f","0x1a2b3c4d5e6f7081","0x{H64}","0x{H64}"]}}"#
            ),
        ),
        p(30, r#"{"id":3,"result":true,"error":null}"#),
    ];
    let f = one(&steps);
    assert_eq!(f.dialect, Some(Dialect::KawPow));
    assert_eq!(f.evidence.coin.as_deref(), Some("RVN"));
    assert_eq!(f.evidence.algorithm_family, Some(AlgorithmFamily::KawPow));
    assert!((f.evidence.difficulty.unwrap() - 1.0).abs() < 1e-9);
}

const BLOB: &str = "0606e89883d205a65d8ee78991838a1cf3ec2ebbc5fb1fa43dec5fa1cd2bee4069212a549cd731000000005a88235653097aa3e97ef2ceef4aee610751a828f9be1a0758a78365fb0a4c8c05";
const XMR: &str = "41ymEBmviWTgohYvVCSYzjgH9JsdY98243VeBz9SwrCrheVDVW4JWp4anzVnjMvAgkjBdCK5zB7RFHdGKynV7THLAiNrmY4";

fn xmrig_session() -> Vec<Step> {
    let mut s = vec![
        m(
            0,
            &format!(
                r#"{{"id":1,"jsonrpc":"2.0","method":"login","params":{{"login":"{XMR}.Zoey","pass":"x","agent":"XMRig/6.11.2 (Windows NT 10.0; Win64; x64) libuv/1.41.0 msvc/2019","rigid":"desk","algo":["cn/r","rx/0"]}}}}"#
            ),
        ),
        p(
            0,
            &format!(
                r#"{{"id":1,"jsonrpc":"2.0","result":{{"id":"22787","job":{{"algo":"rx/0","blob":"{BLOB}","height":1974881,"job_id":"JOvLBEoP1K","target":"b88d0600"}},"extensions":["algo","keepalive"],"status":"OK"}},"error":null}}"#
            ),
        ),
        p(
            40,
            &format!(
                r#"{{"jsonrpc":"2.0","method":"job","params":{{"algo":"rx/0","blob":"{BLOB}","height":1974882,"job_id":"JOvLBEpZLi","target":"b88d0600"}}}}"#
            ),
        ),
    ];
    for i in 0..10 {
        let id = 2 + i;
        s.push(m(50 + i * 5, &format!(r#"{{"id":{id},"jsonrpc":"2.0","method":"submit","params":{{"id":"22787","job_id":"JOvLBEpZLi","nonce":"3716000{i}","result":"575bde0182630e35a62f687dbbb14a3c3a09f517184976ae0bb1681a06af0100","algo":"rx/0"}}}}"#)));
        s.push(p(
            50 + i * 5,
            &format!(r#"{{"id":{id},"jsonrpc":"2.0","error":null,"result":{{"status":"OK"}}}}"#),
        ));
    }
    s.push(m(
        110,
        r#"{"id":20,"jsonrpc":"2.0","method":"keepalived","params":{"id":"22787"}}"#,
    ));
    s.push(p(
        110,
        r#"{"id":20,"jsonrpc":"2.0","error":null,"result":{"status":"KEEPALIVED"}}"#,
    ));
    s
}

#[test]
fn xmrig_session_full_evidence() {
    let f = one(&xmrig_session());
    assert_eq!(f.dialect, Some(Dialect::CryptoNote));
    assert_eq!(f.confidence, Confidence::High);
    let e = &f.evidence;
    assert_eq!(e.coin.as_deref(), Some("XMR"));
    assert_eq!(e.algorithm.as_deref(), Some("rx/0"));
    assert_eq!(e.algorithm_family, Some(AlgorithmFamily::CryptoNote));
    assert_eq!(e.wallet.as_ref().unwrap().format, "monero");
    assert_eq!(e.worker.as_deref(), Some("Zoey"));
    assert_eq!(e.rig_id.as_deref(), Some("desk"));
    assert_eq!(e.difficulty, Some(10000.0));
    assert_eq!(e.target.as_deref(), Some("b88d0600"));
    assert_eq!((e.jobs, e.shares_submitted, e.shares_accepted), (2, 10, 10));
    let h = e.hashrate.as_ref().unwrap();
    assert!((h.hashes_per_second - 10.0 * 10000.0 / 120.0).abs() < 1e-6);
    assert!(f
        .reasons
        .iter()
        .any(|r| r.contains("agent names miner software XMRig")));
    assert!(f
        .reasons
        .iter()
        .any(|r| r.contains("pool accepted the login")));
}

#[test]
fn xmrig_login_and_submits_alone_are_medium() {
    let steps: Vec<Step> = xmrig_session().into_iter().filter(|s| s.0).collect();
    let f = one(&steps);
    assert_eq!(f.confidence, Confidence::Medium);
    assert_eq!(f.dialect, Some(Dialect::CryptoNote));
}

#[test]
fn xmr_stak_reuses_submit_ids_and_nanopool_sends_nul_keepalives() {
    let job = format!(
        r#"{{"jsonrpc":"2.0","method":"job","params":{{"blob":"{BLOB}","job_id":"652010620664805","target":"dc460300"}}}}"#
    );
    let submit = r#"{"method":"submit","params":{"id":"479059546883218","job_id":"652010620664805","nonce":"600a0000","result":"34906d8560e40212805f06a75747909ece0e79f74c139b0f939bc91115840000"},"id":1}"#;
    let ok = r#"{"id":1,"jsonrpc":"2.0","error":null,"result":{"status":"OK"}}"#;
    let steps = vec![
        m(
            0,
            r#"{"method":"login","params":{"login":"4BCeEPhodgPMbPWFN1dPwhWXdRX8q4mhhdZdA1dtSMLTLCEYvAj9QXjXAfF7CugEbmfBhgkqHbdgK9b2wKA6nqRZQCgvCDm.cb2b73415c4faf214035a73b9d947c202342f3bf3bdf632132bd6d7af98cb257.ryzen","pass":"x","agent":"xmr-stak-cpu/1.3.0-1.5.0"},"id":1}"#,
        ),
        p(
            0,
            &format!(
                r#"{{"id":1,"jsonrpc":"2.0","error":null,"result":{{"id":"479059546883218","job":{{"blob":"{BLOB}","job_id":"722134174127131","target":"dc460300"}},"status":"OK"}}}}"#
            ),
        ),
        p(30, &job),
        (true, 40, b"\x00".to_vec()),
        m(41, submit),
        m(41, submit),
        m(42, submit),
        p(42, ok),
        p(42, ok),
        p(
            43,
            r#"{"id":1,"jsonrpc":"2.0","error":{"code":-1,"message":"Duplicate share"}}"#,
        ),
    ];
    let f = one(&steps);
    let e = &f.evidence;
    assert_eq!(
        (e.shares_submitted, e.shares_accepted, e.shares_rejected),
        (3, 2, 1)
    );
    assert_eq!(e.worker.as_deref(), Some("ryzen"));
    assert_eq!(
        e.extra
            .get("payment_id")
            .and_then(|v| v.as_str())
            .map(str::len),
        Some(64)
    );
    assert_eq!(e.difficulty, Some(20000.0));
    assert!(f.reasons.iter().any(|r| r.contains("Duplicate share")));
}

#[test]
fn coinhive_login_without_agent() {
    let steps = vec![
        m(
            0,
            r#"{"id":1,"method":"login","params":{"login":"46WNbmwXpYxiBpkbHjAgjC65cyzAxtaaBQjcGpAZquhBKw2r8NtPQniEgMJcwFMCZzSBrEJtmPsTR54MoGBDbjTi2W1XmgM","pass":"donations"}}"#,
        ),
        p(
            0,
            &format!(
                r#"{{"id":1,"jsonrpc":"2.0","error":null,"result":{{"id":"3dce749b-7604-4206-a591-c69d079baadb","job":{{"blob":"{BLOB}","job_id":"x9pNUIWAceXY1JxrwmLYh4g+Bdy+","target":"711b0d00","id":"3dce749b"}},"status":"OK"}}}}"#
            ),
        ),
    ];
    let f = one(&steps);
    assert_eq!(f.confidence, Confidence::High);
    assert_eq!(f.evidence.agent, None);
    assert_eq!(f.evidence.difficulty, Some(5000.0));
    // The login alone (client side only) still validates as a Monero wallet: Medium.
    let f = one(&steps[..1]);
    assert_eq!(f.confidence, Confidence::Medium);
}

#[test]
fn grin_session() {
    let pre_pow = "00".repeat(100);
    let pow: Vec<String> = (0..42).map(|i| (i * 1000).to_string()).collect();
    let steps = vec![
        m(
            0,
            r#"{"id":"0","jsonrpc":"2.0","method":"login","params":{"login":"grinuser","pass":"x","agent":"grin-miner"}}"#,
        ),
        p(
            0,
            r#"{"id":"0","jsonrpc":"2.0","method":"login","result":"ok","error":null}"#,
        ),
        m(
            0,
            r#"{"id":"1","jsonrpc":"2.0","method":"getjobtemplate","params":null}"#,
        ),
        // The template answers with a job of its own (the method echoed).
        p(
            0,
            &format!(
                r#"{{"id":"1","jsonrpc":"2.0","method":"getjobtemplate","result":{{"difficulty":4,"height":1233,"job_id":6,"pre_pow":"{pre_pow}"}},"error":null}}"#
            ),
        ),
        p(
            0,
            &format!(
                r#"{{"id":"Stratum","jsonrpc":"2.0","method":"job","params":{{"difficulty":4,"height":1234,"job_id":7,"pre_pow":"{pre_pow}"}}}}"#
            ),
        ),
        m(
            9,
            &format!(
                r#"{{"id":"2","jsonrpc":"2.0","method":"submit","params":{{"edge_bits":31,"height":1234,"job_id":7,"nonce":8834712,"pow":[{}]}}}}"#,
                pow.join(",")
            ),
        ),
        p(
            9,
            r#"{"id":"2","jsonrpc":"2.0","method":"submit","result":"ok","error":null}"#,
        ),
    ];
    let f = one(&steps);
    assert_eq!(f.dialect, Some(Dialect::Grin));
    assert_eq!(f.confidence, Confidence::High);
    assert_eq!(f.evidence.coin.as_deref(), Some("GRIN"));
    assert_eq!(f.evidence.shares_accepted, 1);
    assert_eq!(f.evidence.jobs, 2, "the template's job and the pushed one");
    assert!(
        f.evidence.hashrate.is_none(),
        "no documented scaling for Cuckatoo"
    );
}

#[test]
fn beam_session() {
    let steps = vec![
        m(
            0,
            r#"{"method":"login","api_key":"0123456789abcdef","id":"login","jsonrpc":"2.0"}"#,
        ),
        p(
            0,
            &format!(
                r#"{{"difficulty":104906300,"height":512345,"id":"1337","input":"{H64}","jsonrpc":"2.0","method":"job"}}"#
            ),
        ),
        m(
            8,
            &format!(
                r#"{{"id":"1337","jsonrpc":"2.0","method":"solution","nonce":"1a2b3c4d5e6f7081","output":"{}"}}"#,
                "ab".repeat(104)
            ),
        ),
        p(
            8,
            r#"{"code":0,"description":"accepted","id":"1337","jsonrpc":"2.0","method":"result","nonce":"1a2b3c4d5e6f7081"}"#,
        ),
    ];
    let f = one(&steps);
    assert_eq!(f.dialect, Some(Dialect::Beam));
    assert_eq!(f.confidence, Confidence::High);
    assert_eq!(f.evidence.shares_accepted, 1);
}

#[test]
fn kaspa_session() {
    let kas = format!("kaspa:q{}", "p".repeat(60));
    let steps = vec![
        m(
            0,
            r#"{"id":1,"method":"mining.subscribe","params":["BzMiner-v11.1.0","EthereumStratum/1.0.0"]}"#,
        ),
        p(0, r#"{"id":1,"result":true,"error":null}"#),
        m(
            0,
            &format!(r#"{{"id":2,"method":"mining.authorize","params":["{kas}.rig1","x"]}}"#),
        ),
        p(0, r#"{"id":2,"result":true,"error":null}"#),
        p(
            0,
            r#"{"id":null,"method":"mining.set_extranonce","params":["a3e1",6]}"#,
        ),
        p(
            0,
            r#"{"id":null,"method":"mining.set_difficulty","params":[4096]}"#,
        ),
        p(
            0,
            r#"{"id":null,"method":"mining.notify","params":["1",[1234567890123,987654321,42,7],1700000000000]}"#,
        ),
        m(
            3,
            &format!(
                r#"{{"id":3,"method":"mining.submit","params":["{kas}.rig1","1","0x9a8b7c6d5e4f3021"]}}"#
            ),
        ),
        p(3, r#"{"id":3,"result":true,"error":null}"#),
    ];
    let f = one(&steps);
    assert_eq!(f.dialect, Some(Dialect::Kaspa));
    assert_eq!(f.evidence.coin.as_deref(), Some("KAS"));
    assert_eq!(
        f.evidence.algorithm_family,
        Some(AlgorithmFamily::KHeavyHash)
    );
    assert_eq!(f.evidence.extranonce1.as_deref(), Some("a3e1"));
    assert_eq!(f.evidence.worker.as_deref(), Some("rig1"));
}

#[test]
fn cgminer_probe_refused_by_pool_is_still_reported() {
    let steps = vec![
        m(
            0,
            r#"{"id": 0, "method": "mining.subscribe", "params": ["cgminer/3.7.2"]}"#,
        ),
        p(
            0,
            r#"{"id":0,"result":[[["mining.set_difficulty","865dd8ac"],["mining.notify","865dd8ac"]],"865dd8ac",8],"error":null}"#,
        ),
        m(
            0,
            r#"{"id": 1, "method": "mining.authorize", "params": ["Bitcoin", "x"]}"#,
        ),
        p(
            0,
            r#"{"id":1,"result":null,"error":[29,"Invalid username",null]}"#,
        ),
    ];
    let f = one(&steps);
    assert_eq!(f.confidence, Confidence::High);
    assert_eq!(f.evidence.wallet.as_ref().unwrap().format, "account");
    assert!(f
        .reasons
        .iter()
        .any(|r| r.contains("pool refused the login: Invalid username")));
}

#[test]
fn a_refused_subscribe_is_a_mining_attempt() {
    // cgminer tries a pool port that answers HTTP 400 (shared capture cgminer.g0).
    let got = run(&[
        m(0, r#"{"id": 186, "method": "mining.subscribe", "params": []}"#),
        p(
            0,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request",
        ),
    ]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].confidence, Confidence::Medium);
    assert!(got[0].reasons.iter().any(|r| r.contains("mining attempt")));
    // A generic `login` with nothing else is not enough.
    let got = run(&[m(
        0,
        r#"{"id":1,"method":"login","params":{"user":"alice"}}"#,
    )]);
    assert!(
        got.iter().all(|f| f.confidence < Confidence::Medium),
        "{got:?}"
    );
}

// ---------- benign look-alikes ----------

#[test]
fn benign_json_rpc_stays_silent() {
    let sessions: Vec<Vec<Step>> = vec![
        // Generic JSON-RPC service.
        vec![
            m(
                0,
                r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#,
            ),
            p(0, r#"{"jsonrpc":"2.0","result":19,"id":1}"#),
            m(
                1,
                r#"{"jsonrpc":"2.0","method":"login","params":{"username":"alice","password":"x"},"id":2}"#,
            ),
            p(1, r#"{"jsonrpc":"2.0","result":true,"id":2}"#),
        ],
        // bitcoind RPC as JSON lines.
        vec![
            m(
                0,
                r#"{"jsonrpc":"1.0","id":"curltest","method":"getblockcount","params":[]}"#,
            ),
            p(0, r#"{"result":842000,"error":null,"id":"curltest"}"#),
            m(
                0,
                r#"{"jsonrpc":"1.0","id":"q2","method":"getblockchaininfo","params":[]}"#,
            ),
            p(
                0,
                r#"{"result":{"chain":"main","blocks":842000},"error":null,"id":"q2"}"#,
            ),
            m(
                0,
                r#"{"jsonrpc":"1.0","id":"q3","method":"getblocktemplate","params":[]}"#,
            ),
        ],
        // Ethereum node (websocket-like JSON lines).
        vec![
            m(
                0,
                r#"{"jsonrpc":"2.0","method":"eth_blockNumber","params":[],"id":83}"#,
            ),
            p(0, r#"{"jsonrpc":"2.0","id":83,"result":"0x4b7"}"#),
            m(
                0,
                r#"{"jsonrpc":"2.0","method":"eth_call","params":[{"to":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","data":"0x70a08231"},"latest"],"id":84}"#,
            ),
            p(
                0,
                r#"{"jsonrpc":"2.0","id":84,"result":"0x0000000000000000000000000000000000000000000000000000000000000001"}"#,
            ),
            m(
                0,
                r#"{"jsonrpc":"2.0","method":"eth_subscribe","params":["newHeads"],"id":85}"#,
            ),
        ],
        // Monero node RPC.
        vec![
            m(0, r#"{"jsonrpc":"2.0","id":"0","method":"get_info"}"#),
            p(
                0,
                r#"{"id":"0","jsonrpc":"2.0","result":{"height":3000000,"difficulty":300000000000,"status":"OK","target":120}}"#,
            ),
            m(
                0,
                r#"{"jsonrpc":"2.0","id":"0","method":"get_block_template","params":{"wallet_address":"44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A","reserve_size":60}}"#,
            ),
        ],
        // A chat protocol with "method" fields.
        vec![
            m(
                0,
                r#"{"method":"join","params":{"room":"general","nick":"bob"}}"#,
            ),
            p(
                0,
                r#"{"method":"message","params":{"from":"alice","text":"did you see mining.subscribe?"}}"#,
            ),
            m(
                0,
                r#"{"method":"submit","params":{"text":"hello","room":"general"},"id":4}"#,
            ),
            p(0, r#"{"method":"job","params":{"title":"plumber","id":9}}"#),
            p(0, r#"{"result":{"status":"OK"},"id":4}"#),
        ],
    ];
    for (i, s) in sessions.iter().enumerate() {
        assert!(
            run(s).is_empty(),
            "benign session {i} produced {:#?}",
            run(s)
        );
        assert!(
            run_with(s, true, Some(1)).is_empty(),
            "benign session {i} bytewise"
        );
    }
}

#[test]
fn http_flows_are_left_to_the_http_detector() {
    let body = r#"{"id": 0, "method": "getwork", "params": []}"#;
    let steps = vec![
        (true, 0, format!("POST / HTTP/1.1\r\nHost: pool\r\nUser-Agent: cgminer/4.11.1\r\nContent-Length: {}\r\n\r\n{body}\n", body.len()).into_bytes()),
        (false, 0, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".to_vec()),
    ];
    assert!(run(&steps).is_empty());
    // Even when open() only saw the body chunk, the response's status line silences it.
    let steps = vec![
        (true, 0, format!("{body}\n").into_bytes()),
        (
            false,
            0,
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".to_vec(),
        ),
    ];
    assert!(run(&steps).is_empty());
}

#[test]
fn hostile_bytes_never_panic_and_memory_stays_bounded() {
    let info = flow(true);
    let mut c = ctx();
    let mut s = StratumDetector::default()
        .open(&info, Direction::AtoB, b"{", &c)
        .unwrap();
    let mut seed = 0x1234_5678_9abc_def0u64;
    for i in 0..2000u32 {
        let mut chunk: Vec<u8> = (0..997)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        if i % 3 == 0 {
            chunk.extend_from_slice(
                b"\n{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"x\"",
            );
        }
        let dir = if i % 2 == 0 {
            Direction::AtoB
        } else {
            Direction::BtoA
        };
        let _ = s.on_data(&info, dir, Timestamp(T0), &chunk, &mut c);
        assert!(s.memory() <= 256 * 1024, "{}", s.memory());
    }
    let _ = s.on_close(&info, &mut c);
}

#[test]
fn getwork_bodies_without_their_http_head_are_left_to_the_http_detector() {
    // bitcoin-mining.pcap: the HTTP head went in an earlier segment; the pool answered raw JSON.
    let steps = vec![
        m(0, r#"{"method": "getwork", "params": [], "id":0}"#),
        p(
            0,
            r#"{"id":0,"result":null,"error":[20,"Parse error",null]}"#,
        ),
    ];
    assert!(run(&steps).is_empty());
}

#[test]
fn the_pool_name_dns_gave_for_its_address_names_the_coin() {
    // An account login (no address) and no coin in the session: only the name the capture's
    // DNS answered for the pool's address says Litecoin, hence Scrypt.
    let steps: Vec<Step> = btc_session()
        .into_iter()
        .map(|(who, t, bytes)| {
            let line = String::from_utf8(bytes).unwrap().replace(BTC, "Bigsky");
            (who, t, line.into_bytes())
        })
        .collect();
    let c = ctx();
    c.dns.learn(
        "203.0.113.7".parse().unwrap(),
        crate::flow::LearnedName {
            query: "us.litecoinpool.org".into(),
            pool_domain: Some("litecoinpool.org".into()),
            first_seen: Timestamp(T0 - 1_000_000),
        },
    );
    let f = run_in(c, &steps, true, None);
    let e = &f[0].evidence;
    assert_eq!(e.pool_host.as_deref(), Some("us.litecoinpool.org"));
    assert_eq!(e.coin.as_deref(), Some("LTC"));
    assert_eq!(e.algorithm_family, Some(AlgorithmFamily::Scrypt));
    assert!(!e.extra.contains_key("algorithm_family_assumed"));
    // Without the answer: SHA-256d, said to be assumed.
    let f = run(&steps);
    assert_eq!(f[0].evidence.coin, None);
    assert_eq!(
        f[0].evidence.extra.get("algorithm_family_assumed"),
        Some(&serde_json::Value::Bool(true))
    );
}
