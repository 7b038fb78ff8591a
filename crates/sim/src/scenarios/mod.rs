//! The scenario registry and the machinery the scenarios share: a seeded context, a carrier that
//! is plain TCP or TLS-over-TCP, and the event loop that interleaves job pushes, Poisson shares
//! and keepalives.

mod benign;
mod binary;
mod cryptonote;
mod eth;
mod http;
mod network;
mod stratum;

use crate::tcp::{Direction, TcpConversation};
use crate::tls::{TlsOptions, TlsPipe};
use crate::truth::GroundTruth;
use crate::{Options, Packet, ScenarioSpec, SimError};
use minetrace_core::Endpoint;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub(crate) type Built = (Vec<Packet>, GroundTruth);
pub(crate) type Builder = fn(&mut Ctx) -> Result<Built, SimError>;

macro_rules! spec {
    ($name:expr, $dialect:expr, $mining:expr, $desc:expr, $f:path) => {
        (
            ScenarioSpec {
                name: $name,
                dialect: $dialect,
                mining: $mining,
                description: $desc,
            },
            $f as Builder,
        )
    };
}

pub(crate) fn registry() -> Vec<(ScenarioSpec, Builder)> {
    vec![
        spec!("stratum-v1-btc", "stratum-v1", true, "Bitcoin ASIC, cgminer agent: configure, subscribe, authorize, set_difficulty, notify every 30-60 s, submits", stratum::btc),
        spec!("stratum-v1-ltc-internal-pool", "stratum-v1", true, "a Litecoin (scrypt) pool run on 10.x inside the network serving four internal miners", stratum::internal_pool),
        spec!("stratum-zec-equihash", "stratum-equihash", true, "Zcash Equihash stratum (ZIP 301): set_target, 1344-byte solutions segmented over MSS", stratum::zec),
        spec!("ethereum-stratum-1", "ethereum-stratum-1", true, "NiceHash EthereumStratum/1.0.0 (ETC, lolMiner)", stratum::eth_stratum1),
        spec!("ethereum-stratum-2", "ethereum-stratum-2", true, "EthereumStratum/2.0.0: mining.hello, mining.set, mining.hashrate (ethminer)", stratum::eth_stratum2),
        spec!("kawpow-rvn", "kawpow", true, "Ravencoin KawPow stratum (GMiner): set_target, 7-field notify, 0x nonces", stratum::kawpow),
        spec!("kaspa-bridge", "kaspa", true, "Kaspa stratum bridge (BzMiner): set_extranonce, u64-array notify", stratum::kaspa),
        spec!("eth-proxy", "eth-proxy", true, "EthProxy / Claymore: eth_submitLogin, eth_getWork, id:0 pushes, eth_submitWork, eth_submitHashrate", eth::eth_proxy),
        spec!("cryptonote-xmrig", "cryptonote", true, "XMRig to a Monero pool: login with agent/rigid/algo, job pushes 46-121 s, submits, keepalived", cryptonote::xmrig),
        spec!("grin", "grin", true, "Grin stratum (grin-miner): login, getjobtemplate, job, submit with 42-edge proofs", cryptonote::grin),
        spec!("beam-ipv6", "beam", true, "Beam stratum over IPv6 (2001:db8::/32 pool): login api_key, job, solution", cryptonote::beam),
        spec!("http-getwork", "http-getwork", true, "getwork over HTTP (bfgminer): getblocktemplate probe, X-Mining-Extensions, getwork polls and submits", http::getwork),
        spec!("stratum-v2-plain", "stratum-v2", true, "Stratum V2 frames in clear: SetupConnection, OpenStandardMiningChannel, NewMiningJob, SetNewPrevHash, SubmitSharesStandard", binary::sv2_plain),
        spec!("stratum-v2-noise", "stratum-v2-noise", true, "Stratum V2 Noise shape: 64-byte hello, 234-byte reply, 22-byte encrypted headers + MACed payloads", binary::sv2_noise),
        spec!("tls-stratum-sni", "tls", true, "XMR stratum inside rustls TLS 1.3 with a pool name in SNI, pool TLS port", cryptonote::tls_sni),
        spec!("tls-xmrig-no-sni-443", "behavioural", true, "XMR stratum inside TLS on port 443 with no SNI (as xmrig), pushes every 21-28 s", cryptonote::tls_no_sni),
        spec!("dns-then-stratum", "dns", true, "DNS A/AAAA query for a pool domain, then XMRig connects to the answered address", network::dns_then_stratum),
        spec!("xmrig-proxy-nicehash", "cryptonote", true, "one xmrig-proxy connection in nicehash mode carrying twelve workers' shares", cryptonote::proxy),
        spec!("nat-rigs", "cryptonote", true, "five XMRig rigs behind one NAT address, one connection each", cryptonote::nat_rigs),
        spec!("nat-rigs-tls", "tls", true, "four XMRig rigs behind one NAT address in TLS (one reconnects): told apart by TCP timestamp clocks and IP-ID", cryptonote::nat_rigs_tls),
        spec!("mid-session", "cryptonote", true, "capture starts inside an XMR session: no handshake, no login, first packet cut mid-line", cryptonote::mid_session),
        spec!("benign-bitcoind-rpc", "benign", false, "bitcoind JSON-RPC getblockchaininfo/getnetworkinfo polled over HTTP on 8332", http::bitcoind_rpc),
        spec!("benign-eth-node-rpc", "benign", false, "Ethereum node JSON-RPC eth_blockNumber/eth_call/eth_getBalance over HTTP on 8545", http::eth_node_rpc),
        spec!("benign-jsonrpc-login", "benign", false, "newline JSON-RPC web API on port 4444 with a `login` method (object and array params), ping and events", benign::jsonrpc_login),
        spec!("benign-mqtt", "benign", false, "MQTT 3.1.1 CONNECT/CONNACK/SUBSCRIBE, JSON PUBLISH reports, PINGREQ/PINGRESP keepalives", benign::mqtt),
        spec!("benign-websocket-chat", "benign", false, "WebSocket upgrade and masked chat frames whose JSON has a `method` field", benign::websocket_chat),
        spec!("benign-ssh", "benign", false, "SSH banners, KEXINIT, then a long interactive session of encrypted packets", benign::ssh),
        spec!("benign-tls-website", "benign", false, "rustls TLS 1.3 to an ordinary website (SNI, ALPN h2) with periodic polling", benign::tls_website),
        spec!("benign-https-download", "benign", false, "TLS 1.3 bulk downloads of 32 KiB-4 MiB packages from a mirror every 15-90 s (most bytes of a real link)", benign::https_download),
    ]
}

/// Everything a scenario draws from: its own RNG and the capture window.
pub(crate) struct Ctx {
    pub rng: StdRng,
    pub name: &'static str,
    pub start: u64,
    pub end: u64,
    seed: u64,
}

/// FNV-1a, so each scenario's stream depends on the seed and its name only.
fn name_hash(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Ctx {
    pub fn new(name: &'static str, opts: &Options) -> Self {
        let seed = opts.seed ^ name_hash(name);
        let mut rng = StdRng::seed_from_u64(seed);
        // Sessions start a little after the capture start, differently per scenario.
        let start = opts.start_micros + rng.gen_range(100_000..5_000_000);
        let end = start + (opts.minutes * 60.0 * 1e6) as u64;
        Ctx {
            rng,
            name,
            start,
            end,
            seed,
        }
    }

    /// A seed for a sub-component (e.g. a TLS pipe), stable for this scenario.
    pub fn sub_seed(&mut self) -> u64 {
        self.seed ^ self.rng.gen::<u64>()
    }

    pub fn hex(&mut self, n: usize) -> String {
        crate::wallets::hex(&mut self.rng, n)
    }

    /// Uniform duration in microseconds.
    pub fn uniform_us(&mut self, lo_s: f64, hi_s: f64) -> u64 {
        (self.rng.gen_range(lo_s..hi_s) * 1e6) as u64
    }

    /// Exponential duration in microseconds (inter-arrival time of a Poisson process).
    pub fn exp_us(&mut self, mean_s: f64) -> u64 {
        let u: f64 = self.rng.gen_range(f64::EPSILON..1.0);
        (-u.ln() * mean_s * 1e6) as u64
    }

    /// A client in 192.168.x.0/24 or 10.x.0.0/16.
    pub fn lan_ip(&mut self) -> IpAddr {
        if self.rng.gen_bool(0.5) {
            IpAddr::V4(Ipv4Addr::new(
                192,
                168,
                self.rng.gen_range(1..20),
                self.rng.gen_range(10..250),
            ))
        } else {
            IpAddr::V4(Ipv4Addr::new(
                10,
                self.rng.gen_range(0..50),
                self.rng.gen_range(0..255),
                self.rng.gen_range(10..250),
            ))
        }
    }

    /// A pool or server address in the documentation ranges.
    pub fn doc_ip(&mut self) -> IpAddr {
        let nets = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
        let n = nets[self.rng.gen_range(0..nets.len())];
        IpAddr::V4(Ipv4Addr::new(n[0], n[1], n[2], self.rng.gen_range(2..254)))
    }

    pub fn ephemeral_port(&mut self) -> u16 {
        self.rng.gen_range(49152..65535)
    }

    /// A new TCP conversation with random ISNs and a plausible round trip.
    pub fn conversation(&mut self, client: SocketAddr, server: SocketAddr) -> TcpConversation {
        let mut c = TcpConversation::new(client, server, self.rng.gen(), self.rng.gen());
        c.half_rtt_micros = self.rng.gen_range(8_000..60_000);
        c
    }

    /// Server think time before a reply, in microseconds.
    pub fn think(&mut self) -> u64 {
        self.rng.gen_range(200..8_000)
    }
}

/// Plain TCP or TLS over TCP: scenarios write application messages and do not care which.
pub(crate) struct Carrier {
    pub conv: TcpConversation,
    tls: Option<Box<TlsPipe>>,
}

impl Carrier {
    pub fn plain(conv: TcpConversation) -> Self {
        Carrier { conv, tls: None }
    }

    /// Handshake TCP at `t`, then TLS; returns the time the handshake finished.
    pub fn tls(
        mut conv: TcpConversation,
        seed: u64,
        opts: &TlsOptions,
        t: u64,
    ) -> Result<(Self, u64), SimError> {
        let mut pipe = TlsPipe::new(seed, opts)?;
        conv.handshake(t);
        let flights = pipe.handshake()?;
        let mut now = conv.now() + 300;
        for (dir, bytes) in flights {
            conv.send(dir, now, &bytes);
            now = conv.now() + 2 * conv.half_rtt_micros + 500;
        }
        Ok((
            Carrier {
                conv,
                tls: Some(Box::new(pipe)),
            },
            now,
        ))
    }

    pub fn send(&mut self, dir: Direction, t: u64, data: &[u8]) -> Result<(), SimError> {
        match &mut self.tls {
            Some(pipe) => {
                let records = pipe.send(dir, data)?;
                self.conv.send(dir, t, &records);
            }
            None => self.conv.send(dir, t, data),
        }
        Ok(())
    }

    /// Request then reply after a round trip and `think` microseconds; returns the reply time.
    pub fn exchange(
        &mut self,
        dir: Direction,
        t: u64,
        req: &[u8],
        reply: &[u8],
        think: u64,
    ) -> Result<u64, SimError> {
        self.send(dir, t, req)?;
        let tr = self.conv.now() + 2 * self.conv.half_rtt_micros + think;
        self.send(dir.reverse(), tr, reply)?;
        Ok(self.conv.now())
    }

    pub fn now(&self) -> u64 {
        self.conv.now()
    }

    /// close_notify (TLS) and FIN teardown from the client.
    pub fn close(&mut self, t: u64) -> Result<(), SimError> {
        if let Some(pipe) = &mut self.tls {
            let bytes = pipe.close(Direction::ClientToServer)?;
            self.conv.send(Direction::ClientToServer, t, &bytes);
        }
        self.conv.close(Direction::ClientToServer, t + 1000);
        Ok(())
    }

    pub fn into_packets(self) -> Vec<Packet> {
        self.conv.into_packets()
    }
}

/// A dialect's recurring messages, for [`mining_loop`].
pub(crate) trait Dialogue {
    /// The next job push (server to client).
    fn job(&mut self, rng: &mut StdRng) -> Vec<u8>;
    /// A share submit, its reply, and whether the pool accepted it.
    fn share(&mut self, rng: &mut StdRng) -> (Vec<u8>, Vec<u8>, bool);
    /// A keepalive request and reply, if the dialect has one.
    fn keepalive(&mut self, _rng: &mut StdRng) -> Option<(Vec<u8>, Vec<u8>)> {
        None
    }
    /// A periodic client report (e.g. hashrate) and its reply.
    fn report(&mut self, _rng: &mut StdRng) -> Option<(Vec<u8>, Vec<u8>)> {
        None
    }
}

/// Timing of one mining connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoopTiming {
    /// Job pushes are uniform in this range (seconds).
    pub job_interval_s: (f64, f64),
    /// Mean time between shares: the pool tuned the difficulty for this.
    pub share_mean_s: f64,
    /// Client sends a keepalive after this long without sending anything.
    pub keepalive_idle_s: Option<f64>,
    /// Period of client reports (hashrate), if any.
    pub report_every_s: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LoopStats {
    pub shares: u32,
    pub accepted: u32,
    pub jobs: u32,
    pub keepalives: u32,
}

/// Interleave job pushes, shares (Poisson) and keepalives on one carrier from `t0` to `end`.
pub(crate) fn mining_loop(
    ctx: &mut Ctx,
    carrier: &mut Carrier,
    timing: LoopTiming,
    dialogue: &mut dyn Dialogue,
    t0: u64,
    end: u64,
) -> Result<LoopStats, SimError> {
    let mut stats = LoopStats::default();
    let (jlo, jhi) = timing.job_interval_s;
    let mut next_job = t0 + ctx.uniform_us(jlo, jhi);
    let mut next_share = t0 + ctx.exp_us(timing.share_mean_s);
    let mut next_report = timing.report_every_s.map(|p| t0 + (p * 1e6) as u64);
    let mut last_client_send = t0;
    loop {
        let t_report = next_report.unwrap_or(u64::MAX);
        let t = next_job.min(next_share).min(t_report);
        if let Some(idle) = timing.keepalive_idle_s {
            let due = last_client_send + (idle * 1e6) as u64;
            if due < t && due <= end {
                if let Some((req, reply)) = dialogue.keepalive(&mut ctx.rng) {
                    let think = ctx.think();
                    carrier.exchange(Direction::ClientToServer, due, &req, &reply, think)?;
                    stats.keepalives += 1;
                }
                last_client_send = due;
                continue;
            }
        }
        if t > end {
            break;
        }
        if t == next_job {
            let msg = dialogue.job(&mut ctx.rng);
            carrier.send(Direction::ServerToClient, t, &msg)?;
            stats.jobs += 1;
            next_job = t + ctx.uniform_us(jlo, jhi);
        } else if t == next_share {
            let (req, reply, ok) = dialogue.share(&mut ctx.rng);
            let think = ctx.think();
            carrier.exchange(Direction::ClientToServer, t, &req, &reply, think)?;
            stats.shares += 1;
            stats.accepted += u32::from(ok);
            last_client_send = t;
            next_share = t + ctx.exp_us(timing.share_mean_s).max(50_000);
        } else {
            if let Some((req, reply)) = dialogue.report(&mut ctx.rng) {
                let think = ctx.think();
                carrier.exchange(Direction::ClientToServer, t, &req, &reply, think)?;
                last_client_send = t;
            }
            next_report = timing.report_every_s.map(|p| t + (p * 1e6) as u64);
        }
    }
    Ok(stats)
}

pub(crate) fn endpoint(a: SocketAddr) -> Endpoint {
    Endpoint::from(a)
}

/// floor(2^256 / d) as 32 big-endian bytes (targets of EthProxy and KawPow).
pub(crate) fn target_from_hashes(d: u64) -> [u8; 32] {
    let d = u128::from(d.max(1));
    // Long division of 1 followed by 32 zero bytes, one byte at a time.
    let mut rem: u128 = 1;
    let mut out = [0u8; 32];
    for o in out.iter_mut() {
        let cur = rem << 8;
        *o = (cur / d).min(255) as u8;
        rem = cur % d;
    }
    out
}

pub(crate) fn hex_bytes(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_division_is_exact_for_powers_of_two() {
        let t = target_from_hashes(1 << 32);
        assert_eq!(&t[..4], &[0, 0, 0, 1]);
        assert!(t[4..].iter().all(|b| *b == 0));
    }
}
