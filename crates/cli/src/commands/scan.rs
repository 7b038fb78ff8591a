//! `minetrace scan`: one scan of this host (processes, sockets, CPU/GPU, YARA, persistence,
//! tampering), a table on a terminal or JSON Lines. Exit 0 nothing found, 1 findings, 2 error.

use anyhow::{bail, Context};
use clap::ValueEnum;
use minetrace_core::{Confidence, Finding};
use minetrace_host::{ScanConfig, Scanner};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

/// Options shared by `scan` and `agent`.
#[derive(clap::Args, Debug, Clone)]
pub struct ScanOptions {
    /// Root of the file tree checked for persistence, logs and accounts (processes always come
    /// from the real /proc).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Extra YARA rule directory (every *.yar / *.yara file); repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in rules.
    #[arg(long)]
    pub no_builtin_rules: bool,
    /// CPU sampling window in seconds (0 disables the CPU check of a one-shot scan).
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub cpu_window: f64,
    /// CPU share (percent of one core) from which an unknown program is reported.
    #[arg(long, value_name = "PCT", default_value_t = 90.0)]
    pub cpu_threshold: f64,
    /// Skip the file-tree checks (persistence, logs, history, defences).
    #[arg(long, conflicts_with = "files_only")]
    pub no_files: bool,
    /// Only the file-tree checks, no processes (e.g. a mounted disk image given as --root).
    #[arg(long)]
    pub files_only: bool,
    /// Skip the brute-force probe for PIDs hidden from the /proc listing.
    #[arg(long)]
    pub no_hidden_pids: bool,
    /// Skip GPU telemetry (NVML).
    #[arg(long)]
    pub no_gpu: bool,
    /// Report auth/syslog silences longer than this many hours.
    #[arg(long, value_name = "HOURS", default_value_t = 12)]
    pub log_gap_hours: u32,
    /// Host name put on findings (default: this host's name).
    #[arg(long)]
    pub host_name: Option<String>,
    /// Lowest confidence reported.
    #[arg(long, value_enum, default_value_t = MinConfidence::Medium)]
    pub min_confidence: MinConfidence,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinConfidence {
    Low,
    Medium,
    High,
}

impl MinConfidence {
    pub fn level(self) -> Confidence {
        match self {
            MinConfidence::Low => Confidence::Low,
            MinConfidence::Medium => Confidence::Medium,
            MinConfidence::High => Confidence::High,
        }
    }
}

impl ScanOptions {
    /// Validates the options and builds the scanner configuration.
    pub fn to_config(&self) -> anyhow::Result<ScanConfig> {
        if !self.root.is_dir() {
            bail!("--root {}: not a directory", self.root.display());
        }
        for d in &self.rules {
            if !d.is_dir() {
                bail!("--rules {}: not a directory", d.display());
            }
        }
        if !(0.0..=600.0).contains(&self.cpu_window) || !self.cpu_window.is_finite() {
            bail!("--cpu-window must be between 0 and 600 seconds");
        }
        if !(0.0..=10_000.0).contains(&self.cpu_threshold) {
            bail!("--cpu-threshold must be between 0 and 10000 percent");
        }
        Ok(ScanConfig {
            root: self.root.clone(),
            rule_dirs: self.rules.clone(),
            builtin_rules: !self.no_builtin_rules,
            cpu_window: Duration::from_secs_f64(self.cpu_window),
            cpu_threshold: self.cpu_threshold,
            process_checks: !self.files_only,
            file_checks: !self.no_files,
            hidden_pid_probe: !self.no_hidden_pids,
            gpu: !self.no_gpu,
            log_gap_secs: i64::from(self.log_gap_hours) * 3600,
            host_name: Some(self.host_name.clone().unwrap_or_else(host_name)),
            ..ScanConfig::default()
        })
    }
}

/// This machine's host name (from the kernel), or "localhost".
pub fn host_name() -> String {
    minetrace_core::io::read_head(std::path::Path::new("/proc/sys/kernel/hostname"), 256)
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Jsonl,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespondArg {
    Kill,
    Quarantine,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub opts: ScanOptions,
    /// Output format (default: table on a terminal, JSON Lines otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Save a snapshot of every flagged process (and a copy of its executable) here.
    #[arg(long, value_name = "DIR")]
    pub evidence_dir: Option<PathBuf>,
    /// Do not copy executables into the evidence directory.
    #[arg(long)]
    pub no_exe_copy: bool,
    /// Act on confirmed miners after their evidence is saved (never the default).
    #[arg(long, value_enum, requires = "evidence_dir")]
    pub respond: Option<RespondArg>,
    /// Limit --respond to these pids; repeatable.
    #[arg(long = "respond-pid", value_name = "PID", requires = "respond")]
    pub respond_pids: Vec<u32>,
    #[command(flatten)]
    pub upload: crate::upload::UploadArgs,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut uploader = args.upload.uploader()?;
    let mut cfg = args.opts.to_config()?;
    if let Some(dir) = &args.evidence_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--evidence-dir {}", dir.display()))?;
    }
    cfg.evidence_dir = args.evidence_dir.clone();
    cfg.copy_exe = !args.no_exe_copy;
    cfg.respond = args.respond.map(|r| match r {
        RespondArg::Kill => minetrace_host::Response::Kill,
        RespondArg::Quarantine => minetrace_host::Response::Quarantine,
    });
    if !args.respond_pids.is_empty() {
        cfg.respond_only = Some(args.respond_pids.clone());
    }
    let mut scanner = Scanner::new(cfg);
    let report = scanner.scan();
    for n in &report.notes {
        eprintln!("minetrace: note: {n}");
    }
    let min = args.opts.min_confidence.level();
    let findings: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.confidence >= min)
        .collect();
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Jsonl
    });
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        Format::Jsonl => {
            for f in &findings {
                writeln!(out, "{}", f.to_json_line())?;
            }
        }
        Format::Table => write_table(&mut out, &findings, &report.stats)?,
    }
    out.flush()?;
    if let Some(up) = uploader.as_mut() {
        let owned: Vec<Finding> = findings.iter().map(|f| (*f).clone()).collect();
        if let Err(e) = up.send(&owned) {
            eprintln!("minetrace: error: {e:#}");
            return Ok(crate::EXIT_ERROR);
        }
        eprintln!("minetrace: {}", up.summary());
    }
    Ok(if findings.is_empty() {
        crate::EXIT_CLEAN
    } else {
        crate::EXIT_FINDINGS
    })
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(n.saturating_sub(1)).collect();
        c.push('…');
        c
    }
}

/// One line per finding: confidence, detector, pid, user, what, first reason.
pub fn write_table(
    out: &mut dyn Write,
    findings: &[&Finding],
    stats: &minetrace_host::ScanStats,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<6} {:<22} {:>7} {:<10} {:<28} REASON",
        "CONF", "DETECTOR", "PID", "USER", "PROCESS/FILE"
    )?;
    for f in findings {
        let conf = match f.confidence {
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Low => "low",
        };
        let (pid, user, what) = match &f.evidence.process {
            Some(p) => (
                p.pid.to_string(),
                p.login_user
                    .clone()
                    .or(p.user.clone())
                    .unwrap_or_else(|| "?".into()),
                p.cmdline.join(" "),
            ),
            None => (
                "-".into(),
                "-".into(),
                f.evidence.files.first().cloned().unwrap_or_default(),
            ),
        };
        let what = if what.is_empty() {
            f.evidence
                .process
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_default()
        } else {
            what
        };
        let mut reason = f.reasons.first().cloned().unwrap_or_default();
        if let Some(class) = f
            .evidence
            .extra
            .get("proposed_class")
            .and_then(|v| v.as_str())
        {
            reason = format!("[{class}] {reason}");
        }
        writeln!(
            out,
            "{:<6} {:<22} {:>7} {:<10} {:<28} {}",
            conf,
            clip(&f.detector, 22),
            pid,
            clip(&user, 10),
            clip(&what, 28),
            clip(&reason, 110)
        )?;
    }
    writeln!(
        out,
        "{} finding(s); {} processes scanned in {:.0} ms",
        findings.len(),
        stats.processes,
        stats.elapsed_ms
    )
}
