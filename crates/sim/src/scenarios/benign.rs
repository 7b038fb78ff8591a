//! Benign look-alikes: long-lived connections with periodic small JSON or binary messages that a
//! careless detector might call mining. Every one must stay silent.

use super::stratum::open;
use super::*;
use crate::sha1::{base64, sha1};
use rand::Rng;

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

fn benign_truth(ctx: &Ctx, client: SocketAddr, server: SocketAddr, notes: &str) -> GroundTruth {
    let mut truth = GroundTruth::new(ctx.name, "benign", endpoint(server));
    truth.clients = vec![endpoint(client)];
    truth.expected_finding = false;
    truth.notes = notes.into();
    truth
}

/// Newline JSON-RPC to an application server on a "pool" port, with a `login` method.
pub(crate) fn jsonrpc_login(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 4444);
    let (mut car, mut t) = open(ctx, client, server);
    let token = ctx.hex(20);
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t,
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"login\",\"params\":{\"username\":\"alice@example.com\",\"password\":\"correct horse\",\"remember\":true}}\n",
        format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{{\"token\":\"{token}\",\"expires\":3600,\"user\":{{\"id\":4211,\"name\":\"Alice\"}}}}}}\n").as_bytes(),
        think,
    )?;
    // A second client library logs in with positional params, as many RPC APIs allow.
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t + 500_000,
        b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"login\",\"params\":[\"svc-reporting\",\"Xk9!pw\"]}\n",
        format!("{{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{{\"token\":\"{}\",\"expires\":3600}}}}\n", ctx.hex(20)).as_bytes(),
        think,
    )?;
    let mut id = 2;
    let mut next_ping = t + 30_000_000;
    let mut next_event = t + ctx.exp_us(20.0);
    loop {
        let tn = next_ping.min(next_event);
        if tn > ctx.end {
            break;
        }
        id += 1;
        if tn == next_ping {
            let think = ctx.think();
            car.exchange(
                C2S,
                tn,
                format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"ping\"}}\n").as_bytes(),
                format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":\"pong\"}}\n").as_bytes(),
                think,
            )?;
            next_ping = tn + 30_000_000;
        } else {
            if ctx.rng.gen_bool(0.5) {
                let n = ctx.rng.gen_range(1..30);
                car.send(S2C, tn, format!("{{\"jsonrpc\":\"2.0\",\"method\":\"notification\",\"params\":{{\"type\":\"inbox\",\"unread\":{n}}}}}\n").as_bytes())?;
            } else {
                let think = ctx.think();
                car.exchange(C2S, tn, format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"getProfile\",\"params\":{{\"token\":\"{token}\"}}}}\n").as_bytes(), format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"id\":4211,\"name\":\"Alice\",\"plan\":\"pro\"}}}}\n").as_bytes(), think)?;
            }
            next_event = tn + ctx.exp_us(20.0).max(50_000);
        }
    }
    let end = ctx.end;
    car.close(end + 1_000)?;
    let truth = benign_truth(
        ctx,
        client,
        server,
        "JSON-RPC `login` with e-mail and array params on port 4444; no job/submit/blob",
    );
    Ok((car.into_packets(), truth))
}

/// MQTT remaining length (variable byte integer).
fn mqtt_len(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 || out.len() == 4 {
            break;
        }
    }
    out
}

fn mqtt_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn mqtt_packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![first];
    p.extend(mqtt_len(body.len()));
    p.extend_from_slice(body);
    p
}

/// An IoT sensor: MQTT 3.1.1 with 60 s keepalive and JSON reports.
pub(crate) fn mqtt(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 1883);
    let (mut car, mut t) = open(ctx, client, server);
    let client_id = format!("sensor-{}", ctx.hex(3));
    let mut connect = Vec::new();
    mqtt_str(&mut connect, "MQTT");
    connect.push(4); // protocol level 3.1.1
    connect.push(0xc2); // username, password, clean session
    connect.extend_from_slice(&60u16.to_be_bytes()); // keepalive
    mqtt_str(&mut connect, &client_id);
    mqtt_str(&mut connect, "building-7");
    mqtt_str(&mut connect, "telemetry-pass");
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t,
        &mqtt_packet(0x10, &connect),
        &[0x20, 0x02, 0x00, 0x00],
        think,
    )?;
    let mut sub = Vec::new();
    sub.extend_from_slice(&1u16.to_be_bytes());
    mqtt_str(&mut sub, "building/7/config/#");
    sub.push(1);
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t + 1000,
        &mqtt_packet(0x82, &sub),
        &[0x90, 0x03, 0x00, 0x01, 0x01],
        think,
    )?;
    let mut next_report = t + ctx.uniform_us(10.0, 30.0);
    let mut next_ping = t + 60_000_000;
    let mut last_sent = t;
    loop {
        let tn = next_report.min(next_ping);
        if tn > ctx.end {
            break;
        }
        if tn == next_ping {
            if tn - last_sent >= 59_000_000 {
                let think = ctx.think();
                car.exchange(C2S, tn, &[0xc0, 0x00], &[0xd0, 0x00], think)?;
                last_sent = tn;
            }
            next_ping = last_sent + 60_000_000;
        } else {
            let temp = 20.0 + ctx.rng.gen_range(-2.0..2.0f64);
            let payload = format!(
                "{{\"method\":\"report\",\"device\":\"{client_id}\",\"temp\":{temp:.2},\"rh\":{}}}",
                ctx.rng.gen_range(30..60)
            );
            let mut body = Vec::new();
            mqtt_str(&mut body, "building/7/sensors/temp");
            body.extend_from_slice(payload.as_bytes());
            car.send(C2S, tn, &mqtt_packet(0x30, &body))?; // QoS 0 publish
            last_sent = tn;
            next_report = tn + ctx.uniform_us(15.0, 45.0);
            next_ping = last_sent + 60_000_000;
        }
    }
    let end = ctx.end;
    car.send(C2S, end, &[0xe0, 0x00])?; // DISCONNECT
    car.close(end + 1_000)?;
    let truth = benign_truth(
        ctx,
        client,
        server,
        "MQTT 3.1.1: CONNECT keepalive 60, PINGREQ/PINGRESP, JSON payloads with a method field",
    );
    Ok((car.into_packets(), truth))
}

fn ws_frame(rng: &mut StdRng, opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => f.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            f.push(mask_bit | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(mask_bit | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let key: [u8; 4] = rng.gen();
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        f.extend_from_slice(payload);
    }
    f
}

/// A chat web app over a WebSocket: RFC 6455 upgrade, masked client frames, JSON with "method".
pub(crate) fn websocket_chat(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 80);
    let (mut car, mut t) = open(ctx, client, server);
    let mut key_bytes = [0u8; 16];
    ctx.rng.fill(&mut key_bytes);
    let key = base64(&key_bytes);
    let accept = base64(&sha1(
        format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes(),
    ));
    let req = format!("GET /chat/socket HTTP/1.1\r\nHost: chat.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://chat.example.com\r\n\r\n");
    let resp = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
    let think = ctx.think();
    t = car.exchange(C2S, t, req.as_bytes(), resp.as_bytes(), think)?;
    let hello = ws_frame(
        &mut ctx.rng,
        1,
        b"{\"id\":1,\"method\":\"chat.join\",\"params\":{\"room\":\"general\"}}",
        true,
    );
    let think = ctx.think();
    t = car.exchange(
        C2S,
        t + 5_000,
        &hello,
        &ws_frame(
            &mut ctx.rng,
            1,
            b"{\"id\":1,\"result\":{\"members\":14}}",
            false,
        ),
        think,
    )?;
    let words = [
        "lunch?",
        "build is green",
        "see PR 42",
        "ok",
        "thanks!",
        "meeting moved to 3",
        "ship it",
    ];
    let mut id = 1;
    let mut next_msg = t + ctx.exp_us(20.0);
    let mut next_ping = t + 30_000_000;
    loop {
        let tn = next_msg.min(next_ping);
        if tn > ctx.end {
            break;
        }
        if tn == next_ping {
            let mut p = [0u8; 4];
            ctx.rng.fill(&mut p);
            let ping = ws_frame(&mut ctx.rng, 9, &p, false);
            let pong = ws_frame(&mut ctx.rng, 10, &p, true);
            let think = ctx.think();
            car.exchange(S2C, tn, &ping, &pong, think)?;
            next_ping = tn + 30_000_000;
        } else {
            id += 1;
            let text = words[ctx.rng.gen_range(0..words.len())];
            if ctx.rng.gen_bool(0.4) {
                let m = format!("{{\"id\":{id},\"method\":\"chat.send\",\"params\":{{\"room\":\"general\",\"text\":\"{text}\"}}}}");
                let ack = format!("{{\"id\":{id},\"result\":{{\"status\":\"OK\"}}}}");
                let req = ws_frame(&mut ctx.rng, 1, m.as_bytes(), true);
                let rep = ws_frame(&mut ctx.rng, 1, ack.as_bytes(), false);
                let think = ctx.think();
                car.exchange(C2S, tn, &req, &rep, think)?;
            } else {
                let m = format!("{{\"method\":\"chat.message\",\"params\":{{\"room\":\"general\",\"from\":\"user{}\",\"text\":\"{text}\"}}}}", ctx.rng.gen_range(1..15));
                let f = ws_frame(&mut ctx.rng, 1, m.as_bytes(), false);
                car.send(S2C, tn, &f)?;
            }
            next_msg = tn + ctx.exp_us(20.0).max(50_000);
        }
    }
    let end = ctx.end;
    let close = ws_frame(&mut ctx.rng, 8, &1000u16.to_be_bytes(), true);
    car.send(C2S, end, &close)?;
    car.close(end + 1_000)?;
    let truth = benign_truth(ctx, client, server, "WebSocket chat: JSON-RPC-like frames with method fields at Poisson times, pings every 30 s");
    Ok((car.into_packets(), truth))
}

/// SSH binary packet: uint32 length, padding length, payload, padding (multiple of 8).
fn ssh_packet(rng: &mut StdRng, payload: &[u8]) -> Vec<u8> {
    let mut pad = 8 - ((payload.len() + 5) % 8);
    if pad < 4 {
        pad += 8;
    }
    let len = (payload.len() + pad + 1) as u32;
    let mut p = len.to_be_bytes().to_vec();
    p.push(pad as u8);
    p.extend_from_slice(payload);
    p.extend((0..pad).map(|_| rng.gen::<u8>()));
    p
}

fn name_list(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn kexinit(rng: &mut StdRng) -> Vec<u8> {
    let mut p = vec![20u8];
    let cookie: [u8; 16] = rng.gen();
    p.extend_from_slice(&cookie);
    name_list(
        &mut p,
        "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ext-info-c",
    );
    name_list(
        &mut p,
        "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
    );
    for _ in 0..2 {
        name_list(
            &mut p,
            "chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com",
        );
    }
    for _ in 0..2 {
        name_list(
            &mut p,
            "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
        );
    }
    for _ in 0..2 {
        name_list(&mut p, "none,zlib@openssh.com");
    }
    name_list(&mut p, "");
    name_list(&mut p, "");
    p.push(0);
    p.extend_from_slice(&[0, 0, 0, 0]);
    ssh_packet(rng, &p)
}

fn random_bytes(rng: &mut StdRng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.gen::<u8>()).collect()
}

/// An interactive administrator session: keystrokes echo, output bursts, keepalives.
pub(crate) fn ssh(ctx: &mut Ctx) -> Result<Built, SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 22);
    let (mut car, mut t) = open(ctx, client, server);
    car.send(S2C, t, b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n")?;
    car.send(C2S, car.now() + 300, b"SSH-2.0-OpenSSH_9.6\r\n")?;
    let ck = kexinit(&mut ctx.rng);
    let sk = kexinit(&mut ctx.rng);
    car.send(C2S, car.now() + 200, &ck)?;
    car.send(S2C, car.now() + 20_000, &sk)?;
    // ECDH init (32-byte key) and reply (host key, key, signature), then NEWKEYS; sizes as OpenSSH.
    let init = random_bytes(&mut ctx.rng, 48);
    let reply = random_bytes(&mut ctx.rng, 564);
    let think = ctx.think();
    t = car.exchange(C2S, car.now() + 1000, &init, &reply, think)?;
    car.send(
        C2S,
        t + 500,
        &[0, 0, 0, 12, 10, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    )?;
    // Authentication exchange, encrypted.
    for (req, rep) in [(52usize, 52usize), (100, 60), (420, 28), (112, 500)] {
        let a = random_bytes(&mut ctx.rng, req);
        let b = random_bytes(&mut ctx.rng, rep);
        let think = ctx.think() + 30_000;
        t = car.exchange(C2S, car.now() + 1000, &a, &b, think)?;
    }
    let mut next_key = t + ctx.exp_us(2.0);
    let mut next_alive = t + 60_000_000;
    let mut last = t;
    loop {
        let tn = next_key.min(next_alive);
        if tn > ctx.end {
            break;
        }
        if tn == next_alive {
            if tn - last >= 59_000_000 {
                let a = random_bytes(&mut ctx.rng, 36);
                let b = random_bytes(&mut ctx.rng, 36);
                let think = ctx.think();
                car.exchange(C2S, tn, &a, &b, think)?;
                last = tn;
            }
            next_alive = last + 60_000_000;
        } else {
            // A keystroke and its echo; sometimes a command produces a burst of output.
            let a = random_bytes(&mut ctx.rng, 36);
            let out_len = if ctx.rng.gen_bool(0.1) {
                ctx.rng.gen_range(200..3000)
            } else {
                36
            };
            let b = random_bytes(&mut ctx.rng, out_len);
            let think = ctx.think();
            car.exchange(C2S, tn, &a, &b, think)?;
            last = tn;
            // Typing comes in bursts separated by reading/thinking pauses.
            let gap = if ctx.rng.gen_bool(0.1) {
                ctx.exp_us(45.0)
            } else {
                ctx.exp_us(0.25)
            };
            next_key = tn + gap.max(30_000);
            next_alive = last + 60_000_000;
        }
    }
    let end = ctx.end;
    car.close(end + 1_000)?;
    let truth = benign_truth(
        ctx,
        client,
        server,
        "SSH: banners, KEXINIT, then encrypted keystrokes with bursts and 60 s keepalives",
    );
    Ok((car.into_packets(), truth))
}

/// A LAN client's TLS 1.3 connection to `sni` on port 443 (ALPN http/1.1), handshaken at the
/// start of the capture: client, server, the carrier and the time the handshake finished.
fn https_session(
    ctx: &mut Ctx,
    sni: &str,
) -> Result<(SocketAddr, SocketAddr, Carrier, u64), SimError> {
    let client = SocketAddr::new(ctx.lan_ip(), ctx.ephemeral_port());
    let server = SocketAddr::new(ctx.doc_ip(), 443);
    let opts = TlsOptions {
        server_name: sni.into(),
        server_ip: server.ip(),
        send_sni: true,
        alpn: vec![b"http/1.1".to_vec()],
        tls12_only: false,
    };
    let conv = ctx.conversation(client, server);
    let seed = ctx.sub_seed();
    let start = ctx.start;
    let (car, t) = Carrier::tls(conv, seed, &opts, start)?;
    Ok((client, server, car, t))
}

/// A browser tab polling a normal website over TLS 1.3.
pub(crate) fn tls_website(ctx: &mut Ctx) -> Result<Built, SimError> {
    let sni = "www.example.com";
    let (client, server, mut car, mut t) = https_session(ctx, sni)?;
    let page_len = ctx.rng.gen_range(20_000..40_000);
    let page: String = "<!doctype html><html><body>".to_string()
        + &"lorem ipsum ".repeat(page_len / 12)
        + "</body></html>";
    let req = format!("GET / HTTP/1.1\r\nHost: {sni}\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\nAccept: text/html\r\n\r\n");
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{page}",
        page.len()
    );
    let think = ctx.think() + 20_000;
    t = car.exchange(C2S, t, req.as_bytes(), resp.as_bytes(), think)?;
    while t < ctx.end {
        t += ctx.uniform_us(30.0, 90.0);
        if t > ctx.end {
            break;
        }
        let req = format!("GET /api/notifications?since={} HTTP/1.1\r\nHost: {sni}\r\nAccept: application/json\r\n\r\n", t / 1_000_000);
        let body = format!("{{\"notifications\":[],\"server_time\":{}}}", t / 1_000_000);
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let think = ctx.think();
        t = car.exchange(C2S, t, req.as_bytes(), resp.as_bytes(), think)?;
    }
    let end = ctx.end;
    car.close(end + 1_000)?;
    let mut truth = benign_truth(
        ctx,
        client,
        server,
        "rustls TLS 1.3 to an ordinary site with SNI and ALPN, polling every 30-90 s",
    );
    truth.sni = Some(sni.into());
    Ok((car.into_packets(), truth))
}

/// A machine fetching software updates from a mirror over TLS 1.3: one keep-alive connection,
/// files of 32 KiB to 4 MiB (log-uniform, as package sizes spread) every 15-90 s, sent in
/// full-size segments at LAN speed. Bulk traffic: what most bytes of a real link look like, the
/// shape mining is not (large segments, server-heavy, no job rhythm).
pub(crate) fn https_download(ctx: &mut Ctx) -> Result<Built, SimError> {
    let sni = "mirror.example.org";
    let (client, server, mut car, mut t) = https_session(ctx, sni)?;
    let mut file = 0u32;
    loop {
        file += 1;
        let size = (ctx
            .rng
            .gen_range((32.0f64 * 1024.0).ln()..(4.0f64 * 1024.0 * 1024.0).ln()))
        .exp() as usize;
        let req = format!("GET /debian/pool/main/p/pkg{file}/pkg{file}_1.{file}-1_amd64.deb HTTP/1.1\r\nHost: {sni}\r\nUser-Agent: Debian APT-HTTP/1.3 (2.6.1)\r\nAccept: */*\r\n\r\n");
        // Package bytes are compressed: random-looking, and encrypted anyway.
        let mut resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.debian.binary-package\r\nContent-Length: {size}\r\n\r\n"
        )
        .into_bytes();
        let head = resp.len();
        resp.resize(head + size, 0);
        ctx.rng.fill(&mut resp[head..]);
        let think = ctx.think();
        t = car.exchange(C2S, t, req.as_bytes(), &resp, think)?;
        t += ctx.uniform_us(15.0, 90.0);
        if t > ctx.end {
            break;
        }
    }
    let end = ctx.end.max(t);
    car.close(end + 1_000)?;
    let mut truth = benign_truth(
        ctx,
        client,
        server,
        "TLS 1.3 bulk downloads (32 KiB-4 MiB packages every 15-90 s) from a mirror",
    );
    truth.sni = Some(sni.into());
    Ok((car.into_packets(), truth))
}
