//! `minetrace simulate`: write simulated mining and benign sessions as pcap files, with a
//! ground-truth record for each (`truth.json`, `truth.tsv`). No proof-of-work is computed.
//!
//! ```text
//! minetrace simulate --list
//! minetrace simulate --out sim/ --seed 7 --minutes 10
//! minetrace simulate --out sim/ --scenario cryptonote-xmrig --scenario benign-mqtt
//! minetrace simulate --out sim/ --single sim/all.pcap
//! ```

use anyhow::{bail, Context};
use minetrace_sim::{GroundTruth, Options, Simulated};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory for the pcaps and truth.json / truth.tsv (created if missing).
    #[arg(long, value_name = "DIR", required_unless_present_any = ["list", "single"])]
    pub out: Option<PathBuf>,
    /// Seed: the same seed writes byte-identical captures.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Scenario to run (repeatable; default: all). See --list.
    #[arg(long = "scenario", value_name = "NAME", num_args = 1..)]
    pub scenarios: Vec<String>,
    /// Length of each session in minutes (0.5 to 1440).
    #[arg(long, default_value_t = 10.0)]
    pub minutes: f64,
    /// List the scenarios and exit.
    #[arg(long)]
    pub list: bool,
    /// Write all scenarios merged, time-ordered, into this one pcap instead of one per scenario
    /// (truth files go to --out, or beside this file).
    #[arg(long, value_name = "FILE")]
    pub single: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let specs = minetrace_sim::scenarios();
    if args.list {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for s in &specs {
            writeln!(out, "{:<30} {:<20} {}", s.name, s.dialect, s.description)?;
        }
        return Ok(crate::EXIT_CLEAN);
    }

    // Validate everything before writing anything.
    let opts = Options {
        seed: args.seed,
        minutes: args.minutes,
        ..Options::default()
    };
    opts.validate().context("--minutes")?;
    let names: Vec<&str> = if args.scenarios.is_empty() {
        specs.iter().map(|s| s.name).collect()
    } else {
        for name in &args.scenarios {
            if !specs.iter().any(|s| s.name == name.as_str()) {
                bail!("unknown scenario {name:?}; `minetrace simulate --list` shows the names");
            }
        }
        args.scenarios.iter().map(String::as_str).collect()
    };
    let truth_dir: PathBuf = match (&args.out, &args.single) {
        (Some(dir), _) => dir.clone(),
        (None, Some(file)) => file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
        (None, None) => bail!("--out DIR is required"),
    };
    std::fs::create_dir_all(&truth_dir)
        .with_context(|| format!("creating {}", truth_dir.display()))?;

    let mut sims: Vec<Simulated> = Vec::with_capacity(names.len());
    for name in &names {
        let sim = minetrace_sim::run(name, &opts).with_context(|| format!("scenario {name}"))?;
        sims.push(sim);
    }

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(single) = &args.single {
        let merged = minetrace_sim::merge(&sims);
        minetrace_sim::pcap::write_file(single, &merged)
            .with_context(|| format!("writing {}", single.display()))?;
        let file_name = single
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        for sim in &mut sims {
            sim.truth.file = file_name.clone();
        }
        writeln!(
            out,
            "wrote {} ({} packets from {} scenarios)",
            single.display(),
            merged.len(),
            sims.len()
        )?;
    } else {
        for sim in &sims {
            let path = truth_dir.join(&sim.truth.file);
            minetrace_sim::pcap::write_file(&path, &sim.packets)
                .with_context(|| format!("writing {}", path.display()))?;
            writeln!(
                out,
                "{:<30} {:>6} packets {:>5} shares  {}",
                sim.truth.scenario,
                sim.packets.len(),
                sim.truth.shares,
                path.display()
            )?;
        }
    }

    let truths: Vec<&GroundTruth> = sims.iter().map(|s| &s.truth).collect();
    let json_path = truth_dir.join("truth.json");
    let json = serde_json::to_string_pretty(&truths)?;
    std::fs::write(&json_path, json + "\n")
        .with_context(|| format!("writing {}", json_path.display()))?;
    let tsv_path = truth_dir.join("truth.tsv");
    let mut tsv = String::from(GroundTruth::TSV_HEADER);
    tsv.push('\n');
    for t in &truths {
        tsv.push_str(&t.tsv_row());
        tsv.push('\n');
    }
    std::fs::write(&tsv_path, tsv).with_context(|| format!("writing {}", tsv_path.display()))?;
    writeln!(
        out,
        "ground truth: {} and {}",
        json_path.display(),
        tsv_path.display()
    )?;
    Ok(crate::EXIT_CLEAN)
}
