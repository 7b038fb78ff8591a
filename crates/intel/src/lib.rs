//! Indicator sets: pool domains, pool endpoints, miner software agents and pool ports, with a
//! label-boundary domain-suffix matcher and loaders for operator-supplied lists.
//!
//! The built-in sets are generated once from public facts by `scripts/build_data.py` and compiled
//! in (`data/*.tsv`). Matching is passive: names seen in DNS queries and TLS SNI are compared with
//! the sets; nothing is ever resolved.
//!
//! ```
//! use minetrace_intel::Intel;
//! let intel = Intel::builtin();
//! let m = intel.match_domain("XMR-EU1.Nanopool.org.").expect("a pool");
//! assert_eq!(m.domain, "nanopool.org");
//! assert!(intel.match_domain("notnanopool.org").is_none());
//! assert!(intel.match_domain("zpool.cache").is_none());
//! let agent = intel.miner_agent("XMRig/6.26.0 (Linux x86_64) libuv/1.x gcc/13.x").unwrap();
//! assert_eq!((agent.name.as_str(), agent.version.as_deref()), ("XMRig", Some("6.26.0")));
//! assert!(Intel::is_pool_port(3333));
//! ```
#![forbid(unsafe_code)]

use rustc_hash::FxHashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

const BUILTIN_DOMAINS: &str = include_str!("../data/pool-domains.tsv");
const BUILTIN_ENDPOINTS: &str = include_str!("../data/pool-endpoints.tsv");

/// Largest indicator file [`Intel::load_file`] reads.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;
/// Most domains one [`Intel`] holds, built-in and loaded together.
pub const MAX_DOMAINS: usize = 2_000_000;
/// Longest DNS name (RFC 1035, text form without the trailing dot).
const MAX_NAME_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// Errors from loading indicator files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntelError {
    #[error(transparent)]
    Read {
        #[from]
        source: minetrace_core::io::ReadError,
    },
    #[error("{path}:{line}: {reason}: {entry:?}")]
    InvalidEntry {
        path: PathBuf,
        line: usize,
        entry: String,
        reason: &'static str,
    },
    #[error("{path}:{line}: more than {limit} domains in the indicator set")]
    TooManyEntries {
        path: PathBuf,
        line: usize,
        limit: usize,
    },
}

/// What a matched name falls under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainMatch {
    /// The listed pool domain the name is equal to or a subdomain of.
    pub domain: String,
    /// The pool's name, when known.
    pub pool: Option<String>,
    /// Coins mined there (from the exact host when it is a known endpoint, otherwise from the
    /// domain when it serves few coins); empty when unknown.
    pub coins: Vec<String>,
}

impl DomainMatch {
    /// The coin mined there, when only one is known.
    pub fn single_coin(&self) -> Option<&str> {
        match self.coins.as_slice() {
            [coin] => Some(coin),
            _ => None,
        }
    }
}

/// Miner software parsed from an agent string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinerSoftware {
    /// Canonical product name (`XMRig`, `cgminer`, `lolMiner`...).
    pub name: String,
    pub version: Option<String>,
    /// The software mines on graphics cards only (an estimate of its power must not assume
    /// the family's ASIC).
    pub gpu_only: bool,
}

#[derive(Debug, Clone, Default)]
struct DomainInfo {
    pool: Option<String>,
    coins: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct HostInfo {
    coins: Vec<String>,
    ports: Vec<u16>,
}

/// Indicator sets used by the detectors.
#[derive(Debug, Default)]
pub struct Intel {
    domains: FxHashMap<Box<str>, DomainInfo>,
    endpoints: FxHashMap<Box<str>, HostInfo>,
}

/// Ports pool operators commonly use (protocols.md). 80, 443 and 25 are used too, for firewall
/// evasion, but are left out: they say nothing on their own.
const POOL_PORTS: &[u16] = &[
    1111, 1314, 3333, 3334, 4444, 5555, 6666, 7777, 8008, 8888, 9200, 9999, 14433, 14444, 34254,
    45700,
];

/// The product mines on graphics cards only.
const GPU: bool = true;
/// The product also drives CPUs or ASICs (BzMiner drives IceRiver ASICs; SRBMiner, nanominer
/// and nheqminer CPUs too).
const ANY: bool = false;

/// Miner products recognised in agent strings, by canonical name (matched case-insensitively
/// against the whole product token), and whether each mines on graphics cards only.
const MINER_PRODUCTS: &[(&str, bool)] = &[
    ("XMRig", ANY),
    ("xmrig-proxy", ANY),
    ("xmrig-cuda", GPU),
    ("xmrig-nvidia", GPU),
    ("xmrig-amd", GPU),
    ("XMRigCC", ANY),
    ("xmr-stak", ANY),
    ("xmr-stak-cpu", ANY),
    ("xmr-stak-rx", ANY),
    ("cpuminer", ANY),
    ("cpuminer-multi", ANY),
    ("cpuminer-opt", ANY),
    ("cpuminer-gr", ANY),
    ("cpuminer-rplant", ANY),
    ("minerd", ANY),
    ("cgminer", ANY),
    ("bfgminer", ANY),
    ("sgminer", GPU),
    ("ccminer", GPU),
    ("ethminer", GPU),
    ("EthereumMiner", GPU),
    ("kawpowminer", GPU),
    ("progminer", GPU),
    ("nsfminer", GPU),
    ("T-Rex", GPU),
    ("lolMiner", GPU),
    ("NBMiner", GPU),
    ("GMiner", GPU),
    ("PhoenixMiner", GPU),
    ("TeamRedMiner", GPU),
    ("SRBMiner", ANY),
    ("SRBMiner-MULTI", ANY),
    ("BzMiner", ANY),
    ("nanominer", ANY),
    ("nheqminer", ANY),
    ("Claymore", GPU),
    ("WildRig", GPU),
    ("WildRig-Multi", GPU),
    ("miniZ", GPU),
    ("Rigel", GPU),
    ("OneZeroMiner", GPU),
    ("Bminer", GPU),
    ("z-enemy", GPU),
    ("CryptoDredge", GPU),
    ("excavator", GPU),
    ("hellminer", ANY),
    ("EWBF", GPU),
];

impl Intel {
    /// The built-in indicators (compiled in; parsing them takes well under a millisecond per
    /// thousand entries).
    pub fn builtin() -> Intel {
        let mut intel = Intel::default();
        for line in data_lines(BUILTIN_DOMAINS) {
            let mut fields = line.split('\t');
            let Some(domain) = fields.next().and_then(normalize_name) else {
                continue;
            };
            let pool = fields
                .next()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string);
            let coins = split_list(fields.next());
            intel
                .domains
                .insert(domain.into_boxed_str(), DomainInfo { pool, coins });
        }
        for line in data_lines(BUILTIN_ENDPOINTS) {
            let mut fields = line.split('\t');
            let Some(host) = fields.next().and_then(normalize_name) else {
                continue;
            };
            let coins = split_list(fields.next());
            let mut ports: Vec<u16> = fields
                .next()
                .unwrap_or("")
                .split(',')
                .filter_map(|p| p.trim().parse().ok())
                .collect();
            ports.sort_unstable();
            ports.dedup();
            intel
                .endpoints
                .insert(host.into_boxed_str(), HostInfo { coins, ports });
        }
        intel
    }

    /// No indicators at all (tests).
    pub fn empty() -> Intel {
        Intel::default()
    }

    /// Number of pool domains in the set.
    pub fn domain_count(&self) -> usize {
        self.domains.len()
    }

    /// Number of known endpoint hosts.
    pub fn endpoint_count(&self) -> usize {
        self.endpoints.len()
    }

    /// Adds one pool domain; returns whether it was new. `None` when it is not a valid domain.
    pub fn add_domain(&mut self, domain: &str) -> Option<bool> {
        let name = normalize_entry(domain).ok()?;
        Some(self.insert_domain(name))
    }

    fn insert_domain(&mut self, name: String) -> bool {
        if self.domains.contains_key(name.as_str()) {
            return false;
        }
        self.domains
            .insert(name.into_boxed_str(), DomainInfo::default());
        true
    }

    /// The pool domain `name` falls under: `name` itself or one of its parent domains, compared
    /// whole label by whole label (`notpool.com` is not under `pool.com`), case-insensitively,
    /// with or without the trailing dot. The most specific listed domain wins.
    pub fn match_domain(&self, name: &str) -> Option<DomainMatch> {
        let name = normalize_name(name)?;
        let mut suffix = name.as_str();
        loop {
            if let Some(info) = self.domains.get(suffix) {
                let coins = match self.endpoints.get(name.as_str()) {
                    Some(host) if !host.coins.is_empty() => host.coins.clone(),
                    _ => info.coins.clone(),
                };
                return Some(DomainMatch {
                    domain: suffix.to_string(),
                    pool: info.pool.clone(),
                    coins,
                });
            }
            match suffix.split_once('.') {
                Some((_, parent)) if parent.contains('.') => suffix = parent,
                // A bare top-level domain is never a pool domain.
                _ => return None,
            }
        }
    }

    /// Whether `host:port` is a published pool endpoint (exact host, or an address literal).
    pub fn known_endpoint(&self, host: &str, port: u16) -> bool {
        let Some(host) = normalize_host(host) else {
            return false;
        };
        self.endpoints
            .get(host.as_str())
            .is_some_and(|h| h.ports.binary_search(&port).is_ok())
    }

    /// The miner software an agent string names, judged by its product token (the text before
    /// the first `/`, space or version suffix), never by a substring.
    pub fn miner_agent(&self, agent: &str) -> Option<MinerSoftware> {
        miner_software(agent)
    }

    /// A weak hint: the port is one pools commonly listen on. Never enough on its own.
    pub fn is_pool_port(port: u16) -> bool {
        POOL_PORTS.contains(&port) || (10_000..=10_999).contains(&port)
    }

    /// Adds the pool domains listed in `path`; returns how many were new.
    ///
    /// Accepted, one entry per line, `#` comments and blank lines ignored:
    /// plain domains (`pool.example`, `*.pool.example`, `stratum+tcp://pool.example:3333`),
    /// hosts-file lines (`0.0.0.0 pool.example other.example`; single-label names such as
    /// `localhost` are skipped), and CSV/TSV (the `domain` column named by a header, else the
    /// first column). A bad entry is an error naming the file and line.
    pub fn load_file(&mut self, path: &Path) -> Result<usize, IntelError> {
        let bytes = minetrace_core::io::read_bounded(path, MAX_FILE_BYTES)?;
        let text = String::from_utf8_lossy(&bytes);
        self.load_str(path, &text)
    }

    /// [`Intel::load_file`] on text already read; `origin` names it in errors.
    pub fn load_str(&mut self, origin: &Path, text: &str) -> Result<usize, IntelError> {
        let path = origin;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let invalid = |line: usize, entry: &str, reason: &'static str| IntelError::InvalidEntry {
            path: path.to_path_buf(),
            line,
            entry: entry.chars().take(80).collect(),
            reason,
        };
        let mut added = 0usize;
        // Delimited files: (delimiter, column), decided by the first data line.
        let mut layout: Option<Option<(char, usize)>> = None;
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            let mut names: Vec<&str> = Vec::new();
            let mut skip_invalid_single_labels = false;
            let current = match layout {
                Some(l) => l,
                None => {
                    let delim = if line.contains(',') {
                        Some(',')
                    } else if line.contains('\t') {
                        Some('\t')
                    } else {
                        None
                    };
                    let l = match delim {
                        None => None,
                        Some(d) => {
                            let fields: Vec<&str> = line.split(d).map(unquote).collect();
                            let header =
                                fields.iter().position(|f| f.eq_ignore_ascii_case("domain"));
                            if let Some(col) = header {
                                layout = Some(Some((d, col)));
                                continue;
                            }
                            let first = fields.first().copied().unwrap_or("");
                            if normalize_entry(first).is_err() && !first.contains('.') {
                                // A header naming other columns: the domain is the first one.
                                layout = Some(Some((d, 0)));
                                continue;
                            }
                            Some((d, 0))
                        }
                    };
                    layout = Some(l);
                    l
                }
            };
            match current {
                Some((delim, col)) => match line.split(delim).nth(col).map(unquote) {
                    Some(field) if !field.is_empty() => names.push(field),
                    _ => return Err(invalid(line_no, line, "no domain in this column")),
                },
                None => {
                    let mut tokens = line.split_whitespace();
                    let first = tokens.next().unwrap_or("");
                    if first.parse::<IpAddr>().is_ok() {
                        names.extend(tokens);
                        skip_invalid_single_labels = true;
                        if names.is_empty() {
                            return Err(invalid(line_no, line, "an address without a name"));
                        }
                    } else if tokens.next().is_some() {
                        return Err(invalid(line_no, line, "expected one domain per line"));
                    } else {
                        names.push(first);
                    }
                }
            }
            for entry in names {
                let name = match normalize_entry(entry) {
                    Ok(n) => n,
                    Err(_)
                        if skip_invalid_single_labels
                            && (!entry.contains('.') || entry.parse::<IpAddr>().is_ok()) =>
                    {
                        continue
                    }
                    Err(reason) => return Err(invalid(line_no, entry, reason)),
                };
                if !self.domains.contains_key(name.as_str()) && self.domains.len() >= MAX_DOMAINS {
                    return Err(IntelError::TooManyEntries {
                        path: path.to_path_buf(),
                        line: line_no,
                        limit: MAX_DOMAINS,
                    });
                }
                if self.insert_domain(name) {
                    added += 1;
                }
            }
        }
        Ok(added)
    }
}

fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn split_list(field: Option<&str>) -> Vec<String> {
    field
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

fn strip_comment(line: &str) -> &str {
    match line.find('#') {
        Some(i) => line.get(..i).unwrap_or(""),
        None => line,
    }
}

fn unquote(field: &str) -> &str {
    let f = field.trim();
    f.strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(f)
        .trim()
}

/// Lower-cases a DNS name, drops one trailing dot, and checks its shape (ASCII letters, digits,
/// `-` and `_`; labels of 1..=63; at most 253). `None` when it is not a name.
pub fn normalize_name(name: &str) -> Option<String> {
    let name = name.trim();
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return None;
    }
    for label in name.split('.') {
        if label.is_empty()
            || label.len() > MAX_LABEL_LEN
            || !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
    }
    Some(name.to_ascii_lowercase())
}

/// A host for endpoint lookups: a name (normalised) or an address literal (canonical form).
fn normalize_host(host: &str) -> Option<String> {
    let h = host.trim();
    let h = h
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(h);
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    normalize_name(h)
}

/// One list entry to a pool domain: accepts `*.` / `.` prefixes and `scheme://host:port/...`.
fn normalize_entry(entry: &str) -> Result<String, &'static str> {
    let mut e = entry.trim();
    if let Some((_, rest)) = e.split_once("://") {
        e = rest;
        e = e.split(['/', '?']).next().unwrap_or("");
        if let Some((_, host)) = e.rsplit_once('@') {
            e = host;
        }
        if let Some((host, port)) = e.rsplit_once(':') {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                e = host;
            }
        }
    }
    let e = e.strip_prefix("*.").unwrap_or(e);
    let e = e.strip_prefix('.').unwrap_or(e);
    if e.parse::<IpAddr>().is_ok() {
        return Err("an address, not a domain");
    }
    let name = normalize_name(e).ok_or("not a valid domain name")?;
    let mut labels = name.rsplit('.');
    let tld = labels.next().unwrap_or("");
    if labels.next().is_none() {
        return Err("a single label is not a pool domain");
    }
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err("numeric top-level label");
    }
    Ok(name)
}

fn is_version_like(s: &str) -> bool {
    let s = s
        .strip_prefix('v')
        .or_else(|| s.strip_prefix('V'))
        .unwrap_or(s);
    s.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

fn clean_version(s: &str) -> Option<String> {
    let s = s
        .strip_prefix('v')
        .or_else(|| s.strip_prefix('V'))
        .unwrap_or(s);
    let s = s.trim_end_matches([',', ';', ')']);
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'));
    ok.then(|| s.to_string())
}

/// Parses `Product/1.2 (...)`, `Product 1.2`, `Product-1.2`, `Product-v1.2` and bare `Product`.
/// The miner software an agent string names, judged by its product token (needs no indicator
/// set: [`Intel::miner_agent`] is the same).
pub fn miner_software(agent: &str) -> Option<MinerSoftware> {
    let agent = agent.trim();
    let mut tokens = agent.split_whitespace();
    let first = tokens.next()?;
    let (product, version) = if let Some((name, ver)) = first.split_once('/') {
        (name, clean_version(ver))
    } else if let Some(next) = tokens.next().filter(|t| is_version_like(t)) {
        (first, clean_version(next))
    } else {
        // `ethminer-0.19.0`, `BzMiner-v11.1.0`: split at the last '-' that starts a version.
        match first
            .rmatch_indices('-')
            .map(|(i, _)| i)
            .find(|&i| first.get(i + 1..).is_some_and(is_version_like))
        {
            Some(i) => (
                first.get(..i).unwrap_or(first),
                first.get(i + 1..).and_then(clean_version),
            ),
            None => (first, None),
        }
    };
    let product = product.trim_end_matches([',', ';', ':']);
    let (canonical, gpu_only) = MINER_PRODUCTS
        .iter()
        .find(|(p, _)| p.eq_ignore_ascii_case(product))?;
    Some(MinerSoftware {
        name: (*canonical).to_string(),
        version,
        gpu_only: *gpu_only,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_domains(domains: &[&str]) -> Intel {
        let mut intel = Intel::empty();
        for d in domains {
            assert_eq!(intel.add_domain(d), Some(true), "{d}");
        }
        intel
    }

    #[test]
    fn builtin_data_parses_completely() {
        let intel = Intel::builtin();
        assert_eq!(intel.domain_count(), data_lines(BUILTIN_DOMAINS).count());
        assert_eq!(
            intel.endpoint_count(),
            data_lines(BUILTIN_ENDPOINTS).count()
        );
        assert!(intel.domain_count() > 300);
        assert!(intel.endpoint_count() > 1000);
    }

    #[test]
    fn suffix_match_respects_label_boundaries() {
        let intel = with_domains(&["pool.com", "zpool.ca"]);
        assert_eq!(intel.match_domain("pool.com").unwrap().domain, "pool.com");
        assert_eq!(
            intel.match_domain("eu.pool.com").unwrap().domain,
            "pool.com"
        );
        assert!(intel.match_domain("notpool.com").is_none());
        assert!(intel.match_domain("pool.com.evil.net").is_none());
        assert!(intel.match_domain("zpool.cache").is_none());
        assert!(intel.match_domain("mine.zpool.ca").is_some());
        assert!(intel.match_domain("xzpool.ca").is_none());
        assert!(intel.match_domain("ca").is_none());
        assert!(intel.match_domain("").is_none());
        assert!(intel.match_domain(".").is_none());
        assert!(intel.match_domain("a..pool.com").is_none());
    }

    #[test]
    fn match_is_case_insensitive_and_accepts_the_trailing_dot() {
        let intel = with_domains(&["Pool.Com"]);
        assert!(intel.match_domain("EU.POOL.COM.").is_some());
        assert!(intel.match_domain("eu.pool.com..").is_none());
    }

    #[test]
    fn most_specific_domain_wins_and_builtin_has_facts() {
        let intel = Intel::builtin();
        let m = intel.match_domain("xmr-eu1.nanopool.org").unwrap();
        assert_eq!(m.domain, "nanopool.org");
        assert_eq!(m.pool.as_deref(), Some("Nanopool"));
        assert_eq!(m.coins, vec!["XMR".to_string()]);
        assert!(intel.match_domain("zpool.cache").is_none());
        assert!(intel.match_domain("mine.zpool.ca").is_some());
        assert!(intel.match_domain("www.google.com").is_none());
        assert!(intel.match_domain("pool.ntp.org").is_none());
        // Shared dynamic-DNS providers are never widened to the whole provider.
        assert!(intel.match_domain("chinet-pool.ddns.net").is_some());
        assert!(intel.match_domain("someone.ddns.net").is_none());
        assert!(intel.match_domain("news.bitcoin.com").is_none());
    }

    #[test]
    fn known_endpoints_need_host_and_port() {
        let intel = Intel::builtin();
        assert!(intel.known_endpoint("xmr-eu1.nanopool.org", 10300));
        assert!(intel.known_endpoint("XMR-EU1.nanopool.org.", 10343));
        assert!(!intel.known_endpoint("xmr-eu1.nanopool.org", 22));
        assert!(!intel.known_endpoint("nanopool.org.example", 10300));
        assert!(intel.known_endpoint("65.108.57.232", 3052));
        assert!(!intel.known_endpoint("65.108.57.232", 3333));
    }

    #[test]
    fn miner_agents_parse_by_product_token() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            (
                "XMRig/6.26.0 (Linux x86_64) libuv/1.x gcc/13.x",
                "XMRig",
                Some("6.26.0"),
            ),
            ("cgminer/4.11.1", "cgminer", Some("4.11.1")),
            ("GMiner/2.09", "GMiner", Some("2.09")),
            ("lolMiner 1.76", "lolMiner", Some("1.76")),
            ("ethminer-0.19.0", "ethminer", Some("0.19.0")),
            ("BzMiner-v11.1.0", "BzMiner", Some("11.1.0")),
            ("SRBMiner-MULTI/2.4.7", "SRBMiner-MULTI", Some("2.4.7")),
            (
                "xmr-stak-cpu/1.3.0-1.5.0",
                "xmr-stak-cpu",
                Some("1.3.0-1.5.0"),
            ),
            ("xmrig-proxy/6.22.0 (Linux)", "xmrig-proxy", Some("6.22.0")),
            ("EthereumMiner/1.0.0", "EthereumMiner", Some("1.0.0")),
            ("teamredminer/0.10.21", "TeamRedMiner", Some("0.10.21")),
            ("t-rex/0.26.8", "T-Rex", Some("0.26.8")),
            ("xmrig", "XMRig", None),
            ("cpuminer/2.5.1", "cpuminer", Some("2.5.1")),
            ("EWBF 0.3.4b", "EWBF", Some("0.3.4b")),
        ];
        let intel = Intel::empty();
        for (agent, name, version) in cases {
            let m = intel
                .miner_agent(agent)
                .unwrap_or_else(|| panic!("{agent}"));
            assert_eq!(m.name, *name, "{agent}");
            assert_eq!(m.version.as_deref(), *version, "{agent}");
        }
    }

    #[test]
    fn graphics_card_miners_are_known_as_such() {
        for (agent, gpu_only) in [
            ("EWBF 0.3.4b", true),
            ("lolMiner 1.76", true),
            ("GMiner/2.09", true),
            ("XMRig/6.21.0 (Linux x86_64)", false),
            ("SRBMiner-MULTI/2.4.7", false),
            ("BzMiner-v21.1.3", false),
            ("cgminer/4.11.1", false),
        ] {
            assert_eq!(miner_software(agent).unwrap().gpu_only, gpu_only, "{agent}");
        }
    }

    #[test]
    fn non_miner_agents_are_not_miners() {
        let intel = Intel::empty();
        for agent in [
            "Mozilla/5.0 (X11; Linux x86_64) xmrig",
            "notxmrig/1.0",
            "curl/8.5.0",
            "xmrigger/1.0",
            "python-requests/2.31 cgminer",
            "",
            "   ",
            "/",
            "-1.0",
        ] {
            assert_eq!(intel.miner_agent(agent), None, "{agent:?}");
        }
    }

    #[test]
    fn pool_ports_are_a_hint_without_web_ports() {
        assert!(Intel::is_pool_port(3333));
        assert!(Intel::is_pool_port(14444));
        assert!(Intel::is_pool_port(10128));
        assert!(!Intel::is_pool_port(443));
        assert!(!Intel::is_pool_port(80));
        assert!(!Intel::is_pool_port(22));
    }

    fn load(text: &str) -> Result<(Intel, usize), IntelError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.txt");
        std::fs::write(&path, text).unwrap();
        let mut intel = Intel::empty();
        let n = intel.load_file(&path)?;
        Ok((intel, n))
    }

    #[test]
    fn loads_plain_lists_with_comments_and_url_forms() {
        let (intel, n) = load(
            "# pools\n\nPool.Example\n*.wild.example # inline\nstratum+tcp://user@url.example:3333\n.dot.example\npool.example\n",
        )
        .unwrap();
        assert_eq!(n, 4);
        for name in [
            "a.pool.example",
            "x.wild.example",
            "url.example",
            "b.dot.example",
        ] {
            assert!(intel.match_domain(name).is_some(), "{name}");
        }
    }

    #[test]
    fn loads_hosts_files() {
        let (intel, n) =
            load("127.0.0.1 localhost\n0.0.0.0 pool.example other.example\n::1 ip6-localhost\n")
                .unwrap();
        assert_eq!(n, 2);
        assert!(intel.match_domain("other.example").is_some());
        assert!(intel.match_domain("localhost").is_none());
    }

    #[test]
    fn loads_csv_by_header_or_first_column() {
        let (intel, n) = load("pool,domain,port\nA,\"a.example\",3333\nB,b.example,1\n").unwrap();
        assert_eq!(n, 2);
        assert!(intel.match_domain("x.b.example").is_some());
        assert!(intel.match_domain("pool").is_none());
        let (_, n) = load("c.example,3333\nd.example,4444\n").unwrap();
        assert_eq!(n, 2);
        let (_, n) = load("host\tport\ne.example\t1\n").unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn load_errors_name_file_and_line() {
        let err = load("good.example\nbad domain here\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("list.txt:2"), "{msg}");
        let err = load("ok.example\nnot_ok!.example\n").unwrap_err();
        assert!(
            matches!(err, IntelError::InvalidEntry { line: 2, .. }),
            "{err}"
        );
        let err = load("singlelabel\n").unwrap_err();
        assert!(matches!(err, IntelError::InvalidEntry { line: 1, .. }));
        let err = load("192.0.2.1\n").unwrap_err();
        assert!(matches!(err, IntelError::InvalidEntry { line: 1, .. }));
        let long = format!("{}.example\n", "a".repeat(64));
        assert!(load(&long).is_err());
        let missing = Intel::empty().load_file(Path::new("/nonexistent/list.txt"));
        assert!(missing
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/list.txt"));
    }
}
