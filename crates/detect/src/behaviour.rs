//! Encrypted and unknown mining recognised by its traffic shape.
//!
//! A mining session is a long-lived TCP connection where the pool pushes small jobs at intervals
//! and the miner answers with small share submissions; almost every segment is one message sent
//! with PSH, bulk transfers never happen, and the pool sends more bytes than it receives. The
//! shape survives TLS, proxies and port 443, so it catches what content detectors cannot read.
//!
//! The same model judges packet flows ([`BehaviourDetector`], from the capture engine's
//! [`FlowInfo`]) and flow records (`minetrace-flows`, from ipfixprobe-style per-packet info):
//! both describe a flow as a [`Shape`] — totals per direction plus the first payload packets —
//! and [`judge`] turns it into a [`Verdict`] with the reasons a person can check.
//!
//! The model is a logistic score over eight shape features ([`WEIGHTS`]), fitted once by hand on
//! the design half of the CESNET-MINER22 development sample (split by a hash of the flow key; see
//! `docs/benchmarks-flows.md`) and rounded. Indicators (a pool domain in SNI/DNS, TLS without SNI
//! to a non-web port, the Stratum V2 Noise handshake sizes) add fixed log-odds on top. A pool
//! port is a hint: it adds log-odds but can never lift a flow that is not message-like
//! ([`MIN_PSH_SHARE`], [`MAX_BULK_SHARE`]).

use crate::{Context, Detector, Direction, FlowDetector, FlowInfo, PayloadHint, Transport};
use minetrace_core::{Confidence, Dialect, Finding, FindingKind, Timestamp};

/// How many payload packets the shape looks at (ipfixprobe's PPI export keeps 30).
pub const SHAPE_PACKETS: usize = 30;

/// Payload at or above this size counts as a bulk-transfer segment (a full MSS, near enough).
const BULK_PAYLOAD: u32 = 1200;

/// A gap this long before a server packet makes it a push rather than an answer.
const PUSH_GAP_SECS: f64 = 1.0;

/// One payload-carrying packet of the shape, from the client's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ShapePacket {
    /// Microseconds since the epoch.
    pub ts_us: i64,
    /// True when the server (responder) sent it.
    pub from_server: bool,
    /// Transport payload bytes.
    pub payload_len: u32,
    /// TCP flags (0 when unknown or UDP).
    pub tcp_flags: u8,
}

/// A flow as the behavioural model sees it: client -> server totals and the first payload packets.
#[derive(Debug, Clone, Default)]
pub struct Shape<'a> {
    pub duration_secs: f64,
    pub packets_up: u64,
    pub packets_down: u64,
    /// IP-level bytes (headers included, as flow exporters count them).
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub server_port: u16,
    /// The first payload packets in time order (at most [`SHAPE_PACKETS`] are read).
    pub packets: &'a [ShapePacket],
}

/// Indicators that come with a flow besides its shape.
#[derive(Debug, Clone, Default)]
pub struct Indicators {
    /// The pool domain (from intel) that the flow's SNI or a DNS answer for its server falls under.
    pub pool_domain: Option<String>,
    /// The name that matched (SNI or DNS query).
    pub pool_name: Option<String>,
    /// True when a TLS ClientHello was seen without an SNI extension.
    pub tls_without_sni: bool,
    /// True when the flow carried TLS at all (known from the exporter or the handshake).
    pub tls: bool,
}

/// The shape features, each with a meaning a person can check.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Features {
    pub ln_duration: f64,
    pub ln_packet_rate: f64,
    /// Share of payload packets with PSH (one message per segment).
    pub psh_share: f64,
    pub ln_mean_payload: f64,
    /// Share of payload packets of bulk size.
    pub bulk_share: f64,
    /// ln(bytes up / bytes down): pools send more than miners.
    pub ln_up_down: f64,
    /// Share of payload packets the server sent.
    pub server_share: f64,
    /// 1.0 when the server port is one pools commonly use.
    pub pool_port: f64,
    // Descriptive facts for the reasons (not weighted).
    pub payload_packets: usize,
    pub mean_payload: f64,
    pub server_pushes: usize,
    pub median_push_gap: Option<f64>,
    pub client_payloads: usize,
    pub mean_client_payload: f64,
    pub mean_server_payload: f64,
    /// First client payload 64 B answered by 234 or 170 B: the Stratum V2 Noise handshake.
    pub sv2_noise_shape: bool,
}

/// Logistic weights, in the order of the first eight [`Features`] fields. Fitted on the design
/// half of CESNET-MINER22-dev (459 miner, 547 other records) by plain gradient descent with a
/// small L2 penalty, then rounded; see docs/benchmarks-flows.md for the held-out figures.
pub const WEIGHTS: [(&str, f64); 8] = [
    // Duration barely matters once the rest is known (exporters split long sessions).
    ("ln_duration", 0.02),
    // Mining is slow: a packet every few seconds, not hundreds per second.
    ("ln_packet_rate", -0.08),
    // Every JSON line is flushed on its own: nearly all segments carry PSH.
    ("psh_share", 4.12),
    // Mean size adds almost nothing once PSH and bulk shares are known (kept for the reasons).
    ("ln_mean_payload", 0.01),
    // Full-size segments mean bulk transfer, which mining never does.
    ("bulk_share", -3.52),
    // The pool sends more (jobs, answers) than the miner (submits).
    ("ln_up_down", -0.65),
    // Most payload packets come from the pool (pushed jobs, answers).
    ("server_share", 5.08),
    // A weak hint: pools' customary ports (3333, 4444, 14444...).
    ("pool_port", 4.71),
];
/// Intercept of the logistic model.
pub const BIAS: f64 = -9.57;
/// Log-odds above which a flow is reported (the model's 0.73 probability point).
pub const THRESHOLD: f64 = 1.0;
/// A flow must be message-like before any score counts: at least this share of its payload
/// packets carry PSH (every CESNET miner record in the design half has >= 0.68)...
pub const MIN_PSH_SHARE: f64 = 0.5;
/// ...and at most this share are bulk-size (design-half miners: at most 0.62). So a port hint or
/// a pool name cannot turn a bulk download into mining.
pub const MAX_BULK_SHARE: f64 = 0.7;
/// From this many payload packets on, a flow must show at least one unsolicited server push.
pub const MIN_PAYLOADS_FOR_PUSH_CHECK: usize = 6;
/// Log-odds a pool domain in SNI or DNS adds (hand-set: a named pool is strong evidence).
pub const POOL_DOMAIN_LOG_ODDS: f64 = 6.0;
/// Log-odds TLS without SNI to a port other than 443/8443 adds (xmrig's TLS default).
pub const TLS_NO_SNI_LOG_ODDS: f64 = 1.5;
/// Log-odds TLS without SNI to 443/8443 adds, only when the server also pushes at job intervals
/// ([`JOB_PUSH_GAP_SECS`]): clients reaching web servers by IP address omit SNI too, but they do
/// not receive a small message every half minute for minutes on end.
pub const TLS_NO_SNI_WEB_PORT_LOG_ODDS: f64 = 3.5;
/// Median gap between unsolicited server pushes that looks like a pool's job interval (pools
/// send a new job every 10 s to 2 min).
pub const JOB_PUSH_GAP_SECS: std::ops::RangeInclusive<f64> = 10.0..=180.0;
/// Log-odds the Stratum V2 Noise handshake sizes add.
pub const SV2_NOISE_LOG_ODDS: f64 = 4.0;

/// What the model concluded and why.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verdict {
    /// Total log-odds (shape, port hint, indicators).
    pub score: f64,
    /// Log-odds from the shape alone (no port hint, no indicators).
    pub shape_score: f64,
    pub mining: bool,
    /// Human-readable reasons, strongest first.
    pub reasons: Vec<String>,
}

/// Computes the features of a shape; `None` when fewer than two payload packets are known (no
/// shape to judge).
///
/// One pass over the packets, nothing on the heap: this runs for every flow record.
pub fn features(shape: &Shape<'_>) -> Option<Features> {
    let pkts = shape.packets.get(..SHAPE_PACKETS).unwrap_or(shape.packets);
    let mut n = 0usize;
    let mut psh = 0usize;
    let mut sum = 0u64;
    let mut bulk = 0usize;
    let mut server = 0usize;
    let mut server_sum = 0u64;
    let mut pushes = 0usize;
    // Gaps between consecutive unsolicited server pushes (at most SHAPE_PACKETS - 1).
    let mut gaps = [0f64; SHAPE_PACKETS];
    let mut last_push: i64 = 0;
    let mut prev: Option<&ShapePacket> = None;
    let mut first_client: Option<&ShapePacket> = None;
    let mut first_server: Option<&ShapePacket> = None;
    for p in pkts.iter().filter(|p| p.payload_len > 0) {
        n += 1;
        if p.tcp_flags & 0x08 != 0 {
            psh += 1;
        }
        sum += u64::from(p.payload_len);
        if p.payload_len >= BULK_PAYLOAD {
            bulk += 1;
        }
        if p.from_server {
            first_server = first_server.or(Some(p));
            server += 1;
            server_sum += u64::from(p.payload_len);
            let pushed = match prev {
                Some(q) => {
                    q.from_server || (p.ts_us.saturating_sub(q.ts_us)) as f64 / 1e6 > PUSH_GAP_SECS
                }
                None => false,
            };
            if pushed && pushes < SHAPE_PACKETS {
                if pushes > 0 {
                    gaps[pushes - 1] = (p.ts_us.saturating_sub(last_push)) as f64 / 1e6;
                }
                last_push = p.ts_us;
                pushes += 1;
            }
        } else {
            first_client = first_client.or(Some(p));
        }
        prev = Some(p);
    }
    if n < 2 {
        return None;
    }
    let gaps = &mut gaps[..pushes.saturating_sub(1)];
    // Equal values under total_cmp are the same bits, so an unstable sort finds the same median.
    gaps.sort_unstable_by(|a, b| a.total_cmp(b));
    let median_push_gap = gaps.get(gaps.len() / 2).copied();
    let client = n - server;
    let duration = shape.duration_secs.max(0.001);
    let total_packets = shape
        .packets_up
        .saturating_add(shape.packets_down)
        .max(n as u64);
    let sv2_noise_shape = matches!(
        (first_client, first_server),
        (Some(c), Some(s)) if c.payload_len == 64 && matches!(s.payload_len, 234 | 170) && c.ts_us <= s.ts_us
    );
    Some(Features {
        ln_duration: duration.ln(),
        ln_packet_rate: (total_packets as f64 / duration).ln(),
        psh_share: psh as f64 / n as f64,
        ln_mean_payload: (sum as f64 / n as f64 + 1.0).ln(),
        bulk_share: bulk as f64 / n as f64,
        ln_up_down: ((shape.bytes_up as f64 + 1.0) / (shape.bytes_down as f64 + 1.0)).ln(),
        server_share: server as f64 / n as f64,
        pool_port: if minetrace_intel::Intel::is_pool_port(shape.server_port) {
            1.0
        } else {
            0.0
        },
        payload_packets: n,
        mean_payload: sum as f64 / n as f64,
        server_pushes: pushes,
        median_push_gap,
        client_payloads: client,
        mean_client_payload: if client == 0 {
            0.0
        } else {
            (sum - server_sum) as f64 / client as f64
        },
        mean_server_payload: if server == 0 {
            0.0
        } else {
            server_sum as f64 / server as f64
        },
        sv2_noise_shape,
    })
}

fn weighted(f: &Features) -> [f64; 8] {
    let x = [
        f.ln_duration,
        f.ln_packet_rate,
        f.psh_share,
        f.ln_mean_payload,
        f.bulk_share,
        f.ln_up_down,
        f.server_share,
        f.pool_port,
    ];
    let mut out = [0.0; 8];
    for (o, (xi, (_, w))) in out.iter_mut().zip(x.iter().zip(WEIGHTS.iter())) {
        *o = xi * w;
    }
    out
}

/// Judges a flow from its features and indicators.
///
/// The reasons are written with [`Reason`] (fixed-precision numbers without the general
/// formatting machinery, the same text as `format!("{:.1}")` and friends): a flagged flow
/// record pays for them, and on a busy link many are flagged.
pub fn judge(f: &Features, server_port: u16, ind: &Indicators) -> Verdict {
    let parts = weighted(f);
    let shape_score = BIAS + parts[..7].iter().sum::<f64>();
    let mut score = shape_score + parts[7];
    if ind.pool_domain.is_some() {
        score += POOL_DOMAIN_LOG_ODDS;
    }
    if f.sv2_noise_shape {
        score += SV2_NOISE_LOG_ODDS;
    }
    let job_pushes = f.server_pushes >= 3
        && f.median_push_gap
            .is_some_and(|g| JOB_PUSH_GAP_SECS.contains(&g));
    let tls_other_port = ind.tls_without_sni && !matches!(server_port, 443 | 8443);
    let tls_web_port = !tls_other_port && ind.tls_without_sni && job_pushes;
    if tls_other_port {
        score += TLS_NO_SNI_LOG_ODDS;
    } else if tls_web_port {
        score += TLS_NO_SNI_WEB_PORT_LOG_ODDS;
    }
    let message_like = f.psh_share >= MIN_PSH_SHARE && f.bulk_share <= MAX_BULK_SHARE;
    // Pools push jobs unasked; a flow long enough to show pushes but showing none is polling
    // (request/response: tank gauges, SCADA, APIs), not mining.
    let pushes_or_too_short =
        f.server_pushes > 0 || f.payload_packets < MIN_PAYLOADS_FOR_PUSH_CHECK;
    let mining = score > THRESHOLD && message_like && pushes_or_too_short;

    // Reasons, strongest first: the verdict (when mining), the indicators, then the shape.
    let mut reasons = Vec::with_capacity(if mining { 10 } else { 0 });
    if mining {
        reasons.push(
            Reason::with_capacity(96)
                .s("traffic shape of a mining session (score ")
                .fixed(score, 1)
                .s(", shape alone ")
                .fixed(shape_score, 1)
                .s("; reported above ")
                .fixed(THRESHOLD, 1)
                .s(")")
                .done(),
        );
    }
    if let Some(domain) = &ind.pool_domain {
        reasons.push(
            Reason::with_capacity(96)
                .s("the server's name ")
                .s(ind.pool_name.as_deref().unwrap_or(domain))
                .s(" falls under the pool domain ")
                .s(domain)
                .done(),
        );
    }
    if f.sv2_noise_shape {
        reasons.push(
            "the first exchange has the Stratum V2 Noise handshake sizes (64 B from the client, 234/170 B back)"
                .to_string(),
        );
    }
    if tls_other_port {
        reasons.push(
            Reason::with_capacity(80)
                .s("TLS without a server name to port ")
                .u(server_port.into())
                .s(" (xmrig's TLS mode sends no SNI)")
                .done(),
        );
    } else if tls_web_port {
        reasons.push(
            Reason::with_capacity(128)
                .s("TLS without a server name to port ")
                .u(server_port.into())
                .s(" while the server pushes at job intervals (xmrig's TLS mode sends no SNI)")
                .done(),
        );
    }
    if mining {
        reasons.push(
            Reason::with_capacity(72)
                .fixed(f.psh_share * 100.0, 0)
                .s("% of ")
                .u(f.payload_packets as u64)
                .s(" payload packets carry PSH (one message per segment)")
                .done(),
        );
        reasons.push(
            Reason::with_capacity(96)
                .s("small messages: mean payload ")
                .fixed(f.mean_payload, 0)
                .s(" B (server ")
                .fixed(f.mean_server_payload, 0)
                .s(" B, client ")
                .fixed(f.mean_client_payload, 0)
                .s(" B), ")
                .fixed(f.bulk_share * 100.0, 0)
                .s("% bulk-size segments")
                .done(),
        );
        reasons.push(
            Reason::with_capacity(80)
                .s("the server sent ")
                .fixed(f.server_share * 100.0, 0)
                .s("% of payload packets and ")
                .fixed((-f.ln_up_down).exp(), 1)
                .s("x the client's bytes")
                .done(),
        );
        if f.server_pushes > 0 {
            let mut r = Reason::with_capacity(112)
                .u(f.server_pushes as u64)
                .s(" unsolicited server pushes (job-like)");
            if let Some(g) = f.median_push_gap {
                r = r.s(", median ").fixed(g, 1).s(" s apart");
            }
            reasons.push(
                r.s("; ")
                    .u(f.client_payloads as u64)
                    .s(" client messages (submit-like)")
                    .done(),
            );
        }
        reasons.push(
            Reason::with_capacity(40)
                .fixed(f.ln_packet_rate.exp(), 1)
                .s(" packets/s over ")
                .fixed(f.ln_duration.exp(), 0)
                .s(" s")
                .done(),
        );
        if f.pool_port > 0.0 {
            reasons.push(
                Reason::with_capacity(72)
                    .s("port ")
                    .u(server_port.into())
                    .s(" is a customary pool port (a hint, never enough alone)")
                    .done(),
            );
        }
    }
    reasons.truncate(16);
    Verdict {
        score,
        shape_score,
        mining,
        reasons,
    }
}

/// One reason being written: text, integers and fixed-precision numbers appended to one string.
struct Reason(String);

impl Reason {
    #[inline]
    fn with_capacity(capacity: usize) -> Self {
        Reason(String::with_capacity(capacity))
    }
    #[inline]
    fn s(mut self, text: &str) -> Self {
        self.0.push_str(text);
        self
    }
    #[inline]
    fn u(mut self, v: u64) -> Self {
        push_u64(&mut self.0, v);
        self
    }
    #[inline]
    fn fixed(mut self, v: f64, decimals: u32) -> Self {
        push_fixed(&mut self.0, v, decimals);
        self
    }
    #[inline]
    fn done(self) -> String {
        self.0
    }
}

/// Appends ASCII digits (and points) to a string.
#[inline]
fn push_ascii(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(char::from(b));
    }
}

/// Appends `v` in decimal (as `{}` writes it).
fn push_u64(out: &mut String, v: u64) {
    if v < 10 {
        out.push(char::from(b'0' + v as u8));
        return;
    }
    if v < 100 {
        out.push(char::from(b'0' + (v / 10) as u8));
        out.push(char::from(b'0' + (v % 10) as u8));
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = v;
    while v > 0 {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    push_ascii(out, buf.get(i..).unwrap_or_default());
}

/// Appends `v` with `decimals` (0 to 3) digits after the point, exactly as `format!("{v:.N}")`
/// writes it: the exact binary value rounded to nearest, ties to even, a minus sign for every
/// negative value (`-0.0` included).
///
/// `v * 10^N` is computed in floating point, so its rounding could only change the result
/// when the product lies within a few units in the last place of a tie; those values, and any
/// that are not finite or too large for an exact integer, are left to the standard formatter.
#[inline]
fn push_fixed(out: &mut String, v: f64, decimals: u32) {
    const SCALE: [u64; 4] = [1, 10, 100, 1000];
    let Some(&scale) = SCALE.get(decimals as usize) else {
        return std_fixed(out, v, decimals);
    };
    let scaled = v.abs() * scale as f64;
    if !scaled.is_finite() || scaled >= 1e15 {
        return std_fixed(out, v, decimals);
    }
    // Truncation is the floor for a non-negative value; both are below 2^53, so the
    // fraction is exact.
    let mut n = scaled as u64;
    let frac = scaled - n as f64;
    if decimals == 0 {
        // No product was taken: `scaled` is `|v|` itself, so a tie is an exact tie.
        if frac > 0.5 || (frac == 0.5 && n % 2 == 1) {
            n += 1;
        }
    } else {
        let margin = scaled * (4.0 * f64::EPSILON) + f64::MIN_POSITIVE;
        if (frac - 0.5).abs() <= margin {
            return std_fixed(out, v, decimals);
        }
        if frac > 0.5 {
            n += 1;
        }
    }
    if v.is_sign_negative() {
        out.push('-');
    }
    push_u64(out, n / scale);
    if decimals > 0 {
        out.push('.');
        // The fraction's digits, leading zeros included.
        let mut rest = n % scale;
        let mut digits = [b'0'; 3];
        for d in digits.iter_mut().take(decimals as usize).rev() {
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        push_ascii(out, digits.get(..decimals as usize).unwrap_or_default());
    }
}

/// The standard formatter, for the values [`push_fixed`] does not write itself.
#[cold]
fn std_fixed(out: &mut String, v: f64, decimals: u32) {
    use std::fmt::Write;
    let _ = write!(out, "{v:.*}", decimals as usize);
}

/// The behavioural detector over packet flows: judges every TCP flow at its end, unless another
/// detector already reported mining on it.
#[derive(Debug)]
pub struct BehaviourDetector {
    /// Packet flows shorter than this are not judged.
    pub min_flow_secs: f64,
    /// Payload packets a flow needs before it is judged.
    pub min_payloads: usize,
}

impl Default for BehaviourDetector {
    fn default() -> Self {
        BehaviourDetector {
            min_flow_secs: MIN_PACKET_FLOW_SECS,
            min_payloads: MIN_PACKET_FLOW_PAYLOADS,
        }
    }
}

/// Packet flows shorter than this are not judged: a live mining session lasts minutes, and short
/// flows are where web and API traffic looks most alike.
pub const MIN_PACKET_FLOW_SECS: f64 = 30.0;
/// Payload packets a packet flow needs before its shape means anything.
pub const MIN_PACKET_FLOW_PAYLOADS: usize = 6;

impl Detector for BehaviourDetector {
    fn name(&self) -> &'static str {
        "behavioural"
    }
    fn description(&self) -> &'static str {
        "Encrypted or unknown mining recognised by its traffic shape (small periodic pushes, PSH per message, pool sends more)."
    }
    fn dialects(&self) -> &'static [Dialect] {
        &[Dialect::Behavioural]
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn open(
        &self,
        _flow: &FlowInfo,
        _dir: Direction,
        _payload: &[u8],
        _ctx: &Context,
    ) -> Option<Box<dyn FlowDetector>> {
        None
    }

    fn on_flow_end(
        &self,
        flow: &FlowInfo,
        findings: &[Finding],
        ctx: &mut Context,
    ) -> Option<Finding> {
        if flow.transport != Transport::Tcp || !findings.is_empty() {
            return None;
        }
        // A readable session has been read by the content detectors; when none of them called
        // it mining, its shape must not overrule them (JSON-RPC APIs look like pools in shape).
        if flow.first_payload == PayloadHint::Text {
            return None;
        }
        if flow.duration_secs() < self.min_flow_secs {
            return None;
        }
        let client_dir = client_direction(flow);
        let server_dir = client_dir.reverse();
        let mut packets = [ShapePacket::default(); SHAPE_PACKETS];
        let mut n = 0;
        for p in flow.first_packets.iter().filter(|p| p.payload_len > 0) {
            if n == SHAPE_PACKETS {
                break;
            }
            packets[n] = ShapePacket {
                ts_us: p.ts.micros(),
                from_server: p.dir == server_dir,
                payload_len: p.payload_len,
                tcp_flags: p.tcp_flags,
            };
            n += 1;
        }
        if n < self.min_payloads {
            return None;
        }
        let up = &flow.stats[client_dir.index()];
        let down = &flow.stats[server_dir.index()];
        // Flow exporters count IP bytes; add a typical IPv4+TCP header per packet.
        let ip_bytes = |s: &crate::DirStats| s.payload_bytes + s.missing_bytes + 52 * s.packets;
        let server = flow.sender(server_dir);
        let shape = Shape {
            duration_secs: flow.duration_secs(),
            packets_up: up.packets,
            packets_down: down.packets,
            bytes_up: ip_bytes(up),
            bytes_down: ip_bytes(down),
            server_port: server.port(),
            packets: &packets[..n],
        };
        let feats = features(&shape)?;
        let mut ind = Indicators::default();
        if let PayloadHint::TlsClientHello { sni } = flow.first_payload {
            ind.tls = true;
            ind.tls_without_sni = sni == Some(false);
        }
        if let Some(learned) = ctx.dns.lookup(&server.ip()) {
            if let Some(domain) = learned.pool_domain {
                ind.pool_name = Some(learned.query);
                ind.pool_domain = Some(domain);
            }
        }
        let verdict = judge(&feats, server.port(), &ind);
        if !verdict.mining {
            return None;
        }
        Some(finding(
            flow.endpoint(client_dir),
            flow.endpoint(server_dir),
            "tcp",
            flow.first_seen,
            flow.last_seen,
            &feats,
            &verdict,
            &ind,
        ))
    }
}

/// Builds the behavioural finding (shared by packet flows and flow records).
#[allow(clippy::too_many_arguments)]
pub fn finding(
    client: minetrace_core::Endpoint,
    server: minetrace_core::Endpoint,
    transport: &str,
    first_seen: Timestamp,
    last_seen: Timestamp,
    feats: &Features,
    verdict: &Verdict,
    ind: &Indicators,
) -> Finding {
    into_finding(
        client,
        server,
        transport,
        first_seen,
        last_seen,
        feats,
        verdict.clone(),
        ind,
    )
}

/// [`finding`] taking the verdict, whose reasons move into the finding instead of being copied.
#[allow(clippy::too_many_arguments)]
pub fn into_finding(
    client: minetrace_core::Endpoint,
    server: minetrace_core::Endpoint,
    transport: &str,
    first_seen: Timestamp,
    last_seen: Timestamp,
    feats: &Features,
    verdict: Verdict,
    ind: &Indicators,
) -> Finding {
    let mut f = Finding::new("behavioural", FindingKind::Network, first_seen);
    f.last_seen = last_seen.max(first_seen);
    f.dialect = Some(Dialect::Behavioural);
    // Shape is never semantic proof: Medium at most.
    f.confidence = Confidence::Medium;
    f.client = Some(client);
    f.server = Some(server);
    f.transport = Some(transport.to_string());
    // What `Finding::reason` would keep of them, one by one.
    f.reasons = verdict.reasons;
    f.reasons.truncate(MAX_FINDING_REASONS);
    f.evidence.pool_host = ind.pool_name.clone();
    // Inserted in descending key order, so each insert compares with one key only (the map
    // is sorted by key whatever the order of inserts).
    let extra = &mut f.evidence.extra;
    extra.insert("shape_score".into(), round2(verdict.shape_score));
    extra.insert("server_share".into(), round2(feats.server_share));
    extra.insert("server_pushes".into(), (feats.server_pushes as u64).into());
    extra.insert("score".into(), round2(verdict.score));
    extra.insert("psh_share".into(), round2(feats.psh_share));
    if let Some(g) = feats.median_push_gap {
        extra.insert("median_push_gap_s".into(), round2(g));
    }
    extra.insert("mean_payload".into(), round2(feats.mean_payload));
    f
}

/// The most reasons [`Finding::reason`] keeps.
const MAX_FINDING_REASONS: usize = 32;

fn round2(v: f64) -> serde_json::Value {
    let r = (v * 100.0).round() / 100.0;
    serde_json::Number::from_f64(r)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

/// The miner's direction: `a` when the handshake was seen; otherwise the side whose port looks
/// ephemeral against a server-looking port.
fn client_direction(flow: &FlowInfo) -> Direction {
    if flow.initiator_known {
        return Direction::AtoB;
    }
    let (pa, pb) = (flow.a.port(), flow.b.port());
    let server_like =
        |p: u16| p < 1024 || minetrace_intel::Intel::is_pool_port(p) || matches!(p, 8080 | 8443);
    if server_like(pa) && !server_like(pb) {
        Direction::BtoA
    } else {
        Direction::AtoB
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DirStats, FlowEnd, PacketInfo};
    use std::sync::Arc;

    fn ctx() -> Context {
        Context::new(
            Arc::new(minetrace_intel::Intel::builtin()),
            "capture",
            "t.pcap",
        )
    }

    /// A flow from a list of (seconds, from_server, payload, flags) packets.
    fn flow(port: u16, pkts: &[(f64, bool, u32, u8)]) -> FlowInfo {
        let t0 = 1_700_000_000_000_000i64;
        let mut stats = [DirStats::default(); 2];
        let mut first = Vec::new();
        let mut last = t0;
        for &(s, from_server, len, flags) in pkts {
            let ts = Timestamp(t0 + (s * 1e6) as i64);
            last = last.max(ts.0);
            let dir = if from_server {
                Direction::BtoA
            } else {
                Direction::AtoB
            };
            let st = &mut stats[dir.index()];
            st.packets += 1;
            st.payload_packets += u64::from(len > 0);
            st.payload_bytes += u64::from(len);
            if first.len() < crate::FIRST_PACKETS {
                first.push(PacketInfo {
                    ts,
                    dir,
                    payload_len: len,
                    tcp_flags: flags,
                });
            }
        }
        FlowInfo {
            transport: Transport::Tcp,
            a: "10.0.0.5:50000".parse().unwrap(),
            b: format!("198.51.100.7:{port}").parse().unwrap(),
            initiator_known: true,
            first_seen: Timestamp(t0),
            last_seen: Timestamp(last),
            first_packet: 1,
            stats,
            first_packets: first,
            first_payload: Default::default(),
            clock: None,
            end: FlowEnd::Fin,
        }
    }

    const PA: u8 = 0x18;
    const A: u8 = 0x10;

    /// TLS-wrapped mining on a pool's TLS port: login, then a job pushed at every block (~12 s, as Ethereum-
    /// family pools do) and a share submitted about every third job.
    fn tls_mining() -> Vec<(f64, bool, u32, u8)> {
        let mut v = vec![
            (0.0, false, 517, PA),
            (0.05, true, 1400, A),
            (0.06, true, 1200, PA),
        ];
        v.push((0.1, false, 126, PA));
        v.push((0.2, true, 51, PA));
        v.push((0.3, false, 410, PA));
        v.push((0.4, true, 420, PA));
        for i in 0..24 {
            let t = 1.0 + 12.0 * f64::from(i);
            v.push((t, true, 330, PA));
            if i % 3 == 2 {
                v.push((t + 5.0, false, 215, PA));
                v.push((t + 5.05, true, 92, PA));
            }
        }
        v
    }

    /// xmrig in TLS mode on 443: no SNI, a job every 27 s, a share after most jobs.
    fn tls_xmrig_443() -> Vec<(f64, bool, u32, u8)> {
        let mut v = vec![
            (0.0, false, 517, PA),
            (0.05, true, 1400, A),
            (0.06, true, 1200, PA),
            (0.1, false, 126, PA),
            (0.2, true, 420, PA),
        ];
        for i in 0..12 {
            let t = 1.0 + 27.0 * f64::from(i);
            v.push((t, true, 330, PA));
            v.push((t + 5.0, false, 215, PA));
            v.push((t + 5.05, true, 92, PA));
        }
        v
    }

    #[test]
    fn tls_without_sni_on_443_needs_job_interval_pushes() {
        let mut f = flow(443, &tls_xmrig_443());
        f.first_payload = PayloadHint::TlsClientHello { sni: Some(false) };
        let got = BehaviourDetector::default()
            .on_flow_end(&f, &[], &mut ctx())
            .expect("finding");
        assert!(got.reasons.iter().any(|r| r.contains("job intervals")));
        // The same shape to a named web server is not enough (push notifications, dashboards).
        f.first_payload = PayloadHint::TlsClientHello { sni: Some(true) };
        assert!(BehaviourDetector::default()
            .on_flow_end(&f, &[], &mut ctx())
            .is_none());
        // No SNI, but pushes every 2 s (a live dashboard) is not a job interval.
        let fast: Vec<_> = tls_xmrig_443()
            .into_iter()
            .map(|(t, s, l, fl)| (if t > 1.0 { 1.0 + (t - 1.0) / 13.5 } else { t }, s, l, fl))
            .collect();
        let mut f = flow(443, &fast);
        f.first_payload = PayloadHint::TlsClientHello { sni: Some(false) };
        assert!(BehaviourDetector::default()
            .on_flow_end(&f, &[], &mut ctx())
            .is_none());
    }

    #[test]
    fn readable_sessions_are_left_to_content_detectors() {
        let mut f = flow(4444, &tls_mining());
        f.first_payload = PayloadHint::Text;
        assert!(BehaviourDetector::default()
            .on_flow_end(&f, &[], &mut ctx())
            .is_none());
        assert_eq!(
            PayloadHint::classify(b"{\"id\":1,\"method\":\"login\"}\n"),
            PayloadHint::Text
        );
        assert_eq!(
            PayloadHint::classify(&[0x17, 0x03, 0x03, 0x00, 0x20, 0x9a, 0xff, 0x01]),
            PayloadHint::Binary
        );
        assert_eq!(PayloadHint::classify(b""), PayloadHint::Unknown);
    }

    #[test]
    fn tls_mining_shape_is_reported_with_reasons() {
        let f = flow(14433, &tls_mining());
        let got = BehaviourDetector::default()
            .on_flow_end(&f, &[], &mut ctx())
            .expect("finding");
        assert_eq!(got.dialect, Some(Dialect::Behavioural));
        assert_eq!(got.confidence, Confidence::Medium);
        assert_eq!(got.client.unwrap().port, 50000);
        assert_eq!(got.server.unwrap().port, 14433);
        assert!(
            got.reasons.iter().any(|r| r.contains("PSH")),
            "{:?}",
            got.reasons
        );
        assert!(got.reasons.iter().any(|r| r.contains("server pushes")));
    }

    #[test]
    fn silent_when_another_detector_reported() {
        let f = flow(443, &tls_mining());
        let other = Finding::new("stratum", FindingKind::Network, f.first_seen);
        assert!(BehaviourDetector::default()
            .on_flow_end(&f, &[other], &mut ctx())
            .is_none());
    }

    #[test]
    fn ssh_keepalives_are_silent() {
        // Interactive SSH with keepalives: client-driven, tiny symmetric packets.
        let mut v = vec![(0.0, false, 41, PA), (0.1, true, 41, PA)];
        for i in 0..20 {
            let t = 1.0 + 15.0 * f64::from(i);
            v.push((t, false, 52, PA));
            v.push((t + 0.05, true, 28, PA));
        }
        assert!(BehaviourDetector::default()
            .on_flow_end(&flow(22, &v), &[], &mut ctx())
            .is_none());
    }

    #[test]
    fn mqtt_keepalives_are_silent() {
        let mut v = vec![(0.0, false, 40, PA), (0.05, true, 4, PA)];
        for i in 0..20 {
            let t = 60.0 * f64::from(i + 1);
            v.push((t, false, 2, PA));
            v.push((t + 0.02, true, 2, PA));
        }
        assert!(BehaviourDetector::default()
            .on_flow_end(&flow(1883, &v), &[], &mut ctx())
            .is_none());
    }

    #[test]
    fn bulk_download_on_a_pool_port_is_silent() {
        let mut v = vec![(0.0, false, 300, PA)];
        for i in 0..29 {
            v.push((0.1 + 2.0 * f64::from(i), true, 1448, A));
        }
        assert!(BehaviourDetector::default()
            .on_flow_end(&flow(4444, &v), &[], &mut ctx())
            .is_none());
    }

    #[test]
    fn short_flows_are_not_judged() {
        let v: Vec<_> = tls_mining().into_iter().filter(|p| p.0 < 20.0).collect();
        assert!(BehaviourDetector::default()
            .on_flow_end(&flow(14433, &v), &[], &mut ctx())
            .is_none());
    }

    #[test]
    fn sv2_noise_sizes_are_recognised() {
        let pkts = [
            ShapePacket {
                ts_us: 0,
                from_server: false,
                payload_len: 64,
                tcp_flags: PA,
            },
            ShapePacket {
                ts_us: 10_000,
                from_server: true,
                payload_len: 234,
                tcp_flags: PA,
            },
        ];
        let shape = Shape {
            duration_secs: 1.0,
            packets: &pkts,
            ..Shape::default()
        };
        assert!(features(&shape).unwrap().sv2_noise_shape);
    }

    #[test]
    fn hostile_shapes_do_not_panic() {
        let pkts = [ShapePacket {
            ts_us: i64::MAX,
            from_server: true,
            payload_len: u32::MAX,
            tcp_flags: 0xff,
        }; 40];
        let shape = Shape {
            duration_secs: f64::NAN,
            packets_up: u64::MAX,
            packets_down: u64::MAX,
            bytes_up: u64::MAX,
            bytes_down: 0,
            server_port: 0,
            packets: &pkts,
        };
        let f = features(&shape).unwrap();
        let _ = judge(&f, 0, &Indicators::default());
        assert!(features(&Shape::default()).is_none());
    }

    /// The model as it was written before its reasons and features were made allocation-free
    /// (at 31bd5e4), kept to show that the faster code gives the very same results.
    mod reference {
        use super::super::*;

        pub fn features(shape: &Shape<'_>) -> Option<Features> {
            let pkts = shape.packets.get(..SHAPE_PACKETS).unwrap_or(shape.packets);
            let n = pkts.iter().filter(|p| p.payload_len > 0).count();
            if n < 2 {
                return None;
            }
            let mut psh = 0usize;
            let mut sum = 0u64;
            let mut bulk = 0usize;
            let mut server = 0usize;
            let mut server_sum = 0u64;
            let mut pushes = 0usize;
            let mut push_times: [i64; SHAPE_PACKETS] = [0; SHAPE_PACKETS];
            let mut prev: Option<&ShapePacket> = None;
            for p in pkts.iter().filter(|p| p.payload_len > 0) {
                if p.tcp_flags & 0x08 != 0 {
                    psh += 1;
                }
                sum += u64::from(p.payload_len);
                if p.payload_len >= BULK_PAYLOAD {
                    bulk += 1;
                }
                if p.from_server {
                    server += 1;
                    server_sum += u64::from(p.payload_len);
                    let pushed = match prev {
                        Some(q) => {
                            q.from_server
                                || (p.ts_us.saturating_sub(q.ts_us)) as f64 / 1e6 > PUSH_GAP_SECS
                        }
                        None => false,
                    };
                    if pushed && pushes < SHAPE_PACKETS {
                        push_times[pushes] = p.ts_us;
                        pushes += 1;
                    }
                }
                prev = Some(p);
            }
            let mut gaps: Vec<f64> = push_times[..pushes]
                .windows(2)
                .map(|w| (w[1].saturating_sub(w[0])) as f64 / 1e6)
                .collect();
            gaps.sort_by(|a, b| a.total_cmp(b));
            let median_push_gap = gaps.get(gaps.len() / 2).copied();
            let client = n - server;
            let duration = shape.duration_secs.max(0.001);
            let total_packets = shape
                .packets_up
                .saturating_add(shape.packets_down)
                .max(n as u64);
            let payloads: Vec<&ShapePacket> = pkts.iter().filter(|p| p.payload_len > 0).collect();
            let first_client = payloads.iter().find(|p| !p.from_server);
            let first_server = payloads.iter().find(|p| p.from_server);
            let sv2_noise_shape = matches!(
                (first_client, first_server),
                (Some(c), Some(s)) if c.payload_len == 64 && matches!(s.payload_len, 234 | 170) && c.ts_us <= s.ts_us
            );
            Some(Features {
                ln_duration: duration.ln(),
                ln_packet_rate: (total_packets as f64 / duration).ln(),
                psh_share: psh as f64 / n as f64,
                ln_mean_payload: (sum as f64 / n as f64 + 1.0).ln(),
                bulk_share: bulk as f64 / n as f64,
                ln_up_down: ((shape.bytes_up as f64 + 1.0) / (shape.bytes_down as f64 + 1.0)).ln(),
                server_share: server as f64 / n as f64,
                pool_port: if minetrace_intel::Intel::is_pool_port(shape.server_port) {
                    1.0
                } else {
                    0.0
                },
                payload_packets: n,
                mean_payload: sum as f64 / n as f64,
                server_pushes: pushes,
                median_push_gap,
                client_payloads: client,
                mean_client_payload: if client == 0 {
                    0.0
                } else {
                    (sum - server_sum) as f64 / client as f64
                },
                mean_server_payload: if server == 0 {
                    0.0
                } else {
                    server_sum as f64 / server as f64
                },
                sv2_noise_shape,
            })
        }

        pub fn judge(f: &Features, server_port: u16, ind: &Indicators) -> Verdict {
            let parts = weighted(f);
            let shape_score = BIAS + parts[..7].iter().sum::<f64>();
            let mut score = shape_score + parts[7];
            let mut reasons = Vec::new();
            if let Some(domain) = &ind.pool_domain {
                score += POOL_DOMAIN_LOG_ODDS;
                reasons.push(format!(
                    "the server's name {} falls under the pool domain {domain}",
                    ind.pool_name.as_deref().unwrap_or(domain)
                ));
            }
            if f.sv2_noise_shape {
                score += SV2_NOISE_LOG_ODDS;
                reasons.push(
                "the first exchange has the Stratum V2 Noise handshake sizes (64 B from the client, 234/170 B back)"
                    .to_string(),
            );
            }
            let job_pushes = f.server_pushes >= 3
                && f.median_push_gap
                    .is_some_and(|g| JOB_PUSH_GAP_SECS.contains(&g));
            if ind.tls_without_sni && !matches!(server_port, 443 | 8443) {
                score += TLS_NO_SNI_LOG_ODDS;
                reasons.push(format!(
                "TLS without a server name to port {server_port} (xmrig's TLS mode sends no SNI)"
            ));
            } else if ind.tls_without_sni && job_pushes {
                score += TLS_NO_SNI_WEB_PORT_LOG_ODDS;
                reasons.push(format!(
                "TLS without a server name to port {server_port} while the server pushes at job intervals (xmrig's TLS mode sends no SNI)"
            ));
            }
            let message_like = f.psh_share >= MIN_PSH_SHARE && f.bulk_share <= MAX_BULK_SHARE;
            // Pools push jobs unasked; a flow long enough to show pushes but showing none is polling
            // (request/response: tank gauges, SCADA, APIs), not mining.
            let pushes_or_too_short =
                f.server_pushes > 0 || f.payload_packets < MIN_PAYLOADS_FOR_PUSH_CHECK;
            let mining = score > THRESHOLD && message_like && pushes_or_too_short;
            if mining {
                reasons.insert(
                0,
                format!(
                    "traffic shape of a mining session (score {score:.1}, shape alone {shape_score:.1}; reported above {THRESHOLD:.1})"
                ),
            );
                reasons.push(format!(
                    "{:.0}% of {} payload packets carry PSH (one message per segment)",
                    f.psh_share * 100.0,
                    f.payload_packets
                ));
                reasons.push(format!(
                "small messages: mean payload {:.0} B (server {:.0} B, client {:.0} B), {:.0}% bulk-size segments",
                f.mean_payload,
                f.mean_server_payload,
                f.mean_client_payload,
                f.bulk_share * 100.0
            ));
                reasons.push(format!(
                    "the server sent {:.0}% of payload packets and {:.1}x the client's bytes",
                    f.server_share * 100.0,
                    (-f.ln_up_down).exp()
                ));
                if f.server_pushes > 0 {
                    let gap = f
                        .median_push_gap
                        .map(|g| format!(", median {g:.1} s apart"))
                        .unwrap_or_default();
                    reasons.push(format!(
                    "{} unsolicited server pushes (job-like){gap}; {} client messages (submit-like)",
                    f.server_pushes, f.client_payloads
                ));
                }
                reasons.push(format!(
                    "{:.1} packets/s over {:.0} s",
                    f.ln_packet_rate.exp(),
                    f.ln_duration.exp()
                ));
                if f.pool_port > 0.0 {
                    reasons.push(format!(
                        "port {server_port} is a customary pool port (a hint, never enough alone)"
                    ));
                }
            }
            reasons.truncate(16);
            Verdict {
                score,
                shape_score,
                mining,
                reasons,
            }
        }
    }

    /// A small deterministic generator (xorshift64*), so the test needs no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn f64(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn random_shape_packets(rng: &mut Rng) -> Vec<ShapePacket> {
        let n = rng.below(36) as usize;
        let mut t = rng.below(1 << 40) as i64;
        let sizes = [
            0u32, 1, 2, 51, 64, 68, 92, 170, 187, 215, 234, 276, 330, 517, 1199, 1200, 1448,
        ];
        (0..n)
            .map(|_| {
                t += match rng.below(4) {
                    0 => rng.below(1_000) as i64,
                    1 => rng.below(2_000_000) as i64,
                    2 => rng.below(200_000_000) as i64,
                    _ => rng.below(10) as i64 * 500_000,
                };
                ShapePacket {
                    ts_us: t,
                    from_server: rng.below(3) != 0,
                    payload_len: if rng.below(5) == 0 {
                        rng.below(70_000) as u32
                    } else {
                        sizes[rng.below(sizes.len() as u64) as usize]
                    },
                    tcp_flags: [0x18u8, 0x10, 0x08, 0x19, 0x11, 0][rng.below(6) as usize],
                }
            })
            .collect()
    }

    #[test]
    fn features_and_verdicts_equal_the_reference_model() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let ports = [443u16, 8443, 3333, 4444, 14444, 10_500, 22, 80, 50_000, 0];
        let mut flagged = 0;
        for i in 0..40_000 {
            let pkts = random_shape_packets(&mut rng);
            let shape = Shape {
                duration_secs: match rng.below(4) {
                    0 => rng.f64() * 2.0,
                    1 => rng.f64() * 600.0,
                    2 => (rng.below(7200) as f64) / 4.0,
                    _ => rng.f64() * 1e6,
                },
                packets_up: rng.below(5_000),
                packets_down: rng.below(5_000),
                bytes_up: rng.below(2_000_000),
                bytes_down: rng.below(2_000_000),
                server_port: ports[rng.below(ports.len() as u64) as usize],
                packets: &pkts,
            };
            let got = features(&shape);
            let want = reference::features(&shape);
            assert_eq!(got, want, "case {i}: {shape:?}");
            let Some(feats) = got else { continue };
            let mut ind = Indicators {
                tls_without_sni: rng.below(4) == 0,
                ..Indicators::default()
            };
            if rng.below(5) == 0 {
                ind.pool_domain = Some("nanopool.org".into());
                ind.pool_name = (rng.below(2) == 0).then(|| "xmr-eu1.nanopool.org".into());
            }
            let mut feats = feats;
            if rng.below(8) == 0 {
                feats.sv2_noise_shape = true;
            }
            let got = judge(&feats, shape.server_port, &ind);
            let want = reference::judge(&feats, shape.server_port, &ind);
            assert_eq!(got, want, "case {i}: {feats:?}");
            flagged += usize::from(got.mining);
        }
        // Both branches of the model were exercised.
        assert!(flagged > 1000, "{flagged} flagged");
    }

    #[test]
    fn fixed_precision_numbers_read_as_the_standard_formatter_writes_them() {
        let mut rng = Rng(7);
        let check = |v: f64| {
            for decimals in 0..=3u32 {
                let mut got = String::new();
                push_fixed(&mut got, v, decimals);
                assert_eq!(
                    got,
                    format!("{v:.*}", decimals as usize),
                    "{v:e} to {decimals}"
                );
            }
        };
        for v in [
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            -0.5,
            0.05,
            0.15,
            0.25,
            0.35,
            0.125,
            0.375,
            0.0005,
            0.9999999999,
            9.95,
            99.95,
            999.5,
            1e14,
            1e15,
            1e16,
            1e300,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -1e-300,
            4503599627370495.5,
        ] {
            check(v);
        }
        for _ in 0..200_000 {
            let v = match rng.below(6) {
                // Exact and near ties at every precision.
                0 => {
                    rng.below(2_000_000) as f64 / [2.0, 20.0, 200.0, 2000.0][rng.below(4) as usize]
                }
                1 => rng.below(100_000) as f64 / 1000.0,
                2 => rng.f64() * 1000.0,
                3 => (rng.f64() * 40.0 - 20.0).exp(),
                4 => f64::from_bits(rng.next()),
                _ => -(rng.f64() * 100.0),
            };
            check(v);
            check(f64::from_bits(v.to_bits().wrapping_add(1)));
            check(f64::from_bits(v.to_bits().wrapping_sub(1)));
        }
        let mut s = String::new();
        for v in [0, 7, 9, 10, 99, 100, 65_535, u64::MAX] {
            s.clear();
            push_u64(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }
}
