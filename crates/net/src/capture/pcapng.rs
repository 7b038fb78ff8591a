//! pcapng files: section headers (either byte order), interface descriptions with their link type
//! and timestamp resolution, enhanced and simple packet blocks. Other blocks are skipped.

use super::{CaptureError, CountingReader, LinkType, RecordMeta, MAX_BLOCK};
use minetrace_core::Timestamp;
use std::io::Read;
use std::path::Path;

const IDB: u32 = 1;
const OBSOLETE_PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
/// At most this many interfaces per section (a file declaring more is corrupt).
const MAX_INTERFACES: usize = 4096;

#[derive(Clone, Copy)]
struct Interface {
    link: LinkType,
    snaplen: u32,
    /// Timestamp units per second.
    units_per_sec: u64,
    offset_secs: i64,
}

pub(super) struct PcapNgState {
    little_endian: bool,
    interfaces: Vec<Interface>,
    last_ts: Timestamp,
}

impl PcapNgState {
    /// Called after the first four bytes (the SHB type) were consumed.
    pub(super) fn start<R: Read>(
        input: &mut CountingReader<R>,
        path: &Path,
    ) -> Result<PcapNgState, CaptureError> {
        let mut state = PcapNgState {
            little_endian: true,
            interfaces: Vec::new(),
            last_ts: Timestamp(0),
        };
        let mut buf = Vec::new();
        state.read_section_header(input, path, 0, &mut buf)?;
        Ok(state)
    }

    fn u16(&self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.little_endian {
            u16::from_le_bytes(a)
        } else {
            u16::from_be_bytes(a)
        }
    }

    fn u32(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.little_endian {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    }

    /// Reads the rest of a section header block whose type field was already consumed.
    fn read_section_header<R: Read>(
        &mut self,
        input: &mut CountingReader<R>,
        path: &Path,
        offset: u64,
        buf: &mut Vec<u8>,
    ) -> Result<(), CaptureError> {
        let mut head = [0u8; 8];
        let got = input
            .read_full(&mut head)
            .map_err(|source| io(path, offset, source))?;
        if got < 8 {
            return Err(truncated(path, offset, "section header block"));
        }
        self.little_endian = match head[4..8] {
            [0x4d, 0x3c, 0x2b, 0x1a] => true,
            [0x1a, 0x2b, 0x3c, 0x4d] => false,
            _ => return Err(corrupt(path, offset + 8, "bad byte-order magic")),
        };
        let total = self.u32(&head[0..4]) as usize;
        if !(28..=MAX_BLOCK).contains(&total) {
            return Err(corrupt(
                path,
                offset + 4,
                &format!("section header length {total}"),
            ));
        }
        // Body after the byte-order magic, plus the trailing length.
        let rest = total - 12;
        let got = input
            .read_into(buf, rest)
            .map_err(|source| io(path, offset, source))?;
        if got < rest {
            return Err(truncated(path, offset, "section header block"));
        }
        self.interfaces.clear();
        Ok(())
    }

    pub(super) fn next<R: Read>(
        &mut self,
        input: &mut CountingReader<R>,
        path: &Path,
        buf: &mut Vec<u8>,
    ) -> Result<Option<RecordMeta>, CaptureError> {
        loop {
            let offset = input.pos;
            let mut kind_bytes = [0u8; 4];
            let got = input
                .read_full(&mut kind_bytes)
                .map_err(|source| io(path, offset, source))?;
            if got == 0 {
                return Ok(None);
            }
            if got < 4 {
                return Err(truncated(path, offset, "block header"));
            }
            if kind_bytes == [0x0a, 0x0d, 0x0d, 0x0a] {
                self.read_section_header(input, path, offset, buf)?;
                continue;
            }
            let kind = self.u32(&kind_bytes);
            let mut len_bytes = [0u8; 4];
            if input
                .read_full(&mut len_bytes)
                .map_err(|source| io(path, offset, source))?
                < 4
            {
                return Err(truncated(path, offset, "block header"));
            }
            let total = self.u32(&len_bytes) as usize;
            if !(12..=MAX_BLOCK).contains(&total) {
                return Err(corrupt(
                    path,
                    offset,
                    &format!("block type {kind:#x} has length {total}"),
                ));
            }
            let body_len = total - 12;
            let got = input
                .read_into(buf, body_len + 4)
                .map_err(|source| io(path, offset, source))?;
            if got < body_len + 4 {
                return Err(truncated(
                    path,
                    offset,
                    &format!("block type {kind:#x} has {got} of {} bytes", body_len + 4),
                ));
            }
            let trailer = self.u32(&buf[body_len..body_len + 4]) as usize;
            if trailer != total {
                return Err(corrupt(
                    path,
                    offset,
                    &format!("block lengths disagree ({total} vs {trailer})"),
                ));
            }
            match kind {
                IDB => self.add_interface(&buf[..body_len], path, offset)?,
                EPB | OBSOLETE_PB => {
                    if body_len < 20 {
                        return Err(corrupt(path, offset, "packet block too short"));
                    }
                    let b = &buf[..body_len];
                    let iface_id = if kind == EPB {
                        self.u32(&b[0..4]) as usize
                    } else {
                        self.u16(&b[0..2]) as usize
                    };
                    let high = self.u32(&b[4..8]) as u64;
                    let low = self.u32(&b[8..12]) as u64;
                    let caplen = self.u32(&b[12..16]) as usize;
                    let orig_len = self.u32(&b[16..20]);
                    let Some(iface) = self.interfaces.get(iface_id).copied() else {
                        return Err(corrupt(
                            path,
                            offset,
                            &format!("packet names interface {iface_id}, which was not described"),
                        ));
                    };
                    if caplen > body_len - 20 {
                        return Err(corrupt(
                            path,
                            offset,
                            &format!("captured length {caplen} exceeds its block"),
                        ));
                    }
                    let ts = convert_ts((high << 32) | low, &iface);
                    self.last_ts = ts;
                    return Ok(Some(RecordMeta {
                        ts,
                        link: iface.link,
                        start: 20,
                        end: 20 + caplen,
                        orig_len,
                        offset,
                        in_window: false,
                    }));
                }
                SPB => {
                    if body_len < 4 {
                        return Err(corrupt(path, offset, "simple packet block too short"));
                    }
                    let Some(iface) = self.interfaces.first().copied() else {
                        return Err(corrupt(path, offset, "simple packet before any interface"));
                    };
                    let orig_len = self.u32(&buf[0..4]);
                    let mut caplen = (orig_len as usize).min(body_len - 4);
                    if iface.snaplen > 0 {
                        caplen = caplen.min(iface.snaplen as usize);
                    }
                    return Ok(Some(RecordMeta {
                        ts: self.last_ts,
                        link: iface.link,
                        start: 4,
                        end: 4 + caplen,
                        orig_len,
                        offset,
                        in_window: false,
                    }));
                }
                _ => continue,
            }
        }
    }

    fn add_interface(&mut self, b: &[u8], path: &Path, offset: u64) -> Result<(), CaptureError> {
        if b.len() < 8 {
            return Err(corrupt(path, offset, "interface description too short"));
        }
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(corrupt(path, offset, "too many interfaces"));
        }
        let mut iface = Interface {
            link: LinkType(self.u16(&b[0..2]) as u32),
            snaplen: self.u32(&b[4..8]),
            units_per_sec: 1_000_000,
            offset_secs: 0,
        };
        // Options: code u16, length u16, value padded to 4.
        let mut pos = 8;
        while pos + 4 <= b.len() {
            let code = self.u16(&b[pos..pos + 2]);
            let len = self.u16(&b[pos + 2..pos + 4]) as usize;
            let start = pos + 4;
            let Some(value) = b.get(start..start + len) else {
                break;
            };
            match code {
                0 => break,
                9 if len >= 1 => {
                    let v = value[0];
                    iface.units_per_sec = if v & 0x80 == 0 {
                        10u64.checked_pow(u32::from(v)).unwrap_or(0)
                    } else {
                        1u64.checked_shl(u32::from(v & 0x7f)).unwrap_or(0)
                    };
                    if iface.units_per_sec == 0 {
                        return Err(corrupt(path, offset, "unusable timestamp resolution"));
                    }
                }
                14 if len >= 8 => {
                    let a = [
                        value[0], value[1], value[2], value[3], value[4], value[5], value[6],
                        value[7],
                    ];
                    iface.offset_secs = if self.little_endian {
                        i64::from_le_bytes(a)
                    } else {
                        i64::from_be_bytes(a)
                    };
                }
                _ => {}
            }
            pos = start + len.div_ceil(4) * 4;
        }
        self.interfaces.push(iface);
        Ok(())
    }
}

fn convert_ts(units: u64, iface: &Interface) -> Timestamp {
    let micros = (u128::from(units) * 1_000_000 / u128::from(iface.units_per_sec.max(1))) as i64;
    Timestamp(micros.saturating_add(iface.offset_secs.saturating_mul(1_000_000)))
}

fn io(path: &Path, offset: u64, source: std::io::Error) -> CaptureError {
    CaptureError::Io {
        path: path.to_path_buf(),
        offset,
        source,
    }
}

fn truncated(path: &Path, offset: u64, what: &str) -> CaptureError {
    CaptureError::Truncated {
        path: path.to_path_buf(),
        offset,
        what: what.to_string(),
    }
}

fn corrupt(path: &Path, offset: u64, what: &str) -> CaptureError {
    CaptureError::Corrupt {
        path: path.to_path_buf(),
        offset,
        what: what.to_string(),
    }
}
