use super::*;

/// Re-spaces a compact JSON line the way Python's json.dumps does (`", "` and `": "`),
/// leaving string contents alone.
fn spaced(compact: &str) -> String {
    let mut out = String::new();
    let mut in_str = false;
    let mut escaped = false;
    for c in compact.chars() {
        out.push(c);
        if in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
        } else if c == ',' || c == ':' {
            out.push(' ');
        }
    }
    out
}

/// Parses both spacings (and with a trailing newline) and checks they agree.
fn both(line: &str) -> MiningMessage {
    let a = parse_line(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"));
    let sp = spaced(line);
    let b = parse_line(format!("{sp}\n").as_bytes()).unwrap_or_else(|e| panic!("{sp}: {e}"));
    assert_eq!(a, b, "spacing changed the parse of {line}");
    a
}

fn payload(line: &str) -> Payload {
    both(line).payload
}

const HASH64: &str = "3a7884394cdd1a2e73fc2f23c6d7759db336fbc2567bf013ce61890b00000000";

// ---------- Stratum V1 ----------

#[test]
fn stratum_subscribe_variants() {
    for (line, agent, session) in [
        (
            r#"{"id":1,"method":"mining.subscribe","params":["cgminer/4.11.1"]}"#,
            Some("cgminer/4.11.1"),
            None,
        ),
        (
            r#"{"id":1,"method":"mining.subscribe","params":[]}"#,
            None,
            None,
        ),
        (
            r#"{"id":1,"method":"mining.subscribe","params":["bfgminer/5.2.0","1"]}"#,
            Some("bfgminer/5.2.0"),
            Some("1"),
        ),
    ] {
        let m = both(line);
        assert_eq!(m.id, Some(RpcId::Number(1)));
        assert_eq!(m.sender_role(), Role::Client);
        match m.payload {
            Payload::Subscribe(s) => {
                assert_eq!(s.agent.as_deref(), agent);
                assert_eq!(s.session_id.as_deref(), session);
            }
            other => panic!("{other:?}"),
        }
    }
    // Wrong shapes are not a subscribe.
    assert_eq!(
        payload(r#"{"id":1,"method":"mining.subscribe","params":{"a":1}}"#),
        Payload::Unrecognised
    );
    assert_eq!(
        payload(r#"{"id":1,"method":"mining.subscribe","params":[1,2]}"#),
        Payload::Unrecognised
    );
}

#[test]
fn stratum_subscribe_results() {
    let m = both(
        r#"{"id":1,"result":[[["mining.notify","ae6812eb4cd7735a"]],"08000002",4],"error":null}"#,
    );
    match m.payload {
        Payload::Response(Response {
            result:
                ResultShape::Subscribe {
                    extranonce1,
                    extranonce2_size,
                    ..
                },
            error: None,
        }) => {
            assert_eq!(extranonce1.as_deref(), Some("08000002"));
            assert_eq!(extranonce2_size, Some(4));
        }
        other => panic!("{other:?}"),
    }
    // Two subscriptions, and the ckpool single-pair form.
    assert!(both(r#"{"result":[[["mining.notify","1"],["mining.set_difficulty","2"]],"00b61738",4],"error":null,"id":0}"#).is_mining());
    assert!(both(r#"{"error":null,"id":8,"result":[["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f"],"00",8]}"#).is_mining());
}

#[test]
fn stratum_authorize_and_results() {
    match payload(
        r#"{"id":2,"method":"mining.authorize","params":["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa.rig1","x"]}"#,
    ) {
        Payload::Authorize { login, password } => {
            assert_eq!(login, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa.rig1");
            assert_eq!(password.as_deref(), Some("x"));
        }
        other => panic!("{other:?}"),
    }
    let ok = both(r#"{"id":2,"result":true,"error":null}"#);
    match ok.payload {
        Payload::Response(r) => assert!(r.accepted()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        payload(r#"{"id":2,"method":"mining.authorize","params":[]}"#),
        Payload::Unrecognised
    );
}

#[test]
fn stratum_set_difficulty_and_notify() {
    assert_eq!(
        payload(r#"{"id":null,"method":"mining.set_difficulty","params":[65536]}"#),
        Payload::SetDifficulty {
            difficulty: 65536.0
        }
    );
    assert_eq!(
        payload(r#"{"id":null,"method":"mining.set_difficulty","params":["big"]}"#),
        Payload::Unrecognised
    );
    let notify = format!(
        r#"{{"id":null,"method":"mining.notify","params":["274a-1","{HASH64}","01000000010000","ffffffff02","[M]","20000000","1d00ffff","5a40d0fe",true]}}"#
    )
    .replace("\"[M]\"", &format!(r#"["{HASH64}","{HASH64}"]"#));
    let m = both(&notify);
    assert_eq!(m.sender_role(), Role::Pool);
    match m.payload {
        Payload::Notify(n) => {
            assert_eq!(n.shape, NotifyShape::Bitcoin);
            assert_eq!(n.job_id, "274a-1");
            assert_eq!(n.clean, Some(true));
        }
        other => panic!("{other:?}"),
    }
    // 8 elements of Bitcoin style (missing clean) is no notify.
    let short = format!(
        r#"{{"id":null,"method":"mining.notify","params":["1","{HASH64}","01","02",[],"20000000","1d00ffff","5a40d0fe"]}}"#
    );
    assert_eq!(payload(&short), Payload::Unrecognised);
}

#[test]
fn stratum_submit_shapes() {
    match payload(
        r#"{"id":4,"method":"mining.submit","params":["w.1","274a-1","00000001","5a40d0fe","9a8b7c6d"]}"#,
    ) {
        Payload::Submit(s) => {
            assert_eq!(
                s.shape,
                SubmitShape::Bitcoin {
                    version_bits: false
                }
            );
            assert_eq!((s.worker.as_str(), s.job_id.as_str()), ("w.1", "274a-1"));
        }
        other => panic!("{other:?}"),
    }
    match payload(
        r#"{"id":5,"method":"mining.submit","params":["w.1","a","00000001","5a40d0fe","9a8b7c6d","1fffe000"]}"#,
    ) {
        Payload::Submit(s) => assert_eq!(s.shape, SubmitShape::Bitcoin { version_bits: true }),
        other => panic!("{other:?}"),
    }
    // Wrong counts and non-hex fields.
    for bad in [
        r#"{"id":4,"method":"mining.submit","params":["w","j","00","5a40d0fe"]}"#,
        r#"{"id":4,"method":"mining.submit","params":["w","j","zz","5a40d0fe","nothex!!"]}"#,
        r#"{"id":4,"method":"mining.submit","params":["w","j","00000001","5a40d0fe","9a8b7c6d","x","y"]}"#,
        r#"{"id":4,"method":"mining.submit","params":["w","j",1,2,3]}"#,
    ] {
        assert_eq!(payload(bad), Payload::Unrecognised, "{bad}");
    }
}

#[test]
fn stratum_extensions_and_control() {
    for line in [
        r#"{"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"1fffe000"}]}"#,
        r#"{"id":3,"method":"mining.extranonce.subscribe","params":[]}"#,
        r#"{"id":4,"method":"mining.suggest_difficulty","params":[1024]}"#,
        r#"{"id":5,"method":"mining.suggest_target","params":["0000ffff00000000000000000000000000000000000000000000000000000000"]}"#,
        r#"{"params":["274d-13"],"id":"txlist274d-13","method":"mining.get_transactions"}"#,
    ] {
        let m = both(line);
        assert_eq!(m.payload, Payload::ClientExtension, "{line}");
        assert_eq!(m.sender_role(), Role::Client);
    }
    for line in [
        r#"{"id":null,"method":"client.reconnect","params":["pool.example",3333,0]}"#,
        r#"{"id":null,"method":"client.show_message","params":["hello"]}"#,
        r#"{"id":7,"method":"client.get_version","params":[]}"#,
        r#"{"id":8,"method":"mining.ping","params":[]}"#,
    ] {
        assert_eq!(payload(line), Payload::PoolControl, "{line}");
    }
    assert_eq!(
        payload(r#"{"id":null,"method":"mining.set_extranonce","params":["08000002",4]}"#),
        Payload::SetExtranonce {
            extranonce1: "08000002".into(),
            size: Some(4)
        }
    );
    assert_eq!(
        payload(r#"{"id":null,"method":"mining.set_version_mask","params":["1fffe000"]}"#),
        Payload::SetVersionMask
    );
}

#[test]
fn stratum_error_codes_20_to_25() {
    for code in 20..=25 {
        let line = format!(r#"{{"id":9,"result":null,"error":[{code},"msg",null]}}"#);
        match payload(&line) {
            Payload::Response(r) => {
                let e = r.error.clone().unwrap();
                assert_eq!(e.code, Some(code));
                assert!(e.stratum_meaning().is_some());
                assert!(!r.accepted());
            }
            other => panic!("{other:?}"),
        }
    }
    match payload(r#"{"id":1,"error":{"code":-1,"message":"Unauthenticated"},"result":null}"#) {
        Payload::Response(r) => assert_eq!(r.error.unwrap().message, "Unauthenticated"),
        other => panic!("{other:?}"),
    }
}

// ---------- Equihash ----------

#[test]
fn equihash_messages_from_real_sessions() {
    match payload(
        r#"{"id":1,"method":"mining.subscribe","params":["EWBF 0.3.4b",null,"eu1-zcash.flypool.org","3333"]}"#,
    ) {
        Payload::Subscribe(s) => {
            assert_eq!(s.agent.as_deref(), Some("EWBF 0.3.4b"));
            assert_eq!(s.host.as_deref(), Some("eu1-zcash.flypool.org"));
        }
        other => panic!("{other:?}"),
    }
    // ZIP 301 as written: CONNECT_PORT a number.
    match payload(
        r#"{"id":1,"method":"mining.subscribe","params":["nheqminer/0.5c",null,"192.0.2.28",3357]}"#,
    ) {
        Payload::Subscribe(s) => {
            assert_eq!(s.agent.as_deref(), Some("nheqminer/0.5c"));
            assert_eq!(s.port.as_deref(), Some("3357"));
        }
        other => panic!("{other:?}"),
    }
    // A number anywhere else is not a subscribe's shape.
    assert_eq!(
        payload(r#"{"id":1,"method":"mining.subscribe","params":["a",7,"h","1"]}"#),
        Payload::Unrecognised
    );
    assert!(both(r#"{"id":1,"result":["04d567b212","04d567b212"],"error":null}"#).is_mining());
    assert!(
        both(r#"{"id":1,"result":[null,"e66c000000000000bbb0a52bb340bc35"],"error":null}"#)
            .is_mining()
    );
    assert_eq!(
        payload(
            r#"{"id":null,"method":"mining.set_target","params":["0004189374bc6a7ef9db22d0e5604189374bc6a7ef9db22d0e5604189374bc6a"]}"#
        ),
        Payload::SetTarget {
            target: "0004189374bc6a7ef9db22d0e5604189374bc6a7ef9db22d0e5604189374bc6a".into()
        }
    );
    let z = "0".repeat(64);
    let notify = format!(
        r#"{{"id":0,"params":["1484582181","04000000","{HASH64}","{HASH64}","{z}","25ed7c58","83837b1c",true],"method":"mining.notify"}}"#
    );
    match payload(&notify) {
        Payload::Notify(n) => assert_eq!(n.shape, NotifyShape::Equihash),
        other => panic!("{other:?}"),
    }
    let solution = format!("fd400500{}", "ab".repeat(1344));
    let submit = format!(
        r#"{{"id":4,"method":"mining.submit","params":["t1KJkEGkUrmBRQdeQeNchfqgvDFD7Pk1kKQ.kvetak","1484582242","61ed7c58","f30c0000000000000000000000000000","{solution}"]}}"#
    );
    match payload(&submit) {
        Payload::Submit(s) => assert!(
            matches!(s.shape, SubmitShape::Equihash { solution_hex_len } if solution_hex_len > 2000)
        ),
        other => panic!("{other:?}"),
    }
}

// ---------- EthereumStratum ----------

#[test]
fn ethereum_stratum_1() {
    match payload(
        r#"{"id":1,"method":"mining.subscribe","params":["EthereumMiner/1.0.0","EthereumStratum/1.0.0"]}"#,
    ) {
        Payload::Subscribe(s) => assert_eq!(s.protocol.as_deref(), Some("EthereumStratum/1.0.0")),
        other => panic!("{other:?}"),
    }
    match payload(
        r#"{"id":1,"result":[["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f","EthereumStratum/1.0.0"],"080c"],"error":null}"#,
    ) {
        Payload::Response(Response {
            result:
                ResultShape::Subscribe {
                    protocol,
                    extranonce1,
                    ..
                },
            ..
        }) => {
            assert_eq!(protocol.as_deref(), Some("EthereumStratum/1.0.0"));
            assert_eq!(extranonce1.as_deref(), Some("080c"));
        }
        other => panic!("{other:?}"),
    }
    let notify = format!(
        r#"{{"id":null,"method":"mining.notify","params":["bf0488aa","{HASH64}","{HASH64}",true]}}"#
    );
    match payload(&notify) {
        Payload::Notify(n) => assert_eq!(n.shape, NotifyShape::EthStratum),
        other => panic!("{other:?}"),
    }
    match payload(
        r#"{"id":244,"method":"mining.submit","params":["0x9c99d212f7e5daa18ab50810e0fd255d1f04303b.w","bf0488aa","6a909d9bbc0f"]}"#,
    ) {
        Payload::Submit(s) => {
            assert_eq!(s.shape, SubmitShape::ThreeStrings);
            assert_eq!(s.job_id, "bf0488aa");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ethereum_stratum_2() {
    match payload(
        r#"{"id":0,"method":"mining.hello","params":{"agent":"ethminer-0.19.0","host":"pool.example","port":"4d2","proto":"EthereumStratum/2.0.0"}}"#,
    ) {
        Payload::Hello(h) => {
            assert_eq!(h.agent.as_deref(), Some("ethminer-0.19.0"));
            assert_eq!(h.proto.as_deref(), Some("EthereumStratum/2.0.0"));
        }
        other => panic!("{other:?}"),
    }
    assert!(both(r#"{"id":0,"result":{"proto":"EthereumStratum/2.0.0","encoding":"plain","resume":1,"timeout":30,"maxerrors":5,"node":"Geth/v1.8.18"}}"#).is_mining());
    match payload(
        r#"{"method":"mining.set","params":{"epoch":"dc","target":"0112e0be826d694b2e62d01511f12a6061fbaec8bc02357593e70e52ba","algo":"ethash","extranonce":"af4c"}}"#,
    ) {
        Payload::MiningSet {
            algo,
            target,
            extranonce,
        } => {
            assert_eq!(algo.as_deref(), Some("ethash"));
            assert!(target.is_some());
            assert_eq!(extranonce.as_deref(), Some("af4c"));
        }
        other => panic!("{other:?}"),
    }
    match payload(r#"{"id":6,"method":"mining.hashrate","params":["500000","w1"]}"#) {
        Payload::ReportHashrate { hashes_per_second } => {
            assert_eq!(hashes_per_second, Some(5_242_880.0))
        }
        other => panic!("{other:?}"),
    }
    // ES2 submit order: [job_id, nonce, worker].
    match payload(
        r#"{"id":7,"method":"mining.submit","params":["bf0488aa","6a909d9bbc0f","rig-1"]}"#,
    ) {
        Payload::Submit(s) => assert_eq!(
            (s.job_id.as_str(), s.worker.as_str()),
            ("bf0488aa", "rig-1")
        ),
        other => panic!("{other:?}"),
    }
}

// ---------- EthProxy ----------

#[test]
fn ethproxy_messages_from_nanopool() {
    let m = both(
        r#"{"worker":"eth1.0","jsonrpc":"2.0","params":["0x9c99d212f7e5daa18ab50810e0fd255d1f04303b/tester.worker1/vvesely@mailinator","x"],"id":2,"method":"eth_submitLogin"}"#,
    );
    assert_eq!(m.worker.as_deref(), Some("eth1.0"));
    assert!(matches!(m.payload, Payload::EthSubmitLogin { .. }));
    assert_eq!(
        payload(r#"{"worker":"","jsonrpc":"2.0","params":[],"id":3,"method":"eth_getWork"}"#),
        Payload::EthGetWork
    );
    let push = format!(
        r#"{{"jsonrpc":"2.0","id":0,"result":["0x{HASH64}","0x{HASH64}","0x00000000dbe6fecebdedd5beb573440e5a884d1b2fbf06fcce912adcb8d8422e"]}}"#
    );
    let m = both(&push);
    assert_eq!(m.sender_role(), Role::Pool);
    match m.payload {
        Payload::Response(Response {
            result: ResultShape::EthWork { target, .. },
            ..
        }) => {
            assert!(target.starts_with("00000000dbe6"))
        }
        other => panic!("{other:?}"),
    }
    let submit = format!(
        r#"{{"id":4,"method":"eth_submitWork","params":["0x07a05fa4133e5126","0x{HASH64}","0x{HASH64}"]}}"#
    );
    assert_eq!(payload(&submit), Payload::EthSubmitWork);
    match payload(
        r#"{"id":6,"jsonrpc":"2.0","method":"eth_submitHashrate","params":["0x1d08a61","0x0000000000000000000000000000000000000000000000000000000002df91be"]}"#,
    ) {
        Payload::ReportHashrate { hashes_per_second } => {
            assert_eq!(hashes_per_second, Some(30_444_129.0))
        }
        other => panic!("{other:?}"),
    }
}

// ---------- KawPow ----------

#[test]
fn kawpow_messages() {
    match payload(
        r#"{"id":1,"method":"mining.subscribe","params":["GMiner/2.09",null,"rvn.pool.example","3333"]}"#,
    ) {
        Payload::Subscribe(s) => assert_eq!(s.agent.as_deref(), Some("GMiner/2.09")),
        other => panic!("{other:?}"),
    }
    assert!(both(r#"{"id":1,"result":[null,"8a2f"],"error":null}"#).is_mining());
    let target = "00000000ff000000000000000000000000000000000000000000000000000000";
    assert!(matches!(
        payload(&format!(
            r#"{{"id":null,"method":"mining.set_target","params":["{target}"]}}"#
        )),
        Payload::SetTarget { .. }
    ));
    let notify = format!(
        r#"{{"id":null,"method":"mining.notify","params":["5f","{HASH64}","{HASH64}","{target}",true,2134567,"1b00f4a1"]}}"#
    );
    match payload(&notify) {
        Payload::Notify(n) => {
            assert_eq!(n.shape, NotifyShape::KawPow);
            assert_eq!(n.target.as_deref(), Some(target));
        }
        other => panic!("{other:?}"),
    }
    let submit = format!(
        r#"{{"id":5,"method":"mining.submit","params":["RXwallet.rig","5f","0x1a2b3c4d5e6f7081","0x{HASH64}","0x{HASH64}"]}}"#
    );
    match payload(&submit) {
        Payload::Submit(s) => assert_eq!(s.shape, SubmitShape::KawPow),
        other => panic!("{other:?}"),
    }
}

// ---------- CryptoNote / XMRig ----------

const BLOB: &str = "0606e89883d205a65d8ee78991838a1cf3ec2ebbc5fb1fa43dec5fa1cd2bee4069212a549cd731000000005a88235653097aa3e97ef2ceef4aee610751a828f9be1a0758a78365fb0a4c8c05";

#[test]
fn xmrig_login_job_submit() {
    let login = r#"{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"41ymEBmviWTgohYvVCSYzjgH9JsdY98243VeBz9SwrCrheVDVW4JWp4anzVnjMvAgkjBdCK5zB7RFHdGKynV7THLAiNrmY4.Zoey","pass":"x","agent":"XMRig/6.26.0 (Linux x86_64) libuv/1.x gcc/13.x","rigid":"rig1","algo":["rx/0","cn/r"]}}"#;
    match payload(login) {
        Payload::Login(l) => {
            assert!(l.agent.unwrap().starts_with("XMRig/"));
            assert_eq!(l.rigid.as_deref(), Some("rig1"));
            assert_eq!(l.algos, vec!["rx/0", "cn/r"]);
        }
        other => panic!("{other:?}"),
    }
    let reply = format!(
        r#"{{"id":1,"jsonrpc":"2.0","error":null,"result":{{"id":"479059546883218","job":{{"blob":"{BLOB}","job_id":"722134174127131","target":"b88d0600","algo":"rx/0","height":2350078,"seed_hash":"{HASH64}"}},"extensions":["algo","keepalive"],"status":"OK"}}}}"#
    );
    match payload(&reply) {
        Payload::Response(Response {
            result:
                ResultShape::CnLogin {
                    session_id,
                    job: Some(j),
                    status,
                },
            ..
        }) => {
            assert_eq!(session_id, "479059546883218");
            assert_eq!(j.target, "b88d0600");
            assert_eq!(j.algo.as_deref(), Some("rx/0"));
            assert_eq!(status.as_deref(), Some("OK"));
        }
        other => panic!("{other:?}"),
    }
    let push = format!(
        r#"{{"jsonrpc":"2.0","method":"job","params":{{"blob":"{BLOB}","job_id":"870986284082755","target":"dc460300"}}}}"#
    );
    let m = both(&push);
    assert_eq!(m.sender_role(), Role::Pool);
    assert!(matches!(&m.payload, Payload::CnJob(j) if j.target == "dc460300"));
    let submit = r#"{"id":2,"jsonrpc":"2.0","method":"submit","params":{"id":"22787","job_id":"I4PxanFQLm","nonce":"37160000","result":"575bde0182630e35a62f687dbbb14a3c3a09f517184976ae0bb1681a06af0100","algo":"rx/0"}}"#;
    assert!(matches!(payload(submit), Payload::CnSubmit { .. }));
    match payload(r#"{"id":2,"jsonrpc":"2.0","error":null,"result":{"status":"OK"}}"#) {
        Payload::Response(r) => assert!(r.accepted()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        payload(r#"{"id":3,"jsonrpc":"2.0","method":"keepalived","params":{"id":"22787"}}"#),
        Payload::CnKeepalive
    );
    assert!(
        both(r#"{"id":3,"jsonrpc":"2.0","error":null,"result":{"status":"KEEPALIVED"}}"#)
            .is_mining()
    );
    assert_eq!(
        payload(r#"{"id":4,"method":"getjob","params":{"id":"22787"}}"#),
        Payload::CnGetJob
    );
    let getjob_reply = format!(
        r#"{{"id":4,"jsonrpc":"2.0","error":null,"result":{{"blob":"{BLOB}","job_id":"1","target":"711b0d00"}}}}"#
    );
    assert!(matches!(
        payload(&getjob_reply),
        Payload::Response(Response {
            result: ResultShape::CnJob(_),
            ..
        })
    ));
}

#[test]
fn old_cryptonote_clients() {
    // xmr-stak-cpu: no jsonrpc; coinhive: no agent.
    let xmrstak = r#"{"method":"login","params":{"login":"4BCeEPhodgPMbPWFN1dPwhWXdRX8q4mhhdZdA1dtSMLTLCEYvAj9QXjXAfF7CugEbmfBhgkqHbdgK9b2wKA6nqRZQCgvCDm.cb2b.ryzen","pass":"x","agent":"xmr-stak-cpu/1.3.0-1.5.0"},"id":1}"#;
    let m = both(xmrstak);
    assert_eq!(m.jsonrpc, None);
    assert!(matches!(m.payload, Payload::Login(_)));
    let coinhive = r#"{"id":1,"method":"login","params":{"login":"46WNbmwXpYxiBpkbHjAgjC65cyzAxtaaBQjcGpAZquhBKw2r8NtPQniEgMJcwFMCZzSBrEJtmPsTR54MoGBDbjTi2W1XmgM","pass":"donations"}}"#;
    match payload(coinhive) {
        Payload::Login(l) => assert_eq!(l.agent, None),
        other => panic!("{other:?}"),
    }
    let submit = r#"{"method":"submit","params":{"id":"479059546883218","job_id":"973339696088805","nonce":"940e0001","result":"a2418d12ac3fb56df4d93712ac3d10f1b110c8a05d19bac370b8f0730bc70000"},"id":1}"#;
    assert!(matches!(payload(submit), Payload::CnSubmit { .. }));
}

// ---------- Grin, Beam, Kaspa ----------

#[test]
fn grin_messages() {
    assert!(matches!(
        payload(
            r#"{"id":"0","jsonrpc":"2.0","method":"login","params":{"login":"grinuser","pass":"x","agent":"grin-miner"}}"#
        ),
        Payload::Login(_)
    ));
    assert_eq!(
        payload(r#"{"id":"1","jsonrpc":"2.0","method":"getjobtemplate","params":null}"#),
        Payload::GrinGetJobTemplate
    );
    let pre_pow = "00".repeat(100);
    let job = format!(
        r#"{{"id":"Stratum","jsonrpc":"2.0","method":"job","params":{{"difficulty":4,"height":1234,"job_id":7,"pre_pow":"{pre_pow}"}}}}"#
    );
    assert!(matches!(
        payload(&job),
        Payload::GrinJob {
            height: Some(1234),
            ..
        }
    ));
    let pow: Vec<String> = (0..42).map(|i| (i * 1000).to_string()).collect();
    let submit = format!(
        r#"{{"id":"2","jsonrpc":"2.0","method":"submit","params":{{"edge_bits":31,"height":1234,"job_id":7,"nonce":8834712,"pow":[{}]}}}}"#,
        pow.join(",")
    );
    assert!(matches!(payload(&submit), Payload::GrinSubmit { .. }));
    // Grin echoes the method in responses.
    match payload(r#"{"id":"2","jsonrpc":"2.0","method":"submit","result":"ok","error":null}"#) {
        Payload::Response(r) => assert!(r.accepted()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn beam_messages() {
    assert_eq!(
        payload(r#"{"method":"login","api_key":"0123456789abcdef","id":"login","jsonrpc":"2.0"}"#),
        Payload::BeamLogin
    );
    let job = format!(
        r#"{{"difficulty":104906300,"height":512345,"id":"1337","input":"{HASH64}","jsonrpc":"2.0","method":"job"}}"#
    );
    assert!(matches!(
        payload(&job),
        Payload::BeamJob {
            height: Some(512345),
            ..
        }
    ));
    let sol = format!(
        r#"{{"id":"1337","jsonrpc":"2.0","method":"solution","nonce":"1a2b3c4d5e6f7081","output":"{}"}}"#,
        "ab".repeat(104)
    );
    assert!(matches!(payload(&sol), Payload::BeamSolution { .. }));
    assert!(matches!(
        payload(
            r#"{"code":0,"description":"accepted","id":"1337","jsonrpc":"2.0","method":"result","nonce":"1a2b3c4d5e6f7081"}"#
        ),
        Payload::BeamResult { code: Some(0), .. }
    ));
}

#[test]
fn kaspa_messages() {
    match payload(
        r#"{"id":1,"method":"mining.subscribe","params":["BzMiner-v11.1.0","EthereumStratum/1.0.0"]}"#,
    ) {
        Payload::Subscribe(s) => assert_eq!(s.protocol.as_deref(), Some("EthereumStratum/1.0.0")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        payload(r#"{"id":null,"method":"mining.set_extranonce","params":["a3e1",6]}"#),
        Payload::SetExtranonce { .. }
    ));
    let n = r#"{"id":null,"method":"mining.notify","params":["1",[1234567890123,987654321,42,7],1700000000000]}"#;
    assert!(matches!(
        payload(n),
        Payload::Notify(Notify {
            shape: NotifyShape::Kaspa,
            ..
        })
    ));
    let big = format!(r#"{{"id":null,"method":"mining.notify","params":["2","{HASH64}"]}}"#);
    assert!(matches!(
        payload(&big),
        Payload::Notify(Notify {
            shape: NotifyShape::Kaspa,
            ..
        })
    ));
    assert!(matches!(
        payload(
            r#"{"id":9,"method":"mining.submit","params":["kaspa:qpwallet.rig","1","0x9a8b7c6d5e4f3021"]}"#
        ),
        Payload::Submit(Submit {
            shape: SubmitShape::ThreeStrings,
            ..
        })
    ));
}

// ---------- getwork in raw JSON ----------

#[test]
fn getwork_family() {
    assert_eq!(
        payload(r#"{"method":"getwork","params":[],"id":0}"#),
        Payload::GetWork
    );
    assert_eq!(
        payload(
            r#"{"id":0,"method":"getblocktemplate","params":[{"capabilities":["coinbasetxn","workid","coinbase/append"]}]}"#
        ),
        Payload::GetBlockTemplate
    );
    // A node operator's bare getblocktemplate is not taken as mining.
    assert_eq!(
        payload(r#"{"id":0,"method":"getblocktemplate","params":[]}"#),
        Payload::Unrecognised
    );
}

// ---------- benign look-alikes ----------

#[test]
fn generic_json_rpc_is_not_mining() {
    for line in [
        r#"{"jsonrpc":"2.0","method":"getblockcount","params":[],"id":1}"#,
        r#"{"jsonrpc":"1.0","id":"curltest","method":"getblockchaininfo","params":[]}"#,
        r#"{"jsonrpc":"2.0","method":"eth_blockNumber","params":[],"id":83}"#,
        r#"{"jsonrpc":"2.0","method":"eth_call","params":[{"to":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","data":"0x70a08231"},"latest"],"id":1}"#,
        r#"{"jsonrpc":"2.0","id":"0","method":"get_info"}"#,
        r#"{"jsonrpc":"2.0","method":"login","params":{"username":"alice","password":"hunter2"},"id":1}"#,
        r#"{"jsonrpc":"2.0","method":"login","params":["alice","hunter2"],"id":1}"#,
        r#"{"method":"submit","params":{"form":"contact","text":"hi"},"id":4}"#,
        r#"{"method":"job","params":{"title":"engineer","id":7}}"#,
        r#"{"method":"message","params":{"room":"general","text":"mining.subscribe is a method name"}}"#,
        r#"{"method":"mining.subscribe","params":{"channel":"news"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":"0x4b7"}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{"height":3000000,"status":"OK","difficulty":300000000000}}"#,
        r#"{"result":true,"id":5}"#,
    ] {
        let m = both(line);
        assert!(!m.is_mining(), "{line} parsed as {:?}", m.payload);
    }
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    assert!(matches!(parse_line(b""), Err(MiningParseError::Empty)));
    assert!(matches!(parse_line(b"\0"), Err(MiningParseError::Empty)));
    assert!(matches!(
        parse_line(b"[1,2]"),
        Err(MiningParseError::NotObject { .. })
    ));
    assert!(matches!(
        parse_line(b"POST / HTTP/1.1\r\n"),
        Err(MiningParseError::NotObject { .. })
    ));
    assert!(matches!(
        parse_line(br#"{"id":1,"method":"#),
        Err(MiningParseError::Json { .. })
    ));
    let long = vec![b' '; MAX_LINE + 1];
    assert!(matches!(
        parse_line(&long),
        Err(MiningParseError::TooLong { .. })
    ));
    let deep = format!("{}{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    assert!(parse_line(deep.as_bytes()).is_err());
    // A NUL keep-alive before a line (nanopool) is skipped.
    assert!(
        parse_line(b"\0{\"id\":3,\"method\":\"getjob\",\"params\":{\"id\":\"1\"}}\n")
            .unwrap()
            .is_mining()
    );
    // Invalid UTF-8 inside a string.
    assert!(parse_line(b"{\"method\":\"\xff\"}").is_err());
    // Very long fields are cut.
    let agent = "A".repeat(5000);
    match parse_line(
        format!(r#"{{"id":1,"method":"mining.subscribe","params":["{agent}"]}}"#).as_bytes(),
    )
    .unwrap()
    .payload
    {
        Payload::Subscribe(s) => assert_eq!(s.agent.unwrap().len(), MAX_FIELD),
        other => panic!("{other:?}"),
    }
}
