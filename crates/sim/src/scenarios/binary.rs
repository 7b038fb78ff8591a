//! Stratum V2: plain binary frames (sv2-spec field layouts) and the Noise-encrypted shape.

use super::stratum::open;
use super::*;
use rand::Rng;

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

/// Channel messages set bit 15 of extension_type (sv2-spec 08-Message-Types).
const CHANNEL_BIT: u16 = 0x8000;

pub(crate) mod msg {
    pub const SETUP_CONNECTION: u8 = 0x00;
    pub const SETUP_CONNECTION_SUCCESS: u8 = 0x01;
    pub const OPEN_STANDARD_MINING_CHANNEL: u8 = 0x10;
    pub const OPEN_STANDARD_MINING_CHANNEL_SUCCESS: u8 = 0x11;
    pub const NEW_MINING_JOB: u8 = 0x15;
    pub const SUBMIT_SHARES_STANDARD: u8 = 0x1a;
    pub const SUBMIT_SHARES_SUCCESS: u8 = 0x1c;
    pub const SET_NEW_PREV_HASH: u8 = 0x20;
    pub const SET_TARGET: u8 = 0x21;
}

/// Frame: extension_type u16 LE, msg_type u8, msg_length u24 LE, payload.
pub(crate) fn frame(channel_msg: bool, msg_type: u8, payload: &[u8]) -> Vec<u8> {
    let ext: u16 = if channel_msg { CHANNEL_BIT } else { 0 };
    let len = payload.len() as u32;
    let mut f = Vec::with_capacity(6 + payload.len());
    f.extend_from_slice(&ext.to_le_bytes());
    f.push(msg_type);
    f.extend_from_slice(&len.to_le_bytes()[..3]);
    f.extend_from_slice(payload);
    f
}

/// STR0_255 / B0_255: one length byte then the bytes (truncated to 255).
fn str0_255(out: &mut Vec<u8>, s: &[u8]) {
    let s = &s[..s.len().min(255)];
    out.push(s.len() as u8);
    out.extend_from_slice(s);
}

fn u256(out: &mut Vec<u8>, rng: &mut StdRng) {
    let mut b = [0u8; 32];
    rng.fill(&mut b[..]);
    out.extend_from_slice(&b);
}

pub(crate) fn setup_connection(
    host: &str,
    port: u16,
    vendor: &str,
    hw: &str,
    fw: &str,
    device: &str,
) -> Vec<u8> {
    let mut p = vec![0u8]; // protocol: 0 = Mining Protocol
    p.extend_from_slice(&2u16.to_le_bytes()); // min_version
    p.extend_from_slice(&2u16.to_le_bytes()); // max_version
    p.extend_from_slice(&1u32.to_le_bytes()); // flags: REQUIRES_STANDARD_JOBS
    str0_255(&mut p, host.as_bytes());
    p.extend_from_slice(&port.to_le_bytes());
    str0_255(&mut p, vendor.as_bytes());
    str0_255(&mut p, hw.as_bytes());
    str0_255(&mut p, fw.as_bytes());
    str0_255(&mut p, device.as_bytes());
    frame(false, msg::SETUP_CONNECTION, &p)
}

/// The messages of one SV2 standard-channel session, as (direction, frame) in order, with the
/// share count. The Noise scenario reuses the sizes.
struct Sv2Session {
    frames: Vec<(u64, Direction, Vec<u8>)>,
    shares: u32,
    jobs: u32,
}

#[allow(clippy::too_many_arguments)]
fn sv2_session(
    ctx: &mut Ctx,
    t: u64,
    end: u64,
    user: &str,
    host: &str,
    port: u16,
    hashrate: f32,
    share_mean_s: f64,
    target_shift: u32,
) -> Sv2Session {
    let mut frames = Vec::new();
    let rtt = 40_000;
    let mut now = t;
    frames.push((
        now,
        C2S,
        setup_connection(
            host,
            port,
            "Bitmain",
            "S19j Pro",
            "braiins-os-2023.11",
            "bos-7f3a",
        ),
    ));
    let mut p = Vec::new();
    p.extend_from_slice(&2u16.to_le_bytes()); // used_version
    p.extend_from_slice(&0u32.to_le_bytes()); // flags
    now += rtt;
    frames.push((now, S2C, frame(false, msg::SETUP_CONNECTION_SUCCESS, &p)));

    let mut p = Vec::new();
    p.extend_from_slice(&1u32.to_le_bytes()); // request_id
    str0_255(&mut p, user.as_bytes()); // user_identity
    p.extend_from_slice(&hashrate.to_le_bytes()); // nominal_hash_rate
    p.extend_from_slice(&[0xff; 32]); // max_target
    now += 2_000;
    frames.push((
        now,
        C2S,
        frame(false, msg::OPEN_STANDARD_MINING_CHANNEL, &p),
    ));

    let channel_id: u32 = 1;
    let mut target = [0u8; 32]; // U256 little-endian
    let top = (256 - target_shift.clamp(1, 256)) as usize;
    target[top / 8] = 1 << (top % 8);
    let mut p = Vec::new();
    p.extend_from_slice(&1u32.to_le_bytes()); // request_id
    p.extend_from_slice(&channel_id.to_le_bytes());
    p.extend_from_slice(&target);
    let prefix: Vec<u8> = (0..8).map(|_| ctx.rng.gen()).collect();
    str0_255(&mut p, &prefix); // extranonce_prefix B0_32
    p.extend_from_slice(&0u32.to_le_bytes()); // group_channel_id
    now += rtt;
    frames.push((
        now,
        S2C,
        frame(false, msg::OPEN_STANDARD_MINING_CHANNEL_SUCCESS, &p),
    ));

    let mut job_id: u32 = 0;
    let mut ntime: u32 = (t / 1_000_000) as u32;
    let new_job = |rng: &mut StdRng, job_id: u32, future: bool, ntime: u32| {
        let mut p = Vec::new();
        p.extend_from_slice(&channel_id.to_le_bytes());
        p.extend_from_slice(&job_id.to_le_bytes());
        if future {
            p.push(0); // min_ntime: OPTION none
        } else {
            p.push(1);
            p.extend_from_slice(&ntime.to_le_bytes());
        }
        p.extend_from_slice(&0x2000_0000u32.to_le_bytes()); // version
        u256(&mut p, rng); // merkle_root
        frame(false, msg::NEW_MINING_JOB, &p)
    };
    let prev_hash = |rng: &mut StdRng, job_id: u32, ntime: u32| {
        let mut p = Vec::new();
        p.extend_from_slice(&channel_id.to_le_bytes());
        p.extend_from_slice(&job_id.to_le_bytes());
        u256(&mut p, rng);
        p.extend_from_slice(&ntime.to_le_bytes());
        p.extend_from_slice(&0x1703_4219u32.to_le_bytes()); // nbits
        frame(true, msg::SET_NEW_PREV_HASH, &p)
    };
    now += 500;
    frames.push((now, S2C, new_job(&mut ctx.rng, job_id, true, ntime)));
    now += 300;
    frames.push((now, S2C, prev_hash(&mut ctx.rng, job_id, ntime)));
    let mut p = Vec::new();
    p.extend_from_slice(&channel_id.to_le_bytes());
    p.extend_from_slice(&target); // maximum_target, confirming the channel's target
    now += 200;
    frames.push((now, S2C, frame(true, msg::SET_TARGET, &p)));
    let mut jobs = 1;
    let mut seq: u32 = 0;
    let mut shares = 0;
    let mut next_job = now + ctx.uniform_us(30.0, 60.0);
    let mut next_share = now + ctx.exp_us(share_mean_s);
    loop {
        let tn = next_job.min(next_share);
        if tn > end {
            break;
        }
        if tn == next_job {
            job_id += 1;
            ntime += ((tn - now) / 1_000_000) as u32;
            now = tn;
            if ctx.rng.gen_bool(0.2) {
                frames.push((tn, S2C, new_job(&mut ctx.rng, job_id, true, ntime)));
                frames.push((tn + 200, S2C, prev_hash(&mut ctx.rng, job_id, ntime)));
            } else {
                frames.push((tn, S2C, new_job(&mut ctx.rng, job_id, false, ntime)));
            }
            jobs += 1;
            next_job = tn + ctx.uniform_us(30.0, 60.0);
        } else {
            seq += 1;
            let mut p = Vec::new();
            p.extend_from_slice(&channel_id.to_le_bytes());
            p.extend_from_slice(&seq.to_le_bytes());
            p.extend_from_slice(&job_id.to_le_bytes());
            p.extend_from_slice(&ctx.rng.gen::<u32>().to_le_bytes()); // nonce
            p.extend_from_slice(&(ntime + ctx.rng.gen_range(0..20)).to_le_bytes());
            p.extend_from_slice(
                &(0x2000_0000u32 | (ctx.rng.gen::<u32>() & 0x1fff_e000)).to_le_bytes(),
            );
            frames.push((tn, C2S, frame(true, msg::SUBMIT_SHARES_STANDARD, &p)));
            let mut r = Vec::new();
            r.extend_from_slice(&channel_id.to_le_bytes());
            r.extend_from_slice(&seq.to_le_bytes()); // last_sequence_number
            r.extend_from_slice(&1u32.to_le_bytes()); // new_submits_accepted_count
            r.extend_from_slice(&(1u64 << target_shift.min(63)).to_le_bytes()); // new_shares_sum
            frames.push((
                tn + rtt + ctx.think(),
                S2C,
                frame(true, msg::SUBMIT_SHARES_SUCCESS, &r),
            ));
            shares += 1;
            next_share = tn + ctx.exp_us(share_mean_s).max(50_000);
        }
    }
    Sv2Session {
        frames,
        shares,
        jobs,
    }
}

#[allow(clippy::too_many_arguments)]
fn sv2_truth(
    ctx: &Ctx,
    dialect: &str,
    client: SocketAddr,
    server: SocketAddr,
    user: &str,
    s: &Sv2Session,
    hashrate: f64,
    diff: f64,
) -> GroundTruth {
    let mut truth = GroundTruth::new(ctx.name, dialect, endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.workers = vec![user.to_string()];
    truth.rigs = 1;
    truth.coin = Some("BTC".into());
    truth.algorithm = Some("sha256d".into());
    truth.shares = s.shares;
    truth.accepted_shares = s.shares;
    truth.jobs = s.jobs;
    truth.difficulty = Some(diff);
    truth.hashes_per_share = Some(diff * 2f64.powi(32));
    truth.hashrate_hps = Some(hashrate);
    truth
}

pub(crate) fn sv2_plain(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 34254);
    let user = format!("minerfarm.s19j-{:02}", ctx.rng.gen_range(1..50));
    let hashrate = 100e12;
    // target = 2^(256 - 32 - k) gives difficulty 2^k.
    let k = super::stratum::pow2_difficulty(hashrate, 2f64.powi(32), 20.0).log2() as u32;
    let (mut car, t) = open(ctx, client, server);
    let end = ctx.end;
    let host = server.ip().to_string();
    let s = sv2_session(
        ctx,
        t,
        end,
        &user,
        &host,
        server.port(),
        hashrate as f32,
        2f64.powi(k as i32) * 2f64.powi(32) / hashrate,
        32 + k,
    );
    for (ts, dir, f) in &s.frames {
        car.send(*dir, *ts, f)?;
    }
    car.close(end + 1_000)?;
    let mut truth = sv2_truth(
        ctx,
        "stratum-v2",
        client,
        server,
        &user,
        &s,
        hashrate,
        2f64.powi(k as i32),
    );
    truth.agent = Some("braiins-os-2023.11".into());
    truth.notes =
        "SetupConnection vendor Bitmain; standard channel; SubmitShares.Success per share".into();
    Ok((car.into_packets(), truth))
}

/// The same session shape encrypted: the Noise NX handshake, then each frame as a 22-byte
/// encrypted header and its payload with a 16-byte MAC, all random bytes.
pub(crate) fn sv2_noise(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 34254);
    let user = format!("minerfarm.s21-{:02}", ctx.rng.gen_range(1..50));
    let hashrate = 200e12;
    let k = super::stratum::pow2_difficulty(hashrate, 2f64.powi(32), 20.0).log2() as u32;
    let (mut car, t) = open(ctx, client, server);
    let mut hello = vec![0u8; 64];
    ctx.rng.fill(&mut hello[..]);
    let mut reply = vec![0u8; 234];
    ctx.rng.fill(&mut reply[..]);
    let think = ctx.think();
    let t = car.exchange(C2S, t, &hello, &reply, think)? + 1_000;
    let end = ctx.end;
    let host = server.ip().to_string();
    let s = sv2_session(
        ctx,
        t,
        end,
        &user,
        &host,
        server.port(),
        hashrate as f32,
        2f64.powi(k as i32) * 2f64.powi(32) / hashrate,
        32 + k,
    );
    for (ts, dir, f) in &s.frames {
        let payload_len = f.len().saturating_sub(6);
        let mut rec = vec![0u8; 22 + payload_len + 16];
        ctx.rng.fill(&mut rec[..]);
        car.send(*dir, *ts, &rec)?;
    }
    car.close(end + 1_000)?;
    let mut truth = sv2_truth(
        ctx,
        "stratum-v2-noise",
        client,
        server,
        &user,
        &s,
        hashrate,
        2f64.powi(k as i32),
    );
    truth.workers.clear();
    truth.notes =
        "encrypted: user identity not visible; record sizes follow the plain session".into();
    Ok((car.into_packets(), truth))
}
