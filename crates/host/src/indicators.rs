//! What the host detectors compare against: miner names, trojan disguises, xmrig flags, algorithm
//! names, pool domains and ports. Pool knowledge comes through [`PoolIntel`] so the shared
//! indicator set (`minetrace_intel::Intel`) plugs in; [`BuiltinPools`] is a small fallback.

/// Pool knowledge the host detectors need.
pub trait PoolIntel: Send + Sync {
    /// The listed pool domain that `host` falls under (suffix match on label boundaries).
    fn pool_domain(&self, host: &str) -> Option<String>;
    /// True for ports that mining pools commonly listen on (a weak hint on its own).
    fn is_pool_port(&self, port: u16) -> bool;
}

/// A small built-in pool list, used when no richer indicator set is wired in.
#[derive(Debug, Default, Clone)]
pub struct BuiltinPools;

const BUILTIN_POOL_DOMAINS: &[&str] = &[
    "moneroocean.stream",
    "supportxmr.com",
    "nanopool.org",
    "2miners.com",
    "f2pool.com",
    "c3pool.com",
    "hashvault.pro",
    "minexmr.com",
    "xmrpool.eu",
    "herominers.com",
    "unmineable.com",
    "nicehash.com",
    "ethermine.org",
    "viabtc.com",
    "antpool.com",
    "kryptex.network",
    "woolypooly.com",
    "p2pool.io",
    "xmrig.com",
    "dwarfpool.com",
    "minergate.com",
    "crypto-pool.fr",
    "pool.example.org",
];

const BUILTIN_POOL_PORTS: &[u16] = &[
    3333, 3334, 3335, 3336, 3357, 4444, 5555, 6666, 7777, 8008, 9000, 10128, 10343, 13333, 14433,
    14444, 15555, 17777, 20535, 45560, 45700,
];

impl PoolIntel for BuiltinPools {
    fn pool_domain(&self, host: &str) -> Option<String> {
        suffix_match(host, BUILTIN_POOL_DOMAINS).map(str::to_string)
    }
    fn is_pool_port(&self, port: u16) -> bool {
        BUILTIN_POOL_PORTS.contains(&port)
    }
}

/// Adapter: the shared indicator set (`minetrace_intel::Intel`) first, the built-in list as a
/// fallback.
pub struct IntelPools {
    pub intel: minetrace_intel::Intel,
}

impl IntelPools {
    /// The shared built-in indicator set.
    pub fn builtin() -> IntelPools {
        IntelPools {
            intel: minetrace_intel::Intel::builtin(),
        }
    }
}

impl PoolIntel for IntelPools {
    fn pool_domain(&self, host: &str) -> Option<String> {
        self.intel
            .match_domain(host)
            .map(|m| m.domain)
            .or_else(|| BuiltinPools.pool_domain(host))
    }
    fn is_pool_port(&self, port: u16) -> bool {
        minetrace_intel::Intel::is_pool_port(port) || BuiltinPools.is_pool_port(port)
    }
}

/// Returns the listed domain that `host` equals or falls under, matching whole labels only
/// (`a.pool.example.org` matches `pool.example.org`; `badpool.example.org` does not).
pub fn suffix_match<'a>(host: &str, domains: &[&'a str]) -> Option<&'a str> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() || host.len() > 253 {
        return None;
    }
    domains.iter().copied().find(|d| {
        host == *d
            || (host.len() > d.len()
                && host.ends_with(d)
                && host.as_bytes().get(host.len() - d.len() - 1) == Some(&b'.'))
    })
}

/// Miner program names (compared with the whole base name of argv[0], comm or the executable).
pub const MINER_NAMES: &[&str] = &[
    "xmrig",
    "xmr-stak",
    "xmr-stak-rx",
    "xmr-stak-cpu",
    "cpuminer",
    "cpuminer-multi",
    "cpuminer-opt",
    "minerd",
    "cgminer",
    "bfgminer",
    "ccminer",
    "ethminer",
    "t-rex",
    "lolminer",
    "nbminer",
    "gminer",
    "phoenixminer",
    "teamredminer",
    "srbminer",
    "srbminer-multi",
    "bzminer",
    "nanominer",
    "xmrig-notls",
    "xmrig-cuda",
    "minergate-cli",
];

/// Names trojans give their miners to pass as system processes.
pub const TROJAN_NAMES: &[&str] = &[
    "kdevtmpfsi",
    "kinsing",
    "kthreaddk",
    "kthreaddi",
    "ksoftriqd",
    "kdevchecker",
    "kworkerds",
    "deamon",
    "systemd-worker",
    "dbused",
    "sysupdate",
    "networkservice",
];

/// Names of real kernel threads that masquerades copy (prefix before any `/` or digit suffix).
pub const KERNEL_THREAD_NAMES: &[&str] = &[
    "kworker",
    "kthreadd",
    "ksoftirqd",
    "kswapd",
    "kcompactd",
    "khugepaged",
    "kdevtmpfs",
    "migration",
    "rcu_sched",
    "rcu_preempt",
    "watchdog",
    "kblockd",
    "kauditd",
    "jbd2",
    "kintegrityd",
    "writeback",
];

/// Flags only mining software takes (xmrig and friends).
pub const MINER_FLAGS: &[&str] = &[
    "--donate-level",
    "--donate-over-proxy",
    "--cpu-priority",
    "--cpu-max-threads-hint",
    "--max-cpu-usage",
    "--randomx-1gb-pages",
    "--randomx-mode",
    "--randomx-no-numa",
    "--randomx-wrmsr",
    "--randomx-init",
    "--nicehash",
    "--tls-fingerprint",
    "--rig-id",
    "--cuda-loader",
    "--opencl-platform",
    "--asm",
    "--coin",
];

/// Algorithm names accepted by `-a/--algo` in mining software.
pub const ALGORITHMS: &[&str] = &[
    "rx/0",
    "rx/wow",
    "rx/arq",
    "rx/graft",
    "rx/sfx",
    "rx/keva",
    "randomx",
    "randomxmonero",
    "cn/0",
    "cn/1",
    "cn/2",
    "cn/r",
    "cn/fast",
    "cn/half",
    "cn/xao",
    "cn/rto",
    "cn/rwz",
    "cn/zls",
    "cn/double",
    "cn/ccx",
    "cn-lite/1",
    "cn-heavy/0",
    "cn-heavy/tube",
    "cn-heavy/xhv",
    "cn-pico",
    "cn-pico/tlo",
    "cryptonight",
    "cryptonight-lite",
    "cryptonight-heavy",
    "argon2/chukwa",
    "argon2/chukwav2",
    "argon2/ninja",
    "kawpow",
    "ethash",
    "etchash",
    "autolykos2",
    "kheavyhash",
    "equihash",
    "zhash",
    "beamhash",
    "octopus",
    "cuckatoo32",
    "cuckaroo29",
    "ghostrider",
    "gr",
    "yespower",
    "scrypt",
    "sha256d",
    "x16r",
    "x16rv2",
    "lyra2z",
    "astrobwt",
    "progpow",
    "firopow",
];

/// Coins passed to `--coin`.
pub const COINS: &[&str] = &[
    "monero",
    "xmr",
    "wownero",
    "arqma",
    "ravencoin",
    "rvn",
    "zephyr",
    "etc",
    "ergo",
    "kaspa",
];

/// Stratum URL schemes (lower case).
pub const STRATUM_SCHEMES: &[&str] = &[
    "stratum",
    "stratum+tcp",
    "stratum+ssl",
    "stratum+tls",
    "stratum+tcps",
    "stratum1+tcp",
    "stratum1+ssl",
    "stratum1+tls",
    "stratum2+tcp",
    "stratum2+ssl",
    "stratum2+tls",
];

/// Programs whose heavy CPU or GPU use is expected (training, builds, databases).
pub const KNOWN_WORKLOADS: &[&str] = &[
    "python",
    "python2",
    "python3",
    "java",
    "node",
    "rustc",
    "cc1",
    "cc1plus",
    "gcc",
    "g++",
    "clang",
    "clang++",
    "ld",
    "lld",
    "ld.lld",
    "mold",
    "make",
    "ninja",
    "cargo",
    "go",
    "ptxas",
    "nvcc",
    "ffmpeg",
    "postgres",
    "mysqld",
    "mariadbd",
    "R",
    "julia",
    "matlab",
    "blender",
    "gzip",
    "xz",
    "zstd",
    "bzip2",
    "tar",
    "dockerd",
    "containerd",
    "kubelet",
    "qemu-system-x86_64",
    "torchrun",
    "tritonserver",
    "pytest",
    "ruby",
    "perl",
    "php",
    "php-fpm",
    "dotnet",
    "mono",
    "stress-ng",
    "sysbench",
    "minetrace",
    "hyperfine",
];

/// Process names of web servers and service runners: a miner under them points to an intrusion.
pub const SERVICE_PARENTS: &[&str] = &[
    "nginx",
    "apache2",
    "httpd",
    "php-fpm",
    "php-fpm7",
    "php-fpm8",
    "java",
    "tomcat",
    "redis-server",
    "postgres",
    "mysqld",
    "node",
    "uwsgi",
    "gunicorn",
    "jenkins",
    "weblogic",
    "containerd-shim",
    "docker-containerd-shim",
    "runc",
];

/// Names of processes that start interactive logins.
pub const LOGIN_PARENTS: &[&str] = &[
    "sshd",
    "sshd-session",
    "login",
    "gdm-session-worker",
    "lightdm",
    "su",
    "sudo",
];

/// Normalises a program name: base name, lower case, without `.exe`.
pub fn program_name(s: &str) -> String {
    let base = s.rsplit('/').next().unwrap_or(s);
    let base = base.strip_suffix(" (deleted)").unwrap_or(base);
    let lower = base.to_ascii_lowercase();
    lower
        .strip_suffix(".exe")
        .map(str::to_string)
        .unwrap_or(lower)
}

/// The miner name `name` is, if any: the whole name, or the name followed by a version or variant
/// (`xmrig-6.21.0`, `cpuminer_opt`). Never a substring inside a longer word.
pub fn miner_name(name: &str) -> Option<&'static str> {
    let n = program_name(name);
    if let Some(exact) = MINER_NAMES.iter().copied().find(|m| n == *m) {
        return Some(exact);
    }
    MINER_NAMES.iter().copied().find(|m| {
        n.len() > m.len()
            && n.starts_with(m)
            && matches!(n.as_bytes().get(m.len()), Some(b'-' | b'_' | b'.'))
            && m.len() >= 5
    })
}

/// The trojan disguise `name` is, if any (whole name only).
pub fn trojan_name(name: &str) -> Option<&'static str> {
    let n = program_name(name);
    TROJAN_NAMES.iter().copied().find(|t| n == *t)
}

/// True when `name` looks like a kernel thread: `[anything]`, or a kernel thread family name
/// (`kworker/0:1`, `ksoftirqd/3`).
pub fn looks_like_kernel_thread(name: &str) -> bool {
    let t = name.trim();
    if t.len() >= 3 && t.starts_with('[') && t.ends_with(']') && !t.contains(' ') {
        return true;
    }
    let head = t
        .split(['/', ':'])
        .next()
        .unwrap_or(t)
        .trim_end_matches(|c: char| c.is_ascii_digit());
    KERNEL_THREAD_NAMES.contains(&head) && (t.contains('/') || head == t)
}

/// True for known heavy workloads (compared on the program name).
pub fn known_workload(name: &str) -> bool {
    let n = program_name(name);
    if KNOWN_WORKLOADS.contains(&n.as_str()) {
        return true;
    }
    // python3.11, java17...
    let stem = n.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    KNOWN_WORKLOADS.contains(&stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_match_respects_label_boundaries() {
        let d = &["pool.example.org", "zpool.ca"];
        assert_eq!(
            suffix_match("pool.example.org", d),
            Some("pool.example.org")
        );
        assert_eq!(
            suffix_match("xmr.POOL.example.org.", d),
            Some("pool.example.org")
        );
        assert_eq!(suffix_match("badpool.example.org", d), None);
        assert_eq!(suffix_match("zpool.cache", d), None);
    }

    #[test]
    fn miner_names_are_whole_words() {
        assert_eq!(miner_name("/tmp/xmrig"), Some("xmrig"));
        assert_eq!(miner_name("xmrig-6.21.0"), Some("xmrig"));
        assert_eq!(miner_name("cpuminer-opt"), Some("cpuminer-opt"));
        assert_eq!(miner_name("notxmrig"), None);
        assert_eq!(miner_name("gminerd"), None);
        assert_eq!(miner_name("t-rex"), Some("t-rex"));
        assert_eq!(miner_name("t-rexx"), None);
    }

    #[test]
    fn kernel_thread_shapes() {
        assert!(looks_like_kernel_thread("[kworker/0:1]"));
        assert!(looks_like_kernel_thread("kworker/u8:2"));
        assert!(looks_like_kernel_thread("[anything]"));
        assert!(!looks_like_kernel_thread("kworkerx"));
        assert!(!looks_like_kernel_thread("[a b]"));
        assert!(!looks_like_kernel_thread("bash"));
    }

    #[test]
    fn workloads() {
        assert!(known_workload("/usr/bin/python3.11"));
        assert!(known_workload("java"));
        assert!(!known_workload("xmrig"));
    }
}
