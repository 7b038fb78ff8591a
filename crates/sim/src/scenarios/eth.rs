//! EthProxy / "Claymore stratum": eth_* JSON-RPC over a raw TCP connection.

use super::stratum::open;
use super::*;
use crate::wallets;
use rand::Rng;

const C2S: Direction = Direction::ClientToServer;

struct EthProxy {
    worker: String,
    header: String,
    seed: String,
    target: String,
    next_id: u64,
    hashrate: f64,
    client_id: String,
}

impl EthProxy {
    fn work(&mut self, rng: &mut StdRng) -> String {
        self.header = wallets::hex(rng, 32);
        format!(
            "[\"0x{}\",\"0x{}\",\"0x{}\"]",
            self.header, self.seed, self.target
        )
    }
}

impl Dialogue for EthProxy {
    fn job(&mut self, rng: &mut StdRng) -> Vec<u8> {
        let work = self.work(rng);
        format!("{{\"id\":0,\"jsonrpc\":\"2.0\",\"result\":{work}}}\n").into_bytes()
    }

    fn share(&mut self, rng: &mut StdRng) -> (Vec<u8>, Vec<u8>, bool) {
        self.next_id += 1;
        let id = self.next_id;
        let req = format!(
            "{{\"id\":{id},\"jsonrpc\":\"2.0\",\"method\":\"eth_submitWork\",\"params\":[\"0x{}\",\"0x{}\",\"0x{}\"],\"worker\":\"{}\"}}\n",
            wallets::hex(rng, 8),
            self.header,
            wallets::hex(rng, 32),
            self.worker
        );
        (
            req.into_bytes(),
            format!("{{\"id\":{id},\"jsonrpc\":\"2.0\",\"result\":true}}\n").into_bytes(),
            true,
        )
    }

    fn report(&mut self, rng: &mut StdRng) -> Option<(Vec<u8>, Vec<u8>)> {
        self.next_id += 1;
        let id = self.next_id;
        let measured = (self.hashrate * rng.gen_range(0.97..1.03)) as u64;
        Some((
            format!(
                "{{\"id\":{id},\"jsonrpc\":\"2.0\",\"method\":\"eth_submitHashrate\",\"params\":[\"0x{measured:064x}\",\"0x{}\"],\"worker\":\"{}\"}}\n",
                self.client_id, self.worker
            )
            .into_bytes(),
            format!("{{\"id\":{id},\"jsonrpc\":\"2.0\",\"result\":true}}\n").into_bytes(),
        ))
    }
}

pub(crate) fn eth_proxy(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 8008);
    let wallet = wallets::ethereum(&mut ctx.rng).to_lowercase();
    let worker = format!("rig{}", ctx.rng.gen_range(1..20));
    let hashrate: f64 = 500e6;
    // EthProxy: a share of difficulty D is D hashes, target = 2^256 / D.
    let difficulty = (hashrate * 20.0 / 1e9).round() * 1e9;
    let target = hex_bytes(&target_from_hashes(difficulty as u64));
    let (mut car, mut t) = open(ctx, client, server);
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t,
        format!("{{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"eth_submitLogin\",\"params\":[\"{wallet}\",\"x\"],\"worker\":\"{worker}\"}}\n").as_bytes(),
        b"{\"id\":1,\"jsonrpc\":\"2.0\",\"result\":true}\n",
        think,
    )?;
    let mut d = EthProxy {
        worker: worker.clone(),
        header: String::new(),
        seed: ctx.hex(32),
        target,
        next_id: 2,
        hashrate,
        client_id: ctx.hex(32),
    };
    let work = d.work(&mut ctx.rng);
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t + 200,
        b"{\"id\":2,\"jsonrpc\":\"2.0\",\"method\":\"eth_getWork\",\"params\":[]}\n",
        format!("{{\"id\":2,\"jsonrpc\":\"2.0\",\"result\":{work}}}\n").as_bytes(),
        think,
    )?;
    let timing = LoopTiming {
        job_interval_s: (2.0, 14.0),
        share_mean_s: difficulty / hashrate,
        keepalive_idle_s: None,
        report_every_s: Some(30.0),
    };
    let end = ctx.end;
    let stats = mining_loop(ctx, &mut car, timing, &mut d, t, end)?;
    car.close(end + 1_000)?;
    let mut truth = GroundTruth::new(ctx.name, "eth-proxy", endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.wallet = Some(wallet);
    truth.workers = vec![worker];
    truth.rigs = 1;
    truth.coin = Some("ETC".into());
    truth.algorithm = Some("etchash".into());
    truth.agent = None;
    truth.difficulty = Some(difficulty);
    truth.hashes_per_share = Some(difficulty);
    truth.hashrate_hps = Some(hashrate);
    truth.shares = stats.shares;
    truth.accepted_shares = stats.accepted;
    truth.jobs = stats.jobs + 1;
    truth.notes = "eth_submitHashrate every 30 s reports the measured rate".into();
    Ok((car.into_packets(), truth))
}
