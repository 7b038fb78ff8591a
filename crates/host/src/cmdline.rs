//! Command-line analysis: pool URLs (plain and base64-encoded), miner flags, algorithm and coin
//! names, `-o/--url` hosts checked against pool domains, wallets. Parses tokens and URLs; a bare
//! substring (`pool` in `zpool.cache`, `-o pool.o` in a gcc run) never matches.

use crate::indicators::{PoolIntel, ALGORITHMS, COINS, MINER_FLAGS, STRATUM_SCHEMES};
use base64::Engine;
use minetrace_core::{Confidence, Wallet};

const MAX_TOKENS: usize = 4096;
const MAX_TOKEN_CHARS: usize = 4096;
const MAX_BASE64_DECODED: usize = 16 * 1024;

/// A pool URL found in a command line, configuration or environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUrl {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    /// True when it was found inside a base64-encoded token.
    pub from_base64: bool,
}

impl PoolUrl {
    pub fn display(&self) -> String {
        match self.port {
            Some(p) => format!("{}://{}:{}", self.scheme, self.host, p),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }
}

/// What a command line says about mining.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CmdlineAnalysis {
    pub pool_urls: Vec<PoolUrl>,
    /// `-o/--url host:port` values whose host is a listed pool domain: (host, port, matched domain).
    pub pool_hosts: Vec<(String, Option<u16>, String)>,
    /// `-o/--url host:port` values on a pool port (weak alone).
    pub pool_port_targets: Vec<(String, u16)>,
    pub miner_flags: Vec<String>,
    pub algorithm: Option<String>,
    pub coin: Option<String>,
    pub login: Option<String>,
    pub wallet: Option<Wallet>,
    /// Tuning commands (`modprobe msr allow_writes=on`, huge pages sysctl).
    pub tuning: Vec<String>,
    /// Commands that kill other miners by name (competitor killing).
    pub kills_miners: Vec<String>,
    /// Path given to `-c/--config`.
    pub config_file: Option<String>,
    pub reasons: Vec<String>,
}

impl CmdlineAnalysis {
    /// How strongly the command line alone says "miner"; `None` when it says nothing.
    pub fn confidence(&self) -> Option<Confidence> {
        if !self.pool_urls.is_empty() || !self.pool_hosts.is_empty() {
            return Some(Confidence::High);
        }
        let mut signals = self.miner_flags.len();
        signals += usize::from(self.algorithm.is_some());
        signals += usize::from(self.coin.is_some());
        signals += usize::from(self.wallet.is_some());
        signals += usize::from(!self.pool_port_targets.is_empty() && signals > 0);
        match signals {
            0 => None,
            1 => Some(Confidence::Medium),
            _ => Some(Confidence::High),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.confidence().is_none() && self.tuning.is_empty() && self.kills_miners.is_empty()
    }

    fn merge_decoded(&mut self, other: CmdlineAnalysis) {
        for mut u in other.pool_urls {
            u.from_base64 = true;
            if !self.pool_urls.contains(&u) {
                self.reasons
                    .push(format!("base64-encoded pool URL {}", u.display()));
                self.pool_urls.push(u);
            }
        }
        for f in other.miner_flags {
            if !self.miner_flags.contains(&f) {
                self.reasons.push(format!("base64-encoded miner flag {f}"));
                self.miner_flags.push(f);
            }
        }
        self.pool_hosts.extend(other.pool_hosts);
        self.algorithm = self.algorithm.take().or(other.algorithm);
        self.coin = self.coin.take().or(other.coin);
        self.wallet = self.wallet.take().or(other.wallet);
        self.tuning.extend(other.tuning);
        self.kills_miners.extend(other.kills_miners);
    }
}

/// Shells whose `-c` takes a script, not a miner's configuration file.
const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh", "busybox"];

/// Splits text into shell-like words: whitespace and `;|&()<>`\`` separate, quotes are dropped.
pub fn shell_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in text.split(|c: char| {
        c.is_whitespace() || matches!(c, ';' | '|' | '&' | '(' | ')' | '<' | '>' | '`')
    }) {
        let w: String = raw
            .chars()
            .filter(|c| !matches!(c, '"' | '\''))
            .take(MAX_TOKEN_CHARS)
            .collect();
        if !w.is_empty() {
            out.push(w);
            if out.len() >= MAX_TOKENS {
                break;
            }
        }
    }
    out
}

/// Analyses a process argument vector (each argument may itself hold spaces after `exec -a`
/// or an argv rewrite).
pub fn analyze_argv(argv: &[String], intel: &dyn PoolIntel) -> CmdlineAnalysis {
    analyze_text(&argv.join(" "), intel)
}

/// Analyses free text (a command line, a cron line, a unit's ExecStart).
pub fn analyze_text(text: &str, intel: &dyn PoolIntel) -> CmdlineAnalysis {
    analyze_tokens(&shell_words(text), intel, 0)
}

fn analyze_tokens(tokens: &[String], intel: &dyn PoolIntel, depth: u8) -> CmdlineAnalysis {
    let mut a = CmdlineAnalysis::default();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        let next = tokens.get(i + 1).map(String::as_str);
        let (flag, inline_value) = match t.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (t, None),
        };
        let value = inline_value.or(next);

        if let Some(url) = find_pool_url(t) {
            if !a.pool_urls.contains(&url) {
                a.reasons.push(format!("pool URL {}", url.display()));
                a.pool_urls.push(url);
            }
        }
        if MINER_FLAGS.contains(&flag) {
            if flag == "--coin" {
                if let Some(c) = value
                    .map(str::to_ascii_lowercase)
                    .filter(|c| COINS.contains(&c.as_str()))
                {
                    a.reasons.push(format!("--coin {c}"));
                    a.coin = Some(c);
                }
            } else if !a.miner_flags.iter().any(|f| f == flag) {
                a.reasons.push(format!("miner flag {flag}"));
                a.miner_flags.push(flag.to_string());
            }
        }
        match flag {
            "-o" | "--url" => {
                if let Some(v) = value {
                    a.check_target(v, intel);
                }
            }
            "-a" | "--algo" | "--algorithm" => {
                if let Some(v) = value.map(str::to_ascii_lowercase) {
                    if ALGORITHMS.contains(&v.as_str()) {
                        a.reasons.push(format!("mining algorithm {v}"));
                        a.algorithm = Some(v);
                    }
                }
            }
            "-u" | "--user" | "--wallet" => {
                if let Some(v) = value {
                    let login = v.chars().take(256).collect::<String>();
                    if let Some(w) = parse_wallet(login.split(['.', '+', '/']).next().unwrap_or(""))
                    {
                        a.reasons.push(format!(
                            "{} wallet as login",
                            w.coin.as_deref().unwrap_or("coin")
                        ));
                        a.wallet = Some(w);
                    }
                    a.login = Some(login);
                }
            }
            "-c" | "--config" => {
                // `sh -c SCRIPT` is the shell's -c, and a configuration file has a path or a
                // file name (`config.json`), not a command word (`exec`, `printf`).
                let shell_flag = i > 0
                    && flag == "-c"
                    && SHELLS.contains(&tokens[i - 1].rsplit('/').next().unwrap_or(""));
                if let Some(v) = value.filter(|v| !shell_flag && v.contains(['/', '.'])) {
                    a.config_file = Some(v.chars().take(512).collect());
                }
            }
            "modprobe"
                if next == Some("msr")
                    && tokens
                        .iter()
                        .skip(i)
                        .take(4)
                        .any(|w| w == "allow_writes=on") =>
            {
                a.tuning.push("modprobe msr allow_writes=on".into());
                a.reasons
                    .push("loads msr with allow_writes=on (RandomX tuning)".into());
            }
            "pkill" | "killall" | "kill" => {
                for w in tokens.iter().skip(i + 1).take(6) {
                    let name = w.trim_start_matches('-');
                    if crate::indicators::miner_name(name).is_some()
                        || crate::indicators::trojan_name(name).is_some()
                    {
                        a.kills_miners.push(format!("{t} {w}"));
                        break;
                    }
                }
            }
            _ => {}
        }
        if t.starts_with("vm.nr_hugepages=") && !a.tuning.iter().any(|x| x.starts_with("vm.nr")) {
            a.tuning.push(t.to_string());
        }
        if depth == 0 && t.len() >= 20 {
            if let Some(decoded) = decode_base64_text(t) {
                let inner = analyze_tokens(&shell_words(&decoded), intel, depth + 1);
                a.merge_decoded(inner);
            }
        }
        i += 1;
    }
    // -tls and -dp together (xmrig-proxy style short flags) count as one miner flag.
    if tokens.iter().any(|t| t == "-tls") && tokens.iter().any(|t| t == "-dp") {
        a.reasons.push("miner flags -tls -dp".into());
        a.miner_flags.push("-tls -dp".into());
    }
    if !a.kills_miners.is_empty() {
        a.reasons
            .push(format!("kills other miners: {}", a.kills_miners.join(", ")));
    }
    a
}

impl CmdlineAnalysis {
    fn check_target(&mut self, v: &str, intel: &dyn PoolIntel) {
        if v.contains("://") {
            return; // handled as a URL
        }
        let Some((host, port)) = split_host_port(v) else {
            return;
        };
        if let Some(domain) = intel.pool_domain(&host) {
            self.reasons.push(format!(
                "-o/--url names pool {host} (listed domain {domain})"
            ));
            self.pool_hosts.push((host, port, domain));
        } else if let Some(p) = port.filter(|p| intel.is_pool_port(*p)) {
            self.pool_port_targets.push((host, p));
        }
    }
}

/// Splits `host[:port]`; the host must look like a domain name or an IP address.
fn split_host_port(v: &str) -> Option<(String, Option<u16>)> {
    let v = v.trim();
    let (host, port) = if let Some(rest) = v.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        (
            h,
            after
                .strip_prefix(':')
                .map(|p| p.parse().ok())
                .unwrap_or(None),
        )
    } else {
        match v.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p.parse::<u16>().ok()?)),
            _ => (v, None),
        }
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let valid = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    valid.then_some((host, port))
}

/// Finds a Stratum URL inside a token (`--url=stratum+tcp://h:1`, `-ostratum+ssl://h`).
pub fn find_pool_url(token: &str) -> Option<PoolUrl> {
    let lower = token.to_ascii_lowercase();
    let sep = lower.find("://")?;
    let scheme_start = lower
        .get(..sep)?
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')))
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    let scheme = lower.get(scheme_start..sep)?;
    // `-ostratum+tcp://` glues the flag to the scheme.
    let scheme = STRATUM_SCHEMES.iter().copied().find(|s| {
        scheme == *s || (scheme.ends_with(s) && scheme.len() > s.len() && scheme.starts_with('-'))
    })?;
    let rest = lower.get(sep + 3..)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u.chars().take(256).collect()), h),
        None => (None, authority),
    };
    let (host, port) = split_host_port(hostport)?;
    Some(PoolUrl {
        scheme: scheme.to_string(),
        host,
        port,
        user,
        from_base64: false,
    })
}

/// Decodes a token that is plausibly base64 into printable text.
fn decode_base64_text(token: &str) -> Option<String> {
    let t = token.trim_end_matches('=');
    if t.len() < 20
        || !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'-' || b == b'_')
    {
        return None;
    }
    let t = t.get(..t.len().min(MAX_BASE64_DECODED * 4 / 3))?;
    let engine = base64::engine::general_purpose::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let std = base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, engine);
    let url = base64::engine::GeneralPurpose::new(&base64::alphabet::URL_SAFE, engine);
    let bytes = std.decode(t).or_else(|_| url.decode(t)).ok()?;
    let printable = bytes
        .iter()
        .filter(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
        .count();
    (printable * 100 >= bytes.len() * 95).then(|| String::from_utf8_lossy(&bytes).into_owned())
}

const BASE58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Recognises a wallet address by its shape (no checksum verification here).
pub fn parse_wallet(s: &str) -> Option<Wallet> {
    let is_b58 = |s: &str| s.chars().all(|c| BASE58.contains(c));
    let wallet = |coin: &str, format: &str| Wallet {
        address: s.to_string(),
        coin: Some(coin.to_string()),
        format: format.to_string(),
        checksum_ok: false,
    };
    if (s.len() == 95 || s.len() == 106) && (s.starts_with('4') || s.starts_with('8')) && is_b58(s)
    {
        return Some(wallet("XMR", "monero"));
    }
    if s.len() == 42 && s.starts_with("0x") && s[2..].chars().all(|c| c.is_ascii_hexdigit()) {
        return Some(wallet("ETH", "hex40"));
    }
    if (26..=35).contains(&s.len()) && (s.starts_with('1') || s.starts_with('3')) && is_b58(s) {
        return Some(wallet("BTC", "base58check"));
    }
    if (42..=62).contains(&s.len())
        && s.starts_with("bc1")
        && s[3..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return Some(wallet("BTC", "bech32"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::BuiltinPools;

    fn an(s: &str) -> CmdlineAnalysis {
        analyze_text(s, &BuiltinPools)
    }

    const XMR: &str = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A";

    #[test]
    fn stratum_schemes() {
        for s in [
            "stratum+tcp",
            "stratum+ssl",
            "stratum+tls",
            "stratum1+tcp",
            "stratum2+tcp",
        ] {
            let a = an(&format!("foo --url={s}://x.example.net:3333"));
            assert_eq!(a.pool_urls.len(), 1, "{s}");
            assert_eq!(a.pool_urls[0].port, Some(3333));
            assert_eq!(a.confidence(), Some(Confidence::High));
        }
        let a = an("-ostratum+tcp://w@h.example:1");
        assert_eq!(a.pool_urls[0].host, "h.example");
        assert_eq!(a.pool_urls[0].user.as_deref(), Some("w"));
    }

    #[test]
    fn a_configuration_file_is_a_file_and_not_a_shells_script() {
        assert_eq!(
            an("xmrig -c config.json").config_file.as_deref(),
            Some("config.json")
        );
        assert_eq!(
            an("./kswapd0 --config=/tmp/.x/c.json")
                .config_file
                .as_deref(),
            Some("/tmp/.x/c.json")
        );
        for launcher in [
            "bash -c exec -a 'xmrig -o stratum+tcp://pool.example.org:3333' sleep 60",
            "/bin/sh -c printf x; xmrig -o stratum+tcp://pool.example.org:3333",
            "xmrig -c exec",
        ] {
            assert_eq!(an(launcher).config_file, None, "{launcher}");
        }
    }

    #[test]
    fn base64_encoded_url() {
        let enc = base64::engine::general_purpose::STANDARD
            .encode("xmrig -o stratum+tcp://pool.example.org:3333 --donate-level 1");
        let a = an(&format!("sh -c echo {enc} | base64 -d | sh"));
        assert!(a
            .pool_urls
            .iter()
            .any(|u| u.from_base64 && u.host == "pool.example.org"));
        assert!(a.miner_flags.contains(&"--donate-level".to_string()));
    }

    #[test]
    fn xmrig_style_flags_and_pool_host() {
        let a = an(&format!(
            "./x -o xmr.pool.example.org:443 -u {XMR} -a rx/0 --donate-level=1"
        ));
        assert_eq!(a.pool_hosts.len(), 1);
        assert_eq!(a.algorithm.as_deref(), Some("rx/0"));
        assert_eq!(a.wallet.as_ref().unwrap().coin.as_deref(), Some("XMR"));
        assert_eq!(a.confidence(), Some(Confidence::High));
    }

    #[test]
    fn benign_look_alikes_are_silent() {
        for s in [
            "gcc -O2 -c pool.c -o pool.o",
            "zpool import -c /etc/zfs/zpool.cache tank",
            "make -C build -o pool",
            "cc -o pool main.c",
            "ptxas -arch=sm_80 -o kernel.cubin kernel.ptx",
            "/usr/bin/node_exporter --web.listen-address=:9100",
            "telegraf --config /etc/telegraf/telegraf.conf",
            "python3 train.py --epochs 10 -a resnet50",
            "tar -a -cf out.tar.gz dir",
            "ssh -o StrictHostKeyChecking=no host:22",
        ] {
            let a = an(s);
            assert!(a.is_empty(), "{s}: {a:?}");
        }
    }

    #[test]
    fn kill_lists() {
        let a = an("pkill -f xmrig; killall -9 kdevtmpfsi");
        assert_eq!(a.kills_miners.len(), 2);
    }

    #[test]
    fn huge_and_garbage_input_is_bounded() {
        let big = "A".repeat(1_000_000);
        let _ = an(&big);
        let _ = an("stratum+tcp://");
        let _ = an("stratum+tcp://[::1");
        let _ = an("://x -o : -a");
        let _ = find_pool_url("\u{1F600}stratum+tcp://h:99999");
    }
}
