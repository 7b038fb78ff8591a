//! Small text helpers shared by the line formats: bounded lines and fast time parsing.

use std::io::BufRead;

/// Longest line a text reader accepts (a CESNET line with 30 packets is about 1.5 KB).
pub const MAX_LINE: usize = 64 * 1024;

/// Reads one line into `buf` (without the newline). Returns `Ok(None)` at end of input and
/// `Ok(Some(false))` when the line was longer than `limit` (it is skipped to its end).
pub fn read_line<R: BufRead>(
    r: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let available = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if any { Some(!too_long) } else { None });
        }
        any = true;
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if !too_long {
            if buf.len() + chunk.len() > limit {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let used = done.unwrap_or(available.len());
        r.consume(used);
        if done.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Some(!too_long));
        }
    }
}

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(b - b'0');
    }
    Some(v)
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|+hh:mm|-hh:mm|+hhmm]` into microseconds since the
/// epoch. Times without a zone are taken as UTC (ipfixprobe and nfdump write UTC by default).
pub fn parse_datetime(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 19 {
        return None;
    }
    let (date, rest) = b.split_at(10);
    if date.get(4) != Some(&b'-') || date.get(7) != Some(&b'-') {
        return None;
    }
    let year = digits(date.get(0..4)?)?;
    let month = digits(date.get(5..7)?)?;
    let day = digits(date.get(8..10)?)?;
    if !matches!(rest.first(), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let time = rest.get(1..)?;
    if time.len() < 8 || time.get(2) != Some(&b':') || time.get(5) != Some(&b':') {
        return None;
    }
    let hour = digits(time.get(0..2)?)?;
    let min = digits(time.get(3..5)?)?;
    let sec = digits(time.get(6..8)?)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut tail = time.get(8..)?;
    let mut micros = 0i64;
    if tail.first() == Some(&b'.') {
        let frac_len = tail
            .iter()
            .skip(1)
            .take_while(|c| c.is_ascii_digit())
            .count();
        if frac_len == 0 {
            return None;
        }
        let frac = tail.get(1..1 + frac_len)?;
        let mut scale = 100_000i64;
        for &c in frac.iter().take(6) {
            micros += i64::from(c - b'0') * scale;
            scale /= 10;
        }
        tail = tail.get(1 + frac_len..)?;
    }
    let offset_secs = match tail {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?)
                }
                [h1, h2] => (digits(&[*h1, *h2])?, 0),
                _ => return None,
            };
            let o = h * 3600 + m * 60;
            if *sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_secs;
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

/// Parses epoch seconds with an optional fraction (`1639500334.924601`) into microseconds.
pub fn parse_epoch(s: &str) -> Option<i64> {
    let s = s.trim();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    let secs = digits(int.as_bytes())?;
    let mut micros = 0i64;
    let mut scale = 100_000i64;
    for c in frac.bytes().take(6) {
        if !c.is_ascii_digit() {
            return None;
        }
        micros += i64::from(c - b'0') * scale;
        scale /= 10;
    }
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

/// Either form: RFC 3339-like date-time or epoch seconds.
pub fn parse_any_time(s: &str) -> Option<i64> {
    parse_datetime(s).or_else(|| parse_epoch(s))
}

/// A decimal unsigned integer field (surrounding spaces allowed).
pub fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    s.parse().ok()
}

/// nfdump and EVE style TCP flag strings (`.AP.SF`, `UAPRSF`, `...A....`) or a number.
pub fn parse_tcp_flags(s: &str) -> Option<u8> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x") {
        return u8::from_str_radix(hex, 16).ok();
    }
    if let Ok(v) = s.parse::<u8>() {
        return Some(v);
    }
    let mut v = 0u8;
    for c in s.chars() {
        v |= match c {
            'F' => 0x01,
            'S' => 0x02,
            'R' => 0x04,
            'P' => 0x08,
            'A' => 0x10,
            'U' => 0x20,
            'E' => 0x40,
            'C' => 0x80,
            '.' => 0,
            _ => return None,
        };
    }
    Some(v)
}

/// IP protocol by name or number.
pub fn parse_proto(s: &str) -> Option<u8> {
    let s = s.trim();
    match s.to_ascii_lowercase().as_str() {
        "tcp" => Some(6),
        "udp" => Some(17),
        "icmp" => Some(1),
        "icmp6" | "ipv6-icmp" | "icmpv6" => Some(58),
        "sctp" => Some(132),
        "gre" => Some(47),
        "esp" => Some(50),
        other => other.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_parse_as_utc() {
        assert_eq!(
            parse_datetime("2021-12-14T16:45:34.924601"),
            Some(1_639_500_334_924_601)
        );
        assert_eq!(
            parse_datetime("2021-12-14 16:45:34.924"),
            Some(1_639_500_334_924_000)
        );
        assert_eq!(
            parse_datetime("2021-12-14T17:45:34.924601+01:00"),
            Some(1_639_500_334_924_601)
        );
        assert_eq!(
            parse_datetime("2021-12-14T16:45:34Z"),
            Some(1_639_500_334_000_000)
        );
        assert_eq!(parse_datetime("2021-13-14T16:45:34"), None);
        assert_eq!(parse_datetime("2021-12-14T16:45"), None);
        assert_eq!(parse_datetime("2021-12-14T16:45:34."), None);
    }

    #[test]
    fn epochs_parse() {
        assert_eq!(
            parse_epoch("1639500334.924601"),
            Some(1_639_500_334_924_601)
        );
        assert_eq!(parse_epoch("12"), Some(12_000_000));
        assert_eq!(parse_epoch("1.2x"), None);
        assert_eq!(parse_epoch("-"), None);
    }

    #[test]
    fn flags_parse() {
        assert_eq!(parse_tcp_flags(".AP.SF"), Some(0x1b));
        assert_eq!(parse_tcp_flags("24"), Some(24));
        assert_eq!(parse_tcp_flags("0x1b"), Some(0x1b));
        assert_eq!(parse_tcp_flags("XYZ"), None);
    }

    #[test]
    fn long_lines_are_skipped_not_buffered() {
        let input = format!("{}\nok\n", "x".repeat(100));
        let mut r = std::io::BufReader::with_capacity(8, input.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut r, &mut buf, 10).unwrap(), Some(false));
        assert!(buf.is_empty());
        assert_eq!(read_line(&mut r, &mut buf, 10).unwrap(), Some(true));
        assert_eq!(buf, b"ok");
        assert_eq!(read_line(&mut r, &mut buf, 10).unwrap(), None);
    }
}
