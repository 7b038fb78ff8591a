//! Synthetic observations of rigs behind one NAT address, with a known truth. Deterministic
//! (a fixed-seed xorshift), no proof-of-work: only the timings and header fields a sensor sees.
#![allow(dead_code)]

use minetrace_estimate::rigs::{AddressObservations, ConnectionObservation, IpIdSample, TsSample};

/// Deterministic xorshift64* generator.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Exponential with the given mean (share arrivals are a Poisson process).
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

/// One simulated machine behind the NAT.
#[derive(Clone, Debug)]
pub struct Host {
    pub hz: f64,
    pub skew_ppm: f64,
    pub ts_offset: u32,
    /// Global IP-ID counter (None: random IDs as modern Linux sends them).
    pub ip_id: Option<u16>,
    pub worker: Option<String>,
    pub agent: String,
}

impl Host {
    pub fn random(rng: &mut Rng, i: usize) -> Host {
        Host {
            hz: 1000.0,
            skew_ppm: rng.range(-120.0, 120.0),
            ts_offset: rng.next_u64() as u32,
            ip_id: Some(rng.next_u64() as u16),
            worker: Some(format!("rig{i:02}")),
            agent: "XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/11.2.0".to_string(),
        }
    }

    fn tsval(&self, t: f64) -> u32 {
        let ticks = (t * self.hz * (1.0 + self.skew_ppm * 1e-6)).floor();
        self.ts_offset.wrapping_add(ticks as i64 as u32)
    }
}

/// What the sensor can read: clear text gives names and agents, TLS only timings and headers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Visibility {
    Clear,
    Tls,
}

#[allow(clippy::too_many_arguments)] // a test generator: every knob is a scenario dimension
/// Simulate `host` mining over [t0, t1) on one connection: shares at `share_mean_s`, TCP
/// timestamps on every packet (one a second on keepalive/job traffic), IP-ID on every packet.
pub fn connection(
    rng: &mut Rng,
    host: &mut Host,
    id: &str,
    t0: f64,
    t1: f64,
    share_mean_s: f64,
    vis: Visibility,
    with_timestamps: bool,
    ip_ids: &mut Vec<IpIdSample>,
) -> ConnectionObservation {
    let mut c = ConnectionObservation {
        id: id.to_string(),
        ..Default::default()
    };
    if vis == Visibility::Clear {
        c.worker = host.worker.clone();
        c.agent = Some(host.agent.clone());
        c.extranonce1 = Some(format!("{:08x}", rng.next_u64() as u32));
    }
    let mut packet_times = Vec::new();
    let mut t = t0 + rng.exp(share_mean_s);
    while t < t1 {
        c.share_times_s.push(t);
        packet_times.push(t);
        t += rng.exp(share_mean_s);
    }
    let mut t = t0;
    while t < t1 {
        packet_times.push(t);
        t += rng.range(0.5, 1.5);
    }
    packet_times.sort_by(f64::total_cmp);
    for &pt in &packet_times {
        // The sensor sees the packet a little after the host stamped it.
        let capture = pt + rng.range(0.0002, 0.003);
        if with_timestamps {
            c.tcp_timestamps.push(TsSample {
                capture_s: capture,
                tsval: host.tsval(pt),
            });
        }
        let id = match host.ip_id.as_mut() {
            Some(counter) => {
                // Other traffic of the host also advances its counter.
                *counter = counter.wrapping_add(1 + (rng.next_u64() % 8) as u16);
                if *counter == 0 {
                    *counter = 1;
                }
                *counter
            }
            None => (rng.next_u64() as u16).max(1),
        };
        ip_ids.push(IpIdSample {
            capture_s: capture,
            ip_id: id,
        });
    }
    c
}

/// A scenario: its name, the truth, and the observations it produced.
pub struct Scenario {
    pub name: &'static str,
    pub truth: u64,
    pub obs: AddressObservations,
}

/// `rigs` hosts, each with `conns_per_host` consecutive connections over 600 s.
pub fn farm(
    seed: u64,
    name: &'static str,
    rigs: usize,
    conns_per_host: usize,
    vis: Visibility,
    with_timestamps: bool,
    global_ip_id: bool,
) -> Scenario {
    let mut rng = Rng::new(seed);
    let mut obs = AddressObservations::default();
    for h in 0..rigs {
        let mut host = Host::random(&mut rng, h);
        if !global_ip_id {
            host.ip_id = None;
        }
        let slot = 600.0 / conns_per_host as f64;
        for k in 0..conns_per_host {
            let (t0, t1) = (k as f64 * slot, (k + 1) as f64 * slot - 1.0);
            let id = format!("10.0.0.1:{} -> pool:3333", 40000 + h * 10 + k);
            let c = connection(
                &mut rng,
                &mut host,
                &id,
                t0,
                t1,
                20.0,
                vis,
                with_timestamps,
                &mut obs.ip_ids,
            );
            obs.connections.push(c);
        }
    }
    Scenario {
        name,
        truth: rigs as u64,
        obs,
    }
}

/// `miners` miners behind one xmrig-proxy that holds a single pool connection at fixed difficulty.
pub fn behind_proxy(seed: u64, miners: usize) -> Scenario {
    let mut rng = Rng::new(seed);
    let mut obs = AddressObservations::default();
    let mut host = Host::random(&mut rng, 0);
    host.worker = Some("proxy".to_string());
    host.agent = "xmrig-proxy/6.19.0 (Linux x86_64) libuv/1.44.2".to_string();
    let c = connection(
        &mut rng,
        &mut host,
        "10.0.0.1:50000 -> pool:3333",
        0.0,
        600.0,
        20.0 / miners as f64,
        Visibility::Clear,
        true,
        &mut obs.ip_ids,
    );
    obs.connections.push(c);
    Scenario {
        name: "xmrig-proxy, one pool connection",
        truth: miners as u64,
        obs,
    }
}

/// Every scenario of the benchmark table, with fixed seeds.
pub fn all() -> Vec<Scenario> {
    vec![
        farm(1, "1 rig, clear text", 1, 1, Visibility::Clear, true, true),
        farm(
            2,
            "1 rig reconnecting 5x, TLS",
            1,
            5,
            Visibility::Tls,
            true,
            false,
        ),
        farm(3, "4 rigs, clear text", 4, 1, Visibility::Clear, true, true),
        farm(
            4,
            "4 rigs x 2 connections, TLS",
            4,
            2,
            Visibility::Tls,
            true,
            false,
        ),
        farm(
            5,
            "12 rigs, TLS, TCP timestamps",
            12,
            1,
            Visibility::Tls,
            true,
            false,
        ),
        farm(
            6,
            "6 rigs x 3 connections, TLS, no timestamps, IP-ID",
            6,
            3,
            Visibility::Tls,
            false,
            true,
        ),
        farm(
            7,
            "32 rigs, clear text",
            32,
            1,
            Visibility::Clear,
            true,
            true,
        ),
        farm(
            8,
            "8 rigs x 2 connections, TLS, no timestamps, random IP-ID",
            8,
            2,
            Visibility::Tls,
            false,
            false,
        ),
        behind_proxy(9, 40),
    ]
}
