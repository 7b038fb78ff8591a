//! The flow table: one entry per TCP/UDP conversation, bounded in count, with idle timeouts and
//! eviction. Each entry reassembles its TCP directions and drives the detectors that accepted it.

use crate::decode::{tcp_flags, Decoded};
use crate::reassembly::{Chunk, Reassembler};
use minetrace_core::{Confidence, Finding, Timestamp};
use minetrace_detect::endpoint::{ConnectionAttempt, ProvenPools};
use minetrace_detect::{
    Context, Detector, DirStats, Direction, FlowDetector, FlowEnd, FlowInfo, PacketInfo,
    PayloadHint, Progress, Transport, FIRST_PACKETS,
};
use rustc_hash::FxHashMap;
use std::net::SocketAddr;

/// Limits of one flow table.
#[derive(Debug, Clone)]
pub struct TableLimits {
    pub max_flows: usize,
    pub tcp_idle_secs: i64,
    pub udp_idle_secs: i64,
    /// Payload chunks per flow offered to detectors that have not accepted it yet.
    pub offer_chunks: u16,
    /// Payload bytes per flow offered to detectors that have not accepted it yet.
    pub offer_bytes: u32,
}

impl Default for TableLimits {
    fn default() -> Self {
        TableLimits {
            max_flows: 131_072,
            tcp_idle_secs: 600,
            udp_idle_secs: 120,
            offer_chunks: 24,
            offer_bytes: 32 * 1024,
        }
    }
}

/// Canonical key: the lower endpoint first, so both directions find the same entry. Packed
/// into 40 bytes of integers (a `SocketAddr` pair is 64 and hashes field by field): the key is
/// hashed and compared on every packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    lo_ip: u128,
    hi_ip: u128,
    /// Lower port << 48 | higher port << 32 | lower is IPv6 << 9 | higher is IPv6 << 8 |
    /// transport.
    meta: u64,
}

impl FlowKey {
    pub fn new(a: SocketAddr, b: SocketAddr, transport: Transport) -> Self {
        /// (is IPv6, address, port): IPv4 and IPv6 never compare equal.
        fn endpoint(s: SocketAddr) -> (bool, u128, u16) {
            match s {
                SocketAddr::V4(v) => (false, u128::from(u32::from(*v.ip())), v.port()),
                SocketAddr::V6(v) => (true, u128::from(*v.ip()), v.port()),
            }
        }
        let (ea, eb) = (endpoint(a), endpoint(b));
        let (lo, hi) = if ea <= eb { (ea, eb) } else { (eb, ea) };
        let transport_bits = match transport {
            Transport::Tcp => 0,
            Transport::Udp => 1,
        };
        FlowKey {
            lo_ip: lo.1,
            hi_ip: hi.1,
            meta: u64::from(lo.2) << 48
                | u64::from(hi.2) << 32
                | u64::from(lo.0) << 9
                | u64::from(hi.0) << 8
                | transport_bits,
        }
    }

    pub fn transport(&self) -> Transport {
        if self.meta & 0xff == 0 {
            Transport::Tcp
        } else {
            Transport::Udp
        }
    }
}

struct Follower {
    state: Box<dyn FlowDetector>,
    done: bool,
}

struct FlowEntry {
    info: FlowInfo,
    /// [`CaptureClock`] time of the flow's latest packet (idle timeouts count from it).
    last_active: i64,
    reasm: [Reassembler; 2],
    follow: Following,
    fin: [bool; 2],
}

/// Which detectors follow a flow, and how much of it was offered to the others.
#[derive(Default)]
struct Following {
    followers: Vec<Follower>,
    /// Bit i set: detector i accepted the flow.
    accepted: u64,
    offered_chunks: u16,
    offered_bytes: u32,
    /// When the first detector accepted the flow (or the last checkpoint).
    since: Option<Timestamp>,
}

impl Following {
    fn offering(&self, limits: &TableLimits) -> bool {
        self.offered_chunks < limits.offer_chunks && self.offered_bytes < limits.offer_bytes
    }

    /// Whether payload still needs reassembly and delivery.
    fn interested(&self, limits: &TableLimits) -> bool {
        self.offering(limits) || self.followers.iter().any(|f| !f.done)
    }
}

/// Capture time that only moves forward, in microseconds: idle timeouts and eviction count it
/// rather than the packets' own timestamps. A capture made of recordings appended one after
/// another (`mergecap -a`, a clock reset) steps back in time at each seam; counted in
/// timestamps, the flows of the earlier recording would not look idle again before the new one
/// passed the old one's latest time, and would stay in the table to the end of the input.
#[derive(Debug, Clone, Copy, Default)]
struct CaptureClock {
    /// Capture time elapsed: the sum of the forward steps.
    elapsed: i64,
    /// Latest timestamp of the current recording.
    high: Option<i64>,
}

impl CaptureClock {
    /// Takes the next timestamp. A step back longer than `seam` starts a new recording, whose
    /// time then adds to the elapsed time; a shorter one (packets slightly out of order) lets no
    /// time pass.
    fn observe(&mut self, ts: Timestamp, seam: i64) {
        match self.high {
            Some(high) if ts.0 > high => {
                self.elapsed = self.elapsed.saturating_add(ts.0.saturating_sub(high));
                self.high = Some(ts.0);
            }
            Some(high) if high.saturating_sub(ts.0) > seam => self.high = Some(ts.0),
            Some(_) => {}
            None => self.high = Some(ts.0),
        }
    }
}

/// Counters of one table.
#[derive(Debug, Default, Clone, Copy)]
pub struct TableStats {
    pub flows: u64,
    pub evicted: u64,
    pub timed_out: u64,
    pub gaps: u64,
}

pub struct FlowTable<'d> {
    detectors: &'d [Box<dyn Detector>],
    limits: TableLimits,
    /// Entries are boxed: the map's buckets (a power of two, up to 8/7 of the flows and twice
    /// that while it grows) then cost a key and a pointer each instead of a whole entry.
    flows: FxHashMap<FlowKey, Box<FlowEntry>>,
    clock: CaptureClock,
    /// [`CaptureClock`] time of the last idle sweep.
    last_sweep: i64,
    pub stats: TableStats,
    /// Connections that never carried payload, kept for the end of the input (when enabled).
    attempts: Option<Vec<ConnectionAttempt>>,
    /// Hashes of the endpoint pairs of recent TCP flows that carried payload (when attempts
    /// are kept): the bare end of such a connection (the last ACK after both FINs starts a flow
    /// of its own) is not an attempt. Cleared when full, so it holds the recent ones.
    carried_payload: rustc_hash::FxHashSet<u64>,
}

/// Most payload-less connections kept per table until the end of the input (about 100 bytes
/// each); later ones are dropped.
pub const MAX_ATTEMPTS: usize = 65_536;

impl<'d> FlowTable<'d> {
    pub fn new(detectors: &'d [Box<dyn Detector>], limits: TableLimits) -> Self {
        FlowTable {
            detectors,
            limits,
            flows: FxHashMap::default(),
            clock: CaptureClock::default(),
            last_sweep: 0,
            stats: TableStats::default(),
            attempts: None,
            carried_payload: rustc_hash::FxHashSet::default(),
        }
    }

    /// Keeps the connections that never carried payload ([`ConnectionAttempt`]) for
    /// [`FlowTable::take_attempts`] (capture files: judged once the whole input is read).
    pub fn collect_attempts(&mut self) {
        self.attempts.get_or_insert_with(Vec::new);
    }

    /// The payload-less connections kept so far, in the order they closed.
    pub fn take_attempts(&mut self) -> Vec<ConnectionAttempt> {
        self.attempts
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Feeds one decoded packet. Findings of flows that end go to `emit`.
    pub fn packet(
        &mut self,
        ts: Timestamp,
        number: u64,
        pkt: &Decoded<'_>,
        ctx: &mut Context,
        emit: &mut impl FnMut(Finding),
    ) {
        self.clock.observe(ts, self.seam());
        let now = self.clock.elapsed;
        if now.saturating_sub(self.last_sweep) > 10_000_000 {
            self.sweep(ctx, emit);
            self.last_sweep = now;
        }
        let src = SocketAddr::new(pkt.src, pkt.sport);
        let dst = SocketAddr::new(pkt.dst, pkt.dport);
        let key = FlowKey::new(src, dst, pkt.transport);
        let flags = pkt.tcp.map(|t| t.flags).unwrap_or(0);

        if self.flows.len() >= self.limits.max_flows && !self.flows.contains_key(&key) {
            self.evict_one(ctx, emit);
        }
        let stats = &mut self.stats;
        let entry = self.flows.entry(key).or_insert_with(|| {
            // SYN+ACK first: the receiver is the initiator.
            let syn = flags & tcp_flags::SYN != 0;
            let ack = flags & tcp_flags::ACK != 0;
            let (a, b, known) = if syn && ack {
                (dst, src, true)
            } else {
                (src, dst, syn)
            };
            stats.flows += 1;
            Box::new(FlowEntry {
                last_active: now,
                info: FlowInfo {
                    transport: pkt.transport,
                    a,
                    b,
                    initiator_known: known,
                    first_seen: ts,
                    last_seen: ts,
                    first_packet: number,
                    stats: [DirStats::default(); 2],
                    first_packets: Vec::new(),
                    first_payload: Default::default(),
                    clock: None,
                    end: FlowEnd::Open,
                },
                reasm: [Reassembler::default(), Reassembler::default()],
                follow: Following::default(),
                fin: [false; 2],
            })
        });
        let dir = if src == entry.info.a {
            Direction::AtoB
        } else {
            Direction::BtoA
        };
        update_stats(&mut entry.info, dir, ts, pkt, flags);
        entry.last_active = now;

        match pkt.tcp {
            Some(tcp) => {
                if flags & tcp_flags::SYN != 0 {
                    entry.reasm[dir.index()].syn(tcp.seq);
                }
                // Payload the snap length cut off is a hole, not data.
                let missing = pkt.wire_payload_len as u64
                    - (pkt.payload.len() as u64).min(pkt.wire_payload_len as u64);
                if !pkt.payload.is_empty() && entry.follow.interested(&self.limits) {
                    let detectors = self.detectors;
                    let limits = &self.limits;
                    let FlowEntry {
                        info,
                        reasm,
                        follow,
                        ..
                    } = &mut **entry;
                    let mut lost = missing;
                    let mut gaps = 0;
                    reasm[dir.index()].push(tcp.seq, pkt.payload, &mut |c| match c {
                        Chunk::Data(d) => follow.deliver(detectors, limits, info, dir, ts, d, ctx),
                        Chunk::Gap(n) => {
                            lost += n;
                            gaps += 1;
                            follow.gap(dir, n);
                        }
                    });
                    info.stats[dir.index()].missing_bytes += lost;
                    self.stats.gaps += gaps;
                    if info.clock.is_none() && !follow.followers.is_empty() {
                        info.clock = Some(Box::default());
                    }
                }
                if flags & tcp_flags::FIN != 0 {
                    entry.fin[dir.index()] = true;
                }
                let rst = flags & tcp_flags::RST != 0;
                if rst || (entry.fin[0] && entry.fin[1]) {
                    let end = if rst { FlowEnd::Rst } else { FlowEnd::Fin };
                    if let Some(entry) = self.flows.remove(&key) {
                        self.close(entry, end, ctx, emit);
                    }
                }
            }
            None => {
                if !pkt.payload.is_empty() && entry.follow.interested(&self.limits) {
                    entry.follow.deliver(
                        self.detectors,
                        &self.limits,
                        &entry.info,
                        dir,
                        ts,
                        pkt.payload,
                        ctx,
                    );
                }
            }
        }
    }

    /// A step back in time longer than this starts a new recording ([`CaptureClock`]): the
    /// longer idle timeout, so that no flow the step could matter to is still waiting for it.
    fn seam(&self) -> i64 {
        self.limits
            .tcp_idle_secs
            .max(self.limits.udp_idle_secs)
            .saturating_mul(1_000_000)
    }

    /// Ends flows idle longer than their timeout, in capture time.
    fn sweep(&mut self, ctx: &mut Context, emit: &mut impl FnMut(Finding)) {
        let now = self.clock.elapsed;
        let tcp = self.limits.tcp_idle_secs.saturating_mul(1_000_000);
        let udp = self.limits.udp_idle_secs.saturating_mul(1_000_000);
        let mut idle: Vec<(u64, FlowKey)> = self
            .flows
            .iter()
            .filter(|(k, e)| {
                let limit = if k.transport() == Transport::Tcp {
                    tcp
                } else {
                    udp
                };
                now.saturating_sub(e.last_active) > limit
            })
            .map(|(k, e)| (e.info.first_packet, *k))
            .collect();
        // In the order the flows began, whatever the hash order.
        idle.sort_unstable_by_key(|(first, _)| *first);
        for (_, key) in idle {
            if let Some(entry) = self.flows.remove(&key) {
                self.stats.timed_out += 1;
                self.close(entry, FlowEnd::IdleTimeout, ctx, emit);
            }
        }
    }

    /// Makes room: ends the least recently active of a sample of flows.
    fn evict_one(&mut self, ctx: &mut Context, emit: &mut impl FnMut(Finding)) {
        let victim = self
            .flows
            .iter()
            .take(64)
            .min_by_key(|(_, e)| e.last_active)
            .map(|(k, _)| *k);
        if let Some(key) = victim {
            if let Some(entry) = self.flows.remove(&key) {
                self.stats.evicted += 1;
                self.close(entry, FlowEnd::Evicted, ctx, emit);
            }
        }
    }

    /// Ends every flow (end of input).
    pub fn finish(&mut self, ctx: &mut Context, emit: &mut impl FnMut(Finding)) {
        // Only the boxes move; the map's buckets are given back before the flows close.
        let mut all: Vec<Box<FlowEntry>> = self.flows.drain().map(|(_, e)| e).collect();
        self.flows = FxHashMap::default();
        // Deterministic order for reproducible output (a flow's first packet number is unique).
        all.sort_unstable_by_key(|e| (e.info.first_packet, e.info.first_seen));
        for entry in all {
            self.close(entry, FlowEnd::EndOfInput, ctx, emit);
        }
    }

    fn close(
        &mut self,
        mut entry: Box<FlowEntry>,
        end: FlowEnd,
        ctx: &mut Context,
        emit: &mut impl FnMut(Finding),
    ) {
        entry.info.end = end;
        // Hand over what the reassemblers still hold.
        if entry.follow.followers.iter().any(|f| !f.done) {
            let FlowEntry {
                info,
                reasm,
                follow,
                ..
            } = &mut *entry;
            let ts = info.last_seen;
            for dir in [Direction::AtoB, Direction::BtoA] {
                reasm[dir.index()].flush(&mut |c| match c {
                    Chunk::Data(d) => follow.feed(info, dir, ts, d, ctx),
                    Chunk::Gap(n) => follow.gap(dir, n),
                });
            }
        }
        let mut findings = Vec::new();
        for f in entry.follow.followers.drain(..) {
            findings.extend(f.state.on_close(&entry.info, ctx));
        }
        let mut extra = Vec::new();
        for d in self.detectors {
            if let Some(f) = d.on_flow_end(&entry.info, &findings, ctx) {
                extra.push(f);
            }
        }
        findings.extend(extra);
        if let Some(attempts) = self.attempts.as_mut() {
            let info = &entry.info;
            if info.transport == Transport::Tcp {
                let pair = endpoint_pair_hash(info.a, info.b);
                if info.stats.iter().any(|s| s.payload_bytes > 0) {
                    if self.carried_payload.len() >= MAX_ATTEMPTS {
                        self.carried_payload.clear();
                    }
                    self.carried_payload.insert(pair);
                } else if attempts.len() < MAX_ATTEMPTS
                    && !findings.iter().any(|f| f.confidence >= Confidence::Medium)
                    && (info.initiator_known || !self.carried_payload.contains(&pair))
                {
                    attempts.extend(ConnectionAttempt::from_flow(info));
                }
            }
        }
        report(findings, &entry.info, ctx, emit);
    }

    /// Ends idle flows as of `now` (live capture calls this when no packets arrive).
    pub fn tick(&mut self, now: Timestamp, ctx: &mut Context, emit: &mut impl FnMut(Finding)) {
        self.clock.observe(now, self.seam());
        self.sweep(ctx, emit);
        self.last_sweep = self.clock.elapsed;
    }

    /// Live capture: reports flows that detectors have followed for `max_age_secs` without the flow
    /// ending (mining sessions last for days), then lets the detectors pick the flow up afresh
    /// exactly as they pick up a capture that starts mid-session.
    pub fn checkpoint(
        &mut self,
        now: Timestamp,
        max_age_secs: i64,
        ctx: &mut Context,
        emit: &mut impl FnMut(Finding),
    ) {
        let limit = max_age_secs.saturating_mul(1_000_000);
        for entry in self.flows.values_mut() {
            let Some(since) = entry.follow.since else {
                continue;
            };
            if now.0.saturating_sub(since.0) < limit || entry.follow.followers.is_empty() {
                continue;
            }
            let mut findings = Vec::new();
            let mut info = entry.info.clone();
            info.end = FlowEnd::Open;
            for f in std::mem::take(&mut entry.follow).followers {
                findings.extend(f.state.on_close(&info, ctx));
            }
            entry.follow.since = Some(now);
            report(findings, &info, ctx, emit);
        }
    }
}

/// The same hash for both orders of two endpoints.
fn endpoint_pair_hash(a: SocketAddr, b: SocketAddr) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    if a <= b { (a, b) } else { (b, a) }.hash(&mut h);
    h.finish()
}

/// Findings for the payload-less connections whose server the input proved a pool
/// ([`minetrace_detect::endpoint::attempt_findings`]), each with its attempt's first packet
/// number, stamped with source, packet, transport and id (the one kind of `Low` finding the
/// engine and the sensor report).
pub fn proven_attempt_findings(
    attempts: Vec<ConnectionAttempt>,
    proven: &ProvenPools,
    ctx: &Context,
) -> Vec<(u64, Finding)> {
    let mut found = minetrace_detect::endpoint::attempt_findings(attempts, proven, ctx);
    for (first_packet, f) in &mut found {
        f.source = ctx.source.clone();
        f.source.packet = Some(*first_packet);
        f.transport = Some("tcp".to_string());
        f.assign_id();
    }
    found
}

/// Stamps the flow's source and id on findings and hands on those above the `Low` hint level.
fn report(findings: Vec<Finding>, info: &FlowInfo, ctx: &Context, emit: &mut impl FnMut(Finding)) {
    for mut f in findings {
        // A weak hint is never reported alone.
        if f.confidence < Confidence::Medium {
            continue;
        }
        if f.source.kind.is_empty() {
            f.source = ctx.source.clone();
        }
        if f.source.packet.is_none() {
            f.source.packet = Some(info.first_packet);
        }
        if f.transport.is_none() {
            f.transport = Some(info.transport.as_str().to_string());
        }
        if f.id.is_empty() {
            f.assign_id();
        }
        attach_client_clock(&mut f, info);
        emit(f);
    }
}

/// Puts the client side's clock samples into `evidence.extra.client_clock` (seconds since the
/// epoch and the value), where the per-address rig estimate reads them.
fn attach_client_clock(f: &mut Finding, info: &FlowInfo) {
    let Some(clock) = info.clock.as_ref() else {
        return;
    };
    let Some(client) = f.client.as_ref() else {
        return;
    };
    let dir = if client.ip == info.a.ip() && client.port == info.a.port() {
        Direction::AtoB
    } else {
        Direction::BtoA
    };
    let Some(c) = clock.get(dir.index()) else {
        return;
    };
    if c.tsval.is_empty() && c.ip_id.is_empty() {
        return;
    }
    let secs = |t: Timestamp| (t.micros() as f64 / 1e6 * 1e6).round() / 1e6;
    let tsval: Vec<serde_json::Value> = c
        .tsval
        .iter()
        .map(|(t, v)| serde_json::json!([secs(*t), v]))
        .collect();
    let ip_id: Vec<serde_json::Value> = c
        .ip_id
        .iter()
        .map(|(t, v)| serde_json::json!([secs(*t), v]))
        .collect();
    f.evidence.extra.insert(
        "client_clock".into(),
        serde_json::json!({ "tsval": tsval, "ip_id": ip_id }),
    );
}

fn update_stats(info: &mut FlowInfo, dir: Direction, ts: Timestamp, pkt: &Decoded<'_>, flags: u8) {
    if ts > info.last_seen {
        info.last_seen = ts;
    }
    if ts < info.first_seen {
        info.first_seen = ts;
    }
    let len = pkt.payload.len().max(pkt.wire_payload_len as usize) as u32;
    if info.first_packets.len() < FIRST_PACKETS {
        info.first_packets.push(PacketInfo {
            ts,
            dir,
            payload_len: len,
            tcp_flags: flags,
        });
    }
    if let Some(clock) = info.clock.as_mut() {
        if let Some(c) = clock.get_mut(dir.index()) {
            c.offer(ts, pkt.tcp.and_then(|t| t.tsval), pkt.ip_id);
        }
    }
    if len > 0 && info.first_payload == PayloadHint::Unknown {
        info.first_payload = PayloadHint::classify(pkt.payload);
    }
    let s = &mut info.stats[dir.index()];
    s.packets += 1;
    if flags & tcp_flags::PSH != 0 {
        s.psh_packets += 1;
    }
    if len > 0 {
        if s.payload_packets == 0 || len < s.min_payload {
            s.min_payload = len;
        }
        s.max_payload = s.max_payload.max(len);
        s.payload_packets += 1;
        s.payload_bytes += u64::from(len);
        if let Some(prev) = s.last_payload_ts {
            let gap = ts.seconds_since(prev);
            s.gap_count += 1;
            let delta = gap - s.gap_mean;
            s.gap_mean += delta / s.gap_count as f64;
            s.gap_m2 += delta * (gap - s.gap_mean);
        }
        s.last_payload_ts = Some(ts);
    }
}

impl Following {
    /// Offers a chunk to detectors that have not accepted the flow (within the offer window),
    /// then feeds it to every detector following the flow.
    #[allow(clippy::too_many_arguments)]
    fn deliver(
        &mut self,
        detectors: &[Box<dyn Detector>],
        limits: &TableLimits,
        info: &FlowInfo,
        dir: Direction,
        ts: Timestamp,
        data: &[u8],
        ctx: &mut Context,
    ) {
        if self.offering(limits) {
            self.offered_chunks += 1;
            self.offered_bytes = self.offered_bytes.saturating_add(data.len() as u32);
            for (i, d) in detectors.iter().enumerate().take(64) {
                if self.accepted & (1 << i) != 0 {
                    continue;
                }
                if let Some(state) = d.open(info, dir, data, ctx) {
                    self.since.get_or_insert(ts);
                    self.accepted |= 1 << i;
                    self.followers.push(Follower { state, done: false });
                }
            }
        }
        self.feed(info, dir, ts, data, ctx);
    }

    fn feed(
        &mut self,
        info: &FlowInfo,
        dir: Direction,
        ts: Timestamp,
        data: &[u8],
        ctx: &mut Context,
    ) {
        for f in self.followers.iter_mut().filter(|f| !f.done) {
            if f.state.on_data(info, dir, ts, data, ctx) == Progress::Done {
                f.done = true;
            }
        }
    }

    fn gap(&mut self, dir: Direction, bytes: u64) {
        for f in self.followers.iter_mut().filter(|f| !f.done) {
            f.state.on_gap(dir, bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const SEC: i64 = 1_000_000;

    fn udp<'a>(src: &str, dst: &str, payload: &'a [u8]) -> Decoded<'a> {
        let (s, d): (SocketAddr, SocketAddr) = (src.parse().unwrap(), dst.parse().unwrap());
        Decoded {
            src: s.ip(),
            dst: d.ip(),
            transport: Transport::Udp,
            sport: s.port(),
            dport: d.port(),
            tcp: None,
            ip_id: None,
            payload,
            wire_payload_len: payload.len() as u32,
            vlan: None,
        }
    }

    #[test]
    fn the_capture_clock_counts_forward_steps_and_restarts_after_a_seam() {
        let seam = 600 * SEC;
        let mut c = CaptureClock::default();
        for (ts, elapsed) in [
            (1_000 * SEC, 0),
            (1_010 * SEC, 10 * SEC),
            // Slightly out of order: no time passes, and none is counted twice after it.
            (1_009 * SEC, 10 * SEC),
            (1_011 * SEC, 11 * SEC),
            // An appended recording from an earlier day: a seam, then its own time adds up.
            (5 * SEC, 11 * SEC),
            (65 * SEC, 71 * SEC),
            // Back to the later timeline: a forward step like any other.
            (2_000 * SEC, 2_006 * SEC),
        ] {
            c.observe(Timestamp(ts), seam);
            assert_eq!(c.elapsed, elapsed, "at {ts}");
        }
        // Absurd timestamps neither overflow nor go backwards.
        c.observe(Timestamp(i64::MIN), seam);
        c.observe(Timestamp(i64::MAX), seam);
        assert_eq!(c.elapsed, i64::MAX);
        c.observe(Timestamp(0), seam);
        assert_eq!(c.elapsed, i64::MAX);
    }

    /// A recording appended after a later one (time steps back a day): the earlier recording's
    /// flows end by idle timeout once the appended one has run past the timeout, instead of
    /// staying in the table to the end of the input.
    #[test]
    fn flows_of_an_earlier_recording_time_out_in_an_appended_one() {
        let detectors: Vec<Box<dyn Detector>> = Vec::new();
        let mut table = FlowTable::new(&detectors, TableLimits::default());
        let mut ctx = Context::new(
            Arc::new(minetrace_intel::Intel::builtin()),
            "capture",
            "t.pcap",
        );
        let mut emit = |_f: Finding| {};
        let day = 86_400 * SEC;
        let first = Timestamp(10 * day);
        table.packet(
            first,
            1,
            &udp("10.0.0.1:5000", "10.0.0.2:53", b"a"),
            &mut ctx,
            &mut emit,
        );
        let appended = Timestamp(first.0 - day);
        for i in 0..=200 {
            let ts = Timestamp(appended.0 + i * SEC);
            let p = udp("10.0.0.3:5000", "10.0.0.4:53", b"b");
            table.packet(ts, 2 + i as u64, &p, &mut ctx, &mut emit);
        }
        // 200 s into the appended recording: the first flow (UDP, 120 s) has ended; the
        // appended one is active.
        assert_eq!(table.len(), 1);
        assert_eq!(table.stats.timed_out, 1);
        // Counted in timestamps it would still be there: the appended recording is a day
        // behind the first one's last packet.
    }
}
