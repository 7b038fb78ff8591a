//! Checks every registered detector against docs/specs/detector.md: identity, no panics on hostile
//! input in any chunking or direction, bounded memory, and the standard finding fields.

use minetrace_core::{FindingKind, Timestamp};
use minetrace_detect::{
    builtin, Context, DirStats, Direction, FlowEnd, FlowInfo, Progress, Transport,
};
use std::collections::HashSet;
use std::sync::Arc;

fn flow(transport: Transport, sport: u16, dport: u16) -> FlowInfo {
    FlowInfo {
        transport,
        a: format!("10.0.0.2:{sport}").parse().unwrap(),
        b: format!("192.0.2.10:{dport}").parse().unwrap(),
        initiator_known: true,
        first_seen: Timestamp(1_700_000_000_000_000),
        last_seen: Timestamp(1_700_000_060_000_000),
        first_packet: 1,
        stats: [DirStats::default(); 2],
        first_packets: Vec::new(),
        first_payload: Default::default(),
        clock: None,
        end: FlowEnd::EndOfInput,
    }
}

fn ctx() -> Context {
    static INTEL: std::sync::OnceLock<Arc<minetrace_intel::Intel>> = std::sync::OnceLock::new();
    let intel = INTEL.get_or_init(|| Arc::new(minetrace_intel::Intel::builtin()));
    Context::new(intel.clone(), "capture", "spec.pcap")
}

/// A deterministic pseudo-random byte stream (xorshift), no dependencies.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// Inputs that look almost like mining traffic, broken in the ways attackers and bad captures break it.
fn hostile_inputs() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\n".to_vec(),
        b"{".to_vec(),
        b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[".to_vec(),
        b"{\"id\":1,\"method\":\"mining.submit\",\"params\":[1,2,3,{},null]}\n".to_vec(),
        b"{\"method\":\"login\",\"params\":{\"login\":[],\"pass\":{}}}\n".to_vec(),
        b"{\"id\":null,\"result\":{\"job\":{\"target\":\"zz\",\"blob\":7}}}\n".to_vec(),
        b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n{\"method\":\"getwork\""
            .to_vec(),
        vec![0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00, 0xff, 0xff],
        vec![0x00, 0x00, 0x00, 0xff, 0xff, 0xff],
        vec![0u8; 64],
        noise(64, 7),
        noise(234, 9),
        noise(4096, 11),
        [b"{\"a\":".repeat(5000), b"1".to_vec()].concat(),
        b"[".repeat(100_000),
    ];
    // A DNS header claiming many records, with a compression loop.
    v.push(vec![
        0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x0c, 0x00,
        0x01, 0x00, 0x01,
    ]);
    v
}

#[test]
fn identities_are_unique_and_declared() {
    let mut names = HashSet::new();
    for d in builtin() {
        let name = d.name();
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "bad name {name:?}"
        );
        assert!(names.insert(name), "duplicate detector name {name}");
        assert!(!d.dialects().is_empty(), "{name}: no dialects");
        assert!(!d.transports().is_empty(), "{name}: no transports");
        assert!(d.description().len() > 10, "{name}: no description");
    }
}

#[test]
fn hostile_input_never_panics_in_any_chunking_or_direction() {
    let detectors = builtin();
    for d in &detectors {
        for &transport in d.transports() {
            for (sport, dport) in [
                (40000, 3333),
                (40000, 53),
                (40000, 443),
                (40000, 80),
                (53, 40000),
            ] {
                for input in hostile_inputs() {
                    for chunk in [1usize, 7, 64, 1500, usize::MAX] {
                        // Byte-by-byte on the long inputs adds time, not coverage.
                        if chunk < 64 && input.len() > 8192 {
                            continue;
                        }
                        for first_dir in [Direction::AtoB, Direction::BtoA] {
                            let info = flow(transport, sport, dport);
                            let mut c = ctx();
                            let chunks: Vec<&[u8]> = if input.is_empty() {
                                vec![&input[..]]
                            } else {
                                input.chunks(chunk.min(input.len())).collect()
                            };
                            let mut state = None;
                            let mut dir = first_dir;
                            for piece in chunks {
                                if state.is_none() {
                                    state = d.open(&info, dir, piece, &c);
                                }
                                if let Some(s) = state.as_mut() {
                                    let _ = s.on_data(&info, dir, info.first_seen, piece, &mut c);
                                }
                                dir = dir.reverse();
                            }
                            if let Some(s) = state {
                                for f in s.on_close(&info, &mut c) {
                                    check_finding(d.name(), d.dialects(), &f, &info);
                                }
                            }
                            let _ = d.on_flow_end(&info, &[], &mut c);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn memory_stays_bounded_on_endless_flows() {
    let detectors = builtin();
    // Lines that each parse as JSON mining messages, forever, plus one endless line.
    let submit = b"{\"id\":4,\"method\":\"mining.submit\",\"params\":[\"w.1\",\"j1\",\"00000000\",\"5f5e1000\",\"12345678\"]}\n";
    let notify = b"{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"j1\",\"00\",\"00\",\"00\",[],\"20000000\",\"1a0fffff\",\"5f5e1000\",true]}\n";
    for d in &detectors {
        for &transport in d.transports() {
            let info = flow(transport, 40000, 3333);
            let mut c = ctx();
            let Some(mut s) = d.open(&info, Direction::AtoB, submit, &c) else {
                continue;
            };
            for i in 0..20_000u32 {
                let (dir, line) = if i % 2 == 0 {
                    (Direction::AtoB, &submit[..])
                } else {
                    (Direction::BtoA, &notify[..])
                };
                if s.on_data(&info, dir, info.first_seen, line, &mut c) == Progress::Done {
                    break;
                }
            }
            let long = vec![b'a'; 4 * 1024 * 1024];
            let _ = s.on_data(&info, Direction::AtoB, info.first_seen, &long, &mut c);
            assert!(
                s.memory() <= 256 * 1024,
                "{}: {} bytes held",
                d.name(),
                s.memory()
            );
            for f in s.on_close(&info, &mut c) {
                check_finding(d.name(), d.dialects(), &f, &info);
            }
        }
    }
}

fn check_finding(
    name: &str,
    dialects: &[minetrace_core::Dialect],
    f: &minetrace_core::Finding,
    info: &FlowInfo,
) {
    assert_eq!(f.detector, name);
    assert_eq!(f.kind, FindingKind::Network, "{name}");
    let dialect = f
        .dialect
        .unwrap_or_else(|| panic!("{name}: finding without dialect"));
    assert!(
        dialects.contains(&dialect),
        "{name}: undeclared dialect {dialect}"
    );
    assert!(f.first_seen <= f.last_seen, "{name}: time span reversed");
    assert!(!f.reasons.is_empty(), "{name}: finding without reasons");
    assert!(
        f.reasons.iter().all(|r| !r.is_empty()),
        "{name}: empty reason"
    );
    for e in [&f.client, &f.server].into_iter().flatten() {
        assert!(
            e.ip == info.a.ip() || e.ip == info.b.ip(),
            "{name}: endpoint {e} not in the flow"
        );
    }
    for s in [
        &f.evidence.login,
        &f.evidence.worker,
        &f.evidence.agent,
        &f.evidence.pool_host,
        &f.evidence.rig_id,
    ]
    .into_iter()
    .flatten()
    {
        assert!(s.chars().count() <= 256, "{name}: unbounded string");
    }
}
