//! Streaming readers: one record at a time, bounded lines and messages, every error naming the
//! input and the record.

use crate::csv::{IpfixprobeColumns, NfdumpColumns};
use crate::error::FlowError;
use crate::export::{decode_ipfix, TemplateCache};
use crate::record::{FlowRecord, Item};
use crate::text::{read_line, MAX_LINE};
use crate::zeek::ZeekTsv;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The flow file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputFormat {
    /// ipfixprobe CSV with a typed header (`uint64 BYTES,...`) and `[a|b]` per-packet arrays.
    Ipfixprobe,
    /// `nfdump -o csv`.
    Nfdump,
    /// Zeek conn/dns/ssl logs as TSV with `#fields` headers.
    ZeekTsv,
    /// Zeek logs as JSON lines.
    ZeekJson,
    /// Suricata EVE JSON (flow, netflow, dns, tls records).
    Eve,
    /// IPFIX file: a stream of RFC 7011 messages.
    Ipfix,
}

impl InputFormat {
    pub const ALL: &'static [InputFormat] = &[
        InputFormat::Ipfixprobe,
        InputFormat::Nfdump,
        InputFormat::ZeekTsv,
        InputFormat::ZeekJson,
        InputFormat::Eve,
        InputFormat::Ipfix,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Ipfixprobe => "ipfixprobe",
            InputFormat::Nfdump => "nfdump",
            InputFormat::ZeekTsv => "zeek",
            InputFormat::ZeekJson => "zeek-json",
            InputFormat::Eve => "eve",
            InputFormat::Ipfix => "ipfix",
        }
    }

    pub fn parse(s: &str) -> Option<InputFormat> {
        InputFormat::ALL.iter().copied().find(|f| f.as_str() == s)
    }

    /// True for formats whose files may carry names (DNS, TLS) that flow records need.
    pub fn carries_names(self) -> bool {
        matches!(
            self,
            InputFormat::ZeekTsv | InputFormat::ZeekJson | InputFormat::Eve
        )
    }
}

/// Tells the format from the first bytes of a file.
pub fn detect_format(head: &[u8]) -> Option<InputFormat> {
    if head.len() >= 4 && head[0] == 0 && head[1] == 10 {
        return Some(InputFormat::Ipfix);
    }
    let text = String::from_utf8_lossy(head.get(..head.len().min(4096)).unwrap_or(head));
    let first = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches('\u{feff}');
    if first.starts_with("#separator") || first.starts_with("#fields") {
        return Some(InputFormat::ZeekTsv);
    }
    if first.starts_with('{') {
        if first.contains("\"event_type\"") {
            return Some(InputFormat::Eve);
        }
        if first.contains("\"uid\"") || first.contains("\"id.orig_h\"") {
            return Some(InputFormat::ZeekJson);
        }
        return None;
    }
    if first.contains("TIME_FIRST") && first.contains(' ') {
        return Some(InputFormat::Ipfixprobe);
    }
    let cols: Vec<&str> = first.split(',').map(str::trim).collect();
    if cols
        .first()
        .is_some_and(|c| *c == "ts" || *c == "firstSeen")
        && cols.iter().any(|c| *c == "sa" || *c == "srcAddr")
    {
        return Some(InputFormat::Nfdump);
    }
    None
}

enum State {
    Ipfixprobe(Option<IpfixprobeColumns>),
    Nfdump(Option<NfdumpColumns>, bool),
    ZeekTsv(ZeekTsv),
    ZeekJson,
    Eve,
    Ipfix {
        cache: TemplateCache,
        queue: VecDeque<FlowRecord>,
        offset: u64,
    },
}

/// Reads one flow file record by record.
pub struct FlowReader<R: BufRead> {
    path: PathBuf,
    input: R,
    format: InputFormat,
    state: State,
    /// Line number (text) or data record number (IPFIX) of the last record.
    record: u64,
    line: Vec<u8>,
    done: bool,
}

/// Opens `path`, telling its format from its first bytes unless `format` names it.
pub fn open(
    path: &Path,
    format: Option<InputFormat>,
) -> Result<FlowReader<BufReader<std::fs::File>>, FlowError> {
    let io = |source| FlowError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut input = BufReader::with_capacity(256 * 1024, file);
    let format = match format {
        Some(f) => f,
        None => {
            let head = input.fill_buf().map_err(io)?;
            detect_format(head).ok_or_else(|| FlowError::UnknownFormat {
                path: path.to_path_buf(),
                message: "not ipfixprobe/nfdump CSV, Zeek TSV/JSON, EVE JSON or IPFIX".into(),
            })?
        }
    };
    Ok(FlowReader::new(path, input, format))
}

impl<R: BufRead> FlowReader<R> {
    pub fn new(path: &Path, input: R, format: InputFormat) -> Self {
        let state = match format {
            InputFormat::Ipfixprobe => State::Ipfixprobe(None),
            InputFormat::Nfdump => State::Nfdump(None, false),
            InputFormat::ZeekTsv => State::ZeekTsv(ZeekTsv::default()),
            InputFormat::ZeekJson => State::ZeekJson,
            InputFormat::Eve => State::Eve,
            InputFormat::Ipfix => State::Ipfix {
                cache: TemplateCache::default(),
                queue: VecDeque::new(),
                offset: 0,
            },
        };
        FlowReader {
            path: path.to_path_buf(),
            input,
            format,
            state,
            record: 0,
            line: Vec::new(),
            done: false,
        }
    }

    pub fn format(&self) -> InputFormat {
        self.format
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn record_error(&self, message: impl Into<String>) -> FlowError {
        FlowError::Record {
            path: self.path.clone(),
            record: self.record,
            message: message.into(),
        }
    }

    fn next_ipfix(&mut self) -> Option<Result<Item, FlowError>> {
        loop {
            let State::Ipfix {
                cache,
                queue,
                offset,
            } = &mut self.state
            else {
                return None;
            };
            if let Some(mut r) = queue.pop_front() {
                self.record += 1;
                r.record = self.record;
                return Some(Ok(Item::Flow(Box::new(r))));
            }
            if self.done {
                return None;
            }
            let mut header = [0u8; 4];
            match read_exact_or_eof(&mut self.input, &mut header) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(4) => {}
                Ok(_) => {
                    self.done = true;
                    return Some(Err(FlowError::Binary {
                        path: self.path.clone(),
                        offset: *offset,
                        message: "truncated IPFIX message header".into(),
                    }));
                }
                Err(source) => {
                    self.done = true;
                    return Some(Err(FlowError::Io {
                        path: self.path.clone(),
                        source,
                    }));
                }
            }
            let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
            if header[..2] != [0, 10] || len < 16 {
                self.done = true;
                return Some(Err(FlowError::Binary {
                    path: self.path.clone(),
                    offset: *offset,
                    message: format!(
                        "not an IPFIX message header (version {}, length {len})",
                        u16::from_be_bytes([header[0], header[1]])
                    ),
                }));
            }
            let mut msg = vec![0u8; len];
            msg[..4].copy_from_slice(&header);
            match read_exact_or_eof(&mut self.input, &mut msg[4..]) {
                Ok(n) if n == len - 4 => {}
                Ok(_) => {
                    self.done = true;
                    return Some(Err(FlowError::Binary {
                        path: self.path.clone(),
                        offset: *offset,
                        message: format!("truncated IPFIX message of {len} bytes"),
                    }));
                }
                Err(source) => {
                    self.done = true;
                    return Some(Err(FlowError::Io {
                        path: self.path.clone(),
                        source,
                    }));
                }
            }
            let mut out = Vec::new();
            let at = *offset;
            *offset += len as u64;
            let result = decode_ipfix(&msg, None, cache, &mut out);
            queue.extend(out);
            if let Err(e) = result {
                return Some(Err(FlowError::Binary {
                    path: self.path.clone(),
                    offset: at + e.offset() as u64,
                    message: e.to_string(),
                }));
            }
        }
    }
}

/// A line without its leading byte-order marks.
fn strip_bom(mut line: &[u8]) -> &[u8] {
    while let Some(rest) = line.strip_prefix("\u{feff}".as_bytes()) {
        line = rest;
    }
    line
}

impl<R: BufRead> FlowReader<R> {
    /// The hot path for ipfixprobe data: a line that lies whole in the input's buffer is
    /// decoded where it lies, without copying it out. `None` when that does not apply (another
    /// format, the header, a line across the buffer's end, a line too long, a read error): the
    /// caller then reads the line the general way. `Some(None)` for a blank line.
    fn next_in_buffer(&mut self) -> Option<Option<Result<Item, FlowError>>> {
        let State::Ipfixprobe(Some(columns)) = &self.state else {
            return None;
        };
        let available = self.input.fill_buf().ok()?;
        let end = memchr::memchr(b'\n', available)?;
        if end > MAX_LINE {
            return None;
        }
        let raw = available.get(..end)?;
        let line = strip_bom(raw.strip_suffix(b"\r").unwrap_or(raw));
        self.record += 1;
        let record = self.record;
        let result = if line.trim_ascii().is_empty() {
            None
        } else {
            let mut r = Box::new(FlowRecord {
                record,
                ..FlowRecord::default()
            });
            Some(columns.parse_fresh(line, &mut r).map(|()| r))
        };
        self.input.consume(end + 1);
        Some(result.map(|r| r.map(Item::Flow).map_err(|m| self.record_error(m))))
    }
}

fn read_exact_or_eof<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<R: BufRead> Iterator for FlowReader<R> {
    type Item = Result<Item, FlowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.format == InputFormat::Ipfix {
            return self.next_ipfix();
        }
        loop {
            if self.done {
                return None;
            }
            match self.next_in_buffer() {
                Some(Some(item)) => return Some(item),
                Some(None) => continue,
                None => {}
            }
            let mut line = std::mem::take(&mut self.line);
            let read = read_line(&mut self.input, &mut line, MAX_LINE);
            self.record += 1;
            let ok = match read {
                Ok(None) => {
                    self.done = true;
                    self.line = line;
                    return None;
                }
                Ok(Some(ok)) => ok,
                Err(source) => {
                    self.done = true;
                    return Some(Err(FlowError::Io {
                        path: self.path.clone(),
                        source,
                    }));
                }
            };
            if !ok {
                self.line = line;
                return Some(Err(FlowError::LineTooLong {
                    path: self.path.clone(),
                    record: self.record,
                    limit: MAX_LINE,
                }));
            }
            let record = self.record;
            // ipfixprobe data lines are decoded straight from their bytes (the hot path);
            // headers and the other text formats go through text.
            if let State::Ipfixprobe(Some(columns)) = &self.state {
                let bytes = strip_bom(&line);
                if bytes.trim_ascii().is_empty() {
                    self.line = line;
                    continue;
                }
                let mut r = Box::new(FlowRecord {
                    record,
                    ..FlowRecord::default()
                });
                let result = columns.parse_fresh(bytes, &mut r);
                self.line = line;
                return Some(match result {
                    Ok(()) => Ok(Item::Flow(r)),
                    Err(message) => Err(self.record_error(message)),
                });
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_start_matches('\u{feff}');
            let result: Result<Option<Item>, String> = if text.trim().is_empty() {
                Ok(None)
            } else {
                match &mut self.state {
                    State::Ipfixprobe(cols) => match cols {
                        None => IpfixprobeColumns::from_header(text).map(|c| {
                            *cols = Some(c);
                            None
                        }),
                        Some(c) => c.parse(text, record).map(|r| Some(Item::Flow(Box::new(r)))),
                    },
                    State::Nfdump(cols, summary) => {
                        if *summary || text.starts_with("Summary") || text.starts_with("No matched")
                        {
                            *summary = true;
                            Ok(None)
                        } else {
                            match cols {
                                None => NfdumpColumns::from_header(text).map(|c| {
                                    *cols = Some(c);
                                    None
                                }),
                                Some(c) => c
                                    .parse(text, record)
                                    .map(|r| r.map(|r| Item::Flow(Box::new(r)))),
                            }
                        }
                    }
                    State::ZeekTsv(z) => z.line(text, record),
                    State::ZeekJson => crate::zeek::json_line(text, record),
                    State::Eve => crate::eve::line(text, record),
                    State::Ipfix { .. } => Ok(None),
                }
            };
            let result = match result {
                Ok(Some(item)) => Some(Ok(item)),
                Ok(None) => None,
                Err(message) => Some(Err(message)),
            };
            self.line = line;
            match result {
                Some(Ok(item)) => return Some(Ok(item)),
                Some(Err(message)) => return Some(Err(self.record_error(message))),
                None => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_detected() {
        assert_eq!(
            detect_format(b"uint64 BYTES,time TIME_FIRST,time TIME_LAST\n"),
            Some(InputFormat::Ipfixprobe)
        );
        assert_eq!(
            detect_format(b"ts,te,td,sa,da,sp,dp,pr\n"),
            Some(InputFormat::Nfdump)
        );
        assert_eq!(
            detect_format(b"#separator \\x09\n"),
            Some(InputFormat::ZeekTsv)
        );
        assert_eq!(
            detect_format(b"{\"ts\":1,\"uid\":\"C\"}\n"),
            Some(InputFormat::ZeekJson)
        );
        assert_eq!(
            detect_format(b"{\"timestamp\":\"x\",\"event_type\":\"flow\"}\n"),
            Some(InputFormat::Eve)
        );
        assert_eq!(detect_format(&[0, 10, 0, 16]), Some(InputFormat::Ipfix));
        assert_eq!(detect_format(b"hello\n"), None);
    }

    #[test]
    fn errors_name_file_and_line_and_reading_goes_on() {
        let text = "uint64 BYTES,time TIME_FIRST,time TIME_LAST\n1,2021-12-14T16:45:34,2021-12-14T16:45:35\nx,y,z\n2,2021-12-14T16:45:34,2021-12-14T16:45:35\n";
        let r = FlowReader::new(Path::new("f.csv"), text.as_bytes(), InputFormat::Ipfixprobe);
        let items: Vec<_> = r.collect();
        assert_eq!(items.len(), 3);
        assert!(matches!(&items[0], Ok(Item::Flow(f)) if f.record == 2));
        let err = items[1].as_ref().unwrap_err().to_string();
        assert!(err.starts_with("f.csv: record 3:"), "{err}");
        assert!(matches!(&items[2], Ok(Item::Flow(f)) if f.record == 4));
    }

    #[test]
    fn ipfixprobe_lines_read_the_same_in_and_across_buffers() {
        let header = "uint64 BYTES,time TIME_FIRST,time TIME_LAST,int8* PPI_PKT_DIRECTIONS,uint16* PPI_PKT_LENGTHS,time* PPI_PKT_TIMES";
        let line = |bytes: u32| {
            format!("{bytes},2021-12-14T16:45:34.924601,2021-12-14T16:45:35.000001,[1|-1],[68|359],[2021-12-14T16:45:34.924000|2021-12-14T16:45:35.000000]")
        };
        let long = format!("7,{}", "9".repeat(MAX_LINE));
        let text = format!(
            "\u{feff}{header}\r\n{}\r\n\n{}\n{long}\n\u{feff}{}\nx,y\n{}",
            line(1),
            line(2),
            line(3),
            line(4)
        );
        let read = |capacity: usize| -> Vec<String> {
            let input = BufReader::with_capacity(capacity, text.as_bytes());
            FlowReader::new(Path::new("f.csv"), input, InputFormat::Ipfixprobe)
                .map(|item| match item {
                    Ok(Item::Flow(f)) => {
                        format!("{} {:?} {:?}", f.record, f.bytes, f.packets_info())
                    }
                    Ok(other) => format!("{other:?}"),
                    Err(e) => e.to_string(),
                })
                .collect()
        };
        let whole = read(1 << 20);
        assert_eq!(whole.len(), 6, "{whole:#?}");
        assert!(
            whole[0].starts_with("2 [1, 0] [PacketRecord"),
            "{}",
            whole[0]
        );
        assert!(whole[1].starts_with("4 [2, 0]"), "{}", whole[1]);
        assert_eq!(
            whole[2],
            format!("f.csv: record 5: line longer than {MAX_LINE} bytes (skipped)")
        );
        assert!(whole[3].starts_with("6 [3, 0]"), "{}", whole[3]);
        assert_eq!(whole[4], "f.csv: record 7: 2 fields where the header has 6");
        assert!(whole[5].starts_with("8 [4, 0]"), "{}", whole[5]);
        // Lines split across small buffers take the copying path and read the same.
        for capacity in [16, 100, 257] {
            assert_eq!(read(capacity), whole, "capacity {capacity}");
        }
    }

    #[test]
    fn ipfix_stream_numbers_records() {
        use crate::export::build::{ipfix_message, Flow};
        let f = Flow {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            src_port: 1,
            dst_port: 2,
            proto: 6,
            packets: 1,
            bytes: 1,
            rev_packets: 1,
            rev_bytes: 1,
            flags: 0,
            start: 1,
            end: 2,
        };
        let mut file = ipfix_message(1, 1, &[f], true);
        file.extend(ipfix_message(1, 2, &[f, f], false));
        file.extend([0, 10, 0]);
        let r = FlowReader::new(Path::new("x.ipfix"), &file[..], InputFormat::Ipfix);
        let items: Vec<_> = r.collect();
        assert_eq!(items.len(), 4);
        assert!(matches!(&items[2], Ok(Item::Flow(f)) if f.record == 3));
        assert!(items[3]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("x.ipfix"));
    }
}
