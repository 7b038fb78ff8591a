//! The scan: walks `/proc`, runs every process detector, the socket, CPU, GPU and hidden-PID
//! checks and the file-tree checks, attributes each process to an account, a login and a
//! container, and proposes a class. A [`Scanner`] keeps caches between scans (executable hashes
//! and rule matches by file identity, per-process details by start time, CPU samples) so a
//! steady-state rescan re-reads little more than `stat`, `cmdline` and the `exe` link.

use crate::attribution::{
    interpret_cgroup, parse_auth_log, parse_utmp, Accounts, AuthFacts, UtmpRecord, USER_PROCESS,
};
use crate::cmdline::{analyze_argv, find_pool_url, CmdlineAnalysis};
use crate::cpu::{cpu_percent, read_tuning, ticks_per_second};
use crate::files::{check_files, immutable_flags, FileCheckConfig, FileReport};
use crate::hashcache::{hash_and_head, ExeCache, ExeFacts, FileKey};
use crate::indicators::{
    known_workload, looks_like_kernel_thread, miner_name, program_name, trojan_name, PoolIntel,
    LOGIN_PARENTS, SERVICE_PARENTS,
};
use crate::procfs::{self, ProcInfo, ProcLimits, LOGINUID_UNSET};
use crate::respond::{respond, save_snapshot, Response};
use crate::sockets::{read_tables, TcpSocket};
use crate::yara::Rules;
use minetrace_core::{Confidence, Finding, FindingKind, ProcessEvidence, Timestamp};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Settings of a scan.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Where processes are read (the real `/proc`).
    pub proc_root: PathBuf,
    /// Root of the file tree for cron, systemd, logs, passwd... (`--root`).
    pub root: PathBuf,
    /// Where `/sys` is (msr module parameters).
    pub sys_root: PathBuf,
    pub builtin_rules: bool,
    pub rule_dirs: Vec<PathBuf>,
    /// Window between the two CPU samples of a one-shot scan (0: no CPU check unless a
    /// previous scan left samples).
    pub cpu_window: Duration,
    /// CPU share (percent of one core) above which an unknown program is reported.
    pub cpu_threshold: f64,
    /// Largest executable scanned with the rules (the hash covers files up to `max_hash_bytes`).
    pub max_rule_scan_bytes: usize,
    pub max_hash_bytes: u64,
    /// Walk /proc (off for inspecting a mounted disk image with `root` only).
    pub process_checks: bool,
    pub file_checks: bool,
    pub hidden_pid_probe: bool,
    pub gpu: bool,
    pub nvml_library: String,
    pub log_gap_secs: i64,
    pub limits: ProcLimits,
    pub max_processes: usize,
    pub host_name: Option<String>,
    pub evidence_dir: Option<PathBuf>,
    pub copy_exe: bool,
    pub respond: Option<Response>,
    /// When set, responses act only on these pids (an inspector naming the processes).
    pub respond_only: Option<Vec<u32>>,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            proc_root: PathBuf::from("/proc"),
            root: PathBuf::from("/"),
            sys_root: PathBuf::from("/sys"),
            builtin_rules: true,
            rule_dirs: Vec::new(),
            cpu_window: Duration::from_millis(1000),
            cpu_threshold: 90.0,
            max_rule_scan_bytes: 64 * 1024 * 1024,
            max_hash_bytes: 1024 * 1024 * 1024,
            process_checks: true,
            file_checks: true,
            hidden_pid_probe: true,
            gpu: true,
            nvml_library: "libnvidia-ml.so.1".into(),
            log_gap_secs: 12 * 3600,
            limits: ProcLimits::default(),
            max_processes: 1_000_000,
            host_name: None,
            evidence_dir: None,
            copy_exe: true,
            respond: None,
            respond_only: None,
        }
    }
}

/// Counters of one scan.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ScanStats {
    pub processes: usize,
    pub vanished: usize,
    pub executables_read: usize,
    pub executable_cache_hits: u64,
    pub details_read: usize,
    pub elapsed_ms: f64,
}

/// The result of a scan.
#[derive(Debug, Default)]
pub struct ScanReport {
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
    pub stats: ScanStats,
}

impl ScanReport {
    fn note(&mut self, n: impl Into<String>) {
        if self.notes.len() < 256 {
            self.notes.push(n.into());
        }
    }
}

/// Per-process state kept between scans.
#[derive(Debug, Clone)]
struct Cached {
    info: ProcInfo,
    exe_key: Option<FileKey>,
    cpu_sample: Option<(u64, Instant)>,
    cpu_percent: Option<f64>,
    high_cpu_scans: u32,
}

/// One signal a detector raised for a process.
#[derive(Debug, Clone)]
struct Signal {
    detector: &'static str,
    confidence: Confidence,
    reasons: Vec<String>,
}

/// Runs scans; keeps caches between them.
pub struct Scanner {
    cfg: ScanConfig,
    intel: Box<dyn PoolIntel>,
    rules: Rules,
    exe_cache: ExeCache,
    procs: HashMap<u32, Cached>,
    first_seen: HashMap<String, Timestamp>,
    self_pid: u32,
    self_exe: Option<FileKey>,
    /// Pool-port socket inodes already searched for an owner, and the owners found.
    swept_inodes: HashSet<u64>,
    inode_owner: HashMap<u64, u32>,
    ticks: u64,
    power: crate::power::PowerMeter,
    /// RAPL and busy-CPU figures between the last two samples.
    power_window: Option<crate::power::PowerWindow>,
    /// GPU watts (NVML) attributed to each pid in the last full scan.
    gpu_watts: HashMap<u32, f64>,
    /// Notes from setup (rule files skipped...), reported with every scan.
    pub setup_notes: Vec<String>,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("cfg", &self.cfg)
            .field("processes", &self.procs.len())
            .finish()
    }
}

/// A process with its signals, ready to become findings.
struct Flagged<'a> {
    cached: &'a Cached,
    signals: Vec<Signal>,
    analysis: CmdlineAnalysis,
    exe_facts: Option<ExeFacts>,
    sockets: Vec<TcpSocket>,
}

impl Scanner {
    /// A scanner with the shared built-in indicator set.
    pub fn new(cfg: ScanConfig) -> Scanner {
        Scanner::with_intel(cfg, Box::new(crate::indicators::IntelPools::builtin()))
    }

    pub fn with_intel(cfg: ScanConfig, intel: Box<dyn PoolIntel>) -> Scanner {
        let (rules, setup_notes) = Rules::load(cfg.builtin_rules, &cfg.rule_dirs);
        let self_exe = std::env::current_exe()
            .ok()
            .and_then(|p| FileKey::of(&p).ok());
        let (cfg_sys_root, cfg_proc_root) = (cfg.sys_root.clone(), cfg.proc_root.clone());
        Scanner {
            cfg,
            intel,
            rules,
            exe_cache: ExeCache::default(),
            procs: HashMap::new(),
            first_seen: HashMap::new(),
            self_pid: std::process::id(),
            swept_inodes: HashSet::new(),
            inode_owner: HashMap::new(),
            self_exe,
            ticks: ticks_per_second(),
            power: crate::power::PowerMeter::new(&cfg_sys_root, &cfg_proc_root, ticks_per_second()),
            power_window: None,
            gpu_watts: HashMap::new(),
            setup_notes,
        }
    }

    pub fn config(&self) -> &ScanConfig {
        &self.cfg
    }

    /// Number of rule files compiled.
    pub fn rule_files(&self) -> usize {
        self.rules.files
    }

    /// The pids currently listed in `/proc` (cheap: one directory read).
    pub fn list_pids(&self) -> Vec<u32> {
        procfs::list_pids(&self.cfg.proc_root, self.cfg.max_processes).unwrap_or_default()
    }

    /// Pids of the last scan.
    pub fn known_pids(&self) -> HashSet<u32> {
        self.procs.keys().copied().collect()
    }

    /// Scans every process and (when configured) the file tree.
    pub fn scan(&mut self) -> ScanReport {
        self.scan_inner(None, self.cfg.file_checks, self.cfg.hidden_pid_probe)
    }

    /// Scans only `pids` (new processes between two full scans): no file checks, no probe.
    pub fn scan_pids(&mut self, pids: &[u32]) -> ScanReport {
        self.scan_inner(Some(pids), false, false)
    }

    /// Scans with explicit choices of the expensive host-wide checks.
    pub fn scan_with(&mut self, file_checks: bool, hidden_pid_probe: bool) -> ScanReport {
        self.scan_inner(None, file_checks, hidden_pid_probe)
    }

    fn scan_inner(&mut self, only: Option<&[u32]>, file_checks: bool, probe: bool) -> ScanReport {
        let started = Instant::now();
        let now = Timestamp::now();
        let mut report = ScanReport::default();
        for n in &self.setup_notes {
            report.note(n.clone());
        }
        if !rustix::process::geteuid().is_root() && self.cfg.process_checks {
            report.note("not running as root: other users' executables, environments, maps and sockets are hidden; run as root for the full view");
        }
        let proc_root = self.cfg.proc_root.clone();
        let listed = match only {
            _ if !self.cfg.process_checks => Vec::new(),
            Some(p) => p.to_vec(),
            None => match procfs::list_pids(&proc_root, self.cfg.max_processes) {
                Ok(p) => p,
                Err(e) => {
                    report.note(format!("cannot list processes: {e}"));
                    Vec::new()
                }
            },
        };

        // 1. Walk /proc.
        let mut present = HashSet::with_capacity(listed.len());
        for &pid in &listed {
            match self.refresh(pid, &mut report) {
                Ok(()) => {
                    present.insert(pid);
                }
                Err(e) if e.is_vanished() => report.stats.vanished += 1,
                Err(e) => report.note(format!("process {pid} skipped: {e}")),
            }
        }
        if only.is_none() {
            self.procs.retain(|pid, _| present.contains(pid));
        }
        report.stats.processes = present.len();

        // 2. CPU over a window when no previous sample exists.
        let needs_window = present
            .iter()
            .any(|p| self.procs.get(p).is_some_and(|c| c.cpu_percent.is_none()));
        if needs_window && !self.cfg.cpu_window.is_zero() {
            // The power window spans the CPU window (or, for the agent, the time since the last
            // scan), so RAPL energy and CPU shares cover the same interval.
            self.power.sample();
            std::thread::sleep(self.cfg.cpu_window);
            for pid in &present {
                self.sample_cpu(*pid);
            }
        }

        if only.is_none() {
            self.power_window = self.power.sample();
        }
        for pid in &present {
            let threshold = self.cfg.cpu_threshold;
            if let Some(c) = self.procs.get_mut(pid) {
                if c.cpu_percent.is_some_and(|p| p >= threshold) {
                    c.high_cpu_scans = c.high_cpu_scans.saturating_add(1);
                } else if c.cpu_percent.is_some() {
                    c.high_cpu_scans = 0;
                }
            }
        }

        // 3. Signals per process.
        let gpu_node = Path::new("/dev/nvidia0").exists() || Path::new("/dev/nvidiactl").exists();
        let mut signals: HashMap<u32, (Vec<Signal>, CmdlineAnalysis, Option<ExeFacts>)> =
            HashMap::new();
        let mut pids: Vec<u32> = present.iter().copied().collect();
        pids.sort_unstable();
        for pid in &pids {
            if *pid == self.self_pid {
                continue;
            }
            let exe_facts = self.exe_facts(*pid, &mut report);
            let Some(c) = self.procs.get(pid) else {
                continue;
            };
            let (sigs, analysis) = self.process_signals(c, exe_facts.as_ref());
            if !sigs.is_empty()
                || !analysis.pool_urls.is_empty()
                || !analysis.pool_hosts.is_empty()
                || gpu_node
            {
                signals.insert(*pid, (sigs, analysis, exe_facts));
            }
        }

        // 4. Sockets.
        let mut tables_note = Vec::new();
        // A scan of new processes only reads the socket table when one names a pool.
        let needs_table = only.is_none()
            || signals.values().any(|(_, a, _)| {
                !a.pool_urls.is_empty()
                    || !a.pool_hosts.is_empty()
                    || !a.pool_port_targets.is_empty()
            });
        let table = if needs_table {
            read_tables(&proc_root.join("net"), &mut tables_note)
        } else {
            HashMap::new()
        };
        for n in tables_note {
            report.note(n);
        }
        let mut owned_sockets: HashMap<u32, Vec<TcpSocket>> = HashMap::new();
        let interesting: HashSet<u64> = table
            .values()
            .filter(|s| s.is_connected() && self.intel.is_pool_port(s.remote.port()))
            .map(|s| s.inode)
            .collect();
        let url_pids: Vec<u32> = signals
            .iter()
            .filter(|(_, (_, a, _))| {
                !a.pool_urls.is_empty()
                    || !a.pool_hosts.is_empty()
                    || !a.pool_port_targets.is_empty()
            })
            .map(|(p, _)| *p)
            .collect();
        // Sweeping every process's fds is the expensive part: done only for pool-port sockets
        // not seen before (owners of earlier ones are remembered), and on GPU nodes.
        let new_interesting: HashSet<u64> = interesting
            .iter()
            .filter(|i| !self.swept_inodes.contains(*i))
            .copied()
            .collect();
        let mut fd_pids: Vec<u32> = url_pids.clone();
        if !new_interesting.is_empty() || gpu_node {
            fd_pids = pids.clone();
        }
        let mut found_inodes = HashSet::new();
        for pid in fd_pids {
            if pid == self.self_pid {
                continue;
            }
            let Ok((inodes, gpus)) = procfs::read_fds(&proc_root, pid, &self.cfg.limits) else {
                continue;
            };
            let mut own = Vec::new();
            for ino in &inodes {
                if let Some(s) = table.get(ino) {
                    own.push(s.clone());
                    found_inodes.insert(*ino);
                }
            }
            if own.is_empty() && url_pids.contains(&pid) && !inodes.is_empty() {
                // The process may live in another network namespace: read its own tables.
                let mut n = Vec::new();
                let own_table = read_tables(&procfs::proc_path(&proc_root, pid, "net"), &mut n);
                own.extend(inodes.iter().filter_map(|i| own_table.get(i).cloned()));
            }
            if let Some(c) = self.procs.get_mut(&pid) {
                c.info.socket_inodes = inodes;
                c.info.gpu_devices = gpus;
            }
            if !own.is_empty() {
                owned_sockets.insert(pid, own);
            }
            if !gpu_node
                && !new_interesting.is_empty()
                && new_interesting.is_subset(&found_inodes)
                && url_pids
                    .iter()
                    .all(|p| owned_sockets.contains_key(p) || *p < pid)
            {
                break;
            }
        }
        for (pid, socks) in &owned_sockets {
            for s in socks {
                if interesting.contains(&s.inode) {
                    self.inode_owner.insert(s.inode, *pid);
                }
            }
        }
        self.inode_owner
            .retain(|ino, pid| interesting.contains(ino) && present.contains(pid));
        for (ino, pid) in &self.inode_owner {
            let Some(sock) = table.get(ino) else { continue };
            let entry = owned_sockets.entry(*pid).or_default();
            if !entry.iter().any(|s| s.inode == *ino) {
                entry.push(sock.clone());
            }
        }
        self.swept_inodes = interesting.clone();
        for (pid, socks) in &owned_sockets {
            let Some(c) = self.procs.get(pid) else {
                continue;
            };
            let entry = signals.entry(*pid).or_insert_with(|| {
                (
                    Vec::new(),
                    analyze_argv(&c.info.cmdline, self.intel.as_ref()),
                    None,
                )
            });
            if let Some(sig) = socket_signal(socks, &entry.1, self.intel.as_ref()) {
                entry.0.push(sig);
            }
        }

        // 5. GPU.
        let mut gpu_extra = serde_json::Map::new();
        if self.cfg.gpu && only.is_none() && self.cfg.process_checks {
            let t = crate::gpu::read_telemetry(&self.cfg.nvml_library);
            if let Some(why) = &t.unavailable {
                report.note(why.clone());
            }
            let mut gpu_pids: HashMap<u32, Vec<String>> = HashMap::new();
            self.gpu_watts.clear();
            for d in &t.devices {
                // Device power split by SM utilisation when NVML gives it, else evenly.
                if let Some(w) = d.power_watts {
                    let util_total: u32 = d.process_utilization.iter().map(|(_, u)| *u).sum();
                    if util_total > 0 {
                        for (pid, u) in &d.process_utilization {
                            *self.gpu_watts.entry(*pid).or_default() +=
                                w * f64::from(*u) / f64::from(util_total);
                        }
                    } else if !d.processes.is_empty() {
                        for (pid, _) in &d.processes {
                            *self.gpu_watts.entry(*pid).or_default() +=
                                w / d.processes.len() as f64;
                        }
                    }
                }
                for (pid, mem) in &d.processes {
                    gpu_pids.entry(*pid).or_default().push(format!(
                        "GPU {} ({}) compute process{}",
                        d.index,
                        d.name,
                        mem.map(|m| format!(", {} MiB", m / (1024 * 1024)))
                            .unwrap_or_default()
                    ));
                }
                for (pid, util) in &d.process_utilization {
                    gpu_pids
                        .entry(*pid)
                        .or_default()
                        .push(format!("GPU {} SM utilisation {util}%", d.index));
                }
            }
            if !t.devices.is_empty() {
                gpu_extra.insert(
                    "gpus".into(),
                    t.devices
                        .iter()
                        .map(|d| serde_json::json!({"index": d.index, "name": d.name, "power_watts": d.power_watts, "utilization_percent": d.utilization_percent, "memory_used_bytes": d.memory_used_bytes, "processes": d.processes.len()}))
                        .collect::<Vec<_>>()
                        .into(),
                );
            }
            for pid in &pids {
                let Some(c) = self.procs.get(pid) else {
                    continue;
                };
                let mut why = gpu_pids.remove(pid).unwrap_or_default();
                if !c.info.gpu_devices.is_empty() {
                    why.push(format!("holds {}", c.info.gpu_devices.join(", ")));
                }
                if why.is_empty() || *pid == self.self_pid {
                    continue;
                }
                let Some(entry) = signals.get_mut(pid) else {
                    continue;
                };
                let mining = entry
                    .0
                    .iter()
                    .any(|s| s.detector == "host-miner-process" || s.detector == "host-yara");
                let known = known_workload(c.info.name())
                    || c.info.cmdline.first().is_some_and(|a| known_workload(a));
                let conf = if mining {
                    Confidence::High
                } else if known {
                    Confidence::Low
                } else {
                    Confidence::Medium
                };
                why.insert(
                    0,
                    if known {
                        "GPU use by a known workload".into()
                    } else {
                        "GPU use by a program that is not a known workload".into()
                    },
                );
                entry.0.push(Signal {
                    detector: "host-gpu",
                    confidence: conf,
                    reasons: why,
                });
            }
        }

        // 6. Findings per process (evidence first).
        // Logs are read only when there is someone to attribute (auth logs can be large).
        let anyone = signals
            .values()
            .any(|(s, _, _)| s.iter().any(|x| x.confidence >= Confidence::Medium));
        let (auth, utmp, accounts) = if anyone {
            (
                load_auth(&self.cfg.root),
                load_utmp(&self.cfg.root),
                Accounts::load(&self.cfg.root),
            )
        } else {
            (AuthFacts::default(), Vec::new(), Accounts::default())
        };
        let boot_time = if anyone {
            read_boot_time(&proc_root)
        } else {
            None
        };
        let mut process_findings = Vec::new();
        let mut class_facts = ClassFacts::default();
        for pid in &pids {
            let Some((sigs, analysis, exe_facts)) = signals.remove(pid) else {
                continue;
            };
            let sigs: Vec<Signal> = sigs.into_iter().collect();
            if !sigs.iter().any(|s| s.confidence >= Confidence::Medium) {
                continue;
            }
            let Some(cached) = self.procs.get(pid) else {
                continue;
            };
            let flagged = Flagged {
                cached,
                signals: sigs,
                analysis,
                exe_facts,
                sockets: owned_sockets.remove(pid).unwrap_or_default(),
            };
            let pe = self.process_evidence(&flagged, &accounts, &auth, &utmp);
            class_facts.observe(&flagged, &pe, &accounts, &self.procs);
            let snapshot = snapshot_json(&flagged, &pe);
            let mut saved = None;
            if let Some(dir) = &self.cfg.evidence_dir {
                match save_snapshot(dir, &proc_root, &cached.info, &snapshot, self.cfg.copy_exe) {
                    Ok(p) => saved = Some(p),
                    Err(e) => report.note(e.to_string()),
                }
            }
            let mining = flagged.signals.iter().any(|s| {
                s.confidence == Confidence::High
                    && matches!(
                        s.detector,
                        "host-miner-process" | "host-yara" | "host-pool-connection"
                    )
            });
            let mut response_note = None;
            let allowed = self
                .cfg
                .respond_only
                .as_ref()
                .is_none_or(|only| only.contains(pid));
            if let (Some(action), true) = (self.cfg.respond, mining && allowed) {
                response_note = Some(match &saved {
                    Some(dir) => respond(&proc_root, &cached.info, dir, action)
                        .unwrap_or_else(|e| e.to_string()),
                    None => format!("process {pid}: no response taken: evidence was not saved"),
                });
            }
            let weak: Vec<String> = flagged
                .signals
                .iter()
                .filter(|s| s.confidence == Confidence::Low)
                .flat_map(|s| s.reasons.iter().cloned())
                .collect();
            let started_at = boot_time
                .map(|b| {
                    Timestamp::from_micros(
                        b * 1_000_000
                            + (cached.info.stat.starttime as i64) * 1_000_000
                                / self.ticks.max(1) as i64,
                    )
                })
                .filter(|t| *t <= now)
                .unwrap_or(now);
            for s in flagged
                .signals
                .iter()
                .filter(|s| s.confidence >= Confidence::Medium)
            {
                let mut f = Finding::new(s.detector, FindingKind::Host, now);
                // The process's start: stable across rescans and agent restarts, so the id is too.
                f.first_seen = started_at;
                f.confidence = s.confidence;
                f.source.kind = "host".into();
                f.source.name = "proc".into();
                f.host = self.cfg.host_name.clone();
                for r in &s.reasons {
                    f.reason(r.clone());
                }
                f.evidence.process = Some(pe.clone());
                let gpu_w = self.gpu_watts.get(&pe.pid).copied();
                if pe.cpu_percent.is_some_and(|p| p >= 1.0) || gpu_w.is_some() {
                    let power = crate::power::process_power(
                        self.power_window.as_ref(),
                        pe.cpu_percent.unwrap_or(0.0),
                        gpu_w,
                    );
                    let kwh = power.scaled(0.024, "kWh/day", "x 24 h / 1000");
                    f.evidence.extra.insert(
                        "estimate".into(),
                        serde_json::json!({ "power": power, "kwh_per_day": kwh }),
                    );
                }
                if let Some(u) = flagged.analysis.pool_urls.first() {
                    f.evidence.pool_host = Some(u.host.clone());
                } else if let Some((h, _, _)) = flagged.analysis.pool_hosts.first() {
                    f.evidence.pool_host = Some(h.clone());
                }
                f.evidence.algorithm = flagged.analysis.algorithm.clone();
                f.evidence.coin = flagged.analysis.coin.clone();
                f.evidence.wallet = flagged.analysis.wallet.clone();
                f.evidence.login = flagged.analysis.login.clone();
                if let Some(exe) = &pe.exe {
                    f.evidence.files.push(exe.clone());
                }
                if !weak.is_empty() {
                    f.evidence
                        .extra
                        .insert("weak_signals".into(), weak.clone().into());
                }
                if let Some(y) = flagged.exe_facts.as_ref().filter(|e| !e.yara.is_empty()) {
                    f.evidence
                        .extra
                        .insert("yara".into(), y.yara.clone().into());
                }
                if !flagged.sockets.is_empty() {
                    f.evidence.extra.insert(
                        "sockets".into(),
                        flagged
                            .sockets
                            .iter()
                            .map(|s| format!("{} -> {} {}", s.local, s.remote, s.state_name()))
                            .collect::<Vec<_>>()
                            .into(),
                    );
                }
                if let Some(place) = pe.cgroup.as_deref().map(interpret_cgroup) {
                    if let Some(u) = place.unit {
                        f.evidence.extra.insert("systemd_unit".into(), u.into());
                    }
                    if let Some(p) = place.pod {
                        f.evidence.extra.insert("pod".into(), p.into());
                    }
                }
                let sudo: Vec<String> = sudo_records(&auth, &cached.info, &pe);
                if !sudo.is_empty() {
                    f.evidence.extra.insert("sudo".into(), sudo.into());
                }
                if let Some(dir) = &saved {
                    f.evidence
                        .extra
                        .insert("evidence_dir".into(), dir.display().to_string().into());
                }
                if let Some(n) = &response_note {
                    f.evidence.extra.insert("response".into(), n.clone().into());
                }
                process_findings.push(f);
            }
        }
        report.findings.extend(process_findings);

        // 7. Host-wide checks.
        if only.is_none() && self.cfg.process_checks {
            let tuning = read_tuning(&proc_root, &self.cfg.sys_root);
            if tuning.msr_allow_writes.as_deref() == Some("on") && tuning.huge_pages_total > 0 {
                let mut f = Finding::new("host-randomx-tuning", FindingKind::Host, now);
                f.confidence = Confidence::Medium;
                f.source.kind = "host".into();
                f.source.name = "proc".into();
                f.reason(format!(
                    "msr module allows writes and {} huge pages are reserved ({} in use): RandomX miners tune hosts this way",
                    tuning.huge_pages_total,
                    tuning.huge_pages_in_use()
                ));
                report.findings.push(f);
            }
            if probe {
                self.probe_hidden(&present, now, &mut report, &mut class_facts);
            }
        }
        let mut files = FileReport::default();
        if file_checks {
            let fcfg = FileCheckConfig {
                root: self.cfg.root.clone(),
                log_gap_secs: self.cfg.log_gap_secs,
                now,
            };
            files = check_files(&fcfg, self.intel.as_ref());
            for n in files.notes.drain(..) {
                report.note(n);
            }
            report.findings.extend(
                files
                    .findings
                    .drain(..)
                    .filter(|f| f.confidence >= Confidence::Medium)
                    .map(|mut f| {
                        f.host = self.cfg.host_name.clone();
                        f
                    }),
            );
        }

        // 8. Proposed class.
        if let Some(summary) =
            class_facts.summary(&files, now, self.cfg.host_name.clone(), &gpu_extra)
        {
            report.findings.push(summary);
        }

        // 9. Stable ids: process findings date from the process start, file findings from the
        // file's modification; the rest from when this scanner first made the observation.
        for f in &mut report.findings {
            if f.first_seen == now {
                let key = observation_key(f);
                let first = *self.first_seen.entry(key).or_insert(f.first_seen);
                f.first_seen = first;
            }
            f.assign_id();
        }
        if self.first_seen.len() > 100_000 {
            self.first_seen.clear();
        }
        report.stats.executable_cache_hits = self.exe_cache.hits;
        report.stats.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        report
    }

    /// Reads what changes every scan (stat, cmdline, exe link) and, for a new process instance or
    /// after an exec, the details.
    fn refresh(
        &mut self,
        pid: u32,
        report: &mut ScanReport,
    ) -> Result<(), crate::error::HostError> {
        let root = self.cfg.proc_root.clone();
        let stat = procfs::read_stat(&root, pid)?;
        let (cmdline, truncated) = procfs::read_cmdline(&root, pid, &self.cfg.limits)?;
        let exe = if stat.is_kernel_thread() {
            None
        } else {
            procfs::read_exe(&root, pid)
        };
        let same = self
            .procs
            .get(&pid)
            .is_some_and(|c| c.info.stat.starttime == stat.starttime && c.info.exe == exe);
        let now = Instant::now();
        if same {
            let ticks = self.ticks;
            if let Some(c) = self.procs.get_mut(&pid) {
                if let Some((before, at)) = c.cpu_sample {
                    let secs = now.duration_since(at).as_secs_f64();
                    if secs > 0.05 {
                        c.cpu_percent = cpu_percent(before, stat.cpu_ticks, secs, ticks);
                        c.cpu_sample = Some((stat.cpu_ticks, now));
                    }
                }
                c.info.stat = stat;
                c.info.cmdline = cmdline;
                c.info.cmdline_truncated = truncated;
            }
            return Ok(());
        }
        let mut info = ProcInfo {
            pid,
            stat,
            cmdline,
            cmdline_truncated: truncated,
            exe,
            ..Default::default()
        };
        if !info.stat.is_kernel_thread() {
            procfs::read_details(&root, &mut info, &self.cfg.limits);
            report.stats.details_read += 1;
        }
        if info.uid.is_none() {
            use std::os::unix::fs::MetadataExt;
            info.uid = std::fs::metadata(root.join(pid.to_string()))
                .ok()
                .map(|m| m.uid());
        }
        let exe_key = if info.exe.is_some() {
            FileKey::of(&procfs::proc_path(&root, pid, "exe")).ok()
        } else {
            None
        };
        let cpu_sample = Some((info.stat.cpu_ticks, now));
        self.procs.insert(
            pid,
            Cached {
                info,
                exe_key,
                cpu_sample,
                cpu_percent: None,
                high_cpu_scans: 0,
            },
        );
        Ok(())
    }

    fn sample_cpu(&mut self, pid: u32) {
        let ticks = self.ticks;
        let Ok(stat) = procfs::read_stat(&self.cfg.proc_root, pid) else {
            return;
        };
        let Some(c) = self.procs.get_mut(&pid) else {
            return;
        };
        if c.info.stat.starttime != stat.starttime {
            return;
        }
        if let Some((before, at)) = c.cpu_sample {
            let now = Instant::now();
            c.cpu_percent = cpu_percent(
                before,
                stat.cpu_ticks,
                now.duration_since(at).as_secs_f64(),
                ticks,
            );
            c.cpu_sample = Some((stat.cpu_ticks, now));
        }
    }

    /// Hash and rule matches of a process's executable, from the cache when the file is unchanged.
    fn exe_facts(&mut self, pid: u32, report: &mut ScanReport) -> Option<ExeFacts> {
        let c = self.procs.get(&pid)?;
        c.info.exe.as_ref()?;
        let key = match c.exe_key {
            Some(k) => k,
            None => {
                let k = FileKey::of(&procfs::proc_path(&self.cfg.proc_root, pid, "exe")).ok()?;
                if let Some(c) = self.procs.get_mut(&pid) {
                    c.exe_key = Some(k);
                }
                k
            }
        };
        if let Some(f) = self.exe_cache.get(&key) {
            return Some(f.clone());
        }
        let mut facts = ExeFacts::default();
        if Some(key) == self.self_exe {
            facts.note = Some("minetrace itself: not scanned".into());
        } else if key.size > self.cfg.max_hash_bytes {
            facts.note = Some(format!("{} bytes: larger than the hashing limit", key.size));
        } else {
            match hash_and_head(
                &procfs::proc_path(&self.cfg.proc_root, pid, "exe"),
                self.cfg.max_rule_scan_bytes,
            ) {
                Ok((sha, head, truncated)) => {
                    report.stats.executables_read += 1;
                    facts.sha256 = Some(sha);
                    facts.yara = self.rules.scan(&head);
                    if truncated {
                        facts.note = Some(format!(
                            "only the first {} bytes scanned with the rules",
                            self.cfg.max_rule_scan_bytes
                        ));
                    }
                }
                Err(e) => {
                    report.note(format!("process {pid}: executable unreadable: {e}"));
                    return None; // not cached: may be readable later
                }
            }
        }
        self.exe_cache.insert(key, facts.clone());
        Some(facts)
    }

    fn process_signals(
        &self,
        c: &Cached,
        exe_facts: Option<&ExeFacts>,
    ) -> (Vec<Signal>, CmdlineAnalysis) {
        let info = &c.info;
        let mut out = Vec::new();
        let analysis = analyze_argv(&info.cmdline, self.intel.as_ref());
        if info.stat.is_kernel_thread() {
            return (out, analysis);
        }
        // Miner by name, command line and environment.
        let mut reasons = Vec::new();
        let mut conf: Option<Confidence> = None;
        let argv0 = info
            .cmdline
            .first()
            .map(|a| a.split_whitespace().next().unwrap_or(a))
            .unwrap_or("");
        let exe_name = info.exe.as_deref().map(program_name);
        for (what, n) in [
            ("process name", info.name()),
            ("argv[0]", argv0),
            ("executable", exe_name.as_deref().unwrap_or("")),
        ] {
            if let Some(m) = miner_name(n) {
                reasons.push(format!("{what} {n:?} is the miner {m}"));
                conf = Some(Confidence::Medium);
                break;
            }
        }
        if let Some(c2) = analysis.confidence() {
            reasons.extend(analysis.reasons.iter().cloned());
            conf = Some(match conf {
                Some(_) => Confidence::High,
                None => c2,
            });
        }
        let mut env_hits = Vec::new();
        for key in [
            "POOL_URL",
            "POOL_USER",
            "POOL_PASS",
            "POOL",
            "WALLET",
            "MINING_POOL",
        ] {
            if let Some(v) = info.env_value(key) {
                if key == "POOL" && find_pool_url(v).is_none() {
                    continue;
                }
                env_hits.push(key);
                if let Some(u) = find_pool_url(v) {
                    reasons.push(format!("environment {key} holds pool URL {}", u.display()));
                    conf = Some(Confidence::High);
                }
            }
        }
        if !env_hits.is_empty() {
            reasons.push(format!(
                "mining environment variables: {}",
                env_hits.join(", ")
            ));
            conf = Some(conf.map_or(Confidence::Medium, |c| c.max(Confidence::Medium)));
        }
        if let Some(conf) = conf {
            out.push(Signal {
                detector: "host-miner-process",
                confidence: conf,
                reasons,
            });
        }

        // Executable location.
        if let Some(exe) = info.exe.as_deref() {
            let clean = exe.strip_suffix(" (deleted)").unwrap_or(exe);
            let in_tmp = ["/tmp/", "/var/tmp/", "/dev/shm/", "/run/shm/"]
                .iter()
                .any(|d| clean.starts_with(d));
            let mut r = Vec::new();
            let mut cf = Confidence::Low;
            if info.exe_memfd() {
                if !clean.contains("runc_cloned") {
                    r.push(format!(
                        "runs from an anonymous memory file ({clean}): fileless execution"
                    ));
                    cf = Confidence::High;
                }
            } else if info.exe_deleted() {
                r.push(format!("executable {clean} was deleted after start"));
                let system = ["/usr/", "/bin/", "/sbin/", "/lib", "/opt/"]
                    .iter()
                    .any(|d| clean.starts_with(d));
                cf = if in_tmp {
                    Confidence::High
                } else if system {
                    Confidence::Low
                } else {
                    Confidence::Medium
                };
            }
            if in_tmp {
                r.push(format!("executable in a temporary directory: {clean}"));
                cf = cf.max(Confidence::Medium);
            }
            if clean.rsplit('/').next().is_some_and(|n| n.starts_with('.')) {
                r.push(format!("hidden executable name: {clean}"));
                cf = cf.max(Confidence::Medium);
            }
            if !r.is_empty() {
                out.push(Signal {
                    detector: "host-exe-location",
                    confidence: cf,
                    reasons: r,
                });
            }
        }

        // Kernel-thread masquerade and trojan disguises.
        let argv_joined = info.cmdline.join(" ");
        let kthread_like = looks_like_kernel_thread(info.name())
            || looks_like_kernel_thread(argv_joined.trim())
            || looks_like_kernel_thread(argv0);
        let trojan = trojan_name(info.name())
            .or_else(|| trojan_name(argv0))
            .or_else(|| exe_name.as_deref().and_then(trojan_name));
        if kthread_like || trojan.is_some() {
            let mut r = Vec::new();
            if kthread_like {
                r.push(format!(
                    "user-space process (has an executable{}) named like a kernel thread: {:?}",
                    if info.maps.as_ref().is_some_and(|m| m.regions > 0) {
                        " and memory maps"
                    } else {
                        ""
                    },
                    if argv_joined.is_empty() {
                        info.name().to_string()
                    } else {
                        argv_joined.chars().take(80).collect()
                    }
                ));
            }
            if let Some(t) = trojan {
                r.push(format!("name {t:?} is a known mining-trojan disguise"));
            }
            out.push(Signal {
                detector: "host-masquerade",
                confidence: Confidence::High,
                reasons: r,
            });
        }

        // Rules over the executable.
        if let Some(f) = exe_facts.filter(|f| !f.yara.is_empty()) {
            out.push(Signal {
                detector: "host-yara",
                confidence: Confidence::High,
                reasons: f
                    .yara
                    .iter()
                    .map(|r| format!("executable matches rule {r}"))
                    .collect(),
            });
        }

        // CPU.
        if let Some(pct) = c.cpu_percent.filter(|p| *p >= self.cfg.cpu_threshold) {
            let known = known_workload(info.name()) || known_workload(argv0);
            let mining_signals = !out.is_empty();
            let mut r = vec![format!("{pct:.0}% of a core over the sampling window")];
            if c.high_cpu_scans > 1 {
                r.push(format!("high for {} consecutive scans", c.high_cpu_scans));
            }
            let huge = info.maps.as_ref().map_or(0, |m| m.huge_page_regions);
            if huge > 0 {
                r.push(format!("{huge} huge-page mappings (RandomX dataset)"));
            }
            let cf = if mining_signals {
                Confidence::High
            } else if known {
                Confidence::Low
            } else {
                r.insert(
                    0,
                    format!(
                        "sustained high CPU by {:?}, which is not a known workload",
                        info.name()
                    ),
                );
                Confidence::Medium
            };
            out.push(Signal {
                detector: "host-cpu",
                confidence: cf,
                reasons: r,
            });
        }
        (out, analysis)
    }

    fn process_evidence(
        &self,
        f: &Flagged<'_>,
        accounts: &Accounts,
        auth: &AuthFacts,
        utmp: &[UtmpRecord],
    ) -> ProcessEvidence {
        let info = &f.cached.info;
        let mut pe = ProcessEvidence {
            pid: info.pid,
            ppid: Some(info.stat.ppid),
            name: info.name().to_string(),
            cmdline: info
                .cmdline
                .iter()
                .take(64)
                .map(|a| a.chars().take(1024).collect())
                .collect(),
            exe: info.exe.clone(),
            exe_sha256: f.exe_facts.as_ref().and_then(|e| e.sha256.clone()),
            uid: info.uid,
            user: info.uid.and_then(|u| accounts.name(u).map(str::to_string)),
            loginuid: info.loginuid.filter(|l| *l != LOGINUID_UNSET),
            session_id: info.sessionid.filter(|s| *s != LOGINUID_UNSET),
            cgroup: info.cgroup.clone(),
            cpu_percent: f.cached.cpu_percent.map(|p| (p * 10.0).round() / 10.0),
            ..Default::default()
        };
        pe.login_user = pe
            .loginuid
            .and_then(|l| accounts.name(l).map(str::to_string));
        pe.container = info
            .cgroup
            .as_deref()
            .and_then(|c| interpret_cgroup(c).container);
        // Ancestry up to init, noting the login process.
        let mut pid = info.stat.ppid;
        let mut login_proc: Option<&ProcInfo> = None;
        let mut env_from: Option<String> = ssh_source(info);
        for _ in 0..64 {
            if pid == 0 {
                break;
            }
            let Some(p) = self.procs.get(&pid) else {
                pe.ancestry.push(format!("{pid} ?"));
                break;
            };
            pe.ancestry.push(format!("{} {}", pid, p.info.name()));
            if env_from.is_none() {
                env_from = ssh_source(&p.info);
            }
            if login_proc.is_none()
                && LOGIN_PARENTS
                    .iter()
                    .any(|n| p.info.name() == *n || p.info.name().starts_with("sshd"))
            {
                login_proc = Some(&p.info);
            }
            if pid == 1 {
                break;
            }
            pid = p.info.stat.ppid;
        }
        pe.login_from = env_from.or_else(|| {
            // sshd's session process is titled "sshd: user@pts/N".
            let tty = login_proc
                .and_then(|p| p.cmdline.first())
                .and_then(|t| t.split('@').nth(1))
                .map(|t| t.split_whitespace().next().unwrap_or(t).to_string());
            let user = pe.login_user.clone().or(pe.user.clone());
            utmp.iter()
                .rev()
                .find(|r| {
                    r.kind == USER_PROCESS
                        && tty.as_deref().is_some_and(|t| t == r.line)
                        && user.as_deref().is_none_or(|u| u == r.user)
                })
                .map(|r| r.host.clone())
                .filter(|h| !h.is_empty())
                .or_else(|| {
                    // A scheduled job's owner logging in at some other time says nothing
                    // about where the job came from.
                    if pe.scheduler().is_some() {
                        return None;
                    }
                    let u = pe.login_user.as_deref()?;
                    auth.accepted
                        .iter()
                        .rev()
                        .find(|(au, _, _)| au == u)
                        .map(|(_, a, _)| format!("{a} (last sshd login of {u} in the auth log)"))
                })
        });
        pe
    }

    fn probe_hidden(
        &self,
        present: &HashSet<u32>,
        now: Timestamp,
        report: &mut ScanReport,
        facts: &mut ClassFacts,
    ) {
        let root = &self.cfg.proc_root;
        let pid_max: u32 = minetrace_core::io::read_head(&root.join("sys/kernel/pid_max"), 32)
            .ok()
            .and_then(|b| String::from_utf8_lossy(&b).trim().parse().ok())
            .unwrap_or(32768)
            .min(4_194_304);
        let mut candidates = Vec::new();
        for pid in 1..=pid_max {
            if present.contains(&pid) {
                continue;
            }
            if std::fs::symlink_metadata(root.join(pid.to_string())).is_ok() {
                candidates.push(pid);
            }
        }
        if candidates.is_empty() {
            return;
        }
        // Threads answer to /proc/<tid> without being listed; a process started after the
        // listing is listed now. What remains is hidden.
        let relisted: HashSet<u32> = procfs::list_pids(root, self.cfg.max_processes)
            .unwrap_or_default()
            .into_iter()
            .collect();
        for pid in candidates {
            if relisted.contains(&pid) {
                continue;
            }
            let Ok(bytes) =
                minetrace_core::io::read_head(&procfs::proc_path(root, pid, "status"), 16 * 1024)
            else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            let tgid = text
                .lines()
                .find_map(|l| l.strip_prefix("Tgid:"))
                .and_then(|v| v.trim().parse::<u32>().ok());
            if tgid != Some(pid) {
                continue;
            }
            let name = text
                .lines()
                .find_map(|l| l.strip_prefix("Name:"))
                .unwrap_or("?")
                .trim()
                .to_string();
            let mut f = Finding::new("host-hidden-process", FindingKind::Host, now);
            f.confidence = Confidence::High;
            f.source.kind = "host".into();
            f.source.name = "proc".into();
            f.host = self.cfg.host_name.clone();
            f.reason(format!("process {pid} ({name}) answers at /proc/{pid} but is missing from the /proc listing: hidden by a rootkit or preload library"));
            f.evidence.process = Some(ProcessEvidence {
                pid,
                name,
                cmdline: procfs::read_cmdline(root, pid, &self.cfg.limits)
                    .map(|c| c.0)
                    .unwrap_or_default(),
                exe: procfs::read_exe(root, pid),
                ..Default::default()
            });
            facts.hidden = true;
            report.findings.push(f);
        }
    }
}

fn ssh_source(info: &ProcInfo) -> Option<String> {
    let v = info
        .env_value("SSH_CONNECTION")
        .or_else(|| info.env_value("SSH_CLIENT"))?;
    let ip = v.split_whitespace().next()?;
    ip.parse::<IpAddr>().ok().map(|_| ip.to_string())
}

fn socket_signal(
    socks: &[TcpSocket],
    a: &CmdlineAnalysis,
    intel: &dyn PoolIntel,
) -> Option<Signal> {
    let mut reasons = Vec::new();
    let mut conf = Confidence::Low;
    for s in socks.iter().filter(|s| s.is_connected()) {
        let rip = s.remote.ip().to_string();
        let rport = s.remote.port();
        let url_match = a.pool_urls.iter().find(|u| {
            u.port == Some(rport) && (u.host == rip || u.host.parse::<IpAddr>().is_err())
        });
        let host_match = a.pool_hosts.iter().find(|(_, p, _)| *p == Some(rport));
        let target_match = a
            .pool_port_targets
            .iter()
            .find(|(h, p)| *p == rport && (*h == rip || h.parse::<IpAddr>().is_err()));
        if let Some(u) = url_match {
            let exact = u.host == rip;
            reasons.push(format!(
                "connected to {} ({}), the pool {} of its command line{}",
                s.remote,
                s.state_name(),
                u.display(),
                if exact {
                    ""
                } else {
                    " (same port; the name is not resolved here)"
                }
            ));
            conf = conf.max(if exact {
                Confidence::High
            } else {
                Confidence::Medium
            });
        } else if let Some((h, _, d)) = host_match {
            reasons.push(format!(
                "connected to {} on the port given for pool {h} ({d})",
                s.remote
            ));
            conf = conf.max(Confidence::Medium);
        } else if let Some((h, _)) = target_match {
            reasons.push(format!("connected to {} given as -o {h}", s.remote));
            conf = conf.max(Confidence::Medium);
        } else if intel.is_pool_port(rport) {
            reasons.push(format!("connected to {} on a common pool port", s.remote));
        }
    }
    (!reasons.is_empty()).then_some(Signal {
        detector: "host-pool-connection",
        confidence: conf,
        reasons,
    })
}

/// Boot time in seconds since the epoch (`btime` of `/proc/stat`).
fn read_boot_time(proc_root: &Path) -> Option<i64> {
    let b = minetrace_core::io::read_head(&proc_root.join("stat"), 1024 * 1024).ok()?;
    String::from_utf8_lossy(&b)
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

fn load_auth(root: &Path) -> AuthFacts {
    let mut facts = AuthFacts::default();
    for name in ["var/log/auth.log", "var/log/secure"] {
        if let Ok(b) = minetrace_core::io::read_head(&root.join(name), 64 * 1024 * 1024) {
            parse_auth_log(&String::from_utf8_lossy(&b), &mut facts);
        }
    }
    facts
}

fn load_utmp(root: &Path) -> Vec<UtmpRecord> {
    let mut out = Vec::new();
    for name in ["run/utmp", "var/run/utmp", "var/log/wtmp"] {
        if let Ok(b) = minetrace_core::io::read_head(&root.join(name), 16 * 1024 * 1024) {
            out.extend(parse_utmp(&b, 4096).records);
        }
    }
    out
}

fn sudo_records(auth: &AuthFacts, info: &ProcInfo, pe: &ProcessEvidence) -> Vec<String> {
    let exe_name = info.exe.as_deref().map(program_name);
    let argv0 = info
        .cmdline
        .first()
        .map(|a| program_name(a.split_whitespace().next().unwrap_or(a)));
    auth.sudo
        .iter()
        .filter(|(user, cmd, _)| {
            let first = cmd.split_whitespace().next().map(program_name);
            let same_cmd = first.is_some() && (first == exe_name || first == argv0);
            same_cmd
                || pe.login_user.as_deref() == Some(user.as_str()) && cmd.contains(pe.name.as_str())
        })
        .take(8)
        .map(|(_, _, line)| line.clone())
        .collect()
}

fn snapshot_json(f: &Flagged<'_>, pe: &ProcessEvidence) -> serde_json::Value {
    let info = &f.cached.info;
    serde_json::json!({
        "taken_at": Timestamp::now().to_rfc3339(),
        "process": pe,
        "starttime_ticks": info.stat.starttime,
        "cmdline_truncated": info.cmdline_truncated,
        "environment_keys": info.env.as_ref().map(|e| e.keys.clone()).unwrap_or_default(),
        "environment_values_kept": info.env.as_ref().map(|e| e.kept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>()).unwrap_or_default(),
        "maps": info.maps.as_ref().map(|m| serde_json::json!({
            "regions": m.regions, "deleted_files": m.deleted_files, "memfd": m.memfd,
            "huge_page_regions": m.huge_page_regions, "anon_exec_regions": m.anon_exec_regions, "truncated": m.truncated,
        })),
        "sockets": f.sockets.iter().map(|s| serde_json::json!({"local": s.local.to_string(), "remote": s.remote.to_string(), "state": s.state_name(), "inode": s.inode})).collect::<Vec<_>>(),
        "socket_inodes": info.socket_inodes,
        "gpu_devices": info.gpu_devices,
        "exe_immutable": info.exe.as_deref().filter(|e| e.starts_with('/') && !e.ends_with(" (deleted)")).and_then(|e| immutable_flags(Path::new(e))),
        "signals": f.signals.iter().map(|s| serde_json::json!({"detector": s.detector, "confidence": s.confidence, "reasons": s.reasons})).collect::<Vec<_>>(),
        "notes": info.notes,
    })
}

fn observation_key(f: &Finding) -> String {
    // Reasons carry changing figures (CPU share): they are not part of the identity.
    let p = f
        .evidence
        .process
        .as_ref()
        .map(|p| format!("{}:{}", p.pid, p.name))
        .unwrap_or_default();
    let class = f
        .evidence
        .extra
        .get("proposed_class")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    format!(
        "{}|{}|{}|{}",
        f.detector,
        p,
        f.evidence.files.join(","),
        class
    )
}

/// Facts the active/passive proposal weighs.
#[derive(Debug, Default)]
struct ClassFacts {
    mining_processes: usize,
    interactive_login: Vec<String>,
    service_tree: Vec<String>,
    masquerade: bool,
    fileless_or_tmp: bool,
    own_config: Vec<String>,
    hidden: bool,
    containers: Vec<String>,
}

impl ClassFacts {
    fn observe(
        &mut self,
        f: &Flagged<'_>,
        pe: &ProcessEvidence,
        accounts: &Accounts,
        procs: &HashMap<u32, Cached>,
    ) {
        let mining = f.signals.iter().any(|s| {
            s.confidence >= Confidence::Medium
                && matches!(
                    s.detector,
                    "host-miner-process" | "host-yara" | "host-pool-connection" | "host-masquerade"
                )
        });
        if !mining {
            return;
        }
        self.mining_processes += 1;
        if f.signals.iter().any(|s| s.detector == "host-masquerade") {
            self.masquerade = true;
        }
        if f.signals
            .iter()
            .any(|s| s.detector == "host-exe-location" && s.confidence >= Confidence::Medium)
        {
            self.fileless_or_tmp = true;
        }
        let interactive_account = pe
            .loginuid
            .and_then(|l| accounts.by_uid.get(&l))
            .is_some_and(|a| a.is_interactive());
        let via_login = pe.ancestry.iter().any(|a| {
            let name = a.split_once(' ').map(|x| x.1).unwrap_or("");
            LOGIN_PARENTS.contains(&name) || name.starts_with("sshd")
        });
        let scheduled_by = pe.scheduler().map(str::to_string);
        if interactive_account && (via_login || pe.session_id.is_some()) && scheduled_by.is_none() {
            self.interactive_login.push(format!(
                "process {} started in login session {} of {}{}",
                pe.pid,
                pe.session_id
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "?".into()),
                pe.login_user.as_deref().unwrap_or("?"),
                pe.login_from
                    .as_deref()
                    .map(|f| format!(" from {f}"))
                    .unwrap_or_default()
            ));
        }
        let service_parent = pe.ancestry.iter().find_map(|a| {
            let name = a.split_once(' ').map(|x| x.1).unwrap_or("");
            SERVICE_PARENTS.contains(&name).then(|| name.to_string())
        });
        let service_user = pe
            .uid
            .and_then(|u| accounts.by_uid.get(&u))
            .is_some_and(|a| !a.is_interactive());
        if let Some(s) = scheduled_by {
            self.service_tree.push(format!(
                "process {} was started by a cron job ({s}), not a login session",
                pe.pid
            ));
        } else if let Some(p) = service_parent {
            self.service_tree
                .push(format!("process {} runs under {p}", pe.pid));
        } else if service_user && pe.loginuid.is_none() {
            self.service_tree.push(format!(
                "process {} runs as service account {}",
                pe.pid,
                pe.user.as_deref().unwrap_or("?")
            ));
        } else if pe.loginuid.is_none()
            && pe.cgroup.as_deref().is_some_and(|c| c.contains(".service"))
        {
            self.service_tree.push(format!(
                "process {} was started by a system service ({}), not a login",
                pe.pid,
                pe.cgroup.as_deref().unwrap_or("")
            ));
        }
        if let Some(cfg) = &f.analysis.config_file {
            if cfg.starts_with("/home/")
                || cfg.starts_with("/root/")
                || cfg.starts_with('~')
                || !cfg.starts_with('/')
            {
                self.own_config.push(format!(
                    "wallet and pool in its own configuration file {cfg}"
                ));
            }
        } else if f.analysis.wallet.is_some() && interactive_account {
            self.own_config
                .push("wallet given on the command line by the account that runs it".into());
        }
        if let Some(c) = &pe.container {
            self.containers.push(c.clone());
        }
        let _ = procs;
    }

    fn summary(
        &self,
        files: &FileReport,
        now: Timestamp,
        host: Option<String>,
        gpu_extra: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<Finding> {
        let tampering = files.persistence_with_miner
            || files.hiding
            || files.defences_disabled
            || files.logs_tampered
            || self.hidden;
        if self.mining_processes == 0
            && !files.persistence_with_miner
            && !files.hiding
            && !self.hidden
        {
            return None;
        }
        let mut passive = Vec::new();
        let mut active = Vec::new();
        if files.persistence_with_miner {
            passive.push("persistence that starts a miner (cron/systemd/rc/profile)".to_string());
        }
        if files.hiding || self.hidden {
            passive.push("hiding: preload library, hidden processes or immutable files".into());
        }
        if files.defences_disabled {
            passive.push("defences disabled (firewall, SELinux or security agents)".into());
        }
        if self.masquerade {
            passive.push("miner masquerades as a kernel thread or system process".into());
        }
        if files.competitor_kill {
            passive.push("kills competing miners".into());
        }
        if self.fileless_or_tmp {
            passive.push("runs from a temporary directory, memfd or a deleted file".into());
        }
        passive.extend(self.service_tree.iter().cloned());
        if files.logs_tampered {
            // Both trojans and insiders wipe logs; it is reported, weighed for neither.
            active.push("note: logs or history were tampered with (seen with both classes)".into());
        }
        active.extend(self.interactive_login.iter().cloned());
        active.extend(self.own_config.iter().cloned());
        let active_score = self.interactive_login.len().min(1) * 2 + self.own_config.len().min(1);
        let passive_score = passive.len();
        if active_score > 0 && passive_score == 0 {
            active.push("nothing hidden, no persistence, no disabled defences".into());
        }
        let class = if passive_score > active_score {
            "passive"
        } else if active_score > 0 {
            "active"
        } else {
            "passive"
        };
        let mut f = Finding::new("host-summary", FindingKind::Host, now);
        f.confidence = if self.mining_processes > 0 || tampering {
            Confidence::Medium
        } else {
            Confidence::Low
        };
        f.source.kind = "host".into();
        f.source.name = "summary".into();
        f.host = host;
        f.reason(format!(
            "{} mining process(es); proposed class {class} ({} reason(s) for passive, score {active_score} for active)",
            self.mining_processes,
            passive.len()
        ));
        let mut reasons: Vec<String> = if class == "passive" {
            passive.clone()
        } else {
            active.clone()
        };
        if class == "passive" && !active.is_empty() {
            reasons.extend(active.iter().map(|a| format!("against: {a}")));
        } else if class == "active" && !passive.is_empty() {
            reasons.extend(passive.iter().map(|p| format!("against: {p}")));
        }
        f.evidence
            .extra
            .insert("proposed_class".into(), class.into());
        f.evidence
            .extra
            .insert("class_reasons".into(), reasons.into());
        if !files.authorized_keys.is_empty() {
            f.evidence.extra.insert(
                "authorized_keys".into(),
                files.authorized_keys.clone().into(),
            );
        }
        if !self.containers.is_empty() {
            f.evidence
                .extra
                .insert("containers".into(), self.containers.clone().into());
        }
        for (k, v) in gpu_extra {
            f.evidence.extra.insert(k.clone(), v.clone());
        }
        Some(f)
    }
}
