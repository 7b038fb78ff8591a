//! `minetrace analyze PATH...`: captures in, findings out.

use crate::output::{self, Format};
use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use minetrace_core::Finding;
use minetrace_net::{Engine, EngineOptions, TableLimits};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

/// Findings handed to the output thread at a time.
const TAIL_BATCH: usize = 64;

/// File name endings taken from directories (files named explicitly are always read).
const CAPTURE_EXTENSIONS: &[&str] = &["pcap", "pcapng", "cap", "dmp"];

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Capture files or directories (searched recursively for .pcap, .pcapng, .cap, .dmp).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write each detected session's packets as a pcap with a JSON sidecar into DIR.
    #[arg(long, value_name = "DIR")]
    pub evidence_dir: Option<PathBuf>,
    /// Extra pool domains (plain list, hosts file or CSV); may be repeated.
    #[arg(long, value_name = "FILE")]
    pub intel: Vec<PathBuf>,
    /// Worker threads (flow-hash sharding; with more than one, JSON Lines and EVE records come
    /// in an order that depends on the scheduling).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: u16,
    /// Most flows held at once per thread (older idle flows are evicted beyond it).
    #[arg(long, default_value_t = 131_072, value_parser = clap::value_parser!(u64).range(64..=16_000_000))]
    pub max_flows: u64,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print per-file statistics (packets, decoded, skipped by reason, flows) to stderr.
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    pub upload: crate::upload::UploadArgs,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut intel = minetrace_intel::Intel::builtin();
    for file in &args.intel {
        intel
            .load_file(file)
            .with_context(|| format!("loading indicators from {}", file.display()))?;
    }
    let mut uploader = args.upload.uploader()?;
    let estimate_cfg = minetrace_estimate::EstimateConfig::default();
    let files = expand(&args.paths)?;
    let engine = Engine::new(
        minetrace_detect::builtin(),
        Arc::new(intel),
        EngineOptions {
            limits: TableLimits {
                max_flows: args.max_flows as usize,
                ..TableLimits::default()
            },
            threads: args.threads as usize,
        },
    );
    if let Some(dir) = &args.evidence_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating evidence directory {}", dir.display()))?;
    }

    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = if !args.quiet && std::io::stderr().is_terminal() {
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };

    // Not locked for the whole run: findings are written by a second thread while the engine
    // reads (the buffer writes in large blocks, so locking per block costs nothing).
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, std::io::stdout());
    let mut all: Vec<Finding> = Vec::new();
    let mut found = 0usize;
    let mut errors = 0usize;
    let mut done_bytes = 0u64;
    for file in &files {
        bar.set_message(
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        // Estimates and JSON output run on a second thread as findings arrive, overlapping the
        // analysis instead of following it; the order of findings is unchanged.
        let stream = matches!(args.format, Format::Jsonl | Format::Eve);
        // Written as they come and needed by nothing after: not kept, so a long capture does
        // not hold every finding it produced (only their count, for the exit status).
        let keep = !stream || args.evidence_dir.is_some() || uploader.is_some();
        let format = args.format;
        let sharded = args.threads > 1;
        let (report, tail) = std::thread::scope(|scope| {
            // Handed over in batches: a wake-up per finding would cost more than the output.
            let (tx, rx) = std::sync::mpsc::channel::<Vec<Finding>>();
            let sink = &mut out;
            let cfg = &estimate_cfg;
            let tail = scope.spawn(move || -> std::io::Result<(Vec<Finding>, usize)> {
                let mut findings = Vec::new();
                let mut count = 0usize;
                // A pool run inside the network shows only across sessions (estimates do not
                // enter this summary).
                let mut pools = minetrace_detect::summary::InternalPools::default();
                for batch in rx {
                    for mut f in batch {
                        crate::estimates::annotate(cfg, std::slice::from_mut(&mut f));
                        if stream {
                            write_one(sink, format, &f)?;
                        }
                        pools.add(&f);
                        count += 1;
                        if keep {
                            findings.push(f);
                        }
                    }
                }
                // Shards find in an order that depends on the scheduling: the table, the host
                // summary, the evidence and the upload get a fixed one.
                if sharded {
                    findings.sort_by(|a, b| {
                        (a.source.packet, &a.detector, &a.id).cmp(&(
                            b.source.packet,
                            &b.detector,
                            &b.id,
                        ))
                    });
                }
                let mut internal = pools.finish();
                crate::estimates::annotate(cfg, &mut internal);
                if stream {
                    for f in &internal {
                        write_one(sink, format, f)?;
                    }
                }
                count += internal.len();
                findings.extend(internal);
                Ok((findings, count))
            });
            let mut batch = Vec::with_capacity(TAIL_BATCH);
            let report = engine.analyze_file(
                file,
                &mut |f| {
                    batch.push(f);
                    if batch.len() >= TAIL_BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(TAIL_BATCH));
                        let _ = tx.send(full);
                    }
                },
                &mut |pos| bar.set_position(done_bytes + pos),
            );
            let _ = tx.send(batch);
            drop(tx);
            let findings = tail
                .join()
                .map_err(|_| anyhow::anyhow!("the output thread panicked"));
            (report, findings)
        });
        let (file_findings, file_count) = tail??;
        found += file_count;
        done_bytes += std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        bar.set_position(done_bytes);
        if args.stats {
            bar.suspend(|| print_stats(&report));
        }
        if let Some(err) = &report.error {
            let truncated_tail =
                matches!(err, minetrace_net::capture::CaptureError::Truncated { .. });
            bar.suspend(|| {
                if truncated_tail {
                    eprintln!("minetrace: warning: {err} (the packets before it were analysed)");
                } else {
                    eprintln!("minetrace: error: {err} (the packets before it were analysed)");
                }
            });
            if !truncated_tail {
                errors += 1;
            }
        }
        if let Some(dir) = &args.evidence_dir {
            if !file_findings.is_empty() {
                match minetrace_net::evidence::write_sessions(file, &file_findings, dir) {
                    Ok(_) => {}
                    Err(e) => {
                        bar.suspend(|| eprintln!("minetrace: error: writing evidence: {e}"));
                        errors += 1;
                    }
                }
            }
        }
        if let Some(up) = uploader.as_mut() {
            if let Err(e) = up.send(&file_findings) {
                bar.suspend(|| eprintln!("minetrace: error: {e:#}"));
                errors += 1;
                // One failure is enough: the rest of the run would only wait on timeouts.
                uploader = None;
            }
        }
        if !stream {
            // The table and the host summary are written once every file is read.
            all.extend(file_findings);
        }
    }
    bar.finish_and_clear();
    if let Some(up) = &uploader {
        eprintln!("minetrace: {}", up.summary());
    }
    if args.format == Format::Hosts {
        output::write_hosts(&mut out, &all)?;
    }
    if args.format == Format::Table {
        output::write_table(&mut out, &all)?;
        output::write_summary(&mut out, &minetrace_detect::summary::summarize(&all), &all)?;
        writeln!(
            out,
            "\n{} file(s), {} finding(s){}",
            files.len(),
            all.len(),
            if errors > 0 {
                format!(", {errors} file(s) with errors")
            } else {
                String::new()
            }
        )?;
    }
    out.flush()?;
    let code = if errors > 0 {
        crate::EXIT_ERROR
    } else if found == 0 {
        crate::EXIT_CLEAN
    } else {
        crate::EXIT_FINDINGS
    };
    // The process ends right after: freeing every finding's strings and maps one by one costs
    // tens of milliseconds on large inputs and gives nothing back.
    std::mem::forget(all);
    Ok(code)
}

fn write_one(out: &mut dyn Write, format: Format, f: &Finding) -> std::io::Result<()> {
    match format {
        Format::Jsonl => output::write_jsonl(out, f),
        Format::Eve => output::write_eve(out, f),
        Format::Table | Format::Hosts => Ok(()),
    }
}

/// Files named on the command line, and capture files found under directories (sorted).
fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
        if meta.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(p)
                .follow_links(false)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .filter(|f| {
                    f.extension().and_then(|x| x.to_str()).is_some_and(|x| {
                        CAPTURE_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str())
                    })
                })
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

fn print_stats(r: &minetrace_net::FileReport) {
    let skipped: Vec<String> = r.skipped.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    eprintln!(
        "{}: {} packets, {} bytes, {} decoded, {} flows ({} evicted), {} findings{}",
        r.path.display(),
        r.packets,
        r.bytes,
        r.decoded,
        r.flows,
        r.evicted,
        r.findings,
        if skipped.is_empty() {
            String::new()
        } else {
            format!("; skipped {}", skipped.join(", "))
        }
    );
}
