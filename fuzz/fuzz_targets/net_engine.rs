#![no_main]
// Packet sequences through the flow table, TCP reassembly and every built-in detector: a few
// endpoints (so flows repeat and collide), any TCP flags, sequence numbers that overlap, skip
// or go back, timestamps that step forward or back (idle timeouts, recordings appended), any
// payload, and a table small enough to evict. Never a panic; findings are not checked here.
use minetrace_detect::{Context, Detector, Transport};
use minetrace_net::decode::{Decoded, TcpHeader};
use minetrace_net::table::{FlowTable, TableLimits};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

const CLIENTS: [&str; 4] = ["10.0.0.1", "10.0.0.2", "192.168.1.7", "fd00::7"];
const SERVERS: [&str; 2] = ["198.51.100.9", "2001:db8::9"];
const PORTS: [u16; 8] = [3333, 4444, 53, 443, 80, 8333, 14433, 5555];

fn setup() -> &'static (Vec<Box<dyn Detector>>, Arc<minetrace_intel::Intel>) {
    static SETUP: OnceLock<(Vec<Box<dyn Detector>>, Arc<minetrace_intel::Intel>)> = OnceLock::new();
    SETUP.get_or_init(|| {
        (
            minetrace_detect::builtin(),
            Arc::new(minetrace_intel::Intel::builtin()),
        )
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (detectors, intel) = setup();
    let limits = TableLimits {
        max_flows: 6,
        ..TableLimits::default()
    };
    let mut table = FlowTable::new(detectors, limits);
    table.collect_attempts();
    let mut ctx = Context::new(intel.clone(), "capture", "fuzz");
    let mut emit = |_f: minetrace_core::Finding| {};
    let mut next_seq: HashMap<(usize, usize, u16, bool), u32> = HashMap::new();
    let mut ts: i64 = 1_600_000_000_000_000;
    let mut number = 0u64;
    let mut rest = data;
    while rest.len() >= 8 {
        let (h, tail) = rest.split_at(8);
        let client = usize::from(h[0] & 3);
        let server = usize::from(h[0] >> 2 & 1);
        let to_server = h[0] & 8 == 0;
        let udp = h[0] & 16 != 0;
        let port = PORTS[usize::from(h[0] >> 5)];
        let step = i64::from(i16::from_le_bytes([h[2], h[3]]));
        ts = ts.saturating_add(step.saturating_mul(250_000));
        let len = usize::from(u16::from_le_bytes([h[6], h[7]])).min(tail.len());
        let (payload, after) = tail.split_at(len);
        rest = after;
        let (c, s): (IpAddr, IpAddr) = (
            CLIENTS[client].parse().unwrap(),
            SERVERS[server].parse().unwrap(),
        );
        // IPv4 and IPv6 endpoints never share a flow; mixed pairs are still fed (the key keeps
        // them apart).
        let (src, dst, sport, dport) = if to_server {
            (c, s, 40_000 + client as u16, port)
        } else {
            (s, c, port, 40_000 + client as u16)
        };
        let key = (client, server, port, to_server);
        let seq = next_seq.entry(key).or_insert(1_000);
        let this_seq = seq.wrapping_add(i16::from_le_bytes([h[4], h[5]]) as i32 as u32);
        *seq = this_seq.wrapping_add(payload.len() as u32);
        number += 1;
        let pkt = Decoded {
            src,
            dst,
            transport: if udp { Transport::Udp } else { Transport::Tcp },
            sport,
            dport,
            tcp: (!udp).then_some(TcpHeader {
                seq: this_seq,
                ack: 0,
                flags: h[1],
                window: 1024,
                tsval: None,
            }),
            ip_id: None,
            payload,
            wire_payload_len: payload.len() as u32,
            vlan: None,
        };
        table.packet(
            minetrace_core::Timestamp(ts),
            number,
            &pkt,
            &mut ctx,
            &mut emit,
        );
    }
    table.finish(&mut ctx, &mut emit);
    let _ = table.take_attempts();
});
