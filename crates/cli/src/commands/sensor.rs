//! `minetrace sensor --interface IF`: live capture (AF_PACKET ring, no libpcap) through the same
//! detectors as `analyze`, findings written as they are made and, with `--server`, streamed to
//! the server in batches (spooled while it is unreachable, with `--spool`).

use crate::output::{self, Format};
use anyhow::Context as _;
use minetrace_sensor::{afpacket, Sensor, SensorConfig};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Interface to capture from (a mirror port, a bridge, a veth).
    #[arg(long, short)]
    pub interface: String,
    /// Worker threads, balanced by PACKET_FANOUT on the flow hash.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: u16,
    /// Classic BPF filter in `tcpdump -ddd` form (compile it elsewhere: no libpcap needed here).
    #[arg(long, value_name = "FILE")]
    pub filter_file: Option<PathBuf>,
    /// Output format (table prints one line per finding as it is made).
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Keep each detected session's packets as pcap + JSON sidecar here (bounded ring).
    #[arg(long, value_name = "DIR")]
    pub evidence_dir: Option<PathBuf>,
    /// Size bound of the evidence directory.
    #[arg(long, default_value_t = 1024)]
    pub evidence_max_mb: u64,
    /// Report sessions still running after this many seconds, and again every period.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(i64).range(1..))]
    pub checkpoint_secs: i64,
    /// Stop after this many seconds (default: until SIGINT/SIGTERM).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Extra pool domains (plain list, hosts file or CSV); may be repeated.
    #[arg(long, value_name = "FILE")]
    pub intel: Vec<PathBuf>,
    /// Print packet, drop and throughput counters to stderr when stopping.
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    pub upload: crate::upload::UploadArgs,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    if args.format == Format::Hosts {
        anyhow::bail!("--format hosts summarises a finished input; the sensor streams: use jsonl");
    }
    let mut intel = minetrace_intel::Intel::builtin();
    for file in &args.intel {
        intel
            .load_file(file)
            .with_context(|| format!("loading indicators from {}", file.display()))?;
    }
    let mut config = SensorConfig {
        interface: args.interface.clone(),
        threads: args.threads as usize,
        checkpoint_secs: args.checkpoint_secs,
        evidence_dir: args.evidence_dir.clone(),
        evidence_max_bytes: args.evidence_max_mb.saturating_mul(1 << 20),
        ..SensorConfig::default()
    };
    if let Some(file) = &args.filter_file {
        let text = minetrace_core::io::read_bounded_string(file, 1 << 20)?;
        config.ring.filter = Some(
            afpacket::parse_bpf(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?,
        );
    }
    // Checked before the capture starts, so a typo fails at once.
    let mut streaming = args.upload.streaming()?;
    let estimate_cfg = minetrace_estimate::EstimateConfig::default();
    minetrace_sensor::stop_on_signals();
    let stop = Arc::new(AtomicBool::new(false));
    let sensor = Sensor::start(config, Arc::new(intel), stop.clone())?;
    let started = Instant::now();
    let deadline = args.duration.map(Duration::from_secs);
    let stdout = std::io::stdout();
    let mut found = 0u64;
    loop {
        if minetrace_sensor::signalled() || deadline.is_some_and(|d| started.elapsed() >= d) {
            stop.store(true, Ordering::Relaxed);
        }
        match sensor.recv_timeout(Duration::from_millis(200)) {
            Ok(mut f) => {
                found += 1;
                // The same estimates `analyze` adds (hashrate -> power -> energy).
                crate::estimates::annotate(&estimate_cfg, std::slice::from_mut(&mut f));
                if let Some(s) = streaming.as_mut() {
                    s.push(&f);
                }
                let mut out = stdout.lock();
                match args.format {
                    Format::Jsonl => output::write_jsonl(&mut out, &f)?,
                    Format::Eve => output::write_eve(&mut out, &f)?,
                    Format::Table | Format::Hosts => {
                        output::write_table(&mut out, std::slice::from_ref(&f))?
                    }
                }
                out.flush()?;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    if let Some(s) = streaming.as_mut() {
        s.finish();
    }
    let counters = sensor.counters.clone();
    let errors = sensor.join();
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    if args.stats {
        let packets = counters.packets.load(Ordering::Relaxed);
        let bytes = counters.bytes.load(Ordering::Relaxed);
        eprintln!(
            "{}: {packets} packets, {bytes} bytes ({:.1} Mbit/s over the run; {:.1} Mbit/s over the {:.2} s from first to last packet), {} decoded, {} kernel drops, {} flows, {found} findings in {secs:.1} s",
            args.interface,
            bytes as f64 * 8.0 / secs / 1e6,
            bytes as f64 * 8.0 / counters.active_seconds().max(1e-9) / 1e6,
            counters.active_seconds(),
            counters.decoded.load(Ordering::Relaxed),
            counters.kernel_drops.load(Ordering::Relaxed),
            counters.flows.load(Ordering::Relaxed),
        );
    }
    for e in &errors {
        eprintln!("minetrace: error: {e}");
    }
    let lost = streaming.as_ref().map_or(0, |s| s.lost);
    Ok(if !errors.is_empty() || lost > 0 {
        crate::EXIT_ERROR
    } else if found > 0 {
        crate::EXIT_FINDINGS
    } else {
        crate::EXIT_CLEAN
    })
}
