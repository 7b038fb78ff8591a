//! The common flow record every reader produces.

use std::net::IpAddr;

/// Most per-packet entries a record keeps (ipfixprobe's PPI export keeps 30).
pub const MAX_PACKETS: usize = 30;
/// Longest name (SNI, DNS query, JA3) kept from a record.
pub const MAX_NAME: usize = 256;
/// Most DNS answers kept from one record.
pub const MAX_ANSWERS: usize = 16;

/// One of a flow's first packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketRecord {
    /// Microseconds since the Unix epoch.
    pub ts_us: i64,
    /// Transport payload bytes.
    pub len: u16,
    /// True when sent by the destination (the reverse direction).
    pub reverse: bool,
    pub tcp_flags: u8,
}

/// The label of a record in a labelled data set (CESNET's `LABEL` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Miner,
    Other,
}

/// One flow as an exporter saw it. `src` is the side that sent the first packet (the client for
/// bidirectional exporters); index 0 of the per-direction arrays is `src -> dst`, index 1 the
/// reverse.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRecord {
    /// 1-based record (or line) number in its input.
    pub record: u64,
    /// Addresses, when the format carries them (the CESNET sample has none).
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub src_port: u16,
    pub dst_port: u16,
    /// IP protocol number (6 TCP, 17 UDP).
    pub proto: u8,
    /// IP-level bytes per direction.
    pub bytes: [u64; 2],
    pub packets: [u64; 2],
    /// Microseconds since the epoch.
    pub first_us: i64,
    pub last_us: i64,
    /// Cumulative TCP flags per direction.
    pub tcp_flags: [u8; 2],
    /// The first packets (only `packets_len` entries are valid).
    pub ppi: [PacketRecord; MAX_PACKETS],
    pub ppi_len: u8,
    /// TLS server name, when the exporter saw a ClientHello.
    pub sni: Option<String>,
    /// True when a TLS ClientHello without SNI was seen.
    pub tls_without_sni: bool,
    /// True when the flow is known to carry TLS.
    pub tls: bool,
    pub ja3: Option<String>,
    /// Key that ties name records to flow records of the same connection (Zeek uid, EVE flow_id).
    pub join_key: Option<String>,
    pub label: Option<Label>,
}

impl Default for FlowRecord {
    fn default() -> Self {
        FlowRecord {
            record: 0,
            src: None,
            dst: None,
            src_port: 0,
            dst_port: 0,
            proto: 0,
            bytes: [0; 2],
            packets: [0; 2],
            first_us: 0,
            last_us: 0,
            tcp_flags: [0; 2],
            ppi: [PacketRecord::default(); MAX_PACKETS],
            ppi_len: 0,
            sni: None,
            tls_without_sni: false,
            tls: false,
            ja3: None,
            join_key: None,
            label: None,
        }
    }
}

impl FlowRecord {
    /// The valid per-packet entries.
    pub fn packets_info(&self) -> &[PacketRecord] {
        self.ppi.get(..usize::from(self.ppi_len)).unwrap_or(&[])
    }

    /// Appends a per-packet entry; returns false (and keeps nothing) when full.
    pub fn push_packet(&mut self, p: PacketRecord) -> bool {
        match self.ppi.get_mut(usize::from(self.ppi_len)) {
            Some(slot) => {
                *slot = p;
                self.ppi_len += 1;
                true
            }
            None => false,
        }
    }

    pub fn duration_secs(&self) -> f64 {
        (self.last_us.saturating_sub(self.first_us)).max(0) as f64 / 1e6
    }

    /// Swaps the two directions (for unidirectional records sent by the server).
    pub fn reverse(&mut self) {
        std::mem::swap(&mut self.src, &mut self.dst);
        std::mem::swap(&mut self.src_port, &mut self.dst_port);
        self.bytes.swap(0, 1);
        self.packets.swap(0, 1);
        self.tcp_flags.swap(0, 1);
        let n = usize::from(self.ppi_len).min(MAX_PACKETS);
        for p in self.ppi.iter_mut().take(n) {
            p.reverse = !p.reverse;
        }
    }

    /// A stable hash of the flow key (addresses when present, ports, protocol) used to split
    /// labelled data into design and held-out parts.
    pub fn key_hash(&self) -> u64 {
        let mut h = Fnv::new();
        if let (Some(s), Some(d)) = (self.src, self.dst) {
            h.write(s.to_string().as_bytes());
            h.write(b"-");
            h.write(d.to_string().as_bytes());
            h.write(b"-");
        }
        h.write(format!("{}-{}-{}", self.src_port, self.dst_port, self.proto).as_bytes());
        h.0
    }
}

/// A name observation that is not itself a flow (Zeek dns/ssl, EVE dns/tls records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRecord {
    pub record: u64,
    pub kind: NameKind,
    /// Query name (DNS) or server name (TLS); empty for a ClientHello without SNI.
    pub name: String,
    pub answers: Vec<IpAddr>,
    pub ja3: Option<String>,
    pub client: Option<IpAddr>,
    pub server: Option<IpAddr>,
    pub server_port: u16,
    pub join_key: Option<String>,
    pub ts_us: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Dns,
    Tls,
}

/// What a reader yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Flow(Box<FlowRecord>),
    Name(NameRecord),
}

/// Truncates a name copied from input to [`MAX_NAME`] characters, dropping control characters.
pub fn bounded_name(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect()
}

/// FNV-1a, 64 bit: small, stable across versions and platforms.
pub(crate) struct Fnv(pub u64);

impl Fnv {
    pub fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_list_is_bounded() {
        let mut r = FlowRecord::default();
        for _ in 0..MAX_PACKETS {
            assert!(r.push_packet(PacketRecord::default()));
        }
        assert!(!r.push_packet(PacketRecord::default()));
        assert_eq!(r.packets_info().len(), MAX_PACKETS);
    }

    #[test]
    fn reverse_swaps_everything() {
        let mut r = FlowRecord {
            src_port: 50000,
            dst_port: 3333,
            bytes: [1, 2],
            ..FlowRecord::default()
        };
        r.push_packet(PacketRecord {
            reverse: false,
            ..PacketRecord::default()
        });
        r.reverse();
        assert_eq!((r.src_port, r.dst_port, r.bytes), (3333, 50000, [2, 1]));
        assert!(r.packets_info()[0].reverse);
    }

    #[test]
    fn key_hash_matches_the_documented_split() {
        // FNV-1a of "57104-14444-6", the same function docs/benchmarks-flows.md describes.
        let r = FlowRecord {
            src_port: 57104,
            dst_port: 14444,
            proto: 6,
            ..FlowRecord::default()
        };
        let mut h = Fnv::new();
        h.write(b"57104-14444-6");
        assert_eq!(r.key_hash(), h.0);
    }
}
