//! `minetrace estimate`: the estimation library as a calculator for investigators.
//!
//! ```text
//! minetrace estimate --algo sha256d --difficulty 65536 --shares 1 --seconds 10
//! minetrace estimate --target b88d0600 --shares 30 --seconds 600 --region sichuan
//! minetrace estimate --kwh-per-day 148500 --days 365 --factors grid-2022-east
//! minetrace estimate --machines 155 --gains 100000 --loss 27000 --format json
//! ```

use anyhow::{bail, Context};
use minetrace_core::AlgorithmFamily;
use minetrace_estimate::calc::{calculate, CalcInputs, CalcReport};
use minetrace_estimate::family::parse_family;
use minetrace_estimate::figure::{grouped, si, three_significant};
use minetrace_estimate::{EstimateConfig, Figure};
use std::io::Write;
use std::path::PathBuf;

/// Largest configuration file read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EstimateFormat {
    /// A readable table (English, with Chinese legal band labels).
    Table,
    /// One JSON object with every figure, its range, basis and derivation.
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Algorithm family: sha256d, scrypt, randomx (cryptonote), ethash, ethproxy, kawpow,
    /// kheavyhash, equihash.
    #[arg(long, value_parser = parse_algo)]
    pub algo: Option<AlgorithmFamily>,
    /// Share difficulty as the pool set it.
    #[arg(long)]
    pub difficulty: Option<f64>,
    /// Share target in hex (CryptoNote 4/8 bytes little-endian, or a 256-bit target).
    #[arg(long, conflicts_with = "difficulty")]
    pub target: Option<String>,
    /// Accepted shares observed (default 1).
    #[arg(long)]
    pub shares: Option<u64>,
    /// Seconds over which the shares were observed.
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Hashrate in H/s; SI suffixes allowed (28.1T, 5k, 120M).
    #[arg(long, value_parser = parse_si)]
    pub hashrate: Option<f64>,
    /// Hardware class (see --list): s9, s19-pro, s19-xp, s21, s21-xp, randomx-cpu, ethash-gpu...
    #[arg(long)]
    pub hardware: Option<String>,
    /// Measured power in watts (a meter, RAPL, NVML).
    #[arg(long)]
    pub watts: Option<f64>,
    /// Energy per day in kWh when already known.
    #[arg(long)]
    pub kwh_per_day: Option<f64>,
    /// Duration of the activity in days (unknown: the configured assumption, stated).
    #[arg(long)]
    pub days: Option<f64>,
    /// Region for the punitive electricity surcharge (zhejiang, hainan, inner-mongolia, shanxi,
    /// sichuan, or a Chinese name).
    #[arg(long)]
    pub region: Option<String>,
    /// Named coal and/or CO2 factor set (repeatable, or comma-separated; see --list).
    #[arg(long, value_delimiter = ',')]
    pub factors: Vec<String>,
    /// Coin symbol from the configuration's [coins] table, for estimated gains.
    #[arg(long)]
    pub coin: Option<String>,
    /// Machines (computer systems) running the miner.
    #[arg(long)]
    pub machines: Option<u64>,
    /// Illegal gains, in the configured currency.
    #[arg(long)]
    pub gains: Option<f64>,
    /// Economic loss, in the configured currency.
    #[arg(long)]
    pub loss: Option<f64>,
    /// Estimation configuration (TOML): factors, tables, thresholds, coins.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// List hardware classes, factor sets and regions, then exit.
    #[arg(long)]
    pub list: bool,
    #[arg(long, value_enum, default_value_t = EstimateFormat::Table)]
    pub format: EstimateFormat,
}

fn parse_algo(s: &str) -> Result<AlgorithmFamily, String> {
    parse_family(s).ok_or_else(|| {
        format!(
            "unknown algorithm '{s}' (sha256d, scrypt, randomx, ethash, ethproxy, kawpow, kheavyhash, equihash)"
        )
    })
}

/// `28.1T`, `28.1 TH/s`, `5k`, `1.5e12` -> hashes per second.
fn parse_si(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("H/s")
        .or_else(|| t.strip_suffix("h/s"))
        .unwrap_or(t)
        .trim();
    let (num, scale) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() && c != 'e' => {
            let scale = match c {
                'k' | 'K' => 1e3,
                'M' => 1e6,
                'G' | 'g' => 1e9,
                'T' | 't' => 1e12,
                'P' | 'p' => 1e15,
                'E' => 1e18,
                _ => return Err(format!("unknown SI prefix '{c}' in '{s}'")),
            };
            (t.get(..i).unwrap_or(""), scale)
        }
        _ => (t, 1.0),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v * scale)
    } else {
        Err(format!("'{s}' is not a non-negative number"))
    }
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let cfg = match &args.config {
        Some(path) => {
            let text = minetrace_core::io::read_bounded_string(path, MAX_CONFIG_BYTES)
                .with_context(|| format!("reading estimate config {}", path.display()))?;
            EstimateConfig::from_toml_str(&text)
                .with_context(|| format!("in {}", path.display()))?
        }
        None => EstimateConfig::default(),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.list {
        write_lists(&mut out, &cfg)?;
        return Ok(crate::EXIT_CLEAN);
    }
    if args.shares.is_some() && args.difficulty.is_none() && args.target.is_none() {
        bail!("--shares needs --difficulty or --target");
    }
    let inputs = CalcInputs {
        family: args.algo,
        difficulty: args.difficulty,
        target: args.target,
        shares: args.shares,
        seconds: args.seconds,
        hashrate: args.hashrate,
        hardware: args.hardware,
        watts: args.watts,
        kwh_per_day: args.kwh_per_day,
        days: args.days,
        region: args.region,
        factors: args
            .factors
            .iter()
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect(),
        coin: args.coin,
        machines: args.machines,
        gains: args.gains,
        loss: args.loss,
    };
    let report = calculate(&cfg, &inputs).context("estimating")?;
    match args.format {
        EstimateFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        EstimateFormat::Table => write_table(&mut out, &report, &cfg)?,
    }
    Ok(crate::EXIT_CLEAN)
}

fn range(f: &Figure, fmt: impl Fn(f64) -> String) -> String {
    if f.low == f.value && f.high == f.value {
        String::new()
    } else {
        format!("({} - {})", fmt(f.low), fmt(f.high))
    }
}

fn row(
    out: &mut dyn Write,
    label: &str,
    f: &Figure,
    fmt: impl Fn(f64) -> String + Copy,
) -> std::io::Result<()> {
    writeln!(
        out,
        "  {:<22} {:>16} {:<10} {:<28} {}",
        label,
        fmt(f.value),
        f.unit,
        range(f, fmt),
        f.basis.as_str()
    )
}

fn write_table(out: &mut dyn Write, r: &CalcReport, cfg: &EstimateConfig) -> std::io::Result<()> {
    let hashes = |v: f64| {
        let n = si(v);
        if n.ends_with(|c: char| c.is_ascii_alphabetic()) {
            format!("{n}H/s")
        } else {
            format!("{n} H/s")
        }
    };
    let plain = |v: f64| three_significant(v);
    let big = |v: f64| {
        if v.abs() >= 100.0 {
            grouped(v)
        } else {
            three_significant(v)
        }
    };
    let mut methods: Vec<(String, String)> = Vec::new();
    if let Some(d) = &r.difficulty {
        writeln!(
            out,
            "  {:<22} {:>16}   ({})",
            "share difficulty",
            grouped(d.value),
            d.method
        )?;
    }
    if let Some(h) = &r.hashrate {
        writeln!(
            out,
            "  {:<22} {:>16} {:<10} {:<28} {}",
            "hashrate",
            hashes(h.value),
            "",
            range(h, hashes),
            h.basis.as_str()
        )?;
        methods.push(("hashrate".into(), h.method.clone()));
    }
    if let Some(p) = &r.power {
        row(out, "power", p, big)?;
        methods.push(("power".into(), p.method.clone()));
    }
    if let Some(e) = &r.energy {
        row(out, "energy per day", &e.kwh_per_day, big)?;
        row(out, "energy over duration", &e.kwh_total, big)?;
        row(out, "standard coal per day", &e.coal_t_per_day, plain)?;
        row(out, "standard coal per year", &e.coal_t_per_year, big)?;
        row(out, "CO2 per year", &e.co2_t_per_year, big)?;
        row(out, "CO2 over duration", &e.co2_t_total, big)?;
        row(out, "electricity per day", &e.cost_per_day, big)?;
        row(out, "electricity total", &e.cost_total, big)?;
        writeln!(
            out,
            "  duration: {} days ({})",
            three_significant(e.duration.days),
            e.duration.method
        )?;
        writeln!(
            out,
            "  factors: coal '{}' {} kgce/kWh ({}); CO2 '{}' {} kg/kWh ({})",
            e.coal_factor.name,
            e.coal_factor.per_kwh,
            e.coal_factor.source,
            e.co2_factor.name,
            e.co2_factor.per_kwh,
            e.co2_factor.source
        )?;
        writeln!(out, "  tariff: {}", e.tariff.method)?;
    }
    if let Some(g) = &r.gains_per_day {
        row(
            out,
            &format!("gains per day ({})", cfg.electricity.currency),
            g,
            big,
        )?;
        methods.push(("gains".into(), g.method.clone()));
    }
    if let Some(g) = &r.gains_total {
        row(out, "gains over duration", g, big)?;
    }
    if let Some(a) = &r.legal {
        writeln!(out)?;
        writeln!(out, "  legal band: {} / {}", a.label_en, a.label_zh)?;
        writeln!(out, "  under: {}", a.jurisdiction)?;
        for reason in &a.reasons {
            writeln!(out, "    - {reason}")?;
        }
        writeln!(out, "  ({})", a.note)?;
    }
    if !methods.is_empty() {
        writeln!(out)?;
        writeln!(out, "  how:")?;
        for (what, m) in methods {
            writeln!(out, "    {what}: {m}")?;
        }
    }
    for n in &r.notes {
        writeln!(out, "  note: {n}")?;
    }
    if r.hashrate.is_none() && r.power.is_none() && r.energy.is_none() && r.legal.is_none() {
        writeln!(
            out,
            "nothing to estimate: give shares (--algo --difficulty|--target --seconds), --hashrate, \
             --watts, --kwh-per-day or --machines/--gains/--loss (see --help)"
        )?;
    }
    Ok(())
}

fn write_lists(out: &mut dyn Write, cfg: &EstimateConfig) -> std::io::Result<()> {
    writeln!(out, "hardware classes:")?;
    for (name, c) in &cfg.power.classes {
        writeln!(
            out,
            "  {:<16} {:<10} {:>7} {:<6} {} ({})",
            name,
            c.family,
            three_significant(c.efficiency),
            c.unit,
            c.label,
            c.source
        )?;
    }
    writeln!(out, "default class by family:")?;
    for (f, c) in &cfg.power.default_class {
        writeln!(out, "  {f:<16} {c}")?;
    }
    writeln!(
        out,
        "coal factor sets (kgce/kWh), default '{}':",
        cfg.factors.coal_default
    )?;
    for (name, f) in &cfg.factors.coal {
        writeln!(out, "  {:<22} {:<8} {}", name, f.per_kwh, f.source)?;
    }
    writeln!(
        out,
        "CO2 factor sets (kg/kWh), default '{}':",
        cfg.factors.co2_default
    )?;
    for (name, f) in &cfg.factors.co2 {
        writeln!(out, "  {:<22} {:<8} {}", name, f.per_kwh, f.source)?;
    }
    writeln!(
        out,
        "regions (surcharge on {} {}/kWh):",
        cfg.electricity.base_price_per_kwh, cfg.electricity.currency
    )?;
    for (id, s) in &cfg.electricity.surcharges {
        writeln!(
            out,
            "  {:<16} +{:<6} {}",
            id,
            s.per_kwh,
            s.aliases.join(", ")
        )?;
    }
    writeln!(
        out,
        "coins: {}",
        if cfg.coins.is_empty() {
            "(none configured)".to_string()
        } else {
            cfg.coins.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn si_suffixes() {
        assert_eq!(parse_si("28.1T").unwrap(), 28.1e12);
        assert_eq!(parse_si("28.1 TH/s").unwrap(), 28.1e12);
        assert_eq!(parse_si("5k").unwrap(), 5e3);
        assert_eq!(parse_si("1.5e12").unwrap(), 1.5e12);
        assert_eq!(parse_si("120").unwrap(), 120.0);
        assert!(parse_si("-1").is_err());
        assert!(parse_si("12X").is_err());
        assert!(parse_si("T").is_err());
    }
}
