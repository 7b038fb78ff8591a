//! Attribution: accounts (`<root>/etc/passwd`), login records (utmp/wtmp binary records),
//! `Accepted ... from` and sudo lines of the auth logs, and cgroup paths turned into a container,
//! pod or systemd unit.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// One account from passwd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub home: String,
    pub shell: String,
}

impl Account {
    /// An account a person logs into (a real shell, not a service account).
    pub fn is_interactive(&self) -> bool {
        !(self.shell.ends_with("nologin")
            || self.shell.ends_with("/false")
            || self.shell.is_empty()
            || self.shell.ends_with("/sync"))
    }
}

/// Accounts by uid.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    pub by_uid: HashMap<u32, Account>,
}

impl Accounts {
    pub fn parse(text: &str) -> Accounts {
        let mut by_uid = HashMap::new();
        for line in text.lines().take(100_000) {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 || line.starts_with('#') {
                continue;
            }
            let Ok(uid) = f[2].parse::<u32>() else {
                continue;
            };
            by_uid.entry(uid).or_insert_with(|| Account {
                name: f[0].to_string(),
                uid,
                home: f[5].to_string(),
                shell: f[6].to_string(),
            });
        }
        Accounts { by_uid }
    }

    pub fn load(root: &Path) -> Accounts {
        minetrace_core::io::read_head(&root.join("etc/passwd"), 8 * 1024 * 1024)
            .map(|b| Accounts::parse(&String::from_utf8_lossy(&b)))
            .unwrap_or_default()
    }

    pub fn name(&self, uid: u32) -> Option<&str> {
        self.by_uid.get(&uid).map(|a| a.name.as_str())
    }
}

/// One utmp/wtmp record (glibc x86-64/aarch64 layout, 384 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtmpRecord {
    pub kind: i32,
    pub pid: i32,
    pub line: String,
    pub user: String,
    pub host: String,
    pub session: i32,
    pub time_sec: i64,
    pub addr: Option<IpAddr>,
}

pub const UTMP_RECORD_SIZE: usize = 384;
pub const USER_PROCESS: i32 = 7;
pub const DEAD_PROCESS: i32 = 8;
pub const BOOT_TIME: i32 = 2;

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or(&[])).into_owned()
}

fn le_i32(b: &[u8], at: usize) -> i32 {
    b.get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map(i32::from_le_bytes)
        .unwrap_or(0)
}

/// Parses one record; `None` when `rec` is not a whole record.
pub fn parse_utmp_record(rec: &[u8]) -> Option<UtmpRecord> {
    if rec.len() != UTMP_RECORD_SIZE {
        return None;
    }
    let addr_bytes = rec.get(348..364)?;
    let addr = if addr_bytes.iter().all(|b| *b == 0) {
        None
    } else if addr_bytes
        .get(4..)
        .is_some_and(|r| r.iter().all(|b| *b == 0))
    {
        Some(IpAddr::V4(Ipv4Addr::new(
            addr_bytes[0],
            addr_bytes[1],
            addr_bytes[2],
            addr_bytes[3],
        )))
    } else {
        let mut a = [0u8; 16];
        a.copy_from_slice(addr_bytes);
        Some(IpAddr::V6(Ipv6Addr::from(a)))
    };
    Some(UtmpRecord {
        kind: le_i32(rec, 0),
        pid: le_i32(rec, 4),
        line: cstr(rec.get(8..40)?),
        user: cstr(rec.get(44..76)?),
        host: cstr(rec.get(76..332)?),
        session: le_i32(rec, 336),
        time_sec: i64::from(le_i32(rec, 340)),
        addr,
    })
}

/// Encodes a record (tests and fixtures build wtmp files with it).
pub fn encode_utmp_record(r: &UtmpRecord) -> Vec<u8> {
    let mut b = vec![0u8; UTMP_RECORD_SIZE];
    b[0..4].copy_from_slice(&r.kind.to_le_bytes());
    b[4..8].copy_from_slice(&r.pid.to_le_bytes());
    let put = |b: &mut [u8], at: usize, len: usize, s: &str| {
        let bytes = s.as_bytes();
        let n = bytes.len().min(len - 1);
        b[at..at + n].copy_from_slice(&bytes[..n]);
    };
    put(&mut b, 8, 32, &r.line);
    put(&mut b, 44, 32, &r.user);
    put(&mut b, 76, 256, &r.host);
    b[336..340].copy_from_slice(&r.session.to_le_bytes());
    b[340..344].copy_from_slice(&(r.time_sec as i32).to_le_bytes());
    if let Some(IpAddr::V4(v4)) = r.addr {
        b[348..352].copy_from_slice(&v4.octets());
    } else if let Some(IpAddr::V6(v6)) = r.addr {
        b[348..364].copy_from_slice(&v6.octets());
    }
    b
}

/// What a wtmp/utmp file holds, and whether its structure is sane.
#[derive(Debug, Clone, Default)]
pub struct UtmpFile {
    pub records: Vec<UtmpRecord>,
    /// Bytes after the last whole record (a cut file).
    pub trailing_bytes: usize,
    /// All-zero records in the middle (wiped entries).
    pub zeroed_records: usize,
    /// Records whose time is more than 5 minutes before the previous record's.
    pub backwards_steps: usize,
}

/// Parses a wtmp/utmp image, keeping at most `max_records` records (the most recent ones).
pub fn parse_utmp(bytes: &[u8], max_records: usize) -> UtmpFile {
    let mut f = UtmpFile {
        trailing_bytes: bytes.len() % UTMP_RECORD_SIZE,
        ..Default::default()
    };
    let mut prev_time = i64::MIN;
    for chunk in bytes.chunks_exact(UTMP_RECORD_SIZE) {
        if chunk.iter().all(|b| *b == 0) {
            f.zeroed_records += 1;
            continue;
        }
        let Some(r) = parse_utmp_record(chunk) else {
            continue;
        };
        if r.time_sec > 0 {
            if prev_time != i64::MIN && r.time_sec + 300 < prev_time {
                f.backwards_steps += 1;
            }
            prev_time = r.time_sec;
        }
        if f.records.len() >= max_records {
            f.records.remove(0);
        }
        f.records.push(r);
    }
    f
}

/// Facts from auth.log / secure.
#[derive(Debug, Clone, Default)]
pub struct AuthFacts {
    /// (user, source address, line) of `Accepted ... for USER from ADDR` lines, in file order.
    pub accepted: Vec<(String, String, String)>,
    /// (invoking user, command, line) of sudo COMMAND lines.
    pub sudo: Vec<(String, String, String)>,
}

const MAX_AUTH_FACTS: usize = 4096;

/// Extracts sshd logins and sudo commands from auth log text.
pub fn parse_auth_log(text: &str, facts: &mut AuthFacts) {
    for line in text.lines() {
        if let Some(pos) = line.find("Accepted ") {
            let words: Vec<&str> = line[pos..].split_whitespace().collect();
            // Accepted <method> for <user> from <addr> port <n> ...
            if let (Some(i_for), Some(i_from)) = (
                words.iter().position(|w| *w == "for"),
                words.iter().position(|w| *w == "from"),
            ) {
                if let (Some(user), Some(addr)) = (words.get(i_for + 1), words.get(i_from + 1)) {
                    if addr.parse::<IpAddr>().is_ok() && facts.accepted.len() < MAX_AUTH_FACTS {
                        facts
                            .accepted
                            .push((user.to_string(), addr.to_string(), clip(line)));
                    }
                }
            }
        } else if let Some(pos) = line.find(" sudo:") {
            let rest = &line[pos + 6..];
            let user = rest.split(':').next().unwrap_or("").trim();
            if let Some(cmd) = rest.split("COMMAND=").nth(1) {
                if !user.is_empty() && facts.sudo.len() < MAX_AUTH_FACTS {
                    facts
                        .sudo
                        .push((user.to_string(), cmd.trim().to_string(), clip(line)));
                }
            }
        }
    }
}

fn clip(s: &str) -> String {
    s.chars().take(400).collect()
}

/// What a cgroup path says about where a process runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupPlace {
    pub container: Option<String>,
    pub pod: Option<String>,
    pub unit: Option<String>,
    pub login_session: Option<String>,
}

/// Interprets a cgroup path (`/system.slice/docker-<id>.scope`, kubepods, `session-3.scope`...).
pub fn interpret_cgroup(path: &str) -> CgroupPlace {
    let mut p = CgroupPlace::default();
    for part in path.split('/') {
        let is_hex_id =
            |s: &str| s.len() >= 32 && s.len() <= 128 && s.chars().all(|c| c.is_ascii_hexdigit());
        let stem = part.strip_suffix(".scope").unwrap_or(part);
        for prefix in [
            "docker-",
            "cri-containerd-",
            "crio-",
            "libpod-",
            "containerd-",
        ] {
            if let Some(id) = stem.strip_prefix(prefix) {
                if is_hex_id(id) {
                    p.container = Some(id.chars().take(64).collect());
                }
            }
        }
        if is_hex_id(part)
            && p.container.is_none()
            && path.contains("docker") | path.contains("kubepods")
        {
            p.container = Some(part.chars().take(64).collect());
        }
        if let Some(pos) = part.find("-pod") {
            if part.starts_with("kubepods") {
                let id = part[pos + 4..].trim_end_matches(".slice").replace('_', "-");
                p.pod = Some(id);
            }
        } else if part.starts_with("pod") && path.contains("kubepods") {
            p.pod = Some(part[3..].to_string());
        }
        if part.ends_with(".service") {
            p.unit = Some(part.to_string());
        }
        if part.starts_with("session-") && part.ends_with(".scope") {
            p.login_session = Some(part.trim_end_matches(".scope").to_string());
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd() {
        let a = Accounts::parse("root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\nbad line\n");
        assert_eq!(a.name(0), Some("root"));
        assert!(!a.by_uid[&33].is_interactive());
    }

    #[test]
    fn utmp_round_trip_and_sanity() {
        let r = UtmpRecord {
            kind: USER_PROCESS,
            pid: 42,
            line: "pts/0".into(),
            user: "alice".into(),
            host: "203.0.113.7".into(),
            session: 3,
            time_sec: 1_700_000_000,
            addr: Some("203.0.113.7".parse().unwrap()),
        };
        let mut img = encode_utmp_record(&r);
        img.extend(vec![0u8; UTMP_RECORD_SIZE]);
        let mut older = r.clone();
        older.time_sec -= 86_400;
        img.extend(encode_utmp_record(&older));
        img.extend([1, 2, 3]);
        let f = parse_utmp(&img, 100);
        assert_eq!(f.records[0], r);
        assert_eq!(f.zeroed_records, 1);
        assert_eq!(f.backwards_steps, 1);
        assert_eq!(f.trailing_bytes, 3);
        assert!(parse_utmp_record(&[0u8; 10]).is_none());
    }

    #[test]
    fn auth_log_lines() {
        let mut f = AuthFacts::default();
        parse_auth_log(
            "Jan  2 03:04:05 h sshd[1]: Accepted publickey for alice from 198.51.100.4 port 5000 ssh2: ED25519\n\
             Jan  2 03:05:00 h sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/tmp/xmrig -o x\n\
             Jan  2 03:05:00 h sshd[1]: Accepted password for bob from not-an-ip port 1\n",
            &mut f,
        );
        assert_eq!(f.accepted.len(), 1);
        assert_eq!(f.accepted[0].1, "198.51.100.4");
        assert_eq!(f.sudo[0].0, "alice");
        assert_eq!(f.sudo[0].1, "/tmp/xmrig -o x");
    }

    #[test]
    fn cgroups() {
        let id = "a".repeat(64);
        let p = interpret_cgroup(&format!("/system.slice/docker-{id}.scope"));
        assert_eq!(p.container.as_deref(), Some(id.as_str()));
        let p = interpret_cgroup(&format!("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234_5678.slice/cri-containerd-{id}.scope"));
        assert_eq!(p.pod.as_deref(), Some("1234-5678"));
        assert!(p.container.is_some());
        let p = interpret_cgroup("/user.slice/user-1000.slice/session-3.scope");
        assert_eq!(p.login_session.as_deref(), Some("session-3"));
        let p = interpret_cgroup("/system.slice/cron.service");
        assert_eq!(p.unit.as_deref(), Some("cron.service"));
    }
}
