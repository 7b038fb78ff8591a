//! Whole-scenario checks: every capture parses, checksums hold, TCP sequence numbers follow the
//! bytes sent, timing and sizes stay in the ranges protocols.md gives, and seeds reproduce.

use minetrace_sim::packet::{internet_checksum, transport_checksum};
use minetrace_sim::{pcap, run, scenarios, Options, Packet};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One decoded frame, enough to check the layers the simulator writes.
#[derive(Debug, Clone)]
struct Decoded {
    ts: u64,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: Vec<u8>,
}

/// Decode Ethernet (with any VLAN tags) -> IPv4/IPv6 (hop-by-hop skipped) -> TCP/UDP, checking
/// every length and checksum on the way. Panics (test failure) on anything malformed.
fn decode(p: &Packet) -> Decoded {
    let d = &p.data;
    assert!(d.len() >= 14, "short frame");
    let mut off = 12;
    let mut ethertype = u16::from_be_bytes([d[off], d[off + 1]]);
    while ethertype == 0x8100 || ethertype == 0x88a8 {
        off += 4;
        ethertype = u16::from_be_bytes([d[off], d[off + 1]]);
    }
    off += 2;
    let (src, dst, proto, l4): (IpAddr, IpAddr, u8, &[u8]) = match ethertype {
        0x0800 => {
            let ip = &d[off..];
            assert_eq!(ip[0] >> 4, 4);
            let ihl = usize::from(ip[0] & 0xf) * 4;
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            assert!(total <= ip.len(), "IPv4 total length beyond frame");
            assert_eq!(internet_checksum(&ip[..ihl]), 0, "IPv4 header checksum");
            let s = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            let t = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
            // Frames shorter than 60 bytes are padded: only `total` bytes are the packet.
            assert!(
                ip.len() == total || d.len() == 60,
                "unexpected trailing bytes"
            );
            (s.into(), t.into(), ip[9], &ip[ihl..total])
        }
        0x86dd => {
            let ip = &d[off..];
            let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            assert_eq!(ip.len(), 40 + plen, "IPv6 payload length");
            let mut s = [0u8; 16];
            s.copy_from_slice(&ip[8..24]);
            let mut t = [0u8; 16];
            t.copy_from_slice(&ip[24..40]);
            let mut next = ip[6];
            let mut rest = &ip[40..];
            if next == 0 {
                let len = (usize::from(rest[1]) + 1) * 8;
                next = rest[0];
                rest = &rest[len..];
            }
            (
                Ipv6Addr::from(s).into(),
                Ipv6Addr::from(t).into(),
                next,
                rest,
            )
        }
        other => panic!("unexpected ethertype {other:#x}"),
    };
    assert_eq!(
        transport_checksum(src, dst, proto, l4),
        0,
        "transport checksum"
    );
    let sport = u16::from_be_bytes([l4[0], l4[1]]);
    let dport = u16::from_be_bytes([l4[2], l4[3]]);
    match proto {
        6 => {
            let hl = usize::from(l4[12] >> 4) * 4;
            Decoded {
                ts: p.ts_micros,
                src,
                dst,
                proto,
                sport,
                dport,
                seq: u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]),
                ack: u32::from_be_bytes([l4[8], l4[9], l4[10], l4[11]]),
                flags: l4[13],
                payload: l4[hl..].to_vec(),
            }
        }
        17 => {
            assert_eq!(usize::from(u16::from_be_bytes([l4[4], l4[5]])), l4.len());
            Decoded {
                ts: p.ts_micros,
                src,
                dst,
                proto,
                sport,
                dport,
                seq: 0,
                ack: 0,
                flags: 0,
                payload: l4[8..].to_vec(),
            }
        }
        other => panic!("unexpected protocol {other}"),
    }
}

fn opts(minutes: f64) -> Options {
    Options {
        seed: 42,
        minutes,
        ..Options::default()
    }
}

type FlowKey = (IpAddr, u16, IpAddr, u16);

/// Per direction of each TCP flow, the payload stream reassembled in sequence order.
fn streams(pkts: &[Decoded]) -> HashMap<FlowKey, Vec<u8>> {
    let mut out: HashMap<FlowKey, Vec<u8>> = HashMap::new();
    for p in pkts.iter().filter(|p| p.proto == 6) {
        out.entry((p.src, p.sport, p.dst, p.dport))
            .or_default()
            .extend_from_slice(&p.payload);
    }
    out
}

#[test]
fn every_scenario_writes_a_valid_capture_with_consistent_tcp() {
    for spec in scenarios() {
        let sim = run(spec.name, &opts(3.0)).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        assert!(!sim.packets.is_empty(), "{}", spec.name);
        assert_eq!(sim.truth.scenario, spec.name);
        assert_eq!(sim.truth.dialect, spec.dialect);
        assert_eq!(sim.truth.expected_finding, spec.mining, "{}", spec.name);
        assert_eq!(sim.truth.packets as usize, sim.packets.len());
        let bytes = pcap::to_bytes(&sim.packets);
        // Bulk downloads are most of a real link's bytes; every other scenario is small.
        let limit = if spec.name == "benign-https-download" {
            16_000_000
        } else {
            2_000_000
        };
        assert!(
            bytes.len() < limit,
            "{} too large: {}",
            spec.name,
            bytes.len()
        );
        let (linktype, back) = pcap::read(&bytes).unwrap();
        assert_eq!(linktype, 1);
        assert_eq!(back, sim.packets);
        assert!(
            back.windows(2).all(|w| w[0].ts_micros <= w[1].ts_micros),
            "{} not time-ordered",
            spec.name
        );

        let decoded: Vec<Decoded> = back.iter().map(decode).collect();
        // Sequence numbers: each segment starts where the previous one of its direction ended;
        // ACKs never exceed what the other side has sent and never go backwards.
        let mut next_seq: HashMap<FlowKey, u32> = HashMap::new();
        let mut last_ack: HashMap<FlowKey, u32> = HashMap::new();
        for p in decoded.iter().filter(|p| p.proto == 6) {
            let key = (p.src, p.sport, p.dst, p.dport);
            let rev = (p.dst, p.dport, p.src, p.sport);
            if let Some(expect) = next_seq.get(&key) {
                assert_eq!(p.seq, *expect, "{}: seq gap in {key:?}", spec.name);
            }
            let syn_fin = u32::from(p.flags & 0x03 != 0);
            next_seq.insert(key, p.seq.wrapping_add(p.payload.len() as u32 + syn_fin));
            if p.flags & 0x10 != 0 {
                if let Some(peer_next) = next_seq.get(&rev) {
                    assert!(
                        p.ack.wrapping_sub(*peer_next) == 0
                            || peer_next.wrapping_sub(p.ack) < 1 << 30,
                        "{}: ack beyond data",
                        spec.name
                    );
                }
                if let Some(prev) = last_ack.get(&key) {
                    assert!(
                        p.ack.wrapping_sub(*prev) < 1 << 30,
                        "{}: ack went backwards",
                        spec.name
                    );
                }
                last_ack.insert(key, p.ack);
            }
        }
        // Mining captures with a handshake start with a SYN.
        if spec.name != "mid-session" && spec.name != "dns-then-stratum" {
            assert_eq!(
                decoded[0].flags & 0x02,
                0x02,
                "{} first packet is not a SYN",
                spec.name
            );
        }
    }
}

#[test]
fn same_seed_reproduces_every_scenario_and_other_seeds_differ() {
    for spec in scenarios() {
        let a = run(spec.name, &opts(1.0)).unwrap();
        let b = run(spec.name, &opts(1.0)).unwrap();
        assert_eq!(a.packets, b.packets, "{} not deterministic", spec.name);
        assert_eq!(a.truth, b.truth);
        let c = run(
            spec.name,
            &Options {
                seed: 43,
                ..opts(1.0)
            },
        )
        .unwrap();
        assert_ne!(a.packets, c.packets, "{} ignores the seed", spec.name);
    }
}

/// Lines of every TCP stream in one direction (to or from `port`), parsed as JSON.
fn json_lines(
    pkts: &[Decoded],
    from_server_port: Option<u16>,
    to_server_port: Option<u16>,
) -> Vec<(u64, serde_json::Value, usize)> {
    let mut out = Vec::new();
    let mut buf: HashMap<FlowKey, (Vec<u8>, u64)> = HashMap::new();
    for p in pkts
        .iter()
        .filter(|p| p.proto == 6 && !p.payload.is_empty())
    {
        let wanted = from_server_port.is_some_and(|port| p.sport == port)
            || to_server_port.is_some_and(|port| p.dport == port);
        if !wanted {
            continue;
        }
        let e = buf.entry((p.src, p.sport, p.dst, p.dport)).or_default();
        if e.0.is_empty() {
            e.1 = p.ts;
        }
        e.0.extend_from_slice(&p.payload);
        while let Some(nl) = e.0.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = e.0.drain(..=nl).collect();
            let v: serde_json::Value = serde_json::from_slice(&line).expect("each line is JSON");
            out.push((e.1, v, line.len()));
            e.1 = p.ts;
        }
    }
    out
}

#[test]
fn xmrig_timing_and_sizes_match_real_captures() {
    let sim = run("cryptonote-xmrig", &opts(60.0)).unwrap();
    let decoded: Vec<Decoded> = sim.packets.iter().map(decode).collect();
    let port = sim.truth.server.port;
    let down = json_lines(&decoded, Some(port), None);
    let up = json_lines(&decoded, None, Some(port));
    let jobs: Vec<&(u64, serde_json::Value, usize)> = down
        .iter()
        .filter(|(_, v, _)| v["method"] == "job")
        .collect();
    assert!(jobs.len() >= 20, "{} jobs in an hour", jobs.len());
    for w in jobs.windows(2) {
        let gap = (w[1].0 - w[0].0) as f64 / 1e6;
        assert!((46.0..=121.5).contains(&gap), "job gap {gap}");
    }
    for (_, _, len) in &jobs {
        assert!((279..=378).contains(len), "job size {len}");
    }
    let submits: Vec<_> = up
        .iter()
        .filter(|(_, v, _)| v["method"] == "submit")
        .collect();
    for (_, v, len) in &submits {
        assert!((184..=187).contains(len), "submit size {len}: {v}");
    }
    let acks: Vec<_> = down
        .iter()
        .filter(|(_, v, _)| v["result"]["status"] == "OK" && v["result"]["job"].is_null())
        .collect();
    for (_, _, len) in &acks {
        assert!((63..=66).contains(len), "ack size {len}");
    }
    assert_eq!(submits.len() as u32, sim.truth.shares);
    // Poisson shares: mean interval near the difficulty / hashrate the truth states.
    let expected = sim.truth.difficulty.unwrap() / sim.truth.hashrate_hps.unwrap();
    let times: Vec<u64> = submits.iter().map(|(t, _, _)| *t).collect();
    let mean = (times[times.len() - 1] - times[0]) as f64 / 1e6 / (times.len() - 1) as f64;
    assert!(
        (mean / expected - 1.0).abs() < 0.3,
        "mean share gap {mean} vs {expected}"
    );
    let login = up.iter().find(|(_, v, _)| v["method"] == "login").unwrap();
    assert_eq!(
        login.1["params"]["login"],
        sim.truth.wallet.clone().unwrap()
    );
    assert!(login.1["params"]["agent"]
        .as_str()
        .unwrap()
        .starts_with("XMRig/"));
}

#[test]
fn stratum_v1_notify_interval_and_share_rate() {
    let sim = run("stratum-v1-btc", &opts(60.0)).unwrap();
    let decoded: Vec<Decoded> = sim.packets.iter().map(decode).collect();
    let down = json_lines(&decoded, Some(3333), None);
    let notes: Vec<u64> = down
        .iter()
        .filter(|(_, v, _)| v["method"] == "mining.notify")
        .map(|(t, _, _)| *t)
        .collect();
    for w in notes.windows(2).skip(1) {
        let gap = (w[1] - w[0]) as f64 / 1e6;
        assert!((30.0..=60.5).contains(&gap), "notify gap {gap}");
    }
    let per_share = sim.truth.duration_s / f64::from(sim.truth.shares);
    assert!(
        (10.0..=40.0).contains(&per_share),
        "one share per {per_share} s"
    );
    let up = json_lines(&decoded, None, Some(3333));
    let methods: Vec<&str> = up
        .iter()
        .filter_map(|(_, v, _)| v["method"].as_str())
        .take(3)
        .collect();
    assert_eq!(
        methods,
        ["mining.configure", "mining.subscribe", "mining.authorize"]
    );
}

#[test]
fn long_messages_are_segmented_at_mss() {
    let sim = run("stratum-zec-equihash", &opts(2.0)).unwrap();
    let decoded: Vec<Decoded> = sim.packets.iter().map(decode).collect();
    let max = decoded.iter().map(|p| p.payload.len()).max().unwrap();
    assert_eq!(max, 1448);
    let s = streams(&decoded);
    let up = s.iter().find(|(k, _)| k.3 == 3357).unwrap().1;
    assert!(
        up.windows(7).any(|w| w == b"\"fd4005"),
        "Equihash solution missing"
    );
}

#[test]
fn tls_scenarios_carry_real_tls_records() {
    for (name, sni) in [
        ("tls-stratum-sni", true),
        ("tls-xmrig-no-sni-443", false),
        ("benign-tls-website", true),
    ] {
        let sim = run(name, &opts(2.0)).unwrap();
        let decoded: Vec<Decoded> = sim.packets.iter().map(decode).collect();
        let s = streams(&decoded);
        let port = sim.truth.server.port;
        let up = s.iter().find(|(k, _)| k.3 == port).unwrap().1;
        let down = s.iter().find(|(k, _)| k.1 == port).unwrap().1;
        // Client: handshake record with a ClientHello; server: ServerHello.
        assert_eq!(&up[..3], &[0x16, 0x03, 0x01], "{name}");
        assert_eq!(up[5], 0x01);
        assert_eq!(&down[..1], &[0x16]);
        assert_eq!(down[5], 0x02);
        // Every byte of both streams is whole TLS records.
        for stream in [up, down] {
            let mut off = 0;
            while off < stream.len() {
                let len = usize::from(u16::from_be_bytes([stream[off + 3], stream[off + 4]]));
                assert!(
                    matches!(stream[off], 0x14..=0x17),
                    "{name}: record type {}",
                    stream[off]
                );
                off += 5 + len;
            }
            assert_eq!(off, stream.len(), "{name}: partial record");
        }
        let has_name = |n: &[u8]| up.windows(n.len()).any(|w| w == n);
        if sni {
            assert!(
                has_name(sim.truth.sni.as_deref().unwrap().as_bytes()),
                "{name} lacks SNI"
            );
        } else {
            assert!(!has_name(b"xmrig"), "{name} leaks a name");
        }
        // No plaintext JSON leaks out of the tunnel.
        assert!(
            !up.windows(8).any(|w| w == b"\"method\""),
            "{name} leaks JSON"
        );
    }
}

#[test]
fn sv2_plain_frames_follow_the_spec_layout() {
    let sim = run("stratum-v2-plain", &opts(3.0)).unwrap();
    let decoded: Vec<Decoded> = sim.packets.iter().map(decode).collect();
    let s = streams(&decoded);
    let up = s.iter().find(|(k, _)| k.3 == 34254).unwrap().1;
    // SetupConnection: ext 0, type 0, then protocol 0, min/max version 2.
    assert_eq!(&up[..3], &[0, 0, 0]);
    assert_eq!(&up[6..11], &[0, 2, 0, 2, 0]);
    let mut off = 0;
    let mut types = Vec::new();
    while off + 6 <= up.len() {
        let len = u32::from_le_bytes([up[off + 3], up[off + 4], up[off + 5], 0]) as usize;
        types.push(up[off + 2]);
        off += 6 + len;
    }
    assert_eq!(off, up.len());
    assert_eq!(&types[..2], &[0x00, 0x10]);
    assert_eq!(
        types.iter().filter(|t| **t == 0x1a).count() as u32,
        sim.truth.shares
    );

    let noise = run("stratum-v2-noise", &opts(2.0)).unwrap();
    let decoded: Vec<Decoded> = noise.packets.iter().map(decode).collect();
    let first_data: Vec<&Decoded> = decoded
        .iter()
        .filter(|p| !p.payload.is_empty())
        .take(2)
        .collect();
    assert_eq!(first_data[0].payload.len(), 64);
    assert_eq!(first_data[1].payload.len(), 234);
}

#[test]
fn dns_answer_points_at_the_pool_connection() {
    let sim = run("dns-then-stratum", &opts(2.0)).unwrap();
    let decoded: Vec<Decoded> = sim.packets.iter().map(decode).collect();
    let answer = decoded
        .iter()
        .find(|p| p.proto == 17 && p.sport == 53 && p.payload[7] == 1)
        .unwrap();
    let rdata = &answer.payload[answer.payload.len() - 4..];
    let pool: IpAddr = Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]).into();
    assert_eq!(pool, sim.truth.server.ip);
    let syn = decoded.iter().find(|p| p.proto == 6).unwrap();
    assert!(syn.ts > answer.ts);
    assert_eq!(syn.dst, pool);
}

#[test]
fn mid_session_starts_mid_line_without_handshake() {
    let sim = run("mid-session", &opts(3.0)).unwrap();
    let decoded: Vec<Decoded> = sim.packets.iter().map(decode).collect();
    assert_eq!(decoded[0].flags & 0x02, 0);
    assert!(!decoded[0].payload.is_empty());
    assert_ne!(decoded[0].payload[0], b'{');
    assert!(sim.truth.wallet.is_none());
}

#[test]
fn proxy_and_nat_truth_counts_devices() {
    let proxy = run("xmrig-proxy-nicehash", &opts(5.0)).unwrap();
    assert_eq!(proxy.truth.clients.len(), 1);
    assert_eq!(proxy.truth.rigs, 12);
    let decoded: Vec<Decoded> = proxy.packets.iter().map(decode).collect();
    let up = json_lines(&decoded, None, Some(proxy.truth.server.port));
    let nonce_bytes: std::collections::BTreeSet<String> = up
        .iter()
        .filter_map(|(_, v, _)| v["params"]["nonce"].as_str().map(|n| n[6..8].to_string()))
        .collect();
    assert!(
        nonce_bytes.len() > 6 && nonce_bytes.len() <= 12,
        "{nonce_bytes:?}"
    );
    let nat = run("nat-rigs", &opts(3.0)).unwrap();
    let ips: std::collections::BTreeSet<IpAddr> = nat.truth.clients.iter().map(|e| e.ip).collect();
    assert_eq!(
        (ips.len(), nat.truth.clients.len(), nat.truth.rigs),
        (1, 5, 5)
    );
}

#[test]
fn vlan_tagged_and_reordered_segments_can_be_crafted() {
    use minetrace_sim::{Direction, FrameBuilder, TcpConversation, TcpFlags, TcpSegment};
    let mut c = TcpConversation::new(
        "10.0.0.9:50001".parse().unwrap(),
        "192.0.2.1:3333".parse().unwrap(),
        100,
        900,
    );
    c.set_link(FrameBuilder {
        vlan_tags: vec![10, 20],
        ..FrameBuilder::default()
    });
    c.handshake(1_000_000);
    let seq = c.seq(Direction::ClientToServer);
    let ack = c.ack(Direction::ClientToServer);
    // Second half first, then the first half, then a duplicate.
    c.raw_segment(
        Direction::ClientToServer,
        2_000_000,
        TcpSegment::new(seq + 5, ack, TcpFlags::PSH_ACK, b"world\n"),
    );
    c.raw_segment(
        Direction::ClientToServer,
        2_000_100,
        TcpSegment::new(seq, ack, TcpFlags::ACK, b"hello"),
    );
    c.raw_segment(
        Direction::ClientToServer,
        2_000_200,
        TcpSegment::new(seq, ack, TcpFlags::ACK, b"hello"),
    );
    let pkts = c.into_packets();
    assert_eq!(pkts.len(), 6);
    for p in &pkts {
        let d = decode(p);
        assert_eq!(d.proto, 6);
    }
}
