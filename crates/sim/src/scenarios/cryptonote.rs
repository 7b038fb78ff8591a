//! CryptoNote / XMRig sessions (plain, TLS with and without SNI, behind a proxy, behind NAT,
//! captured mid-session) and the Grin and Beam JSON dialects.

use super::stratum::open;
use super::*;
use crate::wallets;
use rand::Rng;

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

pub(crate) const XMRIG_AGENT: &str = "XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/11.3.0";
const XMRIG_ALGOS: &str = "[\"cn/1\",\"cn/2\",\"cn/r\",\"cn/fast\",\"cn/half\",\"cn/xao\",\"cn/rto\",\"cn/rwz\",\"cn/zls\",\"cn/double\",\"cn/ccx\",\"cn-lite/1\",\"cn-heavy/0\",\"cn-heavy/tube\",\"cn-heavy/xhv\",\"cn-pico\",\"cn-pico/tlo\",\"cn/upx2\",\"rx/0\",\"rx/wow\",\"rx/arq\",\"rx/graft\",\"rx/sfx\",\"rx/keva\",\"argon2/chukwa\",\"argon2/chukwav2\",\"argon2/ninja\",\"ghostrider\"]";

/// CryptoNote difficulty to the 4-byte little-endian target hex xmrig reads, and the difficulty
/// xmrig derives back from it (Job.cpp: the 32-bit target T widens to
/// T64 = floor(0xFFFFFFFFFFFFFFFF / floor(0xFFFFFFFF / T)), and D = floor(0xFFFFFFFFFFFFFFFF / T64)).
pub(crate) fn cryptonote_target(difficulty: u64) -> (String, u64) {
    let t = (0xFFFF_FFFFu64 / difficulty.max(2)).max(1) as u32;
    let t64 = u64::MAX / (0xFFFF_FFFFu64 / u64::from(t)).max(1);
    (hex_bytes(&t.to_le_bytes()), u64::MAX / t64.max(1))
}

/// How one XMRig-like client logs in and mines.
pub(crate) struct XmrConfig {
    pub wallet: String,
    pub pass: String,
    pub agent: String,
    pub rigid: String,
    pub hashrate: f64,
    /// Workers behind this connection (xmrig-proxy); 1 for a plain miner.
    pub workers: u32,
    pub share_mean_s: f64,
    pub job_interval_s: (f64, f64),
    pub nicehash: bool,
}

pub(crate) struct Xmr {
    rpc_id: String,
    job_id: String,
    target: String,
    height: u64,
    seed_hash: String,
    next_id: u64,
    workers: u32,
    nicehash: bool,
}

impl Xmr {
    fn job_object(&mut self, rng: &mut StdRng) -> String {
        // Sizes as captured: job 279-378 B, submit 184-187 B (short rpc and job ids).
        self.job_id = wallets::hex(rng, 5)[..9].to_string();
        if rng.gen_bool(0.6) {
            self.height += 1;
        }
        // A Monero hashing blob: 76 bytes, nonce at offset 39..43 left zero for the miner.
        let blob_len = if rng.gen_bool(0.8) { 76 } else { 77 };
        let mut blob = wallets::hex(rng, blob_len);
        blob.replace_range(78..86, "00000000");
        format!(
            "{{\"blob\":\"{blob}\",\"job_id\":\"{}\",\"target\":\"{}\",\"algo\":\"rx/0\",\"height\":{},\"seed_hash\":\"{}\"}}",
            self.job_id, self.target, self.height, self.seed_hash
        )
    }
}

impl Dialogue for Xmr {
    fn job(&mut self, rng: &mut StdRng) -> Vec<u8> {
        let job = self.job_object(rng);
        format!("{{\"jsonrpc\":\"2.0\",\"method\":\"job\",\"params\":{job}}}\n").into_bytes()
    }

    fn share(&mut self, rng: &mut StdRng) -> (Vec<u8>, Vec<u8>, bool) {
        self.next_id += 1;
        let id = self.next_id;
        let mut nonce = wallets::hex(rng, 4);
        if self.nicehash && self.workers > 1 {
            // nicehash mode: the proxy gives each worker a fixed top nonce byte (blob offset 42).
            let worker = rng.gen_range(0..self.workers);
            nonce.replace_range(6..8, &format!("{worker:02x}"));
        }
        let req = format!(
            "{{\"id\":{id},\"jsonrpc\":\"2.0\",\"method\":\"submit\",\"params\":{{\"id\":\"{}\",\"job_id\":\"{}\",\"nonce\":\"{nonce}\",\"result\":\"{}\"}}}}\n",
            self.rpc_id,
            self.job_id,
            wallets::hex(rng, 32)
        );
        let reply = format!(
            "{{\"id\":{id},\"jsonrpc\":\"2.0\",\"error\":null,\"result\":{{\"status\":\"OK\"}}}}\n"
        );
        (req.into_bytes(), reply.into_bytes(), true)
    }

    fn keepalive(&mut self, _rng: &mut StdRng) -> Option<(Vec<u8>, Vec<u8>)> {
        self.next_id += 1;
        let id = self.next_id;
        Some((
            format!("{{\"id\":{id},\"jsonrpc\":\"2.0\",\"method\":\"keepalived\",\"params\":{{\"id\":\"{}\"}}}}\n", self.rpc_id).into_bytes(),
            format!("{{\"id\":{id},\"jsonrpc\":\"2.0\",\"error\":null,\"result\":{{\"status\":\"KEEPALIVED\"}}}}\n").into_bytes(),
        ))
    }
}

/// Difficulty a pool would set for `hashrate` to get one share per `share_mean_s`.
fn xmr_difficulty(hashrate: f64, share_mean_s: f64) -> u64 {
    ((hashrate * share_mean_s / 1000.0).round() as u64).max(1) * 1000
}

/// Login (with the first job in the reply) then the mining loop until `end`.
pub(crate) fn xmr_session(
    ctx: &mut Ctx,
    car: &mut Carrier,
    t: u64,
    end: u64,
    cfg: &XmrConfig,
    truth: &mut GroundTruth,
) -> Result<(), SimError> {
    let (target, difficulty) = cryptonote_target(xmr_difficulty(cfg.hashrate, cfg.share_mean_s));
    let mut d = Xmr {
        rpc_id: ctx.hex(3),
        job_id: String::new(),
        target,
        height: 3_150_000 + ctx.rng.gen_range(0..50_000),
        seed_hash: ctx.hex(32),
        next_id: 1,
        workers: cfg.workers,
        nicehash: cfg.nicehash,
    };
    let rigid = if cfg.rigid.is_empty() {
        String::new()
    } else {
        format!(",\"rigid\":\"{}\"", cfg.rigid)
    };
    let login = format!(
        "{{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{{\"login\":\"{}\",\"pass\":\"{}\",\"agent\":\"{}\"{rigid},\"algo\":{XMRIG_ALGOS}}}}}\n",
        cfg.wallet, cfg.pass, cfg.agent
    );
    let job = d.job_object(&mut ctx.rng);
    let extensions = if cfg.nicehash {
        "[\"algo\",\"nicehash\",\"connect\",\"tls\",\"keepalive\"]"
    } else {
        "[\"algo\",\"connect\",\"tls\",\"keepalive\"]"
    };
    let reply = format!(
        "{{\"id\":1,\"jsonrpc\":\"2.0\",\"error\":null,\"result\":{{\"id\":\"{}\",\"job\":{job},\"extensions\":{extensions},\"status\":\"OK\"}}}}\n",
        d.rpc_id
    );
    let think = ctx.think();
    let t0 = car.exchange(C2S, t, login.as_bytes(), reply.as_bytes(), think)?;
    let timing = LoopTiming {
        job_interval_s: cfg.job_interval_s,
        share_mean_s: difficulty as f64 / cfg.hashrate,
        keepalive_idle_s: Some(60.0),
        report_every_s: None,
    };
    let stats = mining_loop(ctx, car, timing, &mut d, t0, end)?;
    truth.shares += stats.shares;
    truth.accepted_shares += stats.accepted;
    truth.jobs += stats.jobs + 1;
    truth.difficulty = Some(difficulty as f64);
    truth.hashes_per_share = Some(difficulty as f64);
    truth.coin = Some("XMR".into());
    truth.algorithm = Some("rx/0".into());
    truth.agent = Some(cfg.agent.clone());
    Ok(())
}

fn default_xmr(ctx: &mut Ctx) -> XmrConfig {
    let hashrate = ctx.rng.gen_range(4_000.0..16_000.0f64).round();
    XmrConfig {
        wallet: wallets::monero(&mut ctx.rng),
        pass: "x".into(),
        agent: XMRIG_AGENT.into(),
        rigid: format!("srv-{:02}", ctx.rng.gen_range(1..60)),
        hashrate,
        workers: 1,
        share_mean_s: 15.0,
        job_interval_s: (46.0, 121.0),
        nicehash: false,
    }
}

fn xmr_truth(
    ctx: &Ctx,
    dialect: &str,
    client: SocketAddr,
    server: SocketAddr,
    cfg: &XmrConfig,
) -> GroundTruth {
    let mut truth = GroundTruth::new(ctx.name, dialect, endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.wallet = Some(cfg.wallet.clone());
    if !cfg.rigid.is_empty() {
        truth.workers = vec![cfg.rigid.clone()];
    }
    truth.rigs = cfg.workers;
    truth.hashrate_hps = Some(cfg.hashrate);
    truth
}

pub(crate) fn xmrig(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 3333);
    let cfg = default_xmr(ctx);
    let mut truth = xmr_truth(ctx, "cryptonote", client, server, &cfg);
    let (mut car, t) = open(ctx, client, server);
    let end = ctx.end;
    xmr_session(ctx, &mut car, t, end, &cfg, &mut truth)?;
    car.close(end + 1_000)?;
    Ok((car.into_packets(), truth))
}

fn tls_xmr(
    ctx: &mut Ctx,
    port: u16,
    sni: Option<&str>,
    dialect: &str,
    push: (f64, f64),
) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), port);
    let mut cfg = default_xmr(ctx);
    cfg.job_interval_s = push;
    let server_name = sni.unwrap_or("donate.ssl.xmrig.com").to_string();
    let opts = TlsOptions {
        server_name: server_name.clone(),
        server_ip: server.ip(),
        send_sni: sni.is_some(),
        alpn: Vec::new(),
        tls12_only: false,
    };
    let conv = ctx.conversation(client, server);
    let seed = ctx.sub_seed();
    let start = ctx.start;
    let (mut car, t) = Carrier::tls(conv, seed, &opts, start)?;
    let mut truth = xmr_truth(ctx, dialect, client, server, &cfg);
    let end = ctx.end;
    xmr_session(ctx, &mut car, t, end, &cfg, &mut truth)?;
    car.close(end + 1_000)?;
    truth.inner_dialect = Some("cryptonote".into());
    truth.sni = sni.map(str::to_string);
    truth.notes = format!(
        "rustls TLS 1.3, certificate for {server_name}; job pushes every {}-{} s",
        push.0, push.1
    );
    Ok((car.into_packets(), truth))
}

pub(crate) fn tls_sni(ctx: &mut Ctx) -> Result<Built, SimError> {
    tls_xmr(ctx, 9000, Some("pool.supportxmr.com"), "tls", (46.0, 121.0))
}

pub(crate) fn tls_no_sni(ctx: &mut Ctx) -> Result<Built, SimError> {
    tls_xmr(ctx, 443, None, "behavioural", (21.0, 28.0))
}

pub(crate) fn proxy(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 14444);
    let workers = 12u32;
    let per_worker = 6_000.0;
    let mut cfg = default_xmr(ctx);
    cfg.agent = "xmrig-proxy/6.22.0 (Linux x86_64) libuv/1.48.0 gcc/13.2.0".into();
    cfg.rigid = String::new();
    cfg.workers = workers;
    cfg.hashrate = per_worker * f64::from(workers);
    // The pool sets the per-worker difficulty: each worker submits about every 30 s.
    cfg.share_mean_s = 30.0 / f64::from(workers);
    cfg.nicehash = true;
    let mut truth = xmr_truth(ctx, "cryptonote", client, server, &cfg);
    let (mut car, t) = open(ctx, client, server);
    let end = ctx.end;
    xmr_session(ctx, &mut car, t, end, &cfg, &mut truth)?;
    car.close(end + 1_000)?;
    truth.workers = (0..workers).map(|i| format!("worker-{i:02x}")).collect();
    truth.notes =
        "nicehash mode: the last nonce byte (blob offset 42) names the worker behind the proxy"
            .into();
    Ok((car.into_packets(), truth))
}

pub(crate) fn nat_rigs(ctx: &mut Ctx) -> Result<Built, SimError> {
    let nat_ip = IpAddr::V4(Ipv4Addr::new(172, 16, ctx.rng.gen_range(0..16), 1));
    let server = SocketAddr::new(ctx.doc_ip(), 10128);
    let wallet = wallets::monero(&mut ctx.rng);
    let mut truth = GroundTruth::new(ctx.name, "cryptonote", endpoint(server));
    let mut packets = Vec::new();
    let mut total_rate = 0.0;
    for i in 1..=5u32 {
        let client = SocketAddr::new(nat_ip, 40000 + ctx.rng.gen_range(0..20000));
        let mut cfg = default_xmr(ctx);
        cfg.wallet = wallet.clone();
        cfg.rigid = format!("rig{i:02}");
        cfg.pass = cfg.rigid.clone();
        cfg.share_mean_s = ctx.rng.gen_range(15.0..30.0);
        total_rate += cfg.hashrate;
        let (mut car, t) = open(ctx, client, server);
        let t = t + ctx.uniform_us(0.0, 20.0);
        let end = ctx.end;
        xmr_session(ctx, &mut car, t, end, &cfg, &mut truth)?;
        car.conv.flush();
        truth.clients.push(endpoint(client));
        truth.workers.push(cfg.rigid.clone());
        packets.extend(car.into_packets());
    }
    truth.wallet = Some(wallet);
    truth.rigs = 5;
    truth.hashrate_hps = Some(total_rate);
    truth.difficulty = None; // differs per rig
    truth.hashes_per_share = None;
    truth.notes = "five connections from one NAT address; distinct rigid and pass per rig".into();
    Ok((packets, truth))
}

/// Four rigs behind one NAT address, each in TLS to the same pool (nothing readable inside), one
/// of them reconnecting: only the hosts' TCP timestamp clocks and IP-ID counters tell them apart.
pub(crate) fn nat_rigs_tls(ctx: &mut Ctx) -> Result<Built, SimError> {
    let nat_ip = IpAddr::V4(Ipv4Addr::new(172, 16, ctx.rng.gen_range(16..32), 1));
    let server = SocketAddr::new(ctx.doc_ip(), 9000);
    let wallet = wallets::monero(&mut ctx.rng);
    let mut truth = GroundTruth::new(ctx.name, "tls", endpoint(server));
    let mut packets = Vec::new();
    let mut total_rate = 0.0;
    let (start, end) = (ctx.start, ctx.end);
    let mid = start + (end - start) / 2;
    for i in 1..=4u32 {
        // Linux clocks tick at 1000 Hz; each crystal runs 20-150 ppm off, either way, and
        // the rigs' skews are at least 40 ppm apart (rig i: 40 * i ppm).
        let ppm = 40.0 * f64::from(i) * if ctx.rng.gen_bool(0.5) { 1.0 } else { -1.0 };
        let clock = crate::tcp::TsClock {
            offset: ctx.rng.gen(),
            rate_hz: 1000.0 * (1.0 + ppm * 1e-6),
        };
        let mut ip_id: u16 = ctx.rng.gen();
        let mut cfg = default_xmr(ctx);
        cfg.wallet = wallet.clone();
        cfg.rigid = String::new();
        cfg.share_mean_s = ctx.rng.gen_range(15.0..30.0);
        total_rate += cfg.hashrate;
        // Rig 2 drops its connection half way and reconnects.
        let spans = if i == 2 {
            vec![(start, mid), (mid + 5_000_000, end)]
        } else {
            vec![(start, end)]
        };
        for (from, to) in spans {
            let client = SocketAddr::new(nat_ip, 40000 + ctx.rng.gen_range(0..20000));
            let mut conv = ctx.conversation(client, server);
            conv.set_client_clock(clock);
            conv.set_client_ip_id(ip_id);
            let opts = crate::tls::TlsOptions {
                server_name: "pool.supportxmr.com".into(),
                server_ip: server.ip(),
                send_sni: true,
                alpn: Vec::new(),
                tls12_only: false,
            };
            let seed = ctx.sub_seed();
            let from = from + ctx.uniform_us(0.0, 20.0);
            let (mut car, t) = Carrier::tls(conv, seed, &opts, from)?;
            xmr_session(ctx, &mut car, t, to, &cfg, &mut truth)?;
            car.close(to + 1_000)?;
            ip_id = car.conv.client_ip_id().wrapping_add(1);
            truth.clients.push(endpoint(client));
            packets.extend(car.into_packets());
        }
    }
    packets.sort_by_key(|p| p.ts_micros);
    truth.wallet = Some(wallet);
    truth.rigs = 4;
    truth.hashrate_hps = Some(total_rate);
    truth.difficulty = None;
    truth.hashes_per_share = None;
    truth.sni = Some("pool.supportxmr.com".into());
    truth.inner_dialect = Some("cryptonote".into());
    truth.notes = "four rigs, five TLS connections (rig 2 reconnects) from one NAT address; each rig its own TCP timestamp clock (1000 Hz, 40-160 ppm skew) and IP-ID counter".into();
    Ok((packets, truth))
}

pub(crate) fn mid_session(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 5555);
    let cfg = default_xmr(ctx);
    let mut conv = ctx.conversation(client, server);
    conv.assume_established();
    let (target, difficulty) = cryptonote_target(xmr_difficulty(cfg.hashrate, cfg.share_mean_s));
    let mut d = Xmr {
        rpc_id: ctx.hex(3),
        job_id: String::new(),
        target,
        height: 3_150_000,
        seed_hash: ctx.hex(32),
        next_id: ctx.rng.gen_range(100..900),
        workers: 1,
        nicehash: false,
    };
    // The capture begins halfway through a job push: keep only its second segment onwards.
    let first = d.job(&mut ctx.rng);
    let cut = first.len() / 2 + ctx.rng.gen_range(0..20);
    let t = ctx.start;
    conv.send_split(S2C, t, &first, cut);
    let mut car = Carrier::plain(conv);
    let timing = LoopTiming {
        job_interval_s: cfg.job_interval_s,
        share_mean_s: difficulty as f64 / cfg.hashrate,
        keepalive_idle_s: Some(60.0),
        report_every_s: None,
    };
    let end = ctx.end;
    let stats = mining_loop(ctx, &mut car, timing, &mut d, t, end)?;
    let mut packets = car.into_packets();
    if !packets.is_empty() {
        packets.remove(0);
    }
    let mut truth = GroundTruth::new(ctx.name, "cryptonote", endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.rigs = 1;
    truth.shares = stats.shares;
    truth.accepted_shares = stats.accepted;
    truth.jobs = stats.jobs;
    truth.coin = Some("XMR".into());
    truth.algorithm = Some("rx/0".into());
    truth.difficulty = Some(difficulty as f64);
    truth.hashes_per_share = Some(difficulty as f64);
    truth.hashrate_hps = Some(cfg.hashrate);
    truth.notes = "no SYN, no login (wallet unseen); the first packet starts in the middle of a job line; no FIN".into();
    Ok((packets, truth))
}

/// Grin stratum state.
struct Grin {
    job_id: u64,
    height: u64,
    next_id: u64,
    difficulty: u64,
}

impl Grin {
    fn template(&mut self, rng: &mut StdRng) -> String {
        format!(
            "{{\"difficulty\":{},\"height\":{},\"job_id\":{},\"pre_pow\":\"{}\"}}",
            self.difficulty,
            self.height,
            self.job_id,
            wallets::hex(rng, 220)
        )
    }
}

impl Dialogue for Grin {
    fn job(&mut self, rng: &mut StdRng) -> Vec<u8> {
        self.job_id += 1;
        self.height += 1;
        let t = self.template(rng);
        format!("{{\"id\":\"Stratum\",\"jsonrpc\":\"2.0\",\"method\":\"job\",\"params\":{t}}}\n")
            .into_bytes()
    }

    fn share(&mut self, rng: &mut StdRng) -> (Vec<u8>, Vec<u8>, bool) {
        self.next_id += 1;
        let id = self.next_id;
        let mut edges: Vec<u64> = (0..42).map(|_| rng.gen_range(0..(1u64 << 32))).collect();
        edges.sort_unstable();
        let pow: Vec<String> = edges.iter().map(u64::to_string).collect();
        let req = format!(
            "{{\"id\":\"{id}\",\"jsonrpc\":\"2.0\",\"method\":\"submit\",\"params\":{{\"edge_bits\":32,\"height\":{},\"job_id\":{},\"nonce\":{},\"pow\":[{}]}}}}\n",
            self.height,
            self.job_id,
            rng.gen::<u64>() >> 1,
            pow.join(",")
        );
        let reply = format!("{{\"id\":\"{id}\",\"jsonrpc\":\"2.0\",\"method\":\"submit\",\"result\":\"ok\",\"error\":null}}\n");
        (req.into_bytes(), reply.into_bytes(), true)
    }

    fn keepalive(&mut self, _rng: &mut StdRng) -> Option<(Vec<u8>, Vec<u8>)> {
        self.next_id += 1;
        let id = self.next_id;
        Some((
            format!("{{\"id\":\"{id}\",\"jsonrpc\":\"2.0\",\"method\":\"keepalive\",\"params\":null}}\n").into_bytes(),
            format!("{{\"id\":\"{id}\",\"jsonrpc\":\"2.0\",\"method\":\"keepalive\",\"result\":\"ok\",\"error\":null}}\n").into_bytes(),
        ))
    }
}

pub(crate) fn grin(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 3416);
    let wallet = wallets::grin(&mut ctx.rng);
    let agent = "grin-miner";
    let (mut car, mut t) = open(ctx, client, server);
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t,
        format!("{{\"id\":\"0\",\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{{\"login\":\"{wallet}\",\"pass\":\"x\",\"agent\":\"{agent}\"}}}}\n").as_bytes(),
        b"{\"id\":\"0\",\"jsonrpc\":\"2.0\",\"method\":\"login\",\"result\":\"ok\",\"error\":null}\n",
        think,
    )?;
    let mut d = Grin {
        job_id: ctx.rng.gen_range(1..100),
        height: 2_900_000 + ctx.rng.gen_range(0..10_000),
        next_id: 1,
        difficulty: 4,
    };
    let tmpl = d.template(&mut ctx.rng);
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t + 200,
        b"{\"id\":\"1\",\"jsonrpc\":\"2.0\",\"method\":\"getjobtemplate\",\"params\":null}\n",
        format!("{{\"id\":\"1\",\"jsonrpc\":\"2.0\",\"method\":\"getjobtemplate\",\"result\":{tmpl},\"error\":null}}\n").as_bytes(),
        think,
    )?;
    let timing = LoopTiming {
        job_interval_s: (50.0, 70.0),
        share_mean_s: 20.0,
        keepalive_idle_s: Some(60.0),
        report_every_s: None,
    };
    let end = ctx.end;
    let stats = mining_loop(ctx, &mut car, timing, &mut d, t, end)?;
    car.close(end + 1_000)?;
    let mut truth = GroundTruth::new(ctx.name, "grin", endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.wallet = Some(wallet);
    truth.rigs = 1;
    truth.coin = Some("GRIN".into());
    truth.algorithm = Some("cuckatoo32".into());
    truth.agent = Some(agent.into());
    truth.difficulty = Some(4.0);
    truth.shares = stats.shares;
    truth.accepted_shares = stats.accepted;
    truth.jobs = stats.jobs + 1;
    Ok((car.into_packets(), truth))
}

/// Beam stratum state.
struct Beam {
    job: u64,
    height: u64,
    difficulty: u64,
}

impl Dialogue for Beam {
    fn job(&mut self, rng: &mut StdRng) -> Vec<u8> {
        self.job += 1;
        self.height += 1;
        format!(
            "{{\"difficulty\":{},\"height\":{},\"id\":\"{}\",\"input\":\"{}\",\"jsonrpc\":\"2.0\",\"method\":\"job\"}}\n",
            self.difficulty,
            self.height,
            self.job,
            wallets::hex(rng, 32)
        )
        .into_bytes()
    }

    fn share(&mut self, rng: &mut StdRng) -> (Vec<u8>, Vec<u8>, bool) {
        let req = format!(
            "{{\"id\":\"{}\",\"jsonrpc\":\"2.0\",\"method\":\"solution\",\"nonce\":\"{}\",\"output\":\"{}\"}}\n",
            self.job,
            wallets::hex(rng, 8),
            wallets::hex(rng, 104)
        );
        let reply = format!(
            "{{\"code\":0,\"description\":\"accepted\",\"id\":\"{}\",\"jsonrpc\":\"2.0\",\"method\":\"result\"}}\n",
            self.job
        );
        (req.into_bytes(), reply.into_bytes(), true)
    }
}

pub(crate) fn beam(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client_ip: IpAddr = IpAddr::V6(std::net::Ipv6Addr::new(
        0xfd00,
        0x10,
        0,
        0,
        0,
        0,
        0,
        ctx.rng.gen_range(2..0xfff),
    ));
    let pool_ip: IpAddr = IpAddr::V6(std::net::Ipv6Addr::new(
        0x2001,
        0xdb8,
        0x4d,
        0,
        0,
        0,
        0,
        ctx.rng.gen_range(2..0xfff),
    ));
    let client = SocketAddr::new(client_ip, ctx.ephemeral_port());
    let server = SocketAddr::new(pool_ip, 3030);
    let api_key = ctx.hex(32);
    let (mut car, mut t) = open(ctx, client, server);
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t,
        format!("{{\"method\":\"login\",\"api_key\":\"{api_key}\",\"id\":\"login\",\"jsonrpc\":\"2.0\"}}\n").as_bytes(),
        format!("{{\"code\":0,\"description\":\"Login successful\",\"id\":\"login\",\"jsonrpc\":\"2.0\",\"method\":\"result\",\"nonceprefix\":\"{}\",\"forkheight\":321321,\"forkheight2\":777777}}\n", ctx.hex(3)).as_bytes(),
        think,
    )?;
    let mut d = Beam {
        job: ctx.rng.gen_range(1000..9000),
        height: 2_700_000 + ctx.rng.gen_range(0..10_000),
        difficulty: 80_000_000 + ctx.rng.gen_range(0..9_000_000),
    };
    let first = d.job(&mut ctx.rng);
    car.send(S2C, t + 100, &first)?;
    let t0 = car.now();
    let timing = LoopTiming {
        job_interval_s: (50.0, 70.0),
        share_mean_s: 20.0,
        keepalive_idle_s: None,
        report_every_s: None,
    };
    let end = ctx.end;
    let stats = mining_loop(ctx, &mut car, timing, &mut d, t0, end)?;
    car.close(end + 1_000)?;
    let mut truth = GroundTruth::new(ctx.name, "beam", endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.wallet = None;
    truth.workers = vec![api_key];
    truth.rigs = 1;
    truth.coin = Some("BEAM".into());
    truth.algorithm = Some("beamhash3".into());
    truth.agent = None;
    truth.shares = stats.shares;
    truth.accepted_shares = stats.accepted;
    truth.jobs = stats.jobs + 1;
    truth.notes = "IPv6; Beam logs in with an api_key, not a wallet".into();
    Ok((car.into_packets(), truth))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cryptonote_target_matches_estimation_examples() {
        assert_eq!(cryptonote_target(10_000).0, "b88d0600");
        assert_eq!(cryptonote_target(10_000).1, 10_000);
        assert_eq!(cryptonote_target(5_000).0, "711b0d00");
    }
}
