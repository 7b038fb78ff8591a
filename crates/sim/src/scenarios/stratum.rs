//! Stratum V1 and its relatives: Bitcoin family, Equihash, EthereumStratum 1 and 2, KawPow, Kaspa.
//! JSON lines are written with `format!` so key order and spacing match the miners they imitate.

use super::*;
use crate::wallets;
use rand::Rng;

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

/// Pools pick a round difficulty near what gives one share per `interval_s`.
pub(crate) fn pow2_difficulty(hashrate: f64, hashes_per_unit: f64, interval_s: f64) -> f64 {
    let raw = hashrate * interval_s / hashes_per_unit;
    2f64.powi(raw.log2().round() as i32)
}

/// Open a TCP connection at the scenario start and return the carrier and the time after it.
pub(crate) fn open(ctx: &mut Ctx, client: SocketAddr, server: SocketAddr) -> (Carrier, u64) {
    let mut conv = ctx.conversation(client, server);
    let t = ctx.start + ctx.rng.gen_range(0..500_000);
    conv.handshake(t);
    let now = conv.now() + ctx.rng.gen_range(300..3_000);
    (Carrier::plain(conv), now)
}

fn fill_truth(truth: &mut GroundTruth, stats: LoopStats) {
    truth.shares += stats.shares;
    truth.accepted_shares += stats.accepted;
    truth.jobs += stats.jobs;
}

/// Bitcoin-family `mining.notify` / `mining.submit` state.
struct BitcoinFamily {
    worker: String,
    job_seq: u32,
    job_id: String,
    ntime: u32,
    next_id: u64,
    merkle_len: usize,
    version_rolling: bool,
}

impl BitcoinFamily {
    fn notify(&mut self, rng: &mut StdRng, clean: bool) -> Vec<u8> {
        self.job_seq += 1;
        self.job_id = format!("{:x}", 0x6a00 + self.job_seq);
        self.ntime += rng.gen_range(30..60);
        let prev = wallets::hex(rng, 32);
        let n1 = rng.gen_range(20..40);
        let n2 = rng.gen_range(50..70);
        let coinb1 = format!(
            "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff{}",
            wallets::hex(rng, n1)
        );
        let coinb2 = format!("ffffffff02{}00000000", wallets::hex(rng, n2));
        let merkle: Vec<String> = (0..self.merkle_len)
            .map(|_| format!("\"{}\"", wallets::hex(rng, 32)))
            .collect();
        format!(
            "{{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"{}\",\"{prev}\",\"{coinb1}\",\"{coinb2}\",[{}],\"20000000\",\"17034219\",\"{:08x}\",{clean}]}}\n",
            self.job_id,
            merkle.join(","),
            self.ntime
        )
        .into_bytes()
    }
}

impl Dialogue for BitcoinFamily {
    fn job(&mut self, rng: &mut StdRng) -> Vec<u8> {
        let clean = rng.gen_bool(0.15);
        self.notify(rng, clean)
    }

    fn share(&mut self, rng: &mut StdRng) -> (Vec<u8>, Vec<u8>, bool) {
        self.next_id += 1;
        let id = self.next_id;
        let vbits = if self.version_rolling {
            format!(",\"{:08x}\"", rng.gen::<u32>() & 0x1fff_e000)
        } else {
            String::new()
        };
        let req = format!(
            "{{\"params\": [\"{}\", \"{}\", \"{}\", \"{:08x}\", \"{}\"{vbits}], \"id\": {id}, \"method\": \"mining.submit\"}}\n",
            self.worker,
            self.job_id,
            wallets::hex(rng, 4),
            self.ntime + rng.gen_range(0..30),
            wallets::hex(rng, 4)
        );
        let ok = rng.gen_bool(0.98);
        let reply = if ok {
            format!("{{\"id\":{id},\"result\":true,\"error\":null}}\n")
        } else {
            format!("{{\"id\":{id},\"result\":null,\"error\":[21,\"Job not found\",null]}}\n")
        };
        (req.into_bytes(), reply.into_bytes(), ok)
    }
}

/// Bitcoin ASIC to a public pool, cgminer-style spacing for client lines.
pub(crate) fn btc(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 3333);
    let wallet = wallets::segwit_v0(&mut ctx.rng, "bc");
    let worker = format!("{wallet}.s19-{:02}", ctx.rng.gen_range(1..40));
    let hashrate = 110e12;
    let unit = 2f64.powi(32);
    let diff = pow2_difficulty(hashrate, unit, 20.0);
    let (mut car, mut t) = open(ctx, client, server);
    let agent = "cgminer/4.11.1";
    let sub_id = ctx.hex(8);
    let en1 = ctx.hex(4);
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t,
        b"{\"id\": 1, \"method\": \"mining.configure\", \"params\": [[\"version-rolling\"], {\"version-rolling.mask\": \"1fffe000\", \"version-rolling.min-bit-count\": 2}]}\n",
        b"{\"id\":1,\"result\":{\"version-rolling\":true,\"version-rolling.mask\":\"1fffe000\"},\"error\":null}\n",
        think,
    )?;
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t + 500,
        format!("{{\"id\": 2, \"method\": \"mining.subscribe\", \"params\": [\"{agent}\"]}}\n").as_bytes(),
        format!("{{\"id\":2,\"result\":[[[\"mining.set_difficulty\",\"{sub_id}\"],[\"mining.notify\",\"{sub_id}\"]],\"{en1}\",4],\"error\":null}}\n").as_bytes(),
        think,
    )?;
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t + 400,
        format!(
            "{{\"id\": 3, \"method\": \"mining.authorize\", \"params\": [\"{worker}\", \"x\"]}}\n"
        )
        .as_bytes(),
        b"{\"id\":3,\"result\":true,\"error\":null}\n",
        think,
    )?;
    car.send(
        S2C,
        t + 200,
        format!("{{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[{diff}]}}\n")
            .as_bytes(),
    )?;
    let mut d = BitcoinFamily {
        worker: worker.clone(),
        job_seq: 0,
        job_id: String::new(),
        ntime: 0x6631_0000 + ctx.rng.gen_range(0..0xffff),
        next_id: 3,
        merkle_len: ctx.rng.gen_range(9..13),
        version_rolling: true,
    };
    let first = d.notify(&mut ctx.rng, true);
    car.send(S2C, car.now() + 150, &first)?;
    let t0 = car.now();
    let timing = LoopTiming {
        job_interval_s: (30.0, 60.0),
        share_mean_s: diff * unit / hashrate,
        keepalive_idle_s: None,
        report_every_s: None,
    };
    let end = ctx.end;
    let stats = mining_loop(ctx, &mut car, timing, &mut d, t0, end)?;
    car.close(end + 1_000)?;
    let mut truth = GroundTruth::new(ctx.name, "stratum-v1", endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.wallet = Some(wallet);
    truth.workers = vec![worker];
    truth.rigs = 1;
    truth.coin = Some("BTC".into());
    truth.algorithm = Some("sha256d".into());
    truth.agent = Some(agent.into());
    truth.jobs = 1;
    truth.difficulty = Some(diff);
    truth.hashes_per_share = Some(diff * unit);
    truth.hashrate_hps = Some(hashrate);
    fill_truth(&mut truth, stats);
    truth.notes =
        "mining.configure version rolling; ~2% stale shares rejected with error 21".into();
    Ok((car.into_packets(), truth))
}

/// Four LAN miners (cpuminer) talking to a scrypt pool on a 10.x server.
pub(crate) fn internal_pool(ctx: &mut Ctx) -> Result<Built, SimError> {
    let pool_ip = IpAddr::V4(Ipv4Addr::new(10, 0, 5, ctx.rng.gen_range(2..250)));
    let server = SocketAddr::new(pool_ip, 3333);
    let account = "farm";
    let unit = 65536.0;
    let per_rig = 1.2e9; // an L3+-class scrypt miner
    let diff = pow2_difficulty(per_rig, unit, 20.0);
    let mut truth = GroundTruth::new(ctx.name, "stratum-v1", endpoint(server));
    let mut packets = Vec::new();
    for i in 1..=4u32 {
        let client = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(10, 0, 7, 20 + i as u8)),
            ctx.ephemeral_port(),
        );
        let worker = format!("{account}.l3-{i:02}");
        let (mut car, mut t) = open(ctx, client, server);
        let en1 = ctx.hex(4);
        let think = ctx.think();
        t = car.exchange(
            C2S,
            t,
            b"{\"id\": 1, \"method\": \"mining.subscribe\", \"params\": [\"cpuminer/2.5.1\"]}\n",
            format!("{{\"id\":1,\"result\":[[[\"mining.notify\",\"ae6812eb4cd7735a302a8a9dd95cf71f\"]],\"{en1}\",4],\"error\":null}}\n").as_bytes(),
            think,
        )?;
        let think = ctx.think();
        t = car.exchange(
            C2S,
            t + 300,
            format!("{{\"id\": 2, \"method\": \"mining.authorize\", \"params\": [\"{worker}\", \"x\"]}}\n").as_bytes(),
            b"{\"id\":2,\"result\":true,\"error\":null}\n",
            think,
        )?;
        car.send(
            S2C,
            t + 100,
            format!("{{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[{diff}]}}\n")
                .as_bytes(),
        )?;
        let mut d = BitcoinFamily {
            worker: worker.clone(),
            job_seq: 0,
            job_id: String::new(),
            ntime: 0x6631_0000,
            next_id: 2,
            merkle_len: ctx.rng.gen_range(3..8),
            version_rolling: false,
        };
        let first = d.notify(&mut ctx.rng, true);
        car.send(S2C, car.now() + 100, &first)?;
        let t0 = car.now();
        let timing = LoopTiming {
            job_interval_s: (30.0, 60.0),
            share_mean_s: diff * unit / per_rig,
            keepalive_idle_s: None,
            report_every_s: None,
        };
        let end = ctx.end;
        let stats = mining_loop(ctx, &mut car, timing, &mut d, t0, end)?;
        car.conv.flush();
        fill_truth(&mut truth, stats);
        truth.jobs += 1;
        truth.clients.push(endpoint(client));
        truth.workers.push(worker);
        packets.extend(car.into_packets());
    }
    truth.rigs = 4;
    truth.wallet = None;
    truth.coin = Some("LTC".into());
    truth.algorithm = Some("scrypt".into());
    truth.agent = Some("cpuminer/2.5.1".into());
    truth.difficulty = Some(diff);
    truth.hashes_per_share = Some(diff * unit);
    truth.hashrate_hps = Some(4.0 * per_rig);
    truth.notes = "pool server is internal (10.0.5.x); logins are account.worker, no wallet".into();
    Ok((packets, truth))
}

/// Equihash (ZIP 301) state.
struct Equihash {
    worker: String,
    job_id: String,
    ntime: u32,
    next_id: u64,
    seq: u32,
}

impl Dialogue for Equihash {
    fn job(&mut self, rng: &mut StdRng) -> Vec<u8> {
        self.seq += 1;
        self.job_id = format!("{:x}", 0x1200 + self.seq);
        self.ntime += rng.gen_range(30..75);
        format!(
            "{{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"{}\",\"04000000\",\"{}\",\"{}\",\"{}\",\"{:08x}\",\"1c0133d1\",{}]}}\n",
            self.job_id,
            wallets::hex(rng, 32),
            wallets::hex(rng, 32),
            wallets::hex(rng, 32),
            self.ntime.swap_bytes(),
            rng.gen_bool(0.3)
        )
        .into_bytes()
    }

    fn share(&mut self, rng: &mut StdRng) -> (Vec<u8>, Vec<u8>, bool) {
        self.next_id += 1;
        let id = self.next_id;
        // compact size 1344 (fd4005) + 1344-byte solution: long enough to span MSS segments.
        let solution = format!("fd4005{}", wallets::hex(rng, 1344));
        let req = format!(
            "{{\"id\":{id},\"method\":\"mining.submit\",\"params\":[\"{}\",\"{}\",\"{:08x}\",\"{}\",\"{solution}\"]}}\n",
            self.worker,
            self.job_id,
            self.ntime.swap_bytes(),
            wallets::hex(rng, 28)
        );
        let reply = format!("{{\"id\":{id},\"result\":true,\"error\":null}}\n");
        (req.into_bytes(), reply.into_bytes(), true)
    }
}

pub(crate) fn zec(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 3357);
    let wallet = wallets::zcash_t1(&mut ctx.rng);
    let worker = format!("{wallet}.z15");
    let (mut car, mut t) = open(ctx, client, server);
    let agent = "nheqminer/0.5c";
    let session = ctx.hex(4);
    let nonce1 = ctx.hex(4);
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t,
        format!("{{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"{agent}\",null,\"{}\",{}]}}\n", server.ip(), server.port()).as_bytes(),
        format!("{{\"id\":1,\"result\":[\"{session}\",\"{nonce1}\"],\"error\":null}}\n").as_bytes(),
        think,
    )?;
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t + 300,
        format!("{{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"{worker}\",\"x\"]}}\n")
            .as_bytes(),
        b"{\"id\":2,\"result\":true,\"error\":null}\n",
        think,
    )?;
    // Pool difficulty 2^k against the Zcash pool diff-1 target 0x0007ffff...: shift it right by k.
    let sols_per_s = 420e3;
    let diff = pow2_difficulty(sols_per_s, 8192.0, 20.0);
    let shift = diff.log2() as u32;
    let mut target = [0u8; 32];
    target[1] = 0x07;
    for b in target.iter_mut().skip(2) {
        *b = 0xff;
    }
    let target = shr_bytes(&target, shift);
    car.send(
        S2C,
        t + 100,
        format!(
            "{{\"id\":null,\"method\":\"mining.set_target\",\"params\":[\"{}\"]}}\n",
            hex_bytes(&target)
        )
        .as_bytes(),
    )?;
    let mut d = Equihash {
        worker: worker.clone(),
        job_id: String::new(),
        ntime: 0x6631_0000,
        next_id: 2,
        seq: 0,
    };
    let first = d.job(&mut ctx.rng);
    car.send(S2C, car.now() + 100, &first)?;
    let t0 = car.now();
    let timing = LoopTiming {
        job_interval_s: (30.0, 75.0),
        share_mean_s: 20.0,
        keepalive_idle_s: None,
        report_every_s: None,
    };
    let end = ctx.end;
    let stats = mining_loop(ctx, &mut car, timing, &mut d, t0, end)?;
    car.close(end + 1_000)?;
    let mut truth = GroundTruth::new(ctx.name, "stratum-equihash", endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.wallet = Some(wallet);
    truth.workers = vec![worker];
    truth.rigs = 1;
    truth.coin = Some("ZEC".into());
    truth.algorithm = Some("equihash-200-9".into());
    truth.agent = Some(agent.into());
    truth.difficulty = Some(diff);
    truth.hashes_per_share = Some(diff * 8192.0);
    truth.hashrate_hps = Some(sols_per_s);
    truth.jobs = 1;
    fill_truth(&mut truth, stats);
    truth.notes = "hashrate in Sol/s; submits carry 1344-byte Equihash solutions".into();
    Ok((car.into_packets(), truth))
}

/// Shift a big-endian 256-bit number right by `bits`.
fn shr_bytes(v: &[u8; 32], bits: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    let byte_shift = (bits / 8) as usize;
    let bit_shift = bits % 8;
    for i in (0..32).rev() {
        if i < byte_shift {
            break;
        }
        let src = i - byte_shift;
        let hi = v[src] >> bit_shift;
        let lo = if src > 0 && bit_shift > 0 {
            v[src - 1] << (8 - bit_shift)
        } else {
            0
        };
        out[i] = hi | lo;
    }
    out
}

/// EthereumStratum/1.0.0 (NiceHash) state.
struct EthStratum1 {
    worker: String,
    job_id: String,
    seed: String,
    next_id: u64,
    extranonce_len: usize,
}

impl Dialogue for EthStratum1 {
    fn job(&mut self, rng: &mut StdRng) -> Vec<u8> {
        self.job_id = wallets::hex(rng, 4);
        format!(
            "{{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"{}\",\"{}\",\"{}\",{}]}}\n",
            self.job_id,
            self.seed,
            wallets::hex(rng, 32),
            rng.gen_bool(0.1)
        )
        .into_bytes()
    }

    fn share(&mut self, rng: &mut StdRng) -> (Vec<u8>, Vec<u8>, bool) {
        self.next_id += 1;
        let id = self.next_id;
        let req = format!(
            "{{\"id\":{id},\"method\":\"mining.submit\",\"params\":[\"{}\",\"{}\",\"{}\"]}}\n",
            self.worker,
            self.job_id,
            wallets::hex(rng, 8 - self.extranonce_len)
        );
        let reply = format!("{{\"id\":{id},\"result\":true,\"error\":null}}\n");
        (req.into_bytes(), reply.into_bytes(), true)
    }
}

pub(crate) fn eth_stratum1(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 3333);
    let wallet = wallets::ethereum(&mut ctx.rng);
    let worker = format!("{wallet}.gpu-rig{}", ctx.rng.gen_range(1..9));
    let agent = "lolMiner/1.76";
    let (mut car, mut t) = open(ctx, client, server);
    let extranonce = ctx.hex(2);
    let sub = ctx.hex(16);
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t,
        format!("{{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"{agent}\",\"EthereumStratum/1.0.0\"]}}\n").as_bytes(),
        format!("{{\"id\":1,\"result\":[[\"mining.notify\",\"{sub}\",\"EthereumStratum/1.0.0\"],\"{extranonce}\"],\"error\":null}}\n").as_bytes(),
        think,
    )?;
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t + 200,
        b"{\"id\":2,\"method\":\"mining.extranonce.subscribe\",\"params\":[]}\n",
        b"{\"id\":2,\"result\":true,\"error\":null}\n",
        think,
    )?;
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t + 200,
        format!("{{\"id\":3,\"method\":\"mining.authorize\",\"params\":[\"{worker}\",\"x\"]}}\n")
            .as_bytes(),
        b"{\"id\":3,\"result\":true,\"error\":null}\n",
        think,
    )?;
    let hashrate = 300e6;
    let unit = 2f64.powi(32);
    let diff = pow2_difficulty(hashrate, unit, 20.0);
    car.send(
        S2C,
        t + 100,
        format!("{{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[{diff}]}}\n")
            .as_bytes(),
    )?;
    let mut d = EthStratum1 {
        worker: worker.clone(),
        job_id: String::new(),
        seed: ctx.hex(32),
        next_id: 3,
        extranonce_len: 2,
    };
    let first = d.job(&mut ctx.rng);
    car.send(S2C, car.now() + 100, &first)?;
    let t0 = car.now();
    let timing = LoopTiming {
        // ETC blocks come every ~13 s; pools also refresh work in between.
        job_interval_s: (2.0, 14.0),
        share_mean_s: diff * unit / hashrate,
        keepalive_idle_s: None,
        report_every_s: None,
    };
    let end = ctx.end;
    let stats = mining_loop(ctx, &mut car, timing, &mut d, t0, end)?;
    car.close(end + 1_000)?;
    let mut truth = GroundTruth::new(ctx.name, "ethereum-stratum-1", endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.wallet = Some(wallet);
    truth.workers = vec![worker];
    truth.rigs = 1;
    truth.coin = Some("ETC".into());
    truth.algorithm = Some("etchash".into());
    truth.agent = Some(agent.into());
    truth.difficulty = Some(diff);
    truth.hashes_per_share = Some(diff * unit);
    truth.hashrate_hps = Some(hashrate);
    truth.jobs = 1;
    fill_truth(&mut truth, stats);
    Ok((car.into_packets(), truth))
}

/// EthereumStratum/2.0.0 state.
struct EthStratum2 {
    worker: String,
    job_id: String,
    height: u64,
    next_id: u64,
    hashrate: f64,
}

impl Dialogue for EthStratum2 {
    fn job(&mut self, rng: &mut StdRng) -> Vec<u8> {
        self.job_id = wallets::hex(rng, 4);
        if rng.gen_bool(0.5) {
            self.height += 1;
        }
        format!(
            "{{\"method\":\"mining.notify\",\"params\":[\"{}\",\"{:x}\",\"{}\",{}]}}\n",
            self.job_id,
            self.height,
            wallets::hex(rng, 32),
            rng.gen_bool(0.2)
        )
        .into_bytes()
    }

    fn share(&mut self, rng: &mut StdRng) -> (Vec<u8>, Vec<u8>, bool) {
        self.next_id += 1;
        let id = self.next_id;
        let req = format!(
            "{{\"id\":{id},\"method\":\"mining.submit\",\"params\":[\"{}\",\"{}\",\"{}\"]}}\n",
            self.job_id,
            wallets::hex(rng, 6),
            self.worker
        );
        (
            req.into_bytes(),
            format!("{{\"id\":{id},\"result\":true}}\n").into_bytes(),
            true,
        )
    }

    fn keepalive(&mut self, _rng: &mut StdRng) -> Option<(Vec<u8>, Vec<u8>)> {
        self.next_id += 1;
        let id = self.next_id;
        Some((
            format!("{{\"id\":{id},\"method\":\"mining.noop\"}}\n").into_bytes(),
            format!("{{\"id\":{id},\"result\":true}}\n").into_bytes(),
        ))
    }

    fn report(&mut self, rng: &mut StdRng) -> Option<(Vec<u8>, Vec<u8>)> {
        self.next_id += 1;
        let id = self.next_id;
        let measured = self.hashrate * rng.gen_range(0.97..1.03);
        Some((
            format!(
                "{{\"id\":{id},\"method\":\"mining.hashrate\",\"params\":[\"{:x}\",\"{}\"]}}\n",
                measured as u64, self.worker
            )
            .into_bytes(),
            format!("{{\"id\":{id},\"result\":true}}\n").into_bytes(),
        ))
    }
}

pub(crate) fn eth_stratum2(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 4444);
    let wallet = wallets::ethereum(&mut ctx.rng);
    let worker = "rig7".to_string();
    let agent = "ethminer-0.19.0";
    let (mut car, mut t) = open(ctx, client, server);
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t,
        format!("{{\"id\":1,\"method\":\"mining.hello\",\"params\":{{\"agent\":\"{agent}\",\"host\":\"{}\",\"port\":\"{:x}\",\"proto\":\"EthereumStratum/2.0.0\"}}}}\n", server.ip(), server.port()).as_bytes(),
        b"{\"id\":1,\"result\":{\"proto\":\"EthereumStratum/2.0.0\",\"encoding\":\"plain\",\"resume\":1,\"timeout\":30,\"maxerrors\":5,\"node\":\"Geth/v1.10.26\"}}\n",
        think,
    )?;
    let session = ctx.hex(4);
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t + 100,
        b"{\"id\":2,\"method\":\"mining.subscribe\"}\n",
        format!("{{\"id\":2,\"result\":\"{session}\"}}\n").as_bytes(),
        think,
    )?;
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t + 100,
        format!("{{\"id\":3,\"method\":\"mining.authorize\",\"params\":[\"{wallet}.{worker}\",\"x\"]}}\n").as_bytes(),
        format!("{{\"id\":3,\"result\":\"{}\"}}\n", ctx.hex(2)).as_bytes(),
        think,
    )?;
    let hashrate = 250e6;
    let unit = 2f64.powi(32);
    let diff = pow2_difficulty(hashrate, unit, 20.0);
    let target = target_from_hashes((diff * unit) as u64);
    car.send(
        S2C,
        t + 100,
        format!(
            "{{\"method\":\"mining.set\",\"params\":{{\"epoch\":\"{:x}\",\"target\":\"{}\",\"algo\":\"etchash\",\"extranonce\":\"{}\"}}}}\n",
            ctx.rng.gen_range(150..250),
            hex_bytes(&target),
            ctx.hex(2)
        )
        .as_bytes(),
    )?;
    let mut d = EthStratum2 {
        worker: worker.clone(),
        job_id: String::new(),
        height: 19_000_000 + ctx.rng.gen_range(0..100_000),
        next_id: 3,
        hashrate,
    };
    let first = d.job(&mut ctx.rng);
    car.send(S2C, car.now() + 100, &first)?;
    let t0 = car.now();
    let timing = LoopTiming {
        job_interval_s: (2.0, 14.0),
        share_mean_s: diff * unit / hashrate,
        keepalive_idle_s: Some(30.0),
        report_every_s: Some(60.0),
    };
    let end = ctx.end;
    let stats = mining_loop(ctx, &mut car, timing, &mut d, t0, end)?;
    car.close(end + 1_000)?;
    let mut truth = GroundTruth::new(ctx.name, "ethereum-stratum-2", endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.wallet = Some(wallet);
    truth.workers = vec![worker];
    truth.rigs = 1;
    truth.coin = Some("ETC".into());
    truth.algorithm = Some("etchash".into());
    truth.agent = Some(agent.into());
    truth.difficulty = Some(diff);
    truth.hashes_per_share = Some(diff * unit);
    truth.hashrate_hps = Some(hashrate);
    truth.jobs = 1;
    fill_truth(&mut truth, stats);
    truth.notes =
        "mining.hashrate reports the measured rate every 60 s; mining.noop when idle 30 s".into();
    Ok((car.into_packets(), truth))
}

/// KawPow state.
struct KawPow {
    worker: String,
    job_id: String,
    target_hex: String,
    height: u64,
    next_id: u64,
}

impl Dialogue for KawPow {
    fn job(&mut self, rng: &mut StdRng) -> Vec<u8> {
        self.job_id = format!("{:x}", rng.gen_range(0x1000..0xffff));
        let clean = rng.gen_bool(0.4);
        if clean {
            self.height += 1;
        }
        format!(
            "{{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"{}\",\"{}\",\"{}\",\"{}\",{clean},{},\"1b00f968\"]}}\n",
            self.job_id,
            wallets::hex(rng, 32),
            wallets::hex(rng, 32),
            self.target_hex,
            self.height
        )
        .into_bytes()
    }

    fn share(&mut self, rng: &mut StdRng) -> (Vec<u8>, Vec<u8>, bool) {
        self.next_id += 1;
        let id = self.next_id;
        let req = format!(
            "{{\"id\":{id},\"method\":\"mining.submit\",\"params\":[\"{}\",\"{}\",\"0x{}\",\"0x{}\",\"0x{}\"]}}\n",
            self.worker,
            self.job_id,
            wallets::hex(rng, 8),
            wallets::hex(rng, 32),
            wallets::hex(rng, 32)
        );
        (
            req.into_bytes(),
            format!("{{\"id\":{id},\"result\":true,\"error\":null}}\n").into_bytes(),
            true,
        )
    }
}

pub(crate) fn kawpow(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 6060);
    let wallet = wallets::ravencoin(&mut ctx.rng);
    let worker = format!("{wallet}.rvnrig");
    let agent = "GMiner/2.09";
    let (mut car, mut t) = open(ctx, client, server);
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t,
        format!("{{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"{agent}\",null,\"{}\",\"{}\"]}}\n", server.ip(), server.port()).as_bytes(),
        format!("{{\"id\":1,\"result\":[null,\"{}\"],\"error\":null}}\n", ctx.hex(2)).as_bytes(),
        think,
    )?;
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t + 200,
        format!("{{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"{worker}\",\"x\"]}}\n")
            .as_bytes(),
        b"{\"id\":2,\"result\":true,\"error\":null}\n",
        think,
    )?;
    let hashrate: f64 = 180e6;
    let hashes_per_share = (hashrate * 20.0).round();
    let target = hex_bytes(&target_from_hashes(hashes_per_share as u64));
    car.send(
        S2C,
        t + 100,
        format!("{{\"id\":null,\"method\":\"mining.set_target\",\"params\":[\"{target}\"]}}\n")
            .as_bytes(),
    )?;
    let mut d = KawPow {
        worker: worker.clone(),
        job_id: String::new(),
        target_hex: target,
        height: 3_300_000 + ctx.rng.gen_range(0..50_000),
        next_id: 2,
    };
    let first = d.job(&mut ctx.rng);
    car.send(S2C, car.now() + 100, &first)?;
    let t0 = car.now();
    let timing = LoopTiming {
        job_interval_s: (20.0, 60.0),
        share_mean_s: 20.0,
        keepalive_idle_s: None,
        report_every_s: None,
    };
    let end = ctx.end;
    let stats = mining_loop(ctx, &mut car, timing, &mut d, t0, end)?;
    car.close(end + 1_000)?;
    let mut truth = GroundTruth::new(ctx.name, "kawpow", endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.wallet = Some(wallet);
    truth.workers = vec![worker];
    truth.rigs = 1;
    truth.coin = Some("RVN".into());
    truth.algorithm = Some("kawpow".into());
    truth.agent = Some(agent.into());
    truth.difficulty = Some(hashes_per_share / 2f64.powi(32));
    truth.hashes_per_share = Some(hashes_per_share);
    truth.hashrate_hps = Some(hashrate);
    truth.jobs = 1;
    fill_truth(&mut truth, stats);
    Ok((car.into_packets(), truth))
}

/// Kaspa stratum bridge state.
struct Kaspa {
    worker: String,
    job: u64,
    next_id: u64,
    timestamp_ms: u64,
}

impl Dialogue for Kaspa {
    fn job(&mut self, rng: &mut StdRng) -> Vec<u8> {
        self.job += 1;
        self.timestamp_ms += rng.gen_range(1000..5000);
        format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"mining.notify\",\"params\":[\"{}\",[{},{},{},{}],{}]}}\n",
            self.job,
            rng.gen::<u64>(),
            rng.gen::<u64>(),
            rng.gen::<u64>(),
            rng.gen::<u64>(),
            self.timestamp_ms
        )
        .into_bytes()
    }

    fn share(&mut self, rng: &mut StdRng) -> (Vec<u8>, Vec<u8>, bool) {
        self.next_id += 1;
        let id = self.next_id;
        let req = format!(
            "{{\"id\":{id},\"method\":\"mining.submit\",\"params\":[\"{}\",\"{}\",\"0x{}\"]}}\n",
            self.worker,
            self.job,
            wallets::hex(rng, 8)
        );
        (
            req.into_bytes(),
            format!("{{\"id\":{id},\"result\":true,\"jsonrpc\":\"2.0\"}}\n").into_bytes(),
            true,
        )
    }
}

pub(crate) fn kaspa(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 5555);
    let wallet = wallets::kaspa(&mut ctx.rng);
    let worker = format!("{wallet}.ks0pro");
    let agent = "BzMiner-v21.1.3";
    let (mut car, mut t) = open(ctx, client, server);
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t,
        format!("{{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"{agent}\",\"EthereumStratum/1.0.0\"]}}\n").as_bytes(),
        b"{\"id\":1,\"result\":[true,\"EthereumStratum/1.0.0\"],\"jsonrpc\":\"2.0\"}\n",
        think,
    )?;
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t + 100,
        format!("{{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"{worker}\",\"x\"]}}\n")
            .as_bytes(),
        b"{\"id\":2,\"result\":true,\"jsonrpc\":\"2.0\"}\n",
        think,
    )?;
    car.send(
        S2C,
        t + 100,
        format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"set_extranonce\",\"params\":[\"{}\",6]}}\n",
            ctx.hex(2)
        )
        .as_bytes(),
    )?;
    let hashrate = 200e9;
    let unit = 2f64.powi(32);
    let diff = pow2_difficulty(hashrate, unit, 20.0);
    car.send(
        S2C,
        car.now() + 50,
        format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"mining.set_difficulty\",\"params\":[{diff}]}}\n"
        )
        .as_bytes(),
    )?;
    let mut d = Kaspa {
        worker: worker.clone(),
        job: ctx.rng.gen_range(1..5000),
        next_id: 2,
        timestamp_ms: ctx.start / 1000,
    };
    let first = d.job(&mut ctx.rng);
    car.send(S2C, car.now() + 100, &first)?;
    let t0 = car.now();
    let timing = LoopTiming {
        job_interval_s: (1.0, 5.0),
        share_mean_s: diff * unit / hashrate,
        keepalive_idle_s: None,
        report_every_s: None,
    };
    let end = ctx.end;
    let stats = mining_loop(ctx, &mut car, timing, &mut d, t0, end)?;
    car.close(end + 1_000)?;
    let mut truth = GroundTruth::new(ctx.name, "kaspa", endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.wallet = Some(wallet);
    truth.workers = vec![worker];
    truth.rigs = 1;
    truth.coin = Some("KAS".into());
    truth.algorithm = Some("kheavyhash".into());
    truth.agent = Some(agent.into());
    truth.difficulty = Some(diff);
    truth.hashes_per_share = Some(diff * unit);
    truth.hashrate_hps = Some(hashrate);
    truth.jobs = 1;
    fill_truth(&mut truth, stats);
    Ok((car.into_packets(), truth))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_right_moves_bits_across_bytes() {
        let mut v = [0u8; 32];
        v[2] = 0x07;
        v[3] = 0xff;
        let s = shr_bytes(&v, 4);
        assert_eq!(s[2], 0x00);
        assert_eq!(s[3], 0x7f);
        assert_eq!(s[4], 0xf0);
    }
}
