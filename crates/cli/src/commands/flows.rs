//! `minetrace flows FILE...` and `minetrace flows --listen ADDR`: flow records in, behavioural
//! findings out; `--evaluate` scores a labelled file per record.

use crate::output::{self, Format};
use anyhow::Context as _;
use minetrace_core::{Finding, SourceRef};
use minetrace_flows::{Classifier, Evaluation, InputFormat, Item};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Most per-record errors printed per file (the rest are counted).
const MAX_PRINTED_ERRORS: u64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Ipfixprobe,
    Nfdump,
    Zeek,
    ZeekJson,
    Eve,
    Ipfix,
}

impl From<FormatArg> for InputFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Ipfixprobe => InputFormat::Ipfixprobe,
            FormatArg::Nfdump => InputFormat::Nfdump,
            FormatArg::Zeek => InputFormat::ZeekTsv,
            FormatArg::ZeekJson => InputFormat::ZeekJson,
            FormatArg::Eve => InputFormat::Eve,
            FormatArg::Ipfix => InputFormat::Ipfix,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Flow files (ipfixprobe/nfdump CSV, Zeek TSV/JSON, Suricata EVE, IPFIX).
    #[arg(required_unless_present = "listen", conflicts_with = "listen")]
    pub files: Vec<PathBuf>,
    /// Input format (default: told from each file's first bytes).
    #[arg(long, value_enum)]
    pub input_format: Option<FormatArg>,
    /// Collect NetFlow v5/v9 and IPFIX on this UDP address (e.g. 127.0.0.1:2055).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Stop collecting after this many seconds (default: run until interrupted).
    #[arg(long, value_name = "SECS", requires = "listen")]
    pub duration: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Score a labelled file (ipfixprobe CSV with a LABEL column) per record instead of reporting.
    #[arg(long, conflicts_with = "listen")]
    pub evaluate: bool,
    /// Extra pool domains (plain list, hosts file or CSV); may be repeated.
    #[arg(long, value_name = "FILE")]
    pub intel: Vec<PathBuf>,
    /// No warnings about malformed records (they are still counted).
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub upload: crate::upload::UploadArgs,
}

/// Most findings a collector keeps for the closing table or host summary (the stream itself is
/// not bounded: JSON Lines and EVE are written and forgotten).
const MAX_SUMMARY_FINDINGS: usize = 100_000;

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut intel = minetrace_intel::Intel::builtin();
    for file in &args.intel {
        intel
            .load_file(file)
            .with_context(|| format!("loading indicators from {}", file.display()))?;
    }
    let intel = Arc::new(intel);
    if let Some(addr) = args.listen {
        return listen(&args, addr, intel);
    }
    if args.evaluate {
        return evaluate(&args, intel);
    }
    let mut streaming = args.upload.streaming_with_backpressure()?;
    let format = args.input_format.map(InputFormat::from);
    // Files that carry names (DNS, TLS) are read first so flow records can use them.
    let mut files: Vec<(PathBuf, InputFormat)> = Vec::new();
    for f in &args.files {
        let reader = minetrace_flows::open(f, format)?;
        files.push((f.clone(), reader.format()));
    }
    files.sort_by_key(|(_, fmt)| !fmt.carries_names());
    let mut classifier = Classifier::new(intel);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut all: Vec<Finding> = Vec::new();
    let mut errors = 0u64;
    let mut records = 0u64;
    for (path, fmt) in &files {
        let source = SourceRef {
            kind: "flows".into(),
            name: path.display().to_string(),
            ..SourceRef::default()
        };
        let mut file_errors = 0u64;
        for item in minetrace_flows::open(path, Some(*fmt))? {
            match item {
                Ok(item) => {
                    records += u64::from(matches!(item, Item::Flow(_)));
                    if let Some(f) = classifier.observe(&item, &source) {
                        emit(&mut out, args.format, &f)?;
                        if let Some(s) = streaming.as_mut() {
                            s.push(&f);
                        }
                        all.push(f);
                    }
                }
                Err(e) => {
                    file_errors += 1;
                    if !args.quiet && file_errors <= MAX_PRINTED_ERRORS {
                        eprintln!("minetrace: error: {e}");
                    }
                }
            }
        }
        if !args.quiet && file_errors > MAX_PRINTED_ERRORS {
            eprintln!(
                "minetrace: {}: {} malformed records in all",
                path.display(),
                file_errors
            );
        }
        errors += file_errors;
    }
    if let Some(s) = streaming.as_mut() {
        s.finish();
        errors += s.lost as u64;
    }
    if args.format == Format::Hosts {
        output::write_hosts(&mut out, &all)?;
    }
    if args.format == Format::Table {
        output::write_table(&mut out, &all)?;
        writeln!(
            out,
            "\n{} file(s), {records} flow record(s), {} finding(s){}",
            files.len(),
            all.len(),
            if errors > 0 {
                format!(", {errors} malformed record(s)")
            } else {
                String::new()
            }
        )?;
    }
    out.flush()?;
    Ok(exit_code(errors, all.len()))
}

fn exit_code(errors: u64, findings: usize) -> u8 {
    if errors > 0 {
        crate::EXIT_ERROR
    } else if findings == 0 {
        crate::EXIT_CLEAN
    } else {
        crate::EXIT_FINDINGS
    }
}

fn emit(out: &mut dyn Write, format: Format, f: &Finding) -> std::io::Result<()> {
    match format {
        Format::Jsonl => output::write_jsonl(out, f),
        Format::Eve => output::write_eve(out, f),
        Format::Table | Format::Hosts => Ok(()),
    }
}

fn listen(args: &Args, addr: SocketAddr, intel: Arc<minetrace_intel::Intel>) -> anyhow::Result<u8> {
    let mut collector = minetrace_flows::collector::Collector::bind(addr)
        .with_context(|| format!("binding the collector to {addr}"))?;
    let local = collector.local_addr()?;
    if !args.quiet {
        eprintln!("minetrace: collecting NetFlow v5/v9 and IPFIX on udp://{local}");
    }
    let mut streaming = args.upload.streaming()?;
    let mut classifier = Classifier::new(intel);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // Kept only for the closing summary formats, and bounded: a collector runs for months.
    let summarise = matches!(args.format, Format::Table | Format::Hosts);
    let mut findings: Vec<Finding> = Vec::new();
    let mut found = 0usize;
    let mut write_error: Option<std::io::Error> = None;
    let stop = AtomicBool::new(false);
    let deadline = args
        .duration
        .map(|s| std::time::Instant::now() + std::time::Duration::from_secs(s));
    let quiet = args.quiet;
    let format = args.format;
    // SIGINT/SIGTERM end the collection cleanly: what waits is sent, the summary written.
    minetrace_sensor::stop_on_signals();
    let stats = collector.run_with_tick(
        &stop,
        deadline,
        &mut |from, rec| {
            let source = SourceRef {
                kind: "flows".into(),
                name: format!("udp://{from}"),
                ..SourceRef::default()
            };
            if let Some(f) = classifier.classify(&rec, &source) {
                found += 1;
                if write_error.is_none() {
                    if let Err(e) = emit(&mut out, format, &f).and_then(|_| out.flush()) {
                        write_error = Some(e);
                    }
                }
                if let Some(s) = streaming.as_mut() {
                    s.push(&f);
                }
                if summarise && findings.len() < MAX_SUMMARY_FINDINGS {
                    findings.push(f);
                }
            }
        },
        &mut |from, e| {
            if !quiet {
                eprintln!("minetrace: warning: datagram from {from}: {e}");
            }
        },
        &mut || {
            if minetrace_sensor::signalled() {
                stop.store(true, Ordering::Relaxed);
            }
        },
    )?;
    let lost = match streaming.as_mut() {
        Some(s) => {
            s.finish();
            s.lost
        }
        None => 0,
    };
    if let Some(e) = write_error {
        return Err(e.into());
    }
    if summarise && found > findings.len() {
        eprintln!(
            "minetrace: the summary below covers the first {} of {found} findings",
            findings.len()
        );
    }
    if format == Format::Table {
        output::write_table(&mut out, &findings)?;
    }
    if format == Format::Hosts {
        output::write_hosts(&mut out, &findings)?;
    }
    writeln!(
        std::io::stderr(),
        "minetrace: {} datagram(s), {} flow record(s), {} malformed, {} template(s), {} finding(s)",
        stats.datagrams,
        stats.records,
        stats.malformed,
        stats.templates,
        found
    )?;
    out.flush()?;
    Ok(exit_code(lost as u64, found))
}

fn evaluate(args: &Args, intel: Arc<minetrace_intel::Intel>) -> anyhow::Result<u8> {
    let format = args.input_format.map(InputFormat::from);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut errors = 0u64;
    for path in &args.files {
        let mut full = Classifier::new(intel.clone());
        let mut shape = Classifier::new(intel.clone());
        shape.use_port_hint = false;
        let source = SourceRef {
            kind: "flows".into(),
            name: path.display().to_string(),
            ..SourceRef::default()
        };
        let mut eval = Evaluation::default();
        for item in minetrace_flows::open(path, format)? {
            match item {
                Ok(Item::Flow(r)) => eval.score(&r, &mut full, &mut shape, &source),
                Ok(Item::Name(n)) => {
                    full.learn(&n);
                    shape.learn(&n);
                }
                Err(e) => {
                    errors += 1;
                    if errors <= MAX_PRINTED_ERRORS {
                        eprintln!("minetrace: error: {e}");
                    }
                }
            }
        }
        writeln!(out, "{}", path.display())?;
        writeln!(
            out,
            "  {:<34} {:>7} {:>5} {:>5} {:>5} {:>5} {:>9} {:>8} {:>7}",
            "part", "records", "TP", "FP", "FN", "TN", "precision", "recall", "F1"
        )?;
        for (name, c) in [
            ("all", eval.all),
            ("design (key hash even)", eval.design),
            ("held-out (key hash odd)", eval.held_out),
            ("all, shape without port hint", eval.all_shape_only),
            (
                "held-out, shape without port hint",
                eval.held_out_shape_only,
            ),
        ] {
            writeln!(
                out,
                "  {:<34} {:>7} {:>5} {:>5} {:>5} {:>5} {:>8.2}% {:>7.2}% {:>6.2}%",
                name,
                c.scored(),
                c.true_positives,
                c.false_positives,
                c.false_negatives,
                c.true_negatives,
                c.precision() * 100.0,
                c.recall() * 100.0,
                c.f1() * 100.0
            )?;
        }
        if eval.all.unlabelled > 0 {
            writeln!(
                out,
                "  {} record(s) without a label were not scored",
                eval.all.unlabelled
            )?;
        }
    }
    out.flush()?;
    Ok(if errors > 0 {
        crate::EXIT_ERROR
    } else {
        crate::EXIT_CLEAN
    })
}
