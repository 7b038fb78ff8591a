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
        let (chunk, done) = match memchr::memchr(b'\n', available) {
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

/// Two ASCII digits as a number.
#[inline]
fn two_digits(hi: u8, lo: u8) -> Option<i64> {
    let (hi, lo) = (hi.wrapping_sub(b'0'), lo.wrapping_sub(b'0'));
    (hi < 10 && lo < 10).then_some(i64::from(hi) * 10 + i64::from(lo))
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

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Remembers the last date (and, for ipfixprobe's fixed format, the last minute) a time was
/// parsed for: the times of one flow record (first, last and up to 30 per-packet times) almost
/// always fall on the same day and mostly in a few minutes, so the calendar arithmetic runs
/// about once per record rather than once per time.
#[derive(Debug, Clone, Copy, Default)]
pub struct DayCache {
    /// The `YYYY-MM-DD` bytes last parsed (a valid date), if any.
    date: Option<[u8; 10]>,
    days: i64,
    /// The `YYYY-MM-DDTHH:MM` bytes last parsed (valid), if any, packed in one number, and
    /// their seconds since the epoch.
    minute: Option<u128>,
    minute_secs: i64,
}

impl DayCache {
    /// Seconds since the epoch at the start of the minute `YYYY-MM-DDTHH:MM`.
    #[inline]
    fn minute(&mut self, key: &[u8; 16]) -> Option<i64> {
        let packed = u128::from_le_bytes(*key);
        if self.minute == Some(packed) {
            return Some(self.minute_secs);
        }
        self.new_minute(key, packed)
    }

    /// [`Self::minute`] for a minute not seen last (kept out of line: the common case is a hit).
    #[cold]
    #[inline(never)]
    fn new_minute(&mut self, key: &[u8; 16], packed: u128) -> Option<i64> {
        let (date, time) = key.split_first_chunk::<10>()?;
        let &[b'T', h1, h2, b':', m1, m2] = time else {
            return None;
        };
        let days = self.days(date)?;
        let hour = two_digits(h1, h2)?;
        let min = two_digits(m1, m2)?;
        if hour > 23 || min > 59 {
            return None;
        }
        self.minute_secs = days * 86_400 + hour * 3600 + min * 60;
        self.minute = Some(packed);
        Some(self.minute_secs)
    }

    #[inline]
    fn days(&mut self, date: &[u8; 10]) -> Option<i64> {
        if self.date.as_ref() == Some(date) {
            return Some(self.days);
        }
        if date[4] != b'-' || date[7] != b'-' {
            return None;
        }
        let year = two_digits(date[0], date[1])? * 100 + two_digits(date[2], date[3])?;
        let month = two_digits(date[5], date[6])?;
        let day = two_digits(date[8], date[9])?;
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        self.days = days_from_civil(year, month, day);
        self.date = Some(*date);
        Some(self.days)
    }
}

/// Parses `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|+hh:mm|-hh:mm|+hhmm]` into microseconds since the
/// epoch. Times without a zone are taken as UTC (ipfixprobe and nfdump write UTC by default).
pub fn parse_datetime(s: &str) -> Option<i64> {
    parse_datetime_bytes(s.as_bytes(), &mut DayCache::default())
}

/// [`parse_datetime`] over bytes (surrounding ASCII spaces allowed), reusing the day of the
/// previous call when the date is the same.
pub fn parse_datetime_bytes(b: &[u8], cache: &mut DayCache) -> Option<i64> {
    if let Ok(fixed) = <&[u8; 26]>::try_from(b) {
        if let Some(t) = parse_ipfixprobe_time(fixed, cache) {
            return Some(t);
        }
    }
    let b = b.trim_ascii();
    let (date, rest) = b.split_first_chunk::<10>()?;
    let days = cache.days(date)?;
    let (time, mut tail) = match rest {
        [b'T' | b't' | b' ', time @ ..] => time.split_first_chunk::<8>()?,
        _ => return None,
    };
    if time[2] != b':' || time[5] != b':' {
        return None;
    }
    let hour = two_digits(time[0], time[1])?;
    let min = two_digits(time[3], time[4])?;
    let sec = two_digits(time[6], time[7])?;
    if hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut micros = 0i64;
    if let [b'.', frac @ ..] = tail {
        let frac_len = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if frac_len == 0 {
            return None;
        }
        let mut scale = 100_000i64;
        for &c in frac.iter().take(frac_len.min(6)) {
            micros += i64::from(c - b'0') * scale;
            scale /= 10;
        }
        tail = frac.get(frac_len..)?;
    }
    let offset_secs = match tail {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (two_digits(*h1, *h2)?, two_digits(*m1, *m2)?)
                }
                [h1, h2] => (two_digits(*h1, *h2)?, 0),
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
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_secs;
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

/// The shape ipfixprobe writes, `YYYY-MM-DDTHH:MM:SS.ffffff` (UTC), checked and decoded at
/// fixed positions; `None` for any other shape (the general parser then decides).
#[inline]
pub(crate) fn parse_ipfixprobe_time(b: &[u8; 26], cache: &mut DayCache) -> Option<i64> {
    let (key, tail) = b.split_first_chunk::<16>()?;
    // `:S` then `S.ffffff`: the last eight bytes are read as one number, with the second's
    // units digit and the dot replaced by leading zeros once the dot is checked.
    let (&[colon, tens], last) = tail.split_first_chunk::<2>()?;
    let last = u64::from_le_bytes(*last.first_chunk::<8>()?);
    if colon != b':' || (last >> 8) as u8 != b'.' {
        return None;
    }
    let minute_secs = cache.minute(key)?;
    let sec = two_digits(tens, last as u8)?;
    if sec > 60 {
        return None;
    }
    let micros = eight_digits((last & !0xFFFF) | 0x3030)?;
    (minute_secs + sec)
        .checked_mul(1_000_000)?
        .checked_add(micros as i64)
}

/// Eight ASCII digits read as a little-endian number (so the first digit, the most significant,
/// is the lowest byte) as their value, all at once; `None` when any byte is not a digit.
#[inline]
fn eight_digits(w: u64) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    // Every byte 0x30..=0x3F, and still 0x3_ after adding 6: exactly '0'..='9'.
    if w & HIGH_NIBBLES != ZEROS || w.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES != ZEROS {
        return None;
    }
    // Pairs, then quads, then the whole (the usual SWAR reduction; no byte carries over).
    let v = w - ZEROS;
    let v = (v.wrapping_mul(10) + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
    Some((v.wrapping_mul(10_000) + (v >> 32)) & 0xFFFF_FFFF)
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

/// [`parse_u64`] over bytes: decimal digits with an optional `+`, surrounding ASCII spaces
/// allowed, `None` on anything else or on overflow.
#[inline]
pub fn parse_u64_bytes(b: &[u8]) -> Option<u64> {
    let b = b.trim_ascii();
    let b = b.strip_prefix(b"+").unwrap_or(b);
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(v)
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
        assert_eq!(parse_datetime("2021-02-29T16:45:34"), None);
        assert!(parse_datetime("2024-02-29T16:45:34").is_some());
        assert_eq!(parse_datetime("1900-02-29T16:45:34"), None);
        assert_eq!(parse_datetime("2021-04-31T16:45:34"), None);
    }

    #[test]
    fn fixed_shape_agrees_with_the_general_parser() {
        let mut cache = DayCache::default();
        // Dates across month, leap-day and year ends, every hour, odd fractions.
        for (date, days) in [
            ("1970-01-01", 0),
            ("2020-02-29", 18_321),
            ("2021-12-14", 18_975),
            ("2021-12-31", 18_992),
            ("2022-01-01", 18_993),
        ] {
            for hour in 0..24 {
                let fixed = format!("{date}T{hour:02}:59:60.{:06}", hour * 41_667);
                let general = format!("{fixed}Z");
                let expected =
                    ((days * 24 + hour) * 3600 + 59 * 60 + 60) * 1_000_000 + hour * 41_667;
                assert_eq!(
                    parse_datetime_bytes(fixed.as_bytes(), &mut cache),
                    Some(expected)
                );
                assert_eq!(parse_datetime(&general), Some(expected), "{general}");
            }
        }
        for bad in [
            "2021-12-14T16:45:34.92460x",
            "2021-12-14T24:45:34.924601",
            "2021-12-32T16:45:34.924601",
            "2021-12-14X16:45:34.924601",
            "2021-1a-14T16:45:34.924601",
        ] {
            assert_eq!(
                parse_datetime_bytes(bad.as_bytes(), &mut cache),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn eight_digits_at_once() {
        for n in (0..100_000_000u64).step_by(9_973).chain([99_999_999]) {
            let text = format!("{n:08}");
            let bytes: [u8; 8] = text.as_bytes().try_into().unwrap();
            assert_eq!(eight_digits(u64::from_le_bytes(bytes)), Some(n), "{text}");
        }
        for bad in [
            *b"1234567/",
            *b"12345:78",
            *b"a2345678",
            *b"1234 678",
            [0xb0; 8],
        ] {
            assert_eq!(eight_digits(u64::from_le_bytes(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn day_cache_only_answers_for_its_own_date() {
        let mut cache = DayCache::default();
        let a = parse_datetime_bytes(b"2021-12-14T00:00:00.000000", &mut cache).unwrap();
        let b = parse_datetime_bytes(b"2021-12-15T00:00:00.000000", &mut cache).unwrap();
        assert_eq!(b - a, 86_400_000_000);
        // A cache that never saw a valid date must not vouch for zero bytes.
        let mut fresh = DayCache::default();
        assert_eq!(parse_datetime_bytes(&[0u8; 26], &mut fresh), None);
    }

    #[test]
    fn byte_integers_parse() {
        assert_eq!(parse_u64_bytes(b" 148 "), Some(148));
        assert_eq!(parse_u64_bytes(b"+7"), Some(7));
        assert_eq!(parse_u64_bytes(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64_bytes(b"18446744073709551616"), None);
        assert_eq!(parse_u64_bytes(b""), None);
        assert_eq!(parse_u64_bytes(b"-1"), None);
        assert_eq!(parse_u64_bytes(b"1 2"), None);
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
