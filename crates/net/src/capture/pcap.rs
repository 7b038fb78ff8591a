//! Classic libpcap files.

use super::{CaptureError, CountingReader, LinkType, RecordMeta, MAX_SNAPLEN};
use minetrace_core::Timestamp;
use std::io::Read;
use std::path::Path;

pub(super) struct PcapState {
    little_endian: bool,
    nanos: bool,
    link: LinkType,
}

impl PcapState {
    pub(super) fn from_magic(m: [u8; 4]) -> Option<PcapState> {
        let (little_endian, nanos) = match m {
            [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
            [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
            [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
            _ => return None,
        };
        Some(PcapState {
            little_endian,
            nanos,
            link: LinkType(0),
        })
    }

    fn u32(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.little_endian {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    }

    pub(super) fn read_header<R: Read>(
        mut self,
        input: &mut CountingReader<R>,
        path: &Path,
    ) -> Result<PcapState, CaptureError> {
        let mut rest = [0u8; 20];
        let got = input
            .read_full(&mut rest)
            .map_err(|source| CaptureError::Io {
                path: path.to_path_buf(),
                offset: 4,
                source,
            })?;
        if got < 20 {
            return Err(CaptureError::Truncated {
                path: path.to_path_buf(),
                offset: 4 + got as u64,
                what: "file header".into(),
            });
        }
        // The link type's upper 16 bits may carry FCS flags; the type is the low 16 bits.
        self.link = LinkType(self.u32(&rest[16..20]) & 0xffff);
        Ok(self)
    }

    pub(super) fn next<R: Read>(
        &mut self,
        input: &mut CountingReader<R>,
        path: &Path,
    ) -> Result<Option<RecordMeta>, CaptureError> {
        let offset = input.pos;
        let io = |source| CaptureError::Io {
            path: path.to_path_buf(),
            offset,
            source,
        };
        // The header read in place, then header and data taken in one step.
        let hdr = input.peek(16).map_err(io)?;
        let got = hdr.len().min(16);
        if got == 0 {
            return Ok(None);
        }
        if got < 16 {
            return Err(CaptureError::Truncated {
                path: path.to_path_buf(),
                offset,
                what: format!("record header has {got} of 16 bytes"),
            });
        }
        let secs = self.u32(&hdr[0..4]) as i64;
        let frac = self.u32(&hdr[4..8]) as i64;
        let incl = self.u32(&hdr[8..12]) as usize;
        let orig = self.u32(&hdr[12..16]);
        if incl > MAX_SNAPLEN {
            return Err(CaptureError::Corrupt {
                path: path.to_path_buf(),
                offset,
                what: format!("record length {incl} exceeds the limit of {MAX_SNAPLEN}"),
            });
        }
        // The record stays in the input's window: no copy.
        let range = input.take(16 + incl).map_err(io)?;
        let got = range.len().saturating_sub(16);
        if got < incl {
            return Err(CaptureError::Truncated {
                path: path.to_path_buf(),
                offset,
                what: format!("record has {got} of {incl} bytes"),
            });
        }
        let micros = if self.nanos { frac / 1000 } else { frac };
        Ok(Some(RecordMeta {
            ts: Timestamp(secs.saturating_mul(1_000_000).saturating_add(micros)),
            link: self.link,
            start: range.start + 16,
            end: range.end,
            orig_len: orig,
            offset,
            in_window: true,
        }))
    }
}
