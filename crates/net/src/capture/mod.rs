//! Capture files: classic pcap (micro- and nanosecond, either byte order) and pcapng (several
//! interfaces, any link type per interface). Records are read one at a time into a reused buffer;
//! every length is checked against [`MAX_SNAPLEN`] before anything is allocated.

mod pcap;
mod pcapng;

use minetrace_core::Timestamp;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Longest packet record accepted. Real snap lengths are at most 262,144 bytes.
pub const MAX_SNAPLEN: usize = 262_144;
/// Longest pcapng block accepted (a packet plus options).
pub const MAX_BLOCK: usize = MAX_SNAPLEN + 65_536;

/// A link-layer type (LINKTYPE_* number). Open: unknown values still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const PPP: LinkType = LinkType(9);
    pub const RAW: LinkType = LinkType(101);
    pub const RAW_OPENBSD: LinkType = LinkType(12);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// One captured packet, borrowing the reader's buffer.
#[derive(Debug)]
pub struct RawPacket<'a> {
    pub ts: Timestamp,
    pub link: LinkType,
    pub data: &'a [u8],
    /// Length on the wire (may exceed `data.len()` when the snap length cut it).
    pub orig_len: u32,
    /// 1-based packet number in the file.
    pub number: u64,
    /// Byte offset of the record in the file.
    pub offset: u64,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    #[error("{path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a pcap or pcapng file (starts with {magic})")]
    NotACapture { path: PathBuf, magic: String },
    #[error("{path} at offset {offset}: {what}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        what: String,
    },
    #[error("{path} at offset {offset}: truncated ({what})")]
    Truncated {
        path: PathBuf,
        offset: u64,
        what: String,
    },
    #[error("{path} at offset {offset}: read error: {source}")]
    Io {
        path: PathBuf,
        offset: u64,
        #[source]
        source: std::io::Error,
    },
}

impl CaptureError {
    /// Offset in the file the error is about, when it is about one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            CaptureError::Corrupt { offset, .. }
            | CaptureError::Truncated { offset, .. }
            | CaptureError::Io { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}

enum Format {
    Pcap(pcap::PcapState),
    PcapNg(pcapng::PcapNgState),
}

/// Reads packets from a pcap or pcapng stream, detecting the format from its first bytes.
pub struct CaptureReader<R: Read> {
    input: CountingReader<R>,
    path: PathBuf,
    format: Format,
    buf: Vec<u8>,
    number: u64,
    failed: bool,
}

impl CaptureReader<std::io::BufReader<std::fs::File>> {
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let file = std::fs::File::open(path).map_err(|source| CaptureError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::new(std::io::BufReader::with_capacity(1 << 18, file), path)
    }
}

impl<R: Read> CaptureReader<R> {
    pub fn new(reader: R, path: &Path) -> Result<Self, CaptureError> {
        let mut input = CountingReader {
            inner: reader,
            pos: 0,
        };
        let mut magic = [0u8; 4];
        let got = input
            .read_full(&mut magic)
            .map_err(|source| CaptureError::Io {
                path: path.to_path_buf(),
                offset: 0,
                source,
            })?;
        if got < 4 {
            return Err(CaptureError::NotACapture {
                path: path.to_path_buf(),
                magic: hex_of(&magic[..got]),
            });
        }
        let format = if let Some(state) = pcap::PcapState::from_magic(magic) {
            Format::Pcap(state.read_header(&mut input, path)?)
        } else if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
            Format::PcapNg(pcapng::PcapNgState::start(&mut input, path)?)
        } else {
            return Err(CaptureError::NotACapture {
                path: path.to_path_buf(),
                magic: hex_of(&magic),
            });
        };
        Ok(CaptureReader {
            input,
            path: path.to_path_buf(),
            format,
            buf: Vec::with_capacity(65_536),
            number: 0,
            failed: false,
        })
    }

    /// The next packet, `Ok(None)` at the end, or an error naming the offset. After an error the
    /// reader stays at end (a classic pcap cannot resynchronise after a bad record header).
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        if self.failed {
            return Ok(None);
        }
        let res = match &mut self.format {
            Format::Pcap(s) => s.next(&mut self.input, &self.path, &mut self.buf),
            Format::PcapNg(s) => s.next(&mut self.input, &self.path, &mut self.buf),
        };
        match res {
            Ok(Some(meta)) => {
                self.number += 1;
                Ok(Some(RawPacket {
                    ts: meta.ts,
                    link: meta.link,
                    data: &self.buf[meta.start..meta.end],
                    orig_len: meta.orig_len,
                    number: self.number,
                    offset: meta.offset,
                }))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    /// Bytes consumed so far (for progress bars).
    pub fn position(&self) -> u64 {
        self.input.pos
    }
}

/// Where a record's bytes lie in the reader's buffer.
struct RecordMeta {
    ts: Timestamp,
    link: LinkType,
    start: usize,
    end: usize,
    orig_len: u32,
    offset: u64,
}

struct CountingReader<R> {
    inner: R,
    pos: u64,
}

impl<R: Read> CountingReader<R> {
    /// Reads until `buf` is full or the stream ends; returns the bytes read.
    fn read_full(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.inner.read(&mut buf[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        self.pos += done as u64;
        Ok(done)
    }

    /// Reads exactly `len` bytes into `buf` (resized), or reports how many were available.
    fn read_into(&mut self, buf: &mut Vec<u8>, len: usize) -> std::io::Result<usize> {
        buf.clear();
        buf.resize(len, 0);
        let got = self.read_full(buf)?;
        buf.truncate(got);
        Ok(got)
    }
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
