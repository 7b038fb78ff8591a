//! Binary flow export: NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011), with templates
//! kept per exporter and observation domain in a bounded cache.
//!
//! Every decoder takes one message (`&[u8]`), checks every length before it slices, and appends
//! decoded records to `out`; a malformed set ends the message with an error naming its offset,
//! keeping the records decoded before it.

use crate::error::DecodeError;
use crate::record::FlowRecord;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Most templates held at once (all exporters together); the oldest are dropped beyond it.
pub const DEFAULT_TEMPLATE_LIMIT: usize = 4096;
/// Most fields one template may declare.
const MAX_TEMPLATE_FIELDS: usize = 512;
/// Most records decoded from one message (a 64 KiB message of 1-byte records is absurd).
const MAX_RECORDS_PER_MESSAGE: usize = 8192;
/// IANA enterprise number of RFC 5103 reverse information elements.
const REVERSE_PEN: u32 = 29305;

/// One field of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub id: u16,
    pub enterprise: u32,
    /// Declared length; 65535 = variable length (IPFIX).
    pub len: u16,
}

/// A data template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub fields: Vec<FieldSpec>,
    /// True for options templates (their data records describe the exporter, not flows).
    pub options: bool,
}

/// Who sent a template: the exporter's address, the protocol version and its observation domain
/// (IPFIX) or source id (NetFlow v9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TemplateScope {
    pub exporter: Option<SocketAddr>,
    pub version: u16,
    pub domain: u32,
}

/// Templates per (exporter, observation domain, template id), bounded with oldest-first eviction.
#[derive(Debug)]
pub struct TemplateCache {
    map: FxHashMap<(TemplateScope, u16), Template>,
    order: VecDeque<(TemplateScope, u16)>,
    limit: usize,
    evicted: u64,
}

impl Default for TemplateCache {
    fn default() -> Self {
        TemplateCache::new(DEFAULT_TEMPLATE_LIMIT)
    }
}

impl TemplateCache {
    pub fn new(limit: usize) -> Self {
        TemplateCache {
            map: FxHashMap::default(),
            order: VecDeque::new(),
            limit: limit.max(1),
            evicted: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Templates dropped because the cache was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn get(&self, scope: TemplateScope, id: u16) -> Option<&Template> {
        self.map.get(&(scope, id))
    }

    pub fn insert(&mut self, scope: TemplateScope, id: u16, t: Template) {
        let key = (scope, id);
        if self.map.insert(key, t).is_none() {
            self.order.push_back(key);
            while self.map.len() > self.limit {
                match self.order.pop_front() {
                    Some(old) => {
                        if self.map.remove(&old).is_some() {
                            self.evicted += 1;
                        }
                    }
                    None => break,
                }
            }
        }
    }

    pub fn withdraw(&mut self, scope: TemplateScope, id: u16) {
        self.map.remove(&(scope, id));
        self.order.retain(|k| *k != (scope, id));
    }

    fn withdraw_all(&mut self, scope: TemplateScope) {
        self.map.retain(|k, _| k.0 != scope);
        self.order.retain(|k| k.0 != scope);
    }
}

fn be16(b: &[u8], at: usize, what: &'static str) -> Result<u16, DecodeError> {
    match b.get(at..at + 2) {
        Some(s) => Ok(u16::from_be_bytes([s[0], s[1]])),
        None => Err(DecodeError::Truncated {
            offset: at,
            what,
            need: 2,
            have: b.len().saturating_sub(at),
        }),
    }
}

fn be32(b: &[u8], at: usize, what: &'static str) -> Result<u32, DecodeError> {
    match b.get(at..at + 4) {
        Some(s) => Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]])),
        None => Err(DecodeError::Truncated {
            offset: at,
            what,
            need: 4,
            have: b.len().saturating_sub(at),
        }),
    }
}

/// An unsigned big-endian integer of 1 to 8 bytes (reduced-size encoding).
fn uint(b: &[u8]) -> u64 {
    b.iter().take(8).fold(0u64, |v, &x| (v << 8) | u64::from(x))
}

/// The export protocol version of a datagram or file message (5, 9 or 10), if it has one.
pub fn version(buf: &[u8]) -> Option<u16> {
    buf.get(..2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

/// Decodes one datagram of any supported version.
pub fn decode_datagram(
    buf: &[u8],
    exporter: Option<SocketAddr>,
    cache: &mut TemplateCache,
    out: &mut Vec<FlowRecord>,
) -> Result<(), DecodeError> {
    match version(buf) {
        Some(5) => decode_v5(buf, out),
        Some(9) => decode_v9(buf, exporter, cache, out),
        Some(10) => decode_ipfix(buf, exporter, cache, out).map(|_| ()),
        Some(v) => Err(DecodeError::Version { version: v }),
        None => Err(DecodeError::Truncated {
            offset: 0,
            what: "version",
            need: 2,
            have: buf.len(),
        }),
    }
}

/// NetFlow v5: a 24-byte header and fixed 48-byte records.
pub fn decode_v5(buf: &[u8], out: &mut Vec<FlowRecord>) -> Result<(), DecodeError> {
    const HEADER: usize = 24;
    const RECORD: usize = 48;
    let count = usize::from(be16(buf, 2, "v5 header")?);
    let uptime_ms = i64::from(be32(buf, 4, "v5 header")?);
    let secs = i64::from(be32(buf, 8, "v5 header")?);
    let nsecs = i64::from(be32(buf, 12, "v5 header")?);
    if buf.len() < HEADER {
        return Err(DecodeError::Truncated {
            offset: 0,
            what: "v5 header",
            need: HEADER,
            have: buf.len(),
        });
    }
    if count > 30 {
        return Err(DecodeError::Invalid {
            offset: 2,
            message: format!("v5 count {count} is above the protocol's 30"),
        });
    }
    let export_us = secs * 1_000_000 + nsecs / 1000;
    for i in 0..count {
        let at = HEADER + i * RECORD;
        let Some(r) = buf.get(at..at + RECORD) else {
            return Err(DecodeError::Truncated {
                offset: at,
                what: "v5 record",
                need: RECORD,
                have: buf.len().saturating_sub(at),
            });
        };
        let first = i64::from(u32::from_be_bytes([r[24], r[25], r[26], r[27]]));
        let last = i64::from(u32::from_be_bytes([r[28], r[29], r[30], r[31]]));
        out.push(FlowRecord {
            src: Some(IpAddr::V4(Ipv4Addr::new(r[0], r[1], r[2], r[3]))),
            dst: Some(IpAddr::V4(Ipv4Addr::new(r[4], r[5], r[6], r[7]))),
            packets: [
                u64::from(u32::from_be_bytes([r[16], r[17], r[18], r[19]])),
                0,
            ],
            bytes: [
                u64::from(u32::from_be_bytes([r[20], r[21], r[22], r[23]])),
                0,
            ],
            first_us: export_us - (uptime_ms - first) * 1000,
            last_us: export_us - (uptime_ms - last) * 1000,
            src_port: u16::from_be_bytes([r[32], r[33]]),
            dst_port: u16::from_be_bytes([r[34], r[35]]),
            tcp_flags: [r[37], 0],
            proto: r[38],
            ..FlowRecord::default()
        });
    }
    Ok(())
}

/// NetFlow v9: a 20-byte header, then template (id 0), options template (id 1) and data
/// (id >= 256) flowsets.
pub fn decode_v9(
    buf: &[u8],
    exporter: Option<SocketAddr>,
    cache: &mut TemplateCache,
    out: &mut Vec<FlowRecord>,
) -> Result<(), DecodeError> {
    const HEADER: usize = 20;
    let uptime_ms = i64::from(be32(buf, 4, "v9 header")?);
    let secs = i64::from(be32(buf, 8, "v9 header")?);
    let source_id = be32(buf, 16, "v9 header")?;
    let scope = TemplateScope {
        exporter,
        version: 9,
        domain: source_id,
    };
    let time = TimeBase::Uptime {
        export_us: secs * 1_000_000,
        uptime_ms,
    };
    let mut at = HEADER;
    let mut produced = 0usize;
    while at + 4 <= buf.len() {
        let set_id = be16(buf, at, "v9 flowset header")?;
        let set_len = usize::from(be16(buf, at + 2, "v9 flowset header")?);
        if set_len < 4 {
            return Err(DecodeError::Invalid {
                offset: at + 2,
                message: format!("flowset length {set_len} is below 4"),
            });
        }
        let Some(body) = buf.get(at + 4..at + set_len) else {
            return Err(DecodeError::Truncated {
                offset: at,
                what: "v9 flowset",
                need: set_len,
                have: buf.len() - at,
            });
        };
        match set_id {
            0 => templates(body, at + 4, scope, cache, false, false)?,
            1 => v9_options_templates(body, at + 4, scope, cache)?,
            2..=255 => {}
            id => {
                if let Some(t) = cache.get(scope, id) {
                    if !t.options {
                        let t = t.clone();
                        data_records(body, at + 4, &t, time, out, &mut produced)?;
                    }
                }
            }
        }
        at += set_len;
    }
    Ok(())
}

/// IPFIX: one message (a 16-byte header, then sets). Returns the message length, so file
/// readers can step through a stream of messages.
pub fn decode_ipfix(
    buf: &[u8],
    exporter: Option<SocketAddr>,
    cache: &mut TemplateCache,
    out: &mut Vec<FlowRecord>,
) -> Result<usize, DecodeError> {
    const HEADER: usize = 16;
    let v = be16(buf, 0, "IPFIX header")?;
    if v != 10 {
        return Err(DecodeError::Version { version: v });
    }
    let len = usize::from(be16(buf, 2, "IPFIX header")?);
    if len < HEADER {
        return Err(DecodeError::Invalid {
            offset: 2,
            message: format!("message length {len} is below the 16-byte header"),
        });
    }
    let Some(msg) = buf.get(..len) else {
        return Err(DecodeError::Truncated {
            offset: 0,
            what: "IPFIX message",
            need: len,
            have: buf.len(),
        });
    };
    let export_s = i64::from(be32(msg, 4, "IPFIX header")?);
    let domain = be32(msg, 12, "IPFIX header")?;
    let scope = TemplateScope {
        exporter,
        version: 10,
        domain,
    };
    let time = TimeBase::Absolute {
        export_us: export_s * 1_000_000,
    };
    let mut at = HEADER;
    let mut produced = 0usize;
    while at + 4 <= len {
        let set_id = be16(msg, at, "IPFIX set header")?;
        let set_len = usize::from(be16(msg, at + 2, "IPFIX set header")?);
        if set_len < 4 {
            return Err(DecodeError::Invalid {
                offset: at + 2,
                message: format!("set length {set_len} is below 4"),
            });
        }
        let Some(body) = msg.get(at + 4..at + set_len) else {
            return Err(DecodeError::Truncated {
                offset: at,
                what: "IPFIX set",
                need: set_len,
                have: len - at,
            });
        };
        match set_id {
            2 => templates(body, at + 4, scope, cache, true, false)?,
            3 => templates(body, at + 4, scope, cache, true, true)?,
            4..=255 => {}
            0 | 1 => {
                return Err(DecodeError::Invalid {
                    offset: at,
                    message: format!("set id {set_id} is reserved"),
                })
            }
            id => {
                if let Some(t) = cache.get(scope, id) {
                    if !t.options {
                        let t = t.clone();
                        data_records(body, at + 4, &t, time, out, &mut produced)?;
                    }
                }
            }
        }
        at += set_len;
    }
    Ok(len)
}

/// Template records of a template set (NetFlow v9 id 0; IPFIX ids 2 and 3).
fn templates(
    body: &[u8],
    base: usize,
    scope: TemplateScope,
    cache: &mut TemplateCache,
    ipfix: bool,
    options: bool,
) -> Result<(), DecodeError> {
    let mut at = 0;
    // Padding at the end of a set is shorter than a template header.
    while at + 4 <= body.len() {
        let id = be16(body, at, "template header")?;
        let count = usize::from(be16(body, at + 2, "template header")?);
        at += 4;
        if ipfix && count == 0 && matches!(id, 2 | 3) {
            // All-templates withdrawal (RFC 7011 8.1).
            cache.withdraw_all(scope);
            continue;
        }
        if id < 256 {
            if id == 0 && count == 0 {
                break; // padding
            }
            return Err(DecodeError::Invalid {
                offset: base + at - 4,
                message: format!("template id {id} is below 256"),
            });
        }
        if ipfix && count == 0 {
            // Template withdrawal (RFC 7011 8.1).
            cache.withdraw(scope, id);
            continue;
        }
        if options {
            // Scope field count: counted in `count`, no separate handling needed.
            at += 2;
        }
        if count > MAX_TEMPLATE_FIELDS {
            return Err(DecodeError::Invalid {
                offset: base + at,
                message: format!("template declares {count} fields"),
            });
        }
        let mut fields = Vec::with_capacity(count);
        for _ in 0..count {
            let raw = be16(body, at, "template field")?;
            let len = be16(body, at + 2, "template field")?;
            at += 4;
            let (id, enterprise) = if ipfix && raw & 0x8000 != 0 {
                let pen = be32(body, at, "enterprise number")?;
                at += 4;
                (raw & 0x7fff, pen)
            } else {
                (raw, 0)
            };
            if len == 0 {
                return Err(DecodeError::Invalid {
                    offset: base + at - 2,
                    message: format!("field {id} has length 0"),
                });
            }
            if !ipfix && len == 0xffff {
                return Err(DecodeError::Invalid {
                    offset: base + at - 2,
                    message: "NetFlow v9 has no variable-length fields".into(),
                });
            }
            fields.push(FieldSpec {
                id,
                enterprise,
                len,
            });
        }
        cache.insert(scope, id, Template { fields, options });
    }
    Ok(())
}

/// NetFlow v9 options templates: template id, scope length and option length in bytes.
fn v9_options_templates(
    body: &[u8],
    base: usize,
    scope: TemplateScope,
    cache: &mut TemplateCache,
) -> Result<(), DecodeError> {
    let mut at = 0;
    while at + 6 <= body.len() {
        let id = be16(body, at, "options template")?;
        let scope_len = usize::from(be16(body, at + 2, "options template")?);
        let opt_len = usize::from(be16(body, at + 4, "options template")?);
        at += 6;
        if id < 256 {
            break;
        }
        let n = (scope_len + opt_len) / 4;
        if n > MAX_TEMPLATE_FIELDS {
            return Err(DecodeError::Invalid {
                offset: base + at,
                message: format!("options template declares {n} fields"),
            });
        }
        let mut fields = Vec::with_capacity(n);
        for _ in 0..n {
            let fid = be16(body, at, "options field")?;
            let len = be16(body, at + 2, "options field")?;
            at += 4;
            if len == 0 || len == 0xffff {
                return Err(DecodeError::Invalid {
                    offset: base + at - 2,
                    message: format!("options field {fid} has length {len}"),
                });
            }
            fields.push(FieldSpec {
                id: fid,
                enterprise: 0,
                len,
            });
        }
        cache.insert(
            scope,
            id,
            Template {
                fields,
                options: true,
            },
        );
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum TimeBase {
    /// NetFlow v9 switched times are milliseconds of system uptime.
    Uptime {
        export_us: i64,
        uptime_ms: i64,
    },
    Absolute {
        export_us: i64,
    },
}

fn data_records(
    body: &[u8],
    base: usize,
    t: &Template,
    time: TimeBase,
    out: &mut Vec<FlowRecord>,
    produced: &mut usize,
) -> Result<(), DecodeError> {
    let min_len: usize = t
        .fields
        .iter()
        .map(|f| {
            if f.len == 0xffff {
                1
            } else {
                usize::from(f.len)
            }
        })
        .sum();
    if min_len == 0 {
        return Ok(());
    }
    let mut at = 0;
    while at + min_len <= body.len() {
        if *produced >= MAX_RECORDS_PER_MESSAGE {
            return Err(DecodeError::Invalid {
                offset: base + at,
                message: format!("more than {MAX_RECORDS_PER_MESSAGE} records in one message"),
            });
        }
        let mut r = FlowRecord::default();
        let mut uptime = [None::<i64>; 2];
        for f in &t.fields {
            let len = if f.len == 0xffff {
                let Some(&l) = body.get(at) else {
                    return Err(DecodeError::Truncated {
                        offset: base + at,
                        what: "variable-length field",
                        need: 1,
                        have: 0,
                    });
                };
                at += 1;
                if l == 255 {
                    let l = usize::from(be16(body, at, "variable length")?);
                    at += 2;
                    l
                } else {
                    usize::from(l)
                }
            } else {
                usize::from(f.len)
            };
            let Some(v) = body.get(at..at + len) else {
                return Err(DecodeError::Truncated {
                    offset: base + at,
                    what: "data record",
                    need: len,
                    have: body.len().saturating_sub(at),
                });
            };
            at += len;
            apply_field(&mut r, f, v, &mut uptime);
        }
        if let TimeBase::Uptime {
            export_us,
            uptime_ms,
        } = time
        {
            if let Some(first) = uptime[0] {
                r.first_us = export_us - (uptime_ms - first) * 1000;
            }
            if let Some(last) = uptime[1] {
                r.last_us = export_us - (uptime_ms - last) * 1000;
            }
        }
        if r.first_us == 0 && r.last_us == 0 {
            let (TimeBase::Uptime { export_us, .. } | TimeBase::Absolute { export_us }) = time;
            r.first_us = export_us;
            r.last_us = export_us;
        } else if r.last_us < r.first_us {
            r.last_us = r.first_us;
        }
        out.push(r);
        *produced += 1;
    }
    Ok(())
}

/// Copies one information element into the record (RFC 7012 numbers, shared with NetFlow v9).
fn apply_field(r: &mut FlowRecord, f: &FieldSpec, v: &[u8], uptime: &mut [Option<i64>; 2]) {
    let dir = match f.enterprise {
        0 => 0,
        REVERSE_PEN => 1,
        _ => return,
    };
    match (f.id, v.len()) {
        (1 | 85, 1..=8) => r.bytes[dir] = r.bytes[dir].max(uint(v)),
        (2 | 86, 1..=8) => r.packets[dir] = r.packets[dir].max(uint(v)),
        // NetFlow v9 OUT_BYTES / OUT_PKTS (23, 24) describe the reverse direction.
        (23, 1..=8) if dir == 0 => r.bytes[1] = r.bytes[1].max(uint(v)),
        (24, 1..=8) if dir == 0 => r.packets[1] = r.packets[1].max(uint(v)),
        (4, 1) if dir == 0 => r.proto = v[0],
        (6, 1..=2) => r.tcp_flags[dir] = uint(v) as u8,
        (7, 2) if dir == 0 => r.src_port = uint(v) as u16,
        (11, 2) if dir == 0 => r.dst_port = uint(v) as u16,
        (8, 4) if dir == 0 => r.src = Some(IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3]))),
        (12, 4) if dir == 0 => r.dst = Some(IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3]))),
        (27, 16) if dir == 0 => r.src = ipv6(v).map(IpAddr::V6),
        (28, 16) if dir == 0 => r.dst = ipv6(v).map(IpAddr::V6),
        (22, 4) if dir == 0 => uptime[0] = Some(uint(v) as i64),
        (21, 4) if dir == 0 => uptime[1] = Some(uint(v) as i64),
        (150, 4) if dir == 0 => r.first_us = (uint(v) as i64) * 1_000_000,
        (151, 4) if dir == 0 => r.last_us = (uint(v) as i64) * 1_000_000,
        (152, 8) if dir == 0 => r.first_us = (uint(v) as i64).saturating_mul(1000),
        (153, 8) if dir == 0 => r.last_us = (uint(v) as i64).saturating_mul(1000),
        (154, 8) if dir == 0 => r.first_us = ntp_micros(v),
        (155, 8) if dir == 0 => r.last_us = ntp_micros(v),
        _ => {}
    }
}

fn ipv6(v: &[u8]) -> Option<Ipv6Addr> {
    let a: [u8; 16] = v.try_into().ok()?;
    Some(Ipv6Addr::from(a))
}

/// dateTimeMicroseconds: NTP seconds since 1900 and a 2^-32 fraction.
fn ntp_micros(v: &[u8]) -> i64 {
    const NTP_TO_UNIX: i64 = 2_208_988_800;
    let secs = uint(v.get(..4).unwrap_or(&[])) as i64 - NTP_TO_UNIX;
    let frac = uint(v.get(4..8).unwrap_or(&[]));
    secs * 1_000_000 + ((frac * 1_000_000) >> 32) as i64
}

/// Builders of export messages, for tests, fuzz seeds and the benchmark.
pub mod build {
    use std::net::Ipv4Addr;

    /// A flow to encode.
    #[derive(Debug, Clone, Copy)]
    pub struct Flow {
        pub src: Ipv4Addr,
        pub dst: Ipv4Addr,
        pub src_port: u16,
        pub dst_port: u16,
        pub proto: u8,
        pub packets: u32,
        pub bytes: u32,
        pub rev_packets: u32,
        pub rev_bytes: u32,
        pub flags: u8,
        /// Seconds since the epoch.
        pub start: u32,
        pub end: u32,
    }

    /// Template 256 used by [`ipfix_message`]: addresses, ports, protocol, flags, counters both
    /// ways (RFC 5103 reverse elements), start and end seconds.
    const IPFIX_FIELDS: &[(u16, u16, bool)] = &[
        (8, 4, false),
        (12, 4, false),
        (7, 2, false),
        (11, 2, false),
        (4, 1, false),
        (6, 1, false),
        (2, 4, false),
        (1, 4, false),
        (2, 4, true),
        (1, 4, true),
        (150, 4, false),
        (151, 4, false),
    ];

    /// One IPFIX message with a template set (when `with_template`) and a data set.
    pub fn ipfix_message(domain: u32, seq: u32, flows: &[Flow], with_template: bool) -> Vec<u8> {
        let mut m = vec![0, 10, 0, 0];
        m.extend_from_slice(&flows.first().map(|f| f.end).unwrap_or(0).to_be_bytes());
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(&domain.to_be_bytes());
        if with_template {
            let mut set = vec![0, 2, 0, 0, 1, 0];
            set.extend_from_slice(&(IPFIX_FIELDS.len() as u16).to_be_bytes());
            for &(id, len, rev) in IPFIX_FIELDS {
                if rev {
                    set.extend_from_slice(&(id | 0x8000).to_be_bytes());
                    set.extend_from_slice(&len.to_be_bytes());
                    set.extend_from_slice(&29305u32.to_be_bytes());
                } else {
                    set.extend_from_slice(&id.to_be_bytes());
                    set.extend_from_slice(&len.to_be_bytes());
                }
            }
            let l = set.len() as u16;
            set[2..4].copy_from_slice(&l.to_be_bytes());
            m.extend_from_slice(&set);
        }
        if !flows.is_empty() {
            let mut set = vec![1, 0, 0, 0];
            for f in flows {
                set.extend_from_slice(&f.src.octets());
                set.extend_from_slice(&f.dst.octets());
                set.extend_from_slice(&f.src_port.to_be_bytes());
                set.extend_from_slice(&f.dst_port.to_be_bytes());
                set.push(f.proto);
                set.push(f.flags);
                set.extend_from_slice(&f.packets.to_be_bytes());
                set.extend_from_slice(&f.bytes.to_be_bytes());
                set.extend_from_slice(&f.rev_packets.to_be_bytes());
                set.extend_from_slice(&f.rev_bytes.to_be_bytes());
                set.extend_from_slice(&f.start.to_be_bytes());
                set.extend_from_slice(&f.end.to_be_bytes());
            }
            let l = set.len() as u16;
            set[2..4].copy_from_slice(&l.to_be_bytes());
            m.extend_from_slice(&set);
        }
        let l = m.len() as u16;
        m[2..4].copy_from_slice(&l.to_be_bytes());
        m
    }

    /// One NetFlow v9 packet (source id `source_id`) with a template flowset (when asked) and
    /// a data flowset; uptime-based switched times.
    pub fn v9_packet(source_id: u32, flows: &[Flow], with_template: bool) -> Vec<u8> {
        const FIELDS: &[(u16, u16)] = &[
            (8, 4),
            (12, 4),
            (7, 2),
            (11, 2),
            (4, 1),
            (6, 1),
            (2, 4),
            (1, 4),
            (22, 4),
            (21, 4),
        ];
        let export = flows.first().map(|f| f.end).unwrap_or(0);
        let uptime: u32 = 1_000_000;
        let mut p = vec![0, 9, 0, 0];
        p.extend_from_slice(&uptime.to_be_bytes());
        p.extend_from_slice(&export.to_be_bytes());
        p.extend_from_slice(&1u32.to_be_bytes());
        p.extend_from_slice(&source_id.to_be_bytes());
        let mut count = 0u16;
        if with_template {
            let mut set = vec![0, 0, 0, 0, 1, 0];
            set.extend_from_slice(&(FIELDS.len() as u16).to_be_bytes());
            for &(id, len) in FIELDS {
                set.extend_from_slice(&id.to_be_bytes());
                set.extend_from_slice(&len.to_be_bytes());
            }
            let l = set.len() as u16;
            set[2..4].copy_from_slice(&l.to_be_bytes());
            p.extend_from_slice(&set);
            count += 1;
        }
        if !flows.is_empty() {
            let mut set = vec![1, 0, 0, 0];
            for f in flows {
                let up = |t: u32| uptime.wrapping_sub(export.wrapping_sub(t).wrapping_mul(1000));
                set.extend_from_slice(&f.src.octets());
                set.extend_from_slice(&f.dst.octets());
                set.extend_from_slice(&f.src_port.to_be_bytes());
                set.extend_from_slice(&f.dst_port.to_be_bytes());
                set.push(f.proto);
                set.push(f.flags);
                set.extend_from_slice(&f.packets.to_be_bytes());
                set.extend_from_slice(&f.bytes.to_be_bytes());
                set.extend_from_slice(&up(f.start).to_be_bytes());
                set.extend_from_slice(&up(f.end).to_be_bytes());
                count += 1;
            }
            while set.len() % 4 != 0 {
                set.push(0);
            }
            let l = set.len() as u16;
            set[2..4].copy_from_slice(&l.to_be_bytes());
            p.extend_from_slice(&set);
        }
        p[2..4].copy_from_slice(&count.to_be_bytes());
        p
    }

    /// One NetFlow v5 packet.
    pub fn v5_packet(flows: &[Flow]) -> Vec<u8> {
        let export = flows.first().map(|f| f.end).unwrap_or(0);
        let uptime: u32 = 1_000_000;
        let mut p = vec![0, 5];
        p.extend_from_slice(&(flows.len().min(30) as u16).to_be_bytes());
        p.extend_from_slice(&uptime.to_be_bytes());
        p.extend_from_slice(&export.to_be_bytes());
        p.extend_from_slice(&0u32.to_be_bytes());
        p.extend_from_slice(&0u32.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 0]);
        for f in flows.iter().take(30) {
            let up = |t: u32| uptime.wrapping_sub(export.wrapping_sub(t).wrapping_mul(1000));
            p.extend_from_slice(&f.src.octets());
            p.extend_from_slice(&f.dst.octets());
            p.extend_from_slice(&[0; 4]);
            p.extend_from_slice(&[0; 4]);
            p.extend_from_slice(&f.packets.to_be_bytes());
            p.extend_from_slice(&f.bytes.to_be_bytes());
            p.extend_from_slice(&up(f.start).to_be_bytes());
            p.extend_from_slice(&up(f.end).to_be_bytes());
            p.extend_from_slice(&f.src_port.to_be_bytes());
            p.extend_from_slice(&f.dst_port.to_be_bytes());
            p.extend_from_slice(&[0, f.flags, f.proto, 0]);
            p.extend_from_slice(&[0; 8]);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;

    fn flow() -> Flow {
        Flow {
            src: Ipv4Addr::new(10, 0, 0, 5),
            dst: Ipv4Addr::new(198, 51, 100, 7),
            src_port: 50123,
            dst_port: 3333,
            proto: 6,
            packets: 40,
            bytes: 4000,
            rev_packets: 60,
            rev_bytes: 16000,
            flags: 0x1b,
            start: 1_700_000_000,
            end: 1_700_000_300,
        }
    }

    #[test]
    fn ipfix_template_then_data() {
        let mut cache = TemplateCache::default();
        let mut out = Vec::new();
        let m = ipfix_message(7, 1, &[flow(), flow()], true);
        assert_eq!(decode_ipfix(&m, None, &mut cache, &mut out), Ok(m.len()));
        assert_eq!(out.len(), 2);
        let r = &out[0];
        assert_eq!(r.src, Some("10.0.0.5".parse().unwrap()));
        assert_eq!((r.src_port, r.dst_port, r.proto), (50123, 3333, 6));
        assert_eq!((r.bytes, r.packets), ([4000, 16000], [40, 60]));
        assert_eq!(r.first_us, 1_700_000_000_000_000);
        assert_eq!(r.duration_secs(), 300.0);
    }

    #[test]
    fn ipfix_templates_are_scoped_by_domain_and_exporter() {
        let mut cache = TemplateCache::default();
        let mut out = Vec::new();
        let a: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let b: SocketAddr = "127.0.0.2:1000".parse().unwrap();
        decode_ipfix(
            &ipfix_message(1, 1, &[], true),
            Some(a),
            &mut cache,
            &mut out,
        )
        .unwrap();
        // Other domain, same exporter: unknown template, data skipped.
        decode_ipfix(
            &ipfix_message(2, 1, &[flow()], false),
            Some(a),
            &mut cache,
            &mut out,
        )
        .unwrap();
        // Other exporter, same domain: skipped too.
        decode_ipfix(
            &ipfix_message(1, 1, &[flow()], false),
            Some(b),
            &mut cache,
            &mut out,
        )
        .unwrap();
        assert!(out.is_empty());
        decode_ipfix(
            &ipfix_message(1, 2, &[flow()], false),
            Some(a),
            &mut cache,
            &mut out,
        )
        .unwrap();
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn v9_and_v5_decode() {
        let mut cache = TemplateCache::default();
        let mut out = Vec::new();
        decode_datagram(&v9_packet(3, &[flow()], true), None, &mut cache, &mut out).unwrap();
        decode_datagram(&v5_packet(&[flow()]), None, &mut cache, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        for r in &out {
            assert_eq!((r.src_port, r.dst_port, r.proto), (50123, 3333, 6));
            assert_eq!((r.bytes[0], r.packets[0]), (4000, 40));
            assert_eq!(r.first_us, 1_700_000_000_000_000);
            assert_eq!(r.last_us, 1_700_000_300_000_000);
        }
    }

    #[test]
    fn cache_is_bounded() {
        let mut cache = TemplateCache::new(2);
        for d in 0..5 {
            let scope = TemplateScope {
                exporter: None,
                version: 10,
                domain: d,
            };
            cache.insert(
                scope,
                256,
                Template {
                    fields: vec![],
                    options: false,
                },
            );
        }
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.evicted(), 3);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let m = ipfix_message(1, 1, &[flow()], true);
        for cut in 0..m.len() {
            let mut cache = TemplateCache::default();
            let _ = decode_ipfix(&m[..cut], None, &mut cache, &mut Vec::new());
        }
        let p = v9_packet(1, &[flow()], true);
        for cut in 0..p.len() {
            let mut cache = TemplateCache::default();
            let _ = decode_datagram(&p[..cut], None, &mut cache, &mut Vec::new());
        }
        let p = v5_packet(&[flow()]);
        for cut in 0..p.len() {
            let _ = decode_v5(&p[..cut], &mut Vec::new());
        }
    }

    #[test]
    fn hostile_templates_are_rejected() {
        // A template set claiming 60000 fields.
        let mut m = vec![0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        m.extend_from_slice(&[0, 2, 0, 8, 1, 0, 0xea, 0x60]);
        let l = m.len() as u16;
        m[2..4].copy_from_slice(&l.to_be_bytes());
        let r = decode_ipfix(&m, None, &mut TemplateCache::default(), &mut Vec::new());
        assert!(r.is_err());
    }
}
