//! Frame builder: Ethernet (optionally 802.1Q / QinQ tagged), IPv4 / IPv6 (optionally with a
//! hop-by-hop extension header), TCP and UDP, with correct lengths and checksums.
//!
//! Everything here is plain byte assembly so tests in other crates can craft edge cases
//! (tags, extension headers, IPv4 fragments, arbitrary TCP sequence numbers) without a capture.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One captured frame: a timestamp (microseconds since the Unix epoch) and the link-layer bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub ts_micros: u64,
    pub data: Vec<u8>,
}

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_VLAN: u16 = 0x8100;
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
pub const IPPROTO_HOPOPTS: u8 = 0;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;

/// TCP flag bits as they sit in byte 13 of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const SYN_ACK: TcpFlags = TcpFlags(0x12);
    pub const PSH_ACK: TcpFlags = TcpFlags(0x18);
    pub const FIN_ACK: TcpFlags = TcpFlags(0x11);

    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

/// A TCP segment before it is wrapped in IP: everything the header needs plus the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSegment {
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// Raw TCP options; padded with NOPs to a multiple of 4 bytes when built.
    pub options: Vec<u8>,
    pub payload: Vec<u8>,
}

impl TcpSegment {
    pub fn new(seq: u32, ack: u32, flags: TcpFlags, payload: &[u8]) -> Self {
        TcpSegment {
            seq,
            ack,
            flags,
            window: 64240,
            options: Vec::new(),
            payload: payload.to_vec(),
        }
    }

    /// The MSS option (kind 2, length 4), as sent on SYN and SYN/ACK.
    pub fn with_mss_option(mut self, mss: u16) -> Self {
        self.options.extend_from_slice(&[2, 4]);
        self.options.extend_from_slice(&mss.to_be_bytes());
        self
    }
}

/// Link and IP layer choices shared by every frame one builder makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameBuilder {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    /// VLAN ids, outermost first. One tag is 802.1Q (0x8100); with two or more the outer ones
    /// use the 802.1ad service tag (0x88a8), as QinQ switches do.
    pub vlan_tags: Vec<u16>,
    /// Put an (empty, PadN-filled) hop-by-hop options header in front of IPv6 payloads.
    pub ipv6_hop_by_hop: bool,
    pub ttl: u8,
    /// Pad frames shorter than 60 bytes with zeros, as Ethernet does on the wire; parsers must
    /// then trust the IP length fields rather than the frame length.
    pub pad_to_minimum: bool,
}

impl Default for FrameBuilder {
    fn default() -> Self {
        FrameBuilder {
            src_mac: [0x02, 0x00, 0x00, 0x00, 0x00, 0x01],
            dst_mac: [0x02, 0x00, 0x00, 0x00, 0x00, 0xfe],
            vlan_tags: Vec::new(),
            ipv6_hop_by_hop: false,
            ttl: 64,
            pad_to_minimum: true,
        }
    }
}

impl FrameBuilder {
    /// A builder whose source MAC is derived from an address, so frames from one host share a MAC.
    pub fn for_host(ip: IpAddr) -> Self {
        let mut b = FrameBuilder::default();
        let octets: Vec<u8> = match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets()[12..].to_vec(),
        };
        b.src_mac[2..6].copy_from_slice(&octets[..4]);
        b
    }

    /// The same link settings with source and destination MAC swapped (the reply direction).
    pub fn reversed(&self) -> Self {
        let mut b = self.clone();
        std::mem::swap(&mut b.src_mac, &mut b.dst_mac);
        b
    }

    /// Ethernet header (with tags) around an already built network-layer packet.
    pub fn ethernet(&self, ethertype: u16, network: &[u8]) -> Vec<u8> {
        let mut f = Vec::with_capacity(14 + 4 * self.vlan_tags.len() + network.len());
        f.extend_from_slice(&self.dst_mac);
        f.extend_from_slice(&self.src_mac);
        let n = self.vlan_tags.len();
        for (i, vid) in self.vlan_tags.iter().enumerate() {
            let tpid = if i + 1 < n {
                ETHERTYPE_QINQ
            } else {
                ETHERTYPE_VLAN
            };
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(network);
        if self.pad_to_minimum && f.len() < 60 {
            f.resize(60, 0);
        }
        f
    }

    /// A full frame carrying `l4` (a finished TCP/UDP header + payload) from `src` to `dst`.
    pub fn ip_frame(
        &self,
        src: IpAddr,
        dst: IpAddr,
        protocol: u8,
        l4: &[u8],
        ip_id: u16,
    ) -> Vec<u8> {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let ip = ipv4_packet(s, d, protocol, l4, ip_id, self.ttl, 0, false);
                self.ethernet(ETHERTYPE_IPV4, &ip)
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let ip = ipv6_packet(s, d, protocol, l4, self.ttl, self.ipv6_hop_by_hop);
                self.ethernet(ETHERTYPE_IPV6, &ip)
            }
            // Mixed families cannot share a packet; map the v4 side into IPv6 so a caller's
            // mistake still yields a well-formed frame rather than a panic.
            (s, d) => {
                let s6 = to_v6(s);
                let d6 = to_v6(d);
                let ip = ipv6_packet(s6, d6, protocol, l4, self.ttl, self.ipv6_hop_by_hop);
                self.ethernet(ETHERTYPE_IPV6, &ip)
            }
        }
    }

    /// A TCP frame. The checksum covers the pseudo-header of the addresses given.
    pub fn tcp(&self, src: SocketAddr, dst: SocketAddr, seg: &TcpSegment, ip_id: u16) -> Vec<u8> {
        let l4 = tcp_bytes(src, dst, seg);
        self.ip_frame(src.ip(), dst.ip(), IPPROTO_TCP, &l4, ip_id)
    }

    /// A UDP frame.
    pub fn udp(&self, src: SocketAddr, dst: SocketAddr, payload: &[u8], ip_id: u16) -> Vec<u8> {
        let l4 = udp_bytes(src, dst, payload);
        self.ip_frame(src.ip(), dst.ip(), IPPROTO_UDP, &l4, ip_id)
    }

    /// IPv4 fragments of one transport packet (`l4`, already checksummed), each carrying at most
    /// `fragment_size` bytes (rounded down to a multiple of 8, at least 8).
    pub fn ipv4_fragments(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        protocol: u8,
        l4: &[u8],
        ip_id: u16,
        fragment_size: usize,
    ) -> Vec<Vec<u8>> {
        let step = (fragment_size / 8).max(1) * 8;
        let mut frames = Vec::new();
        let mut offset = 0usize;
        while offset < l4.len() || (offset == 0 && l4.is_empty()) {
            let end = (offset + step).min(l4.len());
            let more = end < l4.len();
            let ip = ipv4_packet(
                src,
                dst,
                protocol,
                &l4[offset..end],
                ip_id,
                self.ttl,
                (offset / 8) as u16,
                more,
            );
            frames.push(self.ethernet(ETHERTYPE_IPV4, &ip));
            if end == offset {
                break;
            }
            offset = end;
        }
        frames
    }
}

fn to_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Ones'-complement sum of 16-bit big-endian words (odd trailing byte padded with zero).
fn ones_complement_sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn fold_checksum(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    fold_checksum(ones_complement_sum(0, data))
}

/// TCP/UDP checksum over the IPv4 or IPv6 pseudo-header plus the transport bytes.
pub fn transport_checksum(src: IpAddr, dst: IpAddr, protocol: u8, l4: &[u8]) -> u16 {
    let mut acc = 0u32;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            acc = ones_complement_sum(acc, &s.octets());
            acc = ones_complement_sum(acc, &d.octets());
            acc += u32::from(protocol);
            acc += l4.len() as u32;
        }
        (s, d) => {
            acc = ones_complement_sum(acc, &to_v6(s).octets());
            acc = ones_complement_sum(acc, &to_v6(d).octets());
            let len = l4.len() as u32;
            acc += len >> 16;
            acc += len & 0xffff;
            acc += u32::from(protocol);
        }
    }
    acc = ones_complement_sum(acc, l4);
    fold_checksum(acc)
}

/// TCP header + options + payload with the checksum filled in.
pub fn tcp_bytes(src: SocketAddr, dst: SocketAddr, seg: &TcpSegment) -> Vec<u8> {
    let mut options = seg.options.clone();
    while options.len() % 4 != 0 {
        options.push(1); // NOP
    }
    let header_len = 20 + options.len().min(40);
    options.truncate(40);
    let mut t = Vec::with_capacity(header_len + seg.payload.len());
    t.extend_from_slice(&src.port().to_be_bytes());
    t.extend_from_slice(&dst.port().to_be_bytes());
    t.extend_from_slice(&seg.seq.to_be_bytes());
    t.extend_from_slice(&seg.ack.to_be_bytes());
    t.push(((header_len / 4) as u8) << 4);
    t.push(seg.flags.0);
    t.extend_from_slice(&seg.window.to_be_bytes());
    t.extend_from_slice(&[0, 0]); // checksum, filled below
    t.extend_from_slice(&[0, 0]); // urgent pointer
    t.extend_from_slice(&options);
    t.extend_from_slice(&seg.payload);
    let sum = transport_checksum(src.ip(), dst.ip(), IPPROTO_TCP, &t);
    t[16..18].copy_from_slice(&sum.to_be_bytes());
    t
}

/// UDP header + payload with length and checksum filled in.
pub fn udp_bytes(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let len = (8 + payload.len()) as u16;
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&src.port().to_be_bytes());
    u.extend_from_slice(&dst.port().to_be_bytes());
    u.extend_from_slice(&len.to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let mut sum = transport_checksum(src.ip(), dst.ip(), IPPROTO_UDP, &u);
    if sum == 0 {
        sum = 0xffff; // zero means "no checksum" in UDP
    }
    u[6..8].copy_from_slice(&sum.to_be_bytes());
    u
}

/// An IPv4 header (20 bytes, no options) with checksum, followed by `payload`.
#[allow(clippy::too_many_arguments)]
pub fn ipv4_packet(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    payload: &[u8],
    ip_id: u16,
    ttl: u8,
    fragment_offset_units: u16,
    more_fragments: bool,
) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let dont_fragment = fragment_offset_units == 0 && !more_fragments;
    let mut flags_frag = fragment_offset_units & 0x1fff;
    if more_fragments {
        flags_frag |= 0x2000;
    }
    if dont_fragment {
        flags_frag |= 0x4000;
    }
    let mut p = Vec::with_capacity(total as usize);
    p.push(0x45);
    p.push(0);
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&ip_id.to_be_bytes());
    p.extend_from_slice(&flags_frag.to_be_bytes());
    p.push(ttl);
    p.push(protocol);
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let sum = internet_checksum(&p);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// An IPv6 header, optionally followed by an 8-byte hop-by-hop options header (PadN only),
/// then `payload` of protocol `protocol`.
pub fn ipv6_packet(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    protocol: u8,
    payload: &[u8],
    hop_limit: u8,
    hop_by_hop: bool,
) -> Vec<u8> {
    let ext_len = if hop_by_hop { 8 } else { 0 };
    let payload_len = (ext_len + payload.len()) as u16;
    let mut p = Vec::with_capacity(40 + payload_len as usize);
    p.extend_from_slice(&[0x60, 0, 0, 0]);
    p.extend_from_slice(&payload_len.to_be_bytes());
    p.push(if hop_by_hop {
        IPPROTO_HOPOPTS
    } else {
        protocol
    });
    p.push(hop_limit);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    if hop_by_hop {
        // next header, hdr ext len (0 = 8 bytes), PadN option (type 1, len 4, 4 zero bytes)
        p.extend_from_slice(&[protocol, 0, 1, 4, 0, 0, 0, 0]);
    }
    p.extend_from_slice(payload);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_checksum_verifies_to_zero() {
        let p = ipv4_packet(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(192, 0, 2, 7),
            IPPROTO_TCP,
            b"abc",
            7,
            64,
            0,
            false,
        );
        assert_eq!(internet_checksum(&p[..20]), 0);
        assert_eq!(u16::from_be_bytes([p[2], p[3]]), 23);
    }

    #[test]
    fn tcp_checksum_verifies_over_pseudo_header_v4_and_v6() {
        for (s, d) in [
            ("10.0.0.2:40000", "198.51.100.9:3333"),
            ("[fd00::2]:40000", "[2001:db8::9]:3333"),
        ] {
            let s: SocketAddr = s.parse().unwrap();
            let d: SocketAddr = d.parse().unwrap();
            let seg = TcpSegment::new(1, 2, TcpFlags::PSH_ACK, b"hello world!!");
            let t = tcp_bytes(s, d, &seg);
            assert_eq!(transport_checksum(s.ip(), d.ip(), IPPROTO_TCP, &t), 0);
            let u = udp_bytes(s, d, b"x");
            assert_eq!(transport_checksum(s.ip(), d.ip(), IPPROTO_UDP, &u), 0);
        }
    }

    #[test]
    fn vlan_and_qinq_tags_are_written_outer_first() {
        let b = FrameBuilder {
            vlan_tags: vec![100, 200],
            ..FrameBuilder::default()
        };
        let f = b.ethernet(ETHERTYPE_IPV4, &[0u8; 20]);
        assert_eq!(&f[12..14], &ETHERTYPE_QINQ.to_be_bytes());
        assert_eq!(&f[14..16], &100u16.to_be_bytes());
        assert_eq!(&f[16..18], &ETHERTYPE_VLAN.to_be_bytes());
        assert_eq!(&f[18..20], &200u16.to_be_bytes());
        assert_eq!(&f[20..22], &ETHERTYPE_IPV4.to_be_bytes());
    }

    #[test]
    fn hop_by_hop_header_chains_to_tcp() {
        let b = FrameBuilder {
            ipv6_hop_by_hop: true,
            ..FrameBuilder::default()
        };
        let s: SocketAddr = "[fd00::2]:1".parse().unwrap();
        let d: SocketAddr = "[2001:db8::1]:2".parse().unwrap();
        let f = b.tcp(s, d, &TcpSegment::new(0, 0, TcpFlags::SYN, b""), 0);
        assert_eq!(f[14 + 6], IPPROTO_HOPOPTS);
        assert_eq!(f[14 + 40], IPPROTO_TCP);
        assert_eq!(u16::from_be_bytes([f[18], f[19]]), 8 + 20);
    }

    #[test]
    fn fragments_cover_the_payload_in_8_byte_units() {
        let b = FrameBuilder::default();
        let l4 = vec![0xabu8; 100];
        let frags = b.ipv4_fragments(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(192, 0, 2, 1),
            IPPROTO_UDP,
            &l4,
            9,
            30,
        );
        assert_eq!(frags.len(), 5); // 24*4 + 4
        let last = &frags[4][14..];
        let ff = u16::from_be_bytes([last[6], last[7]]);
        assert_eq!(ff & 0x2000, 0);
        assert_eq!(ff & 0x1fff, 12);
    }
}
