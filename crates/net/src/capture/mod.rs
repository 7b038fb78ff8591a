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

impl CaptureReader<std::fs::File> {
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let file = std::fs::File::open(path).map_err(|source| CaptureError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        // No BufReader: the reader keeps its own read-ahead window.
        Self::new(file, path)
    }
}

impl<R: Read> CaptureReader<R> {
    pub fn new(reader: R, path: &Path) -> Result<Self, CaptureError> {
        let mut input = CountingReader::new(reader);
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
            Format::Pcap(s) => s.next(&mut self.input, &self.path),
            Format::PcapNg(s) => s.next(&mut self.input, &self.path, &mut self.buf),
        };
        match res {
            Ok(Some(meta)) => {
                self.number += 1;
                let held = if meta.in_window {
                    &self.input.window
                } else {
                    &self.buf
                };
                Ok(Some(RawPacket {
                    ts: meta.ts,
                    link: meta.link,
                    data: held.get(meta.start..meta.end).unwrap_or_default(),
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

/// Where a record's bytes lie: in the input's window (`in_window`) or in the reader's buffer.
struct RecordMeta {
    ts: Timestamp,
    link: LinkType,
    start: usize,
    end: usize,
    in_window: bool,
    orig_len: u32,
    offset: u64,
}

/// Bytes read ahead from the input at a time (and the least the window holds).
const WINDOW: usize = 1 << 18;

/// The input with its own read-ahead window. Classic pcap records are handed out as slices of
/// the window, so a packet's bytes are copied once (by the kernel) instead of once more through
/// a `BufReader` and again into a record buffer.
struct CountingReader<R> {
    inner: R,
    /// Bytes consumed so far.
    pos: u64,
    window: Vec<u8>,
    /// Unconsumed bytes are `window[start..end]`.
    start: usize,
    end: usize,
    eof: bool,
}

impl<R: Read> CountingReader<R> {
    fn new(inner: R) -> Self {
        CountingReader {
            inner,
            pos: 0,
            window: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
        }
    }

    /// Makes at least `need` unconsumed bytes available unless the input ends first. Moves the
    /// unconsumed tail to the front, which invalidates ranges returned earlier.
    fn fill(&mut self, need: usize) -> std::io::Result<()> {
        if self.end - self.start >= need || self.eof {
            return Ok(());
        }
        self.window.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        let size = need.max(WINDOW);
        if self.window.len() < size {
            self.window.resize(size, 0);
        }
        while self.end < need {
            match self.inner.read(&mut self.window[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Consumes up to `len` bytes (fewer only at the end of the input) and returns where they
    /// lie in the window; valid until the next read.
    fn take(&mut self, len: usize) -> std::io::Result<std::ops::Range<usize>> {
        self.fill(len)?;
        let got = len.min(self.end - self.start);
        let range = self.start..self.start + got;
        self.start += got;
        self.pos += got as u64;
        Ok(range)
    }

    /// At least `need` unconsumed bytes unless the input ends first, without consuming them.
    fn peek(&mut self, need: usize) -> std::io::Result<&[u8]> {
        self.fill(need)?;
        Ok(&self.window[self.start..self.end])
    }

    /// Reads until `buf` is full or the stream ends; returns the bytes read.
    fn read_full(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let range = self.take(buf.len())?;
        let got = range.len();
        buf[..got].copy_from_slice(&self.window[range]);
        Ok(got)
    }

    /// Reads exactly `len` bytes into `buf` (resized), or reports how many were available.
    fn read_into(&mut self, buf: &mut Vec<u8>, len: usize) -> std::io::Result<usize> {
        let range = self.take(len)?;
        buf.clear();
        buf.extend_from_slice(&self.window[range]);
        Ok(buf.len())
    }
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (timestamp, link type, frame bytes) of each packet read.
    type Frames = Vec<(i64, u32, Vec<u8>)>;

    fn read_all(bytes: &[u8]) -> (Frames, Option<CaptureError>) {
        let mut r = match CaptureReader::new(bytes, Path::new("t.pcap")) {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Some(e)),
        };
        let mut out = Vec::new();
        loop {
            match r.next_packet() {
                Ok(Some(p)) => out.push((p.ts.0, p.link.0, p.data.to_vec())),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    fn pcap(big_endian: bool, nanos: bool, records: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let w32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut f = Vec::new();
        f.extend_from_slice(&w32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
        f.extend_from_slice(&w16(2));
        f.extend_from_slice(&w16(4));
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&w32(65535));
        f.extend_from_slice(&w32(1));
        for (s, frac, d) in records {
            f.extend_from_slice(&w32(*s));
            f.extend_from_slice(&w32(*frac));
            f.extend_from_slice(&w32(d.len() as u32));
            f.extend_from_slice(&w32(d.len() as u32));
            f.extend_from_slice(d);
        }
        f
    }

    #[test]
    fn pcap_in_both_byte_orders_and_resolutions() {
        for be in [false, true] {
            let (p, e) = read_all(&pcap(be, false, &[(10, 5, b"ab"), (11, 6, b"cde")]));
            assert!(e.is_none());
            assert_eq!(
                p,
                vec![
                    (10_000_005, 1, b"ab".to_vec()),
                    (11_000_006, 1, b"cde".to_vec())
                ]
            );
            let (p, _) = read_all(&pcap(be, true, &[(10, 5_000, b"ab")]));
            assert_eq!(p[0].0, 10_000_005);
        }
    }

    /// A reader that returns at most `step` bytes per call (pipes and sockets do).
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.step).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn records_across_window_refills_and_short_reads_come_out_whole() {
        // Records of varied sizes, one as large as the snap length limit, so records straddle
        // the read-ahead window's end many times.
        let sizes = [1usize, 1500, 60, MAX_SNAPLEN, 9000, 3, WINDOW - 7, 70_000];
        let payloads: Vec<Vec<u8>> = (0..40)
            .map(|i| {
                let len = sizes[i % sizes.len()];
                (0..len).map(|j| (i * 31 + j) as u8).collect()
            })
            .collect();
        let records: Vec<(u32, u32, &[u8])> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| (i as u32, 0, p.as_slice()))
            .collect();
        let file = pcap(false, false, &records);
        for step in [usize::MAX, 4096, 1000, 7] {
            let mut r =
                CaptureReader::new(Trickle { data: &file, step }, Path::new("t.pcap")).unwrap();
            let mut n = 0;
            while let Some(p) = r.next_packet().unwrap() {
                assert_eq!(p.data, payloads[n].as_slice(), "record {n}, step {step}");
                assert_eq!(p.ts.0, n as i64 * 1_000_000);
                n += 1;
            }
            assert_eq!(n, payloads.len());
            assert_eq!(r.position(), file.len() as u64);
        }
    }

    #[test]
    fn truncated_record_names_its_offset() {
        let mut f = pcap(false, false, &[(1, 0, b"abcd"), (2, 0, b"efgh")]);
        f.truncate(f.len() - 2);
        let (p, e) = read_all(&f);
        assert_eq!(p.len(), 1);
        let e = e.unwrap();
        assert_eq!(e.offset(), Some(24 + 16 + 4));
        assert!(e.to_string().contains("t.pcap at offset 44"), "{e}");
    }

    #[test]
    fn absurd_lengths_are_refused_before_allocation() {
        let mut f = pcap(false, false, &[]);
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&u32::MAX.to_le_bytes());
        f.extend_from_slice(&u32::MAX.to_le_bytes());
        let (_, e) = read_all(&f);
        assert!(matches!(e, Some(CaptureError::Corrupt { offset: 24, .. })));
    }

    #[test]
    fn not_a_capture() {
        let (_, e) = read_all(b"GIF89a....");
        assert!(matches!(e, Some(CaptureError::NotACapture { .. })));
        let (_, e) = read_all(b"");
        assert!(matches!(e, Some(CaptureError::NotACapture { .. })));
    }

    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let mut body = body.to_vec();
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let total = (12 + body.len()) as u32;
        let mut b = kind.to_le_bytes().to_vec();
        b.extend_from_slice(&total.to_le_bytes());
        b.extend_from_slice(&body);
        b.extend_from_slice(&total.to_le_bytes());
        b
    }

    #[test]
    fn pcapng_interfaces_resolutions_and_simple_packets() {
        let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        let mut f = block(0x0A0D_0D0A, &shb);
        // Interface 0: Ethernet, microseconds. Interface 1: raw IP, nanoseconds (tsresol 9).
        f.extend(block(1, &[1, 0, 0, 0, 0, 0, 0, 0]));
        f.extend(block(
            1,
            &[101, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0],
        ));
        let epb = |iface: u32, ts: u64, data: &[u8]| {
            let mut b = iface.to_le_bytes().to_vec();
            b.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
            b.extend_from_slice(&(ts as u32).to_le_bytes());
            b.extend_from_slice(&(data.len() as u32).to_le_bytes());
            b.extend_from_slice(&(data.len() as u32).to_le_bytes());
            b.extend_from_slice(data);
            block(6, &b)
        };
        f.extend(epb(0, 1_000_000, b"eth"));
        f.extend(epb(1, 2_000_000_000, b"raw"));
        f.extend(block(0x0BAD, b"custom block, skipped"));
        let mut spb = 3u32.to_le_bytes().to_vec();
        spb.extend_from_slice(b"spb");
        f.extend(block(3, &spb));
        let (p, e) = read_all(&f);
        assert!(e.is_none(), "{e:?}");
        assert_eq!(
            p,
            vec![
                (1_000_000, 1, b"eth".to_vec()),
                (2_000_000, 101, b"raw".to_vec()),
                (2_000_000, 1, b"spb".to_vec()),
            ]
        );
        // A packet naming an undescribed interface is an error with its offset.
        let mut bad = f.clone();
        bad.extend(epb(7, 0, b"x"));
        let (_, e) = read_all(&bad);
        assert!(e.unwrap().to_string().contains("interface 7"));
    }

    #[test]
    fn every_truncation_of_a_pcapng_is_an_error_not_a_panic() {
        let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        let mut f = block(0x0A0D_0D0A, &shb);
        f.extend(block(1, &[1, 0, 0, 0, 0, 0, 0, 0]));
        let mut b = 0u32.to_le_bytes().to_vec();
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&4u32.to_le_bytes());
        b.extend_from_slice(&4u32.to_le_bytes());
        b.extend_from_slice(b"data");
        f.extend(block(6, &b));
        for cut in 0..f.len() {
            let _ = read_all(&f[..cut]);
        }
    }
}
