//! CSV flow exports: ipfixprobe's typed CSV (with per-packet arrays) and `nfdump -o csv`.

use crate::record::{bounded_name, FlowRecord, Label, PacketRecord, MAX_PACKETS};
use crate::text::{parse_datetime, parse_proto, parse_tcp_flags, parse_u64};

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

/// Column positions of an ipfixprobe CSV header such as
/// `uint64 BYTES,uint64 BYTES_REV,time TIME_FIRST,...,uint16* PPI_PKT_LENGTHS,time* PPI_PKT_TIMES`.
#[derive(Debug, Clone, Default)]
pub struct IpfixprobeColumns {
    bytes: Option<usize>,
    bytes_rev: Option<usize>,
    packets: Option<usize>,
    packets_rev: Option<usize>,
    time_first: usize,
    time_last: usize,
    src_ip: Option<usize>,
    dst_ip: Option<usize>,
    src_port: Option<usize>,
    dst_port: Option<usize>,
    proto: Option<usize>,
    flags: Option<usize>,
    flags_rev: Option<usize>,
    label: Option<usize>,
    sni: Option<usize>,
    ppi_dirs: Option<usize>,
    ppi_flags: Option<usize>,
    ppi_lens: Option<usize>,
    ppi_times: Option<usize>,
    width: usize,
}

impl IpfixprobeColumns {
    /// Reads the header; every column is `type NAME`. TIME_FIRST and TIME_LAST are required.
    pub fn from_header(line: &str) -> Result<Self, String> {
        let mut c = IpfixprobeColumns::default();
        let mut first = None;
        let mut last = None;
        let names: Vec<&str> = line.split(',').collect();
        if names.len() > MAX_COLUMNS {
            return Err(format!("header has {} columns", names.len()));
        }
        for (i, col) in names.iter().enumerate() {
            let name = col.trim().rsplit(' ').next().unwrap_or("");
            match name {
                "BYTES" => c.bytes = Some(i),
                "BYTES_REV" => c.bytes_rev = Some(i),
                "PACKETS" => c.packets = Some(i),
                "PACKETS_REV" => c.packets_rev = Some(i),
                "TIME_FIRST" => first = Some(i),
                "TIME_LAST" => last = Some(i),
                "SRC_IP" => c.src_ip = Some(i),
                "DST_IP" => c.dst_ip = Some(i),
                "SRC_PORT" => c.src_port = Some(i),
                "DST_PORT" => c.dst_port = Some(i),
                "PROTOCOL" => c.proto = Some(i),
                "TCP_FLAGS" => c.flags = Some(i),
                "TCP_FLAGS_REV" => c.flags_rev = Some(i),
                "LABEL" => c.label = Some(i),
                "TLS_SNI" | "SNI" => c.sni = Some(i),
                "PPI_PKT_DIRECTIONS" => c.ppi_dirs = Some(i),
                "PPI_PKT_FLAGS" => c.ppi_flags = Some(i),
                "PPI_PKT_LENGTHS" => c.ppi_lens = Some(i),
                "PPI_PKT_TIMES" => c.ppi_times = Some(i),
                _ => {}
            }
        }
        c.time_first = first.ok_or("header has no TIME_FIRST column")?;
        c.time_last = last.ok_or("header has no TIME_LAST column")?;
        c.width = names.len();
        Ok(c)
    }

    /// Parses one data line.
    pub fn parse(&self, line: &str, record: u64) -> Result<FlowRecord, String> {
        let mut fields: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(self.width);
        split_csv(line, &mut fields);
        if fields.len() != self.width {
            return Err(format!(
                "{} fields where the header has {}",
                fields.len(),
                self.width
            ));
        }
        let get = |i: usize| fields.get(i).map(|f| f.as_ref()).unwrap_or("");
        let num = |col: Option<usize>, what: &str| -> Result<u64, String> {
            match col {
                None => Ok(0),
                Some(i) => parse_u64(get(i)).ok_or_else(|| format!("{what}: not a number")),
            }
        };
        let mut r = FlowRecord {
            record,
            bytes: [num(self.bytes, "BYTES")?, num(self.bytes_rev, "BYTES_REV")?],
            packets: [
                num(self.packets, "PACKETS")?,
                num(self.packets_rev, "PACKETS_REV")?,
            ],
            first_us: parse_datetime(get(self.time_first)).ok_or("TIME_FIRST: not a time")?,
            last_us: parse_datetime(get(self.time_last)).ok_or("TIME_LAST: not a time")?,
            src_port: u16::try_from(num(self.src_port, "SRC_PORT")?)
                .map_err(|_| "SRC_PORT out of range")?,
            dst_port: u16::try_from(num(self.dst_port, "DST_PORT")?)
                .map_err(|_| "DST_PORT out of range")?,
            proto: u8::try_from(num(self.proto, "PROTOCOL")?)
                .map_err(|_| "PROTOCOL out of range")?,
            tcp_flags: [
                u8::try_from(num(self.flags, "TCP_FLAGS")?)
                    .map_err(|_| "TCP_FLAGS out of range")?,
                u8::try_from(num(self.flags_rev, "TCP_FLAGS_REV")?)
                    .map_err(|_| "TCP_FLAGS_REV out of range")?,
            ],
            ..FlowRecord::default()
        };
        if let Some(i) = self.src_ip {
            r.src = get(i).trim().parse().ok();
        }
        if let Some(i) = self.dst_ip {
            r.dst = get(i).trim().parse().ok();
        }
        if let Some(i) = self.label {
            r.label = Some(if get(i).trim().eq_ignore_ascii_case("miner") {
                Label::Miner
            } else {
                Label::Other
            });
        }
        if let Some(i) = self.sni {
            let s = get(i).trim();
            if !s.is_empty() {
                r.sni = Some(bounded_name(s));
                r.tls = true;
            }
        }
        if let (Some(d), Some(l), Some(t)) = (self.ppi_dirs, self.ppi_lens, self.ppi_times) {
            let dirs = array(get(d)).ok_or("PPI_PKT_DIRECTIONS: not an array")?;
            let lens = array(get(l)).ok_or("PPI_PKT_LENGTHS: not an array")?;
            let times = array(get(t)).ok_or("PPI_PKT_TIMES: not an array")?;
            let flags = match self.ppi_flags {
                Some(f) => Some(array(get(f)).ok_or("PPI_PKT_FLAGS: not an array")?),
                None => None,
            };
            let mut flags = flags.into_iter().flatten();
            for ((dir, len), ts) in dirs.zip(lens).zip(times).take(MAX_PACKETS) {
                let reverse = match dir.trim() {
                    "1" => false,
                    "-1" => true,
                    other => return Err(format!("PPI_PKT_DIRECTIONS: bad direction {other:?}")),
                };
                let len: u16 = len
                    .trim()
                    .parse()
                    .map_err(|_| "PPI_PKT_LENGTHS: not a length")?;
                let ts_us = parse_datetime(ts).ok_or("PPI_PKT_TIMES: not a time")?;
                let tcp_flags = match flags.next() {
                    Some(f) => f
                        .trim()
                        .parse()
                        .map_err(|_| "PPI_PKT_FLAGS: not a number")?,
                    None => 0,
                };
                r.push_packet(PacketRecord {
                    ts_us,
                    len,
                    reverse,
                    tcp_flags,
                });
            }
        }
        Ok(r)
    }
}

/// `[a|b|c]` (or an empty field) as an iterator over its items.
fn array(s: &str) -> Option<impl Iterator<Item = &str>> {
    let s = s.trim();
    let inner = if s.is_empty() {
        ""
    } else {
        s.strip_prefix('[')?.strip_suffix(']')?
    };
    Some(inner.split('|').filter(|x| !x.is_empty()))
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
