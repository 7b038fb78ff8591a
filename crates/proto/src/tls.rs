//! TLS records and the ClientHello (RFC 8446 4.1.2), with JA3 and JA4 fingerprints.
//!
//! [`parse_client_hello`] takes the reassembled first bytes of a TCP stream; a ClientHello may
//! span several records and segments, so it answers [`Parsed::Incomplete`] ("need more") when
//! the bytes seen so far are a valid prefix, and an error when they are not TLS.
//! GREASE values (RFC 8701) are kept in the parsed lists and left out of the fingerprints.
//!
//! ```
//! use minetrace_proto::tls::{parse_client_hello, Parsed};
//! assert!(matches!(parse_client_hello(b"\x16\x03\x01\x02\x00\x01"), Ok(Parsed::Incomplete { .. })));
//! assert!(parse_client_hello(b"GET / HTTP/1.1\r\n").is_err());
//! ```

use md5::{Digest as _, Md5};
use sha2::Sha256;

/// Largest ClientHello handshake message accepted (post-quantum key shares make them ~2 KiB).
pub const MAX_HELLO_LEN: usize = 16 * 1024;
/// Largest TLS record (2^14 plus the allowance RFC 8446 gives ciphertext).
const MAX_RECORD_LEN: usize = 16 * 1024 + 256;
const RECORD_HEADER_LEN: usize = 5;
const CONTENT_HANDSHAKE: u8 = 22;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
/// Entries kept from one list-valued extension (ALPN, names).
const MAX_LIST_ENTRIES: usize = 32;

/// A parse that may need more input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<T> {
    Done(T),
    /// The input is a valid prefix; at least `needed` more bytes are required.
    Incomplete {
        needed: usize,
    },
}

/// Why bytes are not a (supported) TLS ClientHello.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("not a TLS handshake record at offset {offset}")]
    NotHandshake { offset: usize },
    #[error("TLS record at offset {offset} has length {len} (at most {limit})")]
    BadRecordLength {
        offset: usize,
        len: usize,
        limit: usize,
    },
    #[error("first handshake message is type {msg_type}, not ClientHello")]
    NotClientHello { msg_type: u8 },
    #[error("ClientHello of {len} bytes exceeds the limit of {limit}")]
    TooLarge { len: usize, limit: usize },
    #[error("ClientHello truncated or malformed reading {field} at offset {offset}")]
    Malformed { field: &'static str, offset: usize },
}

/// True for the RFC 8701 GREASE values `0x?a?a` with equal bytes.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// Extension type numbers used here.
pub mod ext {
    pub const SERVER_NAME: u16 = 0x0000;
    pub const SUPPORTED_GROUPS: u16 = 0x000a;
    pub const EC_POINT_FORMATS: u16 = 0x000b;
    pub const SIGNATURE_ALGORITHMS: u16 = 0x000d;
    pub const ALPN: u16 = 0x0010;
    pub const SUPPORTED_VERSIONS: u16 = 0x002b;
}

/// The fields of a ClientHello that fingerprints and detectors use. Lists are in wire order,
/// GREASE included.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientHello {
    /// Version in the first record header.
    pub record_version: u16,
    /// `legacy_version` of the hello (0x0303 for TLS 1.2 and 1.3).
    pub legacy_version: u16,
    pub session_id_len: u8,
    pub cipher_suites: Vec<u16>,
    pub compression_methods: Vec<u8>,
    /// Extension types in order.
    pub extensions: Vec<u16>,
    /// The first `host_name` of server_name, when it is printable ASCII.
    pub sni: Option<String>,
    /// ALPN protocol names, raw.
    pub alpn: Vec<Vec<u8>>,
    pub supported_groups: Vec<u16>,
    pub ec_point_formats: Vec<u8>,
    pub signature_algorithms: Vec<u16>,
    pub supported_versions: Vec<u16>,
    /// Bytes of input the hello occupied (record headers included).
    pub consumed: usize,
}

/// True when `buf` starts like a TLS handshake record carrying a ClientHello (cheap pre-check
/// for the first bytes of a stream; needs 1 byte, checks up to 6).
pub fn looks_like_client_hello(buf: &[u8]) -> bool {
    match buf {
        [] => false,
        [t] => *t == CONTENT_HANDSHAKE,
        [t, major, rest @ ..] => {
            *t == CONTENT_HANDSHAKE
                && *major == 3
                && rest.first().is_none_or(|minor| *minor <= 4)
                && rest.get(3).is_none_or(|m| *m == HANDSHAKE_CLIENT_HELLO)
        }
    }
}

/// Parses the ClientHello at the start of `stream`, gathering it from as many handshake
/// records as it spans.
pub fn parse_client_hello(stream: &[u8]) -> Result<Parsed<ClientHello>, TlsError> {
    let mut handshake: Vec<u8> = Vec::new();
    let mut offset = 0usize;
    let mut record_version = 0u16;
    loop {
        let Some(header) = stream.get(offset..offset + RECORD_HEADER_LEN) else {
            // A prefix of a record header must itself look right.
            let prefix_ok = match stream.get(offset..).unwrap_or(&[]) {
                [] => true,
                [t] => *t == CONTENT_HANDSHAKE,
                [t, major, ..] => *t == CONTENT_HANDSHAKE && *major == 3,
            };
            if !prefix_ok {
                return Err(TlsError::NotHandshake { offset });
            }
            return Ok(Parsed::Incomplete {
                needed: offset + RECORD_HEADER_LEN - stream.len(),
            });
        };
        if header[0] != CONTENT_HANDSHAKE || header[1] != 3 || header[2] > 4 {
            return Err(TlsError::NotHandshake { offset });
        }
        if offset == 0 {
            record_version = u16::from_be_bytes([header[1], header[2]]);
        }
        let len = u16::from_be_bytes([header[3], header[4]]) as usize;
        if len == 0 || len > MAX_RECORD_LEN {
            return Err(TlsError::BadRecordLength {
                offset,
                len,
                limit: MAX_RECORD_LEN,
            });
        }
        let body_start = offset + RECORD_HEADER_LEN;
        let available = stream.get(body_start..).unwrap_or(&[]);
        let take = available.len().min(len);
        handshake.extend_from_slice(&available[..take]);
        // Check the handshake header as soon as it is there, so junk fails early.
        if let Some(hs) = handshake.get(..4) {
            if hs[0] != HANDSHAKE_CLIENT_HELLO {
                return Err(TlsError::NotClientHello { msg_type: hs[0] });
            }
            let hello_len = u32::from_be_bytes([0, hs[1], hs[2], hs[3]]) as usize;
            if hello_len > MAX_HELLO_LEN {
                return Err(TlsError::TooLarge {
                    len: hello_len,
                    limit: MAX_HELLO_LEN,
                });
            }
            if let Some(body) = handshake.get(4..4 + hello_len) {
                let mut hello = parse_hello_body(body)?;
                hello.record_version = record_version;
                hello.consumed = body_start + take;
                return Ok(Parsed::Done(hello));
            }
            if take < len {
                return Ok(Parsed::Incomplete {
                    needed: (4 + hello_len - handshake.len()).max(len - take),
                });
            }
        } else if handshake
            .first()
            .is_some_and(|t| *t != HANDSHAKE_CLIENT_HELLO)
        {
            return Err(TlsError::NotClientHello {
                msg_type: handshake[0],
            });
        } else if take < len {
            return Ok(Parsed::Incomplete { needed: len - take });
        }
        offset = body_start + len;
        if handshake.len() > MAX_HELLO_LEN + 4 {
            return Err(TlsError::TooLarge {
                len: handshake.len(),
                limit: MAX_HELLO_LEN,
            });
        }
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf` in the handshake body, for error messages.
    base: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Cursor { buf, pos: 0, base }
    }
    fn err(&self, field: &'static str) -> TlsError {
        TlsError::Malformed {
            field,
            offset: self.base + self.pos,
        }
    }
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], TlsError> {
        let s = self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end))
            .ok_or_else(|| self.err(field))?;
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, TlsError> {
        Ok(self.take(1, field)?[0])
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, TlsError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn vec8(&mut self, field: &'static str) -> Result<Cursor<'a>, TlsError> {
        let n = self.u8(field)? as usize;
        let base = self.base + self.pos;
        Ok(Cursor::new(self.take(n, field)?, base))
    }
    fn vec16(&mut self, field: &'static str) -> Result<Cursor<'a>, TlsError> {
        let n = self.u16(field)? as usize;
        let base = self.base + self.pos;
        Ok(Cursor::new(self.take(n, field)?, base))
    }
    fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }
    fn u16_list(mut self, field: &'static str) -> Result<Vec<u16>, TlsError> {
        if self.buf.len() & 1 == 1 {
            return Err(self.err(field));
        }
        let mut out = Vec::with_capacity(self.buf.len() / 2);
        while !self.is_empty() {
            out.push(self.u16(field)?);
        }
        Ok(out)
    }
}

fn parse_hello_body(body: &[u8]) -> Result<ClientHello, TlsError> {
    let mut c = Cursor::new(body, 0);
    let mut hello = ClientHello {
        legacy_version: c.u16("legacy_version")?,
        ..ClientHello::default()
    };
    c.take(32, "random")?;
    let session_id = c.vec8("session_id")?;
    if session_id.buf.len() > 32 {
        return Err(c.err("session_id"));
    }
    hello.session_id_len = session_id.buf.len() as u8;
    let ciphers = c.vec16("cipher_suites")?;
    if ciphers.buf.is_empty() {
        return Err(c.err("cipher_suites"));
    }
    hello.cipher_suites = ciphers.u16_list("cipher_suites")?;
    let compression = c.vec8("compression_methods")?;
    if compression.buf.is_empty() {
        return Err(c.err("compression_methods"));
    }
    hello.compression_methods = compression.buf.to_vec();
    if c.is_empty() {
        return Ok(hello); // no extensions (old clients)
    }
    let mut exts = c.vec16("extensions")?;
    if !c.is_empty() {
        return Err(c.err("bytes after extensions"));
    }
    while !exts.is_empty() {
        let ext_type = exts.u16("extension type")?;
        let mut data = exts.vec16("extension data")?;
        hello.extensions.push(ext_type);
        match ext_type {
            ext::SERVER_NAME => {
                let mut list = data.vec16("server_name list")?;
                while !list.is_empty() {
                    let name_type = list.u8("server_name type")?;
                    let name = list.vec16("server_name")?;
                    if name_type == 0 && hello.sni.is_none() {
                        hello.sni = printable_name(name.buf);
                    }
                }
            }
            ext::ALPN => {
                let mut list = data.vec16("alpn list")?;
                while !list.is_empty() {
                    let proto = list.vec8("alpn protocol")?;
                    if hello.alpn.len() < MAX_LIST_ENTRIES {
                        hello.alpn.push(proto.buf.to_vec());
                    }
                }
            }
            ext::SUPPORTED_GROUPS => {
                hello.supported_groups = data
                    .vec16("supported_groups")?
                    .u16_list("supported_groups")?;
            }
            ext::EC_POINT_FORMATS => {
                hello.ec_point_formats = data.vec8("ec_point_formats")?.buf.to_vec();
            }
            ext::SIGNATURE_ALGORITHMS => {
                hello.signature_algorithms = data
                    .vec16("signature_algorithms")?
                    .u16_list("signature_algorithms")?;
            }
            ext::SUPPORTED_VERSIONS => {
                hello.supported_versions = data
                    .vec8("supported_versions")?
                    .u16_list("supported_versions")?;
            }
            _ => {}
        }
    }
    Ok(hello)
}

fn printable_name(raw: &[u8]) -> Option<String> {
    let ok = !raw.is_empty() && raw.len() <= 255 && raw.iter().all(|b| b.is_ascii_graphic());
    ok.then(|| String::from_utf8_lossy(raw).into_owned())
}

fn dash_joined<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items.map(|v| v.to_string()).collect::<Vec<_>>().join("-")
}

fn hex4_joined(items: &[u16]) -> String {
    items
        .iter()
        .map(|v| format!("{v:04x}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn sha256_12(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    hex::encode(digest).chars().take(12).collect()
}

impl ClientHello {
    /// ALPN names as text (lossy).
    pub fn alpn_strings(&self) -> Vec<String> {
        self.alpn
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect()
    }

    /// The JA3 string: `version,ciphers,extensions,groups,point_formats`, GREASE removed.
    pub fn ja3(&self) -> String {
        let keep = |v: &&u16| !is_grease(**v);
        format!(
            "{},{},{},{},{}",
            self.legacy_version,
            dash_joined(self.cipher_suites.iter().filter(keep)),
            dash_joined(self.extensions.iter().filter(keep)),
            dash_joined(self.supported_groups.iter().filter(keep)),
            dash_joined(self.ec_point_formats.iter()),
        )
    }

    /// MD5 of [`ClientHello::ja3`], lower-case hex.
    pub fn ja3_hash(&self) -> String {
        hex::encode(Md5::digest(self.ja3().as_bytes()))
    }

    /// The highest version offered: from supported_versions when present, else legacy_version.
    pub fn max_version(&self) -> u16 {
        self.supported_versions
            .iter()
            .copied()
            .filter(|v| !is_grease(*v))
            .max()
            .unwrap_or(self.legacy_version)
    }

    fn ja4_a(&self, transport: char) -> String {
        let version = match self.max_version() {
            0x0304 => "13",
            0x0303 => "12",
            0x0302 => "11",
            0x0301 => "10",
            0x0300 => "s3",
            0x0002 => "s2",
            0xfeff => "d1",
            0xfefd => "d2",
            0xfefc => "d3",
            _ => "00",
        };
        let sni = if self.extensions.contains(&ext::SERVER_NAME) {
            'd'
        } else {
            'i'
        };
        let ciphers = self
            .cipher_suites
            .iter()
            .filter(|v| !is_grease(**v))
            .count()
            .min(99);
        let exts = self
            .extensions
            .iter()
            .filter(|v| !is_grease(**v))
            .count()
            .min(99);
        let alpn = match self.alpn.first() {
            Some(p) if !p.is_empty() => {
                let (first, last) = (p[0], p[p.len() - 1]);
                if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
                    format!("{}{}", first as char, last as char)
                } else {
                    // FoxIO JA4 spec: first and last characters of the hex form.
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    format!(
                        "{}{}",
                        HEX[(first >> 4) as usize] as char,
                        HEX[(last & 0x0f) as usize] as char
                    )
                }
            }
            _ => "00".to_string(),
        };
        format!("{transport}{version}{sni}{ciphers:02}{exts:02}{alpn}")
    }

    fn ja4_lists(&self) -> (Vec<u16>, Vec<u16>, Vec<u16>) {
        let mut ciphers: Vec<u16> = self
            .cipher_suites
            .iter()
            .copied()
            .filter(|v| !is_grease(*v))
            .collect();
        ciphers.sort_unstable();
        let mut exts: Vec<u16> = self
            .extensions
            .iter()
            .copied()
            .filter(|v| !is_grease(*v) && *v != ext::SERVER_NAME && *v != ext::ALPN)
            .collect();
        exts.sort_unstable();
        let sigs: Vec<u16> = self
            .signature_algorithms
            .iter()
            .copied()
            .filter(|v| !is_grease(*v))
            .collect();
        (ciphers, exts, sigs)
    }

    fn ja4_c_input(exts: &[u16], sigs: &[u16]) -> String {
        if sigs.is_empty() {
            hex4_joined(exts)
        } else {
            format!("{}_{}", hex4_joined(exts), hex4_joined(sigs))
        }
    }

    /// The JA4 fingerprint (FoxIO), e.g. `t13d1516h2_8daaf6152771_e5627efa2ab1`, for TLS over
    /// TCP.
    pub fn ja4(&self) -> String {
        let (ciphers, exts, sigs) = self.ja4_lists();
        let b = if ciphers.is_empty() {
            "000000000000".to_string()
        } else {
            sha256_12(&hex4_joined(&ciphers))
        };
        let c = if exts.is_empty() {
            "000000000000".to_string()
        } else {
            sha256_12(&Self::ja4_c_input(&exts, &sigs))
        };
        format!("{}_{b}_{c}", self.ja4_a('t'))
    }

    /// JA4 raw form (`ja4_r`): the sorted lists instead of their hashes.
    pub fn ja4_r(&self) -> String {
        let (ciphers, exts, sigs) = self.ja4_lists();
        format!(
            "{}_{}_{}",
            self.ja4_a('t'),
            hex4_joined(&ciphers),
            Self::ja4_c_input(&exts, &sigs)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.trim()).unwrap()
    }

    /// Chrome ClientHellos from `chrome.pcap` (nDPI test data); the reference values are the
    /// JA3C/JA4 nDPI reports for the same flows.
    const CHROME_A: &str = include_str!("testdata/chrome-client-hello-e5627efa2ab1.hex");
    const CHROME_B: &str = include_str!("testdata/chrome-client-hello-9b887d9acb53.hex");

    fn done(p: Parsed<ClientHello>) -> ClientHello {
        match p {
            Parsed::Done(h) => h,
            Parsed::Incomplete { needed } => panic!("incomplete, needs {needed}"),
        }
    }

    #[test]
    fn real_chrome_hellos_match_published_fingerprints() {
        let a = done(parse_client_hello(&unhex(CHROME_A)).unwrap());
        assert_eq!(a.sni.as_deref(), Some("www.iit.cnr.it"));
        assert_eq!(a.alpn_strings(), vec!["h2", "http/1.1"]);
        assert_eq!(a.ja4(), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(a.ja3_hash(), "aa50c12a5dfa717d9d6ab34e97de79d5");
        let b = done(parse_client_hello(&unhex(CHROME_B)).unwrap());
        assert_eq!(b.ja4(), "t13d1516h2_8daaf6152771_9b887d9acb53");
        assert_eq!(b.ja3_hash(), "1b73862eae8f1711440a446b1ef357fd");
        assert!(
            a.cipher_suites.iter().any(|c| is_grease(*c)),
            "GREASE kept in the parse"
        );
    }

    /// Builds a ClientHello from lists, GREASE sprinkled in, wrapped in one record.
    fn build_hello(
        ciphers: &[u16],
        exts: &[u16],
        sigs: &[u16],
        groups: &[u16],
        alpn: &[&[u8]],
        sni: Option<&str>,
    ) -> Vec<u8> {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7u8; 32]);
        body.push(0);
        let mut cs = vec![0x0a, 0x0a];
        for c in ciphers {
            cs.extend_from_slice(&c.to_be_bytes());
        }
        body.extend_from_slice(&(cs.len() as u16).to_be_bytes());
        body.extend_from_slice(&cs);
        body.extend_from_slice(&[1, 0]);
        let mut ext_bytes = Vec::new();
        let mut push_ext = |t: u16, data: Vec<u8>| {
            ext_bytes.extend_from_slice(&t.to_be_bytes());
            ext_bytes.extend_from_slice(&(data.len() as u16).to_be_bytes());
            ext_bytes.extend_from_slice(&data);
        };
        push_ext(0x1a1a, vec![]);
        let u16s = |v: &[u16]| {
            let mut d = ((v.len() * 2) as u16).to_be_bytes().to_vec();
            for x in v {
                d.extend_from_slice(&x.to_be_bytes());
            }
            d
        };
        for &t in exts {
            let data = match t {
                ext::SERVER_NAME => {
                    let name = sni.unwrap_or("example.com").as_bytes();
                    let mut d = ((name.len() + 3) as u16).to_be_bytes().to_vec();
                    d.push(0);
                    d.extend_from_slice(&(name.len() as u16).to_be_bytes());
                    d.extend_from_slice(name);
                    d
                }
                ext::ALPN => {
                    let mut list = Vec::new();
                    for p in alpn {
                        list.push(p.len() as u8);
                        list.extend_from_slice(p);
                    }
                    let mut d = (list.len() as u16).to_be_bytes().to_vec();
                    d.extend_from_slice(&list);
                    d
                }
                ext::SIGNATURE_ALGORITHMS => u16s(sigs),
                ext::SUPPORTED_GROUPS => u16s(groups),
                ext::EC_POINT_FORMATS => vec![1, 0],
                ext::SUPPORTED_VERSIONS => vec![6, 0x5a, 0x5a, 0x03, 0x04, 0x03, 0x03],
                _ => vec![],
            };
            push_ext(t, data);
        }
        body.extend_from_slice(&(ext_bytes.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext_bytes);
        let mut hs = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
        hs.extend_from_slice(&body);
        let mut rec = vec![22, 3, 1, (hs.len() >> 8) as u8, hs.len() as u8];
        rec.extend_from_slice(&hs);
        rec
    }

    const SPEC_CIPHERS: &[u16] = &[
        0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
        0x009c, 0x009d, 0x002f, 0x0035,
    ];
    const SPEC_SIGS: &[u16] = &[
        0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
    ];

    #[test]
    fn ja4_matches_the_foxio_specification_example() {
        // The JA4_ro example of the FoxIO JA4 technical details, in its original order.
        let exts = [
            0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012,
            0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
        ];
        let raw = build_hello(
            SPEC_CIPHERS,
            &exts,
            SPEC_SIGS,
            &[0x001d],
            &[b"h2", b"http/1.1"],
            None,
        );
        let h = done(parse_client_hello(&raw).unwrap());
        assert_eq!(h.ja4(), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(
            h.ja4_r(),
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
        );
        // Without signature algorithms the list ends without an underscore (spec: 6d807ffa2a79).
        assert_eq!(
            sha256_12(&ClientHello::ja4_c_input(
                &[
                    0x0005, 0x000a, 0x000b, 0x000d, 0x0012, 0x0015, 0x0017, 0x001b, 0x0023, 0x002b,
                    0x002d, 0x0033, 0x4469, 0xff01
                ],
                &[]
            )),
            "6d807ffa2a79"
        );
    }

    #[test]
    fn ja3_and_ja4_match_a_published_chrome_143_example() {
        // ja3_text / ja3_hash / ja4 published together for one Chrome 143 hello.
        let ciphers = [
            4865, 4866, 4867, 49195, 49199, 49196, 49200, 52393, 52392, 49171, 49172, 156, 157, 47,
            53,
        ];
        let exts = [
            45, 51, 16, 65037, 23, 17613, 0, 11, 10, 43, 65281, 35, 18, 5, 13, 27,
        ];
        let raw = build_hello(
            &ciphers,
            &exts,
            SPEC_SIGS,
            &[4588, 29, 23, 24],
            &[b"h2"],
            None,
        );
        let h = done(parse_client_hello(&raw).unwrap());
        assert_eq!(
            h.ja3(),
            "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0"
        );
        assert_eq!(h.ja3_hash(), "98487aa16281980e7d1120d399efb6a4");
        assert_eq!(h.ja4(), "t13d1516h2_8daaf6152771_d8a2da3f94cd");
    }

    #[test]
    fn alpn_edge_cases_follow_the_spec() {
        let mk = |alpn: &[&[u8]]| {
            let exts: &[u16] = if alpn.is_empty() {
                &[0x000d]
            } else {
                &[0x0010, 0x000d]
            };
            done(
                parse_client_hello(&build_hello(&[0x1301], exts, SPEC_SIGS, &[], alpn, None))
                    .unwrap(),
            )
            .ja4()
        };
        // No SNI, no supported_versions (so legacy 0x0303), one cipher, no ALPN.
        assert_eq!(&mk(&[]).as_str()[..10], "t12i010100");
        assert_eq!(&mk(&[b"q"]).as_str()[8..10], "qq");
        assert_eq!(&mk(&[&[0xab, 0xcd]]).as_str()[8..10], "ad");
        assert_eq!(&mk(&[&[0x30, 0xab]]).as_str()[8..10], "3b");
        assert_eq!(&mk(&[&[0x30, 0xab, 0xcd, 0x31]]).as_str()[8..10], "01");
    }

    #[test]
    fn split_at_every_byte_is_incomplete_then_done() {
        let raw = unhex(CHROME_A);
        for cut in 0..raw.len() {
            match parse_client_hello(&raw[..cut]) {
                Ok(Parsed::Incomplete { needed }) => assert!(needed > 0, "cut {cut}"),
                other => panic!("cut {cut}: {other:?}"),
            }
        }
        assert!(matches!(parse_client_hello(&raw), Ok(Parsed::Done(_))));
    }

    #[test]
    fn hello_spanning_several_records_is_reassembled() {
        let raw = unhex(CHROME_A);
        let hs = &raw[5..];
        let mut multi = Vec::new();
        for chunk in hs.chunks(100) {
            multi.extend_from_slice(&[22, 3, 1, 0, chunk.len() as u8]);
            multi.extend_from_slice(chunk);
        }
        let h = done(parse_client_hello(&multi).unwrap());
        assert_eq!(h.ja3_hash(), "aa50c12a5dfa717d9d6ab34e97de79d5");
        assert_eq!(h.consumed, multi.len());
        for cut in 0..multi.len() {
            assert!(
                matches!(
                    parse_client_hello(&multi[..cut]),
                    Ok(Parsed::Incomplete { .. })
                ),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn non_tls_and_corrupt_hellos_are_errors() {
        assert!(parse_client_hello(b"SSH-2.0-OpenSSH_9.6\r\n").is_err());
        assert!(parse_client_hello(b"{\"id\":1}").is_err());
        assert!(parse_client_hello(&[0x17, 3, 3, 0, 5, 1, 2, 3, 4, 5]).is_err());
        // A ServerHello is not a ClientHello.
        assert_eq!(
            parse_client_hello(&[22, 3, 3, 0, 4, 2, 0, 0, 0]),
            Err(TlsError::NotClientHello { msg_type: 2 })
        );
        // Oversized hello length.
        assert!(matches!(
            parse_client_hello(&[22, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff]),
            Err(TlsError::TooLarge { .. })
        ));
        // Corrupt every byte of a real hello in turn: never a panic.
        let raw = unhex(CHROME_A);
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0xff;
            let _ = parse_client_hello(&bad);
        }
    }

    #[test]
    fn grease_detection() {
        assert!(is_grease(0x0a0a));
        assert!(is_grease(0xfafa));
        assert!(!is_grease(0x0a1a));
        assert!(!is_grease(0x1301));
    }

    #[test]
    fn prefilter_accepts_hello_starts_only() {
        assert!(looks_like_client_hello(&[22]));
        assert!(looks_like_client_hello(&[22, 3, 1, 2, 0, 1]));
        assert!(!looks_like_client_hello(&[22, 3, 1, 2, 0, 2]));
        assert!(!looks_like_client_hello(b"GET /"));
        assert!(!looks_like_client_hello(&[]));
    }
}
