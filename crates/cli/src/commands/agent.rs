//! `minetrace agent`: rescans this host every `--interval` and whenever new processes appear
//! (a cheap poll of the /proc listing; new processes are scanned alone), re-reading command lines
//! each time. New findings go to an append-only spool on disk; with `--server URL --token T` they
//! are posted in batches and drained later when the server was unreachable; without a server they
//! are written to stdout as JSON Lines. With a server the agent also sends a heartbeat every
//! `--heartbeat` seconds with the host's addresses and MACs: the server ties network findings of
//! those addresses to this host, and flags a host whose agent falls silent.

use anyhow::{bail, Context};
use minetrace_host::agent::{Spool, Uploader};
use minetrace_host::Scanner;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub opts: super::scan::ScanOptions,
    /// Seconds between full rescans.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub interval: f64,
    /// Seconds between polls of the /proc listing for new processes (0 disables).
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub poll: f64,
    /// Run the file-tree checks and the hidden-PID probe on every Nth full scan.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub deep_every: u32,
    /// Spool directory (append-only JSONL files).
    #[arg(long, value_name = "DIR", default_value = "/var/lib/minetrace/spool")]
    pub spool: PathBuf,
    /// Largest spool size in MiB (the oldest segments are dropped beyond it).
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub max_spool_mib: u64,
    /// Server base URL; findings are posted to URL/api/v1/ingest/findings.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Bearer token for the server (default: the MINETRACE_TOKEN environment variable, which
    /// keeps the token out of the process list).
    #[arg(long, value_name = "T")]
    pub token: Option<String>,
    /// Findings per request.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Seconds between heartbeats to the server (0: none). The server counts an agent silent
    /// after 15 minutes.
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub heartbeat: f64,
    /// Stop after this many full scans (for tests and one-off runs).
    #[arg(long, hide = true)]
    pub iterations: Option<u64>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    if !(0.1..=86_400.0).contains(&args.interval) {
        bail!("--interval must be between 0.1 and 86400 seconds");
    }
    if !(0.0..=3600.0).contains(&args.poll) {
        bail!("--poll must be between 0 and 3600 seconds");
    }
    if !(args.heartbeat == 0.0 || (1.0..=86_400.0).contains(&args.heartbeat)) {
        bail!("--heartbeat must be 0 (none) or between 1 and 86400 seconds");
    }
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var("MINETRACE_TOKEN").ok());
    if let Some(s) = &args.server {
        if !(s.starts_with("http://") || s.starts_with("https://")) {
            bail!("--server {s}: must be an http:// or https:// URL");
        }
        if token.as_deref().is_none_or(str::is_empty) {
            bail!("--server needs --token T (or MINETRACE_TOKEN)");
        }
    }
    let mut cfg = args.opts.to_config()?;
    // The agent measures CPU between its own scans: no sleeping window inside a scan.
    cfg.cpu_window = Duration::ZERO;
    let mut spool = Spool::open(&args.spool, args.max_spool_mib.max(1) * 1024 * 1024)
        .with_context(|| format!("--spool {}", args.spool.display()))?;
    let uploader = match (&args.server, &token) {
        (Some(s), Some(t)) => Some(Uploader::new(s, t, Duration::from_secs(10))),
        _ => None,
    };
    let mut beats = match (&args.server, &token) {
        (Some(s), Some(t)) if args.heartbeat > 0.0 => {
            let mut client =
                minetrace_client::Client::new(s, t).with_context(|| format!("--server {s}"))?;
            // A heartbeat that fails is sent again at the next one; scanning never waits on it.
            client.attempts = 1;
            Some(Heartbeats {
                client,
                root: cfg.root.clone(),
                host: cfg.host_name.clone().unwrap_or_else(super::scan::host_name),
                every: Duration::from_secs_f64(args.heartbeat),
                next: Instant::now(),
                failing: false,
            })
        }
        _ => None,
    };
    let mut found: u64 = 0;
    let mut scanner = Scanner::new(cfg);
    for n in &scanner.setup_notes {
        eprintln!("minetrace agent: note: {n}");
    }
    let interval = Duration::from_secs_f64(args.interval);
    let poll = Duration::from_secs_f64(args.poll);
    let min = args.opts.min_confidence.level();
    let mut full_scans: u64 = 0;
    let mut server_down = false;
    loop {
        let deep = args.deep_every > 0 && full_scans.is_multiple_of(u64::from(args.deep_every));
        let report = scanner.scan_with(
            deep && !args.opts.no_files,
            deep && !args.opts.no_hidden_pids,
        );
        full_scans += 1;
        if full_scans == 1 {
            for n in &report.notes {
                eprintln!("minetrace agent: note: {n}");
            }
        }
        found += deliver(
            &mut spool,
            uploader.as_ref(),
            &report.findings,
            min,
            args.batch,
            &mut server_down,
        )?;
        if let Some(b) = &mut beats {
            b.maybe_send(full_scans, found);
        }
        if args.iterations.is_some_and(|n| full_scans >= n) {
            return Ok(crate::EXIT_CLEAN);
        }
        // Until the next full scan: watch for new processes.
        let next = Instant::now() + interval;
        while Instant::now() < next {
            let nap = if poll.is_zero() {
                next - Instant::now()
            } else {
                poll.min(next - Instant::now())
            };
            std::thread::sleep(nap);
            if let Some(b) = &mut beats {
                b.maybe_send(full_scans, found);
            }
            if poll.is_zero() {
                break;
            }
            let known = scanner.known_pids();
            let fresh: Vec<u32> = scanner
                .list_pids()
                .into_iter()
                .filter(|p| !known.contains(p))
                .collect();
            if !fresh.is_empty() {
                let report = scanner.scan_pids(&fresh);
                found += deliver(
                    &mut spool,
                    uploader.as_ref(),
                    &report.findings,
                    min,
                    args.batch,
                    &mut server_down,
                )?;
            }
        }
    }
}

/// The agent's heartbeats: the host's inventory, sent when due.
struct Heartbeats {
    client: minetrace_client::Client,
    /// The host's file tree (`--root`): its /proc, /sys and /etc give the inventory.
    root: std::path::PathBuf,
    host: String,
    every: Duration,
    next: Instant,
    /// The last one failed (said once, not at every try).
    failing: bool,
}

impl Heartbeats {
    fn maybe_send(&mut self, scans: u64, findings: u64) {
        let now = Instant::now();
        if now < self.next {
            return;
        }
        self.next = now + self.every;
        let inv = minetrace_host::inventory::read(&self.root);
        let beat = minetrace_client::Heartbeat {
            host: self.host.clone(),
            agent: Some(format!("minetrace {}", env!("CARGO_PKG_VERSION"))),
            at: Some(minetrace_core::Timestamp::now()),
            addresses: inv.addresses,
            macs: inv.macs,
            os: inv.os,
            uptime_secs: inv.uptime_secs,
            scans: Some(scans),
            findings: Some(findings),
        };
        match self.client.heartbeat(&beat) {
            Ok(()) => {
                if self.failing {
                    eprintln!("minetrace agent: heartbeats reach the server again");
                }
                self.failing = false;
            }
            Err(e) => {
                if !self.failing {
                    eprintln!("minetrace agent: heartbeat not sent: {e}; tried again later");
                }
                self.failing = true;
            }
        }
    }
}

/// Spools the findings at or above `min` confidence and sends (or prints) what is new; returns
/// how many were new (a finding seen again at the next scan counts once).
fn deliver(
    spool: &mut Spool,
    uploader: Option<&Uploader>,
    findings: &[minetrace_core::Finding],
    min: minetrace_core::Confidence,
    batch: usize,
    server_down: &mut bool,
) -> anyhow::Result<u64> {
    let wanted: Vec<minetrace_core::Finding> = findings
        .iter()
        .filter(|f| f.confidence >= min)
        .cloned()
        .collect();
    let fresh = spool.append(&wanted).context("spooling findings")?;
    match uploader {
        None => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for f in &fresh {
                writeln!(out, "{}", f.to_json_line())?;
            }
            out.flush()?;
        }
        Some(up) => match spool.drain(up, batch) {
            Ok(n) => {
                if *server_down {
                    eprintln!(
                        "minetrace agent: server reachable again; {n} spooled finding(s) sent"
                    );
                }
                *server_down = false;
            }
            Err(e) => {
                if !*server_down {
                    eprintln!(
                        "minetrace agent: {e}; findings stay in the spool and are sent later"
                    );
                }
                *server_down = true;
            }
        },
    }
    Ok(fresh.len() as u64)
}
