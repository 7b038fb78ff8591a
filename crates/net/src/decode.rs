//! Link, network and transport decoding: Ethernet (802.1Q/QinQ, PPPoE, MPLS), Linux cooked v1/v2,
//! BSD null/loopback, PPP, Cisco HDLC, raw IPv4/IPv6; IPv4 and IPv6 with extension headers; IP-in-IP,
//! 6in4 and GRE tunnels (bounded depth); TCP and UDP. Fragments are counted and skipped.
//! Pure and bounded: every length is checked before slicing; nothing allocates.

use crate::capture::LinkType;
use minetrace_detect::Transport;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// TCP flag bits.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpHeader {
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// TSval of the timestamp option, when present (passive host counting).
    pub tsval: Option<u32>,
}

/// A decoded TCP or UDP packet, borrowing the captured bytes.
#[derive(Debug, Clone)]
pub struct Decoded<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub transport: Transport,
    pub sport: u16,
    pub dport: u16,
    pub tcp: Option<TcpHeader>,
    /// IPv4 identification field (passive host counting).
    pub ip_id: Option<u16>,
    /// Captured payload (may be shorter than on the wire when the snap length cut it).
    pub payload: &'a [u8],
    /// Payload length according to the IP header.
    pub wire_payload_len: u32,
    /// Outermost VLAN id, if tagged.
    pub vlan: Option<u16>,
}

/// Why a packet was not decoded to TCP/UDP (counted, never an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Skip {
    UnsupportedLink(u32),
    NotIp,
    Fragment,
    OtherTransport(u8),
    Truncated,
    Malformed,
    TunnelTooDeep,
}

const MAX_TUNNEL_DEPTH: u8 = 3;
const MAX_VLAN_TAGS: usize = 4;
const MAX_IPV6_EXT: usize = 8;
const MAX_MPLS_LABELS: usize = 8;

/// Decodes one captured frame of the given link type.
pub fn decode(link: LinkType, data: &[u8]) -> Result<Decoded<'_>, Skip> {
    match link {
        LinkType::ETHERNET => ethernet(data),
        LinkType::RAW | LinkType::RAW_OPENBSD | LinkType(14) => ip_any(data, 0, None),
        LinkType::IPV4 => ipv4(data, 0, None),
        LinkType::IPV6 => ipv6(data, 0, None),
        LinkType::NULL | LinkType::LOOP => {
            let fam = data.get(0..4).ok_or(Skip::Truncated)?;
            // DLT_NULL is in the capturing host's byte order, DLT_LOOP big-endian: accept both.
            let le = u32::from_le_bytes([fam[0], fam[1], fam[2], fam[3]]);
            let be = u32::from_be_bytes([fam[0], fam[1], fam[2], fam[3]]);
            let family = if le < 256 { le } else { be };
            let rest = &data[4..];
            match family {
                2 => ipv4(rest, 0, None),
                10 | 24 | 28 | 30 => ipv6(rest, 0, None),
                _ => Err(Skip::NotIp),
            }
        }
        LinkType::LINUX_SLL => {
            let proto = be16(data, 14)?;
            ethertype(proto, data.get(16..).ok_or(Skip::Truncated)?, None, 0)
        }
        LinkType::LINUX_SLL2 => {
            let proto = be16(data, 0)?;
            ethertype(proto, data.get(20..).ok_or(Skip::Truncated)?, None, 0)
        }
        LinkType::PPP | LinkType(50) => ppp(data),
        // Cisco HDLC: address, control, then an ethertype.
        LinkType(104) => {
            let proto = be16(data, 2)?;
            ethertype(proto, data.get(4..).ok_or(Skip::Truncated)?, None, 0)
        }
        LinkType(other) => Err(Skip::UnsupportedLink(other)),
    }
}

fn be16(d: &[u8], at: usize) -> Result<u16, Skip> {
    match d.get(at..at + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
        None => Err(Skip::Truncated),
    }
}

fn be32(d: &[u8], at: usize) -> Result<u32, Skip> {
    match d.get(at..at + 4) {
        Some(b) => Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(Skip::Truncated),
    }
}

fn ethernet(data: &[u8]) -> Result<Decoded<'_>, Skip> {
    let mut ty = be16(data, 12)?;
    let mut pos = 14;
    let mut vlan = None;
    let mut tags = 0;
    while matches!(ty, 0x8100 | 0x88a8 | 0x9100) {
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return Err(Skip::Malformed);
        }
        let tci = be16(data, pos)?;
        vlan.get_or_insert(tci & 0x0fff);
        ty = be16(data, pos + 2)?;
        pos += 4;
    }
    ethertype(ty, data.get(pos..).ok_or(Skip::Truncated)?, vlan, 0)
}

fn ethertype(ty: u16, rest: &[u8], vlan: Option<u16>, depth: u8) -> Result<Decoded<'_>, Skip> {
    match ty {
        0x0800 => ipv4(rest, depth, vlan),
        0x86dd => ipv6(rest, depth, vlan),
        // PPPoE session: 6-byte header, then a PPP protocol number.
        0x8864 => {
            let proto = be16(rest, 6)?;
            let inner = rest.get(8..).ok_or(Skip::Truncated)?;
            match proto {
                0x0021 => ipv4(inner, depth, vlan),
                0x0057 => ipv6(inner, depth, vlan),
                _ => Err(Skip::NotIp),
            }
        }
        0x8847 | 0x8848 => {
            let mut pos = 0;
            for _ in 0..MAX_MPLS_LABELS {
                let label = be32(rest, pos)?;
                pos += 4;
                if label & 0x100 != 0 {
                    return ip_any(rest.get(pos..).ok_or(Skip::Truncated)?, depth, vlan);
                }
            }
            Err(Skip::Malformed)
        }
        _ => Err(Skip::NotIp),
    }
}

fn ppp(data: &[u8]) -> Result<Decoded<'_>, Skip> {
    let mut d = data;
    if d.len() >= 2 && d[0] == 0xff && d[1] == 0x03 {
        d = &d[2..];
    }
    let first = *d.first().ok_or(Skip::Truncated)?;
    // Protocol-field compression: an odd first byte is a one-byte protocol.
    let (proto, rest) = if first & 1 == 1 {
        (u16::from(first), &d[1..])
    } else {
        (be16(d, 0)?, d.get(2..).ok_or(Skip::Truncated)?)
    };
    match proto {
        0x21 => ipv4(rest, 0, None),
        0x57 => ipv6(rest, 0, None),
        _ => Err(Skip::NotIp),
    }
}

fn ip_any(data: &[u8], depth: u8, vlan: Option<u16>) -> Result<Decoded<'_>, Skip> {
    match data.first().map(|b| b >> 4) {
        Some(4) => ipv4(data, depth, vlan),
        Some(6) => ipv6(data, depth, vlan),
        Some(_) => Err(Skip::NotIp),
        None => Err(Skip::Truncated),
    }
}

fn ipv4(data: &[u8], depth: u8, vlan: Option<u16>) -> Result<Decoded<'_>, Skip> {
    let b = data.get(..20).ok_or(Skip::Truncated)?;
    if b[0] >> 4 != 4 {
        return Err(Skip::Malformed);
    }
    let ihl = usize::from(b[0] & 0x0f) * 4;
    if ihl < 20 {
        return Err(Skip::Malformed);
    }
    let total = usize::from(u16::from_be_bytes([b[2], b[3]]));
    let id = u16::from_be_bytes([b[4], b[5]]);
    let frag = u16::from_be_bytes([b[6], b[7]]);
    let proto = b[9];
    let src = IpAddr::V4(Ipv4Addr::new(b[12], b[13], b[14], b[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(b[16], b[17], b[18], b[19]));
    // TSO captures carry total length 0: trust the captured length then.
    let total = if total == 0 { data.len() } else { total };
    if total < ihl {
        return Err(Skip::Malformed);
    }
    if frag & 0x3fff != 0 {
        return Err(Skip::Fragment);
    }
    let end = total.min(data.len());
    let body = data.get(ihl..end).ok_or(Skip::Truncated)?;
    let wire = (total - ihl) as u32;
    transport(proto, src, dst, body, wire, Some(id), depth, vlan)
}

fn ipv6(data: &[u8], depth: u8, vlan: Option<u16>) -> Result<Decoded<'_>, Skip> {
    let b = data.get(..40).ok_or(Skip::Truncated)?;
    if b[0] >> 4 != 6 {
        return Err(Skip::Malformed);
    }
    let plen = usize::from(u16::from_be_bytes([b[4], b[5]]));
    let mut next = b[6];
    let mut s = [0u8; 16];
    s.copy_from_slice(&b[8..24]);
    let mut d = [0u8; 16];
    d.copy_from_slice(&b[24..40]);
    let src = IpAddr::V6(Ipv6Addr::from(s));
    let dst = IpAddr::V6(Ipv6Addr::from(d));
    // Jumbograms carry 0 here: trust the captured length.
    let plen = if plen == 0 { data.len() - 40 } else { plen };
    let end = (40 + plen).min(data.len());
    let mut body = &data[40..end];
    let mut wire = plen;
    for _ in 0..MAX_IPV6_EXT {
        let len = match next {
            0 | 43 | 60 => usize::from(*body.get(1).ok_or(Skip::Truncated)?) * 8 + 8,
            51 => usize::from(*body.get(1).ok_or(Skip::Truncated)?) * 4 + 8,
            44 => {
                let f = body.get(..8).ok_or(Skip::Truncated)?;
                let off_m = u16::from_be_bytes([f[2], f[3]]);
                if off_m & 0xfff9 != 0 {
                    return Err(Skip::Fragment);
                }
                8
            }
            59 => return Err(Skip::OtherTransport(59)),
            _ => {
                return transport(next, src, dst, body, wire as u32, None, depth, vlan);
            }
        };
        next = *body.first().ok_or(Skip::Truncated)?;
        body = body.get(len..).ok_or(Skip::Truncated)?;
        wire = wire.saturating_sub(len);
    }
    Err(Skip::Malformed)
}

#[allow(clippy::too_many_arguments)]
fn transport<'a>(
    proto: u8,
    src: IpAddr,
    dst: IpAddr,
    body: &'a [u8],
    wire: u32,
    ip_id: Option<u16>,
    depth: u8,
    vlan: Option<u16>,
) -> Result<Decoded<'a>, Skip> {
    match proto {
        6 => {
            let h = body.get(..20).ok_or(Skip::Truncated)?;
            let off = usize::from(h[12] >> 4) * 4;
            if off < 20 {
                return Err(Skip::Malformed);
            }
            let opts = body.get(20..off).ok_or(Skip::Truncated)?;
            let payload = body.get(off..).unwrap_or(&[]);
            Ok(Decoded {
                src,
                dst,
                transport: Transport::Tcp,
                sport: u16::from_be_bytes([h[0], h[1]]),
                dport: u16::from_be_bytes([h[2], h[3]]),
                tcp: Some(TcpHeader {
                    seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                    ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
                    flags: h[13],
                    window: u16::from_be_bytes([h[14], h[15]]),
                    tsval: tcp_tsval(opts),
                }),
                ip_id,
                payload,
                wire_payload_len: wire.saturating_sub(off as u32),
                vlan,
            })
        }
        17 => {
            let h = body.get(..8).ok_or(Skip::Truncated)?;
            let ulen = usize::from(u16::from_be_bytes([h[4], h[5]]));
            let end = if ulen >= 8 {
                ulen.min(body.len())
            } else {
                body.len()
            };
            Ok(Decoded {
                src,
                dst,
                transport: Transport::Udp,
                sport: u16::from_be_bytes([h[0], h[1]]),
                dport: u16::from_be_bytes([h[2], h[3]]),
                tcp: None,
                ip_id,
                payload: body.get(8..end).unwrap_or(&[]),
                wire_payload_len: wire.saturating_sub(8),
                vlan,
            })
        }
        4 | 41 | 47 if depth >= MAX_TUNNEL_DEPTH => Err(Skip::TunnelTooDeep),
        4 => ipv4(body, depth + 1, vlan),
        41 => ipv6(body, depth + 1, vlan),
        47 => {
            let flags = be16(body, 0)?;
            let proto = be16(body, 2)?;
            let mut pos = 4;
            for bit in [0x8000u16, 0x2000, 0x1000] {
                if flags & bit != 0 {
                    pos += 4;
                }
            }
            let inner = body.get(pos..).ok_or(Skip::Truncated)?;
            if proto == 0x6558 {
                ethernet(inner)
            } else {
                ethertype(proto, inner, vlan, depth + 1)
            }
        }
        other => Err(Skip::OtherTransport(other)),
    }
}

fn tcp_tsval(mut opts: &[u8]) -> Option<u32> {
    while let Some(&kind) = opts.first() {
        match kind {
            0 => return None,
            1 => opts = &opts[1..],
            _ => {
                let len = usize::from(*opts.get(1)?);
                if len < 2 {
                    return None;
                }
                let opt = opts.get(..len)?;
                if kind == 8 && len == 10 {
                    return Some(u32::from_be_bytes([opt[2], opt[3], opt[4], opt[5]]));
                }
                opts = opts.get(len..)?;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_tcp(payload: &[u8], frag: u16) -> Vec<u8> {
        let total = 20 + 20 + payload.len();
        let mut p = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0x12,
            0x34,
            (frag >> 8) as u8,
            frag as u8,
            64,
            6,
            0,
            0,
            10,
            0,
            0,
            1,
            192,
            0,
            2,
            7,
        ];
        p.extend_from_slice(&[
            0xc3, 0x50, 0x0d, 0x05, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0,
        ]);
        p.extend_from_slice(payload);
        p
    }

    fn ether(ty: u16, tags: &[u16], body: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        for (i, t) in tags.iter().enumerate() {
            f.extend_from_slice(&(if i == 0 { 0x88a8u16 } else { 0x8100u16 }).to_be_bytes());
            f.extend_from_slice(&t.to_be_bytes());
        }
        f.extend_from_slice(&ty.to_be_bytes());
        f.extend_from_slice(body);
        f
    }

    #[test]
    fn ethernet_with_qinq_to_tcp() {
        let frame = ether(0x0800, &[100, 200], &ipv4_tcp(b"hello", 0));
        let d = decode(LinkType::ETHERNET, &frame).unwrap();
        assert_eq!(d.vlan, Some(100));
        assert_eq!((d.sport, d.dport), (50000, 3333));
        assert_eq!(d.payload, b"hello");
        assert_eq!(d.tcp.unwrap().flags, 0x18);
    }

    #[test]
    fn fragments_are_skipped() {
        let frame = ether(0x0800, &[], &ipv4_tcp(b"x", 0x2000));
        assert_eq!(
            decode(LinkType::ETHERNET, &frame).unwrap_err(),
            Skip::Fragment
        );
        let frame = ether(0x0800, &[], &ipv4_tcp(b"x", 0x0010));
        assert_eq!(
            decode(LinkType::ETHERNET, &frame).unwrap_err(),
            Skip::Fragment
        );
    }

    #[test]
    fn linux_cooked_v1_and_v2_and_null() {
        let ip = ipv4_tcp(b"abc", 0);
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&0x0800u16.to_be_bytes());
        sll.extend_from_slice(&ip);
        assert_eq!(decode(LinkType::LINUX_SLL, &sll).unwrap().payload, b"abc");
        let mut sll2 = 0x0800u16.to_be_bytes().to_vec();
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&ip);
        assert_eq!(decode(LinkType::LINUX_SLL2, &sll2).unwrap().payload, b"abc");
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(&ip);
        assert_eq!(decode(LinkType::NULL, &null).unwrap().payload, b"abc");
        let mut lo = 2u32.to_be_bytes().to_vec();
        lo.extend_from_slice(&ip);
        assert_eq!(decode(LinkType::LOOP, &lo).unwrap().payload, b"abc");
        assert_eq!(decode(LinkType::RAW, &ip).unwrap().payload, b"abc");
    }

    #[test]
    fn ipv6_with_hop_by_hop_and_fragment_headers() {
        let udp = [0x30, 0x39, 0x00, 0x35, 0x00, 0x0b, 0, 0, b'd', b'n', b's'];
        let mut p = vec![0x60, 0, 0, 0, 0, (8 + udp.len()) as u8, 0, 64];
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8].repeat(4));
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8].repeat(4));
        // Hop-by-hop: next = UDP, length 0 (8 bytes).
        p.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]);
        p.extend_from_slice(&udp);
        let d = decode(LinkType::IPV6, &p).unwrap();
        assert_eq!(d.transport, Transport::Udp);
        assert_eq!(d.payload, b"dns");
        // A non-first fragment is skipped.
        p[6] = 44;
        p[40..48].copy_from_slice(&[17, 0, 0x00, 0x09, 0, 0, 0, 1]);
        assert_eq!(decode(LinkType::IPV6, &p).unwrap_err(), Skip::Fragment);
    }

    #[test]
    fn tunnels_are_followed_but_bounded() {
        // IPv4 in IPv4, three times nested inside the outer packet = too deep.
        let inner = ipv4_tcp(b"in", 0);
        let mut wrapped = inner.clone();
        for _ in 0..4 {
            let total = 20 + wrapped.len();
            let mut outer = vec![
                0x45,
                0,
                (total >> 8) as u8,
                total as u8,
                0,
                0,
                0,
                0,
                64,
                4,
                0,
                0,
                1,
                1,
                1,
                1,
                2,
                2,
                2,
                2,
            ];
            outer.extend_from_slice(&wrapped);
            wrapped = outer;
        }
        assert_eq!(
            decode(LinkType::RAW, &wrapped).unwrap_err(),
            Skip::TunnelTooDeep
        );
    }

    #[test]
    fn truncated_and_garbage_never_panic() {
        let frame = ether(0x0800, &[7], &ipv4_tcp(b"payload", 0));
        for cut in 0..frame.len() {
            let _ = decode(LinkType::ETHERNET, &frame[..cut]);
            for link in [0, 1, 9, 12, 101, 104, 108, 113, 228, 229, 276, 999] {
                let _ = decode(LinkType(link), &frame[cut..]);
            }
        }
    }

    #[test]
    fn tcp_timestamp_option_is_read() {
        let opts = [1, 1, 8, 10, 0, 0, 0, 42, 0, 0, 0, 0];
        assert_eq!(tcp_tsval(&opts), Some(42));
        assert_eq!(tcp_tsval(&[8, 1]), None);
    }
}
