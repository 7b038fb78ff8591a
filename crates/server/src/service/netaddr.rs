//! CIDR ranges and address helpers (longest-prefix match over the registry's ranges).

use std::net::IpAddr;

/// A parsed CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    v6: bool,
    base: u128,
    prefix: u8,
}

fn to_u128(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(v4) => (false, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (false, u128::from(u32::from(v4))),
            None => (true, u128::from(v6)),
        },
    }
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `x::/n`, or a bare address (a /32 or /128). Host bits must be zero.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR block"))?;
        let (v6, base) = to_u128(ip);
        let max = if v6 { 128 } else { 32 };
        let prefix = match len {
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: prefix length must be 0..={max}"))?,
            None => max,
        };
        let c = Cidr { v6, base, prefix };
        if base & !c.mask() != 0 {
            return Err(format!(
                "{s:?}: address has bits set beyond the /{prefix} prefix"
            ));
        }
        Ok(c)
    }

    fn mask(&self) -> u128 {
        let width = if self.v6 { 128 } else { 32 };
        if self.prefix == 0 {
            0
        } else {
            let ones = (!0u128) << (128 - u32::from(self.prefix));
            ones >> (128 - width)
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (v6, v) = to_u128(ip);
        v6 == self.v6 && v & self.mask() == self.base
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.v6 {
            write!(f, "{}/{}", std::net::Ipv6Addr::from(self.base), self.prefix)
        } else {
            write!(
                f,
                "{}/{}",
                std::net::Ipv4Addr::from(self.base as u32),
                self.prefix
            )
        }
    }
}

/// RFC 1918 / ULA / CGNAT / link-local: addresses that sit behind a NAT.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_link_local()
                || v4.is_loopback()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80 || v6.is_loopback()
        }
    }
}

/// Normalises a MAC address to lower-case colon form; `None` when it is not one.
pub fn normalize_mac(s: &str) -> Option<String> {
    let hex: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let seps = s
        .chars()
        .filter(|c| !c.is_ascii_hexdigit())
        .all(|c| matches!(c, ':' | '-' | '.'));
    if hex.len() != 12 || !seps {
        return None;
    }
    let lower = hex.to_ascii_lowercase();
    let parts: Vec<&str> = (0..6).filter_map(|i| lower.get(i * 2..i * 2 + 2)).collect();
    Some(parts.join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parses_and_matches() {
        let c = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(c.contains("203.0.113.77".parse().unwrap()));
        assert!(!c.contains("203.0.114.1".parse().unwrap()));
        assert!(!c.contains("2001:db8::1".parse().unwrap()));
        assert!(Cidr::parse("203.0.113.1/24").is_err());
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nonsense").is_err());
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert_eq!(
            Cidr::parse("10.1.0.0/16").unwrap().to_string(),
            "10.1.0.0/16"
        );
    }

    #[test]
    fn private_and_mac() {
        assert!(is_private("192.168.1.5".parse().unwrap()));
        assert!(is_private("100.64.0.1".parse().unwrap()));
        assert!(!is_private("203.0.113.5".parse().unwrap()));
        assert_eq!(
            normalize_mac("AA-BB-CC-00-11-22").as_deref(),
            Some("aa:bb:cc:00:11:22")
        );
        assert_eq!(normalize_mac("aa:bb:cc:00:11"), None);
        assert_eq!(normalize_mac("aa:bb:cc:00:11:2z"), None);
    }
}
