//! A TCP conversation as seen from a tap: handshake, data in MSS-sized segments with PSH on the
//! last one, ACKs (piggybacked or delayed), FIN teardown, plus raw segments with any sequence
//! number for tests that need reordering or duplicates.

use crate::packet::{FrameBuilder, Packet, TcpFlags, TcpSegment};
use std::net::SocketAddr;

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }
}

/// Delayed-ACK timer of common stacks (Linux uses 40 ms minimum).
const DELAYED_ACK_MICROS: u64 = 40_000;
/// Gap between back-to-back segments of one message.
const SEGMENT_GAP_MICROS: u64 = 15;

/// One TCP connection being written out packet by packet.
#[derive(Debug, Clone)]
pub struct TcpConversation {
    pub client: SocketAddr,
    pub server: SocketAddr,
    client_link: FrameBuilder,
    server_link: FrameBuilder,
    /// Next sequence number each side will send.
    client_next_seq: u32,
    server_next_seq: u32,
    /// Highest byte each side has acknowledged... what it will put in its ACK field.
    client_ack: u32,
    server_ack: u32,
    client_ip_id: u16,
    server_ip_id: u16,
    pub mss: usize,
    /// Half a round trip: the delay between one side sending and the other side's reaction.
    pub half_rtt_micros: u64,
    /// An ACK owed by one side, and when its delayed-ACK timer fires.
    pending_ack: Option<(Direction, u64)>,
    last_ts: u64,
    packets: Vec<Packet>,
    /// Bytes of payload sent in each direction (client->server, server->client).
    pub bytes_sent: [u64; 2],
    /// The client host's TCP timestamp clock, when it sends the option (RFC 7323).
    client_clock: Option<TsClock>,
}

/// A host's TCP timestamp clock: `tsval = offset + rate_hz * seconds` (each host has its own
/// offset and, through its crystal's skew, its own rate: what Kohno et al. 2005 count hosts by).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TsClock {
    pub offset: u32,
    pub rate_hz: f64,
}

impl TsClock {
    pub fn at(&self, micros: u64) -> u32 {
        self.offset
            .wrapping_add((micros as f64 * self.rate_hz / 1e6) as u64 as u32)
    }
}

impl TcpConversation {
    /// A connection between two endpoints with chosen initial sequence numbers. Nothing is
    /// emitted until [`handshake`](Self::handshake) or [`assume_established`](Self::assume_established).
    pub fn new(client: SocketAddr, server: SocketAddr, client_isn: u32, server_isn: u32) -> Self {
        let client_link = FrameBuilder::for_host(client.ip());
        let mut server_link = client_link.reversed();
        server_link.ttl = 52; // a remote server's TTL has been decremented on the way
        TcpConversation {
            client,
            server,
            client_link,
            server_link,
            client_next_seq: client_isn,
            server_next_seq: server_isn,
            client_ack: 0,
            server_ack: 0,
            client_ip_id: (client_isn >> 16) as u16,
            server_ip_id: (server_isn >> 16) as u16,
            mss: 1448,
            half_rtt_micros: 20_000,
            pending_ack: None,
            last_ts: 0,
            packets: Vec::new(),
            bytes_sent: [0, 0],
            client_clock: None,
        }
    }

    /// The client sends TCP timestamps from `clock` on every segment.
    pub fn set_client_clock(&mut self, clock: TsClock) {
        self.client_clock = Some(clock);
    }

    /// The client's next IPv4 Identification value (a host-wide counter shared by all its
    /// connections, as older stacks and many embedded ones keep).
    pub fn set_client_ip_id(&mut self, next: u16) {
        self.client_ip_id = next.wrapping_sub(1);
    }

    /// The client's last IPv4 Identification value.
    pub fn client_ip_id(&self) -> u16 {
        self.client_ip_id
    }

    /// Replace the link settings (e.g. to add VLAN tags) for both directions.
    pub fn set_link(&mut self, client_link: FrameBuilder) {
        self.server_link = client_link.reversed();
        self.server_link.ttl = 52;
        self.client_link = client_link;
    }

    /// Time of the last packet written (microseconds).
    pub fn now(&self) -> u64 {
        self.last_ts
    }

    /// Timestamps never go backwards within one conversation.
    fn clamp(&mut self, t: u64) -> u64 {
        let t = t.max(self.last_ts + 1);
        self.last_ts = t;
        t
    }

    fn emit(&mut self, dir: Direction, t: u64, mut seg: TcpSegment) {
        let t = self.clamp(t);
        if let (Direction::ClientToServer, Some(clock)) = (dir, self.client_clock) {
            // NOP, NOP, kind 8 length 10, TSval, TSecr (the echo is not modelled).
            seg.options.extend_from_slice(&[1, 1, 8, 10]);
            seg.options.extend_from_slice(&clock.at(t).to_be_bytes());
            seg.options.extend_from_slice(&0u32.to_be_bytes());
        }
        let data = match dir {
            Direction::ClientToServer => {
                self.client_ip_id = self.client_ip_id.wrapping_add(1);
                self.client_link
                    .tcp(self.client, self.server, &seg, self.client_ip_id)
            }
            Direction::ServerToClient => {
                self.server_ip_id = self.server_ip_id.wrapping_add(1);
                self.server_link
                    .tcp(self.server, self.client, &seg, self.server_ip_id)
            }
        };
        self.packets.push(Packet { ts_micros: t, data });
    }

    fn next_seq(&self, dir: Direction) -> u32 {
        match dir {
            Direction::ClientToServer => self.client_next_seq,
            Direction::ServerToClient => self.server_next_seq,
        }
    }

    fn ack_of(&self, dir: Direction) -> u32 {
        match dir {
            Direction::ClientToServer => self.client_ack,
            Direction::ServerToClient => self.server_ack,
        }
    }

    fn advance_seq(&mut self, dir: Direction, by: u32) {
        match dir {
            Direction::ClientToServer => {
                self.client_next_seq = self.client_next_seq.wrapping_add(by);
                self.server_ack = self.client_next_seq;
            }
            Direction::ServerToClient => {
                self.server_next_seq = self.server_next_seq.wrapping_add(by);
                self.client_ack = self.server_next_seq;
            }
        }
    }

    /// SYN, SYN/ACK, ACK starting at `t`.
    pub fn handshake(&mut self, t: u64) {
        let syn = TcpSegment::new(self.client_next_seq, 0, TcpFlags::SYN, b"")
            .with_mss_option(self.mss as u16 + 12);
        self.emit(Direction::ClientToServer, t, syn);
        self.advance_seq(Direction::ClientToServer, 1);
        let syn_ack = TcpSegment::new(
            self.server_next_seq,
            self.server_ack,
            TcpFlags::SYN_ACK,
            b"",
        )
        .with_mss_option(self.mss as u16 + 12);
        self.emit(
            Direction::ServerToClient,
            t + 2 * self.half_rtt_micros,
            syn_ack,
        );
        self.advance_seq(Direction::ServerToClient, 1);
        let ack = TcpSegment::new(self.client_next_seq, self.client_ack, TcpFlags::ACK, b"");
        let t_ack = self.last_ts + 60;
        self.emit(Direction::ClientToServer, t_ack, ack);
    }

    /// Start mid-connection (a capture that began after the handshake): both sides have
    /// already acknowledged each other's initial sequence numbers.
    pub fn assume_established(&mut self) {
        self.client_ack = self.server_next_seq;
        self.server_ack = self.client_next_seq;
    }

    /// Write a pure ACK owed by the other side before `dir` sends new data, or let `dir`
    /// piggyback the ACK it owes.
    fn settle_pending_ack(&mut self, dir: Direction, t: u64) {
        if let Some((acker, due)) = self.pending_ack {
            if acker != dir {
                self.pending_ack = None;
                let seg =
                    TcpSegment::new(self.next_seq(acker), self.ack_of(acker), TcpFlags::ACK, b"");
                self.emit(acker, due.min(t.saturating_sub(1)), seg);
            } else {
                self.pending_ack = None;
            }
        }
    }

    /// Send one application message at time `t`, split into MSS-sized segments.
    pub fn send(&mut self, dir: Direction, t: u64, data: &[u8]) {
        let mss = self.mss.max(1);
        let chunks: Vec<Vec<u8>> = data.chunks(mss).map(|c| c.to_vec()).collect();
        self.send_segments(dir, t, chunks);
    }

    /// Send one message split at byte `split_at` into two segments (regardless of MSS), e.g. so
    /// a later capture cut can start in the middle of a line.
    pub fn send_split(&mut self, dir: Direction, t: u64, data: &[u8], split_at: usize) {
        let split_at = split_at.min(data.len());
        let (a, b) = data.split_at(split_at);
        self.send_segments(dir, t, vec![a.to_vec(), b.to_vec()]);
    }

    fn send_segments(&mut self, dir: Direction, t: u64, chunks: Vec<Vec<u8>>) {
        let t = t.max(self.last_ts + 1);
        self.settle_pending_ack(dir, t);
        let n = chunks.len();
        let mut ts = t;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let flags = if i + 1 == n {
                TcpFlags::PSH_ACK
            } else {
                TcpFlags::ACK
            };
            let seg = TcpSegment::new(self.next_seq(dir), self.ack_of(dir), flags, &chunk);
            self.emit(dir, ts, seg);
            self.advance_seq(dir, chunk.len() as u32);
            self.bytes_sent[dir_index(dir)] += chunk.len() as u64;
            // Receivers ACK at least every second full segment at once.
            if i % 2 == 1 && i + 1 < n {
                let peer = dir.reverse();
                let ack =
                    TcpSegment::new(self.next_seq(peer), self.ack_of(peer), TcpFlags::ACK, b"");
                self.emit(peer, ts + self.half_rtt_micros / 4 + 1, ack);
            }
            ts = self.last_ts + SEGMENT_GAP_MICROS;
        }
        self.pending_ack = Some((dir.reverse(), self.last_ts + DELAYED_ACK_MICROS));
    }

    /// A request answered by the peer after half a round trip plus `think_micros`.
    pub fn exchange(
        &mut self,
        dir: Direction,
        t: u64,
        request: &[u8],
        reply: &[u8],
        think_micros: u64,
    ) -> u64 {
        self.send(dir, t, request);
        let t_reply = self.last_ts + 2 * self.half_rtt_micros + think_micros;
        self.send(dir.reverse(), t_reply, reply);
        self.last_ts
    }

    /// Emit a segment exactly as given (any seq/ack/flags/payload) without touching the
    /// conversation's sequence state: for retransmissions, reordering and duplicates.
    pub fn raw_segment(&mut self, dir: Direction, t: u64, seg: TcpSegment) {
        self.emit(dir, t, seg);
    }

    /// Current (next) sequence number of a side, for crafting raw segments.
    pub fn seq(&self, dir: Direction) -> u32 {
        self.next_seq(dir)
    }

    /// Current acknowledgement number a side would send.
    pub fn ack(&self, dir: Direction) -> u32 {
        self.ack_of(dir)
    }

    /// FIN from `initiator`, FIN/ACK back, final ACK.
    pub fn close(&mut self, initiator: Direction, t: u64) {
        let t = t.max(self.last_ts + 1);
        self.settle_pending_ack(initiator, t);
        let fin = TcpSegment::new(
            self.next_seq(initiator),
            self.ack_of(initiator),
            TcpFlags::FIN_ACK,
            b"",
        );
        self.emit(initiator, t, fin);
        self.advance_seq(initiator, 1);
        let peer = initiator.reverse();
        let fin2 = TcpSegment::new(
            self.next_seq(peer),
            self.ack_of(peer),
            TcpFlags::FIN_ACK,
            b"",
        );
        let t2 = self.last_ts + 2 * self.half_rtt_micros;
        self.emit(peer, t2, fin2);
        self.advance_seq(peer, 1);
        let last = TcpSegment::new(
            self.next_seq(initiator),
            self.ack_of(initiator),
            TcpFlags::ACK,
            b"",
        );
        let t3 = self.last_ts + 50;
        self.emit(initiator, t3, last);
        self.pending_ack = None;
    }

    /// Flush an owed ACK (end of capture without a close).
    pub fn flush(&mut self) {
        if let Some((acker, due)) = self.pending_ack.take() {
            let seg = TcpSegment::new(self.next_seq(acker), self.ack_of(acker), TcpFlags::ACK, b"");
            self.emit(acker, due, seg);
        }
    }

    /// The packets written so far, in time order.
    pub fn into_packets(mut self) -> Vec<Packet> {
        self.flush();
        self.packets
    }

    /// Borrow the packets written so far.
    pub fn packets(&self) -> &[Packet] {
        &self.packets
    }
}

fn dir_index(dir: Direction) -> usize {
    match dir {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_message_is_segmented_and_acked() {
        let mut c = TcpConversation::new(
            "10.0.0.5:50000".parse().unwrap(),
            "192.0.2.10:3333".parse().unwrap(),
            1000,
            5000,
        );
        c.handshake(1_000_000);
        c.send(Direction::ClientToServer, 2_000_000, &vec![b'a'; 4000]);
        c.send(Direction::ServerToClient, 2_100_000, b"ok\n");
        c.close(Direction::ClientToServer, 3_000_000);
        let p = c.into_packets();
        // 3 handshake + 3 data + 1 mid ack + 1 reply (piggybacks) + 3 fin + (pending none)
        assert!(p.len() >= 10, "{}", p.len());
        assert!(p.windows(2).all(|w| w[0].ts_micros < w[1].ts_micros));
    }
}
