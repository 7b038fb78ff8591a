//! Classic pcap (not pcapng): 24-byte global header, LINKTYPE_ETHERNET, microsecond stamps,
//! little-endian magic `d4 c3 b2 a1`. Plus a small bounded reader used to check what was written.

use crate::packet::Packet;
use crate::SimError;
use std::io::Write;

pub const PCAP_MAGIC_MICROS: u32 = 0xa1b2_c3d4;
pub const LINKTYPE_ETHERNET: u32 = 1;
pub const SNAPLEN: u32 = 262_144;

/// Writes packets to any `Write` as a classic pcap stream.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    packets_written: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header at once.
    pub fn new(mut out: W) -> std::io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&PCAP_MAGIC_MICROS.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        h.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        h.extend_from_slice(&SNAPLEN.to_le_bytes());
        h.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter {
            out,
            packets_written: 0,
        })
    }

    /// One record: header (seconds, microseconds, captured length, original length) + bytes.
    pub fn write_packet(&mut self, packet: &Packet) -> std::io::Result<()> {
        let secs = (packet.ts_micros / 1_000_000) as u32;
        let micros = (packet.ts_micros % 1_000_000) as u32;
        let len = packet.data.len().min(SNAPLEN as usize);
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&micros.to_le_bytes());
        h[8..12].copy_from_slice(&(len as u32).to_le_bytes());
        h[12..16].copy_from_slice(&(packet.data.len() as u32).to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(&packet.data[..len])?;
        self.packets_written += 1;
        Ok(())
    }

    pub fn packets_written(&self) -> u64 {
        self.packets_written
    }

    /// Flush and hand back the inner writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Serialise packets into an in-memory pcap file.
pub fn to_bytes(packets: &[Packet]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + packets.iter().map(|p| 16 + p.data.len()).sum::<usize>());
    // Writing into a Vec cannot fail, so the results carry no information.
    if let Ok(mut w) = PcapWriter::new(&mut out) {
        for p in packets {
            let _ = w.write_packet(p);
        }
    }
    out
}

/// Write packets to a file path.
pub fn write_file(path: &std::path::Path, packets: &[Packet]) -> Result<(), SimError> {
    let io_err = |source| SimError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io_err)?;
    let mut w = PcapWriter::new(std::io::BufWriter::new(file)).map_err(io_err)?;
    for p in packets {
        w.write_packet(p).map_err(io_err)?;
    }
    w.finish().map_err(io_err)?;
    Ok(())
}

/// Read a classic pcap written by [`PcapWriter`] (either byte order, microsecond or nanosecond
/// magic). Bounded: records longer than the snap length are rejected.
pub fn read(bytes: &[u8]) -> Result<(u32, Vec<Packet>), SimError> {
    let bad = |offset: usize, what: &str| SimError::Pcap {
        offset: offset as u64,
        reason: what.to_string(),
    };
    let header = bytes
        .get(..24)
        .ok_or_else(|| bad(0, "file shorter than the 24-byte header"))?;
    let magic = [header[0], header[1], header[2], header[3]];
    let (le, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
        _ => return Err(bad(0, "not a classic pcap magic")),
    };
    let u32_at = |b: &[u8]| -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let linktype = u32_at(&header[20..24]);
    let snaplen = u32_at(&header[16..20]).max(SNAPLEN) as usize;
    let mut packets = Vec::new();
    let mut off = 24usize;
    while off < bytes.len() {
        let rec = bytes
            .get(off..off + 16)
            .ok_or_else(|| bad(off, "truncated record header"))?;
        let secs = u64::from(u32_at(&rec[0..4]));
        let frac = u64::from(u32_at(&rec[4..8]));
        let incl = u32_at(&rec[8..12]) as usize;
        if incl > snaplen {
            return Err(bad(off + 8, "captured length exceeds snap length"));
        }
        let data = bytes
            .get(off + 16..off + 16 + incl)
            .ok_or_else(|| bad(off + 16, "truncated packet data"))?;
        let ts_micros = secs * 1_000_000 + if nanos { frac / 1000 } else { frac };
        packets.push(Packet {
            ts_micros,
            data: data.to_vec(),
        });
        off += 16 + incl;
    }
    Ok((linktype, packets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let pkts = vec![
            Packet {
                ts_micros: 1_714_521_600_123_456,
                data: vec![1, 2, 3],
            },
            Packet {
                ts_micros: 1_714_521_601_000_001,
                data: vec![9; 70],
            },
        ];
        let bytes = to_bytes(&pkts);
        assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        let (lt, back) = read(&bytes).unwrap();
        assert_eq!(lt, LINKTYPE_ETHERNET);
        assert_eq!(back, pkts);
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let bytes = to_bytes(&[Packet {
            ts_micros: 1,
            data: vec![0; 40],
        }]);
        for cut in 0..bytes.len() {
            let r = read(&bytes[..cut]);
            if cut == 24 {
                assert!(r.is_ok());
            } else {
                assert!(r.is_err(), "cut {cut}");
            }
        }
    }
}
