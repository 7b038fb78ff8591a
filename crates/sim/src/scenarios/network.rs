//! Scenarios about the network around a session: DNS resolution of a pool name.

use super::cryptonote::{xmr_session, XmrConfig, XMRIG_AGENT};
use super::*;
use crate::packet::FrameBuilder;
use crate::wallets;
use rand::Rng;

/// A DNS name in wire format (length-prefixed labels, root terminator).
fn qname(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        let l = &label.as_bytes()[..label.len().min(63)];
        out.push(l.len() as u8);
        out.extend_from_slice(l);
    }
    out.push(0);
    out
}

/// A recursive query (RD set) for `name` of type `qtype`.
pub(crate) fn dns_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&0x0100u16.to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 1]); // 1 question, 1 additional (EDNS)
    m.extend_from_slice(&qname(name));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]); // OPT, 1232-byte UDP
    m
}

/// The answer: question echoed, then A records pointing at the question name (0xc00c).
pub(crate) fn dns_answer(
    id: u16,
    name: &str,
    qtype: u16,
    answers: &[Ipv4Addr],
    ttl: u32,
) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&0x8180u16.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(&qname(name));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    for a in answers {
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&4u16.to_be_bytes());
        m.extend_from_slice(&a.octets());
    }
    m
}

pub(crate) fn dns_then_stratum(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client_ip = IpAddr::V4(Ipv4Addr::new(192, 168, 1, ctx.rng.gen_range(20..200)));
    let resolver = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1)), 53);
    let domain = "pool.hashvault.pro";
    let pool_ip = Ipv4Addr::new(198, 51, 100, ctx.rng.gen_range(2..250));
    let client_dns = SocketAddr::new(client_ip, ctx.ephemeral_port());
    let link = FrameBuilder::for_host(client_ip);
    let back = link.reversed();
    let mut packets = Vec::new();
    let t = ctx.start;
    let id_a: u16 = ctx.rng.gen();
    let id_aaaa: u16 = ctx.rng.gen();
    let ip_id: u16 = ctx.rng.gen();
    packets.push(Packet {
        ts_micros: t,
        data: link.udp(client_dns, resolver, &dns_query(id_a, domain, 1), ip_id),
    });
    packets.push(Packet {
        ts_micros: t + 40,
        data: link.udp(
            client_dns,
            resolver,
            &dns_query(id_aaaa, domain, 28),
            ip_id.wrapping_add(1),
        ),
    });
    let t_ans = t + ctx.uniform_us(0.004, 0.06);
    packets.push(Packet {
        ts_micros: t_ans,
        data: back.udp(
            resolver,
            client_dns,
            &dns_answer(id_a, domain, 1, &[pool_ip], 300),
            1,
        ),
    });
    packets.push(Packet {
        ts_micros: t_ans + 900,
        data: back.udp(
            resolver,
            client_dns,
            &dns_answer(id_aaaa, domain, 28, &[], 300),
            2,
        ),
    });

    let client = SocketAddr::new(client_ip, ctx.ephemeral_port());
    let server = SocketAddr::new(IpAddr::V4(pool_ip), 3333);
    let mut conv = ctx.conversation(client, server);
    conv.handshake(t_ans + 2_000);
    let t0 = conv.now() + 1_000;
    let mut car = Carrier::plain(conv);
    let cfg = XmrConfig {
        wallet: wallets::monero(&mut ctx.rng),
        pass: "x".into(),
        agent: XMRIG_AGENT.into(),
        rigid: String::new(),
        hashrate: 6_000.0,
        workers: 1,
        share_mean_s: 15.0,
        job_interval_s: (46.0, 121.0),
        nicehash: false,
    };
    let mut truth = GroundTruth::new(ctx.name, "dns", endpoint(server));
    truth.clients = vec![endpoint(client)];
    let end = ctx.end;
    xmr_session(ctx, &mut car, t0, end, &cfg, &mut truth)?;
    car.close(end + 1_000)?;
    packets.extend(car.into_packets());
    truth.inner_dialect = Some("cryptonote".into());
    truth.wallet = Some(cfg.wallet);
    truth.rigs = 1;
    truth.hashrate_hps = Some(cfg.hashrate);
    truth.dns_query = Some(domain.into());
    truth.notes = format!("A {domain} -> {pool_ip} (AAAA empty), then stratum to that address");
    Ok((packets, truth))
}
