//! Bounded reads of `/proc/<pid>`: a process may exit between any two reads, its command line
//! and environment may be huge or binary, and every field may be a lie (argv is writable).

use crate::error::HostError;
use minetrace_core::io::read_head;
use std::path::{Path, PathBuf};

/// Read limits for one process.
#[derive(Debug, Clone)]
pub struct ProcLimits {
    pub cmdline_bytes: u64,
    pub environ_bytes: u64,
    pub maps_bytes: u64,
    pub max_args: usize,
    pub max_env_keys: usize,
    pub max_fds: usize,
}

impl Default for ProcLimits {
    fn default() -> Self {
        ProcLimits {
            cmdline_bytes: 64 * 1024,
            environ_bytes: 128 * 1024,
            maps_bytes: 2 * 1024 * 1024,
            max_args: 1024,
            max_env_keys: 512,
            max_fds: 4096,
        }
    }
}

/// Environment variables whose values are kept (pool settings and the SSH origin); every other
/// variable is recorded by name only.
pub const KEPT_ENV_VALUES: &[&str] = &[
    "POOL_URL",
    "POOL_USER",
    "POOL_PASS",
    "POOL",
    "WALLET",
    "MINING_POOL",
    "SSH_CONNECTION",
    "SSH_CLIENT",
    "SUDO_USER",
    "SUDO_UID",
    "LD_PRELOAD",
];

/// The fields of `/proc/<pid>/stat` the detectors use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stat {
    pub pid: u32,
    pub comm: String,
    pub state: char,
    pub ppid: u32,
    pub session: i32,
    pub tty_nr: i32,
    pub flags: u32,
    /// utime + stime in clock ticks.
    pub cpu_ticks: u64,
    pub num_threads: i64,
    /// Start time after boot in clock ticks: with the pid, identifies one process instance.
    pub starttime: u64,
    pub rss_pages: i64,
}

/// Set in `flags` for kernel threads (include/linux/sched.h).
pub const PF_KTHREAD: u32 = 0x0020_0000;

impl Stat {
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }
}

/// Parses `/proc/<pid>/stat`. The command name is in parentheses and may itself contain `)` and
/// spaces, so the fields after it are found from the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = text.get(..open)?.trim().parse().ok()?;
    let comm = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // rest[0] is field 3 (state).
    let field = |n: usize| rest.get(n - 3).copied();
    let num = |n: usize| field(n).and_then(|s| s.parse::<u64>().ok());
    let inum = |n: usize| field(n).and_then(|s| s.parse::<i64>().ok());
    Some(Stat {
        pid,
        comm,
        state: field(3)?.chars().next()?,
        ppid: num(4)? as u32,
        session: inum(6)? as i32,
        tty_nr: inum(7)? as i32,
        flags: num(9)? as u32,
        cpu_ticks: num(14)?.saturating_add(num(15)?),
        num_threads: inum(20).unwrap_or(0),
        starttime: num(22)?,
        rss_pages: inum(24).unwrap_or(0),
    })
}

/// Summary of `/proc/<pid>/maps`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapsSummary {
    pub regions: usize,
    /// Mapped files that were deleted after mapping (bounded list).
    pub deleted_files: Vec<String>,
    /// Regions backed by memfd.
    pub memfd: bool,
    /// Regions backed by hugetlbfs (`/anon_hugepage`): RandomX asks for these.
    pub huge_page_regions: usize,
    /// Readable and executable anonymous regions (JIT code, injected code).
    pub anon_exec_regions: usize,
    /// The maps text was longer than the limit.
    pub truncated: bool,
}

pub fn parse_maps(text: &str, truncated: bool) -> MapsSummary {
    let mut m = MapsSummary {
        truncated,
        ..Default::default()
    };
    for line in text.lines() {
        m.regions += 1;
        let mut parts = line.splitn(6, ' ');
        let _range = parts.next();
        let perms = parts.next().unwrap_or("");
        let path = parts.nth(3).unwrap_or("").trim_start();
        if path.starts_with("/memfd:") {
            m.memfd = true;
        }
        if path.starts_with("/anon_hugepage") {
            m.huge_page_regions += 1;
        } else if let Some(p) = path.strip_suffix(" (deleted)") {
            if m.deleted_files.len() < 16 && !m.deleted_files.iter().any(|d| d == p) {
                m.deleted_files.push(p.to_string());
            }
        }
        if path.is_empty() && perms.contains('x') {
            m.anon_exec_regions += 1;
        }
    }
    m
}

/// Splits a NUL-separated block (cmdline, environ) into strings, bounded.
pub fn split_nul(bytes: &[u8], max: usize) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .take(max)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Reads `/proc/<pid>/cmdline`, bounded. Returns the arguments and whether it was cut.
pub fn read_cmdline(
    proc_root: &Path,
    pid: u32,
    limits: &ProcLimits,
) -> Result<(Vec<String>, bool), HostError> {
    let path = proc_root.join(pid.to_string()).join("cmdline");
    let bytes = read_head(&path, limits.cmdline_bytes + 1)
        .map_err(|e| HostError::proc(pid, "cmdline", e))?;
    let truncated = bytes.len() as u64 > limits.cmdline_bytes;
    let end = bytes.len().min(limits.cmdline_bytes as usize);
    Ok((
        split_nul(bytes.get(..end).unwrap_or(&[]), limits.max_args),
        truncated,
    ))
}

/// Reads `/proc/<pid>/stat`.
pub fn read_stat(proc_root: &Path, pid: u32) -> Result<Stat, HostError> {
    let path = proc_root.join(pid.to_string()).join("stat");
    let bytes = read_head(&path, 4096).map_err(|e| HostError::proc(pid, "stat", e))?;
    let text = String::from_utf8_lossy(&bytes);
    parse_stat(&text).ok_or_else(|| HostError::Malformed {
        path: path.clone(),
        what: "stat fields".into(),
    })
}

/// Environment: every key, plus the values of [`KEPT_ENV_VALUES`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvSummary {
    pub keys: Vec<String>,
    pub kept: Vec<(String, String)>,
    pub truncated: bool,
}

pub fn parse_environ(bytes: &[u8], limits: &ProcLimits, truncated: bool) -> EnvSummary {
    let mut env = EnvSummary {
        truncated,
        ..Default::default()
    };
    for entry in bytes.split(|b| *b == 0).filter(|s| !s.is_empty()) {
        let entry = String::from_utf8_lossy(entry);
        let (key, value) = entry.split_once('=').unwrap_or((&entry, ""));
        if env.keys.len() < limits.max_env_keys {
            env.keys.push(key.chars().take(128).collect());
        }
        if KEPT_ENV_VALUES.contains(&key) && env.kept.len() < 16 {
            env.kept
                .push((key.to_string(), value.chars().take(512).collect()));
        }
    }
    env
}

/// One process as read from `/proc`, bounded.
#[derive(Debug, Clone, Default)]
pub struct ProcInfo {
    pub pid: u32,
    pub stat: Stat,
    /// Real uid (from the owner of `/proc/<pid>`, which is the effective uid, refined by status).
    pub uid: Option<u32>,
    pub cmdline: Vec<String>,
    pub cmdline_truncated: bool,
    pub env: Option<EnvSummary>,
    /// Target of `/proc/<pid>/exe` (None when unreadable: kernel threads, other users when not root).
    pub exe: Option<String>,
    pub maps: Option<MapsSummary>,
    pub cgroup: Option<String>,
    pub loginuid: Option<u32>,
    pub sessionid: Option<u32>,
    /// Socket inodes of open file descriptors (filled on demand).
    pub socket_inodes: Vec<u64>,
    /// Paths of open `/dev/nvidia*` devices (filled on demand).
    pub gpu_devices: Vec<String>,
    pub notes: Vec<String>,
}

impl ProcInfo {
    /// The process name: comm from stat.
    pub fn name(&self) -> &str {
        &self.stat.comm
    }
    pub fn exe_deleted(&self) -> bool {
        self.exe
            .as_deref()
            .is_some_and(|e| e.ends_with(" (deleted)"))
    }
    pub fn exe_memfd(&self) -> bool {
        self.exe
            .as_deref()
            .is_some_and(|e| e.starts_with("/memfd:"))
    }
    pub fn env_value(&self, key: &str) -> Option<&str> {
        self.env
            .as_ref()?
            .kept
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Unset audit login uid.
pub const LOGINUID_UNSET: u32 = u32::MAX;

fn read_u32_file(path: &Path) -> Option<u32> {
    let bytes = read_head(path, 64).ok()?;
    String::from_utf8_lossy(&bytes).trim().parse().ok()
}

/// Reads the parts of a process that do not change without an exec (environment, cgroup, login
/// ids, maps). `info.stat`, `info.cmdline` and `info.exe` are read by the caller every scan.
pub fn read_details(proc_root: &Path, info: &mut ProcInfo, limits: &ProcLimits) {
    let dir = proc_root.join(info.pid.to_string());
    match read_head(&dir.join("environ"), limits.environ_bytes + 1) {
        Ok(bytes) => {
            let truncated = bytes.len() as u64 > limits.environ_bytes;
            let end = bytes.len().min(limits.environ_bytes as usize);
            info.env = Some(parse_environ(
                bytes.get(..end).unwrap_or(&[]),
                limits,
                truncated,
            ));
        }
        Err(e) => note(info, format!("environ unreadable: {}", short_io(&e))),
    }
    match read_head(&dir.join("maps"), limits.maps_bytes + 1) {
        Ok(bytes) => {
            let truncated = bytes.len() as u64 > limits.maps_bytes;
            let end = bytes.len().min(limits.maps_bytes as usize);
            let text = String::from_utf8_lossy(bytes.get(..end).unwrap_or(&[]));
            info.maps = Some(parse_maps(&text, truncated));
        }
        Err(e) => note(info, format!("maps unreadable: {}", short_io(&e))),
    }
    if let Ok(bytes) = read_head(&dir.join("cgroup"), 8192) {
        let text = String::from_utf8_lossy(&bytes);
        info.cgroup = pick_cgroup(&text);
    }
    info.loginuid = read_u32_file(&dir.join("loginuid"));
    info.sessionid = read_u32_file(&dir.join("sessionid"));
    if let Ok(bytes) = read_head(&dir.join("status"), 16 * 1024) {
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("Uid:") {
                if let Some(real) = rest.split_whitespace().next().and_then(|s| s.parse().ok()) {
                    info.uid = Some(real);
                }
            }
        }
    }
}

/// The most telling cgroup path: the unified (v2) one, else the first named controller's.
pub fn pick_cgroup(text: &str) -> Option<String> {
    let mut first = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_id), Some(ctrl), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if ctrl.is_empty() {
            return Some(path.to_string());
        }
        if first.is_none()
            && (ctrl.contains("pids") || ctrl.contains("cpu") || ctrl.contains("name=systemd"))
        {
            first = Some(path.to_string());
        }
    }
    first
}

fn note(info: &mut ProcInfo, n: String) {
    if info.notes.len() < 8 {
        info.notes.push(n);
    }
}

fn short_io(e: &minetrace_core::io::ReadError) -> String {
    match e {
        minetrace_core::io::ReadError::Io { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

/// Reads the file-descriptor table: socket inodes and `/dev/nvidia*` devices.
pub fn read_fds(
    proc_root: &Path,
    pid: u32,
    limits: &ProcLimits,
) -> Result<(Vec<u64>, Vec<String>), HostError> {
    let dir = proc_root.join(pid.to_string()).join("fd");
    let entries = std::fs::read_dir(&dir).map_err(|source| HostError::Io {
        path: dir.clone(),
        source,
    })?;
    let mut sockets = Vec::new();
    let mut gpus = Vec::new();
    for entry in entries.take(limits.max_fds).flatten() {
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let t = target.to_string_lossy();
        if let Some(inode) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
            if let Ok(i) = inode.parse() {
                sockets.push(i);
            }
        } else if t.starts_with("/dev/nvidia") && gpus.len() < 16 && !gpus.iter().any(|g| g == &*t)
        {
            gpus.push(t.into_owned());
        }
    }
    Ok((sockets, gpus))
}

/// The numeric entries of `/proc` (process ids), bounded.
pub fn list_pids(proc_root: &Path, max: usize) -> Result<Vec<u32>, HostError> {
    let entries = std::fs::read_dir(proc_root).map_err(|source| HostError::Io {
        path: proc_root.to_path_buf(),
        source,
    })?;
    let mut pids: Vec<u32> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
        .take(max)
        .collect();
    pids.sort_unstable();
    Ok(pids)
}

/// Reads `/proc/<pid>/exe`.
pub fn read_exe(proc_root: &Path, pid: u32) -> Option<String> {
    std::fs::read_link(proc_root.join(pid.to_string()).join("exe"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Path of `/proc/<pid>/<name>`.
pub fn proc_path(proc_root: &Path, pid: u32, name: &str) -> PathBuf {
    proc_root.join(pid.to_string()).join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_parentheses_in_the_name() {
        let s = "1234 (we(ird) name)) S 1 1234 1234 0 -1 4194560 10 0 0 0 7 3 0 0 20 0 1 0 5555 1000 100 18446744073709551615";
        let st = parse_stat(s).unwrap();
        assert_eq!(st.pid, 1234);
        assert_eq!(st.comm, "we(ird) name)");
        assert_eq!(st.ppid, 1);
        assert_eq!(st.cpu_ticks, 10);
        assert_eq!(st.starttime, 5555);
        assert!(!st.is_kernel_thread());
    }

    #[test]
    fn garbage_stat_is_none() {
        assert!(parse_stat("").is_none());
        assert!(parse_stat(")(").is_none());
        assert!(parse_stat("12 (x) S").is_none());
    }

    #[test]
    fn maps_summary() {
        let text = "00400000-00452000 r-xp 00000000 08:02 173521 /tmp/x (deleted)\n\
                    7f00-7f01 rw-p 00000000 00:0f 12 /anon_hugepage (deleted)\n\
                    7f02-7f03 r-xp 00000000 00:00 0 \n\
                    7f04-7f05 r-xp 00000000 00:01 9 /memfd:a (deleted)\n";
        let m = parse_maps(text, false);
        assert_eq!(m.regions, 4);
        assert_eq!(
            m.deleted_files,
            vec!["/tmp/x".to_string(), "/memfd:a".to_string()]
        );
        assert_eq!(m.huge_page_regions, 1);
        assert_eq!(m.anon_exec_regions, 1);
        assert!(m.memfd);
    }

    #[test]
    fn environ_keeps_only_listed_values() {
        let env = parse_environ(
            b"HOME=/root\0POOL_URL=stratum+tcp://p:1\0SECRET=x\0",
            &ProcLimits::default(),
            false,
        );
        assert_eq!(env.keys, vec!["HOME", "POOL_URL", "SECRET"]);
        assert_eq!(
            env.kept,
            vec![("POOL_URL".to_string(), "stratum+tcp://p:1".to_string())]
        );
    }

    #[test]
    fn cgroup_prefers_unified() {
        let t = "12:pids:/system.slice/a.service\n0::/system.slice/docker-abc.scope\n";
        assert_eq!(
            pick_cgroup(t).as_deref(),
            Some("/system.slice/docker-abc.scope")
        );
    }
}
