//! JSON-RPC over HTTP/1.1 on one kept-alive connection: getwork mining and two benign node APIs.

use super::stratum::open;
use super::*;
use crate::sha1::base64;
use crate::wallets;
use rand::Rng;

const C2S: Direction = Direction::ClientToServer;

pub(crate) fn http_post(
    host: &str,
    path: &str,
    agent: &str,
    extra: &[(&str, String)],
    body: &str,
) -> Vec<u8> {
    let mut s = format!("POST {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (k, v) in extra {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str(&format!(
        "User-Agent: {agent}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    s.into_bytes()
}

pub(crate) fn http_ok(extra: &[(&str, String)], body: &str) -> Vec<u8> {
    let mut s = String::from("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n");
    for (k, v) in extra {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.into_bytes()
}

/// bfgminer polling a getwork pool (after its getblocktemplate probe is refused).
pub(crate) fn getwork(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 8332);
    let host = format!("{}:{}", server.ip(), server.port());
    let wallet = wallets::segwit_v0(&mut ctx.rng, "bc");
    let worker = format!("{wallet}.usb1");
    let agent = "bfgminer/5.5.0";
    let auth = format!("Basic {}", base64(format!("{worker}:x").as_bytes()));
    let hashrate = 200e6; // difficulty-1 getwork shares: one per ~21 s at 200 MH/s
    let headers = |rate: f64| -> Vec<(&'static str, String)> {
        vec![
            ("Authorization", auth.clone()),
            (
                "X-Mining-Extensions",
                "longpoll midstate rollntime submitold".into(),
            ),
            ("X-Mining-Hashrate", format!("{}", rate as u64)),
        ]
    };
    let pool_headers = vec![
        ("X-Long-Polling", "/LP".to_string()),
        ("X-Roll-NTime", "expire=120".to_string()),
    ];
    let (mut car, mut t) = open(ctx, client, server);
    let gbt = "{\"id\": 0, \"method\": \"getblocktemplate\", \"params\": [{\"capabilities\": [\"coinbasetxn\", \"workid\", \"coinbase/append\"]}]}";
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t,
        &http_post(&host, "/", agent, &headers(0.0), gbt),
        &http_ok(&[], "{\"result\":null,\"error\":{\"code\":-32601,\"message\":\"Method not found\"},\"id\":0}"),
        think,
    )?;
    let mut id = 1u64;
    let mut shares = 0u32;
    let mut polls = 0u32;
    let end = ctx.end;
    let mut next_poll = t + 200;
    let mut next_share = t + ctx.exp_us(2f64.powi(32) / hashrate);
    let mut data = String::new();
    loop {
        let tn = next_poll.min(next_share);
        if tn > end {
            break;
        }
        if tn == next_poll || data.is_empty() {
            let body = format!("{{\"method\": \"getwork\", \"params\": [], \"id\": {id}}}");
            // 80-byte header (nonce at bytes 76..80) plus SHA-256 padding: 128 bytes.
            data = format!("00000020{}00000080{}80020000", ctx.hex(76), "0".repeat(80));
            let reply = format!(
                "{{\"result\":{{\"midstate\":\"{}\",\"data\":\"{data}\",\"hash1\":\"00000000000000000000000000000000000000000000000000000000000000000000008000000000000000000000000000000000000000000000000000010000\",\"target\":\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffff00000000\"}},\"error\":null,\"id\":{id}}}",
                ctx.hex(32)
            );
            let think = ctx.think();
            car.exchange(
                C2S,
                tn,
                &http_post(&host, "/", agent, &headers(hashrate), &body),
                &http_ok(&pool_headers, &reply),
                think,
            )?;
            polls += 1;
            id += 1;
            next_poll = tn + ctx.uniform_us(9.0, 11.0);
        } else {
            let mut submitted = data.clone();
            submitted.replace_range(152..160, &ctx.hex(4));
            let body =
                format!("{{\"method\": \"getwork\", \"params\": [\"{submitted}\"], \"id\": {id}}}");
            let reply = format!("{{\"result\":true,\"error\":null,\"id\":{id}}}");
            let think = ctx.think();
            car.exchange(
                C2S,
                tn,
                &http_post(&host, "/", agent, &headers(hashrate), &body),
                &http_ok(&[], &reply),
                think,
            )?;
            shares += 1;
            id += 1;
            next_share = tn + ctx.exp_us(2f64.powi(32) / hashrate).max(50_000);
        }
    }
    car.close(end + 1_000)?;
    let mut truth = GroundTruth::new(ctx.name, "http-getwork", endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.wallet = Some(wallet);
    truth.workers = vec![worker];
    truth.rigs = 1;
    truth.coin = Some("BTC".into());
    truth.algorithm = Some("sha256d".into());
    truth.agent = Some(agent.into());
    truth.difficulty = Some(1.0);
    truth.hashes_per_share = Some(2f64.powi(32));
    truth.hashrate_hps = Some(hashrate);
    truth.shares = shares;
    truth.accepted_shares = shares;
    truth.jobs = polls;
    truth.notes = "HTTP Basic auth carries wallet.worker; getwork polled every ~10 s".into();
    Ok((car.into_packets(), truth))
}

/// A monitoring script polling its own bitcoind.
pub(crate) fn bitcoind_rpc(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(10, 0, 3, ctx.rng.gen_range(2..250))),
        8332,
    );
    let host = format!("{}:{}", server.ip(), server.port());
    let auth = vec![(
        "Authorization",
        format!("Basic {}", base64(b"monitor:s3cret-rpc-pass")),
    )];
    let (mut car, mut t) = open(ctx, client, server);
    let mut height = 842_000 + ctx.rng.gen_range(0..1000);
    let mut id = 0;
    while t < ctx.end {
        id += 1;
        let (method, reply) = if id % 2 == 1 {
            if ctx.rng.gen_bool(0.05) {
                height += 1;
            }
            ("getblockchaininfo", format!(
                "{{\"result\":{{\"chain\":\"main\",\"blocks\":{height},\"headers\":{height},\"bestblockhash\":\"00000000000000000002{}\",\"difficulty\":83148355189239.77,\"time\":{},\"mediantime\":{},\"verificationprogress\":0.9999987,\"initialblockdownload\":false,\"chainwork\":\"0000000000000000000000000000000000000000{}\",\"size_on_disk\":630112233445,\"pruned\":false,\"warnings\":\"\"}},\"error\":null,\"id\":\"mon\"}}\n",
                ctx.hex(22), t / 1_000_000, t / 1_000_000 - 3000, ctx.hex(12)
            ))
        } else {
            ("getnetworkinfo", "{\"result\":{\"version\":270000,\"subversion\":\"/Satoshi:27.0.0/\",\"protocolversion\":70016,\"localservices\":\"0000000000000c09\",\"localrelay\":true,\"timeoffset\":0,\"networkactive\":true,\"connections\":10,\"connections_in\":0,\"connections_out\":10,\"relayfee\":0.00001000,\"incrementalfee\":0.00001000,\"warnings\":\"\"},\"error\":null,\"id\":\"mon\"}\n".to_string())
        };
        let body =
            format!("{{\"jsonrpc\":\"1.0\",\"id\":\"mon\",\"method\":\"{method}\",\"params\":[]}}");
        let think = ctx.think();
        car.exchange(
            C2S,
            t,
            &http_post(&host, "/", "python-requests/2.31.0", &auth, &body),
            &http_ok(&[], &reply),
            think,
        )?;
        t += if id % 2 == 1 {
            ctx.uniform_us(0.2, 1.0)
        } else {
            ctx.uniform_us(28.0, 32.0)
        };
    }
    let end = ctx.end;
    car.close(end + 1_000)?;
    let mut truth = GroundTruth::new(ctx.name, "benign", endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.notes =
        "bitcoind RPC monitoring: JSON-RPC 1.0, no getwork/getblocktemplate/submit".into();
    Ok((car.into_packets(), truth))
}

/// A dApp backend polling an Ethereum node.
pub(crate) fn eth_node_rpc(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 8545);
    let host = format!("{}:{}", server.ip(), server.port());
    let (mut car, mut t) = open(ctx, client, server);
    let mut block = 19_800_000u64 + ctx.rng.gen_range(0..10_000);
    let contract = wallets::ethereum(&mut ctx.rng).to_lowercase();
    let account = wallets::ethereum(&mut ctx.rng).to_lowercase();
    let mut id = 0u64;
    while t < ctx.end {
        id += 1;
        let (body, reply) = match id % 3 {
            1 => {
                if ctx.rng.gen_bool(0.8) {
                    block += 1;
                }
                (
                    format!("{{\"jsonrpc\":\"2.0\",\"method\":\"eth_blockNumber\",\"params\":[],\"id\":{id}}}"),
                    format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":\"0x{block:x}\"}}"),
                )
            }
            2 => (
                format!("{{\"jsonrpc\":\"2.0\",\"method\":\"eth_call\",\"params\":[{{\"to\":\"{contract}\",\"data\":\"0x70a08231000000000000000000000000{}\"}},\"latest\"],\"id\":{id}}}", &account[2..]),
                format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":\"0x{}\"}}", ctx.hex(32)),
            ),
            _ => (
                format!("{{\"jsonrpc\":\"2.0\",\"method\":\"eth_getBalance\",\"params\":[\"{account}\",\"latest\"],\"id\":{id}}}"),
                format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":\"0x{:x}\"}}", ctx.rng.gen::<u64>()),
            ),
        };
        let think = ctx.think();
        car.exchange(
            C2S,
            t,
            &http_post(&host, "/", "axios/1.6.8", &[], &body),
            &http_ok(&[], &reply),
            think,
        )?;
        t += if id % 3 == 0 {
            ctx.uniform_us(11.0, 13.0)
        } else {
            ctx.uniform_us(0.05, 0.3)
        };
    }
    let end = ctx.end;
    car.close(end + 1_000)?;
    let mut truth = GroundTruth::new(ctx.name, "benign", endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.notes = "eth_* JSON-RPC to a node on 8545 without eth_getWork/eth_submitWork".into();
    Ok((car.into_packets(), truth))
}
