//! CSV flow exports: ipfixprobe's typed CSV (with per-packet arrays) and `nfdump -o csv`.

use crate::record::{bounded_name, FlowRecord, Label, PacketRecord, MAX_PACKETS};
use crate::text::{
    parse_datetime, parse_datetime_bytes, parse_ipfixprobe_time, parse_proto, parse_tcp_flags,
    parse_u64, parse_u64_bytes, DayCache,
};

/// Most columns a header may name.
const MAX_COLUMNS: usize = 256;

/// Splits a CSV line on commas outside double quotes (quotes removed; `""` inside quotes is a
/// quote). Fields borrow from `line` unless they were quoted.
pub fn split_csv<'a>(line: &'a str, out: &mut Vec<std::borrow::Cow<'a, str>>) {
    out.clear();
    if !line.contains('"') {
        out.extend(line.split(',').map(std::borrow::Cow::Borrowed));
        return;
    }
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut field).into()),
            c => field.push(c),
        }
    }
    out.push(field.into());
}

/// What one ipfixprobe column holds, as far as the flow record is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Ignored,
    Bytes,
    BytesRev,
    Packets,
    PacketsRev,
    TimeFirst,
    TimeLast,
    SrcIp,
    DstIp,
    SrcPort,
    DstPort,
    Protocol,
    TcpFlags,
    TcpFlagsRev,
    Label,
    Sni,
    PpiDirections,
    PpiFlags,
    PpiLengths,
    PpiTimes,
}

/// Column positions of an ipfixprobe CSV header such as
/// `uint64 BYTES,uint64 BYTES_REV,time TIME_FIRST,...,uint16* PPI_PKT_LENGTHS,time* PPI_PKT_TIMES`.
///
/// Data lines are parsed in one pass over their bytes: each field is decoded in place by what
/// its column holds (no string per field), the per-packet arrays go straight into the record's
/// fixed-size packet list, and the calendar day is computed once per record.
#[derive(Debug, Clone, Default)]
pub struct IpfixprobeColumns {
    /// What each column holds, by position (as many as the header has columns).
    columns: Vec<Column>,
    /// The day and minute of the last times parsed, kept from line to line: an exporter writes
    /// records in time order, so consecutive records mostly share the day and often the minute.
    days: std::cell::Cell<DayCache>,
}

/// Entries decoded so far from each per-packet array of one line.
#[derive(Default)]
struct PpiCounts {
    directions: usize,
    flags: usize,
    lengths: usize,
    times: usize,
}

impl IpfixprobeColumns {
    /// Reads the header; every column is `type NAME`. TIME_FIRST and TIME_LAST are required.
    pub fn from_header(line: &str) -> Result<Self, String> {
        let names: Vec<&str> = line.split(',').collect();
        if names.len() > MAX_COLUMNS {
            return Err(format!("header has {} columns", names.len()));
        }
        let mut columns: Vec<Column> = names
            .iter()
            .map(|col| match col.trim().rsplit(' ').next().unwrap_or("") {
                "BYTES" => Column::Bytes,
                "BYTES_REV" => Column::BytesRev,
                "PACKETS" => Column::Packets,
                "PACKETS_REV" => Column::PacketsRev,
                "TIME_FIRST" => Column::TimeFirst,
                "TIME_LAST" => Column::TimeLast,
                "SRC_IP" => Column::SrcIp,
                "DST_IP" => Column::DstIp,
                "SRC_PORT" => Column::SrcPort,
                "DST_PORT" => Column::DstPort,
                "PROTOCOL" => Column::Protocol,
                "TCP_FLAGS" => Column::TcpFlags,
                "TCP_FLAGS_REV" => Column::TcpFlagsRev,
                "LABEL" => Column::Label,
                "TLS_SNI" | "SNI" => Column::Sni,
                "PPI_PKT_DIRECTIONS" => Column::PpiDirections,
                "PPI_PKT_FLAGS" => Column::PpiFlags,
                "PPI_PKT_LENGTHS" => Column::PpiLengths,
                "PPI_PKT_TIMES" => Column::PpiTimes,
                _ => Column::Ignored,
            })
            .collect();
        if !columns.contains(&Column::TimeFirst) {
            return Err("header has no TIME_FIRST column".into());
        }
        if !columns.contains(&Column::TimeLast) {
            return Err("header has no TIME_LAST column".into());
        }
        // Packets need a direction, a length and a time; without all three the arrays say
        // nothing and are not read (flags are optional).
        let ppi_complete = [Column::PpiDirections, Column::PpiLengths, Column::PpiTimes]
            .iter()
            .all(|c| columns.contains(c));
        if !ppi_complete {
            for c in &mut columns {
                if matches!(
                    c,
                    Column::PpiDirections
                        | Column::PpiFlags
                        | Column::PpiLengths
                        | Column::PpiTimes
                ) {
                    *c = Column::Ignored;
                }
            }
        }
        Ok(IpfixprobeColumns {
            columns,
            days: Default::default(),
        })
    }

    /// How many fields a data line must have.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// Parses one data line.
    pub fn parse(&self, line: &str, record: u64) -> Result<FlowRecord, String> {
        let mut r = FlowRecord::default();
        self.parse_into(line.as_bytes(), record, &mut r)?;
        Ok(r)
    }

    /// Parses one data line (bytes, not necessarily UTF-8) into `r`, which is overwritten. On
    /// error the message names the field; `r` then holds a partial record and must not be used.
    pub fn parse_into(&self, line: &[u8], record: u64, r: &mut FlowRecord) -> Result<(), String> {
        *r = FlowRecord {
            record,
            ..FlowRecord::default()
        };
        self.parse_fresh(line, r)
    }

    /// [`Self::parse_into`] for a record that is still [`FlowRecord::default`] but for its number.
    pub(crate) fn parse_fresh(&self, line: &[u8], r: &mut FlowRecord) -> Result<(), String> {
        match self.parse_unquoted(line, r) {
            Ok(()) => Ok(()),
            Err(message) => {
                // Quotes (anywhere: they change where fields end) need the quote-aware split;
                // only then is the line's field count known.
                if memchr::memchr(b'"', line).is_some() {
                    *r = FlowRecord {
                        record: r.record,
                        ..FlowRecord::default()
                    };
                    return self.parse_quoted(line, r);
                }
                if count_fields(line) != self.columns.len() {
                    return Err(self.width_error(line));
                }
                Err(message)
            }
        }
    }

    /// The one-pass decode of a line without quotes; any quote is an error here, which sends
    /// the line to the quote-aware path. Each field is first read by its column's strict parser
    /// (the exact shape ipfixprobe writes), which also finds where the field ends; a field in
    /// any other shape is delimited by a scan and decoded by the general parser.
    fn parse_unquoted(&self, line: &[u8], r: &mut FlowRecord) -> Result<(), String> {
        // The cache only ever holds days and minutes that parsed, keyed by their exact bytes,
        // so it carries over whatever this line turns out to be.
        let mut days = self.days.get();
        let result = self.parse_unquoted_with(line, r, &mut days);
        self.days.set(days);
        result
    }

    fn parse_unquoted_with(
        &self,
        line: &[u8],
        r: &mut FlowRecord,
        days: &mut DayCache,
    ) -> Result<(), String> {
        let mut counts = PpiCounts::default();
        let mut rest = line;
        let mut index = 0;
        loop {
            let Some(&column) = self.columns.get(index) else {
                return Err(self.width_error(line));
            };
            let strict = strict_field(column, rest, r, &mut counts, days)
                .filter(|&used| matches!(rest.get(used), None | Some(b',')));
            let end = match strict {
                Some(used) => (used < rest.len()).then_some(used),
                None => {
                    let end = field_end(rest);
                    if end.and_then(|e| rest.get(e)) == Some(&b'"') {
                        return Err("quoted field".into());
                    }
                    let field = rest.get(..end.unwrap_or(rest.len())).unwrap_or_default();
                    field_into(column, field, r, &mut counts, days)?;
                    end
                }
            };
            index += 1;
            match end.and_then(|e| rest.get(e + 1..)) {
                Some(next) => rest = next,
                None => break,
            }
        }
        if index != self.columns.len() {
            return Err(self.width_error(line));
        }
        finish_packets(r, &counts);
        Ok(())
    }

    /// A line with quoted fields: split with quote handling first, then decode as usual.
    fn parse_quoted(&self, line: &[u8], r: &mut FlowRecord) -> Result<(), String> {
        let text = String::from_utf8_lossy(line);
        let mut fields = Vec::with_capacity(self.columns.len());
        split_csv(&text, &mut fields);
        if fields.len() != self.columns.len() {
            return Err(format!(
                "{} fields where the header has {}",
                fields.len(),
                self.columns.len()
            ));
        }
        let mut counts = PpiCounts::default();
        let mut days = DayCache::default();
        for (&column, field) in self.columns.iter().zip(&fields) {
            field_into(column, field.as_bytes(), r, &mut counts, &mut days)?;
        }
        finish_packets(r, &counts);
        Ok(())
    }

    fn width_error(&self, line: &[u8]) -> String {
        format!(
            "{} fields where the header has {}",
            count_fields(line),
            self.columns.len()
        )
    }
}

/// Where the field at the start of `rest` ends: the position of the next comma or quote.
#[inline]
fn field_end(rest: &[u8]) -> Option<usize> {
    // Most fields are short numbers: a plain loop beats setting up a vector search for them.
    const SHORT: usize = 16;
    let (head, tail) = rest.split_at_checked(SHORT).unwrap_or((rest, &[]));
    if let Some(i) = head.iter().position(|&b| b == b',' || b == b'"') {
        return Some(i);
    }
    memchr::memchr2(b',', b'"', tail).map(|i| i + head.len())
}

/// Fields of an unquoted line.
fn count_fields(line: &[u8]) -> usize {
    memchr::memchr_iter(b',', line).count() + 1
}

/// Decodes one field into the record.
#[inline]
fn field_into(
    column: Column,
    field: &[u8],
    r: &mut FlowRecord,
    counts: &mut PpiCounts,
    days: &mut DayCache,
) -> Result<(), String> {
    let number = |what: &str| parse_u64_bytes(field).ok_or_else(|| format!("{what}: not a number"));
    let small = |what: &str, max: u64| -> Result<u64, String> {
        let v = number(what)?;
        if v > max {
            return Err(format!("{what} out of range"));
        }
        Ok(v)
    };
    let time = |what: &str, days: &mut DayCache| {
        parse_datetime_bytes(field, days).ok_or_else(|| format!("{what}: not a time"))
    };
    match column {
        Column::Ignored => {}
        Column::Bytes => r.bytes[0] = number("BYTES")?,
        Column::BytesRev => r.bytes[1] = number("BYTES_REV")?,
        Column::Packets => r.packets[0] = number("PACKETS")?,
        Column::PacketsRev => r.packets[1] = number("PACKETS_REV")?,
        Column::TimeFirst => r.first_us = time("TIME_FIRST", days)?,
        Column::TimeLast => r.last_us = time("TIME_LAST", days)?,
        Column::SrcPort => r.src_port = small("SRC_PORT", u16::MAX.into())? as u16,
        Column::DstPort => r.dst_port = small("DST_PORT", u16::MAX.into())? as u16,
        Column::Protocol => r.proto = small("PROTOCOL", u8::MAX.into())? as u8,
        Column::TcpFlags => r.tcp_flags[0] = small("TCP_FLAGS", u8::MAX.into())? as u8,
        Column::TcpFlagsRev => r.tcp_flags[1] = small("TCP_FLAGS_REV", u8::MAX.into())? as u8,
        Column::SrcIp => r.src = parse_ip(field),
        Column::DstIp => r.dst = parse_ip(field),
        Column::Label => {
            r.label = Some(if field.trim_ascii().eq_ignore_ascii_case(b"miner") {
                Label::Miner
            } else {
                Label::Other
            });
        }
        Column::Sni => {
            let s = field.trim_ascii();
            if !s.is_empty() {
                r.sni = Some(bounded_name(&String::from_utf8_lossy(s)));
                r.tls = true;
            }
        }
        Column::PpiDirections => {
            counts.directions = each_item(field, "PPI_PKT_DIRECTIONS", &mut r.ppi, |p, item| {
                p.reverse = match item {
                    b"1" => false,
                    b"-1" => true,
                    other => {
                        return Err(format!(
                            "PPI_PKT_DIRECTIONS: bad direction {:?}",
                            bounded_name(&String::from_utf8_lossy(other))
                        ))
                    }
                };
                Ok(())
            })?;
        }
        Column::PpiFlags => {
            counts.flags = each_item(field, "PPI_PKT_FLAGS", &mut r.ppi, |p, item| {
                p.tcp_flags = parse_u64_bytes(item)
                    .and_then(|v| u8::try_from(v).ok())
                    .ok_or("PPI_PKT_FLAGS: not a number")?;
                Ok(())
            })?;
        }
        Column::PpiLengths => {
            counts.lengths = each_item(field, "PPI_PKT_LENGTHS", &mut r.ppi, |p, item| {
                p.len = parse_u64_bytes(item)
                    .and_then(|v| u16::try_from(v).ok())
                    .ok_or("PPI_PKT_LENGTHS: not a length")?;
                Ok(())
            })?;
        }
        Column::PpiTimes => {
            counts.times = each_item(field, "PPI_PKT_TIMES", &mut r.ppi, |p, item| {
                p.ts_us = parse_datetime_bytes(item, days).ok_or("PPI_PKT_TIMES: not a time")?;
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn parse_ip(field: &[u8]) -> Option<std::net::IpAddr> {
    std::str::from_utf8(field.trim_ascii()).ok()?.parse().ok()
}

/// Reads the field at the start of `rest` when it has the exact shape ipfixprobe writes
/// (plain digits, times in its fixed format, `[a|b|c]` arrays of at most [`MAX_PACKETS`] items
/// without spaces) and returns its length; `None` for anything else, leaving the field to the
/// general parser (which accepts the variants and names what is wrong). Values may have been
/// stored when it returns `None`; the general parser then overwrites them.
#[inline]
fn strict_field(
    column: Column,
    rest: &[u8],
    r: &mut FlowRecord,
    counts: &mut PpiCounts,
    days: &mut DayCache,
) -> Option<usize> {
    let time = |days: &mut DayCache| parse_ipfixprobe_time(rest.first_chunk::<26>()?, days);
    let (value, used) = match column {
        Column::TimeFirst => {
            r.first_us = time(days)?;
            return Some(26);
        }
        Column::TimeLast => {
            r.last_us = time(days)?;
            return Some(26);
        }
        Column::PpiDirections => {
            let (n, used) = strict_array(rest, &mut r.ppi, |p, item| match item {
                [b'1', ..] => {
                    p.reverse = false;
                    Some(1)
                }
                [b'-', b'1', ..] => {
                    p.reverse = true;
                    Some(2)
                }
                _ => None,
            })?;
            counts.directions = n;
            return Some(used);
        }
        Column::PpiFlags => {
            let (n, used) = strict_array(rest, &mut r.ppi, |p, item| {
                let (v, used) = strict_digits(item, 3)?;
                p.tcp_flags = u8::try_from(v).ok()?;
                Some(used)
            })?;
            counts.flags = n;
            return Some(used);
        }
        Column::PpiLengths => {
            let (n, used) = strict_array(rest, &mut r.ppi, |p, item| {
                let (v, used) = strict_digits(item, 5)?;
                p.len = u16::try_from(v).ok()?;
                Some(used)
            })?;
            counts.lengths = n;
            return Some(used);
        }
        Column::PpiTimes => {
            let (n, used) = strict_array(rest, &mut r.ppi, |p, item| {
                p.ts_us = parse_ipfixprobe_time(item.first_chunk::<26>()?, days)?;
                Some(26)
            })?;
            counts.times = n;
            return Some(used);
        }
        Column::Bytes
        | Column::BytesRev
        | Column::Packets
        | Column::PacketsRev
        | Column::SrcPort
        | Column::DstPort
        | Column::Protocol
        | Column::TcpFlags
        | Column::TcpFlagsRev => strict_digits(rest, 19)?,
        Column::Ignored | Column::SrcIp | Column::DstIp | Column::Label | Column::Sni => {
            return None
        }
    };
    match column {
        Column::Bytes => r.bytes[0] = value,
        Column::BytesRev => r.bytes[1] = value,
        Column::Packets => r.packets[0] = value,
        Column::PacketsRev => r.packets[1] = value,
        Column::SrcPort => r.src_port = u16::try_from(value).ok()?,
        Column::DstPort => r.dst_port = u16::try_from(value).ok()?,
        Column::Protocol => r.proto = u8::try_from(value).ok()?,
        Column::TcpFlags => r.tcp_flags[0] = u8::try_from(value).ok()?,
        Column::TcpFlagsRev => r.tcp_flags[1] = u8::try_from(value).ok()?,
        _ => return None,
    }
    Some(used)
}

/// The decimal digits at the start of `rest` (at least one, at most `max_digits`, which keeps
/// the value far from overflow) and how many there were.
#[inline]
fn strict_digits(rest: &[u8], max_digits: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    let mut used = 0;
    while let Some(d) = rest.get(used).map(|c| c.wrapping_sub(b'0')) {
        if d > 9 {
            break;
        }
        if used == max_digits {
            return None;
        }
        v = v * 10 + u64::from(d);
        used += 1;
    }
    (used > 0).then_some((v, used))
}

/// Reads a `[a|b|c]` array at the start of `rest`, each item by `item` (which stores it in its
/// packet slot and says how many bytes it took); returns the item count and the bytes taken.
/// `None` for any other shape or for more than [`MAX_PACKETS`] items.
#[inline]
fn strict_array(
    rest: &[u8],
    packets: &mut [PacketRecord; MAX_PACKETS],
    mut item: impl FnMut(&mut PacketRecord, &[u8]) -> Option<usize>,
) -> Option<(usize, usize)> {
    let mut pos = match rest {
        [b'[', b']', ..] => return Some((0, 2)),
        [b'[', ..] => 1,
        _ => return None,
    };
    for (n, slot) in packets.iter_mut().enumerate() {
        pos += item(slot, rest.get(pos..)?)?;
        match rest.get(pos) {
            Some(b'|') => pos += 1,
            Some(b']') => return Some((n + 1, pos + 1)),
            _ => return None,
        }
    }
    None
}

/// Calls `each` with a packet slot and the bytes of each of the first [`MAX_PACKETS`] items of
/// a `[a|b|c]` array (an empty field is an empty array; empty items are skipped, items are
/// trimmed); returns how many there were.
#[inline]
fn each_item(
    field: &[u8],
    what: &str,
    packets: &mut [PacketRecord; MAX_PACKETS],
    mut each: impl FnMut(&mut PacketRecord, &[u8]) -> Result<(), String>,
) -> Result<usize, String> {
    let field = field.trim_ascii();
    if field.is_empty() {
        return Ok(0);
    }
    let inner = field
        .strip_prefix(b"[")
        .and_then(|f| f.strip_suffix(b"]"))
        .ok_or_else(|| format!("{what}: not an array"))?;
    let items = inner
        .split(|&b| b == b'|')
        .map(<[u8]>::trim_ascii)
        .filter(|item| !item.is_empty());
    let mut n = 0;
    for (slot, item) in packets.iter_mut().zip(items) {
        each(slot, item)?;
        n += 1;
    }
    Ok(n)
}

/// Keeps the packets every array described (direction, length and time); flags default to 0
/// where the flags array is shorter.
fn finish_packets(r: &mut FlowRecord, counts: &PpiCounts) {
    let n = counts
        .directions
        .min(counts.lengths)
        .min(counts.times)
        .min(MAX_PACKETS);
    for p in r.ppi.get_mut(n..).unwrap_or_default() {
        *p = PacketRecord::default();
    }
    for p in r.ppi.get_mut(counts.flags.min(n)..n).unwrap_or_default() {
        p.tcp_flags = 0;
    }
    // n <= MAX_PACKETS (30), so it fits.
    r.ppi_len = u8::try_from(n).unwrap_or(u8::MAX);
}

/// Column positions of an `nfdump -o csv` header (`ts,te,td,sa,da,sp,dp,pr,flg,...,ipkt,ibyt,
/// opkt,obyt,...`); the long names of newer nfdump versions are accepted too.
#[derive(Debug, Clone, Default)]
pub struct NfdumpColumns {
    ts: usize,
    te: Option<usize>,
    sa: Option<usize>,
    da: Option<usize>,
    sp: Option<usize>,
    dp: Option<usize>,
    pr: Option<usize>,
    flg: Option<usize>,
    ipkt: Option<usize>,
    ibyt: Option<usize>,
    opkt: Option<usize>,
    obyt: Option<usize>,
    width: usize,
}

impl NfdumpColumns {
    pub fn from_header(line: &str) -> Result<Self, String> {
        let mut c = NfdumpColumns::default();
        let mut ts = None;
        let names: Vec<&str> = line.split(',').collect();
        if names.len() > MAX_COLUMNS {
            return Err(format!("header has {} columns", names.len()));
        }
        for (i, n) in names.iter().enumerate() {
            match n.trim() {
                "ts" | "firstSeen" | "first" => ts = Some(i),
                "te" | "lastSeen" | "last" => c.te = Some(i),
                "sa" | "srcAddr" | "srcaddr" => c.sa = Some(i),
                "da" | "dstAddr" | "dstaddr" => c.da = Some(i),
                "sp" | "srcPort" | "srcport" => c.sp = Some(i),
                "dp" | "dstPort" | "dstport" => c.dp = Some(i),
                "pr" | "proto" => c.pr = Some(i),
                "flg" | "flags" | "tcpFlags" => c.flg = Some(i),
                "ipkt" | "packets" | "inPackets" => c.ipkt = Some(i),
                "ibyt" | "bytes" | "inBytes" => c.ibyt = Some(i),
                "opkt" | "outPackets" => c.opkt = Some(i),
                "obyt" | "outBytes" => c.obyt = Some(i),
                _ => {}
            }
        }
        c.ts = ts.ok_or("header has no ts column")?;
        c.width = names.len();
        Ok(c)
    }

    /// Parses one data line; `Ok(None)` for the summary block nfdump appends.
    pub fn parse(&self, line: &str, record: u64) -> Result<Option<FlowRecord>, String> {
        let mut fields: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(self.width);
        split_csv(line, &mut fields);
        if fields.len() < self.width {
            return Err(format!(
                "{} fields where the header has {}",
                fields.len(),
                self.width
            ));
        }
        let get = |i: Option<usize>| {
            i.and_then(|i| fields.get(i))
                .map(|f| f.trim())
                .unwrap_or("")
        };
        let num = |i: Option<usize>, what: &str| -> Result<u64, String> {
            let s = get(i);
            if s.is_empty() {
                return Ok(0);
            }
            parse_count(s).ok_or_else(|| format!("{what}: not a number: {}", bounded_name(s)))
        };
        let first = parse_datetime(get(Some(self.ts))).ok_or("ts: not a time")?;
        let last = match self.te {
            Some(_) => parse_datetime(get(self.te)).ok_or("te: not a time")?,
            None => first,
        };
        let port = |i: Option<usize>, what: &str| -> Result<u16, String> {
            let s = get(i);
            if s.is_empty() {
                return Ok(0);
            }
            // ICMP "ports" are written as type.code.
            if s.contains('.') {
                return Ok(0);
            }
            s.parse().map_err(|_| format!("{what}: not a port"))
        };
        let r = FlowRecord {
            record,
            src: get(self.sa).parse().ok(),
            dst: get(self.da).parse().ok(),
            src_port: port(self.sp, "sp")?,
            dst_port: port(self.dp, "dp")?,
            proto: match self.pr {
                Some(_) => parse_proto(get(self.pr)).ok_or("pr: unknown protocol")?,
                None => 0,
            },
            tcp_flags: [
                match self.flg {
                    Some(_) if !get(self.flg).is_empty() => {
                        parse_tcp_flags(get(self.flg)).ok_or("flg: not TCP flags")?
                    }
                    _ => 0,
                },
                0,
            ],
            packets: [num(self.ipkt, "ipkt")?, num(self.opkt, "opkt")?],
            bytes: [num(self.ibyt, "ibyt")?, num(self.obyt, "obyt")?],
            first_us: first,
            last_us: last.max(first),
            ..FlowRecord::default()
        };
        Ok(Some(r))
    }
}

/// nfdump counts, possibly scaled (`1.2 M`, `3 K`).
fn parse_count(s: &str) -> Option<u64> {
    if let Some(v) = parse_u64(s) {
        return Some(v);
    }
    let s = s.trim();
    let (num, mult) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1e3),
        'M' => (&s[..s.len() - 1], 1e6),
        'G' => (&s[..s.len() - 1], 1e9),
        _ => (s, 1.0),
    };
    let v: f64 = num.trim().parse().ok()?;
    if !(0.0..1e19).contains(&v) {
        return None;
    }
    Some((v * mult) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "uint64 BYTES,uint64 BYTES_REV,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint32 PACKETS_REV,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS,uint8 TCP_FLAGS_REV,string LABEL,int8* PPI_PKT_DIRECTIONS,uint8* PPI_PKT_FLAGS,uint16* PPI_PKT_LENGTHS,time* PPI_PKT_TIMES";

    #[test]
    fn ipfixprobe_line_parses() {
        let c = IpfixprobeColumns::from_header(HEADER).unwrap();
        let r = c
            .parse("148,439,2021-12-14T16:45:34.924601,2021-12-14T16:45:36.248354,2,2,14444,57104,6,24,24,Miner,[1|-1],[24|24],[68|359],[2021-12-14T16:45:34.924000|2021-12-14T16:45:36.198000]", 2)
            .unwrap();
        assert_eq!((r.bytes, r.packets), ([148, 439], [2, 2]));
        assert_eq!((r.src_port, r.dst_port, r.proto), (57104, 14444, 6));
        assert_eq!(r.label, Some(Label::Miner));
        let p = r.packets_info();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].len, p[0].reverse, p[0].tcp_flags), (68, false, 24));
        assert_eq!((p[1].len, p[1].reverse), (359, true));
        assert_eq!(r.record, 2);
    }

    #[test]
    fn ipfixprobe_bad_lines_name_the_field() {
        let c = IpfixprobeColumns::from_header(HEADER).unwrap();
        let bad = "x,439,2021-12-14T16:45:34.924601,2021-12-14T16:45:36.248354,2,2,14444,57104,6,24,24,Miner,[1|-1],[24|24],[68|359],[2021-12-14T16:45:34.924000|2021-12-14T16:45:36.198000]";
        assert!(c.parse(bad, 3).unwrap_err().contains("BYTES"));
        assert!(c.parse("1,2,3", 3).unwrap_err().contains("fields"));
        let bad_dir = "148,439,2021-12-14T16:45:34.924601,2021-12-14T16:45:36.248354,2,2,14444,57104,6,24,24,Miner,[2|-1],[24|24],[68|359],[2021-12-14T16:45:34.924000|2021-12-14T16:45:36.198000]";
        assert!(c.parse(bad_dir, 3).unwrap_err().contains("DIRECTIONS"));
    }

    #[test]
    fn ipfixprobe_keeps_at_most_30_packets() {
        let c = IpfixprobeColumns::from_header(HEADER).unwrap();
        let n = 40;
        let join = |s: &str| vec![s; n].join("|");
        let line = format!(
            "1,1,2021-12-14T16:45:34,2021-12-14T16:45:35,1,1,1,2,6,0,0,Other,[{}],[{}],[{}],[{}]",
            join("1"),
            join("24"),
            join("10"),
            join("2021-12-14T16:45:34.5")
        );
        assert_eq!(c.parse(&line, 2).unwrap().packets_info().len(), 30);
    }

    const LINE: &str = "148,439,2021-12-14T16:45:34.924601,2021-12-14T16:45:36.248354,2,2,14444,57104,6,24,24,Miner,[1|-1|1],[24|16|24],[68|359|1460],[2021-12-14T16:45:34.924000|2021-12-14T16:45:36.198000|2021-12-15T00:00:00.000001]";

    #[test]
    fn loose_arrays_parse_like_strict_ones() {
        let c = IpfixprobeColumns::from_header(HEADER).unwrap();
        let strict = c.parse(LINE, 2).unwrap();
        // Spaces, empty items, other time shapes and a quoted field all leave the fast path.
        let loose = "148 ,+439,2021-12-14T16:45:34.924601,2021-12-14 16:45:36.248354Z,2,2,14444,57104,6,24,24,Miner,[ 1||-1|1 ],[24| 16|24],[068|359||1460],[2021-12-14T16:45:34.924|2021-12-14T17:45:36.198+01:00|2021-12-15T00:00:00.0000019]";
        assert_eq!(c.parse(loose, 2).unwrap(), strict);
        // Longer than the strict parsers read: 20-digit counters, trailing `|`.
        let wide = LINE
            .replacen("148,", "18446744073709551615,", 1)
            .replace("[1|-1|1]", "[1|-1|1|]");
        let r = c.parse(&wide, 2).unwrap();
        assert_eq!(r.bytes[0], u64::MAX);
        assert_eq!(r.packets_info(), strict.packets_info());
        let quoted = LINE.replace(",Miner,", ",\"Miner\",");
        assert_eq!(c.parse(&quoted, 2).unwrap(), strict);
        assert_eq!(
            strict.packets_info()[2].ts_us,
            parse_datetime("2021-12-15T00:00:00.000001Z").unwrap()
        );
    }

    #[test]
    fn arrays_of_unequal_length_keep_the_common_packets() {
        let c = IpfixprobeColumns::from_header(HEADER).unwrap();
        let line = LINE
            .replace("[24|16|24]", "[24]")
            .replace("[68|359|1460]", "[68|359]");
        let r = c.parse(&line, 2).unwrap();
        let p = r.packets_info();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].tcp_flags, p[1].tcp_flags), (24, 0));
        let empty = LINE
            .replace("[24|16|24]", "")
            .replace("[68|359|1460]", "[]");
        assert!(c.parse(&empty, 2).unwrap().packets_info().is_empty());
    }

    #[test]
    fn every_bad_field_is_named() {
        let c = IpfixprobeColumns::from_header(HEADER).unwrap();
        for (from, to, named) in [
            ("148,", "1x8,", "BYTES"),
            (",2,2,", ",2,-2,", "PACKETS_REV"),
            (",57104,", ",65536,", "SRC_PORT out of range"),
            (",6,24,", ",256,24,", "PROTOCOL out of range"),
            (
                "2021-12-14T16:45:36.248354,",
                "2021-12-14T25:45:36.248354,",
                "TIME_LAST",
            ),
            (
                "[1|-1|1]",
                "[1|0|1]",
                "PPI_PKT_DIRECTIONS: bad direction \"0\"",
            ),
            ("[24|16|24]", "[24|16|256]", "PPI_PKT_FLAGS"),
            ("[68|359|1460]", "[68|359|65536]", "PPI_PKT_LENGTHS"),
            (
                "[68|359|1460]",
                "68|359|1460",
                "PPI_PKT_LENGTHS: not an array",
            ),
            (".198000|", ".198000x|", "PPI_PKT_TIMES"),
            ("2021-12-15T00", "2021-02-30T00", "PPI_PKT_TIMES"),
        ] {
            let line = LINE.replacen(from, to, 1);
            assert_ne!(line, LINE, "{from}");
            let err = c.parse(&line, 5).unwrap_err();
            assert!(err.contains(named), "{to}: {err}");
        }
        let err = c.parse(&format!("{LINE},extra"), 5).unwrap_err();
        assert_eq!(err, "17 fields where the header has 16");
    }

    #[test]
    fn mangled_lines_never_panic() {
        let c = IpfixprobeColumns::from_header(HEADER).unwrap();
        let line = LINE.as_bytes();
        let mut r = FlowRecord::default();
        for cut in 0..line.len() {
            let _ = c.parse_into(&line[..cut], 2, &mut r);
            for byte in [b'|', b',', b'[', b']', b'"', b'-', b' ', 0xff, b'9'] {
                let mut mangled = line.to_vec();
                mangled[cut] = byte;
                if let Ok(()) = c.parse_into(&mangled, 2, &mut r) {
                    assert!(r.packets_info().len() <= MAX_PACKETS);
                }
            }
        }
    }

    #[test]
    fn nfdump_csv_parses_and_skips_summary_columns() {
        let header = "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr";
        let c = NfdumpColumns::from_header(header).unwrap();
        let line = "2021-12-14 16:45:34,2021-12-14 16:50:34,300.000,10.0.0.5,198.51.100.7,50123,3333,TCP,.AP...,0,0,40,4000,0,0,0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0.000,0.000,0.000,0.0.0.0,0/0,1,1970-01-01 00:00:00.000";
        let r = c.parse(line, 2).unwrap().unwrap();
        assert_eq!(r.src, Some("10.0.0.5".parse().unwrap()));
        assert_eq!((r.src_port, r.dst_port, r.proto), (50123, 3333, 6));
        assert_eq!(r.tcp_flags[0], 0x18);
        assert_eq!((r.packets[0], r.bytes[0]), (40, 4000));
        assert_eq!(r.duration_secs(), 300.0);
        assert!(c.parse("2021-12-14 16:45:34,x", 3).is_err());
    }

    #[test]
    fn quoted_fields_split() {
        let mut v = Vec::new();
        split_csv("a,\"b,c\",\"d\"\"e\"", &mut v);
        assert_eq!(v, vec!["a", "b,c", "d\"e"]);
    }
}
