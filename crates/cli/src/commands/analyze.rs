//! `minetrace analyze PATH...`: captures in, findings out.

use crate::output::{self, Format};
use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use minetrace_core::Finding;
use minetrace_net::{Engine, EngineOptions, TableLimits};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

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
    /// Worker threads (flow-hash sharding).
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

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut all: Vec<Finding> = Vec::new();
    let mut errors = 0usize;
    let mut done_bytes = 0u64;
    for file in &files {
        bar.set_message(
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let mut file_findings = Vec::new();
        let report = engine.analyze_file(file, &mut |f| file_findings.push(f), &mut |pos| {
            bar.set_position(done_bytes + pos)
        });
        // A pool run inside the network shows only across sessions.
        let internal = minetrace_detect::summary::internal_pools(&file_findings);
        file_findings.extend(internal);
        crate::estimates::annotate(&estimate_cfg, &mut file_findings);
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
        match args.format {
            Format::Jsonl => {
                for f in &file_findings {
                    output::write_jsonl(&mut out, f)?;
                }
            }
            Format::Eve => {
                for f in &file_findings {
                    output::write_eve(&mut out, f)?;
                }
            }
            Format::Table | Format::Hosts => {}
        }
        all.extend(file_findings);
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
    Ok(if errors > 0 {
        crate::EXIT_ERROR
    } else if all.is_empty() {
        crate::EXIT_CLEAN
    } else {
        crate::EXIT_FINDINGS
    })
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
