//! DNS messages (RFC 1035): header, questions and the answer section's A, AAAA and CNAME
//! records, over UDP or TCP (2-byte length prefix). Authority and additional sections are not
//! read. Names follow compression pointers only backwards, with a jump limit, so a hostile
//! message cannot loop; every count and length is bounded.
//!
//! ```
//! use minetrace_proto::dns::{parse_message, RecordType};
//! // A query for "pool.example" type A.
//! let q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04pool\x07example\x00\x00\x01\x00\x01";
//! let msg = parse_message(q).unwrap();
//! assert!(!msg.is_response());
//! assert_eq!(msg.questions[0].name, "pool.example");
//! assert_eq!(msg.questions[0].qtype, RecordType::A);
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Questions kept from one message (real messages carry one).
pub const MAX_QUESTIONS: usize = 8;
/// Answer records kept from one message; the rest are skipped.
pub const MAX_ANSWERS: usize = 64;
/// Longest name on the wire (RFC 1035 2.3.4).
pub const MAX_NAME_WIRE_LEN: usize = 255;
/// Compression pointers followed in one name.
pub const MAX_POINTER_JUMPS: usize = 32;
const HEADER_LEN: usize = 12;

/// Why a DNS message did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DnsError {
    #[error("DNS message truncated reading {field} at offset {offset}")]
    Truncated { field: &'static str, offset: usize },
    #[error("DNS name at offset {offset}: {reason}")]
    BadName { offset: usize, reason: &'static str },
    /// TCP: the length prefix announces more bytes than are present yet.
    #[error("DNS over TCP: need {needed} more bytes")]
    Incomplete { needed: usize },
    #[error("DNS message claims {count} questions (at most {limit} are accepted)")]
    TooManyQuestions { count: u16, limit: usize },
}

/// A record type (open: unknown values still parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordType(pub u16);

impl RecordType {
    pub const A: RecordType = RecordType(1);
    pub const NS: RecordType = RecordType(2);
    pub const CNAME: RecordType = RecordType(5);
    pub const SOA: RecordType = RecordType(6);
    pub const PTR: RecordType = RecordType(12);
    pub const MX: RecordType = RecordType(15);
    pub const TXT: RecordType = RecordType(16);
    pub const AAAA: RecordType = RecordType(28);
    pub const SRV: RecordType = RecordType(33);
    pub const OPT: RecordType = RecordType(41);
    pub const HTTPS: RecordType = RecordType(65);
    pub const ANY: RecordType = RecordType(255);
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Text form, without the trailing dot; bytes outside `[A-Za-z0-9_-]` are written `\DDD`.
    pub name: String,
    pub qtype: RecordType,
    pub qclass: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    /// Any other type (or an A/AAAA of the wrong length): only its length is kept.
    Other {
        len: u16,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub rtype: RecordType,
    pub class: u16,
    pub ttl: u32,
    pub data: RecordData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMessage {
    pub id: u16,
    pub flags: u16,
    pub questions: Vec<Question>,
    /// Answer records, at most [`MAX_ANSWERS`].
    pub answers: Vec<Record>,
    /// Answer count from the header (may exceed `answers.len()`).
    pub answer_count: u16,
}

impl DnsMessage {
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0f) as u8
    }
    pub fn rcode(&self) -> u8 {
        (self.flags & 0x000f) as u8
    }
    /// Addresses in the answers (A and AAAA), in order.
    pub fn answer_addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.answers.iter().filter_map(|r| match r.data {
            RecordData::A(a) => Some(IpAddr::V4(a)),
            RecordData::Aaaa(a) => Some(IpAddr::V6(a)),
            _ => None,
        })
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DnsError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end.and_then(|e| self.buf.get(self.pos..e)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(DnsError::Truncated {
                field,
                offset: self.pos,
            }),
        }
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, DnsError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, DnsError> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn name(&mut self) -> Result<String, DnsError> {
        let (name, next) = read_name(self.buf, self.pos)?;
        self.pos = next;
        Ok(name)
    }
}

/// Reads a (possibly compressed) name starting at `start`; returns it and the offset just after
/// it in the original position.
fn read_name(buf: &[u8], start: usize) -> Result<(String, usize), DnsError> {
    // Most names fit: one allocation instead of a growing string's several.
    let mut out = String::with_capacity(64);
    let mut pos = start;
    let mut after: Option<usize> = None;
    let mut jumps = 0usize;
    let mut wire_len = 0usize;
    // Pointers must go strictly backwards of the lowest offset visited so far: no loops.
    let mut floor = start;
    loop {
        let len = *buf.get(pos).ok_or(DnsError::Truncated {
            field: "name label length",
            offset: pos,
        })? as usize;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    let next = after.unwrap_or(pos + 1);
                    return Ok((out, next));
                }
                let label = buf.get(pos + 1..pos + 1 + len).ok_or(DnsError::Truncated {
                    field: "name label",
                    offset: pos + 1,
                })?;
                wire_len += len + 1;
                if wire_len + 1 > MAX_NAME_WIRE_LEN {
                    return Err(DnsError::BadName {
                        offset: start,
                        reason: "longer than 255 bytes",
                    });
                }
                if !out.is_empty() {
                    out.push('.');
                }
                for &b in label {
                    if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                        out.push(b as char);
                    } else {
                        // Three digits, as zone files write them (no temporary string).
                        out.extend([
                            '\\',
                            char::from(b'0' + b / 100),
                            char::from(b'0' + b / 10 % 10),
                            char::from(b'0' + b % 10),
                        ]);
                    }
                }
                pos += 1 + len;
            }
            0xc0 => {
                let low = *buf.get(pos + 1).ok_or(DnsError::Truncated {
                    field: "compression pointer",
                    offset: pos,
                })? as usize;
                let target = ((len & 0x3f) << 8) | low;
                jumps += 1;
                if jumps > MAX_POINTER_JUMPS || target >= floor {
                    return Err(DnsError::BadName {
                        offset: pos,
                        reason: "compression pointer loops or points forward",
                    });
                }
                if after.is_none() {
                    after = Some(pos + 2);
                }
                floor = target;
                pos = target;
            }
            _ => {
                return Err(DnsError::BadName {
                    offset: pos,
                    reason: "reserved label type",
                })
            }
        }
    }
}

/// Parses one DNS message (a UDP payload, or a TCP message without its length prefix).
pub fn parse_message(buf: &[u8]) -> Result<DnsMessage, DnsError> {
    let mut r = Reader { buf, pos: 0 };
    if buf.len() < HEADER_LEN {
        return Err(DnsError::Truncated {
            field: "header",
            offset: 0,
        });
    }
    let id = r.u16("id")?;
    let flags = r.u16("flags")?;
    let qdcount = r.u16("question count")?;
    let ancount = r.u16("answer count")?;
    let _nscount = r.u16("authority count")?;
    let _arcount = r.u16("additional count")?;
    if qdcount as usize > MAX_QUESTIONS {
        return Err(DnsError::TooManyQuestions {
            count: qdcount,
            limit: MAX_QUESTIONS,
        });
    }
    let mut questions = Vec::with_capacity(qdcount as usize);
    for _ in 0..qdcount {
        let name = r.name()?;
        let qtype = RecordType(r.u16("question type")?);
        let qclass = r.u16("question class")?;
        questions.push(Question {
            name,
            qtype,
            qclass,
        });
    }
    let mut answers = Vec::new();
    for _ in 0..ancount.min(MAX_ANSWERS as u16) {
        let name = r.name()?;
        let rtype = RecordType(r.u16("record type")?);
        let class = r.u16("record class")?;
        let ttl = r.u32("record ttl")?;
        let rdlen = r.u16("record data length")?;
        let rdata_start = r.pos;
        let rdata = r.take(rdlen as usize, "record data")?;
        let data = match (rtype, rdata.len()) {
            (RecordType::A, 4) => {
                RecordData::A(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]))
            }
            (RecordType::AAAA, 16) => {
                let mut a = [0u8; 16];
                a.copy_from_slice(rdata);
                RecordData::Aaaa(Ipv6Addr::from(a))
            }
            (RecordType::CNAME, _) => {
                let (target, end) = read_name(buf, rdata_start)?;
                if end > rdata_start + rdlen as usize {
                    return Err(DnsError::BadName {
                        offset: rdata_start,
                        reason: "CNAME target runs past its record",
                    });
                }
                RecordData::Cname(target)
            }
            _ => RecordData::Other { len: rdlen },
        };
        answers.push(Record {
            name,
            rtype,
            class,
            ttl,
            data,
        });
    }
    Ok(DnsMessage {
        id,
        flags,
        questions,
        answers,
        answer_count: ancount,
    })
}

/// Parses the first DNS message of a TCP stream (2-byte length prefix). Returns the message and
/// the bytes consumed, or [`DnsError::Incomplete`] when the message is not all there yet.
pub fn parse_tcp_message(stream: &[u8]) -> Result<(DnsMessage, usize), DnsError> {
    let Some(prefix) = stream.get(..2) else {
        return Err(DnsError::Incomplete {
            needed: 2 - stream.len(),
        });
    };
    let len = u16::from_be_bytes([prefix[0], prefix[1]]) as usize;
    let body = match stream.get(2..2 + len) {
        Some(b) => b,
        None => {
            return Err(DnsError::Incomplete {
                needed: 2 + len - stream.len(),
            })
        }
    };
    let msg = parse_message(body)?;
    Ok((msg, 2 + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.trim()).unwrap()
    }

    // Real response (KakaoTalk capture): CNAME then A, both with compression.
    const CNAME_A: &str = "629881800001000200000000046d7174740866616365626f6f6b03636f6d0000010001c00c00050001000004d0000b046d71747403767676c011c02f00010001000000010004adfc6102";
    // Real AAAA response with an OPT record (dns_fragmented capture).
    const AAAA: &str = "8cec8180000100020000000106657266706f7002646500001c0001c00c001c00010000012c001026064700003000000000000068186291c00c001c00010000012c0010260647000030000000000000681863910000290200000000000000";

    #[test]
    fn parses_real_cname_and_a_answers() {
        let msg = parse_message(&unhex(CNAME_A)).unwrap();
        assert!(msg.is_response());
        assert_eq!(msg.id, 0x6298);
        assert_eq!(msg.questions[0].name, "mqtt.facebook.com");
        assert_eq!(msg.answers.len(), 2);
        assert_eq!(
            msg.answers[0].data,
            RecordData::Cname("mqtt.vvv.facebook.com".into())
        );
        assert_eq!(msg.answers[1].name, "mqtt.vvv.facebook.com");
        let addrs: Vec<IpAddr> = msg.answer_addresses().collect();
        assert_eq!(addrs, vec!["173.252.97.2".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn parses_real_aaaa_answers() {
        let msg = parse_message(&unhex(AAAA)).unwrap();
        assert_eq!(msg.questions[0].name, "erfpop.de");
        assert_eq!(msg.questions[0].qtype, RecordType::AAAA);
        let addrs: Vec<IpAddr> = msg.answer_addresses().collect();
        assert_eq!(addrs.len(), 2);
        assert_eq!(
            addrs[0],
            "2606:4700:30::6818:6291".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn bytes_outside_host_names_are_written_as_three_digit_escapes() {
        // A query for one name whose first label holds a dot, a space and 0xff.
        let mut msg = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        msg.extend_from_slice(&[
            6, b'a', b'.', b' ', 0xff, b'-', b'_', 3, b'c', b'o', b'm', 0,
        ]);
        msg.extend_from_slice(&[0, 1, 0, 1]);
        let parsed = parse_message(&msg).unwrap();
        assert_eq!(parsed.questions[0].name, "a\\046\\032\\255-_.com");
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let full = unhex(CNAME_A);
        for cut in 0..full.len() {
            assert!(parse_message(&full[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn tcp_framing_reports_incomplete() {
        let body = unhex(CNAME_A);
        let mut stream = (body.len() as u16).to_be_bytes().to_vec();
        stream.extend_from_slice(&body);
        let (msg, used) = parse_tcp_message(&stream).unwrap();
        assert_eq!(used, stream.len());
        assert_eq!(msg.answers.len(), 2);
        assert_eq!(
            parse_tcp_message(&stream[..10]),
            Err(DnsError::Incomplete {
                needed: stream.len() - 10
            })
        );
        assert_eq!(
            parse_tcp_message(&stream[..1]),
            Err(DnsError::Incomplete { needed: 1 })
        );
    }

    #[test]
    fn compression_loops_and_forward_pointers_are_rejected() {
        // Question name is a pointer to itself.
        let mut m = unhex("000001000001000000000000");
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert!(matches!(parse_message(&m), Err(DnsError::BadName { .. })));
        // Two pointers pointing at each other (in an answer).
        let mut m = unhex("000081800001000100000000");
        m.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01"); // question at 12
        let ans = m.len();
        m.extend_from_slice(&[0xc0, (ans + 2) as u8, 0xc0, ans as u8]);
        m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
        assert!(matches!(parse_message(&m), Err(DnsError::BadName { .. })));
    }

    #[test]
    fn overlong_names_and_reserved_labels_are_rejected() {
        let mut m = unhex("000001000001000000000000");
        for _ in 0..5 {
            m.push(63);
            m.extend_from_slice(&[b'a'; 63]);
        }
        m.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert!(matches!(parse_message(&m), Err(DnsError::BadName { .. })));
        let mut m = unhex("000001000001000000000000");
        m.extend_from_slice(&[0x40, 0, 0, 1, 0, 1]);
        assert!(matches!(parse_message(&m), Err(DnsError::BadName { .. })));
    }

    #[test]
    fn odd_bytes_in_labels_are_escaped() {
        let mut m = unhex("000001000001000000000000");
        m.extend_from_slice(b"\x03a.b\x07example\x00\x00\x01\x00\x01");
        let msg = parse_message(&m).unwrap();
        assert_eq!(msg.questions[0].name, "a\\046b.example");
    }

    #[test]
    fn huge_counts_are_bounded() {
        let m = unhex("0000010000ff000000000000");
        assert!(matches!(
            parse_message(&m),
            Err(DnsError::TooManyQuestions { .. })
        ));
        // 255 answers claimed, one question only: an error, no allocation storm.
        let mut m = unhex("00008180000100ff00000000");
        m.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01");
        assert!(parse_message(&m).is_err());
    }
}
